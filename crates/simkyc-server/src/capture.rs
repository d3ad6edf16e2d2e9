//! The capture-check step of a decision: is every live frame usable and, as far as the mode
//! checks, a live person? Pluggable by mode; `passive` checks the frames alone (no challenge),
//! `off` only requires a face (for tests and lab set-ups). The active challenge and the passive
//! presentation-attack models plug in here (issue: capture quality and liveness).

use serde::Serialize;
use simkyc_face::embed::cosine;
pub use simkyc_face::quality::comparable_faces;
use simkyc_face::quality::{assess, cut_off, QualityLimits};
use simkyc_workflow::{Reason, Severity};

use crate::face::Analysed;

/// How live frames are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    /// A random sequence of actions checked on face-mesh tracks, plus everything `passive` does.
    Active,
    /// Frame quality, consistency and passive liveness, no challenge.
    Passive,
    /// Only a face is required (testing only).
    Off,
}

impl CaptureMode {
    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<CaptureMode> {
        match s {
            "active" => Some(CaptureMode::Active),
            "passive" => Some(CaptureMode::Passive),
            "off" => Some(CaptureMode::Off),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Active => "active",
            CaptureMode::Passive => "passive",
            CaptureMode::Off => "off",
        }
    }
}

/// Reasons that describe the framing, not the person: the clerk may capture again.
pub const RETRYABLE: &[&str] = &[
    "live_no_face",
    "live_multiple_faces",
    "live_face_too_small",
    "live_face_cut_off",
    "live_blurry",
    "live_underexposed",
    "live_overexposed",
    "live_pose",
    "live_eyes_closed",
];

/// Default eye aspect ratio below which the eyes count as closed (lfw-dev open eyes: 5th
/// percentile 0.17, minimum 0.11 over 67 images; narrow or squinting eyes stay above it).
pub const EYES_CLOSED_EAR: f32 = 0.10;

/// Code of a failed active challenge (actions missing or out of order): a verdict.
pub const CHALLENGE_FAILED: &str = "challenge_failed";

/// Code of a failed passive liveness check (a verdict, not retryable; counts towards lockout).
pub const LIVENESS_FAILED: &str = "liveness_failed";

/// The similarity frames of one capture must reach to count as one person: 0.11 below the
/// default 1:1 point. Frames of one webcam capture of one person were measured down to 0.75
/// (head turns, changing backlight on pad-dev's real2 clip); this check is there to catch a swap
/// of people between frames, which the 1:1 match of every frame against the document also
/// guards.
pub fn same_person_threshold(points: simkyc_workflow::MatchPoints) -> f32 {
    points.default - 0.11
}

/// Limits the capture checks apply.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CaptureLimits {
    /// Smallest inter-eye distance, pixels.
    pub min_eye_px: f64,
    /// Frames of one capture must resemble each other at least this much (same person).
    pub same_person: f32,
    /// Quality limits (size from `min_eye_px`).
    pub quality: QualityLimits,
    /// Passive liveness threshold.
    pub liveness: f32,
    /// Closed-eye threshold on the eye aspect ratio.
    pub eyes_closed: f32,
}

impl CaptureLimits {
    /// The limits of a configuration and its operating points.
    pub fn from_config(c: &crate::config::Config, points: simkyc_workflow::MatchPoints) -> CaptureLimits {
        CaptureLimits {
            min_eye_px: c.min_live_eye_px,
            same_person: same_person_threshold(points),
            quality: c.quality,
            liveness: c.liveness_threshold,
            eyes_closed: c.eyes_closed_ear,
        }
    }
}

fn reason(code: &str, msg: String) -> Reason {
    Reason::new(code, Severity::Reject, msg)
}

/// Checks the analysed live frames; every problem is a refusing reason with guidance. In
/// `passive` mode: one customer-sized face per frame, not cut off, sharp, well exposed, facing
/// the camera, the same person in every frame, and the mean passive liveness score at or above
/// its threshold (the score itself is never shown to the customer).
pub fn check(mode: CaptureMode, limits: &CaptureLimits, frames: &[Analysed]) -> Vec<Reason> {
    let mut out = Vec::new();
    for (i, a) in frames.iter().enumerate() {
        let f = &a.analysis;
        let n = i + 1;
        let Some(s) = &f.subject else {
            out.push(reason("live_no_face", format!("frame {n}: no face found; the customer should face the camera in good light")));
            continue;
        };
        if mode == CaptureMode::Off {
            continue;
        }
        let faces = comparable_faces(f, s);
        if faces > 1 {
            out.push(reason("live_multiple_faces", format!("frame {n}: {faces} faces in view; only the customer may be in the picture")));
        }
        if cut_off(f, &s.face) {
            out.push(reason("live_face_cut_off", format!("frame {n}: the face is cut off by the edge of the picture; centre it")));
        }
        if a.eyes.is_some_and(|ear| ear < limits.eyes_closed) {
            out.push(reason("live_eyes_closed", format!("frame {n}: the eyes are closed; ask the customer to keep the eyes open")));
        }
        if let Some(q) = &a.quality {
            let quality_limits = QualityLimits { min_eye_px: limits.min_eye_px, ..limits.quality };
            for issue in assess(q, &quality_limits, "live") {
                out.push(reason(&issue.code, format!("frame {n}: {}", issue.message)));
            }
        }
    }
    if mode != CaptureMode::Off {
        let embs: Vec<&Vec<f32>> = frames.iter().filter_map(|f| f.analysis.subject.as_ref().map(|s| &s.embedding)).collect();
        let differ = embs.iter().enumerate().any(|(i, a)| embs[i + 1..].iter().any(|b| cosine(a, b) < limits.same_person));
        if differ {
            out.push(reason(
                "live_faces_differ",
                "the frames do not show the same person; capture again with only the customer in view".into(),
            ));
        }
        // Liveness is judged only on usable frames: a quality problem is fixed first.
        if out.is_empty() {
            if let Some(score) = mean_liveness(frames) {
                if score < limits.liveness {
                    out.push(reason(
                        LIVENESS_FAILED,
                        "the live capture did not pass the liveness check (photo, screen or mask suspected)".into(),
                    ));
                }
            }
        }
    }
    out.sort_by_key(|r| r.code.clone());
    out.dedup_by(|a, b| a.code == b.code);
    out
}

/// Mean similarity of the live frames to a template: unlike the similarity of a fused template
/// it is not inflated by averaging, so the single-frame calibration holds.
pub fn mean_score(frames: &[&[f32]], template: &[f32]) -> Option<f32> {
    (!frames.is_empty()).then(|| frames.iter().map(|f| cosine(f, template)).sum::<f32>() / frames.len() as f32)
}

/// Mean passive liveness score over the frames that have one.
pub fn mean_liveness(frames: &[Analysed]) -> Option<f32> {
    let v: Vec<f32> = frames.iter().filter_map(|f| f.liveness.map(|s| s.passive())).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f32>() / v.len() as f32)
}

#[cfg(test)]
mod tests {
    use simkyc_face::detect::FaceBox;
    use simkyc_face::liveness::LivenessScores;
    use simkyc_face::quality::QualityMeasures;
    use simkyc_face::{FaceAnalysis, Subject, Timings};

    use super::*;

    fn frame(embedding: Vec<f32>, live: f32, eyes: f32) -> Analysed {
        let face = FaceBox { left: 200.0, top: 150.0, right: 400.0, bottom: 350.0, score: 1.0 };
        let subject = Subject { face, landmarks: vec![[250.0, 220.0]; 5], points: None, inter_eye_px: 80.0, embedding };
        let quality =
            QualityMeasures { inter_eye_px: 80.0, sharpness: 5.0, brightness: 120.0, clipped: 0.0, roll_deg: 0.0, yaw: 0.0, pitch: 0.7 };
        Analysed {
            analysis: FaceAnalysis { width: 640, height: 480, faces: vec![face], subject: Some(subject), timings: Timings::default() },
            quality: Some(quality),
            liveness: Some(LivenessScores { antispoof: live, liveness: 0.5 }),
            eyes: Some(eyes),
        }
    }

    fn codes(r: &[Reason]) -> Vec<&str> {
        r.iter().map(|r| r.code.as_str()).collect()
    }

    const L: CaptureLimits = CaptureLimits {
        min_eye_px: 30.0,
        same_person: 0.8,
        quality: QualityLimits::LIVE,
        liveness: simkyc_face::liveness::PASSIVE_THRESHOLD,
        eyes_closed: EYES_CLOSED_EAR,
    };

    #[test]
    fn passive_rules() {
        let a = vec![1.0, 0.0];
        assert!(check(CaptureMode::Passive, &L, &[frame(a.clone(), 0.5, 0.3), frame(a.clone(), 0.4, 0.3)]).is_empty());
        assert_eq!(codes(&check(CaptureMode::Passive, &L, &[frame(a.clone(), 0.5, 0.05)])), ["live_eyes_closed"]);
        // Liveness is the mean over frames, judged only when the frames are usable.
        assert_eq!(codes(&check(CaptureMode::Passive, &L, &[frame(a.clone(), 0.1, 0.3), frame(a.clone(), 0.2, 0.3)])), [LIVENESS_FAILED]);
        assert!(check(CaptureMode::Passive, &L, &[frame(a.clone(), 0.1, 0.3), frame(a.clone(), 0.4, 0.3)]).is_empty());
        assert_eq!(codes(&check(CaptureMode::Passive, &L, &[frame(a.clone(), 0.1, 0.05)])), ["live_eyes_closed"]);
        assert_eq!(
            codes(&check(CaptureMode::Passive, &L, &[frame(a.clone(), 0.5, 0.3), frame(vec![0.0, 1.0], 0.5, 0.3)])),
            ["live_faces_differ"]
        );
        // Off: a face is enough.
        assert!(check(CaptureMode::Off, &L, &[frame(a, 0.0, 0.0)]).is_empty());
        assert!(RETRYABLE.contains(&"live_eyes_closed") && !RETRYABLE.contains(&LIVENESS_FAILED) && !RETRYABLE.contains(&CHALLENGE_FAILED));
    }
}
