//! The in-memory 1:N gallery across servers: two servers share one database (PostgreSQL, and a
//! SQLite file); a face enrolled through A is found as a duplicate by a capture through B, and
//! once A ends the subscriber's last SIM (deleting their biometrics), B no longer finds it.

mod harness;

use std::time::Instant;

use harness::{resident_id, Harness};

fn codes(a: &harness::Answer) -> Vec<String> {
    a.json["reasons"].as_array().map(|r| r.iter().filter_map(|x| x["code"].as_str().map(String::from)).collect()).unwrap_or_default()
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
    h.base = base_b;
    let (_, c) = h.register("clerk", &resident_id(303), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    h.rt.block_on(b.shutdown());
}

#[test]
fn a_template_enrolled_through_one_server_is_found_through_another_postgres() {
    let Some(h) = Harness::postgres() else { return };
    two_servers_one_database(h);
}

#[test]
fn a_template_enrolled_through_one_server_is_found_through_another_sqlite() {
    let Some(h) = Harness::sqlite() else { return };
    two_servers_one_database(h);
}
