//! tract and onnxruntime run every installed ONNX model alike: each model's outputs on real
//! image data agree within 1e-4 (relative to the output's scale), and the whole engine finds the
//! same boxes and the same embeddings and liveness scores on development photos. Skips (with a
//! message) where onnxruntime is not installed, unless SIMKYC_REQUIRE_MODELS=1.

mod common;

use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::image_ops::{resize_bilinear, tensor_shape, to_tensor};
use simkyc_face::liveness::PassiveLiveness;
use simkyc_face::onnx::OnnxModel;
use simkyc_face::onnx_shapes::FreeDims;
use simkyc_face::runtime::Runtime;
use simkyc_face::{EngineOptions, FaceEngine};
use simkyc_models::manifest::{Format, Manifest, OutputSpec};

struct Setup {
    models: std::path::PathBuf,
    manifest: Manifest,
    data: std::path::PathBuf,
    ort: Runtime,
}

fn setup() -> Option<Setup> {
    let data = common::data_dir()?;
    let models = common::models_dir()?;
    let ort = common::runtimes(&models).into_iter().find(|r| r.name() == "onnxruntime")?;
    let manifest = Manifest::load(&models).expect("manifest");
    Some(Setup { models, manifest, data, ort })
}

/// Development photos of several sets, a few per set.
fn photos(s: &Setup) -> Vec<std::path::PathBuf> {
    ["asian-wild", "casia-dev", "lfw-dev", "asian-celebs"].iter().flat_map(|set| common::first_photos(&s.data, set, 4)).collect()
}

fn image(p: &std::path::Path) -> image::RgbImage {
    decode_rgb(&std::fs::read(p).expect("read image"), &DecodeLimits::default()).expect("decode")
}

#[test]
fn every_model_gives_the_same_outputs_on_both_runtimes() {
    let Some(s) = setup() else { return };
    let imgs: Vec<image::RgbImage> = photos(&s).iter().take(3).map(|p| image(p)).collect();
    assert!(imgs.len() >= 3, "too few photos");
    let mut compared = 0;
    for e in s.manifest.models.iter().filter(|e| e.format == Format::Onnx) {
        let Some(input) = &e.input else { continue };
        // Variable-size detectors at a 320×256 canvas (a multiple of 32 for YuNet and PP-OCR's
        // text detector); the text recogniser (fixed height, free width) at 320 wide.
        let (w, h) = match (input.width, input.height) {
            (0, 0) => (320, 256),
            (0, h) => (320, h as usize),
            (w, h) => (w as usize, h as usize),
        };
        let free = match e.output {
            OutputSpec::Yunet { .. } | OutputSpec::TextMap { .. } | OutputSpec::Ctc { .. } => FreeDims::All,
            OutputSpec::Embedding { .. } => FreeDims::Batch,
            _ => FreeDims::None,
        };
        let path = s.models.join(&e.file);
        let tract = OnnxModel::load(&e.name, &path, &e.sha256, free, &Runtime::Tract).expect("tract load");
        let ort = OnnxModel::load(&e.name, &path, &e.sha256, free, &s.ort).expect("onnxruntime load");
        let mut worst = 0f32;
        for img in &imgs {
            let x = to_tensor(&resize_bilinear(img, w as u32, h as u32), input);
            let shape = tensor_shape(input, w, h);
            let a = tract.run_shaped(&shape, x.clone()).expect("tract run");
            let b = ort.run_shaped(&shape, x).expect("onnxruntime run");
            assert_eq!(a.len(), b.len(), "{}: output count", e.name);
            for ((sa, va), (sb, vb)) in a.iter().zip(&b) {
                assert_eq!(sa, sb, "{}: output shape", e.name);
                let scale = va.iter().fold(1f32, |m, v| m.max(v.abs()));
                let d = va.iter().zip(vb).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / scale;
                worst = worst.max(d);
            }
        }
        eprintln!("{}: worst difference {worst:.2e} of the output's scale", e.name);
        assert!(worst <= 1e-4, "{}: tract and onnxruntime differ by {worst:e} of the output's scale", e.name);
        compared += 1;
    }
    assert!(compared >= 7, "too few models compared: {compared}");
}

#[test]
fn the_engine_finds_the_same_faces_and_embeddings_on_both_runtimes() {
    let Some(s) = setup() else { return };
    let load = |rt: &Runtime| FaceEngine::load(&s.models, EngineOptions { runtime: rt.clone(), ..Default::default() }).expect("engine");
    let (a, b) = (load(&Runtime::Tract), load(&s.ort));
    let pad = |rt: &Runtime| PassiveLiveness::load(&s.models, &s.manifest, rt).expect("liveness").expect("liveness installed");
    let (pa, pb) = (pad(&Runtime::Tract), pad(&s.ort));
    let (mut faces, mut worst_px, mut worst_emb, mut worst_live, mut worst_cos) = (0, 0f64, 0f32, 0f32, 1f32);
    for p in photos(&s) {
        let img = image(&p);
        let (x, y) = (a.analyze(&img).expect("tract"), b.analyze(&img).expect("onnxruntime"));
        assert_eq!(x.faces.len(), y.faces.len(), "{}: face count", p.display());
        for (f, g) in x.faces.iter().zip(&y.faces) {
            worst_px = worst_px
                .max((f.left - g.left).abs())
                .max((f.top - g.top).abs())
                .max((f.right - g.right).abs())
                .max((f.bottom - g.bottom).abs());
        }
        match (&x.subject, &y.subject) {
            (Some(u), Some(v)) => {
                worst_emb = u.embedding.iter().zip(&v.embedding).fold(worst_emb, |m, (p, q)| m.max((p - q).abs()));
                worst_cos = worst_cos.min(simkyc_face::embed::cosine(&u.embedding, &v.embedding));
                let (la, lb) = (pa.score(&img, &u.face).expect("tract liveness"), pb.score(&img, &v.face).expect("ort liveness"));
                worst_live = worst_live.max((la.antispoof - lb.antispoof).abs()).max((la.liveness - lb.liveness).abs());
                faces += 1;
            }
            (None, None) => {}
            _ => panic!("{}: a subject on one runtime only", p.display()),
        }
    }
    eprintln!("{faces} subjects: worst box difference {worst_px:.2e} px, embedding {worst_emb:.2e} (cosine {worst_cos:.7}), liveness {worst_live:.2e}");
    assert!(faces >= 10, "too few subjects: {faces}");
    assert!(worst_px <= 1e-3, "boxes differ by {worst_px} px");
    // The embedder itself agrees within 1e-5 on the same chip (test above); through the whole
    // pipeline, YuNet's points differ by ~1e-5 px between runtimes, which moves the aligned
    // chip's resampling a little: measured up to 2e-4 per value, cosine 0.9999999.
    assert!(worst_emb <= 1e-3 && worst_cos >= 0.99999, "unit embeddings differ by {worst_emb} (cosine {worst_cos})");
    assert!(worst_live <= 1e-4, "liveness scores differ by {worst_live}");
}
