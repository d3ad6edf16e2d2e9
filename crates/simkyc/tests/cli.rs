//! The `simkyc` binary end to end: compare and eval on real faces from the shared data, and clear
//! errors (non-zero exit, readable message, no panic) on bad input.

use std::path::PathBuf;
use std::process::Command;

fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("SIMKYC_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if d.join("lfw-dev").is_dir() {
        return Some(d);
    }
    if std::env::var("SIMKYC_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("shared data not found at {}", d.display());
    }
    eprintln!("SKIPPED: shared development data not found at {}", d.display());
    None
}

fn models_installed() -> bool {
    let ok = simkyc_models::cache::default_models_dir().join("manifest.toml").is_file();
    if !ok {
        if std::env::var("SIMKYC_REQUIRE_MODELS").as_deref() == Ok("1") {
            panic!("models not installed; run `simkyc models fetch`");
        }
        eprintln!("SKIPPED: models not installed (run `simkyc models fetch`)");
    }
    ok
}

fn simkyc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_simkyc"))
}

fn last_json(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().expect("some output");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

#[test]
fn compare_json_reports_score_decision_boxes_and_timings() {
    let Some(d) = data_dir() else { return };
    if !models_installed() {
        return;
    }
    let img = |n: &str, i: u32| d.join(format!("lfw-dev/images/{n}/{n}_{i:04}.jpg"));
    let out = simkyc().args(["compare", "--json"]).arg(img("Ai_Sugiyama", 1)).arg(img("Ai_Sugiyama", 1)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = last_json(&out.stdout);
    assert!(j["score"].as_f64().unwrap() > 0.999, "{j}");
    assert_eq!(j["decision"], "match");
    assert!(j["threshold"].as_f64().unwrap() > 0.0);
    assert_eq!(j["document"]["face_count"], 1);
    assert!(j["document"]["faces"][0]["left"].is_number());
    for stage in ["decode", "detect", "landmarks", "align", "embed", "total"] {
        assert!(j["timings_ms"][stage].as_f64().unwrap() >= 0.0, "missing timing {stage}");
    }

    // Different people, two live photos fused into one template.
    let out = simkyc().args(["compare", "--json"]).arg(img("Ai_Sugiyama", 1)).arg(img("Chen_Shui-bian", 1)).arg(img("Chen_Shui-bian", 2)).output().unwrap();
    let j = last_json(&out.stdout);
    assert_eq!(j["decision"], "no_match", "{j}");
    assert_eq!(j["live_frames_used"], 2);
}

#[test]
fn compare_refuses_a_non_image_with_a_clear_error() {
    let Some(d) = data_dir() else { return };
    if !models_installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bogus = tmp.path().join("id.jpg");
    std::fs::write(&bogus, b"this is not a jpeg").unwrap();
    let out = simkyc().arg("compare").arg(&bogus).arg(d.join("lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0001.jpg")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot decode image") && err.contains("id.jpg"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn eval_counts_failed_images_as_errors_and_prints_json() {
    let Some(d) = data_dir() else { return };
    if !models_installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // 3 genuine + 3 impostor pairs; one impostor pair names an image that does not exist.
    let pairs = "3\nAi_Sugiyama\t1\t2\nChen_Shui-bian\t1\t2\nChoi_Sung-hong\t1\t2\n\
                 Ai_Sugiyama\t1\tChen_Shui-bian\t1\nChoi_Sung-hong\t1\tAi_Sugiyama\t2\nAi_Sugiyama\t1\tNobody_Here\t1\n";
    std::fs::write(tmp.path().join("pairs.txt"), pairs).unwrap();
    let plot = tmp.path().join("det.png");
    let out = simkyc()
        .args(["eval", "--json", "--pairs"])
        .arg(tmp.path().join("pairs.txt"))
        .arg("--images")
        .arg(d.join("lfw-dev/images"))
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = last_json(&out.stdout);
    assert_eq!(j["pairs"], 6);
    assert_eq!(j["failed_images"], 1);
    assert_eq!(j["failed_pairs"], 1);
    assert!(j["accuracy"].as_f64().unwrap() <= 5.0 / 6.0 + 1e-9, "a failed pair must count as wrong: {j}");
    for k in ["eer", "fmr", "fnmr"] {
        assert!(j[k].is_number(), "missing {k}");
    }
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000, "plot not written");
}

#[test]
fn eval_rejects_a_malformed_pair_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("pairs.txt"), "2\nA\t1\n").unwrap();
    let out = simkyc().args(["eval", "--pairs"]).arg(tmp.path().join("pairs.txt")).args(["--images", "/nonexistent"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pair file"));
}

#[test]
fn document_command_reports_validity_and_reason_codes() {
    let out = simkyc().args(["document", "--id", "11010519491231002X"]).output().unwrap();
    assert!(out.status.success());
    let j = last_json(&out.stdout);
    assert_eq!(j["valid"], true);
    assert_eq!(j["document"]["sex"], "female");
    let out = simkyc().args(["document", "--id", "110105194912310021"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(last_json(&out.stdout)["reason"], "id_checksum");
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("mrz.txt");
    std::fs::write(&p, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n").unwrap();
    let out = simkyc().args(["document", "--mrz"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(last_json(&out.stdout)["reason"], "document_expired");
}
