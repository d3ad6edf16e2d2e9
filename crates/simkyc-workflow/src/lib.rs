//! Registration domain rules, free of storage and HTTP: who may do what, which state changes a
//! registration may take, how a document is checked, and how the capture checks combine into one
//! decision with machine-readable reasons and a message a clerk can read.

pub mod capture;
pub mod decision;
pub mod document;
pub mod reason;
pub mod role;
pub mod state;

pub use capture::{Action, CaptureMode, CaptureRequirements};
pub use decision::{decide, CheckResults, Decision, DuplicateHit, MatchPoints, Outcome};
pub use document::{DocumentInput, DocumentType, ValidDocument};
pub use reason::{Reason, ReasonCode, Severity};
pub use role::{Permission, Role};
pub use state::{RegistrationState, TransitionError};
