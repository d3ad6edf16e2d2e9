//! The capture-check step of a decision: is every live frame usable and, as far as the mode
//! checks, a live person? Pluggable by mode; `passive` checks the frames alone (no challenge),
//! `off` only requires a face (for tests and lab set-ups). The active challenge and the passive
//! presentation-attack models plug in here (issue: capture quality and liveness).

use serde::Serialize;
use simkyc_face::embed::cosine;
use simkyc_face::FaceAnalysis;
use simkyc_workflow::{Reason, Severity};

/// How live frames are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    /// Frame quality and consistency, no challenge.
    Passive,
    /// Only a face is required (testing only).
    Off,
}

impl CaptureMode {
    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<CaptureMode> {
        match s {
            "passive" => Some(CaptureMode::Passive),
            "off" => Some(CaptureMode::Off),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Passive => "passive",
            CaptureMode::Off => "off",
        }
    }
}

/// Reasons that describe the framing, not the person: the clerk may capture again.
pub const RETRYABLE: &[&str] = &["live_no_face", "live_multiple_faces", "live_face_too_small", "live_face_cut_off"];

/// Limits the capture checks apply.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CaptureLimits {
    /// Smallest inter-eye distance, pixels.
    pub min_eye_px: f64,
    /// Frames of one capture must resemble each other at least this much (same person).
    pub same_person: f32,
}

fn reason(code: &str, msg: String) -> Reason {
    Reason::new(code, Severity::Reject, msg)
}

/// Faces at least half as wide as the subject's, the subject included. Much smaller faces are
/// bystanders far behind the customer, not a second person presenting.
pub fn comparable_faces(f: &FaceAnalysis, subject: &simkyc_face::Subject) -> usize {
    let width = subject.face.right - subject.face.left;
    f.faces.iter().filter(|b| (b.right - b.left) >= 0.5 * width).count().max(1)
}

/// Checks the analysed live frames; every problem is a refusing reason with guidance.
pub fn check(mode: CaptureMode, limits: &CaptureLimits, frames: &[FaceAnalysis]) -> Vec<Reason> {
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let n = i + 1;
        if f.faces.is_empty() || f.subject.is_none() {
            out.push(reason("live_no_face", format!("frame {n}: no face found; the customer should face the camera in good light")));
            continue;
        }
        if mode == CaptureMode::Off {
            continue;
        }
        if let Some(s) = &f.subject {
            let faces = comparable_faces(f, s);
            if faces > 1 {
                out.push(reason("live_multiple_faces", format!("frame {n}: {faces} faces in view; only the customer may be in the picture")));
            }
            if s.inter_eye_px < limits.min_eye_px {
                out.push(reason("live_face_too_small", format!("frame {n}: the face is too small ({:.0} px between the eyes, at least {:.0}); move closer", s.inter_eye_px, limits.min_eye_px)));
            }
            let b = &s.face;
            let margin = 0.02 * f.width.min(f.height) as f64;
            if b.left < -margin || b.top < -margin || b.right > f.width as f64 + margin || b.bottom > f.height as f64 + margin {
                out.push(reason("live_face_cut_off", format!("frame {n}: the face is cut off by the edge of the picture; centre it")));
            }
        }
    }
    if mode == CaptureMode::Passive {
        let embs: Vec<&Vec<f32>> = frames.iter().filter_map(|f| f.subject.as_ref().map(|s| &s.embedding)).collect();
        let differ = embs.iter().enumerate().any(|(i, a)| embs[i + 1..].iter().any(|b| cosine(a, b) < limits.same_person));
        if differ {
            out.push(reason("live_faces_differ", "the frames do not show the same person; capture again with only the customer in view".into()));
        }
    }
    out.dedup_by(|a, b| a.code == b.code && a.code == "live_faces_differ");
    out
}
