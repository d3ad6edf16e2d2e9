//! Reading the identity document from photos inside the service: the card's front (and back)
//! or a passport page are read by `simkyc-ocr`, the result is offered to the clerk to fill the
//! form (`POST /v1/documents/read`, nothing stored), and at the start of a registration the
//! same reading is compared with the data typed or read from the chip.

use serde::Deserialize;
use serde_json::{json, Value};
use simkyc_docs::{cn_id, Date};
use simkyc_face::decode::{decode_rgb, DecodeLimits};
use simkyc_face::FaceError;
use simkyc_ocr::mrz_read::{read_mrz, MrzReading};
use simkyc_ocr::{read_card, CardReading, OcrError, Side, TextReader};
use simkyc_workflow::{DocumentType, Reason, ReasonCode, Severity, ValidDocument};

/// Photos of a document, base64 (as in every image field of the API).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanInput {
    /// The card's front, or the passport's data page.
    pub front: String,
    /// The card's back (issuing authority, validity period).
    #[serde(default)]
    pub back: Option<String>,
}

/// What was read from the photos.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The front of a resident ID card, when the photo showed one.
    pub card: Option<CardReading>,
    /// The back, when given and read.
    pub back: Option<CardReading>,
    /// A passport or travel-permit MRZ, when the photo showed no card.
    pub mrz: Option<MrzReading>,
}

/// Why a scan failed.
#[derive(Debug)]
pub enum ScanError {
    /// A photo could not be decoded (field name, error).
    Image(&'static str, FaceError),
    /// Reading failed.
    Ocr(OcrError),
}

/// Reads the photos: a resident ID card first, an MRZ when the front shows no card.
pub fn scan(reader: &TextReader, limits: &DecodeLimits, front: &[u8], back: Option<&[u8]>, today: Date) -> Result<Scan, ScanError> {
    let img = decode_rgb(front, limits).map_err(|e| ScanError::Image("front", e))?;
    let card = read_card(reader, &img, today).map_err(ScanError::Ocr)?;
    let back = match back {
        Some(b) => {
            let bimg = decode_rgb(b, limits).map_err(|e| ScanError::Image("back", e))?;
            Some(read_card(reader, &bimg, today).map_err(ScanError::Ocr)?)
        }
        None => None,
    };
    if card.side == Side::Front {
        return Ok(Scan { card: Some(card), back, mrz: None });
    }
    let mrz = read_mrz(reader, &img, today).map_err(ScanError::Ocr)?;
    Ok(Scan { card: None, back, mrz })
}

impl Scan {
    /// The back's validity end in the form a registration takes it (`YYYY-MM-DD` or
    /// `long_term` for 长期), when the back was read.
    fn expiry_read(&self) -> Option<String> {
        let v = self.back.as_ref()?.back.as_ref()?.valid_until.as_ref()?;
        Some(if v.value == "长期" { "long_term".to_string() } else { v.value.clone() })
    }

    /// The form fields this reading fills (`document` of a registration start), for the clerk
    /// to confirm; None when nothing usable was read.
    pub fn prefill(&self) -> Option<Value> {
        if let Some(f) = self.card.as_ref().and_then(|c| c.front.as_ref()) {
            let expiry = self.expiry_read();
            return Some(json!({
                "type": DocumentType::CnResidentId.as_str(),
                "number": f.id_number.as_ref().map(|n| &n.value),
                "name": f.name.as_ref().map(|n| &n.value),
                "expiry": expiry,
            }));
        }
        let m = self.mrz.as_ref()?;
        let doc_type = if m.lines.len() == 3 { DocumentType::TravelPermit } else { DocumentType::Passport };
        Some(json!({ "type": doc_type.as_str(), "mrz": m.lines.join("\n") }))
    }

    /// Whether everything read validated (number or MRZ check digits, birth date and sex agree).
    pub fn valid(&self) -> bool {
        match (&self.card, &self.mrz) {
            (Some(c), _) => c.front.as_ref().and_then(|f| f.id_number.as_ref()).is_some_and(|n| n.valid) && c.inconsistencies.is_empty(),
            (None, Some(m)) => m.document.is_some(),
            (None, None) => false,
        }
    }

    /// The reading as the API returns it (the portrait is added by the caller).
    pub fn to_json(&self) -> Value {
        let strip = |c: &CardReading| c.to_json(false);
        let kind = match (&self.card, &self.mrz) {
            (Some(_), _) => "cn_resident_id_card",
            (None, Some(_)) => "mrz",
            (None, None) => "unknown",
        };
        json!({
            "type": kind,
            "valid": self.valid(),
            "card": self.card.as_ref().map(strip),
            "back": self.back.as_ref().map(strip),
            "mrz": self.mrz,
            "prefill": self.prefill(),
        })
    }

    /// Where what was read disagrees with the document as typed or read from the chip: one
    /// `document_data_mismatch` reason (for review) naming the fields, or none.
    pub fn mismatch(&self, doc: &ValidDocument, typed_expiry: Option<&str>) -> Option<Reason> {
        let mut fields: Vec<&str> = Vec::new();
        match doc.doc_type {
            DocumentType::CnResidentId => {
                let Some(card) = &self.card else {
                    return Some(mismatch_reason(&["document type (the photo shows no resident ID card front)"]));
                };
                let f = card.front.clone().unwrap_or_default();
                match &f.id_number {
                    Some(n) if n.valid && n.value == doc.number => {}
                    Some(n) if !n.valid => fields.push("number (unreadable or failing its check character on the card)"),
                    _ => fields.push("number"),
                }
                if f.name.as_ref().is_none_or(|n| n.value != doc.name) {
                    fields.push("name");
                }
                // Printed birth date and sex must agree with the number typed.
                if let Ok(id) = cn_id::validate(&doc.number, Date::today_utc()) {
                    for (field, _, _) in f.disagreements_with(&id) {
                        fields.push(if field == "birth_date" { "birth date" } else { field });
                    }
                }
                if let (Some(typed), Some(read)) = (typed_expiry, self.expiry_read()) {
                    if typed != read {
                        fields.push("expiry");
                    }
                }
            }
            DocumentType::Passport | DocumentType::TravelPermit => match self.mrz.as_ref().and_then(|m| m.document.as_ref()) {
                Some(m) if m.document_number.trim_end_matches('<') == doc.number => {}
                Some(_) => fields.push("document number"),
                None => fields.push("machine-readable zone (not found or failing its check digits)"),
            },
        }
        (!fields.is_empty()).then(|| mismatch_reason(&fields))
    }
}

fn mismatch_reason(fields: &[&str]) -> Reason {
    Reason::new(
        ReasonCode::DocumentDataMismatch,
        Severity::Review,
        format!("the document photo and the data entered disagree on: {}; a reviewer will check", fields.join(", ")),
    )
}
