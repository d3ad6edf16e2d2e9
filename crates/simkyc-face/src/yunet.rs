//! Face detection with OpenCV Zoo's YuNet (2023mar), decoded exactly as OpenCV's
//! `cv::FaceDetectorYN` does: the BGR image padded to a multiple of 32 on the right and bottom,
//! per stride and cell a score `sqrt(cls · obj)`, a box `(cx, cy, w, h)` and five landmarks
//! relative to the cell, then non-maximum suppression. The five points are, in image order: the
//! eye on the image's left, the other eye, the nose tip, and the mouth corners left then right —
//! the order of the ArcFace alignment template.

use image::RgbImage;
use simkyc_models::manifest::InputSpec;

use crate::detect::FaceBox;
use crate::image_ops::to_tensor;
use crate::onnx::OnnxModel;
use crate::FaceError;

/// One YuNet detection in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YunetFace {
    /// Left edge of the box.
    pub x: f64,
    /// Top edge of the box.
    pub y: f64,
    /// Box width.
    pub w: f64,
    /// Box height.
    pub h: f64,
    /// Eye (image left), eye (image right), nose tip, mouth corner left, mouth corner right.
    pub points: [[f64; 2]; 5],
    /// Confidence in 0..1.
    pub score: f32,
}

impl YunetFace {
    /// Intersection over union of the boxes, as OpenCV's `NMSBoxes` computes it on whole-pixel
    /// rectangles (coordinates truncated towards zero, area = width × height).
    fn iou(&self, o: &YunetFace) -> f64 {
        let r = |f: &YunetFace| (f.x.trunc(), f.y.trunc(), f.w.trunc(), f.h.trunc());
        let (ax, ay, aw, ah) = r(self);
        let (bx, by, bw, bh) = r(o);
        let iw = ((ax + aw).min(bx + bw) - ax.max(bx)).max(0.0);
        let ih = ((ay + ah).min(by + bh) - ay.max(by)).max(0.0);
        let inter = iw * ih;
        let union = aw * ah + bw * bh - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// The face box as the rest of the pipeline reads boxes: the region dlib's MMOD detector
    /// would report for this face (eyebrows to chin, roughly square), which the quality limits,
    /// the passive-liveness crop and the landmark predictor were calibrated on. The mapping is a
    /// fit of MMOD boxes against YuNet's own points on development images (docs/models.md).
    pub fn to_face_box(&self) -> FaceBox {
        let p = &self.points;
        let eyes = [(p[0][0] + p[1][0]) / 2.0, (p[0][1] + p[1][1]) / 2.0];
        let mouth = [(p[3][0] + p[4][0]) / 2.0, (p[3][1] + p[4][1]) / 2.0];
        // Eye-to-mouth distance is stable under yaw; the box width follows the YuNet box.
        let em = ((mouth[0] - eyes[0]).powi(2) + (mouth[1] - eyes[1]).powi(2)).sqrt();
        let size = MMOD_SIZE_PER_EYE_MOUTH * em;
        let cx = (eyes[0] + mouth[0]) / 2.0 + MMOD_CENTRE_SHIFT * em;
        let cy = (eyes[1] + mouth[1]) / 2.0 + MMOD_CENTRE_DROP * em;
        FaceBox {
            left: cx - size / 2.0,
            top: cy - size / 2.0,
            right: cx + size / 2.0 - 1.0,
            bottom: cy + size / 2.0 - 1.0,
            score: self.score,
        }
    }
}

/// MMOD box side over the eye-centre-to-mouth-centre distance. This and the two offsets below
/// are medians over 468 faces both detectors found in LFW, asian-wild and pad-dev images
/// (`examples/box_fit.rs`); the mapped box overlaps MMOD's own with a median IoU of 0.79 (MMOD's boxes come in pyramid steps of 5/6).
pub const MMOD_SIZE_PER_EYE_MOUTH: f64 = 2.25;
/// MMOD box centre below the eye–mouth midpoint, in eye-to-mouth distances (negative: above).
pub const MMOD_CENTRE_DROP: f64 = -0.176;
/// MMOD box centre right of the eye–mouth midpoint, in eye-to-mouth distances (dlib's boxes sit
/// slightly left of the face's centre).
pub const MMOD_CENTRE_SHIFT: f64 = -0.114;

/// Settings of the YuNet detector as read from the manifest.
#[derive(Debug, Clone)]
pub struct YunetConfig {
    /// Input normalisation (BGR, 0..255).
    pub input: InputSpec,
    /// Feature-map strides in output order.
    pub strides: Vec<u32>,
    /// Input padded to a multiple of this.
    pub divisor: u32,
    /// Suppress a box overlapping a stronger one by more than this IoU.
    pub nms_iou: f64,
    /// Keep at most this many boxes.
    pub top_k: usize,
}

/// YuNet and its decoding.
pub struct YunetDetector {
    model: OnnxModel,
    config: YunetConfig,
}

/// `v` clamped to 0..1 (OpenCV clamps the sigmoid outputs before combining them).
fn unit(v: f32) -> f32 {
    v.clamp(0.0, 1.0)
}

impl YunetDetector {
    /// Wraps a loaded YuNet graph.
    pub fn new(model: OnnxModel, config: YunetConfig) -> Result<Self, FaceError> {
        if config.strides.is_empty() || config.divisor == 0 || config.strides.iter().any(|&s| s == 0 || !config.divisor.is_multiple_of(s)) {
            return Err(FaceError::Model(format!(
                "YuNet: strides {:?} must divide the padding divisor {}",
                config.strides, config.divisor
            )));
        }
        Ok(YunetDetector { model, config })
    }

    /// Detects faces scoring at least `threshold`, strongest first.
    pub fn detect(&self, img: &RgbImage, threshold: f32) -> Result<Vec<YunetFace>, FaceError> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let d = self.config.divisor as usize;
        let (pw, ph) = (w.div_ceil(d) * d, h.div_ceil(d) * d);
        // The image in the top-left corner of a zero canvas, channels in the model's order.
        let src = to_tensor(img, &self.config.input);
        let mut t = vec![0f32; 3 * pw * ph];
        for c in 0..3 {
            for r in 0..h {
                let from = c * w * h + r * w;
                let to = c * pw * ph + r * pw;
                t[to..to + w].copy_from_slice(&src[from..from + w]);
            }
        }
        let outs = self.model.run_all(&[1, 3, ph, pw], t)?;
        let n = self.config.strides.len();
        if outs.len() != 4 * n {
            return Err(FaceError::Model(format!("YuNet produced {} outputs, expected {}", outs.len(), 4 * n)));
        }
        let mut faces = Vec::new();
        for (k, &stride) in self.config.strides.iter().enumerate() {
            let s = stride as usize;
            let (cols, rows) = (pw / s, ph / s);
            let (cls, obj, bbox, kps) = (&outs[k], &outs[n + k], &outs[2 * n + k], &outs[3 * n + k]);
            let cells = cols * rows;
            if cls.len() != cells || obj.len() != cells || bbox.len() != 4 * cells || kps.len() != 10 * cells {
                return Err(FaceError::Model(format!("YuNet stride {s}: output sizes do not match a {cols}x{rows} grid")));
            }
            let sf = s as f64;
            for r in 0..rows {
                for c in 0..cols {
                    let i = r * cols + c;
                    let score = (unit(cls[i]) * unit(obj[i])).sqrt();
                    if score < threshold {
                        continue;
                    }
                    let b = &bbox[4 * i..4 * i + 4];
                    let (cx, cy) = ((c as f64 + b[0] as f64) * sf, (r as f64 + b[1] as f64) * sf);
                    let (bw, bh) = ((b[2] as f64).exp() * sf, (b[3] as f64).exp() * sf);
                    let kp = &kps[10 * i..10 * i + 10];
                    let mut points = [[0.0; 2]; 5];
                    for (j, p) in points.iter_mut().enumerate() {
                        *p = [(kp[2 * j] as f64 + c as f64) * sf, (kp[2 * j + 1] as f64 + r as f64) * sf];
                    }
                    faces.push(YunetFace { x: cx - bw / 2.0, y: cy - bh / 2.0, w: bw, h: bh, points, score });
                }
            }
        }
        Ok(self.suppress(faces))
    }

    /// Greedy non-maximum suppression, strongest first (OpenCV's `NMSBoxes` with eta 1).
    fn suppress(&self, mut faces: Vec<YunetFace>) -> Vec<YunetFace> {
        faces.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut kept: Vec<YunetFace> = Vec::new();
        for f in faces {
            if kept.len() >= self.config.top_k {
                break;
            }
            if kept.iter().all(|k| k.iou(&f) <= self.config.nms_iou) {
                kept.push(f);
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f64, score: f32) -> YunetFace {
        YunetFace { x, y: 0.0, w: 10.0, h: 10.0, points: [[0.0; 2]; 5], score }
    }

    #[test]
    fn iou_uses_whole_pixel_rectangles() {
        assert_eq!(face(0.0, 1.0).iou(&face(0.0, 1.0)), 1.0);
        assert_eq!(face(0.0, 1.0).iou(&face(10.0, 1.0)), 0.0);
        // 5.9 truncates to 5: half overlap, 50 / 150.
        assert!((face(0.0, 1.0).iou(&face(5.9, 1.0)) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn face_box_follows_the_points() {
        let f = YunetFace {
            x: 0.0,
            y: 0.0,
            w: 100.0,
            h: 120.0,
            points: [[30.0, 40.0], [70.0, 40.0], [50.0, 60.0], [35.0, 80.0], [65.0, 80.0]],
            score: 0.9,
        };
        let b = f.to_face_box();
        assert!((b.width() - MMOD_SIZE_PER_EYE_MOUTH * 40.0).abs() < 1e-9);
        // Eye–mouth midpoint (50, 60), eye-to-mouth distance 40.
        assert!(((b.left + b.right + 1.0) / 2.0 - (50.0 + MMOD_CENTRE_SHIFT * 40.0)).abs() < 1e-9);
        assert!(((b.top + b.bottom + 1.0) / 2.0 - (60.0 + MMOD_CENTRE_DROP * 40.0)).abs() < 1e-9);
        assert_eq!(b.score, 0.9);
    }
}
