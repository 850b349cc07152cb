// review.js — the queue of 识别纳入 / 风险消除 cases for the 乡镇审核 and 县级审定
// roles: cases waiting at their steps (GET /api/v1/cases?mine=1, nearest
// deadline first, counted per 红黄绿灯), the case's history, and the decision
// on its step (POST /api/v1/cases/:id/advance|return|reject).  Fields are
// checked as they are typed with the server's rules (src/monitor/case.c); the
// server still decides, and what was typed stays when it refuses.
import { api, appendRows, can, h, light, pad12, say, session, shortCode, table } from './common.js';

const me = await session();
const $ = (id) => document.getElementById(id);
const listEl = $('list');
const status = $('status');
const more = $('more');
const detail = $('detail');
const form = $('act');
const actMsg = $('act-msg');
let cursor = null;
let tbody = null;
let lightFilter = '';
let current = null; // the case shown in the detail panel
let codes = { risk_types: [], monitor_categories: [] };

const ACTIONS = { open: '发起', advance: '通过', return: '退回', reject: '不予通过', notice: '公告' };
// The record a step asks for, by field: its label (by step title) and rule.
const NOTE_LABELS = { 入户核查: '核查情况', 入户核实: '核实情况', 信息比对: '比对结果', 乡镇审核: '审核意见', 县级审定: '审定意见' };
const RECORD_LABELS = { note: '意见', minutes: '评议记录', objections: '公示异议情况', category: '监测对象类别',
  risk_types: '风险类型', contact_name: '监测联系人', contact_phone: '联系人手机', reason: '原因', notice_id: '公告编号' };

// ---- the queue ---------------------------------------------------------------

function queueParams(after) {
  const p = new URLSearchParams({ sort: 'due', limit: '50', mine: $('f-mine').value });
  if ($('f-kind').value) p.set('kind', $('f-kind').value);
  if ($('f-region').value) p.set('region', $('f-region').value);
  if (lightFilter) p.set('light', lightFilter);
  if (after) p.set('cursor', after);
  else p.set('count', '1');
  return p;
}

const columns = [
  ['红黄绿灯', (c) => light(c.light)],
  ['户编号', (c) => c.hh_no],
  ['户主', (c) => c.head_name],
  ['村', (c) => c.village_name],
  ['流程', (c) => c.kind],
  ['当前环节', (c) => c.step + '. ' + c.step_title + (c.can_act ? '' : '（' + c.step_role_title + '）')],
  ['环节期限', (c) => c.step_due || '不限'],
  ['操作', (c) => h('button', { type: 'button', class: 'small', 'aria-label': (c.can_act ? '办理 ' : '查看 ') + c.hh_no,
    onclick: () => openCase(c.id) }, c.can_act ? '办理' : '查看')],
];

async function load(reset) {
  more.disabled = true;
  if (reset) status.textContent = '正在查询…';
  try {
    const data = await api('GET', '/api/v1/cases?' + queueParams(reset ? null : cursor));
    if (reset) {
      listEl.textContent = '';
      tbody = null;
      const n = data.lights || {};
      for (const el of document.querySelectorAll('[data-count]')) {
        const k = el.dataset.count;
        el.textContent = (k === 'all' ? data.total : n[k]) ?? '';
      }
    }
    if (data.items.length) {
      if (!tbody) {
        const t = table(columns, [], '流程待办');
        tbody = t.tBodies[0];
        listEl.append(t);
      }
      appendRows(tbody, columns, data.items);
      for (const [i, c] of data.items.entries()) {
        const tr = tbody.rows[tbody.rows.length - data.items.length + i];
        tr.dataset.case = c.id;
        if (current && current.id === c.id) tr.classList.add('current');
      }
    }
    const shown = tbody ? tbody.rows.length : 0;
    status.className = 'status';
    status.textContent = shown ? '已显示 ' + shown + ' 件' + (data.next_cursor ? '，还有更多' : '') +
      '（按办理期限排序，最紧迫的在前）' : '没有符合条件的流程';
    cursor = data.next_cursor;
    more.hidden = !cursor;
    return true;
  } catch (e) {
    status.textContent = e.message;
    status.className = 'status msg error';
    return false;
  } finally {
    more.disabled = false;
  }
}

for (const b of document.querySelectorAll('#tabs button')) {
  b.addEventListener('click', () => {
    lightFilter = b.dataset.light;
    for (const x of document.querySelectorAll('#tabs button')) x.setAttribute('aria-pressed', String(x === b));
    load(true);
  });
}
$('filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load(true);
});
more.addEventListener('click', () => load(false));

// ---- one case -------------------------------------------------------------------

function recordText(rec) {
  const parts = [];
  for (const [k, v] of Object.entries(rec || {})) {
    if (v === '' || v == null) continue;
    parts.push((RECORD_LABELS[k] || k) + '：' + (Array.isArray(v) ? v.join('、') : v));
  }
  return parts.join('；');
}

function fact(dl, term, value) {
  dl.append(h('dt', null, term), h('dd', null, value));
}

async function openCase(id) {
  say(actMsg, '');
  try {
    const c = await api('GET', '/api/v1/cases/' + id);
    showCase(c);
    detail.hidden = false;
    detail.focus();
  } catch (e) {
    say($('page-msg'), e.message);
  }
}

function showCase(c) {
  current = c;
  for (const tr of tbody ? tbody.rows : []) tr.classList.toggle('current', Number(tr.dataset.case) === c.id);
  $('detail-title').textContent = (c.can_act ? '办理：' : '查看：') + c.head_name + '户（' + c.hh_no + '）';
  const dl = $('facts');
  dl.textContent = '';
  fact(dl, '流程', c.kind + '（编号 ' + c.id + '）');
  fact(dl, '村', c.village_name);
  fact(dl, '当前环节', c.state === 'active' ? c.step + '. ' + c.step_title + '（' + c.step_role_title + '办理）'
    : c.state === 'done' ? '已办结（' + c.closed_at + '）' : '不予通过（' + c.closed_at + '）');
  if (c.state === 'active') {
    fact(dl, '环节开始', c.step_started);
    fact(dl, '环节期限', c.step_due ? h('span', null, c.step_due, ' ', light(c.light)) : '不限');
    if (c.total_due) fact(dl, '全流程期限', h('span', null, c.total_due, ' ', light(c.total_light)));
  }
  const ol = $('events');
  ol.textContent = '';
  for (const e of c.events || []) {
    const rec = recordText(e.record);
    ol.append(h('li', null, h('b', null, e.on_date), ' ', e.step_title, ' · ', ACTIONS[e.action] || e.action,
      ' · ', e.login, rec ? h('div', { class: 'hint' }, rec) : null));
  }
  form.hidden = !c.can_act;
  if (c.can_act) setupForm(c);
}

$('act-close').addEventListener('click', () => {
  detail.hidden = true;
  const tr = current && tbody && [...tbody.rows].find((r) => Number(r.dataset.case) === current.id);
  if (tr) tr.querySelector('button').focus();
  current = null;
});

// ---- the decision form ------------------------------------------------------------

const FIELDS = {
  note: { input: $('a-note'), hint: $('a-note-hint') },
  minutes: { input: $('a-minutes'), hint: $('a-minutes-hint') },
  objections: { input: $('a-objections'), hint: $('a-objections-hint') },
  category: { input: $('a-category'), hint: $('a-category-hint') },
  risk_types: { input: $('a-risks'), hint: $('a-risks-hint') },
  contact_name: { input: $('a-contact'), hint: $('a-contact-hint') },
  contact_phone: { input: $('a-phone'), hint: $('a-phone-hint') },
  reason: { input: $('a-reason'), hint: $('a-reason-hint') },
};
for (const f of Object.values(FIELDS)) f.hint.dataset.text = f.hint.textContent;

function action() {
  return form.querySelector('input[name=action]:checked').value;
}

function riskValues() {
  return [...document.querySelectorAll('#a-risk-boxes input:checked')].map((x) => x.value);
}

function text(v, label) {
  const t = v.trim();
  if (!t) return '请填写' + label;
  if ([...t].length > 600) return label + '最多 600 字';
  return '';
}

// The server's rules for each field (src/monitor/case.c); '' when fine.
const RULES = {
  note: () => text($('a-note').value, $('a-note-label').textContent),
  minutes: () => text($('a-minutes').value, '评议记录'),
  objections: () => text($('a-objections').value, '公示异议情况'),
  category: () => ($('a-category').value ? '' : '请选择监测对象类别'),
  risk_types: () => {
    const n = riskValues().length;
    return n < 1 ? '请至少选择 1 项风险类型' : n > 5 ? '风险类型最多 5 项' : '';
  },
  contact_name: () => ($('a-contact').value.trim() ? '' : '请填写监测联系人'),
  contact_phone: () => (/^1\d{10}$/.test($('a-phone').value.trim()) ? '' : '联系人手机应为11位手机号'),
  reason: () => text($('a-reason').value, action() === 'reject' ? '不予通过的原因' : '退回原因'),
};

function mark(name, problem) {
  const f = FIELDS[name];
  f.input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  f.hint.classList.toggle('bad', !!problem);
  f.hint.textContent = problem || f.hint.dataset.text;
}

// The fields the current choice asks for.
function activeFields() {
  if (action() !== 'advance') return ['reason'];
  return (current && current.required) || [];
}

function check(name) {
  const problem = RULES[name]();
  mark(name, problem);
  return problem;
}

for (const [name, f] of Object.entries(FIELDS)) {
  const el = f.input;
  const again = () => {
    if (el.getAttribute('aria-invalid') !== 'true') return;
    // once every field is right, the "please correct" message goes
    if (!check(name) && actMsg.classList.contains('error') &&
        !activeFields().some((n) => FIELDS[n].input.getAttribute('aria-invalid') === 'true')) say(actMsg, '');
  };
  el.addEventListener('input', again);
  el.addEventListener('change', () => check(name));
  if (el.tagName !== 'FIELDSET') el.addEventListener('blur', () => { if (el.value) check(name); });
}

function showFields() {
  const adv = action() === 'advance';
  const req = activeFields();
  $('advance-fields').hidden = !adv;
  for (const el of document.querySelectorAll('#advance-fields [data-for]')) el.hidden = !req.includes(el.dataset.for);
  $('reason-field').hidden = adv;
  $('a-reason-label').textContent = action() === 'reject' ? '不予通过的原因' : '退回原因';
  $('act-submit').textContent = adv ? (current && current.step_title === '县级审定' ? '审定通过' : '审核通过')
    : action() === 'reject' ? '不予通过' : '退回上一环节';
  for (const name of Object.keys(FIELDS)) if (FIELDS[name].input.getAttribute('aria-invalid') === 'true') mark(name, '');
}

for (const r of form.querySelectorAll('input[name=action]')) r.addEventListener('change', showFields);

let formFor = null;
function setupForm(c) {
  if (formFor !== c.id) {
    // a new case: start from an empty form (a refused one keeps its values)
    form.reset();
    for (const name of Object.keys(FIELDS)) mark(name, '');
    formFor = c.id;
  }
  $('a-note-label').textContent = NOTE_LABELS[c.step_title] || '意见';
  $('advance-label').textContent = c.step_title === '县级审定' ? '审定通过' : '审核通过（进入下一环节）';
  const ret = form.querySelector('input[value=return]');
  ret.disabled = c.step === 1;
  if (ret.disabled && ret.checked) form.querySelector('input[value=advance]').checked = true;
  showFields();
}

function record() {
  const a = action();
  if (a !== 'advance') return { reason: $('a-reason').value.trim() };
  const r = {};
  for (const name of activeFields()) {
    if (name === 'risk_types') r.risk_types = riskValues();
    else r[name] = FIELDS[name].input.value.trim();
  }
  return r;
}

// Which field a server message is about, by the words in it.
const MESSAGE_FIELDS = [['类别', 'category'], ['风险类型', 'risk_types'], ['电话', 'contact_phone'],
  ['联系人', 'contact_name'], ['原因', 'reason'], ['公示期', 'objections']];

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!current) return;
  let first = null;
  for (const name of activeFields()) if (check(name) && !first) first = name;
  if (first) {
    say(actMsg, '请先改正标出的项目');
    const el = FIELDS[first].input;
    (el.tagName === 'FIELDSET' ? el.querySelector('input') : el).focus();
    return;
  }
  const a = action();
  const btn = $('act-submit');
  btn.disabled = true;
  say(actMsg, '');
  const who = current.head_name + '户（' + current.hh_no + '）';
  try {
    const c = await api('POST', '/api/v1/cases/' + current.id + '/' + a, record());
    formFor = null;
    const done = a === 'return' ? '已退回“' + c.step_title + '”环节'
      : a === 'reject' ? '已作出不予通过的决定'
        : c.state === 'done' ? '已审定通过，流程办结，待发布公告' : '已通过，进入“' + c.step_title + '”环节';
    showCase(c);
    say(actMsg, who + '：' + done, 'ok');
    await load(true);
  } catch (e) {
    say(actMsg, e.message);
    const hit = MESSAGE_FIELDS.find(([w, n]) => e.message.includes(w) && activeFields().includes(n));
    if (hit) mark(hit[1], e.message);
  } finally {
    btn.disabled = false;
  }
});

// ---- start ---------------------------------------------------------------------------

async function start() {
  if (!can(me, 'household.read')) {
    say($('page-msg'), '您的角色不能查看识别纳入、风险消除流程。', 'info');
    return;
  }
  try {
    codes = await api('GET', '/api/v1/monitor-codes');
  } catch (e) {
    // the final form then lacks its lists; the queue still works
  }
  for (const cat of codes.monitor_categories || []) $('a-category').append(h('option', { value: cat }, cat));
  for (const r of codes.risk_types || []) {
    $('a-risk-boxes').append(h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'risk', value: r }), r));
  }
  if (me.scope_code) {
    try {
      const reg = await api('GET', '/api/v1/regions/' + encodeURIComponent(pad12(shortCode(me.scope_code))));
      $('f-region').options[0].textContent = '全部（' + reg.name + '）';
      for (const ch of reg.children_list || []) $('f-region').append(h('option', { value: shortCode(ch.code) }, ch.name));
    } catch (e) {
      // the filter keeps "全部辖区"
    }
  }
  if (!['township_reviewer', 'county_approver'].includes(me.role)) $('f-mine').value = '0';
  const open = new URLSearchParams(location.search).get('case');
  if (await load(true)) $('content').hidden = false;
  if (open && /^\d+$/.test(open)) openCase(Number(open));
}

start();
