// test_nav.mjs — the main menu is the same on every office page (web/*.html
// hold an empty <nav id="nav">; web/static/common.js NAV fills it by the
// user's permissions and role; the server-rendered /v/ pages have the same
// list in src/http/page.c): for an administrator, a county approver and an
// auditor, every page shows the same links in the same order, the expected
// ones for the role, with the page's own link marked as current.
import assert from 'node:assert/strict';
import { adminPage, login, newPage, test } from './lib.mjs';

const PAGES = ['/index.html', '/dashboard.html', '/feeds.html', '/review.html', '/county.html', '/import.html',
  '/rules.html', '/users.html', '/audit.html', '/password.html'];

const EXPECTED = {
  admin: ['工作台', '户籍查询', '领导驾驶舱', '部门数据', '台账导入', '规则与监测线', '用户管理', '审计日志', '修改密码'],
  'xian.shending': ['工作台', '户籍查询', '领导驾驶舱', '待办审核', '审定与公告', '修改密码'],
  shenji: ['户籍查询', '领导驾驶舱', '审计日志', '修改密码'],
};

async function menus(page) {
  const seen = [];
  for (const p of PAGES) {
    await page.goto(p);
    await page.locator('#nav a').first().waitFor();
    const links = await page.locator('#nav a').evaluateAll((as) =>
      as.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('aria-current') || '']));
    seen.push([p, new URL(page.url()).pathname, links]);
  }
  return seen;
}

for (const who of Object.keys(EXPECTED)) {
  test('the same menu on every office page for ' + who, async () => {
    let page;
    if (who === 'admin') {
      page = await adminPage();
    } else {
      page = await newPage();
      await login(page, who);
    }
    // the server-rendered pages (/v/…) show the same menu, with their search page
    if (who !== 'shenji') {
      await page.goto('/v/');
      const v = await page.locator('header.top nav a').allTextContents();
      const want = EXPECTED[who].slice();
      want.splice(1, 0, '查找农户');
      assert.deepEqual(v.map((t) => t.trim()), want, 'menu of /v/ for ' + who);
    }
    for (const [asked, shown, links] of await menus(page)) {
      assert.deepEqual(links.map((l) => l[0]), EXPECTED[who], 'menu of ' + asked + ' for ' + who);
      const current = links.filter((l) => l[2] === 'page').map((l) => l[1]);
      if (asked === shown && links.some((l) => l[1] === asked))
        assert.deepEqual(current, [asked], 'current page marked on ' + asked);
      else
        assert.ok(current.length <= 1, 'at most one current link on ' + shown);
    }
  });
}
