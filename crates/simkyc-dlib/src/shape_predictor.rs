//! dlib's `shape_predictor`: an ensemble of regression trees (Kazemi & Sullivan, 2014) that
//! places facial landmarks inside a face box, evaluated natively.

use crate::serial::Reader;
use crate::DlibError;

/// One split of a regression tree: compares the difference of two sampled pixels to a threshold.
/// Indices are u32 so that a tree's splits share few cache lines (12 bytes each).
#[derive(Debug, Clone)]
struct Split {
    idx1: u32,
    idx2: u32,
    thresh: f32,
}

/// A complete binary regression tree whose leaves hold shape updates, all leaves in one
/// contiguous block (`leaves[k * shape_len..][..shape_len]` is leaf k). Prediction walks all
/// 7,500 trees of the 5-point model for every face; with a separate allocation per leaf it was
/// bound by memory latency.
#[derive(Debug, Clone)]
struct Tree {
    splits: Vec<Split>,
    leaves: Vec<f32>,
}

/// One cascade stage: the pixels it samples and the trees that read them.
#[derive(Debug, Clone)]
struct Stage {
    trees: Vec<Tree>,
    anchor_idx: Vec<usize>,
    deltas: Vec<[f32; 2]>,
}

/// A face box in image pixels, inclusive corners as dlib's `rectangle`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left column.
    pub left: f64,
    /// Top row.
    pub top: f64,
    /// Right column (inclusive).
    pub right: f64,
    /// Bottom row (inclusive).
    pub bottom: f64,
}

/// An 8-bit grayscale image view, row-major, used for landmark feature sampling.
pub struct Gray<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixels, `width * height` bytes.
    pub pixels: &'a [u8],
}

/// A loaded landmark model.
#[derive(Debug, Clone)]
pub struct ShapePredictor {
    initial: Vec<f32>,
    stages: Vec<Stage>,
}

/// A 2-d similarity transform `p -> m * p + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Linear part (scale × rotation), row-major.
    pub m: [[f64; 2]; 2],
    /// Translation.
    pub t: [f64; 2],
}

impl Similarity {
    /// Applies the transform to a point.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        [self.m[0][0] * p[0] + self.m[0][1] * p[1] + self.t[0], self.m[1][0] * p[0] + self.m[1][1] * p[1] + self.t[1]]
    }

    /// Least-squares similarity (rotation, uniform scale, translation) mapping `from` onto `to`;
    /// the closed form of Umeyama's method in two dimensions.
    pub fn fit(from: &[[f64; 2]], to: &[[f64; 2]]) -> Similarity {
        let n = from.len().min(to.len()).max(1) as f64;
        let mean = |p: &[[f64; 2]]| {
            let s = p.iter().fold([0.0, 0.0], |a, q| [a[0] + q[0], a[1] + q[1]]);
            [s[0] / n, s[1] / n]
        };
        let (mf, mt) = (mean(from), mean(to));
        let (mut sxx, mut dot, mut cross) = (0.0, 0.0, 0.0);
        for (f, t) in from.iter().zip(to) {
            let (fx, fy) = (f[0] - mf[0], f[1] - mf[1]);
            let (tx, ty) = (t[0] - mt[0], t[1] - mt[1]);
            sxx += fx * fx + fy * fy;
            dot += fx * tx + fy * ty;
            cross += fx * ty - fy * tx;
        }
        let (a, b) = if sxx > 0.0 { (dot / sxx, cross / sxx) } else { (1.0, 0.0) };
        let m = [[a, -b], [b, a]];
        let t = [mt[0] - (a * mf[0] - b * mf[1]), mt[1] - (b * mf[0] + a * mf[1])];
        Similarity { m, t }
    }
}

impl ShapePredictor {
    /// Reads a serialised `dlib::shape_predictor` (e.g. `shape_predictor_5_face_landmarks.dat`).
    pub fn read(bytes: &[u8]) -> Result<ShapePredictor, DlibError> {
        let mut r = Reader::new(bytes);
        r.expect_int(1, "shape_predictor version")?;
        let (rows, cols, initial) = r.matrix()?;
        if cols != 1 || rows % 2 != 0 || rows == 0 {
            return Err(DlibError::Format { offset: r.position(), what: format!("initial shape is {rows}x{cols}") });
        }
        let n_stages = r.size()?;
        let mut trees_per_stage = Vec::with_capacity(n_stages.min(1024));
        for _ in 0..n_stages {
            let n_trees = r.size()?;
            let mut trees = Vec::with_capacity(n_trees.min(4096));
            for _ in 0..n_trees {
                let n_splits = r.size()?;
                let mut splits = Vec::with_capacity(n_splits.min(1 << 16));
                for _ in 0..n_splits {
                    let (idx1, idx2) = (r.size()?, r.size()?);
                    let (Ok(idx1), Ok(idx2)) = (u32::try_from(idx1), u32::try_from(idx2)) else {
                        return Err(DlibError::Format { offset: r.position(), what: "feature index out of range".into() });
                    };
                    let thresh = r.float()? as f32;
                    splits.push(Split { idx1, idx2, thresh });
                }
                let n_leaves = r.size()?;
                if n_leaves != n_splits + 1 {
                    return Err(DlibError::Format { offset: r.position(), what: "tree is not complete".into() });
                }
                let mut leaves = Vec::with_capacity(n_leaves.min(1 << 16) * rows);
                for _ in 0..n_leaves {
                    let (lr, _, v) = r.matrix()?;
                    if lr != rows || v.len() != rows {
                        return Err(DlibError::Format { offset: r.position(), what: "leaf size differs from shape size".into() });
                    }
                    leaves.extend_from_slice(&v);
                }
                trees.push(Tree { splits, leaves });
            }
            trees_per_stage.push(trees);
        }
        let n = r.size()?;
        if n != n_stages {
            return Err(DlibError::Format { offset: r.position(), what: "anchor list length differs from stage count".into() });
        }
        let mut anchors = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.size()?;
            let mut a = Vec::with_capacity(k.min(1 << 16));
            for _ in 0..k {
                let idx = r.size()?;
                if idx >= rows / 2 {
                    return Err(DlibError::Format { offset: r.position(), what: format!("anchor index {idx} out of range") });
                }
                a.push(idx);
            }
            anchors.push(a);
        }
        let n = r.size()?;
        if n != n_stages {
            return Err(DlibError::Format { offset: r.position(), what: "delta list length differs from stage count".into() });
        }
        let mut stages = Vec::with_capacity(n);
        for (trees, anchor_idx) in trees_per_stage.into_iter().zip(anchors) {
            let k = r.size()?;
            if k != anchor_idx.len() {
                return Err(DlibError::Format { offset: r.position(), what: "deltas and anchors differ in length".into() });
            }
            let mut deltas = Vec::with_capacity(k);
            for _ in 0..k {
                let x = r.float()? as f32;
                let y = r.float()? as f32;
                deltas.push([x, y]);
            }
            for t in &trees {
                if t.splits.iter().any(|s| s.idx1 as usize >= k || s.idx2 as usize >= k) {
                    return Err(DlibError::Format { offset: r.position(), what: "split references a missing feature".into() });
                }
            }
            stages.push(Stage { trees, anchor_idx, deltas });
        }
        if !r.at_end() {
            return Err(DlibError::Format { offset: r.position(), what: "trailing bytes after shape predictor".into() });
        }
        Ok(ShapePredictor { initial, stages })
    }

    /// Number of landmarks this model places.
    pub fn num_parts(&self) -> usize {
        self.initial.len() / 2
    }

    /// Places the landmarks inside `rect`, returning (x, y) image coordinates (not rounded).
    pub fn predict(&self, img: &Gray, rect: Rect) -> Vec<[f64; 2]> {
        let n = self.num_parts();
        let mut shape = self.initial.clone();
        let (w, h) = ((rect.right - rect.left), (rect.bottom - rect.top));
        let to_img = |p: [f32; 2]| [rect.left + p[0] as f64 * w, rect.top + p[1] as f64 * h];
        let initial_pts: Vec<[f64; 2]> = (0..n).map(|i| [self.initial[2 * i] as f64, self.initial[2 * i + 1] as f64]).collect();
        let mut features: Vec<f32> = Vec::new();
        for stage in &self.stages {
            let cur_pts: Vec<[f64; 2]> = (0..n).map(|i| [shape[2 * i] as f64, shape[2 * i + 1] as f64]).collect();
            let tf = Similarity::fit(&initial_pts, &cur_pts);
            let m = [[tf.m[0][0] as f32, tf.m[0][1] as f32], [tf.m[1][0] as f32, tf.m[1][1] as f32]];
            features.clear();
            for (a, d) in stage.anchor_idx.iter().zip(&stage.deltas) {
                let p = [m[0][0] * d[0] + m[0][1] * d[1] + shape[2 * a], m[1][0] * d[0] + m[1][1] * d[1] + shape[2 * a + 1]];
                let q = to_img(p);
                // dlib rounds to the nearest pixel and reads 0 outside the image.
                let (x, y) = ((q[0] + 0.5).floor(), (q[1] + 0.5).floor());
                let v = if x >= 0.0 && y >= 0.0 && (x as usize) < img.width && (y as usize) < img.height {
                    img.pixels[y as usize * img.width + x as usize] as f32
                } else {
                    0.0
                };
                features.push(v);
            }
            for tree in &stage.trees {
                let mut i = 0usize;
                while i < tree.splits.len() {
                    let s = &tree.splits[i];
                    i = if features[s.idx1 as usize] - features[s.idx2 as usize] > s.thresh { 2 * i + 1 } else { 2 * i + 2 };
                }
                let dim = shape.len();
                let leaf = (i - tree.splits.len()) * dim;
                for (v, d) in shape.iter_mut().zip(&tree.leaves[leaf..leaf + dim]) {
                    *v += d;
                }
            }
        }
        (0..n).map(|i| to_img([shape[2 * i], shape[2 * i + 1]])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_fit_recovers_a_known_transform() {
        let truth = Similarity { m: [[0.8, -0.6], [0.6, 0.8]], t: [10.0, -3.0] };
        let from = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0]];
        let to: Vec<[f64; 2]> = from.iter().map(|&p| truth.apply(p)).collect();
        let fit = Similarity::fit(&from, &to);
        for (a, b) in fit.m.iter().flatten().zip(truth.m.iter().flatten()) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((fit.t[0] - 10.0).abs() < 1e-12 && (fit.t[1] + 3.0).abs() < 1e-12);
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(ShapePredictor::read(b"not a model").is_err());
        assert!(ShapePredictor::read(&[]).is_err());
    }
}
