//! `simkyc compare ID_PHOTO LIVE_PHOTO...`: 1:1 verification of a document photo against live
//! photos, with the decision at the calibrated threshold and per-stage timings.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use simkyc_face::embed::{cosine, mean_template, template_similarity};
use simkyc_face::{FaceAnalysis, Timings};

use simkyc_verify::frames::{verify_frames, FramesError};
use simkyc_workflow::{Action, CaptureMode};

use crate::engine_setup::{load_engine, load_thresholds};
use crate::EngineArgs;

/// Arguments of `compare`.
#[derive(clap::Args)]
pub struct CompareArgs {
    /// Identity-document photo (chip or printed photo).
    pub id_photo: PathBuf,
    /// One or more live photos of the person.
    #[arg(required_unless_present = "live_frames")]
    pub live_photos: Vec<PathBuf>,
    /// A folder of live frames in capture order (sorted by name): runs the service's capture
    /// checks on them (quality, passive liveness, and with --actions the active challenge).
    #[arg(long, conflicts_with = "live_photos")]
    pub live_frames: Option<PathBuf>,
    /// Active challenge to check the frames against, in order (e.g. turn_left,turn_right).
    #[arg(long, value_delimiter = ',', requires = "live_frames")]
    pub actions: Vec<String>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Run the comparison this many times with models loaded and report median stage timings.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    #[command(flatten)]
    pub engine: EngineArgs,
}

fn face_json(a: &FaceAnalysis) -> serde_json::Value {
    json!({
        "width": a.width, "height": a.height,
        "face_count": a.faces.len(),
        "faces": a.faces,
        "subject": a.subject.as_ref().map(|s| json!({"box": s.face, "landmarks": s.landmarks, "inter_eye_px": s.inter_eye_px})),
        "timings_ms": a.timings,
    })
}

fn median(v: Vec<f64>) -> f64 {
    simkyc_face::stats::median(v).unwrap_or(0.0)
}

/// Runs `compare`.
pub fn run(a: CompareArgs) -> Result<ExitCode> {
    if let Some(dir) = a.live_frames.clone() {
        return run_frames(&a, &dir);
    }
    let engine = load_engine(&a.engine)?;
    let th = load_thresholds(&a.engine, &engine, engine.options.adaptation.as_deref())?;
    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let doc_bytes = read(&a.id_photo)?;
    let live_bytes: Vec<Vec<u8>> = a.live_photos.iter().map(read).collect::<Result<_>>()?;
    let mut runs: Vec<(Timings, f64)> = Vec::new();
    let mut last = None;
    for _ in 0..a.repeat.max(1) {
        let t0 = std::time::Instant::now();
        let doc = engine.analyze_bytes(&doc_bytes).with_context(|| format!("document photo {}", a.id_photo.display()))?;
        // The live photos are decoded, then analysed together (their chips embedded in batches).
        let mut decode_ms = Vec::with_capacity(live_bytes.len());
        let imgs: Vec<image::RgbImage> = live_bytes
            .iter()
            .zip(&a.live_photos)
            .map(|(b, p)| {
                let t = std::time::Instant::now();
                let img = simkyc_face::decode::decode_rgb(b, &engine.options.limits).with_context(|| format!("live photo {}", p.display()));
                decode_ms.push(t.elapsed().as_secs_f64() * 1e3);
                img
            })
            .collect::<Result<_>>()?;
        let mut lives = engine.analyze_many(&imgs).context("live photos")?;
        for (l, d) in lives.iter_mut().zip(decode_ms) {
            l.timings.decode_ms = d;
        }
        let total = t0.elapsed().as_secs_f64() * 1e3;
        let mut t = doc.timings.clone();
        for l in &lives {
            t.decode_ms += l.timings.decode_ms;
            t.detect_ms += l.timings.detect_ms;
            t.landmarks_ms += l.timings.landmarks_ms;
            t.align_ms += l.timings.align_ms;
            t.embed_ms += l.timings.embed_ms;
        }
        runs.push((t, total));
        last = Some((doc, lives));
    }
    let Some((doc, lives)) = last else { anyhow::bail!("nothing ran") };
    let timing = Timings {
        decode_ms: median(runs.iter().map(|r| r.0.decode_ms).collect()),
        detect_ms: median(runs.iter().map(|r| r.0.detect_ms).collect()),
        landmarks_ms: median(runs.iter().map(|r| r.0.landmarks_ms).collect()),
        align_ms: median(runs.iter().map(|r| r.0.align_ms).collect()),
        embed_ms: median(runs.iter().map(|r| r.0.embed_ms).collect()),
    };
    let total_ms = median(runs.iter().map(|r| r.1).collect());
    // Live template: the quality-weighted mean of the frames that have a face, so the score is
    // the weighted mean of the frames' cosines to the document (the single-image scale the
    // thresholds hold on; a re-normalised fusion would inflate it).
    let frames: Vec<(Vec<f32>, f32)> = lives
        .iter()
        .filter_map(|l| l.subject.as_ref())
        .map(|s| (s.embedding.clone(), (s.face.score.max(0.01)) * (s.inter_eye_px / 60.0).min(1.0) as f32))
        .collect();
    let frame_scores: Vec<f32> = match &doc.subject {
        Some(d) => frames.iter().map(|(f, _)| cosine(&d.embedding, f)).collect(),
        None => Vec::new(),
    };
    let (score, error) = match (&doc.subject, mean_template(&frames)) {
        (None, _) => (None, Some("no_face_in_document")),
        (_, None) => (None, Some("no_face_in_live_capture")),
        (Some(d), Some(live)) => (Some(template_similarity(&d.embedding, &live)), None),
    };
    let decision = score.map(|s| if s >= th.default.threshold { "match" } else { "no_match" });
    if a.json {
        let out = json!({
            "score": score,
            "decision": decision.unwrap_or("no_match"),
            "error": error,
            "threshold": th.default.threshold,
            "strict_threshold": th.strict.threshold,
            "target_fmr": th.default.target_fmr,
            "embedder": engine.embedder_name(),
            "document": face_json(&doc),
            "live": lives.iter().map(face_json).collect::<Vec<_>>(),
            "live_frames_used": frames.len(),
            "live_frame_scores": frame_scores,
            "timings_ms": {
                "decode": timing.decode_ms, "detect": timing.detect_ms, "landmarks": timing.landmarks_ms,
                "align": timing.align_ms, "embed": timing.embed_ms, "total": total_ms, "runs": runs.len(),
            },
        });
        println!("{out}");
    } else {
        match (score, error) {
            (Some(s), _) => println!(
                "{}: score {s:.4} (threshold {:.4} for FMR {:.0e}; strict {:.4})",
                decision.unwrap_or("no_match").to_uppercase(),
                th.default.threshold,
                th.default.target_fmr,
                th.strict.threshold
            ),
            (None, Some(e)) => println!("NO_MATCH: {}", e.replace('_', " ")),
            _ => {}
        }
        println!(
            "faces: document {}, live {}; frames used {}/{}",
            doc.faces.len(),
            lives.iter().map(|l| l.faces.len().to_string()).collect::<Vec<_>>().join("+"),
            frames.len(),
            lives.len()
        );
        println!(
            "timings (median of {} run(s), ms): decode {:.1}, detect {:.1}, landmarks {:.1}, align {:.1}, embed {:.1}, total {:.1}",
            runs.len(),
            timing.decode_ms,
            timing.detect_ms,
            timing.landmarks_ms,
            timing.align_ms,
            timing.embed_ms,
            total_ms
        );
    }
    Ok(if error.is_some() { ExitCode::from(3) } else { ExitCode::SUCCESS })
}

/// `compare --live-frames DIR`: the registration service's capture checks and decision on a
/// folder of frames, without a server or database: the same `simkyc-verify` calls the service
/// makes, at its default limits, with no gallery and no SIM limit.
fn run_frames(a: &CompareArgs, dir: &std::path::Path) -> Result<ExitCode> {
    let verifier = crate::engine_setup::load_verifier(&a.engine)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| ["jpg", "jpeg", "png", "webp", "bmp"].contains(&x.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no images in {}", dir.display());
    let frames: Vec<Vec<u8>> =
        files.iter().map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display()))).collect::<Result<_>>()?;
    let actions: Vec<Action> = a
        .actions
        .iter()
        .map(|s| Action::parse(s).with_context(|| format!("unknown action {s:?} (blink, turn_left, turn_right, open_mouth, nod)")))
        .collect::<Result<_>>()?;
    let document = std::fs::read(&a.id_photo).with_context(|| format!("reading {}", a.id_photo.display()))?;
    let mode = if actions.is_empty() { CaptureMode::Passive } else { CaptureMode::Active };
    let started = std::time::Instant::now();
    let outcome = verify_frames(&verifier, &document, mode, &frames, &actions).map_err(|e| match e {
        FramesError::Frame(f) => anyhow::anyhow!("{}: {}", files[f.index].display(), f.error),
        other => anyhow::anyhow!("{other}"),
    })?;
    let v = &outcome.verification;
    let d = &v.decision;
    let out = json!({
        "frames": files.len(),
        "mode": mode,
        "decision": d.outcome,
        "reasons": d.reasons,
        "retryable": outcome.retryable,
        "match": v.checks.match_score,
        "liveness": { "passed": !v.liveness_failed(), "mean_score": v.scores.liveness },
        "challenge": v.scores.challenge.as_ref().map(|c| match &c.failure {
            None => json!({ "completed": true, "seen_at_frames": c.seen_at }),
            Some(why) => json!({ "completed": false, "why": why }),
        }),
        "ms": (started.elapsed().as_secs_f64() * 1000.0).round(),
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "{}: {} ({} frames{})",
            d.outcome.as_str(),
            d.message,
            files.len(),
            v.checks.match_score.map(|s| format!(", match {s:.3}")).unwrap_or_default()
        );
        if outcome.retryable {
            println!("(the service would ask the clerk to capture again before deciding)");
        }
    }
    Ok(match d.outcome {
        simkyc_workflow::Outcome::Rejected => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
