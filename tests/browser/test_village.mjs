// test_village.mjs — the village cadre's phone flow on the server-rendered
// pages (/v/…): on a 360×740 screen, search → household → record a visit →
// see it in the timeline; search by pinyin initials and by the last 4 digits
// of the 身份证号; the same flow with JavaScript off; validation as the user
// types; a risk report that shows up in the task list; an out-of-scope
// household typed by hand is a 404 page; page weight; screenshots at phone
// and desktop sizes and for print.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { db, login, newPage, noHorizontalScroll, snap, test, text } from './lib.mjs';

const PHONE = { width: 360, height: 740 };
const CLERK = 'cun.xinxiyuan';

// The clerk's village's household in the 200-household demo, and one outside.
function sql(q) {
  return execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();
}
function clerkHousehold() {
  const row = sql(`SELECT h.id, h.hh_no, m.name, m.id_number FROM household h JOIN member m ON
    m.household_id = h.id AND m.relation = 1 WHERE h.village_code = (SELECT scope_code FROM users
    WHERE login = '${CLERK}') ORDER BY h.id LIMIT 1`).split('|');
  return { id: row[0], hhNo: row[1], head: row[2], idNumber: row[3] };
}
function outsideHousehold() {
  return sql(`SELECT id FROM household WHERE village_code <> (SELECT scope_code FROM users WHERE
    login = '${CLERK}') ORDER BY id LIMIT 1`);
}
function initials(id) {
  return sql(`SELECT name_py FROM member WHERE household_id = ${id} AND relation = 1`);
}

async function clerkPage(size = PHONE) {
  const page = await newPage(size);
  await login(page, CLERK);
  return page;
}

// Bytes on the wire for loading `path` in a fresh context (nothing cached).
async function pageWeight(page, path) {
  const sizes = [];
  const onResponse = (r) => sizes.push(r.request().sizes().catch(() => null));
  page.on('response', onResponse);
  await page.goto(path, { waitUntil: 'networkidle' });
  page.off('response', onResponse);
  let total = 0;
  for (const s of await Promise.all(sizes))
    if (s) total += s.responseBodySize + s.responseHeadersSize;
  return total;
}

async function search(page, q) {
  await page.getByLabel('查找农户').first().fill(q);
  await page.getByRole('button', { name: '查找' }).click();
  await page.waitForURL((u) => u.pathname === '/v/search');
}

test('village: clerk on a phone: search, household, record a visit, see it in the timeline', async () => {
  const hh = clerkHousehold();
  const page = await clerkPage();
  await page.getByRole('link', { name: '工作台' }).click();
  await page.waitForURL((u) => u.pathname === '/v/');
  assert.equal(await page.title(), '工作台 · 六保');
  await page.locator('.who', { hasText: '锦屏社区' }).waitFor();
  await noHorizontalScroll(page, 'the 工作台');
  await snap(page, 'village-home-phone');
  await search(page, hh.head);
  const link = page.locator('ul.households a', { hasText: hh.head });
  assert.equal(await link.count(), 1);
  assert.match(await text(page, 'ul.households .meta'), /户主身份证 \d{6}\*{8}\d{3}[\dX]/);
  await snap(page, 'village-search-phone');
  await link.click();
  await page.waitForURL((u) => u.pathname === '/v/households/' + hh.id);
  assert.equal(await text(page, 'h1 .sub'), '户编号 ' + hh.hhNo);
  assert.ok(!(await page.content()).includes(hh.idNumber), '身份证号 masked');
  await noHorizontalScroll(page, 'the household page');
  await snap(page, 'village-household-phone');

  await page.getByRole('link', { name: '登记走访' }).click();
  await page.waitForURL((u) => u.pathname.endsWith('/visit'));
  const today = await page.getByLabel('走访日期').getAttribute('max');
  // validation as the user types: a date after today, then an empty note
  await page.getByLabel('走访日期').fill('2099-01-01');
  await page.getByLabel('走访情况').focus();
  await page.locator('#visit_date-error', { hasText: '不能晚于今天' }).waitFor();
  assert.equal(await page.getByLabel('走访日期').getAttribute('aria-invalid'), 'true');
  await page.getByRole('button', { name: '保存走访记录' }).click();
  await page.locator('#note-error', { hasText: '请填写走访情况' }).waitFor();
  assert.ok(page.url().endsWith('/visit'), 'nothing sent while invalid');
  await page.getByLabel('走访日期').fill(today);
  await page.locator('#visit_date-error:empty').waitFor({ state: 'attached' });
  assert.equal(await page.getByLabel('走访日期').getAttribute('aria-invalid'), 'false');
  const note = '手机端走访：家中务工收入稳定，' + Date.now();
  await page.getByLabel('走访情况').fill(note);
  await page.getByLabel('因病').check();
  await noHorizontalScroll(page, 'the visit form');
  await snap(page, 'village-visit-phone');
  await page.getByRole('button', { name: '保存走访记录' }).click();
  await page.waitForURL((u) => u.pathname === '/v/households/' + hh.id && u.search === '?saved=visit');
  await page.locator('.msg.ok', { hasText: '走访记录已保存' }).waitFor();
  const first = page.locator('ol.timeline li').first();
  assert.equal(await first.locator('.kind').textContent(), '走访');
  assert.equal(await first.locator('.detail').textContent(), today + ' ' + note);
  await snap(page, 'village-timeline-phone');
});

test('village: search by pinyin initials and by the last 4 digits of the 身份证号', async () => {
  const hh = clerkHousehold();
  const page = await clerkPage();
  await page.goto('/v/search');
  for (const q of [initials(hh.id), initials(hh.id).toUpperCase(), hh.idNumber.slice(-4), hh.hhNo]) {
    await search(page, q);
    assert.equal(await page.locator('ul.households li').count(), 1, q);
    assert.match(await text(page, 'ul.households a'), new RegExp(hh.head), q);
    assert.equal(await page.getByLabel('查找农户').first().inputValue(), q, 'the query stays in the box');
  }
  await search(page, '查无此人');
  await page.locator('.msg.info', { hasText: '没有找到' }).waitFor();
  // keyboard only: type and press Enter
  await page.getByLabel('查找农户').first().fill(initials(hh.id));
  await page.keyboard.press('Enter');
  await page.locator('ul.households li').first().waitFor();
  await page.keyboard.press('Tab');
});

test('village: with JavaScript off the clerk still searches, opens the household and records a visit', async () => {
  const hh = clerkHousehold();
  const signedIn = await clerkPage();
  const page = await newPage({ ...PHONE, javaScriptEnabled: false,
    storageState: await signedIn.context().storageState() });
  await page.goto('/v/');
  await search(page, hh.idNumber.slice(-4));
  await page.locator('ul.households a', { hasText: hh.head }).click();
  await page.waitForURL((u) => u.pathname === '/v/households/' + hh.id);
  assert.ok(await page.locator('button.print').isHidden(), 'no print button without scripts');
  await page.getByRole('link', { name: '登记走访' }).click();
  // the server refuses an empty note and keeps the date typed
  await page.getByRole('button', { name: '保存走访记录' }).click();
  await page.locator('.msg.error', { hasText: '请填写走访情况' }).waitFor();
  assert.equal(await page.getByLabel('走访情况').getAttribute('aria-invalid'), 'true');
  await snap(page, 'village-visit-refused-nojs');
  const note = '无脚本走访 ' + Date.now();
  await page.getByLabel('走访情况').fill(note);
  await page.getByRole('button', { name: '保存走访记录' }).click();
  await page.waitForURL((u) => u.search === '?saved=visit');
  assert.match(await page.locator('ol.timeline li').first().textContent(), new RegExp(note));
  // and signs out with the header's form
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.waitForURL((u) => u.pathname === '/login.html');
  await page.goto('/v/');
  await page.waitForURL((u) => u.pathname === '/login.html');
});

test('village: a risk report becomes a 线索 in the task list with its light', async () => {
  const hh = clerkHousehold();
  const page = await clerkPage();
  await page.goto('/v/households/' + hh.id);
  await page.getByRole('link', { name: '风险报告' }).click();
  await page.getByLabel('申报事由').fill('户主突发重病住院，医疗费用高');
  await page.getByLabel('因病').check();
  await page.getByRole('button', { name: '提交风险报告' }).click();
  await page.locator('.msg.ok', { hasText: '风险报告已提交' }).waitFor();
  await page.getByRole('link', { name: '工作台' }).click();
  const task = page.locator('ul.tasks li', { hasText: hh.head });
  await task.first().waitFor();
  assert.match(await task.first().textContent(), /风险线索待入户核实/);
  assert.match(await task.first().locator('.light').textContent(), /^(正常|临期|超期)$/);
  await noHorizontalScroll(page, 'the task list');
  await snap(page, 'village-tasks-phone');
});

test('village: an out-of-scope household typed by hand shows the 404 page', async () => {
  const page = await clerkPage();
  const response = await page.goto('/v/households/' + outsideHousehold());
  assert.equal(response.status(), 404);
  assert.equal(await text(page, 'h1'), '找不到页面');
  await page.locator('.msg.error', { hasText: '不在您的管辖范围内' }).waitFor();
  const none = await page.goto('/v/households/99999999');
  assert.equal(none.status(), 404);
  await snap(page, 'village-404-phone');
});

test('village: pages are light and every page works at desktop size and in print', async () => {
  const hh = clerkHousehold();
  const page = await clerkPage({ width: 1280, height: 800 });
  const fresh = await newPage({ ...PHONE, storageState: await page.context().storageState() });
  for (const path of ['/v/', '/v/search?q=' + encodeURIComponent(hh.head), '/v/households/' + hh.id,
    '/v/households/' + hh.id + '/visit']) {
    const bytes = await pageWeight(fresh, path);
    assert.ok(bytes < 300 * 1024, path + ' weighs ' + bytes + ' bytes');
  }
  await page.goto('/v/households/' + hh.id);
  await snap(page, 'village-household-desktop');
  assert.ok(await page.locator('button.print').isVisible(), 'print button with scripts');
  await page.emulateMedia({ media: 'print' });
  assert.ok(await page.locator('header.top').isHidden(), 'no menu on paper');
  await snap(page, 'village-household-print');
  await page.emulateMedia({ media: 'screen' });
  await page.goto('/v/');
  await snap(page, 'village-home-desktop');
});

test('village: a clerk answers a department warning on a phone, the note checked as typed', async () => {
  const [hh, hit] = sql(`SELECT x.household_id, x.id FROM feed_hit x JOIN household h ON h.id =
    x.household_id WHERE h.village_code = (SELECT scope_code FROM users WHERE login = '${CLERK}')
    AND x.state = '待核实' ORDER BY x.id LIMIT 1`).split('|');
  assert.ok(hit, 'the demo pushes a warning to the clerk\'s village');
  const page = await clerkPage();
  await page.goto('/v/households/' + hh);
  await page.locator('#hit-' + hit).getByRole('link', { name: '核实反馈' }).click();
  const formPath = `/v/households/${hh}/feed-hits/${hit}`;
  await page.waitForURL((u) => u.pathname === formPath);
  await noHorizontalScroll(page);
  // no note: said next to the field, nothing sent
  await page.getByLabel('已核实-无风险').check();
  await page.getByRole('button', { name: '提交核实结果' }).click();
  await page.locator('#note-error', { hasText: '请填写核实情况' }).waitFor();
  assert.equal(new URL(page.url()).pathname, formPath);
  assert.equal(sql(`SELECT state FROM feed_hit WHERE id = ${hit}`), '待核实');
  await page.getByLabel('核实情况').fill('入户核实：情况已了解，无返贫风险');
  await snap(page, 'village-feedback-phone');
  await page.getByRole('button', { name: '提交核实结果' }).click();
  await page.waitForURL((u) => u.pathname === `/v/households/${hh}` && u.search === '?saved=feedback');
  assert.match(await text(page, '.msg.ok'), /核实结果已保存/);
  assert.match(await text(page, '#hit-' + hit), /已核实-无风险.*无返贫风险/s);
  await page.locator('#hit-' + hit).scrollIntoViewIfNeeded();
  await snap(page, 'village-household-answered-phone');
  assert.equal(sql(`SELECT state || '|' || feedback_by FROM feed_hit WHERE id = ${hit}`),
    '已核实-无风险|' + CLERK);
});
