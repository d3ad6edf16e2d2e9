//! Request extraction with our error format: malformed JSON, unknown fields, wrong types, a
//! missing content type and oversize bodies each get their own status and code.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body (like `axum::Json`) whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Maps axum's JSON rejections to API errors.
pub fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => {
            ApiError::unprocessable("json_invalid", format!("the request body does not fit the schema: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request("json_malformed", format!("the request body is not valid JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type_unsupported",
            "send the body as JSON with the header Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large("body_too_large", "the request body is larger than the server accepts (max_body_bytes)")
        }
        other => ApiError::bad_request("body_unreadable", other.body_text()),
    }
}

/// Decodes one base64 image field (a `data:` URL prefix is allowed), within the size limit.
pub fn image_bytes(field: &str, text: &str, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    let b64 = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,").map(|(_, d)| d).ok_or_else(|| {
            ApiError::unprocessable("image_base64_invalid", format!("{field}: a data URL must be data:<type>;base64,<data>"))
        })?,
        None => text,
    };
    if b64.len() / 4 * 3 > max_bytes + 3 {
        return Err(ApiError::too_large("image_too_large", format!("{field}: images may be at most {max_bytes} bytes")));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| ApiError::unprocessable("image_base64_invalid", format!("{field} is not valid base64: {e}")))?;
    if bytes.is_empty() {
        return Err(ApiError::unprocessable("image_missing", format!("{field} is empty")));
    }
    Ok(bytes)
}
