//! How templates are held in memory: full f32, half-precision f16, or int8 with one scale per
//! template. Templates are at most unit length, and a template's scale is 127 over its largest
//! component.

use serde::{Deserialize, Serialize};

/// Storage precision of the gallery's templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 4 bytes a component: exact.
    F32,
    /// 2 bytes a component.
    F16,
    /// 1 byte a component plus a 4-byte scale per template.
    #[default]
    Int8,
}

/// A name that is not a precision.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown gallery precision {0:?} (f32, f16 or int8)")]
pub struct UnknownPrecision(pub String);

impl Precision {
    /// Configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }

    /// Bytes one template of `dim` components takes in memory (vectors only).
    pub fn template_bytes(self, dim: usize) -> usize {
        match self {
            Precision::F32 => 4 * dim,
            Precision::F16 => 2 * dim,
            Precision::Int8 => dim + 4,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = UnknownPrecision;
    fn from_str(s: &str) -> Result<Precision, UnknownPrecision> {
        [Precision::F32, Precision::F16, Precision::Int8].into_iter().find(|p| p.as_str() == s).ok_or_else(|| UnknownPrecision(s.into()))
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quantises a unit vector to int8: (components, scale) with `x ≈ q * scale`.
pub fn quantise_i8(x: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        out.extend(std::iter::repeat_n(0, x.len()));
        return 0.0;
    }
    let inv = 127.0 / max;
    out.extend(x.iter().map(|v| (v * inv).round().clamp(-127.0, 127.0) as i8));
    max / 127.0
}
