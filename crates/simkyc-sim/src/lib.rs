//! SIM identifiers, validated before a SIM is activated: the MSISDN (the phone number, E.164),
//! the ICCID printed on the card (ITU-T E.118: 19–20 digits, `89` prefix, Luhn check digit) and
//! the IMSI (15 digits: country code, network code, subscriber number).

/// Why an identifier was refused; `code()` gives the stable reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Not `+` followed by 8–15 digits with a non-zero country code.
    #[error("an MSISDN is written in E.164 form: + and 8 to 15 digits, e.g. +8613800138000")]
    Msisdn,
    /// Not 19–20 digits starting with 89.
    #[error("an ICCID has 19 or 20 digits and starts with 89")]
    IccidFormat,
    /// The Luhn check digit does not match.
    #[error("the ICCID's check digit does not match: it was probably mistyped")]
    IccidChecksum,
    /// Not 15 digits.
    #[error("an IMSI has 15 digits")]
    Imsi,
}

impl SimError {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            SimError::Msisdn => "msisdn_invalid",
            SimError::IccidFormat => "iccid_format",
            SimError::IccidChecksum => "iccid_checksum",
            SimError::Imsi => "imsi_invalid",
        }
    }
}

/// Normalises and validates an MSISDN; spaces and dashes are allowed in the input.
pub fn msisdn(input: &str) -> Result<String, SimError> {
    let s: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = s.strip_prefix('+').ok_or(SimError::Msisdn)?;
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(SimError::Msisdn);
    }
    Ok(s)
}

/// True when the digits pass the Luhn (mod 10) check, the last digit being the check digit.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = (b - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Validates an ICCID (spaces allowed in the input).
pub fn iccid(input: &str) -> Result<String, SimError> {
    let s: String = input.chars().filter(|c| *c != ' ').collect();
    if !(19..=20).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) || !s.starts_with("89") {
        return Err(SimError::IccidFormat);
    }
    if !luhn_ok(&s) {
        return Err(SimError::IccidChecksum);
    }
    Ok(s)
}

/// Validates an IMSI.
pub fn imsi(input: &str) -> Result<String, SimError> {
    let s = input.trim();
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SimError::Imsi);
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msisdns() {
        assert_eq!(msisdn("+86 138-0013-8000").unwrap(), "+8613800138000");
        for bad in ["8613800138000", "+0613800138000", "+86", "+8613800138000123456", "+86 138a"] {
            assert_eq!(msisdn(bad), Err(SimError::Msisdn), "{bad}");
        }
    }

    #[test]
    fn iccids() {
        // 19 digits + Luhn check digit: 8986 0012 3456 7890 123 → check digit computed below.
        let body = "8986001234567890123";
        let check = (0..10).find(|d| luhn_ok(&format!("{body}{d}"))).unwrap();
        let good = format!("{body}{check}");
        assert_eq!(iccid(&good).unwrap(), good);
        let wrong = format!("{body}{}", (check + 1) % 10);
        assert_eq!(iccid(&wrong), Err(SimError::IccidChecksum));
        assert_eq!(iccid("1234567890123456789"), Err(SimError::IccidFormat));
        assert_eq!(iccid("89860"), Err(SimError::IccidFormat));
        assert!(luhn_ok("79927398713"), "the classic Luhn example");
        assert!(!luhn_ok("79927398710"));
    }

    #[test]
    fn imsis() {
        assert_eq!(imsi("460001234567890").unwrap(), "460001234567890");
        assert_eq!(imsi("46000123456789"), Err(SimError::Imsi));
        assert_eq!(SimError::IccidChecksum.code(), "iccid_checksum");
    }
}
