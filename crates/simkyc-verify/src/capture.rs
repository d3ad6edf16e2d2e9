//! The capture checks of a decision: is every live frame usable and, as far as the mode checks,
//! a live person? `passive` checks the frames alone (no challenge); `active` adds the challenge;
//! `off` only requires a face (for tests and lab set-ups).

use serde::Serialize;
use simkyc_face::embed::{cosine, template_similarity};
use simkyc_face::quality::{assess, comparable_faces, cut_off, QualityLimits, QualityProblem};
use simkyc_workflow::{CaptureMode, MatchPoints, Reason, ReasonCode};

use crate::analysis::{Analysed, LiveCapture};

/// Default eye aspect ratio below which the eyes count as closed (lfw-dev open eyes: 5th
/// percentile 0.17, minimum 0.11 over 67 images; narrow or squinting eyes stay above it).
pub const EYES_CLOSED_EAR: f32 = 0.10;

/// Default smallest inter-eye distance of a live face, pixels.
pub const MIN_LIVE_EYE_PX: f64 = 30.0;

/// The similarity frames of one capture must reach to count as one person: 0.11 below the
/// default 1:1 point. Frames of one webcam capture of one person were measured down to 0.75
/// (head turns, changing backlight on pad-dev's real2 clip); this check is there to catch a swap
/// of people between frames, which the 1:1 match of every frame against the document also
/// guards.
pub fn same_person_threshold(points: MatchPoints) -> f32 {
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
    /// The default limits at a pipeline's operating points.
    pub fn defaults(points: MatchPoints) -> CaptureLimits {
        CaptureLimits {
            min_eye_px: MIN_LIVE_EYE_PX,
            same_person: same_person_threshold(points),
            quality: QualityLimits::LIVE,
            liveness: simkyc_face::liveness::PASSIVE_THRESHOLD,
            eyes_closed: EYES_CLOSED_EAR,
        }
    }
}

/// The reason code of a live frame's quality problem.
fn quality_code(p: QualityProblem) -> ReasonCode {
    match p {
        QualityProblem::FaceTooSmall => ReasonCode::LiveFaceTooSmall,
        QualityProblem::Blurry => ReasonCode::LiveBlurry,
        QualityProblem::Underexposed => ReasonCode::LiveUnderexposed,
        QualityProblem::Overexposed => ReasonCode::LiveOverexposed,
        QualityProblem::Pose => ReasonCode::LivePose,
    }
}

/// Checks analysed live frames; every problem is a refusing reason with guidance. In `passive`
/// mode: one customer-sized face per frame, not cut off, eyes open, sharp, well exposed, facing
/// the camera, the same person in every frame, and the mean passive liveness score at or above
/// its threshold (the score itself is never shown to the customer). One reason per code.
pub fn check_frames(mode: CaptureMode, limits: &CaptureLimits, frames: &[Analysed]) -> Vec<Reason> {
    let mut out = Vec::new();
    for (i, a) in frames.iter().enumerate() {
        let f = &a.analysis;
        let n = i + 1;
        let Some(s) = &f.subject else {
            out.push(Reason::reject(
                ReasonCode::LiveNoFace,
                format!("frame {n}: no face found; the customer should face the camera in good light"),
            ));
            continue;
        };
        if mode == CaptureMode::Off {
            continue;
        }
        let faces = comparable_faces(f, s);
        if faces > 1 {
            out.push(Reason::reject(
                ReasonCode::LiveMultipleFaces,
                format!("frame {n}: {faces} faces in view; only the customer may be in the picture"),
            ));
        }
        if cut_off(f, &s.face) {
            out.push(Reason::reject(
                ReasonCode::LiveFaceCutOff,
                format!("frame {n}: the face is cut off by the edge of the picture; centre it"),
            ));
        }
        if a.eyes.is_some_and(|ear| ear < limits.eyes_closed) {
            out.push(Reason::reject(
                ReasonCode::LiveEyesClosed,
                format!("frame {n}: the eyes are closed; ask the customer to keep the eyes open"),
            ));
        }
        if let Some(q) = &a.quality {
            let quality_limits = QualityLimits { min_eye_px: limits.min_eye_px, ..limits.quality };
            for issue in assess(q, &quality_limits, "live") {
                if let Some(p) = issue.problem {
                    out.push(Reason::reject(quality_code(p), format!("frame {n}: {}", issue.message)));
                }
            }
        }
    }
    if mode != CaptureMode::Off {
        let embs: Vec<&[f32]> = frames.iter().filter_map(Analysed::embedding).collect();
        let differ = embs.iter().enumerate().any(|(i, a)| embs[i + 1..].iter().any(|b| cosine(a, b) < limits.same_person));
        if differ {
            out.push(Reason::reject(
                ReasonCode::LiveFacesDiffer,
                "the frames do not show the same person; capture again with only the customer in view",
            ));
        }
        // Liveness is judged only on usable frames: a quality problem is fixed first.
        if out.is_empty() && mean_liveness(frames).is_some_and(|score| score < limits.liveness) {
            out.push(Reason::reject(
                ReasonCode::LivenessFailed,
                "the live capture did not pass the liveness check (photo, screen or mask suspected)",
            ));
        }
    }
    out.sort_by_key(|r| r.code.as_str());
    out.dedup_by(|a, b| a.code == b.code);
    out
}

/// The capture checks' verdict on a whole capture.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureCheck {
    /// Every refusing reason found; empty when the capture passed.
    pub reasons: Vec<Reason>,
}

impl CaptureCheck {
    /// Whether the capture passed every check (then it is compared with the document).
    pub fn passed(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Whether every problem is one of framing, not a verdict on the person: the clerk may
    /// capture again (when attempts are left) instead of the registration being decided.
    pub fn retryable(&self) -> bool {
        !self.reasons.is_empty() && self.reasons.iter().all(|r| r.code.is_retryable())
    }
}

/// Checks a live capture: its frames (see [`check_frames`]) and, in active mode, the
/// challenge: a face lost in more than half the frames refuses the capture as `live_no_face`
/// (retryable); otherwise actions not seen in order refuse it as `challenge_failed`.
pub fn check_capture(capture: &LiveCapture, limits: &CaptureLimits) -> CaptureCheck {
    let mut reasons = check_frames(capture.mode, limits, &capture.frames);
    if let Some(c) = &capture.challenge {
        if c.face_lost() {
            reasons.push(Reason::reject(
                ReasonCode::LiveNoFace,
                format!("the face was lost in {} of {} frames; keep the face in view during the actions", c.frames - c.tracked, c.frames),
            ));
        } else if let Err(f) = &c.verdict {
            reasons.push(Reason::reject(ReasonCode::ChallengeFailed, format!("the challenge was not completed: {f}")));
        }
    }
    CaptureCheck { reasons }
}

/// Mean similarity of the live frames to a template (one embedding, or a stored live template
/// that is itself a mean): unlike the similarity of a re-normalised fused template it is not
/// inflated by averaging, so the single-image calibration holds.
pub fn mean_score(frames: &[&[f32]], template: &[f32]) -> Option<f32> {
    (!frames.is_empty()).then(|| frames.iter().map(|f| template_similarity(f, template)).sum::<f32>() / frames.len() as f32)
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
    use crate::analysis::ChallengeSummary;

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
        let check = |frames: &[Analysed]| check_frames(CaptureMode::Passive, &L, frames);
        assert!(check(&[frame(a.clone(), 0.5, 0.3), frame(a.clone(), 0.4, 0.3)]).is_empty());
        assert_eq!(codes(&check(&[frame(a.clone(), 0.5, 0.05)])), ["live_eyes_closed"]);
        // Liveness is the mean over frames, judged only when the frames are usable.
        assert_eq!(codes(&check(&[frame(a.clone(), 0.1, 0.3), frame(a.clone(), 0.2, 0.3)])), ["liveness_failed"]);
        assert!(check(&[frame(a.clone(), 0.1, 0.3), frame(a.clone(), 0.4, 0.3)]).is_empty());
        assert_eq!(codes(&check(&[frame(a.clone(), 0.1, 0.05)])), ["live_eyes_closed"]);
        assert_eq!(codes(&check(&[frame(a.clone(), 0.5, 0.3), frame(vec![0.0, 1.0], 0.5, 0.3)])), ["live_faces_differ"]);
        // Off: a face is enough.
        assert!(check_frames(CaptureMode::Off, &L, &[frame(a, 0.0, 0.0)]).is_empty());
    }

    fn active(tracked: usize, verdict: Result<Vec<usize>, simkyc_face::challenge::ChallengeFailure>) -> LiveCapture {
        let a = vec![1.0, 0.0];
        LiveCapture {
            mode: CaptureMode::Active,
            frames: vec![frame(a.clone(), 0.5, 0.3), frame(a, 0.5, 0.3)],
            frame_indices: vec![0, 5],
            challenge: Some(ChallengeSummary {
                actions: vec![simkyc_workflow::Action::Blink],
                frames: 10,
                tracked,
                signals: Vec::new(),
                verdict,
            }),
            mirrored: true,
            pending_mirrors: Default::default(),
        }
    }

    #[test]
    fn challenge_rules() {
        let ok = check_capture(&active(10, Ok(vec![3])), &L);
        assert!(ok.passed() && !ok.retryable());
        // The face lost in more than half the frames: retryable, whatever the verdict.
        let lost = check_capture(&active(4, Ok(vec![3])), &L);
        assert_eq!(codes(&lost.reasons), ["live_no_face"]);
        assert!(lost.retryable());
        let failure = simkyc_face::challenge::ChallengeFailure::Missing(simkyc_workflow::Action::Blink);
        let failed = check_capture(&active(5, Err(failure)), &L);
        assert_eq!(codes(&failed.reasons), ["challenge_failed"]);
        assert!(!failed.retryable());
    }
}
