//! Synthetic Chinese resident ID cards for testing document reading. No real card exists in the
//! development data and none may be collected, so cards are drawn after the public layout with a
//! CJK font, random valid data (GB 11643-1999 numbers whose birth date and sex agree with the
//! printed ones) and faces from the development sets as portraits, then photographed with
//! perspective, blur, glare, low light and JPEG compression. Output stays out of git.

pub mod identity;
pub mod passport;
pub mod photo;
pub mod render;

use std::path::{Path, PathBuf};

use image::RgbImage;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use simkyc_ocr::geometry::Pt;

pub use identity::{random_identity, Identity};
pub use photo::Distortions;
pub use render::{Typeface, DEFAULT_FONT};

/// Which side of the card a sample shows.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CardSide {
    /// Name, sex, ethnicity, birth, address, number, portrait.
    Front,
    /// Issuing authority and validity period.
    Back,
}

/// The ground truth of one synthetic photo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    /// Sample number within its seed.
    pub index: u32,
    /// Which side is shown.
    pub side: CardSide,
    /// What is printed.
    pub identity: Identity,
    /// The portrait's source image (front), relative to the faces directory.
    pub portrait_source: Option<String>,
    /// The card's corners in the photo (tl, tr, br, bl as printed).
    pub card_corners: [Pt; 4],
    /// How the photo was degraded.
    pub distortions: Distortions,
}

/// One generated photo: JPEG bytes and truth.
pub struct Sample {
    /// The photo, JPEG-encoded at the truth's quality.
    pub jpeg: Vec<u8>,
    /// What it shows.
    pub truth: Truth,
}

/// Errors from generating cards.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The font could not be loaded.
    #[error(transparent)]
    Font(#[from] render::FontError),
    /// A portrait could not be read.
    #[error("portrait {path}: {why}")]
    Portrait {
        /// Which file.
        path: String,
        /// Why.
        why: String,
    },
    /// Encoding the photo failed.
    #[error("encoding the photo: {0}")]
    Encode(String),
}

/// Generates synthetic card photos, deterministically from a seed.
pub struct Generator {
    font: Typeface,
    faces_root: Option<PathBuf>,
    faces: Vec<String>,
    seed: u64,
    today_year: i32,
}

/// Approximate width of a quadrilateral (mean of its top and bottom edges).
pub(crate) fn geometry_width(q: &[Pt; 4]) -> f64 {
    (simkyc_ocr::geometry::dist(q[0], q[1]) + simkyc_ocr::geometry::dist(q[3], q[2])) / 2.0
}

impl Generator {
    /// A generator drawing with the font at `font_path`, portraits from `faces` (image paths
    /// relative to `faces_root`; a plain grey silhouette when none are given).
    pub fn new(
        font_path: &str,
        faces_root: Option<PathBuf>,
        mut faces: Vec<String>,
        seed: u64,
        today_year: i32,
    ) -> Result<Generator, GenError> {
        faces.sort();
        Ok(Generator { font: Typeface::load(font_path)?, faces_root, faces, seed, today_year })
    }

    fn portrait(&self, rng: &mut impl Rng) -> Result<(RgbImage, Option<String>), GenError> {
        if let (Some(root), false) = (&self.faces_root, self.faces.is_empty()) {
            let rel = &self.faces[rng.gen_range(0..self.faces.len())];
            let path = root.join(rel);
            let img = image::open(&path).map_err(|e| GenError::Portrait { path: path.display().to_string(), why: e.to_string() })?;
            return Ok((img.to_rgb8(), Some(rel.clone())));
        }
        let img = RgbImage::from_fn(120, 150, |x, y| {
            let head = (x as f32 - 60.0).powi(2) / 900.0 + (y as f32 - 60.0).powi(2) / 1600.0 < 1.0;
            let body = y > 100 && (x as f32 - 60.0).abs() < (y as f32 - 70.0) * 1.2;
            if head || body {
                image::Rgb([90, 90, 95])
            } else {
                image::Rgb([235, 238, 240])
            }
        });
        Ok((img, None))
    }

    /// Generates sample `index`: fronts and backs alternate (even indices are fronts).
    pub fn sample(&self, index: u32) -> Result<Sample, GenError> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
        let identity = random_identity(&mut rng, self.today_year);
        let side = if index.is_multiple_of(2) { CardSide::Front } else { CardSide::Back };
        let (card, portrait_source) = match side {
            CardSide::Front => {
                let (p, src) = self.portrait(&mut rng)?;
                (render::front(&self.font, &identity, &p, &mut rng), src)
            }
            CardSide::Back => (render::back(&self.font, &identity, &mut rng), None),
        };
        let d = Distortions::random(&mut rng);
        let (w, h) = if rng.gen_bool(0.5) { (1280, 960) } else { (1600, 1200) };
        let (mut photo, corners) = photo::place(&card, w, h, &d, &mut rng);
        photo::degrade(&mut photo, &corners, &d, &mut rng);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, d.jpeg_quality)
            .encode_image(&photo)
            .map_err(|e| GenError::Encode(e.to_string()))?;
        Ok(Sample { jpeg, truth: Truth { index, side, identity, portrait_source, card_corners: corners, distortions: d } })
    }
}

/// The portrait sources: the first casia-dev image of each identity (ID-photo-like East-Asian
/// faces), as paths relative to the data directory, sorted; empty when the data is absent.
pub fn casia_portraits(data: &Path) -> Vec<String> {
    let root = data.join("casia-dev/images");
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else { return out };
    for d in dirs.flatten() {
        // One image per identity keeps the portraits varied.
        if let Ok(files) = std::fs::read_dir(d.path()) {
            let mut names: Vec<PathBuf> = files.flatten().map(|f| f.path()).filter(|p| p.extension().is_some_and(|e| e == "jpg")).collect();
            names.sort();
            if let Some(first) = names.first() {
                if let Ok(rel) = first.strip_prefix(data) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    out.sort();
    out
}
