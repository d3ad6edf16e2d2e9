//! The document photo's check at the start of a registration: exactly one face, large enough to
//! compare with.

use simkyc_face::quality::comparable_faces;
use simkyc_face::Subject;

use crate::Analysed;

/// Default smallest inter-eye distance of a document photo's face, pixels (chip photos are
/// small: 102×126 with about 20 px between the eyes).
pub const MIN_DOCUMENT_EYE_PX: f64 = 12.0;

/// Why a document photo cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentPhotoProblem {
    /// No face found.
    #[error("no face was found in the document photo; photograph or read it again")]
    NoFace,
    /// More than one face of comparable size.
    #[error("the document photo shows more than one face; photograph the photo area only")]
    MultipleFaces,
    /// The face is too small to compare.
    #[error("the face in the document photo is too small ({inter_eye_px:.0} px between the eyes); use a sharper, larger image")]
    TooSmall {
        /// Measured inter-eye distance, pixels.
        inter_eye_px: f64,
    },
}

impl DocumentPhotoProblem {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentPhotoProblem::NoFace => "document_photo_no_face",
            DocumentPhotoProblem::MultipleFaces => "document_photo_multiple_faces",
            DocumentPhotoProblem::TooSmall { .. } => "document_photo_too_small",
        }
    }
}

/// The document photo's subject, when the photo shows exactly one face at least `min_eye_px`
/// between the eyes.
pub fn check_document_photo(a: &Analysed, min_eye_px: f64) -> Result<&Subject, DocumentPhotoProblem> {
    let subject = a.analysis.subject.as_ref().ok_or(DocumentPhotoProblem::NoFace)?;
    if comparable_faces(&a.analysis, subject) > 1 {
        return Err(DocumentPhotoProblem::MultipleFaces);
    }
    if subject.inter_eye_px < min_eye_px {
        return Err(DocumentPhotoProblem::TooSmall { inter_eye_px: subject.inter_eye_px });
    }
    Ok(subject)
}
