//! PaddleOCR's PP-OCR models as shipped inside the PyPI wheel `rapidocr-onnxruntime==1.4.4`
//! (Apache-2.0): the PP-OCRv4 Chinese text detector (DB) and recogniser (CTC, its 6,623-character
//! alphabet stored in the ONNX file's `character` metadata), and the mobile v2.0 text orientation
//! classifier. The wheel is pinned by SHA-256 and only these three members are taken out of it,
//! each checked against its own SHA-256; its Python code is not installed.

use std::path::Path;

use crate::cache::write_atomic;
use crate::manifest::{ColorOrder, Format, InputSpec, ModelEntry, OutputSpec, Role, Source};
use crate::opencv_zoo::extract_member;
use crate::registry::PinnedFile;
use crate::ModelsError;

/// PyPI `rapidocr-onnxruntime==1.4.4` (pure-Python wheel, models inside).
pub const RAPIDOCR: PinnedFile = PinnedFile {
    registry: "pypi",
    package: "rapidocr-onnxruntime",
    version: "1.4.4",
    filename: "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    sha256: "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
};

/// Text detector member: path inside the wheel and SHA-256.
pub const DET_MEMBER: (&str, &str) =
    ("rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx", "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9");
/// Text recogniser member: path inside the wheel and SHA-256.
pub const REC_MEMBER: (&str, &str) =
    ("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b");
/// Orientation classifier member: path inside the wheel and SHA-256.
pub const CLS_MEMBER: (&str, &str) =
    ("rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx", "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c");

/// Manifest name of the text detector.
pub const TEXT_DETECTOR: &str = "ppocr-v4-det";
/// Manifest name of the text recogniser.
pub const TEXT_RECOGNIZER: &str = "ppocr-v4-rec";
/// Manifest name of the orientation classifier.
pub const TEXT_ORIENTATION: &str = "ppocr-mobile-v2-cls";

/// PP-OCR's input convention (as RapidOCR feeds it): BGR, (x / 255 − 0.5) / 0.5.
fn ppocr_input(width: u32, height: u32) -> InputSpec {
    InputSpec { width, height, color: ColorOrder::Bgr, mean: [127.5; 3], scale: 1.0 / 127.5, layout: Default::default() }
}

fn entry(name: &str, role: Role, member: &(&str, &str), input: InputSpec, output: OutputSpec) -> ModelEntry {
    let file = member.0.rsplit('/').next().unwrap_or(member.0).to_string();
    ModelEntry {
        name: name.into(),
        role,
        format: Format::Onnx,
        file,
        sha256: member.1.into(),
        license: "Apache-2.0".into(),
        source: Source {
            registry: RAPIDOCR.registry.into(),
            package: RAPIDOCR.package.into(),
            version: RAPIDOCR.version.into(),
            member: member.0.into(),
            sha256: member.1.into(),
            converted_by: String::new(),
        },
        input: Some(input),
        output,
        alignment: None,
    }
}

/// The three manifest entries, as `install_ppocr` writes them.
pub fn entries() -> Vec<ModelEntry> {
    vec![
        entry(
            TEXT_DETECTOR,
            Role::TextDetector,
            &DET_MEMBER,
            ppocr_input(0, 0),
            // RapidOCR's defaults (config.yaml: thresh 0.3, box_thresh 0.5, unclip_ratio 1.6).
            OutputSpec::TextMap { threshold: 0.3, box_threshold: 0.5, unclip_ratio: 1.6 },
        ),
        entry(TEXT_RECOGNIZER, Role::TextRecognizer, &REC_MEMBER, ppocr_input(0, 48), OutputSpec::Ctc { alphabet_key: "character".into() }),
        entry(
            TEXT_ORIENTATION,
            Role::TextOrientation,
            &CLS_MEMBER,
            ppocr_input(192, 48),
            OutputSpec::Orientation { labels: vec!["0".into(), "180".into()] },
        ),
    ]
}

/// Installs the three PP-OCR models from the cached wheel into `dir`, returning their entries.
pub fn install_ppocr(wheel: &Path, dir: &Path) -> Result<Vec<ModelEntry>, ModelsError> {
    let out = entries();
    for (member, e) in [DET_MEMBER, REC_MEMBER, CLS_MEMBER].iter().zip(&out) {
        let bytes = extract_member(wheel, member.0, member.1)?;
        write_atomic(&dir.join(&e.file), &bytes)?;
    }
    Ok(out)
}
