//! The onnxruntime backend: the same ONNX graphs on Microsoft's runtime, loaded at run time from
//! the shared library `simkyc models fetch` installs (see `runtime`). A session runs one request
//! at a time (`ort` needs `&mut` to run), so each model keeps a small pool: a request takes a
//! session, or builds one when all are busy, and puts it back afterwards. The pool therefore
//! grows to the number of requests that ran at once, which the server bounds. The sessions of a
//! model share one container of pre-packed weights, so a second session does not pack (and
//! hold) its own copy, and every session takes its working memory from the environment's one
//! shared arena. The model file is not kept in memory for those later sessions (SFace alone is
//! 39 MB): it is read again, checked and prepared, from its source.

use std::sync::Mutex;

use ort::session::builder::{GraphOptimizationLevel, PrepackedWeights};
use ort::session::Session;
use ort::value::TensorRef;

use crate::onnx::Output;
use crate::runtime::OrtRuntime;
use crate::FaceError;

/// Gives a model's prepared bytes again when the pool needs another session.
pub type ModelSource = Box<dyn Fn() -> Result<Vec<u8>, FaceError> + Send + Sync>;

/// An ONNX graph on onnxruntime with one f32 input.
pub struct OrtModel {
    name: String,
    source: ModelSource,
    runtime: OrtRuntime,
    prepacked: PrepackedWeights,
    idle: Mutex<Vec<Session>>,
}

fn ort_err(name: &str, e: impl std::fmt::Display) -> FaceError {
    FaceError::Model(format!("{name} (onnxruntime): {e}"))
}

impl OrtModel {
    /// Builds the first session from the prepared bytes at hand; later sessions get theirs from
    /// `source`.
    pub fn new(name: &str, bytes: &[u8], source: ModelSource, runtime: &OrtRuntime) -> Result<OrtModel, FaceError> {
        let m = OrtModel {
            name: name.to_string(),
            source,
            runtime: runtime.clone(),
            prepacked: PrepackedWeights::new(),
            idle: Mutex::new(Vec::new()),
        };
        let first = m.new_session(bytes)?;
        m.idle.lock().map_err(|_| ort_err(name, "session pool poisoned"))?.push(first);
        Ok(m)
    }

    fn new_session(&self, bytes: &[u8]) -> Result<Session, FaceError> {
        let e = |e: ort::Error<_>| ort_err(&self.name, e);
        Session::builder(self.runtime.environment())
            .map_err(|e| ort_err(&self.name, e))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(e)?
            .with_intra_threads(self.runtime.threads())
            .map_err(e)?
            .with_inter_threads(1)
            .map_err(e)?
            .with_intra_op_spinning(false)
            .map_err(e)?
            .with_prepacked_weights(&self.prepacked)
            .map_err(e)?
            // Activations come from the environment's one shared arena (see `runtime`), not
            // from an arena per session that keeps its own peak.
            .with_config_entry("session.use_env_allocators", "1")
            .map_err(e)?
            .commit_from_memory(bytes)
            .map_err(|e| ort_err(&self.name, e))
    }

    /// Runs the model and returns every output as (shape, values), in the graph's output order.
    pub fn run_all(&self, shape: &[usize], data: Vec<f32>) -> Result<Vec<Output>, FaceError> {
        let taken = self.idle.lock().map_err(|_| ort_err(&self.name, "session pool poisoned"))?.pop();
        let mut session = match taken {
            Some(s) => s,
            None => self.new_session(&(self.source)()?)?,
        };
        let result = Self::run_on(&self.name, &mut session, shape, &data);
        self.idle.lock().map_err(|_| ort_err(&self.name, "session pool poisoned"))?.push(session);
        result
    }

    fn run_on(name: &str, session: &mut Session, shape: &[usize], data: &[f32]) -> Result<Vec<Output>, FaceError> {
        let input = TensorRef::from_array_view((shape.to_vec(), data)).map_err(|e| ort_err(name, e))?;
        let outputs = session.run(ort::inputs![input]).map_err(|e| ort_err(name, e))?;
        outputs
            .iter()
            .map(|(_, v)| {
                let (s, values) = v.try_extract_tensor::<f32>().map_err(|e| ort_err(name, e))?;
                let dims = s
                    .iter()
                    .map(|d| usize::try_from(*d).map_err(|_| ort_err(name, format!("output dimension {d}"))))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((dims, values.to_vec()))
            })
            .collect()
    }
}
