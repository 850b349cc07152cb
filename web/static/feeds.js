// feeds.js — department feeds (部门数据): choose the kind of list and its
// period, check or upload a CSV file (POST /api/v1/feeds/:id/batches, with an
// upload progress bar), show the per-row report as a table, the batch history
// (GET /api/v1/feed-batches) and the warnings pushed to villages
// (GET /api/v1/feed-hits).  The server decides; the page checks as you type.
import { ApiError, api, h, localTime, num, say, session, table } from './common.js';

const me = await session();
const $ = (id) => document.getElementById(id);
let feeds = [];
let batchCursor = null;

function feedOf(id) {
  return feeds.find((f) => f.id === id);
}

function describe() {
  const f = feedOf($('f-feed').value);
  $('f-feed-hint').textContent = f
    ? '报送部门：' + f.department + '；列：' + f.columns.map((c) => c.title + (c.required ? '（必填）' : '')).join('、')
    : '';
}

const ISSUE_COLUMNS = [
  ['行号', (i) => String(i.line)],
  ['类型', (i) => i.kind],
  ['身份证号', (i) => i.id_number],
  ['姓名', (i) => i.name],
  ['行数', (i) => String(i.rows)],
  ['问题', (i) => i.message],
];

function showReport(r, title) {
  $('report').hidden = false;
  $('report-title').textContent = title;
  $('report-summary').textContent = '共 ' + num(r.rows) + ' 行：无效 ' + num(r.bad_rows) + '，匹配 '
    + num(r.matched_rows) + '（' + num(r.persons) + ' 人），查无此人 ' + num(r.unmatched_rows)
    + '，姓名不一致 ' + num(r.mismatch_rows) + '，辖区外 ' + num(r.outside_rows)
    + (r.hits !== undefined ? '；命中规则 ' + num(r.hits) + ' 次' : '')
    + (r.total_issues > (r.issues || []).length ? '；问题共 ' + num(r.total_issues) + ' 条，下表列出前 ' + r.issues.length + ' 条' : '');
  $('report-issues').replaceChildren((r.issues || []).length
    ? table(ISSUE_COLUMNS, r.issues, '导入问题') : h('p', { class: 'msg info' }, '没有问题。'));
}

function validate() {
  const problems = [];
  if (!$('f-feed').value) problems.push('请选择数据类型');
  if (!/^\d{4}-\d{2}$/.test($('f-period').value)) problems.push('请选择数据所属期（年月）');
  const file = $('f-file').files[0];
  if (!file) problems.push('请选择要导入的 CSV 文件');
  else if (file.size > 256 * 1024 * 1024) problems.push('文件超过 256 MB，请分批导入');
  return problems;
}

// POST the file with XMLHttpRequest, which reports upload progress.
function send(dryRun) {
  const file = $('f-file').files[0];
  const q = new URLSearchParams({ period: $('f-period').value, file_name: file.name });
  if (dryRun) q.set('dry_run', '1');
  if ($('f-skip').checked) q.set('skip_bad', '1');
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1/feeds/' + encodeURIComponent($('f-feed').value) + '/batches?' + q);
    x.setRequestHeader('Content-Type', /\.xlsx$/i.test(file.name) ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv');
    x.setRequestHeader('X-CSRF-Token', me.csrf_token || '');
    x.setRequestHeader('Accept', 'application/json');
    const bar = $('f-progress');
    bar.hidden = false;
    bar.value = 0;
    x.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 90);
      $('f-status').textContent = bar.value < 90 ? '正在上传…' : '正在核对和匹配…';
    };
    x.onload = () => {
      bar.value = 100;
      let data = null;
      try {
        data = JSON.parse(x.responseText);
      } catch (e) {
        data = null;
      }
      if (x.status >= 200 && x.status < 300) resolve(data);
      else {
        const err = (data && data.error) || {};
        const e = new ApiError(x.status, err.code || 'E_HTTP', err.message || '服务器错误（' + x.status + '）');
        e.details = err.details;
        reject(e);
      }
    };
    x.onerror = () => reject(new ApiError(0, 'E_NETWORK', '网络连接失败，请检查网络后重试'));
    x.send(file);
  });
}

async function submit(dryRun) {
  const problems = validate();
  if (problems.length) {
    say($('f-status'), problems.join('；'));
    return;
  }
  say($('f-status'), dryRun ? '正在检查…' : '正在导入…', 'info');
  try {
    const r = await send(dryRun);
    showReport(r, dryRun ? '检查结果（未导入）' : '导入报告（批次 ' + r.batch_id + '）');
    say($('f-status'), dryRun ? '检查完成，未写入任何数据。' : '已导入，推送风险预警 ' + num(r.alerts) + ' 条。', 'ok');
    if (!dryRun) {
      loadBatches(true);
      loadHits();
    }
  } catch (e) {
    say($('f-status'), e.message);
    if (e.details && e.details.issues) showReport(e.details, '有误的行（未导入任何数据）');
  } finally {
    $('f-progress').hidden = true;
  }
}

const BATCH_COLUMNS = [
  ['批次', (b) => String(b.id)],
  ['数据类型', (b) => b.feed_title],
  ['所属期', (b) => b.period],
  ['导入时间', (b) => localTime(b.loaded_at)],
  ['导入人', (b) => b.login],
  ['行数', (b) => num(b.rows)],
  ['匹配', (b) => num(b.matched_rows)],
  ['查无此人', (b) => num(b.unmatched_rows)],
  ['预警', (b) => num(b.hits)],
  ['报告', (b) => h('button', { type: 'button', class: 'small', 'data-batch': b.id, 'aria-label': '查看批次 ' + b.id + ' 的报告' }, '查看')],
];

async function loadBatches(reset) {
  if (reset) batchCursor = null;
  const r = await api('GET', '/api/v1/feed-batches' + (batchCursor ? '?cursor=' + batchCursor : ''));
  const t = table(BATCH_COLUMNS, r.items, '导入批次');
  if (reset || !$('batches').firstChild) $('batches').replaceChildren(r.items.length ? t : h('p', { class: 'hint' }, '还没有导入批次。'));
  else $('batches').querySelector('tbody').append(...t.querySelector('tbody').children);
  batchCursor = r.next_cursor;
  $('batches-more').hidden = !batchCursor;
}

const HIT_COLUMNS = [
  ['灯', (x) => h('span', { class: 'light ' + x.light, title: { red: '逾期未核实', yellow: '待核实', green: '已核实' }[x.light] }, { red: '红', yellow: '黄', green: '绿' }[x.light])],
  ['数据', (x) => x.feed_title],
  ['村', (x) => x.village_name],
  ['户编号', (x) => x.hh_no],
  ['姓名', (x) => x.member_name],
  ['原因', (x) => x.explain],
  ['状态', (x) => x.state],
  ['核实期限', (x) => x.due_on],
];

// the pushed warnings of the chosen kind of list, newest first, 50 a page,
// filtered by their verification state or to the overdue ones
let hitsCursor = null;
async function loadHits(reset = true) {
  const q = new URLSearchParams({ limit: '50' });
  if ($('f-feed').value) q.set('feed', $('f-feed').value);
  if ($('h-state').value) q.set('state', $('h-state').value);
  if ($('h-overdue').checked) q.set('overdue', '1');
  if (!reset && hitsCursor) q.set('cursor', hitsCursor);
  say($('hits-status'), '');
  let r;
  try {
    r = await api('GET', '/api/v1/feed-hits?' + q);
  } catch (e) {
    say($('hits-status'), e.message);
    return;
  }
  const t = table(HIT_COLUMNS, r.items, '推送的风险预警');
  if (reset || !$('hits').querySelector('tbody')) {
    $('hits').replaceChildren(r.items.length ? t : h('p', { class: 'hint' },
      $('h-state').value || $('h-overdue').checked ? '没有符合条件的预警。' : '没有预警。'));
  } else {
    $('hits').querySelector('tbody').append(...t.querySelector('tbody').children);
  }
  hitsCursor = r.next_cursor;
  $('hits-more').hidden = !hitsCursor;
}

try {
  feeds = (await api('GET', '/api/v1/feeds')).items;
  const mine = feeds.filter((f) => !me.department || f.department === me.department || me.role === 'admin');
  for (const f of mine) $('f-feed').append(h('option', { value: f.id }, f.title));
  const now = new Date();
  now.setMonth(now.getMonth() - 1);
  $('f-period').value = now.toISOString().slice(0, 7);
  describe();
  $('content').hidden = false;
  await Promise.all([loadBatches(true), loadHits()]);
} catch (e) {
  say($('page-msg'), e.message);
}

$('f-feed').addEventListener('change', () => {
  describe();
  loadHits();
});
$('f-file').addEventListener('change', () => say($('f-status'), validate().filter((p) => p.includes('文件')).join('；')));
$('upload').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(false);
});
$('f-check').addEventListener('click', () => submit(true));
$('batches-more').addEventListener('click', () => loadBatches(false));
$('hits-more').addEventListener('click', () => loadHits(false));
$('h-state').addEventListener('change', () => loadHits());
$('h-overdue').addEventListener('change', () => loadHits());
$('hits-filter').addEventListener('submit', (e) => e.preventDefault());
$('batches').addEventListener('click', async (e) => {
  const id = e.target.getAttribute && e.target.getAttribute('data-batch');
  if (!id) return;
  try {
    const b = await api('GET', '/api/v1/feed-batches/' + id + '?limit=500');
    showReport(b, '批次 ' + id + ' 的报告');
    $('report').scrollIntoView();
  } catch (err) {
    say($('page-msg'), err.message);
  }
});
