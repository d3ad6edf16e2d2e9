//! Abuse limits in front of every route: token-bucket rate limits per API key and per client
//! address (429 with `Retry-After`), and a cap on request bodies being received at once (503
//! with `Retry-After`). Each refusal is counted in `simkyc_refusals_total`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::state::AppState;

/// The limiters of a running server.
pub struct Limits {
    per_key: Option<DefaultKeyedRateLimiter<String>>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    uploads: Arc<Semaphore>,
}

fn quota(per_second: u32) -> Option<Quota> {
    // A burst of two seconds' worth: a console polling framing feedback and then capturing
    // stays well inside it.
    let rate = NonZeroU32::new(per_second)?;
    Some(Quota::per_second(rate).allow_burst(rate.saturating_mul(NonZeroU32::MIN.saturating_add(1))))
}

impl Limits {
    /// Limiters for `per_key` and `per_address` requests a second (0: no limit) and at most
    /// `uploads` request bodies received at once.
    pub fn new(per_key: u32, per_address: u32, uploads: usize) -> Limits {
        Limits {
            per_key: quota(per_key).map(RateLimiter::keyed),
            per_address: quota(per_address).map(RateLimiter::keyed),
            uploads: Arc::new(Semaphore::new(uploads.max(1))),
        }
    }

    /// Forgets buckets that are full again (run now and then, so idle clients cost no memory).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_key {
            l.retain_recent();
        }
        if let Some(l) = &self.per_address {
            l.retain_recent();
        }
    }
}

/// The key id of a bearer token, unverified (only for bucketing; authentication comes later).
fn key_bucket(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    crate::auth::key_id_of(token.trim()).map(str::to_string)
}

fn refused(status: StatusCode, code: &str, message: String, retry_after_secs: u64) -> Response {
    let mut r = ApiError::new(status, code, message).into_response();
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    r
}

/// Applies the rate limits and the upload cap.
pub async fn enforce(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &st.limits;
    let clock = DefaultClock::default();
    if let (Some(l), Some(ConnectInfo(addr))) = (&limits.per_address, req.extensions().get::<ConnectInfo<SocketAddr>>()) {
        if let Err(not_until) = l.check_key(&addr.ip()) {
            st.metrics.refusals.with_label_values(&["rate_limited_address"]).inc();
            let wait = not_until.wait_time_from(clock.now()).as_secs_f64().ceil() as u64;
            return refused(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests from this address; slow down".into(), wait);
        }
    }
    if let (Some(l), Some(key)) = (&limits.per_key, key_bucket(&req)) {
        if let Err(not_until) = l.check_key(&key) {
            st.metrics.refusals.with_label_values(&["rate_limited_key"]).inc();
            let wait = not_until.wait_time_from(clock.now()).as_secs_f64().ceil() as u64;
            return refused(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests with this key; slow down".into(), wait);
        }
    }
    let has_body = req.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(req).await;
    }
    let Ok(_permit) = limits.uploads.clone().try_acquire_owned() else {
        st.metrics.refusals.with_label_values(&["uploads_busy"]).inc();
        let mut r = refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            format!("the server is receiving {} uploads already; retry shortly", st.config.max_concurrent_uploads),
            1,
        );
        r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    };
    next.run(req).await
}
