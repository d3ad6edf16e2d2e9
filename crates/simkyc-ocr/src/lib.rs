//! Reading identity documents from photos: PP-OCR text detection and recognition on the face
//! engine's ONNX runtimes (tract or onnxruntime), card localisation and perspective correction,
//! and the fields of a Chinese resident ID card (front and back) or a passport MRZ.
//!
//! Data flows one way: photo → locate the card → rectify → find text lines → read them →
//! assign them to fields → validate (GB 11643, ICAO 9303) → crop the printed portrait.

pub mod card;
pub mod ctc;
pub mod db;
pub mod fields;
pub mod geometry;
pub mod locate;
pub mod models;
pub mod mrz_read;
pub mod reader;
pub mod resize;

pub use card::{read_card, CardReading, Side};
pub use reader::{TextLine, TextReader};

/// Errors from loading the OCR models or reading a document.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// A model is missing, unreadable or failed to run.
    #[error("OCR model: {0}")]
    Model(String),
    /// The OCR models are not installed.
    #[error("the OCR models are not installed in {0} (run `simkyc models fetch`)")]
    NotInstalled(String),
    /// The image cannot be read as a document.
    #[error("{0}")]
    Image(String),
}

impl From<simkyc_face::FaceError> for OcrError {
    fn from(e: simkyc_face::FaceError) -> Self {
        OcrError::Model(e.to_string())
    }
}
