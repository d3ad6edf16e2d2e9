//! Idempotency keys: the first request with a key stores its response; a retry with the same key
//! and the same request gets that response back instead of acting twice.

use crate::{get, Database, Result};

/// What a request with an idempotency key should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First time: go ahead, then [`Database::idempotency_finish`].
    Fresh,
    /// Done before: answer with this status and body.
    Replay {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: Vec<u8>,
    },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl Database {
    /// Claims a key for a request (identified by `request_hash`).
    pub async fn idempotency_claim(&self, key_id: &str, idem_key: &str, request_hash: &str) -> Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (key_id, idem_key, request_hash, status, created_at) VALUES ($1, $2, $3, 0, $4) ON CONFLICT (key_id, idem_key) DO NOTHING",
        )
        .bind(key_id)
        .bind(idem_key)
        .bind(request_hash)
        .bind(crate::now_ms())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Fresh);
        }
        let row = sqlx::query("SELECT request_hash, status, body FROM idempotency WHERE key_id = $1 AND idem_key = $2")
            .bind(key_id)
            .bind(idem_key)
            .fetch_one(&self.pool)
            .await?;
        let hash: String = get(&row, "request_hash")?;
        let status: i64 = get(&row, "status")?;
        Ok(if hash != request_hash {
            Claim::Mismatch
        } else if status == 0 {
            Claim::InProgress
        } else {
            Claim::Replay { status: status as u16, body: get::<Option<Vec<u8>>>(&row, "body")?.unwrap_or_default() }
        })
    }

    /// Stores the response of a claimed request.
    pub async fn idempotency_finish(&self, key_id: &str, idem_key: &str, status: u16, body: &[u8]) -> Result<()> {
        sqlx::query("UPDATE idempotency SET status = $1, body = $2 WHERE key_id = $3 AND idem_key = $4")
            .bind(status as i64)
            .bind(body.to_vec())
            .bind(key_id)
            .bind(idem_key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Releases a claim whose request failed on the server side, so a retry can act.
    pub async fn idempotency_release(&self, key_id: &str, idem_key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency WHERE key_id = $1 AND idem_key = $2 AND status = 0")
            .bind(key_id)
            .bind(idem_key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets keys older than `cutoff_ms`.
    pub async fn idempotency_expire(&self, cutoff_ms: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM idempotency WHERE created_at < $1").bind(cutoff_ms).execute(&self.pool).await?.rows_affected())
    }
}
