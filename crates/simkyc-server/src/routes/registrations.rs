//! The registration workflow: start (document + photo), capture (live frames → decision),
//! activate (SIM within the limit), cancel, and read the status.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use simkyc_db::{aad, NewRegistration, RegistrationRow, SimRow, Verdict};
use simkyc_docs::Date;
use simkyc_verify::capture::check_capture;
use simkyc_verify::document::check_document_photo;
use simkyc_verify::{decide_capture, template, Depth, MatchContext};
use simkyc_workflow::{CaptureMode, CaptureRequirements, DocumentInput, Permission, Reason, RegistrationState};

use crate::auth::{new_id, Principal};
use crate::error::ApiError;
use crate::extract::{image_bytes, ApiJson};
use crate::face::image_error;
use crate::state::AppState;

/// Body of `POST /v1/registrations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The identity document.
    pub document: DocumentInput,
    /// The document's photo (chip or printed), base64. Optional when `document_scan` is given:
    /// the portrait printed on the card's front is used then.
    #[serde(default)]
    pub document_photo: Option<String>,
    /// Where `document_photo` comes from: `chip` (read from the card's chip), `printed` (a photo
    /// of the printed portrait) or `upload` (unknown; the default).
    #[serde(default)]
    pub document_photo_source: Option<String>,
    /// Photos of the document itself: read and compared with `document` (a disagreement sends
    /// the case to review as `document_data_mismatch`).
    #[serde(default)]
    pub document_scan: Option<crate::scan::ScanInput>,
}

/// Body of `POST /v1/registrations/{id}/capture`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// The nonce from the start response.
    pub nonce: String,
    /// Live frames, base64, in capture order.
    pub frames: Vec<String>,
}

/// Body of `POST /v1/registrations/{id}/activate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// E.164 number.
    pub msisdn: String,
    /// Card id (19–20 digits, Luhn).
    pub iccid: String,
    /// Subscriber identity (15 digits).
    pub imsi: String,
}

fn mask(number: &str) -> String {
    let n = number.chars().count();
    number.chars().enumerate().map(|(i, c)| if i + 4 >= n || i < 2 { c } else { '*' }).collect()
}

/// The registration as clerks and API clients see it (no photos, masked number).
pub fn view(r: &RegistrationRow) -> serde_json::Value {
    json!({
        "id": r.id,
        "state": r.state,
        "decision": r.decision,
        "reasons": r.reasons,
        "message": r.message,
        "store": r.store_id,
        "document": { "type": r.doc_type, "number_masked": mask(&r.doc_number), "expiry": r.doc_expiry },
        "capture": r.capture_requirements,
        "msisdn": r.msisdn,
        "review_comment": r.review_comment,
        "photos_purged": r.photos_purged_at.is_some(),
        "created_at": simkyc_db::rfc3339(r.created_at),
        "updated_at": simkyc_db::rfc3339(r.updated_at),
    })
}

fn today() -> Date {
    Date::from_days_since_epoch(simkyc_db::now_ms().div_euclid(86_400_000))
}

/// `POST /v1/registrations`: checks the document and its photo, stores the registration.
pub async fn start(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Result<ApiJson<StartRequest>, ApiError>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    p.require(Permission::Register)?;
    let ApiJson(req) = body?;
    let doc = match req.document.validate(today()) {
        Ok(d) => d,
        Err(reasons) => {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
            let mut w = st.db.write().await?;
            w.audit(
                Some(&p.operator_id),
                &p.actor(),
                "registration.refused",
                &format!("store:{}", p.store_id),
                json!({ "reasons": codes }),
            )
            .await?;
            w.commit().await?;
            let mut e =
                ApiError::unprocessable("document_invalid", reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "));
            e.reasons = reasons;
            return Err(e);
        }
    };
    let scanned = match &req.document_scan {
        Some(photos) => Some(super::documents::run_scan(&st, photos).await?),
        None => None,
    };
    let start_reasons: Vec<Reason> = scanned.as_ref().and_then(|s| s.mismatch(&doc, req.document.expiry.as_deref())).into_iter().collect();
    let (photo, source) = match (&req.document_photo, scanned.as_ref().and_then(super::documents::portrait_jpeg)) {
        (Some(b64), _) => {
            let source = req.document_photo_source.as_deref().unwrap_or("upload");
            if !["chip", "printed", "upload"].contains(&source) {
                return Err(ApiError::unprocessable("field_invalid", "document_photo_source must be chip, printed or upload"));
            }
            (image_bytes("document_photo", b64, st.config.max_image_bytes)?, source.to_string())
        }
        (None, Some(portrait)) => (portrait, "printed".to_string()),
        (None, None) => {
            return Err(ApiError::unprocessable(
                "document_photo_missing",
                "give document_photo, or a document_scan whose front shows the card's portrait",
            ))
        }
    };
    let analysed = st.face.analyse(photo.clone(), Depth::Document).await?.map_err(|e| image_error("document_photo", &e))?;
    let subject = check_document_photo(&analysed, st.config.min_document_eye_px)
        .map_err(|problem| ApiError::unprocessable(problem.code(), problem.to_string()))?;
    let operator = st.db.operator(&p.operator_id).await?;
    let store = st.db.store(&p.store_id).await?;
    let mode = store.capture_mode.unwrap_or(operator.capture_mode);
    let id = new_id();
    let now = simkyc_db::now_ms();
    let active = mode == CaptureMode::Active;
    let expires_ms = now + if active { st.config.challenge_ttl_secs as i64 * 1000 } else { st.config.capture_ttl_minutes as i64 * 60_000 };
    let actions = if active {
        let mut rnd = || {
            let mut b = [0u8; 4];
            getrandom::getrandom(&mut b).map(|_| u32::from_le_bytes(b)).unwrap_or(0)
        };
        let n = 2 + (rnd() % 2) as usize;
        simkyc_face::challenge::pick(&st.config.challenge_pool(), n, &mut rnd)
    } else {
        Vec::new()
    };
    let requirements = CaptureRequirements {
        mode,
        nonce: new_id(),
        min_frames: if active { MIN_CHALLENGE_FRAMES } else { 1 },
        max_frames: if active { st.config.challenge_max_frames } else { st.config.max_frames },
        min_eye_px: st.config.min_live_eye_px,
        expires_at: simkyc_db::rfc3339(expires_ms),
        actions,
        expires_ms,
    };
    let new = NewRegistration {
        id: id.clone(),
        operator_id: p.operator_id.clone(),
        store_id: p.store_id.clone(),
        created_by: p.actor(),
        doc_type: doc.doc_type.as_str().into(),
        doc_number: doc.number.clone(),
        name_enc: st.vault.seal(doc.name.as_bytes(), &aad("registrations", "name_enc", &id))?,
        doc_expiry: doc.expiry.map(|d| d.to_string()),
        capture_mode: mode,
        capture_requirements: requirements.clone(),
        doc_photo_enc: st.vault.seal(&photo, &aad("registrations", "doc_photo_enc", &id))?,
        doc_template_enc: st.vault.seal(&template::to_bytes(&subject.embedding), &aad("registrations", "doc_template_enc", &id))?,
        template_model: st.face.template_model(),
        start_reasons: start_reasons.clone(),
        document_photo_source: source.clone(),
    };
    let mut w = st.db.write().await?;
    w.create_registration(&new).await?;
    w.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "state": "created",
            "document": { "type": doc.doc_type, "number_masked": mask(&doc.number), "birth_date": doc.birth_date, "expiry": doc.expiry },
            "document_photo": { "source": source, "reference": if source == "printed" { "printed" } else { "photo" } },
            "reasons": start_reasons,
            "capture": requirements,
        })),
    ))
}

/// `GET /v1/registrations/{id}`.
pub async fn get(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::ReadRegistration)?;
    Ok(Json(view(&st.db.registration(&id, &p.operator_id).await?)))
}

/// Fewest frames of an active-challenge capture.
pub const MIN_CHALLENGE_FRAMES: usize = 10;

/// Captures a registration may take when frames are refused for quality; the last is decided.
pub const MAX_CAPTURE_ATTEMPTS: i64 = 3;

fn score_text(x: f32) -> String {
    format!("{x:.4}")
}

/// `POST /v1/registrations/{id}/capture`: analyses the live frames and decides.
pub async fn capture(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<ApiJson<CaptureRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Register)?;
    let ApiJson(req) = body?;
    let reg = st.db.registration(&id, &p.operator_id).await?;
    let images = accept_capture(&st, &p, &reg, &req).await?;
    // Server-side decision time starts once the upload is in.
    let started = Instant::now();
    let (mode, actions) = (reg.capture_mode, reg.capture_requirements.actions.clone());
    let frames = images.clone();
    let capture = st
        .face
        .run(move |v| v.analyse_capture(mode, &frames, &actions))
        .await?
        .map_err(|e| image_error(&format!("frames[{}]", e.index), &e.error))?;
    let analysed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let check = check_capture(&capture, &st.config.capture_limits(st.face.points));
    // Poor framing is not a verdict on the customer: refuse the frames and let the clerk capture
    // again, a few times, before the registration is decided.
    if check.retryable() && reg.capture_attempts + 1 < MAX_CAPTURE_ATTEMPTS {
        return Err(refuse_for_retry(&st, &p, &id, check.reasons).await?);
    }
    let model = st.face.template_model();
    let (document, new_doc_template_enc) = document_template(&st, &reg, &model).await?;
    if check.passed() {
        st.galleries.catch_up(&st.db, &st.vault).await?;
    }
    let operator = st.db.operator(&p.operator_id).await?;
    let active = st.db.active_sims(&p.operator_id, &reg.doc_type, &reg.doc_number).await?;
    let dup = st.duplicate_check(&p.operator_id);
    // The decision scans the operator's gallery (tens of milliseconds at a million templates):
    // CPU work, so it runs like the analysis, inside the inference gate and off the async
    // workers, where a lone capture may borrow an idle core for the scan.
    let (gallery_state, operator_id, doc_type, doc_number) =
        (st.clone(), p.operator_id.clone(), reg.doc_type.clone(), reg.doc_number.clone());
    let (points, document_reasons) = (st.face.points, reg.reasons.0.clone());
    let v = st
        .face
        .run(move |v| {
            // Under `live_flip = near-threshold` the frames get their mirrors only now, when the
            // score against the document shows whether they could change the decision.
            let mut capture = capture;
            if check.passed() {
                v.settle_live_flip(&mut capture, document.as_deref())?;
            }
            let gallery = gallery_state.galleries.for_capture(&operator_id, &doc_type, &doc_number);
            let ctx = MatchContext {
                document: document.as_deref(),
                gallery: &gallery,
                active_sims: active.max(0) as u32,
                sim_limit: operator.sim_limit.max(0) as u32,
                points,
                duplicate_threshold: dup.threshold,
                document_reasons: &document_reasons,
            };
            Ok::<_, simkyc_face::FaceError>(decide_capture(&capture, check, &ctx))
        })
        .await?
        .map_err(|e| ApiError::internal("live frames' mirrors", &e))?;
    let decision = &v.decision;
    let seal = |column: &str, bytes: &[u8]| st.vault.seal(bytes, &aad("registrations", column, &id));
    let verdict = Verdict {
        state: decision.outcome.into(),
        reasons: decision.reasons.clone(),
        message: decision.message.clone(),
        scores: serde_json::to_value(&v.scores).map_err(|e| ApiError::internal("scores", &e))?,
        // Keep the best frame (largest face) for review within the retention period.
        live_photo_enc: v.best_frame.map(|i| seal("live_photo_enc", &images[i])).transpose()?,
        live_template_enc: v.live_template.as_ref().map(|t| seal("live_template_enc", &template::to_bytes(t))).transpose()?,
        template_model: model,
        doc_template_enc: new_doc_template_enc,
        audit: json!({
            "outcome": decision.outcome.as_str(),
            "reasons": decision.reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
            "match": v.checks.match_score.map(score_text),
            "duplicates": v.checks.duplicates.iter().map(|d| json!({ "registration": d.registration_id, "score": score_text(d.score) })).collect::<Vec<_>>(),
            "mode": mode.as_str(),
        }),
    };
    let mut w = st.db.write().await?;
    w.record_decision(&id, &p.operator_id, &p.actor(), &verdict).await?;
    // Failed passive checks and failed challenges both count towards the device's lockout.
    if v.liveness_failed() {
        w.record_liveness_failure(&p.key_id).await?;
    }
    w.commit().await?;
    let decision_ms = started.elapsed().as_secs_f64() * 1000.0;
    st.metrics.decisions.with_label_values(&[decision.outcome.as_str()]).inc();
    for r in &decision.reasons {
        st.metrics.reasons.with_label_values(&[r.code.as_str()]).inc();
    }
    st.metrics.decision_seconds.with_label_values(&[decision.outcome.as_str()]).observe(decision_ms / 1000.0);
    Ok(Json(json!({
        "id": id,
        "state": verdict.state,
        "decision": decision.outcome,
        "reasons": decision.reasons,
        "message": decision.message,
        "timing_ms": { "analysis": (analysed_ms * 10.0).round() / 10.0, "decision": (decision_ms * 10.0).round() / 10.0 },
    })))
}

/// Checks a capture may be taken now (once, with this registration's nonce, within its window,
/// from a device not locked out, with a frame count the mode allows) and decodes its frames.
async fn accept_capture(st: &AppState, p: &Principal, reg: &RegistrationRow, req: &CaptureRequest) -> Result<Vec<Vec<u8>>, ApiError> {
    let id = &reg.id;
    if reg.state != RegistrationState::Created {
        return Err(ApiError::conflict(
            "capture_already_done",
            format!("registration {id} is {}; a capture is accepted once, start a new registration", reg.state),
        ));
    }
    let requirements = &reg.capture_requirements;
    if requirements.nonce != req.nonce {
        return Err(ApiError::unprocessable(
            "capture_nonce_invalid",
            "the nonce does not belong to this registration (replayed or mixed-up capture)",
        ));
    }
    if requirements.expired(simkyc_db::now_ms()) {
        return Err(ApiError::conflict("capture_expired", "the capture window of this registration has passed; start a new registration"));
    }
    if let Some(wait) = st.lockout_remaining(&p.key_id).await? {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "liveness_lockout",
            format!(
                "this device failed {} liveness checks in {} minutes; captures resume in {wait} s",
                st.config.lockout_failures,
                st.config.lockout_window_secs / 60
            ),
        ));
    }
    let (min_frames, max_frames) = match reg.capture_mode {
        CaptureMode::Active => (MIN_CHALLENGE_FRAMES, st.config.challenge_max_frames),
        CaptureMode::Passive | CaptureMode::Off => (1, st.config.max_frames),
    };
    if req.frames.len() < min_frames || req.frames.len() > max_frames {
        return Err(ApiError::unprocessable("frames_count", format!("send {min_frames} to {max_frames} live frames")));
    }
    req.frames.iter().enumerate().map(|(i, f)| image_bytes(&format!("frames[{i}]"), f, st.config.max_image_bytes)).collect()
}

/// Records a capture refused for framing and returns the error that asks for another.
async fn refuse_for_retry(st: &AppState, p: &Principal, id: &str, reasons: Vec<Reason>) -> Result<ApiError, ApiError> {
    let mut w = st.db.write().await?;
    let attempts = w.record_capture_retry(id, &p.operator_id, &p.actor(), &reasons).await?;
    w.commit().await?;
    for r in &reasons {
        st.metrics.reasons.with_label_values(&[r.code.as_str()]).inc();
    }
    let left = MAX_CAPTURE_ATTEMPTS - attempts;
    let mut e = ApiError::unprocessable(
        "capture_quality",
        format!(
            "{}; capture again ({left} attempt(s) left before the registration is decided)",
            reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; ")
        ),
    );
    e.reasons = reasons;
    Ok(e)
}

/// The document template of the model in use, and its sealed form when it had to be made again:
/// a template of another model (the server was upgraded since the registration started) is
/// never compared, so it is made again from the document photo.
async fn document_template(st: &AppState, reg: &RegistrationRow, model: &str) -> Result<(Option<Vec<f32>>, Option<Vec<u8>>), ApiError> {
    let id = &reg.id;
    match (&reg.doc_template_enc, &reg.doc_photo_enc) {
        (Some(enc), _) if reg.template_model.as_deref() == Some(model) => {
            Ok((template::from_bytes(&st.vault.open(enc, &aad("registrations", "doc_template_enc", id))?), None))
        }
        (_, Some(photo)) => {
            let photo = st.vault.open(photo, &aad("registrations", "doc_photo_enc", id))?;
            let analysed = st.face.analyse(photo, Depth::Document).await?.map_err(|e| image_error("document_photo", &e))?;
            let t = analysed.analysis.subject.map(|s| s.embedding);
            let sealed =
                t.as_ref().map(|t| st.vault.seal(&template::to_bytes(t), &aad("registrations", "doc_template_enc", id))).transpose()?;
            Ok((t, sealed))
        }
        _ => Ok((None, None)),
    }
}

/// `POST /v1/registrations/{id}/activate`: assigns the SIM, within the operator's limit.
pub async fn activate(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<ApiJson<ActivateRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Register)?;
    let ApiJson(req) = body?;
    let sim_err = |e: simkyc_sim::SimError| ApiError::unprocessable(e.code(), e.to_string());
    let msisdn = simkyc_sim::msisdn(&req.msisdn).map_err(sim_err)?;
    let iccid = simkyc_sim::iccid(&req.iccid).map_err(sim_err)?;
    let imsi = simkyc_sim::imsi(&req.imsi).map_err(sim_err)?;
    let operator = st.db.operator(&p.operator_id).await?;
    let sim = SimRow {
        id: new_id(),
        msisdn,
        iccid,
        imsi,
        subscriber_id: new_id(),
        status: "active".into(),
        activated_at: 0,
        terminated_at: None,
    };
    let mut w = st.db.write().await?;
    w.activate(&id, &p.operator_id, &p.actor(), &sim, operator.sim_limit).await?;
    let now = w.now;
    w.commit().await?;
    Ok(Json(json!({
        "id": id,
        "state": "activated",
        "sim": { "msisdn": sim.msisdn, "iccid": sim.iccid, "imsi": sim.imsi, "status": "active", "activated_at": simkyc_db::rfc3339(now) },
    })))
}

/// `POST /v1/registrations/{id}/cancel`.
pub async fn cancel(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Register)?;
    let mut w = st.db.write().await?;
    w.cancel_registration(&id, &p.operator_id, &p.actor()).await?;
    w.commit().await?;
    Ok(Json(view(&st.db.registration(&id, &p.operator_id).await?)))
}
