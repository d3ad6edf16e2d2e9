//! Rewrites of an ONNX file's declarations, so one graph runs at the sizes we feed it on every
//! runtime: a detector exported at 640×640 (YuNet) at any image size, an embedder exported for
//! one chip at a batch of several. Weights that an old exporter also listed as graph inputs
//! (SFace lists all 270) stop being inputs: they cannot be overridden anyway, and as inputs
//! onnxruntime may not fold them (batch-norm into convolution), which measured SFace at 43 ms
//! a face instead of 35. No node or weight is touched.

use prost::Message;
use tract_onnx::pb::{tensor_shape_proto::dimension::Value as DimValue, type_proto, ModelProto, ValueInfoProto};

use crate::FaceError;

/// Which declared input dimensions become free (symbolic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeDims {
    /// Keep the file as it is.
    None,
    /// The first (batch) dimension of every input.
    Batch,
    /// Every input dimension (batch, and the spatial ones of a fully convolutional detector).
    All,
}

fn free_dims_of(v: &mut ValueInfoProto, which: impl Fn(usize) -> bool, prefix: &str) {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut()) else { return };
    let Some(shape) = t.shape.as_mut() else { return };
    for (i, d) in shape.dim.iter_mut().enumerate() {
        if which(i) {
            d.value = Some(DimValue::DimParam(format!("{prefix}{i}")));
        }
    }
}

/// Parses an ONNX file, naming the model in the error.
pub fn decode(name: &str, bytes: &[u8]) -> Result<ModelProto, FaceError> {
    ModelProto::decode(bytes).map_err(|e| FaceError::Model(format!("{name}: not an ONNX model: {e}")))
}

/// Takes weights off the model's input list, makes the chosen input dimensions symbolic, and
/// (when any are freed) drops every declared shape downstream of the inputs (intermediate
/// `value_info`, output dimensions), so that runtimes infer them from the input actually given.
/// Says whether anything changed.
pub fn free_shapes(name: &str, model: &mut ModelProto, free: FreeDims) -> Result<bool, FaceError> {
    let ir_version = model.ir_version;
    let graph = model.graph.as_mut().ok_or_else(|| FaceError::Model(format!("{name}: the ONNX model has no graph")))?;
    let weights: std::collections::HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    // From IR version 4 on, initializers need not be graph inputs.
    let listed = ir_version >= 4 && graph.input.iter().any(|i| weights.contains(&i.name));
    if listed {
        graph.input.retain(|i| !weights.contains(&i.name));
    }
    if free == FreeDims::None {
        return Ok(listed);
    }
    for input in graph.input.iter_mut().filter(|i| !weights.contains(&i.name)) {
        let prefix = format!("{}_", input.name);
        match free {
            FreeDims::Batch => free_dims_of(input, |i| i == 0, &prefix),
            FreeDims::All => free_dims_of(input, |_| true, &prefix),
            FreeDims::None => {}
        }
    }
    graph.value_info.clear();
    for output in graph.output.iter_mut() {
        let prefix = format!("{}_", output.name);
        free_dims_of(output, |_| true, &prefix);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{GraphProto, NodeProto, TensorShapeProto, TypeProto};

    /// The model's bytes after `free_shapes` (unchanged when nothing applied).
    fn free_declared_shapes(name: &str, bytes: &[u8], free: FreeDims) -> Result<Vec<u8>, FaceError> {
        let mut model = decode(name, bytes)?;
        Ok(if free_shapes(name, &mut model, free)? { model.encode_to_vec() } else { bytes.to_vec() })
    }

    fn info(name: &str, dims: &[i64]) -> ValueInfoProto {
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|d| tract_onnx::pb::tensor_shape_proto::Dimension {
                                value: Some(DimValue::DimValue(*d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn dims(v: &ValueInfoProto) -> Vec<String> {
        let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else { return vec![] };
        t.shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(DimValue::DimValue(v)) => v.to_string(),
                        Some(DimValue::DimParam(p)) => p.clone(),
                        None => "?".into(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn model() -> Vec<u8> {
        let graph = GraphProto {
            node: vec![NodeProto { op_type: "Relu".into(), input: vec!["x".into()], output: vec!["y".into()], ..Default::default() }],
            input: vec![info("x", &[1, 3, 640, 640])],
            output: vec![info("y", &[1, 3, 640, 640])],
            value_info: vec![info("y", &[1, 3, 640, 640])],
            ..Default::default()
        };
        ModelProto { ir_version: 8, graph: Some(graph), ..Default::default() }.encode_to_vec()
    }

    #[test]
    fn batch_or_all_input_dims_become_symbolic_and_downstream_shapes_are_dropped() {
        let m = ModelProto::decode(free_declared_shapes("m", &model(), FreeDims::Batch).unwrap().as_slice()).unwrap();
        let g = m.graph.unwrap();
        assert_eq!(dims(&g.input[0]), ["x_0", "3", "640", "640"]);
        assert_eq!(dims(&g.output[0]), ["y_0", "y_1", "y_2", "y_3"]);
        assert!(g.value_info.is_empty());
        let m = ModelProto::decode(free_declared_shapes("m", &model(), FreeDims::All).unwrap().as_slice()).unwrap();
        assert_eq!(dims(&m.graph.unwrap().input[0]), ["x_0", "x_1", "x_2", "x_3"]);
        assert_eq!(free_declared_shapes("m", &model(), FreeDims::None).unwrap(), model());
    }

    #[test]
    fn weights_listed_as_inputs_stop_being_inputs() {
        let mut m = ModelProto::decode(model().as_slice()).unwrap();
        let g = m.graph.as_mut().unwrap();
        g.initializer.push(tract_onnx::pb::TensorProto {
            name: "w".into(),
            dims: vec![1],
            data_type: 1,
            float_data: vec![2.0],
            ..Default::default()
        });
        g.input.push(info("w", &[1]));
        let bytes = m.encode_to_vec();
        for free in [FreeDims::None, FreeDims::Batch] {
            let out = ModelProto::decode(free_declared_shapes("m", &bytes, free).unwrap().as_slice()).unwrap();
            let names: Vec<String> = out.graph.unwrap().input.iter().map(|i| i.name.clone()).collect();
            assert_eq!(names, ["x"], "{free:?}");
        }
    }

    #[test]
    fn garbage_is_refused_with_the_models_name() {
        let e = free_declared_shapes("broken", b"\xff\xff\xff not protobuf", FreeDims::Batch).unwrap_err();
        assert!(e.to_string().contains("broken"), "{e}");
    }
}
