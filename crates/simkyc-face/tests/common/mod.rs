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
