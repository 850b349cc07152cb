// test_auth.mjs — browser tests of signing in, lockout, the initial password,
// user management, the audit page, CSRF, logout and the 360 px layout.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEMO_PASSWORD, addUser, adminPage, base, cli, db, keep, login, newPage, noHorizontalScroll, shoot, snap,
  test, text, tmp,
} from './lib.mjs';

test('signed-out visitor is sent to the login page', async () => {
  const page = await newPage();
  await page.goto('/');
  await page.waitForURL((u) => u.pathname === '/login.html');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/');
  assert.equal(await page.title(), '登录 · 六保');
});

test('wrong password shows the server message and stays on the login page', async () => {
  const page = await newPage();
  await page.goto('/login.html');
  await page.getByRole('button', { name: '登录' }).click();
  await assert.doesNotReject(page.locator('#msg', { hasText: '请输入登录名和密码' }).waitFor());
  await page.getByLabel('登录名').fill('admin');
  await page.getByLabel('密码').fill('Wrong#Password1');
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('#msg', { hasText: '登录名或密码错误' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/login.html');
  assert.equal(await page.getByLabel('密码').inputValue(), '', 'the password field is cleared');
  await snap(page, 'login-error');
  // ?next= never leads to another site
  await page.goto('/login.html?next=' + encodeURIComponent('//example.org/x'));
  await page.getByLabel('登录名').fill('admin');
  await page.getByLabel('密码').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  assert.equal(new URL(page.url()).origin, base);
});

test('repeated failures lock the account and the page counts down Retry-After', async () => {
  // an account of its own: the lock lasts longer than the rest of the run,
  // and a demo login locked here would fail a later file's test
  const initial = addUser('suoding.user', '锁定测试', 'dept_user', '610926', '医保局');
  const page = await newPage();
  await page.goto('/login.html');
  await page.getByLabel('登录名').fill('suoding.user');
  for (let i = 0; i < 5; i++) {
    await page.getByLabel('密码').fill('Wrong#Password' + i);
    await page.getByRole('button', { name: '登录' }).click();
    await page.locator('#msg', { hasText: '登录名或密码错误' }).waitFor();
    await page.locator('#submit:not([disabled])').waitFor();
  }
  await page.getByLabel('密码').fill(initial);
  await page.locator('#submit').click();
  const msg = page.locator('#msg', { hasText: /登录失败次数过多，请 \d+ 秒后再试/ });
  await msg.waitFor();
  assert.ok(await page.locator('#submit').isDisabled(), 'the button waits out the lock');
  assert.match(await text(page, '#submit'), /^请等待 \d+ 秒$/);
  assert.equal(new URL(page.url()).pathname, '/login.html');
});

test('login shows name, role and 辖区 on the index, with links by permission', async () => {
  const page = await newPage();
  await login(page, 'admin');
  assert.equal(await text(page, '#who-name'), '系统管理员（县）');
  assert.equal(await text(page, '#who-role'), '系统管理员');
  await page.locator('#who-scope', { hasText: '平利县' }).waitFor();
  assert.ok(await page.getByRole('link', { name: '用户管理' }).isVisible());
  assert.ok(await page.getByRole('link', { name: '审计日志' }).isVisible());
  // the household list: 身份证号 masked by the server
  await page.locator('#results tbody tr').first().waitFor();
  assert.equal(await page.locator('#results tbody tr').count(), 20);
  assert.match(await text(page, '#status'), /共 200 户/);
  const id = await page.locator('#results tbody tr').first().locator('td').nth(2).textContent();
  assert.match(id, /^\d{6}\*{8}\d{3}[\dX]$/);
  // search by 户编号 finds exactly that household
  const hhNo = (await page.locator('#results tbody tr').nth(3).locator('td').first().textContent()).trim();
  await page.getByLabel('姓名、户编号或身份证号后几位').fill(hhNo);
  await page.getByRole('button', { name: '查询' }).click();
  await page.locator('#status', { hasText: '共 1 户' }).waitFor();
  assert.equal(await page.locator('#results tbody tr').count(), 1);
  // load more pages through next_cursor
  await page.getByLabel('姓名、户编号或身份证号后几位').fill('');
  await page.getByRole('button', { name: '查询' }).click();
  await page.locator('#status', { hasText: '共 200 户' }).waitFor();
  await page.getByRole('button', { name: '加载更多' }).click();
  await page.locator('#results tbody tr').nth(39).waitFor();
});

test('login by keyboard only, and back to the page asked for', async () => {
  const page = await newPage();
  await page.goto('/audit.html');
  await page.waitForURL((u) => u.pathname === '/login.html');
  await page.getByLabel('登录名').focus();
  await page.keyboard.type('shenji');
  await page.keyboard.press('Tab');
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/audit.html');
  await page.locator('#results tbody tr').first().waitFor();
});

test('a new user must change the initial password before anything else', async () => {
  const initial = addUser('wang.xm', '王小明', 'village_clerk', '610926102');
  const page = await newPage();
  await login(page, 'wang.xm', initial, '/password.html');
  assert.ok(await page.locator('#forced').isVisible());
  assert.ok(await page.locator('#nav').isHidden(), 'no menu while the change is pending');
  // other pages send the user back here; the API refuses too
  await page.goto('/');
  await page.waitForURL((u) => u.pathname === '/password.html');
  const refused = await page.evaluate(async () => {
    const r = await fetch('/api/v1/households');
    return [r.status, (await r.json()).error.code];
  });
  assert.deepEqual(refused, [403, 'E_PASSWORD_CHANGE_REQUIRED']);
  // hints as the user types
  await page.getByLabel('原密码').fill(initial);
  await page.getByLabel('新密码', { exact: true }).fill('short1A');
  assert.equal(await page.locator('#rules li[data-rule=length]').getAttribute('class'), 'bad');
  assert.equal(await page.locator('#rules li[data-rule=classes]').getAttribute('class'), 'ok');
  await page.getByLabel('新密码', { exact: true }).fill('wang.xm-Longer2026');
  assert.equal(await page.locator('#rules li[data-rule=login]').getAttribute('class'), 'bad');
  await page.getByRole('button', { name: '保存新密码' }).click();
  await page.locator('#msg', { hasText: '新密码不符合要求' }).waitFor();
  await snap(page, 'password-hints');
  // the server decides: a wrong old password
  await page.getByLabel('原密码').fill('Not#The0ldOne');
  await page.getByLabel('新密码', { exact: true }).fill('Qinba#Shan2026');
  await page.getByLabel('再次输入新密码').fill('Qinba#Shan2026');
  assert.equal(await page.locator('#rules li.bad').count(), 0);
  await page.getByRole('button', { name: '保存新密码' }).click();
  await page.locator('#msg', { hasText: '原密码不正确' }).waitFor();
  await page.getByLabel('原密码').fill(initial);
  await page.getByRole('button', { name: '保存新密码' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  assert.equal(await text(page, '#who-name'), '王小明');
  assert.equal(await text(page, '#who-role'), '村级信息员');
  await page.locator('#who-scope', { hasText: '老县镇' }).waitFor();
  // and the new password works for a fresh login
  const again = await newPage();
  await login(again, 'wang.xm', 'Qinba#Shan2026');
});

test('admin creates, edits, disables a user and resets the password in users.html', async () => {
  const page = await newPage();
  await login(page, 'admin');
  await page.getByRole('link', { name: '用户管理' }).click();
  await page.waitForURL((u) => u.pathname === '/users.html');
  await page.locator('#list tbody tr[data-login=admin]').waitFor();
  const rowsBefore = await page.locator('#list tbody tr').count();
  const form = page.locator('#create');
  // checked as typed, nothing sent
  await form.getByLabel('登录名').fill('Li Si');
  await form.getByLabel('姓名').focus();
  await page.locator('#c-login-hint.bad', { hasText: '登录名只能包含小写字母、数字和 . _ -' }).waitFor();
  assert.equal(await form.getByLabel('登录名').getAttribute('aria-invalid'), 'true');
  // a valid form
  await form.getByLabel('登录名').fill('li.si');
  await form.getByLabel('姓名').fill('李四');
  await form.getByLabel('手机').fill('13800001234');
  await form.getByLabel('角色').selectOption({ label: '村级信息员' });
  await form.getByLabel('辖区代码').fill('610926102');
  await page.locator('#c-scope-hint', { hasText: '老县镇' }).waitFor();
  await form.getByLabel('部门').selectOption('村民委员会');
  await form.getByRole('button', { name: '创建用户' }).click();
  await page.locator('#secret').waitFor();
  const pw = await text(page, '#secret-pw');
  assert.match(pw, /^\S{10,}$/);
  const row = page.locator('#list tbody tr[data-login="li.si"]');
  await row.waitFor();
  assert.match(await row.textContent(), /李四.*村级信息员.*老县镇.*村民委员会.*138\*\*\*\*1234.*待改初始密码/);
  assert.equal(await page.locator('#list tbody tr').count(), rowsBefore + 1);
  assert.equal(await form.getByLabel('登录名').inputValue(), '', 'the form is cleared after success');
  // the server refuses a duplicate: its message next to the form, the input kept
  await form.getByLabel('登录名').fill('li.si');
  await form.getByLabel('姓名').fill('李四二');
  await form.getByLabel('角色').selectOption('township_reviewer');
  await form.getByLabel('辖区代码').fill('610926102');
  await form.getByRole('button', { name: '创建用户' }).click();
  await page.locator('#create-msg', { hasText: '登录名 li.si 已存在' }).waitFor();
  await snap(page, 'users-refused');
  assert.equal(await form.getByLabel('姓名').inputValue(), '李四二');
  assert.equal(await form.getByLabel('角色').inputValue(), 'township_reviewer');
  assert.equal(await form.getByLabel('登录名').getAttribute('aria-invalid'), 'true');
  // a 辖区 outside the admin's scope: the server's 403 message, input kept
  await form.getByLabel('登录名').fill('wai.xian');
  await form.getByLabel('辖区代码').fill('610925');
  await form.getByRole('button', { name: '创建用户' }).click();
  await page.locator('#create-msg', { hasText: '只能管理您辖区' }).waitFor();
  assert.equal(await form.getByLabel('辖区代码').inputValue(), '610925');
  await form.getByLabel('姓名').focus();
  assert.match(await text(page, '#c-scope-hint'), /只能管理您辖区/, 'the refusal stays at the field');
  // edit the role and 辖区
  await page.getByRole('button', { name: '编辑 li.si' }).click();
  const edit = page.locator('#edit');
  assert.equal(await edit.getByLabel('姓名').inputValue(), '李四');
  await snap(page, 'users-edit');
  await edit.getByLabel('角色').selectOption({ label: '乡镇审核' });
  await edit.getByRole('button', { name: '保存修改' }).click();
  await page.locator('#list-msg', { hasText: '已保存 li.si 的修改' }).waitFor();
  assert.match(await row.textContent(), /乡镇审核/);
  assert.ok(await page.locator('#edit-section').isHidden());
  // disable (confirmed), then enable
  await page.getByRole('button', { name: '停用 li.si' }).click();
  await page.locator('#list-msg', { hasText: '已停用 li.si' }).waitFor();
  assert.match(await row.textContent(), /已停用/);
  await page.getByRole('button', { name: '启用 li.si' }).click();
  await page.locator('#list-msg', { hasText: '已启用 li.si' }).waitFor();
  // reset the password: a new one, shown once
  await page.getByRole('button', { name: '我已记下' }).click();
  assert.ok(await page.locator('#secret').isHidden());
  await page.getByRole('button', { name: '重置密码 li.si' }).click();
  await page.locator('#secret').waitFor();
  const pw2 = await text(page, '#secret-pw');
  assert.notEqual(pw2, pw);
  // the new account signs in with it and must change it
  const other = await newPage();
  await login(other, 'li.si', pw2, '/password.html');
  // search and paging over the list
  await page.getByLabel('登录名或姓名').fill('李四');
  await page.locator('#filter').getByRole('button', { name: '查询' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#list tbody tr').length === 1);
  assert.equal(await page.locator('#list tbody tr').getAttribute('data-login'), 'li.si');
});

test('user list pages through next_cursor', async () => {
  addUsersBulk(50);
  const page = await adminPage();
  await page.goto('/users.html');
  await page.locator('#list tbody tr').nth(49).waitFor();
  assert.equal(await page.locator('#list tbody tr').count(), 50);
  await page.getByRole('button', { name: '加载更多' }).click();
  await page.locator('#list tbody tr').nth(50).waitFor();
  const logins = await page.locator('#list tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.login));
  assert.equal(new Set(logins).size, logins.length, 'no user twice');
});

// 50 more users straight into the database (sqlite3, one statement: hashing
// 50 passwords through the CLI would take seconds), sharing yibao's hash.
function addUsersBulk(n) {
  execFileSync('sqlite3', [db, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ${n})
    INSERT INTO users(login, name, phone, scope_code, department, role, password_hash, must_change_password,
      disabled, created_at, updated_at, password_changed_at)
    SELECT printf('p%02d.user', i), '批量用户' || i, '', scope_code, department, role, password_hash, 0, 0,
      created_at, updated_at, password_changed_at FROM users, seq WHERE login = 'yibao'`], { stdio: ['ignore', 'ignore', 'pipe'] });
}

test('a village clerk sees no 用户管理 link and users.html shows the server 403', async () => {
  const page = await newPage();
  await login(page, 'cun.xinxiyuan');
  assert.equal(await text(page, '#who-role'), '村级信息员');
  assert.ok(await page.locator('#nav-users').isHidden());
  assert.ok(await page.locator('#nav-audit').isHidden());
  await page.locator('#results tbody tr').first().waitFor();
  await page.goto('/users.html');
  await page.locator('#page-msg', { hasText: '您的角色无权进行此操作' }).waitFor();
  assert.ok(await page.locator('#content').isHidden());
  await page.goto('/audit.html');
  await page.locator('#page-msg', { hasText: '您的角色无权进行此操作' }).waitFor();
});

test('auditor searches the audit log and exports it', async () => {
  const page = await newPage();
  await login(page, 'shenji');
  assert.ok(await page.locator('#no-access').isVisible(), 'an auditor reads no households');
  await page.getByRole('link', { name: '审计日志' }).click();
  await page.waitForURL((u) => u.pathname === '/audit.html');
  await page.locator('#results tbody tr').first().waitFor();
  await page.getByLabel('登录名').fill('admin');
  await page.getByLabel('对象类型').selectOption({ label: '用户' });
  await page.getByRole('button', { name: '查询' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('#results tbody tr')]
    .every((tr) => tr.cells[1].textContent === 'admin' && tr.cells[5].textContent.startsWith('用户')));
  const rows = await page.locator('#results tbody tr').count();
  assert.ok(rows >= 3, 'admin created, edited and reset users: ' + rows);
  assert.match(await page.locator('#results tbody').textContent(), /POST \/api\/v1\/users/);
  // old and new values of an edit
  await page.locator('#results details').first().locator('summary').click();
  // the newest edit was enabling li.si again: only that field is listed
  assert.equal(await page.locator('#results details').first().textContent(), '1 项修改停用：是 → 否');
  await snap(page, 'audit');
  // a time range in the future finds nothing
  await page.getByLabel('开始时间').fill('2099-01-01T00:00');
  await page.getByRole('button', { name: '查询' }).click();
  await page.locator('#status', { hasText: '没有符合条件的记录' }).waitFor();
  await page.getByLabel('开始时间').fill('');
  // the export link carries the filters and answers CSV
  await page.getByRole('button', { name: '查询' }).click();
  await page.locator('#results tbody tr').first().waitFor();
  const href = await page.getByRole('link', { name: '导出 CSV' }).getAttribute('href');
  assert.match(href, /^\/api\/v1\/audit\/export\?login=admin&target_type=user$/);
  const csv = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return [r.status, r.headers.get('Content-Type'), await r.text()];
  }, href);
  assert.equal(csv[0], 200);
  assert.match(csv[1], /^text\/csv/);
  assert.match(csv[2], /^\uFEFF?序号,时间\(UTC\),/);
  assert.equal(csv[2].trim().split('\n').length, rows + 1);
  // the invalid object id is caught before asking
  await page.getByLabel('对象ID').fill('abc');
  await page.getByRole('button', { name: '查询' }).click();
  await page.locator('#a-id-hint.bad', { hasText: '对象ID应为正整数' }).waitFor();
});

test('CSRF: a write from the page without the token is refused', async () => {
  const page = await adminPage();
  await page.goto('/');
  await page.locator('#who-name').waitFor();
  const body = { login: 'csrf.test', name: '跨站测试', role: 'leader', scope_code: '610926' };
  const result = await page.evaluate(async (b) => {
    const post = async (headers) => {
      const r = await fetch('/api/v1/users', {
        method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(b),
      });
      const j = await r.json();
      return [r.status, j.error ? j.error.code : j.login];
    };
    const me = await (await fetch('/api/v1/me')).json();
    return {
      cookie: document.cookie,
      none: await post({}),
      wrong: await post({ 'X-CSRF-Token': 'x'.repeat(me.csrf_token.length) }),
      listed: (await (await fetch('/api/v1/users?q=csrf.test')).json()).items.length,
      right: await post({ 'X-CSRF-Token': me.csrf_token }),
    };
  }, body);
  assert.equal(result.cookie, '', 'the session cookie is HttpOnly');
  assert.deepEqual(result.none, [403, 'E_CSRF']);
  assert.deepEqual(result.wrong, [403, 'E_CSRF']);
  assert.equal(result.listed, 0, 'nothing was created without the token');
  assert.deepEqual(result.right, [201, 'csrf.test']);
});

test('logout returns to the login page and ends the session', async () => {
  const page = await newPage();
  await login(page, 'xian.shending');
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.waitForURL((u) => u.pathname === '/login.html');
  const status = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  assert.equal(status, 401);
  await page.goto('/');
  await page.waitForURL((u) => u.pathname === '/login.html');
});

test('pages fit 360 px without horizontal scrolling; screenshot of the index', async () => {
  const page = await newPage({ width: 360, height: 740 });
  await page.goto('/login.html');
  await noHorizontalScroll(page, 'login.html');
  await login(page, 'laoxian.shenhe');
  await page.locator('#results tbody tr').first().waitFor();
  await page.locator('#who-scope', { hasText: '老县镇' }).waitFor();
  await noHorizontalScroll(page, 'index.html');
  const shot = path.join(tmp, 'index-360.png');
  await page.screenshot({ path: shot, fullPage: false });
  assert.ok(fs.statSync(shot).size > 1000, 'the screenshot is not empty');
  keep(shot);
  await page.goto('/password.html');
  await page.locator('#who-name').waitFor();
  await noHorizontalScroll(page, 'password.html');

  const admin = await adminPage({ width: 360, height: 740 });
  for (const p of ['/users.html', '/audit.html']) {
    await admin.goto(p);
    await admin.locator('#content:not([hidden]) tbody tr').first().waitFor();
    await noHorizontalScroll(admin, p);
    if (process.env.LIUBAO_SCREENSHOTS) keep(await shoot(admin, p.slice(1).replace('.html', '') + '-360.png'));
  }
  if (!process.env.LIUBAO_SCREENSHOTS) return;
  const desk = await adminPage();
  await desk.goto('/');
  await desk.locator('#results tbody tr').first().waitFor();
  keep(await shoot(desk, 'index-desktop.png'));
  await desk.goto('/users.html');
  await desk.locator('#content:not([hidden]) tbody tr').first().waitFor();
  keep(await shoot(desk, 'users-desktop.png', true));
});

test('the role select matches the roles of `liubao user --help`', async () => {
  let help = '';
  try {
    help = cli('user', '--help');
  } catch (e) {
    help = String(e.stdout || '') + String(e.stderr || '');
  }
  const line = help.split('\n').find((l) => l.trim().startsWith('--role'));
  const fromCli = [...line.slice(line.indexOf('：') + 1).matchAll(/([a-z_]+) ([^、\s]+)/g)].map((m) => [m[1], m[2]]);
  assert.ok(fromCli.length >= 6, 'roles parsed from: ' + line);
  const page = await adminPage();
  await page.goto('/users.html');
  await page.locator('#content:not([hidden])').waitFor();
  const options = await page.locator('#c-role option').evaluateAll((os) => os.filter((o) => o.value)
    .map((o) => [o.value, o.textContent]));
  assert.deepEqual(options, fromCli);
});
