// import.js — ledger import (CSV or Excel .xlsx): the file goes up as the body of POST
// /api/v1/imports (XMLHttpRequest, for its upload progress), the server
// checks it whole (and writes it unless only checking), and a large file
// is followed through GET /api/v1/imports/:id until it is done.  The
// per-row report comes back as a table of 行号 / 列 / 值 / 问题, and for an
// Excel file with bad rows a link to the workbook with those cells marked.
import { ApiError, api, can, csrf, h, loginUrl, num, say, session, table } from './common.js';

const me = await session();
const $ = (id) => document.getElementById(id);
const form = $('upload');
const file = $('u-file');
const fileHint = $('u-file-hint');
const msg = $('upload-msg');
const bar = $('progress');
const MAX_BYTES = 256 * 1024 * 1024; // the server's --max-upload default
fileHint.dataset.text = fileHint.textContent;

function fileProblem() {
  const f = file.files[0];
  if (!f) return '请选择要导入的 CSV 或 Excel 文件';
  if (!/\.(csv|xlsx)$/i.test(f.name)) return '请选择 .csv 或 .xlsx 文件（旧版 .xls 请在 Excel 中另存为 .xlsx）';
  if (!f.size) return '文件是空的';
  if (f.size > MAX_BYTES) return '文件超过 256 MB，请按乡镇分成几个文件导入';
  return '';
}

function checkFile() {
  const p = fileProblem();
  file.setAttribute('aria-invalid', p ? 'true' : 'false');
  fileHint.classList.toggle('bad', !!p);
  const f = file.files[0];
  fileHint.textContent = p || (f ? f.name + '（' + num(f.size) + ' 字节）' : fileHint.dataset.text);
  return p;
}
file.addEventListener('change', checkFile);

function setProgress(phase, percent) {
  $('progress-section').hidden = false;
  $('progress-phase').textContent = phase;
  $('progress-text').textContent = percent + '%';
  bar.value = percent;
}

// Send the file; resolves to {status, body} with the parsed JSON answer.
function upload(f, params) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1/imports?' + params);
    x.setRequestHeader('X-CSRF-Token', csrf());
    x.setRequestHeader('Content-Type', /\.xlsx$/i.test(f.name)
      ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv');
    x.setRequestHeader('Accept', 'application/json');
    x.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) setProgress('上传文件', Math.round(100 * e.loaded / e.total));
    });
    x.upload.addEventListener('load', () => setProgress('服务器处理：逐行校验', 0));
    x.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(x.responseText);
      } catch (e) {
        body = null;
      }
      resolve({ status: x.status, body });
    });
    x.addEventListener('error', () => reject(new ApiError(0, 'E_NETWORK', '网络连接失败，请检查网络后重试')));
    x.send(f);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Follow a job the server is still working on until it is finished.
async function follow(job) {
  while (job.status === 'running') {
    setProgress('服务器处理：' + job.phase, job.percent);
    await sleep(500);
    job = await api('GET', '/api/v1/imports/' + job.id);
  }
  return job;
}

function stat(label, v) {
  $('result-stats').append(h('div', null, h('b', null, num(v)), label));
}

function showResult(job) {
  const r = job.result;
  const rm = $('result-msg');
  $('result-stats').textContent = '';
  $('problems').textContent = '';
  if (job.status === 'failed') {
    say(rm, '导入失败，数据库未作修改：' + r.report, 'error');
  } else if (!r.accepted) {
    say(rm, '文件有 ' + num(r.bad_rows) + ' 行错误（共 ' + num(r.rows) + ' 行），数据库未作任何修改。' +
      '请按下表改正后重新导入，或勾选“跳过有错误的户”。', 'error');
  } else if (job.dry_run) {
    say(rm, '检查通过：' + num(r.rows) + ' 行' + (r.bad_rows ? '，其中 ' + num(r.bad_rows) + ' 行有错误的户将被跳过' : '没有错误') +
      '。确认无误后点“导入”。', 'ok');
  } else {
    say(rm, r.written ? '导入完成' + (r.bad_rows ? '（跳过有错误的 ' + num(r.bad_rows) + ' 行）' : '') + '。'
      : '导入完成：文件中的数据与系统中已有的一致，没有变化。', 'ok');
  }
  stat('行', r.rows);
  stat('行有错误', r.bad_rows);
  if (!job.dry_run && r.accepted) {
    stat('户新增', r.households_new);
    stat('户更新', r.households_changed);
    if (job.kind === 'members') {
      stat('人新增', r.members_new);
      stat('人更新', r.members_changed);
    }
    stat('行未变', r.unchanged);
  }
  stat('条警告', r.warnings);
  if (r.problems.length) {
    const rows = r.problems.slice().sort((a, b) => a.line - b.line || a.warning - b.warning);
    const t = table([
      ['行号', (p) => String(p.line)],
      ['列', (p) => p.column || '（整行）'],
      ['值', (p) => (p.value == null ? '' : h('code', null, p.value))],
      ['问题', (p) => p.message],
      ['类型', (p) => (p.warning ? '警告' : '错误')],
    ], rows, '逐行检查结果');
    for (const [i, p] of rows.entries()) if (!p.warning) t.tBodies[0].rows[i].classList.add('bad');
    $('problems').append(h('h3', null, '逐行检查结果'));
    if (r.annotated_url) {
      // an Excel upload: the user's own workbook with the bad cells on red
      $('problems').append(h('p', { class: 'annotated' },
        h('a', { href: r.annotated_url, download: '' }, '下载标注错误的工作簿'),
        '（您上传的 Excel 文件，有错误的单元格标红，最后一列写明问题；在 Excel 中改正后重新导入）'));
    }
    $('problems').append(t);
    if (r.problems_total > r.problems.length) {
      $('problems').append(h('p', { class: 'status' }, '另有 ' + num(r.problems_total - r.problems.length) + ' 条问题未列出，请先改正以上问题'));
    }
  }
  $('result-section').hidden = false;
  $('result-title').focus();
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const dry = (ev.submitter || $('check-btn')).dataset.dry === '1';
  if (checkFile()) {
    say(msg, fileProblem());
    file.focus();
    return;
  }
  const params = new URLSearchParams({ kind: $('u-kind').value, dry_run: dry ? '1' : '0' });
  if ($('u-skip').checked) params.set('skip_bad', '1');
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  say(msg, '');
  $('result-section').hidden = true;
  setProgress('上传文件', 0);
  try {
    const r = await upload(file.files[0], params);
    if (r.status === 401) {
      location.replace(loginUrl());
      return;
    }
    if (r.status >= 400 || !r.body) {
      const e = (r.body && r.body.error) || {};
      throw new ApiError(r.status, e.code, e.message || '服务器错误（' + r.status + '），请稍后重试');
    }
    const job = await follow(r.body);
    setProgress('完成', 100);
    showResult(job);
  } catch (e) {
    $('progress-section').hidden = true;
    say(msg, e.message);
  } finally {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
  }
});

if (!can(me, 'household.write')) {
  say($('page-msg'), '您的角色不能导入台账。', 'info');
} else {
  $('content').hidden = false;
}
