//! Rewrites every PRelu node with a constant slope into operators the runtimes run fast, because
//! onnxruntime's PRelu kernel is slow: in SFace its 27 PRelu nodes took half of the inference
//! time (16 of 32 ms on one thread), more than the 27 convolutions they follow (docs/models.md).
//!
//! Two forms, chosen per runtime by measurement ([`PreluForm`]):
//! - **element-wise**: `Max(x, a·x)` where every slope `a` ≤ 1, `Relu(x) + a·Min(x, 0)`
//!   otherwise. Exact to the bit: for `a` ≤ 1, `a·x` ≥ `x` when `x` < 0 and `a·x` ≤ `x` when
//!   `x` ≥ 0, so the maximum is PRelu's value; in the second form one term is a zero.
//! - **depthwise**: `x + Conv₁ₓ₁(Relu(Conv₁ₓ₁(x, −1)), 1 − a)` with per-channel (grouped)
//!   1×1 convolutions, for a 4-D input with one slope per channel: `x` where `x` ≥ 0, and
//!   `x + (1 − a)·(−x)` = `a·x` below. Every operator is one that onnxruntime keeps in its
//!   blocked (NCHWc) layout and fuses into the two convolutions (the `Relu` into the first, the
//!   sum into the second), so the layout reorders around each PRelu disappear and no
//!   element-wise pass is left. Equal up to rounding: `x − (1 − a)·x` is computed instead of
//!   `a·x` (measured on the installed models: within 1e-6 of the output's scale). An earlier
//!   form, `Relu(x) + Conv₁ₓ₁(Relu(Conv₁ₓ₁(x, −1)), −a)`, kept one `Relu` pass of its own and
//!   took 4 % longer on SFace.
//!
//! Only weights are added; none changes.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

/// The name given to the scalar zero that `Min(x, 0)` needs.
const ZERO: &str = "simkyc_prelu_zero";
/// ONNX's data type code for f32.
const FLOAT: i32 = 1;
/// The first default-domain opset whose `Max`, `Min` and `Mul` broadcast like PRelu's slope.
const FIRST_BROADCASTING_OPSET: i64 = 8;
/// How far back through the graph a tensor's rank is looked for.
const MAX_RANK_DEPTH: usize = 512;

/// Which equivalent of PRelu a runtime gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreluForm {
    /// `Max`/`Mul` or `Relu`/`Min`/`Mul`/`Add`: exact to the bit.
    Elementwise,
    /// Grouped 1×1 convolutions where the input is 4-D with a slope per channel, the
    /// element-wise form elsewhere.
    Depthwise,
}

/// The values of a constant f32 tensor, from either of the encodings ONNX allows.
fn float_values(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != FLOAT || !t.external_data.is_empty() {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    if !t.raw_data.len().is_multiple_of(4) {
        return None;
    }
    Some(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// A node named after the PRelu it replaces and its own output, so names stay unique (tract
/// needs that).
fn node(op: &str, inputs: &[&str], output: &str, from: &NodeProto) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name: format!("{}/{op}:{output}", from.name),
        ..Default::default()
    }
}

/// A grouped 1×1 convolution over `channels` channels: one weight per channel.
fn depthwise(inputs: &[&str], output: &str, channels: usize, from: &NodeProto) -> NodeProto {
    let int = |name: &str, i: i64| AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() };
    let ints =
        |name: &str, v: Vec<i64>| AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v, ..Default::default() };
    NodeProto { attribute: vec![int("group", channels as i64), ints("kernel_shape", vec![1, 1])], ..node("Conv", inputs, output, from) }
}

fn weight(name: &str, channels: usize, values: Vec<f32>) -> TensorProto {
    TensorProto { name: name.into(), dims: vec![channels as i64, 1, 1, 1], data_type: FLOAT, float_data: values, ..Default::default() }
}

/// The ranks of a graph's tensors where its operators tell them (a 2-D convolution's output is
/// 4-D, element-wise operators keep their input's rank, ...), found by walking back.
struct Ranks<'g> {
    producers: HashMap<&'g str, &'g NodeProto>,
    weights: HashMap<&'g str, &'g TensorProto>,
    known: HashMap<&'g str, Option<usize>>,
}

impl<'g> Ranks<'g> {
    fn new(graph: &'g GraphProto) -> Ranks<'g> {
        Ranks {
            producers: graph.node.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n))).collect(),
            weights: graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect(),
            known: HashMap::new(),
        }
    }

    fn of(&mut self, value: &'g str, depth: usize) -> Option<usize> {
        if let Some(r) = self.known.get(value) {
            return *r;
        }
        let r = if depth > MAX_RANK_DEPTH { None } else { self.walk(value, depth) };
        self.known.insert(value, r);
        r
    }

    fn walk(&mut self, value: &'g str, depth: usize) -> Option<usize> {
        if let Some(w) = self.weights.get(value) {
            return Some(w.dims.len());
        }
        let n: &'g NodeProto = self.producers.get(value)?;
        let ints = |name: &str| n.attribute.iter().find(|a| a.name == name).map(|a| a.ints.len());
        match n.op_type.as_str() {
            "Conv" => self.weights.get(n.input.get(1)?.as_str()).map(|w| w.dims.len()),
            "MaxPool" | "AveragePool" => ints("kernel_shape").map(|k| k + 2),
            "Transpose" => ints("perm").filter(|&p| p > 0),
            "BatchNormalization" | "Relu" | "PRelu" | "LeakyRelu" | "Pad" | "Clip" | "Sigmoid" | "Identity" => {
                self.of(n.input.first()?, depth + 1)
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let mut rank = 0;
                for i in &n.input {
                    rank = rank.max(self.of(i, depth + 1)?);
                }
                Some(rank)
            }
            _ => None,
        }
    }
}

/// The channel count when a slope of these dimensions gives one value per channel of a 4-D
/// NCHW tensor (`[C, 1, 1]` or `[1, C, 1, 1]`), more than one channel.
fn per_channel(dims: &[i64], values: usize) -> Option<usize> {
    let c = match dims {
        [c, 1, 1] | [1, c, 1, 1] => usize::try_from(*c).ok()?,
        _ => return None,
    };
    (c > 1 && c == values).then_some(c)
}

/// Rewrites the graph's PRelu nodes (those whose slope is a weight) and returns how many. Left
/// unchanged: a model whose default-domain opset predates broadcasting `Max`/`Min`, and a slope
/// computed by the graph.
pub fn rewrite_prelu(model: &mut ModelProto, form: PreluForm) -> usize {
    let opset = model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map(|o| o.version);
    if opset.is_none_or(|v| v < FIRST_BROADCASTING_OPSET) {
        return 0;
    }
    let Some(graph) = model.graph.as_mut() else { return 0 };
    rewrite_graph(graph, form)
}

fn rewrite_graph(graph: &mut GraphProto, form: PreluForm) -> usize {
    // Only the weights PRelu nodes read as slopes are decoded (not SFace's 39 MB of the rest).
    let slope_names: HashSet<&str> =
        graph.node.iter().filter(|n| n.op_type == "PRelu").filter_map(|n| n.input.get(1)).map(String::as_str).collect();
    let slopes: HashMap<&str, (&[i64], Vec<f32>)> = graph
        .initializer
        .iter()
        .filter(|t| slope_names.contains(t.name.as_str()))
        .filter_map(|t| float_values(t).map(|v| (t.name.as_str(), (t.dims.as_slice(), v))))
        .collect();
    let mut ranks = Ranks::new(graph);
    let mut rewritten = 0;
    let mut added: Vec<TensorProto> = Vec::new();
    // The model's own weight names: a node whose new weights' names are taken keeps the
    // element-wise form rather than read someone else's tensor.
    let names: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let mut minus_ones: HashSet<usize> = HashSet::new();
    let mut needs_zero = false;
    let mut nodes = Vec::with_capacity(graph.node.len());
    for n in &graph.node {
        let slope = match (n.op_type.as_str(), n.domain.as_str(), n.input.as_slice(), n.output.as_slice()) {
            ("PRelu", "" | "ai.onnx", [_, a], [_]) => slopes.get(a.as_str()),
            _ => None,
        };
        let Some((dims, slope)) = slope.filter(|(_, s)| !s.is_empty() && s.iter().all(|v| v.is_finite())) else {
            nodes.push(n.clone());
            continue;
        };
        let (x, a, y) = (n.input[0].as_str(), n.input[1].as_str(), n.output[0].as_str());
        let (minus_one_of, one_minus_slope) = (|c: usize| format!("simkyc_prelu_minus_one_{c}"), format!("{y}/one_minus_slope"));
        let channels = per_channel(dims, slope.len())
            .filter(|_| form == PreluForm::Depthwise && ranks.of(x, 0) == Some(4))
            .filter(|&c| !names.contains(&one_minus_slope) && !names.contains(&minus_one_of(c)));
        if let Some(c) = channels {
            let minus_one = minus_one_of(c);
            if minus_ones.insert(c) {
                added.push(weight(&minus_one, c, vec![-1.0; c]));
            }
            added.push(weight(&one_minus_slope, c, slope.iter().map(|v| 1.0 - v).collect()));
            let (negated, negative, scaled) = (format!("{y}/negated"), format!("{y}/negative"), format!("{y}/negative_scaled"));
            nodes.push(depthwise(&[x, &minus_one], &negated, c, n));
            nodes.push(node("Relu", &[&negated], &negative, n));
            nodes.push(depthwise(&[&negative, &one_minus_slope], &scaled, c, n));
            nodes.push(node("Add", &[&scaled, x], y, n));
        } else if slope.iter().all(|&v| v <= 1.0) {
            let ax = format!("{y}/slope_times_x");
            nodes.push(node("Mul", &[x, a], &ax, n));
            nodes.push(node("Max", &[x, &ax], y, n));
        } else if !names.contains(ZERO) {
            let (pos, neg, scaled) = (format!("{y}/positive"), format!("{y}/negative"), format!("{y}/negative_scaled"));
            nodes.push(node("Relu", &[x], &pos, n));
            nodes.push(node("Min", &[x, ZERO], &neg, n));
            nodes.push(node("Mul", &[&neg, a], &scaled, n));
            nodes.push(node("Add", &[&pos, &scaled], y, n));
            needs_zero = true;
        } else {
            nodes.push(n.clone());
            continue;
        }
        rewritten += 1;
    }
    drop(ranks);
    drop(slopes);
    graph.node = nodes;
    if needs_zero {
        added.push(TensorProto { name: ZERO.into(), data_type: FLOAT, float_data: vec![0.0], ..Default::default() });
    }
    graph.initializer.extend(added);
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::OperatorSetIdProto;

    fn prelu_model(slope: &[f32], raw: bool, opset: i64) -> ModelProto {
        let a = if raw {
            TensorProto {
                name: "a".into(),
                dims: vec![slope.len() as i64, 1, 1],
                data_type: FLOAT,
                raw_data: slope.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            }
        } else {
            TensorProto {
                name: "a".into(),
                dims: vec![slope.len() as i64, 1, 1],
                data_type: FLOAT,
                float_data: slope.to_vec(),
                ..Default::default()
            }
        };
        let graph = GraphProto {
            node: vec![NodeProto {
                op_type: "PRelu".into(),
                name: "p".into(),
                input: vec!["x".into(), "a".into()],
                output: vec!["y".into()],
                ..Default::default()
            }],
            initializer: vec![a],
            ..Default::default()
        };
        ModelProto {
            ir_version: 7,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
            graph: Some(graph),
            ..Default::default()
        }
    }

    fn ops(m: &ModelProto) -> Vec<String> {
        m.graph.as_ref().map(|g| g.node.iter().map(|n| n.op_type.clone()).collect()).unwrap_or_default()
    }

    #[test]
    fn slopes_up_to_one_become_max_of_x_and_slope_times_x() {
        for raw in [false, true] {
            let mut m = prelu_model(&[0.25, -0.5, 1.0], raw, 11);
            assert_eq!(rewrite_prelu(&mut m, PreluForm::Elementwise), 1);
            assert_eq!(ops(&m), ["Mul", "Max"]);
            let g = m.graph.unwrap();
            assert_eq!(g.node[1].output, ["y"], "the node's output keeps its name");
            assert_eq!(g.initializer.len(), 1, "no zero is needed");
        }
    }

    #[test]
    fn a_slope_above_one_takes_the_relu_plus_scaled_min_form() {
        let mut m = prelu_model(&[0.25, 1.12], false, 13);
        assert_eq!(rewrite_prelu(&mut m, PreluForm::Elementwise), 1);
        assert_eq!(ops(&m), ["Relu", "Min", "Mul", "Add"]);
        let g = m.graph.unwrap();
        assert!(g.initializer.iter().any(|t| t.name == ZERO));
        assert_eq!(g.node[3].output, ["y"]);
    }

    #[test]
    fn old_opsets_and_computed_slopes_are_left_alone() {
        let mut m = prelu_model(&[0.25], false, 7);
        assert_eq!(rewrite_prelu(&mut m, PreluForm::Elementwise), 0);
        assert_eq!(ops(&m), ["PRelu"]);
        let mut m = prelu_model(&[0.25], false, 11);
        m.graph.as_mut().unwrap().initializer.clear();
        assert_eq!(rewrite_prelu(&mut m, PreluForm::Elementwise), 0);
        assert_eq!(ops(&m), ["PRelu"]);
    }

    /// A 4-D tensor from a 2-D convolution, then a PRelu with one slope per channel.
    fn conv_prelu_model(slope_dims: Vec<i64>, slope: &[f32]) -> ModelProto {
        let mut m = prelu_model(slope, false, 13);
        let g = m.graph.as_mut().unwrap();
        g.initializer[0].dims = slope_dims;
        g.initializer.push(TensorProto {
            name: "w".into(),
            dims: vec![slope.len() as i64, 3, 3, 3],
            data_type: FLOAT,
            ..Default::default()
        });
        g.node.insert(
            0,
            NodeProto { op_type: "Conv".into(), input: vec!["img".into(), "w".into()], output: vec!["x".into()], ..Default::default() },
        );
        m
    }

    #[test]
    fn after_a_2d_convolution_the_depthwise_form_is_used() {
        for dims in [vec![2, 1, 1], vec![1, 2, 1, 1]] {
            let mut m = conv_prelu_model(dims.clone(), &[0.25, 1.12]);
            assert_eq!(rewrite_prelu(&mut m, PreluForm::Depthwise), 1);
            assert_eq!(ops(&m), ["Conv", "Conv", "Relu", "Conv", "Add"], "{dims:?}");
            let g = m.graph.unwrap();
            let names: HashSet<&str> = g.node.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names.len(), g.node.len(), "node names stay unique");
            let w = |n: &str| g.initializer.iter().find(|t| t.name == n).map(|t| (t.dims.clone(), t.float_data.clone()));
            assert_eq!(w(&g.node[1].input[1]), Some((vec![2, 1, 1, 1], vec![-1.0, -1.0])));
            assert_eq!(w(&g.node[3].input[1]), Some((vec![2, 1, 1, 1], vec![0.75, 1.0 - 1.12])));
            let group = g.node[3].attribute.iter().find(|a| a.name == "group").map(|a| a.i);
            assert_eq!(group, Some(2));
            assert_eq!(g.node[4].input, [g.node[3].output[0].as_str(), "x"], "the sum reads the scaled negative part and x");
            assert_eq!(g.node[4].output, ["y"]);
        }
    }

    #[test]
    fn without_a_known_rank_or_a_slope_per_channel_the_elementwise_form_is_used() {
        // The input's rank is unknown (a graph input): element-wise.
        let mut m = prelu_model(&[0.25, 0.5], false, 13);
        assert_eq!(rewrite_prelu(&mut m, PreluForm::Depthwise), 1);
        assert_eq!(ops(&m), ["Mul", "Max"]);
        // A slope along the last axis (`[C]`) is not per channel of NCHW.
        let mut m = conv_prelu_model(vec![2], &[0.25, 0.5]);
        assert_eq!(rewrite_prelu(&mut m, PreluForm::Depthwise), 1);
        assert_eq!(ops(&m), ["Conv", "Mul", "Max"]);
    }

    #[test]
    fn a_model_whose_weights_already_use_our_names_keeps_them() {
        let mut m = conv_prelu_model(vec![2, 1, 1], &[0.25, 1.12]);
        let taken =
            |name: &str| TensorProto { name: name.into(), dims: vec![1], data_type: FLOAT, float_data: vec![7.0], ..Default::default() };
        m.graph.as_mut().unwrap().initializer.push(taken("y/one_minus_slope"));
        assert_eq!(rewrite_prelu(&mut m, PreluForm::Depthwise), 1);
        assert_eq!(ops(&m), ["Conv", "Relu", "Min", "Mul", "Add"], "element-wise instead");
        let mut m2 = prelu_model(&[1.12], false, 13);
        m2.graph.as_mut().unwrap().initializer.push(taken(ZERO));
        assert_eq!(rewrite_prelu(&mut m2, PreluForm::Elementwise), 0, "no zero of ours to use");
        assert_eq!(ops(&m2), ["PRelu"]);
        let zeros = m2.graph.unwrap().initializer.iter().filter(|t| t.name == ZERO).count();
        assert_eq!(zeros, 1);
    }

    /// The identities the rewrite rests on, over awkward values (signed zeros, extremes): the
    /// element-wise forms to the bit, the depthwise form to rounding.
    #[test]
    fn the_forms_equal_prelu() {
        let xs = [-3.4e38f32, -1e-30, -7.5, -0.0, 0.0, 1e-30, 2.5, 3.4e38, -1.0, 1.0];
        for a in [-0.81f32, 0.0, 0.25, 0.999, 1.0, 1.12] {
            for &x in &xs {
                let prelu = if x < 0.0 { a * x } else { x };
                let relu_min = x.max(0.0) + a * x.min(0.0);
                assert_eq!(relu_min, prelu, "relu+min form, a {a} x {x}");
                if a <= 1.0 {
                    assert_eq!(x.max(a * x), prelu, "max form, a {a} x {x}");
                }
                // Rounding only: x − (1 − a)·x for a·x, exact where x ≥ 0.
                let depthwise = x + (1.0 - a) * (-x).max(0.0);
                if x >= 0.0 || x.abs() < 1e30 {
                    let scale = x.abs().max(f32::MIN_POSITIVE);
                    assert!((depthwise - prelu).abs() <= 4.0 * f32::EPSILON * scale, "depthwise form, a {a} x {x}: {depthwise}");
                }
                if x >= 0.0 {
                    assert_eq!(depthwise, x, "depthwise form keeps x ≥ 0 exactly: {x}");
                }
            }
        }
    }
}
