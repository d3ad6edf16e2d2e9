//! `simkyc quality`: the capture-quality checks on images, with the measured values.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use simkyc_face::quality::{assess, comparable_faces, cut_off, measure, QualityIssue, QualityLimits};
use simkyc_verify::capture::EYES_CLOSED_EAR;

use crate::engine_setup::load_engine_raw;
use crate::EngineArgs;

/// Options of `simkyc quality`.
#[derive(clap::Args, Debug)]
pub struct QualityArgs {
    /// Images to check.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Judge as document photos (looser limits) instead of live captures.
    #[arg(long)]
    document: bool,
    /// Print one JSON object per image.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Runs the command; exits 0 when every image passes, 1 otherwise.
pub fn run(a: QualityArgs) -> Result<ExitCode> {
    let engine = load_engine_raw(&a.engine)?;
    let dir = crate::engine_setup::models_dir(&a.engine);
    let mesh = simkyc_face::mesh::FaceMesh::load(&dir, &simkyc_models::manifest::Manifest::load(&dir)?, &engine.options.runtime)?;
    let (limits, prefix) = if a.document { (QualityLimits::DOCUMENT, "document") } else { (QualityLimits::LIVE, "live") };
    let mut all_ok = true;
    for p in &a.images {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        let img = simkyc_face::decode::decode_rgb(&bytes, &engine.options.limits)?;
        let analysis = engine.analyze(&img)?;
        let mut reasons: Vec<QualityIssue> = Vec::new();
        let mut eyes: Option<f32> = None;
        let measures = analysis.subject.as_ref().map(|s| measure(&img, s));
        match (&analysis.subject, analysis.faces.len()) {
            (None, _) => reasons.push(QualityIssue {
                problem: None,
                code: format!("{prefix}_no_face"),
                message: "no face found: face the camera in good light".into(),
            }),
            (Some(s), _) => {
                let comparable = comparable_faces(&analysis, s);
                if comparable > 1 {
                    reasons.push(QualityIssue {
                        problem: None,
                        code: format!("{prefix}_multiple_faces"),
                        message: format!("{comparable} faces in view: only the customer"),
                    });
                }
                if cut_off(&analysis, &s.face) {
                    reasons.push(QualityIssue {
                        problem: None,
                        code: format!("{prefix}_face_cut_off"),
                        message: "the face is cut off by the edge: centre it".into(),
                    });
                }
                if let Some(m) = &measures {
                    reasons.extend(assess(m, &limits, prefix));
                }
                if let Some(mesh) = &mesh {
                    let m = mesh.run(&img, simkyc_face::mesh::Square::around(&s.face))?;
                    eyes = (m.face >= 0.5).then(|| m.signals().ear);
                    if !a.document && eyes.is_some_and(|e| e < EYES_CLOSED_EAR) {
                        reasons.push(QualityIssue {
                            problem: None,
                            code: format!("{prefix}_eyes_closed"),
                            message: "the eyes are closed: keep them open".into(),
                        });
                    }
                }
            }
        }
        let ok = reasons.is_empty();
        all_ok &= ok;
        if a.json {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
            println!(
                "{}",
                serde_json::json!({ "image": p.display().to_string(), "ok": ok, "reasons": codes, "messages": reasons, "faces": analysis.faces.len(), "measures": measures, "eye_aspect_ratio": eyes, "limits": limits })
            );
        } else {
            println!(
                "{}: {}",
                p.display(),
                if ok {
                    "ok".to_string()
                } else {
                    reasons.iter().map(|r| format!("{} ({})", r.code, r.message)).collect::<Vec<_>>().join("; ")
                }
            );
            if let Some(m) = measures {
                println!(
                    "  eyes {:.0} px, sharpness {:.0}, brightness {:.0}, clipped {:.2}, roll {:.1}°, yaw {:.2}, pitch {:.2}",
                    m.inter_eye_px, m.sharpness, m.brightness, m.clipped, m.roll_deg, m.yaw, m.pitch
                );
            }
        }
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
