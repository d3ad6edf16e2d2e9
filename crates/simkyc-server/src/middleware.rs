//! Cross-cutting request handling: body-size limit with a JSON 413, request metrics and
//! structured access logs (route templates, never paths that may hold personal data), and
//! idempotency keys.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{to_bytes, Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use sha2::{Digest, Sha256};
use simkyc_db::idempotency::Claim;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// Records metrics and an access-log line for every request.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let mut response = next.run(req).await;
    if state.config.tls() {
        // Browsers that once reached the console over HTTPS never try plain HTTP again.
        response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    let secs = start.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.requests.with_label_values(&[method.as_str(), &route, &status.to_string()]).inc();
    state.metrics.latency.with_label_values(&[method.as_str(), &route]).observe(secs);
    tracing::info!(method = %method, route = %route, status, ms = (secs * 1000.0).round() as u64, "request");
    response
}

/// Refuses bodies whose declared length exceeds the limit before reading them, gives up on a body
/// not received within `body_timeout_secs` (408), and announces `Connection: close` on any reply
/// sent before the request body was read to its end.
///
/// A route that refuses a request early (no key, wrong role, too large) never reads the body;
/// hyper then closes the connection after the reply. Without the header a keep-alive client
/// would put that socket back in its pool and lose its next request to an unexpected EOF.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.config.max_body_bytes) {
        return close_connection(
            ApiError::too_large("body_too_large", format!("the request body may be at most {} bytes", state.config.max_body_bytes))
                .into_response(),
        );
    }
    let (parts, body) = req.into_parts();
    let finished = Arc::new(AtomicBool::new(body.is_end_stream()));
    let timed_out = Arc::new(AtomicBool::new(false));
    let deadline = Box::pin(tokio::time::sleep(std::time::Duration::from_secs(state.config.body_timeout_secs)));
    let tracked = TrackedBody { inner: body, finished: finished.clone(), deadline, timed_out: timed_out.clone() };
    let response = next.run(Request::from_parts(parts, Body::new(tracked))).await;
    if timed_out.load(Ordering::Acquire) {
        state.metrics.refusals.with_label_values(&["body_timeout"]).inc();
        return close_connection(
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the request body did not arrive within {} s", state.config.body_timeout_secs),
            )
            .into_response(),
        );
    }
    if finished.load(Ordering::Acquire) {
        response
    } else {
        close_connection(response)
    }
}

fn close_connection(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that records when it has been read to its end, and fails once its deadline
/// passes before that.
struct TrackedBody {
    inner: Body,
    finished: Arc<AtomicBool>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_pending() && self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            self.finished.store(true, Ordering::Release);
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `Idempotency-Key` on a POST: the first request's response is stored and returned again for a
/// retry with the same key and body; a different body with the same key is refused.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (Some(key), true) = (key, req.method() == Method::POST) else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return ApiError::bad_request("idempotency_key_invalid", "Idempotency-Key must be 1-200 visible ASCII characters").into_response();
    }
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large("body_too_large", "the request body is larger than the server accepts").into_response(),
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.path().as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    match state.db.idempotency_claim(&principal.key_id, &key, &request_hash).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Claim::Mismatch) => {
            return ApiError::unprocessable("idempotency_key_reused", "this Idempotency-Key was already used for a different request")
                .into_response()
        }
        Ok(Claim::InProgress) => {
            return ApiError::conflict(
                "idempotency_in_progress",
                "the first request with this Idempotency-Key is still running; retry shortly",
            )
            .into_response()
        }
        Ok(Claim::Replay { status, body }) => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return r;
        }
        Ok(Claim::Fresh) => {}
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    if status.is_server_error() {
        if let Err(e) = state.db.idempotency_release(&principal.key_id, &key).await {
            tracing::error!(error = %e, "releasing an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return ApiError::internal("response buffering", &e).into_response(),
    };
    if let Err(e) = state.db.idempotency_finish(&principal.key_id, &key, status.as_u16(), &bytes).await {
        tracing::error!(error = %e, "storing an idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}
