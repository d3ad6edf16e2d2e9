//! Who the caller is, and a quality check of one frame for the console's live feedback.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use simkyc_verify::capture::check_frames;
use simkyc_verify::Depth;
use simkyc_workflow::{CaptureMode, Permission};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{image_bytes, ApiJson};
use crate::face::image_error;
use crate::state::AppState;

/// `GET /v1/me`: the key's role, operator and store (the console shows what the role may do).
pub async fn me(Extension(p): Extension<Principal>) -> Json<serde_json::Value> {
    Json(json!({ "key_id": p.key_id, "role": p.role, "operator": p.operator_id, "store": p.store_id }))
}

/// Body of a quality check.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityRequest {
    /// One frame, base64.
    pub frame: String,
}

/// `POST /v1/quality`: the capture checks on one live frame, without storing anything, so the
/// clerk can correct the pose before capturing.
pub async fn quality(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Result<ApiJson<QualityRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Register)?;
    let ApiJson(req) = body?;
    let bytes = image_bytes("frame", &req.frame, st.config.max_image_bytes)?;
    // Framing feedback only: no embedding and no liveness score (the verdict comes with the capture).
    let a = st.face.analyse(bytes, Depth::Framing).await?.map_err(|e| image_error("frame", &e))?;
    let reasons = check_frames(CaptureMode::Passive, &st.config.capture_limits(st.face.points), std::slice::from_ref(&a));
    let face = a.analysis.subject.as_ref().map(|s| json!({ "left": s.face.left, "top": s.face.top, "right": s.face.right, "bottom": s.face.bottom, "inter_eye_px": s.inter_eye_px }));
    Ok(Json(json!({ "ok": reasons.is_empty(), "reasons": reasons, "width": a.analysis.width, "height": a.analysis.height, "face": face })))
}
