//! The simkyc registration service: REST API over the face engine, document checks, storage,
//! audit log and vault. `simkyc serve` runs it; tests start it in-process on a free port.

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod face;
pub mod gallery;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod middleware;
pub mod reenrol;
pub mod routes;
pub mod scan;
pub mod state;
pub mod vault;

pub use app::{build_state, build_state_with, load_face, router, start, Running, StartError};
pub use config::Config;
