//! Fuzz harnesses on stable Rust (proptest) over every parser of untrusted input: image decoding,
//! the TF.js importer (model.json and weight shards), the dlib serialisation readers, the model
//! manifest, GB 11643 ID numbers and MRZ lines. (JSON bodies are fuzzed against a running server
//! in `crates/simkyc-server/tests/fuzz_bodies.rs`.)
//!
//! Each case must end without a panic, within a time bound and within a memory bound: a counting
//! allocator measures the bytes each case holds at its peak. The bounds catch hangs and
//! allocation bombs; they are not speed claims.
//!
//! CI runs proptest's default 256 cases per target. The local run of 100,000 cases per target:
//! `PROPTEST_CASES=100000 cargo test --release -p simkyc --test fuzz -- --nocapture`
//! Each target prints its case count, slowest case and peak memory. Findings are kept below as
//! regression tests (`regression_*`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::time::{Duration, Instant};

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use simkyc_docs::date::Date;

// ---------------------------------------------------------------------------------------------
// Bounds: a per-thread counting allocator and a runner that checks time and memory per case.

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(grow: usize, shrink: usize) {
    let _ = LIVE.try_with(|live| {
        let v = (live.get() + grow).saturating_sub(shrink);
        live.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            note(l.size(), 0);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            note(l.size(), 0);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        note(0, l.size());
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            note(new, l.size());
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Most memory one case may hold at once.
const MEMORY_BOUND: usize = 256 << 20;
/// Longest one case may take (a hang detector on a shared machine, not a speed claim).
const TIME_BOUND: Duration = Duration::from_secs(10);

/// Runs `check` on `strategy`'s cases with the bounds, and prints what the target took.
fn fuzz<S: Strategy>(target: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config { failure_persistence: None, ..Config::default() };
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let slowest = Cell::new(Duration::ZERO);
    let peak = Cell::new(0usize);
    let result = runner.run(&strategy, |value| {
        let base = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let t = Instant::now();
        let out = check(value);
        let took = t.elapsed();
        let held = PEAK.with(Cell::get).saturating_sub(base);
        slowest.set(slowest.get().max(took));
        peak.set(peak.get().max(held));
        out?;
        prop_assert!(took < TIME_BOUND, "{target}: one case took {took:?}");
        prop_assert!(held < MEMORY_BOUND, "{target}: one case held {} MiB", held >> 20);
        Ok(())
    });
    eprintln!(
        "fuzz {target}: {cases} cases, slowest {:.1} ms, peak {:.1} MiB",
        slowest.get().as_secs_f64() * 1e3,
        peak.get() as f64 / (1 << 20) as f64
    );
    if let Err(e) = result {
        panic!("fuzz {target}: {e}");
    }
}

/// A byte mutation: truncate, then overwrite bytes (half of them near the start, where headers are).
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    (any::<prop::sample::Index>(), any::<bool>(), prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), any::<u8>()), 0..8))
        .prop_map(move |(cut, truncate, edits)| {
            let mut b = seed.clone();
            if truncate {
                b.truncate(cut.index(len));
            }
            for (head, at, byte) in edits {
                if b.is_empty() {
                    break;
                }
                let span = if head { b.len().min(512) } else { b.len() };
                let i = at.index(span);
                b[i] = byte;
            }
            b
        })
}

// ---------------------------------------------------------------------------------------------
// Images.

fn encoded_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (w, h) in [(1u32, 1u32), (7, 5), (48, 32)] {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 37) as u8, (y * 91) as u8, ((x + y) * 13) as u8]));
        for f in [image::ImageFormat::Png, image::ImageFormat::Jpeg, image::ImageFormat::WebP, image::ImageFormat::Bmp] {
            let mut out = Cursor::new(Vec::new());
            image::DynamicImage::ImageRgb8(img.clone()).write_to(&mut out, f).expect("encoding a seed image");
            seeds.push(out.into_inner());
        }
    }
    seeds
}

fn check_decode(bytes: &[u8]) -> Result<(), TestCaseError> {
    let limits = simkyc_face::decode::DecodeLimits { max_bytes: 1 << 20, max_side: 4096, max_pixels: 4_000_000 };
    if let Ok(img) = simkyc_face::decode::decode_rgb(bytes, &limits) {
        prop_assert!(img.width() <= limits.max_side && img.height() <= limits.max_side);
        prop_assert!(u64::from(img.width()) * u64::from(img.height()) <= limits.max_pixels);
    }
    Ok(())
}

#[test]
fn fuzz_image_decoding() {
    let seeds = encoded_seeds();
    let strategy = prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), prop::sample::select(seeds).prop_flat_map(mutated),];
    fuzz("image decoding", strategy, |b| check_decode(&b));
}

// ---------------------------------------------------------------------------------------------
// TF.js importer: structure-aware graphs (ops, inputs, attributes, weights and shards all drawn
// at random) plus arbitrary text.

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn attr_strategy() -> impl Strategy<Value = (String, Value)> {
    let ints =
        prop::collection::vec(-3i64..9, 0..6).prop_map(|v| json!({"list": {"i": v.iter().map(|i| i.to_string()).collect::<Vec<_>>()}}));
    prop_oneof![
        ints.clone().prop_map(|v| ("strides".to_string(), v)),
        ints.clone().prop_map(|v| ("ksize".to_string(), v)),
        ints.clone().prop_map(|v| ("dilations".to_string(), v)),
        ints.clone().prop_map(|v| ("explicit_paddings".to_string(), v)),
        ints.prop_map(|v| ("squeeze_dims".to_string(), v)),
        prop::sample::select(vec!["SAME", "VALID", "EXPLICIT", "BOGUS"]).prop_map(|p| ("padding".to_string(), json!({"s": b64(p)}))),
        prop::sample::select(vec!["NHWC", "NCHW", "x"]).prop_map(|p| ("data_format".to_string(), json!({"s": b64(p)}))),
        prop::collection::vec(
            prop::sample::select(vec!["BiasAdd", "Relu", "Relu6", "Prelu", "LeakyRelu", "FusedBatchNorm", "Elu", "?"]),
            0..3
        )
        .prop_map(|v| ("fused_ops".to_string(), json!({"list": {"s": v.iter().map(|s| b64(s)).collect::<Vec<_>>()}}))),
        (-2i64..6).prop_map(|n| ("num_args".to_string(), json!({"i": n.to_string()}))),
        (-2i64..6).prop_map(|n| ("N".to_string(), json!({"i": n.to_string()}))),
        any::<f32>().prop_map(|f| ("epsilon".to_string(), json!({"f": if f.is_finite() { f } else { 0.0 }}))),
        any::<f32>().prop_map(|f| ("alpha".to_string(), json!({"f": if f.is_finite() { f } else { 0.0 }}))),
        any::<bool>().prop_map(|b| ("keep_dims".to_string(), json!({"b": b}))),
        any::<bool>().prop_map(|b| ("transpose_a".to_string(), json!({"b": b}))),
        any::<bool>().prop_map(|b| ("transpose_b".to_string(), json!({"b": b}))),
    ]
}

/// A random graph: a placeholder, constants with weights, then operators reading earlier nodes.
fn tfjs_strategy() -> impl Strategy<Value = (String, Vec<u8>)> {
    let dim = prop_oneof![8 => 0usize..6, 1 => Just(1usize << 20), 1 => Just(usize::MAX / 2)];
    let shape = prop::collection::vec(dim.clone(), 0..5);
    let dtype = prop_oneof![6 => Just("float32"), 2 => Just("int32"), 1 => Just("bool")];
    let quant = prop_oneof![6 => Just(""), 1 => Just("float16"), 1 => Just("uint8"), 1 => Just("uint16"), 1 => Just("int4")];
    let konst = (shape, dtype, quant);
    let ph_dim = prop_oneof![30 => 1i64..12, 2 => Just(-1i64), 1 => Just(1i64 << 40)];
    let placeholder = prop_oneof![4 => prop::collection::vec(ph_dim.clone(), 4..=4), 1 => prop::collection::vec(ph_dim, 0..6)];
    let op = prop::sample::select(simkyc_tfjs::SUPPORTED_OPS.to_vec());
    let node = (
        op,
        prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![8 => Just(""), 1 => Just(":1"), 1 => Just("^")]), 0..4),
        prop::collection::vec(attr_strategy(), 0..5),
    );
    (
        placeholder,
        prop::collection::vec(konst, 0..4),
        prop::collection::vec(node, 0..8),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..512),
        any::<bool>(),
    )
        .prop_map(|(ph, consts, nodes, exact_shard, noise, signature)| {
            let mut names = vec!["x".to_string()];
            let dims: Vec<Value> = ph.iter().map(|d| json!({"size": d.to_string()})).collect();
            let mut json_nodes =
                vec![json!({"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": dims}}, "dtype": {"type": "DT_FLOAT"}}})];
            let mut weights = Vec::new();
            let mut bytes = Vec::new();
            for (i, (shape, dtype, quant)) in consts.iter().enumerate() {
                let name = format!("c{i}");
                json_nodes.push(json!({"name": name, "op": "Const"}));
                let mut w = json!({"name": name, "shape": shape, "dtype": dtype});
                if !quant.is_empty() {
                    w["quantization"] = json!({"dtype": quant, "scale": 0.5, "min": -1.0});
                }
                weights.push(w);
                let n: usize = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX).min(4096);
                bytes.extend((0..n * 4).map(|k| (k * 31 + i) as u8));
                names.push(name);
            }
            for (i, (op, ins, attrs)) in nodes.iter().enumerate() {
                let input: Vec<String> = ins
                    .iter()
                    .map(|(at, how)| {
                        let n = &names[at.index(names.len())];
                        match *how {
                            ":1" => format!("{n}:1"),
                            "^" => format!("^{n}"),
                            _ => n.clone(),
                        }
                    })
                    .collect();
                let attr: serde_json::Map<String, Value> = attrs.iter().cloned().collect();
                let name = format!("n{i}");
                json_nodes.push(json!({"name": name, "op": op, "input": input, "attr": attr}));
                names.push(name);
            }
            let shard = if exact_shard { bytes } else { noise };
            let mut model = json!({
                "format": "graph-model",
                "modelTopology": {"node": json_nodes},
                "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": weights}],
            });
            if signature {
                let last = names.last().cloned().unwrap_or_default();
                model["signature"] = json!({"outputs": {"out": {"name": format!("{last}:0")}}});
            }
            (model.to_string(), shard)
        })
}

fn check_tfjs(model_json: &str, shard: &[u8]) -> Result<(), TestCaseError> {
    let mut read = |path: &str| {
        if path == "group1-shard1of1.bin" {
            Ok(shard.to_vec())
        } else {
            Err(simkyc_tfjs::TfjsError::Weights(format!("no shard {path}")))
        }
    };
    let out = simkyc_tfjs::convert(model_json, &mut read);
    if std::env::var_os("SIMKYC_FUZZ_VERBOSE").is_some() {
        eprintln!("{:?}", out.as_ref().map(|c| c.outputs.len()).map_err(ToString::to_string));
    }
    Ok(())
}

#[test]
fn fuzz_tfjs_importer() {
    let strategy = prop_oneof![
        8 => tfjs_strategy(),
        1 => (any::<String>(), prop::collection::vec(any::<u8>(), 0..64)),
        1 => tfjs_strategy().prop_flat_map(|(text, shard)| (mutated(text.into_bytes()), Just(shard)))
            .prop_map(|(text, shard)| (String::from_utf8_lossy(&text).into_owned(), shard)),
    ];
    fuzz("tfjs importer", strategy, |(text, shard)| check_tfjs(&text, &shard));
}

// ---------------------------------------------------------------------------------------------
// dlib readers: arbitrary bytes, and the real files (from the cached pinned archive and the
// installed models) truncated and overwritten.

fn dlib_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let archive = simkyc_models::registry::cached_path(&simkyc_models::packs::FACE_RECOGNITION_MODELS);
    match simkyc_models::packs::dlib_member(&archive, "mmod_human_face_detector.dat") {
        Ok(b) => seeds.push(b),
        Err(e) => eprintln!("fuzz dlib: no MMOD seed ({e}); run `simkyc models fetch` to fuzz from the real file"),
    }
    match std::fs::read(simkyc_models::cache::default_models_dir().join("dlib_shape_predictor_5.dat")) {
        Ok(b) => seeds.push(b),
        Err(e) => eprintln!("fuzz dlib: no shape-predictor seed ({e}); run `simkyc models fetch` to fuzz from the real file"),
    }
    seeds
}

fn check_dlib(bytes: &[u8]) -> Result<(), TestCaseError> {
    let _ = simkyc_dlib::dnn::read_net(bytes, &simkyc_dlib::dnn::Arch::mmod_face_detector());
    let _ = simkyc_dlib::dnn::read_net(bytes, &simkyc_dlib::dnn::Arch::face_resnet_v1());
    let _ = simkyc_dlib::shape_predictor::ShapePredictor::read(bytes);
    Ok(())
}

#[test]
fn fuzz_dlib_readers() {
    let seeds = dlib_seeds();
    if seeds.is_empty() {
        fuzz("dlib readers", prop::collection::vec(any::<u8>(), 0..4096), |b| check_dlib(&b));
        return;
    }
    let strategy = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..4096),
        4 => prop::sample::select(seeds).prop_flat_map(mutated),
    ];
    fuzz("dlib readers", strategy, |b| check_dlib(&b));
}

// ---------------------------------------------------------------------------------------------
// Model manifest: the installed manifest with lines dropped, repeated or their values replaced.

const MANIFEST_SEED: &str = r#"version = 1

[defaults]
detector = "yunet"
embedder = "sface"

[[model]]
name = "yunet"
role = "detector"
format = "onnx"
file = "yunet_2023mar.onnx"
sha256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
license = "MIT"

[model.output]
kind = "yunet"
"#;

fn manifest_seed() -> String {
    std::fs::read_to_string(simkyc_models::cache::default_models_dir().join("manifest.toml")).unwrap_or_else(|_| MANIFEST_SEED.to_string())
}

fn edited_manifest(seed: String) -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("\"\"".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e400".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"../../etc/passwd\"".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        "[a-z_]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ];
    let lines: Vec<String> = seed.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    prop::collection::vec((0u8..3, any::<prop::sample::Index>(), value), 0..6).prop_map(move |edits| {
        let mut l = lines.clone();
        for (kind, at, v) in edits {
            if l.is_empty() {
                break;
            }
            let i = at.index(n.min(l.len()));
            match kind {
                0 => {
                    l.remove(i);
                }
                1 => {
                    let dup = l[i].clone();
                    l.insert(i, dup);
                }
                _ => {
                    if let Some((k, _)) = l[i].split_once(" = ") {
                        l[i] = format!("{k} = {v}");
                    }
                }
            }
        }
        l.join("\n")
    })
}

#[test]
fn fuzz_model_manifest() {
    let seed = manifest_seed();
    assert!(simkyc_models::manifest::Manifest::from_toml(&seed).is_ok(), "the seed manifest validates");
    let strategy = prop_oneof![4 => edited_manifest(seed.clone()), 1 => any::<String>()];
    fuzz("model manifest", strategy, |text| {
        let _ = simkyc_models::manifest::Manifest::from_toml(&text);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// GB 11643 resident ID numbers.

fn today() -> Date {
    Date::new(2026, 12, 1).expect("a date")
}

const PROVINCES: [u8; 6] = [11, 31, 44, 51, 65, 81];

/// A valid number: province, district, birth date, sequence, check character.
fn valid_id() -> impl Strategy<Value = String> {
    (prop::sample::select(PROVINCES.to_vec()), 0u32..10_000, 1900i32..2026, 1u32..13, 1u32..29, 0u32..1000).prop_map(
        |(p, d, y, m, day, s)| {
            let first17 = format!("{p:02}{d:04}{y:04}{m:02}{day:02}{s:03}");
            let arr: [u8; 17] = first17.as_bytes().try_into().expect("17 digits");
            format!("{first17}{}", simkyc_docs::cn_id::check_char(&arr).expect("digits"))
        },
    )
}

#[test]
fn fuzz_resident_id_numbers() {
    // Anything at all: a typed error, never a panic.
    let strategy = prop_oneof![any::<String>(), "[0-9Xx ]{0,22}", "\\PC{18}", valid_id()];
    fuzz("GB 11643 (any input)", strategy, |s| {
        let _ = simkyc_docs::cn_id::validate(&s, today());
        Ok(())
    });
    // Valid numbers validate and decode what they encode; MOD 11-2 catches every single-digit
    // substitution and every transposition of two adjacent different characters.
    fuzz("GB 11643 (check character)", (valid_id(), 0usize..18, 1u8..10, any::<bool>()), |(id, at, delta, swap)| {
        let ok = simkyc_docs::cn_id::validate(&id, today()).map_err(|e| TestCaseError::fail(format!("{id}: {e}")))?;
        prop_assert_eq!(ok.sex == simkyc_docs::cn_id::Sex::Male, (id.as_bytes()[16] - b'0') % 2 == 1);
        let mut b = id.clone().into_bytes();
        if swap {
            let i = at.min(16);
            if b[i] == b[i + 1] {
                return Ok(());
            }
            b.swap(i, i + 1);
        } else if b[at].is_ascii_digit() {
            b[at] = b'0' + (b[at] - b'0' + delta) % 10;
        } else {
            b[at] = b'0' + delta;
        }
        let bad = String::from_utf8(b).expect("ASCII");
        prop_assert!(simkyc_docs::cn_id::validate(&bad, today()).is_err(), "{} (from {}) was accepted", bad, id);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// ICAO 9303 MRZ lines.

const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
const TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";

fn mrz_text() -> impl Strategy<Value = String> {
    let line = |n: usize| prop::collection::vec(prop::sample::select(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<".to_vec()), n..=n);
    prop_oneof![
        (line(44), line(44)).prop_map(|(a, b)| format!("{}\n{}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b))),
        (line(36), line(36)).prop_map(|(a, b)| format!("{}\n{}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b))),
        (line(30), line(30), line(30)).prop_map(|(a, b, c)| format!(
            "{}\n{}\n{}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            String::from_utf8_lossy(&c)
        )),
        any::<String>(),
        prop::sample::select(vec![TD3, TD1])
            .prop_flat_map(|s| mutated(s.as_bytes().to_vec()))
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

#[test]
fn fuzz_mrz_lines() {
    let in_2010 = Date::new(2010, 6, 1).expect("a date");
    fuzz("MRZ (any input)", mrz_text(), |s| {
        let _ = simkyc_docs::mrz::validate(&s, in_2010);
        Ok(())
    });
    // Every digit of the TD3 specimen's second line is under a check digit (the composite covers
    // them all), and the 7-3-1 weights are prime to 10: changing any one digit must be refused.
    assert!(simkyc_docs::mrz::validate(TD3, in_2010).is_ok());
    let digits: Vec<usize> = (45..TD3.len()).filter(|&i| TD3.as_bytes()[i].is_ascii_digit()).collect();
    fuzz("MRZ (check digits)", (prop::sample::select(digits), 1u8..10), |(at, delta)| {
        let mut b = TD3.as_bytes().to_vec();
        b[at] = b'0' + (b[at] - b'0' + delta) % 10;
        let bad = String::from_utf8(b).expect("ASCII");
        prop_assert!(simkyc_docs::mrz::validate(&bad, in_2010).is_err(), "{} was accepted", bad);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Regressions: inputs the harnesses found, each once a panic.

fn tfjs_one_const(shape: &str, dtype: &str, nodes: &str) -> String {
    format!(
        r#"{{"format":"graph-model","modelTopology":{{"node":[{{"name":"x","op":"Placeholder","attr":{{"shape":{{"shape":{{"dim":[{{"size":"1"}},{{"size":"4"}},{{"size":"4"}},{{"size":"3"}}]}}}}}}}},{{"name":"c0","op":"Const"}}{nodes}]}},"weightsManifest":[{{"paths":["group1-shard1of1.bin"],"weights":[{{"name":"c0","shape":{shape},"dtype":"{dtype}"}}]}}]}}"#
    )
}

fn tfjs_error(model_json: &str, shard: &[u8]) -> String {
    let mut read = |_: &str| Ok(shard.to_vec());
    match simkyc_tfjs::convert(model_json, &mut read) {
        Ok(_) => panic!("a malformed graph was accepted: {model_json}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn regression_tfjs_weight_size_overflow() {
    // A weight whose element count overflows: once "attempt to multiply with overflow".
    let e = tfjs_error(&tfjs_one_const("[9223372036854775807]", "float32", ""), &[]);
    assert!(e.contains("c0"), "{e}");
    let e = tfjs_error(&tfjs_one_const("[4294967296, 4294967296]", "float32", ""), &[0; 16]);
    assert!(e.contains("c0"), "{e}");
    // An empty filter with a huge dimension: once an overflow in the depthwise re-layout.
    let conv = r#",{"name":"n0","op":"DepthwiseConv2dNative","input":["x","c0"]}"#;
    let e = tfjs_error(&tfjs_one_const("[0, 0, 3, 9223372036854775807]", "float32", conv), &[]);
    assert!(e.contains("c0"), "{e}");
}

#[test]
fn regression_tfjs_unchecked_attributes_and_inputs() {
    let pool = |ksize: &str| {
        format!(
            r#",{{"name":"n0","op":"MaxPool","input":["x"],"attr":{{"ksize":{{"list":{{"i":{ksize}}}}},"padding":{{"s":"U0FNRQ=="}}}}}}"#
        )
    };
    // A zero or negative kernel size: once "attempt to subtract with overflow" / a huge cast.
    for k in [r#"["1","0","0","1"]"#, r#"["1","-3","2","1"]"#] {
        let e = tfjs_error(&tfjs_one_const("[1]", "float32", &pool(k)), &[0; 4]);
        assert!(e.contains("kernel size"), "{e}");
    }
    // An operator with fewer inputs than it takes: once an index out of bounds.
    let e = tfjs_error(&tfjs_one_const("[1]", "float32", r#",{"name":"n0","op":"AddV2","input":["x"]}"#), &[0; 4]);
    assert!(e.contains("needs at least 2"), "{e}");
    // A concatenation axis beyond the rank, and nothing to concatenate.
    let concat = r#",{"name":"n0","op":"ConcatV2","input":["x","x","c0"]}"#;
    let e = tfjs_error(&tfjs_one_const("[1]", "int32", concat), &7i32.to_le_bytes());
    assert!(e.contains("cannot concatenate"), "{e}");
    let e = tfjs_error(&tfjs_one_const("[1]", "int32", r#",{"name":"n0","op":"ConcatV2","input":["c0"]}"#), &3i32.to_le_bytes());
    assert!(e.contains("nothing to concatenate"), "{e}");
    // PadV2 with an empty pad value, and negative paddings.
    let pad = r#",{"name":"n0","op":"Pad","input":["x","c0"]}"#;
    let mut paddings = Vec::new();
    for v in [0i32, 0, -5, 0, 0, 0, 0, 0] {
        paddings.extend(v.to_le_bytes());
    }
    let e = tfjs_error(&tfjs_one_const("[4, 2]", "int32", pad), &paddings);
    assert!(e.contains("padding -5"), "{e}");
    // A reshape to a size whose product overflows.
    let reshape = r#",{"name":"n0","op":"Reshape","input":["x","c0"]}"#;
    let mut target = Vec::new();
    for v in [65536i32, 65536, 65536, -1] {
        target.extend(v.to_le_bytes());
    }
    let e = tfjs_error(&tfjs_one_const("[4]", "int32", reshape), &target);
    assert!(e.contains("cannot reshape"), "{e}");
}
