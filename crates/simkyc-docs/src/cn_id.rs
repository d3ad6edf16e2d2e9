//! Chinese resident identity card numbers (GB 11643-1999): 6-digit address code, 8-digit birth
//! date, 3-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check character.

use serde::Serialize;

use crate::date::Date;
use crate::DocError;

/// A validated resident ID number and what it encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResidentId {
    /// The 18 characters, upper-case.
    pub number: String,
    /// Two-digit province-level code.
    pub province: u8,
    /// Birth date.
    pub birth_date: Date,
    /// Sex encoded by the sequence digit.
    pub sex: Sex,
}

/// Sex as encoded in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Not stated (MRZ `<`).
    Unspecified,
}

/// Province-level codes in use (GB/T 2260), plus 71/81/82/83 for Taiwan, Hong Kong, Macau and the
/// residence permits of their residents.
const PROVINCES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    83,
];

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The MOD 11-2 check character for the first 17 digits; `None` when one of them is not an ASCII digit.
pub fn check_char(first17: &[u8; 17]) -> Option<char> {
    let mut sum = 0u32;
    for (d, w) in first17.iter().zip(WEIGHTS) {
        if !d.is_ascii_digit() {
            return None;
        }
        sum += (d - b'0') as u32 * w;
    }
    Some(CHECK[(sum % 11) as usize])
}

/// Validates a resident ID number as of `today`.
pub fn validate(input: &str, today: Date) -> Result<ResidentId, DocError> {
    let number: String = input.trim().to_ascii_uppercase();
    if number.chars().count() != 18 {
        return Err(DocError::IdLength { got: number.chars().count() });
    }
    let b = number.as_bytes();
    if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(DocError::IdCharset);
    }
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(&b[..17]);
    let want = check_char(&first17).ok_or(DocError::IdCharset)?;
    if want as u8 != b[17] {
        return Err(DocError::IdChecksum { expected: want, got: b[17] as char });
    }
    let province: u8 = number[0..2].parse().map_err(|_| DocError::IdCharset)?;
    if !PROVINCES.contains(&province) {
        return Err(DocError::IdProvince { code: province });
    }
    let birth_date = Date::parse_yyyymmdd(&number[6..14]).filter(|d| d.year >= 1900).ok_or(DocError::IdBirthDateInvalid)?;
    if birth_date > today {
        return Err(DocError::IdBirthDateFuture);
    }
    let sex = if (b[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female };
    Ok(ResidentId { number, province, birth_date, sex })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 11, 30).unwrap()
    }

    #[test]
    fn accepts_valid_numbers_and_decodes_them() {
        // The standard's worked example (check character X) and another valid number.
        let id = validate("11010519491231002x", today()).unwrap();
        assert_eq!(id.number, "11010519491231002X");
        assert_eq!(id.birth_date, Date::new(1949, 12, 31).unwrap());
        assert_eq!(id.sex, Sex::Female);
        assert_eq!(id.province, 11);
        let id = validate("440524188001010014", Date::new(2026, 1, 1).unwrap());
        assert!(id.is_err(), "1880 is before 1900: {id:?}");
        let id = validate("440308199901010012", today()).unwrap();
        assert_eq!(id.sex, Sex::Male);
    }

    #[test]
    fn each_failure_has_its_own_reason() {
        assert!(matches!(validate("1101051949123100", today()), Err(DocError::IdLength { got: 16 })));
        assert!(matches!(validate("11010519491231002Y", today()), Err(DocError::IdCharset)));
        assert!(matches!(validate("110105194912310021", today()), Err(DocError::IdChecksum { expected: 'X', .. })));
        // Unknown province 99 (check digit recomputed so only the province is wrong).
        let mut d = *b"99010519491231002";
        let n = format!("{}{}", std::str::from_utf8(&d).unwrap(), check_char(&d).unwrap());
        assert!(matches!(validate(&n, today()), Err(DocError::IdProvince { code: 99 })));
        // 30 February.
        d = *b"11010519490230002";
        let n = format!("{}{}", std::str::from_utf8(&d).unwrap(), check_char(&d).unwrap());
        assert!(matches!(validate(&n, today()), Err(DocError::IdBirthDateInvalid)));
        // Born tomorrow.
        d = *b"11010520261201002";
        let n = format!("{}{}", std::str::from_utf8(&d).unwrap(), check_char(&d).unwrap());
        assert!(matches!(validate(&n, today()), Err(DocError::IdBirthDateFuture)));
        assert_eq!(DocError::IdBirthDateFuture.code(), "id_birth_date_future");
    }
}
