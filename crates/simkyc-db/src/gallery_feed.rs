//! What the in-memory 1:N galleries are loaded and kept in step from: the enrolled templates
//! (live templates of activated registrations, of one template model), page by page, and the
//! audit events since a sequence number that change them. The audit sequence serves as the
//! galleries' generation counter: every write transaction takes the audit head first, so events
//! commit in sequence order, and a server that has applied every change up to the head's
//! sequence holds exactly the enrolled templates at that point, whichever server wrote them.

use crate::{get, Database, Result};

/// One enrolled template of an operator's 1:N gallery.
#[derive(Debug, Clone)]
pub struct GalleryEntry {
    /// Operator whose gallery holds it.
    pub operator_id: String,
    /// Registration that enrolled it.
    pub registration_id: String,
    /// Identity it belongs to.
    pub doc_type: String,
    /// Identity it belongs to.
    pub doc_number: String,
    /// Encrypted template.
    pub template_enc: Vec<u8>,
}

/// Audit actions after which a registration's place in the gallery may have changed.
const CHANGES: &str = "'sim.activated', 'biometrics.deleted', 'registration.reenrolled', 'registration.recapture_needed'";

const ENROLLED: &str = "SELECT operator_id, id, doc_type, doc_number, live_template_enc FROM registrations \
     WHERE state = 'activated' AND live_template_enc IS NOT NULL AND template_model = $1";

fn entry(r: &sqlx::any::AnyRow) -> Result<GalleryEntry> {
    Ok(GalleryEntry {
        operator_id: get(r, "operator_id")?,
        registration_id: get(r, "id")?,
        doc_type: get(r, "doc_type")?,
        doc_number: get(r, "doc_number")?,
        template_enc: get(r, "live_template_enc")?,
    })
}

impl Database {
    /// The next `limit` enrolled templates of `template_model` (every operator) after
    /// registration id `after`, in id order: the galleries are loaded page by page.
    pub async fn enrolled_page(&self, template_model: &str, after: &str, limit: i64) -> Result<Vec<GalleryEntry>> {
        let rows = sqlx::query(&format!("{ENROLLED} AND id > $2 ORDER BY id LIMIT $3"))
            .bind(template_model)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }

    /// One registration's enrolled template of `template_model`, or None when it has none
    /// (not activated, biometrics deleted, another model).
    pub async fn enrolled(&self, template_model: &str, registration_id: &str) -> Result<Option<GalleryEntry>> {
        let row =
            sqlx::query(&format!("{ENROLLED} AND id = $2")).bind(template_model).bind(registration_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(entry).transpose()
    }

    /// The audit sequence number of the last committed event.
    pub async fn audit_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT last_seq FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
        get(&row, "last_seq")
    }

    /// Registrations whose place in the gallery may have changed between audit sequence numbers
    /// `after` (exclusive) and `upto` (inclusive): activated, re-enrolled or re-capture marked
    /// registrations, and every registration of a subscriber whose biometrics were deleted.
    pub async fn gallery_changes(&self, after: i64, upto: i64) -> Result<Vec<String>> {
        let rows =
            sqlx::query(&format!("SELECT subject FROM audit_events WHERE seq > $1 AND seq <= $2 AND action IN ({CHANGES}) ORDER BY seq"))
                .bind(after)
                .bind(upto)
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::new();
        for r in &rows {
            let subject: String = get(r, "subject")?;
            if let Some(id) = subject.strip_prefix("registration:") {
                out.push(id.to_string());
            } else if let Some(sub) = subject.strip_prefix("subscriber:") {
                let regs = sqlx::query(
                    "SELECT r.id FROM registrations r JOIN subscribers s ON r.operator_id = s.operator_id AND r.doc_type = s.doc_type \
                     AND r.doc_number = s.doc_number WHERE s.id = $1",
                )
                .bind(sub)
                .fetch_all(&self.pool)
                .await?;
                for reg in &regs {
                    out.push(get(reg, "id")?);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
