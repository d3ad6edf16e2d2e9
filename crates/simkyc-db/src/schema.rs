//! Migrations: numbered SQL files built into the binary, applied in order, each in its own
//! transaction, and recorded in `schema_migrations`.

use crate::{get, Backend, Database, Result};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_capture_attempts.sql")),
    (3, include_str!("../migrations/0003_store_capture_mode.sql")),
    (4, include_str!("../migrations/0004_liveness_failures.sql")),
    (5, include_str!("../migrations/0005_template_model.sql")),
    (6, include_str!("../migrations/0006_capture_vocabulary.sql")),
];

fn dialect(sql: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => sql.to_string(),
        Backend::Postgres => sql.replace(" BLOB", " BYTEA").replace(" INTEGER", " BIGINT"),
    }
}

fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    sql.split(";\n")
        .map(|s| s.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n"))
        .filter(|s| !s.trim().is_empty())
}

/// Applies every migration not yet recorded.
pub async fn migrate(db: &Database) -> Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&db.pool)
        .await?;
    for &(version, sql) in MIGRATIONS {
        let mut tx = db.pool.begin().await?;
        // Take the migrations table first, so two servers starting together apply each once.
        if db.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").execute(&mut *tx).await?;
        } else {
            sqlx::query("DELETE FROM schema_migrations WHERE version < 0").execute(&mut *tx).await?;
        }
        let done = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1").bind(version).fetch_one(&mut *tx).await?;
        if get::<i64>(&done, "n")? > 0 {
            tx.rollback().await?;
            continue;
        }
        for stmt in statements(&dialect(sql, db.backend)) {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
