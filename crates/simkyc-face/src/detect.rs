//! Face detection with dlib's MMOD CNN: the image and its pyramid (scale 5/6 per level) are tiled
//! into one canvas as dlib does, the network scores every window position, and the peaks are
//! mapped back to image boxes and non-max suppressed.

use image::RgbImage;
use serde::Serialize;
use simkyc_models::manifest::InputSpec;

use crate::image_ops::{resize_plane_dlib, to_tensor};
use crate::onnx::OnnxModel;
use crate::FaceError;

/// A face box in image pixels (inclusive corners, as dlib's `rectangle`) with its score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    /// Left column.
    pub left: f64,
    /// Top row.
    pub top: f64,
    /// Right column.
    pub right: f64,
    /// Bottom row.
    pub bottom: f64,
    /// Detector confidence (MMOD score; above 0 is a detection).
    pub score: f32,
}

impl FaceBox {
    /// Width in pixels.
    pub fn width(&self) -> f64 {
        self.right - self.left + 1.0
    }
    /// Height in pixels.
    pub fn height(&self) -> f64 {
        self.bottom - self.top + 1.0
    }
    /// Area in pixels.
    pub fn area(&self) -> f64 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    /// Area shared with another box.
    pub fn intersection(&self, o: &FaceBox) -> f64 {
        let (l, t) = (self.left.max(o.left), self.top.max(o.top));
        let (r, b) = (self.right.min(o.right), self.bottom.min(o.bottom));
        (r - l + 1.0).max(0.0) * (b - t + 1.0).max(0.0)
    }

    /// Intersection over union with another box.
    pub fn iou(&self, o: &FaceBox) -> f64 {
        let inter = self.intersection(o);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// Fraction of this box covered by another.
    fn covered_by(&self, o: &FaceBox) -> f64 {
        if self.area() <= 0.0 {
            0.0
        } else {
            self.intersection(o) / self.area()
        }
    }
}

/// Settings of the MMOD detector as read from the manifest.
#[derive(Debug, Clone)]
pub struct MmodConfig {
    /// Input normalisation.
    pub input: InputSpec,
    /// Detection window (width, height).
    pub window: [u32; 2],
    /// NMS IoU threshold.
    pub nms_iou: f64,
    /// NMS coverage threshold.
    pub nms_cover: f64,
    /// Input pixels per output cell.
    pub stride: u32,
    /// Input position of output cell 0.
    pub offset: f64,
}

/// dlib's MMOD CNN face detector.
pub struct MmodDetector {
    model: OnnxModel,
    cfg: MmodConfig,
}

/// A placed pyramid level in the tiled canvas: (left, top, width, height).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tile {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

const PYR_PADDING: i64 = 10;
const PYR_OUTER_PADDING: i64 = 11;
const PYR_RATE: f64 = 5.0 / 6.0;

/// Lays out the pyramid levels of an `nc × nr` image as dlib's `create_tiled_pyramid` does.
fn tile_layout(nc: i64, nr: i64) -> (Vec<Tile>, i64, i64) {
    let mut sizes = vec![(nc, nr)];
    let (mut c, mut r) = (nc, nr);
    loop {
        c = (PYR_RATE * c as f64).floor() as i64;
        r = (PYR_RATE * r as f64).floor() as i64;
        if c * r == 0 || r < 5 {
            break;
        }
        sizes.push((c, r));
    }
    let total_height: i64 = sizes.iter().map(|s| s.1 + PYR_PADDING).sum::<i64>() - 2 * PYR_PADDING;
    let (mut height, mut prev_width) = (0i64, 0i64);
    for &(w, h) in &sizes {
        if w <= sizes[0].0 - prev_width - PYR_PADDING && (height - sizes[0].1) * 2 >= total_height - sizes[0].1 {
            break;
        }
        height += h + PYR_PADDING;
        prev_width = w;
    }
    height -= PYR_PADDING;
    let width = sizes[0].0;
    let canvas_h = height + 2 * PYR_OUTER_PADDING;
    let canvas_w = width + 2 * PYR_OUTER_PADDING;
    let mut tiles = Vec::with_capacity(sizes.len());
    let mut y = PYR_OUTER_PADDING;
    let mut i = 0;
    while y < height + PYR_OUTER_PADDING && i < sizes.len() {
        tiles.push(Tile { x: PYR_OUTER_PADDING, y, w: sizes[i].0, h: sizes[i].1 });
        y += sizes[i].1 + PYR_PADDING;
        i += 1;
    }
    y -= PYR_PADDING;
    while i < sizes.len() {
        // Second column, bottom-up, right-aligned.
        let (x1, y1) = (PYR_OUTER_PADDING + width - 1, y - 1);
        let t = Tile { x: x1 - sizes[i].0 + 1, y: y1 - sizes[i].1 + 1, w: sizes[i].0, h: sizes[i].1 };
        let first = tiles[0];
        let overlaps = t.x < first.x + first.w && first.x < t.x + t.w && t.y < first.y + first.h && first.y < t.y + t.h;
        if overlaps {
            break;
        }
        tiles.push(t);
        y -= sizes[i].1 + PYR_PADDING;
        i += 1;
    }
    (tiles, canvas_w, canvas_h)
}

/// Size (width, height) of the tiled pyramid canvas the detector runs on for an image.
pub fn canvas_size(width: u32, height: u32) -> (usize, usize) {
    let (_, w, h) = tile_layout(width as i64, height as i64);
    (w as usize, h as usize)
}

fn nearest_tile(tiles: &[Tile], x: f64, y: f64) -> usize {
    let mut best = (f64::INFINITY, 0usize);
    for (i, t) in tiles.iter().enumerate() {
        let (l, tp, r, b) = (t.x as f64, t.y as f64, (t.x + t.w - 1) as f64, (t.y + t.h - 1) as f64);
        if x >= l && x <= r && y >= tp && y <= b {
            return i;
        }
        let dx = x.clamp(l, r) - x;
        let dy = y.clamp(tp, b) - y;
        let d = (dx * dx + dy * dy).sqrt();
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

impl MmodDetector {
    /// Wraps a loaded MMOD score-map model.
    pub fn new(model: OnnxModel, cfg: MmodConfig) -> Self {
        MmodDetector { model, cfg }
    }

    /// Detects faces, strongest first. `threshold` is the MMOD score cut (dlib's default is 0).
    pub fn detect(&self, img: &RgbImage, threshold: f32) -> Result<Vec<FaceBox>, FaceError> {
        let (nc, nr) = (img.width() as i64, img.height() as i64);
        let (tiles, cw, ch) = tile_layout(nc, nr);
        if tiles.is_empty() {
            return Ok(vec![]);
        }
        // The canvas is built in tensor space as dlib's input layer does: zero (= the mean colour)
        // outside the tiles, level 0 normalised from the image, and each further level resized
        // from the previous one in floating point.
        let (cw, ch) = (cw as usize, ch as usize);
        let plane = cw * ch;
        let mut input = vec![0f32; 3 * plane];
        let level0 = to_tensor(img, &self.cfg.input);
        let (w0, h0) = (nc as usize, nr as usize);
        for k in 0..3 {
            for r in 0..h0 {
                let dst = k * plane + (tiles[0].y as usize + r) * cw + tiles[0].x as usize;
                input[dst..dst + w0].copy_from_slice(&level0[k * w0 * h0 + r * w0..k * w0 * h0 + (r + 1) * w0]);
            }
        }
        for i in 1..tiles.len() {
            let (s, d) = (tiles[i - 1], tiles[i]);
            for k in 0..3 {
                resize_plane_dlib(
                    &mut input[k * plane..(k + 1) * plane],
                    cw,
                    (s.x as usize, s.y as usize, s.w as usize, s.h as usize),
                    (d.x as usize, d.y as usize, d.w as usize, d.h as usize),
                );
            }
        }
        let (shape, scores) = self.model.run(&[1, 3, ch, cw], input)?;
        let (oh, ow) = match shape.as_slice() {
            [1, 1, h, w] => (*h, *w),
            other => return Err(FaceError::Model(format!("detector output shape {other:?} is not [1,1,h,w]"))),
        };
        let (ww, wh) = (self.cfg.window[0] as f64 - 1.0, self.cfg.window[1] as f64 - 1.0);
        let mut dets = Vec::new();
        for r in 0..oh {
            for c in 0..ow {
                let s = scores[r * ow + c];
                if s <= threshold {
                    continue;
                }
                let px = self.cfg.stride as f64 * c as f64 + self.cfg.offset;
                let py = self.cfg.stride as f64 * r as f64 + self.cfg.offset;
                let k = nearest_tile(&tiles, px, py);
                let t = tiles[k];
                // Map back up k pyramid levels: p -> p * 6/5 + 0.3 per level (dlib's point_up).
                let up = |v: f64| (0..k).fold(v, |v, _| v * (6.0 / 5.0) + 0.3);
                let b = FaceBox {
                    left: up(px - ww / 2.0 - t.x as f64),
                    top: up(py - wh / 2.0 - t.y as f64),
                    right: up(px + ww / 2.0 - t.x as f64),
                    bottom: up(py + wh / 2.0 - t.y as f64),
                    score: s,
                };
                dets.push(b);
            }
        }
        dets.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut kept: Vec<FaceBox> = Vec::new();
        for d in dets {
            let overlaps = kept
                .iter()
                .any(|k| k.iou(&d) > self.cfg.nms_iou || d.covered_by(k) > self.cfg.nms_cover || k.covered_by(&d) > self.cfg.nms_cover);
            if !overlaps {
                kept.push(d);
            }
        }
        for k in &mut kept {
            k.left = k.left.round();
            k.top = k.top.round();
            k.right = k.right.round();
            k.bottom = k.bottom.round();
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_do_not_overlap_and_fit_the_canvas() {
        for (w, h) in [(250, 250), (640, 480), (160, 160), (102, 126), (1920, 1080), (20, 8)] {
            let (tiles, cw, ch) = tile_layout(w, h);
            assert!(!tiles.is_empty());
            assert_eq!((tiles[0].w, tiles[0].h), (w, h));
            for (i, a) in tiles.iter().enumerate() {
                assert!(a.x >= 0 && a.y >= 0 && a.x + a.w <= cw && a.y + a.h <= ch, "{w}x{h}: tile {i} {a:?} outside {cw}x{ch}");
                for b in &tiles[i + 1..] {
                    let disjoint = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                    assert!(disjoint, "{a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = FaceBox { left: 0.0, top: 0.0, right: 9.0, bottom: 9.0, score: 1.0 };
        let b = FaceBox { left: 20.0, ..a };
        assert!((a.iou(&a) - 1.0).abs() < 1e-12);
        assert_eq!(a.iou(&FaceBox { right: 29.0, ..b }), 0.0);
    }
}
