//! "Photographs" a rendered card: places it on a desk-like background with a random rotation and
//! perspective, then applies the distortions a phone or kiosk camera adds — defocus blur, glare,
//! low light with sensor noise, and JPEG compression.

use image::{Rgb, RgbImage};
use rand::Rng;
use serde::{Deserialize, Serialize};
use simkyc_face::image_ops::sample_bilinear;
use simkyc_ocr::geometry::{Homography, Pt};

/// The distortions applied to one photo (recorded with the truth).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Distortions {
    /// In-plane rotation of the card, degrees.
    pub rotation_deg: f64,
    /// Largest corner displacement of the perspective, as a fraction of the card width.
    pub perspective: f64,
    /// Gaussian blur sigma in pixels (0: none).
    pub blur_sigma: f32,
    /// Peak strength of the glare spot (0: none).
    pub glare: f32,
    /// Brightness factor (1: normal light).
    pub light: f32,
    /// Sensor noise sigma in grey levels.
    pub noise: f32,
    /// JPEG quality.
    pub jpeg_quality: u8,
}

impl Distortions {
    /// Draws a random set: every photo is rotated and in perspective; blur, glare and low light
    /// each hit part of them.
    pub fn random(rng: &mut impl Rng) -> Distortions {
        let low = rng.gen_bool(0.35);
        Distortions {
            rotation_deg: rng.gen_range(-15.0..15.0),
            perspective: rng.gen_range(0.0..0.07),
            blur_sigma: if rng.gen_bool(0.5) { rng.gen_range(0.4..1.6) } else { 0.0 },
            glare: if rng.gen_bool(0.4) { rng.gen_range(0.3..0.75) } else { 0.0 },
            light: if low { rng.gen_range(0.35..0.7) } else { rng.gen_range(0.85..1.1) },
            noise: if low { rng.gen_range(3.0..8.0) } else { rng.gen_range(0.0..2.5) },
            jpeg_quality: rng.gen_range(40..=92),
        }
    }
}

fn gauss(rng: &mut impl Rng) -> f32 {
    let (u1, u2): (f32, f32) = (rng.gen_range(1e-7..1.0), rng.gen_range(0.0..1.0));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

/// A desk-like background: a random base colour with smooth low-frequency variation and grain.
fn desk(w: u32, h: u32, rng: &mut impl Rng) -> RgbImage {
    let base: [f32; 3] = match rng.gen_range(0..4) {
        0 => [rng.gen_range(90.0..150.0), rng.gen_range(60.0..100.0), rng.gen_range(30.0..60.0)], // wood
        1 => [rng.gen_range(30.0..80.0); 3],                                                      // dark grey
        2 => [rng.gen_range(30.0..70.0), rng.gen_range(50.0..90.0), rng.gen_range(90.0..150.0)],  // blue cloth
        _ => [rng.gen_range(150.0..190.0); 3],                                                    // light grey
    };
    let (fx, fy, ph): (f32, f32, f32) = (rng.gen_range(0.002..0.01), rng.gen_range(0.01..0.05), rng.gen_range(0.0..std::f32::consts::TAU));
    let mut img = RgbImage::new(w, h);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let streak = ((x as f32 * fx + (y as f32 * fy + ph).sin() * 2.0).sin()) * 12.0;
        let grain = ((x.wrapping_mul(73856093) ^ y.wrapping_mul(19349663)) % 13) as f32 - 6.0;
        *p = Rgb(std::array::from_fn(|k| (base[k] + streak + grain).clamp(0.0, 255.0) as u8));
    }
    img
}

/// Places `card` in a `w`×`h` photo; returns the photo and the card's corners in it
/// (top-left, top-right, bottom-right, bottom-left of the card as printed).
pub fn place(card: &RgbImage, w: u32, h: u32, d: &Distortions, rng: &mut impl Rng) -> (RgbImage, [Pt; 4]) {
    let (cw, ch) = (card.width() as f64, card.height() as f64);
    let scale = rng.gen_range(0.55..0.78) * w as f64 / cw;
    let (cx, cy) = (w as f64 / 2.0 + rng.gen_range(-0.06..0.06) * w as f64, h as f64 / 2.0 + rng.gen_range(-0.06..0.06) * h as f64);
    let (c, s) = (d.rotation_deg.to_radians().cos(), d.rotation_deg.to_radians().sin());
    let jit = d.perspective * cw * scale;
    let corners: [Pt; 4] = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]].map(|[u, v]| {
        let (x, y) = (u * cw * scale, v * ch * scale);
        [cx + x * c - y * s + rng.gen_range(-jit..=jit), cy + x * s + y * c + rng.gen_range(-jit..=jit)]
    });
    let card_pts = [[0.0, 0.0], [cw, 0.0], [cw, ch], [0.0, ch]];
    let mut photo = desk(w, h, rng);
    if let Some(to_card) = Homography::from_points(&corners, &card_pts) {
        let radius = 0.045 * cw;
        for (x, y, p) in photo.enumerate_pixels_mut() {
            let q = to_card.apply([x as f64 + 0.5, y as f64 + 0.5]);
            if q[0] < 0.0 || q[1] < 0.0 || q[0] >= cw || q[1] >= ch || outside_round_corner(q, cw, ch, radius) {
                continue;
            }
            let v = sample_bilinear(card, q[0] - 0.5, q[1] - 0.5);
            p.0 = v.map(|c| c.round() as u8);
        }
    }
    (photo, corners)
}

fn outside_round_corner(q: Pt, w: f64, h: f64, r: f64) -> bool {
    let cx = if q[0] < r {
        r
    } else if q[0] > w - r {
        w - r
    } else {
        return false;
    };
    let cy = if q[1] < r {
        r
    } else if q[1] > h - r {
        h - r
    } else {
        return false;
    };
    (q[0] - cx).powi(2) + (q[1] - cy).powi(2) > r * r
}

/// Applies blur, glare, light and noise in place (JPEG is applied when encoding).
pub fn degrade(photo: &mut RgbImage, card_corners: &[Pt; 4], d: &Distortions, rng: &mut impl Rng) {
    if d.glare > 0.0 {
        let t: f64 = rng.gen_range(0.15..0.85);
        let u: f64 = rng.gen_range(0.15..0.85);
        let top = lerp(card_corners[0], card_corners[1], t);
        let bottom = lerp(card_corners[3], card_corners[2], t);
        let centre = lerp(top, bottom, u);
        let radius = rng.gen_range(0.08..0.2) * crate::geometry_width(card_corners);
        for (x, y, p) in photo.enumerate_pixels_mut() {
            let r2 = ((x as f64 - centre[0]).powi(2) + (y as f64 - centre[1]).powi(2)) / (radius * radius);
            let a = d.glare * (-r2 as f32).exp();
            if a > 0.004 {
                p.0 = p.0.map(|c| (c as f32 + (255.0 - c as f32) * a).round() as u8);
            }
        }
    }
    if d.blur_sigma > 0.0 {
        *photo = image::imageops::blur(photo, d.blur_sigma);
    }
    if d.light != 1.0 || d.noise > 0.0 {
        for p in photo.pixels_mut() {
            let n = d.noise * gauss(rng);
            p.0 = p.0.map(|c| (c as f32 * d.light + n).round().clamp(0.0, 255.0) as u8);
        }
    }
}

fn lerp(a: Pt, b: Pt, t: f64) -> Pt {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}
