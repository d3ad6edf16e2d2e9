//! SIM contracts: ending one (and with the last one the subscriber's biometrics), and the
//! subscriber's own lookup of the numbers registered to their document.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use simkyc_docs::cn_id;
use simkyc_workflow::{DocumentType, Permission};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// `POST /v1/sims/{msisdn}/terminate`.
pub async fn terminate(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(msisdn): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::TerminateSim)?;
    let msisdn = simkyc_sim::msisdn(&msisdn).map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let mut w = st.db.write().await?;
    let t = w.terminate(&msisdn, &p.operator_id, &p.actor()).await?;
    w.commit().await?;
    Ok(Json(
        json!({ "msisdn": msisdn, "status": "terminated", "remaining_active_sims": t.remaining_active_sims, "biometrics_deleted": t.biometrics_deleted }),
    ))
}

/// Which document to look up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupDocument {
    /// Document type.
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// Resident ID number, or `ISSUER:NUMBER` for MRZ documents (as registrations store them).
    pub number: String,
}

/// Body of the self-lookup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// The subscriber's document (checked by the clerk in person).
    pub document: LookupDocument,
}

/// `POST /v1/subscribers/lookup`: the numbers registered to a document at this operator (a POST,
/// so the document number stays out of URLs and access logs).
pub async fn lookup(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Result<ApiJson<LookupRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::LookupSubscriber)?;
    let ApiJson(req) = body?;
    let mut number = req.document.number.trim().to_string();
    if req.document.doc_type == DocumentType::CnResidentId {
        let today = simkyc_docs::Date::today_utc();
        number = cn_id::validate(&number, today).map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?.number;
    } else if number.is_empty() || number.len() > 64 {
        return Err(ApiError::unprocessable("document_number_invalid", "give the document as ISSUER:NUMBER, e.g. CHN:E12345678"));
    }
    let sims = st.db.sims_of_document(&p.operator_id, req.document.doc_type.as_str(), &number).await?;
    let mut w = st.db.write().await?;
    w.audit(Some(&p.operator_id), &p.actor(), "subscriber.lookup", "subscriber", json!({ "results": sims.len() })).await?;
    w.commit().await?;
    let list: Vec<_> = sims
        .iter()
        .map(|s| {
            json!({
                "msisdn": s.msisdn, "status": s.status,
                "activated_at": simkyc_db::rfc3339(s.activated_at),
                "terminated_at": s.terminated_at.map(simkyc_db::rfc3339),
            })
        })
        .collect();
    Ok(Json(json!({ "active": sims.iter().filter(|s| s.status == "active").count(), "sims": list })))
}
