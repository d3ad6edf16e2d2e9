//! ONNX models on `tract`: loaded once, optimised per input shape, shared between threads.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::FaceError;

type Plan = Arc<TypedRunnableModel>;

/// An ONNX graph with one NCHW f32 input, ready to run.
pub struct OnnxModel {
    name: String,
    model: InferenceModel,
    /// Plans already optimised for an input shape; a fixed-shape model has exactly one.
    plans: Mutex<Vec<(Vec<usize>, Plan)>>,
}

/// Most distinct input shapes kept optimised at once for a variable-size model.
const PLAN_CACHE: usize = 8;

fn tract_err(name: &str, e: impl std::fmt::Display) -> FaceError {
    FaceError::Model(format!("{name}: {e}"))
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
    /// Loads an ONNX file after checking its SHA-256 (skipped when `sha256` is empty).
    pub fn load(name: &str, path: &Path, sha256: &str) -> Result<OnnxModel, FaceError> {
        Self::from_bytes(name, &read_checked(name, path, sha256)?)
    }

    /// Parses an ONNX model from memory.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<OnnxModel, FaceError> {
        let model = tract_onnx::onnx().model_for_read(&mut std::io::Cursor::new(bytes)).map_err(|e| tract_err(name, e))?;
        Ok(OnnxModel { name: name.to_string(), model, plans: Mutex::new(Vec::new()) })
    }

    /// Forgets the tensor shapes the file declares for every value past the input (ONNX
    /// `value_info` and output shapes): a graph exported at one input size (YuNet: 640×640) then
    /// runs at any size, its shapes inferred from the input alone.
    pub fn forget_declared_shapes(mut self) -> Result<OnnxModel, FaceError> {
        let inputs: Vec<usize> = self.model.input_outlets().map_err(|e| tract_err(&self.name, e))?.iter().map(|o| o.node).collect();
        // Constants (weights) keep their facts: they carry the values.
        let outlets: Vec<OutletId> = self
            .model
            .nodes()
            .iter()
            .filter(|n| !inputs.contains(&n.id))
            .flat_map(|n| (0..n.outputs.len()).map(move |slot| OutletId::new(n.id, slot)))
            .filter(|o| self.model.outlet_fact(*o).map(|f| !f.value.is_concrete()).unwrap_or(false))
            .collect();
        for o in outlets {
            self.model.set_outlet_fact(o, InferenceFact::default()).map_err(|e| tract_err(&self.name, e))?;
        }
        Ok(self)
    }

    fn plan_for(&self, shape: &[usize]) -> Result<Plan, FaceError> {
        {
            let plans = self.plans.lock().map_err(|_| FaceError::Model("plan cache poisoned".into()))?;
            if let Some((_, p)) = plans.iter().find(|(s, _)| s == shape) {
                return Ok(p.clone());
            }
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| tract_err(&self.name, format!("cannot prepare for input {shape:?}: {e}")))?;
        let mut plans = self.plans.lock().map_err(|_| FaceError::Model("plan cache poisoned".into()))?;
        if plans.len() >= PLAN_CACHE {
            plans.remove(0);
        }
        plans.push((shape.to_vec(), plan.clone()));
        Ok(plan)
    }

    /// Runs the model on one input tensor and returns its first output as (shape, values).
    pub fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<(Vec<usize>, Vec<f32>), FaceError> {
        let plan = self.plan_for(shape)?;
        let input = tract_ndarray::ArrayD::from_shape_vec(shape.to_vec(), data)
            .map_err(|e| tract_err(&self.name, e))?;
        let out = plan.run(tvec!(Tensor::from(input).into())).map_err(|e| tract_err(&self.name, e))?;
        let first = out.into_iter().next().ok_or_else(|| tract_err(&self.name, "model has no output"))?;
        let view = first.to_plain_array_view::<f32>().map_err(|e| tract_err(&self.name, e))?;
        Ok((view.shape().to_vec(), view.iter().copied().collect()))
    }

    /// Runs the model and returns every output's values, in the graph's output order.
    pub fn run_all(&self, shape: &[usize], data: Vec<f32>) -> Result<Vec<Vec<f32>>, FaceError> {
        let plan = self.plan_for(shape)?;
        let input = tract_ndarray::ArrayD::from_shape_vec(shape.to_vec(), data).map_err(|e| tract_err(&self.name, e))?;
        let out = plan.run(tvec!(Tensor::from(input).into())).map_err(|e| tract_err(&self.name, e))?;
        out.into_iter()
            .map(|o| o.to_plain_array_view::<f32>().map(|v| v.iter().copied().collect()).map_err(|e| tract_err(&self.name, e)))
            .collect()
    }
}
