//! Benchmark helper: times every default ONNX model on tract and on onnxruntime (when its
//! library is installed) at the shapes the pipeline feeds them, one thread, in one run; the
//! embedder also at batch 2 (a chip and its mirror). Used by tools/bench/runtimes.sh.
//! Inputs are made from a real photo (IMAGE, resized to each model's input): network times
//! depend on the data (synthetic input ran SFace 20 % faster than a face).
//! Usage: runtime_bench RUNS IMAGE

use std::time::Instant;

use simkyc_face::onnx::OnnxModel;
use simkyc_face::onnx_shapes::FreeDims;
use simkyc_face::runtime::{Runtime, RuntimeChoice};
use simkyc_models::manifest::Manifest;

fn median_ms(runs: usize, mut f: impl FnMut() -> Result<(), simkyc_face::FaceError>) -> Result<(f64, f64, f64), simkyc_face::FaceError> {
    f()?; // warm-up (and tract's plan for the shape)
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(|a, b| a.total_cmp(b));
    Ok((t[runs / 2], t[0], t[runs - 1]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(20).max(1);
    let photo = image::open(std::env::args().nth(2).ok_or("usage: runtime_bench RUNS IMAGE")?)?.to_rgb8();
    let dir = simkyc_models::cache::default_models_dir();
    let m = Manifest::load(&dir)?;
    let mut runtimes = vec![Runtime::Tract];
    match Runtime::for_models_dir(RuntimeChoice::Auto, &dir, 1)? {
        Runtime::Tract => println!("onnxruntime is not installed (simkyc models fetch): tract only"),
        ort => runtimes.push(ort),
    }
    // The detector canvas of a 640×480 frame scaled to 320 px (YuNet pads to a multiple of 32),
    // MMOD's canvas for the same image, and the chips.
    let (cw, ch) = simkyc_face::detect::canvas_size(320, 240);
    let cases: Vec<(&str, Vec<usize>, FreeDims)> = vec![
        ("yunet-2023mar", vec![1, 3, 256, 320], FreeDims::All),
        ("sface-2021dec", vec![1, 3, 112, 112], FreeDims::Batch),
        ("sface-2021dec", vec![2, 3, 112, 112], FreeDims::Batch),
        ("dlib-mmod", vec![1, 3, ch, cw], FreeDims::None),
        ("dlib-resnet-v1", vec![1, 3, 150, 150], FreeDims::Batch),
        ("dlib-resnet-v1", vec![2, 3, 150, 150], FreeDims::Batch),
        ("human-antispoof", vec![1, 128, 128, 3], FreeDims::None),
        ("human-facemesh", vec![1, 192, 192, 3], FreeDims::None),
    ];
    println!("{:<16} {:<18} {:>12} {:>12} {:>7}", "model", "input", "tract ms", "ort ms", "ratio");
    for (name, shape, free) in cases {
        let Some(e) = m.get(name) else {
            println!("{name}: not installed");
            continue;
        };
        let spec = e.input.clone().ok_or("model without an input spec")?;
        let (w, h) = if shape[1] == 3 { (shape[3], shape[2]) } else { (shape[2], shape[1]) };
        let one = simkyc_face::image_ops::to_tensor(&simkyc_face::image_ops::resize_bilinear(&photo, w as u32, h as u32), &spec);
        let input: Vec<f32> = one.iter().copied().cycle().take(one.len() * shape[0]).collect();
        let mut medians = Vec::new();
        for rt in &runtimes {
            let model = OnnxModel::load(name, &dir.join(&e.file), &e.sha256, free, rt)?;
            medians.push(median_ms(runs, || model.run(&shape, input.clone()).map(|_| ()))?.0);
        }
        let ort = medians.get(1).map(|m| format!("{m:.2}")).unwrap_or_else(|| "-".into());
        let ratio = medians.get(1).map(|m| format!("{:.2}", medians[0] / m)).unwrap_or_else(|| "-".into());
        println!("{name:<16} {:<18} {:>12.2} {ort:>12} {ratio:>7}", format!("{shape:?}"), medians[0]);
    }
    println!("(median of {runs} runs, one thread each; ratio = tract / onnxruntime)");
    Ok(())
}
