//! Retention purge and key rotation: the sweeps over stored photos and encrypted columns.

use sqlx::Row;

use crate::{get, Database, Result};

/// Every encrypted column: (table, primary key, column).
pub const ENCRYPTED_COLUMNS: &[(&str, &str, &str)] = &[
    ("registrations", "id", "name_enc"),
    ("registrations", "id", "doc_photo_enc"),
    ("registrations", "id", "live_photo_enc"),
    ("registrations", "id", "doc_template_enc"),
    ("registrations", "id", "live_template_enc"),
];

impl Database {
    /// Deletes raw photos of registrations created before `cutoff_ms`, and the templates of those
    /// that never enrolled (enrolled templates live until the contract ends). Returns how many
    /// registrations were purged; audited as one `photos.purged` event.
    pub async fn purge_photos(&self, cutoff_ms: i64, actor: &str) -> Result<u64> {
        let mut w = self.write().await?;
        let photos = sqlx::query(
            "UPDATE registrations SET doc_photo_enc = NULL, live_photo_enc = NULL, photos_purged_at = $1, updated_at = $1 \
             WHERE created_at < $2 AND (doc_photo_enc IS NOT NULL OR live_photo_enc IS NOT NULL)",
        )
        .bind(w.now)
        .bind(cutoff_ms)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        let templates = sqlx::query(
            "UPDATE registrations SET doc_template_enc = NULL, live_template_enc = NULL, updated_at = $1 \
             WHERE created_at < $2 AND state <> 'activated' AND (doc_template_enc IS NOT NULL OR live_template_enc IS NOT NULL)",
        )
        .bind(w.now)
        .bind(cutoff_ms)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if photos + templates > 0 {
            let details =
                serde_json::json!({ "registrations": photos, "unenrolled_templates": templates, "cutoff": crate::rfc3339(cutoff_ms) });
            w.audit(None, actor, "photos.purged", "registrations", details).await?;
            w.commit().await?;
        }
        Ok(photos)
    }

    /// Re-encrypts every encrypted value with `reseal(aad, envelope)`, in batches, one
    /// transaction per row so a long rotation never holds the database. Returns values changed.
    pub async fn reseal_all(
        &self,
        actor: &str,
        mut reseal: impl FnMut(&[u8], &[u8]) -> std::result::Result<Option<Vec<u8>>, String>,
    ) -> Result<u64> {
        let mut changed = 0u64;
        for &(table, pk, col) in ENCRYPTED_COLUMNS {
            let rows = sqlx::query(&format!("SELECT {pk} AS pk FROM {table} WHERE {col} IS NOT NULL")).fetch_all(&self.pool).await?;
            for r in rows {
                let id: String = get(&r, "pk")?;
                let mut w = self.write().await?;
                let row = sqlx::query(&format!("SELECT {col} AS v FROM {table} WHERE {pk} = $1")).bind(&id).fetch_one(&mut *w.tx).await?;
                let Some(value) = row.try_get::<Option<Vec<u8>>, _>("v").map_err(crate::DbError::Db)? else { continue };
                let aad = crate::aad(table, col, &id);
                match reseal(&aad, &value).map_err(|e| crate::DbError::Corrupt(format!("{table}.{col} of {id}: {e}")))? {
                    Some(new) => {
                        sqlx::query(&format!("UPDATE {table} SET {col} = $1 WHERE {pk} = $2"))
                            .bind(new)
                            .bind(&id)
                            .execute(&mut *w.tx)
                            .await?;
                        w.tx.commit().await?;
                        changed += 1;
                    }
                    None => drop(w),
                }
            }
        }
        let mut w = self.write().await?;
        w.audit(None, actor, "keys.rotated", "vault", serde_json::json!({ "values_resealed": changed })).await?;
        w.commit().await?;
        Ok(changed)
    }
}
