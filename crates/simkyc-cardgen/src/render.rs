//! Draws the two sides of a second-generation resident ID card after its public layout, at
//! 1024×646 pixels (ISO/IEC 7810 ID-1, 85.6 × 54 mm): a pale security-print background, field
//! labels in blue, the data in black, the portrait on the right of the front.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use rand::Rng;
use simkyc_face::image_ops::sample_bilinear;

use crate::identity::Identity;

/// Card width in pixels.
pub const CARD_W: u32 = 1024;
/// Card height in pixels.
pub const CARD_H: u32 = 646;
/// Where the portrait sits on the front: x0, y0, x1, y1 as fractions of the card.
pub const PORTRAIT: [f64; 4] = [0.62, 0.10, 0.92, 0.76];
/// Characters per address line.
pub const ADDRESS_CHARS_PER_LINE: usize = 11;

const LABEL: Rgb<u8> = Rgb([40, 95, 160]);
const INK: Rgb<u8> = Rgb([20, 20, 24]);

/// A CJK font to draw with.
pub struct Typeface(FontVec);

/// Errors from loading the font.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// The file is missing or unreadable.
    #[error("cannot read the CJK font {path}: {why} (Debian: apt-get install fonts-wqy-zenhei)")]
    Read {
        /// Where it was looked for.
        path: String,
        /// Why it failed.
        why: String,
    },
}

/// Where Debian's `fonts-wqy-zenhei` installs WenQuanYi Zen Hei.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";

impl Typeface {
    /// Loads the first face of a TrueType font or collection.
    pub fn load(path: &str) -> Result<Typeface, FontError> {
        let bytes = std::fs::read(path).map_err(|e| FontError::Read { path: path.into(), why: e.to_string() })?;
        let font = FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| FontError::Read { path: path.into(), why: e.to_string() })?;
        Ok(Typeface(font))
    }

    /// Draws `text` with its top-left at (x, y), `size` pixels tall, `spacing` extra pixels
    /// between characters; returns the x where it ended.
    pub fn draw(&self, img: &mut RgbImage, text: &str, (x, y): (f32, f32), size: f32, spacing: f32, color: Rgb<u8>) -> f32 {
        let scaled = self.0.as_scaled(PxScale::from(size));
        let baseline = y + scaled.ascent();
        let mut caret = x;
        for ch in text.chars() {
            let id = self.0.glyph_id(ch);
            let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(caret, baseline));
            caret += scaled.h_advance(id) + spacing;
            let Some(outline) = self.0.outline_glyph(glyph) else { continue };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px < 0 || py < 0 || px >= img.width() as i64 || py >= img.height() as i64 {
                    return;
                }
                let p = img.get_pixel_mut(px as u32, py as u32);
                let a = cov.clamp(0.0, 1.0);
                for k in 0..3 {
                    p.0[k] = (p.0[k] as f32 * (1.0 - a) + color.0[k] as f32 * a).round() as u8;
                }
            });
        }
        caret
    }
}

/// The security-print background: a pale diagonal gradient with fine wavy lines and speckle.
fn background(rng: &mut impl Rng) -> RgbImage {
    let tint: [f32; 3] = [rng.gen_range(-8.0..8.0), rng.gen_range(-8.0..8.0), rng.gen_range(-8.0..8.0)];
    let phase: f32 = rng.gen_range(0.0..std::f32::consts::TAU);
    RgbImage::from_fn(CARD_W, CARD_H, |x, y| {
        let (u, v) = (x as f32 / CARD_W as f32, y as f32 / CARD_H as f32);
        let g = (u + v) / 2.0;
        let base = [228.0 + 14.0 * g, 236.0 + 4.0 * g, 238.0 - 12.0 * g];
        let wave = ((v * 90.0 + (u * 14.0 + phase).sin() * 3.0) * std::f32::consts::PI).sin();
        let line = if wave > 0.96 { -10.0 } else { 0.0 };
        Rgb(std::array::from_fn(|k| (base[k] + tint[k] + line).clamp(0.0, 255.0) as u8))
    })
}

fn px(fx: f64, fy: f64) -> (f32, f32) {
    ((fx * CARD_W as f64) as f32, (fy * CARD_H as f64) as f32)
}

/// Draws the front: name, sex, ethnicity, birth date, address, number and the portrait.
pub fn front(font: &Typeface, id: &Identity, portrait: &RgbImage, rng: &mut impl Rng) -> RgbImage {
    let mut img = background(rng);
    let h = CARD_H as f32;
    let (label, value, number) = (0.048 * h, 0.058 * h, 0.066 * h);
    let jitter = |rng: &mut dyn rand::RngCore| rng.gen_range(-0.004..0.004);
    let row = |img: &mut RgbImage, rng: &mut dyn rand::RngCore, lab: &str, fy: f64| {
        let (x, y) = px(0.065 + jitter(rng), fy);
        font.draw(img, lab, (x, y + (value - label) / 2.0), label, label * 0.45, LABEL);
    };
    row(&mut img, rng, "姓名", 0.11);
    let (x, y) = px(0.185, 0.11);
    font.draw(&mut img, &id.name, (x, y), value, 2.0, INK);
    row(&mut img, rng, "性别", 0.235);
    let (x, y) = px(0.185, 0.235);
    font.draw(&mut img, &id.sex, (x, y), value, 0.0, INK);
    let (x, y) = px(0.34, 0.235);
    font.draw(&mut img, "民族", (x, y + (value - label) / 2.0), label, label * 0.2, LABEL);
    let (x, y) = px(0.44, 0.235);
    font.draw(&mut img, &id.ethnicity, (x, y), value, 0.0, INK);
    row(&mut img, rng, "出生", 0.36);
    let (yy, mm, dd) = (&id.birth_date[0..4], id.birth_date[5..7].trim_start_matches('0'), id.birth_date[8..10].trim_start_matches('0'));
    let (mut x, y) = px(0.185, 0.36);
    for (part, is_label) in [(yy, false), ("年", true), (mm, false), ("月", true), (dd, false), ("日", true)] {
        x = if is_label {
            font.draw(&mut img, part, (x + 6.0, y + (value - label) / 2.0), label, 0.0, LABEL) + 6.0
        } else {
            font.draw(&mut img, part, (x, y), value, 1.0, INK)
        };
    }
    row(&mut img, rng, "住址", 0.485);
    let chars: Vec<char> = id.address.chars().collect();
    for (i, line) in chars.chunks(ADDRESS_CHARS_PER_LINE).take(3).enumerate() {
        let (x, y) = px(0.185, 0.485 + 0.085 * i as f64);
        font.draw(&mut img, &line.iter().collect::<String>(), (x, y), value, 1.5, INK);
    }
    let (x, y) = px(0.065, 0.815);
    font.draw(&mut img, "公民身份号码", (x, y + (number - label) / 2.0), label, label * 0.15, LABEL);
    let (x, y) = px(0.335, 0.81);
    font.draw(&mut img, &id.id_number, (x, y), number, 0.12 * number, INK);
    paste_portrait(&mut img, portrait);
    img
}

/// Pastes the portrait into its box as an ID photo is printed: the face photo scaled to about
/// three quarters of the box's width, centred, in the upper part, on a pale backdrop (the
/// development faces are tight crops, so the backdrop gives the head its usual margin).
fn paste_portrait(img: &mut RgbImage, portrait: &RgbImage) {
    let (x0, y0) = ((PORTRAIT[0] * CARD_W as f64) as u32, (PORTRAIT[1] * CARD_H as f64) as u32);
    let (x1, y1) = ((PORTRAIT[2] * CARD_W as f64) as u32, (PORTRAIT[3] * CARD_H as f64) as u32);
    let (bw, bh) = (x1 - x0, y1 - y0);
    let (pw, ph) = (portrait.width().max(1) as f64, portrait.height().max(1) as f64);
    let s = (0.78 * bw as f64 / pw).min(0.8 * bh as f64 / ph);
    let fw = pw * s;
    let (ox, oy) = ((bw as f64 - fw) / 2.0, 0.1 * bh as f64);
    for y in 0..bh {
        for x in 0..bw {
            let (u, v) = ((x as f64 - ox) / s, (y as f64 - oy) / s);
            let backdrop = [236.0, 239.0, 242.0];
            let px = if u >= 0.0 && v >= 0.0 && u < pw && v < ph { sample_bilinear(portrait, u, v) } else { backdrop };
            let p = img.get_pixel_mut(x0 + x, y0 + y);
            for (c, s) in p.0.iter_mut().zip(px) {
                *c = (s * 0.9 + *c as f32 * 0.1).round() as u8;
            }
        }
    }
}

/// Draws the back: a red emblem disc, the titles, the issuing authority and the validity period.
pub fn back(font: &Typeface, id: &Identity, rng: &mut impl Rng) -> RgbImage {
    let mut img = background(rng);
    let h = CARD_H as f32;
    let (cx, cy, r) = (0.13 * CARD_W as f64, 0.21 * CARD_H as f64, 0.13 * CARD_H as f64);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
        if d < r {
            let ring = (d - r * 0.8).abs() < r * 0.05;
            *p = if ring { Rgb([240, 200, 60]) } else { Rgb([200, 30, 35]) };
        }
    }
    let (x, y) = px(0.30, 0.10);
    font.draw(&mut img, "中华人民共和国", (x, y), 0.085 * h, 0.02 * h, INK);
    let (x, y) = px(0.33, 0.27);
    font.draw(&mut img, "居民身份证", (x, y), 0.11 * h, 0.05 * h, INK);
    let (label, value) = (0.048 * h, 0.055 * h);
    let (x, y) = px(0.17, 0.70);
    font.draw(&mut img, "签发机关", (x, y + (value - label) / 2.0), label, label * 0.1, LABEL);
    let (x, y) = px(0.36, 0.70);
    font.draw(&mut img, &id.authority, (x, y), value, 1.0, INK);
    let (x, y) = px(0.17, 0.82);
    font.draw(&mut img, "有效期限", (x, y + (value - label) / 2.0), label, label * 0.1, LABEL);
    let (x, y) = px(0.36, 0.82);
    font.draw(&mut img, &id.validity, (x, y), value, 1.0, INK);
    img
}
