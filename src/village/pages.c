/* pages.c — the village cadre's pages (see village.h).  Routes:
 *
 *   GET  /v/                          工作台: search box and the task list
 *   GET  /v/search?q=&after=          households found (20 a page)
 *   GET  /v/households/:id            the household: facts, members,
 *                                     monitoring status and timeline
 *                                     (?show=full: full 身份证号, audited)
 *   GET  /v/households/:id/visit      走访 form; POST records it
 *   GET  /v/households/:id/report     风险报告 (农户自主申报) form; POST files it
 *   GET  /v/households/:id/feed-hits/:hit
 *                                     核实反馈 of a department warning (部门数据预警)
 *                                     form; POST stores the village's answer
 *
 * Forms post back to their own URL; on success the answer is 303 to the
 * household page (Post/Redirect/Get), otherwise the form again with what was
 * typed and a Chinese message next to the field at fault (422).  The same
 * rules run in the browser (web/static/village.js) as the user types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/csv.h"
#include "base/html.h"
#include "base/util.h"
#include "http/page.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/registry.h"
#include "screen/screen.h"
#include "village/village.h"

#define SEARCH_PAGE 20
#define COUNT_CAP 1000 /* households counted at most ("1,000 户以上") */
#define TASKS_SHOWN 100

static const char *const scripts[] = { "/static/village.js", NULL };

static const char *scope_of(struct http_request *req)
{
	return req->principal->scope;
}

/* The household named by the path, within scope; answers the 404 page and
 * returns 0 when it does not exist or lies outside the caller's scope. */
static int household_scoped(struct http_request *req, struct http_response *res,
			    struct household_rec *h)
{
	int64_t id;
	int rc = -2;
	if (req->nr_path_params >= 1 && !parse_int64(req->path_params[0], &id) && id > 0)
		rc = registry_household_load_scoped(req->db, id, scope_of(req), h);
	if (rc == -1) {
		page_error(req, res, 503, "数据库暂时不可用，请稍后重试");
		return 0;
	}
	if (rc != 1) {
		page_error(req, res, 404, "找不到该户（或不在您的管辖范围内）。请从“查找农户”重新查找。");
		return 0;
	}
	return 1;
}

/* The name of the household's 户主, or "" (the first member with relation 户主). */
static void head_name(struct db *db, int64_t hh, char out[64])
{
	struct db_stmt *st = db_prepare(db, "SELECT name FROM member WHERE household_id = :h AND "
					    "relation = 1 ORDER BY id LIMIT 1");
	out[0] = '\0';
	db_bind_int(st, ":h", hh);
	if (db_step(st) == DB_ROW)
		snprintf(out, 64, "%s", db_col_text(st, 0));
	db_done(st);
}

static const char *light_title(const char *light)
{
	return !strcmp(light, "red") ? "超期" : !strcmp(light, "yellow") ? "临期" : "正常";
}

/* The search form (on the 工作台 and the search page). */
static void search_form(struct buf *b, const char *q)
{
	html_addf(b, "<form role=\"search\" action=\"/v/search\" method=\"get\" class=\"search\">\n"
		     "<label for=\"q\">查找农户</label>\n<div class=\"row\"><input id=\"q\" name=\"q\" "
		     "type=\"search\" value=\"%a\" maxlength=\"64\" autocomplete=\"off\" "
		     "aria-describedby=\"q-hint\"><button type=\"submit\" class=\"primary\">查找"
		     "</button></div>\n<p class=\"hint\" id=\"q-hint\">姓名、拼音首字母（如 zsf）、户编号"
		     "或身份证号后 4 位以上</p>\n</form>\n",
		  q ? q : "");
}

/* ---- 工作台 ---------------------------------------------------------------------------- */

static void page_home(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct monitor_task *t = NULL;
	struct buf *b = &res->body;
	int alloc = 0, n, counts[3] = { 0 }, mine = 0;
	if (page_refuse_unknown_params(req, res, params))
		return;
	n = monitor_tasks(req->db, scope_of(req), req->principal->role, &t, &alloc);
	if (n < 0) {
		free(t);
		page_error(req, res, 503, "数据库暂时不可用，请稍后重试");
		return;
	}
	for (int i = 0; i < n; i++) {
		counts[!strcmp(t[i].light, "red") ? 0 : !strcmp(t[i].light, "yellow") ? 1 : 2]++;
		mine += t[i].mine;
	}
	page_begin(req, res, "工作台", &(struct page_opts){ .nav = "/v/", .scripts = scripts });
	html_addf(b, "<h1>工作台</h1>\n");
	search_form(b, NULL);
	html_addf(b, "<h2 id=\"tasks\">待办事项</h2>\n");
	if (!n) {
		html_addf(b, "<p class=\"msg ok\">辖区内没有待核实的线索或进行中的流程。</p>\n");
	} else {
		html_addf(b, "<p class=\"summary\">%h %d 项，其中 <span class=\"light red\">超期 %d</span> "
			     "<span class=\"light yellow\">临期 %d</span> <span class=\"light green\">"
			     "正常 %d</span>；轮到您办理 %d 项。</p>\n<ul class=\"tasks\">\n",
			  n >= MONITOR_TASKS_MAX ? "期限最早的" : "共", n, counts[0], counts[1], counts[2],
			  mine);
		for (int i = 0; i < n && i < TASKS_SHOWN; i++) {
			const char *actor = auth_role_title(t[i].role);
			html_addf(b, "<li class=\"task %a\"><span class=\"light %a\">%h</span> "
				     "<a href=\"/v/households/%lld\">%h</a> <span class=\"hh-no\">%h</span>"
				     "<br><span class=\"what\">%h</span>",
				  t[i].mine ? "mine" : "", t[i].light, light_title(t[i].light),
				  (long long)t[i].household_id,
				  t[i].head_name[0] ? t[i].head_name : "（未登记户主）", t[i].hh_no,
				  t[i].what);
			if (t[i].due[0])
				html_addf(b, " · 期限 <time datetime=\"%a\">%h</time>", t[i].due, t[i].due);
			html_addf(b, " · %h%h</li>\n", t[i].mine ? "轮到您办理" : "由", 
				  t[i].mine ? "" : (actor ? actor : t[i].role));
		}
		html_addf(b, "</ul>\n");
		if (n > TASKS_SHOWN)
			html_addf(b, "<p class=\"status\">只列出最紧急的 %d 项。</p>\n", TASKS_SHOWN);
	}
	page_end(req, res);
	free(t);
}

/* ---- search ------------------------------------------------------------------------------ */

static void page_search(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "q", "after", NULL };
	const char *q = http_query(req, "q"), *after_s = http_query(req, "after");
	struct hh_query hq = { 0 };
	struct hh_row *rows = NULL;
	struct buf qbuf = BUF_INIT, *b = &res->body;
	int alloc = 0, n, more;
	int64_t after = 0, total;
	if (page_refuse_unknown_params(req, res, params))
		return;
	if (after_s && *after_s && (parse_int64(after_s, &after) || after < 0)) {
		page_error(req, res, 400, "翻页参数无效，请从第一页重新查找");
		return;
	}
	buf_addstr(&qbuf, q ? q : "");
	buf_trim(&qbuf);
	page_begin(req, res, qbuf.len ? "查找农户" : "本辖区农户",
		   &(struct page_opts){ .nav = "/v/search", .scripts = scripts });
	html_addf(b, "<h1>查找农户</h1>\n");
	search_form(b, qbuf.buf);
	if (qbuf.len > 64) {
		res->status = 400;
		html_addf(b, "<p class=\"msg error\" role=\"alert\">查找内容过长（最多 64 个字节），请缩短后重试。</p>\n");
		goto out;
	}
	hq.prefix = scope_of(req);
	hq.hh_type = -1;
	hq.relocated = -1;
	hq.q = qbuf.buf;
	hq.after = after;
	hq.limit = SEARCH_PAGE;
	n = registry_household_find(req->db, &hq, &rows, &alloc, &more);
	total = n < 0 ? -1 : after || more ? registry_household_count(req->db, &hq, COUNT_CAP) : n;
	if (n < 0 || total < 0) {
		page_error(req, res, 503, "数据库暂时不可用，请稍后重试");
		goto out;
	}
	if (strlen(scope_of(req)) < 12 && qbuf.len && qbuf.len < REGISTRY_INITIALS_MIN &&
	    strspn(qbuf.buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == qbuf.len)
		html_addf(b, "<p class=\"msg info\">在乡镇、县范围内按拼音首字母查找，请至少输入 %d 个字母"
			     "（如 zsf）。</p>\n",
			  REGISTRY_INITIALS_MIN);
	if (!n) {
		html_addf(b, "<p class=\"msg info\" role=\"status\">");
		if (qbuf.len)
			html_addf(b, "没有找到与“%h”相符的户。可以试试姓名的一部分、拼音首字母或身份证号后 4 位。",
				  qbuf.buf);
		else
			html_addf(b, "辖区内还没有登记农户。");
		html_addf(b, "</p>\n");
		goto out;
	}
	{
		char count[40];
		html_thousands(total > COUNT_CAP ? COUNT_CAP : total, count);
		if (total > COUNT_CAP)
			snprintf(count + strlen(count), sizeof(count) - strlen(count), " 户以上");
		else
			snprintf(count + strlen(count), sizeof(count) - strlen(count), " 户");
		if (qbuf.len)
			html_addf(b, "<p class=\"status\" role=\"status\">与“%h”相符的共 %h</p>\n",
				  qbuf.buf, count);
		else
			html_addf(b, "<p class=\"status\" role=\"status\">辖区内共 %h</p>\n", count);
	}
	html_addf(b, "<ul class=\"households\">\n");
	for (int i = 0; i < n; i++) {
		char idm[19];
		idcard_mask(rows[i].head_id_number, idm);
		html_addf(b, "<li><a href=\"/v/households/%lld\"><strong>%h</strong> <span "
			     "class=\"hh-no\">户编号 %h</span></a><br><span class=\"meta\">%h · %d 人 · "
			     "%h · 户主身份证 %h</span></li>\n",
			  (long long)rows[i].id,
			  rows[i].head_name[0] ? rows[i].head_name : "（未登记户主）", rows[i].hh_no,
			  rows[i].village_name, rows[i].members,
			  rows[i].hh_type >= 0 ? codes_label(&code_hh_type, rows[i].hh_type) : "户类型未填",
			  idm[0] ? idm : "未登记");
	}
	html_addf(b, "</ul>\n");
	if (more)
		html_addf(b, "<p><a class=\"button\" href=\"/v/search?q=%u&amp;after=%lld\">下一页</a></p>\n",
			  qbuf.buf, (long long)rows[n - 1].id);
out:
	page_end(req, res);
	buf_release(&qbuf);
	free(rows);
}

/* ---- household ------------------------------------------------------------------------- */

/* The risk-type labels of comma-separated codes, joined with 、 into b. */
static void risk_text(struct buf *b, const char *codes)
{
	int first = 1;
	for (const char *p = codes; p && *p;) {
		const char *l = codes_label(&code_risk_type, atoi(p));
		if (l) {
			html_addf(b, "%h%h", first ? "" : "、", l);
			first = 0;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
}

static void health_text(struct buf *b, int health)
{
	int first = 1;
	for (int i = 0; health >= 0 && i < code_health.nr_items; i++)
		if (health & (1 << code_health.items[i].code)) {
			html_addf(b, "%h%h", first ? "" : "、", code_health.items[i].label);
			first = 0;
		}
}

static const char *label_or(const struct code_list *l, int code, const char *none)
{
	const char *s = code >= 0 ? codes_label(l, code) : NULL;
	return s ? s : none;
}

/* The facts of the household as a definition list. */
static void household_facts(struct http_request *req, struct buf *b, const struct household_rec *h,
			    const struct monitor_status *ms, int full)
{
	char village[192], ph[24];
	registry_region_display(req->db, h->village_code, village, sizeof(village));
	if (full)
		snprintf(ph, sizeof(ph), "%s", h->phone);
	else
		registry_mask_phone(h->phone, ph);
	html_addf(b, "<dl class=\"facts\">\n<div><dt>户编号</dt><dd>%h</dd></div>\n"
		     "<div><dt>所在村</dt><dd>%h</dd></div>\n<div><dt>家庭住址</dt><dd>%h</dd></div>\n"
		     "<div><dt>户类型</dt><dd>%h</dd></div>\n<div><dt>联系电话</dt><dd>%h</dd></div>\n",
		  h->hh_no, village, h->address[0] ? h->address : "未填写",
		  label_or(&code_hh_type, h->hh_type, "未填写"), ph[0] ? ph : "未填写");
	if (h->relocated > 0)
		html_addf(b, "<div><dt>易地扶贫搬迁</dt><dd>是%h%h</dd></div>\n",
			  h->relocation_site[0] ? "，安置点 " : "", h->relocation_site);
	html_addf(b, "<div><dt>监测状态</dt><dd><strong>%h</strong>", monitor_status_title(ms));
	if (ms->state) {
		html_addf(b, "（%h，%h 纳入", label_or(&code_monitor_category, ms->category, ""),
			  ms->identified_on);
		if (ms->state == 2)
			html_addf(b, "，%h %h", ms->eliminated_on, ms->elim_mode);
		html_addf(b, "）");
	}
	html_addf(b, "</dd></div>\n");
	if (ms->state && ms->risk_types[0]) {
		html_addf(b, "<div><dt>风险类型</dt><dd>");
		risk_text(b, ms->risk_types);
		html_addf(b, "</dd></div>\n");
	}
	if (ms->contact_name[0]) {
		char cph[24];
		if (full)
			snprintf(cph, sizeof(cph), "%s", ms->contact_phone);
		else
			registry_mask_phone(ms->contact_phone, cph);
		html_addf(b, "<div><dt>帮扶联系人</dt><dd>%h %h</dd></div>\n", ms->contact_name, cph);
	}
	html_addf(b, "</dl>\n");
}

static void household_case(struct http_request *req, struct buf *b, const struct monitor_status *ms)
{
	struct case_rec c;
	const struct case_step_def *steps, *d;
	const char *actor;
	char today[11];
	int n;
	if (!ms->active_case) {
		if (ms->open_alert)
			html_addf(b, "<p class=\"msg info\">有待入户核实的风险线索，请尽快走访核实。</p>\n");
		return;
	}
	if (monitor_case_load(req->db, ms->active_case, &c) != 1)
		return;
	steps = monitor_case_steps(c.kind, &n);
	d = c.step >= 1 && c.step <= n ? &steps[c.step - 1] : NULL;
	actor = d ? auth_role_title(d->role) : NULL;
	monitor_today_text(today);
	html_addf(b, "<section class=\"case\" aria-labelledby=\"case-h\"><h2 id=\"case-h\">进行中的流程</h2>\n"
		     "<p>%h · 第 %d 环节 <strong>%h</strong>（%h办理）",
		  c.kind == CASE_IDENTIFY ? "识别纳入" : "风险消除", c.step, d ? d->title : "",
		  actor ? actor : "");
	if (c.step_due[0]) {
		const char *light = monitor_light(req->db, c.step_due, today);
		html_addf(b, " 期限 <time datetime=\"%a\">%h</time> <span class=\"light %a\">%h</span>",
			  c.step_due, c.step_due, light, light_title(light));
	}
	html_addf(b, "</p>\n</section>\n");
}

static void household_members(struct http_request *req, struct buf *b, int64_t hh, int full)
{
	struct member_rec *ms = NULL;
	int alloc = 0, n = registry_members_of(req->db, hh, &ms, &alloc);
	html_addf(b, "<section aria-labelledby=\"members-h\"><h2 id=\"members-h\">家庭成员（%d 人）</h2>\n",
		  n < 0 ? 0 : n);
	if (n > 0) {
		html_addf(b, "<table class=\"cards members\"><thead><tr><th scope=\"col\">姓名</th>"
			     "<th scope=\"col\">与户主关系</th><th scope=\"col\">性别</th><th scope=\"col\">"
			     "年龄</th><th scope=\"col\">身份证号</th><th scope=\"col\">健康状况</th>"
			     "<th scope=\"col\">劳动技能</th><th scope=\"col\">务工状况</th><th "
			     "scope=\"col\">联系电话</th></tr></thead><tbody>\n");
		for (int i = 0; i < n; i++) {
			char idm[19], ph[24];
			int y, mo, d, age = -1;
			if (sscanf(ms[i].birth_date, "%d-%d-%d", &y, &mo, &d) == 3)
				age = idcard_age(y, mo, d, idcard_today());
			if (full) {
				snprintf(idm, sizeof(idm), "%s", ms[i].id_number);
				snprintf(ph, sizeof(ph), "%s", ms[i].phone);
			} else {
				idcard_mask(ms[i].id_number, idm);
				registry_mask_phone(ms[i].phone, ph);
			}
			html_addf(b, "<tr><td data-label=\"姓名\"><strong>%h</strong></td><td "
				     "data-label=\"关系\">%h</td><td data-label=\"性别\">%h</td><td "
				     "data-label=\"年龄\">",
				  ms[i].name, label_or(&code_relation, ms[i].relation, ""),
				  label_or(&code_sex, ms[i].sex, ""));
			if (age >= 0)
				html_addf(b, "%d 岁", age);
			html_addf(b, "</td><td data-label=\"身份证号\" class=\"id\">%h</td><td "
				     "data-label=\"健康\">",
				  idm);
			health_text(b, ms[i].health);
			html_addf(b, "</td><td data-label=\"劳动技能\">%h</td><td data-label=\"务工\">%h"
				     "</td><td data-label=\"电话\">%h</td></tr>\n",
				  label_or(&code_labor_skill, ms[i].labor_skill, ""),
				  label_or(&code_work_status, ms[i].work_status, ""), ph);
		}
		html_addf(b, "</tbody></table>\n");
	} else if (!n) {
		html_addf(b, "<p class=\"status\">还没有登记家庭成员。</p>\n");
	}
	html_addf(b, "</section>\n");
	free(ms);
}

static void household_timeline(struct http_request *req, struct buf *b, int64_t hh)
{
	struct monitor_event *ev = NULL;
	int alloc = 0, n = monitor_timeline(req->db, hh, &ev, &alloc);
	html_addf(b, "<section aria-labelledby=\"timeline-h\"><h2 id=\"timeline-h\">走访与帮扶记录</h2>\n");
	if (n <= 0) {
		html_addf(b, "<p class=\"status\">%h</p>\n", n < 0 ? "记录暂时无法读取" : "还没有记录。");
	} else {
		html_addf(b, "<ol class=\"timeline\" reversed>\n");
		for (int i = n - 1; i >= 0; i--) {
			char at[17], iso[21];
			snprintf(iso, sizeof(iso), "%.10sT%.8sZ", ev[i].at, ev[i].at + 11);
			html_china_time(ev[i].at, at);
			html_addf(b, "<li><time datetime=\"%a\">%h</time> <span class=\"kind\">%h</span> "
				     "<span class=\"detail\">%h</span></li>\n",
				  strlen(ev[i].at) == 19 ? iso : ev[i].at, at, ev[i].kind, ev[i].detail);
		}
		html_addf(b, "</ol>\n");
	}
	html_addf(b, "</section>\n");
	monitor_events_free(ev, n < 0 ? 0 : n);
}

/* The department warnings pushed to the household (部门数据预警), the
 * waiting first, each with its deadline and, for a writer, a link to
 * answer it; the answered ones with the village's answer. */
static void household_feed_hits(struct http_request *req, struct buf *b, int64_t hh, int writer)
{
	struct feed_hit_row *x = NULL;
	int n = feed_hits_of_household(req->db, hh, &x);
	if (!n)
		return;
	html_addf(b, "<section aria-labelledby=\"hits-h\"><h2 id=\"hits-h\">部门数据预警</h2>\n");
	if (n < 0) {
		html_addf(b, "<p class=\"status\">预警暂时无法读取</p>\n</section>\n");
		return;
	}
	html_addf(b, "<ul class=\"tasks hits\">\n");
	for (int i = 0; i < n; i++) {
		int waiting = !strcmp(x[i].state, "待核实");
		html_addf(b, "<li class=\"task\" id=\"hit-%lld\"><span class=\"light %a\">%h</span> "
			     "<b>%h</b> · %h<br><span class=\"what\">%h</span><br>",
			  (long long)x[i].id, x[i].light,
			  waiting && !strcmp(x[i].light, "red") ? "逾期未核实" : x[i].state,
			  x[i].feed_title, x[i].member_name, x[i].explain);
		if (waiting) {
			html_addf(b, "<span class=\"due\">核实期限 %h</span>", x[i].due_on);
			if (writer)
				html_addf(b, " <a class=\"button small\" href=\"/v/households/%lld/"
					     "feed-hits/%lld\">核实反馈</a>",
					  (long long)hh, (long long)x[i].id);
		} else {
			char at[17];
			html_china_time(x[i].feedback_at, at);
			html_addf(b, "<span class=\"answer\">核实情况：%h（%h，%h）</span>", x[i].feedback,
				  x[i].feedback_by, at);
		}
		html_addf(b, "</li>\n");
	}
	html_addf(b, "</ul>\n</section>\n");
	feed_hit_rows_free(x, n);
}

static void page_household(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "show", "saved", NULL };
	static const char *const styles[] = { "/static/print.css", NULL };
	const char *show = http_query(req, "show"), *saved = http_query(req, "saved");
	struct household_rec h;
	struct monitor_status ms;
	struct buf *b = &res->body;
	char head[64], title[96];
	int full = 0, writer;
	if (page_refuse_unknown_params(req, res, params) || !household_scoped(req, res, &h))
		return;
	if (show && !strcmp(show, "full")) {
		if (!auth_permitted(req->principal, PERM_ID_FULL)) {
			page_error(req, res, 403, "您的角色不能查看完整身份证号和联系电话");
			return;
		}
		full = 1;
		req->audit.sensitive = 1;
		http_audit_note(req, "household", h.id, NULL, NULL);
		snprintf(req->audit.detail, sizeof(req->audit.detail), "查看完整身份证号和联系电话");
	}
	if (monitor_status_load(req->db, h.id, &ms)) {
		page_error(req, res, 503, "数据库暂时不可用，请稍后重试");
		return;
	}
	writer = auth_permitted(req->principal, "household.write");
	head_name(req->db, h.id, head);
	snprintf(title, sizeof(title), "%s户", head[0] ? head : h.hh_no);
	page_begin(req, res, title,
		   &(struct page_opts){ .nav = "/v/search", .scripts = scripts, .styles = styles,
					.body_class = "household" });
	html_addf(b, "<h1>%h<span class=\"sub\">户编号 %h</span></h1>\n", title, h.hh_no);
	if (saved && !strcmp(saved, "visit"))
		html_addf(b, "<p class=\"msg ok\" role=\"status\">走访记录已保存。</p>\n");
	else if (saved && !strcmp(saved, "report"))
		html_addf(b, "<p class=\"msg ok\" role=\"status\">风险报告已提交，已生成风险线索，请按流程入户核实。</p>\n");
	else if (saved && !strcmp(saved, "feedback"))
		html_addf(b, "<p class=\"msg ok\" role=\"status\">核实结果已保存，报送部门可以看到。</p>\n");
	html_addf(b, "<div class=\"actions\">");
	if (writer)
		html_addf(b, "<a class=\"button primary\" href=\"/v/households/%lld/visit\">登记走访</a>"
			     "<a class=\"button\" href=\"/v/households/%lld/report\">风险报告</a>",
			  (long long)h.id, (long long)h.id);
	if (!full && auth_permitted(req->principal, PERM_ID_FULL))
		html_addf(b, "<a class=\"button\" href=\"/v/households/%lld?show=full\">显示完整号码</a>",
			  (long long)h.id);
	else if (full)
		html_addf(b, "<a class=\"button\" href=\"/v/households/%lld\">隐藏完整号码</a>",
			  (long long)h.id);
	html_addf(b, "<button type=\"button\" class=\"print\" hidden>打印</button></div>\n");
	if (full)
		html_addf(b, "<p class=\"msg info\">正在显示完整身份证号和联系电话，本次查看已记入审计日志。</p>\n");
	household_facts(req, b, &h, &ms, full);
	household_case(req, b, &ms);
	household_feed_hits(req, b, h.id, writer);
	household_members(req, b, h.id, full);
	household_timeline(req, b, h.id);
	page_end(req, res);
}

/* ---- forms ------------------------------------------------------------------------------- */

/* One form's state: the values typed (or defaults) and the refusal. */
struct form_state {
	const char *date, *text;    /* visit_date / applied_on; note / reason */
	int risk_found;
	const char *risk[8];        /* risk-type labels ticked */
	int nr_risk;
	const char *field;          /* the field refused, or NULL */
	const char *message;        /* Chinese, or NULL */
};

static int risk_ticked(const struct form_state *f, const char *label)
{
	for (int i = 0; i < f->nr_risk; i++)
		if (!strcmp(f->risk[i], label))
			return 1;
	return 0;
}

/* The error message for `field` (with the id the field's aria-describedby
 * names), empty when the field is fine; and the attributes marking it. */
static void field_hint(struct buf *b, const struct form_state *f, const char *field, const char *id)
{
	int bad = f->field && !strcmp(f->field, field);
	html_addf(b, "<p class=\"hint%h\" id=\"%a-error\" aria-live=\"polite\">%h</p>\n",
		  bad ? " bad" : "", id, bad ? f->message : "");
}

static const char *invalid_attr(const struct form_state *f, const char *field)
{
	return f->field && !strcmp(f->field, field) ? "true" : "false";
}

static void risk_fieldset(struct buf *b, const struct form_state *f)
{
	html_addf(b, "<fieldset class=\"choices\" aria-describedby=\"risk_types-error\"><legend>风险类型"
		     "（可多选，最多 5 项）</legend>\n");
	for (int i = 0; i < code_risk_type.nr_items; i++) {
		const char *l = code_risk_type.items[i].label;
		html_addf(b, "<label class=\"choice\"><input type=\"checkbox\" name=\"risk_types\" "
			     "value=\"%a\"%h> %h</label>\n",
			  l, risk_ticked(f, l) ? " checked" : "", l);
	}
	html_addf(b, "</fieldset>\n");
	field_hint(b, f, "risk_types", "risk_types");
}

/* The household's heading line above a form. */
static void form_heading(struct http_request *req, struct buf *b, const struct household_rec *h,
			 const char *what)
{
	char head[64];
	head_name(req->db, h->id, head);
	html_addf(b, "<p class=\"crumbs\"><a href=\"/v/households/%lld\">← 返回 %h户</a></p>\n"
		     "<h1>%h<span class=\"sub\">%h户 · 户编号 %h</span></h1>\n",
		  (long long)h->id, head[0] ? head : h->hh_no, what, head[0] ? head : "", h->hh_no);
}

static void visit_form(struct http_request *req, struct http_response *res,
		       const struct household_rec *h, const struct form_state *f, int status)
{
	struct buf *b = &res->body;
	char today[11];
	monitor_today_text(today);
	page_begin(req, res, "登记走访",
		   &(struct page_opts){ .status = status, .nav = "/v/search", .scripts = scripts });
	form_heading(req, b, h, "登记走访");
	if (f->message)
		html_addf(b, "<p class=\"msg error\" role=\"alert\">未保存：%h</p>\n", f->message);
	html_addf(b, "<form method=\"post\" action=\"/v/households/%lld/visit\" class=\"card\" "
		     "data-validate=\"visit\" novalidate>\n",
		  (long long)h->id);
	page_csrf_field(req, b);
	html_addf(b, "<div class=\"field\"><label for=\"visit_date\">走访日期</label>\n<input "
		     "id=\"visit_date\" name=\"visit_date\" type=\"date\" value=\"%a\" max=\"%a\" required "
		     "aria-invalid=\"%a\" aria-describedby=\"visit_date-error\">\n",
		  f->date ? f->date : today, today, invalid_attr(f, "visit_date"));
	field_hint(b, f, "visit_date", "visit_date");
	html_addf(b, "</div>\n<div class=\"field\"><label for=\"note\">走访情况</label>\n<textarea "
		     "id=\"note\" name=\"note\" rows=\"5\" maxlength=\"%d\" required data-max-bytes=\"%d\" "
		     "aria-invalid=\"%a\" aria-describedby=\"note-error note-help\">%h</textarea>\n"
		     "<p class=\"hint\" id=\"note-help\">家庭收入、就业、健康、住房等情况，最多约 600 字</p>\n",
		  MONITOR_NOTE_MAX, MONITOR_NOTE_MAX, invalid_attr(f, "note"), f->text ? f->text : "");
	field_hint(b, f, "note", "note");
	html_addf(b, "</div>\n<div class=\"field\"><label class=\"choice\"><input type=\"checkbox\" "
		     "name=\"risk_found\" value=\"1\"%h> 发现返贫致贫风险（将生成风险线索）</label></div>\n",
		  f->risk_found ? " checked" : "");
	risk_fieldset(b, f);
	html_addf(b, "<div class=\"actions\"><button type=\"submit\" class=\"primary\">保存走访记录"
		     "</button><a class=\"button\" href=\"/v/households/%lld\">取消</a></div>\n</form>\n",
		  (long long)h->id);
	page_end(req, res);
}

static void report_form(struct http_request *req, struct http_response *res,
			const struct household_rec *h, const struct form_state *f, int status)
{
	struct buf *b = &res->body;
	char today[11];
	monitor_today_text(today);
	page_begin(req, res, "风险报告",
		   &(struct page_opts){ .status = status, .nav = "/v/search", .scripts = scripts });
	form_heading(req, b, h, "风险报告");
	html_addf(b, "<p class=\"status\">代农户登记自主申报（书面申请、电话、热线等），提交后生成风险线索，"
		     "由村级入户核实。</p>\n");
	if (f->message)
		html_addf(b, "<p class=\"msg error\" role=\"alert\">未提交：%h</p>\n", f->message);
	html_addf(b, "<form method=\"post\" action=\"/v/households/%lld/report\" class=\"card\" "
		     "data-validate=\"report\" novalidate>\n",
		  (long long)h->id);
	page_csrf_field(req, b);
	html_addf(b, "<div class=\"field\"><label for=\"applied_on\">申报日期</label>\n<input "
		     "id=\"applied_on\" name=\"applied_on\" type=\"date\" value=\"%a\" max=\"%a\" "
		     "aria-invalid=\"%a\" aria-describedby=\"applied_on-error\">\n",
		  f->date ? f->date : today, today, invalid_attr(f, "applied_on"));
	field_hint(b, f, "applied_on", "applied_on");
	html_addf(b, "</div>\n<div class=\"field\"><label for=\"reason\">申报事由</label>\n<textarea "
		     "id=\"reason\" name=\"reason\" rows=\"5\" maxlength=\"%d\" required data-max-bytes=\"%d\" "
		     "aria-invalid=\"%a\" aria-describedby=\"reason-error reason-help\">%h</textarea>\n"
		     "<p class=\"hint\" id=\"reason-help\">如：家中有人突发重病，医疗费用高；因灾房屋受损等</p>\n",
		  MONITOR_NOTE_MAX, MONITOR_NOTE_MAX, invalid_attr(f, "reason"), f->text ? f->text : "");
	field_hint(b, f, "reason", "reason");
	html_addf(b, "</div>\n");
	risk_fieldset(b, f);
	html_addf(b, "<div class=\"actions\"><button type=\"submit\" class=\"primary\">提交风险报告"
		     "</button><a class=\"button\" href=\"/v/households/%lld\">取消</a></div>\n</form>\n",
		  (long long)h->id);
	page_end(req, res);
}

static void page_visit_form(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct household_rec h;
	struct form_state f = { 0 };
	if (page_refuse_unknown_params(req, res, params) || !household_scoped(req, res, &h))
		return;
	visit_form(req, res, &h, &f, 200);
}

static void page_report_form(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct household_rec h;
	struct form_state f = { 0 };
	if (page_refuse_unknown_params(req, res, params) || !household_scoped(req, res, &h))
		return;
	report_form(req, res, &h, &f, 200);
}

/* Read the ticked risk types of the posted form into f; 0, or -1 when
 * there are too many to be meant (answered by the caller as a refusal). */
static void read_risks(struct http_request *req, struct form_state *f)
{
	for (int i = 0; i < req->nr_form; i++)
		if (!strcmp(req->form[i].key, "risk_types") && *req->form[i].value &&
		    f->nr_risk < (int)ARRAY_SIZE(f->risk))
			f->risk[f->nr_risk++] = req->form[i].value;
}

/* Refuse a posted form whose field names are not the form's own (a form
 * from another page, a hand-made request): 400 page. */
static int unknown_fields(struct http_request *req, struct http_response *res,
			  const char *const *fields)
{
	const char *bad = http_form_unknown(req, fields);
	char msg[160];
	if (!bad)
		return 0;
	snprintf(msg, sizeof(msg), "表单中有不认识的字段“%.*s”，请从页面重新填写",
		 utf8_cut(bad, 64), bad);
	page_error(req, res, 400, msg);
	return 1;
}

static void page_visit_post(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "visit_date", "note", "risk_found", "risk_types", NULL };
	struct household_rec h;
	struct form_state f = { 0 };
	struct monitor_refusal why;
	struct visit_input v = { 0 };
	struct buf codes = BUF_INIT, note = BUF_INIT;
	int64_t id;
	char loc[64];
	if (unknown_fields(req, res, fields) || !household_scoped(req, res, &h))
		return;
	f.date = http_form(req, "visit_date");
	f.text = http_form(req, "note");
	f.risk_found = http_form(req, "risk_found") != NULL;
	read_risks(req, &f);
	/* a textarea sends CR LF line ends: store LF, as the API would */
	for (const char *p = f.text ? f.text : ""; *p; p++)
		if (*p != '\r')
			buf_addch(&note, *p);
	buf_trim(&note);
	monitor_refusal_init(&why);
	if (!monitor_risk_codes(f.risk, f.nr_risk, &codes, &why)) {
		v.visit_date = f.date;
		v.note = note.buf;
		v.risk_found = f.risk_found;
		v.risk_types = codes.buf;
		id = monitor_visit_add(req->db, h.id, &v, req->principal, &why);
		if (id > 0) {
			http_audit_note(req, "visit", id, NULL,
					json_pack("{s:I, s:s, s:s, s:b, s:s}", "household_id",
						  (json_int_t)h.id, "visit_date", v.visit_date, "note",
						  v.note, "risk_found", v.risk_found, "risk_types",
						  codes.buf));
			snprintf(loc, sizeof(loc), "/v/households/%lld?saved=visit", (long long)h.id);
			page_redirect(res, loc);
			goto out;
		}
	}
	if (why.status >= 500) {
		page_error(req, res, 503, "暂时无法保存，请稍后重试（填写的内容请先自行保留）");
		goto out;
	}
	f.field = why.field;
	f.message = why.message.buf;
	visit_form(req, res, &h, &f, 422);
out:
	monitor_refusal_release(&why);
	buf_release(&codes);
	buf_release(&note);
}

static void page_report_post(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "applied_on", "reason", "risk_types", NULL };
	struct household_rec h;
	struct form_state f = { 0 };
	struct monitor_refusal why;
	struct application_input a = { 0 };
	struct buf codes = BUF_INIT, reason = BUF_INIT;
	int64_t alert;
	char loc[64];
	if (unknown_fields(req, res, fields) || !household_scoped(req, res, &h))
		return;
	f.date = http_form(req, "applied_on");
	f.text = http_form(req, "reason");
	read_risks(req, &f);
	for (const char *p = f.text ? f.text : ""; *p; p++)
		if (*p != '\r')
			buf_addch(&reason, *p);
	buf_trim(&reason);
	monitor_refusal_init(&why);
	if (!monitor_risk_codes(f.risk, f.nr_risk, &codes, &why)) {
		a.applied_on = f.date;
		a.reason = reason.buf;
		a.risk_types = codes.buf;
		alert = monitor_application_add(req->db, h.id, &a, req->principal, &why);
		if (alert > 0) {
			http_audit_note(req, "alert", alert, NULL,
					json_pack("{s:I, s:s, s:s}", "household_id", (json_int_t)h.id,
						  "reason", a.reason, "risk_types", codes.buf));
			snprintf(loc, sizeof(loc), "/v/households/%lld?saved=report", (long long)h.id);
			page_redirect(res, loc);
			goto out;
		}
	}
	if (why.status >= 500) {
		page_error(req, res, 503, "暂时无法保存，请稍后重试（填写的内容请先自行保留）");
		goto out;
	}
	f.field = why.field;
	f.message = why.message.buf;
	report_form(req, res, &h, &f, 422);
out:
	monitor_refusal_release(&why);
	buf_release(&codes);
	buf_release(&reason);
}

/* ---- 核实反馈 of a department warning ------------------------------------------------- */

static const char *const hit_answers[] = { "已核实-纳入", "已核实-无风险", "不属实", NULL };

/* The household's warnings (*x, *n; the caller frees them) and the index of
 * the one named by the path's second parameter, or -1 after answering the
 * 503 or 404 page. */
static int hit_of_path(struct http_request *req, struct http_response *res,
		       const struct household_rec *h, struct feed_hit_row **x, int *n)
{
	int64_t id;
	*x = NULL;
	*n = feed_hits_of_household(req->db, h->id, x);
	if (*n < 0) {
		*n = 0;
		page_error(req, res, 503, "数据库暂时不可用，请稍后重试");
		return -1;
	}
	if (req->nr_path_params >= 2 && !parse_int64(req->path_params[1], &id))
		for (int i = 0; i < *n; i++)
			if ((*x)[i].id == id)
				return i;
	page_error(req, res, 404, "找不到该预警（或不属于此户）。请回到户页面重新选择。");
	return -1;
}

static void feedback_form(struct http_request *req, struct http_response *res,
			  const struct household_rec *h, const struct feed_hit_row *x,
			  const char *state, const char *note, const struct feed_refusal *why,
			  int status)
{
	struct buf *b = &res->body;
	const char *field = why ? why->field : NULL;
	page_begin(req, res, "核实部门预警",
		   &(struct page_opts){ .status = status, .nav = "/v/search", .scripts = scripts });
	form_heading(req, b, h, "核实部门预警");
	html_addf(b, "<dl class=\"facts\"><dt>数据</dt><dd>%h</dd><dt>人员</dt><dd>%h</dd>"
		     "<dt>原因</dt><dd>%h</dd><dt>核实期限</dt><dd>%h <span class=\"light %a\">%h"
		     "</span></dd></dl>\n",
		  x->feed_title, x->member_name, x->explain, x->due_on, x->light,
		  !strcmp(x->light, "red") ? "逾期" : !strcmp(x->light, "yellow") ? "待核实" : x->state);
	if (why && why->message.len)
		html_addf(b, "<p class=\"msg error\" role=\"alert\">未保存：%h</p>\n", why->message.buf);
	html_addf(b, "<form method=\"post\" action=\"/v/households/%lld/feed-hits/%lld\" "
		     "class=\"card\" data-validate=\"feedback\" novalidate>\n",
		  (long long)h->id, (long long)x->id);
	page_csrf_field(req, b);
	html_addf(b, "<fieldset class=\"choices\" aria-describedby=\"state-error\"><legend>核实结果"
		     "</legend>\n");
	for (int i = 0; hit_answers[i]; i++)
		html_addf(b, "<label class=\"choice\"><input type=\"radio\" name=\"state\" "
			     "value=\"%a\" required%h> %h</label>\n",
			  hit_answers[i], state && !strcmp(state, hit_answers[i]) ? " checked" : "",
			  hit_answers[i]);
	html_addf(b, "</fieldset>\n<p class=\"hint%h\" id=\"state-error\" aria-live=\"polite\">"
		     "%h</p>\n",
		  field && !strcmp(field, "state") ? " bad" : "",
		  field && !strcmp(field, "state") ? why->message.buf : "");
	html_addf(b, "<div class=\"field\"><label for=\"note\">核实情况</label>\n<textarea id=\"note\" "
		     "name=\"note\" rows=\"4\" maxlength=\"%d\" required data-max-bytes=\"%d\" "
		     "aria-invalid=\"%a\" aria-describedby=\"note-error note-help\">%h</textarea>\n"
		     "<p class=\"hint\" id=\"note-help\">入户核实的经过和结论，如：已报销，自付 3,000 "
		     "元，无返贫风险</p>\n<p class=\"hint%h\" id=\"note-error\" aria-live=\"polite\">%h"
		     "</p>\n</div>\n",
		  FEED_NOTE_MAX, FEED_NOTE_MAX,
		  field && !strcmp(field, "note") ? "true" : "false", note ? note : "",
		  field && !strcmp(field, "note") ? " bad" : "",
		  field && !strcmp(field, "note") ? why->message.buf : "");
	html_addf(b, "<div class=\"actions\"><button type=\"submit\" class=\"primary\">提交核实结果"
		     "</button><a class=\"button\" href=\"/v/households/%lld#hit-%lld\">取消</a></div>\n"
		     "</form>\n",
		  (long long)h->id, (long long)x->id);
	page_end(req, res);
}

static void page_feedback_form(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct household_rec h;
	struct feed_hit_row *x;
	int n, i;
	if (page_refuse_unknown_params(req, res, params) || !household_scoped(req, res, &h))
		return;
	if ((i = hit_of_path(req, res, &h, &x, &n)) >= 0)
		feedback_form(req, res, &h, &x[i],
			      strcmp(x[i].state, "待核实") ? x[i].state : NULL,
			      x[i].feedback, NULL, 200);
	feed_hit_rows_free(x, n);
}

static void page_feedback_post(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "state", "note", NULL };
	struct household_rec h;
	struct feed_hit_row *x;
	struct feed_refusal why = { .message = BUF_INIT };
	struct buf note = BUF_INIT;
	int n, i, status;
	char loc[80];
	if (unknown_fields(req, res, fields) || !household_scoped(req, res, &h))
		return;
	if ((i = hit_of_path(req, res, &h, &x, &n)) < 0)
		goto out;
	/* a textarea sends CR LF line ends: store LF, as the API would */
	for (const char *p = http_form(req, "note") ? http_form(req, "note") : ""; *p; p++)
		if (*p != '\r')
			buf_addch(&note, *p);
	buf_trim(&note);
	status = feed_hit_answer(req, h.id, x[i].id, http_form(req, "state"), note.buf ? note.buf : "",
				 &why);
	if (!status) {
		snprintf(loc, sizeof(loc), "/v/households/%lld?saved=feedback#hit-%lld",
			 (long long)h.id, (long long)x[i].id);
		page_redirect(res, loc);
	} else if (status == 422) {
		feedback_form(req, res, &h, &x[i], http_form(req, "state"), note.buf, &why, 422);
	} else if (status == 404) {
		page_error(req, res, 404, why.message.buf);
	} else {
		page_error(req, res, 503, "暂时无法保存，请稍后重试（填写的内容请先自行保留）");
	}
out:
	feed_hit_rows_free(x, n);
	buf_release(&why.message);
	buf_release(&note);
}

const struct route village_routes[] = {
	{ "GET", "/v/", page_home, ROUTE_HTML, "household.read", "工作台（待办事项）" },
	{ "GET", "/v/search", page_search, ROUTE_HTML, "household.read", "查找农户（页面）" },
	{ "GET", "/v/households/:id", page_household, ROUTE_HTML, "household.read", "农户页面" },
	{ "GET", "/v/households/:id/visit", page_visit_form, ROUTE_HTML, "household.write",
	  "登记走访（表单）" },
	{ "POST", "/v/households/:id/visit", page_visit_post,
	  ROUTE_HTML | ROUTE_FORM | ROUTE_WRITE, "household.write", "登记走访（提交表单）" },
	{ "GET", "/v/households/:id/report", page_report_form, ROUTE_HTML, "household.write",
	  "风险报告（表单）" },
	{ "POST", "/v/households/:id/report", page_report_post,
	  ROUTE_HTML | ROUTE_FORM | ROUTE_WRITE, "household.write", "风险报告（提交表单）" },
	{ "GET", "/v/households/:id/feed-hits/:hit", page_feedback_form, ROUTE_HTML,
	  "household.write", "核实部门预警（表单）" },
	{ "POST", "/v/households/:id/feed-hits/:hit", page_feedback_post,
	  ROUTE_HTML | ROUTE_FORM | ROUTE_WRITE, "household.write", "核实部门预警（提交表单）" },
	{ NULL },
};
