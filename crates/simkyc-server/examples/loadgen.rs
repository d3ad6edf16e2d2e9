//! Load generator for the registration service, run as a second process against a running
//! server (see tools/bench/service.sh):
//!
//! 1. throughput: `--registrations` registrations started, then captured, from `--concurrency`
//!    client threads, spread over `--documents` resident IDs, with real lfw-dev photos; reports
//!    starts/s, decisions/s and the server-side decision time (median, p95);
//! 2. correctness: every approved registration is activated at once from `--burst` threads;
//!    afterwards no document holds more than the SIM limit, every success is there exactly once,
//!    nothing is lost, and no request failed with a 5xx.
//!
//! `cargo run --release -p simkyc-server --example loadgen -- --base URL --key CLERK_KEY --data ../shared/data`

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// One decided registration: document index, registration id, decision, server-side ms, HTTP status.
type Outcome = (usize, String, String, f64, u16);

struct Args {
    base: String,
    key: String,
    data: PathBuf,
    registrations: usize,
    documents: usize,
    concurrency: usize,
    burst: usize,
}

fn args() -> Args {
    let mut a = Args {
        base: "http://127.0.0.1:8080".into(),
        key: String::new(),
        data: "../shared/data".into(),
        registrations: 200,
        documents: 20,
        concurrency: 4,
        burst: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let n = || v.parse::<usize>().unwrap_or_else(|_| panic!("{flag} takes a number"));
        match flag.as_str() {
            "--base" => a.base = v.clone(),
            "--key" => a.key = v.clone(),
            "--data" => a.data = v.clone().into(),
            "--registrations" => a.registrations = n(),
            "--documents" => a.documents = n(),
            "--concurrency" => a.concurrency = n(),
            "--burst" => a.burst = n(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.key.is_empty(), "--key CLERK_KEY is required");
    a
}

fn resident_id(seq: usize) -> String {
    let first17 = format!("3201021985{:02}{:02}{:03}", 1 + seq / 28000 % 12, 1 + seq / 1000 % 28, seq % 1000);
    let digits: [u8; 17] = first17.as_bytes().try_into().expect("17 digits");
    format!("{first17}{}", simkyc_docs::cn_id::check_char(&digits).expect("17 digits"))
}

fn sim(n: usize) -> Value {
    let body = format!("8986002{:012}", n);
    let check = (0..10).find(|d| simkyc_sim::luhn_ok(&format!("{body}{d}"))).unwrap_or(0);
    json!({ "msisdn": format!("+86137{:08}", n), "iccid": format!("{body}{check}"), "imsi": format!("46002{:010}", n) })
}

fn call(agent: &ureq::Agent, a: &Args, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = agent
        .request(method, &format!("{}{path}", a.base))
        .set("Authorization", &format!("Bearer {}", a.key))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string());
    let parse = |r: ureq::Response| serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or(Value::Null);
    match r {
        Ok(r) => (r.status(), parse(r)),
        Err(ureq::Error::Status(s, r)) => (s, parse(r)),
        Err(e) => (0, json!({ "transport": e.to_string() })),
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

fn main() {
    let a = args();
    // Real photo pairs of East-Asian people from lfw-dev (document photo, live photo).
    let people = [("Hu_Jintao", 2, 4), ("Zhu_Rongji", 1, 2), ("Ai_Sugiyama", 1, 3), ("Hu_Jintao", 1, 4), ("Zhu_Rongji", 2, 5)];
    let b64 = |n: &str, i: u32| {
        let p = a.data.join(format!("lfw-dev/images/{n}/{n}_{i:04}.jpg"));
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
    };
    let photos: Vec<(String, String)> = people.iter().map(|(n, d, l)| (b64(n, *d), b64(n, *l))).collect();
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(300)).max_idle_connections_per_host(256).build();

    // Phase 1a: start every registration (document check and document-photo analysis).
    let next = AtomicUsize::new(0);
    let started: Mutex<Vec<(usize, String, Value)>> = Mutex::new(Vec::new());
    let failures = AtomicUsize::new(0);
    let t_start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.concurrency {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= a.registrations {
                    break;
                }
                let doc = i % a.documents;
                let (dp, _) = &photos[doc % photos.len()];
                let body = json!({ "document": { "type": "cn_resident_id", "number": resident_id(doc), "name": "压测", "expiry": "long_term" }, "document_photo": dp });
                let (st, r) = call(&agent, &a, "POST", "/v1/registrations", &body);
                if st == 201 {
                    started.lock().unwrap().push((doc, r["id"].as_str().unwrap_or_default().to_string(), r["capture"]["nonce"].clone()));
                } else {
                    eprintln!("start failed: {st} {r}");
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let start_secs = t_start.elapsed().as_secs_f64();
    let started = started.into_inner().unwrap();
    println!(
        "start: {} registrations in {start_secs:.1} s = {:.1}/s at concurrency {}",
        started.len(),
        started.len() as f64 / start_secs,
        a.concurrency
    );

    // Phase 1b: capture each one (the decision).
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.concurrency {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((doc, id, nonce)) = started.get(i) else { break };
                let (_, lp) = &photos[doc % photos.len()];
                let (st, c) =
                    call(&agent, &a, "POST", &format!("/v1/registrations/{id}/capture"), &json!({ "nonce": nonce, "frames": [lp] }));
                let ms = c["timing_ms"]["decision"].as_f64().unwrap_or(f64::NAN);
                results.lock().unwrap().push((*doc, id.clone(), c["decision"].as_str().unwrap_or("error").to_string(), ms, st));
            });
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let results = results.into_inner().unwrap();
    let mut lat: Vec<f64> = results.iter().map(|r| r.3).filter(|x| x.is_finite()).collect();
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for r in &results {
        *outcomes.entry(r.2.clone()).or_default() += 1;
    }
    let server_errors = results.iter().filter(|r| r.4 == 0 || r.4 >= 500).count() + failures.load(Ordering::Relaxed);
    println!(
        "capture: {} decisions in {secs:.1} s = {:.1}/s at concurrency {}; server-side decision ms median {:.1}, p95 {:.1}; outcomes {outcomes:?}; 5xx/transport errors {server_errors}",
        results.len(),
        results.len() as f64 / secs,
        a.concurrency,
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.95)
    );

    // Phase 2: activate every approved registration at once.
    let approved: Vec<(usize, String)> = results.iter().filter(|r| r.2 == "approved").map(|r| (r.0, r.1.clone())).collect();
    let next = AtomicUsize::new(0);
    let acts: Mutex<Vec<(usize, u16, String, String)>> = Mutex::new(Vec::new());
    let t1 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.burst {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((doc, id)) = approved.get(i) else { break };
                let (st, r) = call(&agent, &a, "POST", &format!("/v1/registrations/{id}/activate"), &sim(i));
                let code = r["error"]["code"].as_str().unwrap_or("").to_string();
                acts.lock().unwrap().push((*doc, st, code, r["sim"]["msisdn"].as_str().unwrap_or("").to_string()));
            });
        }
    });
    let acts = acts.into_inner().unwrap();
    let ok = acts.iter().filter(|r| r.1 == 200).count();
    let limited = acts.iter().filter(|r| r.1 == 409 && r.2 == "sim_limit_reached").count();
    let other: Vec<_> = acts.iter().filter(|r| r.1 != 200 && !(r.1 == 409 && r.2 == "sim_limit_reached")).collect();
    let unique: HashSet<&str> = acts.iter().filter(|r| r.1 == 200).map(|r| r.3.as_str()).collect();
    println!(
        "burst: {} activation requests from {} threads in {:.1} s: {ok} activated, {limited} refused at the SIM limit, {} other outcomes",
        acts.len(),
        a.burst,
        t1.elapsed().as_secs_f64(),
        other.len()
    );
    // Check from the server's side: per document, active SIMs == successes and <= limit.
    let mut per_doc: HashMap<usize, usize> = HashMap::new();
    for r in acts.iter().filter(|r| r.1 == 200) {
        *per_doc.entry(r.0).or_default() += 1;
    }
    let mut max_active = 0;
    let mut mismatched = 0;
    for doc in 0..a.documents.min(a.registrations) {
        let (_, l) = call(
            &agent,
            &a,
            "POST",
            "/v1/subscribers/lookup",
            &json!({ "document": { "type": "cn_resident_id", "number": resident_id(doc) } }),
        );
        let active = l["active"].as_u64().unwrap_or(0) as usize;
        max_active = max_active.max(active);
        if active != per_doc.get(&doc).copied().unwrap_or(0) {
            mismatched += 1;
        }
    }
    let lost_or_duplicated = mismatched + (ok - unique.len());
    println!("check: largest active SIM count of any document {max_active}; documents whose stored count differs from the successes seen {mismatched}; duplicated numbers {}", ok - unique.len());
    let pass = server_errors == 0 && other.is_empty() && lost_or_duplicated == 0;
    println!("{}", if pass { "RESULT: PASS" } else { "RESULT: FAIL" });
    if !pass {
        for o in other.iter().take(5) {
            eprintln!("unexpected: {o:?}");
        }
        std::process::exit(1);
    }
}
