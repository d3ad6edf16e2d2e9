//! Reading a passport's or travel permit's machine-readable zone from a photo: the text lines
//! made of MRZ characters (A–Z, 0–9, <) are taken in order, the last two of 44 characters
//! (TD3) or three of 30 (TD1) form the zone, and `simkyc-docs` checks every check digit.
//!
//! ICAO 9303 fixes each position's character class: names, codes and nationalities are letters,
//! dates and check digits are digits. A digit read where only a letter may stand (`UT0`) or a
//! letter where only a digit may (`74O812`) is mapped to its look-alike of the right class;
//! mixed fields (document numbers, optional data) are left exactly as read. Nothing is ever
//! changed to make a check digit pass: a zone that fails a check is reported failing.

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

/// Normalises an OCR line to MRZ characters: upper case, no spaces, look-alike fillers as `<`,
/// and a run of nothing but `>` (a filler run the orientation classifier turned over) as `<`.
pub fn normalise(line: &str) -> String {
    if !line.is_empty() && line.chars().all(|c| c == '>') {
        return "<".repeat(line.chars().count());
    }
    line.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '«' | '＜' | '‹' | 'く' | '〈' | '《' => '<',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Character class of each position: `A` letters (or `<`), `9` digits (or `<`), `X` either.
fn classes(len: usize, line: usize, lines: usize) -> &'static str {
    match (lines, line, len) {
        // TD3: code, issuer, names / number, check, nationality, birth, check, sex, expiry,
        // check, optional data, its check, composite check.
        (2, 0, 44) => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        (2, 1, 44) => "XXXXXXXXX9AAA9999999A9999999XXXXXXXXXXXXXX99",
        // TD1: code, issuer, number, check, optional / birth, check, sex, expiry, check,
        // nationality, optional, composite check / names.
        (3, 0, 30) => "AAAAAXXXXXXXXX9XXXXXXXXXXXXXXX",
        (3, 1, 30) => "9999999A9999999AAAXXXXXXXXXXX9",
        (3, 2, 30) => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        _ => "",
    }
}

/// Maps look-alikes to the class each position allows (see the module documentation).
pub fn fix_classes(zone: &[String]) -> Vec<String> {
    zone.iter()
        .enumerate()
        .map(|(i, line)| {
            let class = classes(line.len(), i, zone.len());
            if class.len() != line.len() {
                return line.clone();
            }
            line.chars()
                .zip(class.chars())
                .map(|(c, k)| match (k, c) {
                    ('A', '0') => 'O',
                    ('A', '1') => 'I',
                    ('A', '2') => 'Z',
                    ('A', '5') => 'S',
                    ('A', '8') => 'B',
                    ('9', 'O' | 'Q' | 'D') => '0',
                    ('9', 'I' | 'L') => '1',
                    ('9', 'Z') => '2',
                    ('9', 'S') => '5',
                    ('9', 'G') => '6',
                    ('9', 'B') => '8',
                    _ => c,
                })
                .collect()
        })
        .collect()
}

fn is_mrz_line(s: &str) -> bool {
    s.len() >= 14 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<') && s.contains('<')
}

/// Finds and validates the MRZ in a photo; None when no MRZ-like lines are found.
pub fn read_mrz(reader: &TextReader, img: &RgbImage, today: Date) -> Result<Option<MrzReading>, OcrError> {
    let lines = reader.read(img, DetLimit::Max(1280), true)?;
    // A zone line may come as several boxes (a long run of fillers is weak text to the
    // detector): boxes on one row are joined left to right first.
    // Two boxes share a row when each one's centre lies within half a line height of the
    // other's centre line (measured across the text, so a tilted page groups correctly).
    let centre = |l: &crate::reader::TextLine| crate::geometry::centre(&l.quad);
    let same_row = |a: &crate::reader::TextLine, b: &crate::reader::TextLine| {
        let (ca, cb) = (centre(a), centre(b));
        let (dx, dy) = (a.quad[1][0] - a.quad[0][0], a.quad[1][1] - a.quad[0][1]);
        let n = (dx * dx + dy * dy).sqrt().max(1e-9);
        let across = ((cb[0] - ca[0]) * -dy + (cb[1] - ca[1]) * dx).abs() / n;
        across < crate::geometry::dist(a.quad[0], a.quad[3]) * 0.5
    };
    let mut rows: Vec<Vec<&crate::reader::TextLine>> = Vec::new();
    for l in &lines {
        match rows.iter_mut().find(|r| r.iter().all(|m| same_row(m, l) && same_row(l, m))) {
            Some(r) => r.push(l),
            None => rows.push(vec![l]),
        }
    }
    rows.sort_by(|a, b| centre(a[0])[1].total_cmp(&centre(b[0])[1]));
    let joined: Vec<(String, f32)> = rows
        .iter_mut()
        .map(|parts| {
            parts.sort_by(|a, b| centre(a)[0].total_cmp(&centre(b)[0]));
            (parts.iter().map(|l| normalise(&l.text)).collect::<String>(), parts.iter().map(|l| l.score).fold(1.0, f32::min))
        })
        .collect();
    let found: Vec<(String, f32)> = joined.into_iter().filter(|(t, _)| is_mrz_line(t)).collect();
    let (take, width) = match found.iter().map(|(t, _)| t.len()).max() {
        Some(n) if n >= 40 => (2, 44),
        Some(_) => (3, 30),
        None => return Ok(None),
    };
    let zone: Vec<(String, f32)> = found[found.len().saturating_sub(take)..].to_vec();
    let confidence = zone.iter().map(|(_, s)| *s).fold(1.0, f32::min);
    // A line that stops short in fillers is completed with fillers; the check digits (the
    // composite one covers the optional fields) still decide whether that reading holds.
    let padded: Vec<String> =
        zone.iter().map(|(t, _)| if t.len() < width && t.ends_with('<') { format!("{t:<<width$}") } else { t.clone() }).collect();
    let fixed = fix_classes(&padded);
    let text = fixed.join("\n");
    let (document, reason) = match mrz::validate(&text, today) {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e.code().to_string())),
    };
    Ok(Some(MrzReading { lines: fixed, confidence, document, reason }))
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

    #[test]
    fn every_class_line_is_as_long_as_its_zone_line() {
        assert_eq!(classes(44, 0, 2).len(), 44);
        assert_eq!(classes(44, 1, 2).len(), 44);
        for i in 0..3 {
            assert_eq!(classes(30, i, 3).len(), 30);
        }
    }

    #[test]
    fn look_alikes_take_the_class_of_their_position_only() {
        let read =
            vec!["P<UT0ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<".to_string(), "L898902C36UT074O8122F12O4159ZE184226B<<<<<1O".to_string()];
        let fixed = fix_classes(&read);
        assert_eq!(fixed[0], "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
        assert_eq!(fixed[1], "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
        // The document number (mixed letters and digits) is left as read.
        let number = vec![read[0].clone(), "L8989O2C36UTO7408122F1204159ZE184226B<<<<<10".to_string()];
        assert_eq!(&fix_classes(&number)[1][..9], "L8989O2C3");
    }
}
