//! The face pipeline: decode → detect → pick the subject → landmarks → align → embed, with
//! per-stage timings. Models come from a models directory's manifest: the detector is YuNet (its
//! five points drive the ArcFace alignment) or dlib's MMOD (dlib's 5-point predictor drives it).

use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;
use simkyc_dlib::shape_predictor::{Gray, Rect, ShapePredictor};
use simkyc_models::manifest::{Defaults, Format, Manifest, ModelEntry, OutputSpec, Role};

use crate::align::{arcface_chip_to_image, extract_chip_with, ChipBorder, Template};
use crate::decode::{decode_rgb, DecodeLimits};
use crate::detect::{FaceBox, MmodConfig, MmodDetector};
use crate::embed::Embedder;
use crate::image_ops::{resize_bilinear, to_gray};
use crate::onnx::OnnxModel;
use crate::onnx_shapes::FreeDims;
use crate::runtime::Runtime;
use crate::yunet::{YunetConfig, YunetDetector, YunetFace};
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
    /// YuNet score (0..1) at or above which a box is a face.
    pub yunet_threshold: f32,
    /// Embed the chip and its mirror image and average them.
    pub flip: bool,
    /// What the aligned chip shows past the image's edge.
    pub chip_border: ChipBorder,
    /// Input limits.
    pub limits: DecodeLimits,
    /// Learned adaptation applied to every embedding (see `adapt`), if any.
    pub adaptation: Option<std::sync::Arc<crate::adapt::Adaptation>>,
    /// The inference runtime the models are loaded on.
    pub runtime: Runtime,
    /// Most chips (a chip and its mirror count as two) the embedder runs at once. 1 on a CPU,
    /// where batching gains nothing (tools/bench/runtimes.sh); larger on a GPU.
    pub embed_batch: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            detect_max_side: 320,
            detect_min_side: 240,
            detect_threshold: 0.0,
            yunet_threshold: YUNET_THRESHOLD,
            flip: true,
            chip_border: ChipBorder::Auto,
            limits: DecodeLimits::default(),
            adaptation: None,
            runtime: Runtime::Tract,
            embed_batch: 1,
        }
    }
}

/// Default YuNet score threshold. On 2,299 development images (`examples/yunet_scores.rs`) the
/// subject scored below 0.8 in 2 (first percentile 0.89), while 29 % of the other faces of
/// comparable size that 0.6 admits fall below it (mostly partial faces at the frame's edge, which
/// would otherwise count as a second person); OpenCV's demo value 0.9 would lose 50 subjects.
pub const YUNET_THRESHOLD: f32 = 0.8;

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
    /// Landmarks in image pixels (dlib-5 order), from the landmark model: pose and quality measures.
    pub landmarks: Vec<[f64; 2]>,
    /// The detector's own five points (YuNet: eyes, nose tip, mouth corners in image order),
    /// which the ArcFace alignment uses; absent with a detector that has none (MMOD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<[[f64; 2]; 5]>,
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

/// The face detector in use.
enum Detector {
    /// dlib's MMOD CNN (boxes only).
    Mmod(MmodDetector),
    /// OpenCV Zoo's YuNet (boxes and five points).
    Yunet(YunetDetector),
}

/// A detected face: its box and, where the detector gives them, its five points.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    /// The face box (for YuNet, the MMOD-equivalent box: see `YunetFace::to_face_box`).
    pub face: FaceBox,
    /// The detector's five points in image order (YuNet only).
    pub points: Option<[[f64; 2]; 5]>,
}

impl Found {
    fn scaled(&self, fx: f64, fy: f64, dx: f64, dy: f64) -> Found {
        let b = self.face;
        Found {
            face: FaceBox {
                left: b.left * fx + dx,
                top: b.top * fy + dy,
                right: b.right * fx + dx,
                bottom: b.bottom * fy + dy,
                score: b.score,
            },
            points: self.points.map(|p| p.map(|q| [q[0] * fx + dx, q[1] * fy + dy])),
        }
    }
}

impl From<YunetFace> for Found {
    fn from(f: YunetFace) -> Found {
        Found { face: f.to_face_box(), points: Some(f.points) }
    }
}

/// Loaded models plus settings; cheap to share between threads.
pub struct FaceEngine {
    detector: Detector,
    landmarks: ShapePredictor,
    embedder: Embedder,
    embedder_name: String,
    detector_name: String,
    /// Tag of this engine's templates, fixed at load (the adaptation's id is a hash of its
    /// matrix: not worth recomputing on every capture).
    template_model: String,
    /// Settings in force.
    pub options: EngineOptions,
}

fn model_path(dir: &Path, e: &ModelEntry) -> std::path::PathBuf {
    dir.join(&e.file)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Picks the subject: the face with the largest area inside the image, weighted by `(1 − d)²`
/// where `d` is its centre's distance from the image centre over the half-diagonal. The customer
/// is framed in the middle (the console asks for it; ID photos and LFW are centred), so a
/// bystander nearer the camera but at the edge, often cut off by it, is not taken for them.
pub fn pick_subject(faces: &[FaceBox], width: u32, height: u32) -> Option<usize> {
    let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
    let half_diag = (cx * cx + cy * cy).sqrt().max(1.0);
    let image = FaceBox { left: 0.0, top: 0.0, right: width as f64 - 1.0, bottom: height as f64 - 1.0, score: 0.0 };
    faces
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (fx, fy) = ((f.left + f.right) / 2.0, (f.top + f.bottom) / 2.0);
            let d = (((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt() / half_diag).min(1.0);
            (i, (f.intersection(&image) * (1.0 - d).powi(2)).max(0.0))
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
        let selection = Defaults { embedder: embedder.to_string(), ..m.defaults.clone() };
        Self::load_selection(dir, m, &selection, options)
    }

    /// Loads the named detector, landmark model and embedder from the manifest (e.g. the dlib
    /// engine on an install whose defaults are YuNet and SFace).
    pub fn load_selection(dir: &Path, m: &Manifest, selection: &Defaults, options: EngineOptions) -> Result<FaceEngine, FaceError> {
        let embedder = selection.embedder.as_str();
        let get = |name: &str, role: Role| -> Result<&ModelEntry, FaceError> {
            let e = m.get(name).ok_or_else(|| FaceError::Model(format!("model {name:?} is not in the manifest")))?;
            if e.role != role {
                return Err(FaceError::Model(format!("model {name:?} is a {:?}, not a {role:?}", e.role)));
            }
            Ok(e)
        };
        let d = get(&selection.detector, Role::Detector)?;
        let detector = match (d.format, d.input.clone(), &d.output) {
            (Format::Onnx, Some(input), OutputSpec::MmodScoreMap { window, nms_iou, nms_cover, stride, offset }) => {
                Detector::Mmod(MmodDetector::new(
                    OnnxModel::load(&d.name, &model_path(dir, d), &d.sha256, FreeDims::None, &options.runtime)?,
                    MmodConfig { input, window: *window, nms_iou: *nms_iou, nms_cover: *nms_cover, stride: *stride, offset: *offset },
                ))
            }
            (Format::Onnx, Some(input), OutputSpec::Yunet { strides, divisor }) => Detector::Yunet(YunetDetector::new(
                OnnxModel::load(&d.name, &model_path(dir, d), &d.sha256, FreeDims::All, &options.runtime)?,
                YunetConfig { input, strides: strides.clone(), divisor: *divisor, nms_iou: 0.3, top_k: 50 },
            )?),
            _ => {
                return Err(FaceError::Model(format!("detector {:?}: only ONNX MMOD score-map and YuNet detectors are supported", d.name)))
            }
        };
        let l = get(&selection.landmarks, Role::Landmarks)?;
        if l.format != Format::DlibShapePredictor {
            return Err(FaceError::Model(format!("landmarks {:?}: only dlib shape predictors are supported", l.name)));
        }
        let bytes = crate::onnx::read_checked(&l.name, &model_path(dir, l), &l.sha256)?;
        let landmarks = ShapePredictor::read(&bytes).map_err(|e| FaceError::Model(format!("{}: {e}", l.name)))?;
        if landmarks.num_parts() != 5 {
            return Err(FaceError::Model(format!("{}: alignment needs a 5-point model", l.name)));
        }
        let e = get(embedder, Role::Embedder)?;
        let embedder = Self::load_embedder(dir, e, &options.runtime)?;
        if let Some(a) = &options.adaptation {
            if a.embedder != e.name || a.dim != embedder.dim {
                return Err(FaceError::Model(format!(
                    "the adaptation was trained for embedder {:?} ({} values), not {:?}",
                    a.embedder, a.dim, e.name
                )));
            }
        }
        let template_model = match &options.adaptation {
            Some(a) => format!("{}+adaptation-{}", e.name, a.id()),
            None => e.name.clone(),
        };
        Ok(FaceEngine {
            detector,
            landmarks,
            embedder,
            embedder_name: e.name.clone(),
            detector_name: d.name.clone(),
            template_model,
            options,
        })
    }

    /// Loads one embedder entry.
    pub fn load_embedder(dir: &Path, e: &ModelEntry, runtime: &Runtime) -> Result<Embedder, FaceError> {
        let (Format::Onnx, Some(input), OutputSpec::Embedding { dim }, Some(al)) = (e.format, e.input.clone(), &e.output, &e.alignment)
        else {
            return Err(FaceError::Model(format!(
                "embedder {:?} needs format onnx, [model.input], an embedding output and [model.alignment]",
                e.name
            )));
        };
        if input.width == 0 || input.height == 0 {
            return Err(FaceError::Model(format!("embedder {:?} needs a fixed input size", e.name)));
        }
        let template = Template::from_manifest(&al.template, al.padding)?;
        Ok(Embedder::new(
            OnnxModel::load(&e.name, &model_path(dir, e), &e.sha256, FreeDims::Batch, runtime)?,
            input,
            template,
            *dim as usize,
        ))
    }

    /// What makes this engine's templates: the embedder and any adaptation applied to its
    /// embeddings (`dlib-resnet-v1+adaptation-4a4e181b3089`, `sface-2021dec`). Templates with
    /// different tags are not comparable; the service stores the tag with every template.
    pub fn template_model(&self) -> &str {
        &self.template_model
    }

    /// The chip border in use with this embedder's template.
    pub fn chip_border(&self) -> ChipBorder {
        self.options.chip_border.resolve(self.embedder.template)
    }

    /// Name of the detector in use.
    pub fn detector_name(&self) -> &str {
        &self.detector_name
    }

    /// Name of the embedder in use (templates from different embedders are not comparable).
    pub fn embedder_name(&self) -> &str {
        &self.embedder_name
    }

    /// Detects faces at the image's own scale, exactly as the detector itself would (no retries).
    pub fn detect_native(&self, img: &RgbImage) -> Result<Vec<Found>, FaceError> {
        match &self.detector {
            Detector::Mmod(d) => {
                Ok(d.detect(img, self.options.detect_threshold)?.into_iter().map(|face| Found { face, points: None }).collect())
            }
            Detector::Yunet(d) => Ok(d.detect(img, self.options.yunet_threshold)?.into_iter().map(Found::from).collect()),
        }
    }

    /// Detects faces in image coordinates (boxes only).
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<FaceBox>, FaceError> {
        Ok(self.detect_found(img)?.into_iter().map(|f| f.face).collect())
    }

    /// Detects faces in image coordinates with their points, scaling the image for detection as
    /// the options say.
    pub fn detect_found(&self, img: &RgbImage) -> Result<Vec<Found>, FaceError> {
        let (w, h) = img.dimensions();
        let (long, short) = (w.max(h) as f64, w.min(h) as f64);
        let mut s = 1.0;
        if long > self.options.detect_max_side as f64 {
            s = self.options.detect_max_side as f64 / long;
        } else if short < self.options.detect_min_side as f64 {
            s = (self.options.detect_min_side as f64 / short).min(self.options.detect_max_side as f64 / long);
        }
        // Detection on the image scaled by `s`, with a border of `pad` (a fraction of the scaled
        // image's longer side) of black around it; results mapped back to the image.
        let run = |s: f64, pad: f64| -> Result<Vec<Found>, FaceError> {
            let (sw, sh) = (((w as f64 * s).round() as u32).max(1), ((h as f64 * s).round() as u32).max(1));
            let small = if (s - 1.0).abs() < 1e-9 {
                std::borrow::Cow::Borrowed(img)
            } else {
                std::borrow::Cow::Owned(resize_bilinear(img, sw, sh))
            };
            let border = (pad * sw.max(sh) as f64).round() as u32;
            let framed = if border == 0 {
                small
            } else {
                let mut canvas = RgbImage::new(sw + 2 * border, sh + 2 * border);
                image::imageops::replace(&mut canvas, small.as_ref(), border as i64, border as i64);
                std::borrow::Cow::Owned(canvas)
            };
            let (fx, fy) = (w as f64 / sw as f64, h as f64 / sh as f64);
            let b = border as f64;
            Ok(self.detect_native(&framed)?.into_iter().map(|f| f.scaled(fx, fy, -b * fx, -b * fy)).collect())
        };
        let faces = run(s, 0.0)?;
        if !faces.is_empty() {
            return Ok(faces);
        }
        // Nothing found: one more try. This costs time only on the failure path; the calibration
        // was measured with it. MMOD: at twice the scale (small faces, small ID-card photos).
        // YuNet: with a black border (tightly cropped faces touching the image's edges).
        match self.detector {
            Detector::Mmod(_) => run(s * 2.0, 0.0),
            Detector::Yunet(_) => run(s, 0.25),
        }
    }

    /// Places the landmarks in a face box.
    pub fn landmarks(&self, img: &RgbImage, gray: &[u8], face: &FaceBox) -> Vec<[f64; 2]> {
        let g = Gray { width: img.width() as usize, height: img.height() as usize, pixels: gray };
        self.landmarks.predict(&g, Rect { left: face.left, top: face.top, right: face.right, bottom: face.bottom })
    }

    /// Aligns and embeds a face given its landmarks (dlib-5 order) and, where the detector gave
    /// them, its five ArcFace-order points, which an ArcFace-template embedder then uses.
    pub fn embed_face(
        &self,
        img: &RgbImage,
        landmarks: &[[f64; 2]],
        points: Option<&[[f64; 2]; 5]>,
        timings: &mut Timings,
    ) -> Result<Vec<f32>, FaceError> {
        self.embed_face_flip(img, landmarks, points, self.options.flip, timings)
    }

    fn embed_face_flip(
        &self,
        img: &RgbImage,
        landmarks: &[[f64; 2]],
        points: Option<&[[f64; 2]; 5]>,
        flip: bool,
        timings: &mut Timings,
    ) -> Result<Vec<f32>, FaceError> {
        let t = Instant::now();
        let chip = self.chip(img, landmarks, points)?;
        timings.align_ms += ms(t);
        let t = Instant::now();
        let e = self.embed_chips(&[&chip], flip)?.pop().ok_or_else(|| FaceError::Model("embedder returned nothing".into()))?;
        timings.embed_ms += ms(t);
        Ok(e)
    }

    /// The aligned chip of a face, as the embedder wants it.
    fn chip(&self, img: &RgbImage, landmarks: &[[f64; 2]], points: Option<&[[f64; 2]; 5]>) -> Result<RgbImage, FaceError> {
        let (cw, ch) = self.embedder.chip_size();
        let tf = match (self.embedder.template, points) {
            (Template::Arcface, Some(p)) => arcface_chip_to_image(p, cw)?,
            (template, _) => template.chip_to_image(landmarks, cw)?,
        };
        Ok(extract_chip_with(img, &tf, cw, ch, self.chip_border()))
    }

    /// Final embeddings of aligned chips: flip averaging when `flip`, adaptation as configured,
    /// the network run `embed_batch` chips at a time.
    fn embed_chips(&self, chips: &[&RgbImage], flip: bool) -> Result<Vec<Vec<f32>>, FaceError> {
        let mut out = self.embedder.embed_many(chips, flip, self.options.embed_batch)?;
        if let Some(a) = &self.options.adaptation {
            for e in out.iter_mut() {
                *e = a.apply(e)?;
            }
        }
        Ok(out)
    }

    /// Runs the whole pipeline on several images of one capture, the subjects' chips embedded
    /// together (`embed_batch` at a time): the same results as `analyze` on each, one network
    /// run per batch instead of per face. Each analysis's `embed_ms` is its share of the total.
    pub fn analyze_many(&self, imgs: &[RgbImage]) -> Result<Vec<FaceAnalysis>, FaceError> {
        let mut all: Vec<FaceAnalysis> = imgs.iter().map(|img| self.analyze_with(img, None)).collect::<Result<_, _>>()?;
        let mut chips = Vec::new();
        let mut owners = Vec::new();
        for (i, (a, img)) in all.iter_mut().zip(imgs).enumerate() {
            if let Some(s) = &a.subject {
                let t = Instant::now();
                chips.push(self.chip(img, &s.landmarks, s.points.as_ref())?);
                a.timings.align_ms += ms(t);
                owners.push(i);
            }
        }
        let t = Instant::now();
        let refs: Vec<&RgbImage> = chips.iter().collect();
        let embeddings = self.embed_chips(&refs, self.options.flip)?;
        let share = ms(t) / owners.len().max(1) as f64;
        for (i, e) in owners.into_iter().zip(embeddings) {
            if let Some(s) = all[i].subject.as_mut() {
                s.embedding = e;
            }
            all[i].timings.embed_ms += share;
        }
        Ok(all)
    }

    /// Runs the whole pipeline on a decoded image.
    pub fn analyze(&self, img: &RgbImage) -> Result<FaceAnalysis, FaceError> {
        self.analyze_with(img, Some(self.options.flip))
    }

    /// Runs the whole pipeline with flip averaging only where `flip` and the engine's options
    /// both ask for it: live frames embedded without their mirror, at half the embedding cost,
    /// when an operator trades a little accuracy for capacity (`live_flip = false`).
    pub fn analyze_flip(&self, img: &RgbImage, flip: bool) -> Result<FaceAnalysis, FaceError> {
        self.analyze_with(img, Some(self.options.flip && flip))
    }

    /// The embedding of an already analysed subject of `img`, with flip averaging when `flip` (and
    /// the engine's options) ask for it: the same chip and networks as [`FaceEngine::analyze_flip`],
    /// so the result equals what it would have given.
    pub fn embed_subject(&self, img: &RgbImage, subject: &Subject, flip: bool) -> Result<Vec<f32>, FaceError> {
        self.embed_face_flip(img, &subject.landmarks, subject.points.as_ref(), self.options.flip && flip, &mut Timings::default())
    }

    /// The flip-averaged embedding of a subject first embedded without its mirror (`unmirrored`,
    /// from [`FaceEngine::analyze_flip`] with `flip` false): only the mirror is run through the
    /// embedder and averaged in, the same arithmetic as flip averaging does, so the result equals
    /// [`FaceEngine::embed_subject`] with `flip` at half its cost. With an adaptation (applied
    /// after the averaging) both passes are run again.
    pub fn add_mirror(&self, img: &RgbImage, subject: &Subject, unmirrored: &[f32]) -> Result<Vec<f32>, FaceError> {
        if self.options.adaptation.is_some() || !self.options.flip {
            return self.embed_subject(img, subject, true);
        }
        let chip = self.chip(img, &subject.landmarks, subject.points.as_ref())?;
        let mirror = image::imageops::flip_horizontal(&chip);
        let m =
            self.embedder.embed_many(&[&mirror], false, 1)?.pop().ok_or_else(|| FaceError::Model("embedder returned nothing".into()))?;
        if m.len() != unmirrored.len() {
            return Err(FaceError::Model(format!("mirror embedding has {} values, the first pass {}", m.len(), unmirrored.len())));
        }
        let mut e = unmirrored.to_vec();
        crate::embed::average_with_mirror(&mut e, &m);
        Ok(e)
    }

    /// Finds the faces and the subject's landmarks without computing its embedding (left
    /// empty): enough to judge framing and quality, at a fraction of the cost.
    pub fn locate(&self, img: &RgbImage) -> Result<FaceAnalysis, FaceError> {
        self.analyze_with(img, None)
    }

    /// The pipeline, embedding the subject (with flip averaging or not) when `embed` says so.
    fn analyze_with(&self, img: &RgbImage, embed: Option<bool>) -> Result<FaceAnalysis, FaceError> {
        let mut timings = Timings::default();
        let t = Instant::now();
        let found = self.detect_found(img)?;
        timings.detect_ms = ms(t);
        let faces: Vec<FaceBox> = found.iter().map(|f| f.face).collect();
        let subject = match pick_subject(&faces, img.width(), img.height()) {
            None => None,
            Some(i) => {
                let (face, points) = (found[i].face, found[i].points);
                let t = Instant::now();
                let gray = to_gray(img);
                let landmarks = self.landmarks(img, &gray, &face);
                timings.landmarks_ms = ms(t);
                let eye = |a: [f64; 2], b: [f64; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
                let (l, r) = (eye(landmarks[0], landmarks[1]), eye(landmarks[2], landmarks[3]));
                let inter_eye_px = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2)).sqrt();
                let embedding = match embed {
                    Some(flip) => self.embed_face_flip(img, &landmarks, points.as_ref(), flip, &mut timings)?,
                    None => Vec::new(),
                };
                Some(Subject { face, landmarks, points, inter_eye_px, embedding })
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

#[cfg(test)]
mod tests {
    use super::pick_subject;
    use crate::detect::FaceBox;

    fn face(left: f64, top: f64, side: f64) -> FaceBox {
        FaceBox { left, top, right: left + side, bottom: top + side, score: 0.9 }
    }

    #[test]
    fn the_centred_face_is_the_subject_over_a_larger_bystander_at_the_edge() {
        // LFW's Winona_Ryder_0015: the subject centred (87 px), a man nearer the camera cut off
        // by the right edge (132 px, 95 px of it inside the image).
        let faces = [face(77.5, 82.7, 87.4), face(154.8, 94.7, 132.1)];
        assert_eq!(pick_subject(&faces, 250, 250), Some(0));
        // Of two centred faces, the larger.
        assert_eq!(pick_subject(&[face(100.0, 100.0, 40.0), face(90.0, 90.0, 70.0)], 250, 250), Some(1));
        // A lone face anywhere is the subject; no face, no subject; a broken box never wins.
        assert_eq!(pick_subject(&[face(0.0, 0.0, 30.0)], 640, 480), Some(0));
        assert_eq!(pick_subject(&[], 640, 480), None);
        let broken = FaceBox { left: f64::NAN, top: 0.0, right: 10.0, bottom: 10.0, score: 0.9 };
        assert_eq!(pick_subject(&[broken, face(300.0, 200.0, 60.0)], 640, 480), Some(1));
    }
}
