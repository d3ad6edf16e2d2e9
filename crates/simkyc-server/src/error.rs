//! API errors: every failure leaves as JSON `{"error": {"code", "message", "reasons"}}` with a
//! fitting 4xx/5xx status; internal details are logged, not sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use simkyc_workflow::Reason;

/// An error answer.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: String,
    /// Plain-language explanation.
    pub message: String,
    /// Detailed reasons (document checks), when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, code: code.into(), message: message.into(), reasons: Vec::new() }
    }

    /// 400 Bad Request.
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 Unprocessable Entity: well-formed but unacceptable content.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 413 Payload Too Large.
    pub fn too_large(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 Service Unavailable: a part of the service is not installed or not ready.
    pub fn unavailable(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// 409 Conflict.
    pub fn conflict(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500, with the cause logged but not sent.
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(context, error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", format!("{context} failed; the error was logged"))
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ApiError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(Envelope { error: &self })).into_response()
    }
}

impl From<simkyc_db::DbError> for ApiError {
    fn from(e: simkyc_db::DbError) -> ApiError {
        use simkyc_db::DbError::*;
        match e {
            NotFound(what) => ApiError::not_found(format!("{what} not found")),
            e @ InvalidId { .. } => ApiError::unprocessable("id_invalid", e.to_string()),
            Conflict(c) => ApiError::conflict(c.code(), c.to_string()),
            other => ApiError::internal("storage", &other),
        }
    }
}

impl From<simkyc_vault::VaultError> for ApiError {
    fn from(e: simkyc_vault::VaultError) -> ApiError {
        ApiError::internal("decryption", &e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}
