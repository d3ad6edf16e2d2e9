//! Identity-document validation for simkyc: Chinese resident ID numbers (GB 11643-1999) and
//! ICAO 9303 MRZs of passports and travel permits, each failure a distinct reason code.

pub mod cn_id;
pub mod date;
pub mod mrz;

pub use date::Date;

/// Why a document was refused; `code()` gives the stable, machine-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// Not 18 characters.
    #[error("a resident ID number has 18 characters, this one has {got}")]
    IdLength {
        /// Characters given.
        got: usize,
    },
    /// Not 17 digits followed by a digit or X.
    #[error("a resident ID number is 17 digits followed by a digit or X")]
    IdCharset,
    /// The MOD 11-2 check character does not match.
    #[error("the check character should be {expected}, not {got}: the number was probably mistyped")]
    IdChecksum {
        /// Correct check character.
        expected: char,
        /// Check character given.
        got: char,
    },
    /// The first two digits are not a province-level code.
    #[error("{code:02} is not a province code")]
    IdProvince {
        /// The code given.
        code: u8,
    },
    /// Digits 7–14 are not a real date (from 1900 on).
    #[error("the birth date in the number is not a real date")]
    IdBirthDateInvalid,
    /// The birth date is after today.
    #[error("the birth date in the number is in the future")]
    IdBirthDateFuture,
    /// The MRZ has the wrong shape or characters.
    #[error("the machine-readable zone is malformed: {0}")]
    MrzFormat(String),
    /// A check digit does not match its field.
    #[error("the check digit of the {field} field does not match")]
    MrzCheckDigit {
        /// Which field.
        field: &'static str,
    },
    /// The MRZ birth date is not a real past date.
    #[error("the birth date in the machine-readable zone is invalid")]
    MrzBirthDate,
    /// The document has expired.
    #[error("the document expired on {expiry}")]
    Expired {
        /// Expiry date.
        expiry: Date,
    },
}

impl DocError {
    /// Stable reason code for APIs, logs and the console's messages.
    pub fn code(&self) -> &'static str {
        match self {
            DocError::IdLength { .. } => "id_length",
            DocError::IdCharset => "id_charset",
            DocError::IdChecksum { .. } => "id_checksum",
            DocError::IdProvince { .. } => "id_province_unknown",
            DocError::IdBirthDateInvalid => "id_birth_date_invalid",
            DocError::IdBirthDateFuture => "id_birth_date_future",
            DocError::MrzFormat(_) => "mrz_format",
            DocError::MrzCheckDigit { .. } => "mrz_check_digit",
            DocError::MrzBirthDate => "mrz_birth_date_invalid",
            DocError::Expired { .. } => "document_expired",
        }
    }
}
