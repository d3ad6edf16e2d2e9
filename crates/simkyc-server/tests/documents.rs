//! Reading the identity document from photos through the API: `POST /v1/documents/read` on
//! synthetic card photos (simkyc-cardgen, portraits from casia-dev), and the start of a
//! registration comparing a scan with the typed data (`document_data_mismatch` for review).

mod harness;

use base64::Engine;
use harness::Harness;
use serde_json::{json, Value};
use simkyc_cardgen::{Generator, Sample, DEFAULT_FONT};

fn samples(h: &Harness) -> Option<(Sample, Sample)> {
    if !std::path::Path::new(DEFAULT_FONT).is_file() {
        assert!(std::env::var("SIMKYC_REQUIRE_MODELS").as_deref() != Ok("1"), "{DEFAULT_FONT} missing (Debian fonts-wqy-zenhei)");
        eprintln!("SKIPPED: no CJK font at {DEFAULT_FONT} to draw synthetic cards");
        return None;
    }
    let faces = vec!["casia-dev/images/c201/c201_0001.jpg".to_string()];
    let g = Generator::new(DEFAULT_FONT, Some(h.data.clone()), faces, 20261202, 2026).expect("generator");
    // Even samples are fronts, odd ones backs of the same seed's identity stream.
    let front = (0..40)
        .step_by(2)
        .map(|i| g.sample(i).expect("front"))
        .find(|s| s.truth.distortions.light > 0.8 && s.truth.distortions.glare == 0.0)?;
    let back = g.sample(front.truth.index + 1).expect("back");
    Some((front, back))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_card_photo_fills_the_form_and_checks_its_number() {
    let Some(h) = Harness::sqlite() else { return };
    let Some((front, back)) = samples(&h) else { return };
    let id = &front.truth.identity;
    let r = h.call("POST", "/v1/documents/read", "clerk", Some(json!({ "front": b64(&front.jpeg) })));
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["type"], "cn_resident_id_card");
    let f = &r.json["card"]["front"];
    assert_eq!(f["id_number"]["value"], id.id_number.as_str(), "{:?}", r.json);
    assert_eq!(f["id_number"]["valid"], true);
    assert_eq!(f["name"]["value"], id.name.as_str());
    assert_eq!(f["birth_date"]["value"], id.birth_date.as_str());
    assert!(f["name"]["confidence"].as_f64().unwrap() > 0.5);
    assert_eq!(r.json["prefill"]["number"], id.id_number.as_str());
    assert_eq!(r.json["portrait"]["reference"], "printed");
    assert!(!r.json["portrait"]["image"].as_str().unwrap_or("").is_empty());
    // The back gives the expiry; the number itself is untouched by the back.
    let r = h.call("POST", "/v1/documents/read", "clerk", Some(json!({ "front": b64(&front.jpeg), "back": b64(&back.jpeg) })));
    assert_eq!(r.status, 200, "{:?}", r.json);
    let until = back.truth.identity.validity.split_once('-').unwrap().1.replace('.', "-");
    assert_eq!(r.json["prefill"]["expiry"], until.as_str(), "{:?}", r.json["back"]);
    // Bad input is a clear error; roles are enforced; nothing is stored (no registration).
    let bad = h.call("POST", "/v1/documents/read", "clerk", Some(json!({ "front": b64(b"not an image") })));
    assert_eq!((bad.status, bad.code()), (422, "image_invalid"), "{:?}", bad.json);
    let missing = h.call("POST", "/v1/documents/read", "clerk", Some(json!({ "back": b64(&back.jpeg) })));
    assert_eq!(missing.status, 422, "{:?}", missing.json);
    assert_eq!(h.call("POST", "/v1/documents/read", "auditor", Some(json!({ "front": b64(&front.jpeg) }))).status, 403);
    let audit = h.call("GET", "/v1/audit", "auditor", None);
    assert!(!audit.json.to_string().contains("registration.created"), "a read must not create anything");
}

#[test]
fn a_scan_disagreeing_with_the_typed_data_sends_the_registration_to_review() {
    let Some(h) = Harness::sqlite() else { return };
    let Some((front, _)) = samples(&h) else { return };
    let id = &front.truth.identity;
    let start = |name: &str| -> Value {
        let body = json!({
            "document": { "type": "cn_resident_id", "number": id.id_number, "name": name, "expiry": "2040-01-01" },
            "document_scan": { "front": b64(&front.jpeg) },
        });
        let r = h.call("POST", "/v1/registrations", "clerk", Some(body));
        assert_eq!(r.status, 201, "{:?}", r.json);
        r.json
    };
    // Agreeing data: no reason, and the printed portrait serves as the document photo, marked so.
    let ok = start(&id.name);
    assert_eq!(ok["reasons"], json!([]), "{ok:?}");
    assert_eq!(ok["document_photo"]["source"], "printed");
    // A typo in the name: the registration goes on, carrying the reason to its decision.
    let typo = start(&format!("{}某", id.name));
    assert_eq!(typo["reasons"][0]["code"], "document_data_mismatch", "{typo:?}");
    assert_eq!(typo["reasons"][0]["severity"], "review");
    let got = h.call("GET", &format!("/v1/registrations/{}", typo["id"].as_str().unwrap()), "clerk", None);
    assert_eq!(got.json["reasons"][0]["code"], "document_data_mismatch", "{:?}", got.json);
}
