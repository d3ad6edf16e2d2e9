//! Weight decoding: the manifest's weights are laid out back to back in the concatenated shards
//! of their group; float16 and affine uint8/uint16 quantisation are expanded to f32.

use std::collections::HashMap;

use crate::graph::ModelJson;
use crate::TfjsError;

/// A decoded constant.
#[derive(Debug, Clone)]
pub enum ConstData {
    /// Floating point values.
    F32(Vec<f32>),
    /// Integer values.
    I32(Vec<i32>),
}

/// A constant with its shape.
#[derive(Debug, Clone)]
pub struct Const {
    /// TF shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: ConstData,
}

impl Const {
    /// Values as f32 (integers converted).
    pub fn f32s(&self) -> Vec<f32> {
        match &self.data {
            ConstData::F32(v) => v.clone(),
            ConstData::I32(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Values as i64 (floats truncated).
    pub fn i64s(&self) -> Vec<i64> {
        match &self.data {
            ConstData::F32(v) => v.iter().map(|&x| x as i64).collect(),
            ConstData::I32(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }
}

/// Most elements a tensor of an imported graph may have (2^28, 1 GiB of f32); also the largest
/// dimension a weight may declare.
pub(crate) const MAX_ELEMENTS: usize = 1 << 28;

/// Decodes every weight; `shard` returns the bytes of a shard file by its manifest path.
pub fn decode(model: &ModelJson, shard: &mut dyn FnMut(&str) -> Result<Vec<u8>, TfjsError>) -> Result<HashMap<String, Const>, TfjsError> {
    let mut out = HashMap::new();
    for group in &model.weights_manifest {
        let mut bytes = Vec::new();
        for p in &group.paths {
            bytes.extend(shard(p)?);
        }
        let mut at = 0usize;
        for w in &group.weights {
            if w.shape.iter().any(|&d| d > MAX_ELEMENTS) {
                return Err(TfjsError::Weights(format!("{}: shape {:?} has a dimension above {MAX_ELEMENTS}", w.name, w.shape)));
            }
            let n = w.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS);
            let take = |at: &mut usize, size: usize| -> Result<&[u8], TfjsError> {
                let end = n.and_then(|n| n.checked_mul(size)).and_then(|len| at.checked_add(len));
                let s = end.and_then(|end| bytes.get(*at..end)).ok_or_else(|| {
                    TfjsError::Weights(format!(
                        "{} (shape {:?}) needs more than the {} bytes left in its shards",
                        w.name,
                        w.shape,
                        bytes.len().saturating_sub(*at)
                    ))
                })?;
                let end = *at + s.len();
                *at = end;
                Ok(s)
            };
            let quant = w.quantization.as_ref().map(|q| q.dtype.as_str());
            let data = match (w.dtype.as_str(), quant) {
                ("float32", None) => {
                    ConstData::F32(take(&mut at, 4)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
                }
                ("int32", None) => {
                    ConstData::I32(take(&mut at, 4)?.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
                }
                ("float32", Some("float16")) => {
                    ConstData::F32(take(&mut at, 2)?.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect())
                }
                ("float32", Some(q @ ("uint8" | "uint16"))) => {
                    let (scale, min) =
                        w.quantization.as_ref().map(|q| (q.scale.unwrap_or(1.0), q.min.unwrap_or(0.0))).unwrap_or((1.0, 0.0));
                    let raw: Vec<f32> = if q == "uint8" {
                        take(&mut at, 1)?.iter().map(|&b| b as f32).collect()
                    } else {
                        take(&mut at, 2)?.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as f32).collect()
                    };
                    ConstData::F32(raw.into_iter().map(|v| v * scale + min).collect())
                }
                (d, q) => return Err(TfjsError::Weights(format!("{}: dtype {d} stored as {q:?} is not supported", w.name))),
            };
            out.insert(w.name.clone(), Const { shape: w.shape.clone(), data });
        }
    }
    Ok(out)
}
