//! Reading and verifying the stored audit chain.

use serde::Serialize;
use simkyc_audit::{ChainError, Event, EventBody};
use sqlx::any::AnyRow;

use crate::{get, Database, DbError, Result};

/// One stored audit event, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEventRow {
    /// The operator the event concerns (none for system-wide events).
    pub operator_id: Option<String>,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

fn event(row: &AnyRow) -> Result<AuditEventRow> {
    let details: String = get(row, "details")?;
    Ok(AuditEventRow {
        operator_id: get(row, "operator_id")?,
        event: Event {
            seq: get::<i64>(row, "seq")? as u64,
            body: EventBody {
                at: get(row, "at")?,
                actor: get(row, "actor")?,
                action: get(row, "action")?,
                subject: get(row, "subject")?,
                details: serde_json::from_str(&details).map_err(|e| DbError::Corrupt(format!("audit details: {e}")))?,
            },
            prev_hash: get(row, "prev_hash")?,
            hash: get(row, "hash")?,
        },
    })
}

const COLUMNS: &str = "seq, operator_id, at, actor, action, subject, details, prev_hash, hash";

impl Database {
    /// Events of one operator after `after_seq`, oldest first, at most `limit`.
    pub async fn audit_events(&self, operator_id: &str, after_seq: i64, limit: i64) -> Result<Vec<AuditEventRow>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM audit_events WHERE operator_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"))
            .bind(operator_id)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event).collect()
    }

    /// Verifies the whole chain against its recorded head. `Ok(Ok(n))`: intact with n events;
    /// `Ok(Err(e))`: broken, naming the first bad event.
    pub async fn verify_audit(&self) -> Result<std::result::Result<u64, ChainError>> {
        let head = crate::write::read_head(&self.pool).await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq")).fetch_all(&self.pool).await?;
        let events = rows.iter().map(|r| event(r).map(|e| e.event)).collect::<Result<Vec<_>>>()?;
        Ok(simkyc_audit::verify_with_head(&events, &head))
    }
}
