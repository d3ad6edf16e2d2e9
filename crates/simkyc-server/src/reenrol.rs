//! Re-enrolment after an engine upgrade (`simkyc admin reenrol`): every registration whose
//! templates another model made gets new templates from its retained photos; one whose photos
//! are purged (or show no face the new engine finds) is marked as needing a new live capture.
//! Templates of two different models are never compared: the 1:N gallery only holds templates of
//! the model in use, so until this runs, old enrolments are simply not searched.

use std::collections::BTreeMap;

use simkyc_db::reenrol::StaleTemplates;
use simkyc_db::{aad, Database};

use simkyc_verify::template;
use simkyc_verify::Depth;

use crate::face::FaceStack;
use crate::vault::Vault;

/// Why re-enrolment stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReenrolError {
    /// The database.
    #[error("database: {0}")]
    Database(#[from] simkyc_db::DbError),
    /// A sealed value could not be opened or sealed.
    #[error("vault: {0}")]
    Vault(#[from] simkyc_vault::VaultError),
    /// The face engine failed (not a missing face: that marks the registration).
    #[error("face analysis of registration {id}: {why}")]
    Face {
        /// Registration.
        id: String,
        /// Cause.
        why: String,
    },
}

/// What re-enrolment found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReenrolReport {
    /// The model in use (templates tagged with it are current).
    pub model: String,
    /// Registrations holding templates of other models, by model (`untagged`: before tagging).
    pub stale_by_model: BTreeMap<String, usize>,
    /// Of those, how many had photos to re-enrol from.
    pub reenrollable: usize,
    /// Of those, how many had no photos left.
    pub without_photos: usize,
    /// Registrations given new templates.
    pub reenrolled: usize,
    /// Registrations newly marked as needing a new live capture.
    pub marked: usize,
    /// Of the marked, those whose photos show no face the new engine finds.
    pub no_face: usize,
    /// Registrations that changed while this ran and were left alone.
    pub moved_on: usize,
}

async fn embed_sealed(face: &FaceStack, vault: &Vault, id: &str, column: &str, sealed: &[u8]) -> Result<Option<Vec<f32>>, ReenrolError> {
    let photo = vault.open(sealed, &aad("registrations", column, id))?;
    let out = face.analyse(photo, Depth::Document).await.map_err(|e| ReenrolError::Face { id: id.into(), why: e.message.clone() })?;
    // An undecodable stored photo cannot give a template either.
    Ok(out.ok().and_then(|a| a.analysis.subject.map(|s| s.embedding)))
}

/// Finds the stale registrations and, unless `dry_run`, re-enrols or marks them;
/// `progress(done, total)` is called after each re-enrolment attempt.
pub async fn reenrol(
    db: &Database,
    vault: &Vault,
    face: &FaceStack,
    actor: &str,
    dry_run: bool,
    progress: impl Fn(usize, usize),
) -> Result<ReenrolReport, ReenrolError> {
    let model = face.template_model();
    let stale = db.stale_templates(&model).await?;
    let mut report = ReenrolReport { model: model.clone(), ..Default::default() };
    for r in &stale {
        *report.stale_by_model.entry(r.template_model.clone().unwrap_or_else(|| "untagged".into())).or_default() += 1;
    }
    let (can, cannot): (Vec<&StaleTemplates>, Vec<&StaleTemplates>) = stale.iter().partition(|r| r.can_reenrol());
    report.reenrollable = can.len();
    report.without_photos = cannot.len();
    if dry_run {
        return Ok(report);
    }
    let mut to_mark: Vec<&StaleTemplates> = cannot.into_iter().filter(|r| !r.recapture_needed).collect();
    for (i, r) in can.iter().enumerate() {
        let (doc_photo, live_photo) = db.registration_photos(&r.id).await?;
        let mut templates = Vec::new();
        let mut faceless = false;
        for (has, photo, photo_col, template_col) in [
            (r.has_doc_template, &doc_photo, "doc_photo_enc", "doc_template_enc"),
            (r.has_live_template, &live_photo, "live_photo_enc", "live_template_enc"),
        ] {
            let sealed = match (has, photo) {
                (true, Some(p)) => match embed_sealed(face, vault, &r.id, photo_col, p).await? {
                    Some(t) => Some(vault.seal(&template::to_bytes(&t), &aad("registrations", template_col, &r.id))?),
                    None => {
                        faceless = true;
                        None
                    }
                },
                _ => None,
            };
            templates.push(sealed);
        }
        progress(i + 1, can.len());
        if faceless {
            report.no_face += 1;
            to_mark.push(r);
            continue;
        }
        let live = templates.pop().flatten();
        let doc = templates.pop().flatten();
        let mut w = db.write().await?;
        if w.reenrol(actor, r, &model, doc, live).await? {
            report.reenrolled += 1;
        } else {
            report.moved_on += 1;
        }
        w.commit().await?;
    }
    for r in to_mark {
        let mut w = db.write().await?;
        w.mark_recapture(actor, r).await?;
        w.commit().await?;
        report.marked += 1;
    }
    Ok(report)
}
