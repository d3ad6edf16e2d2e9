//! Where downloads are cached and models installed, and the checksum and atomic-write helpers.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ModelsError;

/// Download cache: `$SIMKYC_CACHE_DIR`, else `$XDG_CACHE_HOME/simkyc`, else `~/.cache/simkyc`.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SIMKYC_CACHE_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("simkyc");
    }
    home().join(".cache").join("simkyc")
}

/// Installed models: `$SIMKYC_MODELS_DIR`, else `$XDG_DATA_HOME/simkyc/models`, else `~/.local/share/simkyc/models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SIMKYC_MODELS_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(p).join("simkyc").join("models");
    }
    home().join(".local").join("share").join("simkyc").join("models")
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

/// SHA-256 of a byte slice, lowercase hex.
pub fn sha256_bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// SHA-256 of a file, lowercase hex, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ModelsError> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelsError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelsError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Writes a file through a temporary sibling and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ModelsError::io(dir, e))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| ModelsError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ModelsError::io(path, e))
}
