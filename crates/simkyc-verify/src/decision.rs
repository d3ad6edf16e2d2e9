//! The decision on a live capture: the capture checks, the 1:1 match of the frames against the
//! document template, the 1:N search among other identities' templates, and the SIM limit,
//! combined by the workflow's rules. One function for the service and the CLI.

use serde::Serialize;
use simkyc_face::quality::QualityMeasures;
use simkyc_workflow::{decide, Action, CheckResults, Decision, DuplicateHit, MatchPoints};

use crate::analysis::LiveCapture;
use crate::capture::{mean_liveness, mean_score, CaptureCheck};
use crate::template::live_template;

/// Most duplicate hits kept (the strongest first).
pub const MAX_DUPLICATES: usize = 10;

/// An enrolled template of another identity, opened for the 1:N search.
#[derive(Debug, Clone)]
pub struct GalleryTemplate {
    /// The registration that enrolled it.
    pub registration_id: String,
    /// The template (same model as the live frames).
    pub template: Vec<f32>,
}

/// Where the 1:N search looks: finds templates of *other* identities that the live frames
/// resemble with a mean similarity at or above `threshold`, strongest first, at most `limit`.
/// The service searches its in-memory gallery; a list of opened templates also serves.
pub trait DuplicateSearch {
    /// The resembling templates' registrations and scores.
    fn resembling(&self, live: &[&[f32]], threshold: f32, limit: usize) -> Vec<DuplicateHit>;
}

impl DuplicateSearch for Vec<GalleryTemplate> {
    fn resembling(&self, live: &[&[f32]], threshold: f32, limit: usize) -> Vec<DuplicateHit> {
        let mut hits = duplicates(live, self, threshold);
        hits.truncate(limit);
        hits
    }
}

/// What a capture is judged against besides its frames.
#[derive(Clone, Copy)]
pub struct MatchContext<'a> {
    /// The document photo's template (same model), when there is one.
    pub document: Option<&'a [f32]>,
    /// Templates of *other* identities of the operator (the caller leaves out the subscriber's
    /// own); searched only when the capture passed its checks and matched.
    pub gallery: &'a (dyn DuplicateSearch + Sync),
    /// Active SIMs the document already holds at the operator.
    pub active_sims: u32,
    /// The operator's limit.
    pub sim_limit: u32,
    /// The calibrated operating points.
    pub points: MatchPoints,
    /// Similarity at or above which a template of another identity is a possible duplicate:
    /// chosen for the operator's gallery size and target FPIR, never below the strict point.
    pub duplicate_threshold: f32,
    /// Reasons found when the registration started (e.g. a document scan disagreeing with
    /// the typed data), carried into the decision.
    pub document_reasons: &'a [simkyc_workflow::Reason],
}

/// What the challenge showed, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct ChallengeRecord {
    /// The actions asked for.
    pub actions: Vec<Action>,
    /// Frames in the sequence.
    pub frames: usize,
    /// Frames in which the face was tracked.
    pub tracked: usize,
    /// Frames at which the actions were seen.
    pub seen_at: Option<Vec<usize>>,
    /// Why the challenge failed.
    pub failure: Option<String>,
}

/// The measurements behind a decision, recorded for reviewers (no images, no templates).
#[derive(Debug, Clone, Serialize)]
pub struct CaptureScores {
    /// 1:1 similarity of the live frames to the document (mean over frames).
    #[serde(rename = "match")]
    pub match_score: Option<f32>,
    /// Threshold at the default point.
    pub default_threshold: f32,
    /// Threshold at the strict point.
    pub strict_threshold: f32,
    /// Threshold of the 1:N duplicate search.
    pub duplicate_threshold: f32,
    /// Whether the live frames were embedded with their mirrors (`live_flip`: always, or near a
    /// threshold when the score came near one).
    pub live_mirrored: bool,
    /// Frames judged.
    pub frames: usize,
    /// Faces found per judged frame.
    pub faces_per_frame: Vec<usize>,
    /// Inter-eye distance per judged frame (pixels, one decimal).
    pub inter_eye_px: Vec<Option<f64>>,
    /// Quality measures per judged frame.
    pub quality: Vec<Option<QualityMeasures>>,
    /// Mean passive liveness score.
    pub liveness: Option<f32>,
    /// The active challenge, when there was one.
    pub challenge: Option<ChallengeRecord>,
    /// 1:N hits.
    pub duplicates: Vec<DuplicateHit>,
    /// Active SIMs of the document before this registration.
    pub active_sims: u32,
    /// The operator's limit.
    pub sim_limit: u32,
}

/// A decided capture.
#[derive(Debug, Clone)]
pub struct Verification {
    /// Outcome, reasons and the clerk's message.
    pub decision: Decision,
    /// Everything the decision was made from.
    pub checks: CheckResults,
    /// The measurements, for the record.
    pub scores: CaptureScores,
    /// The live template to enrol (the mean of the judged frames), when any frame had a face.
    pub live_template: Option<Vec<f32>>,
    /// Position in the upload of the frame to keep for review (the largest face).
    pub best_frame: Option<usize>,
}

impl Verification {
    /// Whether the decision counts towards the device's liveness lockout.
    pub fn liveness_failed(&self) -> bool {
        self.decision.reasons.iter().any(|r| r.code.is_liveness_failure())
    }
}

/// 1:N: templates of other identities that the live frames resemble at or above the strict
/// point, strongest first, at most [`MAX_DUPLICATES`].
pub fn duplicates(live: &[&[f32]], gallery: &[GalleryTemplate], strict: f32) -> Vec<DuplicateHit> {
    let mut hits: Vec<DuplicateHit> = gallery
        .iter()
        .filter_map(|g| {
            mean_score(live, &g.template)
                .filter(|&s| s >= strict)
                .map(|score| DuplicateHit { registration_id: g.registration_id.clone(), score })
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(MAX_DUPLICATES);
    hits
}

/// Decides a checked capture: when it passed its checks, the mean similarity of its frames to
/// the document decides the 1:1 match and, once there is a score, the gallery is searched;
/// the SIM limit applies either way. The rules that combine these are the workflow's.
pub fn decide_capture(capture: &LiveCapture, check: CaptureCheck, ctx: &MatchContext<'_>) -> Verification {
    let live = capture.embeddings();
    let match_score = if check.passed() { ctx.document.and_then(|d| mean_score(&live, d)) } else { None };
    let duplicate_threshold = ctx.duplicate_threshold.max(ctx.points.strict);
    let duplicates = if match_score.is_some() { ctx.gallery.resembling(&live, duplicate_threshold, MAX_DUPLICATES) } else { Vec::new() };
    let checks = CheckResults {
        document: ctx.document_reasons.to_vec(),
        capture: check.reasons,
        match_score,
        duplicates: duplicates.clone(),
        active_sims: ctx.active_sims,
        sim_limit: ctx.sim_limit,
    };
    let decision = decide(&checks, ctx.points);
    let frames = &capture.frames;
    let scores = CaptureScores {
        match_score,
        default_threshold: ctx.points.default,
        strict_threshold: ctx.points.strict,
        duplicate_threshold,
        live_mirrored: capture.mirrored,
        frames: frames.len(),
        faces_per_frame: frames.iter().map(|f| f.analysis.faces.len()).collect(),
        inter_eye_px: frames.iter().map(|f| f.analysis.subject.as_ref().map(|s| (s.inter_eye_px * 10.0).round() / 10.0)).collect(),
        quality: frames.iter().map(|f| f.quality).collect(),
        liveness: mean_liveness(frames),
        challenge: capture.challenge.as_ref().map(|c| ChallengeRecord {
            actions: c.actions.clone(),
            frames: c.frames,
            tracked: c.tracked,
            seen_at: c.verdict.as_ref().ok().cloned(),
            failure: c.verdict.as_ref().err().map(|f| f.to_string()),
        }),
        duplicates,
        active_sims: ctx.active_sims,
        sim_limit: ctx.sim_limit,
    };
    Verification { decision, checks, scores, live_template: live_template(&live), best_frame: capture.best_frame() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: &str, t: Vec<f32>) -> GalleryTemplate {
        GalleryTemplate { registration_id: id.into(), template: t }
    }

    #[test]
    fn duplicates_at_the_strict_point_strongest_first() {
        let live: Vec<&[f32]> = vec![&[1.0, 0.0]];
        let gallery = [g("far", vec![0.0, 1.0]), g("near", vec![0.9939, 0.1104]), g("same", vec![1.0, 0.0])];
        let hits = duplicates(&live, &gallery, 0.95);
        assert_eq!(hits.iter().map(|h| h.registration_id.as_str()).collect::<Vec<_>>(), ["same", "near"]);
        assert!(duplicates(&live, &gallery, 1.01).is_empty());
        // A stored live template is the mean of its frames: scored as the mean of their cosines
        // (0.5 here), not as the cosine to their re-normalised mean (0.71).
        let mean = live_template(&[&[1.0, 0.0], &[0.0, 1.0]]).unwrap();
        let hits = duplicates(&live, &[g("mean", mean)], 0.4);
        assert!((hits[0].score - 0.5).abs() < 1e-6, "{}", hits[0].score);
    }
}
