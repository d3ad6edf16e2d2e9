//! Face alignment: a similarity transform from landmarks to the embedder's canonical template,
//! and extraction of the aligned chip by bilinear sampling (box-halving first for big reductions).

use image::RgbImage;
pub use simkyc_dlib::shape_predictor::Similarity;

use crate::image_ops::{halve, sample_bilinear};
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
                let chip: Vec<[f64; 2]> = DLIB_5PT.iter().map(|p| [(padding + p[0]) / (2.0 * padding + 1.0) * s, (padding + p[1]) / (2.0 * padding + 1.0) * s]).collect();
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

/// Samples a `width × height` chip through `tf` (chip → image).
pub fn extract_chip(img: &RgbImage, tf: &Similarity, width: u32, height: u32) -> RgbImage {
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
        let v = sample_bilinear(&src, (x + 0.5) / factor - 0.5, (y + 0.5) / factor - 0.5);
        *p = image::Rgb([v[0] as u8, v[1] as u8, v[2] as u8]);
    }
    out
}
