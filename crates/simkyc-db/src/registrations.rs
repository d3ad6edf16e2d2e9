//! Registrations: creation, the recorded decision, review, cancellation and activation with the
//! atomic SIM limit. State changes are conditional updates (`WHERE state = …`), so two requests
//! racing on one registration cannot both succeed.

use serde::Serialize;
use simkyc_workflow::{CaptureMode, CaptureRequirements, Outcome, Reason, RegistrationState};

use crate::sims::SimRow;
use crate::{get, Conflict, Database, DbError, Flag, JsonText, Result, SimField, WriteTx};

/// What the server stores when a registration starts.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    /// New id.
    pub id: String,
    /// Operator.
    pub operator_id: String,
    /// Store.
    pub store_id: String,
    /// Key id of the clerk.
    pub created_by: String,
    /// Document type name.
    pub doc_type: String,
    /// Document number (the subscriber's identity with `doc_type`).
    pub doc_number: String,
    /// Encrypted holder name.
    pub name_enc: Vec<u8>,
    /// Document expiry (`YYYY-MM-DD`), none for long-term.
    pub doc_expiry: Option<String>,
    /// Capture-check mode applied.
    pub capture_mode: CaptureMode,
    /// Capture requirements given to the client.
    pub capture_requirements: CaptureRequirements,
    /// Encrypted document photo.
    pub doc_photo_enc: Vec<u8>,
    /// Encrypted document-photo template.
    pub doc_template_enc: Vec<u8>,
    /// The model that made the template (embedder and adaptation).
    pub template_model: String,
    /// Reasons found at the start (e.g. `document_data_mismatch`), carried into the decision.
    pub start_reasons: Vec<Reason>,
    /// Where the document photo came from: `chip`, `printed` (cropped from the card's photo) or
    /// `upload`.
    pub document_photo_source: String,
}

/// The decision recorded for a capture.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// approved / rejected / review.
    pub state: RegistrationState,
    /// Reasons, refusing ones first.
    pub reasons: Vec<Reason>,
    /// Clerk message.
    pub message: String,
    /// The measurements behind the decision (a record for reviewers).
    pub scores: serde_json::Value,
    /// Encrypted best live frame.
    pub live_photo_enc: Option<Vec<u8>>,
    /// Encrypted live template.
    pub live_template_enc: Option<Vec<u8>>,
    /// The model that made the live template (and the document template it was compared with).
    pub template_model: String,
    /// The document template again, when the one stored at the start came from another model
    /// (the server was upgraded in between) and was recomputed from the document photo.
    pub doc_template_enc: Option<Vec<u8>>,
    /// Audit details (codes and scores as text, no personal data).
    pub audit: serde_json::Value,
}

/// A stored registration.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RegistrationRow {
    /// Id.
    pub id: String,
    /// Operator.
    pub operator_id: String,
    /// Store.
    pub store_id: String,
    /// Key id of the clerk.
    pub created_by: String,
    /// Document type.
    pub doc_type: String,
    /// Document number.
    pub doc_number: String,
    /// Encrypted name.
    #[serde(skip)]
    pub name_enc: Vec<u8>,
    /// Expiry.
    pub doc_expiry: Option<String>,
    /// Current state.
    #[sqlx(try_from = "String")]
    pub state: RegistrationState,
    /// The automatic decision at capture.
    #[sqlx(try_from = "OptionalText")]
    pub decision: Option<Outcome>,
    /// Reasons of the decision, refusing ones first (none before it).
    #[sqlx(try_from = "String")]
    pub reasons: JsonText<Vec<Reason>>,
    /// Clerk message.
    pub message: String,
    /// The measurements behind the decision (empty before it).
    #[sqlx(try_from = "String")]
    pub scores: JsonText<serde_json::Value>,
    /// Capture mode.
    #[sqlx(try_from = "String")]
    pub capture_mode: CaptureMode,
    /// What the client was asked to capture.
    #[sqlx(try_from = "String")]
    pub capture_requirements: CaptureRequirements,
    /// Encrypted document photo.
    #[serde(skip)]
    pub doc_photo_enc: Option<Vec<u8>>,
    /// Encrypted live photo.
    #[serde(skip)]
    pub live_photo_enc: Option<Vec<u8>>,
    /// Encrypted document template.
    #[serde(skip)]
    pub doc_template_enc: Option<Vec<u8>>,
    /// Encrypted live template.
    #[serde(skip)]
    pub live_template_enc: Option<Vec<u8>>,
    /// When photos were purged.
    pub photos_purged_at: Option<i64>,
    /// Reviewer's comment.
    pub review_comment: Option<String>,
    /// Reviewer's key id.
    pub reviewed_by: Option<String>,
    /// MSISDN once activated.
    pub msisdn: Option<String>,
    /// Created (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Decided (ms).
    pub decided_at: Option<i64>,
    /// Live captures refused for quality so far.
    pub capture_attempts: i64,
    /// The model that made the templates (embedder and adaptation); none without templates.
    pub template_model: Option<String>,
    /// Enrolled with another model's templates and no photo left to re-enrol from.
    #[sqlx(try_from = "i64")]
    pub recapture_needed: Flag,
}

/// A nullable text column as read.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct OptionalText(Option<String>);

impl TryFrom<OptionalText> for Option<Outcome> {
    type Error = simkyc_workflow::decision::UnknownOutcome;
    fn try_from(t: OptionalText) -> std::result::Result<Option<Outcome>, Self::Error> {
        t.0.map(Outcome::try_from).transpose()
    }
}

const COLUMNS: &str = "id, operator_id, store_id, created_by, doc_type, doc_number, name_enc, doc_expiry, state, decision, reasons, message, scores, \
    capture_mode, capture_requirements, doc_photo_enc, live_photo_enc, doc_template_enc, live_template_enc, photos_purged_at, review_comment, reviewed_by, \
    msisdn, created_at, updated_at, decided_at, capture_attempts, template_model, recapture_needed";

impl Database {
    /// A registration of an operator; another operator's is reported as not found.
    pub async fn registration(&self, id: &str, operator_id: &str) -> Result<RegistrationRow> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM registrations WHERE id = $1 AND operator_id = $2"))
            .bind(id)
            .bind(operator_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("registration {id}")))
    }

    /// Registrations of an operator in one state, oldest first.
    pub async fn registrations_in_state(&self, operator_id: &str, state: RegistrationState, limit: i64) -> Result<Vec<RegistrationRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM registrations WHERE operator_id = $1 AND state = $2 ORDER BY created_at LIMIT $3"
        ))
        .bind(operator_id)
        .bind(state.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Active SIMs a document holds at an operator.
    pub async fn active_sims(&self, operator_id: &str, doc_type: &str, doc_number: &str) -> Result<i64> {
        let row = sqlx::query("SELECT active_sims FROM subscribers WHERE operator_id = $1 AND doc_type = $2 AND doc_number = $3")
            .bind(operator_id)
            .bind(doc_type)
            .bind(doc_number)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| get::<i64>(&r, "active_sims")).transpose().map(|n| n.unwrap_or(0))
    }
}

impl WriteTx {
    async fn state_of(&mut self, id: &str, operator_id: &str) -> Result<RegistrationState> {
        let row = sqlx::query("SELECT state FROM registrations WHERE id = $1 AND operator_id = $2")
            .bind(id)
            .bind(operator_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("registration {id}")))?;
        let state: String = get(&row, "state")?;
        RegistrationState::try_from(state).map_err(|e| DbError::Corrupt(e.to_string()))
    }

    /// Moves a registration from one of `from` to `to`, or explains why it cannot.
    async fn move_state(&mut self, id: &str, operator_id: &str, from: &[RegistrationState], to: RegistrationState) -> Result<()> {
        let cur = self.state_of(id, operator_id).await?;
        if !from.contains(&cur) || cur.transition(to).is_err() {
            return Err(Conflict::State { id: id.into(), from: cur, to }.into());
        }
        sqlx::query("UPDATE registrations SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(self.now)
            .bind(id)
            .bind(cur.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Stores a new registration in state `created`.
    pub async fn create_registration(&mut self, r: &NewRegistration) -> Result<()> {
        sqlx::query(
            "INSERT INTO registrations (id, operator_id, store_id, created_by, doc_type, doc_number, name_enc, doc_expiry, state, capture_mode, capture_requirements, \
             doc_photo_enc, doc_template_enc, created_at, updated_at, template_model, reasons) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'created', $9, $10, $11, $12, $13, $13, $14, $15)",
        )
        .bind(&r.id)
        .bind(&r.operator_id)
        .bind(&r.store_id)
        .bind(&r.created_by)
        .bind(&r.doc_type)
        .bind(&r.doc_number)
        .bind(r.name_enc.clone())
        .bind(r.doc_expiry.clone())
        .bind(r.capture_mode.as_str())
        .bind(r.capture_requirements.to_json())
        .bind(r.doc_photo_enc.clone())
        .bind(r.doc_template_enc.clone())
        .bind(self.now)
        .bind(&r.template_model)
        .bind(serde_json::to_string(&r.start_reasons).map_err(|e| crate::DbError::Corrupt(e.to_string()))?)
        .execute(&mut *self.tx)
        .await?;
        let details = serde_json::json!({
            "store": r.store_id,
            "doc_type": r.doc_type,
            "capture_mode": r.capture_mode.as_str(),
            "document_photo_source": r.document_photo_source,
            "start_reasons": r.start_reasons.iter().map(|x| x.code).collect::<Vec<_>>(),
        });
        self.audit(Some(&r.operator_id), &r.created_by, "registration.created", &format!("registration:{}", r.id), details).await
    }

    /// Records a capture and its decision: created → captured → approved / rejected / review.
    pub async fn record_decision(&mut self, id: &str, operator_id: &str, actor: &str, v: &Verdict) -> Result<()> {
        self.move_state(id, operator_id, &[RegistrationState::Created], RegistrationState::Captured).await?;
        let subject = format!("registration:{id}");
        self.audit(Some(operator_id), actor, "registration.captured", &subject, serde_json::json!({})).await?;
        if RegistrationState::Captured.transition(v.state).is_err() {
            return Err(Conflict::State { id: id.into(), from: RegistrationState::Captured, to: v.state }.into());
        }
        sqlx::query(
            "UPDATE registrations SET state = $1, decision = $1, reasons = $2, message = $3, scores = $4, live_photo_enc = $5, live_template_enc = $6, \
             decided_at = $7, updated_at = $7, template_model = $9, doc_template_enc = COALESCE($10, doc_template_enc) WHERE id = $8",
        )
        .bind(v.state.as_str())
        .bind(serde_json::to_string(&v.reasons).map_err(|e| DbError::Corrupt(format!("reasons: {e}")))?)
        .bind(&v.message)
        .bind(v.scores.to_string())
        .bind(v.live_photo_enc.clone())
        .bind(v.live_template_enc.clone())
        .bind(self.now)
        .bind(id)
        .bind(&v.template_model)
        .bind(v.doc_template_enc.clone())
        .execute(&mut *self.tx)
        .await?;
        self.audit(Some(operator_id), actor, "registration.decided", &subject, v.audit.clone()).await
    }

    /// Counts a live capture refused for quality; the registration stays `created` so the clerk
    /// can capture again. Returns the attempts so far.
    pub async fn record_capture_retry(&mut self, id: &str, operator_id: &str, actor: &str, reasons: &[Reason]) -> Result<i64> {
        let done = sqlx::query("UPDATE registrations SET capture_attempts = capture_attempts + 1, updated_at = $1 WHERE id = $2 AND operator_id = $3 AND state = 'created'")
            .bind(self.now)
            .bind(id)
            .bind(operator_id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            let state = self.state_of(id, operator_id).await?;
            return Err(Conflict::CaptureAlreadyDone { id: id.into(), state }.into());
        }
        let row = sqlx::query("SELECT capture_attempts FROM registrations WHERE id = $1").bind(id).fetch_one(&mut *self.tx).await?;
        let attempts: i64 = get(&row, "capture_attempts")?;
        self.audit(
            Some(operator_id),
            actor,
            "registration.capture_retry",
            &format!("registration:{id}"),
            serde_json::json!({ "reasons": reasons.iter().map(|r| r.code).collect::<Vec<_>>(), "attempt": attempts }),
        )
        .await?;
        Ok(attempts)
    }

    /// A reviewer's decision on a case in review.
    pub async fn decide_review(
        &mut self,
        id: &str,
        operator_id: &str,
        reviewer: &str,
        approve: bool,
        comment: &str,
    ) -> Result<RegistrationState> {
        let to = if approve { RegistrationState::Approved } else { RegistrationState::Rejected };
        self.move_state(id, operator_id, &[RegistrationState::Review], to).await?;
        sqlx::query("UPDATE registrations SET review_comment = $1, reviewed_by = $2 WHERE id = $3")
            .bind(comment)
            .bind(reviewer)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        let details = serde_json::json!({ "decision": to.as_str() });
        self.audit(Some(operator_id), reviewer, "review.decided", &format!("registration:{id}"), details).await?;
        Ok(to)
    }

    /// Cancels a registration that has not been activated.
    pub async fn cancel_registration(&mut self, id: &str, operator_id: &str, actor: &str) -> Result<()> {
        use RegistrationState::*;
        self.move_state(id, operator_id, &[Created, Approved, Review], Cancelled).await?;
        self.audit(Some(operator_id), actor, "registration.cancelled", &format!("registration:{id}"), serde_json::json!({})).await
    }

    /// Activates a SIM on an approved registration, atomically within the document's SIM limit.
    pub async fn activate(&mut self, id: &str, operator_id: &str, actor: &str, sim: &SimRow, sim_limit: i64) -> Result<()> {
        self.move_state(id, operator_id, &[RegistrationState::Approved], RegistrationState::Activated).await?;
        let reg = sqlx::query("SELECT doc_type, doc_number FROM registrations WHERE id = $1").bind(id).fetch_one(&mut *self.tx).await?;
        let (doc_type, doc_number): (String, String) = (get(&reg, "doc_type")?, get(&reg, "doc_number")?);
        for (field, value) in [(SimField::Msisdn, &sim.msisdn), (SimField::Iccid, &sim.iccid), (SimField::Imsi, &sim.imsi)] {
            let col = field.as_str();
            let taken = sqlx::query(&format!("SELECT COUNT(*) AS n FROM sims WHERE {col} = $1 AND status = 'active'"))
                .bind(value)
                .fetch_one(&mut *self.tx)
                .await?;
            if get::<i64>(&taken, "n")? > 0 {
                return Err(Conflict::SimInUse { field }.into());
            }
        }
        sqlx::query(
            "INSERT INTO subscribers (id, operator_id, doc_type, doc_number, active_sims, created_at) VALUES ($1, $2, $3, $4, 0, $5) \
             ON CONFLICT (operator_id, doc_type, doc_number) DO NOTHING",
        )
        .bind(&sim.subscriber_id)
        .bind(operator_id)
        .bind(&doc_type)
        .bind(&doc_number)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        let counted = sqlx::query(
            "UPDATE subscribers SET active_sims = active_sims + 1 WHERE operator_id = $1 AND doc_type = $2 AND doc_number = $3 AND active_sims < $4",
        )
        .bind(operator_id)
        .bind(&doc_type)
        .bind(&doc_number)
        .bind(sim_limit)
        .execute(&mut *self.tx)
        .await?;
        if counted.rows_affected() == 0 {
            return Err(Conflict::SimLimitReached { limit: sim_limit }.into());
        }
        let sub = sqlx::query("SELECT id FROM subscribers WHERE operator_id = $1 AND doc_type = $2 AND doc_number = $3")
            .bind(operator_id)
            .bind(&doc_type)
            .bind(&doc_number)
            .fetch_one(&mut *self.tx)
            .await?;
        let subscriber_id: String = get(&sub, "id")?;
        sqlx::query(
            "INSERT INTO sims (id, msisdn, iccid, imsi, operator_id, subscriber_id, registration_id, status, activated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8)",
        )
        .bind(&sim.id)
        .bind(&sim.msisdn)
        .bind(&sim.iccid)
        .bind(&sim.imsi)
        .bind(operator_id)
        .bind(&subscriber_id)
        .bind(id)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE registrations SET msisdn = $1 WHERE id = $2").bind(&sim.msisdn).bind(id).execute(&mut *self.tx).await?;
        let details = serde_json::json!({ "sim": sim.id, "subscriber": subscriber_id });
        self.audit(Some(operator_id), actor, "sim.activated", &format!("registration:{id}"), details).await
    }
}
