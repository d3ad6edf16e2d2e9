//! Image decoding with hard limits: JPEG, PNG, WebP and BMP to 8-bit RGB, EXIF orientation applied.
//! Oversized files and decompression bombs (a small file that claims a huge size) are refused
//! before any pixel buffer is allocated.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::FaceError;

/// Limits applied to every decoded image.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest accepted encoded size in bytes.
    pub max_bytes: usize,
    /// Largest accepted width or height in pixels.
    pub max_side: u32,
    /// Largest accepted pixel count.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_bytes: 15 * 1024 * 1024, max_side: 8192, max_pixels: 40_000_000 }
    }
}

/// Decodes an encoded image into RGB, applying its EXIF orientation.
pub fn decode_rgb(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, FaceError> {
    if bytes.is_empty() {
        return Err(FaceError::Decode("empty image".into()));
    }
    if bytes.len() > limits.max_bytes {
        return Err(FaceError::TooLarge(format!("{} bytes (limit {})", bytes.len(), limits.max_bytes)));
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| FaceError::Decode(e.to_string()))?;
    let format = reader.format().ok_or_else(|| FaceError::Decode("not a JPEG, PNG, WebP or BMP image".into()))?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP | image::ImageFormat::Bmp) {
        return Err(FaceError::Decode(format!("unsupported image format {format:?}")));
    }
    let mut reader = reader;
    let mut lim = Limits::default();
    lim.max_image_width = Some(limits.max_side);
    lim.max_image_height = Some(limits.max_side);
    lim.max_alloc = Some(limits.max_pixels.saturating_mul(4));
    reader.limits(lim);
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(FaceError::Decode("image has no pixels".into()));
    }
    if w > limits.max_side || h > limits.max_side || (w as u64) * (h as u64) > limits.max_pixels {
        return Err(FaceError::TooLarge(format!("{w}x{h} pixels (limit {} per side, {} in all)", limits.max_side, limits.max_pixels)));
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

fn map_image_error(e: image::ImageError) -> FaceError {
    match e {
        image::ImageError::Limits(l) => FaceError::TooLarge(l.to_string()),
        other => FaceError::Decode(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).expect("encode");
        out
    }

    #[test]
    fn decodes_a_png() {
        let img = decode_rgb(&png(7, 5), &DecodeLimits::default()).expect("decode");
        assert_eq!(img.dimensions(), (7, 5));
        assert_eq!(img.get_pixel(3, 3).0, [10, 20, 30]);
    }

    #[test]
    fn refuses_non_images_and_truncation() {
        assert!(matches!(decode_rgb(b"hello world", &DecodeLimits::default()), Err(FaceError::Decode(_))));
        assert!(matches!(decode_rgb(b"", &DecodeLimits::default()), Err(FaceError::Decode(_))));
        let p = png(64, 64);
        assert!(decode_rgb(&p[..p.len() / 2], &DecodeLimits::default()).is_err());
    }

    #[test]
    fn refuses_decompression_bombs_by_header() {
        // A valid PNG header claiming 30000x30000 with almost no data.
        let mut p = png(1, 1);
        p[16..20].copy_from_slice(&30000u32.to_be_bytes());
        p[20..24].copy_from_slice(&30000u32.to_be_bytes());
        let crc = crc32fast::hash(&p[12..29]);
        p[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = decode_rgb(&p, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(e, FaceError::TooLarge(_)), "{e}");
    }

    #[test]
    fn refuses_oversize_files() {
        let lim = DecodeLimits { max_bytes: 10, ..Default::default() };
        assert!(matches!(decode_rgb(&png(4, 4), &lim), Err(FaceError::TooLarge(_))));
    }
}
