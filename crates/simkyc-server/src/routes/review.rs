//! The manual-review queue: list the open cases, show one (both photos, scores, reasons, the
//! resembling registrations), decide it with a comment. Every case view is audited as a read of
//! biometric data.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use simkyc_db::aad;
use simkyc_workflow::{Permission, RegistrationState};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::registrations::view;
use crate::state::AppState;

/// Query of the queue listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Most cases to return (default 50, at most 500).
    pub limit: Option<i64>,
}

/// `GET /v1/reviews`: open cases, oldest first.
pub async fn queue(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<QueueQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::ReadReviewCase)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = st.db.registrations_in_state(&p.operator_id, RegistrationState::Review, limit).await?;
    let cases: Vec<_> = rows.iter().map(view).collect();
    Ok(Json(json!({ "cases": cases })))
}

fn photo(st: &AppState, enc: &Option<Vec<u8>>, column: &str, id: &str) -> Result<Option<String>, ApiError> {
    enc.as_ref()
        .map(|e| st.vault.open(e, &aad("registrations", column, id)).map(|b| base64::engine::general_purpose::STANDARD.encode(b)))
        .transpose()
        .map_err(ApiError::from)
}

/// The 1:N hits recorded with a decision (none before a decision, or without hits).
#[derive(Deserialize)]
struct RecordedHits {
    #[serde(default)]
    duplicates: Vec<simkyc_workflow::DuplicateHit>,
}

/// `GET /v1/reviews/{id}`: one case with both photos and the scores.
pub async fn case(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::ReadReviewCase)?;
    let r = st.db.registration(&id, &p.operator_id).await?;
    let hits: RecordedHits = serde_json::from_value(r.scores.0.clone()).map_err(|e| ApiError::internal("stored scores", &e))?;
    let mut resembling = Vec::new();
    for d in hits.duplicates {
        let other_id = d.registration_id.as_str();
        if let Ok(other) = st.db.registration(other_id, &p.operator_id).await {
            resembling.push(json!({
                "registration_id": other_id,
                "score": d.score,
                "document_type": other.doc_type,
                "state": other.state,
                "live_photo": photo(&st, &other.live_photo_enc, "live_photo_enc", other_id)?,
            }));
        }
    }
    let name = st.vault.open(&r.name_enc, &aad("registrations", "name_enc", &id))?;
    let mut w = st.db.write().await?;
    let read: Vec<&str> = resembling.iter().filter_map(|d| d["registration_id"].as_str()).collect();
    w.audit(
        Some(&p.operator_id),
        &p.actor(),
        "biometrics.read",
        &format!("registration:{id}"),
        json!({ "purpose": "review", "also": read }),
    )
    .await?;
    w.commit().await?;
    let mut v = view(&r);
    v["document"]["name"] = json!(String::from_utf8_lossy(&name));
    v["document"]["number"] = json!(r.doc_number);
    v["scores"] = r.scores.0.clone();
    v["document_photo"] = json!(photo(&st, &r.doc_photo_enc, "doc_photo_enc", &id)?);
    v["live_photo"] = json!(photo(&st, &r.live_photo_enc, "live_photo_enc", &id)?);
    v["resembling"] = json!(resembling);
    Ok(Json(v))
}

/// Body of a review decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why (required, kept with the case).
    pub comment: String,
}

/// `POST /v1/reviews/{id}/decision`.
pub async fn decide(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<ApiJson<ReviewDecision>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::DecideReview)?;
    let ApiJson(req) = body?;
    let approve = match req.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::unprocessable("review_decision_invalid", format!("decision must be approve or reject, not {other:?}")))
        }
    };
    let comment = req.comment.trim();
    if comment.is_empty() || comment.chars().count() > 2000 {
        return Err(ApiError::unprocessable("review_comment_required", "give a comment (1-2000 characters) saying why"));
    }
    let mut w = st.db.write().await?;
    w.decide_review(&id, &p.operator_id, &p.actor(), approve, comment).await?;
    w.commit().await?;
    Ok(Json(view(&st.db.registration(&id, &p.operator_id).await?)))
}
