//! The models manifest (`manifest.toml` in a models directory): what each model file is, where it
//! came from, its checksum, and how to feed it and read it. Operators add their own ONNX models here.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ModelsError;

/// Name of the manifest file inside a models directory.
pub const MANIFEST_FILE: &str = "manifest.toml";

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Schema version (1).
    pub version: u32,
    /// Which model plays each role by default.
    pub defaults: Defaults,
    /// Every model in the directory.
    #[serde(rename = "model", default)]
    pub models: Vec<ModelEntry>,
}

/// Names of the default model for each pipeline stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Face detector.
    pub detector: String,
    /// Landmark model.
    pub landmarks: String,
    /// Face embedder.
    pub embedder: String,
}

/// What a model does in the pipeline.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Finds face boxes.
    Detector,
    /// Places landmarks in a face box.
    Landmarks,
    /// Maps an aligned face chip to an identity embedding.
    Embedder,
    /// Scores a face crop as a live person or a presentation attack.
    Liveness,
    /// Dense face landmarks (mesh, eye contours and iris) on a face or eye crop.
    Mesh,
    /// Finds text lines in a document photo (a per-pixel text probability map).
    TextDetector,
    /// Reads one text line crop into characters.
    TextRecognizer,
    /// Tells whether a text line crop is upside down.
    TextOrientation,
}

/// On-disk format of the model file.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// An ONNX graph, run with tract.
    Onnx,
    /// dlib's serialised shape predictor, evaluated natively.
    DlibShapePredictor,
}

/// Where a model came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Registry (`pypi`, `npm`) or `operator` for a model an operator supplied.
    pub registry: String,
    /// Package name in that registry.
    #[serde(default)]
    pub package: String,
    /// Pinned package version.
    #[serde(default)]
    pub version: String,
    /// Path of the original file inside the package.
    #[serde(default)]
    pub member: String,
    /// SHA-256 of the original file.
    #[serde(default)]
    pub sha256: String,
    /// How the file in this directory was derived from the original (e.g. "dlib → ONNX by simkyc").
    #[serde(default)]
    pub converted_by: String,
}

/// Colour channel order the model expects.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColorOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (OpenCV-trained models).
    Bgr,
}

/// How pixels become the model's input tensor: `(pixel - mean[c]) * scale`, NCHW, f32.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Fixed width, or 0 for any width.
    pub width: u32,
    /// Fixed height, or 0 for any height.
    pub height: u32,
    /// Channel order.
    pub color: ColorOrder,
    /// Per-channel mean, in the model's channel order, on a 0..255 scale.
    pub mean: [f32; 3],
    /// Multiplier applied after subtracting the mean.
    pub scale: f32,
    /// Tensor layout: `nchw` (default) or `nhwc` (TF.js models).
    #[serde(default, skip_serializing_if = "Layout::is_nchw")]
    pub layout: Layout,
}

/// Memory layout of an image input tensor.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Batch, channels, rows, columns (ONNX convention).
    #[default]
    Nchw,
    /// Batch, rows, columns, channels (TensorFlow convention).
    Nhwc,
}

impl Layout {
    /// Whether this is the default layout (not written to the manifest).
    pub fn is_nchw(&self) -> bool {
        *self == Layout::Nchw
    }
}

/// What the model's output means.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OutputSpec {
    /// An identity embedding of `dim` values (compared by cosine after L2 normalisation).
    Embedding {
        /// Embedding length.
        dim: u32,
    },
    /// A dlib MMOD score map (one channel, stride 8) with its detection window.
    MmodScoreMap {
        /// Window width and height in input pixels.
        window: [u32; 2],
        /// Non-max-suppression IoU threshold.
        nms_iou: f64,
        /// Non-max-suppression coverage threshold.
        nms_cover: f64,
        /// Input pixels per output cell.
        stride: u32,
        /// Input position of output cell 0.
        offset: f64,
    },
    /// YuNet's heads (OpenCV `FaceDetectorYN`): per stride, class and objectness scores, box and
    /// five-landmark regressions, in the graph's output order `cls_*`, `obj_*`, `bbox_*`, `kps_*`.
    Yunet {
        /// Feature-map strides, in output order.
        strides: Vec<u32>,
        /// The input is padded to a multiple of this on the right and bottom.
        divisor: u32,
    },
    /// Presentation-attack scores: the output values in order (e.g. `["real"]`).
    Scores {
        /// Meaning of each output value.
        names: Vec<String>,
    },
    /// BlazeFace anchor regressions and scores (SSD-style), `anchors` of them.
    BlazeFace {
        /// Number of anchors.
        anchors: u32,
    },
    /// A differentiable-binarisation text map (PP-OCR DB): one channel, the input's size, each
    /// value the probability that the pixel lies in a text line.
    TextMap {
        /// Probability above which a pixel counts as text.
        threshold: f32,
        /// Mean probability a line's box needs to be kept.
        box_threshold: f32,
        /// How far a shrunk text region is grown back (area × ratio / perimeter).
        unclip_ratio: f32,
    },
    /// Per-time-step class probabilities decoded by CTC (class 0 the blank), over the alphabet
    /// stored in the ONNX file's `character` metadata plus a final space.
    Ctc {
        /// Metadata key holding the alphabet, one character per line.
        alphabet_key: String,
    },
    /// Orientation classes of a text line crop, in output order (e.g. `["0", "180"]`).
    Orientation {
        /// Meaning of each output value.
        labels: Vec<String>,
    },
    /// Landmarks: the number of points and their convention.
    Landmarks {
        /// Number of points.
        points: u32,
        /// Which points, in order (e.g. "dlib-5": eye corners and nose base).
        convention: String,
    },
}

/// Where the embedder expects facial landmarks to land in its input chip.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlignmentSpec {
    /// `dlib-5pt` (dlib's face chip template) or `arcface-5pt` (the InsightFace 112×112 template).
    pub template: String,
    /// Border around the template as a fraction of its size (dlib template only).
    #[serde(default)]
    pub padding: f64,
}

/// One model file and everything needed to use it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Unique name, used in `defaults`.
    pub name: String,
    /// Pipeline role.
    pub role: Role,
    /// File format.
    pub format: Format,
    /// File name relative to the models directory.
    pub file: String,
    /// SHA-256 of the file, checked on load.
    pub sha256: String,
    /// Licence of the weights.
    #[serde(default)]
    pub license: String,
    /// Provenance.
    pub source: Source,
    /// Input convention (ONNX models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<InputSpec>,
    /// Output meaning.
    pub output: OutputSpec,
    /// Alignment template (embedders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<AlignmentSpec>,
}

impl Manifest {
    /// Reads and validates `manifest.toml` from a models directory.
    pub fn load(dir: &Path) -> Result<Manifest, ModelsError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelsError::NotInstalled { dir: dir.to_path_buf(), why: e.to_string() })?;
        Self::from_toml(&text).map_err(|why| ModelsError::Manifest { path, why })
    }

    /// Parses and validates manifest text; the error says what is wrong.
    pub fn from_toml(text: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        m.validate()?;
        Ok(m)
    }

    /// Writes the manifest to a models directory.
    pub fn save(&self, dir: &Path) -> Result<(), ModelsError> {
        let text = toml::to_string_pretty(self).map_err(|e| ModelsError::Manifest { path: dir.join(MANIFEST_FILE), why: e.to_string() })?;
        let header = "# simkyc models manifest: see docs/models.md. Add operator ONNX models as further [[model]] entries.\n";
        crate::cache::write_atomic(&dir.join(MANIFEST_FILE), format!("{header}{text}").as_bytes())
    }

    /// Finds a model by name.
    pub fn get(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Checks names are unique, defaults exist with the right roles, and each entry is coherent.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err(format!("unsupported manifest version {}", self.version));
        }
        for (i, m) in self.models.iter().enumerate() {
            if self.models[..i].iter().any(|o| o.name == m.name) {
                return Err(format!("model name {:?} appears twice", m.name));
            }
            if m.file.contains("..") || Path::new(&m.file).is_absolute() {
                return Err(format!("model {:?}: file must be a plain name inside the models directory", m.name));
            }
            if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("model {:?}: sha256 must be 64 hex digits (run `sha256sum {}`)", m.name, m.file));
            }
            if m.format == Format::Onnx && m.input.is_none() {
                return Err(format!("model {:?}: ONNX models need an [model.input] section", m.name));
            }
            match (m.role, &m.output) {
                (Role::Embedder, OutputSpec::Embedding { .. }) => {
                    if m.alignment.is_none() {
                        return Err(format!("embedder {:?} needs an [model.alignment] section", m.name));
                    }
                }
                (Role::Detector, OutputSpec::MmodScoreMap { .. } | OutputSpec::BlazeFace { .. } | OutputSpec::Yunet { .. })
                | (Role::Landmarks | Role::Mesh, OutputSpec::Landmarks { .. })
                | (Role::Liveness, OutputSpec::Scores { .. })
                | (Role::TextDetector, OutputSpec::TextMap { .. })
                | (Role::TextRecognizer, OutputSpec::Ctc { .. })
                | (Role::TextOrientation, OutputSpec::Orientation { .. }) => {}
                (role, out) => return Err(format!("model {:?}: role {role:?} cannot have output {out:?}", m.name)),
            }
        }
        for (role, name) in [
            (Role::Detector, &self.defaults.detector),
            (Role::Landmarks, &self.defaults.landmarks),
            (Role::Embedder, &self.defaults.embedder),
        ] {
            match self.get(name) {
                Some(m) if m.role == role => {}
                Some(m) => return Err(format!("default {role:?} {name:?} is a {:?}", m.role)),
                None => return Err(format!("default {role:?} {name:?} is not in the manifest")),
            }
        }
        Ok(())
    }
}
