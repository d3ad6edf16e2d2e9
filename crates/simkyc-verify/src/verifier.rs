//! The face stack a decision needs, loaded together and checked to belong together: the engine
//! (detector, landmarks, embedder, adaptation), its calibrated operating points, passive
//! liveness and the face mesh of the active challenge.

use std::path::Path;
use std::sync::Arc;

use simkyc_face::adapt::Adaptation;
use simkyc_face::decode::DecodeLimits;
use simkyc_face::liveness::PassiveLiveness;
use simkyc_face::mesh::FaceMesh;
use simkyc_face::runtime::Runtime;
use simkyc_face::thresholds::Thresholds;
use simkyc_face::{EngineOptions, FaceEngine};
use simkyc_models::manifest::Manifest;
use simkyc_workflow::MatchPoints;

use crate::live_flip::LiveFlip;

/// Problems loading the face stack.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Models are missing or broken.
    #[error("face models in {dir}: {message} (run `simkyc models fetch`)")]
    Models {
        /// Models directory.
        dir: String,
        /// Cause.
        message: String,
    },
    /// Thresholds do not fit the pipeline.
    #[error("{0}")]
    Thresholds(#[from] simkyc_face::thresholds::ThresholdsError),
}

/// Engine, operating points, liveness and mesh: everything a capture decision runs on.
pub struct Verifier {
    /// The engine (detector, landmarks, embedder, adaptation).
    pub engine: Arc<FaceEngine>,
    /// Calibrated operating points.
    pub points: MatchPoints,
    /// Passive presentation-attack detection.
    pub liveness: Arc<PassiveLiveness>,
    /// Face mesh for the active challenge and eye openness.
    pub mesh: Arc<FaceMesh>,
    /// The calibration the points come from.
    pub thresholds: Thresholds,
    /// How live frames are embedded: with their mirror (the default), without it, or with it
    /// only near a threshold; document photos always keep it (docs/configuration.md).
    pub live_flip: LiveFlip,
}

impl Verifier {
    /// Loads the manifest's default engine with the built-in adaptation (when it fits the
    /// embedder), the thresholds (a file, or the ones built in for the embedder), liveness and
    /// mesh, on `runtime`; images are refused beyond `limits`.
    pub fn load(models_dir: &Path, thresholds: Option<&Path>, limits: DecodeLimits, runtime: &Runtime) -> Result<Verifier, LoadError> {
        let models = |e: &dyn std::fmt::Display| LoadError::Models { dir: models_dir.display().to_string(), message: e.to_string() };
        let manifest = Manifest::load(models_dir).map_err(|e| models(&e))?;
        let embedder = manifest.defaults.embedder.clone();
        let builtin = Adaptation::parse(simkyc_face::adapt::BUILTIN).map_err(|e| models(&e))?;
        let adaptation = (builtin.embedder == embedder).then(|| Arc::new(builtin));
        let options = EngineOptions { adaptation: adaptation.clone(), runtime: runtime.clone(), limits, ..Default::default() };
        let engine = FaceEngine::load_with(models_dir, &manifest, &embedder, options).map_err(|e| models(&e))?;
        let t = Thresholds::load(thresholds, &embedder)?;
        t.check_fits(engine.embedder_name(), adaptation.as_ref().map(|a| a.id()).as_deref())?;
        let points = MatchPoints { default: t.default.threshold, strict: t.strict.threshold };
        let liveness = PassiveLiveness::load(models_dir, &manifest, runtime)
            .map_err(|e| models(&e))?
            .ok_or_else(|| models(&"the liveness models (human-antispoof, human-liveness) are not installed"))?;
        let mesh = FaceMesh::load(models_dir, &manifest, runtime)
            .map_err(|e| models(&e))?
            .ok_or_else(|| models(&"the face mesh model (human-facemesh) is not installed"))?;
        Ok(Verifier {
            engine: Arc::new(engine),
            points,
            liveness: Arc::new(liveness),
            mesh: Arc::new(mesh),
            thresholds: t,
            live_flip: LiveFlip::Always,
        })
    }

    /// The same verifier with live frames embedded as `live_flip` says.
    pub fn with_live_flip(mut self, live_flip: LiveFlip) -> Verifier {
        self.live_flip = live_flip;
        self
    }

    /// The tag stored with templates: embedder plus adaptation (templates of two models are never compared).
    pub fn template_model(&self) -> String {
        self.engine.template_model().to_string()
    }
}
