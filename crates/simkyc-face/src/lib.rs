//! The simkyc face engine: decode, detect, landmark, align, embed and compare faces, with
//! models from a manifest running on `tract` or onnxruntime (see `runtime`).

pub mod adapt;
pub mod align;
pub mod challenge;
pub mod cues;
pub mod decode;
pub mod detect;
pub mod embed;
pub mod engine;
pub mod image_ops;
pub mod liveness;
pub mod mesh;
pub mod onnx;
pub mod onnx_ort;
pub mod onnx_prelu;
pub mod onnx_shapes;
pub mod onnx_tract;
pub mod open_set;
pub mod quality;
pub mod runtime;
pub mod spare;
pub mod stats;
pub mod thresholds;
pub mod yunet;

pub use engine::{EngineOptions, FaceAnalysis, FaceEngine, Subject, Timings};

/// Errors from the face pipeline, each one a distinct reason a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// The bytes are not a decodable image.
    #[error("cannot decode image: {0}")]
    Decode(String),
    /// The image is larger than the configured limits.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// A model is missing, corrupt, or failed to run.
    #[error("model error: {0}")]
    Model(String),
}
