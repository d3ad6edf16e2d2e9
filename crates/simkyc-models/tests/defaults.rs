//! `fetch` and the default engine: an install from before recognition v2 (no SFace entry, dlib
//! defaults) is moved to YuNet + SFace once; an operator who then chooses the dlib engine keeps
//! it. Runs offline from the download cache `simkyc models fetch` filled (skips without it).

use simkyc_models::manifest::Manifest;
use simkyc_models::{fetch, legacy_defaults, pack_defaults, pinned_archives, registry};

#[test]
fn old_installs_are_upgraded_once_and_an_operator_choice_is_kept() {
    if !pinned_archives().iter().all(|p| registry::cached_path(p).exists()) {
        if std::env::var("SIMKYC_REQUIRE_MODELS").as_deref() == Ok("1") {
            panic!("the download cache lacks a pinned archive and SIMKYC_REQUIRE_MODELS=1; run `simkyc models fetch`");
        }
        eprintln!("SKIPPED: the download cache lacks a pinned archive (run `simkyc models fetch`)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fresh = fetch(dir.path(), true).expect("offline fetch from the cache");
    assert_eq!(fresh.manifest.defaults, pack_defaults());
    // The onnxruntime library comes with the models where a wheel is pinned for the platform.
    let lib = simkyc_models::onnxruntime::installed_library(dir.path()).unwrap();
    assert_eq!(lib.is_some(), simkyc_models::onnxruntime::pin_for_this_platform().is_some());
    assert_eq!(fresh.onnxruntime, lib);

    // The operator goes back to the dlib engine: kept by the next fetch.
    let mut m = Manifest::load(dir.path()).unwrap();
    m.defaults = legacy_defaults();
    m.save(dir.path()).unwrap();
    let again = fetch(dir.path(), true).unwrap();
    assert_eq!(again.manifest.defaults, legacy_defaults());

    // An install from before recognition v2: no SFace or YuNet entry, dlib defaults.
    m.models.retain(|e| e.name != simkyc_models::opencv_zoo::SFACE && e.name != simkyc_models::opencv_zoo::YUNET);
    m.save(dir.path()).unwrap();
    let upgraded = fetch(dir.path(), true).unwrap();
    assert!(!upgraded.up_to_date);
    assert_eq!(upgraded.manifest.defaults, pack_defaults());
    assert!(upgraded.manifest.get(simkyc_models::opencv_zoo::SFACE).is_some());
    simkyc_models::verify(dir.path(), &upgraded.manifest).unwrap();
}
