//! Registration domain rules, free of storage and HTTP: who may do what, which state changes a
//! registration may take, how a document is checked, and how the capture checks combine into one
//! decision with machine-readable reasons and a message a clerk can read.

pub mod decision;
pub mod document;
pub mod role;
pub mod state;

pub use decision::{decide, CheckResults, Decision, DuplicateHit, MatchPoints, Outcome, Reason, Severity};
pub use document::{DocumentInput, DocumentType, ValidDocument};
pub use role::{Permission, Role};
pub use state::{RegistrationState, TransitionError};
