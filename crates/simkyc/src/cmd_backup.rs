//! `simkyc backup` and `simkyc restore`: an online, consistent copy of the SQLite database and
//! its checked restore. The lock a running `simkyc serve` holds keeps a restore from replacing
//! a database under it.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cmd_serve::{runtime, ServiceArgs};

/// `simkyc backup` arguments.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// File to write (must not exist). Encrypted columns stay encrypted; back up the vault keys
    /// separately (they are not in the database).
    #[arg(long)]
    out: PathBuf,
}

/// `simkyc restore` arguments.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// A file written by `simkyc backup`.
    file: PathBuf,
}

/// The SQLite file of the configured database, or a clear error for PostgreSQL.
fn sqlite_file(service: &ServiceArgs) -> Result<(simkyc_server::Config, PathBuf)> {
    let c = service.config()?;
    let url = c.database_url();
    match simkyc_db::backup::sqlite_path(&url) {
        Some(p) => Ok((c, p)),
        None => bail!(
            "the database is {}: back up and restore PostgreSQL with pg_dump and pg_restore (docs/operations.md)",
            simkyc_server::app::redact_url(&url)
        ),
    }
}

/// The lock file beside a SQLite database that `simkyc serve` holds while it runs.
fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

/// Takes the database's serve lock, or says who holds it. The lock lasts as long as the file.
pub fn lock_database(db: &Path) -> Result<Option<File>> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let path = lock_path(db);
    let f = File::options().create(true).truncate(false).write(true).open(&path).with_context(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// `simkyc backup --out FILE`: runs beside a serving server.
pub fn backup(a: BackupArgs) -> Result<ExitCode> {
    let (c, _) = sqlite_file(&a.service)?;
    runtime()?.block_on(async move {
        let db = simkyc_server::app::open_database(&c).await?;
        let r = db.backup_to(&a.out, "cli").await;
        db.close().await;
        let r = r?;
        println!(
            "backup written to {} ({} bytes, {} registrations, audit chain of {} events verified); keep the vault keys apart from it",
            r.path.display(),
            r.bytes,
            r.registrations,
            r.audit_events
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `simkyc restore FILE`: refuses while a server holds the database.
pub fn restore(a: RestoreArgs) -> Result<ExitCode> {
    let (_, db) = sqlite_file(&a.service)?;
    if !a.file.is_file() {
        bail!("{} is not a file", a.file.display());
    }
    let Some(_lock) = lock_database(&db)? else {
        bail!("a simkyc server is using {}: stop it, then restore", db.display());
    };
    runtime()?.block_on(async move {
        let r = simkyc_db::backup::restore_sqlite(&a.file, &db, "cli").await?;
        println!(
            "restored {} from {} ({} registrations, audit chain of {} events verified)",
            r.path.display(),
            a.file.display(),
            r.registrations,
            r.audit_events
        );
        if let Some(p) = r.previous {
            println!("the database it replaced is kept as {}", p.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}
