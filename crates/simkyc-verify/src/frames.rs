//! A capture decided offline, as `simkyc compare --live-frames` does: a document photo and a
//! folder of frames through the same analysis, checks and decision the service runs, at the
//! default limits, with no gallery and no SIM limit.

use simkyc_face::FaceError;
use simkyc_workflow::{Action, CaptureMode};

use crate::capture::{check_capture, CaptureLimits};
use crate::document::{check_document_photo, DocumentPhotoProblem, MIN_DOCUMENT_EYE_PX};
use crate::{decide_capture, Depth, FrameError, GalleryTemplate, MatchContext, Verification, Verifier};

/// Why frames could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum FramesError {
    /// The document photo could not be read or analysed.
    #[error("document photo: {0}")]
    DocumentImage(FaceError),
    /// The document photo is not usable (as the service refuses it when a registration starts).
    #[error("{0}")]
    DocumentPhoto(#[from] DocumentPhotoProblem),
    /// A frame could not be read or analysed.
    #[error("{0}")]
    Frame(#[from] FrameError),
}

/// The decision on a set of frames, and whether the service would first have asked for
/// another capture (every problem one of framing, with attempts left).
#[derive(Debug, Clone)]
pub struct FramesOutcome {
    /// The decision as the service would record it.
    pub verification: Verification,
    /// Whether the service would refuse the frames for framing and ask for another capture.
    pub retryable: bool,
}

/// Decides a capture of `frames` (in capture order) against `document`, in `mode`, with the
/// challenge `actions` in active mode.
pub fn verify_frames(
    verifier: &Verifier,
    document: &[u8],
    mode: CaptureMode,
    frames: &[Vec<u8>],
    actions: &[Action],
) -> Result<FramesOutcome, FramesError> {
    let doc = verifier.analyse(document, Depth::Document).map_err(FramesError::DocumentImage)?;
    let subject = check_document_photo(&doc, MIN_DOCUMENT_EYE_PX)?;
    let mut capture = verifier.analyse_capture(mode, frames, actions)?;
    let check = check_capture(&capture, &CaptureLimits::defaults(verifier.points));
    if check.passed() {
        verifier.settle_live_flip(&mut capture, Some(&subject.embedding)).map_err(|error| FrameError { index: 0, error })?;
    }
    let retryable = check.retryable();
    let ctx = MatchContext {
        document: Some(&subject.embedding),
        gallery: &Vec::<GalleryTemplate>::new(),
        active_sims: 0,
        sim_limit: u32::MAX,
        points: verifier.points,
        duplicate_threshold: verifier.points.strict,
        document_reasons: &[],
    };
    Ok(FramesOutcome { verification: decide_capture(&capture, check, &ctx), retryable })
}
