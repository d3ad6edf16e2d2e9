//! Backup and restore on real servers: a SQLite backup taken while registrations are being
//! written (`VACUUM INTO`), and PostgreSQL's `pg_dump`/`pg_restore` procedure from
//! docs/operations.md. After a restore the audit chain verifies and a subscriber lookup returns
//! the numbers held when the backup was taken, not the changes made after it.

mod harness;

use std::path::Path;
use std::process::Command;

use harness::{resident_id, Harness};
use serde_json::{json, Value};

/// Registers `doc` for a person (document photo, live photo) and activates SIM `n`.
fn enrol(h: &Harness, doc: &str, person: ((&str, u32), (&str, u32)), n: u32) {
    let (id, c) = h.register("clerk", doc, person.0, &[person.1]);
    assert_eq!(c.json["decision"], "approved", "{:?}", c.json);
    let a = h.activate("clerk", &id, n);
    assert_eq!(a.status, 200, "{:?}", a.json);
}

fn lookup(h: &Harness, doc: &str) -> Value {
    let l = h.call("POST", "/v1/subscribers/lookup", "clerk", Some(json!({ "document": { "type": "cn_resident_id", "number": doc } })));
    assert_eq!(l.status, 200, "{:?}", l.json);
    l.json
}

/// Two SIMs for document A, then the backup taken while document B registers, then a change to
/// A after the backup. Returns (A, A's lookup at backup time).
fn populate_and_back_up(h: &Harness, back_up: impl FnOnce()) -> (String, Value) {
    let a = resident_id(901);
    let hu = (("Hu_Jintao", 2), ("Hu_Jintao", 4));
    enrol(h, &a, hu, 901);
    enrol(h, &a, hu, 902);
    let at_backup = lookup(h, &a);
    assert_eq!(at_backup["active"], 2, "{at_backup}");
    std::thread::scope(|s| {
        let writer = s.spawn(|| enrol(h, &resident_id(902), (("Zhu_Rongji", 1), ("Zhu_Rongji", 2)), 903));
        back_up();
        writer.join().expect("the concurrent registration");
    });
    let t = h.call("POST", "/v1/sims/+8613900000902/terminate", "clerk", None);
    assert_eq!(t.status, 200, "{:?}", t.json);
    assert_eq!(lookup(h, &a)["active"], 1);
    (a, at_backup)
}

/// Stops the server, runs `swap` (which returns the database URL to start on), starts again.
fn restart_on(h: &mut Harness, swap: impl FnOnce(&Harness, &simkyc_server::Config) -> String) {
    let running = h.running.take().expect("a running server");
    let mut config = running.state.config.clone();
    let face = running.state.face.clone();
    h.rt.block_on(async {
        let db = running.state.db.clone();
        running.shutdown().await;
        db.close().await;
    });
    config.database_url = Some(swap(h, &config));
    let next = h.rt.block_on(async {
        let state = simkyc_server::build_state_with(config, face).await.expect("rebuilding the server state");
        simkyc_server::start(state).await.expect("restarting the server")
    });
    h.base = format!("http://{}", next.addr);
    h.running = Some(next);
}

fn check_restored(h: &Harness, a: &str, at_backup: &Value) {
    let v = h.call("GET", "/v1/audit/verify", "auditor", None);
    assert_eq!(v.json["intact"], true, "{:?}", v.json);
    let now = lookup(h, a);
    assert_eq!(now["active"], at_backup["active"], "restored {now}, at backup {at_backup}");
    let numbers = |l: &Value| {
        let mut v: Vec<(String, String)> = l["sims"]
            .as_array()
            .expect("sims")
            .iter()
            .map(|s| (s["msisdn"].as_str().unwrap_or("").to_string(), s["status"].as_str().unwrap_or("").to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(numbers(&now), numbers(at_backup));
}

#[test]
fn sqlite_backup_while_serving_then_restore() {
    let Some(mut h) = Harness::sqlite() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("simkyc-backup.db");
    let db = h.running.as_ref().expect("running").state.db.clone();
    let (a, at_backup) = populate_and_back_up(&h, || {
        let r = h.rt.block_on(db.backup_to(&file, "test")).expect("an online backup");
        assert!(r.registrations >= 2 && r.audit_events > 0, "{r:?}");
    });
    // Sealed data stays sealed: neither the holder's name nor a photo's JPEG header is in clear.
    let bytes = std::fs::read(&file).expect("the backup");
    assert!(!bytes.windows("测试".len()).any(|w| w == "测试".as_bytes()), "the name is in clear in the backup");
    assert!(!bytes.windows(4).any(|w| w == [0xFF, 0xD8, 0xFF, 0xE0]), "a JPEG is in clear in the backup");
    // A second backup to the same file is refused rather than overwriting it.
    assert!(h.rt.block_on(db.backup_to(&file, "test")).is_err());

    restart_on(&mut h, |h, config| {
        let url = config.database_url();
        let path = simkyc_db::backup::sqlite_path(&url).expect("a SQLite file");
        let r = h.rt.block_on(simkyc_db::backup::restore_sqlite(&file, &path, "test")).expect("a restore");
        assert!(r.previous.as_deref().is_some_and(Path::exists), "the replaced database is kept: {r:?}");
        url
    });
    check_restored(&h, &a, &at_backup);
}

#[test]
fn sqlite_restore_refuses_a_damaged_backup_and_keeps_the_database() {
    let Some(h) = Harness::sqlite() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = h.running.as_ref().expect("running").state.db.clone();
    let url = h.running.as_ref().expect("running").state.config.database_url();
    let file = dir.path().join("b.db");
    h.rt.block_on(db.backup_to(&file, "test")).expect("a backup");
    let mut bytes = std::fs::read(&file).expect("the backup");
    let mid = bytes.len() / 2;
    bytes[mid..mid + 512].fill(0x5A);
    let damaged = dir.path().join("damaged.db");
    std::fs::write(&damaged, &bytes).expect("writing");
    let target = dir.path().join("target.db");
    std::fs::copy(simkyc_db::backup::sqlite_path(&url).expect("a file"), &target).expect("copying");
    let before = std::fs::read(&target).expect("target");
    let e = h.rt.block_on(simkyc_db::backup::restore_sqlite(&damaged, &target, "test")).expect_err("a damaged backup is refused");
    assert!(e.to_string().contains("backup"), "{e}");
    assert_eq!(std::fs::read(&target).expect("target"), before, "the database is untouched");
    let e = h.rt.block_on(simkyc_db::backup::restore_sqlite(&dir.path().join("missing.db"), &target, "test")).expect_err("no file");
    assert!(e.to_string().contains("missing.db"), "{e}");
}

/// Runs a PostgreSQL client tool, failing the test with its output.
fn pg_tool(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn postgres_pg_dump_and_pg_restore_procedure() {
    if Command::new("pg_dump").arg("--version").output().is_err() {
        assert!(std::env::var("SIMKYC_REQUIRE_POSTGRES").as_deref() != Ok("1"), "pg_dump is not installed");
        eprintln!("skipped: pg_dump is not installed");
        return;
    }
    let Some(mut h) = Harness::postgres() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let dump = dir.path().join("simkyc.dump");
    let url = h.running.as_ref().expect("running").state.config.database_url();
    let dump_arg = dump.to_str().expect("UTF-8 path").to_string();
    // docs/operations.md: pg_dump --format=custom while the servers run (one snapshot).
    let (a, at_backup) = populate_and_back_up(&h, || pg_tool("pg_dump", &["--format=custom", "--file", &dump_arg, &url]));
    // Restore into a new database and point the server at it.
    let restored_db = format!("{}_restored", url.rsplit('/').next().expect("a database name"));
    let (base, _) = url.rsplit_once('/').expect("URL ends with /DBNAME");
    let restored_url = format!("{base}/{restored_db}");
    h.rt.block_on(async {
        let pool = sqlx::AnyPool::connect(&url).await.expect("connecting");
        sqlx::query(&format!("CREATE DATABASE {restored_db}")).execute(&pool).await.expect("creating the restore target");
        pool.close().await;
    });
    pg_tool("pg_restore", &["--no-owner", "--exit-on-error", "--dbname", &restored_url, &dump_arg]);
    restart_on(&mut h, |_, _| restored_url.clone());
    check_restored(&h, &a, &at_backup);
    // The harness drops its own database; drop the restored one here.
    let running = h.running.take().expect("running");
    h.rt.block_on(async {
        let db = running.state.db.clone();
        running.shutdown().await;
        db.close().await;
        let pool = sqlx::AnyPool::connect(&url).await.expect("connecting");
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {restored_db} WITH (FORCE)")).execute(&pool).await;
        pool.close().await;
    });
}
