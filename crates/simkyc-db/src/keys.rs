//! Staff API keys: stored as argon2 hashes (the secret never is), each with a role and a store.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::FromRow;

use crate::{get, Database, DbError, Result, WriteTx};

/// A stored key (its hash, not the secret).
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct ApiKeyRow {
    /// Public key id (the part of the key before the secret).
    pub id: String,
    /// argon2 PHC string of the whole key.
    #[serde(skip)]
    pub secret_hash: String,
    /// Role name.
    pub role: String,
    /// Operator the key acts for.
    pub operator_id: String,
    /// Store the key belongs to.
    pub store_id: String,
    /// Free label (who holds it).
    pub label: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Revocation time (ms), if revoked.
    pub revoked_at: Option<i64>,
}

fn key(r: &AnyRow) -> Result<ApiKeyRow> {
    Ok(ApiKeyRow::from_row(r)?)
}

const COLUMNS: &str = "id, secret_hash, role, operator_id, store_id, label, created_at, revoked_at";

impl Database {
    /// A key by id, revoked or not.
    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(key).transpose()
    }

    /// Keys of an operator (all operators when `None`).
    pub async fn api_keys(&self, operator_id: Option<&str>) -> Result<Vec<ApiKeyRow>> {
        let rows = match operator_id {
            Some(op) => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE operator_id = $1 ORDER BY created_at"))
                    .bind(op)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at")).fetch_all(&self.pool).await?,
        };
        rows.iter().map(key).collect()
    }
}

impl WriteTx {
    /// Stores a new key for a store (its operator is the store's).
    pub async fn create_api_key(
        &mut self,
        actor: &str,
        id: &str,
        secret_hash: &str,
        role: &str,
        store_id: &str,
        label: &str,
    ) -> Result<ApiKeyRow> {
        let st = sqlx::query("SELECT operator_id FROM stores WHERE id = $1")
            .bind(store_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("store {store_id}")))?;
        let operator_id: String = get(&st, "operator_id")?;
        sqlx::query(
            "INSERT INTO api_keys (id, secret_hash, role, operator_id, store_id, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(secret_hash)
        .bind(role)
        .bind(&operator_id)
        .bind(store_id)
        .bind(label)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        self.audit(Some(&operator_id), actor, "key.created", &format!("key:{id}"), serde_json::json!({ "role": role, "store": store_id }))
            .await?;
        Ok(ApiKeyRow {
            id: id.into(),
            secret_hash: secret_hash.into(),
            role: role.into(),
            operator_id,
            store_id: store_id.into(),
            label: label.into(),
            created_at: self.now,
            revoked_at: None,
        })
    }

    /// Revokes a key; `operator_id` restricts it to keys of that operator.
    pub async fn revoke_api_key(&mut self, actor: &str, id: &str, operator_id: Option<&str>) -> Result<()> {
        let row = sqlx::query("SELECT operator_id FROM api_keys WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("active key {id}")))?;
        let owner: String = get(&row, "operator_id")?;
        if operator_id.is_some_and(|op| op != owner) {
            return Err(DbError::NotFound(format!("active key {id}")));
        }
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2").bind(self.now).bind(id).execute(&mut *self.tx).await?;
        self.audit(Some(&owner), actor, "key.revoked", &format!("key:{id}"), serde_json::json!({})).await
    }
}
