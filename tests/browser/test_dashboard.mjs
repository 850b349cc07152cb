// test_dashboard.mjs — browser tests of the leaders' dashboard
// (web/dashboard.html): the 领导 demo account opens it from the index, every
// chart is drawn (a canvas) with the figures of GET /api/v1/report/dashboard
// (read back from the KPI tiles and from each ECharts instance's option),
// drilling down county → township → village and back, and a township
// user's dashboard stays inside the township.  Screenshots at 1920×1080.
import assert from 'node:assert/strict';
import { keep, login, newPage, shoot, test, text } from './lib.mjs';

const CHARTS = ['chart-regions', 'chart-categories', 'chart-risks', 'chart-overdue', 'chart-measures', 'chart-trend'];
const fmt = (n) => Number(n).toLocaleString('zh-CN');

// The dashboard's answer for `region` ('' = the default), fetched by the page.
function apiData(page, region) {
  return page.evaluate(async (r) => {
    const res = await fetch('/api/v1/report/dashboard' + (r ? '?region=' + r : ''));
    return res.json();
  }, region);
}

// option() of every chart, reduced to what the test compares.
function chartOptions(page) {
  return page.evaluate((ids) => {
    const out = {};
    for (const id of ids) {
      const el = document.getElementById(id);
      const c = window.echarts.getInstanceByDom(el);
      const o = c.getOption();
      out[id] = {
        canvas: el.querySelectorAll('canvas').length,
        width: el.clientWidth,
        height: el.clientHeight,
        x: (o.xAxis && o.xAxis[0] && o.xAxis[0].data) || null,
        y: (o.yAxis && o.yAxis[0] && o.yAxis[0].data) || null,
        series: o.series.map((s) => ({ name: s.name, data: s.data.map((v) => (v && typeof v === 'object' ? [v.name, v.value] : v)) })),
      };
    }
    return out;
  }, CHARTS);
}

async function ready(page, region) {
  try {
    await page.locator(region ? `body[data-ready="${region}"]` : 'body[data-ready]').waitFor({ state: 'attached' });
  } catch (e) {
    const m = await page.locator('#page-msg').textContent().catch(() => '');
    throw new Error('the dashboard of ' + region + ' did not show (' + page.url() + '): ' + m + '\n' + e.message);
  }
}

// Every KPI tile and every chart shows what the API answered.
async function checkAgainstApi(page, d) {
  const k = d.kpi;
  const tiles = {
    'kpi-households': k.households, 'kpi-monitored': k.monitored, 'kpi-monitoring': k.monitoring,
    'kpi-eliminated': k.eliminated, 'kpi-alerts-month': k.alerts_month, 'kpi-cases-overdue': k.cases_overdue,
    'kpi-measures': k.measures,
  };
  for (const [id, v] of Object.entries(tiles)) {
    assert.equal(await page.locator('#' + id).getAttribute('data-value'), String(v), id);
    assert.equal(await text(page, '#' + id), fmt(v), id + ' as shown');
  }
  assert.equal(await text(page, '#kpi-monitoring-persons'), fmt(k.monitoring_persons) + ' 人');
  assert.equal(await text(page, '#kpi-alerts-open'), '待核实线索 ' + fmt(k.alerts_open) + ' 条');
  const o = await chartOptions(page);
  for (const id of CHARTS) {
    assert.ok(o[id].canvas >= 1, id + ' has a canvas');
    assert.ok(o[id].width > 200 && o[id].height > 150, id + ' has room: ' + o[id].width + '×' + o[id].height);
  }
  const subs = d.subregions;
  const names = subs.length ? subs.map((s) => s.name) : [d.region.name];
  // distribution: one stacked series per category (still at risk) plus 已消除
  assert.deepEqual(o['chart-regions'].x, names);
  assert.deepEqual(o['chart-regions'].series.map((s) => s.name),
    d.categories.map((c) => c.name + '（未消除）').concat('已消除风险'));
  if (subs.length) {
    d.categories.forEach((c, i) => assert.deepEqual(o['chart-regions'].series[i].data, subs.map((s) => s.monitoring_by_category[i])));
    assert.deepEqual(o['chart-regions'].series[3].data, subs.map((s) => s.eliminated));
    // the sub-regions add up to the region
    assert.equal(subs.reduce((a, s) => a + s.monitoring, 0), k.monitoring);
    assert.equal(subs.reduce((a, s) => a + s.households, 0), k.households);
  }
  assert.deepEqual(o['chart-categories'].series[0].data, d.categories.map((c) => [c.name, c.monitoring]));
  // the drill-down choice lists the sub-regions
  assert.deepEqual(await page.locator('#drill-select option').evaluateAll((os) => os.slice(1).map((x) => [x.value, x.textContent])),
    subs.map((s) => [s.prefix, s.name]));
  const risks = d.risk_types.filter((r) => r.monitoring > 0).sort((a, b) => b.monitoring - a.monitoring || a.code - b.code).reverse();
  assert.deepEqual(o['chart-risks'].y, risks.map((r) => r.name));
  assert.deepEqual(o['chart-risks'].series[0].data, risks.map((r) => r.monitoring));
  const steps = d.cases.steps.map((s, i) => ({ ...s, i })).filter((s) => d.cases.overdue[s.i] > 0);
  assert.deepEqual(o['chart-overdue'].x, names);
  assert.deepEqual(o['chart-overdue'].series.map((s) => s.name), steps.map((s) => s.name));
  steps.forEach((s, j) => assert.deepEqual(o['chart-overdue'].series[j].data,
    subs.length ? subs.map((x) => x.overdue_by_step[s.i]) : [d.cases.overdue[s.i]]));
  const measures = d.measures.filter((m) => m.measures > 0);
  assert.deepEqual(o['chart-measures'].x, measures.map((m) => m.name));
  assert.deepEqual(o['chart-measures'].series[0].data, measures.map((m) => m.measures));
  assert.equal(measures.reduce((a, m) => a + m.measures, 0), k.measures);
  assert.deepEqual(o['chart-trend'].x, d.trend.months);
  assert.deepEqual(o['chart-trend'].series.map((s) => s.data), [d.trend.new_monitored, d.trend.eliminated, d.trend.alerts]);
}

test('the leader opens the dashboard: charts drawn with the API figures, drill-down and back', async () => {
  const page = await newPage({ width: 1920, height: 1080 });
  await login(page, 'lingdao');
  assert.ok(await page.locator('#go-dashboard').isVisible(), 'a leader reads no households: the index points to the dashboard');
  await page.getByRole('link', { name: '领导驾驶舱' }).first().click();
  await page.waitForURL((u) => u.pathname === '/dashboard.html');
  await ready(page, '610926');
  const county = await apiData(page, '');
  assert.equal(county.region.name, '平利县');
  assert.equal(county.children_level, '乡镇');
  assert.ok(county.kpi.monitored > 0 && county.kpi.households === 200, JSON.stringify(county.kpi));
  assert.equal(await text(page, '#region-name'), '平利县');
  await checkAgainstApi(page, county);
  assert.equal(await page.locator('body').evaluate((b) => b.scrollHeight <= window.innerHeight), true,
    'the big screen shows everything without scrolling');
  assert.ok(await page.locator('#up').isHidden(), 'no way up from the scope');
  await page.waitForTimeout(500); // let the charts' entry animation finish
  keep(await shoot(page, 'dashboard-1920.png'));

  // drill down by clicking the bar of the township with most monitored households
  const subs = county.subregions;
  const i = subs.reduce((b, s, j) => (s.monitoring + s.eliminated > subs[b].monitoring + subs[b].eliminated ? j : b), 0);
  const town = subs[i];
  const [x, y] = await page.evaluate((idx) => {
    const el = document.getElementById('chart-regions');
    const c = window.echarts.getInstanceByDom(el);
    const p = c.convertToPixel({ seriesIndex: 3 }, [idx, 0]);
    const r = el.getBoundingClientRect();
    const top = c.convertToPixel({ seriesIndex: 3 }, [idx, c.getOption().series.reduce((a, s) => a + s.data[idx], 0)]);
    return [r.left + p[0], r.top + (p[1] + top[1]) / 2];
  }, i);
  await page.mouse.click(x, y);
  await ready(page, town.prefix);
  assert.equal(new URL(page.url()).searchParams.get('region'), town.prefix);
  const td = await apiData(page, town.prefix);
  assert.equal(td.region.name, town.name);
  assert.equal(td.children_level, '村（社区）');
  assert.equal(td.kpi.monitoring, town.monitoring, 'the township total is its bar in the county chart');
  assert.equal(td.kpi.households, town.households);
  assert.deepEqual(td.path.map((p) => p.name), ['平利县', town.name]);
  await checkAgainstApi(page, td);
  assert.equal(await text(page, '#region-name'), town.name);
  assert.match(await text(page, '#crumbs'), new RegExp('平利县.*' + town.name));
  keep(await shoot(page, 'dashboard-township-1920.png'));

  // one level further with the drill-down choice: a village has no children
  const village = td.subregions.find((s) => s.monitoring + s.eliminated > 0) || td.subregions[0];
  await page.getByLabel('下钻到').selectOption(village.prefix);
  await ready(page, village.prefix);
  const vd = await apiData(page, village.prefix);
  assert.equal(vd.subregions.length, 0);
  assert.equal(vd.children_level, null);
  await checkAgainstApi(page, vd);
  assert.ok(await page.locator('#drill-none').isVisible(), '已是最低一级区划');
  assert.ok(await page.locator('#drill-select').isHidden());

  // back up: 返回上级 to the township, the browser's back button to the county
  await page.getByRole('button', { name: /返回上级/ }).click();
  await ready(page, town.prefix);
  for (const r of [village.prefix, town.prefix, '610926']) {
    await page.goBack();
    await ready(page, r);
  }
  assert.equal(await page.locator('#kpi-monitoring').getAttribute('data-value'), String(county.kpi.monitoring));
  // the breadcrumb leads back too
  await page.getByLabel('下钻到').selectOption(town.prefix);
  await ready(page, town.prefix);
  await page.locator('#crumbs a', { hasText: '平利县' }).click();
  await ready(page, '610926');
});

test('the dashboard of a township reviewer covers the township only; another township by hand is 找不到', async () => {
  const page = await newPage({ width: 1920, height: 1080 });
  await login(page, 'laoxian.shenhe');
  await page.goto('/dashboard.html');
  await ready(page, '610926102');
  const d = await apiData(page, '');
  assert.equal(d.region.name, '老县镇');
  assert.deepEqual(d.path.map((p) => p.prefix), ['610926102']);
  await checkAgainstApi(page, d);
  await page.goto('/dashboard.html?region=610926100');
  await page.locator('#page-msg', { hasText: '找不到该区划（或不在您的管辖范围内）' }).waitFor();
  assert.ok(await page.locator('#content').isHidden());
  await page.goto('/dashboard.html?region=610926');
  await page.locator('#page-msg', { hasText: '找不到该区划' }).waitFor();
});
