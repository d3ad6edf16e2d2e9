//! Assembling and running the service: state from configuration, the router with its layers,
//! the retention task, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::Router;
use simkyc_db::Database;
use simkyc_face::runtime::Runtime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::{require_key, VerifiedKeys};
use crate::config::{Config, ConfigError};
use crate::error::ApiError;
use crate::face::FaceStack;
use crate::metrics::Metrics;
use crate::middleware::{idempotency, limit_body, observe};
use crate::routes::{admin, audit, console, documents, me, ops, registrations, review, sims};
use crate::state::{AppState, Inner};
use crate::vault::{KeyError, KeySource, Vault};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("database {url}: {cause}")]
    Database {
        /// URL (without password).
        url: String,
        /// Cause.
        cause: simkyc_db::DbError,
    },
    /// Vault keys.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Models or thresholds.
    #[error(transparent)]
    Face(#[from] simkyc_verify::LoadError),
    /// The 1:N galleries could not be loaded.
    #[error(transparent)]
    Gallery(#[from] crate::gallery::GalleryError),
    /// Filesystem or socket.
    #[error("{context}: {cause}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        cause: std::io::Error,
    },
    /// Anything else while starting.
    #[error("{0}")]
    Other(String),
}

/// A database URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Opens the database the configuration names (creating the data directory for SQLite).
pub async fn open_database(config: &Config) -> Result<Database, StartError> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|cause| StartError::Io { context: format!("creating {}", config.data_dir.display()), cause })?;
    }
    let db = Database::open(&url).await.map_err(|cause| StartError::Database { url: redact_url(&url), cause })?;
    db.ensure_default_operator(config.sim_limit, config.capture_mode)
        .await
        .map_err(|cause| StartError::Database { url: redact_url(&url), cause })?;
    Ok(db)
}

/// The vault key source the configuration names.
pub fn key_source(config: &Config) -> KeySource {
    let file = config.vault_keys_file.clone().unwrap_or_else(|| config.data_dir.join("vault.keys"));
    KeySource::resolve(&file)
}

/// Loads the face stack the configuration names (slow: models are read and planned).
pub async fn load_face(config: &Config) -> Result<Arc<FaceStack>, StartError> {
    let models_dir = config.models_dir.clone().unwrap_or_else(simkyc_models::cache::default_models_dir);
    let (thresholds, max_bytes, max_side, threads) =
        (config.thresholds.clone(), config.max_image_bytes, config.max_image_side, config.inference_threads);
    let (choice, runtime_threads, live_flip) = (config.runtime, config.runtime_threads, config.live_flip);
    let face = tokio::task::spawn_blocking(move || -> Result<FaceStack, StartError> {
        let runtime = Runtime::for_models_dir(choice, &models_dir, runtime_threads)
            .map_err(|e| StartError::Other(format!("inference runtime: {e}")))?;
        tracing::info!(runtime = %runtime.describe(), live_flip = %live_flip, "inference runtime");
        Ok(FaceStack::load(&models_dir, thresholds.as_deref(), max_bytes, max_side, threads, &runtime, live_flip)?)
    })
    .await
    .map_err(|e| StartError::Other(format!("loading models: {e}")))??;
    Ok(Arc::new(face))
}

/// Builds the shared state: database, vault, face stack, metrics.
pub async fn build_state(config: Config) -> Result<AppState, StartError> {
    config.validate()?;
    let face = load_face(&config).await?;
    build_state_with(config, face).await
}

/// Builds the shared state around an already loaded face stack (tests share one).
pub async fn build_state_with(config: Config, face: Arc<FaceStack>) -> Result<AppState, StartError> {
    config.validate()?;
    let db = open_database(&config).await?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|cause| StartError::Io { context: format!("creating {}", config.data_dir.display()), cause })?;
    let vault = Vault::load(key_source(&config))?;
    let metrics = Metrics::new().map_err(|e| StartError::Other(format!("metrics: {e}")))?;
    let galleries = crate::gallery::Galleries::load(&db, &vault, &face.template_model(), config.gallery_precision).await?;
    Ok(AppState {
        inner: Arc::new(Inner {
            limits: crate::limits::Limits::new(config.rate_limit_per_key, config.rate_limit_per_address, config.max_concurrent_uploads),
            config,
            db,
            face,
            vault,
            metrics,
            verified_keys: VerifiedKeys::default(),
            galleries,
        }),
    })
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /openapi.json",
    )
}

/// Every (method, path) the API serves; the OpenAPI document is checked against this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/"),
    ("GET", "/console/{file}"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/v1/me"),
    ("POST", "/v1/quality"),
    ("POST", "/v1/documents/read"),
    ("POST", "/v1/registrations"),
    ("GET", "/v1/registrations/{id}"),
    ("POST", "/v1/registrations/{id}/capture"),
    ("POST", "/v1/registrations/{id}/activate"),
    ("POST", "/v1/registrations/{id}/cancel"),
    ("GET", "/v1/reviews"),
    ("GET", "/v1/reviews/{id}"),
    ("POST", "/v1/reviews/{id}/decision"),
    ("POST", "/v1/sims/{msisdn}/terminate"),
    ("POST", "/v1/subscribers/lookup"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/audit/verify"),
    ("GET", "/v1/admin/keys"),
    ("POST", "/v1/admin/keys"),
    ("POST", "/v1/admin/keys/{id}/revoke"),
    ("GET", "/v1/admin/settings"),
    ("PUT", "/v1/admin/settings"),
    ("PUT", "/v1/admin/stores/{id}/capture-mode"),
];

/// Adds a new active vault key (to the key file; with `SIMKYC_VAULT_KEYS` the operator puts it
/// first) and re-encrypts every stored envelope with it. Older keys stay in the ring so servers
/// started before the rotation keep reading. Returns the number of values re-encrypted.
pub async fn rotate_keys(config: &Config) -> Result<u64, StartError> {
    let db = open_database(config).await?;
    let source = key_source(config);
    if let KeySource::File(path) = &source {
        let old = source.read()?;
        let kept: String =
            old.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).map(|l| format!("{l}\n")).collect();
        crate::vault::write_key_file(path, &format!("{}\n{}\n{kept}", crate::vault::KEY_FILE_HEADER, crate::vault::new_key_line()))?;
    }
    let ring = source.load()?;
    let active = ring.active_id().to_string();
    let n = db
        .reseal_all("cli", |aad, env| {
            let id = simkyc_vault::KeyRing::key_id_of(env).map_err(|e| e.to_string())?;
            if id == active {
                return Ok(None);
            }
            ring.reseal(env, aad).map(Some).map_err(|e| e.to_string())
        })
        .await
        .map_err(|cause| StartError::Database { url: redact_url(&config.database_url()), cause })?;
    db.close().await;
    Ok(n)
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let authed = Router::new()
        .route("/openapi.json", get(ops::openapi))
        .route("/metrics", get(ops::metrics))
        .route("/v1/me", get(me::me))
        .route("/v1/quality", post(me::quality))
        .route("/v1/documents/read", post(documents::read))
        .route("/v1/registrations", post(registrations::start))
        .route("/v1/registrations/{id}", get(registrations::get))
        .route("/v1/registrations/{id}/capture", post(registrations::capture))
        .route("/v1/registrations/{id}/activate", post(registrations::activate))
        .route("/v1/registrations/{id}/cancel", post(registrations::cancel))
        .route("/v1/reviews", get(review::queue))
        .route("/v1/reviews/{id}", get(review::case))
        .route("/v1/reviews/{id}/decision", post(review::decide))
        .route("/v1/sims/{msisdn}/terminate", post(sims::terminate))
        .route("/v1/subscribers/lookup", post(sims::lookup))
        .route("/v1/audit", get(audit::list))
        .route("/v1/audit/verify", get(audit::verify))
        .route("/v1/admin/keys", get(admin::list_keys).post(admin::create_key))
        .route("/v1/admin/keys/{id}/revoke", post(admin::revoke_key))
        .route("/v1/admin/settings", get(admin::settings).put(admin::update_settings))
        .route("/v1/admin/stores/{id}/capture-mode", put(admin::set_store_mode))
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state(state.clone(), require_key));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/", get(console::index))
        .route("/console/{file}", get(console::file))
        .merge(authed)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), limit_body))
        .layer(from_fn_with_state(state.clone(), crate::limits::enforce))
        .layer(from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

fn spawn_retention(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(state.config.purge_interval_secs.max(60)));
        loop {
            tick.tick().await;
            state.limits.forget_idle();
            let now = simkyc_db::now_ms();
            let cutoff = now - state.config.retention_days as i64 * 86_400_000;
            match state.db.purge_photos(cutoff, "system").await {
                Ok(n) if n > 0 => tracing::info!(registrations = n, "retention: photos purged"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
            if let Err(e) = state.db.idempotency_expire(now - state.config.idempotency_hours as i64 * 3_600_000).await {
                tracing::error!(error = %e, "expiring idempotency keys failed");
            }
            let keep_failures = simkyc_db::LIVENESS_FAILURES_KEEP_MS.max(state.config.lockout_window_secs.saturating_mul(1000) as i64);
            if let Err(e) = state.db.expire_liveness_failures(now - keep_failures).await {
                tracing::error!(error = %e, "expiring liveness failures failed");
            }
        }
    })
}

/// A server running in the background (tests, embedding).
pub struct Running {
    /// Bound address.
    pub addr: SocketAddr,
    /// Shared state (database, engine).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds and serves in the background until [`Running::shutdown`].
pub async fn start(state: AppState) -> Result<Running, StartError> {
    let listener = TcpListener::bind(&state.config.listen)
        .await
        .map_err(|cause| StartError::Io { context: format!("listening on {}", state.config.listen), cause })?;
    let addr = listener.local_addr().map_err(|cause| StartError::Io { context: "reading the bound address".into(), cause })?;
    let c = &state.config;
    let tls = match (&c.tls_cert, &c.tls_key) {
        (Some(cert), Some(key)) => Some(crate::listen::tls_acceptor(cert, key).map_err(|e| StartError::Other(format!("TLS: {e}")))?),
        _ => None,
    };
    if tls.is_none() && !c.insecure_http && !crate::listen::plain_http_allowed(&addr) {
        return Err(StartError::Other(format!(
            "refusing plain HTTP on {addr}: give --tls-cert and --tls-key, or --insecure-http when a TLS-terminating proxy sits in front"
        )));
    }
    let options = crate::listen::ListenOptions {
        tls,
        header_timeout: Duration::from_secs(c.header_timeout_secs),
        drain_timeout: Duration::from_secs(60),
    };
    let (tx, rx) = oneshot::channel::<()>();
    let app = router(state.clone());
    let retention = spawn_retention(state.clone());
    let task = tokio::spawn(async move {
        crate::listen::serve(listener, app, options, async move {
            let _ = rx.await;
        })
        .await;
        retention.abort();
    });
    Ok(Running { addr, state, stop: Some(tx), task })
}

/// Waits for Ctrl-C or SIGTERM. The handlers are installed when this is called (not when the
/// future is first polled), so a signal right after start-up is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
}
