//! The identity document a registration is for: what the clerk submits, and the checked result.

use serde::{Deserialize, Serialize};
use simkyc_docs::{cn_id, mrz, Date, DocError};

use crate::reason::{Reason, ReasonCode, Severity};

/// Kinds of identity document accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Chinese resident identity card (GB 11643-1999 number).
    CnResidentId,
    /// Passport (ICAO 9303 TD3 MRZ).
    Passport,
    /// Travel permit or ID card with a TD1 MRZ (e.g. mainland travel permits).
    TravelPermit,
}

impl DocumentType {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::CnResidentId => "cn_resident_id",
            DocumentType::Passport => "passport",
            DocumentType::TravelPermit => "travel_permit",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<DocumentType> {
        [DocumentType::CnResidentId, DocumentType::Passport, DocumentType::TravelPermit].into_iter().find(|t| t.as_str() == s)
    }
}

/// Document data as the clerk (or a card reader) submits it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// Which kind of document.
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// Resident ID number (resident ID cards).
    #[serde(default)]
    pub number: Option<String>,
    /// Holder's name as printed (required for resident ID cards; taken from the MRZ otherwise).
    #[serde(default)]
    pub name: Option<String>,
    /// Expiry printed on a resident ID card, `YYYY-MM-DD` or `long_term`.
    #[serde(default)]
    pub expiry: Option<String>,
    /// The machine-readable zone, lines separated by newlines (passports, travel permits).
    #[serde(default)]
    pub mrz: Option<String>,
}

/// A document that passed every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidDocument {
    /// Kind of document.
    pub doc_type: DocumentType,
    /// The number that identifies the subscriber with this type.
    pub number: String,
    /// Holder's name.
    pub name: String,
    /// Birth date from the number or MRZ.
    pub birth_date: Date,
    /// Expiry date; `None` for long-term resident ID cards.
    pub expiry: Option<Date>,
}

/// The reason code of a document error (every variant has its own).
pub fn doc_code(e: &DocError) -> ReasonCode {
    match e {
        DocError::IdLength { .. } => ReasonCode::IdLength,
        DocError::IdCharset => ReasonCode::IdCharset,
        DocError::IdChecksum { .. } => ReasonCode::IdChecksum,
        DocError::IdProvince { .. } => ReasonCode::IdProvinceUnknown,
        DocError::IdBirthDateInvalid => ReasonCode::IdBirthDateInvalid,
        DocError::IdBirthDateFuture => ReasonCode::IdBirthDateFuture,
        DocError::MrzFormat(_) => ReasonCode::MrzFormat,
        DocError::MrzCheckDigit { .. } => ReasonCode::MrzCheckDigit,
        DocError::MrzBirthDate => ReasonCode::MrzBirthDateInvalid,
        DocError::Expired { .. } => ReasonCode::DocumentExpired,
    }
}

fn reason(e: &DocError) -> Reason {
    Reason::new(doc_code(e), Severity::Reject, e.to_string())
}

fn parse_iso_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Date::parse_yyyymmdd(&format!("{}{}{}", &s[0..4], &s[5..7], &s[8..10]))
}

impl DocumentInput {
    /// Checks the document on a given day; every failure is a reason with its own code.
    pub fn validate(&self, today: Date) -> Result<ValidDocument, Vec<Reason>> {
        match self.doc_type {
            DocumentType::CnResidentId => self.validate_resident_id(today),
            DocumentType::Passport | DocumentType::TravelPermit => self.validate_mrz(today),
        }
    }

    fn validate_resident_id(&self, today: Date) -> Result<ValidDocument, Vec<Reason>> {
        let mut reasons = Vec::new();
        let number = self.number.as_deref().map(str::trim).unwrap_or("");
        let id = if number.is_empty() {
            reasons.push(Reason::new(ReasonCode::IdNumberMissing, Severity::Reject, "the resident ID number is missing"));
            None
        } else {
            cn_id::validate(number, today).map_err(|e| reasons.push(reason(&e))).ok()
        };
        let name = self.name.as_deref().map(str::trim).unwrap_or("").to_string();
        if name.is_empty() || name.chars().count() > 100 {
            reasons.push(Reason::new(
                ReasonCode::NameMissing,
                Severity::Reject,
                "the holder's name (as printed on the card) is missing or too long",
            ));
        }
        let expiry = match self.expiry.as_deref().map(str::trim) {
            None | Some("") => {
                reasons.push(Reason::new(
                    ReasonCode::DocumentExpiryMissing,
                    Severity::Reject,
                    "enter the card's expiry date (YYYY-MM-DD, or long_term)",
                ));
                None
            }
            Some("long_term") => None,
            Some(s) => match parse_iso_date(s) {
                None => {
                    reasons.push(Reason::new(
                        ReasonCode::DocumentExpiryInvalid,
                        Severity::Reject,
                        "the expiry date must be a real date written YYYY-MM-DD, or long_term",
                    ));
                    None
                }
                Some(d) if d < today => {
                    reasons.push(reason(&DocError::Expired { expiry: d }));
                    None
                }
                Some(d) => Some(d),
            },
        };
        if self.mrz.is_some() {
            reasons.push(Reason::new(
                ReasonCode::FieldNotAllowed,
                Severity::Reject,
                "a resident ID card has no MRZ; leave the mrz field out",
            ));
        }
        match id {
            Some(id) if reasons.is_empty() => {
                Ok(ValidDocument { doc_type: self.doc_type, number: id.number, name, birth_date: id.birth_date, expiry })
            }
            _ => Err(reasons),
        }
    }

    fn validate_mrz(&self, today: Date) -> Result<ValidDocument, Vec<Reason>> {
        let Some(text) = self.mrz.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Err(vec![Reason::new(ReasonCode::MrzMissing, Severity::Reject, "the machine-readable zone is missing")]);
        };
        let m = mrz::validate(text, today).map_err(|e| vec![reason(&e)])?;
        let expected = if self.doc_type == DocumentType::Passport { "TD3" } else { "TD1" };
        if !m.format.eq_ignore_ascii_case(expected) {
            return Err(vec![Reason::new(
                ReasonCode::MrzWrongFormat,
                Severity::Reject,
                format!(
                    "a {} has a {expected} machine-readable zone, this one is {}",
                    self.doc_type.as_str().replace('_', " "),
                    m.format.to_uppercase()
                ),
            )]);
        }
        let name = match self.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => format!("{} {}", m.given_names, m.surname).trim().to_string(),
        };
        Ok(ValidDocument {
            doc_type: self.doc_type,
            number: format!("{}:{}", m.issuer, m.document_number),
            name,
            birth_date: m.birth_date,
            expiry: Some(m.expiry_date),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 11, 30).unwrap()
    }

    fn id(number: &str, expiry: &str) -> DocumentInput {
        DocumentInput {
            doc_type: DocumentType::CnResidentId,
            number: Some(number.into()),
            name: Some("张三".into()),
            expiry: Some(expiry.into()),
            mrz: None,
        }
    }

    fn codes(r: Result<ValidDocument, Vec<Reason>>) -> Vec<String> {
        r.err().unwrap_or_default().into_iter().map(|r| r.code.as_str().to_string()).collect()
    }

    #[test]
    fn resident_id_checks() {
        let ok = id("11010519491231002X", "2030-01-01").validate(today()).unwrap();
        assert_eq!(ok.number, "11010519491231002X");
        assert_eq!(ok.expiry, Date::new(2030, 1, 1));
        assert!(id("11010519491231002X", "long_term").validate(today()).unwrap().expiry.is_none());
        assert_eq!(codes(id("110105194912310021", "2030-01-01").validate(today())), ["id_checksum"]);
        assert_eq!(codes(id("11010519491231002X", "2020-01-01").validate(today())), ["document_expired"]);
        assert_eq!(codes(id("11010519491231002X", "2030-02-30").validate(today())), ["document_expiry_invalid"]);
        let mut none = id("", "");
        none.name = None;
        assert_eq!(codes(none.validate(today())), ["id_number_missing", "name_missing", "document_expiry_missing"]);
    }

    #[test]
    fn passport_mrz() {
        let td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
        let p = DocumentInput { doc_type: DocumentType::Passport, number: None, name: None, expiry: None, mrz: Some(td3.into()) };
        // The ICAO specimen expired in 2012.
        assert_eq!(codes(p.validate(today())), ["document_expired"]);
        let v = p.validate(Date::new(2010, 1, 1).unwrap()).unwrap();
        assert_eq!(v.number, "UTO:L898902C3");
        assert_eq!(v.name, "ANNA MARIA ERIKSSON");
        let wrong = DocumentInput { doc_type: DocumentType::TravelPermit, ..p };
        assert_eq!(codes(wrong.validate(Date::new(2010, 1, 1).unwrap())), ["mrz_wrong_format"]);
    }
}
