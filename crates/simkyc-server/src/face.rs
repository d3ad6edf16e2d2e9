//! The face stack as the service uses it: engine and thresholds loaded together (and checked to
//! belong together), and the per-image analysis run on the blocking pool, a bounded number at a
//! time so a burst of captures queues instead of thrashing the cores.

use std::path::Path;
use std::sync::Arc;

use simkyc_eval::calibration::Thresholds;
use simkyc_face::adapt::Adaptation;
use simkyc_face::challenge::{verify, Action, ChallengeFailure, DetectorLimits};
use simkyc_face::liveness::{LivenessScores, PassiveLiveness};
use simkyc_face::mesh::{sequence_signals, track, FaceMesh, MeshSignals};
use simkyc_face::quality::{measure, QualityMeasures};
use simkyc_face::runtime::Runtime;
use simkyc_face::{EngineOptions, FaceAnalysis, FaceEngine, FaceError};
use simkyc_models::manifest::Manifest;
use simkyc_workflow::MatchPoints;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Problems loading the face stack.
#[derive(Debug, thiserror::Error)]
pub enum FaceStackError {
    /// Models are missing or broken.
    #[error("face models in {dir}: {message} (run `simkyc models fetch`)")]
    Models {
        /// Models directory.
        dir: String,
        /// Cause.
        message: String,
    },
    /// Thresholds do not fit the pipeline.
    #[error("thresholds: {0}")]
    Thresholds(String),
}

/// Engine, operating points and the inference gate.
pub struct FaceStack {
    /// The engine (detector, landmarks, embedder, adaptation).
    pub engine: Arc<FaceEngine>,
    /// Calibrated operating points.
    pub points: MatchPoints,
    /// Passive presentation-attack detection.
    pub liveness: Arc<PassiveLiveness>,
    /// Face mesh for the active challenge.
    pub mesh: Arc<FaceMesh>,
    /// The calibration they come from.
    pub thresholds: Thresholds,
    gate: Semaphore,
}

impl FaceStack {
    /// Loads models, the built-in adaptation (when it fits the embedder) and the thresholds.
    pub fn load(
        models_dir: &Path,
        thresholds: Option<&Path>,
        max_image_bytes: usize,
        max_side: u32,
        parallel: usize,
        runtime: &Runtime,
    ) -> Result<FaceStack, FaceStackError> {
        let models = |e: &dyn std::fmt::Display| FaceStackError::Models { dir: models_dir.display().to_string(), message: e.to_string() };
        let manifest = Manifest::load(models_dir).map_err(|e| models(&e))?;
        let embedder = manifest.defaults.embedder.clone();
        let builtin = Adaptation::parse(simkyc_face::adapt::BUILTIN).map_err(|e| models(&e))?;
        let adaptation = (builtin.embedder == embedder).then(|| Arc::new(builtin));
        let mut options = EngineOptions { adaptation: adaptation.clone(), runtime: runtime.clone(), ..Default::default() };
        options.limits.max_bytes = max_image_bytes;
        options.limits.max_side = max_side;
        let engine = FaceEngine::load_with(models_dir, &manifest, &embedder, options).map_err(|e| models(&e))?;
        let t = Thresholds::load(thresholds, &embedder).map_err(|e| FaceStackError::Thresholds(e.to_string()))?;
        t.check_fits(engine.embedder_name(), adaptation.as_ref().map(|a| a.id()).as_deref())
            .map_err(|e| FaceStackError::Thresholds(e.to_string()))?;
        let points = MatchPoints { default: t.default.threshold, strict: t.strict.threshold };
        let liveness = PassiveLiveness::load(models_dir, &manifest, runtime)
            .map_err(|e| models(&e))?
            .ok_or_else(|| models(&"the liveness models (human-antispoof, human-liveness) are not installed"))?;
        let mesh = FaceMesh::load(models_dir, &manifest, runtime)
            .map_err(|e| models(&e))?
            .ok_or_else(|| models(&"the face mesh model (human-facemesh) is not installed"))?;
        Ok(FaceStack {
            engine: Arc::new(engine),
            points,
            liveness: Arc::new(liveness),
            mesh: Arc::new(mesh),
            thresholds: t,
            gate: Semaphore::new(parallel.max(1)),
        })
    }

    /// Analyses images on the blocking pool, at most `inference_threads` at once overall: faces,
    /// the subject's embedding, its quality measures and passive liveness scores.
    pub async fn analyze_all(&self, images: Vec<Vec<u8>>) -> Result<Vec<Result<Analysed, FaceError>>, ApiError> {
        self.analyze_images(images, Depth::Live).await
    }

    /// Analyses document photos: faces, embedding and quality, without the live-capture checks.
    pub async fn analyze_documents(&self, images: Vec<Vec<u8>>) -> Result<Vec<Result<Analysed, FaceError>>, ApiError> {
        self.analyze_images(images, Depth::Document).await
    }

    /// Analyses one frame for framing feedback only: faces, quality and eye openness, without
    /// the embedding and the liveness score (the verdict is given once, on the capture).
    pub async fn analyze_framing(&self, bytes: Vec<u8>) -> Result<Result<Analysed, FaceError>, ApiError> {
        self.analyze_images(vec![bytes], Depth::Framing).await?.pop().ok_or_else(|| ApiError::internal("face analysis", &"no result"))
    }

    async fn analyze_images(&self, images: Vec<Vec<u8>>, depth: Depth) -> Result<Vec<Result<Analysed, FaceError>>, ApiError> {
        let mut out = Vec::with_capacity(images.len());
        for bytes in images {
            let permit = self.gate.acquire().await.map_err(|e| ApiError::internal("inference gate", &e))?;
            let (engine, liveness, mesh) = (self.engine.clone(), self.liveness.clone(), self.mesh.clone());
            let r = tokio::task::spawn_blocking(move || -> Result<Analysed, FaceError> {
                let img = simkyc_face::decode::decode_rgb(&bytes, &engine.options.limits)?;
                analyse_image(&engine, &liveness, &mesh, depth, &img)
            })
            .await
            .map_err(|e| ApiError::internal("face analysis", &e))?;
            drop(permit);
            out.push(r);
        }
        Ok(out)
    }
}

/// An active-challenge capture: the key frames fully analysed and the verdict on the actions.
pub struct ChallengeAnalysis {
    /// The most frontal frame of each third of the sequence, analysed like passive frames.
    pub key_frames: Vec<Analysed>,
    /// Their positions in the sequence.
    pub key_indices: Vec<usize>,
    /// Mesh signals per frame (None where the face was lost).
    pub signals: Vec<Option<MeshSignals>>,
    /// Frames at which the requested actions were seen, or why not.
    pub verdict: Result<Vec<usize>, ChallengeFailure>,
}

impl FaceStack {
    /// Analyses an active-challenge sequence on one blocking thread (one inference slot).
    pub async fn analyze_challenge(
        &self,
        images: Vec<Vec<u8>>,
        actions: Vec<Action>,
    ) -> Result<Result<ChallengeAnalysis, (usize, FaceError)>, ApiError> {
        let permit = self.gate.acquire().await.map_err(|e| ApiError::internal("inference gate", &e))?;
        let (engine, liveness, mesh) = (self.engine.clone(), self.liveness.clone(), self.mesh.clone());
        let r = tokio::task::spawn_blocking(move || -> Result<ChallengeAnalysis, (usize, FaceError)> {
            let frames = images
                .iter()
                .enumerate()
                .map(|(i, b)| simkyc_face::decode::decode_rgb(b, &engine.options.limits).map_err(|e| (i, e)))
                .collect::<Result<Vec<_>, _>>()?;
            let meshes = track(&engine, &mesh, &frames).map_err(|e| (0, e))?;
            let signals = sequence_signals(&mesh, &frames, &meshes, actions.contains(&Action::Blink)).map_err(|e| (0, e))?;
            let seen: Vec<MeshSignals> = signals.iter().flatten().copied().collect();
            let verdict = verify(&seen, &actions, &DetectorLimits::default());
            let keys = key_frames_of(&signals);
            let mut key_frames = Vec::new();
            for &i in &keys {
                key_frames.push(analyse_image(&engine, &liveness, &mesh, Depth::Live, &frames[i]).map_err(|e| (i, e))?);
            }
            Ok(ChallengeAnalysis { key_frames, key_indices: keys, signals, verdict })
        })
        .await
        .map_err(|e| ApiError::internal("challenge analysis", &e))?;
        drop(permit);
        Ok(r)
    }
}

/// The most frontal tracked frame of each third of a challenge (the frames compared with the
/// document and with each other); the first frames of each third when nothing was tracked.
pub fn key_frames_of(signals: &[Option<MeshSignals>]) -> Vec<usize> {
    let n = signals.len();
    let med = |f: fn(&MeshSignals) -> f32| simkyc_face::stats::median(signals.iter().flatten().map(f).collect()).unwrap_or(0.0);
    let (yaw, pitch) = (med(|s| s.yaw), med(|s| s.pitch));
    let mut keys: Vec<usize> = (0..3)
        .filter_map(|k| {
            let range = (k * n / 3)..((k + 1) * n / 3).max(k * n / 3 + 1).min(n);
            let start = range.start;
            range
                .filter_map(|i| {
                    signals[i].map(|s| (i, (s.yaw - yaw).abs() + (s.pitch - pitch).abs() + if s.ear < 0.15 { 1.0 } else { 0.0 }))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
                .or((start < n).then_some(start))
        })
        .collect();
    keys.dedup();
    keys
}

/// How much of the pipeline an image goes through.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Depth {
    /// Document photos: faces, embedding and quality.
    Document,
    /// Framing feedback on a live frame: faces, quality and eye openness, no embedding and no
    /// liveness score (the verdict is given once, on the capture).
    Framing,
    /// Live capture frames: everything, passive liveness included.
    Live,
}

/// Analysis of one decoded image to the given depth.
fn analyse_image(
    engine: &FaceEngine,
    pad: &PassiveLiveness,
    mesh: &FaceMesh,
    depth: Depth,
    img: &image::RgbImage,
) -> Result<Analysed, FaceError> {
    let analysis = if depth == Depth::Framing { engine.locate(img)? } else { engine.analyze(img)? };
    let quality = analysis.subject.as_ref().map(|s| measure(img, s));
    let (mut liveness, mut eyes) = (None, None);
    if let Some(s) = analysis.subject.as_ref().filter(|_| depth != Depth::Document) {
        if depth == Depth::Live {
            liveness = Some(pad.score(img, &s.face)?);
        }
        let m = mesh.run(img, simkyc_face::mesh::Square::around(&s.face))?;
        eyes = (m.face >= 0.5).then(|| m.signals().ear);
    }
    Ok(Analysed { analysis, quality, liveness, eyes })
}

/// One analysed image: faces and subject, and the subject's quality and liveness.
pub struct Analysed {
    /// Detection, landmarks, embedding.
    pub analysis: FaceAnalysis,
    /// Quality of the subject's face.
    pub quality: Option<QualityMeasures>,
    /// Passive liveness of the subject's face.
    pub liveness: Option<LivenessScores>,
    /// Eye aspect ratio from the face mesh (closed eyes below about 0.15).
    pub eyes: Option<f32>,
}

/// Maps an image that could not be analysed to an API error naming the field.
pub fn image_error(field: &str, e: &FaceError) -> ApiError {
    match e {
        FaceError::Decode(m) => {
            ApiError::unprocessable("image_invalid", format!("{field} is not a readable JPEG, PNG, WebP or BMP image: {m}"))
        }
        FaceError::TooLarge(m) => ApiError::too_large("image_too_large", format!("{field}: {m}")),
        FaceError::Model(_) => ApiError::internal("face analysis", e),
    }
}

/// Template (as little-endian f32 bytes) to store.
pub fn template_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Template back from stored bytes.
pub fn template_from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    b.len().is_multiple_of(4).then(|| b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}
