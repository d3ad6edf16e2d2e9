//! Operators, their stores and their settings.

use serde::Serialize;
use sqlx::any::AnyRow;

use crate::{get, Result, Store, StoreError, WriteTx};

/// An operator (mobile network) and its policy settings.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorRow {
    /// Short id, e.g. `cmcc`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Most active SIMs one document may hold.
    pub sim_limit: i64,
    /// Capture-check mode for live frames (`passive`, `off`).
    pub liveness_mode: String,
}

/// A store (or kiosk) of an operator.
#[derive(Debug, Clone, Serialize)]
pub struct StoreRow {
    /// Short id, e.g. `beijing-01`.
    pub id: String,
    /// Owning operator.
    pub operator_id: String,
    /// Display name.
    pub name: String,
    /// Capture mode overriding the operator's, if any.
    pub capture_mode: Option<String>,
}

fn operator(r: &AnyRow) -> Result<OperatorRow> {
    Ok(OperatorRow { id: get(r, "id")?, name: get(r, "name")?, sim_limit: get(r, "sim_limit")?, liveness_mode: get(r, "liveness_mode")? })
}

/// Whether a text is a usable short id: 1–64 lowercase letters, digits, `-` or `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Store {
    /// One operator.
    pub async fn operator(&self, id: &str) -> Result<OperatorRow> {
        let row = sqlx::query("SELECT id, name, sim_limit, liveness_mode FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("operator {id}")))?;
        operator(&row)
    }

    /// One store.
    pub async fn store(&self, id: &str) -> Result<StoreRow> {
        let r = sqlx::query("SELECT id, operator_id, name, capture_mode FROM stores WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("store {id}")))?;
        Ok(StoreRow {
            id: get(&r, "id")?,
            operator_id: get(&r, "operator_id")?,
            name: get(&r, "name")?,
            capture_mode: get(&r, "capture_mode")?,
        })
    }

    /// Creates the `default` operator and its `default` store when the database has no operator,
    /// so a fresh install works with no set-up.
    pub async fn ensure_default_operator(&self, sim_limit: i64, liveness_mode: &str) -> Result<()> {
        let n = sqlx::query("SELECT COUNT(*) AS n FROM operators").fetch_one(&self.pool).await?;
        if get::<i64>(&n, "n")? > 0 {
            return Ok(());
        }
        let mut w = self.write().await?;
        let n = sqlx::query("SELECT COUNT(*) AS n FROM operators").fetch_one(&mut *w.tx).await?;
        if get::<i64>(&n, "n")? == 0 {
            w.create_operator("system", "default", "Default operator", sim_limit, liveness_mode).await?;
            w.create_store("system", "default", "default", "Default store").await?;
        }
        w.commit().await
    }
}

impl WriteTx {
    /// Creates an operator.
    pub async fn create_operator(&mut self, actor: &str, id: &str, name: &str, sim_limit: i64, liveness_mode: &str) -> Result<()> {
        if !valid_id(id) {
            return Err(StoreError::Conflict(format!("operator id {id:?} must be 1-64 lowercase letters, digits, '-' or '_'")));
        }
        let done = sqlx::query("INSERT INTO operators (id, name, sim_limit, liveness_mode, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(name)
            .bind(sim_limit)
            .bind(liveness_mode)
            .bind(self.now)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("operator {id} already exists")));
        }
        self.audit(
            Some(id),
            actor,
            "operator.created",
            &format!("operator:{id}"),
            serde_json::json!({ "sim_limit": sim_limit, "liveness_mode": liveness_mode }),
        )
        .await
    }

    /// Creates a store of an operator.
    pub async fn create_store(&mut self, actor: &str, operator_id: &str, id: &str, name: &str) -> Result<()> {
        if !valid_id(id) {
            return Err(StoreError::Conflict(format!("store id {id:?} must be 1-64 lowercase letters, digits, '-' or '_'")));
        }
        let op = sqlx::query("SELECT COUNT(*) AS n FROM operators WHERE id = $1").bind(operator_id).fetch_one(&mut *self.tx).await?;
        if get::<i64>(&op, "n")? == 0 {
            return Err(StoreError::NotFound(format!("operator {operator_id}")));
        }
        let done =
            sqlx::query("INSERT INTO stores (id, operator_id, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
                .bind(id)
                .bind(operator_id)
                .bind(name)
                .bind(self.now)
                .execute(&mut *self.tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("store {id} already exists")));
        }
        self.audit(Some(operator_id), actor, "store.created", &format!("store:{id}"), serde_json::json!({})).await
    }

    /// Sets or clears (None) a store's capture-mode override; the store must be the operator's.
    pub async fn set_store_capture_mode(&mut self, actor: &str, operator_id: &str, store_id: &str, mode: Option<&str>) -> Result<()> {
        let done = sqlx::query("UPDATE stores SET capture_mode = $1 WHERE id = $2 AND operator_id = $3")
            .bind(mode.map(str::to_string))
            .bind(store_id)
            .bind(operator_id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("store {store_id}")));
        }
        self.audit(
            Some(operator_id),
            actor,
            "store.capture_mode_changed",
            &format!("store:{store_id}"),
            serde_json::json!({ "capture_mode": mode }),
        )
        .await
    }

    /// Changes an operator's policy settings.
    pub async fn update_operator_settings(&mut self, actor: &str, id: &str, sim_limit: i64, liveness_mode: &str) -> Result<()> {
        let done = sqlx::query("UPDATE operators SET sim_limit = $1, liveness_mode = $2 WHERE id = $3")
            .bind(sim_limit)
            .bind(liveness_mode)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("operator {id}")));
        }
        self.audit(
            Some(id),
            actor,
            "operator.settings_changed",
            &format!("operator:{id}"),
            serde_json::json!({ "sim_limit": sim_limit, "liveness_mode": liveness_mode }),
        )
        .await
    }
}
