// simkyc clerk console: plain JavaScript, no build step, no external resources. Every action
// is an API call with the signed-in staff key; the API enforces the roles, the console only
// hides what a role cannot use. All text comes from the message files in /console/*.json.
'use strict';

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));
const state = { key: sessionStorage.getItem('simkyc.key') || '', me: null, lang: localStorage.getItem('simkyc.lang') || 'zh-CN', messages: {}, reg: null, stream: null, cameraPurpose: 'live', qualityTimer: null, qualityBusy: false, capturing: false, docPhoto: null, docPhotoSource: null, scan: null, auditAfter: 0, caseId: null };

// ---------- messages ----------
function t(key, vars) {
  let s = state.messages[key];
  if (s === undefined) return key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll('{' + k + '}', String(v));
  return s;
}
function reasonText(r) {
  const key = 'reason.' + r.code;
  return state.messages[key] !== undefined ? t(key) : r.message;
}
async function loadMessages(lang) {
  const res = await fetch('/console/' + lang + '.json');
  state.messages = await res.json();
  state.lang = lang;
  localStorage.setItem('simkyc.lang', lang);
  document.documentElement.lang = lang;
  $$('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t('app.title');
  $('#lang').textContent = t('app.other_language');
  $('#lang').setAttribute('aria-label', t('app.switch_language'));
  if (state.me) showWho();
  validateNumber();
  validateMrz();
}

// ---------- API ----------
async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + state.key };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    flash(t('error.network'));
    throw e;
  }
  const json = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== '/v1/me') {
    signOut();
    flash(t('error.signed_out'));
  }
  return { status: res.status, json };
}
function errorText(json) {
  const e = (json && json.error) || {};
  if (e.reasons && e.reasons.length) return e.reasons.map(reasonText).join('；');
  const key = 'error.' + e.code;
  return state.messages[key] !== undefined ? t(key) : (e.message || t('error.unknown'));
}
function flash(text) {
  const f = $('#flash');
  f.textContent = text || '';
  f.hidden = !text;
}

// ---------- sign-in and navigation ----------
function showWho() {
  $('#who').textContent = t('role.' + state.me.role) + ' · ' + state.me.store;
}
async function signIn(key) {
  state.key = key.trim();
  const r = await api('GET', '/v1/me');
  if (r.status !== 200) {
    state.key = '';
    flash(t('signin.failed'));
    return false;
  }
  sessionStorage.setItem('simkyc.key', state.key);
  state.me = r.json;
  showWho();
  $('#nav').hidden = false;
  $('#signout').hidden = false;
  $$('#nav a').forEach((a) => { a.hidden = !a.dataset.role.split(' ').includes(state.me.role); });
  flash('');
  route();
  return true;
}
function signOut() {
  resetRegistration();
  state.key = '';
  state.me = null;
  sessionStorage.removeItem('simkyc.key');
  $('#nav').hidden = true;
  $('#signout').hidden = true;
  $('#who').textContent = '';
  location.hash = '';
  showPage('signin');
}
const defaultPage = { clerk: 'register', reviewer: 'review', auditor: 'audit', admin: 'settings' };
function route() {
  if (!state.me) return showPage('signin');
  let page = location.hash.replace('#', '') || defaultPage[state.me.role];
  const link = $('#nav a[href="#' + page + '"]');
  if (!link || link.hidden) page = defaultPage[state.me.role];
  showPage(page);
}
function showPage(page) {
  $$('.page').forEach((p) => { p.hidden = p.id !== 'page-' + page; });
  $$('#nav a').forEach((a) => a.toggleAttribute('aria-current', a.getAttribute('href') === '#' + page));
  if (a11yFocus[page]) $(a11yFocus[page]).focus();
  if (page !== 'register') stopCamera();
  if (page === 'register' && !state.reg) showStep('document');
  if (page === 'review') loadQueue();
  if (page === 'audit') loadAudit(true);
  if (page === 'settings') loadSettings();
}
const a11yFocus = { signin: '#signin-key' };

// ---------- document checks as the clerk types (the server checks again) ----------
const PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83];
function checkResidentId(raw) {
  const n = raw.trim().toUpperCase();
  if (n.length === 0) return { ok: false, key: '' };
  if (n.length !== 18) return { ok: false, key: 'check.id_length', vars: { n: n.length } };
  if (!/^\d{17}[\dX]$/.test(n)) return { ok: false, key: 'check.id_charset' };
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(n[i]) * w[i];
  const expected = '10X98765432'[sum % 11];
  if (n[17] !== expected) return { ok: false, key: 'check.id_checksum', vars: { c: expected } };
  if (!PROVINCES.includes(Number(n.slice(0, 2)))) return { ok: false, key: 'check.id_province' };
  const y = Number(n.slice(6, 10)), m = Number(n.slice(10, 12)), d = Number(n.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return { ok: false, key: 'check.id_birth' };
  if (date > new Date()) return { ok: false, key: 'check.id_birth_future' };
  const sex = Number(n[16]) % 2 === 1 ? t('check.male') : t('check.female');
  return { ok: true, key: 'check.id_ok', vars: { date: n.slice(6, 10) + '-' + n.slice(10, 12) + '-' + n.slice(12, 14), sex } };
}
function mrzDigit(s) {
  const val = (c) => (c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c >= 'A' && c <= 'Z' ? c.charCodeAt(0) - 55 : 0);
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += val(s[i]) * [7, 3, 1][i % 3];
  return String(sum % 10);
}
function checkMrz(text) {
  const lines = text.split('\n').map((l) => l.trim().replace(/ /g, '').toUpperCase()).filter((l) => l);
  if (!lines.length) return { ok: false, key: '' };
  if (lines.some((l) => /[^A-Z0-9<]/.test(l))) return { ok: false, key: 'check.mrz_chars' };
  const fields = [];
  if (lines.length === 2 && lines.every((l) => l.length === 44)) {
    const l2 = lines[1];
    fields.push(['number', l2.slice(0, 9), l2[9]], ['birth', l2.slice(13, 19), l2[19]], ['expiry', l2.slice(21, 27), l2[27]],
      ['composite', l2.slice(0, 10) + l2.slice(13, 20) + l2.slice(21, 43), l2[43]]);
  } else if (lines.length === 3 && lines.every((l) => l.length === 30)) {
    const [l1, l2] = lines;
    fields.push(['number', l1.slice(5, 14), l1[14]], ['birth', l2.slice(0, 6), l2[6]], ['expiry', l2.slice(8, 14), l2[14]],
      ['composite', l1.slice(5, 30) + l2.slice(0, 7) + l2.slice(8, 15) + l2.slice(18, 29), l2[29]]);
  } else {
    return { ok: false, key: 'check.mrz_shape' };
  }
  for (const [name, f, c] of fields) {
    if (!(c === '<' && /^<*$/.test(f)) && mrzDigit(f) !== c) return { ok: false, key: 'check.mrz_digit', vars: { field: t('check.mrz_field_' + name) } };
  }
  return { ok: true, key: 'check.mrz_ok' };
}
function showCheck(el, r) {
  el.textContent = r.key ? t(r.key, r.vars) : '';
  el.className = 'check ' + (r.key ? (r.ok ? 'ok' : 'bad') : '');
}
function validateNumber() { showCheck($('#doc-number-check'), checkResidentId($('#doc-number').value)); }
function validateMrz() { showCheck($('#doc-mrz-check'), checkMrz($('#doc-mrz').value)); }
function docTypeChanged() {
  const cn = $('#doc-type').value === 'cn_resident_id';
  $('[data-doc="cn_resident_id"]').hidden = !cn;
  $('[data-doc="mrz"]').hidden = cn;
}

// ---------- camera ----------
async function startCamera() {
  if (state.stream) return true;
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    flash(t('capture.no_camera'));
    return false;
  }
  const v = $('#video');
  v.srcObject = state.stream;
  // Wait until the new stream really delivers frames (a restarted stream starts black).
  await v.play().catch(() => {});
  const started = v.currentTime;
  for (let i = 0; i < 100 && (v.readyState < 2 || v.currentTime <= started || !v.videoWidth); i++) await sleep(50);
  await sleep(200);
  return true;
}
function stopCamera() {
  clearInterval(state.qualityTimer);
  state.qualityTimer = null;
  if (state.stream) state.stream.getTracks().forEach((tr) => tr.stop());
  state.stream = null;
}
function grabFrame(quality) {
  const v = $('#video');
  const c = document.createElement('canvas');
  c.width = v.videoWidth || 640;
  c.height = v.videoHeight || 480;
  c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
  return c.toDataURL('image/jpeg', quality || 0.9);
}
async function checkQuality() {
  if (state.qualityBusy || state.capturing || !state.stream || state.cameraPurpose !== 'live') return;
  state.qualityBusy = true;
  try {
    const r = await api('POST', '/v1/quality', { frame: grabFrame(0.8) });
    // A capture started meanwhile owns the feedback line now.
    if (state.capturing || !state.stream) return;
    const q = $('#quality');
    if (r.status !== 200) {
      q.textContent = errorText(r.json);
      q.className = 'quality bad';
    } else if (r.json.ok) {
      q.textContent = t('quality.ok');
      q.className = 'quality ok';
    } else {
      q.textContent = r.json.reasons.map(reasonText).join('；');
      q.className = 'quality bad';
    }
    $('.guide').classList.toggle('ok', r.status === 200 && r.json.ok);
  } finally {
    state.qualityBusy = false;
  }
}
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// ---------- registration ----------
function showStep(step) {
  $$('[data-step-panel]').forEach((p) => { p.hidden = p.dataset.stepPanel !== step; });
  $$('.steps li').forEach((li) => li.classList.toggle('current', li.dataset.step === step));
}
function documentBody() {
  const type = $('#doc-type').value;
  if (type === 'cn_resident_id') {
    return { type, number: $('#doc-number').value.trim().toUpperCase(), name: $('#doc-name').value.trim(), expiry: $('#doc-longterm').checked ? 'long_term' : $('#doc-expiry').value };
  }
  return { type, mrz: $('#doc-mrz').value.trim() };
}
function fileDataUrl(input) {
  const f = input.files[0];
  if (!f) return Promise.resolve(null);
  return new Promise((ok, fail) => {
    const reader = new FileReader();
    reader.onload = () => ok(reader.result);
    reader.onerror = () => fail(reader.error);
    reader.readAsDataURL(f);
  });
}
// Reads the card from its photos and fills the form for the clerk to confirm; the photos go with
// the registration so the service compares what was read with what is submitted.
async function scanDocument() {
  const front = await fileDataUrl($('#scan-front'));
  if (!front) return flash(t('scan.front'));
  const back = await fileDataUrl($('#scan-back'));
  const out = $('#scan-result');
  out.textContent = t('scan.reading');
  out.className = 'check';
  $('#scan-btn').disabled = true;
  try {
    const body = back ? { front, back } : { front };
    const r = await api('POST', '/v1/documents/read', body);
    if (r.status !== 200) {
      out.textContent = errorText(r.json);
      out.className = 'check bad';
      return;
    }
    const p = r.json.prefill;
    if (!p) {
      out.textContent = t('scan.nothing');
      out.className = 'check bad';
      return;
    }
    state.scan = body;
    $('#doc-type').value = p.type;
    docTypeChanged();
    if (p.type === 'cn_resident_id') {
      $('#doc-number').value = p.number || '';
      $('#doc-name').value = p.name || '';
      $('#doc-longterm').checked = p.expiry === 'long_term';
      $('#doc-expiry').disabled = p.expiry === 'long_term';
      $('#doc-expiry').value = p.expiry && p.expiry !== 'long_term' ? p.expiry : '';
      validateNumber();
    } else {
      $('#doc-mrz').value = p.mrz || '';
      validateMrz();
    }
    const notes = [t('scan.done')];
    const card = r.json.card || {};
    const number = (card.front || {}).id_number;
    if (number && !number.valid) notes.push(t('scan.invalid'));
    if ((card.inconsistencies || []).length) notes.push(t('scan.mismatch', { what: card.inconsistencies.join('; ') }));
    if (r.json.portrait && !state.docPhoto) {
      state.docPhoto = 'data:image/jpeg;base64,' + r.json.portrait.image;
      state.docPhotoSource = 'printed';
      showDocPreview();
      notes.push(t('scan.portrait'));
    }
    out.textContent = notes.join(' ');
    out.className = r.json.valid ? 'check ok' : 'check bad';
  } finally {
    $('#scan-btn').disabled = false;
  }
}
async function submitDocument(ev) {
  ev.preventDefault();
  if (!state.docPhoto) return flash(t('doc.photo_missing'));
  $('#doc-submit').disabled = true;
  try {
    const body = { document: documentBody(), document_photo: state.docPhoto };
    if (state.docPhotoSource) body.document_photo_source = state.docPhotoSource;
    if (state.scan) body.document_scan = state.scan;
    const r = await api('POST', '/v1/registrations', body);
    if (r.status !== 201) return flash(errorText(r.json));
    flash('');
    state.reg = r.json;
    state.cameraPurpose = 'live';
    const acts = (r.json.capture.actions || []).map((a) => t('action.' + a));
    openCaptureStep(acts.length ? t('challenge.intro', { steps: acts.join(' → ') }) : t('capture.instruction'));
    if (await startCamera()) {
      $('#capture-btn').disabled = false;
      state.qualityTimer = setInterval(checkQuality, 1000);
    }
  } finally {
    $('#doc-submit').disabled = false;
  }
}
async function takeDocumentPhotoWithCamera() {
  state.cameraPurpose = 'document';
  openCaptureStep(t('capture.document_instruction'));
  if (await startCamera()) $('#capture-btn').disabled = false;
}
// Shows the capture step with fresh feedback; Capture stays disabled until the camera streams.
function openCaptureStep(instruction) {
  showStep('capture');
  $('#capture-instruction').textContent = instruction;
  $('#quality').textContent = '';
  $('#quality').className = 'quality';
  $('.guide').classList.remove('ok');
  $('#capture-btn').disabled = true;
}
async function capture() {
  const btn = $('#capture-btn');
  if (state.cameraPurpose === 'document') {
    state.docPhoto = grabFrame(0.92);
    state.docPhotoSource = 'upload';
    showDocPreview();
    stopCamera();
    showStep('document');
    return;
  }
  btn.disabled = true;
  state.capturing = true;
  clearInterval(state.qualityTimer);
  try {
    const frames = state.reg.capture.mode === 'active' ? await challengeFrames() : await stillFrames();
    $('#quality').textContent = t('capture.deciding');
    const r = await api('POST', '/v1/registrations/' + state.reg.id + '/capture', { nonce: state.reg.capture.nonce, frames });
    if (r.status === 422 && r.json.error && r.json.error.code === 'capture_quality') {
      // Poor framing: the registration stays open; show why and let the clerk capture again.
      console.info('capture refused:', r.json.error.message);
      const q = $('#quality');
      q.textContent = t('capture.again') + ' ' + r.json.error.reasons.map(reasonText).join('；');
      q.className = 'quality bad';
      state.qualityTimer = setInterval(checkQuality, 1000);
      return;
    }
    stopCamera();
    if (r.status !== 200) {
      flash(errorText(r.json));
      return;
    }
    showResult(r.json);
  } finally {
    state.capturing = false;
    btn.disabled = false;
  }
}
// Passive capture: three frames a quarter second apart.
async function stillFrames() {
  const frames = [];
  const n = Math.min(3, state.reg.capture.max_frames || 3);
  for (let i = 0; i < n; i++) {
    frames.push(grabFrame(0.9));
    if (i + 1 < n) await sleep(250);
  }
  return frames;
}
// Active challenge: each action shown one at a time, every step equally long. Frames are taken
// 5 per second, and 10 per second during a blink: a blink lasts a few tenths of a second and
// falls between frames taken 200 ms apart (measured on pad-dev's real2.webm: natural blinks
// seen at 10 and 15 frames a second, missed at 5).
const blinkShare = (a) => (a === 'blink' ? 2 : 1);
async function challengeFrames() {
  const cap = state.reg.capture;
  const shares = cap.actions.reduce((sum, a) => sum + blinkShare(a), 0);
  const perShare = Math.floor((cap.max_frames - 2) / shares);
  const frames = [grabFrame(0.85)];
  await sleep(200);
  frames.push(grabFrame(0.85));
  for (const [k, action] of cap.actions.entries()) {
    $('#capture-instruction').textContent = t('challenge.step', { n: k + 1, total: cap.actions.length }) + ' ' + t('action.' + action);
    const count = perShare * blinkShare(action);
    for (let i = 0; i < count; i++) {
      await sleep(200 / blinkShare(action));
      frames.push(grabFrame(0.85));
    }
  }
  $('#capture-instruction').textContent = t('capture.deciding');
  return frames;
}

function showResult(d) {
  showStep('result');
  const title = $('#result-title');
  title.textContent = t('result.' + d.decision);
  title.className = d.decision;
  $('#result-message').textContent = d.decision === 'approved' ? t('result.approved_message') : d.decision === 'review' ? t('result.review_message') : t('result.rejected_message');
  const ul = $('#result-reasons');
  ul.replaceChildren(...d.reasons.map((r) => { const li = document.createElement('li'); li.textContent = reasonText(r); li.dataset.code = r.code; return li; }));
  $('#result-next').hidden = d.decision !== 'approved';
  state.reg.decision = d.decision;
  title.focus();
}
async function cancelRegistration() {
  if (state.reg) await api('POST', '/v1/registrations/' + state.reg.id + '/cancel');
  resetRegistration();
}
function resetRegistration() {
  stopCamera();
  state.reg = null;
  state.docPhoto = null;
  state.docPhotoSource = null;
  state.scan = null;
  $('#scan-result').textContent = '';
  $('#doc-form').reset();
  $('#doc-photo-preview').hidden = true;
  $('#doc-expiry').disabled = false;
  $('#sim-form').reset();
  $('#sim-result').textContent = '';
  docTypeChanged();
  validateNumber();
  validateMrz();
  showStep('document');
}
async function activate(ev) {
  ev.preventDefault();
  const body = { msisdn: $('#sim-msisdn').value.trim(), iccid: $('#sim-iccid').value.trim(), imsi: $('#sim-imsi').value.trim() };
  const r = await fetch('/v1/registrations/' + state.reg.id + '/activate', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + state.key, 'Content-Type': 'application/json', 'Idempotency-Key': 'console-activate-' + state.reg.id },
    body: JSON.stringify(body),
  });
  const json = await r.json().catch(() => ({}));
  const out = $('#sim-result');
  if (r.status === 200) {
    out.textContent = t('sim.done', { msisdn: json.sim.msisdn });
    out.className = 'status ok';
  } else {
    out.textContent = errorText(json);
    out.className = 'status bad';
  }
}
function showDocPreview() {
  const img = $('#doc-photo-preview');
  img.src = state.docPhoto;
  img.alt = t('doc.photo');
  img.hidden = false;
}
function readDocFile() {
  const f = $('#doc-photo-file').files[0];
  if (!f) return;
  const reader = new FileReader();
  reader.onload = () => { state.docPhoto = reader.result; state.docPhotoSource = 'upload'; showDocPreview(); };
  reader.readAsDataURL(f);
}

// ---------- review ----------
function fmtTime(s) { return s ? new Date(s).toLocaleString(state.lang) : ''; }
function cell(text) { const td = document.createElement('td'); td.textContent = text; return td; }
async function loadQueue() {
  const r = await api('GET', '/v1/reviews');
  if (r.status !== 200) return flash(errorText(r.json));
  const rows = r.json.cases.map((c) => {
    const tr = document.createElement('tr');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'secondary';
    open.textContent = t('review.open');
    open.addEventListener('click', () => openCase(c.id));
    const td = document.createElement('td');
    td.append(open);
    tr.append(cell(fmtTime(c.created_at)), cell(c.store), cell(c.reasons.map(reasonText).join('；')), td);
    return tr;
  });
  $('#review-list').replaceChildren(...rows);
  $('#review-empty').hidden = rows.length > 0;
  if (!rows.length) $('#review-case').hidden = true;
}
async function openCase(id) {
  const r = await api('GET', '/v1/reviews/' + id);
  if (r.status !== 200) return flash(errorText(r.json));
  const c = r.json;
  state.caseId = id;
  $('#case-doc').src = c.document_photo ? 'data:image/jpeg;base64,' + c.document_photo : '';
  $('#case-live').src = c.live_photo ? 'data:image/jpeg;base64,' + c.live_photo : '';
  $('#case-doc').alt = t('review.document_photo');
  $('#case-live').alt = t('review.live_photo');
  const s = c.scores || {};
  const facts = [
    ['review.name', c.document.name], ['review.number', c.document.number], ['review.created', fmtTime(c.created_at)],
    ['review.match', s.match == null ? '—' : s.match.toFixed(3)],
    ['review.thresholds', (s.default_threshold || 0).toFixed(3) + ' / ' + (s.strict_threshold || 0).toFixed(3)],
  ];
  $('#case-facts').replaceChildren(...facts.flatMap(([k, v]) => { const dt = document.createElement('dt'); dt.textContent = t(k); const dd = document.createElement('dd'); dd.textContent = v; return [dt, dd]; }));
  $('#case-reasons').replaceChildren(...c.reasons.map((x) => { const li = document.createElement('li'); li.textContent = reasonText(x); return li; }));
  $('#case-resembling').replaceChildren(...(c.resembling || []).map((x) => {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.src = x.live_photo ? 'data:image/jpeg;base64,' + x.live_photo : '';
    img.alt = t('review.resembling');
    const cap = document.createElement('figcaption');
    cap.textContent = t('review.resembling') + ' ' + Number(x.score).toFixed(3);
    fig.append(img, cap);
    return fig;
  }));
  $('#review-comment').value = '';
  $('#review-case').hidden = false;
  $('#review-comment').focus();
}
async function decideCase(ev) {
  ev.preventDefault();
  const decision = ev.submitter ? ev.submitter.value : 'approve';
  const r = await api('POST', '/v1/reviews/' + state.caseId + '/decision', { decision, comment: $('#review-comment').value });
  if (r.status !== 200) return flash(errorText(r.json));
  flash('');
  $('#review-case').hidden = true;
  loadQueue();
}

// ---------- lookup, audit, settings ----------
async function lookup(ev) {
  ev.preventDefault();
  const r = await api('POST', '/v1/subscribers/lookup', { document: { type: $('#lookup-type').value, number: $('#lookup-number').value.trim().toUpperCase() } });
  const out = $('#lookup-result');
  if (r.status !== 200) { out.textContent = errorText(r.json); return; }
  const p = document.createElement('p');
  p.textContent = t('lookup.count', { active: r.json.active, total: r.json.sims.length });
  const table = document.createElement('table');
  table.className = 'list';
  const rows = r.json.sims.map((s) => { const tr = document.createElement('tr'); tr.append(cell(s.msisdn), cell(t('lookup.status_' + s.status)), cell(fmtTime(s.activated_at)), cell(fmtTime(s.terminated_at))); return tr; });
  table.replaceChildren(...rows);
  out.replaceChildren(p, table);
}
async function loadAudit(reset) {
  if (reset) { state.auditAfter = 0; $('#audit-list').replaceChildren(); }
  const v = await api('GET', '/v1/audit/verify');
  const st = $('#audit-status');
  if (v.status === 200) {
    st.textContent = v.json.intact ? t('audit.intact', { n: v.json.events }) : t('audit.broken', { error: v.json.error });
    st.className = 'status ' + (v.json.intact ? 'ok' : 'bad');
  }
  const r = await api('GET', '/v1/audit?limit=50&after=' + state.auditAfter);
  if (r.status !== 200) return flash(errorText(r.json));
  const rows = r.json.events.map((e) => { const tr = document.createElement('tr'); tr.append(cell(e.seq), cell(fmtTime(e.at)), cell(e.actor), cell(e.action), cell(e.subject)); return tr; });
  $('#audit-list').append(...rows);
  if (r.json.next_after) state.auditAfter = r.json.next_after;
  $('#audit-more').hidden = r.json.events.length < 50;
}
async function loadSettings() {
  const r = await api('GET', '/v1/admin/settings');
  if (r.status !== 200) return flash(errorText(r.json));
  $('#set-limit').value = r.json.sim_limit;
  $('#set-mode').value = r.json.capture_mode;
  const op = r.json.operating_points;
  const facts = [['settings.retention', t('settings.days', { n: r.json.retention_days })], ['settings.points', op.default.toFixed(4) + ' / ' + op.strict.toFixed(4)], ['settings.embedder', op.embedder]];
  $('#settings-facts').replaceChildren(...facts.flatMap(([k, v]) => { const dt = document.createElement('dt'); dt.textContent = t(k); const dd = document.createElement('dd'); dd.textContent = v; return [dt, dd]; }));
}
async function saveSettings(ev) {
  ev.preventDefault();
  const r = await api('PUT', '/v1/admin/settings', { sim_limit: Number($('#set-limit').value), capture_mode: $('#set-mode').value });
  $('#settings-result').textContent = r.status === 200 ? t('settings.saved') : errorText(r.json);
}

// ---------- wiring ----------
document.addEventListener('DOMContentLoaded', async () => {
  await loadMessages(state.lang);
  $('#lang').addEventListener('click', () => loadMessages(state.lang === 'zh-CN' ? 'en' : 'zh-CN'));
  $('#signin-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('#signin-key').value); });
  $('#signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  $('#doc-type').addEventListener('change', docTypeChanged);
  $('#doc-number').addEventListener('input', validateNumber);
  $('#doc-mrz').addEventListener('input', validateMrz);
  $('#doc-longterm').addEventListener('change', () => { $('#doc-expiry').disabled = $('#doc-longterm').checked; });
  $('#doc-photo-file').addEventListener('change', readDocFile);
  $('#doc-photo-camera').addEventListener('click', takeDocumentPhotoWithCamera);
  $('#scan-btn').addEventListener('click', scanDocument);
  $('#doc-form').addEventListener('submit', submitDocument);
  $('#capture-btn').addEventListener('click', capture);
  $('#cancel-btn').addEventListener('click', cancelRegistration);
  $('#result-next').addEventListener('click', () => { showStep('activate'); $('#sim-msisdn').focus(); });
  $('#result-new').addEventListener('click', resetRegistration);
  $('#sim-form').addEventListener('submit', activate);
  $('#review-refresh').addEventListener('click', loadQueue);
  $('#review-form').addEventListener('submit', decideCase);
  $('#lookup-form').addEventListener('submit', lookup);
  $('#audit-more').addEventListener('click', () => loadAudit(false));
  $('#settings-form').addEventListener('submit', saveSettings);
  docTypeChanged();
  if (state.key && !(await signIn(state.key))) signOut();
  if (!state.key) showPage('signin');
});
