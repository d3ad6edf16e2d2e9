//! Cost of the capture checks per frame on one core: quality measures and passive liveness on
//! top of the face analysis, median of several passes over real 640×480 webcam-like frames; and
//! the face location alone (no embedding), which is what framing feedback (`/v1/quality`) needs.
//! On the runtime `SIMKYC_RUNTIME` names (auto, tract or onnxruntime; default auto).
//!   target/release/examples/capture_checks_bench FRAME.png...

use std::time::Instant;

use simkyc_face::liveness::PassiveLiveness;
use simkyc_face::quality::measure;
use simkyc_face::{EngineOptions, FaceEngine};

fn median(v: Vec<f64>) -> f64 {
    simkyc_face::stats::median(v).unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = simkyc_models::cache::default_models_dir();
    let manifest = simkyc_models::manifest::Manifest::load(&dir)?;
    let choice: simkyc_face::runtime::RuntimeChoice = std::env::var("SIMKYC_RUNTIME").unwrap_or_else(|_| "auto".into()).parse()?;
    let runtime = simkyc_face::runtime::Runtime::for_models_dir(choice, &dir, 1)?;
    println!("runtime: {}", runtime.describe());
    let engine = FaceEngine::load(&dir, EngineOptions { runtime, ..Default::default() })?;
    let liveness = PassiveLiveness::load(&dir, &manifest, &engine.options.runtime)?.ok_or("liveness models not installed")?;
    let frames: Vec<_> = std::env::args().skip(1).map(|p| image::open(p).map(|i| i.to_rgb8())).collect::<Result<_, _>>()?;
    let (mut analyse, mut quality, mut live, mut locate) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _pass in 0..5 {
        for img in &frames {
            let t = Instant::now();
            let _ = engine.locate(img)?;
            locate.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            let a = engine.analyze(img)?;
            analyse.push(t.elapsed().as_secs_f64() * 1000.0);
            if let Some(s) = &a.subject {
                let t = Instant::now();
                let _ = measure(img, s);
                quality.push(t.elapsed().as_secs_f64() * 1000.0);
                let t = Instant::now();
                let _ = liveness.score(img, &s.face)?;
                live.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    println!(
        "{} frames × 5 passes, one thread: face analysis median {:.1} ms (location without embedding {:.1} ms); quality measures {:.2} ms; passive liveness {:.1} ms; checks add {:.1} ms per frame",
        frames.len(),
        median(analyse),
        median(locate),
        median(quality.clone()),
        median(live.clone()),
        median(quality) + median(live)
    );
    Ok(())
}
