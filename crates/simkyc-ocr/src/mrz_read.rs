//! Reading a passport's or travel permit's machine-readable zone from a photo: the text lines
//! made of MRZ characters (A–Z, 0–9, <) are taken in order, the last two of 44 characters
//! (TD3) or three of 30 (TD1) form the zone, and `simkyc-docs` checks every check digit. OCR
//! slips are never "corrected" into a valid zone: a zone that fails a check is reported failing.

use image::RgbImage;
use serde::Serialize;
use simkyc_docs::{mrz, Date};

use crate::reader::{DetLimit, TextReader};
use crate::OcrError;

/// An MRZ read from a photo.
#[derive(Debug, Clone, Serialize)]
pub struct MrzReading {
    /// The zone's lines as read.
    pub lines: Vec<String>,
    /// Recognition confidence (the weakest line).
    pub confidence: f32,
    /// The parsed, validated document; None when a check failed.
    pub document: Option<mrz::Mrz>,
    /// The reason code when validation failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Normalises an OCR line to MRZ characters: upper case, no spaces, look-alike fillers as `<`.
pub fn normalise(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '«' | '＜' | '‹' | 'く' | '〈' | '《' => '<',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

fn is_mrz_line(s: &str) -> bool {
    s.len() >= 28 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<') && s.contains('<')
}

/// Finds and validates the MRZ in a photo; None when no MRZ-like lines are found.
pub fn read_mrz(reader: &TextReader, img: &RgbImage, today: Date) -> Result<Option<MrzReading>, OcrError> {
    let lines = reader.read(img, DetLimit::Max(1280), true)?;
    let found: Vec<(String, f32)> = lines.iter().map(|l| (normalise(&l.text), l.score)).filter(|(t, _)| is_mrz_line(t)).collect();
    let take = match found.last().map(|(t, _)| t.len()) {
        Some(n) if n >= 40 => 2,
        Some(_) => 3,
        None => return Ok(None),
    };
    let zone: Vec<(String, f32)> = found[found.len().saturating_sub(take)..].to_vec();
    let text = zone.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join("\n");
    let confidence = zone.iter().map(|(_, s)| *s).fold(1.0, f32::min);
    let (document, reason) = match mrz::validate(&text, today) {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e.code().to_string())),
    };
    Ok(Some(MrzReading { lines: zone.into_iter().map(|(t, _)| t).collect(), confidence, document, reason }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_fillers_become_chevrons() {
        assert_eq!(normalise("p<uto eriksson«anna"), "P<UTOERIKSSON<ANNA");
        assert!(is_mrz_line("L898902C36UTO7408122F1204159ZE184226B<<<<<10"));
        assert!(!is_mrz_line("中华人民共和国"));
    }
}
