// End-to-end test of the clerk console in headless Chromium with a fake camera.
// Started by crates/simkyc-server/tests/console.rs, which runs a real server and passes:
//   SIMKYC_BASE, KEY_CLERK, KEY_REVIEWER, KEY_AUDITOR, KEY_ADMIN, DOC_PHOTO_LFW, DOC_PHOTO_CLIP,
//   FAKE_CAMERA (a Y4M made from pad-dev/real2.webm), SHOTS (screenshot folder), CHROMIUM.
// It walks: sign-in (Chinese by default, English toggle), live ID validation, a registration
// with an lfw-dev document photo and a live capture from the fake camera (a decision with
// reasons), a registration whose document photo is a frame of the same clip (then SIM
// activation when approved), the review flow, lookup, settings from the keyboard, and access
// denied for a role. Exit code
// 0 when every check holds.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import path from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`missing ${k}`); return v; };
const base = env('SIMKYC_BASE');
const shots = env('SHOTS');
const shot = (page, name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
const log = (...a) => console.log('[e2e]', ...a);

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--use-file-for-fake-video-capture=' + env('FAKE_CAMERA')],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['camera'] });
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'info') log('page:', m.text()); });
page.on('console', (m) => { if (m.type() === 'error' && !/401|403|404|409|422/.test(m.text())) errors.push(m.text()); });

async function signIn(key) {
  await page.goto(base + '/');
  await page.getByLabel(/员工密钥|Staff key/).fill(key);
  await page.getByRole('button', { name: /^(登录|Sign in)$/ }).click();
  await page.locator('#who').filter({ hasText: /·/ }).waitFor();
}
async function signOut() {
  await page.locator('#signout').click();
  await page.locator('#page-signin').waitFor();
}

// A valid resident ID number: 17 digits and their GB 11643-1999 check character.
function residentId(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * w[i];
  return first17 + '10X98765432'[s % 11];
}

// Presses Capture until the registration is decided: frames refused for framing keep it open.
async function captureUntilDecided() {
  for (let attempt = 1; ; attempt++) {
    await page.locator('#quality.ok').waitFor({ timeout: 30000 });
    await page.getByRole('button', { name: '拍照', exact: true }).click();
    const handle = await page.waitForFunction(() => {
      if (!document.querySelector('[data-step-panel="result"]').hidden) return 'decided';
      if (document.querySelector('#quality').textContent.startsWith('未拍好')) return 'again';
      const flash = document.querySelector('#flash');
      return flash.hidden ? false : 'error: ' + flash.textContent;
    }, null, { timeout: 60000 });
    const outcome = await handle.jsonValue();
    assert.ok(!outcome.startsWith('error'), outcome);
    log('capture attempt', attempt, outcome, outcome === 'again' ? await page.locator('#quality').textContent() : '');
    if (outcome === 'decided') return;
    assert.ok(attempt < 3, 'decided by the third attempt');
  }
}

// 1. Sign-in page, Chinese by default; English toggle; a wrong key is refused.
await page.goto(base + '/');
assert.equal(await page.locator('#signin-title').textContent(), '登录');
await shot(page, '01-signin-zh');
await page.getByLabel('员工密钥').fill('sk_0000000000000000_000000000000000000000000000000000000000000000000');
await page.getByRole('button', { name: '登录' }).click();
await page.locator('#flash').filter({ hasText: '密钥无效' }).waitFor();
await page.locator('#lang').click();
await page.locator('#signin-title').filter({ hasText: 'Sign in' }).waitFor();
await page.locator('#lang').click();
await page.locator('#signin-title').filter({ hasText: '登录' }).waitFor();
log('sign-in page, language toggle and wrong key: ok');

// 2. Access denied: an auditor sees the audit log only, and the API refuses registration.
await signIn(env('KEY_AUDITOR'));
await page.locator('#page-audit').waitFor();
assert.equal(await page.locator('#nav a[href="#register"]').isHidden(), true);
await page.locator('#audit-status').filter({ hasText: '哈希链完整' }).waitFor();
await page.evaluate(() => { location.hash = '#register'; });
await page.waitForTimeout(100);
assert.equal(await page.locator('#page-register').isHidden(), true, 'hidden page not shown to an auditor');
const denied = await page.evaluate(async (key) => (await fetch('/v1/registrations', { method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' }, body: '{}' })).status, env('KEY_AUDITOR'));
assert.equal(denied, 403, 'the API itself refuses an auditor');
await shot(page, '02-auditor-audit-log');
await signOut();
log('access denied for an auditor: ok');

// 3. Clerk: live validation, then a registration with an lfw-dev document photo and the fake camera.
await signIn(env('KEY_CLERK'));
await page.locator('#page-register').waitFor();
const number = page.getByLabel('公民身份号码');
await number.fill('110105194912310021');
await page.locator('#doc-number-check').filter({ hasText: '校验码应为 X' }).waitFor();
await number.fill('11010519491231002X');
await page.locator('#doc-number-check').filter({ hasText: '号码有效' }).waitFor();
await page.getByLabel('姓名（与证件一致）').fill('张三');
await page.getByLabel('长期有效').check();
await shot(page, '03-document-form');
await page.locator('#doc-photo-file').setInputFiles(env('DOC_PHOTO_LFW'));
await page.locator('#doc-photo-preview:not([hidden])').waitFor();
await shot(page, '03-document');
await page.getByRole('button', { name: '核验证件并继续' }).click();
await page.locator('[data-step-panel="capture"]:not([hidden])').waitFor();
await page.locator('#quality.ok').waitFor({ timeout: 30000 });
await shot(page, '04-live-capture');
await captureUntilDecided();
const first = await page.locator('#result-title').getAttribute('class');
assert.ok(['approved', 'rejected', 'review'].includes(first), 'a decision is shown: ' + first);
if (first !== 'approved') assert.ok(await page.locator('#result-reasons li').count() > 0, 'reasons are shown');
await shot(page, '05-result-lfw-document');
log('registration with an lfw-dev document photo: decision', first, await page.locator('#result-reasons').textContent());

// 3b. Scanning a (synthetic) card fills the form for the clerk to confirm and takes its printed portrait.
await page.getByRole('button', { name: '新登记' }).click();
await page.locator('#scan-front').setInputFiles(env('CARD_FRONT'));
await page.getByRole('button', { name: '识别证件' }).click();
await page.locator('#scan-result.ok').waitFor({ timeout: 60000 });
assert.equal(await page.locator('#doc-number').inputValue(), env('CARD_NUMBER'), 'the number is filled from the card');
assert.equal(await page.locator('#doc-name').inputValue(), env('CARD_NAME'), 'the name is filled from the card');
await page.locator('#doc-number-check').filter({ hasText: '号码有效' }).waitFor();
await page.locator('#doc-photo-preview:not([hidden])').waitFor();
await shot(page, '03b-card-scanned');
log('card scan filled the form:', await page.locator('#scan-result').textContent());
// Start afresh for the next registration (the scan would otherwise go with it).
await page.reload();
await page.locator('#page-register').waitFor();

// 4. A registration whose document photo is a frame of the same clip: the same person.
const n2 = residentId('11010519900101001');
await number.fill(n2);
await page.getByLabel('姓名（与证件一致）').fill('李四');
await page.getByLabel('有效期至').fill('2036-06-30');
await page.locator('#doc-photo-file').setInputFiles(env('DOC_PHOTO_CLIP'));
await page.locator('#doc-photo-preview:not([hidden])').waitFor();
await page.getByRole('button', { name: '核验证件并继续' }).click();
await page.locator('[data-step-panel="capture"]:not([hidden])').waitFor();
await captureUntilDecided();
const second = await page.locator('#result-title').getAttribute('class');
log('registration with a document photo from the clip: decision', second, await page.locator('#result-reasons').textContent());
assert.ok(['approved', 'review'].includes(second), 'the same person is not rejected: ' + second);
if (second === 'approved') {
  await page.getByRole('button', { name: '继续开卡' }).click();
  await page.getByLabel('手机号码（+86…）').fill('+8613912345678');
  await page.getByLabel('ICCID（卡面号码）').fill('89860012345678901238');
  await page.getByLabel('IMSI').fill('460001234567890');
  await page.getByRole('button', { name: '开卡', exact: true }).click();
  await page.locator('#sim-result.ok').filter({ hasText: '+8613912345678' }).waitFor();
  await shot(page, '06-sim-activated');
  log('SIM activation: ok');
}

// 5. Lookup, in English.
await page.locator('#lang').click();
await page.getByRole('link', { name: 'Subscriber lookup' }).click();
await page.getByLabel('Document number').fill(n2);
await page.getByRole('button', { name: 'Look up' }).click();
await page.locator('#lookup-result p').waitFor();
assert.match(await page.locator('#lookup-result p').textContent(), second === 'approved' ? /^1 active/ : /^0 active/);
await shot(page, '07-lookup-en');
await page.locator('#lang').click();
await signOut();
log('lookup: ok');

// 6. Reviewer: the queue holds the case prepared by the test (and possibly ours); approve one.
await signIn(env('KEY_REVIEWER'));
await page.locator('#page-review').waitFor();
await page.locator('#review-list tr').first().waitFor();
const cases = await page.locator('#review-list tr').count();
await page.locator('#review-list tr').first().getByRole('button').click();
await page.locator('#review-case:not([hidden])').waitFor();
await page.waitForFunction(() => document.querySelector('#case-doc').naturalWidth > 0 && document.querySelector('#case-live').naturalWidth > 0);
await shot(page, '08-review-case');
await page.getByRole('button', { name: '通过' }).click();
assert.equal(await page.locator('#review-case').isHidden(), false, 'no decision without a comment');
await page.getByLabel('审核意见（必填）').fill('证件照与现场照为同一人');
await page.getByRole('button', { name: '通过' }).click();
await page.locator('#review-case[hidden]').waitFor({ state: 'attached' });
await page.waitForFunction((n) => document.querySelectorAll('#review-list tr').length === n - 1, cases);
await signOut();
log('review: ok');

// 7. Admin: settings, changed from the keyboard.
await signIn(env('KEY_ADMIN'));
await page.locator('#page-settings').waitFor();
await page.locator('#settings-facts dd').first().waitFor();
assert.equal(await page.locator('#set-limit').inputValue(), '5');
await page.locator('#set-limit').focus();
await page.keyboard.press('Control+A');
await page.keyboard.type('3');
await page.keyboard.press('Enter');
await page.locator('#settings-result').filter({ hasText: '已保存' }).waitFor();
const limit = await page.evaluate(async (key) => (await (await fetch('/v1/admin/settings', { headers: { Authorization: 'Bearer ' + key } })).json()).sim_limit, env('KEY_ADMIN'));
assert.equal(limit, 3);
await shot(page, '09-settings');
// Switch the operator to the active challenge from the settings page.
await page.getByLabel('现场拍照检查').selectOption('active');
await page.getByRole('button', { name: '保存' }).click();
await page.locator('#settings-result').filter({ hasText: '已保存' }).waitFor();
await signOut();
log('settings: ok');

// 8. Active challenge: the steps are announced, then shown one at a time during the capture.
await signIn(env('KEY_CLERK'));
await page.locator('#page-register').waitFor();
const n3 = residentId('11010519900101002');
await page.getByLabel('公民身份号码').fill(n3);
await page.getByLabel('姓名（与证件一致）').fill('王五');
await page.getByLabel('长期有效').check();
await page.locator('#doc-photo-file').setInputFiles(env('DOC_PHOTO_CLIP'));
await page.locator('#doc-photo-preview:not([hidden])').waitFor();
await page.getByRole('button', { name: '核验证件并继续' }).click();
await page.locator('#capture-instruction').filter({ hasText: '依次完成' }).waitFor();
await page.locator('#quality.ok').waitFor({ timeout: 30000 });
await page.getByRole('button', { name: '拍照', exact: true }).click();
await page.locator('#capture-instruction').filter({ hasText: '第 1/' }).waitFor();
await shot(page, '10-challenge-step');
await page.locator('#capture-instruction').filter({ hasText: '第 2/' }).waitFor();
await page.locator('[data-step-panel="result"]:not([hidden])').waitFor({ timeout: 60000 });
log('active challenge: steps shown, decision', await page.locator('#result-title').getAttribute('class'), await page.locator('#result-reasons').textContent());
await signOut();

// 9. The same console on a desktop screen: the layout uses the width, nothing overflows.
await page.setViewportSize({ width: 1920, height: 1080 });
await page.goto(base + '/');
const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
assert.equal(overflow, false, 'no horizontal scrolling at 1920×1080');
await shot(page, '11-desktop-signin');
await page.setViewportSize({ width: 1280, height: 800 });
assert.equal(await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), false, 'no horizontal scrolling at 1280×800');

assert.deepEqual(errors, [], 'no script errors in the page');
await browser.close();
log('all console checks passed');
