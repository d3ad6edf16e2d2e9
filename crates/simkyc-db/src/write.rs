//! The write transaction: takes the audit head first (ordering all writers), collects audit
//! events, and commits them with the change they describe, atomically.

use simkyc_audit::{Chain, EventBody};
use sqlx::{Any, Transaction};

use crate::{get, now_ms, rfc3339, Database, Result};

/// A write in progress. Dropping it without [`WriteTx::commit`] rolls everything back.
pub struct WriteTx {
    /// The open transaction.
    pub tx: Transaction<'static, Any>,
    chain: Chain,
    /// When the transaction started (ms since 1970), used as the time of its changes.
    pub now: i64,
}

impl Database {
    /// Starts a write: locks the audit head so writers run one after another.
    pub async fn write(&self) -> Result<WriteTx> {
        let mut tx = self.pool.begin().await?;
        // A write as the first statement takes SQLite's write lock at once (no deferred
        // read-to-write upgrade that could fail) and PostgreSQL's row lock on the head.
        sqlx::query("UPDATE audit_head SET last_seq = last_seq WHERE id = 1").execute(&mut *tx).await?;
        let chain = read_head(&mut *tx).await?;
        Ok(WriteTx { tx, chain, now: now_ms() })
    }
}

/// The recorded head of the audit chain.
pub(crate) async fn read_head<'e>(db: impl sqlx::Executor<'e, Database = Any>) -> Result<Chain> {
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1").fetch_one(db).await?;
    Ok(Chain { last_seq: get::<i64>(&head, "last_seq")? as u64, last_hash: get(&head, "last_hash")? })
}

impl WriteTx {
    /// Appends an audit event. `details` must hold no personal data or image bytes, and only
    /// strings, integers, booleans, lists and objects (no floats), so it re-reads exactly.
    pub async fn audit(
        &mut self,
        operator_id: Option<&str>,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        let body = EventBody {
            at: rfc3339(self.now),
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            details,
        };
        let e = self.chain.append(body);
        sqlx::query(
            "INSERT INTO audit_events (seq, operator_id, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.seq as i64)
        .bind(operator_id.map(str::to_string))
        .bind(&e.body.at)
        .bind(&e.body.actor)
        .bind(&e.body.action)
        .bind(&e.body.subject)
        .bind(e.body.details.to_string())
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records the new chain head and commits the change with its events.
    pub async fn commit(mut self) -> Result<()> {
        sqlx::query("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(self.chain.last_seq as i64)
            .bind(&self.chain.last_hash)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}
