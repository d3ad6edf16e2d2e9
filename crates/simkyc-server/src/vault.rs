//! The server's vault: the key ring from `SIMKYC_VAULT_KEYS` or a key file (generated on first
//! start, mode 0600), with a reload when an envelope names a key this process has not loaded
//! (after `simkyc keys rotate` ran beside a running server).

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use simkyc_vault::{KeyRing, VaultError};

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `SIMKYC_VAULT_KEYS` (`id:hex,…`).
    Env,
    /// A key file.
    File(PathBuf),
}

/// Problems loading keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// File access.
    #[error("vault key file {path}: {cause}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        cause: std::io::Error,
    },
    /// Bad key material.
    #[error("vault keys ({origin}): {cause}")]
    Bad {
        /// Where they came from.
        origin: String,
        /// Cause.
        cause: VaultError,
    },
}

/// First line of a generated key file.
pub const KEY_FILE_HEADER: &str = "# simkyc vault keys as id:hex lines; the first is active. Keep a backup: losing it loses the data.";

/// Generates a new random key line `id:hex` whose id carries the creation time.
pub fn new_key_line() -> String {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).expect("operating-system random source unavailable");
    let mut tag = [0u8; 3];
    getrandom::getrandom(&mut tag).expect("operating-system random source unavailable");
    format!("k{}-{}:{}", simkyc_db::now_ms() / 1000, hex::encode(tag), hex::encode(key))
}

/// Writes a key file readable only by its owner.
pub fn write_key_file(path: &Path, text: &str) -> Result<(), KeyError> {
    let io = |cause| KeyError::Io { path: path.into(), cause };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

impl KeySource {
    /// The source in effect: the environment variable if set, else the file.
    pub fn resolve(file: &Path) -> KeySource {
        if std::env::var("SIMKYC_VAULT_KEYS").is_ok_and(|v| !v.trim().is_empty()) {
            KeySource::Env
        } else {
            KeySource::File(file.to_path_buf())
        }
    }

    /// Reads the key spec; a missing file is created with a fresh key.
    pub fn read(&self) -> Result<String, KeyError> {
        match self {
            KeySource::Env => Ok(std::env::var("SIMKYC_VAULT_KEYS").unwrap_or_default()),
            KeySource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let text = format!("{KEY_FILE_HEADER}\n{}\n", new_key_line());
                    write_key_file(path, &text)?;
                    Ok(text)
                }
                Err(cause) => Err(KeyError::Io { path: path.clone(), cause }),
            },
        }
    }

    /// Loads the ring.
    pub fn load(&self) -> Result<KeyRing, KeyError> {
        let origin = match self {
            KeySource::Env => "SIMKYC_VAULT_KEYS".to_string(),
            KeySource::File(p) => p.display().to_string(),
        };
        KeyRing::parse(&self.read()?).map_err(|cause| KeyError::Bad { origin, cause })
    }
}

/// The key ring in use, reloadable.
pub struct Vault {
    ring: RwLock<KeyRing>,
    source: KeySource,
}

impl Vault {
    /// Loads the vault from its source.
    pub fn load(source: KeySource) -> Result<Vault, KeyError> {
        Ok(Vault { ring: RwLock::new(source.load()?), source })
    }

    /// Encrypts with the active key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.ring.read().map_err(|_| VaultError::Malformed)?.seal(plaintext, aad)
    }

    /// Decrypts, reloading the keys once if the envelope names an unknown key.
    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        let first = self.ring.read().map_err(|_| VaultError::Malformed)?.open(envelope, aad);
        match first {
            Err(VaultError::UnknownKey(_)) => {
                if let Ok(ring) = self.source.load() {
                    if let Ok(mut slot) = self.ring.write() {
                        *slot = ring;
                    }
                }
                self.ring.read().map_err(|_| VaultError::Malformed)?.open(envelope, aad)
            }
            other => other,
        }
    }

    /// Id of the active key.
    pub fn active_id(&self) -> String {
        self.ring.read().map(|r| r.active_id().to_string()).unwrap_or_default()
    }
}
