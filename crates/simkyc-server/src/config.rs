//! Server configuration: built-in defaults, then a TOML file, then `SIMKYC_*` environment
//! variables, then command-line flags (each later source wins).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything `simkyc serve` can be told. See docs/configuration.md for each field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory for the SQLite file and the generated vault key.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; default: SQLite file `simkyc.db` in `data_dir`.
    pub database_url: Option<String>,
    /// Installed models (default: `simkyc models fetch`'s directory).
    pub models_dir: Option<PathBuf>,
    /// Calibrated thresholds file (default: the built-in calibration).
    pub thresholds: Option<PathBuf>,
    /// Vault key file (`id:hex` lines, first is active); default `data_dir/vault.keys`,
    /// generated on first start. `SIMKYC_VAULT_KEYS` (same format) takes precedence.
    pub vault_keys_file: Option<PathBuf>,
    /// SIM limit per document of the operator created on first start.
    pub sim_limit: i64,
    /// Capture-check mode of the operator created on first start (`active`, `passive` or `off`).
    pub capture_mode: simkyc_workflow::CaptureMode,
    /// Inference runtime: `auto` (onnxruntime where `simkyc models fetch` installed its
    /// library, tract otherwise), `tract` or `onnxruntime`.
    pub runtime: simkyc_face::runtime::RuntimeChoice,
    /// Intra-op threads per model run on onnxruntime (1: one request per core, see
    /// `inference_threads`).
    pub runtime_threads: usize,
    /// Days raw photos are kept.
    pub retention_days: u32,
    /// Seconds between purge runs.
    pub purge_interval_secs: u64,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Largest single image (decoded from base64), bytes.
    pub max_image_bytes: usize,
    /// Largest image side, pixels.
    pub max_image_side: u32,
    /// Most live frames per capture.
    pub max_frames: usize,
    /// Smallest inter-eye distance accepted in a live frame, pixels.
    pub min_live_eye_px: f64,
    /// Smallest inter-eye distance accepted in a document photo, pixels.
    pub min_document_eye_px: f64,
    /// Minutes a registration may wait for its capture.
    pub capture_ttl_minutes: u32,
    /// Face analyses run at once (default: CPU cores).
    pub inference_threads: usize,
    /// Hours an idempotency key is remembered.
    pub idempotency_hours: u32,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Quality limits for live frames (docs/quality.md); `min_eye_px` is `min_live_eye_px`.
    pub quality: simkyc_face::quality::QualityLimits,
    /// Passive liveness threshold on 1 − antispoof (docs/liveness.md).
    pub liveness_threshold: f32,
    /// Eye aspect ratio below which the eyes count as closed.
    pub eyes_closed_ear: f32,
    /// Most frames of an active-challenge capture.
    pub challenge_max_frames: usize,
    /// Seconds an active challenge stays valid after the registration starts.
    pub challenge_ttl_secs: u64,
    /// Actions an active challenge draws from (2-3 different ones per registration): `blink`,
    /// `turn_left`, `turn_right`, `open_mouth`, `nod`; at least two.
    pub challenge_actions: Vec<String>,
    /// Failed liveness checks from one device (API key) that lock it out…
    pub lockout_failures: usize,
    /// …within this many seconds (and for this long after the first of them).
    pub lockout_window_secs: u64,
    /// TLS certificate chain (PEM); with `tls_key`, the server speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy only).
    pub insecure_http: bool,
    /// Seconds a client may take to send a request's headers (and the TLS handshake).
    pub header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body.
    pub body_timeout_secs: u64,
    /// Requests a second one API key may make (twice that as a burst); 0: no limit.
    pub rate_limit_per_key: u32,
    /// Requests a second one client address may make (twice that as a burst); 0: no limit.
    pub rate_limit_per_address: u32,
    /// Request bodies received (and handled) at once; more are refused with 503.
    pub max_concurrent_uploads: usize,
    /// How the in-memory 1:N galleries hold templates: f32, f16 or int8 (docs/scale.md).
    pub gallery_precision: simkyc_gallery::Precision,
    /// How live frames are embedded: `always` with their mirror (flip averaging; `true`),
    /// `never` (`false`: half the embedding cost of a capture, a little FNMR lost) or
    /// `near-threshold` (with the mirror only when the score lies near a threshold, where it could
    /// change the decision); document photos keep it either way (docs/configuration.md).
    pub live_flip: simkyc_verify::LiveFlip,
    /// Target false-positive identification rate of the 1:N duplicate check: the share of
    /// registrations of a face not yet enrolled that are sent to review as possible duplicates.
    /// The threshold is chosen for it at each operator's gallery size (docs/scale.md).
    pub duplicate_fpir: f64,
}

/// The default data directory: `$XDG_DATA_HOME/simkyc/data` or `~/.local/share/simkyc/data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("simkyc/data");
    }
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".local/share/simkyc/data")
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: default_data_dir(),
            database_url: None,
            models_dir: None,
            thresholds: None,
            vault_keys_file: None,
            sim_limit: 5,
            capture_mode: simkyc_workflow::CaptureMode::Active,
            runtime: simkyc_face::runtime::RuntimeChoice::Auto,
            runtime_threads: 1,
            retention_days: 30,
            purge_interval_secs: 3600,
            max_body_bytes: 32 * 1024 * 1024,
            max_image_bytes: 8 * 1024 * 1024,
            max_image_side: 8192,
            max_frames: 5,
            min_live_eye_px: simkyc_verify::capture::MIN_LIVE_EYE_PX,
            min_document_eye_px: simkyc_verify::document::MIN_DOCUMENT_EYE_PX,
            capture_ttl_minutes: 15,
            inference_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            idempotency_hours: 24,
            log_format: "text".into(),
            quality: simkyc_face::quality::QualityLimits::LIVE,
            liveness_threshold: simkyc_face::liveness::PASSIVE_THRESHOLD,
            eyes_closed_ear: simkyc_verify::capture::EYES_CLOSED_EAR,
            challenge_max_frames: 30,
            challenge_ttl_secs: 120,
            challenge_actions: simkyc_face::challenge::Action::ALL.iter().map(|a| a.as_str().to_string()).collect(),
            lockout_failures: 5,
            lockout_window_secs: 180,
            tls_cert: None,
            tls_key: None,
            insecure_http: false,
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            rate_limit_per_key: 20,
            rate_limit_per_address: 100,
            max_concurrent_uploads: 64,
            gallery_precision: simkyc_gallery::Precision::Int8,
            live_flip: simkyc_verify::LiveFlip::Always,
            duplicate_fpir: 0.01,
        }
    }
}

/// A configuration problem, named precisely.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {cause}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        cause: std::io::Error,
    },
    /// The file is not valid configuration.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// Variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

fn env_parse<T: std::str::FromStr>(name: &'static str, slot: &mut T) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Ok(v) = std::env::var(name) {
        *slot = v.trim().parse().map_err(|e: T::Err| ConfigError::Env { name, message: e.to_string() })?;
    }
    Ok(())
}

impl Config {
    /// Defaults, overridden by the file (if given) and then by the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut c = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read { path: path.into(), cause })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?
            }
            None => Config::default(),
        };
        env_parse("SIMKYC_LISTEN", &mut c.listen)?;
        env_parse("SIMKYC_DATA_DIR", &mut c.data_dir)?;
        if let Ok(v) = std::env::var("SIMKYC_DATABASE_URL") {
            c.database_url = Some(v);
        }
        if let Ok(v) = std::env::var("SIMKYC_MODELS_DIR") {
            c.models_dir = Some(v.into());
        }
        if let Ok(v) = std::env::var("SIMKYC_VAULT_KEYS_FILE") {
            c.vault_keys_file = Some(v.into());
        }
        env_parse("SIMKYC_SIM_LIMIT", &mut c.sim_limit)?;
        env_parse("SIMKYC_CAPTURE_MODE", &mut c.capture_mode)?;
        env_parse("SIMKYC_RETENTION_DAYS", &mut c.retention_days)?;
        env_parse("SIMKYC_MAX_BODY_BYTES", &mut c.max_body_bytes)?;
        env_parse("SIMKYC_INFERENCE_THREADS", &mut c.inference_threads)?;
        env_parse("SIMKYC_RUNTIME", &mut c.runtime)?;
        env_parse("SIMKYC_RUNTIME_THREADS", &mut c.runtime_threads)?;
        env_parse("SIMKYC_LOG_FORMAT", &mut c.log_format)?;
        if let Ok(v) = std::env::var("SIMKYC_TLS_CERT") {
            c.tls_cert = Some(v.into());
        }
        if let Ok(v) = std::env::var("SIMKYC_TLS_KEY") {
            c.tls_key = Some(v.into());
        }
        env_parse("SIMKYC_INSECURE_HTTP", &mut c.insecure_http)?;
        env_parse("SIMKYC_RATE_LIMIT_PER_KEY", &mut c.rate_limit_per_key)?;
        env_parse("SIMKYC_RATE_LIMIT_PER_ADDRESS", &mut c.rate_limit_per_address)?;
        env_parse("SIMKYC_MAX_CONCURRENT_UPLOADS", &mut c.max_concurrent_uploads)?;
        env_parse("SIMKYC_GALLERY_PRECISION", &mut c.gallery_precision)?;
        env_parse("SIMKYC_LIVE_FLIP", &mut c.live_flip)?;
        env_parse("SIMKYC_DUPLICATE_FPIR", &mut c.duplicate_fpir)?;
        Ok(c)
    }

    /// Checks ranges and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if !(1..=1000).contains(&self.sim_limit) {
            return bad(format!("sim_limit must be 1-1000, not {}", self.sim_limit));
        }
        if self.max_frames == 0 || self.max_frames > 30 {
            return bad("max_frames must be 1-30".into());
        }
        if self.max_image_bytes > self.max_body_bytes {
            return bad("max_image_bytes cannot exceed max_body_bytes".into());
        }
        if !(0.0..=1.0).contains(&self.liveness_threshold) || !(0.0..=0.5).contains(&self.eyes_closed_ear) {
            return bad("liveness_threshold must be 0-1 and eyes_closed_ear 0-0.5".into());
        }
        if self.inference_threads == 0 {
            return bad("inference_threads must be at least 1".into());
        }
        if !(1..=64).contains(&self.runtime_threads) {
            return bad("runtime_threads must be 1-64".into());
        }
        if let Some(a) = self.challenge_actions.iter().find(|a| simkyc_face::challenge::Action::parse(a).is_none()) {
            return bad(format!("challenge_actions: unknown action {a:?} (blink, turn_left, turn_right, open_mouth, nod)"));
        }
        if self.challenge_pool().len() < 2 {
            return bad("challenge_actions must name at least two different actions".into());
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return bad("tls_cert and tls_key go together".into());
        }
        if self.header_timeout_secs == 0 || self.body_timeout_secs == 0 || self.max_concurrent_uploads == 0 {
            return bad("header_timeout_secs, body_timeout_secs and max_concurrent_uploads must be at least 1".into());
        }
        if !(self.duplicate_fpir > 0.0 && self.duplicate_fpir < 1.0) {
            return bad(format!("duplicate_fpir must be a rate between 0 and 1, not {}", self.duplicate_fpir));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("log_format must be text or json".into());
        }
        Ok(())
    }

    /// The capture checks' limits at the pipeline's operating points.
    pub fn capture_limits(&self, points: simkyc_workflow::MatchPoints) -> simkyc_verify::CaptureLimits {
        simkyc_verify::CaptureLimits {
            min_eye_px: self.min_live_eye_px,
            same_person: simkyc_verify::capture::same_person_threshold(points),
            quality: self.quality,
            liveness: self.liveness_threshold,
            eyes_closed: self.eyes_closed_ear,
        }
    }

    /// The distinct actions an active challenge may ask for, in the configured order.
    pub fn challenge_pool(&self) -> Vec<simkyc_face::challenge::Action> {
        let mut pool = Vec::new();
        for a in self.challenge_actions.iter().filter_map(|a| simkyc_face::challenge::Action::parse(a)) {
            if !pool.contains(&a) {
                pool.push(a);
            }
        }
        pool
    }

    /// Whether the server speaks TLS.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| simkyc_db::sqlite_url(&self.data_dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simkyc_verify::LiveFlip;

    #[test]
    fn live_flip_reads_names_and_the_older_booleans() {
        let read = |t: &str| toml::from_str::<Config>(t).map(|c| c.live_flip);
        assert_eq!(Config::default().live_flip, LiveFlip::Always);
        assert_eq!(read("live_flip = \"near-threshold\"").expect("name"), LiveFlip::NearThreshold);
        assert_eq!(read("live_flip = \"never\"").expect("name"), LiveFlip::Never);
        assert_eq!(read("live_flip = false").expect("bool"), LiveFlip::Never);
        assert_eq!(read("live_flip = true").expect("bool"), LiveFlip::Always);
        let err = read("live_flip = \"sometimes\"").expect_err("refused").to_string();
        assert!(err.contains("near-threshold"), "{err}");
    }
}
