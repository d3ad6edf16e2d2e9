//! Face alignment: a similarity transform from landmarks to the embedder's canonical template,
//! and extraction of the aligned chip by bilinear sampling (box-halving first for big reductions).

use image::RgbImage;
pub use simkyc_dlib::shape_predictor::Similarity;

use crate::image_ops::{halve, sample_bilinear, sample_bilinear_black};
use crate::FaceError;

/// dlib's 5-point template on the unit square (`get_face_chip_details`), in the shape predictor's order:
/// subject's left eye outer and inner corners, right eye outer and inner corners, base of the nose.
pub const DLIB_5PT: [[f64; 2]; 5] = [
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
];

/// InsightFace's 112×112 ArcFace template: left eye, right eye, nose tip (mouth corners unused here).
pub const ARCFACE_112: [[f64; 2]; 3] = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366]];

/// The full five-point ArcFace template (eyes, nose tip, mouth corners in image order), as
/// OpenCV's `FaceRecognizerSF::alignCrop` and InsightFace use it.
pub const ARCFACE_112_5: [[f64; 2]; 5] =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// The inverse of a similarity transform (the identity if it is degenerate).
pub fn inverse(s: &Similarity) -> Similarity {
    let (a, b) = (s.m[0][0], s.m[1][0]);
    let d = a * a + b * b;
    if d <= 0.0 || !d.is_finite() {
        return Similarity { m: [[1.0, 0.0], [0.0, 1.0]], t: [0.0, 0.0] };
    }
    let m = [[a / d, b / d], [-b / d, a / d]];
    let t = [-(m[0][0] * s.t[0] + m[0][1] * s.t[1]), -(m[1][0] * s.t[0] + m[1][1] * s.t[1])];
    Similarity { m, t }
}

/// Chip-to-image transform for five ArcFace-order points (a detector's own: YuNet's), fitted as
/// OpenCV does — image points onto the template by least squares — then inverted for sampling.
pub fn arcface_chip_to_image(points: &[[f64; 2]], size: u32) -> Result<Similarity, FaceError> {
    if points.len() != 5 || points.iter().flatten().any(|v| !v.is_finite()) {
        return Err(FaceError::Model(format!("ArcFace alignment needs 5 finite points, got {}", points.len())));
    }
    let chip: Vec<[f64; 2]> = ARCFACE_112_5.iter().map(|p| [p[0] * size as f64 / 112.0, p[1] * size as f64 / 112.0]).collect();
    Ok(inverse(&Similarity::fit(points, &chip)))
}

/// Where landmarks should land in the chip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Template {
    /// dlib's template with a border, for a square chip of the given size.
    Dlib5 { padding: f64 },
    /// ArcFace/SFace template, scaled from 112 px to the chip size.
    Arcface,
}

impl Template {
    /// Parses a manifest template name.
    pub fn from_manifest(name: &str, padding: f64) -> Result<Template, FaceError> {
        match name {
            "dlib-5pt" => Ok(Template::Dlib5 { padding }),
            "arcface-5pt" => Ok(Template::Arcface),
            other => Err(FaceError::Model(format!("unknown alignment template {other:?} (use dlib-5pt or arcface-5pt)"))),
        }
    }

    /// The transform mapping chip pixels to image pixels for dlib-5 landmarks.
    pub fn chip_to_image(&self, landmarks: &[[f64; 2]], size: u32) -> Result<Similarity, FaceError> {
        if landmarks.len() != 5 {
            return Err(FaceError::Model(format!("alignment needs 5 landmarks, got {}", landmarks.len())));
        }
        let s = size as f64;
        match self {
            Template::Dlib5 { padding } => {
                let chip: Vec<[f64; 2]> = DLIB_5PT
                    .iter()
                    .map(|p| [(padding + p[0]) / (2.0 * padding + 1.0) * s, (padding + p[1]) / (2.0 * padding + 1.0) * s])
                    .collect();
                Ok(Similarity::fit(&chip, landmarks))
            }
            Template::Arcface => {
                let mid = |a: [f64; 2], b: [f64; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
                // Image-left eye is the subject's right eye (points 2, 3).
                let img = [mid(landmarks[2], landmarks[3]), mid(landmarks[0], landmarks[1]), landmarks[4]];
                let chip: Vec<[f64; 2]> = ARCFACE_112.iter().map(|p| [p[0] * s / 112.0, p[1] * s / 112.0]).collect();
                Ok(Similarity::fit(&chip, &img))
            }
        }
    }
}

/// What a chip shows where it reaches past the image's edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChipBorder {
    /// Each template's measured best: `Black` for the ArcFace template (SFace: casia-dev FNMR
    /// 4.2 → 3.1 % at the common point), `Repeat` for dlib's (EER 6.4 → 5.8 % on casia-dev).
    #[default]
    Auto,
    /// The edge pixels repeated.
    Repeat,
    /// Black, as OpenCV's `alignCrop` (warpAffine with a zero constant border) makes SFace chips.
    Black,
}

impl ChipBorder {
    /// The border actually used with a template.
    pub fn resolve(self, template: Template) -> ChipBorder {
        match (self, template) {
            (ChipBorder::Auto, Template::Arcface) => ChipBorder::Black,
            (ChipBorder::Auto, Template::Dlib5 { .. }) => ChipBorder::Repeat,
            (b, _) => b,
        }
    }
}

/// Samples a `width × height` chip through `tf` (chip → image), the border repeated.
pub fn extract_chip(img: &RgbImage, tf: &Similarity, width: u32, height: u32) -> RgbImage {
    extract_chip_with(img, tf, width, height, ChipBorder::Repeat)
}

/// Samples a `width × height` chip through `tf` (chip → image) with the given border.
pub fn extract_chip_with(img: &RgbImage, tf: &Similarity, width: u32, height: u32, border: ChipBorder) -> RgbImage {
    // Reduce by box-halving while the chip would sample more than 2 image pixels per chip pixel.
    let scale = (tf.m[0][0] * tf.m[0][0] + tf.m[1][0] * tf.m[1][0]).sqrt();
    let mut src = std::borrow::Cow::Borrowed(img);
    let mut factor = 1.0;
    while scale / factor > 2.0 && src.width() > 1 && src.height() > 1 {
        src = std::borrow::Cow::Owned(halve(&src));
        factor *= 2.0;
    }
    let mut out = RgbImage::new(width, height);
    for (c, r, p) in out.enumerate_pixels_mut() {
        let q = tf.apply([c as f64, r as f64]);
        let (x, y) = (q[0], q[1]);
        // Outside the image the edge pixels are repeated (see docs/accuracy.md: black borders on
        // tightly cropped photos cost accuracy). Halved pixel i covers original pixels 2i, 2i+1.
        let (sx, sy) = ((x + 0.5) / factor - 0.5, (y + 0.5) / factor - 0.5);
        let v = match border {
            ChipBorder::Black => sample_bilinear_black(&src, sx, sy),
            ChipBorder::Repeat | ChipBorder::Auto => sample_bilinear(&src, sx, sy),
        };
        *p = image::Rgb([v[0] as u8, v[1] as u8, v[2] as u8]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_on_the_template_give_the_identity() {
        let pts: Vec<[f64; 2]> = ARCFACE_112_5.iter().map(|p| [p[0] * 2.0 + 10.0, p[1] * 2.0 - 4.0]).collect();
        let tf = arcface_chip_to_image(&pts, 112).unwrap();
        for (c, i) in ARCFACE_112_5.iter().zip(&pts) {
            let q = tf.apply(*c);
            assert!((q[0] - i[0]).abs() < 1e-9 && (q[1] - i[1]).abs() < 1e-9, "{q:?} vs {i:?}");
        }
        let back = inverse(&tf);
        let q = back.apply(pts[2]);
        assert!((q[0] - ARCFACE_112_5[2][0]).abs() < 1e-9);
    }

    #[test]
    fn bad_points_are_refused() {
        assert!(arcface_chip_to_image(&[[0.0, 0.0]; 3], 112).is_err());
        assert!(arcface_chip_to_image(&[[f64::NAN, 0.0]; 5], 112).is_err());
    }
}
