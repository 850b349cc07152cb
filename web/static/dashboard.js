// dashboard.js — the leaders' dashboard (领导驾驶舱) for a big screen: the
// aggregates of GET /api/v1/report/dashboard for one region drawn with
// ECharts (served by liubao from the npm package at /static/vendor/), KPI
// numbers on top, and drill-down county → township → village by clicking a
// bar of the distribution chart or choosing it under the chart (and back with the
// breadcrumbs, 返回上级 or the browser's back button).  Counts only: the API
// sends no personal data.
//
// CSP: ECharts draws on canvas and sets styles through the CSSOM, which
// style-src 'self' allows; its HTML tooltips would write style attributes,
// so every tooltip here uses renderMode 'richText' (drawn on the canvas).
import { ApiError, api, can, h, money, session } from './common.js';

const me = await session();
const echarts = window.echarts;
const msg = document.getElementById('page-msg');
const content = document.getElementById('content');
const REFRESH_MS = 5 * 60 * 1000;

const COLORS = {
  cat: ['#ff8a65', '#ffd54f', '#e57373'],
  eliminated: '#81c784',
  text: '#dfe8f5',
  muted: '#8ea3c0',
  line: '#2b4470',
};

const fmt = (n) => Number(n || 0).toLocaleString('zh-CN');
const yuan = (fen) => money(fen || 0); // common.js: "8,700 元", "8,700.50 元"

const charts = {};
let current = null; // the last answer shown
let timer = null;

function showError(text) {
  msg.textContent = text;
  msg.className = 'msg error';
  msg.hidden = false;
}

function regionParam() {
  const r = new URLSearchParams(location.search).get('region');
  return r && /^\d{2,12}$/.test(r) ? r : '';
}

function chart(id) {
  if (!charts[id]) {
    charts[id] = echarts.init(document.getElementById(id), 'dark', { renderer: 'canvas' });
    charts[id].on('click', (p) => onChartClick(id, p));
  }
  return charts[id];
}

// Options every chart shares: transparent background, richText tooltips.
function base(extra) {
  return {
    backgroundColor: 'transparent',
    textStyle: { fontFamily: '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif' },
    tooltip: { renderMode: 'richText', confine: true },
    animationDuration: 400,
    ...extra,
  };
}

function emptyTitle(text) {
  return { text, left: 'center', top: 'middle', textStyle: { color: COLORS.muted, fontSize: 16, fontWeight: 'normal' } };
}

// The x-axis of a per-sub-region chart: the children, or the region itself
// at the lowest level.
function places(d) {
  return d.subregions.length ? d.subregions.map((s) => s.name) : [d.region.name];
}

// A region name as an axis label: without the 村民委员会/居委会 suffix of
// the official village names (西城社区居委会 → 西城社区, 陈家坝村委会 →
// 陈家坝村); the tooltip keeps the full name.
export function shortName(name) {
  return name.replace(/(村民委员会|村委会)$/, '村').replace(/(居民委员会|居委会)$/, '').replace(/村村$/, '村');
}

// The category axis of a per-sub-region chart.
function placeAxis(names) {
  const many = names.length > 8;
  return {
    type: 'category', data: names,
    axisLabel: { interval: 0, rotate: many ? 40 : 0, fontSize: names.length > 20 ? 11 : 12, color: COLORS.text, formatter: shortName },
  };
}

function renderRegions(d) {
  const subs = d.subregions;
  const rows = subs.length ? subs : [{
    name: d.region.name,
    monitoring_by_category: d.categories.map((c) => c.monitoring),
    eliminated: d.kpi.eliminated,
  }];
  const series = d.categories.map((c, i) => ({
    name: c.name + '（未消除）', type: 'bar', stack: 'm', color: COLORS.cat[i], barMaxWidth: 36,
    emphasis: { focus: 'series' }, data: rows.map((s) => s.monitoring_by_category[i]),
  }));
  series.push({
    name: '已消除风险', type: 'bar', stack: 'm', color: COLORS.eliminated, barMaxWidth: 36,
    emphasis: { focus: 'series' }, data: rows.map((s) => s.eliminated),
  });
  const names = places(d);
  chart('chart-regions').setOption(base({
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, renderMode: 'richText', confine: true },
    legend: { top: 0, textStyle: { color: COLORS.text } },
    grid: { left: 56, right: 16, top: 44, bottom: 8, containLabel: true },
    xAxis: placeAxis(names),
    yAxis: { type: 'value', name: '户', minInterval: 1, axisLabel: { color: COLORS.text } },
    series,
  }), true);
}

function renderCategories(d) {
  // no label pointing at an empty slice
  const data = d.categories.map((c, i) => ({
    name: c.name, value: c.monitoring, itemStyle: { color: COLORS.cat[i] },
    label: { show: c.monitoring > 0 }, labelLine: { show: c.monitoring > 0 },
  }));
  const total = data.reduce((a, x) => a + x.value, 0);
  chart('chart-categories').setOption(base({
    title: total ? undefined : emptyTitle('暂无风险未消除的监测对象'),
    tooltip: { trigger: 'item', renderMode: 'richText', confine: true, formatter: '{b}：{c} 户（{d}%）' },
    legend: { bottom: 0, textStyle: { color: COLORS.text } },
    series: [{
      name: '监测对象类别', type: 'pie', radius: ['38%', '66%'], center: ['50%', '45%'],
      label: { color: COLORS.text, formatter: '{b}\n{c} 户' }, data,
    }],
  }), true);
}

// Risk types with at least one household still at risk, most frequent first.
export function riskRows(d) {
  return d.risk_types.filter((r) => r.monitoring > 0).sort((a, b) => b.monitoring - a.monitoring || a.code - b.code);
}

function renderRisks(d) {
  const rows = riskRows(d).reverse(); // the largest on top of a horizontal bar chart
  chart('chart-risks').setOption(base({
    title: rows.length ? undefined : emptyTitle('暂无风险类型数据'),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, renderMode: 'richText', confine: true },
    grid: { left: 110, right: 48, top: 12, bottom: 24 },
    xAxis: { type: 'value', name: '户', minInterval: 1, axisLabel: { color: COLORS.text } },
    yAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { color: COLORS.text } },
    series: [{ name: '风险未消除（户）', type: 'bar', color: '#4fc3f7', barMaxWidth: 22,
      label: { show: true, position: 'right', color: COLORS.text }, data: rows.map((r) => r.monitoring) }],
  }), true);
}

// Steps with at least one overdue case, in workflow order.
export function overdueSteps(d) {
  return d.cases.steps.map((s, i) => ({ ...s, index: i })).filter((s) => d.cases.overdue[s.index] > 0);
}

function renderOverdue(d) {
  const steps = overdueSteps(d);
  const subs = d.subregions;
  const names = places(d);
  const palette = ['#ef5350', '#ff7043', '#ffa726', '#ffca28', '#d4e157', '#9ccc65', '#26a69a', '#29b6f6', '#5c6bc0', '#ab47bc', '#ec407a'];
  chart('chart-overdue').setOption(base({
    title: steps.length ? undefined : emptyTitle('暂无逾期环节'),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, renderMode: 'richText', confine: true },
    legend: { top: 0, type: 'scroll', textStyle: { color: COLORS.text } },
    grid: { left: 48, right: 16, top: 44, bottom: 8, containLabel: true },
    xAxis: placeAxis(names),
    yAxis: { type: 'value', name: '件', minInterval: 1, axisLabel: { color: COLORS.text } },
    series: steps.map((s) => ({
      name: s.name, type: 'bar', stack: 'o', barMaxWidth: 36, color: palette[s.index % palette.length],
      data: subs.length ? subs.map((x) => x.overdue_by_step[s.index]) : [d.cases.overdue[s.index]],
    })),
  }), true);
}

// Measure categories with at least one measure, in code order.
export function measureRows(d) {
  return d.measures.filter((m) => m.measures > 0);
}

function renderMeasures(d) {
  const rows = measureRows(d);
  chart('chart-measures').setOption(base({
    title: rows.length ? undefined : emptyTitle('暂无帮扶措施'),
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' }, renderMode: 'richText', confine: true,
      formatter: (ps) => {
        const m = rows[ps[0].dataIndex];
        return m.name + '\n措施 ' + fmt(m.measures) + ' 项\n涉及 ' + fmt(m.households) + ' 户\n金额 ' + yuan(m.amount_fen);
      },
    },
    grid: { left: 40, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: rows.map((m) => m.name), axisLabel: { interval: 0, rotate: rows.length > 5 ? 30 : 0, color: COLORS.text } },
    yAxis: { type: 'value', name: '项', minInterval: 1, axisLabel: { color: COLORS.text } },
    series: [{ name: '帮扶措施（项）', type: 'bar', color: '#ba68c8', barMaxWidth: 30, data: rows.map((m) => m.measures) }],
  }), true);
}

function renderTrend(d) {
  const t = d.trend;
  const line = (name, data, color) => ({ name, type: 'line', symbolSize: 6, color, data });
  chart('chart-trend').setOption(base({
    tooltip: { trigger: 'axis', renderMode: 'richText', confine: true },
    legend: { top: 0, textStyle: { color: COLORS.text } },
    grid: { left: 56, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: t.months, axisLabel: { color: COLORS.text } },
    yAxis: { type: 'value', minInterval: 1, axisLabel: { color: COLORS.text } },
    series: [
      line('新识别监测对象（户）', t.new_monitored, '#ffb74d'),
      line('风险消除（户）', t.eliminated, COLORS.eliminated),
      line('新增风险线索（条）', t.alerts, '#4fc3f7'),
    ],
  }), true);
}

function setKpi(id, value, text) {
  const e = document.getElementById(id);
  e.dataset.value = String(value);
  e.textContent = text ?? fmt(value);
}

function renderKpis(d) {
  const k = d.kpi;
  setKpi('kpi-households', k.households);
  setKpi('kpi-monitored', k.monitored);
  document.getElementById('kpi-monitored-persons').textContent = fmt(k.monitored_persons) + ' 人';
  setKpi('kpi-monitoring', k.monitoring);
  document.getElementById('kpi-monitoring-persons').textContent = fmt(k.monitoring_persons) + ' 人';
  setKpi('kpi-eliminated', k.eliminated);
  setKpi('kpi-alerts-month', k.alerts_month);
  document.getElementById('kpi-alerts-open').textContent = '待核实线索 ' + fmt(k.alerts_open) + ' 条';
  setKpi('kpi-cases-overdue', k.cases_overdue);
  document.getElementById('kpi-cases-active').textContent = '办理中 ' + fmt(k.cases_active) + ' 件，临期 ' + fmt(k.cases_due_soon) + ' 件';
  setKpi('kpi-measures', k.measures);
  document.getElementById('kpi-measure-amount').textContent = '金额 ' + yuan(k.measure_amount_fen);
}

function renderHead(d) {
  document.getElementById('region-name').textContent = d.region.name;
  document.title = d.region.name + ' · 领导驾驶舱 · 六保';
  const crumbs = document.getElementById('crumbs');
  crumbs.textContent = '';
  d.path.forEach((p, i) => {
    const last = i === d.path.length - 1;
    crumbs.append(h('li', null, last
      ? h('span', { 'aria-current': 'page' }, p.name)
      : h('a', { href: '?region=' + encodeURIComponent(p.prefix), 'data-region': p.prefix, onclick: (ev) => { ev.preventDefault(); go(p.prefix); } }, p.name)));
  });
  const up = document.getElementById('up');
  up.hidden = !d.parent;
  up.dataset.region = d.parent ? d.parent.prefix : '';
  up.textContent = d.parent ? '返回上级（' + d.parent.name + '）' : '返回上级';
  document.getElementById('as-of').textContent = '数据统计于 ' + d.as_of + '（流程环节为实时），今天 ' + d.today;
  document.getElementById('t-level').textContent = d.children_level ? '按' + d.children_level : d.region.name;
  const select = document.getElementById('drill-select');
  select.textContent = '';
  select.append(h('option', { value: '' }, '选择' + (d.children_level || '下级区划') + '…'));
  for (const s of d.subregions) select.append(h('option', { value: s.prefix }, s.name));
  select.value = '';
  select.hidden = !d.subregions.length;
  document.getElementById('drill-label').hidden = !d.subregions.length;
  document.getElementById('drill-none').hidden = d.subregions.length > 0;
}

function render(d) {
  current = d;
  renderHead(d);
  renderKpis(d);
  content.hidden = false;
  msg.hidden = true;
  renderRegions(d);
  renderCategories(d);
  renderRisks(d);
  renderOverdue(d);
  renderMeasures(d);
  renderTrend(d);
  document.body.dataset.region = d.region.prefix;
  document.body.dataset.ready = d.region.prefix || 'all';
}

function onChartClick(id, p) {
  if (!current || !current.subregions.length) return;
  if ((id === 'chart-regions' || id === 'chart-overdue') && p.componentType === 'series') {
    const s = current.subregions[p.dataIndex];
    if (s) go(s.prefix);
  }
}

async function load(region, quiet) {
  const q = region ? '?region=' + encodeURIComponent(region) : '';
  try {
    const d = await api('GET', '/api/v1/report/dashboard' + q);
    render(d);
  } catch (e) {
    if (quiet && current) return; // keep the last figures on a failed refresh
    content.hidden = true;
    delete document.body.dataset.ready;
    showError(e instanceof ApiError ? e.message : String(e));
  }
}

// Show `region` and remember it in the address (so back works).
function go(region) {
  const url = region ? '?region=' + encodeURIComponent(region) : location.pathname;
  history.pushState({ region }, '', url);
  delete document.body.dataset.ready;
  load(region);
}

if (!can(me, 'stats.read')) {
  showError('您的角色不能查看统计汇总。');
} else if (!echarts) {
  showError('图表组件（ECharts）未随本程序编译，请运行 scripts/install-deps 后重新编译。');
} else {
  document.getElementById('up').addEventListener('click', (ev) => go(ev.currentTarget.dataset.region));
  document.getElementById('drill-select').addEventListener('change', (ev) => {
    if (ev.target.value) go(ev.target.value);
  });
  window.addEventListener('popstate', () => load(regionParam()));
  window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));
  await load(regionParam());
  timer = setInterval(() => load(current ? current.region.prefix : regionParam(), true), REFRESH_MS);
}
