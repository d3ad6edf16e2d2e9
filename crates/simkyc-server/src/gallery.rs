//! The operators' 1:N galleries in memory: every enrolled template of the current model is
//! decrypted once at start (with a progress log) and held compactly, never written anywhere.
//! Before each search the galleries catch up with the database through the audit log's
//! sequence (see `simkyc_db::gallery_feed`), so a template enrolled, re-enrolled or deleted
//! through any server sharing the database is reflected at the next capture on every server.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use serde::Serialize;
use simkyc_db::{aad, Database, GalleryEntry};
use simkyc_face::open_set::OpenSet;
use simkyc_gallery::{Gallery, Precision};
use simkyc_verify::{template, DuplicateSearch};
use simkyc_workflow::DuplicateHit;

use crate::error::ApiError;
use crate::vault::Vault;

/// Registrations read per page while loading.
const PAGE: i64 = 10_000;

/// The galleries could not be loaded or brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// Reading the database.
    #[error("gallery: {0}")]
    Db(#[from] simkyc_db::DbError),
    /// Opening a template.
    #[error("gallery: {0}")]
    Vault(#[from] simkyc_vault::VaultError),
}

impl From<GalleryError> for ApiError {
    fn from(e: GalleryError) -> ApiError {
        match e {
            GalleryError::Db(e) => e.into(),
            GalleryError::Vault(e) => e.into(),
        }
    }
}

/// Every operator's gallery of one template model, and how far it has followed the audit log.
pub struct Galleries {
    model: String,
    precision: Precision,
    state: RwLock<State>,
    /// One catch-up at a time; searches wait for it.
    syncing: tokio::sync::Mutex<()>,
    /// Operators whose gallery has outgrown the target FPIR, already warned about.
    warned: Mutex<HashSet<String>>,
}

/// The duplicate check at one operator's gallery size: its threshold and what the calibrated
/// model is expected to give there, for `/metrics`, the admin settings and the decision record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateCheck {
    /// Templates in the operator's gallery.
    pub gallery_size: usize,
    /// The configured target FPIR.
    pub target_fpir: f64,
    /// The search threshold (never below the strict 1:1 point).
    pub threshold: f32,
    /// The FPIR expected at this threshold and size (None without an open-set calibration).
    pub expected_fpir: Option<f64>,
    /// The share of true duplicates expected to be missed (rank 1), where measured.
    pub expected_fnir: Option<f64>,
    /// Whether the target FPIR is held at this size.
    pub target_held: bool,
    /// Where the threshold comes from.
    pub basis: &'static str,
}

/// The duplicate check for a gallery of `size` templates: the open-set table's threshold for
/// `target_fpir` (at least `strict`), or the strict point where the thresholds file has no table.
pub fn duplicate_check(open_set: Option<&OpenSet>, strict: f32, size: usize, target_fpir: f64) -> DuplicateCheck {
    match open_set {
        Some(t) => {
            let p = t.duplicate_point(size as u64, target_fpir);
            let (threshold, basis) = if p.threshold >= strict {
                (p.threshold, "open-set calibration")
            } else {
                (strict, "strict 1:1 point (above the open-set threshold)")
            };
            let expected_fpir = if threshold > p.threshold { p.expected_fpir.min(target_fpir) } else { p.expected_fpir };
            DuplicateCheck {
                gallery_size: size,
                target_fpir,
                threshold,
                expected_fpir: Some(expected_fpir),
                expected_fnir: p.expected_fnir,
                target_held: p.target_held,
                basis,
            }
        }
        None => DuplicateCheck {
            gallery_size: size,
            target_fpir,
            threshold: strict,
            expected_fpir: None,
            expected_fnir: None,
            target_held: false,
            basis: "strict 1:1 point (the thresholds file has no open-set calibration)",
        },
    }
}

#[derive(Default)]
struct State {
    /// Audit sequence number up to which every change is applied.
    synced: i64,
    by_operator: HashMap<String, Gallery>,
}

/// An operator's gallery as searched for one capture: its own document left out.
pub struct OperatorSearch<'a> {
    galleries: &'a Galleries,
    operator_id: &'a str,
    own_document: String,
}

fn document_key(doc_type: &str, doc_number: &str) -> String {
    format!("{doc_type}:{doc_number}")
}

impl State {
    fn apply(&mut self, vault: &Vault, precision: Precision, e: &GalleryEntry) -> Result<(), GalleryError> {
        let opened = vault.open(&e.template_enc, &aad("registrations", "live_template_enc", &e.registration_id))?;
        let Some(t) = template::from_bytes(&opened) else {
            tracing::warn!(registration = %e.registration_id, "gallery: a stored template is malformed; left out");
            return Ok(());
        };
        let g = self.by_operator.entry(e.operator_id.clone()).or_insert_with(|| Gallery::new(t.len(), precision));
        if let Err(why) = g.upsert(&e.registration_id, &document_key(&e.doc_type, &e.doc_number), &t) {
            tracing::warn!(registration = %e.registration_id, %why, "gallery: a stored template is unusable; left out");
        }
        Ok(())
    }

    fn forget(&mut self, registration_id: &str) {
        for g in self.by_operator.values_mut() {
            if g.remove(registration_id) {
                break;
            }
        }
    }
}

impl Galleries {
    /// Loads every enrolled template of `model`, logging progress.
    pub async fn load(db: &Database, vault: &Vault, model: &str, precision: Precision) -> Result<Galleries, GalleryError> {
        let started = Instant::now();
        // Changes committed while loading are applied again by the first catch-up (harmless:
        // each change is read back from the database as it then stands).
        let mut state = State { synced: db.audit_seq().await?, ..State::default() };
        let mut after = String::new();
        let mut loaded = 0usize;
        loop {
            let page = db.enrolled_page(model, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.registration_id.clone();
            for e in &page {
                state.apply(vault, precision, e)?;
            }
            loaded += page.len();
            if loaded % 100_000 < page.len() {
                tracing::info!(templates = loaded, seconds = started.elapsed().as_secs_f64(), "gallery: loading");
            }
        }
        let bytes: usize = state.by_operator.values().map(Gallery::heap_bytes).sum();
        tracing::info!(
            templates = loaded,
            operators = state.by_operator.len(),
            precision = %precision,
            megabytes = bytes as f64 / 1e6,
            seconds = started.elapsed().as_secs_f64(),
            "gallery: loaded"
        );
        Ok(Galleries {
            model: model.to_string(),
            precision,
            state: RwLock::new(state),
            syncing: tokio::sync::Mutex::new(()),
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// Applies every change committed since the last catch-up, through any server.
    pub async fn catch_up(&self, db: &Database, vault: &Vault) -> Result<(), GalleryError> {
        let _one = self.syncing.lock().await;
        let from = self.read().synced;
        let upto = db.audit_seq().await?;
        if upto <= from {
            return Ok(());
        }
        let changed = db.gallery_changes(from, upto).await?;
        let mut now = Vec::with_capacity(changed.len());
        for id in &changed {
            now.push((id, db.enrolled(&self.model, id).await?));
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        for (id, entry) in now {
            state.forget(id);
            if let Some(e) = entry {
                state.apply(vault, self.precision, &e)?;
            }
        }
        state.synced = upto;
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Templates held per operator.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self.read().by_operator.iter().map(|(o, g)| (o.clone(), g.len())).collect();
        v.sort();
        v
    }

    /// Templates held for one operator.
    pub fn size(&self, operator_id: &str) -> usize {
        self.read().by_operator.get(operator_id).map_or(0, Gallery::len)
    }

    /// The duplicate check at an operator's current gallery size. Logs a warning (once, until
    /// it holds again) when the gallery has outgrown what the model can keep at the target.
    pub fn duplicate_check(&self, operator_id: &str, open_set: Option<&OpenSet>, strict: f32, target_fpir: f64) -> DuplicateCheck {
        let c = duplicate_check(open_set, strict, self.size(operator_id), target_fpir);
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if c.target_held || open_set.is_none() {
            warned.remove(operator_id);
        } else if warned.insert(operator_id.to_string()) {
            tracing::warn!(
                operator = operator_id,
                gallery = c.gallery_size,
                target_fpir = c.target_fpir,
                expected_fpir = c.expected_fpir,
                threshold = c.threshold,
                "duplicate check: at this gallery size the model cannot hold the target FPIR; more new customers will be sent to review as possible duplicates than configured (docs/scale.md: partition the gallery or raise duplicate_fpir)"
            );
        }
        c
    }

    /// The storage precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The search of one operator's gallery for a capture of `doc_type`/`doc_number`.
    pub fn for_capture<'a>(&'a self, operator_id: &'a str, doc_type: &str, doc_number: &str) -> OperatorSearch<'a> {
        OperatorSearch { galleries: self, operator_id, own_document: document_key(doc_type, doc_number) }
    }
}

impl DuplicateSearch for OperatorSearch<'_> {
    fn resembling(&self, live: &[&[f32]], threshold: f32, limit: usize) -> Vec<DuplicateHit> {
        let state = self.galleries.read();
        let Some(g) = state.by_operator.get(self.operator_id) else { return Vec::new() };
        // Runs inside the inference gate: a lone capture may have an idle core lent to it.
        g.search_on(live, &self.own_document, threshold, limit, 1 + simkyc_face::spare::spare_threads())
            .into_iter()
            .map(|h| DuplicateHit { registration_id: h.registration_id, score: h.score })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simkyc_face::open_set::SizeThresholds;

    fn table() -> OpenSet {
        OpenSet {
            note: "test".into(),
            fpir_levels: vec![0.001, 0.01],
            sizes: vec![
                SizeThresholds { size: 1000, thresholds: vec![0.50, 0.45], set_by: vec!["g".into(); 2], fnir: vec![0.02, 0.01] },
                SizeThresholds { size: 1_000_000, thresholds: vec![0.70, 0.62], set_by: vec!["g".into(); 2], fnir: vec![0.10, 0.05] },
            ],
        }
    }

    #[test]
    fn the_check_follows_the_table_never_below_the_strict_point() {
        let t = table();
        let c = duplicate_check(Some(&t), 0.48, 1_000_000, 0.01);
        assert!((c.threshold - 0.62).abs() < 1e-6 && c.target_held && c.expected_fpir == Some(0.01) && c.expected_fnir == Some(0.05));
        // At a small gallery the table asks less than the strict point, which is kept.
        let c = duplicate_check(Some(&t), 0.48, 10, 0.01);
        assert_eq!(c.threshold, 0.48);
        assert!(c.target_held && c.expected_fpir.unwrap() <= 0.01);
        // Far beyond the table: not held, and said so.
        let c = duplicate_check(Some(&t), 0.48, 1_000_000_000, 0.01);
        assert!(!c.target_held && c.expected_fpir.unwrap() > 0.01);
        // No table: the strict point, FPIR unknown.
        let c = duplicate_check(None, 0.48, 5, 0.01);
        assert_eq!((c.threshold, c.expected_fpir, c.target_held), (0.48, None, false));
    }
}
