//! Loading the face engine and thresholds from command-line options, and embedding many images
//! in parallel (with an optional on-disk cache) for evaluation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use simkyc_face::thresholds::Thresholds;
use std::sync::Arc;

use simkyc_face::adapt::Adaptation;
use simkyc_face::align::ChipBorder;
use simkyc_face::runtime::{Runtime, RuntimeChoice};
use simkyc_face::{EngineOptions, FaceEngine};
use simkyc_models::manifest::{Defaults, Manifest};

use crate::EngineArgs;

/// Loads the engine the options describe, with the adaptation applied to its embeddings.
pub fn load_engine(a: &EngineArgs) -> Result<FaceEngine> {
    load(a, true)
}

/// The inference runtime the options ask for, resolved against the models directory.
pub fn runtime(a: &EngineArgs) -> Result<Runtime> {
    Ok(Runtime::for_models_dir(a.runtime.parse::<RuntimeChoice>()?, &models_dir(a), a.runtime_threads)?)
}

/// The models directory the options name (default: where `simkyc models fetch` installs).
pub fn models_dir(a: &EngineArgs) -> PathBuf {
    a.models_dir.clone().unwrap_or_else(simkyc_models::cache::default_models_dir)
}

/// Loads the engine without the adaptation (raw embeddings, for caching and training).
pub fn load_engine_raw(a: &EngineArgs) -> Result<FaceEngine> {
    load(a, false)
}

fn load(a: &EngineArgs, adapted: bool) -> Result<FaceEngine> {
    let dir = models_dir(a);
    let m = Manifest::load(&dir)?;
    let name = a.embedder.clone().unwrap_or_else(|| m.defaults.embedder.clone());
    let adaptation = if adapted { load_adaptation(a, &name)? } else { None };
    let chip_border = match a.chip_border.as_str() {
        "black" => ChipBorder::Black,
        "repeat" => ChipBorder::Repeat,
        _ => ChipBorder::Auto,
    };
    let opts = EngineOptions {
        flip: !a.no_flip,
        detect_max_side: a.detect_max_side,
        adaptation,
        chip_border,
        runtime: runtime(a)?,
        embed_batch: a.embed_batch.max(1),
        ..Default::default()
    };
    let selection = Defaults {
        detector: a.detector.clone().unwrap_or_else(|| m.defaults.detector.clone()),
        landmarks: m.defaults.landmarks.clone(),
        embedder: name,
    };
    Ok(FaceEngine::load_selection(&dir, &m, &selection, opts)?)
}

/// The adaptation the options ask for: a file, none, or the built-in one when it fits the embedder.
pub fn load_adaptation(a: &EngineArgs, embedder: &str) -> Result<Option<Arc<Adaptation>>> {
    if a.no_adaptation {
        return Ok(None);
    }
    let ad = match &a.adaptation {
        Some(p) => Adaptation::parse(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)?,
        None => {
            let builtin = Adaptation::parse(simkyc_face::adapt::BUILTIN)?;
            if builtin.embedder != embedder {
                return Ok(None);
            }
            builtin
        }
    };
    if ad.embedder != embedder {
        bail!("the adaptation was trained for embedder {:?}, but {:?} is in use", ad.embedder, embedder);
    }
    Ok(Some(Arc::new(ad)))
}

/// The settings that change raw embeddings (the cache key). `subject=centred` marks the choice of
/// face since 2026-12-03 (`pick_subject`), so caches made with the earlier choice are not reused.
pub fn pipeline_signature(e: &FaceEngine) -> String {
    format!(
        "detector={}{} embedder={} flip={}{} detect_max_side={} detect_min_side={} subject=centred",
        e.detector_name(),
        if e.detector_name().starts_with("yunet") { format!(" yunet_threshold={}", e.options.yunet_threshold) } else { String::new() },
        e.embedder_name(),
        e.options.flip,
        if e.chip_border() == ChipBorder::Black { " chip_border=black" } else { "" },
        e.options.detect_max_side,
        e.options.detect_min_side
    )
}

/// Which adaptation scores were made with, as recorded in the thresholds' pipeline string.
fn adaptation_tag(ad: Option<&Adaptation>) -> String {
    simkyc_face::thresholds::adaptation_tag(ad.map(|a| a.id()).as_deref())
}

/// The settings that change scores, recorded with thresholds: raw pipeline plus adaptation.
pub fn score_signature(e: &FaceEngine, ad: Option<&Adaptation>) -> String {
    format!("{} {}", pipeline_signature(e), adaptation_tag(ad))
}

/// Applies the adaptation to raw embeddings (failed images stay failed).
pub fn adapt_all(emb: HashMap<PathBuf, Option<Vec<f32>>>, ad: Option<&Adaptation>) -> Result<HashMap<PathBuf, Option<Vec<f32>>>> {
    let Some(ad) = ad else { return Ok(emb) };
    emb.into_iter().map(|(p, e)| Ok((p, e.map(|e| ad.apply(&e)).transpose()?))).collect()
}

/// Loads thresholds and checks they were calibrated for this embedder and adaptation.
pub fn load_thresholds(a: &EngineArgs, e: &FaceEngine, ad: Option<&Adaptation>) -> Result<Thresholds> {
    let t = Thresholds::load(a.thresholds.as_deref(), e.embedder_name())?;
    t.check_fits(e.embedder_name(), ad.map(|a| a.id()).as_deref())?;
    Ok(t)
}

#[derive(Serialize, Deserialize, Default)]
struct CacheFile {
    signature: String,
    embeddings: HashMap<String, Option<Vec<f32>>>,
}

/// Embeddings of many images (None where no face was found or the image failed).
pub fn embed_all(engine: &FaceEngine, paths: &[PathBuf], cache: Option<&Path>) -> Result<HashMap<PathBuf, Option<Vec<f32>>>> {
    let sig = pipeline_signature(engine);
    let mut cached: CacheFile = match cache {
        Some(p) if p.exists() => {
            let c: CacheFile = serde_json::from_slice(&std::fs::read(p)?).with_context(|| format!("reading cache {}", p.display()))?;
            if c.signature == sig {
                c
            } else {
                CacheFile { signature: sig.clone(), ..Default::default() }
            }
        }
        _ => CacheFile { signature: sig.clone(), ..Default::default() },
    };
    let mut unique: Vec<&PathBuf> = paths.iter().collect();
    unique.sort();
    unique.dedup();
    let todo: Vec<&PathBuf> =
        unique.iter().copied().filter(|p| !cached.embeddings.contains_key(&p.to_string_lossy().into_owned())).collect();
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("embedding {pos}/{len} [{bar:30}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // (path, embedding, whether the result may be cached: a face or no face is, an error is not,
    // so a broken model or an unreadable file is tried again next time).
    let fresh: Vec<(String, Option<Vec<f32>>, bool)> = todo
        .par_iter()
        .map(|p| {
            let (e, keep) = match std::fs::read(p)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|b| engine.analyze_bytes(&b).map_err(|e| e.to_string()))
            {
                Ok(a) => match a.subject {
                    Some(s) => (Some(s.embedding), true),
                    None => {
                        bar.suspend(|| eprintln!("no usable face: {}", p.display()));
                        (None, true)
                    }
                },
                Err(why) => {
                    bar.suspend(|| eprintln!("failed: {}: {why}", p.display()));
                    (None, false)
                }
            };
            bar.inc(1);
            (p.to_string_lossy().into_owned(), e, keep)
        })
        .collect();
    bar.finish_and_clear();
    let mut failed = HashMap::new();
    for (p, e, keep) in fresh {
        if keep {
            cached.embeddings.insert(p, e);
        } else {
            failed.insert(p, None);
        }
    }
    if !todo.is_empty() && failed.len() == todo.len() {
        bail!("every one of {} images failed (see the messages above); nothing was cached", todo.len());
    }
    if let Some(p) = cache {
        std::fs::write(p, serde_json::to_vec(&cached)?).with_context(|| format!("writing cache {}", p.display()))?;
    }
    Ok(unique
        .into_iter()
        .map(|p| {
            let k = p.to_string_lossy().into_owned();
            (p.clone(), cached.embeddings.get(&k).or_else(|| failed.get(&k)).cloned().flatten())
        })
        .collect())
}

/// Loads the verifier as the service does (its default engine, image limits and thresholds),
/// on the runtime the options ask for: for the decisions the CLI makes the service's way.
pub fn load_verifier(a: &EngineArgs) -> Result<simkyc_verify::Verifier> {
    let defaults = simkyc_server::Config::default();
    let limits =
        simkyc_face::decode::DecodeLimits { max_bytes: defaults.max_image_bytes, max_side: defaults.max_image_side, ..Default::default() };
    Ok(simkyc_verify::Verifier::load(&models_dir(a), a.thresholds.as_deref(), limits, &runtime(a)?)?)
}
