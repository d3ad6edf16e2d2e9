//! HTTP handlers, one module per resource.

pub mod admin;
pub mod audit;
pub mod console;
pub mod documents;
pub mod me;
pub mod ops;
pub mod registrations;
pub mod review;
pub mod sims;
