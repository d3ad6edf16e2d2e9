//! `simkyc liveness`: passive presentation-attack scores of faces in images, and the evaluation
//! on a folder of real/ and fake/ face crops (APCER/BPCER at the calibrated threshold).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use simkyc_face::liveness::{whole, LivenessScores, PassiveLiveness, PASSIVE_THRESHOLD};
use simkyc_models::manifest::Manifest;

use crate::engine_setup::load_engine_raw;
use crate::EngineArgs;

/// Options of `simkyc liveness`.
#[derive(clap::Args, Debug)]
pub struct LivenessArgs {
    /// Images to score (the subject face is detected; with --crop the whole image is the face).
    images: Vec<PathBuf>,
    /// The images are face crops already: score them whole.
    #[arg(long)]
    crop: bool,
    /// Evaluate on a folder with real/ and fake/ face crops (e.g. ../shared/data/pad-dev).
    #[arg(long, conflicts_with = "images")]
    eval: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Margin around the detected face box, as a fraction of its size (default: the service's).
    #[arg(long)]
    margin: Option<f64>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// The mean of both models' live scores (measured for comparison; the decision uses antispoof).
pub fn mean(s: &LivenessScores) -> f32 {
    (s.antispoof + s.liveness) / 2.0
}

fn load(a: &EngineArgs) -> Result<PassiveLiveness> {
    let dir = crate::engine_setup::models_dir(a);
    let m = Manifest::load(&dir)?;
    PassiveLiveness::load(&dir, &m)?.context("the liveness models are not installed; run `simkyc models fetch`")
}

fn scores_of(dir: &std::path::Path, pl: &PassiveLiveness) -> Result<Vec<LivenessScores>> {
    let mut files: Vec<_> = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let img = image::open(&f).with_context(|| format!("{}", f.display()))?.to_rgb8();
        out.push(pl.score_with_margin(&img, &whole(&img), 0.0)?);
    }
    Ok(out)
}

fn rates(real: &[f32], fake: &[f32], t: f32) -> (f64, f64) {
    let apcer = fake.iter().filter(|&&s| s >= t).count() as f64 / fake.len().max(1) as f64;
    let bpcer = real.iter().filter(|&&s| s < t).count() as f64 / real.len().max(1) as f64;
    (apcer, bpcer)
}

/// Runs the command.
pub fn run(a: LivenessArgs) -> Result<ExitCode> {
    let pl = load(&a.engine)?;
    if let Some(dir) = &a.eval {
        let real = scores_of(&dir.join("real"), &pl)?;
        let fake = scores_of(&dir.join("fake"), &pl)?;
        let mut report = Vec::new();
        for (name, f) in [("antispoof", (|s: &LivenessScores| s.antispoof) as fn(&LivenessScores) -> f32), ("liveness", |s| s.liveness), ("mean", mean)] {
            let r: Vec<f32> = real.iter().map(f).collect();
            let k: Vec<f32> = fake.iter().map(f).collect();
            // Equal-error threshold and the rates at a few fixed thresholds.
            let mut best = (f32::NAN, 2.0f64, 0.0, 0.0);
            for i in 0..=1000 {
                let t = i as f32 / 1000.0;
                let (ap, bp) = rates(&r, &k, t);
                if (ap - bp).abs() < best.1 {
                    best = (t, (ap - bp).abs(), ap, bp);
                }
            }
            let fixed: Vec<_> = [PASSIVE_THRESHOLD, 0.3, 0.5, 0.7].iter().map(|&t| (t, rates(&r, &k, t))).collect();
            let auc = r.iter().map(|a| k.iter().filter(|&&b| *a > b).count() as f64).sum::<f64>() / (r.len() * k.len()).max(1) as f64;
            report.push(serde_json::json!({
                "score": name, "real": r.len(), "fake": k.len(), "auc": auc,
                "eer_threshold": best.0, "apcer_at_eer": best.2, "bpcer_at_eer": best.3,
                "at": fixed.iter().map(|(t, (ap, bp))| serde_json::json!({ "threshold": t, "apcer": ap, "bpcer": bp })).collect::<Vec<_>>(),
                "real_median": median(&r), "fake_median": median(&k),
            }));
        }
        if a.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            for r in &report {
                println!("{}", r);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.images.is_empty() {
        bail!("give images to score, or --eval DIR");
    }
    let engine = if a.crop { None } else { Some(load_engine_raw(&a.engine)?) };
    let mut out = Vec::new();
    for p in &a.images {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        let img = simkyc_face::decode::decode_rgb(&bytes, &Default::default())?;
        let (face, margin) = match &engine {
            None => (whole(&img), 0.0),
            Some(e) => {
                let faces = e.detect(&img)?;
                let i = simkyc_face::engine::pick_subject(&faces, img.width(), img.height()).with_context(|| format!("{}: no face", p.display()))?;
                (faces[i], a.margin.unwrap_or(PassiveLiveness::MARGIN))
            }
        };
        let s = pl.score_with_margin(&img, &face, margin)?;
        let live = s.passive() >= PASSIVE_THRESHOLD;
        out.push(serde_json::json!({ "image": p.display().to_string(), "live": live, "passive": s.passive(), "threshold": PASSIVE_THRESHOLD, "antispoof": s.antispoof, "liveness": s.liveness }));
    }
    for o in &out {
        println!("{o}");
    }
    Ok(ExitCode::SUCCESS)
}

fn median(v: &[f32]) -> f32 {
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f32::NAN)
}
