//! Our YuNet decoding and SFace embedding against OpenCV itself: golden outputs made by
//! tools/reference/opencv_golden.py (`cv2.FaceDetectorYN`, `cv2.FaceRecognizerSF`, the exact model
//! files `simkyc models fetch` installs) on real face images from the shared data.

mod common;

use serde::Deserialize;
use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::embed::{cosine, l2_normalize};
use simkyc_face::onnx::OnnxModel;
use simkyc_face::onnx_shapes::FreeDims;
use simkyc_face::runtime::Runtime;
use simkyc_face::yunet::{YunetConfig, YunetDetector};
use simkyc_face::{EngineOptions, FaceEngine};
use simkyc_models::manifest::{Manifest, OutputSpec};

#[derive(Deserialize)]
struct Golden {
    score_threshold: f32,
    nms_threshold: f64,
    top_k: usize,
    images: Vec<Entry>,
}
#[derive(Deserialize)]
struct Face {
    #[serde(rename = "box")]
    bbox: [f64; 4],
    landmarks: [f64; 10],
    score: f32,
    embedding: Vec<f32>,
}
#[derive(Deserialize)]
struct Crop {
    rows: [u32; 2],
    cols: [u32; 2],
    raw: Vec<f32>,
}
#[derive(Deserialize)]
struct Entry {
    image: String,
    faces: Vec<Face>,
    crop_embedding: Option<Crop>,
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(common::root().join("tests/golden/opencv.json")).expect("golden file");
    serde_json::from_str(&text).expect("golden json")
}

struct Setup {
    models: std::path::PathBuf,
    manifest: Manifest,
    data: std::path::PathBuf,
}

fn setup() -> Option<Setup> {
    let data = common::data_dir()?;
    let models = common::models_dir()?;
    let manifest = Manifest::load(&models).expect("manifest");
    Some(Setup { models, manifest, data })
}

fn load(s: &Setup, rel: &str) -> image::RgbImage {
    decode_rgb(&std::fs::read(s.data.join(rel)).expect("image"), &DecodeLimits::default()).expect("decode")
}

fn yunet(s: &Setup, g: &Golden, runtime: &Runtime) -> YunetDetector {
    let e = s.manifest.get(simkyc_models::opencv_zoo::YUNET).expect("yunet in the manifest");
    let OutputSpec::Yunet { strides, divisor } = &e.output else { panic!("yunet output spec") };
    let model = OnnxModel::load(&e.name, &s.models.join(&e.file), &e.sha256, FreeDims::All, runtime).expect("load yunet");
    let config = YunetConfig {
        input: e.input.clone().expect("input"),
        strides: strides.clone(),
        divisor: *divisor,
        nms_iou: g.nms_threshold,
        top_k: g.top_k,
    };
    YunetDetector::new(model, config).expect("yunet")
}

/// The YuNet + SFace engine at OpenCV's settings: detection at the image's own size, no flip.
fn engine(s: &Setup, g: &Golden, runtime: &Runtime) -> FaceEngine {
    let opts = EngineOptions {
        flip: false,
        detect_max_side: 100_000,
        detect_min_side: 0,
        yunet_threshold: g.score_threshold,
        runtime: runtime.clone(),
        ..Default::default()
    };
    FaceEngine::load_selection(&s.models, &s.manifest, &simkyc_models::pack_defaults(), opts).expect("engine")
}

#[test]
fn yunet_boxes_landmarks_and_scores_match_opencv() {
    let Some(s) = setup() else { return };
    let g = golden();
    for runtime in common::runtimes(&s.models) {
        let det = yunet(&s, &g, &runtime);
        let (mut n, mut worst_px, mut worst_score) = (0, 0f64, 0f32);
        for e in &g.images {
            let img = load(&s, &e.image);
            let ours = det.detect(&img, g.score_threshold).unwrap();
            assert_eq!(ours.len(), e.faces.len(), "{}: {} faces vs OpenCV {}", e.image, ours.len(), e.faces.len());
            for (o, f) in ours.iter().zip(&e.faces) {
                let ob = [o.x, o.y, o.w, o.h];
                for (o, g) in ob.iter().zip(&f.bbox) {
                    worst_px = worst_px.max((o - g).abs());
                }
                for j in 0..5 {
                    worst_px =
                        worst_px.max((o.points[j][0] - f.landmarks[2 * j]).abs()).max((o.points[j][1] - f.landmarks[2 * j + 1]).abs());
                }
                worst_score = worst_score.max((o.score - f.score).abs());
                n += 1;
            }
        }
        assert!(n >= 12, "too few faces compared: {n}");
        assert!(worst_px < 0.05, "box or landmark {worst_px} px away from OpenCV's");
        assert!(worst_score < 1e-3, "score {worst_score} away from OpenCV's");
        eprintln!("{}: {n} faces: worst box/landmark difference {worst_px:.5} px, score {worst_score:.6}", runtime.name());
    }
}

#[test]
fn sface_matches_opencv_on_the_same_input() {
    let Some(s) = setup() else { return };
    let g = golden();
    let e = s.manifest.get(simkyc_models::opencv_zoo::SFACE).expect("sface in the manifest");
    for runtime in common::runtimes(&s.models) {
        let embedder = FaceEngine::load_embedder(&s.models, e, &runtime).expect("sface");
        let (mut n, mut worst) = (0, 0f32);
        for entry in &g.images {
            let Some(c) = &entry.crop_embedding else { continue };
            let img = load(&s, &entry.image);
            let crop = image::imageops::crop_imm(&img, c.cols[0], c.rows[0], c.cols[1] - c.cols[0], c.rows[1] - c.rows[0]).to_image();
            let mut ours = embedder.raw(&crop).unwrap();
            let mut want = c.raw.clone();
            l2_normalize(&mut ours);
            l2_normalize(&mut want);
            worst = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
            n += 1;
        }
        assert!(n >= 10, "too few crops compared: {n}");
        assert!(worst <= 1e-4, "normalised embedding differs from OpenCV's by {worst}");
        eprintln!("{}: {n} crops: worst normalised embedding difference {worst:.2e}", runtime.name());
    }
}

#[test]
fn full_pipeline_embedding_is_close_to_opencv() {
    let Some(s) = setup() else { return };
    let g = golden();
    for runtime in common::runtimes(&s.models) {
        let engine = engine(&s, &g, &runtime);
        let mut cosines = Vec::new();
        for e in &g.images {
            let img = load(&s, &e.image);
            let a = engine.analyze(&img).unwrap();
            let Some(subject) = a.subject else {
                assert!(e.faces.is_empty(), "{}: OpenCV found a face, we did not", e.image);
                continue;
            };
            let p = subject.points.expect("YuNet points");
            // OpenCV's face with the same eye (our subject is the largest, most central face).
            let f = e
                .faces
                .iter()
                .min_by(|a, b| {
                    let d = |f: &&Face| (f.landmarks[0] - p[0][0]).abs() + (f.landmarks[1] - p[0][1]).abs();
                    d(a).total_cmp(&d(b))
                })
                .expect("OpenCV found the face too");
            let c = cosine(&subject.embedding, &f.embedding);
            eprintln!("{}: cosine {c:.5}", e.image);
            cosines.push(c);
        }
        assert!(cosines.len() >= 12, "too few faces compared: {}", cosines.len());
        cosines.sort_by(|a, b| a.total_cmp(b));
        let (worst, median) = (cosines[0], cosines[cosines.len() / 2]);
        // Our chip is sampled in floating point, OpenCV's warpAffine with fixed-point weights; where
        // the face is over twice the chip's scale (pad-dev's close-up) we halve the image first
        // instead of sampling it with aliasing, which moves the embedding a little more.
        assert!(median >= 0.999, "median cosine to OpenCV's full pipeline: {median}");
        assert!(worst >= 0.99, "worst cosine to OpenCV's full pipeline: {worst}");
        eprintln!("{}: {} faces: full-pipeline cosine to OpenCV median {median:.5}, worst {worst:.5}", runtime.name(), cosines.len());
    }
}
