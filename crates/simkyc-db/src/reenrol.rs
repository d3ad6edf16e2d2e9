//! Re-enrolment after an engine upgrade: the registrations whose templates another model made,
//! their templates replaced (recomputed by the caller from the stored photos) or, where the
//! photos are already purged, the registration marked as needing a new live capture.

use crate::{get, Database, Result, WriteTx};

/// A registration holding templates of a model other than the one in use.
#[derive(Debug, Clone)]
pub struct StaleTemplates {
    /// Registration id.
    pub id: String,
    /// Its operator.
    pub operator_id: String,
    /// Its state.
    pub state: String,
    /// The model that made its templates (none: made before templates were tagged).
    pub template_model: Option<String>,
    /// Whether it holds a document template.
    pub has_doc_template: bool,
    /// Whether it holds a live template.
    pub has_live_template: bool,
    /// Whether the document photo is still retained.
    pub has_doc_photo: bool,
    /// Whether the live photo is still retained.
    pub has_live_photo: bool,
    /// Already marked as needing a new capture.
    pub recapture_needed: bool,
}

impl StaleTemplates {
    /// Every template it holds can be recomputed from a retained photo.
    pub fn can_reenrol(&self) -> bool {
        (!self.has_doc_template || self.has_doc_photo) && (!self.has_live_template || self.has_live_photo)
    }
}

fn flag(sql_col: &str, name: &str) -> String {
    format!("CAST(CASE WHEN {sql_col} IS NULL THEN 0 ELSE 1 END AS BIGINT) AS {name}")
}

impl Database {
    /// Registrations (of every operator) whose templates were not made by `model`, oldest first.
    pub async fn stale_templates(&self, model: &str) -> Result<Vec<StaleTemplates>> {
        let sql = format!(
            "SELECT id, operator_id, state, template_model, recapture_needed, {}, {}, {}, {} FROM registrations \
             WHERE (doc_template_enc IS NOT NULL OR live_template_enc IS NOT NULL) AND (template_model IS NULL OR template_model <> $1) \
             ORDER BY created_at",
            flag("doc_template_enc", "has_doc_template"),
            flag("live_template_enc", "has_live_template"),
            flag("doc_photo_enc", "has_doc_photo"),
            flag("live_photo_enc", "has_live_photo"),
        );
        let rows = sqlx::query(&sql).bind(model).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(StaleTemplates {
                    id: get(r, "id")?,
                    operator_id: get(r, "operator_id")?,
                    state: get(r, "state")?,
                    template_model: get(r, "template_model")?,
                    has_doc_template: get::<i64>(r, "has_doc_template")? != 0,
                    has_live_template: get::<i64>(r, "has_live_template")? != 0,
                    has_doc_photo: get::<i64>(r, "has_doc_photo")? != 0,
                    has_live_photo: get::<i64>(r, "has_live_photo")? != 0,
                    recapture_needed: get::<i64>(r, "recapture_needed")? != 0,
                })
            })
            .collect()
    }

    /// The encrypted document and live photos of a registration (either may be purged).
    pub async fn registration_photos(&self, id: &str) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>)> {
        let row = sqlx::query("SELECT doc_photo_enc, live_photo_enc FROM registrations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| crate::DbError::NotFound(format!("registration {id}")))?;
        Ok((get(&row, "doc_photo_enc")?, get(&row, "live_photo_enc")?))
    }
}

impl WriteTx {
    /// Replaces the templates of a registration still on model `from` with ones made by `model`
    /// (a template the registration does not hold stays absent). Returns false, changing nothing,
    /// when the registration moved on meanwhile (another model, or its templates deleted).
    pub async fn reenrol(
        &mut self,
        actor: &str,
        s: &StaleTemplates,
        model: &str,
        doc: Option<Vec<u8>>,
        live: Option<Vec<u8>>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE registrations SET doc_template_enc = CASE WHEN doc_template_enc IS NULL THEN NULL ELSE $1 END, \
             live_template_enc = CASE WHEN live_template_enc IS NULL THEN NULL ELSE $2 END, template_model = $3, recapture_needed = 0, updated_at = $4 \
             WHERE id = $5 AND COALESCE(template_model, '') = $6 AND (doc_template_enc IS NOT NULL OR live_template_enc IS NOT NULL)",
        )
        .bind(doc)
        .bind(live)
        .bind(model)
        .bind(self.now)
        .bind(&s.id)
        .bind(s.template_model.clone().unwrap_or_default())
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Ok(false);
        }
        let details = serde_json::json!({ "from": s.template_model, "to": model });
        self.audit(Some(&s.operator_id), actor, "registration.reenrolled", &format!("registration:{}", s.id), details).await?;
        Ok(true)
    }

    /// Marks a registration whose templates another model made, and whose photos are purged, as
    /// needing a new live capture. Its old templates stay (they are never compared with the new
    /// model's) until its SIMs end or the operator returns to the old model.
    pub async fn mark_recapture(&mut self, actor: &str, s: &StaleTemplates) -> Result<()> {
        sqlx::query("UPDATE registrations SET recapture_needed = 1, updated_at = $1 WHERE id = $2")
            .bind(self.now)
            .bind(&s.id)
            .execute(&mut *self.tx)
            .await?;
        let details = serde_json::json!({ "template_model": s.template_model });
        self.audit(Some(&s.operator_id), actor, "registration.recapture_needed", &format!("registration:{}", s.id), details).await
    }
}
