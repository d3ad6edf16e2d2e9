//! Administration within one operator: staff keys and policy settings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use simkyc_workflow::{Permission, Role};

use crate::auth::{generate_key, Principal};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use simkyc_workflow::CaptureMode;

/// Body of key creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// Role of the new key.
    pub role: Role,
    /// Store (default: the admin's own store); must belong to the admin's operator.
    pub store: Option<String>,
    /// Who holds it.
    #[serde(default)]
    pub label: String,
}

/// `POST /v1/admin/keys`: the key is shown once in the answer.
pub async fn create_key(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Result<ApiJson<NewKeyRequest>, ApiError>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    p.require(Permission::Administer)?;
    let ApiJson(req) = body?;
    let store_id = req.store.unwrap_or_else(|| p.store_id.clone());
    let store = st.db.store(&store_id).await?;
    if store.operator_id != p.operator_id {
        return Err(ApiError::not_found(format!("store {store_id} not found")));
    }
    let label = req.label.chars().take(200).collect::<String>();
    let key = tokio::task::spawn_blocking(generate_key)
        .await
        .map_err(|e| ApiError::internal("key generation", &e))?
        .map_err(|e| ApiError::internal("key hashing", &e))?;
    let mut w = st.db.write().await?;
    let row = w.create_api_key(&p.actor(), &key.id, &key.hash, req.role.as_str(), &store_id, &label).await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": row.id, "key": key.token, "role": row.role, "store": row.store_id, "label": row.label }))))
}

/// `GET /v1/admin/keys`.
pub async fn list_keys(State(st): State<AppState>, Extension(p): Extension<Principal>) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Administer)?;
    Ok(Json(json!({ "keys": st.db.api_keys(Some(&p.operator_id)).await? })))
}

/// `POST /v1/admin/keys/{id}/revoke`.
pub async fn revoke_key(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Administer)?;
    let mut w = st.db.write().await?;
    w.revoke_api_key(&p.actor(), &id, Some(&p.operator_id)).await?;
    w.commit().await?;
    Ok(Json(json!({ "id": id, "revoked": true })))
}

/// `GET /v1/admin/settings`.
pub async fn settings(State(st): State<AppState>, Extension(p): Extension<Principal>) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Administer)?;
    let op = st.db.operator(&p.operator_id).await?;
    Ok(Json(json!({
        "operator": op.id, "sim_limit": op.sim_limit, "capture_mode": op.capture_mode,
        "retention_days": st.config.retention_days,
        "operating_points": {
            "default": st.face.points.default, "strict": st.face.points.strict, "embedder": st.face.thresholds.embedder,
            "live_flip": st.face.live_flip,
            // The points where the development people's own pairs reach each target, and the
            // confidence with which the thresholds above hold it on new people (docs/accuracy.md).
            "empirical": {
                "default": st.face.thresholds.default.empirical_threshold,
                "strict": st.face.thresholds.strict.empirical_threshold,
            },
            "confidence": st.face.thresholds.default.confidence,
        },
        "duplicate_check": st.duplicate_check(&p.operator_id),
    })))
}

/// Body of a settings change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// New SIM limit per document (1–1000).
    pub sim_limit: Option<i64>,
    /// New capture mode (`passive` or `off`).
    pub capture_mode: Option<String>,
}

/// `PUT /v1/admin/settings`.
pub async fn update_settings(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Result<ApiJson<SettingsRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Administer)?;
    let ApiJson(req) = body?;
    let op = st.db.operator(&p.operator_id).await?;
    let limit = req.sim_limit.unwrap_or(op.sim_limit);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::unprocessable("sim_limit_invalid", "sim_limit must be 1-1000"));
    }
    let mode = match req.capture_mode.as_deref() {
        None => op.capture_mode,
        Some(m) => CaptureMode::parse(m)
            .ok_or_else(|| ApiError::unprocessable("capture_mode_invalid", "capture_mode must be active, passive or off"))?,
    };
    let mut w = st.db.write().await?;
    w.update_operator_settings(&p.actor(), &p.operator_id, limit, mode).await?;
    w.commit().await?;
    settings(State(st), Extension(p)).await
}

/// Body of a store's capture-mode change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreModeRequest {
    /// `active`, `passive`, `off`, or null to follow the operator.
    pub capture_mode: Option<String>,
}

/// `PUT /v1/admin/stores/{id}/capture-mode`: a store's own capture mode (or back to the operator's).
pub async fn set_store_mode(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<ApiJson<StoreModeRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Administer)?;
    let ApiJson(req) = body?;
    let mode = match req.capture_mode.as_deref() {
        None => None,
        Some(m) => Some(
            CaptureMode::parse(m)
                .ok_or_else(|| ApiError::unprocessable("capture_mode_invalid", "capture_mode must be active, passive, off or null"))?,
        ),
    };
    let mut w = st.db.write().await?;
    w.set_store_capture_mode(&p.actor(), &p.operator_id, &id, mode).await?;
    w.commit().await?;
    Ok(Json(json!({ "store": id, "capture_mode": mode })))
}
