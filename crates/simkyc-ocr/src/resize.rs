//! Image resizing and tensor packing as OpenCV's `cv2.resize` (bilinear, half-pixel centres, no
//! antialiasing) followed by PP-OCR's normalisation, so our inputs match the reference pipeline's.

use image::RgbImage;
use simkyc_models::manifest::{ColorOrder, InputSpec};

/// Resizes bilinearly with half-pixel centres (OpenCV `INTER_LINEAR`).
pub fn resize_linear(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = (img.width().max(1), img.height().max(1));
    let (w, h) = (w.max(1), h.max(1));
    if (sw, sh) == (w, h) {
        return img.clone();
    }
    let (fx, fy) = (sw as f64 / w as f64, sh as f64 / h as f64);
    let axis = |d: u32, scale: f64, n: u32| {
        let s = ((d as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (s.floor() as u32).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, (s - i0 as f64) as f32)
    };
    let xs: Vec<_> = (0..w).map(|x| axis(x, fx, sw)).collect();
    let mut out = RgbImage::new(w, h);
    for y in 0..h {
        let (y0, y1, ty) = axis(y, fy, sh);
        for (x, &(x0, x1, tx)) in xs.iter().enumerate() {
            let (a, b, c, d) = (img.get_pixel(x0, y0).0, img.get_pixel(x1, y0).0, img.get_pixel(x0, y1).0, img.get_pixel(x1, y1).0);
            let v: [u8; 3] = std::array::from_fn(|k| {
                let top = a[k] as f32 * (1.0 - tx) + b[k] as f32 * tx;
                let bot = c[k] as f32 * (1.0 - tx) + d[k] as f32 * tx;
                (top * (1.0 - ty) + bot * ty).round().clamp(0.0, 255.0) as u8
            });
            out.put_pixel(x as u32, y, image::Rgb(v));
        }
    }
    out
}

/// Packs `img` into channel planes of a `[3, h, padded_w]` tensor slice as the spec says, the
/// columns beyond the image left at 0 (PP-OCR pads normalised zeros on the right).
pub fn pack_padded(img: &RgbImage, spec: &InputSpec, padded_w: usize, out: &mut [f32]) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let plane = padded_w * h;
    let order = match spec.color {
        ColorOrder::Rgb => [0, 1, 2],
        ColorOrder::Bgr => [2, 1, 0],
    };
    for (i, p) in img.pixels().enumerate() {
        let (x, y) = (i % w, i / w);
        if x >= padded_w {
            continue;
        }
        for (c, &src) in order.iter().enumerate() {
            out[c * plane + y * padded_w + x] = (p[src] as f32 - spec.mean[c]) * spec.scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_pixel_pairs_like_opencv() {
        let img = RgbImage::from_fn(4, 2, |x, _| image::Rgb([(x * 40) as u8, 0, 0]));
        let out = resize_linear(&img, 2, 1);
        // OpenCV: dst x=0 samples src 0.5 → (0 + 40) / 2 = 20; x=1 samples 2.5 → 100.
        assert_eq!(out.get_pixel(0, 0).0[0], 20);
        assert_eq!(out.get_pixel(1, 0).0[0], 100);
    }
}
