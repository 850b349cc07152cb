// rules.js — the administrator's rules and monitoring lines.  Rules: the
// list (latest versions), a form that saves a change as a new version (PUT
// /api/v1/rules/:id) or a new rule (POST /api/v1/rules), and, while the
// expression is typed, a preview of how many households it would hit in
// the administrator's scope (POST /api/v1/rules/preview, nothing saved)
// beside what the saved version hits — saving always shows the preview
// first.  Monitoring lines: list, add, change, delete (/api/v1/monitor-lines),
// amounts typed and shown in 元.
import { api, h, localTime, money, num, say, session, table, yuanToFen } from './common.js';

const me = await session();
const $ = (id) => document.getElementById(id);
const rulesMsg = $('rules-msg');
const ruleMsg = $('rule-msg');
const thisYear = new Date().getFullYear();
let rules = [];
let editing = null; // the rule being changed (latest version), or null for a new rule
let baseline = null; // preview of the saved expression: {households, hits}
let lastPreview = null; // {key, households, hits} for the text last previewed
let previewSeq = 0;

// ---- small form helpers --------------------------------------------------------------

function field(id) {
  const input = $(id);
  const hint = $(id + '-hint');
  hint.dataset.text = hint.textContent;
  return { input, hint };
}

function mark(f, problem, text) {
  f.input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  f.hint.classList.toggle('bad', !!problem);
  f.hint.textContent = problem || text || f.hint.dataset.text;
}

function bytes(s) {
  return new TextEncoder().encode(s).length;
}

// ---- rules -------------------------------------------------------------------------------

const RF = {
  id: field('r-id'), title: field('r-title'), valid_from: field('r-from'), expression: field('r-expr'),
};
// The server's checks (src/monitor/screen.c rule_input_read); it still decides.
const RULE_CHECKS = {
  id: (v) => (/^[A-Z0-9_]{1,12}$/.test(v) ? '' : '规则编号应为大写字母、数字组成（最多12位）'),
  title: (v) => (!v ? '请填写规则名称' : bytes(v) >= 256 ? '规则名称太长' : ''),
  valid_from: (v) => (/^\d{4}$/.test(v) && v >= 2015 && v <= 2100 ? '' : '起用年度应为 2015 到 2100 之间的年份'),
  expression: (v) => (!v ? '请填写规则表达式' : bytes(v) >= 4096 ? '规则表达式太长' : ''),
};

function ruleCheck(name) {
  const p = RULE_CHECKS[name](RF[name].input.value.trim());
  mark(RF[name], p);
  return p;
}

for (const name of Object.keys(RF)) {
  const f = RF[name];
  f.input.addEventListener('input', () => {
    if (f.input.getAttribute('aria-invalid') === 'true') ruleCheck(name);
  });
  f.input.addEventListener('blur', () => ruleCheck(name));
}

const KIND = { risk: '风险预警', check: '数据核查' };

async function loadRules() {
  const d = await api('GET', '/api/v1/rules');
  rules = d.items;
  const box = $('rules-list');
  box.textContent = '';
  box.append(table([
    ['编号', (r) => r.id],
    ['名称', (r) => r.title],
    ['类型', (r) => KIND[r.kind] || r.kind],
    ['级别', (r) => r.severity],
    ['风险类型', (r) => r.risk_type || ''],
    ['对象', (r) => (r.scope === 'member' ? '家庭成员' : '户')],
    ['版本', (r) => '第 ' + r.version + ' 版'],
    ['状态', (r) => (r.enabled ? '启用' : '停用')],
    ['操作', (r) => h('button', { type: 'button', class: 'small', 'aria-label': '修改规则 ' + r.id,
      onclick: () => startEdit(r.id) }, '修改')],
  ], rules, '监测规则'));
  for (const [i, r] of rules.entries()) box.querySelector('tbody').rows[i].dataset.rule = r.id;
}

function ruleBody() {
  const risk = $('r-risk').value;
  return {
    title: RF.title.input.value.trim(),
    kind: $('r-kind').value,
    severity: $('r-severity').value,
    risk_type: risk || null,
    scope: $('r-scope').value,
    expression: RF.expression.input.value.trim(),
    enabled: $('r-enabled').checked,
    valid_from: Number(RF.valid_from.input.value.trim()),
  };
}

function fillRule(r) {
  RF.id.input.value = r ? r.id : '';
  RF.id.input.disabled = !!r;
  RF.title.input.value = r ? r.title : '';
  $('r-kind').value = r ? r.kind : 'risk';
  $('r-severity').value = r ? r.severity : '中';
  $('r-risk').value = (r && r.risk_type) || '';
  $('r-scope').value = r ? r.scope : 'household';
  RF.expression.input.value = r ? r.expression : '';
  $('r-enabled').checked = r ? r.enabled : true;
  RF.valid_from.input.value = r ? r.valid_from : String(thisYear);
  for (const f of Object.values(RF)) mark(f, '');
}

async function startEdit(id) {
  editing = rules.find((r) => r.id === id) || null;
  fillRule(editing);
  say(ruleMsg, '');
  $('edit-title').textContent = editing ? '修改规则 ' + editing.id + '（现为第 ' + editing.version + ' 版）' : '新增规则';
  $('rule-save').textContent = editing ? '保存为第 ' + (editing.version + 1) + ' 版' : '保存新规则';
  $('edit-section').hidden = false;
  $('edit-title').focus();
  baseline = null;
  lastPreview = null;
  $('preview-text').textContent = '正在计算现行版本的命中户数…';
  $('preview-sample').textContent = '';
  if (editing) {
    try {
      baseline = await previewOf(editing.expression, editing.scope);
    } catch (e) {
      baseline = null;
    }
    await showVersions(editing.id);
  } else {
    $('versions').textContent = '';
  }
  showPreview(lastPreview);
}

$('new-rule').addEventListener('click', () => startEdit(null));
$('rule-cancel').addEventListener('click', () => {
  $('edit-section').hidden = true;
  editing = null;
});

async function showVersions(id) {
  const d = await api('GET', '/api/v1/rules/' + encodeURIComponent(id));
  const box = $('versions');
  box.textContent = '';
  box.append(h('h3', null, '规则 ' + id + ' 的各版本'), table([
    ['版本', (v) => '第 ' + v.version + ' 版'],
    ['名称', (v) => v.title],
    ['表达式', (v) => h('code', null, v.expression)],
    ['状态', (v) => (v.enabled ? '启用' : '停用')],
    ['保存时间', (v) => localTime(v.created_at)],
    ['保存人', (v) => v.created_by],
  ], d.versions, '规则 ' + id + ' 的各版本'));
}

function previewYear() {
  const y = $('r-year').value.trim();
  return /^\d{4}$/.test(y) ? Number(y) : thisYear;
}

function previewKey(expr, scope) {
  return scope + '|' + previewYear() + '|' + expr;
}

async function previewOf(expr, scope) {
  const d = await api('POST', '/api/v1/rules/preview', { expression: expr, scope, year: previewYear() });
  return { key: previewKey(expr, scope), households: d.households, hits: d.hits, sample: d.sample, year: d.year };
}

function showPreview(p) {
  const text = $('preview-text');
  const base = baseline ? '现行第 ' + editing.version + ' 版命中 ' + num(baseline.households) + ' 户' : '';
  $('preview-sample').textContent = '';
  if (!p) {
    text.textContent = base ? base + '；修改表达式后这里显示将命中的户数（不保存）。' : '输入表达式后这里显示将命中的户数（不保存）。';
    return;
  }
  text.textContent = '';
  text.append('按 ' + p.year + ' 年数据，该表达式将命中 ', h('b', { id: 'preview-count' }, num(p.households)), ' 户',
    p.hits !== p.households ? '（' + num(p.hits) + ' 名家庭成员）' : '', base ? '；' + base : '',
    baseline ? '（' + (p.households >= baseline.households ? '增加 ' : '减少 ') +
      num(Math.abs(p.households - baseline.households)) + ' 户）' : '', '。');
  for (const s of (p.sample || []).slice(0, 5)) {
    $('preview-sample').append(h('li', null, '户 ' + s.household_id + '：' + s.explain));
  }
}

// Preview the expression as it stands; marks a syntax error on the field.
async function preview() {
  const expr = RF.expression.input.value.trim();
  const scope = $('r-scope').value;
  if (ruleCheck('expression')) return null;
  const key = previewKey(expr, scope);
  if (lastPreview && lastPreview.key === key) return lastPreview;
  const seq = ++previewSeq;
  $('preview-text').textContent = '正在计算命中户数…';
  try {
    const p = await previewOf(expr, scope);
    if (seq !== previewSeq) return null;
    lastPreview = p;
    mark(RF.expression, '');
    showPreview(p);
    return p;
  } catch (e) {
    if (seq !== previewSeq) return null;
    lastPreview = null;
    mark(RF.expression, e.message);
    $('preview-text').textContent = '表达式有误，无法预览：' + e.message;
    return null;
  }
}

let timer = null;
function previewSoon() {
  clearTimeout(timer);
  timer = setTimeout(preview, 600);
}
RF.expression.input.addEventListener('input', previewSoon);
$('r-scope').addEventListener('change', previewSoon);
$('r-year').addEventListener('change', previewSoon);
$('preview-btn').addEventListener('click', preview);

$('rule-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const names = editing ? ['title', 'valid_from', 'expression'] : ['id', 'title', 'valid_from', 'expression'];
  let first = null;
  for (const n of names) if (ruleCheck(n) && !first) first = RF[n];
  if (first) {
    say(ruleMsg, '请先改正标出的项目');
    first.input.focus();
    return;
  }
  clearTimeout(timer);
  const p = await preview();
  if (!p) {
    say(ruleMsg, '表达式有误，请先改正');
    RF.expression.input.focus();
    return;
  }
  const what = editing ? '保存为规则 ' + editing.id + ' 的第 ' + (editing.version + 1) + ' 版' : '新增规则 ' + RF.id.input.value.trim();
  if (!confirm('按 ' + p.year + ' 年数据将命中 ' + num(p.households) + ' 户。确定' + what + '吗？')) return;
  const btn = $('rule-save');
  btn.disabled = true;
  say(ruleMsg, '');
  try {
    const body = ruleBody();
    let d;
    if (editing) {
      d = await api('PUT', '/api/v1/rules/' + encodeURIComponent(editing.id), body);
    } else {
      body.id = RF.id.input.value.trim();
      d = await api('POST', '/api/v1/rules', body);
    }
    const v = d.versions[0];
    await loadRules();
    say(rulesMsg, '已保存规则 ' + v.id + ' 第 ' + v.version + ' 版（预览命中 ' + num(p.households) + ' 户）', 'ok');
    $('edit-section').hidden = true;
    editing = null;
    const tr = document.querySelector('#rules-list tr[data-rule="' + v.id + '"]');
    if (tr) {
      tr.classList.add('new');
      tr.querySelector('button').focus();
    }
  } catch (e) {
    say(ruleMsg, e.message);
    if (e.code === 'E_RULE_SYNTAX') mark(RF.expression, e.message);
    else if (/编号/.test(e.message)) mark(RF.id, e.message);
  } finally {
    btn.disabled = false;
  }
});

// ---- monitoring lines ---------------------------------------------------------------------

const LF = {
  year: field('l-year'), region: field('l-region'), amount: field('l-amount'), basis: field('l-basis'),
  source: field('l-source'),
};
// The server's checks (src/monitor/ledger_api.c); it still decides.
const LINE_CHECKS = {
  year: (v) => (/^\d{4}$/.test(v) && v >= 2000 && v <= 2100 ? '' : '年度应为 2000 到 2100 之间的年份'),
  region: (v) => (v === '' || /^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$/.test(v) ? '' : '区划代码应为空（全国）或 2、4、6、9 位数字'),
  amount: (v) => {
    const f = yuanToFen(v);
    if (v === '') return '请填写监测线金额';
    if (Number.isNaN(f)) return '金额应为数字，最多两位小数，如 7,300 或 7300.50';
    if (f < 1 || f > 100000000) return '金额应在 0.01 元到 1,000,000 元之间';
    return '';
  },
  basis: (v) => (bytes(v) > 200 ? '依据最多约 60 个汉字' : ''),
  source: (v) => (bytes(v) > 200 ? '来源文件最多约 60 个汉字' : ''),
};
let editingLine = null;

function lineCheck(name) {
  const v = LF[name].input.value.trim();
  const p = LINE_CHECKS[name](v);
  let ok = '';
  if (!p && name === 'amount' && v) ok = '即 ' + money(yuanToFen(v)) + '/人·年';
  mark(LF[name], p, ok);
  return p;
}

for (const name of Object.keys(LF)) {
  const f = LF[name];
  f.input.addEventListener('input', () => {
    if (f.input.getAttribute('aria-invalid') === 'true' || name === 'amount') lineCheck(name);
  });
  f.input.addEventListener('blur', () => lineCheck(name));
}

async function loadLines() {
  const d = await api('GET', '/api/v1/monitor-lines');
  const box = $('lines');
  box.textContent = '';
  if (!d.items.length) {
    box.append(h('p', { class: 'status' }, '还没有设置监测线'));
    return;
  }
  const t = table([
    ['年度', (l) => String(l.year)],
    ['区划', (l) => l.region_name + (l.region ? '（' + l.region + '）' : '')],
    ['监测线', (l) => h('span', { class: 'num' }, money(l.amount))],
    ['依据', (l) => l.basis],
    ['来源文件', (l) => l.source],
    ['假定数据', (l) => (l.assumed ? '是（待核实）' : '否')],
    ['操作', (l) => h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'small', 'aria-label': '修改 ' + l.year + ' 年' + l.region_name + '监测线',
        onclick: () => editLine(l) }, '修改'),
      h('button', { type: 'button', class: 'small', 'aria-label': '删除 ' + l.year + ' 年' + l.region_name + '监测线',
        onclick: () => deleteLine(l) }, '删除'))],
  ], d.items, '监测线');
  for (const [i, l] of d.items.entries()) t.tBodies[0].rows[i].dataset.line = l.id;
  box.append(t);
}

function editLine(l) {
  editingLine = l;
  LF.year.input.value = l.year;
  LF.region.input.value = l.region;
  LF.amount.input.value = (l.amount / 100).toLocaleString('zh-CN', { maximumFractionDigits: 2 });
  LF.basis.input.value = l.basis;
  LF.source.input.value = l.source;
  $('l-assumed').checked = l.assumed;
  for (const f of Object.values(LF)) mark(f, '');
  $('line-form-title').textContent = '修改 ' + l.year + ' 年' + l.region_name + '监测线';
  $('line-cancel').hidden = false;
  say($('line-msg'), '');
  LF.amount.input.focus();
}

function stopLineEdit() {
  editingLine = null;
  $('line-form').reset();
  for (const f of Object.values(LF)) mark(f, '');
  $('line-form-title').textContent = '新增监测线';
  $('line-cancel').hidden = true;
}
$('line-cancel').addEventListener('click', stopLineEdit);

async function deleteLine(l) {
  if (!confirm('确定删除 ' + l.year + ' 年' + l.region_name + '的监测线（' + money(l.amount) + '）吗？')) return;
  try {
    await api('DELETE', '/api/v1/monitor-lines/' + l.id);
    say($('lines-msg'), '已删除 ' + l.year + ' 年' + l.region_name + '的监测线', 'ok');
    await loadLines();
  } catch (e) {
    say($('lines-msg'), e.message);
  }
}

const LINE_FIELD_WORDS = [['年度', 'year'], ['region', 'region'], ['区划', 'region'], ['金额', 'amount'],
  ['监测线', 'year'], ['依据', 'basis'], ['来源', 'source']];

$('line-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  let first = null;
  for (const n of Object.keys(LF)) if (lineCheck(n) && !first) first = LF[n];
  if (first) {
    say($('line-msg'), '请先改正标出的项目');
    first.input.focus();
    return;
  }
  const body = {
    year: Number(LF.year.input.value.trim()),
    region: LF.region.input.value.trim(),
    amount: yuanToFen(LF.amount.input.value.trim()),
    basis: LF.basis.input.value.trim(),
    source: LF.source.input.value.trim(),
    assumed: $('l-assumed').checked,
  };
  const btn = $('line-save');
  btn.disabled = true;
  try {
    const l = editingLine ? await api('PUT', '/api/v1/monitor-lines/' + editingLine.id, body)
      : await api('POST', '/api/v1/monitor-lines', body);
    say($('lines-msg'), '已保存 ' + l.year + ' 年' + l.region_name + '监测线：' + money(l.amount), 'ok');
    say($('line-msg'), '');
    stopLineEdit();
    await loadLines();
  } catch (e) {
    say($('line-msg'), e.message);
    const hit = LINE_FIELD_WORDS.find(([w]) => e.message.includes(w));
    if (hit && e.code !== 'E_DUPLICATE_LINE') mark(LF[hit[1]], e.message);
  } finally {
    btn.disabled = false;
  }
});

// ---- start ----------------------------------------------------------------------------------

async function start() {
  if (!me.permissions.includes('monitor.config')) {
    say($('page-msg'), '只有系统管理员可以维护监测规则和监测线。', 'info');
    return;
  }
  $('r-year').value = String(thisYear);
  try {
    const codes = await api('GET', '/api/v1/monitor-codes');
    for (const r of codes.risk_types || []) $('r-risk').append(h('option', { value: r }, r));
    await Promise.all([loadRules(), loadLines()]);
    $('content').hidden = false;
  } catch (e) {
    say($('page-msg'), e.message);
  }
}

start();
