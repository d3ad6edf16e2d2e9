//! HTTP handlers, one module per resource.

pub mod admin;
pub mod audit;
pub mod ops;
pub mod registrations;
pub mod review;
pub mod sims;
pub mod console;
pub mod me;
