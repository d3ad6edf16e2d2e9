//! The face pipeline: decode → detect → pick the subject → landmarks → align → embed, with
//! per-stage timings. Models come from a models directory's manifest.

use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;
use simkyc_dlib::shape_predictor::{Gray, Rect, ShapePredictor};
use simkyc_models::manifest::{Format, Manifest, ModelEntry, OutputSpec, Role};

use crate::align::{extract_chip, Template};
use crate::decode::{decode_rgb, DecodeLimits};
use crate::detect::{FaceBox, MmodConfig, MmodDetector};
use crate::embed::Embedder;
use crate::image_ops::{resize_bilinear, to_gray};
use crate::onnx::OnnxModel;
use crate::FaceError;

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Images whose longer side exceeds this are scaled down for detection only.
    pub detect_max_side: u32,
    /// Images whose shorter side is below this are scaled up for detection (small ID-card photos).
    pub detect_min_side: u32,
    /// MMOD score above which a window is a face.
    pub detect_threshold: f32,
    /// Embed the chip and its mirror image and average them.
    pub flip: bool,
    /// Input limits.
    pub limits: DecodeLimits,
    /// Learned adaptation applied to every embedding (see `adapt`), if any.
    pub adaptation: Option<std::sync::Arc<crate::adapt::Adaptation>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { detect_max_side: 320, detect_min_side: 240, detect_threshold: 0.0, flip: true, limits: DecodeLimits::default(), adaptation: None }
    }
}

/// Milliseconds spent in each stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Decoding the encoded image.
    pub decode_ms: f64,
    /// Face detection.
    pub detect_ms: f64,
    /// Landmark placement.
    pub landmarks_ms: f64,
    /// Chip extraction.
    pub align_ms: f64,
    /// Embedding.
    pub embed_ms: f64,
}

/// The face chosen as the subject of an image, with what the pipeline measured on it.
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    /// Its box.
    pub face: FaceBox,
    /// Landmarks in image pixels (dlib-5 order).
    pub landmarks: Vec<[f64; 2]>,
    /// Distance between the eye centres in pixels.
    pub inter_eye_px: f64,
    /// Unit-length embedding.
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

/// Everything the pipeline found in one image.
#[derive(Debug, Clone, Serialize)]
pub struct FaceAnalysis {
    /// Image width after orientation.
    pub width: u32,
    /// Image height after orientation.
    pub height: u32,
    /// All faces found, strongest first.
    pub faces: Vec<FaceBox>,
    /// The subject (largest, most central face), if any.
    pub subject: Option<Subject>,
    /// Stage timings.
    pub timings: Timings,
}

/// Loaded models plus settings; cheap to share between threads.
pub struct FaceEngine {
    detector: MmodDetector,
    landmarks: ShapePredictor,
    embedder: Embedder,
    embedder_name: String,
    /// Settings in force.
    pub options: EngineOptions,
}

fn model_path(dir: &Path, e: &ModelEntry) -> std::path::PathBuf {
    dir.join(&e.file)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Picks the subject: the largest face, discounted by its distance from the image centre.
pub fn pick_subject(faces: &[FaceBox], width: u32, height: u32) -> Option<usize> {
    let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
    let half_diag = (cx * cx + cy * cy).sqrt().max(1.0);
    faces
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (fx, fy) = ((f.left + f.right) / 2.0, (f.top + f.bottom) / 2.0);
            let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt() / half_diag;
            (i, f.area() * (1.0 - 0.5 * d.min(1.0)))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

impl FaceEngine {
    /// Loads the manifest's default detector, landmarks and embedder from a models directory.
    pub fn load(dir: &Path, options: EngineOptions) -> Result<FaceEngine, FaceError> {
        let m = Manifest::load(dir).map_err(|e| FaceError::Model(e.to_string()))?;
        let embedder = m.defaults.embedder.clone();
        Self::load_with(dir, &m, &embedder, options)
    }

    /// Loads with a named embedder from the manifest (for comparing models).
    pub fn load_with(dir: &Path, m: &Manifest, embedder: &str, options: EngineOptions) -> Result<FaceEngine, FaceError> {
        let get = |name: &str, role: Role| -> Result<&ModelEntry, FaceError> {
            let e = m.get(name).ok_or_else(|| FaceError::Model(format!("model {name:?} is not in the manifest")))?;
            if e.role != role {
                return Err(FaceError::Model(format!("model {name:?} is a {:?}, not a {role:?}", e.role)));
            }
            Ok(e)
        };
        let d = get(&m.defaults.detector, Role::Detector)?;
        let (Format::Onnx, Some(input), OutputSpec::MmodScoreMap { window, nms_iou, nms_cover, stride, offset }) = (d.format, d.input.clone(), &d.output) else {
            return Err(FaceError::Model(format!("detector {:?}: only ONNX MMOD score-map detectors are supported", d.name)));
        };
        let detector = MmodDetector::new(
            OnnxModel::load(&d.name, &model_path(dir, d), &d.sha256)?,
            MmodConfig { input, window: *window, nms_iou: *nms_iou, nms_cover: *nms_cover, stride: *stride, offset: *offset },
        );
        let l = get(&m.defaults.landmarks, Role::Landmarks)?;
        if l.format != Format::DlibShapePredictor {
            return Err(FaceError::Model(format!("landmarks {:?}: only dlib shape predictors are supported", l.name)));
        }
        let bytes = crate::onnx::read_checked(&l.name, &model_path(dir, l), &l.sha256)?;
        let landmarks = ShapePredictor::read(&bytes).map_err(|e| FaceError::Model(format!("{}: {e}", l.name)))?;
        if landmarks.num_parts() != 5 {
            return Err(FaceError::Model(format!("{}: alignment needs a 5-point model", l.name)));
        }
        let e = get(embedder, Role::Embedder)?;
        let embedder = Self::load_embedder(dir, e)?;
        if let Some(a) = &options.adaptation {
            if a.embedder != e.name || a.dim != embedder.dim {
                return Err(FaceError::Model(format!("the adaptation was trained for embedder {:?} ({} values), not {:?}", a.embedder, a.dim, e.name)));
            }
        }
        Ok(FaceEngine { detector, landmarks, embedder, embedder_name: e.name.clone(), options })
    }

    /// Loads one embedder entry.
    pub fn load_embedder(dir: &Path, e: &ModelEntry) -> Result<Embedder, FaceError> {
        let (Format::Onnx, Some(input), OutputSpec::Embedding { dim }, Some(al)) = (e.format, e.input.clone(), &e.output, &e.alignment) else {
            return Err(FaceError::Model(format!("embedder {:?} needs format onnx, [model.input], an embedding output and [model.alignment]", e.name)));
        };
        if input.width == 0 || input.height == 0 {
            return Err(FaceError::Model(format!("embedder {:?} needs a fixed input size", e.name)));
        }
        let template = Template::from_manifest(&al.template, al.padding)?;
        Ok(Embedder::new(OnnxModel::load(&e.name, &model_path(dir, e), &e.sha256)?, input, template, *dim as usize))
    }

    /// Name of the embedder in use (templates from different embedders are not comparable).
    pub fn embedder_name(&self) -> &str {
        &self.embedder_name
    }

    /// Detects faces at the image's own scale, exactly as dlib's detector would (no retries).
    pub fn detect_native(&self, img: &RgbImage) -> Result<Vec<FaceBox>, FaceError> {
        self.detector.detect(img, self.options.detect_threshold)
    }

    /// Detects faces in image coordinates, scaling the image for detection as the options say.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<FaceBox>, FaceError> {
        let (w, h) = img.dimensions();
        let (long, short) = (w.max(h) as f64, w.min(h) as f64);
        let mut s = 1.0;
        if long > self.options.detect_max_side as f64 {
            s = self.options.detect_max_side as f64 / long;
        } else if short < self.options.detect_min_side as f64 {
            s = (self.options.detect_min_side as f64 / short).min(self.options.detect_max_side as f64 / long);
        }
        let run = |s: f64| -> Result<Vec<FaceBox>, FaceError> {
            if (s - 1.0).abs() < 1e-9 {
                return self.detector.detect(img, self.options.detect_threshold);
            }
            let (sw, sh) = (((w as f64 * s).round() as u32).max(1), ((h as f64 * s).round() as u32).max(1));
            let small = resize_bilinear(img, sw, sh);
            let (fx, fy) = (w as f64 / sw as f64, h as f64 / sh as f64);
            Ok(self
                .detector
                .detect(&small, self.options.detect_threshold)?
                .into_iter()
                .map(|b| FaceBox { left: b.left * fx, top: b.top * fy, right: b.right * fx, bottom: b.bottom * fy, score: b.score })
                .collect())
        };
        let faces = run(s)?;
        // Nothing found: one more try at twice the scale (small faces, small ID-card photos). This
        // costs time only on the failure path; the calibration was measured with it.
        if faces.is_empty() {
            return run(s * 2.0);
        }
        Ok(faces)
    }

    /// Places the landmarks in a face box.
    pub fn landmarks(&self, img: &RgbImage, gray: &[u8], face: &FaceBox) -> Vec<[f64; 2]> {
        let g = Gray { width: img.width() as usize, height: img.height() as usize, pixels: gray };
        self.landmarks.predict(&g, Rect { left: face.left, top: face.top, right: face.right, bottom: face.bottom })
    }

    /// Aligns and embeds a face given its landmarks.
    pub fn embed_face(&self, img: &RgbImage, landmarks: &[[f64; 2]], timings: &mut Timings) -> Result<Vec<f32>, FaceError> {
        let t = Instant::now();
        let (cw, ch) = self.embedder.chip_size();
        let tf = self.embedder.template.chip_to_image(landmarks, cw)?;
        let chip = extract_chip(img, &tf, cw, ch);
        timings.align_ms += ms(t);
        let t = Instant::now();
        let mut e = self.embedder.embed(&chip, self.options.flip)?;
        if let Some(a) = &self.options.adaptation {
            e = a.apply(&e)?;
        }
        timings.embed_ms += ms(t);
        Ok(e)
    }

    /// Runs the whole pipeline on a decoded image.
    pub fn analyze(&self, img: &RgbImage) -> Result<FaceAnalysis, FaceError> {
        self.analyze_with(img, true)
    }

    /// Finds the faces and the subject's landmarks without computing its embedding (left
    /// empty): enough to judge framing and quality, at a fraction of the cost.
    pub fn locate(&self, img: &RgbImage) -> Result<FaceAnalysis, FaceError> {
        self.analyze_with(img, false)
    }

    fn analyze_with(&self, img: &RgbImage, embed: bool) -> Result<FaceAnalysis, FaceError> {
        let mut timings = Timings::default();
        let t = Instant::now();
        let faces = self.detect(img)?;
        timings.detect_ms = ms(t);
        let subject = match pick_subject(&faces, img.width(), img.height()) {
            None => None,
            Some(i) => {
                let face = faces[i];
                let t = Instant::now();
                let gray = to_gray(img);
                let landmarks = self.landmarks(img, &gray, &face);
                timings.landmarks_ms = ms(t);
                let eye = |a: [f64; 2], b: [f64; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
                let (l, r) = (eye(landmarks[0], landmarks[1]), eye(landmarks[2], landmarks[3]));
                let inter_eye_px = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2)).sqrt();
                let embedding = if embed { self.embed_face(img, &landmarks, &mut timings)? } else { Vec::new() };
                Some(Subject { face, landmarks, inter_eye_px, embedding })
            }
        };
        Ok(FaceAnalysis { width: img.width(), height: img.height(), faces, subject, timings })
    }

    /// Decodes then analyses an encoded image.
    pub fn analyze_bytes(&self, bytes: &[u8]) -> Result<FaceAnalysis, FaceError> {
        let t = Instant::now();
        let img = decode_rgb(bytes, &self.options.limits)?;
        let decode_ms = ms(t);
        let mut a = self.analyze(&img)?;
        a.timings.decode_ms = decode_ms;
        Ok(a)
    }
}
