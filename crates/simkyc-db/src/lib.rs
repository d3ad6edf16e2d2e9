//! Storage for the registration service. One SQL dialect serves both backends through sqlx's
//! `Any` driver: an embedded SQLite file (the zero-set-up default) or PostgreSQL (production).
//!
//! Every write happens in a [`WriteTx`], which first takes the audit-chain head row: that row
//! lock orders all writers (SQLite has one writer anyway; PostgreSQL waits on the row), so the
//! audit chain never forks and counts read inside the transaction (active SIMs) cannot go stale.

mod audit_log;
mod gallery_feed;
mod keys;
mod lockout;
mod org;
mod registrations;
mod schema;
mod sims;
mod write;

pub mod backup;
pub mod idempotency;
pub mod maintenance;
pub mod reenrol;

pub use audit_log::AuditEventRow;
pub use gallery_feed::GalleryEntry;
pub use keys::ApiKeyRow;
pub use lockout::KEEP_MS as LIVENESS_FAILURES_KEEP_MS;
pub use org::{OperatorRow, StoreRow};
pub use registrations::{NewRegistration, RegistrationRow, Verdict};
pub use sims::{SimRow, Termination};
pub use write::WriteTx;

use simkyc_workflow::RegistrationState;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Storage failures, carried to a clear message at the edge.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A row did not have the expected shape.
    #[error("database row: {0}")]
    Corrupt(String),
    /// The record does not exist (or belongs to another operator).
    #[error("{0} not found")]
    NotFound(String),
    /// A short id (operator, store) that is not 1–64 lowercase letters, digits, `-` or `_`.
    #[error("{kind} id {id:?} must be 1-64 lowercase letters, digits, '-' or '_'")]
    InvalidId {
        /// What the id names (`operator`, `store`).
        kind: &'static str,
        /// The id given.
        id: String,
    },
    /// The change conflicts with the record's current state.
    #[error("{0}")]
    Conflict(#[from] Conflict),
    /// A backup or restore could not be made or checked.
    #[error("backup: {0}")]
    Backup(String),
}

/// Why a change conflicts with what is stored; each has a stable code for the API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Conflict {
    /// An operator or store with this id exists.
    #[error("{kind} {id} already exists")]
    Exists {
        /// What the id names.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The registration is in a state the change does not start from.
    #[error("registration {id} is {from}; it cannot become {to}")]
    State {
        /// Registration.
        id: String,
        /// Its current state.
        from: RegistrationState,
        /// The state asked for.
        to: RegistrationState,
    },
    /// The registration's capture was already taken (decided, or cancelled).
    #[error("registration {id} is {state}")]
    CaptureAlreadyDone {
        /// Registration.
        id: String,
        /// Its current state.
        state: RegistrationState,
    },
    /// A SIM identifier (MSISDN, ICCID, IMSI) is active on another SIM.
    #[error("this {} is already active on another SIM", .field.as_str().to_uppercase())]
    SimInUse {
        /// Which identifier.
        field: SimField,
    },
    /// The document holds the operator's limit of active SIMs.
    #[error("this document already holds {limit} active SIM(s), the operator's limit")]
    SimLimitReached {
        /// The limit.
        limit: i64,
    },
}

impl Conflict {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::Exists { .. } => "already_exists",
            Conflict::State { .. } => "state_conflict",
            Conflict::CaptureAlreadyDone { .. } => "capture_already_done",
            Conflict::SimInUse { field: SimField::Msisdn } => "msisdn_in_use",
            Conflict::SimInUse { field: SimField::Iccid } => "iccid_in_use",
            Conflict::SimInUse { field: SimField::Imsi } => "imsi_in_use",
            Conflict::SimLimitReached { .. } => "sim_limit_reached",
        }
    }
}

/// The identifiers of a SIM that are unique among active SIMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimField {
    /// The phone number.
    Msisdn,
    /// The card id.
    Iccid,
    /// The subscriber identity.
    Imsi,
}

impl SimField {
    /// Column name.
    pub fn as_str(self) -> &'static str {
        match self {
            SimField::Msisdn => "msisdn",
            SimField::Iccid => "iccid",
            SimField::Imsi => "imsi",
        }
    }
}

/// A JSON text column read as its type (a malformed value is a decode error, never a default).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonText<T>(pub T);

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonText<T> {
    type Error = serde_json::Error;
    fn try_from(s: String) -> std::result::Result<JsonText<T>, serde_json::Error> {
        serde_json::from_str(&s).map(JsonText)
    }
}

impl<T> std::ops::Deref for JsonText<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::Serialize> serde::Serialize for JsonText<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A 0/1 INTEGER column read as a flag (sqlx's `Any` driver decodes booleans only from
/// boolean columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(v: i64) -> Flag {
        Flag(v != 0)
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DbError>;

/// The database: a pool and the backend it talks to.
#[derive(Clone, Debug)]
pub struct Database {
    /// Connection pool (any backend).
    pub pool: AnyPool,
    /// Which backend.
    pub backend: Backend,
}

/// Current time in milliseconds since 1970 (UTC).
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Milliseconds since 1970 as RFC 3339 UTC text.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Associated data that binds an encrypted column value to its row, so an envelope copied into
/// another row or column fails to open.
pub fn aad(table: &str, column: &str, id: &str) -> Vec<u8> {
    format!("simkyc/{table}.{column}/{id}").into_bytes()
}

pub(crate) fn get<T>(row: &AnyRow, col: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get::<T, _>(col).map_err(|e| DbError::Corrupt(format!("column {col}: {e}")))
}

impl Database {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<Database> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::UnsupportedUrl(url.to_string()));
        };
        let options = AnyPoolOptions::new().acquire_timeout(std::time::Duration::from_secs(60));
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                options
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute("PRAGMA busy_timeout = 60000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            // Every commit is fsynced before the request is answered, so an
                            // acknowledged write survives power loss too, not only a killed
                            // process (docs/operations.md; tests/chaos.rs).
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(url).await?,
        };
        let db = Database { pool, backend };
        schema::migrate(&db).await?;
        Ok(db)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The SQLite URL of the default database file in a data directory.
pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}", data_dir.join("simkyc.db").display())
}
