//! A passport data page or travel permit with a machine-readable zone, for testing MRZ reading:
//! the ICAO 9303 specimen zones (Part 4's TD3 passport of Anna Maria Eriksson of Utopia, Part 5's
//! TD1 card) printed in a monospaced font at the bottom of a pale page, then photographed like the
//! cards (perspective, blur, glare, low light, JPEG).

use image::{Rgb, RgbImage};
use rand::SeedableRng;

use crate::photo::{degrade, place, Distortions};
use crate::render::Typeface;
use crate::GenError;

/// ICAO 9303 Part 4's specimen TD3 (passport) zone.
pub const ICAO_TD3: [&str; 2] = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
/// ICAO 9303 Part 5's specimen TD1 (card) zone.
pub const ICAO_TD1: [&str; 3] = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
/// Where Debian's `fonts-dejavu-core` installs DejaVu Sans Mono (a stand-in for OCR-B).
pub const MONO_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

/// Draws a page carrying `zone` at its bottom (TD3: 125 × 88 mm; TD1: 85.6 × 54 mm) and
/// photographs it; returns JPEG bytes.
pub fn mrz_photo(mono: &Typeface, zone: &[&str], seed: u64, distort: bool) -> Result<Vec<u8>, GenError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let chars = zone.first().map(|l| l.len()).unwrap_or(44) as f32;
    let (w, h) = if chars > 40.0 { (1250u32, 880u32) } else { (856u32, 540u32) };
    let mut page = RgbImage::from_fn(w, h, |x, y| {
        let g = ((x + y) as f32 / (w + h) as f32) * 10.0;
        Rgb([(236.0 - g) as u8, (238.0 - g / 2.0) as u8, (230.0 + g) as u8])
    });
    // Portrait placeholder and a few printed lines above the zone, as on a real page.
    for y in h / 8..h / 2 {
        for x in w / 20..w / 4 {
            page.put_pixel(x, y, Rgb([150, 150, 158]));
        }
    }
    let size = w as f32 / chars * 1.62;
    let lines = zone.len() as f32;
    let top = h as f32 - size * (lines * 1.35 + 0.6);
    for (i, line) in zone.iter().enumerate() {
        mono.draw(&mut page, line, (w as f32 * 0.03, top + i as f32 * size * 1.35), size, 0.0, Rgb([25, 25, 30]));
    }
    let d = if distort {
        Distortions::random(&mut rng)
    } else {
        Distortions { rotation_deg: 0.0, perspective: 0.0, blur_sigma: 0.0, glare: 0.0, light: 1.0, noise: 0.0, jpeg_quality: 92 }
    };
    let (pw, ph) = ((w as f32 * 1.5) as u32, (h as f32 * 1.6) as u32);
    let (mut photo, corners) = place(&page, pw, ph, &d, &mut rng);
    degrade(&mut photo, &corners, &d, &mut rng);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, d.jpeg_quality)
        .encode_image(&photo)
        .map_err(|e| GenError::Encode(e.to_string()))?;
    Ok(jpeg)
}
