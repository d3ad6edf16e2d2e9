//! Test harness: a real server on a free loopback port, over a fresh SQLite file or a fresh
//! PostgreSQL database, with the real face models and staff keys of every role; requests go
//! over real HTTP. Tests skip (with a message) when models, data or PostgreSQL are absent,
//! unless SIMKYC_REQUIRE_MODELS / SIMKYC_REQUIRE_DATA / SIMKYC_REQUIRE_POSTGRES is 1.

#![allow(dead_code)]

use simkyc_verify::LiveFlip;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use base64::Engine;
use serde_json::Value;
use simkyc_server::face::FaceStack;
use simkyc_server::{Config, Running};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

/// `../shared/data` (or $SIMKYC_SHARED_DATA), if present.
pub fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("SIMKYC_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data"));
    if d.join("lfw-dev/images").is_dir() {
        return Some(d);
    }
    assert!(!required("SIMKYC_REQUIRE_DATA"), "shared data not found at {} and SIMKYC_REQUIRE_DATA=1", d.display());
    eprintln!("SKIPPED: shared development data not found at {} (set SIMKYC_SHARED_DATA)", d.display());
    None
}

/// The face stack shared by the tests (loaded once), if the models are installed.
pub fn face() -> Option<Arc<FaceStack>> {
    face_with(LiveFlip::Always)
}

/// The shared face stack with live frames embedded as `live_flip` says (each setting loaded
/// once), if the models are installed.
pub fn face_with(live_flip: LiveFlip) -> Option<Arc<FaceStack>> {
    static FACE: [OnceLock<Option<Arc<FaceStack>>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match live_flip {
        LiveFlip::Always => 0,
        LiveFlip::Never => 1,
        LiveFlip::NearThreshold => 2,
    };
    FACE[slot]
        .get_or_init(|| {
            let dir = simkyc_models::cache::default_models_dir();
            if !dir.join(simkyc_models::manifest::MANIFEST_FILE).is_file() {
                assert!(!required("SIMKYC_REQUIRE_MODELS"), "models not installed in {} and SIMKYC_REQUIRE_MODELS=1", dir.display());
                eprintln!("SKIPPED: models not installed in {} (run `simkyc models fetch`)", dir.display());
                return None;
            }
            let c = Config::default();
            // The service's default: onnxruntime where `models fetch` installed it, tract otherwise.
            let runtime = simkyc_face::runtime::Runtime::for_models_dir(c.runtime, &dir, c.runtime_threads).expect("inference runtime");
            Some(Arc::new(
                FaceStack::load(&dir, None, c.max_image_bytes, c.max_image_side, 2, &runtime, live_flip).expect("loading the face stack"),
            ))
        })
        .clone()
}

/// The PostgreSQL server URL for tests (a database is created per test), if configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("SIMKYC_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(!required("SIMKYC_REQUIRE_POSTGRES"), "SIMKYC_TEST_POSTGRES_URL is not set and SIMKYC_REQUIRE_POSTGRES=1");
            eprintln!(
                "SKIPPED: PostgreSQL test (set SIMKYC_TEST_POSTGRES_URL=postgres://USER:PASS@HOST/DB of a role that may create databases)"
            );
            None
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Body as JSON (Null when not JSON).
    pub json: Value,
    /// Whether it was an idempotent replay.
    pub replayed: bool,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

/// A running server and keys for it.
pub struct Harness {
    /// Runtime the server runs on.
    pub rt: tokio::runtime::Runtime,
    /// The server.
    pub running: Option<Running>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Keys by name: clerk, reviewer, auditor, admin (operator `default`), other-clerk,
    /// other-reviewer, other-auditor (operator `other`).
    pub keys: HashMap<&'static str, String>,
    /// Shared development data.
    pub data: PathBuf,
    _dir: tempfile::TempDir,
    agent: ureq::Agent,
    pg_cleanup: Option<(String, String)>,
}

impl Harness {
    /// A server over a fresh SQLite file.
    pub fn sqlite() -> Option<Harness> {
        Self::start(None, |_| {})
    }

    /// A server over a fresh SQLite file with a changed configuration.
    pub fn sqlite_with(change: impl FnOnce(&mut Config)) -> Option<Harness> {
        Self::start(None, change)
    }

    /// A server over a fresh PostgreSQL database.
    pub fn postgres() -> Option<Harness> {
        let url = postgres_url()?;
        Self::start(Some(url), |_| {})
    }

    fn start(pg: Option<String>, change: impl FnOnce(&mut Config)) -> Option<Harness> {
        let data = data_dir()?;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The workflow tests use lfw-dev press photos as "live" frames; passive liveness rightly
        // refuses such photos of photos, so the default operator runs with capture mode `off`
        // and the tests of passive checks switch it to `passive` (PUT /v1/admin/settings).
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".into(),
            capture_mode: simkyc_workflow::CaptureMode::Off,
            ..Config::default()
        };
        config.vault_keys_file = Some(dir.path().join("vault.keys"));
        change(&mut config);
        let face = face_with(config.live_flip)?;
        let mut pg_cleanup = None;
        if let Some(base) = pg {
            let db = format!("simkyc_test_{}", simkyc_server::auth::new_id());
            rt.block_on(async {
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(&base).await.expect("connecting to the PostgreSQL test server");
                sqlx::query(&format!("CREATE DATABASE {db}")).execute(&pool).await.expect("creating a test database");
                pool.close().await;
            });
            let (prefix, _) = base.rsplit_once('/').expect("database URL ends with /DBNAME");
            config.database_url = Some(format!("{prefix}/{db}"));
            pg_cleanup = Some((base, db));
        }
        let (running, keys) = rt.block_on(async {
            let state = simkyc_server::build_state_with(config, face).await.expect("building the server state");
            let store = state.db.clone();
            let mut w = store.write().await.unwrap();
            w.create_operator("test", "other", "Other operator", 5, simkyc_workflow::CaptureMode::Off).await.unwrap();
            w.create_store("test", "other", "other-store", "Other store").await.unwrap();
            let mut keys = HashMap::new();
            for (name, role, st) in [
                ("clerk", "clerk", "default"),
                ("clerk2", "clerk", "default"),
                ("reviewer", "reviewer", "default"),
                ("auditor", "auditor", "default"),
                ("admin", "admin", "default"),
                ("other-clerk", "clerk", "other-store"),
                ("other-reviewer", "reviewer", "other-store"),
                ("other-auditor", "auditor", "other-store"),
            ] {
                let k = simkyc_server::auth::generate_key().unwrap();
                w.create_api_key("test", &k.id, &k.hash, role, st, name).await.unwrap();
                keys.insert(name, k.token);
            }
            w.commit().await.unwrap();
            (simkyc_server::start(state).await.expect("starting the server"), keys)
        });
        let base = format!("http://{}", running.addr);
        let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(120)).build();
        Some(Harness { rt, running: Some(running), base, keys, data, _dir: dir, agent, pg_cleanup })
    }

    /// Stops the server and starts a new one on the same database and configuration (as after
    /// a restart, or as a second server sharing the database).
    pub fn restart(&mut self) {
        let running = self.running.take().expect("a running server");
        let config = running.state.config.clone();
        let face = running.state.face.clone();
        let next = self.rt.block_on(async {
            let store = running.state.db.clone();
            running.shutdown().await;
            store.close().await;
            let state = simkyc_server::build_state_with(config, face).await.expect("rebuilding the server state");
            simkyc_server::start(state).await.expect("restarting the server")
        });
        self.base = format!("http://{}", next.addr);
        self.running = Some(next);
    }

    /// Key of a named principal.
    pub fn key(&self, name: &str) -> &str {
        &self.keys[name]
    }

    /// Sends a request with a raw body and content type.
    pub fn raw(&self, method: &str, path: &str, key: Option<&str>, content_type: &str, body: &[u8], headers: &[(&str, &str)]) -> Answer {
        self.raw_at(&self.base, method, path, key, content_type, body, headers)
    }

    /// Sends a request to a given server (`http://HOST:PORT`), e.g. a second one on the same
    /// database.
    #[allow(clippy::too_many_arguments)]
    pub fn raw_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.agent.request(method, &format!("{base}{path}"));
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        if !content_type.is_empty() {
            req = req.set("Content-Type", content_type);
        }
        for (h, v) in headers {
            req = req.set(h, v);
        }
        let resp = match if body.is_empty() && method == "GET" { req.call() } else { req.send_bytes(body) } {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: transport error {e}"),
        };
        let status = resp.status();
        let replayed = resp.header("idempotent-replayed") == Some("true");
        let text = resp.into_string().unwrap_or_default();
        Answer { status, json: serde_json::from_str(&text).unwrap_or(Value::Null), replayed }
    }

    /// Sends JSON as a named principal.
    pub fn call(&self, method: &str, path: &str, who: &str, body: Option<Value>) -> Answer {
        self.call_with(method, path, who, body, &[])
    }

    /// Sends JSON with extra headers.
    pub fn call_with(&self, method: &str, path: &str, who: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        self.call_at(&self.base, method, path, who, body, headers)
    }

    /// Sends JSON with extra headers to a given server.
    pub fn call_at(&self, base: &str, method: &str, path: &str, who: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.raw_at(base, method, path, Some(self.key(who)), if bytes.is_empty() { "" } else { "application/json" }, &bytes, headers)
    }

    /// An LFW development image as base64.
    pub fn photo(&self, name: &str, i: u32) -> String {
        let p = self.data.join(format!("lfw-dev/images/{name}/{name}_{i:04}.jpg"));
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
    }

    /// Starts a registration for a resident ID; returns the answer.
    pub fn start_registration(&self, who: &str, id_number: &str, photo: &str) -> Answer {
        let body = serde_json::json!({
            "document": { "type": "cn_resident_id", "number": id_number, "name": "测试", "expiry": "2040-01-01" },
            "document_photo": photo,
        });
        self.call("POST", "/v1/registrations", who, Some(body))
    }

    /// Starts and captures; returns (registration id, capture answer).
    pub fn register(&self, who: &str, id_number: &str, doc: (&str, u32), live: &[(&str, u32)]) -> (String, Answer) {
        let s = self.start_registration(who, id_number, &self.photo(doc.0, doc.1));
        assert_eq!(s.status, 201, "start: {:?}", s.json);
        let id = s.json["id"].as_str().unwrap().to_string();
        let frames: Vec<String> = live.iter().map(|(n, i)| self.photo(n, *i)).collect();
        let c = self.call(
            "POST",
            &format!("/v1/registrations/{id}/capture"),
            who,
            Some(serde_json::json!({ "nonce": s.json["capture"]["nonce"], "frames": frames })),
        );
        (id, c)
    }

    /// Activates a SIM numbered `n` on a registration.
    pub fn activate(&self, who: &str, id: &str, n: u32) -> Answer {
        self.call("POST", &format!("/v1/registrations/{id}/activate"), who, Some(sim(n)))
    }
}

/// A valid resident ID number (GB 11643-1999) with a given sequence number.
pub fn resident_id(seq: u32) -> String {
    let first17 = format!("110105199001{:02}{:03}", 1 + seq / 1000 % 28, seq % 1000);
    let arr: [u8; 17] = first17.as_bytes().try_into().unwrap();
    format!("{first17}{}", simkyc_docs::cn_id::check_char(&arr).expect("17 digits"))
}

/// A valid SIM (MSISDN, Luhn-checked ICCID, IMSI) numbered `n`.
pub fn sim(n: u32) -> Value {
    let body = format!("8986001{:012}", n);
    let check = (0..10).find(|d| simkyc_sim::luhn_ok(&format!("{body}{d}"))).unwrap();
    serde_json::json!({ "msisdn": format!("+86139{:08}", n), "iccid": format!("{body}{check}"), "imsi": format!("46000{:010}", n) })
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let store = r.state.db.clone();
            self.rt.block_on(async {
                r.shutdown().await;
                store.close().await;
            });
        }
        if let Some((base, db)) = self.pg_cleanup.take() {
            self.rt.block_on(async {
                if let Ok(pool) = sqlx::AnyPool::connect(&base).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&pool).await;
                    pool.close().await;
                }
            });
        }
    }
}
