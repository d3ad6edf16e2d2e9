//! The tract backend: ONNX graphs run in pure Rust, optimised once per input shape and shared
//! between threads. Always available.

use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

use crate::onnx::Output;
use crate::FaceError;

type Plan = Arc<TypedRunnableModel>;

/// An ONNX graph on tract with one f32 input.
pub struct TractModel {
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

impl TractModel {
    /// Parses an ONNX model from memory.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<TractModel, FaceError> {
        let model = tract_onnx::onnx().model_for_read(&mut std::io::Cursor::new(bytes)).map_err(|e| tract_err(name, e))?;
        Ok(TractModel { name: name.to_string(), model, plans: Mutex::new(Vec::new()) })
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

    /// Runs the model and returns every output as (shape, values), in the graph's output order.
    pub fn run_all(&self, shape: &[usize], data: Vec<f32>) -> Result<Vec<Output>, FaceError> {
        let plan = self.plan_for(shape)?;
        let input = tract_ndarray::ArrayD::from_shape_vec(shape.to_vec(), data).map_err(|e| tract_err(&self.name, e))?;
        let out = plan.run(tvec!(Tensor::from(input).into())).map_err(|e| tract_err(&self.name, e))?;
        out.into_iter()
            .map(|o| {
                let v = o.to_plain_array_view::<f32>().map_err(|e| tract_err(&self.name, e))?;
                Ok((v.shape().to_vec(), v.iter().copied().collect()))
            })
            .collect()
    }
}
