//! `simkyc serve` and the admin tasks that work on the service's database directly
//! (`admin`, `audit verify`, `keys rotate`, `purge`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use simkyc_db::Database;
use simkyc_server::app::{key_source, open_database};
use simkyc_server::auth::generate_key;
use simkyc_server::vault::{KeySource, Vault};
use simkyc_server::Config;
use simkyc_workflow::Role;

/// Where the service's configuration and database are.
#[derive(clap::Args, Clone, Debug)]
pub struct ServiceArgs {
    /// Configuration file (TOML); see docs/configuration.md.
    #[arg(long, env = "SIMKYC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite file, generated vault key).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long)]
    pub database_url: Option<String>,
}

impl ServiceArgs {
    /// The configuration: file, then environment, then these flags.
    pub fn config(&self) -> Result<Config> {
        let mut c = Config::load(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            c.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            c.database_url = Some(u.clone());
        }
        Ok(c)
    }
}

/// Options of `simkyc serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// TLS certificate chain (PEM): serve HTTPS only (with --tls-key).
    #[arg(long, requires = "tls_key", env = "SIMKYC_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert", env = "SIMKYC_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
    #[arg(long)]
    insecure_http: bool,
}

/// The multi-threaded runtime the service commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

fn init_logs(format: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn serve(a: ServeArgs) -> Result<ExitCode> {
    let mut config = a.service.config()?;
    if let Some(l) = a.listen {
        config.listen = l;
    }
    if a.tls_cert.is_some() {
        config.tls_cert = a.tls_cert;
        config.tls_key = a.tls_key;
    }
    config.insecure_http |= a.insecure_http;
    init_logs(&config.log_format);
    // One server per SQLite file: the lock also keeps `simkyc restore` from replacing it.
    let _lock = match simkyc_db::backup::sqlite_path(&config.database_url()) {
        Some(db) => match crate::cmd_backup::lock_database(&db)? {
            Some(lock) => Some(lock),
            None => bail!("another simkyc server is using {}", db.display()),
        },
        None => None,
    };
    runtime()?.block_on(async move {
        let state = simkyc_server::build_state(config).await?;
        let stop = simkyc_server::app::shutdown_signal();
        let running = simkyc_server::start(state).await?;
        let db = simkyc_server::app::redact_url(&running.state.config.database_url());
        tracing::info!(addr = %running.addr, database = %db, "simkyc serving");
        let scheme = if running.state.config.tls() { "https" } else { "http" };
        println!("simkyc listening on {scheme}://{}", running.addr);
        stop.await;
        tracing::info!("shutting down: finishing requests in flight");
        running.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn database(a: &ServiceArgs) -> Result<(Config, Database)> {
    let c = a.config()?;
    let s = open_database(&c).await?;
    Ok((c, s))
}

/// `simkyc admin …`
#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Create a staff API key and print it (shown once).
    CreateKey {
        #[command(flatten)]
        service: ServiceArgs,
        /// clerk, reviewer, auditor or admin.
        #[arg(long)]
        role: String,
        /// Store the key belongs to (default: `default`).
        #[arg(long, default_value = "default")]
        store: String,
        /// Who holds the key.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a key by its id.
    RevokeKey {
        #[command(flatten)]
        service: ServiceArgs,
        /// Key id (the part after `sk_`).
        id: String,
    },
    /// List keys (never their secrets).
    ListKeys {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Create an operator.
    CreateOperator {
        #[command(flatten)]
        service: ServiceArgs,
        /// Short id.
        id: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Active SIMs per document.
        #[arg(long, default_value_t = 5)]
        sim_limit: i64,
    },
    /// Re-enrol templates made by another model (after an engine upgrade) from the retained
    /// photos; registrations whose photos are purged are marked as needing a new live capture.
    Reenrol {
        #[command(flatten)]
        service: ServiceArgs,
        /// Report what would be done, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create a store of an operator.
    CreateStore {
        #[command(flatten)]
        service: ServiceArgs,
        /// Short id.
        id: String,
        /// Owning operator.
        #[arg(long)]
        operator: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
    },
}

/// Runs an admin command.
pub fn admin(cmd: AdminCmd) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        match cmd {
            AdminCmd::CreateKey { service, role, store: store_id, label } => {
                let Some(role) = Role::parse(&role) else { bail!("--role must be clerk, reviewer, auditor or admin, not {role:?}") };
                let (_, s) = database(&service).await?;
                let key = generate_key().map_err(|e| anyhow::anyhow!("hashing the key: {e}"))?;
                let mut w = s.write().await?;
                let row = w.create_api_key("cli", &key.id, &key.hash, role.as_str(), &store_id, &label).await?;
                w.commit().await?;
                eprintln!(
                    "created {} key {} for store {} (operator {}); it is shown only now:",
                    row.role, row.id, row.store_id, row.operator_id
                );
                println!("{}", key.token);
            }
            AdminCmd::RevokeKey { service, id } => {
                let (_, s) = database(&service).await?;
                let mut w = s.write().await?;
                w.revoke_api_key("cli", &id, None).await?;
                w.commit().await?;
                println!("revoked key {id}");
            }
            AdminCmd::ListKeys { service } => {
                let (_, s) = database(&service).await?;
                for k in s.api_keys(None).await? {
                    let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    println!("{}\t{}\t{}/{}\t{}\t{}", k.id, k.role, k.operator_id, k.store_id, status, k.label);
                }
            }
            AdminCmd::CreateOperator { service, id, name, sim_limit } => {
                let (c, s) = database(&service).await?;
                let mut w = s.write().await?;
                w.create_operator("cli", &id, if name.is_empty() { &id } else { &name }, sim_limit, c.capture_mode).await?;
                w.commit().await?;
                println!("created operator {id}");
            }
            AdminCmd::Reenrol { service, dry_run } => return reenrol(&service, dry_run).await,
            AdminCmd::CreateStore { service, id, operator, name } => {
                let (_, s) = database(&service).await?;
                let mut w = s.write().await?;
                w.create_store("cli", &operator, &id, if name.is_empty() { &id } else { &name }).await?;
                w.commit().await?;
                println!("created store {id} of operator {operator}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `simkyc admin reenrol [--dry-run]`.
async fn reenrol(service: &ServiceArgs, dry_run: bool) -> Result<ExitCode> {
    let c = service.config()?;
    let s = open_database(&c).await?;
    let vault = Vault::load(key_source(&c))?;
    let face = simkyc_server::load_face(&c).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("re-enrolling {pos}/{len} [{bar:30}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let r = simkyc_server::reenrol::reenrol(&s, &vault, &face, "cli", dry_run, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish_and_clear();
    println!("templates in use: {}", r.model);
    println!("{} registrations hold templates of other models: {:?}", r.stale_by_model.values().sum::<usize>(), r.stale_by_model);
    println!("  {} can be re-enrolled from their retained photos", r.reenrollable);
    println!("  {} have no photos left and need a new live capture", r.without_photos);
    if dry_run {
        println!("dry run: nothing changed");
    } else {
        println!(
            "re-enrolled {}; marked {} for a new live capture ({} of them: no face found in the retained photo); {} changed meanwhile and were left alone",
            r.reenrolled, r.marked, r.no_face, r.moved_on
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `simkyc audit verify`: exit 0 when the chain is intact, 1 naming the first bad event.
pub fn audit_verify(service: ServiceArgs) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let (_, s) = database(&service).await?;
        match s.verify_audit().await? {
            Ok(n) => {
                println!("audit log intact: {n} events");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("audit log BROKEN: {e}");
                Ok(ExitCode::from(1))
            }
        }
    })
}

/// `simkyc keys rotate`: a new active key, then every encrypted value re-encrypted with it.
pub fn keys_rotate(service: ServiceArgs) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let c = service.config()?;
        if matches!(key_source(&c), KeySource::Env) {
            eprintln!("keys come from SIMKYC_VAULT_KEYS: re-encrypting with its first key (put the new key first, keep the old ones after it)");
        }
        let n = simkyc_server::app::rotate_keys(&c).await?;
        let active = key_source(&c).load()?.active_id().to_string();
        println!("re-encrypted {n} values with key {active}; older keys stay in the ring so servers started before the rotation keep reading (restart them to write with the new key)");
        Ok(ExitCode::SUCCESS)
    })
}

/// `simkyc purge`: deletes raw photos older than the retention period now.
pub fn purge(service: ServiceArgs, older_than_days: Option<u32>) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let (c, s) = database(&service).await?;
        let days = older_than_days.unwrap_or(c.retention_days);
        let cutoff = simkyc_db::now_ms() - days as i64 * 86_400_000;
        let n = s.purge_photos(cutoff, "cli").await?;
        println!("purged the photos of {n} registrations older than {days} days");
        Ok(ExitCode::SUCCESS)
    })
}
