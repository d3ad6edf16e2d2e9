//! Benchmark helper: times the installed ONNX models on tract at fixed input shapes, one thread,
//! for the side-by-side comparison with onnxruntime in tools/bench/runtimes.sh.
//! Usage: tract_bench RUNS

use std::time::Instant;

use simkyc_face::onnx::OnnxModel;
use simkyc_models::manifest::Manifest;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let dir = simkyc_models::cache::default_models_dir();
    let m = Manifest::load(&dir)?;
    // (model, input shape): the embedder chip, and the detector canvas of a 480×360 detection image.
    let (cw, ch) = simkyc_face::detect::canvas_size(480, 360);
    for (name, shape) in [("dlib-resnet-v1", vec![1usize, 3, 150, 150]), ("dlib-mmod", vec![1, 3, ch, cw])] {
        let e = m.get(name).ok_or("model missing")?;
        let model = OnnxModel::load(name, &dir.join(&e.file), &e.sha256)?;
        let n: usize = shape.iter().product();
        let input: Vec<f32> = (0..n).map(|i| ((i * 7919) % 255) as f32 / 256.0 - 0.5).collect();
        model.run(&shape, input.clone())?; // warm-up and plan
        let mut t = Vec::new();
        for _ in 0..runs {
            let s = Instant::now();
            model.run(&shape, input.clone())?;
            t.push(s.elapsed().as_secs_f64() * 1e3);
        }
        t.sort_by(|a, b| a.total_cmp(b));
        println!("tract {name} {shape:?}: median {:.2} ms (min {:.2}, max {:.2}, {runs} runs)", t[runs / 2], t[0], t[runs - 1]);
    }
    Ok(())
}
