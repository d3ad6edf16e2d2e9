//! TF.js graph-model → ONNX importer.
//!
//! A TF.js graph model is a `model.json` (a TensorFlow GraphDef as JSON plus a weights manifest)
//! and binary weight shards. [`convert`] decodes the weights (float32, int32, float16- and
//! uint8/uint16-quantised), maps every node to ONNX operators (opset 13) and returns a model that
//! tract and onnxruntime load. Inputs and outputs keep TF's NHWC layout; inside, 4-D tensors run
//! in ONNX's NCHW layout with transposes only where a layout-sensitive op needs them. Unknown ops
//! are refused with an error that names them.

mod builder;
mod convert;
mod graph;
mod weights;

pub use convert::{convert, Converted, SUPPORTED_OPS};
pub use graph::ModelJson;

/// Why a model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum TfjsError {
    /// model.json is not a TF.js graph model.
    #[error("model.json: {0}")]
    Json(String),
    /// A weight shard is missing or too short.
    #[error("weights: {0}")]
    Weights(String),
    /// The graph uses operators this importer does not support.
    #[error("unsupported TF.js operators: {0}")]
    Unsupported(String),
    /// The graph is inconsistent (unknown inputs, shapes that do not fit).
    #[error("graph: {0}")]
    Graph(String),
}
