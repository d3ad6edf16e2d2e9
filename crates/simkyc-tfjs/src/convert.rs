//! The graph conversion: TF ops (NHWC) to ONNX ops (NCHW inside), with static shapes tracked so
//! TF's SAME padding and Reshape's -1 resolve to explicit values.

use std::collections::{BTreeSet, HashMap};

use prost::Message;
use tract_onnx::pb::{GraphProto, ModelProto, OperatorSetIdProto};

use crate::builder::{int, ints, value_info, Builder};
use crate::graph::{ModelJson, Node};
use crate::weights::{self, Const};
use crate::TfjsError;

/// Every TF op the importer maps.
pub const SUPPORTED_OPS: &[&str] = &[
    "Placeholder",
    "Const",
    "Identity",
    "StopGradient",
    "Snapshot",
    "Conv2D",
    "_FusedConv2D",
    "DepthwiseConv2dNative",
    "FusedDepthwiseConv2dNative",
    "MaxPool",
    "AvgPool",
    "Pad",
    "PadV2",
    "Add",
    "AddV2",
    "BiasAdd",
    "Sub",
    "Mul",
    "RealDiv",
    "Maximum",
    "Minimum",
    "Relu",
    "Relu6",
    "Elu",
    "Sigmoid",
    "Tanh",
    "Abs",
    "Neg",
    "Exp",
    "Sqrt",
    "Rsqrt",
    "Square",
    "Prelu",
    "LeakyRelu",
    "Reshape",
    "Squeeze",
    "ConcatV2",
    "Mean",
    "Sum",
    "Max",
    "MatMul",
    "_FusedMatMul",
    "Softmax",
];

/// A converted model and its interface.
pub struct Converted {
    /// The ONNX model.
    pub model: ModelProto,
    /// Inputs: name and NHWC shape (batch fixed to 1).
    pub inputs: Vec<(String, Vec<usize>)>,
    /// Outputs: name and shape.
    pub outputs: Vec<(String, Vec<usize>)>,
}

impl Converted {
    /// The ONNX protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.model.encode_to_vec()
    }
}

#[derive(Clone, Debug)]
struct Val {
    name: String,
    /// TF (NHWC) shape.
    shape: Vec<usize>,
    /// Stored in NCHW order (4-D only).
    nchw: bool,
}

#[derive(Clone)]
enum Entry {
    Value(Val),
    Const(Const),
}

struct Ctx {
    b: Builder,
    env: HashMap<String, Entry>,
}

fn graph_err(m: String) -> TfjsError {
    TfjsError::Graph(m)
}

/// The `i`-th data input of a node, or an error naming the node (a malformed graph may give an
/// operator fewer inputs than it takes).
fn input<'a>(ins: &'a [(String, usize)], i: usize, node: &Node) -> Result<&'a str, TfjsError> {
    ins.get(i)
        .map(|(n, _)| n.as_str())
        .ok_or_else(|| graph_err(format!("{} ({}) has {} input(s), needs at least {}", node.name, node.op, ins.len(), i + 1)))
}

use crate::weights::MAX_ELEMENTS;
/// Largest kernel, stride, dilation or padding an attribute may give.
const MAX_WINDOW: i64 = 1 << 12;

/// Every dimension at least 1 and at most [`MAX_ELEMENTS`] elements in all.
fn check_shape(shape: &[usize], node: &Node) -> Result<(), TfjsError> {
    let total = shape.iter().try_fold(1usize, |a, &d| if d == 0 { None } else { a.checked_mul(d) });
    match total {
        Some(t) if t <= MAX_ELEMENTS => Ok(()),
        _ => Err(graph_err(format!("{}: shape {shape:?} is empty or too large", node.name))),
    }
}

/// A kernel size, stride or dilation from an attribute: `1..=MAX_WINDOW`.
fn window(v: i64, what: &str, node: &Node) -> Result<usize, TfjsError> {
    if (1..=MAX_WINDOW).contains(&v) {
        Ok(v as usize)
    } else {
        Err(graph_err(format!("{}: {what} {v} is outside 1..={MAX_WINDOW}", node.name)))
    }
}

/// A padding amount from an attribute or constant: `0..=MAX_WINDOW`.
fn pad_amount(v: i64, node: &Node) -> Result<usize, TfjsError> {
    if (0..=MAX_WINDOW).contains(&v) {
        Ok(v as usize)
    } else {
        Err(graph_err(format!("{}: padding {v} is outside 0..={MAX_WINDOW}", node.name)))
    }
}

/// The (h, w) entries of an NHWC attribute list (indices 1 and 2), 1 when absent.
fn hw(list: &[i64], what: &str, node: &Node) -> Result<(usize, usize), TfjsError> {
    Ok((window(list.get(1).copied().unwrap_or(1), what, node)?, window(list.get(2).copied().unwrap_or(1), what, node)?))
}

fn same_pad(input: usize, k: usize, s: usize, d: usize) -> (usize, usize, usize) {
    let out = input.div_ceil(s);
    let eff = (k - 1) * d + 1;
    let needed = (out.saturating_sub(1) * s + eff).saturating_sub(input);
    (out, needed / 2, needed - needed / 2)
}

fn valid_out(input: usize, k: usize, s: usize, d: usize) -> usize {
    let eff = (k - 1) * d + 1;
    if input < eff {
        0
    } else {
        (input - eff) / s + 1
    }
}

fn broadcast(a: &[usize], b: &[usize], node: &Node) -> Result<Vec<usize>, TfjsError> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let x = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let y = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            if x == y || x == 1 || y == 1 {
                Ok(x.max(y))
            } else {
                Err(graph_err(format!("{}: shapes {a:?} and {b:?} do not broadcast", node.name)))
            }
        })
        .collect()
}

impl Ctx {
    fn entry(&self, name: &str) -> Result<Entry, TfjsError> {
        self.env.get(name).cloned().ok_or_else(|| graph_err(format!("input {name} is not defined before use")))
    }

    fn konst(&self, name: &str) -> Result<Const, TfjsError> {
        match self.entry(name)? {
            Entry::Const(c) => Ok(c),
            Entry::Value(_) => Err(graph_err(format!("{name} must be a constant here"))),
        }
    }

    fn val(&mut self, name: &str) -> Result<Val, TfjsError> {
        match self.entry(name)? {
            Entry::Value(v) => Ok(v),
            Entry::Const(c) => {
                let n = self.b.f32s("const", &c.shape, &c.f32s());
                Ok(Val { name: n, shape: c.shape, nchw: false })
            }
        }
    }

    fn in_nchw(&mut self, v: Val) -> Val {
        if v.nchw || v.shape.len() != 4 {
            return v;
        }
        let n = self.b.op("Transpose", &[&v.name], vec![ints("perm", &[0, 3, 1, 2])]);
        Val { name: n, shape: v.shape, nchw: true }
    }

    fn in_plain(&mut self, v: Val) -> Val {
        if !v.nchw {
            return v;
        }
        let n = self.b.op("Transpose", &[&v.name], vec![ints("perm", &[0, 2, 3, 1])]);
        Val { name: n, shape: v.shape, nchw: false }
    }

    /// A constant as an initialiser that broadcasts against a value in `nchw` layout.
    fn const_for(&mut self, c: &Const, nchw: bool) -> Result<String, TfjsError> {
        let data = c.f32s();
        if !nchw {
            return Ok(self.b.f32s("const", &c.shape, &data));
        }
        if c.shape.len() > 4 {
            return Err(graph_err(format!("a {}-D constant cannot broadcast against a 4-D tensor", c.shape.len())));
        }
        let mut s = vec![1usize; 4 - c.shape.len()];
        s.extend(&c.shape);
        let (n, h, w, ch) = (s[0], s[1], s[2], s[3]);
        let mut out = vec![0f32; data.len()];
        for a in 0..n {
            for y in 0..h {
                for x in 0..w {
                    for k in 0..ch {
                        out[((a * ch + k) * h + y) * w + x] = data[((a * h + y) * w + x) * ch + k];
                    }
                }
            }
        }
        Ok(self.b.f32s("const", &[n, ch, h, w], &out))
    }

    /// Records a node's value after checking its shape is one a face model can have.
    fn set(&mut self, node: &Node, v: Val) -> Result<(), TfjsError> {
        check_shape(&v.shape, node)?;
        self.env.insert(node.name.clone(), Entry::Value(v));
        Ok(())
    }

    fn activation(&mut self, x: Val, act: &str, node: &Node, alpha_input: Option<&str>) -> Result<Val, TfjsError> {
        let name = match act {
            "Relu" => self.b.op("Relu", &[&x.name], vec![]),
            "Relu6" => {
                let lo = self.b.f32s("zero", &[], &[0.0]);
                let hi = self.b.f32s("six", &[], &[6.0]);
                self.b.op("Clip", &[&x.name, &lo, &hi], vec![])
            }
            "Elu" => self.b.op("Elu", &[&x.name], vec![]),
            "Sigmoid" => self.b.op("Sigmoid", &[&x.name], vec![]),
            "Tanh" => self.b.op("Tanh", &[&x.name], vec![]),
            "LeakyRelu" => {
                let alpha = node.attr_f32("leakyrelu_alpha").or_else(|| node.attr_f32("alpha")).unwrap_or(0.2);
                let mut a = int("unused", 0);
                a.name = "alpha".into();
                a.r#type = tract_onnx::pb::attribute_proto::AttributeType::Float as i32;
                a.f = alpha;
                self.b.op("LeakyRelu", &[&x.name], vec![a])
            }
            "Prelu" => {
                let alpha = alpha_input.ok_or_else(|| graph_err(format!("{}: Prelu without alpha", node.name)))?;
                let c = self.konst(alpha)?;
                let slope = self.const_for(&c, x.nchw)?;
                self.b.op("PRelu", &[&x.name, &slope], vec![])
            }
            other => return Err(TfjsError::Unsupported(format!("fused activation {other} in {}", node.name))),
        };
        Ok(Val { name, ..x })
    }

    /// A fused node's `fused_ops`: the bias (third input, as an initialiser of `channels`
    /// values) when the first op is BiasAdd, and the activations that follow.
    fn fused_ops(&mut self, node: &Node, channels: usize) -> Result<(Option<String>, Vec<String>), TfjsError> {
        let mut ops = node.attr_strs("fused_ops");
        if ops.first().map(String::as_str) != Some("BiasAdd") {
            return Ok((None, ops));
        }
        ops.remove(0);
        let ins = node.data_inputs();
        let bias = self.konst(&ins.get(2).ok_or_else(|| graph_err(format!("{}: BiasAdd without bias", node.name)))?.0)?.f32s();
        if bias.len() != channels {
            return Err(graph_err(format!("{}: {} bias values for {channels} channels", node.name, bias.len())));
        }
        Ok((Some(self.b.f32s("bias", &[channels], &bias)), ops))
    }

    /// Applies a fused node's activations in order (Prelu's alpha is its fourth input).
    fn activations(&mut self, mut v: Val, activations: &[String], node: &Node) -> Result<Val, TfjsError> {
        let alpha = node.data_inputs().get(3).map(|i| i.0.clone());
        for act in activations {
            v = self.activation(v, act, node, alpha.as_deref())?;
        }
        Ok(v)
    }

    fn conv(&mut self, node: &Node, depthwise: bool) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        if ins.len() < 2 {
            return Err(graph_err(format!("{}: a convolution needs input and filter", node.name)));
        }
        let x = self.val(input(&ins, 0, node)?)?;
        let x = self.in_nchw(x);
        let f = self.konst(input(&ins, 1, node)?)?;
        let [kh, kw, ci, co]: [usize; 4] =
            f.shape.clone().try_into().map_err(|_| graph_err(format!("{}: filter shape {:?}", node.name, f.shape)))?;
        let fd = f.f32s();
        let (w_dims, w, group, out_c) = if depthwise {
            let mut w = vec![0f32; fd.len()];
            for y in 0..kh {
                for xx in 0..kw {
                    for c in 0..ci {
                        for m in 0..co {
                            w[((c * co + m) * kh + y) * kw + xx] = fd[((y * kw + xx) * ci + c) * co + m];
                        }
                    }
                }
            }
            ([ci * co, 1, kh, kw], w, ci, ci * co)
        } else {
            let mut w = vec![0f32; fd.len()];
            for y in 0..kh {
                for xx in 0..kw {
                    for c in 0..ci {
                        for o in 0..co {
                            w[((o * ci + c) * kh + y) * kw + xx] = fd[((y * kw + xx) * ci + c) * co + o];
                        }
                    }
                }
            }
            ([co, ci, kh, kw], w, 1, co)
        };
        let [n, h, wd, c]: [usize; 4] = x.shape.clone().try_into().map_err(|_| graph_err(format!("{}: input is not 4-D", node.name)))?;
        if c != ci {
            return Err(graph_err(format!("{}: input has {c} channels, the filter {ci}", node.name)));
        }
        let strides = node.attr_ints("strides");
        let dil = node.attr_ints("dilations");
        let (sh, sw) = hw(&strides, "stride", node)?;
        let (dh, dw) = hw(&dil, "dilation", node)?;
        if kh == 0 || kw == 0 || kh as i64 > MAX_WINDOW || kw as i64 > MAX_WINDOW {
            return Err(graph_err(format!("{}: filter shape {:?}", node.name, f.shape)));
        }
        let (oh, ow, pads) = self.padding(node, h, wd, kh, kw, sh, sw, dh, dw)?;
        let wname = self.b.f32s("filter", &w_dims, &w);
        let (bias, activations) = self.fused_ops(node, out_c)?;
        let mut inputs = vec![x.name.clone(), wname];
        inputs.extend(bias);
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let attrs = vec![
            ints("kernel_shape", &[kh as i64, kw as i64]),
            ints("strides", &[sh as i64, sw as i64]),
            ints("dilations", &[dh as i64, dw as i64]),
            ints("pads", &pads),
            int("group", group as i64),
        ];
        let y = self.b.op("Conv", &refs, attrs);
        let v = self.activations(Val { name: y, shape: vec![n, oh, ow, out_c], nchw: true }, &activations, node)?;
        self.set(node, v)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn padding(
        &self,
        node: &Node,
        h: usize,
        w: usize,
        kh: usize,
        kw: usize,
        sh: usize,
        sw: usize,
        dh: usize,
        dw: usize,
    ) -> Result<(usize, usize, Vec<i64>), TfjsError> {
        match node.attr_str("padding").as_deref() {
            Some("SAME") => {
                let (oh, t, b) = same_pad(h, kh, sh, dh);
                let (ow, l, r) = same_pad(w, kw, sw, dw);
                Ok((oh, ow, vec![t as i64, l as i64, b as i64, r as i64]))
            }
            Some("VALID") | None => Ok((valid_out(h, kh, sh, dh), valid_out(w, kw, sw, dw), vec![0, 0, 0, 0])),
            Some("EXPLICIT") => {
                let p = node.attr_ints("explicit_paddings");
                if p.len() != 8 {
                    return Err(graph_err(format!("{}: explicit_paddings {p:?}", node.name)));
                }
                let (t, b, l, r) = (pad_amount(p[2], node)?, pad_amount(p[3], node)?, pad_amount(p[4], node)?, pad_amount(p[5], node)?);
                Ok((valid_out(h + t + b, kh, sh, dh), valid_out(w + l + r, kw, sw, dw), vec![p[2], p[4], p[3], p[5]]))
            }
            Some(other) => Err(TfjsError::Unsupported(format!("padding {other} in {}", node.name))),
        }
    }

    fn pool(&mut self, node: &Node, max: bool) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let x = self.val(input(&ins, 0, node)?)?;
        let x = self.in_nchw(x);
        let k = node.attr_ints("ksize");
        let s = node.attr_ints("strides");
        let (kh, kw) = hw(&k, "kernel size", node)?;
        let (sh, sw) = hw(&s, "stride", node)?;
        let [n, h, w, c]: [usize; 4] = x.shape.clone().try_into().map_err(|_| graph_err(format!("{}: input is not 4-D", node.name)))?;
        let (oh, ow, pads) = self.padding(node, h, w, kh, kw, sh, sw, 1, 1)?;
        let mut attrs = vec![ints("kernel_shape", &[kh as i64, kw as i64]), ints("strides", &[sh as i64, sw as i64]), ints("pads", &pads)];
        if !max {
            attrs.push(int("count_include_pad", 0));
        }
        let y = self.b.op(if max { "MaxPool" } else { "AveragePool" }, &[&x.name], attrs);
        self.set(node, Val { name: y, shape: vec![n, oh, ow, c], nchw: true })?;
        Ok(())
    }

    fn pad(&mut self, node: &Node) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let x = self.val(input(&ins, 0, node)?)?;
        let p = self.konst(input(&ins, 1, node)?)?.i64s();
        let rank = x.shape.len();
        if p.len() != rank * 2 {
            return Err(graph_err(format!("{}: paddings {p:?} for rank {rank}", node.name)));
        }
        let amounts = p.iter().map(|&v| pad_amount(v, node)).collect::<Result<Vec<usize>, _>>()?;
        let order: Vec<usize> = if x.nchw { vec![0, 3, 1, 2] } else { (0..rank).collect() };
        let mut pads: Vec<i64> = order.iter().map(|&a| p[a * 2]).collect();
        pads.extend(order.iter().map(|&a| p[a * 2 + 1]));
        let pname = self.b.i64s("pads", &pads);
        let mut inputs = vec![x.name.clone(), pname];
        if node.op == "PadV2" {
            let v = self.konst(input(&ins, 2, node)?)?.f32s();
            let value = *v.first().ok_or_else(|| graph_err(format!("{}: empty pad value", node.name)))?;
            inputs.push(self.b.f32s("pad_value", &[], &[value]));
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let y = self.b.op("Pad", &refs, vec![]);
        let shape = x.shape.iter().enumerate().map(|(a, &d)| d + amounts[a * 2] + amounts[a * 2 + 1]).collect();
        self.set(node, Val { name: y, shape, nchw: x.nchw })?;
        Ok(())
    }

    fn binary(&mut self, node: &Node, op: &str) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let (a, b) = (self.entry(input(&ins, 0, node)?)?, self.entry(input(&ins, 1, node)?)?);
        let (an, bn, shape, nchw) = match (a, b) {
            (Entry::Value(va), Entry::Value(vb)) => {
                let (va, vb) = if va.nchw != vb.nchw || (va.shape.len() == 4) != (vb.shape.len() == 4) {
                    if va.shape.len() == 4 && vb.shape.len() == 4 {
                        (self.in_nchw(va), self.in_nchw(vb))
                    } else {
                        (self.in_plain(va), self.in_plain(vb))
                    }
                } else {
                    (va, vb)
                };
                let shape = broadcast(&va.shape, &vb.shape, node)?;
                let nchw = va.nchw && vb.nchw;
                (va.name, vb.name, shape, nchw)
            }
            (Entry::Value(v), Entry::Const(c)) => {
                let cn = self.const_for(&c, v.nchw)?;
                (v.name.clone(), cn, broadcast(&v.shape, &c.shape, node)?, v.nchw)
            }
            (Entry::Const(c), Entry::Value(v)) => {
                let cn = self.const_for(&c, v.nchw)?;
                (cn, v.name.clone(), broadcast(&c.shape, &v.shape, node)?, v.nchw)
            }
            (Entry::Const(_), Entry::Const(_)) => {
                return Err(TfjsError::Unsupported(format!("{} on two constants ({})", node.op, node.name)))
            }
        };
        let y = self.b.op(op, &[&an, &bn], vec![]);
        self.set(node, Val { name: y, shape, nchw })?;
        Ok(())
    }

    fn unary(&mut self, node: &Node) -> Result<(), TfjsError> {
        let x = self.val(input(&node.data_inputs(), 0, node)?)?;
        let y = match node.op.as_str() {
            "Rsqrt" => {
                let s = self.b.op("Sqrt", &[&x.name], vec![]);
                self.b.op("Reciprocal", &[&s], vec![])
            }
            "Square" => self.b.op("Mul", &[&x.name, &x.name], vec![]),
            "Identity" | "StopGradient" | "Snapshot" => {
                self.set(node, x)?;
                return Ok(());
            }
            "Relu" | "Relu6" | "Elu" | "Sigmoid" | "Tanh" | "LeakyRelu" => {
                return self.activation(x, &node.op, node, None).and_then(|v| self.set(node, v))
            }
            other => {
                let onnx = match other {
                    "Abs" => "Abs",
                    "Neg" => "Neg",
                    "Exp" => "Exp",
                    "Sqrt" => "Sqrt",
                    _ => return Err(TfjsError::Unsupported(other.to_string())),
                };
                self.b.op(onnx, &[&x.name], vec![])
            }
        };
        self.set(node, Val { name: y, ..x })?;
        Ok(())
    }

    fn reshape(&mut self, node: &Node) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let x = self.val(input(&ins, 0, node)?)?;
        let x = self.in_plain(x);
        let target = self.konst(input(&ins, 1, node)?)?.i64s();
        let total: usize = x.shape.iter().product();
        let bad = || graph_err(format!("{}: cannot reshape {:?} to {target:?}", node.name, x.shape));
        if target.iter().any(|&d| d < -1 || d > MAX_ELEMENTS as i64) || target.iter().filter(|&&d| d == -1).count() > 1 {
            return Err(bad());
        }
        let known = target.iter().filter(|&&d| d >= 0).try_fold(1usize, |a, &d| a.checked_mul(d as usize)).ok_or_else(bad)?;
        let shape: Vec<usize> = target.iter().map(|&d| if d < 0 { total / known.max(1) } else { d as usize }).collect();
        if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(total) {
            return Err(graph_err(format!("{}: cannot reshape {:?} to {target:?}", node.name, x.shape)));
        }
        let s = self.b.i64s("shape", &shape.iter().map(|&d| d as i64).collect::<Vec<_>>());
        let y = self.b.op("Reshape", &[&x.name, &s], vec![]);
        self.set(node, Val { name: y, shape, nchw: false })?;
        Ok(())
    }

    fn squeeze(&mut self, node: &Node) -> Result<(), TfjsError> {
        let x = self.val(input(&node.data_inputs(), 0, node)?)?;
        let x = self.in_plain(x);
        let rank = x.shape.len() as i64;
        let mut axes: Vec<i64> = node.attr_ints("squeeze_dims").into_iter().map(|a| if a < 0 { a + rank } else { a }).collect();
        if axes.is_empty() {
            axes = (0..rank).filter(|&a| x.shape[a as usize] == 1).collect();
        }
        if let Some(a) = axes.iter().find(|&&a| !(0..rank).contains(&a) || x.shape[a as usize] != 1) {
            return Err(graph_err(format!("{}: cannot squeeze axis {a} of {:?}", node.name, x.shape)));
        }
        let shape = x.shape.iter().enumerate().filter(|(a, _)| !axes.contains(&(*a as i64))).map(|(_, &d)| d).collect();
        let an = self.b.i64s("axes", &axes);
        let y = self.b.op("Squeeze", &[&x.name, &an], vec![]);
        self.set(node, Val { name: y, shape, nchw: false })?;
        Ok(())
    }

    fn concat(&mut self, node: &Node) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let (axis_in, data) = ins.split_last().ok_or_else(|| graph_err(format!("{}: no inputs", node.name)))?;
        let mut vals = Vec::new();
        for i in data {
            vals.push(self.val(&i.0)?);
        }
        let rank = vals.first().map(|v| v.shape.len()).unwrap_or(0) as i64;
        let mut axis = self.konst(&axis_in.0)?.i64s().first().copied().unwrap_or(0);
        if axis < 0 {
            axis += rank;
        }
        let first = vals.first().map(|v| v.shape.clone()).ok_or_else(|| graph_err(format!("{}: nothing to concatenate", node.name)))?;
        let fits =
            |v: &Val| v.shape.len() == first.len() && v.shape.iter().zip(&first).enumerate().all(|(a, (d, e))| a as i64 == axis || d == e);
        if !(0..rank).contains(&axis) || !vals.iter().all(fits) {
            return Err(graph_err(format!(
                "{}: cannot concatenate {:?} on axis {axis}",
                node.name,
                vals.iter().map(|v| &v.shape).collect::<Vec<_>>()
            )));
        }
        let four = rank == 4;
        let vals: Vec<Val> = vals.into_iter().map(|v| if four { self.in_nchw(v) } else { self.in_plain(v) }).collect();
        let onnx_axis = if four { [0, 2, 3, 1][axis as usize] } else { axis };
        let mut shape = first;
        shape[axis as usize] = vals.iter().map(|v| v.shape[axis as usize]).sum();
        let names: Vec<&str> = vals.iter().map(|v| v.name.as_str()).collect();
        let y = self.b.op("Concat", &names, vec![int("axis", onnx_axis)]);
        self.set(node, Val { name: y, shape, nchw: four })?;
        Ok(())
    }

    fn reduce(&mut self, node: &Node) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let x = self.val(input(&ins, 0, node)?)?;
        let x = self.in_plain(x);
        let rank = x.shape.len() as i64;
        let axes: Vec<i64> = self.konst(input(&ins, 1, node)?)?.i64s().into_iter().map(|a| if a < 0 { a + rank } else { a }).collect();
        if let Some(a) = axes.iter().find(|&&a| !(0..rank).contains(&a)) {
            return Err(graph_err(format!("{}: axis {a} of a rank-{rank} tensor", node.name)));
        }
        let keep = node.attr_bool("keep_dims");
        let shape: Vec<usize> =
            x.shape.iter().enumerate().filter_map(|(a, &d)| if axes.contains(&(a as i64)) { keep.then_some(1) } else { Some(d) }).collect();
        let y = match node.op.as_str() {
            "Sum" => {
                let an = self.b.i64s("axes", &axes);
                self.b.op("ReduceSum", &[&x.name, &an], vec![int("keepdims", keep as i64)])
            }
            op => self.b.op(
                if op == "Mean" { "ReduceMean" } else { "ReduceMax" },
                &[&x.name],
                vec![ints("axes", &axes), int("keepdims", keep as i64)],
            ),
        };
        self.set(node, Val { name: y, shape, nchw: false })?;
        Ok(())
    }

    fn matmul(&mut self, node: &Node) -> Result<(), TfjsError> {
        let ins = node.data_inputs();
        let a = self.val(input(&ins, 0, node)?)?;
        let a = self.in_plain(a);
        if node.attr_bool("transpose_a") || a.shape.len() != 2 {
            return Err(TfjsError::Unsupported(format!("MatMul with transpose_a or a {}-D input ({})", a.shape.len(), node.name)));
        }
        let b = self.konst(input(&ins, 1, node)?)?;
        let [r, c]: [usize; 2] = b.shape.clone().try_into().map_err(|_| graph_err(format!("{}: weight shape {:?}", node.name, b.shape)))?;
        let mut data = b.f32s();
        let (k, n) = if node.attr_bool("transpose_b") {
            let mut t = vec![0f32; data.len()];
            for i in 0..r {
                for j in 0..c {
                    t[j * r + i] = data[i * c + j];
                }
            }
            data = t;
            (c, r)
        } else {
            (r, c)
        };
        if a.shape[1] != k {
            return Err(graph_err(format!("{}: {:?} × [{k}, {n}]", node.name, a.shape)));
        }
        let w = self.b.f32s("weight", &[k, n], &data);
        let mut y = self.b.op("MatMul", &[&a.name, &w], vec![]);
        let (bias, activations) = self.fused_ops(node, n)?;
        if let Some(bn) = bias {
            y = self.b.op("Add", &[&y, &bn], vec![]);
        }
        let v = self.activations(Val { name: y, shape: vec![a.shape[0], n], nchw: false }, &activations, node)?;
        self.set(node, v)?;
        Ok(())
    }
}

/// Topological order of the nodes (TF.js files are usually ordered, but need not be).
fn topo_order(nodes: &[Node]) -> Result<Vec<usize>, TfjsError> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let mut state = vec![0u8; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    for start in 0..nodes.len() {
        let mut stack = vec![(start, false)];
        while let Some((i, done)) = stack.pop() {
            if done {
                if state[i] != 2 {
                    state[i] = 2;
                    order.push(i);
                }
                continue;
            }
            if state[i] == 2 {
                continue;
            }
            if state[i] == 1 {
                return Err(graph_err(format!("cycle through {}", nodes[i].name)));
            }
            state[i] = 1;
            stack.push((i, true));
            for (inp, _) in nodes[i].data_inputs() {
                let j = *index.get(inp.as_str()).ok_or_else(|| graph_err(format!("{} reads unknown node {inp}", nodes[i].name)))?;
                if state[j] == 0 {
                    stack.push((j, false));
                }
            }
        }
    }
    Ok(order)
}

/// Converts a TF.js graph model; `shard` returns a weight shard's bytes by its manifest path.
pub fn convert(model_json: &str, shard: &mut dyn FnMut(&str) -> Result<Vec<u8>, TfjsError>) -> Result<Converted, TfjsError> {
    let model = ModelJson::parse(model_json)?;
    let nodes = &model.model_topology.node;
    let unknown: BTreeSet<&str> = nodes.iter().map(|n| n.op.as_str()).filter(|op| !SUPPORTED_OPS.contains(op)).collect();
    if !unknown.is_empty() {
        return Err(TfjsError::Unsupported(unknown.into_iter().collect::<Vec<_>>().join(", ")));
    }
    let weights = weights::decode(&model, shard)?;
    let mut ctx = Ctx { b: Builder::default(), env: HashMap::new() };
    let mut inputs = Vec::new();
    for i in topo_order(nodes)? {
        let node = &nodes[i];
        match node.op.as_str() {
            "Placeholder" => {
                let shape: Vec<usize> =
                    node.placeholder_shape().iter().map(|&d| if d < 0 { 1 } else { usize::try_from(d).unwrap_or(usize::MAX) }).collect();
                check_shape(&shape, node)?;
                inputs.push((node.name.clone(), shape.clone()));
                ctx.set(node, Val { name: node.name.clone(), shape, nchw: false })?;
            }
            "Const" => {
                let c =
                    weights.get(&node.name).cloned().ok_or_else(|| TfjsError::Weights(format!("no weight for constant {}", node.name)))?;
                ctx.env.insert(node.name.clone(), Entry::Const(c));
            }
            "Conv2D" | "_FusedConv2D" => ctx.conv(node, false)?,
            "DepthwiseConv2dNative" | "FusedDepthwiseConv2dNative" => ctx.conv(node, true)?,
            "MaxPool" => ctx.pool(node, true)?,
            "AvgPool" => ctx.pool(node, false)?,
            "Pad" | "PadV2" => ctx.pad(node)?,
            "Add" | "AddV2" | "BiasAdd" => ctx.binary(node, "Add")?,
            "Sub" => ctx.binary(node, "Sub")?,
            "Mul" => ctx.binary(node, "Mul")?,
            "RealDiv" => ctx.binary(node, "Div")?,
            "Maximum" => ctx.binary(node, "Max")?,
            "Minimum" => ctx.binary(node, "Min")?,
            "Prelu" => {
                let ins = node.data_inputs();
                let x = ctx.val(input(&ins, 0, node)?)?;
                let v = ctx.activation(x, "Prelu", node, Some(input(&ins, 1, node)?))?;
                ctx.set(node, v)?;
            }
            "Reshape" => ctx.reshape(node)?,
            "Squeeze" => ctx.squeeze(node)?,
            "ConcatV2" => ctx.concat(node)?,
            "Mean" | "Sum" | "Max" => ctx.reduce(node)?,
            "MatMul" | "_FusedMatMul" => ctx.matmul(node)?,
            "Softmax" => {
                let x = ctx.val(input(&node.data_inputs(), 0, node)?)?;
                let x = ctx.in_plain(x);
                let y = ctx.b.op("Softmax", &[&x.name], vec![int("axis", -1)]);
                ctx.set(node, Val { name: y, ..x })?;
            }
            _ => ctx.unary(node)?,
        }
    }
    // Outputs: the signature's (by key), else Identity nodes nobody reads, else unread nodes.
    let consumed: BTreeSet<String> = nodes.iter().flat_map(|n| n.data_inputs().into_iter().map(|(i, _)| i)).collect();
    let mut outs: Vec<(String, String)> = match &model.signature {
        Some(sig) if !sig.outputs.is_empty() => {
            let mut v: Vec<_> = sig
                .outputs
                .iter()
                .map(|(k, t)| (k.replace([':', '/'], "_"), t.name.split(':').next().unwrap_or_default().to_string()))
                .collect();
            v.sort();
            v
        }
        _ => nodes
            .iter()
            .filter(|n| !consumed.contains(&n.name) && n.op != "Const" && n.op != "Placeholder")
            .map(|n| (n.name.clone(), n.name.clone()))
            .collect(),
    };
    outs.dedup();
    let mut outputs = Vec::new();
    for (out_name, node_name) in &outs {
        let v = match ctx.entry(node_name)? {
            Entry::Value(v) => v,
            Entry::Const(_) => return Err(graph_err(format!("output {node_name} is a constant"))),
        };
        let v = ctx.in_plain(v);
        ctx.b.node("Identity", &[&v.name], out_name, vec![]);
        outputs.push((out_name.clone(), v.shape.clone()));
    }
    let graph = GraphProto {
        name: "tfjs".into(),
        node: std::mem::take(&mut ctx.b.nodes),
        initializer: std::mem::take(&mut ctx.b.inits),
        input: inputs.iter().map(|(n, s)| value_info(n, s)).collect(),
        output: outputs.iter().map(|(n, s)| value_info(n, s)).collect(),
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 7,
        producer_name: "simkyc-tfjs".into(),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    };
    Ok(Converted { model, inputs, outputs })
}
