//! ICAO 9303 machine-readable zones: TD3 (passports, 2 × 44) and TD1 (ID cards and travel permits,
//! 3 × 30), with every check digit verified and the expiry date compared with today.

use serde::Serialize;

use crate::cn_id::Sex;
use crate::date::Date;
use crate::DocError;

/// The fields of a validated MRZ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mrz {
    /// `td1` or `td3`.
    pub format: &'static str,
    /// Document code (e.g. `P`, `I`, `C`).
    pub document_code: String,
    /// Issuing state or organisation.
    pub issuer: String,
    /// Document number, fillers removed.
    pub document_number: String,
    /// Nationality.
    pub nationality: String,
    /// Birth date.
    pub birth_date: Date,
    /// Sex.
    pub sex: Sex,
    /// Expiry date.
    pub expiry_date: Date,
    /// Primary identifier (surname).
    pub surname: String,
    /// Secondary identifier (given names).
    pub given_names: String,
}

fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u32),
        b'A'..=b'Z' => Some((c - b'A') as u32 + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit of a field (weights 7, 3, 1).
pub fn check_digit(field: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in field.bytes().enumerate() {
        sum += value(c)? * [7, 3, 1][i % 3];
    }
    Some(b'0' + (sum % 10) as u8)
}

fn verify(field_name: &'static str, field: &str, check: u8) -> Result<(), DocError> {
    // A check digit of '<' is allowed only for an empty optional field.
    if check == b'<' && field.bytes().all(|c| c == b'<') {
        return Ok(());
    }
    match check_digit(field) {
        Some(d) if d == check => Ok(()),
        _ => Err(DocError::MrzCheckDigit { field: field_name }),
    }
}

fn yymmdd(s: &str, future_century: bool, today: Date) -> Option<Date> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = s[0..2].parse().ok()?;
    let cur = today.year % 100;
    let century = today.year - cur;
    // Birth dates are never in the future; expiry dates are at most ~50 years ahead.
    let year = if future_century {
        if yy < cur + 50 {
            century + yy
        } else {
            century - 100 + yy
        }
    } else if yy > cur {
        century - 100 + yy
    } else {
        century + yy
    };
    Date::new(year, s[2..4].parse().ok()?, s[4..6].parse().ok()?)
}

fn sex(c: u8) -> Result<Sex, DocError> {
    match c {
        b'M' => Ok(Sex::Male),
        b'F' => Ok(Sex::Female),
        b'<' | b'X' => Ok(Sex::Unspecified),
        _ => Err(DocError::MrzFormat("sex must be M, F or <".into())),
    }
}

fn names(field: &str) -> (String, String) {
    let mut parts = field.trim_end_matches('<').splitn(2, "<<");
    let clean = |s: &str| s.split('<').filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    (clean(parts.next().unwrap_or("")), clean(parts.next().unwrap_or("")))
}

/// Validates an MRZ given as its lines (separated by newlines), as of `today`.
pub fn validate(text: &str, today: Date) -> Result<Mrz, DocError> {
    let lines: Vec<String> = text.lines().map(|l| l.trim().replace(' ', "").to_ascii_uppercase()).filter(|l| !l.is_empty()).collect();
    for l in &lines {
        if let Some(bad) = l.bytes().find(|c| value(*c).is_none()) {
            return Err(DocError::MrzFormat(format!("character {:?} is not allowed in an MRZ", bad as char)));
        }
    }
    let lens: Vec<usize> = lines.iter().map(|l| l.len()).collect();
    let m = match lens.as_slice() {
        [44, 44] => td3(&lines[0], &lines[1], today)?,
        [30, 30, 30] => td1(&lines[0], &lines[1], &lines[2], today)?,
        _ => return Err(DocError::MrzFormat(format!("expected 2 lines of 44 (TD3) or 3 lines of 30 (TD1), got lengths {lens:?}"))),
    };
    if m.birth_date > today {
        return Err(DocError::MrzBirthDate);
    }
    if m.expiry_date < today {
        return Err(DocError::Expired { expiry: m.expiry_date });
    }
    Ok(m)
}

fn td3(l1: &str, l2: &str, today: Date) -> Result<Mrz, DocError> {
    verify("document_number", &l2[0..9], l2.as_bytes()[9])?;
    verify("birth_date", &l2[13..19], l2.as_bytes()[19])?;
    verify("expiry_date", &l2[21..27], l2.as_bytes()[27])?;
    verify("personal_number", &l2[28..42], l2.as_bytes()[42])?;
    let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]);
    verify("composite", &composite, l2.as_bytes()[43])?;
    let (surname, given_names) = names(&l1[5..44]);
    Ok(Mrz {
        format: "td3",
        document_code: l1[0..2].trim_end_matches('<').into(),
        issuer: l1[2..5].trim_end_matches('<').into(),
        document_number: l2[0..9].trim_end_matches('<').into(),
        nationality: l2[10..13].trim_end_matches('<').into(),
        birth_date: yymmdd(&l2[13..19], false, today).ok_or(DocError::MrzBirthDate)?,
        sex: sex(l2.as_bytes()[20])?,
        expiry_date: yymmdd(&l2[21..27], true, today).ok_or(DocError::MrzFormat("invalid expiry date".into()))?,
        surname,
        given_names,
    })
}

fn td1(l1: &str, l2: &str, l3: &str, today: Date) -> Result<Mrz, DocError> {
    verify("document_number", &l1[5..14], l1.as_bytes()[14])?;
    verify("birth_date", &l2[0..6], l2.as_bytes()[6])?;
    verify("expiry_date", &l2[8..14], l2.as_bytes()[14])?;
    let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
    verify("composite", &composite, l2.as_bytes()[29])?;
    let (surname, given_names) = names(l3);
    Ok(Mrz {
        format: "td1",
        document_code: l1[0..2].trim_end_matches('<').into(),
        issuer: l1[2..5].trim_end_matches('<').into(),
        document_number: l1[5..14].trim_end_matches('<').into(),
        nationality: l2[15..18].trim_end_matches('<').into(),
        birth_date: yymmdd(&l2[0..6], false, today).ok_or(DocError::MrzBirthDate)?,
        sex: sex(l2.as_bytes()[7])?,
        expiry_date: yymmdd(&l2[8..14], true, today).ok_or(DocError::MrzFormat("invalid expiry date".into()))?,
        surname,
        given_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // ICAO 9303 specimens (Utopia); they expired in 2012, so "today" is set before that.
    const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    const TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";

    fn in_2010() -> Date {
        Date::new(2010, 6, 1).unwrap()
    }

    #[test]
    fn icao_specimens_validate() {
        let p = validate(TD3, in_2010()).unwrap();
        assert_eq!((p.format, p.document_number.as_str(), p.nationality.as_str()), ("td3", "L898902C3", "UTO"));
        assert_eq!(p.birth_date, Date::new(1974, 8, 12).unwrap());
        assert_eq!(p.expiry_date, Date::new(2012, 4, 15).unwrap());
        assert_eq!((p.surname.as_str(), p.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
        assert_eq!(p.sex, Sex::Female);
        let c = validate(TD1, in_2010()).unwrap();
        assert_eq!((c.format, c.document_number.as_str()), ("td1", "D23145890"));
        assert_eq!(c.expiry_date, Date::new(2012, 4, 15).unwrap());
    }

    #[test]
    fn every_check_digit_is_verified() {
        let cases = [
            (0usize, 9usize, "document_number"),
            (0, 19, "birth_date"),
            (0, 27, "expiry_date"),
            (0, 42, "personal_number"),
            (0, 43, "composite"),
        ];
        for (_, pos, field) in cases {
            let mut l: Vec<String> = TD3.lines().map(String::from).collect();
            let mut b = l[1].clone().into_bytes();
            b[pos] = if b[pos] == b'0' { b'1' } else { b'0' };
            l[1] = String::from_utf8(b).unwrap();
            match validate(&l.join("\n"), in_2010()) {
                Err(DocError::MrzCheckDigit { field: f }) => assert_eq!(f, field),
                other => panic!("corrupting {field}: {other:?}"),
            }
        }
        let bad = TD1.replacen("7408122F", "7408123F", 1);
        assert!(matches!(validate(&bad, in_2010()), Err(DocError::MrzCheckDigit { field: "birth_date" })));
    }

    #[test]
    fn expired_and_malformed_documents_are_refused() {
        let today = Date::new(2026, 11, 30).unwrap();
        assert!(matches!(validate(TD3, today), Err(DocError::Expired { .. })));
        assert!(matches!(validate("P<UTO\nL898", today), Err(DocError::MrzFormat(_))));
        assert!(matches!(validate(&TD3.replace('E', "é"), today), Err(DocError::MrzFormat(_))));
        assert_eq!(DocError::Expired { expiry: today }.code(), "document_expired");
    }
}
