//! Our Rust loaders against dlib itself: golden outputs made by tools/reference/dlib_golden.py
//! (dlib 20.0.1 from PyPI `dlib-bin`) on real face images from the shared data.

mod common;

use serde::Deserialize;
use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::embed::cosine;
use simkyc_face::image_ops::to_gray;
use simkyc_face::{EngineOptions, FaceEngine};

#[derive(Deserialize)]
struct Golden {
    images: Vec<Entry>,
}
#[derive(Deserialize)]
struct Det {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    confidence: f32,
}
#[derive(Deserialize)]
struct Face {
    rect: [f64; 4],
    landmarks: Vec<[f64; 2]>,
    descriptor: Vec<f32>,
}
#[derive(Deserialize)]
struct FixedBox {
    rect: [f64; 4],
    landmarks: Vec<[f64; 2]>,
}
#[derive(Deserialize)]
struct Crop {
    rows: [u32; 2],
    cols: [u32; 2],
    descriptor: Vec<f32>,
}
#[derive(Deserialize)]
struct Entry {
    image: String,
    detections: Vec<Det>,
    faces: Vec<Face>,
    fixed_box: FixedBox,
    crop_descriptor: Option<Crop>,
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(common::root().join("tests/golden/dlib.json")).expect("golden file");
    serde_json::from_str(&text).expect("golden json")
}

struct Setup {
    engine: FaceEngine,
    runtime: simkyc_face::runtime::Runtime,
    models: std::path::PathBuf,
    data: std::path::PathBuf,
}

fn setup() -> Option<Vec<Setup>> {
    let data = common::data_dir()?;
    let models = common::models_dir()?;
    Some(common::runtimes(&models).into_iter().map(|rt| setup_on(data.clone(), models.clone(), rt)).collect())
}

fn setup_on(data: std::path::PathBuf, models: std::path::PathBuf, runtime: simkyc_face::runtime::Runtime) -> Setup {
    // dlib's own settings: no flip, no rescaling for detection.
    let opts = EngineOptions { flip: false, detect_max_side: 100_000, detect_min_side: 0, runtime: runtime.clone(), ..Default::default() };
    // The dlib engine, whatever the install's defaults are.
    let manifest = simkyc_models::manifest::Manifest::load(&models).expect("manifest");
    let engine = FaceEngine::load_selection(&models, &manifest, &simkyc_models::legacy_defaults(), opts).expect("load engine");
    Setup { engine, runtime, models, data }
}

fn load(s: &Setup, rel: &str) -> image::RgbImage {
    decode_rgb(&std::fs::read(s.data.join(rel)).expect("read image"), &DecodeLimits::default()).expect("decode")
}

#[test]
fn embedder_matches_dlib_on_exact_crops() {
    let Some(setups) = setup() else { return };
    for s in &setups {
        let m = simkyc_models::manifest::Manifest::load(&s.models).unwrap();
        let emb = FaceEngine::load_embedder(&s.models, m.get(simkyc_models::packs::DLIB_EMBEDDER).unwrap(), &s.runtime).unwrap();
        let mut n = 0;
        for e in golden().images {
            let Some(c) = e.crop_descriptor else { continue };
            let img = load(s, &e.image);
            let crop = image::imageops::crop_imm(&img, c.cols[0], c.rows[0], c.cols[1] - c.cols[0], c.rows[1] - c.rows[0]).to_image();
            let ours = emb.raw(&crop).unwrap();
            let cos = cosine(&ours, &c.descriptor);
            let max_abs = ours.iter().zip(&c.descriptor).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(cos >= 0.9999, "{}: cosine {cos} (max abs diff {max_abs})", e.image);
            n += 1;
        }
        assert!(n >= 5, "too few crop goldens: {n}");
    }
}

#[test]
fn detector_matches_dlib() {
    let Some(setups) = setup() else { return };
    for s in &setups {
        let mut n = 0;
        for e in golden().images {
            let img = load(s, &e.image);
            let ours: Vec<_> = s.engine.detect_native(&img).unwrap().into_iter().map(|f| f.face).collect();
            assert_eq!(ours.len(), e.detections.len(), "{}: {} faces vs dlib {}", e.image, ours.len(), e.detections.len());
            for d in &e.detections {
                let g = simkyc_face::detect::FaceBox { left: d.left, top: d.top, right: d.right, bottom: d.bottom, score: d.confidence };
                let best = ours.iter().map(|o| (o.iou(&g), o.score)).max_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
                assert!(best.0 >= 0.95, "{}: IoU {} with dlib box {:?}", e.image, best.0, (d.left, d.top, d.right, d.bottom));
                assert!((best.1 - d.confidence).abs() < 0.01, "{}: score {} vs dlib {}", e.image, best.1, d.confidence);
                n += 1;
            }
        }
        assert!(n >= 6, "too few detections compared: {n}");
    }
}

fn check_landmarks(s: &Setup, rel: &str, rect: [f64; 4], want: &[[f64; 2]]) {
    let img = load(s, rel);
    let gray = to_gray(&img);
    let face = simkyc_face::detect::FaceBox { left: rect[0], top: rect[1], right: rect[2], bottom: rect[3], score: 1.0 };
    let ours = s.engine.landmarks(&img, &gray, &face);
    for (i, (o, w)) in ours.iter().zip(want).enumerate() {
        // dlib rounds its output to whole pixels; ours is unrounded.
        let d = ((o[0] - w[0]).powi(2) + (o[1] - w[1]).powi(2)).sqrt();
        assert!(
            d <= 0.5 + 1e-6 || ((o[0] - w[0]).abs() <= 0.5 + 1e-6 && (o[1] - w[1]).abs() <= 0.5 + 1e-6),
            "{rel}: landmark {i} at {o:?}, dlib {w:?}"
        );
    }
}

#[test]
fn landmarks_match_dlib() {
    let Some(setups) = setup() else { return };
    for s in &setups {
        for e in golden().images {
            check_landmarks(s, &e.image, e.fixed_box.rect, &e.fixed_box.landmarks);
            for f in &e.faces {
                check_landmarks(s, &e.image, f.rect, &f.landmarks);
            }
        }
    }
}

#[test]
fn full_pipeline_embedding_is_close_to_dlib() {
    let Some(setups) = setup() else { return };
    for s in &setups {
        let mut worst = 1f32;
        for e in golden().images {
            let Some(f) = e.faces.first() else { continue };
            let img = load(s, &e.image);
            let a = s.engine.analyze(&img).unwrap();
            let ours = a.subject.expect("a face").embedding;
            worst = worst.min(cosine(&ours, &f.descriptor));
        }
        // Alignment resampling differs slightly from dlib's extract_image_chip.
        assert!(worst >= 0.99, "worst cosine to dlib's full pipeline: {worst}");
        eprintln!("worst full-pipeline cosine to dlib: {worst:.5}");
    }
}
