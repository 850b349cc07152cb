// test_feeds.mjs — the department-feed page: the 医保 demo user checks a file
// with bad rows (the per-row report shown as a table, nothing imported),
// then imports a good one and sees the batch and its warnings; another
// department's user gets only its own kinds of list.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { addUser, db, login, newPage, snap, test, tmp } from './lib.mjs';

function registryPeople(n) {
  const out = execFileSync('sqlite3', [db, `SELECT m.id_number || ',' || m.name FROM member m JOIN household h
    ON h.id = m.household_id WHERE h.hh_type = 1 ORDER BY m.id LIMIT ${n}`], { encoding: 'utf8' });
  return out.trim().split('\n');
}

test('a 医保 user checks a file with bad rows, then imports one and sees the batch and its warnings', async () => {
  const page = await newPage();
  await login(page, 'yibao');
  await page.getByRole('link', { name: '部门数据' }).click();
  await page.waitForURL((u) => u.pathname === '/feeds.html');
  await page.locator('#content:not([hidden])').waitFor();
  // only the department's own kinds of list
  const options = await page.locator('#f-feed option').allTextContents();
  assert.deepEqual(options, ['医保·住院自付']);
  const [a, b] = registryPeople(2);
  const head = '身份证号,姓名,入院日期,出院日期,医疗机构,总费用,个人自付\n';
  const bad = path.join(tmp, '医保-有误.csv');
  fs.writeFileSync(bad, head + `${a},2026-01-03,2026-01-09,平利县医院,9000,6000\n`
    + '612427199001011234,错号,2026-01-03,2026-01-09,平利县医院,100,10\n'
    + `${b},2026-02-30,2026-01-09,平利县医院,100,10\n`);
  await page.locator('#f-period').fill('2026-01');
  await page.getByLabel('文件（CSV 或 Excel 工作簿 .xlsx；CSV 为 UTF-8 或 GBK 均可）').setInputFiles(bad);
  await page.getByRole('button', { name: '导入', exact: true }).click();
  await page.locator('#report-title', { hasText: '有误的行' }).waitFor();
  const rows = page.locator('#report-issues tbody tr');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).textContent(), /3.*无效行.*校验/);
  assert.match(await rows.nth(1).textContent(), /4.*无效行.*入院日期/);
  assert.match(await page.locator('#f-status').textContent(), /未导入任何数据/);
  await snap(page, 'feeds-bad-rows');
  // a good file: check first (nothing written), then import
  const good = path.join(tmp, '医保-正确.csv');
  fs.writeFileSync(good, head + `${a},2026-01-03,2026-01-09,平利县医院,30000,6000\n${b},2026-01-05,2026-01-07,平利县医院,800,100\n`);
  await page.getByLabel('文件（CSV 或 Excel 工作簿 .xlsx；CSV 为 UTF-8 或 GBK 均可）').setInputFiles(good);
  await page.getByRole('button', { name: '先检查（不导入）' }).click();
  await page.locator('#report-title', { hasText: '检查结果' }).waitFor();
  assert.match(await page.locator('#report-summary').textContent(), /共 2 行.*匹配 2（2 人）/);
  await page.getByRole('button', { name: '导入', exact: true }).click();
  await page.locator('#report-title', { hasText: '导入报告（批次' }).waitFor();
  assert.match(await page.locator('#f-status').textContent(), /已导入/);
  // the batch is listed, and the warning for the 6,000 元 stay is shown with its mark
  await page.locator('#batches tbody tr', { hasText: '2026-01' }).first().waitFor();
  const hit = page.locator('#hits tbody tr', { hasText: a.split(',')[1] }).first();
  await hit.waitFor();
  assert.match(await hit.textContent(), /待核实/);
  assert.ok(['黄', '红'].includes((await hit.locator('.light').textContent()).trim()));
  // the same file again is refused by the server, its message shown
  await page.getByRole('button', { name: '导入', exact: true }).click();
  await page.locator('#f-status', { hasText: '不能重复导入' }).waitFor();
  await snap(page, 'feeds-imported');
  // a month of 60 people's stays, each over the 5,000 元 line for 脱贫 people:
  // the warnings are listed 50 a page, more on request
  const many = path.join(tmp, '医保-二月.csv');
  fs.writeFileSync(many, head + registryPeople(60).map((p) =>
    `${p},2026-02-03,2026-02-09,平利县医院,9000,6000`).join('\n') + '\n');
  await page.locator('#f-period').fill('2026-02');
  await page.getByLabel('文件（CSV 或 Excel 工作簿 .xlsx；CSV 为 UTF-8 或 GBK 均可）').setInputFiles(many);
  await page.getByRole('button', { name: '导入', exact: true }).click();
  await page.locator('#f-status', { hasText: '已导入' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#hits tbody tr').length === 50);
  assert.equal(await page.locator('#hits-more').isVisible(), true);
  await page.locator('#hits-more').click();
  await page.waitForFunction(() => document.querySelectorAll('#hits tbody tr').length > 60);
  // filtered by the village's answer: only rows in that state, or a message saying none
  const showsOnly = (state, some) => page.waitForFunction(([st, any]) => {
    const cells = [...document.querySelectorAll('#hits tbody tr td[data-label="状态"]')];
    if (!cells.length) return !any && document.querySelector('#hits').textContent.includes('没有符合条件的预警。');
    return cells.every((c) => c.textContent === st) && !document.querySelector('#hits-status:not([hidden])');
  }, [state, some]);
  await page.getByLabel('核实情况').selectOption('已核实-纳入');
  await showsOnly('已核实-纳入', false);
  await page.getByLabel('核实情况').selectOption('待核实');
  await showsOnly('待核实', true); // the demo has warnings waiting for the village
  // overdue only: every row shown is red
  await page.getByLabel('只看逾期未核实').check();
  await page.waitForFunction(() => !document.querySelector('#hits tbody')
    || [...document.querySelectorAll('#hits .light')].every((l) => l.textContent === '红'));
  await snap(page, 'feeds-hits-filtered');
  // the warnings with the villages' answers, as a workbook
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: '导出全部预警及核实情况（Excel）' }).click()]);
  assert.match(download.suggestedFilename(), /^部门数据预警-.*\.xlsx$/);
  const saved = path.join(tmp, 'hits.xlsx');
  await download.saveAs(saved);
  assert.equal(fs.readFileSync(saved).subarray(0, 2).toString(), 'PK');
  // a batch's report opens from its row; the button is seen (not white on white)
  const view = page.locator('#batches tbody tr', { hasText: '2026-02' }).getByRole('button', { name: /查看批次 \d+ 的报告/ });
  assert.notEqual(await view.evaluate((b) => getComputedStyle(b).color), 'rgb(255, 255, 255)');
  await view.click();
  await page.locator('#report-title', { hasText: /批次 \d+ 的报告/ }).waitFor();
  assert.match(await page.locator('#report-summary').textContent(), /共 60 行/);
});

test('a department user of 民政 is offered only 民政 lists; a village clerk has no 部门数据 link', async () => {
  const initial = addUser('mz.page', '民政用户', 'dept_user', '610926', '民政局');
  const page = await newPage();
  await login(page, 'mz.page', initial, '/password.html');
  await page.getByLabel('原密码').fill(initial);
  await page.getByLabel('新密码', { exact: true }).fill('Minzheng#2026page');
  await page.getByLabel('再次输入新密码').fill('Minzheng#2026page');
  await page.getByRole('button', { name: '保存新密码' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  await page.goto('/feeds.html');
  await page.locator('#content:not([hidden])').waitFor();
  assert.deepEqual(await page.locator('#f-feed option').allTextContents(), ['民政·低保特困名单']);
  const clerk = await newPage({ width: 360, height: 740 });
  await login(clerk, 'cun.xinxiyuan');
  assert.equal(await clerk.getByRole('link', { name: '部门数据' }).count(), 0);
});
