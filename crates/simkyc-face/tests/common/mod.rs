//! Locating the installed models and the shared development data for tests. Tests that need
//! either skip with a message when it is absent, unless SIMKYC_REQUIRE_MODELS=1 / SIMKYC_REQUIRE_DATA=1
//! (set by .ci/run) turns the absence into a failure.

#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data` beside the project (or $SIMKYC_SHARED_DATA), if present.
pub fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("SIMKYC_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data"));
    if d.join("lfw-dev").is_dir() {
        return Some(d);
    }
    if std::env::var("SIMKYC_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("shared data not found at {} and SIMKYC_REQUIRE_DATA=1", d.display());
    }
    eprintln!("SKIPPED: shared development data not found at {} (set SIMKYC_SHARED_DATA)", d.display());
    None
}

/// The installed models directory, if `simkyc models fetch` has run.
pub fn models_dir() -> Option<PathBuf> {
    let d = simkyc_models::cache::default_models_dir();
    if d.join(simkyc_models::manifest::MANIFEST_FILE).is_file() {
        return Some(d);
    }
    if std::env::var("SIMKYC_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!("models not installed in {} and SIMKYC_REQUIRE_MODELS=1; run `simkyc models fetch`", d.display());
    }
    eprintln!("SKIPPED: models not installed in {} (run `simkyc models fetch`)", d.display());
    None
}

/// The inference runtimes to test: tract always, onnxruntime when `simkyc models fetch`
/// installed its library (required under SIMKYC_REQUIRE_MODELS=1 on a platform with a pinned
/// wheel, so CI exercises both).
pub fn runtimes(models: &std::path::Path) -> Vec<simkyc_face::runtime::Runtime> {
    use simkyc_face::runtime::{Runtime, RuntimeChoice};
    let mut v = vec![Runtime::Tract];
    match Runtime::for_models_dir(RuntimeChoice::Auto, models, 1).expect("onnxruntime library") {
        Runtime::Tract => {
            let pinned = simkyc_models::onnxruntime::pin_for_this_platform().is_some();
            if pinned && std::env::var("SIMKYC_REQUIRE_MODELS").as_deref() == Ok("1") {
                panic!("onnxruntime is not installed in {} and SIMKYC_REQUIRE_MODELS=1; run `simkyc models fetch`", models.display());
            }
            eprintln!("SKIPPED on onnxruntime: its library is not installed (run `simkyc models fetch`); tract only");
        }
        ort => v.push(ort),
    }
    v
}

/// The first photo (by name) of each of the first `people` identities (by name) of a
/// development set (`asian-wild`, `casia-dev`, ...); none when the set is absent.
pub fn first_photos(data: &std::path::Path, set: &str, people: usize) -> Vec<PathBuf> {
    let list = |d: &std::path::Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d).into_iter().flatten().filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        v
    };
    list(&data.join(set).join("images"))
        .into_iter()
        .filter(|p| p.is_dir())
        .take(people)
        .filter_map(|p| list(&p).into_iter().next())
        .collect()
}
