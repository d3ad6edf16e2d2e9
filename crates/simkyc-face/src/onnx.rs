//! ONNX models behind one type, on the runtime the engine was configured with (tract or
//! onnxruntime): loaded once, checked against the manifest's SHA-256, shared between threads.

use std::path::Path;

use crate::onnx_ort::OrtModel;
use crate::onnx_shapes::{free_declared_shapes, FreeDims};
use crate::onnx_tract::TractModel;
use crate::runtime::Runtime;
use crate::FaceError;

/// One output of a model run: its shape and its values (row-major).
pub type Output = (Vec<usize>, Vec<f32>);

enum Backend {
    Tract(TractModel),
    Ort(OrtModel),
}

/// An ONNX graph with one f32 input, ready to run.
pub struct OnnxModel {
    backend: Backend,
}

/// Reads a model file and checks its SHA-256 against the manifest (skipped when `sha256` is empty).
pub fn read_checked(name: &str, path: &Path, sha256: &str) -> Result<Vec<u8>, FaceError> {
    let bytes = std::fs::read(path).map_err(|e| FaceError::Model(format!("{name}: cannot read {}: {e}", path.display())))?;
    if !sha256.is_empty() {
        let got = simkyc_models::cache::sha256_bytes(&bytes);
        if got != sha256 {
            return Err(FaceError::Model(format!("{name}: {} has sha256 {got}, manifest says {sha256}", path.display())));
        }
    }
    Ok(bytes)
}

impl OnnxModel {
    /// Loads an ONNX file after checking its SHA-256 (skipped when `sha256` is empty), with the
    /// chosen input dimensions freed (see `onnx_shapes`).
    pub fn load(name: &str, path: &Path, sha256: &str, free: FreeDims, runtime: &Runtime) -> Result<OnnxModel, FaceError> {
        Self::from_bytes(name, &read_checked(name, path, sha256)?, free, runtime)
    }

    /// The runtime it runs on (`tract` or `onnxruntime`).
    pub fn runtime_name(&self) -> &'static str {
        match &self.backend {
            Backend::Tract(_) => "tract",
            Backend::Ort(_) => "onnxruntime",
        }
    }

    /// Parses an ONNX model from memory.
    pub fn from_bytes(name: &str, bytes: &[u8], free: FreeDims, runtime: &Runtime) -> Result<OnnxModel, FaceError> {
        let bytes = free_declared_shapes(name, bytes, free)?;
        let backend = match runtime {
            Runtime::Tract => Backend::Tract(TractModel::from_bytes(name, &bytes)?),
            Runtime::Onnxruntime(o) => Backend::Ort(OrtModel::from_bytes(name, bytes, o)?),
        };
        Ok(OnnxModel { backend })
    }

    /// Runs the model on one input tensor and returns its first output as (shape, values).
    pub fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<Output, FaceError> {
        self.run_shaped(shape, data)?.into_iter().next().ok_or_else(|| FaceError::Model("the model has no output".into()))
    }

    /// Runs the model and returns every output's values, in the graph's output order.
    pub fn run_all(&self, shape: &[usize], data: Vec<f32>) -> Result<Vec<Vec<f32>>, FaceError> {
        Ok(self.run_shaped(shape, data)?.into_iter().map(|(_, v)| v).collect())
    }

    /// Runs the model and returns every output as (shape, values), in the graph's output order.
    pub fn run_shaped(&self, shape: &[usize], data: Vec<f32>) -> Result<Vec<Output>, FaceError> {
        match &self.backend {
            Backend::Tract(m) => m.run_all(shape, data),
            Backend::Ort(m) => m.run_all(shape, data),
        }
    }
}
