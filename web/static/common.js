// common.js — shared by every page: the session (who is signed in and the
// CSRF token), JSON API calls, the page header, and small DOM helpers.
//
// Safety rules for all pages: text from the server is only ever put into the
// page with textContent or attribute setters (never innerHTML); there are no
// inline scripts or styles (the server's CSP forbids them); every
// state-changing request carries the session's CSRF token in X-CSRF-Token.

// Roles and departments as src/auth/roles.c defines them (the API has no
// list of them yet).  tests/browser checks ROLES against `liubao user --help`.
export const ROLES = [
  ['village_clerk', '村级信息员'],
  ['township_reviewer', '乡镇审核'],
  ['county_approver', '县级审定'],
  ['dept_user', '部门用户'],
  ['leader', '领导'],
  ['admin', '系统管理员'],
  ['auditor', '审计员'],
];

export const DEPARTMENTS = [
  '乡村振兴局', '医保局', '民政局', '教育局', '卫健局', '人社局', '住建局', '残联',
  '应急局', '生态环境局', '督查室', '公安局', '农业农村局', '水利局', '财政局',
  '乡镇人民政府', '村民委员会',
];

export function roleTitle(id) {
  const r = ROLES.find((x) => x[0] === id);
  return r ? r[1] : id || '';
}

// An error answered by the API ({"error":{"code","message"}}) or the network.
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

let csrfToken = '';

// The session's CSRF token, for requests common.js does not send itself
// (a file upload through XMLHttpRequest, for its progress events).
export function csrf() {
  return csrfToken;
}

// A promise that never settles: used after starting a navigation away, so
// that the page's code simply stops.
function halt() {
  return new Promise(() => {});
}

export function loginUrl() {
  return '/login.html?next=' + encodeURIComponent(location.pathname + location.search);
}

// Send a request to the JSON API; resolves to the parsed body (or null), or
// rejects with ApiError carrying the server's Chinese message.  A 401 sends
// the browser to the login page and a pending forced password change to the
// password page, unless opts.noRedirect.
export async function api(method, path, body, opts = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET' && method !== 'HEAD') init.headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'E_NETWORK', '网络连接失败，请检查网络后重试');
  }
  let data = null;
  if ((r.headers.get('Content-Type') || '').startsWith('application/json')) {
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
  }
  if (r.ok) return data;
  const err = (data && data.error) || {};
  if (!opts.noRedirect) {
    if (r.status === 401) {
      location.replace(loginUrl());
      return halt();
    }
    if (err.code === 'E_PASSWORD_CHANGE_REQUIRED' && location.pathname !== '/password.html') {
      location.replace('/password.html?next=' + encodeURIComponent(location.pathname + location.search));
      return halt();
    }
  }
  throw new ApiError(r.status, err.code || 'E_HTTP', err.message || '服务器错误（' + r.status + '），请稍后重试',
    r.headers.get('Retry-After'));
}

// Load the signed-in user (GET /api/v1/me), remember the CSRF token and fill
// the page header.  Goes to the login page when nobody is signed in, and to
// the password page while a forced password change is pending (unless
// opts.passwordPage).
export async function session(opts = {}) {
  const me = await api('GET', '/api/v1/me');
  csrfToken = me.csrf_token || '';
  if (me.must_change_password && !opts.passwordPage) {
    location.replace('/password.html?next=' + encodeURIComponent(location.pathname + location.search));
    return halt();
  }
  renderHeader(me);
  document.body.classList.remove('pending');
  return me;
}

export function can(me, perm) {
  return Array.isArray(me.permissions) && me.permissions.includes(perm);
}

const regionNames = new Map();

// The name of region `code` (12 digits) with its ancestors, e.g.
// "陕西省 安康市 平利县"; resolves to '' when it cannot be seen.
export function regionName(code, full) {
  if (!code) return Promise.resolve('');
  const key = code + (full ? '+' : '');
  if (!regionNames.has(key)) {
    regionNames.set(key, api('GET', '/api/v1/regions/' + encodeURIComponent(code), undefined, { noRedirect: true })
      .then((r) => (full ? (r.path || []).map((p) => p.name).concat(r.name).join(' ') : r.name))
      .catch(() => ''));
  }
  return regionNames.get(key);
}

// Pad a region-code prefix (2..12 digits) to the 12-digit form.
export function pad12(code) {
  return (code + '000000000000').slice(0, 12);
}

// The main menu of every office page (web/*.html hold an empty
// <nav id="nav">): [href, title, permission or null, roles or null].  A
// link shows when the user has the permission (src/auth/roles.c) or, for a
// queue only some roles act on, the role.  Each link gets the id
// "nav-" + its page's name (nav-users, nav-v for the 工作台 …).
export const NAV = [
  ['/v/', '工作台', 'household.read'],
  ['/index.html', '户籍查询', null],
  ['/dashboard.html', '领导驾驶舱', 'stats.read'],
  ['/feeds.html', '部门数据', 'feed.load'],
  ['/review.html', '待办审核', null, ['township_reviewer', 'county_approver']],
  ['/county.html', '审定与公告', null, ['county_approver']],
  ['/import.html', '台账导入', 'household.write'],
  ['/rules.html', '规则与监测线', 'monitor.config'],
  ['/users.html', '用户管理', 'user.manage'],
  ['/audit.html', '审计日志', 'audit.read'],
  ['/password.html', '修改密码', null],
];

// The links of NAV that user `me` sees.
export function navLinks(me) {
  return NAV.filter(([, , perm, roles]) => (!perm || can(me, perm)) && (!roles || roles.includes(me.role)));
}

function renderNav(me) {
  const nav = document.getElementById('nav');
  if (!nav) return;
  const here = location.pathname === '/' ? '/index.html' : location.pathname;
  nav.textContent = '';
  for (const [href, title] of navLinks(me)) {
    const id = 'nav-' + (href.replace(/^\/|\.html$|\/$/g, '') || 'v');
    nav.append(h('a', { href, id, 'aria-current': href === here ? 'page' : null }, title));
  }
}

function renderHeader(me) {
  renderNav(me);
  // anything else shown by permission or role: data-perm="x", data-roles="r1 r2"
  for (const a of document.querySelectorAll('[data-perm]')) a.hidden = !can(me, a.dataset.perm);
  for (const a of document.querySelectorAll('[data-roles]')) a.hidden = !a.dataset.roles.split(' ').includes(me.role);
  const who = document.getElementById('who');
  if (who) {
    who.textContent = '';
    const name = h('strong', { id: 'who-name' }, me.name || me.login);
    const role = h('span', { id: 'who-role' }, me.role_title || roleTitle(me.role));
    const scope = h('span', { id: 'who-scope' }, me.scope_code ? shortCode(me.scope_code) : '全部辖区');
    who.append(name, ' · ', role, ' · ', scope);
    if (me.scope_code) {
      regionName(me.scope_code, true).then((full) => {
        if (!full) return;
        scope.textContent = full.split(' ').pop();
        scope.title = full + '（' + me.scope_code + '）';
      });
    }
  }
  const out = document.getElementById('logout');
  if (out) out.addEventListener('click', logout);
}

async function logout() {
  try {
    await api('POST', '/api/v1/logout', undefined, { noRedirect: true });
  } catch (e) {
    // the session may already be gone: the login page is right either way
  }
  location.replace('/login.html');
}

// Create an element: attrs are set as properties (class → className,
// data-*/aria-* and others via setAttribute); children are nodes or text.
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k in e && !k.includes('-')) e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false || c === '') continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// Show `text` in message element `el` (kind: 'error' | 'ok' | 'info'); an
// empty text hides it.
export function say(el, text, kind = 'error') {
  el.textContent = text || '';
  el.classList.remove('error', 'ok', 'info');
  el.classList.add('msg', kind);
  el.hidden = !text;
}

// A table whose cells carry their column title (data-label), so that narrow
// screens can show each row as a card.  columns: [[title, row => text|Node]].
export function table(columns, rows, caption) {
  const head = h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c[0])));
  const body = h('tbody');
  appendRows(body, columns, rows);
  return h('table', { class: 'cards' }, caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', null, head), body);
}

export function appendRows(tbody, columns, rows) {
  for (const r of rows) tbody.append(row(columns, r));
}

// One <tr> for item `r`.
export function row(columns, r) {
  return h('tr', null, columns.map((c) => {
    const v = c[1](r);
    return h('td', { 'data-label': c[0] }, v == null ? '' : v);
  }));
}

// A region code without its zero-filled lower levels (610926102000 →
// 610926102), as src/auth/roles.c auth_scope_prefix() shortens it.
export function shortCode(code) {
  let c = code || '';
  if (c.length === 12 && c.endsWith('000')) c = c.slice(0, 9);
  if (c.length === 9 && c.endsWith('000')) c = c.slice(0, 6);
  if (c.length === 6 && c.endsWith('00')) c = c.slice(0, 4);
  if (c.length === 4 && c.endsWith('00')) c = c.slice(0, 2);
  return c;
}

// "2026-03-05 06:07:08" (UTC, as the server stores times) → local time text.
export function localTime(utc) {
  if (!utc) return '';
  const d = new Date(utc.replace(' ', 'T') + 'Z');
  if (isNaN(d)) return utc;
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
    p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
}

// A datetime-local value (local time) → "YYYY-MM-DD HH:MM:SS" in UTC.
export function utcText(local, endOfMinute) {
  if (!local) return '';
  const d = new Date(local);
  if (isNaN(d)) return '';
  if (endOfMinute && local.length <= 16) d.setSeconds(59);
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

// Password rules of src/auth/password.c, as hints: the server still decides.
export function passwordChecks(pw, login, confirm) {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(pw)).length;
  const checks = {
    length: [...pw].length >= 10,
    classes: classes >= 3,
    login: !login || login.length < 3 || !pw.toLowerCase().includes(login.toLowerCase()),
  };
  if (confirm !== undefined) checks.match = pw !== '' && pw === confirm;
  return checks;
}

// A same-site path to go to after signing in, from ?next= (never another site).
export function nextPath(fallback = '/') {
  const n = new URLSearchParams(location.search).get('next');
  if (!n || !n.startsWith('/') || n.startsWith('//') || n.startsWith('/\\') ||
      n.startsWith('/login.html') || n.startsWith('/password.html')) return fallback;
  return n;
}

// 12345 → "12,345" (thousands separators, as the office expects).
export function num(n) {
  return Number(n).toLocaleString('zh-CN');
}

// An amount in 分 → "8,700 元" or "8,700.50 元".
export function money(fen) {
  if (fen == null || fen === '') return '';
  const yuan = Number(fen) / 100;
  return yuan.toLocaleString('zh-CN', { minimumFractionDigits: Number.isInteger(yuan) ? 0 : 2,
    maximumFractionDigits: 2 }) + ' 元';
}

// What a user typed as 元 ("8,700", "8700.5", "８７００") → 分, or NaN when
// it is not an amount with at most two decimals.
export function yuanToFen(text) {
  const t = String(text).replace(/[０-９．，]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[,\s]/g, '').replace(/元$/, '');
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
  const [i, f = ''] = t.split('.');
  return Number(i) * 100 + Number((f + '00').slice(0, 2));
}

// The 红黄绿灯 of a deadline as a labelled mark (never colour alone).
export const LIGHTS = { red: '红灯（逾期）', yellow: '黄灯（临期）', green: '绿灯' };
export function light(l) {
  if (!l) return '';
  return h('span', { class: 'lamp ' + l }, LIGHTS[l] || l);
}
