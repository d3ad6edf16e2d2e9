//! Online backup and offline restore of the SQLite database. A backup is one committed state
//! (`VACUUM INTO` reads inside one transaction while the server keeps writing); encrypted
//! columns are copied as they are, still sealed, and the vault keys are not in it. A restore
//! checks the file (integrity, migrations, the audit chain) before it replaces anything, and
//! keeps the database it replaces beside it. PostgreSQL uses `pg_dump`/`pg_restore` instead
//! (docs/operations.md).

use std::path::{Path, PathBuf};

use sqlx::Row;

use crate::{Backend, Database, DbError, Result};

/// What a backup or restore wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Audit events in it (the chain verified).
    pub audit_events: u64,
    /// Registrations in it.
    pub registrations: u64,
    /// Where the replaced database was kept (restore only).
    pub previous: Option<PathBuf>,
}

/// The database file of a `sqlite:` URL (`sqlite://PATH[?options]`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn io(what: &str, path: &Path, e: std::io::Error) -> DbError {
    DbError::Backup(format!("{what} {}: {e}", path.display()))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Flushes a file and its directory entry to disk.
fn sync(path: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| io("syncing", path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories can be opened and synced on Unix; elsewhere this is best effort.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl Database {
    /// Writes a consistent copy of the SQLite database to `out` (which must not exist) while the
    /// server keeps running, checks the copy, and records the backup in the audit log.
    pub async fn backup_to(&self, out: &Path, actor: &str) -> Result<BackupReport> {
        if self.backend != Backend::Sqlite {
            return Err(DbError::Backup("this database is PostgreSQL: back it up with pg_dump (docs/operations.md)".into()));
        }
        if out.exists() {
            return Err(DbError::Backup(format!("{} exists; choose a new file", out.display())));
        }
        let partial = with_suffix(out, ".partial");
        let _ = std::fs::remove_file(&partial);
        let target = partial.to_str().ok_or_else(|| DbError::Backup(format!("{} is not a UTF-8 path", partial.display())))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await?;
        sync(&partial)?;
        let report = check_file(&partial).await.inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })?;
        std::fs::rename(&partial, out).map_err(|e| io("renaming the backup to", out, e))?;
        sync(out)?;
        let mut w = self.write().await?;
        let details = serde_json::json!({
            "file": out.file_name().map(|n| n.to_string_lossy().into_owned()),
            "bytes": report.bytes,
            "audit_events": report.audit_events,
        });
        w.audit(None, actor, "database.backup", "database", details).await?;
        w.commit().await?;
        Ok(BackupReport { path: out.to_path_buf(), ..report })
    }
}

/// Opens a database file read-only and checks it: SQLite's integrity check, simkyc's tables,
/// and the audit chain.
async fn check_file(path: &Path) -> Result<BackupReport> {
    let bytes = std::fs::metadata(path).map_err(|e| io("reading", path, e))?.len();
    let url = format!("sqlite://{}?mode=ro", path.display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await?;
    let result = async {
        let ok: String = sqlx::query("PRAGMA integrity_check").fetch_one(&pool).await?.try_get(0)?;
        if ok != "ok" {
            return Err(DbError::Backup(format!("{}: integrity check failed: {ok}", path.display())));
        }
        let db = Database { pool: pool.clone(), backend: Backend::Sqlite };
        let registrations: i64 = sqlx::query("SELECT COUNT(*) FROM registrations")
            .fetch_one(&db.pool)
            .await
            .map_err(|e| DbError::Backup(format!("{} is not a simkyc database: {e}", path.display())))?
            .try_get(0)?;
        let audit_events = match db.verify_audit().await? {
            Ok(n) => n,
            Err(e) => return Err(DbError::Backup(format!("{}: the audit chain is broken: {e}", path.display()))),
        };
        Ok(BackupReport { path: path.to_path_buf(), bytes, audit_events, registrations: registrations as u64, previous: None })
    }
    .await;
    pool.close().await;
    result
}

/// Replaces the SQLite database at `target` with the backup `file`; the server must be stopped.
/// The backup is copied, migrated to this version and checked before anything is replaced; the
/// replaced database (with its WAL) is kept as `TARGET.before-restore-TIMESTAMP`.
pub async fn restore_sqlite(file: &Path, target: &Path, actor: &str) -> Result<BackupReport> {
    let staged = with_suffix(target, ".restoring");
    for p in [staged.clone(), with_suffix(&staged, "-wal"), with_suffix(&staged, "-shm")] {
        let _ = std::fs::remove_file(p);
    }
    std::fs::copy(file, &staged).map_err(|e| io("copying the backup from", file, e))?;
    let staged_url = format!("sqlite://{}", staged.display());
    let checked = async {
        check_file(&staged).await?;
        // Brings an older backup's schema up to this version; then fold the WAL into the file.
        let db = Database::open(&staged_url).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&db.pool).await?;
        db.close().await;
        check_file(&staged).await
    }
    .await;
    let report = match checked {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    for p in [with_suffix(&staged, "-wal"), with_suffix(&staged, "-shm")] {
        let _ = std::fs::remove_file(p);
    }
    sync(&staged)?;
    let mut previous = None;
    if target.exists() {
        let keep = with_suffix(target, &format!(".before-restore-{}", crate::now_ms()));
        for suffix in ["-wal", "-shm"] {
            let side = with_suffix(target, suffix);
            if side.exists() {
                std::fs::rename(&side, with_suffix(&keep, suffix)).map_err(|e| io("keeping", &side, e))?;
            }
        }
        std::fs::rename(target, &keep).map_err(|e| io("keeping", target, e))?;
        previous = Some(keep);
    }
    std::fs::rename(&staged, target).map_err(|e| io("moving the restored database to", target, e))?;
    sync(target)?;
    let db = Database::open(&format!("sqlite://{}", target.display())).await?;
    let mut w = db.write().await?;
    let details = serde_json::json!({
        "file": file.file_name().map(|n| n.to_string_lossy().into_owned()),
        "kept_previous_as": previous.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()),
    });
    w.audit(None, actor, "database.restored", "database", details).await?;
    w.commit().await?;
    db.close().await;
    Ok(BackupReport { path: target.to_path_buf(), previous, ..report })
}
