//! The PRelu rewrite (`onnx_prelu`) on the installed models: every model with PRelu nodes
//! (SFace, the face mesh, the iris model) loses all of them, and on real face photos the graph
//! each runtime gets gives the original graph's outputs: tract's element-wise form to the bit,
//! onnxruntime's depthwise form within float rounding. Skips (with a message) without models or
//! data, unless SIMKYC_REQUIRE_MODELS=1; the onnxruntime half where it is not installed.

mod common;

use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::image_ops::{resize_bilinear, tensor_shape, to_tensor};
use simkyc_face::onnx::{prepare, read_checked, Output};
use simkyc_face::onnx_ort::OrtModel;
use simkyc_face::onnx_shapes::{decode, free_shapes, FreeDims};
use simkyc_face::onnx_tract::TractModel;
use simkyc_face::runtime::Runtime;
use simkyc_models::manifest::{Format, Manifest, OutputSpec};

fn prelu_count(bytes: &[u8]) -> usize {
    let m = decode("m", bytes).expect("decode");
    m.graph.map(|g| g.node.iter().filter(|n| n.op_type == "PRelu").count()).unwrap_or(0)
}

/// Runs a loaded model on one input and returns every output as (shape, values).
type Run = Box<dyn Fn(&[usize], Vec<f32>) -> Vec<Output>>;

/// Loads prepared bytes on a runtime and returns a function that runs them.
fn loaded(name: &str, bytes: &[u8], runtime: &Runtime) -> Run {
    match runtime {
        Runtime::Tract => {
            let m = TractModel::from_bytes(name, bytes).expect("tract");
            Box::new(move |s, x| m.run_all(s, x).expect("tract run"))
        }
        Runtime::Onnxruntime(o) => {
            let kept = bytes.to_vec();
            let m = OrtModel::new(name, bytes, Box::new(move || Ok(kept.clone())), o).expect("onnxruntime");
            Box::new(move |s, x| m.run_all(s, x).expect("onnxruntime run"))
        }
    }
}

#[test]
fn rewritten_models_keep_their_outputs() {
    let (Some(data), Some(models)) = (common::data_dir(), common::models_dir()) else { return };
    let manifest = Manifest::load(&models).expect("manifest");
    let imgs: Vec<image::RgbImage> = ["casia-dev", "asian-wild", "lfw-dev"]
        .iter()
        .flat_map(|set| common::first_photos(&data, set, 2))
        .map(|p| decode_rgb(&std::fs::read(&p).expect("read"), &DecodeLimits::default()).expect("decode"))
        .collect();
    assert!(imgs.len() >= 4, "too few photos");
    let mut rewritten = Vec::new();
    for runtime in common::runtimes(&models) {
        for e in manifest.models.iter().filter(|e| e.format == Format::Onnx) {
            let Some(input) = e.input.as_ref().filter(|i| i.width > 0 && i.height > 0) else { continue };
            let free = if matches!(e.output, OutputSpec::Embedding { .. }) { FreeDims::Batch } else { FreeDims::None };
            let file = read_checked(&e.name, &models.join(&e.file), &e.sha256).expect("read model");
            let before = prelu_count(&file);
            if before == 0 {
                continue;
            }
            let prepared = prepare(&e.name, &file, free, &runtime).expect("prepare");
            assert_eq!(prelu_count(&prepared), 0, "{} on {}: PRelu nodes left", e.name, runtime.name());
            let mut original = decode(&e.name, &file).expect("decode");
            free_shapes(&e.name, &mut original, free).expect("free shapes");
            let original = prost::Message::encode_to_vec(&original);
            let (run_a, run_b) = (loaded(&e.name, &original, &runtime), loaded(&e.name, &prepared, &runtime));
            let (w, h) = (input.width as usize, input.height as usize);
            let mut worst = 0f32;
            for img in &imgs {
                let (x, shape) = (to_tensor(&resize_bilinear(img, w as u32, h as u32), input), tensor_shape(input, w, h));
                let (a, b) = (run_a(&shape, x.clone()), run_b(&shape, x));
                assert_eq!(a.len(), b.len(), "{}: output count", e.name);
                for ((sa, va), (sb, vb)) in a.iter().zip(&b) {
                    assert_eq!(sa, sb, "{}: output shape", e.name);
                    let scale = va.iter().fold(1f32, |m, v| m.max(v.abs()));
                    worst = va.iter().zip(vb).fold(worst, |m, (p, q)| m.max((p - q).abs() / scale));
                }
            }
            eprintln!(
                "{} on {}: {before} PRelu nodes rewritten; worst output difference {worst:.1e} of the output's scale",
                e.name,
                runtime.name()
            );
            // tract's element-wise forms are exact per element; onnxruntime may fuse the
            // depthwise form's sum into a convolution in another order (measured: 7.5e-7).
            let allowed = if matches!(runtime, Runtime::Tract) { 0.0 } else { 1e-5 };
            assert!(worst <= allowed, "{} on {}: the rewrite changed the outputs by {worst:e} of their scale", e.name, runtime.name());
            rewritten.push(format!("{} on {}", e.name, runtime.name()));
        }
    }
    eprintln!("rewritten: {rewritten:?}");
    assert!(rewritten.iter().any(|n| n.starts_with("sface")), "SFace should carry PRelu nodes: {rewritten:?}");
}
