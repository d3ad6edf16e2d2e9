//! Capture quality of a detected face: size, sharpness, exposure and head pose, measured on the
//! face region, and judged against documented limits (looser for document photos). Each problem
//! has a reason code and a short instruction the clerk can act on.

use image::RgbImage;
use serde::Serialize;

use crate::detect::FaceBox;
use crate::engine::Subject;
use crate::image_ops::sample_bilinear;

/// What was measured on one face.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct QualityMeasures {
    /// Distance between the eye centres, pixels.
    pub inter_eye_px: f64,
    /// Variance of the Laplacian of the face resampled to 128×128 grey, relative to the grey
    /// variance (×100), so contrast and lighting do not count as detail (higher is sharper).
    pub sharpness: f64,
    /// Mean grey level of the face region (0–255).
    pub brightness: f64,
    /// Fraction of face pixels at or below 8 or at or above 247 (clipped shadows/highlights).
    pub clipped: f64,
    /// Head roll (tilt of the eye line), degrees.
    pub roll_deg: f64,
    /// Head yaw indicator: the nose base's offset from the eyes' midpoint along the eye line, in
    /// inter-eye distances (0 facing the camera, about ±0.5 in profile).
    pub yaw: f64,
    /// Head pitch indicator: the nose base's distance below the eye line, in inter-eye distances
    /// (about 0.6–0.9 facing the camera; smaller looking up, larger looking down).
    pub pitch: f64,
}

/// Limits a face must meet.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QualityLimits {
    /// Smallest inter-eye distance, pixels.
    pub min_eye_px: f64,
    /// Smallest sharpness.
    pub min_sharpness: f64,
    /// Darkest acceptable mean brightness.
    pub min_brightness: f64,
    /// Brightest acceptable mean brightness.
    pub max_brightness: f64,
    /// Largest clipped fraction.
    pub max_clipped: f64,
    /// Largest |roll|, degrees.
    pub max_roll_deg: f64,
    /// Largest |yaw| indicator.
    pub max_yaw: f64,
    /// Pitch indicator range.
    pub pitch_range: (f64, f64),
}

impl QualityLimits {
    /// Limits for live captures (see docs/quality.md for how they were set).
    pub const LIVE: QualityLimits = QualityLimits {
        min_eye_px: 30.0,
        min_sharpness: 1.0,
        min_brightness: 45.0,
        max_brightness: 220.0,
        max_clipped: 0.25,
        max_roll_deg: 20.0,
        max_yaw: 0.3,
        pitch_range: (0.45, 1.15),
    };
    /// Looser limits for document photos (small chip images, printed photos).
    pub const DOCUMENT: QualityLimits = QualityLimits {
        min_eye_px: 12.0,
        min_sharpness: 0.3,
        min_brightness: 35.0,
        max_brightness: 235.0,
        max_clipped: 0.4,
        max_roll_deg: 25.0,
        max_yaw: 0.3,
        pitch_range: (0.3, 1.4),
    };
}

/// Which measure failed its limit.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QualityProblem {
    /// Fewer pixels between the eyes than required.
    FaceTooSmall,
    /// Not sharp enough.
    Blurry,
    /// Too dark.
    Underexposed,
    /// Too bright or glare.
    Overexposed,
    /// Head turned or tilted.
    Pose,
}

impl QualityProblem {
    /// The problem's name (the reason code without its `live_` or `document_` prefix).
    pub fn as_str(self) -> &'static str {
        match self {
            QualityProblem::FaceTooSmall => "face_too_small",
            QualityProblem::Blurry => "blurry",
            QualityProblem::Underexposed => "underexposed",
            QualityProblem::Overexposed => "overexposed",
            QualityProblem::Pose => "pose",
        }
    }
}

/// One quality problem.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QualityIssue {
    /// Which measure failed.
    #[serde(skip)]
    pub problem: Option<QualityProblem>,
    /// Reason code, e.g. `live_blurry`.
    pub code: String,
    /// What the clerk should do.
    pub message: String,
}

/// Faces at least half as wide as the subject's, the subject included. Much smaller faces are
/// bystanders far behind the customer, not a second person presenting.
pub fn comparable_faces(f: &crate::FaceAnalysis, subject: &Subject) -> usize {
    let width = subject.face.right - subject.face.left;
    f.faces.iter().filter(|b| (b.right - b.left) >= 0.5 * width).count().max(1)
}

/// Whether a face box runs off the picture by more than 2 % of its shorter side.
pub fn cut_off(f: &crate::FaceAnalysis, b: &FaceBox) -> bool {
    let margin = 0.02 * f.width.min(f.height) as f64;
    b.left < -margin || b.top < -margin || b.right > f.width as f64 + margin || b.bottom > f.height as f64 + margin
}

fn gray_at(img: &RgbImage, x: f64, y: f64) -> f64 {
    let p = sample_bilinear(img, x.clamp(0.0, img.width() as f64 - 1.0), y.clamp(0.0, img.height() as f64 - 1.0));
    0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
}

/// Measures a face.
pub fn measure(img: &RgbImage, s: &Subject) -> QualityMeasures {
    let FaceBox { left, top, right, bottom, .. } = s.face;
    const N: usize = 128;
    let mut g = vec![0f64; N * N];
    for r in 0..N {
        for c in 0..N {
            g[r * N + c] =
                gray_at(img, left + (c as f64 + 0.5) * (right - left) / N as f64, top + (r as f64 + 0.5) * (bottom - top) / N as f64);
        }
    }
    let brightness = g.iter().sum::<f64>() / g.len() as f64;
    let clipped = g.iter().filter(|&&v| !(8.0..247.0).contains(&v)).count() as f64 / g.len() as f64;
    let mut lap = Vec::with_capacity((N - 2) * (N - 2));
    for r in 1..N - 1 {
        for c in 1..N - 1 {
            lap.push(g[(r - 1) * N + c] + g[(r + 1) * N + c] + g[r * N + c - 1] + g[r * N + c + 1] - 4.0 * g[r * N + c]);
        }
    }
    let mean = lap.iter().sum::<f64>() / lap.len() as f64;
    let lap_var = lap.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / lap.len() as f64;
    let gray_var = g.iter().map(|v| (v - brightness).powi(2)).sum::<f64>() / g.len() as f64;
    let sharpness = 100.0 * lap_var / gray_var.max(1.0);
    // dlib 5-point: 0–1 one eye's corners, 2–3 the other's, 4 the base of the nose.
    let lm = &s.landmarks;
    let mid = |a: [f64; 2], b: [f64; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    let (mut e1, mut e2) = (mid(lm[0], lm[1]), mid(lm[2], lm[3]));
    if e1[0] > e2[0] {
        std::mem::swap(&mut e1, &mut e2);
    }
    let (dx, dy) = (e2[0] - e1[0], e2[1] - e1[1]);
    let d = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / d, dy / d);
    let m = mid(e1, e2);
    let (nx, ny) = (lm[4][0] - m[0], lm[4][1] - m[1]);
    QualityMeasures {
        inter_eye_px: s.inter_eye_px,
        sharpness,
        brightness,
        clipped,
        roll_deg: dy.atan2(dx).to_degrees(),
        yaw: (nx * ux + ny * uy) / d,
        pitch: (-nx * uy + ny * ux) / d,
    }
}

/// Judges measures against limits; `prefix` is `live` or `document` for the codes.
pub fn assess(m: &QualityMeasures, l: &QualityLimits, prefix: &str) -> Vec<QualityIssue> {
    let mut out = Vec::new();
    let mut add = |problem: QualityProblem, message: String| {
        out.push(QualityIssue { problem: Some(problem), code: format!("{prefix}_{}", problem.as_str()), message })
    };
    if m.inter_eye_px < l.min_eye_px {
        add(
            QualityProblem::FaceTooSmall,
            format!("the face is too small ({:.0} px between the eyes, at least {:.0}): move closer", m.inter_eye_px, l.min_eye_px),
        );
    }
    if m.sharpness < l.min_sharpness {
        add(
            QualityProblem::Blurry,
            format!("the picture is blurred (sharpness {:.0}, at least {:.0}): hold still and focus", m.sharpness, l.min_sharpness),
        );
    }
    if m.brightness < l.min_brightness {
        add(QualityProblem::Underexposed, "the face is too dark: add light in front of the customer".into());
    } else if m.brightness > l.max_brightness || m.clipped > l.max_clipped {
        add(QualityProblem::Overexposed, "the face is too bright or has glare: reduce the light or move away from the window".into());
    }
    if m.roll_deg.abs() > l.max_roll_deg || m.yaw.abs() > l.max_yaw || m.pitch < l.pitch_range.0 || m.pitch > l.pitch_range.1 {
        add(QualityProblem::Pose, "the head is turned or tilted: ask the customer to look straight at the camera".into());
    }
    out
}
