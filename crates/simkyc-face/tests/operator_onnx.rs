//! An operator-supplied ONNX embedder, declared in the manifest, runs through the same pipeline.
//! The test builds a small ONNX model itself (conv → ReLU → global average pool → linear), installs
//! it next to the default detector and landmark model, and checks the engine's embedding against
//! the same arithmetic done by hand on the aligned chip, including BGR order and normalisation.

mod common;

use simkyc_dlib::dnn::{Input, Loss, Net, Op};
use simkyc_dlib::onnx_export::{encode, to_onnx, InputDims};
use simkyc_face::align::{arcface_chip_to_image, extract_chip_with, Template};
use simkyc_face::decode::decode_rgb;
use simkyc_face::image_ops::to_gray;
use simkyc_face::{EngineOptions, FaceEngine};
use simkyc_models::manifest::{AlignmentSpec, ColorOrder, Format, InputSpec, Manifest, ModelEntry, OutputSpec, Role, Source};

const SIZE: usize = 112;
const CH: usize = 4;
const OUT: usize = 3;

fn weights() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let conv: Vec<f32> = (0..CH * 3 * 3 * 3).map(|i| ((i * 37 % 17) as f32 - 8.0) / 20.0).collect();
    let bias: Vec<f32> = (0..CH).map(|i| i as f32 * 0.1 - 0.1).collect();
    let fc: Vec<f32> = (0..CH * OUT).map(|i| ((i * 11 % 7) as f32 - 3.0) / 3.0).collect();
    (conv, bias, fc)
}

fn tiny_model() -> Vec<u8> {
    let (conv, bias, fc) = weights();
    let net = Net {
        input: Input::RgbSized { mean: [0.0; 3], rows: SIZE, cols: SIZE },
        ops: vec![
            Op::Conv { weights: conv, bias, out_ch: CH, in_ch: 3, kernel: [3, 3], stride: [2, 2], pad: [1, 1] },
            Op::Relu,
            Op::AvgPool { kernel: [0, 0], stride: [1, 1], pad: [0, 0] },
            Op::FcNoBias { weights: fc, inputs: CH, outputs: OUT },
        ],
        loss: Loss::Metric { margin: 0.0, distance_threshold: 0.0 },
    };
    encode(&to_onnx(&net, InputDims::Fixed { rows: SIZE, cols: SIZE }, "tiny").expect("export"))
}

/// The model's arithmetic by hand: x[c][y][x] = (pixel[bgr c] - 127.5) / 128.
fn by_hand(chip: &image::RgbImage) -> Vec<f32> {
    let (conv, bias, fc) = weights();
    let px = |c: usize, y: i64, x: i64| -> f32 {
        if y < 0 || x < 0 || y >= SIZE as i64 || x >= SIZE as i64 {
            return 0.0;
        }
        let p = chip.get_pixel(x as u32, y as u32);
        (p[2 - c] as f32 - 127.5) / 128.0
    };
    let out_side = (SIZE + 2 - 3) / 2 + 1;
    let mut pooled = [0f32; CH];
    for o in 0..CH {
        let mut acc = 0f64;
        for oy in 0..out_side as i64 {
            for ox in 0..out_side as i64 {
                let mut v = bias[o];
                for c in 0..3 {
                    for ky in 0..3i64 {
                        for kx in 0..3i64 {
                            v += conv[((o * 3 + c) * 3 + ky as usize) * 3 + kx as usize] * px(c, oy * 2 - 1 + ky, ox * 2 - 1 + kx);
                        }
                    }
                }
                acc += v.max(0.0) as f64;
            }
        }
        pooled[o] = (acc / (out_side * out_side) as f64) as f32;
    }
    let mut e: Vec<f32> = (0..OUT).map(|j| (0..CH).map(|i| pooled[i] * fc[i * OUT + j]).sum()).collect();
    simkyc_face::embed::l2_normalize(&mut e);
    e
}

#[test]
fn operator_embedder_runs_through_the_manifest() {
    let (Some(models), Some(data)) = (common::models_dir(), common::data_dir()) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut manifest = Manifest::load(&models).expect("manifest");
    for m in &manifest.models {
        std::fs::copy(models.join(&m.file), dir.path().join(&m.file)).expect("copy model");
    }
    let onnx = tiny_model();
    std::fs::write(dir.path().join("tiny.onnx"), &onnx).unwrap();
    manifest.models.push(ModelEntry {
        name: "operator-tiny".into(),
        role: Role::Embedder,
        format: Format::Onnx,
        file: "tiny.onnx".into(),
        sha256: simkyc_models::cache::sha256_bytes(&onnx),
        license: "test".into(),
        source: Source {
            registry: "operator".into(),
            package: String::new(),
            version: String::new(),
            member: String::new(),
            sha256: String::new(),
            converted_by: String::new(),
        },
        input: Some(InputSpec {
            width: SIZE as u32,
            height: SIZE as u32,
            color: ColorOrder::Bgr,
            mean: [127.5; 3],
            scale: 1.0 / 128.0,
            layout: Default::default(),
        }),
        output: OutputSpec::Embedding { dim: OUT as u32 },
        alignment: Some(AlignmentSpec { template: "arcface-5pt".into(), padding: 0.0 }),
    });
    manifest.defaults.embedder = "operator-tiny".into();
    manifest.save(dir.path()).expect("save manifest");

    let engine = FaceEngine::load(dir.path(), EngineOptions { flip: false, ..Default::default() }).expect("load with operator embedder");
    assert_eq!(engine.embedder_name(), "operator-tiny");
    let img =
        decode_rgb(&std::fs::read(data.join("lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0001.jpg")).unwrap(), &Default::default()).unwrap();
    let a = engine.analyze(&img).expect("analyze");
    let s = a.subject.expect("face");
    assert_eq!(s.embedding.len(), OUT);

    // With the default YuNet detector the chip is aligned on YuNet's own five points.
    let tf = match &s.points {
        Some(p) => arcface_chip_to_image(p, SIZE as u32).unwrap(),
        None => Template::Arcface.chip_to_image(&engine.landmarks(&img, &to_gray(&img), &s.face), SIZE as u32).unwrap(),
    };
    let want = by_hand(&extract_chip_with(&img, &tf, SIZE as u32, SIZE as u32, engine.chip_border()));
    for (a, b) in s.embedding.iter().zip(&want) {
        assert!((a - b).abs() < 1e-4, "engine {:?} vs by hand {want:?}", s.embedding);
    }

    // A tampered file is refused by its checksum.
    std::fs::write(dir.path().join("tiny.onnx"), b"not the model").unwrap();
    let err = FaceEngine::load(dir.path(), EngineOptions::default()).err().expect("checksum must fail");
    assert!(err.to_string().contains("sha256"), "{err}");
}

#[test]
fn manifest_rejects_incoherent_entries() {
    let text = r#"
version = 1
[defaults]
detector = "d"
landmarks = "l"
embedder = "e"
[[model]]
name = "e"
role = "embedder"
format = "onnx"
file = "e.onnx"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
source = { registry = "operator" }
input = { width = 112, height = 112, color = "rgb", mean = [0.0, 0.0, 0.0], scale = 1.0 }
output = { kind = "embedding", dim = 128 }
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.toml"), text).unwrap();
    let e = Manifest::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("alignment"), "{e}");
    std::fs::write(dir.path().join("manifest.toml"), text.replace("e.onnx", "../e.onnx")).unwrap();
    assert!(Manifest::load(dir.path()).is_err());
}
