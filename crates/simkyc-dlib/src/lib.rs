//! Readers for dlib's serialised models, written from dlib's file format so that simkyc runs
//! dlib's CC0 face models without dlib: DNNs are exported to ONNX and run on `tract`, and the
//! shape predictor (a regression-tree cascade) is evaluated natively.

pub mod dnn;
pub mod onnx_export;
pub mod serial;
pub mod shape_predictor;

/// Errors from reading a dlib model file.
#[derive(Debug, thiserror::Error)]
pub enum DlibError {
    /// The bytes do not follow dlib's format or the declared architecture.
    #[error("not a valid dlib model at byte {offset}: {what}")]
    Format {
        /// Byte offset where reading failed.
        offset: usize,
        /// What was wrong.
        what: String,
    },
    /// The network could not be turned into a graph.
    #[error("cannot build a graph from the dlib network: {0}")]
    Graph(String),
}
