//! Small helpers to assemble an ONNX graph: nodes, initialisers, attributes.

use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension::Value as DimValue, type_proto, AttributeProto,
    NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// An ONNX graph under construction.
#[derive(Default)]
pub struct Builder {
    /// Nodes in topological order.
    pub nodes: Vec<NodeProto>,
    /// Initialisers.
    pub inits: Vec<TensorProto>,
    counter: usize,
}

/// An integer-list attribute.
pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

/// An integer attribute.
pub fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: v, ..Default::default() }
}

/// A float value-info of a given shape.
pub fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| tract_onnx::pb::tensor_shape_proto::Dimension {
                            value: Some(DimValue::DimValue(d as i64)),
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

impl Builder {
    /// A fresh value name.
    pub fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("{stem}#{}", self.counter)
    }

    /// Adds a node with one output.
    pub fn node(&mut self, op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) {
        self.nodes.push(NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: output.to_string(),
            attribute: attrs,
            ..Default::default()
        });
    }

    /// Adds a node and returns its fresh output name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(op);
        self.node(op, inputs, &out, attrs);
        out
    }

    /// Adds a float initialiser and returns its name.
    pub fn f32s(&mut self, stem: &str, dims: &[usize], data: &[f32]) -> String {
        let name = self.fresh(stem);
        self.inits.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// Adds an int64 initialiser and returns its name.
    pub fn i64s(&mut self, stem: &str, data: &[i64]) -> String {
        let name = self.fresh(stem);
        self.inits.push(TensorProto {
            name: name.clone(),
            dims: vec![data.len() as i64],
            data_type: DataType::Int64 as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }
}
