//! Shared state of the running service.

use std::sync::Arc;

use simkyc_store::Store;

use crate::auth::VerifiedKeys;
use crate::config::Config;
use crate::face::FaceStack;
use crate::metrics::Metrics;
use crate::vault::Vault;

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Inner shared parts.
    pub inner: Arc<Inner>,
}

/// The shared parts.
pub struct Inner {
    /// Configuration in effect.
    pub config: Config,
    /// Database.
    pub store: Store,
    /// Face engine and operating points.
    pub face: Arc<FaceStack>,
    /// Encryption keys.
    pub vault: Vault,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Keys already verified with argon2.
    pub verified_keys: VerifiedKeys,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
