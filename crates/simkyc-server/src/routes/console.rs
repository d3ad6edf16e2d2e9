//! The clerk's web console: static assets built into the binary (no CDN, no fonts, nothing
//! fetched at run time), served at `/`. The assets hold no data; everything they show comes from
//! the API with the signed-in key, so the API's role checks are the protection.

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const INDEX: &str = include_str!("../../console/index.html");
const APP_JS: &str = include_str!("../../console/app.js");
const APP_CSS: &str = include_str!("../../console/app.css");
const ZH_CN: &str = include_str!("../../console/i18n/zh-CN.json");
const EN: &str = include_str!("../../console/i18n/en.json");

/// Content security policy: only our own scripts and styles; camera frames and photos as
/// blob:/data: URLs.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static("camera=(self), microphone=()"));
    r
}

/// `GET /`: the console page.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

/// `GET /console/{file}`: scripts, styles, message files.
pub async fn file(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "app.js" => asset("text/javascript; charset=utf-8", APP_JS),
        "app.css" => asset("text/css; charset=utf-8", APP_CSS),
        "zh-CN.json" => asset("application/json", ZH_CN),
        "en.json" => asset("application/json", EN),
        _ => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such console file").into_response(),
    }
}
