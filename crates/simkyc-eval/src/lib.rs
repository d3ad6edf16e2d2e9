//! Verification evaluation for simkyc: LFW-format pair files, error-rate metrics, calibration of
//! operating points across population groups, and DET plots.

pub mod calibration;
pub mod confidence;
pub mod identification;
pub mod metrics;
pub mod pairs;
pub mod plot;

/// Errors from evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A pair file is malformed.
    #[error("pair file: {0}")]
    Pairs(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A thresholds file is malformed or inconsistent.
    #[error("thresholds: {0}")]
    Thresholds(String),
    /// Plotting failed.
    #[error("plot: {0}")]
    Plot(String),
}
