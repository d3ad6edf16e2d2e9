//! onnxruntime's shared library, the fast inference runtime, taken from the official PyPI
//! `onnxruntime` wheel for this platform (MIT licence). The wheel is pinned by SHA-256 and only
//! the C library member is installed, checked against its own SHA-256, into the models
//! directory; `simkyc` loads it at run time (`runtime = "auto"` or `"onnxruntime"`). Platforms
//! without a pinned wheel run on tract alone.

use std::path::{Path, PathBuf};

use crate::cache::{sha256_file, write_atomic};
use crate::opencv_zoo::extract_member;
use crate::registry::PinnedFile;
use crate::ModelsError;

/// The pinned onnxruntime release.
pub const VERSION: &str = "1.32.0";

/// A wheel and the library member inside it.
#[derive(Debug, Clone)]
pub struct RuntimePin {
    /// The wheel.
    pub wheel: PinnedFile,
    /// Path of the library inside the wheel.
    pub member: &'static str,
    /// SHA-256 of the library.
    pub member_sha256: &'static str,
}

/// The library's file name in the models directory (and inside the wheel).
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.32.0";
/// Subdirectory of the models directory that holds it.
pub const LIBRARY_DIR: &str = "onnxruntime";

/// Linux x86_64 (manylinux_2_28, glibc ≥ 2.28).
pub const LINUX_X86_64: RuntimePin = RuntimePin {
    wheel: PinnedFile {
        registry: "pypi",
        package: "onnxruntime",
        version: VERSION,
        filename: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
    },
    member: "onnxruntime/capi/libonnxruntime.so.1.32.0",
    member_sha256: "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
};

/// Linux aarch64 (manylinux_2_28, glibc ≥ 2.28).
pub const LINUX_AARCH64: RuntimePin = RuntimePin {
    wheel: PinnedFile {
        registry: "pypi",
        package: "onnxruntime",
        version: VERSION,
        filename: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_aarch64.whl",
        sha256: "2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c",
    },
    member: "onnxruntime/capi/libonnxruntime.so.1.32.0",
    member_sha256: "49852228a93995158b2a813d4df487d47a1b76b0eaa894507ef49e91b6d7954a",
};

/// The pin for the platform this binary was built for, if there is one.
pub fn pin_for_this_platform() -> Option<&'static RuntimePin> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some(&LINUX_X86_64),
        ("linux", "aarch64") => Some(&LINUX_AARCH64),
        _ => None,
    }
}

/// Where the library goes in a models directory.
pub fn library_path(models_dir: &Path) -> PathBuf {
    models_dir.join(LIBRARY_DIR).join(LIBRARY_FILE)
}

/// Installs the library from the cached wheel into the models directory and returns its path.
pub fn install(pin: &RuntimePin, wheel: &Path, models_dir: &Path) -> Result<PathBuf, ModelsError> {
    let bytes = extract_member(wheel, pin.member, pin.member_sha256)?;
    let path = library_path(models_dir);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ModelsError::io(parent, e))?;
    }
    write_atomic(&path, &bytes)?;
    Ok(path)
}

/// The installed library, when it is there and intact (its SHA-256 matches this platform's
/// pin): the one place that decides whether `runtime = "auto"` can use onnxruntime. A library
/// that fails the check is an error, never loaded.
pub fn installed_library(models_dir: &Path) -> Result<Option<PathBuf>, ModelsError> {
    let path = library_path(models_dir);
    let Some(pin) = pin_for_this_platform() else { return Ok(None) };
    if !path.is_file() {
        return Ok(None);
    }
    let got = sha256_file(&path)?;
    if got != pin.member_sha256 {
        return Err(ModelsError::Checksum { what: path.display().to_string(), expected: pin.member_sha256.into(), got });
    }
    Ok(Some(path))
}
