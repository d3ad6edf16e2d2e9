//! Reading a resident ID card from a photo: locate the card, correct its perspective into a
//! canonical 960×608 image, turn it upright (the text orientation classifier votes), read the
//! text, decide which side it is, parse the fields, cross-check birth date and sex against the
//! number, and crop the printed portrait from the front.

use image::RgbImage;
use serde::Serialize;
use simkyc_docs::{cn_id, Date};

use crate::fields::{parse_back, parse_front, BackFields, FrontFields};
use crate::geometry::{convex_hull, dist, min_area_rect, order_quad, warp, Homography, Pt};
use crate::locate::locate_card;
use crate::reader::{DetLimit, TextLine, TextReader};
use crate::OcrError;

/// Width of the rectified card (a multiple of 32, so the detector runs on it as it is).
pub const CARD_W: u32 = 960;
/// Height of the rectified card (ID-1's 1.585 aspect, to a multiple of 32).
pub const CARD_H: u32 = 608;
/// The front's portrait area on the public layout, as fractions: x0, y0, x1, y1 (with a margin).
pub const PORTRAIT_ZONE: [f64; 4] = [0.59, 0.06, 0.95, 0.80];
/// Size of the portrait crop returned.
pub const PORTRAIT_SIZE: (u32, u32) = (324, 442);

/// Which side of a card a photo shows.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Name, sex, ethnicity, birth date, address, number and portrait.
    Front,
    /// Issuing authority and validity period.
    Back,
    /// Neither could be recognised.
    Unknown,
}

/// Milliseconds spent in each stage of reading one photo.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StageTimings {
    /// Finding the card's outline (and, without one, its text) and rectifying it.
    pub locate_ms: f64,
    /// Text detection (twice for an upside-down card).
    pub detect_ms: f64,
    /// The orientation vote (and turning the card over).
    pub orient_ms: f64,
    /// Recognising every line.
    pub recognise_ms: f64,
    /// Parsing the fields, checking them and cropping the portrait.
    pub parse_ms: f64,
}

/// How many of the longest lines vote on the card's orientation.
const ORIENTATION_VOTERS: usize = 5;

/// Whether the rectified card is upside down: most of its longest lines are, by the classifier.
fn upside_down(reader: &TextReader, card: &RgbImage, boxes: &[crate::db::TextBox]) -> Result<bool, OcrError> {
    let mut by_length: Vec<&crate::db::TextBox> = boxes.iter().collect();
    by_length.sort_by(|a, b| dist(b.quad[0], b.quad[1]).total_cmp(&dist(a.quad[0], a.quad[1])));
    let mut votes = 0;
    let voters = by_length.len().min(ORIENTATION_VOTERS);
    for b in by_length.into_iter().take(voters) {
        votes += usize::from(reader.upside_down(&crate::geometry::crop_quad(card, &b.quad))?);
    }
    Ok(voters > 0 && votes * 2 > voters)
}

/// What was read from one photo of a card.
#[derive(Debug, Clone, Serialize)]
pub struct CardReading {
    /// Which side.
    pub side: Side,
    /// The card's corners in the photo (tl, tr, br, bl), or None when the photo is taken to be
    /// the card itself.
    pub card_corners: Option<[Pt; 4]>,
    /// Whether the card was upside down.
    pub turned: bool,
    /// Front fields (front only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub front: Option<FrontFields>,
    /// Back fields (back only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back: Option<BackFields>,
    /// Disagreements between the printed birth date or sex and the number's.
    pub inconsistencies: Vec<String>,
    /// Every line read, in rectified-card coordinates.
    pub lines: Vec<TextLine>,
    /// Time spent in each stage.
    pub timings: StageTimings,
    /// The printed portrait (front only). A printed portrait is a weaker reference than the
    /// chip photo, and is marked so wherever it is used.
    #[serde(skip)]
    pub portrait: Option<RgbImage>,
}

impl CardReading {
    /// The reading as JSON, with every line read only when `with_lines` (the lines are for
    /// debugging; callers show the fields).
    pub fn to_json(&self, with_lines: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let (false, Some(o)) = (with_lines, v.as_object_mut()) {
            o.remove("lines");
        }
        v
    }
}

fn rectify(img: &RgbImage, corners: &[Pt; 4], zone: [f64; 4], w: u32, h: u32) -> Option<RgbImage> {
    let (cw, ch) = (CARD_W as f64, CARD_H as f64);
    let card_pts = [[0.0, 0.0], [cw, 0.0], [cw, ch], [0.0, ch]];
    let card_to_photo = Homography::from_points(&card_pts, corners)?;
    let [x0, y0, x1, y1] = zone;
    let (zx0, zy0, zx1, zy1) = (x0 * cw, y0 * ch, x1 * cw, y1 * ch);
    let out_pts = [[0.0, 0.0], [w as f64, 0.0], [w as f64, h as f64], [0.0, h as f64]];
    let zone_pts = [[zx0, zy0], [zx1, zy0], [zx1, zy1], [zx0, zy1]];
    let out_to_card = Homography::from_points(&out_pts, &zone_pts)?;
    // Output pixel centres map to source pixel centres.
    let half = Homography([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]]);
    let unhalf = Homography([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]]);
    Some(warp(img, &half.then(&out_to_card).then(&card_to_photo).then(&unhalf), w, h))
}

/// Stretches a crop's levels so its 1st and 99th luminance percentiles span 0..255: a portrait
/// photographed in poor light keeps its detail for the face detector and the reviewer.
/// (Measured on the synthetic cards: stretching on the middle of the crop only, where the face
/// is, found fewer faces than on the whole crop.)
pub fn stretch_levels(img: &mut RgbImage) {
    let mut hist = [0usize; 256];
    for p in img.pixels() {
        hist[((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000).min(255) as usize] += 1;
    }
    let n = img.pixels().len();
    let at = |q: f64| {
        let target = (n as f64 * q) as usize;
        let mut acc = 0;
        for (v, c) in hist.iter().enumerate() {
            acc += c;
            if acc > target {
                return v as f32;
            }
        }
        255.0
    };
    let (lo, hi) = (at(0.01), at(0.99));
    if hi - lo < 16.0 || hi - lo > 230.0 {
        return;
    }
    let k = 255.0 / (hi - lo);
    for p in img.pixels_mut() {
        p.0 = p.0.map(|c| ((c as f32 - lo) * k).round().clamp(0.0, 255.0) as u8);
    }
}

fn side_of(lines: &[TextLine]) -> Side {
    let has = |k: &str| lines.iter().any(|l| l.text.contains(k));
    let front = ["姓名", "性别", "住址", "公民身份", "出生"].iter().filter(|k| has(k)).count()
        + usize::from(lines.iter().any(|l| l.text.chars().filter(char::is_ascii_digit).count() >= 15));
    let back = ["签发机关", "有效期限", "居民身份证", "中华人民共和国"].iter().filter(|k| has(k)).count();
    match (front, back) {
        (0, 0) => Side::Unknown,
        (f, b) if f >= b => Side::Front,
        _ => Side::Back,
    }
}

fn cross_check(f: &FrontFields, today: Date) -> Vec<String> {
    let Some(n) = f.id_number.as_ref().filter(|n| n.valid) else { return Vec::new() };
    let Ok(id) = cn_id::validate(&n.value, today) else { return Vec::new() };
    f.disagreements_with(&id)
        .into_iter()
        .map(|(field, printed, encoded)| format!("{field}: printed {printed} but the number encodes {encoded}"))
        .collect()
}

/// Share of the card's width and height its printed text spans on the public layout (front:
/// labels from 6.5 % to the number's end at 90 %, name row at 10 % to the number row at 88 %).
const TEXT_SPAN: (f64, f64) = (0.84, 0.78);

/// Where the card is when its outline cannot be seen (a card on a desk of the same colour, or
/// in poor light): the rotated rectangle around all the text found in the photo, grown by the
/// layout's margins. It corrects rotation but not perspective.
fn card_from_text(reader: &TextReader, img: &RgbImage) -> Result<Option<[Pt; 4]>, OcrError> {
    let boxes = reader.detect(img, DetLimit::Max(1280))?;
    if boxes.len() < 3 {
        return Ok(None);
    }
    let pts: Vec<Pt> = boxes.iter().flat_map(|b| b.quad).collect();
    let Some(rect) = min_area_rect(&convex_hull(&pts)) else { return Ok(None) };
    let c = crate::geometry::centre(&rect.corners);
    let q = order_quad(rect.corners);
    let (wide, high) = (dist(q[0], q[1]), dist(q[0], q[3]));
    let (sx, sy) = if wide >= high { (1.0 / TEXT_SPAN.0, 1.0 / TEXT_SPAN.1) } else { (1.0 / TEXT_SPAN.1, 1.0 / TEXT_SPAN.0) };
    let ux = [(q[1][0] - q[0][0]) / wide.max(1e-9), (q[1][1] - q[0][1]) / wide.max(1e-9)];
    let uy = [(q[3][0] - q[0][0]) / high.max(1e-9), (q[3][1] - q[0][1]) / high.max(1e-9)];
    let (hw, hh) = (wide * sx / 2.0, high * sy / 2.0);
    let at = |a: f64, b: f64| [c[0] + a * hw * ux[0] + b * hh * uy[0], c[1] + a * hw * ux[1] + b * hh * uy[1]];
    let mut card = [at(-1.0, -1.0), at(1.0, -1.0), at(1.0, 1.0), at(-1.0, 1.0)];
    if wide < high {
        // Standing on its side: make the long edge the top.
        card = [card[3], card[0], card[1], card[2]];
    }
    Ok(Some(card))
}

/// Reads one photo of a resident ID card (either side).
pub fn read_card(reader: &TextReader, img: &RgbImage, today: Date) -> Result<CardReading, OcrError> {
    let mut clock = std::time::Instant::now();
    if img.width() < 64 || img.height() < 40 {
        return Err(OcrError::Image(format!("{}×{} is too small to hold a readable card", img.width(), img.height())));
    }
    let found = match locate_card(img) {
        Some(q) => Some(q),
        None => card_from_text(reader, img)?,
    };
    let (w, h) = (img.width() as f64 - 1.0, img.height() as f64 - 1.0);
    let mut corners = found.unwrap_or([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]);
    let full = [0.0, 0.0, 1.0, 1.0];
    let rectified = rectify(img, &corners, full, CARD_W, CARD_H).ok_or_else(|| OcrError::Image("the card outline is degenerate".into()))?;
    let lap = |clock: &mut std::time::Instant| {
        let ms = clock.elapsed().as_secs_f64() * 1000.0;
        *clock = std::time::Instant::now();
        (ms * 10.0).round() / 10.0
    };
    let mut timings = StageTimings { locate_ms: lap(&mut clock), ..StageTimings::default() };
    let mut boxes = reader.detect(&rectified, DetLimit::Max(CARD_W))?;
    timings.detect_ms = lap(&mut clock);
    // The card's orientation from its longest lines (the orientation classifier votes); the
    // lines of an upright card are then read without classifying each one.
    let turned = upside_down(reader, &rectified, &boxes)?;
    let mut card = rectified;
    if turned {
        corners = [corners[2], corners[3], corners[0], corners[1]];
        card = rectify(img, &corners, full, CARD_W, CARD_H).ok_or_else(|| OcrError::Image("the card outline is degenerate".into()))?;
        timings.orient_ms = lap(&mut clock);
        boxes = reader.detect(&card, DetLimit::Max(CARD_W))?;
        timings.detect_ms += lap(&mut clock);
    } else {
        timings.orient_ms = lap(&mut clock);
    }
    let lines = boxes.iter().map(|b| reader.read_box(&card, b, false)).collect::<Result<Vec<_>, _>>()?;
    timings.recognise_ms = lap(&mut clock);
    let side = side_of(&lines);
    let (front, back, portrait) = match side {
        Side::Front => {
            let f = parse_front(&lines, CARD_W as f64, CARD_H as f64, today);
            let p = rectify(img, &corners, PORTRAIT_ZONE, PORTRAIT_SIZE.0, PORTRAIT_SIZE.1).map(|mut p| {
                stretch_levels(&mut p);
                p
            });
            (Some(f), None, p)
        }
        Side::Back => (None, Some(parse_back(&lines, CARD_W as f64)), None),
        Side::Unknown => (None, None, None),
    };
    let inconsistencies = front.as_ref().map(|f| cross_check(f, today)).unwrap_or_default();
    timings.parse_ms = lap(&mut clock);
    Ok(CardReading { side, card_corners: found.map(|_| corners), turned, front, back, inconsistencies, lines, portrait, timings })
}
