//! The verification core of a registration, free of HTTP and storage: the face stack loaded with
//! its calibrated operating points ([`Verifier`]), the analysis of document photos and live
//! captures ([`analysis`]), the capture checks ([`capture`]), and the decision on a capture
//! ([`decision`]): 1:1 against the document, 1:N against other identities, the SIM limit. The
//! service and `simkyc compare --live-frames` both call [`decision::decide_capture`], so they
//! cannot disagree.

pub mod analysis;
pub mod capture;
pub mod decision;
pub mod document;
pub mod frames;
pub mod live_flip;
pub mod template;
pub mod verifier;

pub use analysis::{Analysed, ChallengeSummary, Depth, FrameError, LiveCapture};
pub use capture::{CaptureCheck, CaptureLimits};
pub use decision::{decide_capture, CaptureScores, DuplicateSearch, GalleryTemplate, MatchContext, Verification};
pub use live_flip::LiveFlip;
pub use verifier::{LoadError, Verifier};
