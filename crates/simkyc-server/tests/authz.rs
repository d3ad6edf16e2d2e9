//! The authorisation matrix, generated from `openapi.json`: every operation of the API document
//! against every role of the own operator and of another operator, and without a key, with a
//! malformed key and with a revoked key, each with its expected status. The expectations are
//! written here, independently of the server's role table; an operation in the document without
//! a row here (or a row without an operation) fails the test.

mod harness;

use harness::{resident_id, Harness};
use serde_json::{json, Value};

/// Who may call an operation.
#[derive(Clone, Copy, Debug)]
enum Access {
    /// No key needed.
    Public,
    /// Any valid key.
    AnyRole,
    /// Only these roles.
    Roles(&'static [&'static str]),
}

use Access::*;

/// One row per operation of openapi.json: (method, path template, who may call it).
const MATRIX: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Public),
    ("GET", "/", Public),
    ("GET", "/console/{file}", Public),
    ("GET", "/openapi.json", AnyRole),
    ("GET", "/metrics", AnyRole),
    ("GET", "/v1/me", AnyRole),
    ("POST", "/v1/quality", Roles(&["clerk"])),
    ("POST", "/v1/documents/read", Roles(&["clerk"])),
    ("POST", "/v1/registrations", Roles(&["clerk"])),
    ("GET", "/v1/registrations/{id}", Roles(&["clerk", "reviewer", "auditor", "admin"])),
    ("POST", "/v1/registrations/{id}/capture", Roles(&["clerk"])),
    ("POST", "/v1/registrations/{id}/activate", Roles(&["clerk"])),
    ("POST", "/v1/registrations/{id}/cancel", Roles(&["clerk"])),
    ("GET", "/v1/reviews", Roles(&["reviewer"])),
    ("GET", "/v1/reviews/{id}", Roles(&["reviewer"])),
    ("POST", "/v1/reviews/{id}/decision", Roles(&["reviewer"])),
    ("POST", "/v1/sims/{msisdn}/terminate", Roles(&["clerk"])),
    ("POST", "/v1/subscribers/lookup", Roles(&["clerk"])),
    ("GET", "/v1/audit", Roles(&["auditor", "admin"])),
    ("GET", "/v1/audit/verify", Roles(&["auditor", "admin"])),
    ("GET", "/v1/admin/keys", Roles(&["admin"])),
    ("POST", "/v1/admin/keys", Roles(&["admin"])),
    ("POST", "/v1/admin/keys/{id}/revoke", Roles(&["admin"])),
    ("GET", "/v1/admin/settings", Roles(&["admin"])),
    ("PUT", "/v1/admin/settings", Roles(&["admin"])),
    ("PUT", "/v1/admin/stores/{id}/capture-mode", Roles(&["admin"])),
];

/// Operations that name one of the own operator's records: another operator is told "not found".
fn names_own_record(path: &str) -> bool {
    path.starts_with("/v1/registrations/{id}") || path.starts_with("/v1/reviews/{id}") || path == "/v1/admin/stores/{id}/capture-mode"
}

fn operations() -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(simkyc_server::routes::ops::OPENAPI).expect("openapi.json parses");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_operation_has_a_row_and_every_row_an_operation() {
    let ops = operations();
    for (m, p) in &ops {
        assert!(
            MATRIX.iter().any(|(mm, pp, _)| mm == m && pp == p),
            "{m} {p} is in openapi.json but has no row in the authorisation matrix"
        );
    }
    for (m, p, _) in MATRIX {
        assert!(ops.iter().any(|(mm, pp)| mm == m && pp == p), "{m} {p} has a row but is not in openapi.json");
    }
}

#[test]
fn every_operation_against_every_principal() {
    let Some(h) = Harness::sqlite_with(|c| {
        // Hundreds of requests from one address in a second: the limits have their own tests.
        c.rate_limit_per_key = 0;
        c.rate_limit_per_address = 0;
    }) else {
        return;
    };
    // One registration of each operator to name in paths.
    let own = h.start_registration("clerk", &resident_id(901), &h.photo("Hu_Jintao", 1));
    assert_eq!(own.status, 201, "{:?}", own.json);
    let own_id = own.json["id"].as_str().unwrap().to_string();
    // A revoked key of the own operator.
    let made = h.call("POST", "/v1/admin/keys", "admin", Some(json!({ "role": "clerk", "label": "to revoke" })));
    assert_eq!(made.status, 201, "{:?}", made.json);
    let revoked_key = made.json["key"].as_str().unwrap().to_string();
    let revoked = h.call("POST", &format!("/v1/admin/keys/{}/revoke", made.json["id"].as_str().unwrap()), "admin", None);
    assert_eq!(revoked.status, 200);

    let principals: Vec<(&str, Option<&str>, bool)> = vec![
        // (name, role, own operator)
        ("clerk", Some("clerk"), true),
        ("reviewer", Some("reviewer"), true),
        ("auditor", Some("auditor"), true),
        ("admin", Some("admin"), true),
        ("other-clerk", Some("clerk"), false),
        ("other-reviewer", Some("reviewer"), false),
        ("other-auditor", Some("auditor"), false),
    ];
    let mut rows = 0;
    let mut failures = Vec::new();
    for (method, template, access) in MATRIX {
        let path = template
            .replace(
                "{id}",
                if template.starts_with("/v1/admin/keys") {
                    "no-such-key"
                } else if template.starts_with("/v1/admin/stores") {
                    "default"
                } else {
                    &own_id
                },
            )
            .replace("{msisdn}", "+8613900000000")
            .replace("{file}", "app.js");
        // Bodies that fit the schema, so a refusal is about who asks, not what was sent.
        let body: Vec<u8> = match *template {
            _ if *method == "GET" => Vec::new(),
            "/v1/registrations/{id}/capture" => json!({ "nonce": "n", "frames": ["AAAA"] }).to_string().into_bytes(),
            "/v1/registrations/{id}/activate" => {
                json!({ "msisdn": "+8613900000001", "iccid": "89860012345678901238", "imsi": "460001234567890" }).to_string().into_bytes()
            }
            "/v1/reviews/{id}/decision" => json!({ "decision": "approve", "comment": "matrix" }).to_string().into_bytes(),
            _ => b"{}".to_vec(),
        };
        let body = body.as_slice();
        let content_type = if body.is_empty() { "" } else { "application/json" };
        let mut check = |who: &str, key: Option<&str>, expect: &dyn Fn(u16) -> bool, what: &str| {
            let a = h.raw(method, &path, key, content_type, body, &[]);
            rows += 1;
            if !expect(a.status) {
                failures.push(format!("{method} {template} as {who}: got {} ({}), expected {what}", a.status, a.code()));
            }
        };
        let public = matches!(access, Public);
        // Without a key, with a malformed key, with a revoked key.
        for (who, key) in [("no key", None), ("malformed key", Some("sk_nonsense")), ("revoked key", Some(revoked_key.as_str()))] {
            if public {
                check(who, key, &|s| s == 200, "200");
            } else {
                check(who, key, &|s| s == 401, "401");
            }
        }
        for (name, role, own_operator) in &principals {
            let allowed = match access {
                Public | AnyRole => true,
                Roles(r) => role.is_some_and(|role| r.contains(&role)),
            };
            let key = Some(h.key(name));
            if !allowed {
                check(name, key, &|s| s == 403, "403");
            } else if !own_operator && names_own_record(template) {
                check(name, key, &|s| s == 404, "404 (another operator's record)");
            } else {
                check(name, key, &|s| s != 401 && s != 403 && s < 500, "allowed (not 401/403/5xx)");
            }
        }
    }
    assert!(failures.is_empty(), "{} of {rows} checks failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("authorisation matrix: {} operations × 10 principals = {rows} checks passed", MATRIX.len());
}
