//! The text reader: PP-OCR's pipeline (detect lines → crop each upright → orientation → CTC
//! recognition) on any image, returning the lines in reading order with their confidences.

use std::path::Path;

use image::RgbImage;
use simkyc_face::runtime::Runtime;

use crate::ctc::Decoded;
use crate::db::{boxes_from_map, reading_order, TextBox};
use crate::geometry::{crop_quad, Pt};
use crate::models::OcrModels;
use crate::resize::{pack_padded, resize_linear};
use crate::OcrError;

/// How the detector's input is sized (PP-OCR's `limit_type` and `limit_side_len`); both round
/// each side to a multiple of 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetLimit {
    /// Scale up so that the shorter side is at least this (RapidOCR's default, 736).
    Min(u32),
    /// Scale down so that the longer side is at most this.
    Max(u32),
}

/// One line of text read from an image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextLine {
    /// Corners in image pixels: top-left, top-right, bottom-right, bottom-left.
    pub quad: [Pt; 4],
    /// The text.
    pub text: String,
    /// Mean character probability (0..1).
    pub score: f32,
    /// Each character's probability.
    #[serde(skip)]
    pub char_scores: Vec<f32>,
    /// Mean text probability of the detector inside the box.
    pub box_score: f32,
    /// Whether the orientation classifier turned the crop upside down before reading it.
    pub rotated: bool,
}

/// Recogniser input widths: a crop is padded to the first that fits, so tract optimises the
/// graph for a handful of shapes instead of one per line. PP-OCR pads every line to at least
/// 320; short lines (a card's labels, a name) padded to 160 instead read the same and cost half.
const REC_WIDTHS: [usize; 7] = [160, 320, 480, 640, 960, 1280, 1920];
/// The orientation classifier's confidence needed to turn a line over (RapidOCR's `cls_thresh`).
const CLS_THRESHOLD: f32 = 0.9;

/// PP-OCR text detection and recognition.
pub struct TextReader {
    models: OcrModels,
    min_rec_width: usize,
}

impl TextReader {
    /// Loads the OCR models from a models directory on the given runtime.
    pub fn load(models_dir: &Path, runtime: &Runtime) -> Result<TextReader, OcrError> {
        Ok(TextReader { models: OcrModels::load(models_dir, runtime)?, min_rec_width: REC_WIDTHS[0] })
    }

    /// Pads every line to at least 320 pixels before recognition, as PP-OCR and RapidOCR do
    /// (for comparing with them; the default pads short lines to 160, which is faster).
    pub fn with_reference_padding(mut self) -> TextReader {
        self.min_rec_width = 320;
        self
    }

    /// Finds text boxes, in reading order.
    pub fn detect(&self, img: &RgbImage, limit: DetLimit) -> Result<Vec<TextBox>, OcrError> {
        let (w, h) = (img.width() as f64, img.height() as f64);
        let ratio = match limit {
            DetLimit::Min(side) if w.min(h) < side as f64 => side as f64 / w.min(h),
            DetLimit::Max(side) if w.max(h) > side as f64 => side as f64 / w.max(h),
            _ => 1.0,
        };
        let round32 = |v: f64| (((v * ratio).trunc() / 32.0).round() * 32.0).max(32.0) as u32;
        let (rw, rh) = (round32(w), round32(h));
        let resized = resize_linear(img, rw, rh);
        let spec = &self.models.det_input;
        let mut t = vec![0f32; 3 * (rw * rh) as usize];
        pack_padded(&resized, spec, rw as usize, &mut t);
        let (shape, map) = self.models.det.run(&[1, 3, rh as usize, rw as usize], t)?;
        let (mh, mw) = match shape.as_slice() {
            [1, 1, mh, mw] => (*mh, *mw),
            other => return Err(OcrError::Model(format!("text detector output shape {other:?}, expected [1, 1, h, w]"))),
        };
        let boxes = boxes_from_map(&map, mw, mh, img.width() as usize, img.height() as usize, &self.models.db);
        Ok(reading_order(boxes))
    }

    /// Whether the orientation classifier says a line crop is upside down.
    pub fn upside_down(&self, crop: &RgbImage) -> Result<bool, OcrError> {
        let Some((model, spec, labels)) = &self.models.cls else { return Ok(false) };
        let (cw, ch) = (spec.width.max(1) as usize, spec.height.max(1) as usize);
        let ratio = crop.width() as f64 / crop.height().max(1) as f64;
        let rw = ((ch as f64 * ratio).ceil() as usize).clamp(1, cw);
        let resized = resize_linear(crop, rw as u32, ch as u32);
        let mut t = vec![0f32; 3 * cw * ch];
        pack_padded(&resized, spec, cw, &mut t);
        let (_, out) = model.run(&[1, 3, ch, cw], t)?;
        let best = out.iter().enumerate().fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        Ok(labels.get(best.0).is_some_and(|l| l == "180") && best.1 > CLS_THRESHOLD)
    }

    /// Reads one upright line crop.
    pub fn recognise(&self, crop: &RgbImage) -> Result<Decoded, OcrError> {
        let spec = &self.models.rec_input;
        let h = spec.height.max(1) as usize;
        let ratio = crop.width() as f64 / crop.height().max(1) as f64;
        let max_w = REC_WIDTHS[REC_WIDTHS.len() - 1];
        let rw = ((h as f64 * ratio).ceil() as usize).clamp(1, max_w);
        let padded = REC_WIDTHS.iter().copied().find(|&b| b >= rw.max(self.min_rec_width)).unwrap_or(max_w);
        let resized = resize_linear(crop, rw as u32, h as u32);
        let mut t = vec![0f32; 3 * padded * h];
        pack_padded(&resized, spec, padded, &mut t);
        let (shape, probs) = self.models.rec.run(&[1, 3, h, padded], t)?;
        let classes = *shape.last().unwrap_or(&0);
        if classes != self.models.alphabet.classes() {
            return Err(OcrError::Model(format!(
                "text recogniser has {classes} classes but its alphabet {}",
                self.models.alphabet.classes()
            )));
        }
        Ok(self.models.alphabet.decode(&probs, classes))
    }

    /// Reads the text inside one detected box: crop it upright, turn it over if the classifier
    /// says so, and recognise it.
    pub fn read_box(&self, img: &RgbImage, b: &TextBox, use_cls: bool) -> Result<TextLine, OcrError> {
        let mut crop = crop_quad(img, &b.quad);
        if crop.height() as f64 / crop.width().max(1) as f64 >= 1.5 {
            crop = image::imageops::rotate270(&crop);
        }
        let rotated = use_cls && self.upside_down(&crop)?;
        if rotated {
            crop = image::imageops::rotate180(&crop);
        }
        let d = self.recognise(&crop)?;
        Ok(TextLine { quad: b.quad, text: d.text, score: d.score, char_scores: d.char_scores, box_score: b.score, rotated })
    }

    /// The whole pipeline: every line of text in the image, in reading order.
    pub fn read(&self, img: &RgbImage, limit: DetLimit, use_cls: bool) -> Result<Vec<TextLine>, OcrError> {
        self.detect(img, limit)?.iter().map(|b| self.read_box(img, b, use_cls)).collect()
    }
}
