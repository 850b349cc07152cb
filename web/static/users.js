// users.js — user management for administrators: list (paged by
// next_cursor), search, create, edit role/辖区/部门, disable/enable and
// password reset, over /api/v1/users.  Fields are checked as the user types
// with the server's rules (src/auth/users.c); the server still decides, its
// message is shown next to the form and what was typed stays.
import {
  DEPARTMENTS, ROLES, api, h, pad12, regionName, roleTitle, row, say, session, shortCode, table,
} from './common.js';

const me = await session();
const $ = (id) => document.getElementById(id);
const pageMsg = $('page-msg');
const listMsg = $('list-msg');
const list = $('list');
const more = $('more');
const users = new Map(); // id → user object as the API returned it
const rows = new Map(); // id → <tr>
let tbody = null;
let cursor = null;
let editing = null; // the user being edited

// ---- field rules (same as the server's; the server still decides) ----------

const RULES = {
  login: (v) => (v.length < 3 || v.length > 32 ? '登录名应为3到32个字符'
    : /^[a-z0-9._-]+$/.test(v) ? '' : '登录名只能包含小写字母、数字和 . _ -'),
  name: (v) => (v ? '' : '姓名不能为空'),
  phone: (v) => (!v || /^1[0-9]{10}$/.test(v) ? '' : '手机号应为11位数字'),
  role: (v) => (v ? '' : '请选择角色'),
  scope_code: (v) => (!v || /^[0-9]{2,12}$/.test(v) ? '' : '管辖区划应为2到12位数字区划代码'),
  department: () => '',
};

// Which field a server message is about, by the words it starts with.
const MESSAGE_FIELDS = [
  ['登录名', 'login'], ['姓名', 'name'], ['手机', 'phone'], ['角色', 'role'], ['部门', 'department'],
  ['管辖区划', 'scope_code'], ['请指定辖区', 'scope_code'], ['只能管理您辖区', 'scope_code'],
];

function fields(prefix, names) {
  const f = {};
  for (const n of names) {
    const id = prefix + '-' + (n === 'scope_code' ? 'scope' : n);
    const input = $(id);
    const hint = $(id + '-hint');
    hint.dataset.text = hint.textContent;
    input.setAttribute('aria-describedby', hint.id);
    f[n] = { input, hint };
    input.addEventListener('blur', () => check(f, n));
    input.addEventListener('change', () => check(f, n));
    input.addEventListener('input', () => {
      if (input.getAttribute('aria-invalid') === 'true') check(f, n);
      if (n === 'scope_code') lookupScope(f[n]);
    });
  }
  return f;
}

function value(field, name) {
  const v = field.input.value;
  return name === 'name' || name === 'login' || name === 'phone' || name === 'scope_code' ? v.trim() : v;
}

function mark(field, problem) {
  field.input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  field.hint.classList.toggle('bad', !!problem);
  field.hint.textContent = problem || field.hint.dataset.text;
}

// Check field `name` of form `f`.  A server refusal marked on the field
// stays while its value is unchanged, except when the form is submitted
// again (`submitting`): the server decides afresh.
function check(f, name, submitting) {
  const field = f[name];
  if (!submitting && field.refused !== undefined && field.refused === value(field, name)) return '';
  field.refused = undefined;
  const problem = RULES[name](value(field, name));
  mark(f[name], problem);
  if (!problem && name === 'scope_code') lookupScope(f[name]);
  return problem;
}

// Check every field; returns the first field with a problem, or null.
function checkAll(f) {
  let first = null;
  for (const n of Object.keys(f)) if (check(f, n, true) && !first) first = f[n];
  return first;
}

function values(f) {
  const o = {};
  for (const n of Object.keys(f)) o[n] = value(f[n], n);
  return o;
}

function clearMarks(f) {
  for (const field of Object.values(f)) {
    field.refused = undefined;
    mark(field, '');
  }
}

// Show a refusal from the server on the form and at the field it concerns.
function refuse(f, msgEl, e) {
  say(msgEl, e.message);
  const hit = MESSAGE_FIELDS.find(([w, n]) => e.message.startsWith(w) && f[n]);
  if (hit) {
    mark(f[hit[1]], e.message);
    f[hit[1]].refused = value(f[hit[1]], hit[1]);
    f[hit[1]].input.focus();
  }
}

// As a 辖区 code is typed, say which region it names.
let scopeSeq = 0;
function lookupScope(field) {
  const v = field.input.value.trim();
  const seq = ++scopeSeq;
  if (!/^[0-9]{2,12}$/.test(v) || field.input.getAttribute('aria-invalid') === 'true') return;
  regionName(pad12(v), true).then((full) => {
    if (seq !== scopeSeq || field.input.value.trim() !== v) return;
    field.hint.classList.toggle('bad', !full);
    field.hint.textContent = full ? full : '找不到区划 ' + v + '（或不在您的辖区内）';
  });
}

function fillSelects() {
  for (const id of ['f-role', 'c-role', 'e-role'])
    for (const [rid, title] of ROLES) $(id).append(h('option', { value: rid }, title));
  for (const id of ['c-department', 'e-department'])
    for (const d of DEPARTMENTS) $(id).append(h('option', { value: d }, d));
}

// ---- the list ---------------------------------------------------------------

function maskPhone(p) {
  return p && p.length === 11 ? p.slice(0, 3) + '****' + p.slice(7) : p || '';
}

function scopeCell(code) {
  const short = shortCode(code);
  const span = h('span', null, short || '全部');
  if (code) regionName(code).then((n) => { if (n) span.textContent = n + '（' + short + '）'; });
  return span;
}

function statusText(u) {
  return u.disabled ? '已停用' : u.must_change_password ? '待改初始密码' : '正常';
}

function actions(u) {
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'small', 'aria-label': '编辑 ' + u.login, onclick: () => startEdit(u.id) }, '编辑'),
    h('button', { type: 'button', class: 'small', 'aria-label': (u.disabled ? '启用 ' : '停用 ') + u.login,
      onclick: () => toggleDisabled(u.id) }, u.disabled ? '启用' : '停用'),
    h('button', { type: 'button', class: 'small', 'aria-label': '重置密码 ' + u.login, onclick: () => resetPassword(u.id) }, '重置密码'));
}

const columns = [
  ['登录名', (u) => u.login],
  ['姓名', (u) => u.name],
  ['角色', (u) => u.role_title || roleTitle(u.role)],
  ['辖区', (u) => scopeCell(u.scope_code)],
  ['部门', (u) => u.department],
  ['手机', (u) => maskPhone(u.phone)],
  ['状态', (u) => statusText(u)],
  ['操作', (u) => actions(u)],
];

function addRow(u, first) {
  users.set(u.id, u);
  const tr = row(columns, u);
  tr.dataset.login = u.login;
  if (u.disabled) tr.classList.add('off');
  rows.set(u.id, tr);
  if (!tbody) {
    list.textContent = '';
    const t = table(columns, [], '用户列表');
    tbody = t.tBodies[0];
    list.append(t);
  }
  if (first) tbody.prepend(tr);
  else tbody.append(tr);
  return tr;
}

function updateRow(u) {
  const old = rows.get(u.id);
  users.set(u.id, u);
  const tr = row(columns, u);
  tr.dataset.login = u.login;
  if (u.disabled) tr.classList.add('off');
  rows.set(u.id, tr);
  if (old) old.replaceWith(tr);
  return tr;
}

async function load(reset) {
  const params = new URLSearchParams({ limit: '50' });
  const q = $('f-q').value.trim();
  const role = $('f-role').value;
  if (q) params.set('q', q);
  if (role) params.set('role', role);
  if (!reset && cursor) params.set('cursor', cursor);
  more.disabled = true;
  try {
    const data = await api('GET', '/api/v1/users?' + params);
    if (reset) {
      users.clear();
      rows.clear();
      tbody = null;
      list.textContent = '';
      say(listMsg, '');
    }
    for (const u of data.items) addRow(u);
    if (reset && !data.items.length) list.append(h('p', { class: 'status' }, '没有符合条件的用户'));
    cursor = data.next_cursor;
    more.hidden = !cursor;
    return true;
  } catch (e) {
    say($('content').hidden ? pageMsg : listMsg, e.message);
    return false;
  } finally {
    more.disabled = false;
  }
}

// ---- the initial password, shown once ------------------------------------------

function showSecret(login, password) {
  $('secret-who').textContent = '用户 ' + login + ' ';
  $('secret-pw').textContent = password;
  $('secret').hidden = false;
  $('secret').focus();
}

$('secret-done').addEventListener('click', () => {
  $('secret-pw').textContent = '';
  $('secret').hidden = true;
});

// ---- create -------------------------------------------------------------------

const cf = fields('c', ['login', 'name', 'phone', 'role', 'scope_code', 'department']);
const createMsg = $('create-msg');

$('create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const bad = checkAll(cf);
  if (bad) {
    say(createMsg, '请先改正标出的项目');
    bad.input.focus();
    return;
  }
  const btn = ev.submitter || $('create').querySelector('button[type=submit]');
  btn.disabled = true;
  say(createMsg, '');
  try {
    const u = await api('POST', '/api/v1/users', values(cf));
    const initial = u.initial_password;
    delete u.initial_password;
    $('create').reset();
    clearMarks(cf);
    const tr = addRow(u, true);
    tr.classList.add('new');
    say(createMsg, '已创建用户 ' + u.login, 'ok');
    showSecret(u.login, initial);
  } catch (e) {
    refuse(cf, createMsg, e);
  } finally {
    btn.disabled = false;
  }
});

// ---- edit, disable/enable, reset password --------------------------------------------

const ef = fields('e', ['name', 'phone', 'role', 'scope_code', 'department']);
const editMsg = $('edit-msg');

function startEdit(id) {
  const u = users.get(id);
  editing = u;
  $('e-login').textContent = u.login + '（' + u.name + '）';
  ef.name.input.value = u.name;
  ef.phone.input.value = u.phone;
  ef.role.input.value = u.role;
  ef.scope_code.input.value = shortCode(u.scope_code);
  ef.department.input.value = u.department;
  clearMarks(ef);
  say(editMsg, '');
  $('edit-section').hidden = false;
  $('edit-section').scrollIntoView({ block: 'start' });
  ef.name.input.focus();
}

function stopEdit() {
  const id = editing && editing.id;
  editing = null;
  $('edit-section').hidden = true;
  const tr = rows.get(id);
  if (tr) tr.querySelector('button').focus();
}

$('edit-cancel').addEventListener('click', stopEdit);

$('edit').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!editing) return;
  const bad = checkAll(ef);
  if (bad) {
    say(editMsg, '请先改正标出的项目');
    bad.input.focus();
    return;
  }
  try {
    const u = await api('PUT', '/api/v1/users/' + editing.id, values(ef));
    updateRow(u);
    say(listMsg, '已保存 ' + u.login + ' 的修改', 'ok');
    stopEdit();
  } catch (e) {
    refuse(ef, editMsg, e);
  }
});

async function toggleDisabled(id) {
  const u = users.get(id);
  if (!u.disabled && !confirm('确定停用用户 ' + u.login + '（' + u.name + '）吗？停用后其登录会话立即失效。')) return;
  try {
    const nu = await api('PUT', '/api/v1/users/' + id, { disabled: !u.disabled });
    updateRow(nu).querySelector('button').focus();
    say(listMsg, (nu.disabled ? '已停用 ' : '已启用 ') + nu.login, 'ok');
  } catch (e) {
    say(listMsg, e.message);
  }
}

async function resetPassword(id) {
  const u = users.get(id);
  if (!confirm('确定重置用户 ' + u.login + '（' + u.name + '）的密码吗？其登录会话将失效，首次登录须改密码。')) return;
  try {
    const r = await api('POST', '/api/v1/users/' + id + '/password');
    updateRow(Object.assign({}, u, { must_change_password: true }));
    say(listMsg, '已重置 ' + u.login + ' 的密码', 'ok');
    showSecret(u.login, r.initial_password);
  } catch (e) {
    say(listMsg, e.message);
  }
}

// ---- start ------------------------------------------------------------------------

fillSelects();
if (me.scope_code) {
  const short = shortCode(me.scope_code);
  cf.scope_code.input.placeholder = short;
  regionName(me.scope_code).then((n) => {
    cf.scope_code.hint.dataset.text = '您的辖区：' + (n || short) + '（' + short + '）；填写其下的乡镇或村代码';
    if (cf.scope_code.input.getAttribute('aria-invalid') !== 'true' && !cf.scope_code.input.value)
      cf.scope_code.hint.textContent = cf.scope_code.hint.dataset.text;
  });
}
$('filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load(true);
});
more.addEventListener('click', () => load(false));
if (await load(true)) $('content').hidden = false;
