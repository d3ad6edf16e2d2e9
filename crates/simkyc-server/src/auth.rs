//! Staff authentication: `Authorization: Bearer sk_<id>_<secret>`. Keys are stored as argon2
//! hashes; a key that verified once is remembered by its SHA-256 (so argon2 runs once per key
//! per process), while revocation is read from the database on every request.

use std::collections::HashMap;
use std::sync::RwLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use simkyc_workflow::{Permission, Role};

use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling: the key's id, role, operator and store.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Key id (public part of the key), used as the actor in the audit log.
    pub key_id: String,
    /// Role of the key.
    pub role: Role,
    /// Operator whose data the key may touch.
    pub operator_id: String,
    /// Store the key belongs to.
    pub store_id: String,
}

impl Principal {
    /// The audit actor name.
    pub fn actor(&self) -> String {
        format!("key:{}", self.key_id)
    }

    /// Fails with 403 unless the role holds the permission.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("the {} role may not do this", self.role)))
        }
    }
}

/// A freshly generated key: the secret to hand out once, and what to store.
pub struct NewKey {
    /// Key id.
    pub id: String,
    /// The whole key, shown once.
    pub token: String,
    /// argon2 PHC hash of the token.
    pub hash: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS random source failing is unrecoverable for key generation.
    getrandom::getrandom(&mut buf).expect("operating-system random source unavailable");
    hex::encode(buf)
}

/// Random identifier for records (128 bits, hex).
pub fn new_id() -> String {
    random_hex(16)
}

/// Generates a key and its argon2 hash.
pub fn generate_key() -> Result<NewKey, argon2::password_hash::Error> {
    let id = random_hex(8);
    let token = format!("sk_{id}_{}", random_hex(24));
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = Argon2::default().hash_password(token.as_bytes(), &salt)?.to_string();
    Ok(NewKey { id, token, hash })
}

/// The key id inside a token, if it is shaped like one of ours.
pub fn key_id_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("sk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && secret.len() == 48 && id.bytes().chain(secret.bytes()).all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// Remembers tokens that passed argon2, by key id.
#[derive(Default)]
pub struct VerifiedKeys {
    by_id: RwLock<HashMap<String, [u8; 32]>>,
}

impl VerifiedKeys {
    fn known(&self, id: &str, digest: &[u8; 32]) -> bool {
        self.by_id.read().map(|m| m.get(id) == Some(digest)).unwrap_or(false)
    }

    fn remember(&self, id: &str, digest: [u8; 32]) {
        if let Ok(mut m) = self.by_id.write() {
            m.insert(id.to_string(), digest);
        }
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

/// Resolves a bearer token to a principal, or says why not.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, Response> {
    let id = key_id_of(token).ok_or_else(|| unauthorized("the API key is malformed"))?;
    let row = match state.db.api_key(id).await {
        Ok(Some(row)) => row,
        Ok(None) => return Err(unauthorized("unknown API key")),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    if row.revoked_at.is_some() {
        return Err(unauthorized("this API key has been revoked"));
    }
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if !state.verified_keys.known(id, &digest) {
        let hash = row.secret_hash.clone();
        let token = token.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).map(|h| Argon2::default().verify_password(token.as_bytes(), &h).is_ok()).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if !ok {
            return Err(unauthorized("unknown API key"));
        }
        state.verified_keys.remember(id, digest);
    }
    let role =
        Role::parse(&row.role).ok_or_else(|| ApiError::internal("key lookup", &format!("stored role {:?}", row.role)).into_response())?;
    Ok(Principal { key_id: row.id, role, operator_id: row.operator_id, store_id: row.store_id })
}

/// Middleware: every request under it needs a valid key; the principal goes into extensions.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .map(str::to_string);
    let Some(token) = token else {
        return unauthorized("send an API key: Authorization: Bearer <key>");
    };
    match authenticate(&state, &token).await {
        Ok(p) => {
            req.extensions_mut().insert(p);
            next.run(req).await
        }
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shaped_and_hashed() {
        let k = generate_key().unwrap();
        assert_eq!(key_id_of(&k.token), Some(k.id.as_str()));
        assert!(!k.hash.contains(&k.token));
        let h = PasswordHash::new(&k.hash).unwrap();
        assert!(Argon2::default().verify_password(k.token.as_bytes(), &h).is_ok());
        assert!(Argon2::default().verify_password(b"sk_0000000000000000_x", &h).is_err());
        assert_eq!(key_id_of("sk_short_abc"), None);
        assert_eq!(key_id_of("Bearer x"), None);
    }
}
