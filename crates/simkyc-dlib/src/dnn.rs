//! dlib DNN model files (`net_type` serialised with `dlib::serialize`) read into a flat list of ops.
//!
//! A dlib network's topology lives in its C++ type, not in the file: the file holds each layer's
//! parameters in input→output order, and only version markers for tag/skip layers. So, like dlib
//! itself, we declare the architecture ([`Arch`]) and check the file against it layer by layer.

use crate::serial::{Reader, Tensor};
use crate::DlibError;

/// One computational step of a dlib network, in input→output order.
#[derive(Debug, Clone)]
pub enum Op {
    /// 2-d convolution (`con_`), weights in (out, in, kh, kw) order.
    Conv { weights: Vec<f32>, bias: Vec<f32>, out_ch: usize, in_ch: usize, kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2] },
    /// Per-channel scale and shift (`affine_`, or a `bn_con` frozen into one).
    Affine { gamma: Vec<f32>, beta: Vec<f32> },
    /// Rectified linear unit (`relu_`).
    Relu,
    /// Max pooling (`max_pool_`).
    MaxPool { kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2] },
    /// Average pooling (`avg_pool_`); a zero kernel means "the whole plane".
    AvgPool { kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2] },
    /// Fully connected without bias (`fc_no_bias`), weights (inputs × outputs).
    FcNoBias { weights: Vec<f32>, inputs: usize, outputs: usize },
    /// Remember the current value under a tag id (`tagN`).
    Tag(u32),
    /// Replace the current value with a tagged one (`skipN`).
    Skip(u32),
    /// Add a tagged value to the current one (`add_prevN`); dlib zero-pads mismatched shapes.
    AddPrev(u32),
}

/// How a network's input image becomes a tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `input_rgb_image_sized<N>`: one fixed-size RGB image, (pixel - mean) / 256.
    RgbSized { mean: [f32; 3], rows: usize, cols: usize },
    /// `input_rgb_image_pyramid<pyramid_down<6>>`: a tiled image pyramid, (pixel - mean) / 256.
    RgbPyramid { mean: [f32; 3] },
}

/// Options of dlib's max-margin object detection loss, as stored in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct MmodOptions {
    /// Width and height of the detection window, in input pixels.
    pub window: [usize; 2],
    /// Non-max suppression: IoU above which two boxes overlap.
    pub nms_iou: f64,
    /// Non-max suppression: fraction of a box covered by another above which they overlap.
    pub nms_cover: f64,
}

/// The loss layer on top of a network, which says how to read its output.
#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    /// `loss_metric`: the output is an embedding; pairs closer than `distance_threshold` match.
    Metric { margin: f64, distance_threshold: f64 },
    /// `loss_mmod`: the output is a detection score map.
    Mmod(MmodOptions),
}

/// A dlib network read from disk: input, ops in order, and loss.
#[derive(Debug, Clone)]
pub struct Net {
    /// Input conversion.
    pub input: Input,
    /// Ops from input to output.
    pub ops: Vec<Op>,
    /// Loss layer.
    pub loss: Loss,
}

/// The expected kind of one slot of an architecture, in input→output order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// A layer with parameters or a computation (`add_layer`), named by its dlib version string prefix.
    Layer(LayerKind),
    /// `tagN`.
    Tag(u32),
    /// `skipN`.
    Skip(u32),
}

/// Layer kinds an architecture may name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerKind {
    /// Convolution with (filters, kernel, stride).
    Con { filters: usize, kernel: usize, stride: usize },
    /// affine_ or bn_con.
    Affine,
    /// relu_.
    Relu,
    /// max_pool with (kernel, stride).
    MaxPool { kernel: usize, stride: usize },
    /// avg_pool with (kernel, stride); 0 = everything.
    AvgPool { kernel: usize, stride: usize },
    /// add_prevN.
    AddPrev(u32),
    /// fc_no_bias with outputs.
    Fc { outputs: usize },
}

/// A declared network architecture: the C++ type of a dlib model, written out as slots.
#[derive(Debug, Clone)]
pub struct Arch {
    /// Slots from input to output.
    pub slots: Vec<Slot>,
}

impl Arch {
    /// dlib's `dlib_face_recognition_resnet_model_v1` (the `anet_type` of dnn_face_recognition_ex.cpp).
    pub fn face_resnet_v1() -> Arch {
        use LayerKind::*;
        let mut s = vec![
            Slot::Layer(Con { filters: 32, kernel: 7, stride: 2 }),
            Slot::Layer(Affine),
            Slot::Layer(Relu),
            Slot::Layer(MaxPool { kernel: 3, stride: 2 }),
        ];
        let block = |s: &mut Vec<Slot>, n: usize, stride: usize| {
            s.push(Slot::Layer(Con { filters: n, kernel: 3, stride }));
            s.push(Slot::Layer(Affine));
            s.push(Slot::Layer(Relu));
            s.push(Slot::Layer(Con { filters: n, kernel: 3, stride: 1 }));
            s.push(Slot::Layer(Affine));
        };
        let ares = |s: &mut Vec<Slot>, n: usize| {
            s.push(Slot::Tag(1));
            block(s, n, 1);
            s.push(Slot::Layer(AddPrev(1)));
            s.push(Slot::Layer(Relu));
        };
        let ares_down = |s: &mut Vec<Slot>, n: usize| {
            s.push(Slot::Tag(1));
            block(s, n, 2);
            s.push(Slot::Tag(2));
            s.push(Slot::Skip(1));
            s.push(Slot::Layer(AvgPool { kernel: 2, stride: 2 }));
            s.push(Slot::Layer(AddPrev(2)));
            s.push(Slot::Layer(Relu));
        };
        // alevel4 .. alevel0, innermost first.
        for _ in 0..3 {
            ares(&mut s, 32);
        }
        ares_down(&mut s, 64);
        for _ in 0..3 {
            ares(&mut s, 64);
        }
        ares_down(&mut s, 128);
        for _ in 0..2 {
            ares(&mut s, 128);
        }
        ares_down(&mut s, 256);
        for _ in 0..2 {
            ares(&mut s, 256);
        }
        ares_down(&mut s, 256);
        s.push(Slot::Layer(AvgPool { kernel: 0, stride: 1 }));
        s.push(Slot::Layer(Fc { outputs: 128 }));
        Arch { slots: s }
    }

    /// dlib's `mmod_human_face_detector` (the `net_type` of dnn_mmod_face_detection_ex.cpp).
    pub fn mmod_face_detector() -> Arch {
        use LayerKind::*;
        let mut s = Vec::new();
        for f in [16, 32, 32] {
            s.push(Slot::Layer(Con { filters: f, kernel: 5, stride: 2 }));
            s.push(Slot::Layer(Affine));
            s.push(Slot::Layer(Relu));
        }
        for _ in 0..3 {
            s.push(Slot::Layer(Con { filters: 45, kernel: 5, stride: 1 }));
            s.push(Slot::Layer(Affine));
            s.push(Slot::Layer(Relu));
        }
        s.push(Slot::Layer(Con { filters: 1, kernel: 9, stride: 1 }));
        Arch { slots: s }
    }
}

/// Reads a dlib DNN model file against the declared architecture.
pub fn read_net(bytes: &[u8], arch: &Arch) -> Result<Net, DlibError> {
    let mut r = Reader::new(bytes);
    r.expect_int(1, "add_loss_layer version")?;
    let loss = read_loss(&mut r)?;
    // Version markers, outermost first: add_layer = 2 (3 for the one holding the input), tag/skip = 1.
    let n = arch.slots.len();
    for (i, slot) in arch.slots.iter().rev().enumerate() {
        let at = r.position();
        let v = r.int()?;
        let expected = match slot {
            Slot::Layer(_) if i == n - 1 => 3,
            Slot::Layer(_) => 2,
            Slot::Tag(_) | Slot::Skip(_) => 1,
        };
        if v != expected {
            return Err(DlibError::Format {
                offset: at,
                what: format!("architecture mismatch at slot {} ({slot:?}): version marker {v}, expected {expected}", n - 1 - i),
            });
        }
    }
    let input = read_input(&mut r)?;
    let mut ops = Vec::with_capacity(n);
    let mut first_layer = true;
    for slot in &arch.slots {
        match slot {
            Slot::Tag(t) => ops.push(Op::Tag(*t)),
            Slot::Skip(t) => ops.push(Op::Skip(*t)),
            Slot::Layer(kind) => {
                ops.push(read_layer(&mut r, kind)?);
                // add_layer bookkeeping: three bools and three (empty) tensors.
                for _ in 0..3 {
                    r.boolean()?;
                }
                for _ in 0..3 {
                    r.tensor()?;
                }
                if first_layer {
                    r.int()?; // _sample_expansion_factor of the input-holding add_layer
                    first_layer = false;
                }
            }
        }
    }
    if !r.at_end() {
        return Err(DlibError::Format { offset: r.position(), what: "trailing bytes after the network".into() });
    }
    Ok(Net { input, ops, loss })
}

fn read_loss(r: &mut Reader) -> Result<Loss, DlibError> {
    let at = r.position();
    match r.string()?.as_str() {
        "loss_metric_2" => {
            let margin = r.float()?;
            let distance_threshold = r.float()?;
            Ok(Loss::Metric { margin, distance_threshold })
        }
        "loss_mmod_" => {
            r.expect_int(1, "mmod_options version (only single-window models are supported)")?;
            let w = r.size()?;
            let h = r.size()?;
            let _loss_per_false_alarm = r.float()?;
            let _loss_per_missed_target = r.float()?;
            let _truth_match_iou = r.float()?;
            let nms_iou = r.float()?;
            let nms_cover = r.float()?;
            let _ignore_iou = r.float()?;
            let _ignore_cover = r.float()?;
            Ok(Loss::Mmod(MmodOptions { window: [w, h], nms_iou, nms_cover }))
        }
        other => Err(DlibError::Format { offset: at, what: format!("unsupported loss layer {other:?}") }),
    }
}

fn read_input(r: &mut Reader) -> Result<Input, DlibError> {
    let at = r.position();
    let name = r.string()?;
    let mut mean = [0f32; 3];
    for m in mean.iter_mut() {
        *m = r.float()? as f32;
    }
    match name.as_str() {
        "input_rgb_image_sized" => {
            let rows = r.size()?;
            let cols = r.size()?;
            Ok(Input::RgbSized { mean, rows, cols })
        }
        "input_rgb_image_pyramid" => Ok(Input::RgbPyramid { mean }),
        other => Err(DlibError::Format { offset: at, what: format!("unsupported input layer {other:?}") }),
    }
}

fn mismatch(at: usize, kind: &LayerKind, found: impl std::fmt::Debug) -> DlibError {
    DlibError::Format { offset: at, what: format!("architecture mismatch: expected {kind:?}, found {found:?}") }
}

fn read_layer(r: &mut Reader, kind: &LayerKind) -> Result<Op, DlibError> {
    let at = r.position();
    let name = r.string()?;
    match (kind, name.as_str()) {
        (LayerKind::Con { filters, kernel, stride }, "con_4") => {
            let params = r.tensor()?;
            let mut v = [0i64; 7];
            for x in v.iter_mut() {
                *x = r.int()?;
            }
            let fshape = r.alias_tensor()?;
            let _bshape = r.alias_tensor()?;
            for _ in 0..4 {
                r.float()?;
            }
            let [nf, kh, kw, sy, sx, py, px] = v.map(|x| x.max(0) as usize);
            if nf != *filters || kh != *kernel || kw != *kernel || sy != *stride || sx != *stride {
                return Err(mismatch(at, kind, (nf, kh, kw, sy, sx)));
            }
            let in_ch = fshape[1];
            let nw = nf * in_ch * kh * kw;
            if params.data.len() != nw + nf || fshape != [nf, in_ch, kh, kw] {
                return Err(DlibError::Format {
                    offset: at,
                    what: format!("con_ parameter size {} does not fit {fshape:?}", params.data.len()),
                });
            }
            let (w, b) = params.data.split_at(nw);
            Ok(Op::Conv { weights: w.to_vec(), bias: b.to_vec(), out_ch: nf, in_ch, kernel: [kh, kw], stride: [sy, sx], pad: [py, px] })
        }
        (LayerKind::Affine, "affine_") => {
            let params = r.tensor()?;
            let g = r.alias_tensor()?;
            let _b = r.alias_tensor()?;
            let _mode = r.int()?;
            let k = g.iter().product::<usize>();
            if params.data.len() != 2 * k {
                return Err(DlibError::Format { offset: at, what: "affine_ parameter size mismatch".into() });
            }
            let (gamma, beta) = params.data.split_at(k);
            Ok(Op::Affine { gamma: gamma.to_vec(), beta: beta.to_vec() })
        }
        (LayerKind::Affine, "bn_con2") => read_bn_as_affine(r, at),
        (LayerKind::Relu, "relu_") => Ok(Op::Relu),
        (LayerKind::AddPrev(t), "add_prev_") => Ok(Op::AddPrev(*t)),
        (LayerKind::MaxPool { kernel, stride }, "max_pool_2") | (LayerKind::AvgPool { kernel, stride }, "avg_pool_2") => {
            let mut v = [0i64; 6];
            for x in v.iter_mut() {
                *x = r.int()?;
            }
            let [kh, kw, sy, sx, py, px] = v.map(|x| x.max(0) as usize);
            if kh != *kernel || kw != *kernel || sy != *stride || sx != *stride {
                return Err(mismatch(at, kind, (kh, kw, sy, sx)));
            }
            let (kernel, stride, pad) = ([kh, kw], [sy, sx], [py, px]);
            Ok(if name == "max_pool_2" { Op::MaxPool { kernel, stride, pad } } else { Op::AvgPool { kernel, stride, pad } })
        }
        (LayerKind::Fc { outputs }, "fc_2") => {
            let num_outputs = r.size()?;
            let num_inputs = r.size()?;
            let params = r.tensor()?;
            r.alias_tensor()?;
            r.alias_tensor()?;
            let bias_mode = r.int()?;
            for _ in 0..4 {
                r.float()?;
            }
            if num_outputs != *outputs || bias_mode != 1 || params.data.len() != num_inputs * num_outputs {
                return Err(mismatch(at, kind, (num_outputs, num_inputs, bias_mode)));
            }
            Ok(Op::FcNoBias { weights: params.data, inputs: num_inputs, outputs: num_outputs })
        }
        (_, other) => Err(mismatch(at, kind, other)),
    }
}

/// A trained batch-norm layer in inference mode is an affine layer:
/// gamma' = gamma / sqrt(var + eps), beta' = beta - mean * gamma'.
fn read_bn_as_affine(r: &mut Reader, at: usize) -> Result<Op, DlibError> {
    let params = r.tensor()?;
    let g = r.alias_tensor()?;
    let _b = r.alias_tensor()?;
    let _means: Tensor = r.tensor()?;
    let _invstds: Tensor = r.tensor()?;
    let running_means = r.tensor()?;
    let running_variances = r.tensor()?;
    let _num_updates = r.int()?;
    let _window = r.int()?;
    for _ in 0..4 {
        r.float()?;
    }
    let eps = r.float()? as f32;
    let k = g.iter().product::<usize>();
    if params.data.len() != 2 * k || running_means.data.len() != k || running_variances.data.len() != k {
        return Err(DlibError::Format { offset: at, what: "bn_con2 parameter size mismatch".into() });
    }
    let mut gamma = Vec::with_capacity(k);
    let mut beta = Vec::with_capacity(k);
    for i in 0..k {
        let g = params.data[i] / (running_variances.data[i] + eps).sqrt();
        gamma.push(g);
        beta.push(params.data[k + i] - running_means.data[i] * g);
    }
    Ok(Op::Affine { gamma, beta })
}

impl Net {
    /// Where output cell (x, y) of a fully convolutional net lands in input pixels, as
    /// `input = stride * output + offset` (dlib's `map_output_to_input` through every layer).
    pub fn output_to_input(&self) -> (usize, f64) {
        let (mut stride, mut offset) = (1usize, 0f64);
        // Walk from the output back to the input: p_in = p * s - pad + k/2 at each layer.
        for op in self.ops.iter().rev() {
            let (s, pad, k) = match op {
                Op::Conv { stride, pad, kernel, .. } => (stride[1], pad[1], kernel[1]),
                Op::MaxPool { stride, pad, kernel } | Op::AvgPool { stride, pad, kernel } if kernel[1] > 0 => {
                    (stride[1], pad[1], kernel[1])
                }
                _ => continue,
            };
            // p_in = (stride*p + offset) * s - pad + k/2
            offset = offset * s as f64 - pad as f64 + (k / 2) as f64;
            stride *= s;
        }
        (stride, offset)
    }
}
