// audit.js — audit-log search (GET /api/v1/audit: login, object type and id,
// time range; newest first, paged by next_cursor) and the CSV export link
// for the same filters (GET /api/v1/audit/export, itself audited).
import { api, appendRows, h, localTime, roleTitle, say, session, table, utcText } from './common.js';

await session();
const $ = (id) => document.getElementById(id);
const status = $('status');
const results = $('results');
const more = $('more');
const exportLink = $('export');
const TYPES = [['user', '用户'], ['household', '户'], ['member', '家庭成员'], ['region', '行政区划']];
let cursor = null;
let tbody = null;
let filters = null;

for (const [v, t] of TYPES) $('a-type').append(h('option', { value: v }, t));

function typeTitle(t) {
  const x = TYPES.find((p) => p[0] === t);
  return x ? x[1] : t || '';
}

// Field names of the records the log shows, in Chinese; others as they are.
const FIELDS = {
  login: '登录名', name: '姓名', phone: '手机', scope_code: '辖区', department: '部门', role: '角色',
  role_title: '角色名称', disabled: '停用', must_change_password: '须修改密码', created_at: '创建时间',
  last_login_at: '最近登录', hh_no: '户编号', village_code: '村', hh_type: '户类型', relocated: '易地搬迁',
  id_number: '身份证号', relation: '与户主关系', members: '家庭成员', address: '地址',
};

function show(v) {
  if (v === undefined) return '（无）';
  if (v === null || v === '') return '（空）';
  if (v === true) return '是';
  if (v === false) return '否';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// Old and new values: only the fields that differ (all fields for a record
// created or deleted), as 字段：修改前 → 修改后.
function changes(e) {
  const o = e.old_value;
  const n = e.new_value;
  if (o == null && n == null) return '';
  const isObj = (x) => x && typeof x === 'object' && !Array.isArray(x);
  const lines = [];
  if (isObj(o) && isObj(n)) {
    for (const k of new Set([...Object.keys(o), ...Object.keys(n)])) {
      if (JSON.stringify(o[k]) !== JSON.stringify(n[k]))
        lines.push(h('li', null, h('b', null, FIELDS[k] || k), '：', show(o[k]), ' → ', show(n[k])));
    }
  } else {
    const only = isObj(n) ? n : o;
    const what = n != null ? '新增' : '删除';
    if (isObj(only)) {
      for (const [k, v] of Object.entries(only)) lines.push(h('li', null, h('b', null, FIELDS[k] || k), '：', show(v)));
    } else {
      lines.push(h('li', null, what + '：', show(only)));
    }
  }
  const d = h('details', null, h('summary', null, (o != null && n != null ? lines.length + ' 项修改' : n != null ? '新增内容' : '删除内容')));
  d.append(h('ul', { class: 'changes' }, lines));
  return d;
}

const columns = [
  ['时间', (e) => localTime(e.at)],
  ['登录名', (e) => e.login],
  ['角色', (e) => roleTitle(e.role)],
  ['来源地址', (e) => e.addr],
  ['操作', (e) => h('code', null, e.action)],
  ['对象', (e) => (e.target_type ? typeTitle(e.target_type) + (e.target_id != null ? ' #' + e.target_id : '') : '')],
  ['说明', (e) => e.detail],
  ['结果', (e) => (e.status < 400 ? '成功' : '失败（' + e.status + '）')],
  ['变更', changes],
];

// The query parameters of the form, or null after showing what is wrong.
function readFilters() {
  const p = new URLSearchParams();
  const login = $('a-login').value.trim();
  const type = $('a-type').value;
  const id = $('a-id').value.trim();
  const from = utcText($('a-from').value, false);
  const to = utcText($('a-to').value, true);
  const idHint = $('a-id-hint');
  if (id && !/^[1-9][0-9]*$/.test(id)) {
    idHint.textContent = '对象ID应为正整数';
    idHint.classList.add('bad');
    $('a-id').setAttribute('aria-invalid', 'true');
    $('a-id').focus();
    return null;
  }
  idHint.textContent = '';
  idHint.classList.remove('bad');
  $('a-id').setAttribute('aria-invalid', 'false');
  if (login) p.set('login', login);
  if (type) p.set('target_type', type);
  if (id) p.set('target_id', id);
  if (from) p.set('from', from);
  if (to) p.set('to', to);
  return p;
}

async function load(reset) {
  const p = new URLSearchParams(filters);
  p.set('limit', '50');
  if (!reset && cursor) p.set('cursor', cursor);
  more.disabled = true;
  try {
    const data = await api('GET', '/api/v1/audit?' + p);
    if (reset) {
      results.textContent = '';
      tbody = null;
      status.className = 'status';
      status.textContent = data.items.length ? '' : '没有符合条件的记录';
    }
    if (data.items.length) {
      if (!tbody) {
        const t = table(columns, data.items, '审计日志');
        tbody = t.tBodies[0];
        results.append(t);
      } else {
        appendRows(tbody, columns, data.items);
      }
    }
    const shown = tbody ? tbody.rows.length : 0;
    if (shown) status.textContent = '已显示 ' + shown + ' 条' + (data.next_cursor ? '，还有更多' : '');
    cursor = data.next_cursor;
    more.hidden = !cursor;
    return true;
  } catch (e) {
    if ($('content').hidden) say($('page-msg'), e.message);
    else {
      status.textContent = e.message;
      status.className = 'status msg error';
    }
    return false;
  } finally {
    more.disabled = false;
  }
}

function search() {
  const p = readFilters();
  if (!p) return;
  filters = p.toString();
  exportLink.href = '/api/v1/audit/export' + (filters ? '?' + filters : '');
  load(true);
}

$('filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  search();
});
more.addEventListener('click', () => load(false));
// The export always follows what the form says now, searched or not.
exportLink.addEventListener('click', (ev) => {
  const p = readFilters();
  if (!p) ev.preventDefault();
  else exportLink.href = '/api/v1/audit/export' + (p.toString() ? '?' + p : '');
});
filters = '';
if (await load(true)) $('content').hidden = false;
