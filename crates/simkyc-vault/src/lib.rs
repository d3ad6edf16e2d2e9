//! Encryption at rest for biometric templates and photos.
//!
//! Each value is sealed with AES-256-GCM under the key ring's active key into an envelope
//! `[version 1][key id length][key id][96-bit nonce][ciphertext + 128-bit tag]`. The envelope is
//! bound to its record by associated data (e.g. `template:42`), so a sealed value copied into another
//! record does not open. Keys carry ids, so old envelopes keep opening after a new key becomes
//! active, and [`KeyRing::reseal`] re-encrypts them under the active key (key rotation).

use std::collections::HashMap;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Errors from sealing and opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// A key is not 32 bytes of hex.
    #[error("key {id:?} must be 64 hex digits (32 bytes)")]
    BadKey {
        /// Key id.
        id: String,
    },
    /// The key specification is malformed.
    #[error("key specification: {0}")]
    BadSpec(String),
    /// The envelope names a key the ring does not hold.
    #[error("no key with id {0:?} is loaded; the envelope cannot be opened")]
    UnknownKey(String),
    /// The envelope is not in the expected format.
    #[error("not a sealed value (bad header)")]
    Malformed,
    /// Authentication failed: wrong key, wrong record, or tampered bytes.
    #[error("the sealed value failed authentication (tampered, or sealed for another record)")]
    Authentication,
}

/// A set of named keys, one of which seals new values.
pub struct KeyRing {
    keys: HashMap<String, Aes256Gcm>,
    active: String,
}

impl KeyRing {
    /// Builds a ring from `(id, 64-hex-digit key)` pairs; the first pair is the active key.
    pub fn new(keys: &[(&str, &str)]) -> Result<KeyRing, VaultError> {
        let mut map = HashMap::new();
        for (id, hex_key) in keys {
            if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(VaultError::BadSpec(format!("key id {id:?} must be 1-64 letters, digits, '-' or '_'")));
            }
            let bytes = hex::decode(hex_key.trim()).map_err(|_| VaultError::BadKey { id: id.to_string() })?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| VaultError::BadKey { id: id.to_string() })?;
            if map.insert(id.to_string(), cipher).is_some() {
                return Err(VaultError::BadSpec(format!("key id {id:?} appears twice")));
            }
        }
        let active = keys.first().map(|k| k.0.to_string()).ok_or_else(|| VaultError::BadSpec("no keys".into()))?;
        Ok(KeyRing { keys: map, active })
    }

    /// Parses `id:hexkey` entries separated by commas or newlines (the first is active), as read
    /// from a key file or an environment variable. Blank lines and `#` comments are ignored.
    pub fn parse(spec: &str) -> Result<KeyRing, VaultError> {
        let entries: Vec<(&str, &str)> = spec
            .split([',', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split_once(':').ok_or_else(|| VaultError::BadSpec("each key is written id:hexkey".into())))
            .collect::<Result<_, _>>()?;
        Self::new(&entries)
    }

    /// Id of the key that seals new values.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Seals `plaintext` for the record named by `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        let cipher = self.keys.get(&self.active).ok_or_else(|| VaultError::UnknownKey(self.active.clone()))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = cipher.encrypt(&nonce, Payload { msg: plaintext, aad }).map_err(|_| VaultError::Authentication)?;
        let id = self.active.as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The key id an envelope was sealed with.
    pub fn key_id_of(envelope: &[u8]) -> Result<&str, VaultError> {
        let (&version, rest) = envelope.split_first().ok_or(VaultError::Malformed)?;
        let (&len, rest) = rest.split_first().ok_or(VaultError::Malformed)?;
        if version != VERSION || rest.len() < len as usize + NONCE_LEN + 16 {
            return Err(VaultError::Malformed);
        }
        std::str::from_utf8(&rest[..len as usize]).map_err(|_| VaultError::Malformed)
    }

    /// Opens an envelope sealed for the record named by `aad`.
    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        let id = Self::key_id_of(envelope)?;
        let cipher = self.keys.get(id).ok_or_else(|| VaultError::UnknownKey(id.to_string()))?;
        let body = &envelope[2 + id.len()..];
        let (nonce, ct) = body.split_at(NONCE_LEN);
        cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad }).map_err(|_| VaultError::Authentication)
    }

    /// Re-encrypts an envelope under the active key (no-op result when it already uses it).
    pub fn reseal(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        if Self::key_id_of(envelope)? == self.active {
            return Ok(envelope.to_vec());
        }
        self.seal(&self.open(envelope, aad)?, aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f";

    #[test]
    fn seal_and_open_round_trip_with_fresh_nonces() {
        let ring = KeyRing::parse(&format!("k2026:{K1}")).unwrap();
        let template: Vec<u8> = (0..1024).map(|i| (i % 251) as u8).collect();
        let a = ring.seal(&template, b"template:42").unwrap();
        let b = ring.seal(&template, b"template:42").unwrap();
        assert_ne!(a, b, "every seal uses a new nonce");
        assert!(!a.windows(16).any(|w| template.windows(16).any(|t| t == w)), "plaintext visible in the envelope");
        assert_eq!(ring.open(&a, b"template:42").unwrap(), template);
        assert_eq!(KeyRing::key_id_of(&a).unwrap(), "k2026");
    }

    #[test]
    fn tampering_and_moving_between_records_are_refused() {
        let ring = KeyRing::new(&[("k1", K1)]).unwrap();
        let mut env = ring.seal(b"photo bytes", b"photo:1").unwrap();
        assert_eq!(ring.open(&env, b"photo:2"), Err(VaultError::Authentication));
        let last = env.len() - 1;
        env[last] ^= 1;
        assert_eq!(ring.open(&env, b"photo:1"), Err(VaultError::Authentication));
        assert_eq!(ring.open(b"\\x01", b"photo:1"), Err(VaultError::Malformed));
        assert_eq!(ring.open(&[], b"photo:1"), Err(VaultError::Malformed));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_reseals_them() {
        let old = KeyRing::parse(&format!("k1:{K1}")).unwrap();
        let env = old.seal(b"template", b"template:7").unwrap();
        let rotated = KeyRing::parse(&format!("k2:{K2}\nk1:{K1}")).unwrap();
        assert_eq!(rotated.active_id(), "k2");
        assert_eq!(rotated.open(&env, b"template:7").unwrap(), b"template");
        let fresh = rotated.reseal(&env, b"template:7").unwrap();
        assert_eq!(KeyRing::key_id_of(&fresh).unwrap(), "k2");
        let only_new = KeyRing::parse(&format!("k2:{K2}")).unwrap();
        assert_eq!(only_new.open(&fresh, b"template:7").unwrap(), b"template");
        assert_eq!(only_new.open(&env, b"template:7"), Err(VaultError::UnknownKey("k1".into())));
    }

    #[test]
    fn bad_key_specs_are_refused() {
        assert!(matches!(KeyRing::parse("k1:abcd"), Err(VaultError::BadKey { .. })));
        assert!(matches!(KeyRing::parse(""), Err(VaultError::BadSpec(_))));
        assert!(matches!(KeyRing::parse(&format!("bad id:{K1}")), Err(VaultError::BadSpec(_))));
        assert!(matches!(KeyRing::parse(&format!("k1:{K1},k1:{K2}")), Err(VaultError::BadSpec(_))));
        assert!(matches!(KeyRing::parse(K1), Err(VaultError::BadSpec(_))));
    }
}
