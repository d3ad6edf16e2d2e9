//! `POST /v1/documents/read`: reads an identity document from photos so the console can fill
//! the registration form for the clerk to confirm. Nothing is stored: the photos and what was
//! read live only for this request.

use std::time::Instant;

use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use simkyc_docs::Date;
use simkyc_workflow::Permission;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{image_bytes, ApiJson};
use crate::face::image_error;
use crate::scan::{scan, Scan, ScanError, ScanInput};
use crate::state::AppState;

/// Body of a document read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The photos.
    #[serde(flatten)]
    pub photos: ScanInput,
}

/// Maps a failed scan to an API error naming the field.
pub fn scan_error(e: ScanError) -> ApiError {
    match e {
        ScanError::Image(field, e) => image_error(field, &e),
        ScanError::Ocr(simkyc_ocr::OcrError::Image(m)) => ApiError::unprocessable("document_unreadable", m),
        ScanError::Ocr(e) => ApiError::internal("document reading", &e),
    }
}

/// Decodes the scan's photos and reads them on the inference pool.
pub async fn run_scan(st: &AppState, photos: &ScanInput) -> Result<Scan, ApiError> {
    let front = image_bytes("front", &photos.front, st.config.max_image_bytes)?;
    let back = photos.back.as_deref().map(|b| image_bytes("back", b, st.config.max_image_bytes)).transpose()?;
    st.face.read_document(move |reader, limits| scan(reader, limits, &front, back.as_deref(), Date::today_utc())).await?.map_err(scan_error)
}

/// The printed portrait as JPEG bytes, when the front gave one.
pub fn portrait_jpeg(s: &Scan) -> Option<Vec<u8>> {
    let p = s.card.as_ref()?.portrait.as_ref()?;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(p).ok()?;
    Some(out)
}

/// `POST /v1/documents/read` (clerk): the fields read, each with its confidence; the ID number
/// checked against GB 11643-1999 (a number failing its check character is never returned as
/// valid); birth date and sex checked against the number; an MRZ's check digits; the printed
/// portrait cropped from the front, marked as a printed (weaker) reference; and the form fields
/// to prefill.
pub async fn read(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Result<ApiJson<ReadRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Register)?;
    let ApiJson(req) = body?;
    let started = Instant::now();
    let s = run_scan(&st, &req.photos).await?;
    let mut out = s.to_json();
    out["portrait"] = match portrait_jpeg(&s) {
        Some(jpeg) => json!({ "reference": "printed", "image": base64::engine::general_purpose::STANDARD.encode(jpeg) }),
        None => serde_json::Value::Null,
    };
    out["elapsed_ms"] = json!((started.elapsed().as_secs_f64() * 1000.0).round());
    st.metrics.document_reads.with_label_values(&[out["type"].as_str().unwrap_or("unknown")]).inc();
    Ok(Json(out))
}
