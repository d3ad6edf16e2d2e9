//! Shared state of the running service.

use std::sync::Arc;

use simkyc_db::Database;

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
    pub db: Database,
    /// Face engine and operating points.
    pub face: Arc<FaceStack>,
    /// Encryption keys.
    pub vault: Vault,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Keys already verified with argon2.
    pub verified_keys: VerifiedKeys,
    /// Rate limits and the upload cap.
    pub limits: crate::limits::Limits,
    /// The operators' 1:N galleries in memory.
    pub galleries: crate::gallery::Galleries,
}

impl Inner {
    /// The duplicate check at an operator's current gallery size (threshold and expected rates).
    pub fn duplicate_check(&self, operator_id: &str) -> crate::gallery::DuplicateCheck {
        self.galleries.duplicate_check(
            operator_id,
            self.face.thresholds.open_set.as_ref(),
            self.face.points.strict,
            self.config.duplicate_fpir,
        )
    }

    /// Seconds until this key (device) may capture again, when its failed liveness checks within
    /// the window have reached the limit. Read from the database, so every server sharing it
    /// enforces the same lockout, and a restart does not lift it.
    pub async fn lockout_remaining(&self, key_id: &str) -> Result<Option<u64>, simkyc_db::DbError> {
        let window_ms = self.config.lockout_window_secs.saturating_mul(1000) as i64;
        let now = simkyc_db::now_ms();
        let failures = self.db.liveness_failures_since(key_id, now - window_ms).await?;
        let limit = self.config.lockout_failures.max(1);
        if failures.len() < limit {
            return Ok(None);
        }
        // Locked until enough failures leave the window that fewer than the limit remain.
        let freed_at = failures[failures.len() - limit] + window_ms;
        Ok(Some(((freed_at - now).max(1000) / 1000) as u64))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
