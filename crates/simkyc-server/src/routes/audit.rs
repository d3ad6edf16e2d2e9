//! The audit log for auditors: the operator's events, and the chain's verification status.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use simkyc_workflow::Permission;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// Paging of the audit listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Return events after this sequence number.
    pub after: Option<i64>,
    /// Most events (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// `GET /v1/audit`.
pub async fn list(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::ReadAudit)?;
    let events = st.db.audit_events(&p.operator_id, q.after.unwrap_or(0).max(0), q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    let next = events.last().map(|e| e.event.seq);
    Ok(Json(json!({ "events": events, "next_after": next })))
}

/// `GET /v1/audit/verify`: whether the whole chain is intact.
pub async fn verify(State(st): State<AppState>, Extension(p): Extension<Principal>) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::ReadAudit)?;
    Ok(Json(match st.db.verify_audit().await? {
        Ok(n) => json!({ "intact": true, "events": n }),
        Err(e) => json!({ "intact": false, "error": e.to_string() }),
    }))
}
