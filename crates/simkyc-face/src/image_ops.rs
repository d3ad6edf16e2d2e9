//! Small pixel operations the pipeline needs: dlib-style grayscale, bilinear resize and sampling,
//! and packing an RGB image into a normalised NCHW tensor.

use image::RgbImage;
use simkyc_models::manifest::{ColorOrder, InputSpec};

/// dlib's RGB→gray: the integer mean of the three channels.
pub fn to_gray(img: &RgbImage) -> Vec<u8> {
    img.pixels().map(|p| ((p[0] as u32 + p[1] as u32 + p[2] as u32) / 3) as u8).collect()
}

/// Bilinear sample of channel values at (x, y), clamping to the image edge.
#[inline]
pub fn sample_bilinear(img: &RgbImage, x: f64, y: f64) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x = x.clamp(0.0, (w - 1) as f64);
    let y = y.clamp(0.0, (h - 1) as f64);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let raw = img.as_raw();
    let px = |xx: i64, yy: i64| {
        let i = ((yy * w + xx) * 3) as usize;
        [raw[i] as f32, raw[i + 1] as f32, raw[i + 2] as f32]
    };
    blend([px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1)], fx, fy)
}

/// Bilinear sample of channel values at (x, y), with black outside the image (OpenCV's
/// `BORDER_CONSTANT` with 0).
#[inline]
pub fn sample_bilinear_black(img: &RgbImage, x: f64, y: f64) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if !(x > -1.0 && y > -1.0 && x < w as f64 && y < h as f64) {
        return [0.0; 3];
    }
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let raw = img.as_raw();
    let px = |xx: i64, yy: i64| {
        if xx < 0 || yy < 0 || xx >= w || yy >= h {
            return [0f32; 3];
        }
        let i = ((yy * w + xx) * 3) as usize;
        [raw[i] as f32, raw[i + 1] as f32, raw[i + 2] as f32]
    };
    blend([px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1)], fx, fy)
}

/// Bilinear blend of four neighbouring pixels (top-left, top-right, bottom-left, bottom-right)
/// at fractional offsets `fx`, `fy`.
#[inline]
fn blend([a, b, c, d]: [[f32; 3]; 4], fx: f32, fy: f32) -> [f32; 3] {
    let mut out = [0f32; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * fx;
        let bot = c[k] + (d[k] - c[k]) * fx;
        out[k] = top + (bot - top) * fy;
    }
    out
}

/// Resizes one float plane region of `buf` (row stride `stride`) into another region, exactly as
/// dlib's float `resize_image` does inside its tiled image pyramid (4-wide float SIMD with truncating
/// index conversion, then a mixed-precision tail). Regions are (x, y, width, height).
pub fn resize_plane_dlib(buf: &mut [f32], stride: usize, src: (usize, usize, usize, usize), dst: (usize, usize, usize, usize)) {
    let (sx, sy, in_w, in_h) = src;
    let (dx, dy, out_w, out_h) = dst;
    if in_w == 0 || in_h == 0 || out_w == 0 || out_h == 0 {
        return;
    }
    let at = |r: usize, c: usize| (sy + r) * stride + sx + c;
    let xs = (in_w - 1) as f64 / (out_w as f64 - 1.0).max(1.0);
    let ys = (in_h - 1) as f64 / (out_h as f64 - 1.0).max(1.0);
    let mut y = -ys;
    for r in 0..out_h {
        y += ys;
        let top = y.floor() as usize;
        let bottom = (top + 1).min(in_h - 1);
        let tb = y - top as f64;
        let (tbf, itbf) = (tb as f32, (1.0 - tb) as f32);
        let x0 = -4.0 * xs;
        let step = (4.0 * xs) as f32;
        let mut lanes = [x0 as f32, (x0 + xs) as f32, (x0 + 2.0 * xs) as f32, (x0 + 3.0 * xs) as f32];
        let mut c = 0usize;
        let out_row = (dy + r) * stride + dx;
        loop {
            let mut left = [0usize; 4];
            let mut lr = [0f32; 4];
            for i in 0..4 {
                lanes[i] += step;
                let l = lanes[i] as i32; // truncation, as _mm_cvttps_epi32
                left[i] = l.max(0) as usize;
                lr[i] = lanes[i] - l as f32;
            }
            if left[3] + 1 >= in_w || c + 4 > out_w {
                break;
            }
            for i in 0..4 {
                let ilr = 1.0 - lr[i];
                let (tlf, trf, blf, brf) = (itbf * ilr, itbf * lr[i], tbf * ilr, tbf * lr[i]);
                let v = tlf * buf[at(top, left[i])]
                    + trf * buf[at(top, left[i] + 1)]
                    + blf * buf[at(bottom, left[i])]
                    + brf * buf[at(bottom, left[i] + 1)];
                buf[out_row + c + i] = v;
            }
            c += 4;
        }
        let mut x = -xs + c as f64 * xs;
        while c < out_w {
            x += xs;
            let left = x.floor() as usize;
            let right = (left + 1).min(in_w - 1);
            let lr = (x - left as f64) as f32;
            let (tl, tr, bl, br) = (buf[at(top, left)], buf[at(top, right)], buf[at(bottom, left)], buf[at(bottom, right)]);
            let v = (1.0 - tb) * (((1.0 - lr) * tl + lr * tr) as f64) + tb * (((1.0 - lr) * bl + lr * br) as f64);
            buf[out_row + c] = v as f32;
            c += 1;
        }
    }
}

/// Resizes with dlib's `resize_image` geometry (corner pixels map to corner pixels), bilinear,
/// truncating to 8 bits.
pub fn resize_bilinear(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let xs = (img.width().saturating_sub(1)) as f64 / (w.saturating_sub(1).max(1)) as f64;
    let ys = (img.height().saturating_sub(1)) as f64 / (h.saturating_sub(1).max(1)) as f64;
    let mut out = RgbImage::new(w, h);
    for (c, r, p) in out.enumerate_pixels_mut() {
        let v = sample_bilinear(img, c as f64 * xs, r as f64 * ys);
        *p = image::Rgb([v[0] as u8, v[1] as u8, v[2] as u8]);
    }
    out
}

/// Resamples the region (x0, y0, w, h) of an image to `size`×`size` pixels, bilinear, edges
/// repeated outside the image, as an NHWC tensor of channel values / 255 in `order`
/// (`[0, 1, 2]` RGB, `[2, 1, 0]` BGR): the input of the TF.js face models.
pub fn region_nhwc(img: &RgbImage, (x0, y0, w, h): (f64, f64, f64, f64), size: usize, order: [usize; 3]) -> Vec<f32> {
    let (iw, ih) = (img.width() as usize, img.height() as usize);
    let mut t = Vec::with_capacity(size * size * 3);
    if iw == 0 || ih == 0 {
        t.resize(size * size * 3, 0.0);
        return t;
    }
    // The taps and weights of every column and row, computed once (as `sample_bilinear` would
    // for each pixel): this crop runs on every tracked frame of a challenge.
    let taps = |origin: f64, extent: f64, limit: usize| -> Vec<(usize, usize, f32)> {
        (0..size)
            .map(|i| {
                let v = (origin + (i as f64 + 0.5) * extent / size as f64 - 0.5).clamp(0.0, (limit - 1) as f64);
                let v0 = v.floor() as usize;
                (v0, (v0 + 1).min(limit - 1), (v - v0 as f64) as f32)
            })
            .collect()
    };
    let (cols, rows) = (taps(x0, w, iw), taps(y0, h, ih));
    let raw = img.as_raw();
    let px = |xx: usize, yy: usize| {
        let i = (yy * iw + xx) * 3;
        [raw[i] as f32, raw[i + 1] as f32, raw[i + 2] as f32]
    };
    for &(ya, yb, fy) in &rows {
        for &(xa, xb, fx) in &cols {
            let p = blend([px(xa, ya), px(xb, ya), px(xa, yb), px(xb, yb)], fx, fy);
            t.extend(order.map(|k| p[k] / 255.0));
        }
    }
    t
}

/// Halves an image by 2×2 box averaging (anti-aliasing before large downscales).
pub fn halve(img: &RgbImage) -> RgbImage {
    let (w, h) = ((img.width() / 2).max(1), (img.height() / 2).max(1));
    let mut out = RgbImage::new(w, h);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let mut acc = [0u32; 3];
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let q = img.get_pixel((2 * x + dx).min(img.width() - 1), (2 * y + dy).min(img.height() - 1));
            for k in 0..3 {
                acc[k] += q[k] as u32;
            }
        }
        *p = image::Rgb([(acc[0] / 4) as u8, (acc[1] / 4) as u8, (acc[2] / 4) as u8]);
    }
    out
}

/// Packs an image into a `[1, 3, h, w]` (or, for NHWC models, `[1, h, w, 3]`) tensor as the
/// model's input spec says.
pub fn to_tensor(img: &RgbImage, spec: &InputSpec) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let plane = w * h;
    let mut t = vec![0f32; 3 * plane];
    let order = match spec.color {
        ColorOrder::Rgb => [0, 1, 2],
        ColorOrder::Bgr => [2, 1, 0],
    };
    let nhwc = spec.layout == simkyc_models::manifest::Layout::Nhwc;
    for (i, p) in img.pixels().enumerate() {
        for (c, &src) in order.iter().enumerate() {
            let at = if nhwc { i * 3 + c } else { c * plane + i };
            t[at] = (p[src] as f32 - spec.mean[c]) * spec.scale;
        }
    }
    t
}

/// The input tensor shape of an image of `w`×`h` for a spec.
pub fn tensor_shape(spec: &InputSpec, w: usize, h: usize) -> [usize; 4] {
    if spec.layout == simkyc_models::manifest::Layout::Nhwc {
        [1, h, w, 3]
    } else {
        [1, 3, h, w]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-pixel definition `region_nhwc` must reproduce exactly.
    fn region_reference(img: &RgbImage, (x0, y0, w, h): (f64, f64, f64, f64), size: usize, order: [usize; 3]) -> Vec<f32> {
        let mut t = Vec::new();
        for r in 0..size {
            for c in 0..size {
                let x = x0 + (c as f64 + 0.5) * w / size as f64 - 0.5;
                let y = y0 + (r as f64 + 0.5) * h / size as f64 - 0.5;
                let p = sample_bilinear(img, x, y);
                t.extend(order.map(|k| p[k] / 255.0));
            }
        }
        t
    }

    #[test]
    fn region_matches_per_pixel_sampling_inside_and_past_the_edges() {
        let img = RgbImage::from_fn(37, 23, |x, y| image::Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x * 5) as u8]));
        for region in [(2.3, 1.7, 20.0, 15.5), (-10.0, -6.0, 60.0, 40.0), (30.0, 20.0, 9.0, 9.0), (5.0, 5.0, 0.5, 0.5)] {
            for (size, order) in [(16, [0, 1, 2]), (7, [2, 1, 0])] {
                assert_eq!(region_nhwc(&img, region, size, order), region_reference(&img, region, size, order), "{region:?} {size}");
            }
        }
    }
}
