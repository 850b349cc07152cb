// index.js — the home page: who is signed in (filled by common.js) and the
// household search over GET /api/v1/households (身份证号 arrive masked).
import { api, appendRows, can, h, say, session, table } from './common.js';

const me = await session();
const section = document.getElementById('search-section');
const form = document.getElementById('search');
const q = document.getElementById('q');
const status = document.getElementById('status');
const results = document.getElementById('results');
const more = document.getElementById('more');
let cursor = null;
let tbody = null;
let query = '';

const columns = [
  ['户编号', (x) => h('a', { href: '/v/households/' + encodeURIComponent(x.id) }, x.hh_no)],
  ['户主', (x) => x.head_name],
  ['身份证号', (x) => x.head_id_number],
  ['村', (x) => x.village_name],
  ['户类型', (x) => x.hh_type],
  ['人数', (x) => x.members],
];

if (!can(me, 'household.read')) {
  document.getElementById('no-access').hidden = false;
  document.getElementById('go-dashboard').hidden = !can(me, 'stats.read');
} else {
  section.hidden = false;
  search('');
}

async function search(text, after) {
  const params = new URLSearchParams({ limit: '20' });
  if (text) params.set('q', text);
  if (after) params.set('cursor', after);
  else params.set('count', '1');
  more.disabled = true;
  if (!after) status.textContent = '正在查询…';
  try {
    const data = await api('GET', '/api/v1/households?' + params);
    if (!after) {
      results.textContent = '';
      status.className = 'status';
      if (!data.items.length) {
        status.textContent = text ? '没有找到符合“' + text + '”的户' : '辖区内还没有户';
      } else {
        status.textContent = (text ? '“' + text + '”：' : '辖区内') + '共 ' + (data.total ?? data.items.length) + ' 户';
        const t = table(columns, data.items, '户籍查询结果');
        tbody = t.tBodies[0];
        results.append(t);
      }
    } else {
      appendRows(tbody, columns, data.items);
    }
    cursor = data.next_cursor;
    more.hidden = !cursor;
  } catch (e) {
    status.textContent = e.message;
    status.className = 'status msg error';
  } finally {
    more.disabled = false;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  query = q.value.trim();
  search(query);
});
more.addEventListener('click', () => search(query, cursor));
