//! `simkyc liveness`: passive presentation-attack scores of faces in images, and the evaluation
//! on a folder of real/ and fake/ face crops (APCER/BPCER at the calibrated threshold; how the
//! hand-made cues separate, on native crops and with every crop resampled to one width).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use simkyc_face::cues::{self, Cues};
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
    PassiveLiveness::load(&dir, &m, &crate::engine_setup::runtime(a)?)?
        .context("the liveness models are not installed; run `simkyc models fetch`")
}

/// One face crop's model scores, hand-made cues and width.
type Crop = (LivenessScores, Cues, f32);

/// A named measure of a crop.
type Measure = (&'static str, fn(&Crop) -> f32);

/// Model scores, hand-made cues and crop width of every face crop in a folder, as the crop is
/// and resampled (area-averaged) to `width`, keeping its aspect ratio; each file is read once.
fn scores_of(dir: &std::path::Path, pl: &PassiveLiveness, width: u32) -> Result<(Vec<Crop>, Vec<Crop>)> {
    let mut files: Vec<_> =
        std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let crop = |img: &image::RgbImage| -> Result<Crop> {
        Ok((pl.score_with_margin(img, &whole(img), 0.0)?, cues::measure(img), img.width() as f32))
    };
    let (mut native, mut resampled) = (Vec::new(), Vec::new());
    for f in files {
        let img = image::open(&f).with_context(|| format!("{}", f.display()))?.to_rgb8();
        let h = ((img.height() as f64 * width as f64 / img.width().max(1) as f64).round() as u32).max(1);
        resampled.push(crop(&image::imageops::resize(&img, width, h, image::imageops::FilterType::Triangle))?);
        native.push(crop(&img)?);
    }
    Ok((native, resampled))
}

/// Common crop width of the control run: about the attack crops' median width in pad-dev.
const COMMON_WIDTH: u32 = 96;

/// Probability that a live value is above an attack value (ties count half).
fn auc(real: &[f32], fake: &[f32]) -> f64 {
    let above: f64 = real
        .iter()
        .map(|a| {
            fake.iter()
                .map(|b| {
                    if a > b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
        })
        .sum();
    above / (real.len() * fake.len()).max(1) as f64
}

/// How well the model score and each hand-made cue separate the two folders, next to the crop
/// width (a property of how the set was cut, not of liveness: a cue that only tracks it proves
/// nothing). `crops` names the run: native crops, or all resampled to one width.
fn cue_report(real: &[Crop], fake: &[Crop], crops: &str) -> Vec<serde_json::Value> {
    let cue: [Measure; 6] = [
        ("antispoof", |s| s.0.antispoof),
        ("moire_peak", |s| s.1.moire_peak),
        ("high_frequency", |s| s.1.high_frequency),
        ("specular", |s| s.1.specular),
        ("saturation", |s| s.1.saturation),
        ("crop_width", |s| s.2),
    ];
    let mut rows: Vec<serde_json::Value> = cue
        .iter()
        .map(|(name, f)| {
            let r: Vec<f32> = real.iter().map(f).collect();
            let k: Vec<f32> = fake.iter().map(f).collect();
            let a = auc(&r, &k);
            serde_json::json!({
                "cue": name, "crops": crops, "auc": a.max(1.0 - a), "live_side": if a >= 0.5 { "higher" } else { "lower" },
                "real_median": median(&r), "fake_median": median(&k),
            })
        })
        .collect();
    // Would a cue add to the model? Logistic fusion of the model's logit and the standardised
    // cue, fitted on every other crop and scored on the rest (and the other way round).
    let labelled: Vec<(&Crop, bool)> = real.iter().map(|s| (s, true)).chain(fake.iter().map(|s| (s, false))).collect();
    for (name, f) in &cue[1..5] {
        let x: Vec<[f64; 2]> = labelled.iter().map(|(s, _)| [logit(s.0.antispoof), f(s) as f64]).collect();
        let x = standardise(&x);
        let y: Vec<bool> = labelled.iter().map(|l| l.1).collect();
        let mut fused = vec![0.0f32; x.len()];
        for fold in 0..2 {
            let train: Vec<usize> = (0..x.len()).filter(|i| i % 2 != fold).collect();
            let w = fit_logistic(&train.iter().map(|&i| (x[i], y[i])).collect::<Vec<_>>());
            for i in (0..x.len()).filter(|i| i % 2 == fold) {
                fused[i] = (w[0] * x[i][0] + w[1] * x[i][1]) as f32;
            }
        }
        let (r, k): (Vec<_>, Vec<_>) = fused.iter().zip(&y).partition(|(_, live)| **live);
        let a = auc(&r.iter().map(|p| *p.0).collect::<Vec<_>>(), &k.iter().map(|p| *p.0).collect::<Vec<_>>());
        rows.push(serde_json::json!({ "fused": format!("antispoof+{name}"), "crops": crops, "auc_cross_validated": a }));
    }
    // The same separations inside bands of similar crop width where both folders have at least
    // ten crops: what survives there is not the width in disguise.
    let mut lo = 0.0f32;
    while lo < 1024.0 {
        let hi = lo + BAND_PX;
        let r: Vec<_> = real.iter().filter(|s| s.2 >= lo && s.2 < hi).collect();
        let k: Vec<_> = fake.iter().filter(|s| s.2 >= lo && s.2 < hi).collect();
        if r.len() >= 10 && k.len() >= 10 && (r.len(), k.len()) != (real.len(), fake.len()) {
            let aucs: serde_json::Map<String, serde_json::Value> = cue[..5]
                .iter()
                .map(|(name, f)| {
                    (
                        name.to_string(),
                        serde_json::json!(auc(&r.iter().map(|s| f(s)).collect::<Vec<_>>(), &k.iter().map(|s| f(s)).collect::<Vec<_>>())),
                    )
                })
                .collect();
            rows.push(serde_json::json!({ "crops": crops, "crop_width_band": format!("{lo}-{hi}"), "real": r.len(), "fake": k.len(), "auc_live_higher": aucs }));
        }
        lo = hi;
    }
    rows
}

/// log(p / (1 − p)), clamped away from infinity.
fn logit(p: f32) -> f64 {
    let p = (p as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// Each column shifted to mean 0 and scaled to standard deviation 1.
fn standardise(x: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let n = x.len().max(1) as f64;
    let mut out = x.to_vec();
    for c in 0..2 {
        let mean = x.iter().map(|v| v[c]).sum::<f64>() / n;
        let sd = (x.iter().map(|v| (v[c] - mean).powi(2)).sum::<f64>() / n).sqrt().max(1e-9);
        for v in &mut out {
            v[c] = (v[c] - mean) / sd;
        }
    }
    out
}

/// Weights (two features, then bias) of a logistic regression fitted by gradient descent.
fn fit_logistic(data: &[([f64; 2], bool)]) -> [f64; 3] {
    let mut w = [0.0f64; 3];
    let n = data.len().max(1) as f64;
    for _ in 0..2000 {
        let mut g = [0.0f64; 3];
        for (x, live) in data {
            let p = 1.0 / (1.0 + (-(w[0] * x[0] + w[1] * x[1] + w[2])).exp());
            let e = p - if *live { 1.0 } else { 0.0 };
            g[0] += e * x[0];
            g[1] += e * x[1];
            g[2] += e;
        }
        for (wi, gi) in w.iter_mut().zip(g) {
            *wi -= 0.5 * gi / n;
        }
    }
    w
}

/// Width of the crop-width bands of the stratified report, in pixels.
const BAND_PX: f32 = 30.0;

fn rates(real: &[f32], fake: &[f32], t: f32) -> (f64, f64) {
    let apcer = fake.iter().filter(|&&s| s >= t).count() as f64 / fake.len().max(1) as f64;
    let bpcer = real.iter().filter(|&&s| s < t).count() as f64 / real.len().max(1) as f64;
    (apcer, bpcer)
}

/// Runs the command.
pub fn run(a: LivenessArgs) -> Result<ExitCode> {
    let pl = load(&a.engine)?;
    if let Some(dir) = &a.eval {
        let (real_all, real_common) = scores_of(&dir.join("real"), &pl, COMMON_WIDTH)?;
        let (fake_all, fake_common) = scores_of(&dir.join("fake"), &pl, COMMON_WIDTH)?;
        let real: Vec<LivenessScores> = real_all.iter().map(|s| s.0).collect();
        let fake: Vec<LivenessScores> = fake_all.iter().map(|s| s.0).collect();
        let mut report = Vec::new();
        for (name, f) in
            [("antispoof", (|s: &LivenessScores| s.antispoof) as fn(&LivenessScores) -> f32), ("liveness", |s| s.liveness), ("mean", mean)]
        {
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
            let auc = auc(&r, &k);
            report.push(serde_json::json!({
                "score": name, "real": r.len(), "fake": k.len(), "auc": auc,
                "eer_threshold": best.0, "apcer_at_eer": best.2, "bpcer_at_eer": best.3,
                "at": fixed.iter().map(|(t, (ap, bp))| serde_json::json!({ "threshold": t, "apcer": ap, "bpcer": bp })).collect::<Vec<_>>(),
                "real_median": median(&r), "fake_median": median(&k),
            }));
        }
        report.extend(cue_report(&real_all, &fake_all, "native"));
        let common = format!("resampled to {COMMON_WIDTH} px wide");
        report.extend(cue_report(&real_common, &fake_common, &common));
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
                let i = simkyc_face::engine::pick_subject(&faces, img.width(), img.height())
                    .with_context(|| format!("{}: no face", p.display()))?;
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
    simkyc_face::stats::median(v.to_vec()).unwrap_or(f32::NAN)
}
