//! Hand-made presentation-attack cues measured on a face crop at its native resolution: screen
//! moiré (isolated peaks in the image spectrum), specular highlights and colour saturation. They
//! are candidates for fusion with the learned score; `simkyc liveness --eval DIR` reports how
//! well each separates live from attack faces, and docs/liveness.md records which were adopted.

use image::RgbImage;
use rustfft::num_complex::Complex32;
use rustfft::FftPlanner;
use serde::Serialize;

/// The cues of one face crop.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Cues {
    /// log(max / median) of the spectrum's magnitude in the 0.15–0.5 cycles/pixel band: high
    /// when a regular pattern (a screen's pixel grid beating with the camera's) is present.
    pub moire_peak: f32,
    /// Share of the spectrum's energy (DC excluded) in that band: fine detail a re-capture loses.
    pub high_frequency: f32,
    /// Share of pixels that are near-white and unsaturated: glare on glass or glossy paper.
    pub specular: f32,
    /// Mean HSV saturation of the crop: screens and prints shift colour.
    pub saturation: f32,
}

/// Side of the largest centred square analysed for the spectral cues (bigger crops are cut).
const MAX_SIDE: usize = 256;

/// Measures the cues on a face crop (the whole image is the face).
pub fn measure(img: &RgbImage) -> Cues {
    let (moire_peak, high_frequency) = spectral(img);
    let (mut specular, mut saturation) = (0usize, 0.0f64);
    for p in img.pixels() {
        let [r, g, b] = p.0.map(|c| c as f32 / 255.0);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let sat = if max > 0.0 { (max - min) / max } else { 0.0 };
        saturation += sat as f64;
        if max > 0.94 && sat < 0.12 {
            specular += 1;
        }
    }
    let n = (img.width() as usize * img.height() as usize).max(1);
    Cues { moire_peak, high_frequency, specular: specular as f32 / n as f32, saturation: (saturation / n as f64) as f32 }
}

/// The two spectral cues of the centred square of the crop's luma, Hann-windowed.
fn spectral(img: &RgbImage) -> (f32, f32) {
    let side = (img.width().min(img.height()) as usize).min(MAX_SIDE);
    if side < 16 {
        return (0.0, 0.0);
    }
    let (x0, y0) = ((img.width() as usize - side) / 2, (img.height() as usize - side) / 2);
    let hann: Vec<f32> = (0..side).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (side - 1) as f32).cos()).collect();
    let mut luma: Vec<f32> = (0..side * side)
        .map(|k| {
            let p = img.get_pixel((x0 + k % side) as u32, (y0 + k / side) as u32).0;
            0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
        })
        .collect();
    let mean = luma.iter().sum::<f32>() / luma.len() as f32;
    let mut data: Vec<Complex32> =
        luma.iter_mut().enumerate().map(|(k, v)| Complex32::new((*v - mean) * hann[k % side] * hann[k / side], 0.0)).collect();
    let fft = FftPlanner::<f32>::new().plan_fft_forward(side);
    for row in data.chunks_mut(side) {
        fft.process(row);
    }
    let mut column = vec![Complex32::new(0.0, 0.0); side];
    for x in 0..side {
        for y in 0..side {
            column[y] = data[y * side + x];
        }
        fft.process(&mut column);
        for y in 0..side {
            data[y * side + x] = column[y];
        }
    }
    let freq = |i: usize| if i <= side / 2 { i as f32 / side as f32 } else { (side - i) as f32 / side as f32 };
    let (mut band, mut total) = (Vec::new(), 0.0f64);
    let mut band_energy = 0.0f64;
    for y in 0..side {
        for x in 0..side {
            let (fx, fy) = (freq(x), freq(y));
            let r = (fx * fx + fy * fy).sqrt();
            if r == 0.0 {
                continue;
            }
            let e = data[y * side + x].norm_sqr() as f64;
            total += e;
            // The axes carry the window's residual edge energy; leave them out of the band.
            if r >= 0.15 && fx > 1.5 / side as f32 && fy > 1.5 / side as f32 {
                band.push(data[y * side + x].norm());
                band_energy += e;
            }
        }
    }
    if band.is_empty() || total <= 0.0 {
        return (0.0, 0.0);
    }
    let max = band.iter().copied().fold(0.0f32, f32::max);
    let median = crate::stats::median(band).unwrap_or(0.0).max(1e-6);
    ((max / median).ln(), (band_energy / total) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(grid: bool) -> RgbImage {
        // Smooth shading plus noise; `grid` adds a fine regular pattern like a screen's.
        let mut seed = 7u32;
        RgbImage::from_fn(128, 128, |x, y| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 24) as f32 / 255.0 * 20.0;
            let pattern = if grid {
                25.0 * ((x as f32 * 2.0 * std::f32::consts::PI * 0.3).sin() * (y as f32 * 2.0 * std::f32::consts::PI * 0.27).sin())
            } else {
                0.0
            };
            let v = (100.0 + x as f32 * 0.4 + noise + pattern).clamp(0.0, 255.0) as u8;
            image::Rgb([v, v.saturating_sub(20), v.saturating_sub(40)])
        })
    }

    #[test]
    fn a_regular_pattern_raises_the_moire_peak() {
        let plain = measure(&textured(false));
        let grid = measure(&textured(true));
        assert!(grid.moire_peak > plain.moire_peak + 2.0, "{plain:?} vs {grid:?}");
        assert!(grid.high_frequency > plain.high_frequency);
    }

    #[test]
    fn glare_and_saturation() {
        let white = RgbImage::from_pixel(40, 40, image::Rgb([250, 250, 248]));
        let red = RgbImage::from_pixel(40, 40, image::Rgb([200, 20, 20]));
        assert!(measure(&white).specular > 0.99 && measure(&red).specular == 0.0);
        assert!(measure(&red).saturation > 0.85 && measure(&white).saturation < 0.02);
        assert_eq!(measure(&RgbImage::new(8, 8)).moire_peak, 0.0, "too small for the spectrum");
    }
}
