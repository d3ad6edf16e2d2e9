//! SIMs: listing a document's numbers, and ending a contract (which deletes the subscriber's
//! biometric data once no active SIM is left).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::FromRow;

use crate::{get, Database, DbError, Result, WriteTx};

/// A SIM as stored.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct SimRow {
    /// Id.
    pub id: String,
    /// E.164 number.
    pub msisdn: String,
    /// Card id.
    pub iccid: String,
    /// Subscriber identity.
    pub imsi: String,
    /// Subscriber id (for a new subscriber: the id to create it with).
    #[serde(skip)]
    pub subscriber_id: String,
    /// `active` or `terminated`.
    pub status: String,
    /// Activation time (ms).
    pub activated_at: i64,
    /// End time (ms).
    pub terminated_at: Option<i64>,
}

/// What ending a SIM did.
#[derive(Debug, Clone, Serialize)]
pub struct Termination {
    /// Active SIMs the subscriber still holds.
    pub remaining_active_sims: i64,
    /// Whether the subscriber's biometric data was deleted (no active SIM left).
    pub biometrics_deleted: bool,
}

fn sim(r: &AnyRow) -> Result<SimRow> {
    Ok(SimRow::from_row(r)?)
}

const COLUMNS: &str = "s.id, s.msisdn, s.iccid, s.imsi, s.subscriber_id, s.status, s.activated_at, s.terminated_at";

impl Database {
    /// Every SIM (active or ended) registered to a document at an operator, newest first.
    pub async fn sims_of_document(&self, operator_id: &str, doc_type: &str, doc_number: &str) -> Result<Vec<SimRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sims s JOIN subscribers b ON b.id = s.subscriber_id \
             WHERE b.operator_id = $1 AND b.doc_type = $2 AND b.doc_number = $3 ORDER BY s.activated_at DESC"
        ))
        .bind(operator_id)
        .bind(doc_type)
        .bind(doc_number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sim).collect()
    }

    /// Counts of SIMs per status and the largest active count of any subscriber (for checks).
    pub async fn sim_counts(&self) -> Result<(i64, i64)> {
        let active = sqlx::query("SELECT COUNT(*) AS n FROM sims WHERE status = 'active'").fetch_one(&self.pool).await?;
        let max = sqlx::query("SELECT COALESCE(MAX(active_sims), 0) AS n FROM subscribers").fetch_one(&self.pool).await?;
        Ok((get(&active, "n")?, get(&max, "n")?))
    }
}

impl WriteTx {
    /// Ends the active SIM with this MSISDN. When it was the subscriber's last, their photos and
    /// templates are deleted from every registration.
    pub async fn terminate(&mut self, msisdn: &str, operator_id: &str, actor: &str) -> Result<Termination> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sims s WHERE s.msisdn = $1 AND s.operator_id = $2 AND s.status = 'active'"))
            .bind(msisdn)
            .bind(operator_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| DbError::NotFound("active SIM with this number".into()))?;
        let s = sim(&row)?;
        sqlx::query("UPDATE sims SET status = 'terminated', terminated_at = $1 WHERE id = $2")
            .bind(self.now)
            .bind(&s.id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE subscribers SET active_sims = active_sims - 1 WHERE id = $1 AND active_sims > 0")
            .bind(&s.subscriber_id)
            .execute(&mut *self.tx)
            .await?;
        let sub = sqlx::query("SELECT doc_type, doc_number, active_sims FROM subscribers WHERE id = $1")
            .bind(&s.subscriber_id)
            .fetch_one(&mut *self.tx)
            .await?;
        let remaining: i64 = get(&sub, "active_sims")?;
        self.audit(
            Some(operator_id),
            actor,
            "sim.terminated",
            &format!("sim:{}", s.id),
            serde_json::json!({ "subscriber": s.subscriber_id }),
        )
        .await?;
        let mut deleted = false;
        if remaining == 0 {
            let wiped = sqlx::query(
                "UPDATE registrations SET doc_photo_enc = NULL, live_photo_enc = NULL, doc_template_enc = NULL, live_template_enc = NULL, \
                 photos_purged_at = $1, updated_at = $1 WHERE operator_id = $2 AND doc_type = $3 AND doc_number = $4",
            )
            .bind(self.now)
            .bind(operator_id)
            .bind(get::<String>(&sub, "doc_type")?)
            .bind(get::<String>(&sub, "doc_number")?)
            .execute(&mut *self.tx)
            .await?;
            let details = serde_json::json!({ "subscriber": s.subscriber_id, "registrations": wiped.rows_affected() });
            self.audit(Some(operator_id), actor, "biometrics.deleted", &format!("subscriber:{}", s.subscriber_id), details).await?;
            deleted = true;
        }
        Ok(Termination { remaining_active_sims: remaining, biometrics_deleted: deleted })
    }
}
