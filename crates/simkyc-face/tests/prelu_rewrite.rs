//! The PRelu rewrite (`onnx_prelu`) on the installed models: every model with PRelu nodes
//! (SFace, the face mesh, the iris model) loses all of them, and on real face photos the
//! rewritten graph gives the original graph's outputs, on tract (always) and on onnxruntime
//! (where installed). Skips (with a message) without models or data, unless
//! SIMKYC_REQUIRE_MODELS=1.

mod common;

use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::image_ops::{resize_bilinear, tensor_shape, to_tensor};
use simkyc_face::onnx::{prepare, read_checked, OnnxModel, Output};
use simkyc_face::onnx_ort::OrtModel;
use simkyc_face::onnx_shapes::{decode, free_shapes, FreeDims};
use simkyc_face::onnx_tract::TractModel;
use simkyc_face::runtime::Runtime;
use simkyc_models::manifest::{Format, Manifest, OutputSpec};

/// Runs a model on one input and returns every output as (shape, values).
type Run<'a> = &'a dyn Fn(&[usize], Vec<f32>) -> Vec<Output>;

fn prelu_count(bytes: &[u8]) -> usize {
    let m = decode("m", bytes).expect("decode");
    m.graph.map(|g| g.node.iter().filter(|n| n.op_type == "PRelu").count()).unwrap_or(0)
}

#[test]
fn rewritten_models_keep_their_outputs() {
    let (Some(data), Some(models)) = (common::data_dir(), common::models_dir()) else { return };
    let manifest = Manifest::load(&models).expect("manifest");
    let ort = common::runtimes(&models).into_iter().find(|r| r.name() == "onnxruntime");
    let imgs: Vec<image::RgbImage> = ["casia-dev", "asian-wild", "lfw-dev"]
        .iter()
        .flat_map(|set| common::first_photos(&data, set, 2))
        .map(|p| decode_rgb(&std::fs::read(&p).expect("read"), &DecodeLimits::default()).expect("decode"))
        .collect();
    assert!(imgs.len() >= 4, "too few photos");
    let mut rewritten = Vec::new();
    for e in manifest.models.iter().filter(|e| e.format == Format::Onnx) {
        let (Some(input), true) = (&e.input, e.input.as_ref().is_some_and(|i| i.width > 0 && i.height > 0)) else { continue };
        let free = if matches!(e.output, OutputSpec::Embedding { .. }) { FreeDims::Batch } else { FreeDims::None };
        let file = read_checked(&e.name, &models.join(&e.file), &e.sha256).expect("read model");
        let before = prelu_count(&file);
        if before == 0 {
            continue;
        }
        let prepared = prepare(&e.name, &file, free).expect("prepare");
        assert_eq!(prelu_count(&prepared), 0, "{}: PRelu nodes left", e.name);
        let mut original = decode(&e.name, &file).expect("decode");
        free_shapes(&e.name, &mut original, free).expect("free shapes");
        let original = prost::Message::encode_to_vec(&original);
        let (w, h) = (input.width as usize, input.height as usize);
        let mut worst = 0f32;
        let mut compare = |run_a: Run, run_b: Run| {
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
        };
        let (ta, tb) = (
            TractModel::from_bytes(&e.name, &original).expect("tract"),
            OnnxModel::from_bytes(&e.name, &file, free, &Runtime::Tract).expect("tract"),
        );
        compare(&|s, x| ta.run_all(s, x).expect("run"), &|s, x| tb.run_shaped(s, x).expect("run"));
        if let Some(Runtime::Onnxruntime(o)) = &ort {
            let src = original.clone();
            let oa = OrtModel::new(&e.name, &original, Box::new(move || Ok(src.clone())), o).expect("onnxruntime");
            let ob = OnnxModel::from_bytes(&e.name, &file, free, ort.as_ref().expect("runtime")).expect("onnxruntime");
            compare(&|s, x| oa.run_all(s, x).expect("run"), &|s, x| ob.run_shaped(s, x).expect("run"));
        }
        eprintln!("{}: {before} PRelu nodes rewritten; worst output difference {worst:.1e} of the output's scale", e.name);
        // The forms are exact per element; what may move is only the order in which a runtime
        // fuses and sums the convolutions around them.
        assert!(worst <= 1e-6, "{}: the rewrite changed the outputs by {worst:e} of their scale", e.name);
        rewritten.push(e.name.clone());
    }
    eprintln!("rewritten: {rewritten:?}");
    assert!(rewritten.iter().any(|n| n.starts_with("sface")), "SFace should carry PRelu nodes: {rewritten:?}");
}
