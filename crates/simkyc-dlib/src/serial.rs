//! Primitive readers for dlib's portable serialisation format (`dlib/serialize.h`).
//!
//! dlib writes integers as a size byte (low nibble = byte count, bit 7 = sign) followed by
//! little-endian magnitude bytes; floating-point values as an integer mantissa and an
//! integer base-2 exponent; strings as a length then bytes; and DNN tensors (version 2)
//! as four dimensions followed by raw little-endian IEEE floats.

use crate::DlibError;

/// A cursor over a serialised dlib byte stream that reports offsets in its errors.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// A dense 4-d tensor read from a dlib stream, in dlib's (n, k, nr, nc) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions: samples, channels, rows, columns.
    pub shape: [usize; 4],
    /// Row-major values.
    pub data: Vec<f32>,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Current byte offset, for error messages.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte has been consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn err(&self, what: impl Into<String>) -> DlibError {
        DlibError::Format { offset: self.pos, what: what.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DlibError> {
        if self.data.len().saturating_sub(self.pos) < n {
            return Err(self.err(format!("unexpected end of file (needed {n} more bytes)")));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads one byte as-is (dlib writes `bool` as the ASCII digit '0' or '1').
    pub fn byte(&mut self) -> Result<u8, DlibError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a `bool`.
    pub fn boolean(&mut self) -> Result<bool, DlibError> {
        match self.byte()? {
            b'0' | 0 => Ok(false),
            b'1' | 1 => Ok(true),
            other => Err(self.err(format!("invalid bool byte {other:#04x}"))),
        }
    }

    /// Reads a signed integer in dlib's packed form.
    pub fn int(&mut self) -> Result<i64, DlibError> {
        let head = self.byte()?;
        let n = (head & 0x0f) as usize;
        if n > 8 {
            return Err(self.err(format!("integer size byte {head:#04x} is too large")));
        }
        let bytes = self.take(n)?;
        let mut v: u64 = 0;
        for (i, b) in bytes.iter().enumerate() {
            v |= (*b as u64) << (8 * i);
        }
        let v = v as i64;
        Ok(if head & 0x80 != 0 { -v } else { v })
    }

    /// Reads a non-negative integer that is used as a size or count.
    pub fn size(&mut self) -> Result<usize, DlibError> {
        let v = self.int()?;
        usize::try_from(v).map_err(|_| self.err(format!("negative size {v}")))
    }

    /// Reads a `float`/`double` stored as mantissa × 2^exponent.
    pub fn float(&mut self) -> Result<f64, DlibError> {
        let mantissa = self.int()?;
        let exponent = self.int()?;
        // dlib encodes the non-finite values with reserved exponents.
        const IS_INF: i64 = i16::MAX as i64;
        const IS_NINF: i64 = i16::MAX as i64 - 1;
        const IS_NAN: i64 = i16::MAX as i64 - 2;
        Ok(match exponent {
            IS_INF => f64::INFINITY,
            IS_NINF => f64::NEG_INFINITY,
            IS_NAN => f64::NAN,
            e => (mantissa as f64) * 2f64.powi(e as i32),
        })
    }

    /// Reads a length-prefixed string.
    pub fn string(&mut self) -> Result<String, DlibError> {
        let n = self.size()?;
        if n > 4096 {
            return Err(self.err(format!("string length {n} is implausible")));
        }
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("string is not UTF-8"))
    }

    /// Reads an integer and checks it equals `expected` (used for version numbers).
    pub fn expect_int(&mut self, expected: i64, what: &str) -> Result<(), DlibError> {
        let at = self.pos;
        let v = self.int()?;
        if v != expected {
            return Err(DlibError::Format { offset: at, what: format!("{what}: expected {expected}, found {v}") });
        }
        Ok(())
    }

    /// Reads a DNN tensor (`resizable_tensor`, serialisation version 2).
    pub fn tensor(&mut self) -> Result<Tensor, DlibError> {
        self.expect_int(2, "tensor version")?;
        let mut shape = [0usize; 4];
        for s in shape.iter_mut() {
            *s = self.size()?;
        }
        let count = shape
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .filter(|&c| c <= 1 << 28)
            .ok_or_else(|| self.err(format!("tensor shape {shape:?} is too large")))?;
        let raw = self.take(count * 4)?;
        let data = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(Tensor { shape, data })
    }

    /// Reads an `alias_tensor` header (version, n, k, nr, nc); only the shape is kept.
    pub fn alias_tensor(&mut self) -> Result<[usize; 4], DlibError> {
        self.expect_int(1, "alias_tensor version")?;
        let mut shape = [0usize; 4];
        for s in shape.iter_mut() {
            *s = self.size()?;
        }
        Ok(shape)
    }

    /// Reads a `matrix<float,0,1>`/`matrix<float>` as (rows, cols, values).
    pub fn matrix(&mut self) -> Result<(usize, usize, Vec<f32>), DlibError> {
        // New-format matrices store negated dimensions.
        let r = self.int()?.unsigned_abs() as usize;
        let c = self.int()?.unsigned_abs() as usize;
        let n = r.checked_mul(c).filter(|&n| n <= 1 << 24).ok_or_else(|| self.err("matrix too large"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.float()? as f32);
        }
        Ok((r, c, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_packed_integers() {
        let bytes = [0x01, 0x02, 0x81, 0x1c, 0x02, 0x80, 0x12, 0x00];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.int().unwrap(), 2);
        assert_eq!(r.int().unwrap(), -28);
        assert_eq!(r.int().unwrap(), 0x1280);
        assert_eq!(r.int().unwrap(), 0);
        assert!(r.at_end());
    }

    #[test]
    fn decodes_mantissa_exponent_floats() {
        // 0xa3d70a * 2^-28 = 0.04 (loss_metric margin in dlib's face model)
        let bytes = [0x03, 0x0a, 0xd7, 0xa3, 0x81, 0x1c];
        let v = Reader::new(&bytes).float().unwrap();
        assert!((v - 0.04).abs() < 1e-7, "{v}");
    }

    #[test]
    fn truncated_stream_is_an_error_not_a_panic() {
        let bytes = [0x04, 0x01];
        let e = Reader::new(&bytes).int().unwrap_err();
        assert!(e.to_string().contains("unexpected end"), "{e}");
        let huge = [0x01, 0x02, 0x04, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x7f, 0x01, 0x7f, 0x01, 0x7f];
        assert!(Reader::new(&huge).tensor().is_err());
    }
}
