//! Failed liveness checks per API key (device): recorded with the decision that failed, counted
//! over a sliding window to lock a device out.

use crate::{get, Database, Result, WriteTx};

/// How long failures are kept at least (longer when the lockout window is longer): the server's
/// hourly retention task deletes older ones.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;

impl WriteTx {
    /// Records a failed liveness check by this key at the transaction's time.
    pub async fn record_liveness_failure(&mut self, key_id: &str) -> Result<()> {
        sqlx::query("INSERT INTO liveness_failures (key_id, at_ms) VALUES ($1, $2)")
            .bind(key_id)
            .bind(self.now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Database {
    /// Deletes every recorded liveness failure older than `cutoff_ms` (the lockout window has long
    /// passed for them). Returns how many were deleted.
    pub async fn expire_liveness_failures(&self, cutoff_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM liveness_failures WHERE at_ms < $1").bind(cutoff_ms).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Times (ms since 1970, oldest first) of this key's failed liveness checks after `since_ms`.
    pub async fn liveness_failures_since(&self, key_id: &str, since_ms: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT at_ms FROM liveness_failures WHERE key_id = $1 AND at_ms > $2 ORDER BY at_ms")
            .bind(key_id)
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| get::<i64>(r, "at_ms")).collect()
    }
}
