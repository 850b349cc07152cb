// county.js — the 县级审定 page: totals of the workflow per township
// (GET /api/v1/case-totals), the approved households not yet announced
// grouped by township and kind (GET /api/v1/cases?state=done&noticed=0), the
// publication of a 公告 for those ticked (POST /api/v1/notices), and the
// published notices as printable documents (GET /api/v1/notices[/:id]).
import { api, can, h, num, pad12, regionName, say, session, table } from './common.js';

const me = await session();
const $ = (id) => document.getElementById(id);
const pageMsg = $('page-msg');
const pendingMsg = $('pending-msg');

// ---- totals ------------------------------------------------------------------------

const TOTAL_COLUMNS = [
  ['待村级办理', (t) => t.waiting.village],
  ['待乡镇审核', (t) => t.waiting.township],
  ['待县级审定', (t) => t.waiting.county],
  ['逾期（红灯）', (t) => t.red],
  ['本年纳入监测', (t) => t.identified],
  ['本年风险消除', (t) => t.eliminated],
  ['本年不予通过', (t) => t.rejected],
  ['待公告', (t) => t.to_notice],
  ['监测中（户）', (t) => t.monitoring],
];

async function loadTotals() {
  const d = await api('GET', '/api/v1/case-totals');
  const cols = [[d.level || '区域', (t) => t.name]].concat(
    TOTAL_COLUMNS.map(([title, f]) => [title, (t) => h('span', { class: 'num' }, num(f(t)))]));
  const t = table(cols, d.items, '按' + (d.level || '区域') + '汇总的流程情况');
  for (const td of t.querySelectorAll('tbody td:not(:first-child)')) td.classList.add('num');
  const foot = h('tfoot', null, h('tr', null, h('td', null, '合计'),
    TOTAL_COLUMNS.map(([title, f]) => h('td', { class: 'num', 'data-label': title }, num(f(d.total))))));
  t.append(foot);
  $('totals').textContent = '';
  $('totals').append(t);
  const s = $('stats');
  s.textContent = '';
  const stat = (label, v) => s.append(h('div', null, h('b', null, num(v)), label));
  stat('件待县级审定', d.total.waiting.county);
  stat('件逾期（红灯）', d.total.red);
  stat('户待公告', d.total.to_notice);
  stat('户 ' + d.year + ' 年纳入监测', d.total.identified);
  stat('户监测中', d.total.monitoring);
}

// ---- approved, not yet announced -----------------------------------------------------

// 监督电话 as the server accepts it (src/monitor/notice.c).
function phoneProblem(v) {
  if (!v) return '';
  return /^[0-9][0-9-]{6,19}$/.test(v) ? '' : '监督电话应为 7 到 20 位数字（可含“-”），如 0915-8421234';
}

async function loadPending() {
  const items = [];
  let cursor = null;
  do {
    const p = new URLSearchParams({ state: 'done', noticed: '0', limit: '500' });
    if (cursor) p.set('cursor', cursor);
    const d = await api('GET', '/api/v1/cases?' + p);
    items.push(...d.items);
    cursor = d.next_cursor;
  } while (cursor);
  const groups = new Map();
  for (const c of items) {
    const key = c.village_code.slice(0, 9) + '|' + c.kind;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  const box = $('pending');
  box.textContent = '';
  if (!groups.size) {
    box.append(h('p', { class: 'status' }, '没有待公告的户'));
    return;
  }
  let n = 0;
  for (const [key, cases] of [...groups].sort()) {
    const [town, kind] = key.split('|');
    box.append(await groupForm(++n, town, kind, cases));
  }
}

async function groupForm(n, town, kind, cases) {
  const tname = (await regionName(pad12(town))) || town;
  const title = h('h3', { id: 'g' + n + '-title' }, tname + ' · ' + kind + '（' + cases.length + ' 户）');
  const cols = [
    ['选择', (c) => h('input', { type: 'checkbox', checked: true, value: String(c.id),
      'aria-label': '公告 ' + c.head_name + '户（' + c.hh_no + '）' })],
    ['户编号', (c) => c.hh_no],
    ['户主', (c) => c.head_name],
    ['村', (c) => c.village_name],
    ['审定日期', (c) => c.closed_at],
  ];
  const t = table(cols, cases, tname + kind + '待公告的户');
  const phoneId = 'g' + n + '-phone';
  const phone = h('input', { id: phoneId, name: 'phone', type: 'tel', maxlength: 20, autocomplete: 'off',
    'aria-describedby': phoneId + '-hint' });
  const hint = h('p', { class: 'hint', id: phoneId + '-hint' }, '选填，印在公告上供群众反映问题，如 0915-8421234');
  hint.dataset.text = hint.textContent;
  const mark = () => {
    const p = phoneProblem(phone.value.trim());
    phone.setAttribute('aria-invalid', p ? 'true' : 'false');
    hint.classList.toggle('bad', !!p);
    hint.textContent = p || hint.dataset.text;
    return p;
  };
  phone.addEventListener('input', () => { if (phone.getAttribute('aria-invalid') === 'true') mark(); });
  phone.addEventListener('blur', mark);
  // only a 县级审定 publishes (the server checks it too)
  const btn = h('button', { type: 'submit', class: 'primary', disabled: me.role !== 'county_approver' }, '发布公告');
  const f = h('form', { class: 'card', 'aria-labelledby': title.id, novalidate: true }, title, t,
    h('div', { class: 'field' }, h('label', { for: phoneId }, '监督电话'), phone, hint),
    h('div', { class: 'actions' }, btn));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ids = [...t.querySelectorAll('input[type=checkbox]:checked')].map((x) => Number(x.value));
    if (mark()) {
      phone.focus();
      return;
    }
    if (!ids.length) {
      say(pendingMsg, '请至少勾选一户');
      return;
    }
    btn.disabled = true;
    say(pendingMsg, '');
    try {
      const body = { case_ids: ids };
      if (phone.value.trim()) body.phone = phone.value.trim();
      const notice = await api('POST', '/api/v1/notices', body);
      say(pendingMsg, '已发布：' + notice.title + '（' + notice.households + ' 户）', 'ok');
      await Promise.all([loadPending(), loadNotices(), loadTotals()]);
      showNotice(notice);
    } catch (e) {
      say(pendingMsg, e.message);
      if (/电话/.test(e.message)) {
        phone.setAttribute('aria-invalid', 'true');
        hint.classList.add('bad');
        hint.textContent = e.message;
      }
    } finally {
      btn.disabled = false;
    }
  });
  return f;
}

// ---- notices -------------------------------------------------------------------------

async function loadNotices() {
  const d = await api('GET', '/api/v1/notices?limit=100');
  const box = $('notices');
  box.textContent = '';
  if (!d.items.length) {
    box.append(h('p', { class: 'status' }, '还没有发布公告'));
    return;
  }
  box.append(table([
    ['标题', (x) => x.title],
    ['类型', (x) => x.kind],
    ['户数', (x) => num(x.households)],
    ['发布日期', (x) => x.published_on],
    ['发布人', (x) => x.published_by],
    ['操作', (x) => h('button', { type: 'button', class: 'small', 'aria-label': '查看 ' + x.title,
      onclick: () => openNotice(x.id) }, '查看')],
  ], d.items, '已发布的公告'));
}

async function openNotice(id) {
  try {
    showNotice(await api('GET', '/api/v1/notices/' + id));
  } catch (e) {
    say(pageMsg, e.message);
  }
}

function showNotice(n) {
  const identify = n.kind === '识别纳入';
  $('doc-title').textContent = n.title;
  $('doc-lead').textContent = '根据防止返贫动态监测和帮扶工作要求，经农户申请（或干部排查）、入户核实、村级民主评议、' +
    '村内公示、乡镇审核和县级审定，以下 ' + n.households + ' 户' +
    (identify ? '纳入防止返贫监测对象' : '标注为风险消除') + '，现予公告。';
  const cols = [
    ['序号', (x) => String(n.items.indexOf(x) + 1)],
    ['村', (x) => x.village_name],
    ['户主', (x) => x.head_name],
    ['身份证号', (x) => x.head_id_number],
    ['家庭人口', (x) => num(x.members)],
  ].concat(identify
    ? [['监测对象类别', (x) => x.category], ['风险类型', (x) => x.risk_types.join('、')]]
    : [['消除方式', (x) => x.elim_mode]]);
  $('doc-table').textContent = '';
  $('doc-table').append(table(cols, n.items, n.title));
  $('doc-phone').textContent = n.phone ? '如有异议，请向乡镇人民政府反映。监督电话：' + n.phone : '如有异议，请向乡镇人民政府反映。';
  $('doc-sign').textContent = n.township_name + '人民政府　' + n.published_on;
  $('doc-a4').href = '/api/v1/notices/' + n.id + '/print';
  $('notice-doc').hidden = false;
  $('notice-doc').focus();
}

$('doc-print').addEventListener('click', () => window.print());
$('doc-close').addEventListener('click', () => { $('notice-doc').hidden = true; });

// ---- start -----------------------------------------------------------------------------

if (!can(me, 'household.read')) {
  say(pageMsg, '您的角色不能查看识别纳入、风险消除流程。', 'info');
} else {
  try {
    await Promise.all([loadTotals(), loadPending(), loadNotices()]);
    $('content').hidden = false;
  } catch (e) {
    say(pageMsg, e.message);
  }
}
