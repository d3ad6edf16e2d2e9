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
    /// Recent failed liveness checks per API key (device), for the lockout.
    pub liveness_failures: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>>,
}

impl Inner {
    /// Seconds until this key may capture again, when it is locked out.
    pub fn lockout_remaining(&self, key_id: &str) -> Option<u64> {
        let window = std::time::Duration::from_secs(self.config.lockout_window_secs);
        let mut map = self.liveness_failures.lock().ok()?;
        let q = map.get_mut(key_id)?;
        while q.front().is_some_and(|t| t.elapsed() > window) {
            q.pop_front();
        }
        if q.len() >= self.config.lockout_failures {
            q.front().map(|t| window.saturating_sub(t.elapsed()).as_secs().max(1))
        } else {
            None
        }
    }

    /// Records a failed liveness check by this key.
    pub fn record_liveness_failure(&self, key_id: &str) {
        if let Ok(mut map) = self.liveness_failures.lock() {
            map.entry(key_id.to_string()).or_default().push_back(std::time::Instant::now());
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
