//! Operational endpoints: health, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// The OpenAPI 3 document, kept beside the code and checked against the router by tests.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /healthz`: the process is up and the database answers.
pub async fn healthz(State(st): State<AppState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&st.db.pool).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!(error = %e, "health check: database");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "database unavailable" })))
        }
    }
}

/// `GET /metrics` (Prometheus text format).
pub async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    if let Err(e) = st.galleries.catch_up(&st.db, &st.vault).await {
        tracing::warn!(error = %e, "gallery: catching up for /metrics failed");
    }
    st.metrics.duplicate_target_fpir.set(st.config.duplicate_fpir);
    for (operator, n) in st.galleries.sizes() {
        let o = [operator.as_str()];
        st.metrics.gallery_templates.with_label_values(&o).set(n as i64);
        let c = st.duplicate_check(&operator);
        st.metrics.duplicate_threshold.with_label_values(&o).set(f64::from(c.threshold));
        st.metrics.duplicate_expected_fpir.with_label_values(&o).set(c.expected_fpir.unwrap_or(f64::NAN));
        st.metrics.duplicate_target_held.with_label_values(&o).set(i64::from(c.target_held));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render())
}

/// `GET /openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
