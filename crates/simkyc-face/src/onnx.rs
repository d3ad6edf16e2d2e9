//! ONNX models behind one type, on the runtime the engine was configured with (tract or
//! onnxruntime): loaded once, checked against the manifest's SHA-256, shared between threads.

use std::path::Path;

use crate::onnx_ort::{ModelSource, OrtModel};
use crate::onnx_prelu::{rewrite_prelu, PreluForm};
use crate::onnx_shapes::{decode, free_shapes, FreeDims};
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

/// Makes a model file ready to run on a runtime: the chosen input dimensions freed (see
/// `onnx_shapes`) and PRelu nodes rewritten into the form that runtime runs fastest (see
/// `onnx_prelu`). Returns the bytes unchanged when nothing applies.
pub fn prepare(name: &str, bytes: &[u8], free: FreeDims, runtime: &Runtime) -> Result<Vec<u8>, FaceError> {
    let mut model = decode(name, bytes)?;
    let freed = free_shapes(name, &mut model, free)?;
    let rewritten = rewrite_prelu(&mut model, prelu_form(runtime)) > 0;
    Ok(if freed || rewritten { prost::Message::encode_to_vec(&model) } else { bytes.to_vec() })
}

/// The PRelu form each runtime runs fastest.
fn prelu_form(runtime: &Runtime) -> PreluForm {
    // Measured (docs/models.md): on onnxruntime SFace takes 14.2–15.8 ms with the depthwise form
    // (13.6 against 14.2 ms once its sum was fused) against 19.1–21.1 ms element-wise; on tract
    // 34.2–37.9 ms against 27.5–29.8 ms.
    match runtime {
        Runtime::Tract => PreluForm::Elementwise,
        Runtime::Onnxruntime(_) => PreluForm::Depthwise,
    }
}

impl OnnxModel {
    /// Loads an ONNX file after checking its SHA-256 (skipped when `sha256` is empty), prepared
    /// by `prepare`.
    pub fn load(name: &str, path: &Path, sha256: &str, free: FreeDims, runtime: &Runtime) -> Result<OnnxModel, FaceError> {
        let (n, p, s, r) = (name.to_string(), path.to_path_buf(), sha256.to_string(), runtime.clone());
        let again = move || prepare(&n, &read_checked(&n, &p, &s)?, free, &r);
        let bytes = again()?;
        Self::from_prepared(name, &bytes, Box::new(again), runtime)
    }

    /// Parses an ONNX model from memory (kept, for onnxruntime's further sessions).
    pub fn from_bytes(name: &str, bytes: &[u8], free: FreeDims, runtime: &Runtime) -> Result<OnnxModel, FaceError> {
        let bytes = std::sync::Arc::new(prepare(name, bytes, free, runtime)?);
        let kept = bytes.clone();
        Self::from_prepared(name, &bytes, Box::new(move || Ok(kept.to_vec())), runtime)
    }

    fn from_prepared(name: &str, bytes: &[u8], source: ModelSource, runtime: &Runtime) -> Result<OnnxModel, FaceError> {
        let backend = match runtime {
            Runtime::Tract => Backend::Tract(TractModel::from_bytes(name, bytes)?),
            Runtime::Onnxruntime(o) => Backend::Ort(OrtModel::new(name, bytes, source, o)?),
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
