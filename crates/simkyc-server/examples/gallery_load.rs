//! Start-up load of the in-memory 1:N gallery from the database: `cargo run --release -p
//! simkyc-server --example gallery_load -- [N] [PRECISION] [DIR] [MODEL]` (defaults 1,000,000,
//! int8, a temporary directory, `bench-model`). With the engine's template model (e.g.
//! `sface-2021dec`) and a server's data directory, it fills that server's galleries: the capture
//! latency benchmark (`tools/bench/capture_gallery.sh`) uses it so. Writes N activated registrations with sealed 128-component templates
//! into a fresh SQLite database (as the service stores them: AES-256-GCM envelopes bound to their
//! row), then times `Galleries::load` — paging, decrypting, normalising, quantising — and
//! reports the process's resident memory before and after (docs/scale.md).

use std::time::Instant;

use simkyc_db::{aad, Database};
use simkyc_gallery::Precision;
use simkyc_server::gallery::Galleries;
use simkyc_server::vault::Vault;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn template(seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..128)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 20001) as f32 / 10000.0 - 1.0
        })
        .collect();
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let precision: Precision = args.get(1).map(|p| p.parse()).transpose()?.unwrap_or(Precision::Int8);
    let tmp = tempfile::tempdir()?;
    let dir = args.get(2).map(std::path::PathBuf::from).unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let db = Database::open(&simkyc_db::sqlite_url(&dir)).await?;
        let config = simkyc_server::Config { data_dir: dir.clone(), ..simkyc_server::Config::default() };
        let vault = Vault::load(simkyc_server::app::key_source(&config))?;
        let model = args.get(3).map_or("bench-model", String::as_str);
        let existing: i64 = sqlx::Row::try_get(&sqlx::query("SELECT COUNT(*) AS n FROM registrations").fetch_one(&db.pool).await?, "n")?;
        if existing == 0 {
            let operators: i64 =
                sqlx::Row::try_get(&sqlx::query("SELECT COUNT(*) AS n FROM operators WHERE id = 'default'").fetch_one(&db.pool).await?, "n")?;
            if operators == 0 {
                let mut w = db.write().await?;
                w.create_operator("bench", "default", "Default", 5, simkyc_workflow::CaptureMode::Off).await?;
                w.create_store("bench", "default", "default", "Default").await?;
                w.commit().await?;
            }
            let t = Instant::now();
            let name = vault.seal(b"name", b"bench")?;
            for start in (0..n).step_by(10_000) {
                let mut tx = db.pool.begin().await?;
                for i in start..(start + 10_000).min(n) {
                    let id = format!("{i:032x}");
                    let sealed = vault.seal(&template(i as u64), &aad("registrations", "live_template_enc", &id))?;
                    sqlx::query(
                        "INSERT INTO registrations (id, operator_id, store_id, created_by, doc_type, doc_number, name_enc, state, capture_mode, \
                         live_template_enc, template_model, created_at, updated_at) VALUES ($1, 'default', 'default', 'bench', 'cn_resident_id', $2, $3, \
                         'activated', 'off', $4, $5, 0, 0)",
                    )
                    .bind(&id)
                    .bind(format!("{i:018}"))
                    .bind(name.clone())
                    .bind(sealed)
                    .bind(model)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            println!("wrote {n} sealed templates in {:.1} s", t.elapsed().as_secs_f64());
        }
        let before = rss_mb();
        let t = Instant::now();
        let g = Galleries::load(&db, &vault, model, precision).await?;
        let secs = t.elapsed().as_secs_f64();
        let after = rss_mb();
        println!(
            "loaded {} templates at {precision} in {secs:.1} s ({:.0} per second); resident memory {before:.0} MB before, {after:.0} MB after (+{:.0} MB)",
            g.size("default"),
            g.size("default") as f64 / secs,
            after - before
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
