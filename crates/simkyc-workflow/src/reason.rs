//! Why a registration was refused or sent to review: one enum of every reason code the service
//! gives, so a code is checked by the compiler instead of compared as text, plus the reason as
//! clients see it (code, effect, message).

use serde::{Deserialize, Serialize};

/// What a reason does to the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The registration is refused.
    Reject,
    /// A reviewer must decide.
    Review,
}

macro_rules! reason_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// Every reason code of the service; stored, logged and sent as its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ReasonCode {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl ReasonCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// The stable name (API, storage, metrics).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $name,)*
                }
            }
        }
    };
}

reason_codes! {
    /// The resident ID number is missing.
    IdNumberMissing = "id_number_missing",
    /// The resident ID number has the wrong length.
    IdLength = "id_length",
    /// The resident ID number has characters it may not have.
    IdCharset = "id_charset",
    /// The MOD 11-2 check character is wrong.
    IdChecksum = "id_checksum",
    /// The number's province code is not a province.
    IdProvinceUnknown = "id_province_unknown",
    /// The number's birth date is not a date.
    IdBirthDateInvalid = "id_birth_date_invalid",
    /// The number's birth date lies in the future.
    IdBirthDateFuture = "id_birth_date_future",
    /// The holder's name is missing or too long.
    NameMissing = "name_missing",
    /// The card's expiry date is missing.
    DocumentExpiryMissing = "document_expiry_missing",
    /// The card's expiry date is not a date.
    DocumentExpiryInvalid = "document_expiry_invalid",
    /// The document has expired.
    DocumentExpired = "document_expired",
    /// A field was given that this document type does not have.
    FieldNotAllowed = "field_not_allowed",
    /// The machine-readable zone is missing.
    MrzMissing = "mrz_missing",
    /// The machine-readable zone is malformed.
    MrzFormat = "mrz_format",
    /// The zone is of another format than the document type has.
    MrzWrongFormat = "mrz_wrong_format",
    /// A check digit of the zone is wrong.
    MrzCheckDigit = "mrz_check_digit",
    /// The zone's birth date is not a date.
    MrzBirthDateInvalid = "mrz_birth_date_invalid",
    /// A live frame shows no face (or the face was lost during the challenge).
    LiveNoFace = "live_no_face",
    /// A live frame shows more than one customer-sized face.
    LiveMultipleFaces = "live_multiple_faces",
    /// The face is smaller than the capture requires.
    LiveFaceTooSmall = "live_face_too_small",
    /// The face runs off the edge of the frame.
    LiveFaceCutOff = "live_face_cut_off",
    /// The frame is blurred.
    LiveBlurry = "live_blurry",
    /// The face is too dark.
    LiveUnderexposed = "live_underexposed",
    /// The face is too bright or has glare.
    LiveOverexposed = "live_overexposed",
    /// The head is turned or tilted.
    LivePose = "live_pose",
    /// The eyes are closed.
    LiveEyesClosed = "live_eyes_closed",
    /// The frames of one capture show different people.
    LiveFacesDiffer = "live_faces_differ",
    /// The passive presentation-attack check failed (counts towards the device lockout).
    LivenessFailed = "liveness_failed",
    /// The active challenge was not completed (counts towards the device lockout).
    ChallengeFailed = "challenge_failed",
    /// The live face does not match the document photo.
    FaceMismatch = "face_mismatch",
    /// The faces probably match, below the strict point: a reviewer compares them.
    FaceMatchUncertain = "face_match_uncertain",
    /// The faces could not be compared.
    FaceMatchUnavailable = "face_match_unavailable",
    /// The face resembles a registration under another identity: a reviewer checks.
    DuplicateFace = "duplicate_face",
    /// The document already holds the operator's limit of active SIMs.
    SimLimitReached = "sim_limit_reached",
    /// What was read from the card's photo disagrees with the data typed or read from the chip:
    /// a reviewer checks.
    DocumentDataMismatch = "document_data_mismatch",
}

impl ReasonCode {
    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// Whether the reason describes the framing, not the person: the clerk may capture again
    /// before the registration is decided.
    pub fn is_retryable(self) -> bool {
        use ReasonCode::*;
        matches!(
            self,
            LiveNoFace
                | LiveMultipleFaces
                | LiveFaceTooSmall
                | LiveFaceCutOff
                | LiveBlurry
                | LiveUnderexposed
                | LiveOverexposed
                | LivePose
                | LiveEyesClosed
        )
    }

    /// Whether the reason is a failed liveness verdict (passive or challenge), which counts
    /// towards the device's lockout.
    pub fn is_liveness_failure(self) -> bool {
        matches!(self, ReasonCode::LivenessFailed | ReasonCode::ChallengeFailed)
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A machine-readable reason with a message a clerk can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code, e.g. `face_mismatch`.
    pub code: ReasonCode,
    /// Its effect on the outcome.
    pub severity: Severity,
    /// Plain-language explanation for the clerk.
    pub message: String,
}

impl Reason {
    /// Builds a reason.
    pub fn new(code: ReasonCode, severity: Severity, message: impl Into<String>) -> Reason {
        Reason { code, severity, message: message.into() }
    }

    /// A refusing reason.
    pub fn reject(code: ReasonCode, message: impl Into<String>) -> Reason {
        Reason::new(code, Severity::Reject, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        for c in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{}\"", c.as_str()));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ReasonCode::ALL.len());
        assert_eq!(ReasonCode::parse("no_such_code"), None);
    }

    #[test]
    fn stored_reasons_read_back() {
        let text = r#"[{"code":"face_mismatch","severity":"reject","message":"m"}]"#;
        let r: Vec<Reason> = serde_json::from_str(text).unwrap();
        assert_eq!(r, [Reason::reject(ReasonCode::FaceMismatch, "m")]);
    }

    #[test]
    fn retryable_codes_are_framing_only() {
        assert!(ReasonCode::LiveEyesClosed.is_retryable());
        assert!(!ReasonCode::LivenessFailed.is_retryable() && !ReasonCode::ChallengeFailed.is_retryable());
        assert!(!ReasonCode::LiveFacesDiffer.is_retryable());
    }
}
