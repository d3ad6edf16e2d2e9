//! The parts of TF.js's `model.json` the importer reads, and attribute accessors.

use std::collections::HashMap;

use base64::Engine;
use serde::Deserialize;

use crate::TfjsError;

/// A TF.js graph model's JSON.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelJson {
    /// Must be `graph-model`.
    #[serde(default)]
    pub format: String,
    /// The GraphDef.
    pub model_topology: Topology,
    /// Weight groups, in shard order.
    pub weights_manifest: Vec<WeightGroup>,
    /// Named inputs/outputs, when the converter recorded them.
    #[serde(default)]
    pub signature: Option<Signature>,
}

/// The GraphDef.
#[derive(Debug, Deserialize)]
pub struct Topology {
    /// Nodes in file order.
    pub node: Vec<Node>,
}

/// One node.
#[derive(Debug, Deserialize)]
pub struct Node {
    /// Unique name.
    pub name: String,
    /// TensorFlow op type.
    pub op: String,
    /// Input names (`name`, `name:1`, `^control`).
    #[serde(default)]
    pub input: Vec<String>,
    /// Attributes.
    #[serde(default)]
    pub attr: HashMap<String, serde_json::Value>,
}

/// A group of weights stored in the listed shards.
#[derive(Debug, Deserialize)]
pub struct WeightGroup {
    /// Shard file names.
    pub paths: Vec<String>,
    /// Weights, in byte order.
    pub weights: Vec<WeightSpec>,
}

/// One weight's description.
#[derive(Debug, Deserialize)]
pub struct WeightSpec {
    /// Const node it fills.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Logical dtype (`float32`, `int32`).
    pub dtype: String,
    /// Storage quantisation, when not stored as the logical dtype.
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

/// Weight quantisation.
#[derive(Debug, Deserialize)]
pub struct Quantization {
    /// Stored dtype: `float16`, `uint8`, `uint16`.
    pub dtype: String,
    /// Affine scale (uint8/uint16).
    #[serde(default)]
    pub scale: Option<f32>,
    /// Affine offset (uint8/uint16).
    #[serde(default)]
    pub min: Option<f32>,
}

/// Input and output names.
#[derive(Debug, Deserialize)]
pub struct Signature {
    /// Outputs by key.
    #[serde(default)]
    pub outputs: HashMap<String, TensorName>,
}

/// A tensor reference in the signature.
#[derive(Debug, Deserialize)]
pub struct TensorName {
    /// `node:index`.
    pub name: String,
}

impl ModelJson {
    /// Parses model.json text.
    pub fn parse(text: &str) -> Result<ModelJson, TfjsError> {
        let m: ModelJson = serde_json::from_str(text).map_err(|e| TfjsError::Json(e.to_string()))?;
        if !m.format.is_empty() && m.format != "graph-model" {
            return Err(TfjsError::Json(format!("format {:?} is not a graph model (layers models are not supported)", m.format)));
        }
        Ok(m)
    }
}

impl Node {
    fn attr(&self, key: &str) -> Option<&serde_json::Value> {
        self.attr.get(key)
    }

    /// A string attribute (base64 in the JSON).
    pub fn attr_str(&self, key: &str) -> Option<String> {
        let s = self.attr(key)?.get("s")?.as_str()?;
        base64::engine::general_purpose::STANDARD.decode(s).ok().and_then(|b| String::from_utf8(b).ok())
    }

    /// An integer-list attribute.
    pub fn attr_ints(&self, key: &str) -> Vec<i64> {
        self.attr(key)
            .and_then(|v| v.get("list"))
            .and_then(|l| l.get("i"))
            .and_then(|i| i.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().and_then(|s| s.parse().ok()).or_else(|| x.as_i64())).collect())
            .unwrap_or_default()
    }

    /// A string-list attribute (each base64).
    pub fn attr_strs(&self, key: &str) -> Vec<String> {
        self.attr(key)
            .and_then(|v| v.get("list"))
            .and_then(|l| l.get("s"))
            .and_then(|s| s.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .filter_map(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    .filter_map(|b| String::from_utf8(b).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A boolean attribute.
    pub fn attr_bool(&self, key: &str) -> bool {
        self.attr(key).and_then(|v| v.get("b")).and_then(|b| b.as_bool()).unwrap_or(false)
    }

    /// An integer attribute.
    pub fn attr_int(&self, key: &str) -> Option<i64> {
        self.attr(key).and_then(|v| v.get("i")).and_then(|x| x.as_str().and_then(|s| s.parse().ok()).or_else(|| x.as_i64()))
    }

    /// A float attribute.
    pub fn attr_f32(&self, key: &str) -> Option<f32> {
        self.attr(key).and_then(|v| v.get("f")).and_then(|x| x.as_f64()).map(|x| x as f32)
    }

    /// The shape of a Placeholder (`-1` for unknown dimensions).
    pub fn placeholder_shape(&self) -> Vec<i64> {
        self.attr("shape")
            .and_then(|v| v.get("shape"))
            .and_then(|s| s.get("dim"))
            .and_then(|d| d.as_array())
            .map(|a| {
                a.iter()
                    .map(|d| d.get("size").and_then(|s| s.as_str().and_then(|s| s.parse().ok()).or_else(|| s.as_i64())).unwrap_or(-1))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Data inputs (control inputs `^x` dropped), as (node, output index).
    pub fn data_inputs(&self) -> Vec<(String, usize)> {
        self.input
            .iter()
            .filter(|i| !i.starts_with('^'))
            .map(|i| match i.rsplit_once(':') {
                Some((n, k)) if k.bytes().all(|b| b.is_ascii_digit()) => (n.to_string(), k.parse().unwrap_or(0)),
                _ => (i.clone(), 0),
            })
            .collect()
    }
}
