//! Export of a [`Net`] to an ONNX graph (opset 13), so dlib models run on `tract` like any
//! operator-supplied ONNX model and can be cross-checked under onnxruntime.
//!
//! The graph takes `input`: f32 `[1, 3, H, W]`, already normalised as the model's input layer
//! says ((pixel - mean) / 256, RGB), and yields `output`.

use std::collections::HashMap;

use prost::Message;
use tract_onnx::pb::{
    self, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension::Value as DimValue, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use crate::dnn::{Net, Op};
use crate::DlibError;

/// Input geometry of the exported graph: fixed (rows, cols) or symbolic.
#[derive(Debug, Clone, Copy)]
pub enum InputDims {
    /// A fixed input size, which lets the exporter resolve dlib's zero-padding `add_prev`.
    Fixed { rows: usize, cols: usize },
    /// Symbolic rows and columns (`h`, `w`), for fully convolutional nets.
    Dynamic,
}

/// Shape of a value as (channels, rows, cols), when known.
type Chw = Option<[usize; 3]>;

struct Builder {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    counter: usize,
}

fn attr_ints(name: &str, v: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.iter().map(|&x| x as i64).collect(),
        ..Default::default()
    }
}

fn tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: Option<Vec<DimValue>>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: dims.map(|dims| TensorShapeProto {
                    dim: dims.into_iter().map(|v| pb::tensor_shape_proto::Dimension { value: Some(v), ..Default::default() }).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Builder {
    fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("{stem}_{}", self.counter)
    }

    fn node(&mut self, op: &str, inputs: Vec<String>, attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.nodes.push(NodeProto {
            name: out.clone(),
            op_type: op.into(),
            input: inputs,
            output: vec![out.clone()],
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    fn init(&mut self, stem: &str, dims: &[usize], data: &[f32]) -> String {
        let name = self.fresh(stem);
        self.inits.push(tensor(&name, dims, data));
        name
    }

    fn init_i64(&mut self, stem: &str, data: &[i64]) -> String {
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

fn pool_out(n: usize, k: usize, s: usize, p: usize) -> usize {
    (n + 2 * p).saturating_sub(k) / s + 1
}

/// Builds the ONNX model for `net`.
pub fn to_onnx(net: &Net, dims: InputDims, graph_name: &str) -> Result<ModelProto, DlibError> {
    let mut b = Builder { nodes: vec![], inits: vec![], counter: 0 };
    let mut cur = "input".to_string();
    let mut shape: Chw = match dims {
        InputDims::Fixed { rows, cols } => Some([3, rows, cols]),
        InputDims::Dynamic => None,
    };
    let mut tags: HashMap<u32, (String, Chw)> = HashMap::new();
    let mut i = 0;
    while i < net.ops.len() {
        match &net.ops[i] {
            Op::Conv { weights, bias, out_ch, in_ch, kernel, stride, pad } => {
                let (mut w, mut bs) = (weights.clone(), bias.clone());
                // Fold a following affine layer into the convolution: exact algebra, one node fewer.
                if let Some(Op::Affine { gamma, beta }) = net.ops.get(i + 1) {
                    let per = in_ch * kernel[0] * kernel[1];
                    for o in 0..*out_ch {
                        for v in &mut w[o * per..(o + 1) * per] {
                            *v *= gamma[o];
                        }
                        bs[o] = bs[o] * gamma[o] + beta[o];
                    }
                    i += 1;
                }
                let wn = b.init("w", &[*out_ch, *in_ch, kernel[0], kernel[1]], &w);
                let bn = b.init("b", &[*out_ch], &bs);
                cur = b.node(
                    "Conv",
                    vec![cur, wn, bn],
                    vec![
                        attr_ints("kernel_shape", kernel),
                        attr_ints("strides", stride),
                        attr_ints("pads", &[pad[0], pad[1], pad[0], pad[1]]),
                    ],
                );
                shape =
                    shape.map(|[_, h, w]| [*out_ch, pool_out(h, kernel[0], stride[0], pad[0]), pool_out(w, kernel[1], stride[1], pad[1])]);
            }
            Op::Affine { gamma, beta } => {
                let c = gamma.len();
                let g = b.init("gamma", &[1, c, 1, 1], gamma);
                let be = b.init("beta", &[1, c, 1, 1], beta);
                let m = b.node("Mul", vec![cur, g], vec![]);
                cur = b.node("Add", vec![m, be], vec![]);
            }
            Op::Relu => cur = b.node("Relu", vec![cur], vec![]),
            Op::MaxPool { kernel, stride, pad } | Op::AvgPool { kernel, stride, pad } if kernel[0] > 0 => {
                let op = if matches!(net.ops[i], Op::MaxPool { .. }) { "MaxPool" } else { "AveragePool" };
                cur = b.node(
                    op,
                    vec![cur],
                    vec![
                        attr_ints("kernel_shape", kernel),
                        attr_ints("strides", stride),
                        attr_ints("pads", &[pad[0], pad[1], pad[0], pad[1]]),
                    ],
                );
                shape = shape.map(|[c, h, w]| [c, pool_out(h, kernel[0], stride[0], pad[0]), pool_out(w, kernel[1], stride[1], pad[1])]);
            }
            Op::AvgPool { .. } => {
                cur = b.node("GlobalAveragePool", vec![cur], vec![]);
                shape = shape.map(|[c, _, _]| [c, 1, 1]);
            }
            Op::MaxPool { .. } => {
                cur = b.node("GlobalMaxPool", vec![cur], vec![]);
                shape = shape.map(|[c, _, _]| [c, 1, 1]);
            }
            Op::FcNoBias { weights, inputs, outputs } => {
                let flat = b.node(
                    "Flatten",
                    vec![cur],
                    vec![AttributeProto { name: "axis".into(), r#type: AttributeType::Int as i32, i: 1, ..Default::default() }],
                );
                let w = b.init("fc", &[*inputs, *outputs], weights);
                cur = b.node("MatMul", vec![flat, w], vec![]);
                shape = Some([*outputs, 1, 1]);
            }
            Op::Tag(t) => {
                tags.insert(*t, (cur.clone(), shape));
            }
            Op::Skip(t) => {
                let (name, s) = tags.get(t).cloned().ok_or(DlibError::Graph(format!("skip{t} before tag{t}")))?;
                cur = name;
                shape = s;
            }
            Op::AddPrev(t) => {
                let (other, os) = tags.get(t).cloned().ok_or(DlibError::Graph(format!("add_prev{t} before tag{t}")))?;
                let (Some(a), Some(o)) = (shape, os) else {
                    return Err(DlibError::Graph("add_prev needs a fixed input size".into()));
                };
                // dlib adds tensors of different sizes as if the smaller were zero-padded at the end.
                let out = [a[0].max(o[0]), a[1].max(o[1]), a[2].max(o[2])];
                let pad_to = |b: &mut Builder, name: String, s: [usize; 3]| {
                    if s == out {
                        return name;
                    }
                    let pads = b.init_i64("pads", &[0, 0, 0, 0, 0, (out[0] - s[0]) as i64, (out[1] - s[1]) as i64, (out[2] - s[2]) as i64]);
                    b.node("Pad", vec![name, pads], vec![])
                };
                let x = pad_to(&mut b, cur, a);
                let y = pad_to(&mut b, other, o);
                cur = b.node("Add", vec![x, y], vec![]);
                shape = Some(out);
            }
        }
        i += 1;
    }
    // Name the final value `output`.
    let last = b.nodes.last_mut().ok_or(DlibError::Graph("empty network".into()))?;
    let old = last.output[0].clone();
    last.output[0] = "output".into();
    if old != cur {
        return Err(DlibError::Graph("network ends on a tag or skip".into()));
    }
    let in_dims = match dims {
        InputDims::Fixed { rows, cols } => {
            vec![DimValue::DimValue(1), DimValue::DimValue(3), DimValue::DimValue(rows as i64), DimValue::DimValue(cols as i64)]
        }
        InputDims::Dynamic => {
            vec![DimValue::DimValue(1), DimValue::DimValue(3), DimValue::DimParam("h".into()), DimValue::DimParam("w".into())]
        }
    };
    let graph = GraphProto {
        name: graph_name.into(),
        node: b.nodes,
        initializer: b.inits,
        input: vec![value_info("input", Some(in_dims))],
        output: vec![value_info("output", None)],
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: 7,
        producer_name: "simkyc-dlib".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    })
}

/// Serialises an ONNX model to bytes.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}
