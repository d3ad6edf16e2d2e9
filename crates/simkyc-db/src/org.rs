//! Operators, their stores and their settings.

use serde::Serialize;
use simkyc_workflow::CaptureMode;

use crate::{get, Conflict, Database, DbError, Result, WriteTx};

/// An operator (mobile network) and its policy settings.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OperatorRow {
    /// Short id, e.g. `cmcc`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Most active SIMs one document may hold.
    pub sim_limit: i64,
    /// Capture-check mode for live frames.
    #[sqlx(try_from = "String")]
    pub capture_mode: CaptureMode,
}

/// A store (or kiosk) of an operator.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoreRow {
    /// Short id, e.g. `beijing-01`.
    pub id: String,
    /// Owning operator.
    pub operator_id: String,
    /// Display name.
    pub name: String,
    /// Capture mode overriding the operator's, if any.
    #[sqlx(try_from = "OptionalMode")]
    pub capture_mode: Option<CaptureMode>,
}

/// A nullable capture-mode column as read.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct OptionalMode(Option<String>);

impl TryFrom<OptionalMode> for Option<CaptureMode> {
    type Error = simkyc_workflow::capture::UnknownCaptureMode;
    fn try_from(m: OptionalMode) -> std::result::Result<Option<CaptureMode>, Self::Error> {
        m.0.map(CaptureMode::try_from).transpose()
    }
}

/// Whether a text is a usable short id: 1–64 lowercase letters, digits, `-` or `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Database {
    /// One operator.
    pub async fn operator(&self, id: &str) -> Result<OperatorRow> {
        sqlx::query_as("SELECT id, name, sim_limit, capture_mode FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("operator {id}")))
    }

    /// One store.
    pub async fn store(&self, id: &str) -> Result<StoreRow> {
        sqlx::query_as("SELECT id, operator_id, name, capture_mode FROM stores WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("store {id}")))
    }

    /// Creates the `default` operator and its `default` store when the database has no operator,
    /// so a fresh install works with no set-up.
    pub async fn ensure_default_operator(&self, sim_limit: i64, capture_mode: CaptureMode) -> Result<()> {
        let n = sqlx::query("SELECT COUNT(*) AS n FROM operators").fetch_one(&self.pool).await?;
        if get::<i64>(&n, "n")? > 0 {
            return Ok(());
        }
        let mut w = self.write().await?;
        let n = sqlx::query("SELECT COUNT(*) AS n FROM operators").fetch_one(&mut *w.tx).await?;
        if get::<i64>(&n, "n")? == 0 {
            w.create_operator("system", "default", "Default operator", sim_limit, capture_mode).await?;
            w.create_store("system", "default", "default", "Default store").await?;
        }
        w.commit().await
    }
}

impl WriteTx {
    /// Creates an operator.
    pub async fn create_operator(&mut self, actor: &str, id: &str, name: &str, sim_limit: i64, capture_mode: CaptureMode) -> Result<()> {
        if !valid_id(id) {
            return Err(DbError::InvalidId { kind: "operator", id: id.into() });
        }
        let done = sqlx::query(
            "INSERT INTO operators (id, name, sim_limit, capture_mode, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(sim_limit)
        .bind(capture_mode.as_str())
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Conflict::Exists { kind: "operator", id: id.into() }.into());
        }
        self.audit(
            Some(id),
            actor,
            "operator.created",
            &format!("operator:{id}"),
            serde_json::json!({ "sim_limit": sim_limit, "capture_mode": capture_mode.as_str() }),
        )
        .await
    }

    /// Creates a store of an operator.
    pub async fn create_store(&mut self, actor: &str, operator_id: &str, id: &str, name: &str) -> Result<()> {
        if !valid_id(id) {
            return Err(DbError::InvalidId { kind: "store", id: id.into() });
        }
        let op = sqlx::query("SELECT COUNT(*) AS n FROM operators WHERE id = $1").bind(operator_id).fetch_one(&mut *self.tx).await?;
        if get::<i64>(&op, "n")? == 0 {
            return Err(DbError::NotFound(format!("operator {operator_id}")));
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
            return Err(Conflict::Exists { kind: "store", id: id.into() }.into());
        }
        self.audit(Some(operator_id), actor, "store.created", &format!("store:{id}"), serde_json::json!({})).await
    }

    /// Sets or clears (None) a store's capture-mode override; the store must be the operator's.
    pub async fn set_store_capture_mode(
        &mut self,
        actor: &str,
        operator_id: &str,
        store_id: &str,
        mode: Option<CaptureMode>,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE stores SET capture_mode = $1 WHERE id = $2 AND operator_id = $3")
            .bind(mode.map(|m| m.as_str().to_string()))
            .bind(store_id)
            .bind(operator_id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound(format!("store {store_id}")));
        }
        self.audit(
            Some(operator_id),
            actor,
            "store.capture_mode_changed",
            &format!("store:{store_id}"),
            serde_json::json!({ "capture_mode": mode.map(CaptureMode::as_str) }),
        )
        .await
    }

    /// Changes an operator's policy settings.
    pub async fn update_operator_settings(&mut self, actor: &str, id: &str, sim_limit: i64, capture_mode: CaptureMode) -> Result<()> {
        let done = sqlx::query("UPDATE operators SET sim_limit = $1, capture_mode = $2 WHERE id = $3")
            .bind(sim_limit)
            .bind(capture_mode.as_str())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound(format!("operator {id}")));
        }
        self.audit(
            Some(id),
            actor,
            "operator.settings_changed",
            &format!("operator:{id}"),
            serde_json::json!({ "sim_limit": sim_limit, "capture_mode": capture_mode.as_str() }),
        )
        .await
    }
}
