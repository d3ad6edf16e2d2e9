//! Fuzzes every JSON request body of `openapi.json` against a real server: arbitrary JSON, the
//! operation's own valid body with one field replaced, removed or added, and raw bytes that are
//! not JSON. Each request is sent by a principal allowed to call the operation, so the body is
//! what gets judged. Every answer must be a clear refusal or a success: never a 5xx, always a
//! JSON error with a code, within a time bound; the server must still answer afterwards.
//!
//! CI runs proptest's default 256 cases per operation. The local run, 10,000 cases per operation
//! (100,000 in all over the 10 bodies):
//! `PROPTEST_CASES=10000 cargo test --release -p simkyc-server --test fuzz_bodies -- --nocapture`

mod harness;

use std::io::Cursor;
use std::time::{Duration, Instant};

use base64::Engine;
use harness::{resident_id, sim, Harness};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

/// Longest one request may take (a hang detector, not a speed claim).
const TIME_BOUND: Duration = Duration::from_secs(10);

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        any::<String>().prop_map(Value::from),
        "[0-9X]{0,20}".prop_map(Value::from),
        "[A-Z0-9<]{0,44}".prop_map(Value::from),
        (0usize..200_000).prop_map(|n| Value::from("A".repeat(n))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Paths (object keys and array indices) to every value inside `v`, the root included.
fn paths(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| paths(x, [at.clone(), vec![Value::from(k.as_str())]].concat(), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| paths(x, [at.clone(), vec![Value::from(i)]].concat(), out)),
        _ => {}
    }
}

/// Applies one edit at `path`: 0 replaces the value, 1 removes it, 2 adds a key beside it.
fn edit(mut body: Value, path: &[Value], kind: u8, with: Value) -> Value {
    let Some((last, parent_path)) = path.split_last() else {
        return if kind == 0 { with } else { body };
    };
    let mut parent = &mut body;
    for step in parent_path {
        parent = match (parent, step) {
            (Value::Object(m), Value::String(k)) => m.get_mut(k.as_str()).expect("path from paths()"),
            (Value::Array(a), Value::Number(i)) => &mut a[i.as_u64().expect("index") as usize],
            _ => unreachable!("paths() only walks objects and arrays"),
        };
    }
    match (parent, last, kind) {
        (Value::Object(m), Value::String(k), 0) => {
            m.insert(k.clone(), with);
        }
        (Value::Object(m), Value::String(k), 1) => {
            m.remove(k.as_str());
        }
        (Value::Object(m), _, _) => {
            m.insert("unexpected".into(), with);
        }
        (Value::Array(a), Value::Number(i), 0) => a[i.as_u64().expect("index") as usize] = with,
        (Value::Array(a), Value::Number(i), 1) => {
            a.remove(i.as_u64().expect("index") as usize);
        }
        (Value::Array(a), _, _) => a.push(with),
        _ => {}
    }
    body
}

/// A tiny PNG: decodes, holds no face.
fn tiny_png() -> String {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(8, 8, image::Rgb([120, 90, 60])))
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG");
    base64::engine::general_purpose::STANDARD.encode(out.into_inner())
}

/// One operation with a JSON body: who may call it, where, and a valid body.
struct Operation {
    method: &'static str,
    path: String,
    who: &'static str,
    body: Value,
}

fn operations(h: &Harness) -> Vec<Operation> {
    let photo = tiny_png();
    // A real registration (started with a real photo), so capture and activation bodies reach
    // their handlers' checks rather than "not found".
    let started = h.start_registration("clerk", &resident_id(4242), &h.photo("AJ_Cook", 1));
    assert_eq!(started.status, 201, "start: {:?}", started.json);
    let id = started.json["id"].as_str().expect("an id").to_string();
    let nonce = started.json["capture"]["nonce"].clone();
    let ops = vec![
        Operation { method: "POST", path: "/v1/quality".into(), who: "clerk", body: json!({ "frame": photo }) },
        Operation { method: "POST", path: "/v1/documents/read".into(), who: "clerk", body: json!({ "front": photo, "back": photo }) },
        Operation {
            method: "POST",
            path: "/v1/registrations".into(),
            who: "clerk",
            body: json!({
                "document": { "type": "cn_resident_id", "number": resident_id(7), "name": "测试", "expiry": "2040-01-01" },
                "document_photo": photo,
            }),
        },
        Operation {
            method: "POST",
            path: "/v1/registrations".into(),
            who: "clerk",
            body: json!({
                "document": { "type": "passport", "mrz": "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10" },
                "document_photo": photo,
            }),
        },
        Operation {
            method: "POST",
            path: format!("/v1/registrations/{id}/capture"),
            who: "clerk",
            body: json!({ "nonce": nonce, "frames": [photo, photo] }),
        },
        Operation { method: "POST", path: format!("/v1/registrations/{id}/activate"), who: "clerk", body: sim(77) },
        Operation {
            method: "POST",
            path: format!("/v1/reviews/{id}/decision"),
            who: "reviewer",
            body: json!({ "decision": "approve", "comment": "checked" }),
        },
        Operation {
            method: "POST",
            path: "/v1/subscribers/lookup".into(),
            who: "clerk",
            body: json!({ "document": { "type": "cn_resident_id", "number": resident_id(7) } }),
        },
        Operation {
            method: "POST",
            path: "/v1/admin/keys".into(),
            who: "admin",
            body: json!({ "role": "clerk", "store": "default", "label": "fuzz" }),
        },
        Operation {
            method: "PUT",
            path: "/v1/admin/settings".into(),
            who: "admin",
            body: json!({ "sim_limit": 5, "capture_mode": "off" }),
        },
        Operation {
            method: "PUT",
            path: "/v1/admin/stores/default/capture-mode".into(),
            who: "admin",
            body: json!({ "capture_mode": "passive" }),
        },
    ];
    // Every operation of the document with a request body has a row here.
    let doc: Value = serde_json::from_str(simkyc_server::routes::ops::OPENAPI).expect("openapi.json parses");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            if op.get("requestBody").is_some() {
                let covered = ops.iter().any(|o| {
                    o.method.eq_ignore_ascii_case(method) && {
                        let (a, b): (Vec<&str>, Vec<&str>) = (o.path.split('/').collect(), path.split('/').collect());
                        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || y.starts_with('{'))
                    }
                });
                assert!(covered, "{method} {path} has a request body and no fuzz row");
            }
        }
    }
    ops
}

/// What a case sends: JSON (arbitrary or an edited valid body) or raw bytes with a content type.
#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

fn body_strategy(valid: Value) -> impl Strategy<Value = Body> {
    let mut all = Vec::new();
    paths(&valid, vec![], &mut all);
    let edited = (prop::sample::select(all), 0u8..3, any_json())
        .prop_map(move |(path, kind, with)| Body::Json(edit(valid.clone(), &path, kind, with)));
    let raw = (
        prop::sample::select(vec!["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            (1usize..4000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
            Just(b"{\"sim_limit\": 1e400}".to_vec()),
            Just(b"{\"a\":1,\"a\":2}".to_vec()),
        ],
    )
        .prop_map(|(ct, b)| Body::Raw(ct, b));
    prop_oneof![6 => edited, 2 => any_json().prop_map(Body::Json), 2 => raw]
}

#[test]
fn every_json_body_is_refused_clearly_or_accepted() {
    let Some(h) = Harness::sqlite_with(|c| {
        c.rate_limit_per_key = 0;
        c.rate_limit_per_address = 0;
    }) else {
        eprintln!("skipped: needs the shared data and installed models (run `simkyc models fetch`)");
        return;
    };
    for op in operations(&h) {
        let config = Config { failure_persistence: None, ..Config::default() };
        let cases = config.cases;
        let mut runner = TestRunner::new(config);
        let slowest = std::cell::Cell::new(Duration::ZERO);
        let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
        let target = format!("{} {}", op.method, op.path);
        let result = runner.run(&body_strategy(op.body.clone()), |body| {
            let t = Instant::now();
            let answer = match &body {
                Body::Json(v) => h.call(op.method, &op.path, op.who, Some(v.clone())),
                Body::Raw(ct, bytes) => h.raw(op.method, &op.path, Some(h.key(op.who)), ct, bytes, &[]),
            };
            let took = t.elapsed();
            slowest.set(slowest.get().max(took));
            *statuses.borrow_mut().entry(answer.status).or_default() += 1;
            prop_assert!(answer.status < 500, "{target}: {} {:?}", answer.status, answer.json);
            if answer.status >= 400 {
                prop_assert!(
                    answer.json["error"]["code"].is_string(),
                    "{target}: {} without an error code: {:?}",
                    answer.status,
                    answer.json
                );
            }
            prop_assert!(took < TIME_BOUND, "{target}: took {took:?}");
            Ok::<(), TestCaseError>(())
        });
        eprintln!(
            "fuzz {target}: {cases} cases, slowest {:.1} ms, statuses {statuses:?}",
            slowest.get().as_secs_f64() * 1e3,
            statuses = statuses.borrow()
        );
        if let Err(e) = result {
            panic!("fuzz {target}: {e}");
        }
    }
    let health = h.raw("GET", "/healthz", None, "", &[], &[]);
    assert_eq!(health.status, 200, "the server still answers after the fuzzing");
}
