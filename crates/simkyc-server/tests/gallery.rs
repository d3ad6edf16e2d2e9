//! Two servers on one database (PostgreSQL, and a SQLite file), as behind a load balancer:
//! - the in-memory 1:N gallery: a face enrolled through A is found as a duplicate by a capture
//!   through B, and once A ends the subscriber's last SIM (deleting their biometrics), B no
//!   longer finds it;
//! - under a concurrent burst split across both, the SIM limit, an Idempotency-Key and the
//!   liveness lockout hold as they do on one server.

mod harness;

use std::time::Instant;

use harness::{resident_id, sim, Answer, Harness};
use serde_json::{json, Value};

fn codes(a: &Answer) -> Vec<String> {
    a.json["reasons"].as_array().map(|r| r.iter().filter_map(|x| x["code"].as_str().map(String::from)).collect()).unwrap_or_default()
}

/// POSTs JSON to a given server as a named principal.
fn post_at(h: &Harness, base: &str, path: &str, who: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    h.call_at(base, "POST", path, who, Some(body.clone()), headers)
}

/// The burst: activations of one document's approved registrations, and retries of one
/// activation with one Idempotency-Key, sent at once to both servers; then liveness failures
/// on A lock the device out on B.
fn burst_across_two_servers(h: &mut Harness, base_a: &str, base_b: &str) {
    h.base = base_a.to_string();
    let doc = resident_id(310);
    let ids: Vec<String> = (0..8)
        .map(|_| {
            let (id, c) = h.register("clerk", &doc, ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
            assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
            id
        })
        .collect();
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let hh = &*h;
        let handles: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let base = if i % 2 == 0 { base_a } else { base_b };
                s.spawn(move || post_at(hh, base, &format!("/v1/registrations/{id}/activate"), "clerk", &sim(3100 + i as u32), &[]))
            })
            .collect();
        handles.into_iter().map(|t| t.join().expect("a client")).collect()
    });
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let limited = answers.iter().filter(|a| a.status == 409 && a.code() == "sim_limit_reached").count();
    assert_eq!((ok, limited), (5, 3), "{:?}", answers.iter().map(|a| (a.status, a.code().to_string())).collect::<Vec<_>>());
    let lookup = |base: &str, doc: &str| {
        post_at(h, base, "/v1/subscribers/lookup", "clerk", &json!({ "document": { "type": "cn_resident_id", "number": doc } }), &[])
    };
    assert_eq!(lookup(base_b, &doc).json["active"], 5);

    // One activation retried with one Idempotency-Key at both servers at once: it acts once.
    let doc2 = resident_id(311);
    let (id, c) = h.register("clerk", &doc2, ("Zhu_Rongji", 1), &[("Zhu_Rongji", 2)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    let path = format!("/v1/registrations/{id}/activate");
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let hh = &*h;
        let path = &path;
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let base = if i % 2 == 0 { base_a } else { base_b };
                s.spawn(move || post_at(hh, base, path, "clerk", &sim(3200), &[("Idempotency-Key", "burst-1")]))
            })
            .collect();
        handles.into_iter().map(|t| t.join().expect("a client")).collect()
    });
    for a in &answers {
        assert!(
            a.status == 200 || (a.status == 409 && a.code() == "idempotency_in_progress"),
            "a retry is the first answer or 'in progress': {} {:?}",
            a.status,
            a.json
        );
    }
    assert_eq!(answers.iter().filter(|a| a.status == 200 && !a.replayed).count(), 1, "exactly one request acted");
    assert_eq!(lookup(base_a, &doc2).json["active"], 1, "one SIM, not several");

    // Five failed liveness checks through A lock the device (key) out on B too.
    let put = h.call_at(base_a, "PUT", "/v1/admin/settings", "admin", Some(json!({ "capture_mode": "passive" })), &[]);
    assert_eq!(put.status, 200, "{:?}", put.json);
    for i in 0..5 {
        let (_, c) = h.register("clerk2", &resident_id(320 + i), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
        assert_eq!(c.json["decision"], "rejected", "{:?}", c.json);
    }
    h.base = base_b.to_string();
    let s = h.start_registration("clerk2", &resident_id(330), &h.photo("Hu_Jintao", 2));
    let locked = h.call(
        "POST",
        &format!("/v1/registrations/{}/capture", s.json["id"].as_str().expect("an id")),
        "clerk2",
        Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] })),
    );
    assert_eq!((locked.status, locked.code()), (429, "liveness_lockout"), "{:?}", locked.json);
}

fn two_servers_one_database(mut h: Harness) {
    // Server B starts on the same database and configuration before anything is enrolled.
    let (config, face) = {
        let a = h.running.as_ref().expect("server A");
        (a.state.config.clone(), a.state.face.clone())
    };
    let b = h.rt.block_on(async {
        let state = simkyc_server::build_state_with(config, face).await.expect("server B's state");
        simkyc_server::start(state).await.expect("starting server B")
    });
    let base_a = h.base.clone();
    let base_b = format!("http://{}", b.addr);

    // Through A: enrolled and activated.
    let (first, c) = h.register("clerk", &resident_id(301), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 2)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    assert_eq!(h.activate("clerk", &first, 3010).status, 200);

    // Through B, at once: the same face under another identity goes to review.
    h.base = base_b.clone();
    let t = Instant::now();
    let (dup, c) = h.register("clerk", &resident_id(302), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    let took = t.elapsed();
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("review"), vec!["duplicate_face".to_string()]), "{:?}", c.json);
    let case = h.call("GET", &format!("/v1/reviews/{dup}"), "reviewer", None);
    assert_eq!(case.json["resembling"][0]["registration_id"], first.as_str(), "{:?}", case.json);
    eprintln!("enrolled through A, found as a duplicate through B by the next capture ({took:?} for the whole registration)");
    let m = ureq::get(&format!("{}/metrics", h.base))
        .set("Authorization", &format!("Bearer {}", h.key("auditor")))
        .call()
        .expect("metrics")
        .into_string()
        .expect("metrics text");
    assert!(m.contains("simkyc_gallery_templates{operator=\"default\"} 1"), "{m}");

    // Through A: the subscriber's last SIM ends, their biometrics are deleted ...
    h.base = base_a;
    let t = h.call("POST", "/v1/sims/+8613900003010/terminate", "clerk", None);
    assert_eq!((t.status, t.json["biometrics_deleted"].as_bool()), (200, Some(true)), "{:?}", t.json);
    // ... and B no longer finds them.
    h.base = base_b.clone();
    let (_, c) = h.register("clerk", &resident_id(303), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    let base_a = format!("http://{}", h.running.as_ref().expect("server A").addr);
    burst_across_two_servers(&mut h, &base_a, &base_b);
    h.rt.block_on(b.shutdown());
}

#[test]
fn two_servers_share_gallery_sim_limit_idempotency_and_lockout_postgres() {
    let Some(h) = Harness::postgres() else { return };
    two_servers_one_database(h);
}

#[test]
fn two_servers_share_gallery_sim_limit_idempotency_and_lockout_sqlite() {
    let Some(h) = Harness::sqlite() else { return };
    two_servers_one_database(h);
}
