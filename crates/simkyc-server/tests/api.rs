//! The registration service over real HTTP, with real faces from lfw-dev: the workflow, the
//! decision's operating points, review, 1:N duplicates, roles and operator isolation, bad input,
//! idempotency, the SIM limit under concurrent activations (SQLite and PostgreSQL), audit,
//! retention, key rotation, metrics and the OpenAPI document.

mod harness;

use harness::{resident_id, sim, Harness};
use serde_json::json;
use simkyc_verify::LiveFlip;

fn codes(a: &harness::Answer) -> Vec<String> {
    a.json["reasons"].as_array().map(|v| v.iter().map(|r| r["code"].as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

fn full_flow(h: &Harness) {
    // Approve: the same person, clearly (score above the strict point).
    let doc = resident_id(1);
    let (id, c) = h.register("clerk", &doc, ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(c.status, 200, "{:?}", c.json);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    assert!(c.json["reasons"].as_array().unwrap().is_empty());
    assert!(c.json["timing_ms"]["decision"].as_f64().unwrap() > 0.0);
    let a = h.activate("clerk", &id, 1);
    assert_eq!(a.status, 200, "{:?}", a.json);
    assert_eq!(a.json["sim"]["msisdn"], "+8613900000001");
    // Activating twice is a state conflict, not a second SIM.
    assert_eq!(h.activate("clerk", &id, 2).status, 409);
    let g = h.call("GET", &format!("/v1/registrations/{id}"), "clerk", None);
    assert_eq!(g.json["state"], "activated");
    assert_eq!(g.json["msisdn"], "+8613900000001");
    assert!(!g.json["document"]["number_masked"].as_str().unwrap().contains("19900101"), "number is masked");

    // Self-lookup lists the number.
    let l = h.call("POST", "/v1/subscribers/lookup", "clerk", Some(json!({ "document": { "type": "cn_resident_id", "number": doc } })));
    assert_eq!(l.status, 200, "{:?}", l.json);
    assert_eq!(l.json["active"], 1);
    assert_eq!(l.json["sims"][0]["msisdn"], "+8613900000001");

    // Ending the last SIM deletes the biometrics.
    let t = h.call("POST", "/v1/sims/+8613900000001/terminate", "clerk", None);
    assert_eq!(t.status, 200, "{:?}", t.json);
    assert_eq!(t.json["biometrics_deleted"], true);
    assert_eq!(h.call("POST", "/v1/sims/+8613900000001/terminate", "clerk", None).status, 404);
    let g = h.call("GET", &format!("/v1/registrations/{id}"), "clerk", None);
    assert_eq!(g.json["photos_purged"], true);
    let l = h.call("POST", "/v1/subscribers/lookup", "clerk", Some(json!({ "document": { "type": "cn_resident_id", "number": doc } })));
    assert_eq!((l.json["active"].as_i64(), l.json["sims"][0]["status"].as_str()), (Some(0), Some("terminated")));
    let row = h.rt.block_on(h.running.as_ref().unwrap().state.db.registration(&id, "default")).unwrap();
    assert!(
        row.doc_photo_enc.is_none() && row.live_photo_enc.is_none() && row.live_template_enc.is_none() && row.doc_template_enc.is_none()
    );

    // The audit chain holds and records what happened, without personal data.
    let v = h.call("GET", "/v1/audit/verify", "auditor", None);
    assert_eq!(v.json["intact"], true, "{:?}", v.json);
    let ev = h.call("GET", "/v1/audit?limit=1000", "auditor", None);
    let text = ev.json.to_string();
    for action in [
        "registration.created",
        "registration.captured",
        "registration.decided",
        "sim.activated",
        "subscriber.lookup",
        "sim.terminated",
        "biometrics.deleted",
    ] {
        assert!(text.contains(action), "audit lacks {action}");
    }
    assert!(!text.contains(&doc) && !text.contains("13900000001") && !text.contains("测试"), "personal data in the audit log");
    // Another operator's auditor sees none of it.
    let other = h.call("GET", "/v1/audit?limit=1000", "other-auditor", None);
    assert!(!other.json.to_string().contains("registration.created"));
}

#[test]
fn registration_flow_sqlite() {
    let Some(h) = Harness::sqlite() else { return };
    full_flow(&h);
}

#[test]
fn registration_flow_postgres() {
    let Some(h) = Harness::postgres() else { return };
    full_flow(&h);
}

/// An operator short of capacity embeds live frames without their mirror (`live_flip = false`,
/// half the embedding cost of a capture): the live score changes a little, the same person is
/// still approved and different people are still rejected at the built-in thresholds.
#[test]
fn live_frames_without_their_mirror() {
    let (Some(with), Some(without)) = (Harness::sqlite(), Harness::sqlite_with(|c| c.live_flip = LiveFlip::Never)) else { return };
    let score = |h: &Harness| {
        let (id, c) = h.register("clerk", &resident_id(21), ("Kim_Dae-jung", 2), &[("Kim_Dae-jung", 3)]);
        assert_eq!(c.json["decision"], "review", "{:?}", c.json);
        h.call("GET", &format!("/v1/reviews/{id}"), "reviewer", None).json["scores"]["match"].as_f64().expect("a match score")
    };
    let flip_setting = |h: &Harness| h.call("GET", "/v1/admin/settings", "admin", None).json["operating_points"]["live_flip"].clone();
    assert_eq!(
        (flip_setting(&with), flip_setting(&without)),
        (json!("always"), json!("never")),
        "the admin settings say how live frames are embedded"
    );
    let (flipped, plain) = (score(&with), score(&without));
    assert!(flipped != plain && (flipped - plain).abs() < 0.05, "live score with flip {flipped}, without {plain}");
    let (_, c) = without.register("clerk", &resident_id(22), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    let (_, c) = without.register("clerk", &resident_id(23), ("Ai_Sugiyama", 1), &[("Zhu_Rongji", 1)]);
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("rejected"), vec!["face_mismatch".to_string()]), "{:?}", c.json);
}

/// `live_flip = near-threshold`: live frames are embedded without their mirror, and with it only
/// when the score lies near a threshold. Near one, the score (and so the decision) is the
/// default's; far from both, it is the unmirrored score and the mirror pass is saved.
#[test]
fn live_frames_get_their_mirror_only_near_a_threshold() {
    let (Some(always), Some(near), Some(never)) = (
        Harness::sqlite(),
        Harness::sqlite_with(|c| c.live_flip = LiveFlip::NearThreshold),
        Harness::sqlite_with(|c| c.live_flip = LiveFlip::Never),
    ) else {
        return;
    };
    assert_eq!(near.call("GET", "/v1/admin/settings", "admin", None).json["operating_points"]["live_flip"], "near-threshold");
    // Kim_Dae-jung at about 0.50, between the points: in review, mirrored, scored as the default does.
    let review_scores = |h: &Harness| {
        let (id, c) = h.register("clerk", &resident_id(31), ("Kim_Dae-jung", 2), &[("Kim_Dae-jung", 3)]);
        assert_eq!(c.json["decision"], "review", "{:?}", c.json);
        h.call("GET", &format!("/v1/reviews/{id}"), "reviewer", None).json["scores"].clone()
    };
    let (a, n, w) = (review_scores(&always), review_scores(&near), review_scores(&never));
    assert_eq!((&n["match"], &n["live_mirrored"]), (&a["match"], &json!(true)), "near-threshold {n}, always {a}");
    assert_eq!((&a["live_mirrored"], &w["live_mirrored"]), (&json!(true), &json!(false)));
    assert_ne!(n["match"], w["match"]);
    // Far from both points: the same decisions, each on the unmirrored score.
    let audit_match = |h: &Harness, doc: u32, document: (&str, u32), live: (&str, u32), want: &str| {
        let (id, c) = h.register("clerk", &resident_id(doc), document, &[live]);
        assert_eq!(c.json["decision"], want, "{:?}", c.json);
        let audit = h.call("GET", "/v1/audit?limit=1000", "auditor", None).json;
        let events = audit["events"].as_array().expect("audit events").clone();
        let subject = format!("registration:{id}");
        events
            .iter()
            .find(|e| e["subject"] == subject.as_str() && e["details"]["match"].is_string())
            .map(|e| e["details"]["match"].clone())
            .unwrap_or_else(|| panic!("no audited match score for {subject}: {audit}"))
    };
    for (doc, document, live, want) in
        [(32, ("Hu_Jintao", 4), ("Hu_Jintao", 8), "approved"), (33, ("Ai_Sugiyama", 1), ("Zhu_Rongji", 1), "rejected")]
    {
        assert_eq!(
            audit_match(&near, doc, document, live, want),
            audit_match(&never, doc, document, live, want),
            "{document:?} against {live:?}"
        );
    }
}

#[test]
fn operating_points_and_review() {
    let Some(h) = Harness::sqlite() else { return };
    // Different people: below the default threshold.
    let (_, c) = h.register("clerk", &resident_id(2), ("Ai_Sugiyama", 1), &[("Zhu_Rongji", 1)]);
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("rejected"), vec!["face_mismatch".to_string()]), "{:?}", c.json);
    // The same person at 0.50 (between the default 0.466 and strict 0.531 points): review.
    let (id, c) = h.register("clerk", &resident_id(3), ("Kim_Dae-jung", 2), &[("Kim_Dae-jung", 3)]);
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("review"), vec!["face_match_uncertain".to_string()]), "{:?}", c.json);
    assert_eq!(h.activate("clerk", &id, 10).status, 409, "a case in review cannot be activated");

    // Several frames: the same person is decided on the mean of the per-frame scores; frames of
    // two people are refused whatever the document shows.
    let (_, c) = h.register("clerk", &resident_id(11), ("Hu_Jintao", 2), &[("Hu_Jintao", 4), ("Hu_Jintao", 1)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    h.set_capture_mode("passive");
    let (_, c) = h.register("clerk", &resident_id(12), ("Hu_Jintao", 2), &[("Hu_Jintao", 4), ("Ai_Sugiyama", 1)]);
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("rejected"), vec!["live_faces_differ".to_string()]), "{:?}", c.json);
    h.set_capture_mode("off");
    // Frames refused for framing (here: no face) keep the registration open twice; the third
    // capture is decided.
    let mut blank = Vec::new();
    image_png(&mut blank);
    use base64::Engine;
    let blank = base64::engine::general_purpose::STANDARD.encode(&blank);
    let s = h.start_registration("clerk", &resident_id(14), &h.photo("Hu_Jintao", 2));
    let rid = s.json["id"].as_str().unwrap();
    let body = json!({ "nonce": s.json["capture"]["nonce"], "frames": [blank] });
    for attempt in 1..=2 {
        let a = h.call("POST", &format!("/v1/registrations/{rid}/capture"), "clerk", Some(body.clone()));
        assert_eq!((a.status, a.code()), (422, "capture_quality"), "attempt {attempt}: {:?}", a.json);
        assert_eq!(a.json["error"]["reasons"][0]["code"], "live_no_face");
    }
    let a = h.call("POST", &format!("/v1/registrations/{rid}/capture"), "clerk", Some(body));
    assert_eq!((a.status, a.json["decision"].as_str(), codes(&a)), (200, Some("rejected"), vec!["live_no_face".to_string()]));

    // Cancelling before the capture ends the registration; a later capture is refused.
    let s = h.start_registration("clerk", &resident_id(13), &h.photo("Hu_Jintao", 2));
    let cid = s.json["id"].as_str().unwrap();
    let cancelled = h.call("POST", &format!("/v1/registrations/{cid}/cancel"), "clerk", None);
    assert_eq!((cancelled.status, cancelled.json["state"].as_str()), (200, Some("cancelled")));
    let late = h.call(
        "POST",
        &format!("/v1/registrations/{cid}/capture"),
        "clerk",
        Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] })),
    );
    assert_eq!((late.status, late.code()), (409, "capture_already_done"));
    assert_eq!(h.call("POST", &format!("/v1/registrations/{cid}/cancel"), "clerk", None).status, 409);

    let q = h.call("GET", "/v1/reviews", "reviewer", None);
    assert_eq!(q.json["cases"].as_array().unwrap().len(), 1);
    assert_eq!(h.call("GET", "/v1/reviews", "other-reviewer", None).json["cases"].as_array().unwrap().len(), 0);
    assert_eq!(h.call("GET", "/v1/reviews", "clerk", None).status, 403);
    let case = h.call("GET", &format!("/v1/reviews/{id}"), "reviewer", None);
    assert_eq!(case.status, 200);
    assert!(case.json["document_photo"].as_str().unwrap().len() > 1000 && case.json["live_photo"].as_str().unwrap().len() > 1000);
    let m = case.json["scores"]["match"].as_f64().unwrap();
    assert!(
        m >= case.json["scores"]["default_threshold"].as_f64().unwrap() && m < case.json["scores"]["strict_threshold"].as_f64().unwrap()
    );
    assert_eq!(h.call("GET", &format!("/v1/reviews/{id}"), "other-reviewer", None).status, 404);

    let no_comment =
        h.call("POST", &format!("/v1/reviews/{id}/decision"), "reviewer", Some(json!({ "decision": "approve", "comment": " " })));
    assert_eq!((no_comment.status, no_comment.code()), (422, "review_comment_required"));
    let d = h.call(
        "POST",
        &format!("/v1/reviews/{id}/decision"),
        "reviewer",
        Some(json!({ "decision": "approve", "comment": "same person, older photo" })),
    );
    assert_eq!((d.status, d.json["state"].as_str()), (200, Some("approved")), "{:?}", d.json);
    assert_eq!(
        h.call("POST", &format!("/v1/reviews/{id}/decision"), "reviewer", Some(json!({ "decision": "reject", "comment": "x" }))).status,
        409
    );
    assert_eq!(h.activate("clerk", &id, 10).status, 200);
    let audit = h.call("GET", "/v1/audit?limit=1000", "auditor", None).json.to_string();
    assert!(audit.contains("biometrics.read") && audit.contains("review.decided"));
}

#[test]
fn duplicate_face_goes_to_review_never_rejection() {
    let Some(h) = Harness::sqlite() else { return };
    let (first, c) = h.register("clerk", &resident_id(4), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 2)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    assert_eq!(h.activate("clerk", &first, 20).status, 200);
    // The same face under another identity.
    let (dup, c) = h.register("clerk", &resident_id(5), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("review"), vec!["duplicate_face".to_string()]), "{:?}", c.json);
    let case = h.call("GET", &format!("/v1/reviews/{dup}"), "reviewer", None);
    assert_eq!(case.json["resembling"][0]["registration_id"], first.as_str());
    assert!(case.json["resembling"][0]["live_photo"].as_str().is_some());
    // The same identity registering again is not a duplicate of itself.
    let (_, c) = h.register("clerk", &resident_id(4), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    // Another operator's gallery is separate.
    let (_, c) = h.register("other-clerk", &resident_id(6), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
}

#[test]
fn roles_and_operator_isolation() {
    let Some(h) = Harness::sqlite() else { return };
    assert_eq!(h.raw("GET", "/v1/audit", None, "", b"", &[]).status, 401);
    assert_eq!(
        h.raw("GET", "/v1/audit", Some("sk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef"), "", b"", &[]).status,
        401
    );
    assert_eq!(h.raw("GET", "/healthz", None, "", b"", &[]).status, 200);
    assert_eq!(h.call("GET", "/v1/audit", "clerk", None).status, 403, "a clerk cannot read the audit log");
    let a = h.start_registration("auditor", &resident_id(7), &h.photo("Hu_Jintao", 1));
    assert_eq!((a.status, a.code()), (403, "forbidden"), "an auditor cannot register anyone");
    assert_eq!(h.start_registration("reviewer", &resident_id(7), &h.photo("Hu_Jintao", 1)).status, 403);
    assert_eq!(h.start_registration("admin", &resident_id(7), &h.photo("Hu_Jintao", 1)).status, 403);

    let (id, c) = h.register("clerk", &resident_id(7), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(c.json["decision"], "approved");
    assert_eq!(h.call("GET", &format!("/v1/registrations/{id}"), "clerk2", None).status, 200, "same operator");
    assert_eq!(h.call("GET", &format!("/v1/registrations/{id}"), "other-clerk", None).status, 404, "another operator's data is invisible");
    assert_eq!(h.activate("other-clerk", &id, 30).status, 404);
    assert_eq!(h.activate("reviewer", &id, 30).status, 403);
    assert_eq!(h.activate("clerk", &id, 30).status, 200);
    assert_eq!(h.call("POST", "/v1/sims/+8613900000030/terminate", "other-clerk", None).status, 404);
    assert_eq!(h.call("POST", "/v1/sims/+8613900000030/terminate", "auditor", None).status, 403);
    let l = h.call(
        "POST",
        "/v1/subscribers/lookup",
        "other-clerk",
        Some(json!({ "document": { "type": "cn_resident_id", "number": resident_id(7) } })),
    );
    assert_eq!(l.json["sims"].as_array().map(Vec::len), Some(0));

    // Keys: an admin creates one, it works, it is revoked, it stops working.
    let k = h.call("POST", "/v1/admin/keys", "admin", Some(json!({ "role": "auditor", "label": "audit team" })));
    assert_eq!(k.status, 201, "{:?}", k.json);
    let token = k.json["key"].as_str().unwrap().to_string();
    assert_eq!(h.raw("GET", "/v1/audit/verify", Some(&token), "", b"", &[]).status, 200);
    let listed = h.call("GET", "/v1/admin/keys", "admin", None).json.to_string();
    assert!(!listed.contains(&token) && !listed.contains("argon2"), "secrets never listed");
    assert_eq!(
        h.call("POST", "/v1/admin/keys", "admin", Some(json!({ "role": "clerk", "store": "other-store" }))).status,
        404,
        "cannot mint keys for another operator"
    );
    assert_eq!(h.call("POST", "/v1/admin/keys", "clerk", Some(json!({ "role": "admin" }))).status, 403);
    let kid = k.json["id"].as_str().unwrap();
    assert_eq!(h.call("POST", &format!("/v1/admin/keys/{kid}/revoke"), "admin", None).status, 200);
    let revoked = h.raw("GET", "/v1/audit/verify", Some(&token), "", b"", &[]);
    assert_eq!((revoked.status, revoked.json["error"]["message"].as_str()), (401, Some("this API key has been revoked")));
}

#[test]
fn bad_input_gets_clear_4xx_and_the_server_stays_up() {
    let Some(h) = Harness::sqlite() else { return };
    let clerk = Some(h.key("clerk"));
    let post = |body: &[u8], ct: &str| h.raw("POST", "/v1/registrations", clerk, ct, body, &[]);
    let check = |a: harness::Answer, status: u16, code: &str| {
        assert_eq!((a.status, a.code()), (status, code), "{:?}", a.json);
        assert!(!a.json["error"]["message"].as_str().unwrap_or("").is_empty());
    };
    check(post(b"{not json", "application/json"), 400, "json_malformed");
    check(post(b"{}", "text/plain"), 415, "content_type_unsupported");
    check(post(b"{}", "application/json"), 422, "json_invalid");
    let photo = h.photo("Hu_Jintao", 1);
    let doc = json!({ "type": "cn_resident_id", "number": resident_id(8), "name": "测试", "expiry": "2040-01-01" });
    check(
        post(json!({ "document": doc, "document_photo": photo, "extra": 1 }).to_string().as_bytes(), "application/json"),
        422,
        "json_invalid",
    );
    check(post(json!({ "document": doc, "document_photo": 42 }).to_string().as_bytes(), "application/json"), 422, "json_invalid");
    check(
        post(json!({ "document": { "type": "driving_licence" }, "document_photo": photo }).to_string().as_bytes(), "application/json"),
        422,
        "json_invalid",
    );
    check(
        post(json!({ "document": doc, "document_photo": "###" }).to_string().as_bytes(), "application/json"),
        422,
        "image_base64_invalid",
    );
    check(
        post(json!({ "document": doc, "document_photo": "aGVsbG8gd29ybGQ=" }).to_string().as_bytes(), "application/json"),
        422,
        "image_invalid",
    );
    // A PNG header claiming 30000×30000 pixels: refused before any allocation.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&30000u32.to_be_bytes());
    png.extend_from_slice(&30000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = {
        let mut c = 0xffff_ffffu32;
        for &b in &png[12..] {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    };
    png.extend_from_slice(&crc.to_be_bytes());
    use base64::Engine;
    let huge = base64::engine::general_purpose::STANDARD.encode(&png);
    check(post(json!({ "document": doc, "document_photo": huge }).to_string().as_bytes(), "application/json"), 413, "image_too_large");
    // A body declared over the limit (32 MiB) is refused before it is read.
    let reply = raw_http(&h, &format!("POST /v1/registrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 40000000\r\n\r\n", h.key("clerk")));
    assert!(reply.starts_with("HTTP/1.1 413") && reply.contains("body_too_large"), "{reply}");
    // A body over the limit without a declared length (chunked) is cut off at the limit.
    let mut chunked = format!("POST /v1/registrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", h.key("clerk"));
    let chunk = " ".repeat(1 << 20);
    for _ in 0..33 {
        chunked.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    chunked.push_str("0\r\n\r\n");
    let reply = raw_http(&h, &chunked);
    assert!(reply.starts_with("HTTP/1.1 413") && reply.contains("body_too_large"), "{}", &reply[..reply.len().min(300)]);
    // A blank image has no face.
    let mut blank = Vec::new();
    image_png(&mut blank);
    let blank = base64::engine::general_purpose::STANDARD.encode(&blank);
    check(
        post(json!({ "document": doc, "document_photo": blank }).to_string().as_bytes(), "application/json"),
        422,
        "document_photo_no_face",
    );

    // Invalid documents: each failure its own code.
    let bad_id = h.start_registration("clerk", "110105199001010011", &photo);
    assert_eq!((bad_id.status, bad_id.code()), (422, "document_invalid"));
    assert_eq!(bad_id.json["error"]["reasons"][0]["code"], "id_checksum");
    let expired = h.call("POST", "/v1/registrations", "clerk", Some(json!({ "document": { "type": "cn_resident_id", "number": resident_id(8), "name": "测试", "expiry": "2020-01-01" }, "document_photo": photo })));
    assert_eq!(expired.json["error"]["reasons"][0]["code"], "document_expired");
    let td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    let mrz = h.call(
        "POST",
        "/v1/registrations",
        "clerk",
        Some(json!({ "document": { "type": "passport", "mrz": td3.replace("7408122", "7408123") }, "document_photo": photo })),
    );
    assert_eq!(mrz.json["error"]["reasons"][0]["code"], "mrz_check_digit");

    // Capture: wrong nonce, no frames, then a replay after the decision.
    let s = h.start_registration("clerk", &resident_id(8), &photo);
    let id = s.json["id"].as_str().unwrap_or_else(|| panic!("start: {:?}", s.json)).to_string();
    let path = format!("/v1/registrations/{id}/capture");
    check(
        h.call("POST", &path, "clerk", Some(json!({ "nonce": "0000", "frames": [h.photo("Hu_Jintao", 2)] }))),
        422,
        "capture_nonce_invalid",
    );
    check(h.call("POST", &path, "clerk", Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [] }))), 422, "frames_count");
    let body = json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 2)] });
    assert_eq!(h.call("POST", &path, "clerk", Some(body.clone())).status, 200);
    check(h.call("POST", &path, "clerk", Some(body)), 409, "capture_already_done");
    check(h.call("POST", "/v1/registrations/nope/capture", "clerk", Some(json!({ "nonce": "x", "frames": ["x"] }))), 404, "not_found");

    // SIM identifiers.
    check(
        h.call(
            "POST",
            &format!("/v1/registrations/{id}/activate"),
            "clerk",
            Some(json!({ "msisdn": "12345", "iccid": "89860012345678901238", "imsi": "460001234567801" })),
        ),
        422,
        "msisdn_invalid",
    );
    check(
        h.call(
            "POST",
            &format!("/v1/registrations/{id}/activate"),
            "clerk",
            Some(json!({ "msisdn": "+8613800138000", "iccid": "89860012345678901239", "imsi": "460001234567801" })),
        ),
        422,
        "iccid_checksum",
    );
    check(h.call("POST", "/v1/sims/abc/terminate", "clerk", None), 422, "msisdn_invalid");
    check(h.call("GET", "/v1/nothing", "clerk", None), 404, "not_found");
    check(h.call("DELETE", "/v1/registrations", "clerk", None), 405, "method_not_allowed");
    assert_eq!(h.raw("GET", "/healthz", None, "", b"", &[]).status, 200, "still up");
}

/// Writes a raw HTTP request (ignoring a connection the server closes early) and reads the reply.
fn raw_http(h: &Harness, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(h.base.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let _ = s.write_all(request.as_bytes());
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn image_png(out: &mut Vec<u8>) {
    let img = image::RgbImage::from_pixel(320, 240, image::Rgb([128, 128, 128]));
    img.write_to(&mut std::io::Cursor::new(out), image::ImageFormat::Png).unwrap();
}

#[test]
fn idempotency_key_replays_instead_of_acting_twice() {
    let Some(h) = Harness::sqlite() else { return };
    let body = json!({
        "document": { "type": "cn_resident_id", "number": resident_id(9), "name": "测试", "expiry": "long_term" },
        "document_photo": h.photo("Hu_Jintao", 2),
    });
    let first = h.call_with("POST", "/v1/registrations", "clerk", Some(body.clone()), &[("Idempotency-Key", "reg-9")]);
    assert_eq!(first.status, 201);
    let again = h.call_with("POST", "/v1/registrations", "clerk", Some(body.clone()), &[("Idempotency-Key", "reg-9")]);
    assert_eq!((again.status, again.replayed), (201, true));
    assert_eq!(again.json["id"], first.json["id"], "the retry returns the first registration");
    let other = h.call_with(
        "POST",
        "/v1/registrations",
        "clerk",
        Some(json!({ "document": body["document"], "document_photo": h.photo("Hu_Jintao", 3) })),
        &[("Idempotency-Key", "reg-9")],
    );
    assert_eq!((other.status, other.code()), (422, "idempotency_key_reused"));
    // Keys are per API key: another clerk's "reg-9" is a new request.
    assert!(!h.call_with("POST", "/v1/registrations", "clerk2", Some(body), &[("Idempotency-Key", "reg-9")]).replayed);

    let id = first.json["id"].as_str().unwrap();
    let cap = json!({ "nonce": first.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] });
    let c1 = h.call_with("POST", &format!("/v1/registrations/{id}/capture"), "clerk", Some(cap.clone()), &[("Idempotency-Key", "cap-9")]);
    let c2 = h.call_with("POST", &format!("/v1/registrations/{id}/capture"), "clerk", Some(cap), &[("Idempotency-Key", "cap-9")]);
    assert_eq!((c1.status, c2.status, c2.replayed), (200, 200, true));
    assert_eq!(c1.json["decision"], c2.json["decision"]);
    let a1 = h.call_with("POST", &format!("/v1/registrations/{id}/activate"), "clerk", Some(sim(40)), &[("Idempotency-Key", "act-9")]);
    let a2 = h.call_with("POST", &format!("/v1/registrations/{id}/activate"), "clerk", Some(sim(40)), &[("Idempotency-Key", "act-9")]);
    assert_eq!((a1.status, a2.status, a2.replayed), (200, 200, true));
    let l = h.call(
        "POST",
        "/v1/subscribers/lookup",
        "clerk",
        Some(json!({ "document": { "type": "cn_resident_id", "number": resident_id(9) } })),
    );
    assert_eq!(l.json["active"], 1, "one SIM, not two");
}

/// Approves `n` registrations of one document, then activates them all at once from many
/// threads: exactly `limit` succeed, the rest are refused, nothing is lost or duplicated.
fn sim_limit_holds_under_concurrency(h: &Harness) {
    let limit = 3;
    let s = h.call("PUT", "/v1/admin/settings", "admin", Some(json!({ "sim_limit": limit })));
    assert_eq!(s.status, 200, "{:?}", s.json);
    let doc = resident_id(50);
    let n = 10;
    let ids: Vec<String> = (0..n)
        .map(|_| {
            let (id, c) = h.register("clerk", &doc, ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
            assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
            id
        })
        .collect();
    let results: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                scope.spawn(move || {
                    let a = h.activate(if i % 2 == 0 { "clerk" } else { "clerk2" }, id, 100 + i as u32);
                    (a.status, a.code().to_string())
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let refused = results.iter().filter(|r| r.0 == 409 && r.1 == "sim_limit_reached").count();
    assert_eq!((ok, refused), (limit, n - limit), "{results:?}");
    let l = h.call("POST", "/v1/subscribers/lookup", "clerk", Some(json!({ "document": { "type": "cn_resident_id", "number": doc } })));
    assert_eq!(l.json["active"], limit as i64);
    // A new capture for this document is now refused up front, with the reason.
    let (_, c) = h.register("clerk", &doc, ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(codes(&c), vec!["sim_limit_reached".to_string()]);
    // Ending one SIM frees a slot for a still-approved registration.
    let active = l.json["sims"][0]["msisdn"].as_str().unwrap().to_string();
    assert_eq!(h.call("POST", &format!("/v1/sims/{active}/terminate"), "clerk", None).status, 200);
    let waiting =
        ids.iter().find(|id| h.call("GET", &format!("/v1/registrations/{id}"), "clerk", None).json["state"] == "approved").unwrap();
    assert_eq!(h.activate("clerk", waiting, 199).status, 200);
    assert_eq!(h.call("GET", "/v1/audit/verify", "auditor", None).json["intact"], true);
}

#[test]
fn sim_limit_concurrency_sqlite() {
    let Some(h) = Harness::sqlite() else { return };
    sim_limit_holds_under_concurrency(&h);
}

#[test]
fn sim_limit_concurrency_postgres() {
    let Some(h) = Harness::postgres() else { return };
    sim_limit_holds_under_concurrency(&h);
}

#[test]
fn retention_purge_and_key_rotation() {
    let Some(h) = Harness::sqlite() else { return };
    let (id, c) = h.register("clerk", &resident_id(60), ("Kim_Dae-jung", 2), &[("Kim_Dae-jung", 3)]);
    assert_eq!(c.json["decision"], "review");
    let state = &h.running.as_ref().unwrap().state;
    // Rotate: a new key becomes active and every envelope is resealed with it; the running
    // server still reads everything.
    let n = h.rt.block_on(simkyc_server::app::rotate_keys(&state.config)).unwrap();
    assert!(n >= 4, "name, two photos and templates resealed, got {n}");
    let case = h.call("GET", &format!("/v1/reviews/{id}"), "reviewer", None);
    assert_eq!(case.status, 200, "{:?}", case.json);
    assert!(case.json["live_photo"].as_str().is_some());
    assert_eq!(
        h.rt.block_on(simkyc_server::app::rotate_keys(&state.config)).unwrap(),
        n,
        "a second rotation reseals the same values again"
    );
    // Purge everything older than now: photos go, the case stays readable without them.
    let purged = h.rt.block_on(state.db.purge_photos(simkyc_db::now_ms() + 1, "test")).unwrap();
    assert_eq!(purged, 1);
    let case = h.call("GET", &format!("/v1/reviews/{id}"), "reviewer", None);
    assert!(case.json["live_photo"].is_null() && case.json["document_photo"].is_null());
    assert_eq!(case.json["photos_purged"], true);
    assert!(h.call("GET", "/v1/audit?limit=1000", "auditor", None).json.to_string().contains("registration.created"));
}

#[test]
fn metrics_and_openapi() {
    let Some(h) = Harness::sqlite() else { return };
    let (id, c) = h.register("clerk", &resident_id(70), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(c.status, 200);
    assert_eq!(h.activate("clerk", &id, 70).status, 200);
    let m = h.agent_get_text("/metrics", "auditor");
    assert!(m.contains("simkyc_decisions_total{outcome=\"approved\"} 1"), "{m}");
    assert!(m.contains("simkyc_http_requests_total{method=\"POST\",route=\"/v1/registrations/{id}/capture\",status=\"200\"} 1"), "{m}");
    assert!(m.contains("simkyc_decision_duration_seconds_count"));
    assert!(!m.contains("+86") && !m.contains("19900101"));
    // The duplicate check at the operator's gallery size (one enrolled template): its threshold,
    // at least the strict point, the FPIR expected there and whether the target is held, in the
    // metrics and in the admin settings alike.
    let gauge = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(&format!("{name}{{operator=\"default\"}}")))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {m}"))
    };
    assert!(m.contains("simkyc_duplicate_target_fpir 0.01"), "{m}");
    assert_eq!(gauge("simkyc_gallery_templates"), 1.0);
    let s = h.call("GET", "/v1/admin/settings", "admin", None);
    let d = &s.json["duplicate_check"];
    assert_eq!(d["gallery_size"], 1, "{s:?}");
    assert_eq!(d["target_fpir"], 0.01);
    let strict = s.json["operating_points"]["strict"].as_f64().unwrap();
    let points = &s.json["operating_points"];
    assert_eq!(points["confidence"], 0.9, "{points}");
    for p in ["default", "strict"] {
        let (t, e) = (points[p].as_f64().unwrap(), points["empirical"][p].as_f64().unwrap());
        assert!(t > e, "the {p} threshold {t} lies above its empirical point {e} by the margin");
    }
    let t = d["threshold"].as_f64().unwrap();
    assert!(t >= strict - 1e-6 && (gauge("simkyc_duplicate_threshold") - t).abs() < 1e-6, "{d}");
    assert_eq!(d["target_held"], true, "the built-in calibration holds 1% at one template: {d}");
    assert!(d["expected_fpir"].as_f64().unwrap() <= 0.01 && gauge("simkyc_duplicate_target_held") == 1.0);
    let doc = h.call("GET", "/openapi.json", "clerk", None);
    assert_eq!(doc.json["openapi"], "3.0.3");
    let paths = doc.json["paths"].as_object().unwrap();
    for (method, path) in simkyc_server::app::ROUTES {
        assert!(paths.get(*path).and_then(|p| p.get(method.to_lowercase())).is_some(), "{method} {path} missing from openapi.json");
    }
    // Every listed route is served (no "no such endpoint", no 405).
    for (method, path) in simkyc_server::app::ROUTES {
        let p = path.replace("{id}", "0000").replace("{msisdn}", "+8613900000999");
        let a = h.call(method, &p, "admin", if *method == "GET" { None } else { Some(json!({})) });
        assert!(
            a.status != 405 && a.json["error"]["message"].as_str().is_none_or(|m| !m.starts_with("no such endpoint")),
            "{method} {path}: {a:?}"
        );
    }
    assert_eq!(
        paths.len(),
        simkyc_server::app::ROUTES.iter().map(|r| r.1).collect::<std::collections::BTreeSet<_>>().len(),
        "openapi.json documents a path the router lacks"
    );
}

impl Harness {
    fn set_capture_mode(&self, mode: &str) {
        let a = self.call("PUT", "/v1/admin/settings", "admin", Some(json!({ "capture_mode": mode })));
        assert_eq!(a.status, 200, "{:?}", a.json);
    }

    fn agent_get_text(&self, path: &str, who: &str) -> String {
        ureq::get(&format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.key(who)))
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    }
}

#[test]
fn passive_liveness_refuses_photos_of_photos_and_locks_the_device_out() {
    let Some(mut h) = Harness::sqlite() else { return };
    liveness_lockout(&mut h);
}

#[test]
fn liveness_lockout_postgres() {
    let Some(mut h) = Harness::postgres() else { return };
    liveness_lockout(&mut h);
}

fn liveness_lockout(h: &mut Harness) {
    h.set_capture_mode("passive");
    // lfw-dev images are press photographs: held up to a camera they are presentation attacks.
    for i in 0..5 {
        let (_, c) = h.register("clerk", &resident_id(80 + i), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
        assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("rejected"), vec!["liveness_failed".to_string()]), "{:?}", c.json);
        assert!(!c.json.to_string().contains("liveness\":"), "no raw liveness score for the customer: {}", c.json);
    }
    // Five failures within three minutes lock this device (key) out; another clerk is not affected.
    let s = h.start_registration("clerk", &resident_id(90), &h.photo("Hu_Jintao", 2));
    let locked = h.call(
        "POST",
        &format!("/v1/registrations/{}/capture", s.json["id"].as_str().unwrap()),
        "clerk",
        Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] })),
    );
    assert_eq!((locked.status, locked.code()), (429, "liveness_lockout"), "{:?}", locked.json);
    let (_, c) = h.register("clerk2", &resident_id(91), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(c.status, 200);
    // The lockout lives in the database: a restarted server (or a second one) still enforces it.
    h.restart();
    let s = h.start_registration("clerk", &resident_id(92), &h.photo("Hu_Jintao", 2));
    let locked = h.call(
        "POST",
        &format!("/v1/registrations/{}/capture", s.json["id"].as_str().unwrap()),
        "clerk",
        Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] })),
    );
    assert_eq!((locked.status, locked.code()), (429, "liveness_lockout"), "{:?}", locked.json);
    let wait: u64 =
        locked.json["error"]["message"].as_str().unwrap().rsplit("resume in ").next().unwrap().trim_end_matches(" s").parse().unwrap();
    assert!((1..=180).contains(&wait), "{wait}");
    // The failed attempt's frame is kept for review within the retention period.
    let row = h
        .rt
        .block_on(h.running.as_ref().unwrap().state.db.registrations_in_state("default", simkyc_workflow::RegistrationState::Rejected, 10))
        .unwrap();
    assert!(row.iter().all(|r| r.live_photo_enc.is_some()));
    // The retention task forgets failures once they are old; the device may capture again.
    let store = &h.running.as_ref().unwrap().state.db;
    assert!(h.rt.block_on(store.expire_liveness_failures(simkyc_db::now_ms() + 1)).unwrap() >= 5);
    let s = h.start_registration("clerk", &resident_id(93), &h.photo("Hu_Jintao", 2));
    let again = h.call(
        "POST",
        &format!("/v1/registrations/{}/capture", s.json["id"].as_str().unwrap()),
        "clerk",
        Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] })),
    );
    assert_eq!((again.status, again.json["decision"].as_str()), (200, Some("rejected")), "decided, not locked out: {:?}", again.json);
}

#[test]
fn a_store_can_override_the_operator_capture_mode() {
    let Some(h) = Harness::sqlite() else { return };
    let mode_of_new = |who: &str| {
        h.start_registration(who, &resident_id(95), &h.photo("Hu_Jintao", 2)).json["capture"]["mode"].as_str().map(str::to_string)
    };
    assert_eq!(mode_of_new("clerk").as_deref(), Some("off"), "the operator's mode");
    let set = h.call("PUT", "/v1/admin/stores/default/capture-mode", "admin", Some(json!({ "capture_mode": "active" })));
    assert_eq!(set.status, 200, "{:?}", set.json);
    assert_eq!(mode_of_new("clerk").as_deref(), Some("active"));
    assert_eq!(
        h.call("PUT", "/v1/admin/stores/default/capture-mode", "admin", Some(json!({ "capture_mode": "sometimes" }))).code(),
        "capture_mode_invalid"
    );
    assert_eq!(
        h.call("PUT", "/v1/admin/stores/other-store/capture-mode", "admin", Some(json!({ "capture_mode": "off" }))).status,
        404,
        "not this operator's store"
    );
    assert_eq!(h.call("PUT", "/v1/admin/stores/default/capture-mode", "clerk", Some(json!({ "capture_mode": "off" }))).status, 403);
    assert_eq!(h.call("PUT", "/v1/admin/stores/default/capture-mode", "admin", Some(json!({ "capture_mode": null }))).status, 200);
    assert_eq!(mode_of_new("clerk").as_deref(), Some("off"), "back to the operator's");
}

/// Reads one HTTP/1.1 response (head and `Content-Length` body) from a kept-alive connection.
fn read_response(s: &mut std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(head)
}

#[test]
fn a_reply_sent_before_the_body_arrives_says_the_connection_closes() {
    use std::io::Write;
    let Some(h) = Harness::sqlite() else { return };
    // The route refuses an auditor before it reads the body. A client that had not finished
    // sending must be told the connection closes; otherwise it reuses a dead socket.
    for (path, who) in [("/v1/sims/+8613900000999/terminate", "auditor"), ("/v1/registrations", "nobody")] {
        let mut s = std::net::TcpStream::connect(h.base.trim_start_matches("http://")).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let key = h.keys.get(who).cloned().unwrap_or_else(|| "sk_nobody_x".into());
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"
        )
        .unwrap();
        let head = read_response(&mut s).expect("a reply to the refused request");
        assert!(head.starts_with("http/1.1 4"), "{head}");
        let _ = s.write_all(b"{}");
        if head.contains("connection: close") {
            continue;
        }
        // Kept alive: the next request on this connection must be answered.
        let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        let next = read_response(&mut s);
        assert!(
            next.is_some_and(|n| n.starts_with("http/1.1 200")),
            "{path}: the server closed a connection it had not announced as closing ({head})"
        );
    }
    // Requests whose bodies were read (or that had none) keep the connection.
    let mut s = std::net::TcpStream::connect(h.base.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let body = json!({ "document": { "type": "cn_resident_id", "number": resident_id(7) } }).to_string();
    for _ in 0..2 {
        write!(s, "GET /v1/me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\r\n", h.key("clerk")).unwrap();
        let head = read_response(&mut s).expect("GET answered");
        assert!(head.starts_with("http/1.1 200") && !head.contains("connection: close"), "{head}");
        write!(s, "POST /v1/subscribers/lookup HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", h.key("clerk"), body.len()).unwrap();
        let head = read_response(&mut s).expect("POST answered");
        assert!(head.starts_with("http/1.1 200") && !head.contains("connection: close"), "{head}");
    }
}

#[test]
fn framing_feedback_names_what_to_fix_and_stores_nothing() {
    let Some(h) = Harness::sqlite() else { return };
    let good = h.call("POST", "/v1/quality", "clerk", Some(json!({ "frame": h.photo("Hu_Jintao", 4) })));
    assert_eq!((good.status, good.json["ok"].as_bool()), (200, Some(true)), "{:?}", good.json);
    assert!(good.json["face"]["inter_eye_px"].as_f64().unwrap() > 20.0, "{:?}", good.json);
    // A press photo passes framing: liveness is not judged here, only on the capture.
    assert!(!good.json.to_string().contains("liveness"), "{:?}", good.json);
    let mut grey = Vec::new();
    image_png(&mut grey);
    use base64::Engine;
    let empty = h.call("POST", "/v1/quality", "clerk", Some(json!({ "frame": base64::engine::general_purpose::STANDARD.encode(&grey) })));
    assert_eq!(empty.json["ok"].as_bool(), Some(false));
    assert_eq!(empty.json["reasons"][0]["code"], "live_no_face", "{:?}", empty.json);
    let bad = h.call("POST", "/v1/quality", "clerk", Some(json!({ "frame": "not base64!" })));
    assert_eq!(bad.status, 422, "{:?}", bad.json);
    assert_eq!(h.call("POST", "/v1/quality", "auditor", Some(json!({ "frame": h.photo("Hu_Jintao", 4) }))).status, 403);
    let audit = h.call("GET", "/v1/audit?limit=1000", "auditor", None);
    assert_eq!(audit.status, 200);
    assert!(!audit.json.to_string().contains("registration."), "framing checks create no registration: {:?}", audit.json);
}

/// Templates carry the model that made them: a template of another model (an enrolment from
/// before an engine upgrade) is never compared, and `reenrol` gives it new templates from its
/// retained photos, or marks it for a new capture when they are purged.
fn templates_of_another_model(mut h: Harness) {
    let state = h.running.as_ref().unwrap().state.clone();
    let model = state.face.engine.template_model().to_string();
    let (first, c) = h.register("clerk", &resident_id(40), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 2)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    assert_eq!(h.activate("clerk", &first, 40).status, 200);
    let row = h.rt.block_on(state.db.registration(&first, "default")).unwrap();
    assert_eq!(row.template_model.as_deref(), Some(model.as_str()));
    // A second enrolment whose photos are already purged, and both made "by the old engine".
    let (second, c) = h.register("clerk", &resident_id(41), ("Hu_Jintao", 2), &[("Hu_Jintao", 4)]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    assert_eq!(h.activate("clerk", &second, 41).status, 200);
    let old = "dlib-resnet-v1+adaptation-4a4e181b3089";
    h.rt.block_on(async {
        sqlx::query("UPDATE registrations SET template_model = $1 WHERE id = $2 OR id = $3")
            .bind(old)
            .bind(&first)
            .bind(&second)
            .execute(&state.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE registrations SET doc_photo_enc = NULL, live_photo_enc = NULL WHERE id = $1")
            .bind(&second)
            .execute(&state.db.pool)
            .await
            .unwrap();
    });
    // The upgrade: a server starts with the new engine and loads only its own model's templates.
    drop(state);
    h.restart();
    let state = h.running.as_ref().unwrap().state.clone();
    // The same face under another identity: the old-model template is not searched.
    let (_, c) = h.register("clerk", &resident_id(42), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!(c.json["decision"], "approved", "an old-model template was compared: {:?}", c.json);

    // A registration started before the upgrade and captured after it: its document template is
    // made again from the document photo instead of being compared across models.
    let s = h.start_registration("clerk", &resident_id(44), &h.photo("Hu_Jintao", 2));
    let sid = s.json["id"].as_str().unwrap().to_string();
    h.rt.block_on(
        sqlx::query("UPDATE registrations SET template_model = $1, doc_template_enc = NULL WHERE id = $2")
            .bind(old)
            .bind(&sid)
            .execute(&state.db.pool),
    )
    .unwrap();
    let c = h.call(
        "POST",
        &format!("/v1/registrations/{sid}/capture"),
        "clerk",
        Some(json!({ "nonce": s.json["capture"]["nonce"], "frames": [h.photo("Hu_Jintao", 4)] })),
    );
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    let row = h.rt.block_on(state.db.registration(&sid, "default")).unwrap();
    assert_eq!(row.template_model.as_deref(), Some(model.as_str()));
    assert!(row.doc_template_enc.is_some(), "the document template was made again");

    let vault = simkyc_server::vault::Vault::load(simkyc_server::app::key_source(&state.config)).unwrap();
    let run = |dry| h.rt.block_on(simkyc_server::reenrol::reenrol(&state.db, &vault, &state.face, "test", dry, |_, _| {})).unwrap();
    let dry = run(true);
    assert_eq!((dry.stale_by_model.get(old).copied(), dry.reenrollable, dry.without_photos, dry.reenrolled), (Some(2), 1, 1, 0));
    assert_eq!(
        h.rt.block_on(state.db.registration(&first, "default")).unwrap().template_model.as_deref(),
        Some(old),
        "a dry run changes nothing"
    );
    let done = run(false);
    assert_eq!((done.reenrolled, done.marked, done.no_face), (1, 1, 0), "{done:?}");
    let a = h.rt.block_on(state.db.registration(&first, "default")).unwrap();
    assert_eq!((a.template_model.as_deref(), a.recapture_needed.0), (Some(model.as_str()), false));
    let b = h.rt.block_on(state.db.registration(&second, "default")).unwrap();
    assert_eq!((b.template_model.as_deref(), b.recapture_needed.0), (Some(old), true));
    // A second run finds the marked one again but has nothing left to do.
    let again = run(false);
    assert_eq!((again.reenrolled, again.marked, again.without_photos), (0, 0, 1));
    // Re-enrolled, the first subscriber's face is found again under another identity.
    let (_, c) = h.register("clerk", &resident_id(43), ("Zhu_Rongji", 1), &[("Zhu_Rongji", 5)]);
    assert_eq!((c.json["decision"].as_str(), codes(&c)), (Some("review"), vec!["duplicate_face".to_string()]), "{:?}", c.json);
    let audit = h.call("GET", "/v1/audit?limit=1000", "auditor", None).json.to_string();
    assert!(audit.contains("registration.reenrolled") && audit.contains("registration.recapture_needed"));
    assert_eq!(h.call("GET", "/v1/audit/verify", "auditor", None).json["intact"], true);
}

#[test]
fn templates_of_another_model_sqlite() {
    let Some(h) = Harness::sqlite() else { return };
    templates_of_another_model(h);
}

#[test]
fn templates_of_another_model_postgres() {
    let Some(h) = Harness::postgres() else { return };
    templates_of_another_model(h);
}
