// test_office.mjs — browser tests of the office (PC) pages: the 乡镇审核 queue
// (approve one case, send one back with a reason), the CSV ledger import
// (the per-row error table for bad 身份证号, then a clean import), an Excel
// import with a bad row (the annotated workbook downloaded), the 县级审定
// approval and the publication of the 公告 with the totals, and the
// administrator's rule edit with its preview count (equal to the API's) and
// a monitoring line in 元.  Cases are brought to the township step through
// the real API and `liubao case advance`, with the village steps dated a
// week back (LIUBAO_TODAY) so that the 公示 period is over.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { BIN, DEMO_PASSWORD, DIVISION, adminPage, base, db, login, newPage, snap, test } from './lib.mjs';

const CLERK = 'cun.xinxiyuan';
const TOWNSHIP = 'laoxian.shenhe';
const COUNTY = 'xian.shending';

// ---- API and CLI helpers ----------------------------------------------------------

const tokens = {};
async function token(who) {
  if (!tokens[who]) {
    const r = await fetch(base + '/api/v1/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: who, password: DEMO_PASSWORD }),
    });
    assert.equal(r.status, 200, 'login ' + who);
    tokens[who] = (await r.json()).token;
  }
  return tokens[who];
}

async function call(who, method, path, body) {
  const init = { method, headers: { Authorization: 'Bearer ' + await token(who) } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(base + path, init);
  const data = await r.json();
  return { status: r.status, body: data };
}

async function ok(who, method, path, body) {
  const r = await call(who, method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, method + ' ' + path + ': ' + r.status + ' ' + JSON.stringify(r.body));
  return r.body;
}

// The server's today (China) and a day `days` before it, as YYYY-MM-DD.
function chinaDay(days = 0) {
  return new Date(Date.now() + 8 * 3600e3 - days * 86400e3).toISOString().slice(0, 10);
}

function caseCli(id, action, who, record, today) {
  const env = { ...process.env, LIUBAO_DIVISION_DIR: DIVISION };
  if (today) env.LIUBAO_TODAY = today;
  else delete env.LIUBAO_TODAY;
  return execFileSync(BIN, ['case', action, String(id), '--as', who, '--record', JSON.stringify(record), '--db', db],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A valid 身份证号 (GB 11643 check digit); an odd 17th digit is 男.
function idNumber(area, birth, seq) {
  const body = area + birth + String(seq).padStart(3, '0');
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const s = [...body].reduce((a, c, i) => a + Number(c) * w[i], 0);
  return body + '10X98765432'[s % 11];
}

let serial = 0;
function person(sex) {
  // birth years of the 1950s with high serials: not among the demo's people
  serial++;
  const seq = 900 + ((serial * 2) % 98) + (sex === '男' ? 1 : 0);
  return idNumber('610926', String(1950 + (serial % 9)) + '0' + (1 + (serial % 9)) + '1' + (serial % 9), seq);
}

let hhSerial = 0;
async function clerkVillage() {
  const me = await ok(CLERK, 'GET', '/api/v1/me');
  return me.scope_code;
}

// A new household of two in the clerk's village (created by the administrator).
async function family(head) {
  const village = await clerkVillage();
  const hh = await ok('admin', 'POST', '/api/v1/households', {
    hh_no: 'OFFICE' + String(++hhSerial).padStart(4, '0') + Date.now() % 100000, village_code: village,
    address: '老县镇测试村1组', phone: '13912345678', hh_type: '一般农户', relocated: false,
    members: [{ name: head, relation: '户主', id_number: person('男'), labor_skill: '普通劳动力' },
      { name: '王秀英', relation: '配偶', id_number: person('女') }],
  });
  return hh;
}

// An identification case for a new household, brought to 乡镇审核 (step 5).
async function caseAtTownship(head) {
  const hh = await family(head);
  const app = await ok(CLERK, 'POST', '/api/v1/households/' + hh.id + '/applications', { reason: '突发大病，医疗支出大' });
  const c = await ok(CLERK, 'POST', '/api/v1/alerts/' + app.alert_id + '/case');
  const weekAgo = chinaDay(7);
  caseCli(c.id, 'advance', CLERK, { note: '入户核查属实' }, weekAgo);
  caseCli(c.id, 'advance', TOWNSHIP, { note: '比对无异常' }, weekAgo);
  caseCli(c.id, 'advance', CLERK, { minutes: '村民代表 15 人，同意 15 人' }, weekAgo);
  caseCli(c.id, 'advance', CLERK, { objections: '公示期内无异议' });
  const now = await ok(TOWNSHIP, 'GET', '/api/v1/cases/' + c.id);
  assert.equal(now.step_title, '乡镇审核');
  return { ...now, hh };
}

function rowOf(page, hhNo) {
  return page.locator('#list tbody tr', { hasText: hhNo });
}

// ---- 乡镇审核 ------------------------------------------------------------------------

test('office: township reviewer approves one case and sends one back with a reason', async () => {
  const a = await caseAtTownship('赵建华');
  const b = await caseAtTownship('钱国庆');
  const page = await newPage();
  await login(page, TOWNSHIP);
  await page.getByRole('link', { name: '待办审核' }).click();
  await page.waitForURL((u) => u.pathname === '/review.html');
  assert.ok(await page.getByRole('link', { name: '台账导入' }).isVisible());
  assert.ok(await page.getByRole('link', { name: '审定与公告' }).isHidden(), 'the county page is not the township\'s');
  await rowOf(page, a.hh_no).waitFor();
  // the light counts are the API's
  const q = await ok(TOWNSHIP, 'GET', '/api/v1/cases?mine=1&count=1&limit=1');
  assert.equal((await page.locator('[data-count=all]').textContent()).trim(), String(q.total));
  for (const l of ['red', 'yellow', 'green'])
    assert.equal((await page.locator('[data-count=' + l + ']').textContent()).trim(), String(q.lights[l]));
  assert.match(await rowOf(page, a.hh_no).textContent(), /5\. 乡镇审核/);
  // approve A: the opinion is required, checked before anything is sent
  await rowOf(page, a.hh_no).getByRole('button', { name: '办理 ' + a.hh_no }).click();
  await page.locator('#detail-title', { hasText: '赵建华户' }).waitFor();
  assert.equal(await page.locator('#events li').count(), 5, 'opened and four steps done');
  await page.getByRole('button', { name: '审核通过' }).click();
  await page.locator('#a-note-hint.bad', { hasText: '请填写审核意见' }).waitFor();
  assert.equal((await ok(TOWNSHIP, 'GET', '/api/v1/cases/' + a.id)).step, 5, 'nothing sent');
  await page.getByLabel('审核意见').fill('经实地核准，情况属实，同意上报县级审定');
  assert.equal(await page.getByLabel('审核意见').getAttribute('aria-invalid'), 'false');
  await snap(page, 'office-review-approve');
  await page.getByRole('button', { name: '审核通过' }).click();
  await page.locator('#act-msg.ok', { hasText: '已通过，进入“县级审定”环节' }).waitFor();
  const after = await ok(TOWNSHIP, 'GET', '/api/v1/cases/' + a.id);
  assert.equal(after.step_title, '县级审定');
  assert.equal(after.events.at(-1).record.note, '经实地核准，情况属实，同意上报县级审定');
  await rowOf(page, a.hh_no).waitFor({ state: 'detached' });
  // send B back, by keyboard: the reason is required
  await rowOf(page, b.hh_no).getByRole('button', { name: '办理 ' + b.hh_no }).click();
  await page.locator('#detail-title', { hasText: '钱国庆户' }).waitFor();
  await page.getByLabel('退回上一环节').check();
  await page.getByRole('button', { name: '退回上一环节' }).press('Enter');
  await page.locator('#a-reason-hint.bad', { hasText: '请填写退回原因' }).waitFor();
  await page.getByLabel('退回原因').fill('公示材料缺少村民代表签字，请补齐后重新公示');
  await page.getByRole('button', { name: '退回上一环节' }).press('Enter');
  await page.locator('#act-msg.ok', { hasText: '已退回“村内公示”环节' }).waitFor();
  const back = await ok(TOWNSHIP, 'GET', '/api/v1/cases/' + b.id);
  assert.equal(back.step_title, '村内公示');
  assert.equal(back.events.at(-1).action, 'return');
  assert.equal(back.events.at(-1).record.reason, '公示材料缺少村民代表签字，请补齐后重新公示');
  assert.match(await page.locator('#events').textContent(), /退回 · laoxian\.shenhe/);
  await snap(page, 'office-review-returned');
});

// ---- 台账导入 ------------------------------------------------------------------------

const HEADER = '户编号,行政区划代码,户类型,家庭住址,姓名,证件号码,与户主关系,劳动技能';

test('office: CSV import shows the per-row errors for bad 身份证号, then imports the corrected file', async () => {
  const village = await clerkVillage();
  const stamp = String(Date.now() % 100000).padStart(5, '0');
  const hh1 = 'IMP' + stamp + '1';
  const hh2 = 'IMP' + stamp + '2';
  const ids = [person('男'), person('女'), person('男'), person('女')];
  const badCheck = ids[1].slice(0, 17) + (ids[1][17] === '0' ? '1' : '0'); // wrong check digit
  const badDate = ids[2].slice(0, 10) + '1399' + ids[2].slice(14); // month 13
  const row = (hh, name, id, rel) => [hh, village, '一般农户', '老县镇测试村2组', name, id, rel, '普通劳动力'].join(',');
  const bad = [HEADER, row(hh1, '孙志强', ids[0], '户主'), row(hh1, '周桂兰', badCheck, '配偶'),
    row(hh2, '吴德明', badDate, '户主'), row(hh2, '郑小燕', ids[3], '配偶')].join('\n') + '\n';
  const good = [HEADER, row(hh1, '孙志强', ids[0], '户主'), row(hh1, '周桂兰', ids[1], '配偶'),
    row(hh2, '吴德明', ids[2], '户主'), row(hh2, '郑小燕', ids[3], '配偶')].join('\n') + '\n';

  const page = await newPage();
  await login(page, TOWNSHIP);
  await page.getByRole('link', { name: '台账导入' }).click();
  await page.waitForURL((u) => u.pathname === '/import.html');
  // no file: refused before anything is sent
  await page.getByRole('button', { name: '检查文件' }).click();
  await page.locator('#upload-msg', { hasText: '请选择要导入的 CSV 或 Excel 文件' }).waitFor();
  await page.getByLabel('台账类型').selectOption('members');
  await page.getByLabel('台账文件').setInputFiles({ name: '老县镇成员台账.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.getByRole('button', { name: '导入' }).click();
  await page.locator('#result-msg.error', { hasText: '数据库未作任何修改' }).waitFor();
  assert.equal(await page.locator('#progress').getAttribute('value'), '100');
  const rows = page.locator('#problems tbody tr');
  const table = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  const errors = table.filter((r) => r[4] === '错误');
  assert.deepEqual(errors.map((r) => [r[0], r[1], r[2]]), [['3', '证件号码', badCheck], ['4', '证件号码', badDate]],
    'one error per bad 身份证号, with its line, column and value: ' + JSON.stringify(table));
  assert.match(errors[0][3], /校验/);
  assert.match(errors[1][3], /日期/);
  // a household is refused whole: both rows of each household count
  assert.match(await page.locator('#result-stats').textContent(), /4行有错误/);
  const none = await ok(TOWNSHIP, 'GET', '/api/v1/households?q=' + hh1);
  assert.equal(none.items.length, 0, 'nothing written');
  await snap(page, 'office-import-errors');
  // the corrected file: checked, then imported
  await page.getByLabel('台账文件').setInputFiles({ name: '老县镇成员台账.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.getByRole('button', { name: '检查文件' }).click();
  await page.locator('#result-msg.ok', { hasText: '检查通过：4 行没有错误' }).waitFor();
  assert.equal((await ok(TOWNSHIP, 'GET', '/api/v1/households?q=' + hh1)).items.length, 0, 'a check writes nothing');
  await page.getByRole('button', { name: '导入' }).click();
  await page.locator('#result-msg.ok', { hasText: '导入完成。' }).waitFor();
  assert.match(await page.locator('#result-stats').textContent(), /2户新增/);
  assert.match(await page.locator('#result-stats').textContent(), /4人新增/);
  for (const hh of [hh1, hh2]) {
    const found = await ok(TOWNSHIP, 'GET', '/api/v1/households?q=' + hh);
    assert.equal(found.items.length, 1, hh + ' imported');
    assert.equal(found.items[0].members, 2);
  }
  await snap(page, 'office-import-done');
});

// A workbook (.xlsx bytes) of one sheet, inline strings, in a stored zip.
function xlsx(rows) {
  const esc = (v) => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const col = (i) => String.fromCharCode(65 + i);
  const ns = 'http://schemas.openxmlformats.org';
  const files = {
    '[Content_Types].xml': `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="${ns}/package/2006/content-types">` +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    '_rels/.rels': `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">` +
      `<Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    'xl/workbook.xml': `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${ns}/spreadsheetml/2006/main" ` +
      `xmlns:r="${ns}/officeDocument/2006/relationships"><sheets><sheet name="成员" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">` +
      `<Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
    'xl/worksheets/sheet1.xml': `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${ns}/spreadsheetml/2006/main"><sheetData>` +
      rows.map((r, ri) => `<row r="${ri + 1}">` + r.map((v, ci) =>
        `<c r="${col(ci)}${ri + 1}" t="inlineStr"><is><t>${esc(v)}</t></is></c>`).join('') + '</row>').join('') +
      '</sheetData></worksheet>',
  };
  const local = [];
  const central = [];
  let off = 0;
  for (const [name, text] of Object.entries(files)) {
    const n = Buffer.from(name);
    const d = Buffer.from(text);
    const crc = zlib.crc32(d);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4); h.writeUInt16LE(0x800, 6);
    h.writeUInt32LE(crc, 14); h.writeUInt32LE(d.length, 18); h.writeUInt32LE(d.length, 22);
    h.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); c.writeUInt16LE(20, 6); c.writeUInt16LE(0x800, 8);
    c.writeUInt32LE(crc, 16); c.writeUInt32LE(d.length, 20); c.writeUInt32LE(d.length, 24);
    c.writeUInt16LE(n.length, 28); c.writeUInt32LE(off, 42);
    local.push(h, n, d);
    central.push(c, n);
    off += 30 + n.length + d.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(central.length / 2, 8); end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(off, 16);
  return Buffer.concat([...local, cd, end]);
}

test('office: an Excel import with bad rows offers the workbook back with the bad cells marked', async () => {
  const village = await clerkVillage();
  const hh = 'IMX' + String(Date.now() % 100000).padStart(5, '0');
  const head = person('男');
  const bad = person('女');
  const wrong = bad.slice(0, 17) + (bad[17] === '0' ? '1' : '0');
  const book = xlsx([['户编号', '行政区划代码', '姓名', '证件号码', '与户主关系'],
    [hh, village, '孙志强', head, '户主'], [hh, village, '周桂兰', wrong, '配偶']]);
  const page = await newPage();
  await login(page, TOWNSHIP);
  await page.goto('/import.html');
  await page.getByLabel('台账类型').selectOption('members');
  await page.getByLabel('台账文件').setInputFiles({ name: '老县镇成员台账.xlsx',
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: book });
  await page.getByRole('button', { name: '检查文件' }).click();
  await page.locator('#result-msg.error', { hasText: '数据库未作任何修改' }).waitFor();
  const link = page.getByRole('link', { name: '下载标注错误的工作簿' });
  await link.waitFor();
  await snap(page, 'office-import-xlsx-annotated');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /标注错误\.xlsx$/);
  const file = await download.path();
  // the copy: the wrong 身份证号 on red, the problem named in the last column
  const sheet = execFileSync('python3', ['-c', 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1])' +
    '.read("xl/worksheets/sheet1.xml").decode())', file], { encoding: 'utf8' });
  assert.match(sheet, /错误原因（liubao 导入检查）/);
  assert.ok(sheet.includes(wrong), 'the file\'s values copied');
  assert.match(sheet, /校验位错误/);
  const style = (ref) => (sheet.match(new RegExp('<c r="' + ref + '"[^>]* s="(\\d+)"')) || [])[1];
  assert.ok(style('D3') && style('D3') !== style('D2'), 'D3 (the wrong 身份证号) is marked, D2 is not');
  assert.equal((await ok(TOWNSHIP, 'GET', '/api/v1/households?q=' + hh)).items.length, 0, 'nothing written');
});

// ---- 县级审定 and 公告 ---------------------------------------------------------------

test('office: county approver approves at the county step, publishes the 公告 and sees the totals', async () => {
  const c = await caseAtTownship('冯宝山');
  caseCli(c.id, 'advance', TOWNSHIP, { note: '同意' });
  const page = await newPage();
  await login(page, COUNTY);
  await page.getByRole('link', { name: '待办审核' }).click();
  await rowOf(page, c.hh_no).getByRole('button', { name: '办理 ' + c.hh_no }).click();
  await page.locator('#detail-title', { hasText: '冯宝山户' }).waitFor();
  // the final record, checked as typed
  await page.getByLabel('审定意见').fill('经审定，同意纳入监测，予以公告');
  await page.getByLabel('联系人手机').fill('1380000');
  await page.getByLabel('联系人手机').blur();
  await page.locator('#a-phone-hint.bad', { hasText: '联系人手机应为11位手机号' }).waitFor();
  await page.getByRole('button', { name: '审定通过' }).click();
  await page.locator('#a-category-hint.bad', { hasText: '请选择监测对象类别' }).waitFor();
  assert.equal((await ok(COUNTY, 'GET', '/api/v1/cases/' + c.id)).state, 'active', 'nothing sent');
  await page.getByLabel('监测对象类别').selectOption('突发严重困难户');
  await page.getByLabel('因病').check();
  await page.getByLabel('监测联系人').fill('刘志刚');
  await page.getByLabel('联系人手机').fill('13891512345');
  await page.getByRole('button', { name: '审定通过' }).click();
  await page.locator('#act-msg.ok', { hasText: '已审定通过，流程办结，待发布公告' }).waitFor();
  const done = await ok(COUNTY, 'GET', '/api/v1/cases/' + c.id);
  assert.equal(done.state, 'done');
  // the 公告 page: totals as the API counts them, the case waiting for its notice
  await page.getByRole('link', { name: '审定与公告' }).click();
  await page.waitForURL((u) => u.pathname === '/county.html');
  const totals = await ok(COUNTY, 'GET', '/api/v1/case-totals');
  // the page fills the table after its own fetch: wait for the totals row
  await page.locator('#totals tfoot td', { hasText: '合计' }).waitFor();
  const foot = await page.locator('#totals tfoot td').evaluateAll((tds) => tds.map((td) => td.textContent.trim()));
  const n = (v) => v.toLocaleString('zh-CN');
  assert.deepEqual(foot, ['合计', n(totals.total.waiting.village), n(totals.total.waiting.township),
    n(totals.total.waiting.county), n(totals.total.red), n(totals.total.identified), n(totals.total.eliminated),
    n(totals.total.rejected), n(totals.total.to_notice), n(totals.total.monitoring)]);
  assert.ok(totals.total.to_notice >= 1 && totals.total.identified >= 1);
  const group = page.locator('#pending form', { hasText: '老县镇 · 识别纳入' });
  await group.locator('tr', { hasText: c.hh_no }).waitFor();
  await group.getByLabel('监督电话').fill('0915-8');
  await group.getByLabel('监督电话').blur();
  await group.locator('.hint.bad', { hasText: '监督电话应为' }).waitFor();
  await group.getByLabel('监督电话').fill('0915-8421234');
  await group.getByRole('button', { name: '发布公告' }).click();
  await page.locator('#pending-msg.ok', { hasText: '已发布：老县镇关于' }).waitFor();
  const doc = page.locator('#notice-doc');
  await doc.waitFor();
  assert.match(await doc.locator('h3').textContent(), /^老县镇关于\d{4}年第1批防止返贫监测对象识别纳入结果的公告$/);
  assert.match(await doc.textContent(), /冯宝山/);
  assert.match(await doc.textContent(), /610926\*{8}\d{3}[\dX]/, 'the 身份证号 masked');
  assert.match(await doc.textContent(), /监督电话：0915-8421234/);
  const notices = await ok(COUNTY, 'GET', '/api/v1/notices');
  const notice = await ok(COUNTY, 'GET', '/api/v1/notices/' + notices.items[0].id);
  assert.ok(notice.items.some((x) => x.case_id === c.id), 'the case is in the published notice');
  assert.equal((await ok(COUNTY, 'GET', '/api/v1/cases/' + c.id)).events.at(-1).action, 'notice');
  await page.locator('#notices tbody tr', { hasText: notice.title }).waitFor();
  // the A4 page of the same notice (src/report/notice.c)
  const a4 = await page.request.get(await doc.getByRole('link', { name: 'A4 打印版' }).getAttribute('href'));
  assert.equal(a4.status(), 200);
  assert.match(await a4.text(), /冯宝山/);
  assert.equal(await group.count(), 0, 'nothing of 老县镇 left to announce');
  await snap(page, 'office-county-notice');
});

// ---- the administrator's rules and lines ----------------------------------------------

test('office: admin edits a rule, sees the preview count before saving, and adds a monitoring line', async () => {
  const page = await adminPage();
  await page.goto('/');
  await page.getByRole('link', { name: '规则与监测线' }).click();
  await page.waitForURL((u) => u.pathname === '/rules.html');
  await page.locator('#rules-list tr[data-rule=M001]').getByRole('button', { name: '修改规则 M001' }).click();
  await page.locator('#edit-title', { hasText: '修改规则 M001' }).waitFor();
  await page.locator('#preview-text', { hasText: '现行第 1 版命中' }).waitFor();
  const expr = page.getByLabel('规则表达式');
  // a syntax error shows as it is typed (the server's parser), nothing saved
  await expr.fill('人均纯收入 <');
  await page.locator('#r-expr-hint.bad').waitFor();
  assert.equal(await expr.getAttribute('aria-invalid'), 'true');
  const changed = '人均纯收入 < 监测线 * 1.2';
  await expr.fill(changed);
  await page.locator('#preview-count').waitFor();
  const shown = Number((await page.locator('#preview-count').textContent()).replace(/,/g, ''));
  const year = Number(await page.getByLabel('预览年度').inputValue());
  const api = await ok('admin', 'POST', '/api/v1/rules/preview', { expression: changed, scope: 'household', year });
  assert.equal(shown, api.households, 'the page shows the API preview count');
  const base = await ok('admin', 'POST', '/api/v1/rules/preview', { expression: '人均纯收入 < 监测线', scope: 'household', year });
  assert.match(await page.locator('#preview-text').textContent(), new RegExp('现行第 1 版命中 ' + base.households.toLocaleString('zh-CN') + ' 户'));
  const before = await ok('admin', 'GET', '/api/v1/rules/M001');
  assert.equal(before.versions.length, 1, 'previewing saved nothing');
  await snap(page, 'office-rule-preview');
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); });
  await page.getByRole('button', { name: '保存为第 2 版' }).click();
  await page.locator('#rules-msg.ok', { hasText: '已保存规则 M001 第 2 版（预览命中 ' + api.households.toLocaleString('zh-CN') + ' 户）' }).waitFor();
  assert.match(asked, new RegExp('将命中 ' + api.households.toLocaleString('zh-CN') + ' 户'));
  const after = await ok('admin', 'GET', '/api/v1/rules/M001');
  assert.deepEqual(after.versions.map((v) => [v.version, v.expression]), [[2, changed], [1, '人均纯收入 < 监测线']]);
  // a monitoring line typed in 元, checked as typed, shown with separators
  const form = page.locator('#line-form');
  await form.getByLabel('年度').fill('2031');
  await form.getByLabel('区划代码').fill('61092');
  await form.getByLabel('监测线（元/人·年）').fill('8,1OO');
  await form.getByLabel('依据').focus();
  await page.locator('#l-region-hint.bad').waitFor();
  await page.locator('#l-amount-hint.bad', { hasText: '金额应为数字' }).waitFor();
  await form.getByLabel('区划代码').fill('610926');
  await form.getByLabel('监测线（元/人·年）').fill('8,100.50');
  await page.locator('#l-amount-hint', { hasText: '即 8,100.50 元/人·年' }).waitFor();
  await form.getByLabel('依据').fill('测试：县定标准');
  await form.getByRole('button', { name: '保存监测线' }).click();
  await page.locator('#lines-msg.ok', { hasText: '已保存 2031 年平利县监测线：8,100.50 元' }).waitFor();
  const lines = await ok('admin', 'GET', '/api/v1/monitor-lines?year=2031&region=610926');
  assert.equal(lines.items[0].amount, 810050);
  assert.match(await page.locator('#lines tbody tr', { hasText: '2031' }).textContent(), /8,100\.5 元|8,100\.50 元/);
  await snap(page, 'office-rules');
});
