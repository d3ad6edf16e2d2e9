//! The registration workflow: start (document + photo), capture (live frames → decision),
//! activate (SIM within the limit), cancel, and read the status.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::json;
use simkyc_docs::Date;
use simkyc_face::challenge::Action;
use simkyc_store::{aad, NewRegistration, RegistrationRow, SimRow, Verdict};
use simkyc_workflow::{decide, CheckResults, DocumentInput, DuplicateHit, Outcome, Permission, Reason, RegistrationState, Severity};

use crate::auth::{new_id, Principal};
use crate::capture::{self, CaptureLimits, CaptureMode};
use crate::error::ApiError;
use crate::extract::{image_bytes, ApiJson};
use crate::face::{image_error, template_bytes, template_from_bytes, Analysed};
use crate::state::AppState;

/// Body of `POST /v1/registrations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The identity document.
    pub document: DocumentInput,
    /// The document's photo (chip or printed), base64.
    pub document_photo: String,
}

/// What the client must send to `capture`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaptureRequirements {
    /// Check mode.
    pub mode: String,
    /// Single-use value the capture must echo.
    pub nonce: String,
    /// Fewest frames.
    pub min_frames: usize,
    /// Most frames.
    pub max_frames: usize,
    /// Smallest inter-eye distance, pixels.
    pub min_eye_px: f64,
    /// When the capture stops being accepted (RFC 3339).
    pub expires_at: String,
    /// Active mode: the actions to perform, in this order, while frames are captured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Expiry in ms, for checks.
    #[serde(skip_serializing, default)]
    pub expires_ms: i64,
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
        "reasons": serde_json::from_str::<serde_json::Value>(&r.reasons).unwrap_or(json!([])),
        "message": r.message,
        "store": r.store_id,
        "document": { "type": r.doc_type, "number_masked": mask(&r.doc_number), "expiry": r.doc_expiry },
        "capture": serde_json::from_str::<serde_json::Value>(&r.challenge).unwrap_or(json!({})),
        "msisdn": r.msisdn,
        "review_comment": r.review_comment,
        "photos_purged": r.photos_purged_at.is_some(),
        "created_at": simkyc_store::rfc3339(r.created_at),
        "updated_at": simkyc_store::rfc3339(r.updated_at),
    })
}

fn today() -> Date {
    Date::from_days_since_epoch(simkyc_store::now_ms().div_euclid(86_400_000))
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
            let mut w = st.store.write().await?;
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
    let photo = image_bytes("document_photo", &req.document_photo, st.config.max_image_bytes)?;
    let analysis =
        st.face.analyze_documents(vec![photo.clone()]).await?.pop().ok_or_else(|| ApiError::internal("face analysis", &"no result"))?;
    let analysed = analysis.map_err(|e| image_error("document_photo", &e))?;
    let analysis = &analysed.analysis;
    let Some(subject) = &analysis.subject else {
        return Err(ApiError::unprocessable(
            "document_photo_no_face",
            "no face was found in the document photo; photograph or read it again",
        ));
    };
    if capture::comparable_faces(analysis, subject) > 1 {
        return Err(ApiError::unprocessable(
            "document_photo_multiple_faces",
            "the document photo shows more than one face; photograph the photo area only",
        ));
    }
    if subject.inter_eye_px < st.config.min_document_eye_px {
        return Err(ApiError::unprocessable(
            "document_photo_too_small",
            format!(
                "the face in the document photo is too small ({:.0} px between the eyes); use a sharper, larger image",
                subject.inter_eye_px
            ),
        ));
    }
    let operator = st.store.operator(&p.operator_id).await?;
    let store = st.store.store(&p.store_id).await?;
    let mode =
        store.capture_mode.as_deref().or(Some(operator.liveness_mode.as_str())).and_then(CaptureMode::parse).unwrap_or(CaptureMode::Active);
    let id = new_id();
    let now = simkyc_store::now_ms();
    let active = mode == CaptureMode::Active;
    let expires_ms = now + if active { st.config.challenge_ttl_secs as i64 * 1000 } else { st.config.capture_ttl_minutes as i64 * 60_000 };
    let actions: Vec<String> = if active {
        let mut rnd = || {
            let mut b = [0u8; 4];
            getrandom::getrandom(&mut b).map(|_| u32::from_le_bytes(b)).unwrap_or(0)
        };
        let n = 2 + (rnd() % 2) as usize;
        simkyc_face::challenge::pick(&st.config.challenge_pool(), n, &mut rnd).into_iter().map(|a| a.as_str().to_string()).collect()
    } else {
        Vec::new()
    };
    let requirements = CaptureRequirements {
        mode: mode.as_str().into(),
        nonce: new_id(),
        min_frames: if active { MIN_CHALLENGE_FRAMES } else { 1 },
        max_frames: if active { st.config.challenge_max_frames } else { st.config.max_frames },
        min_eye_px: st.config.min_live_eye_px,
        expires_at: simkyc_store::rfc3339(expires_ms),
        actions,
        expires_ms,
    };
    // Stored as the client sees it, plus the expiry in milliseconds for the check at capture.
    let mut challenge = serde_json::to_value(&requirements).map_err(|e| ApiError::internal("capture requirements", &e))?;
    challenge["expires_ms"] = json!(expires_ms);
    let new = NewRegistration {
        id: id.clone(),
        operator_id: p.operator_id.clone(),
        store_id: p.store_id.clone(),
        created_by: p.actor(),
        doc_type: doc.doc_type.as_str().into(),
        doc_number: doc.number.clone(),
        name_enc: st.vault.seal(doc.name.as_bytes(), &aad("registrations", "name_enc", &id))?,
        doc_expiry: doc.expiry.map(|d| d.to_string()),
        capture_mode: mode.as_str().into(),
        challenge: challenge.to_string(),
        doc_photo_enc: st.vault.seal(&photo, &aad("registrations", "doc_photo_enc", &id))?,
        doc_template_enc: st.vault.seal(&template_bytes(&subject.embedding), &aad("registrations", "doc_template_enc", &id))?,
        template_model: st.face.engine.template_model().to_string(),
    };
    let mut w = st.store.write().await?;
    w.create_registration(&new).await?;
    w.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "state": "created",
            "document": { "type": doc.doc_type, "number_masked": mask(&doc.number), "birth_date": doc.birth_date, "expiry": doc.expiry },
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
    Ok(Json(view(&st.store.registration(&id, &p.operator_id).await?)))
}

/// The stored template of a capture: the frames' embeddings fused with equal weight.
fn fused(frames: &[&[f32]]) -> Option<Vec<f32>> {
    simkyc_face::embed::fuse(&frames.iter().map(|f| (f.to_vec(), 1.0)).collect::<Vec<_>>())
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
    let mut challenge_outcome: Option<(Result<Vec<usize>, simkyc_face::challenge::ChallengeFailure>, usize, usize)> = None;
    let reg = st.store.registration(&id, &p.operator_id).await?;
    if reg.state != RegistrationState::Created.as_str() {
        return Err(ApiError::conflict(
            "capture_already_done",
            format!("registration {id} is {}; a capture is accepted once, start a new registration", reg.state),
        ));
    }
    let challenge: serde_json::Value = serde_json::from_str(&reg.challenge).unwrap_or(json!({}));
    if challenge["nonce"].as_str() != Some(req.nonce.as_str()) {
        return Err(ApiError::unprocessable(
            "capture_nonce_invalid",
            "the nonce does not belong to this registration (replayed or mixed-up capture)",
        ));
    }
    if challenge["expires_ms"].as_i64().is_some_and(|exp| simkyc_store::now_ms() >= exp) {
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
    let mode = CaptureMode::parse(&reg.capture_mode).unwrap_or(CaptureMode::Passive);
    let (min_frames, max_frames) = match mode {
        CaptureMode::Active => (MIN_CHALLENGE_FRAMES, st.config.challenge_max_frames),
        _ => (1, st.config.max_frames),
    };
    if req.frames.len() < min_frames || req.frames.len() > max_frames {
        return Err(ApiError::unprocessable("frames_count", format!("send {min_frames} to {max_frames} live frames")));
    }
    let images = req
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| image_bytes(&format!("frames[{i}]"), f, st.config.max_image_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    // Server-side decision time starts once the upload is in.
    let started = Instant::now();
    let limits = CaptureLimits::from_config(&st.config, st.face.points);
    let (frames, stored_images, challenge_result): (Vec<Analysed>, Vec<Vec<u8>>, Option<serde_json::Value>) = if mode == CaptureMode::Active
    {
        let actions: Vec<Action> = challenge["actions"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().and_then(Action::parse)).collect())
            .unwrap_or_default();
        let n = images.len();
        let ca =
            st.face.analyze_challenge(images.clone(), actions.clone()).await?.map_err(|(i, e)| image_error(&format!("frames[{i}]"), &e))?;
        let key_images: Vec<Vec<u8>> = ca.key_indices.iter().map(|&i| images[i].clone()).collect();
        let tracked = ca.signals.iter().filter(|s| s.is_some()).count();
        let result = json!({
            "actions": actions,
            "frames": n,
            "tracked": tracked,
            "seen_at": ca.verdict.as_ref().ok(),
            "failure": ca.verdict.as_ref().err().map(|f| f.to_string()),
        });
        challenge_outcome = Some((ca.verdict.clone(), tracked, n));
        (ca.key_frames, key_images, Some(result))
    } else {
        let analyses = st.face.analyze_all(images.clone()).await?;
        let mut frames: Vec<Analysed> = Vec::with_capacity(analyses.len());
        for (i, a) in analyses.into_iter().enumerate() {
            frames.push(a.map_err(|e| image_error(&format!("frames[{i}]"), &e))?);
        }
        (frames, images, None)
    };
    let images = stored_images;
    let analysed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut capture_reasons = capture::check(mode, &limits, &frames);
    if let Some((verdict, tracked, n)) = &challenge_outcome {
        if *tracked * 2 < *n {
            capture_reasons.push(Reason::new(
                "live_no_face",
                Severity::Reject,
                format!("the face was lost in {} of {n} frames; keep the face in view during the actions", n - tracked),
            ));
        } else if let Err(f) = verdict {
            capture_reasons.push(Reason::new(capture::CHALLENGE_FAILED, Severity::Reject, format!("the challenge was not completed: {f}")));
        }
    }
    // Poor framing is not a verdict on the customer: refuse the frames and let the clerk capture
    // again, a few times, before the registration is decided.
    if !capture_reasons.is_empty()
        && capture_reasons.iter().all(|r| capture::RETRYABLE.contains(&r.code.as_str()))
        && reg.capture_attempts + 1 < MAX_CAPTURE_ATTEMPTS
    {
        let codes: Vec<&str> = capture_reasons.iter().map(|r| r.code.as_str()).collect();
        let mut w = st.store.write().await?;
        let attempts = w.record_capture_retry(&id, &p.operator_id, &p.actor(), &codes).await?;
        w.commit().await?;
        for r in &capture_reasons {
            st.metrics.reasons.with_label_values(&[r.code.as_str()]).inc();
        }
        let left = MAX_CAPTURE_ATTEMPTS - attempts;
        let mut e = ApiError::unprocessable(
            "capture_quality",
            format!(
                "{}; capture again ({left} attempt(s) left before the registration is decided)",
                capture_reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; ")
            ),
        );
        e.reasons = capture_reasons;
        return Err(e);
    }
    let embeddings: Vec<&[f32]> = frames.iter().filter_map(|f| f.analysis.subject.as_ref().map(|s| s.embedding.as_slice())).collect();

    // A template of another model (the server was upgraded since the registration started) is
    // never compared: the document template is made again from the document photo.
    let model = st.face.engine.template_model().to_string();
    let mut new_doc_template_enc = None;
    let doc_template = match (&reg.doc_template_enc, &reg.doc_photo_enc) {
        (Some(enc), _) if reg.template_model.as_deref() == Some(model.as_str()) => {
            template_from_bytes(&st.vault.open(enc, &aad("registrations", "doc_template_enc", &id))?)
        }
        (_, Some(photo)) => {
            let photo = st.vault.open(photo, &aad("registrations", "doc_photo_enc", &id))?;
            let analysed =
                st.face.analyze_documents(vec![photo]).await?.pop().ok_or_else(|| ApiError::internal("document photo", &"no result"))?;
            let t = analysed.map_err(|e| image_error("document_photo", &e))?.analysis.subject.map(|s| s.embedding);
            if let Some(t) = &t {
                new_doc_template_enc = Some(st.vault.seal(&template_bytes(t), &aad("registrations", "doc_template_enc", &id))?);
            }
            t
        }
        _ => None,
    };
    let match_score =
        if capture_reasons.is_empty() { doc_template.as_ref().and_then(|t| capture::mean_score(&embeddings, t)) } else { None };

    let mut duplicates = Vec::new();
    if match_score.is_some() {
        for g in st.store.gallery(&p.operator_id, &model).await? {
            if g.doc_type == reg.doc_type && g.doc_number == reg.doc_number {
                continue;
            }
            let t = st.vault.open(&g.template_enc, &aad("registrations", "live_template_enc", &g.registration_id))?;
            if let Some(score) = template_from_bytes(&t).and_then(|t| capture::mean_score(&embeddings, &t)) {
                if score >= st.face.points.strict {
                    duplicates.push(DuplicateHit { registration_id: g.registration_id, score });
                }
            }
        }
        duplicates.sort_by(|a, b| b.score.total_cmp(&a.score));
        duplicates.truncate(10);
    }
    let operator = st.store.operator(&p.operator_id).await?;
    let active = st.store.active_sims(&p.operator_id, &reg.doc_type, &reg.doc_number).await?;
    let checks = CheckResults {
        document: Vec::new(),
        capture: capture_reasons,
        match_score,
        duplicates: duplicates.clone(),
        active_sims: active.max(0) as u32,
        sim_limit: operator.sim_limit.max(0) as u32,
    };
    let decision = decide(&checks, st.face.points);
    // Failed passive checks and failed challenges both count towards the device's lockout.
    let liveness_failed = decision.reasons.iter().any(|r| r.code == capture::LIVENESS_FAILED || r.code == capture::CHALLENGE_FAILED);
    let state = match decision.outcome {
        Outcome::Approved => RegistrationState::Approved,
        Outcome::Rejected => RegistrationState::Rejected,
        Outcome::Review => RegistrationState::Review,
    };
    // Keep the best frame (largest face) for review within the retention period.
    let best = (0..frames.len()).max_by(|&a, &b| {
        let eye = |i: usize| frames[i].analysis.subject.as_ref().map(|s| s.inter_eye_px).unwrap_or(0.0);
        eye(a).total_cmp(&eye(b))
    });
    let live_photo_enc = best.map(|i| st.vault.seal(&images[i], &aad("registrations", "live_photo_enc", &id))).transpose()?;
    let live_template_enc =
        fused(&embeddings).map(|t| st.vault.seal(&template_bytes(&t), &aad("registrations", "live_template_enc", &id))).transpose()?;
    let scores = json!({
        "match": match_score,
        "default_threshold": st.face.points.default,
        "strict_threshold": st.face.points.strict,
        "frames": frames.len(),
        "faces_per_frame": frames.iter().map(|f| f.analysis.faces.len()).collect::<Vec<_>>(),
        "inter_eye_px": frames.iter().map(|f| f.analysis.subject.as_ref().map(|s| (s.inter_eye_px * 10.0).round() / 10.0)).collect::<Vec<_>>(),
        "quality": frames.iter().map(|f| f.quality).collect::<Vec<_>>(),
        "liveness": capture::mean_liveness(&frames),
        "challenge": challenge_result,
        "duplicates": duplicates,
        "active_sims": active,
        "sim_limit": operator.sim_limit,
    });
    let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
    let audit = json!({
        "outcome": decision.outcome.as_str(),
        "reasons": codes,
        "match": match_score.map(score_text),
        "duplicates": duplicates.iter().map(|d| json!({ "registration": d.registration_id, "score": score_text(d.score) })).collect::<Vec<_>>(),
        "mode": mode.as_str(),
    });
    let verdict = Verdict {
        state,
        reasons: serde_json::to_string(&decision.reasons).unwrap_or_else(|_| "[]".into()),
        message: decision.message.clone(),
        scores: scores.to_string(),
        live_photo_enc,
        live_template_enc,
        template_model: model,
        doc_template_enc: new_doc_template_enc,
        audit,
    };
    let mut w = st.store.write().await?;
    w.record_decision(&id, &p.operator_id, &p.actor(), &verdict).await?;
    if liveness_failed {
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
        "state": state,
        "decision": decision.outcome,
        "reasons": decision.reasons,
        "message": decision.message,
        "timing_ms": { "analysis": (analysed_ms * 10.0).round() / 10.0, "decision": (decision_ms * 10.0).round() / 10.0 },
    })))
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
    let operator = st.store.operator(&p.operator_id).await?;
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
    let mut w = st.store.write().await?;
    w.activate(&id, &p.operator_id, &p.actor(), &sim, operator.sim_limit).await?;
    let now = w.now;
    w.commit().await?;
    Ok(Json(json!({
        "id": id,
        "state": "activated",
        "sim": { "msisdn": sim.msisdn, "iccid": sim.iccid, "imsi": sim.imsi, "status": "active", "activated_at": simkyc_store::rfc3339(now) },
    })))
}

/// `POST /v1/registrations/{id}/cancel`.
pub async fn cancel(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Register)?;
    let mut w = st.store.write().await?;
    w.cancel_registration(&id, &p.operator_id, &p.actor()).await?;
    w.commit().await?;
    Ok(Json(view(&st.store.registration(&id, &p.operator_id).await?)))
}

/// Reasons in stored JSON back as values (for review views).
pub fn stored_reasons(text: &str) -> Vec<Reason> {
    serde_json::from_str(text).unwrap_or_default()
}
