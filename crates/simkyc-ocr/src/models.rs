//! The OCR models from the models directory's manifest (installed by `simkyc models fetch` from
//! PyPI `rapidocr-onnxruntime`), loaded on the chosen runtime, with the recogniser's alphabet read
//! from the ONNX file's own metadata.

use std::path::Path;

use prost::Message;
use simkyc_face::onnx::{read_checked, OnnxModel};
use simkyc_face::onnx_shapes::FreeDims;
use simkyc_face::runtime::Runtime;
use simkyc_models::manifest::{InputSpec, Manifest, ModelEntry, OutputSpec, Role};
use tract_onnx::pb::ModelProto;

use crate::ctc::Alphabet;
use crate::db::DbParams;
use crate::OcrError;

/// The three PP-OCR models and what is needed to feed and read them.
pub struct OcrModels {
    /// Text detector.
    pub det: OnnxModel,
    /// Its input convention.
    pub det_input: InputSpec,
    /// Its post-processing parameters.
    pub db: DbParams,
    /// Text recogniser.
    pub rec: OnnxModel,
    /// Its input convention (height fixed, width free).
    pub rec_input: InputSpec,
    /// Its alphabet.
    pub alphabet: Alphabet,
    /// Orientation classifier, its input convention and labels.
    pub cls: Option<(OnnxModel, InputSpec, Vec<String>)>,
}

fn first_with_role(m: &Manifest, role: Role) -> Option<&ModelEntry> {
    m.models.iter().find(|e| e.role == role)
}

fn input_of(e: &ModelEntry) -> Result<InputSpec, OcrError> {
    e.input.clone().ok_or_else(|| OcrError::Model(format!("{}: the manifest gives no input section", e.name)))
}

/// Reads the alphabet stored under `key` in an ONNX file's metadata (one character per line).
pub fn alphabet_from_metadata(name: &str, bytes: &[u8], key: &str) -> Result<Alphabet, OcrError> {
    let model = ModelProto::decode(bytes).map_err(|e| OcrError::Model(format!("{name}: not an ONNX model: {e}")))?;
    let text = model
        .metadata_props
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.clone())
        .ok_or_else(|| OcrError::Model(format!("{name}: the ONNX file has no {key:?} metadata (its alphabet)")))?;
    let chars: Vec<String> = text.lines().map(str::to_string).collect();
    if chars.is_empty() {
        return Err(OcrError::Model(format!("{name}: its {key:?} metadata is empty")));
    }
    Ok(Alphabet::from_dictionary(chars))
}

impl OcrModels {
    /// Loads the manifest's text detector, recogniser and (if present) orientation classifier.
    pub fn load(dir: &Path, runtime: &Runtime) -> Result<OcrModels, OcrError> {
        let manifest = Manifest::load(dir).map_err(|e| OcrError::NotInstalled(format!("{} ({e})", dir.display())))?;
        let det_e = first_with_role(&manifest, Role::TextDetector).ok_or_else(|| OcrError::NotInstalled(dir.display().to_string()))?;
        let rec_e = first_with_role(&manifest, Role::TextRecognizer).ok_or_else(|| OcrError::NotInstalled(dir.display().to_string()))?;
        let db = match &det_e.output {
            OutputSpec::TextMap { threshold, box_threshold, unclip_ratio } => {
                DbParams { threshold: *threshold, box_threshold: *box_threshold, unclip_ratio: *unclip_ratio, ..DbParams::default() }
            }
            other => return Err(OcrError::Model(format!("{}: a text detector cannot have output {other:?}", det_e.name))),
        };
        let OutputSpec::Ctc { alphabet_key } = &rec_e.output else {
            return Err(OcrError::Model(format!("{}: a text recogniser needs a CTC output", rec_e.name)));
        };
        let det = OnnxModel::load(&det_e.name, &dir.join(&det_e.file), &det_e.sha256, FreeDims::All, runtime)?;
        let rec_bytes = read_checked(&rec_e.name, &dir.join(&rec_e.file), &rec_e.sha256)?;
        let alphabet = alphabet_from_metadata(&rec_e.name, &rec_bytes, alphabet_key)?;
        let rec = OnnxModel::from_bytes(&rec_e.name, &rec_bytes, FreeDims::All, runtime)?;
        let cls = match first_with_role(&manifest, Role::TextOrientation) {
            Some(e) => {
                let OutputSpec::Orientation { labels } = &e.output else {
                    return Err(OcrError::Model(format!("{}: an orientation classifier needs labels", e.name)));
                };
                let m = OnnxModel::load(&e.name, &dir.join(&e.file), &e.sha256, FreeDims::Batch, runtime)?;
                Some((m, input_of(e)?, labels.clone()))
            }
            None => None,
        };
        Ok(OcrModels { det, det_input: input_of(det_e)?, db, rec, rec_input: input_of(rec_e)?, alphabet, cls })
    }
}
