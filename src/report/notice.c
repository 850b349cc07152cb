/* notice.c — the printable notices of the monitoring workflow: the village
 * public notice (村内公示) of the households now at the 村内公示 step, and
 * the announcement (公告) of the households the county decided in a period.
 *
 * Each is one HTML document styled for A4 paper (print CSS: page size and
 * margins, a table whose header repeats on every page, no row split across
 * pages), so the browser's 打印 / 另存为 PDF gives the page to post.  People
 * are named with their 身份证号 masked (first 6 and last 4 characters), as
 * public notices are; the period of a 村内公示 is the 5 calendar days from
 * the day the step began (the workflow refuses to move on earlier). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/registry.h"
#include "report/report.h"

#define NOTICE_DAYS 5 /* 村内公示 lasts at least 5 days (brief §1.6, §1.8) */

/* "2026-03-02" → "2026年3月2日" (appended). */
static void add_cn_date(struct buf *b, const char *iso)
{
	int y, m, d;
	if (sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) == 3)
		buf_addf(b, "%d年%d月%d日", y, m, d);
	else
		buf_add_html(b, iso);
}

static void add_text(struct buf *b, const char *s)
{
	buf_add_html(b, s ? s : "");
}

static const char style[] =
	"<style>\n"
	"@page { size: A4; margin: 22mm 18mm 20mm; }\n"
	"html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
	"body { margin: 0; color: #000; font-family: \"SimSun\", \"Songti SC\", \"Noto Serif CJK SC\", "
	"\"Source Han Serif SC\", \"WenQuanYi Micro Hei\", serif; font-size: 14pt; line-height: 1.6; }\n"
	".notice { page-break-after: always; }\n"
	".notice:last-child { page-break-after: auto; }\n"
	"h1 { text-align: center; font-size: 20pt; font-weight: bold; margin: 0 0 14pt; "
	"letter-spacing: 1pt; }\n"
	"p { text-indent: 2em; margin: 0 0 8pt; text-align: justify; }\n"
	"table { width: 100%; border-collapse: collapse; font-size: 11pt; margin: 6pt 0 12pt; }\n"
	"th, td { border: 1px solid #000; padding: 3pt 4pt; text-align: center; }\n"
	"th { font-weight: bold; }\n"
	"thead { display: table-header-group; }\n"
	"tr { page-break-inside: avoid; }\n"
	"td.addr { text-align: left; }\n"
	".sign { text-align: right; text-indent: 0; margin-top: 24pt; }\n"
	".blank { display: inline-block; min-width: 9em; border-bottom: 1px solid #000; }\n"
	".empty { text-align: center; text-indent: 0; margin: 24pt 0; }\n"
	"@media screen { body { background: #e8e8e8; } .notice { background: #fff; width: 174mm; "
	"min-height: 250mm; margin: 8mm auto; padding: 22mm 18mm 20mm; "
	"box-shadow: 0 0 3px #888; } }\n"
	"</style>\n";

static void doc_begin(struct buf *b, const char *title)
{
	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	add_text(b, title);
	buf_addstr(b, "</title>\n");
	buf_addstr(b, style);
	buf_addstr(b, "</head>\n<body>\n");
}

static void doc_end(struct buf *b)
{
	buf_addstr(b, "</body>\n</html>\n");
}

/* The name of region `code` (any length prefix; zero-padded to 12). */
static int region_name(struct db *db, const char *code, char *name, size_t n, int *level)
{
	char c12[13];
	struct db_stmt *st;
	int rc;
	code_pad12(code, c12);
	st = db_prepare(db, "SELECT name, level FROM region WHERE code = :c");
	db_bind_text(st, ":c", c12);
	rc = db_step(st);
	if (rc == DB_ROW) {
		snprintf(name, n, "%s", db_col_text(st, 0));
		if (level)
			*level = (int)db_col_int(st, 1);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : -1;
}

/* The committee that signs a village notice: 西城社区 → 西城社区居民委员会. */
static void village_committee(const char *village, struct buf *out)
{
	size_t l = strlen(village);
	buf_addstr(out, village);
	if ((l >= 9 && !strcmp(village + l - 9, "委员会")) || (l >= 6 && !strcmp(village + l - 6, "委会")))
		return;
	if (l >= 6 && !strcmp(village + l - 6, "社区"))
		buf_addstr(out, "居民委员会");
	else
		buf_addstr(out, "村民委员会");
}

/* A village's name without its committee suffix, for titles:
 * 双垭村委会 → 双垭村, 西城社区居民委员会 → 西城社区. */
static void village_short(const char *village, char *out, size_t n)
{
	static const char *const suffixes[] = { "村民委员会", "居民委员会", "委员会", "村委会",
						"居委会", NULL };
	size_t l = strlen(village);
	snprintf(out, n, "%s", village);
	for (int i = 0; suffixes[i]; i++) {
		size_t k = strlen(suffixes[i]);
		if (l > k && !strcmp(village + l - k, suffixes[i])) {
			size_t m = l - k < n ? l - k : n - 1;
			out[m] = '\0';
			/* 双垭村委会 lost its 村 with the suffix: put it back */
			if ((!strcmp(suffixes[i], "村委会") || !strcmp(suffixes[i], "村民委员会")) &&
			    !(m >= 3 && !strcmp(out + m - 3, "村")))
				snprintf(out + m, n - m, "村");
			return;
		}
	}
}

/* Labels of comma-separated risk-type codes, joined by 、. */
static void add_risks(struct buf *b, const char *codes)
{
	int first = 1;
	for (const char *p = codes; p && *p;) {
		const char *l = codes_label(&code_risk_type, atoi(p));
		if (l) {
			if (!first)
				buf_addstr(b, "、");
			add_text(b, l);
			first = 0;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	if (first)
		buf_addstr(b, "—");
}

static void add_masked_id(struct buf *b, const char *idn)
{
	char m[19];
	if (!idn || !*idn) {
		buf_addstr(b, "—");
		return;
	}
	idcard_mask(idn, m);
	add_text(b, m);
}

static void add_phone_line(struct buf *b, const char *phone)
{
	buf_addstr(b, "监督电话：");
	if (phone && *phone)
		add_text(b, phone);
	else
		buf_addstr(b, "<span class=\"blank\"></span>");
	buf_addstr(b, "。");
}

/* Rows of the village notice: the cases at the 村内公示 step. */
enum { VN_STARTED, VN_HH_NO, VN_ADDRESS, VN_HEAD, VN_HEAD_ID, VN_MEMBERS, VN_ALERT_RISKS,
       VN_MON_RISKS, VN_CATEGORY, VN_ELIM_MODE };

static int village_notice(struct db *db, const struct notice_opts *o, struct buf *out,
			  long *count, struct buf *err)
{
	char village[128], title[256], batch[11] = "", end_date[11];
	int level = 0, notice_step = 0, nsteps, rc, seq = 0;
	const struct case_step_def *steps = monitor_case_steps(o->case_kind, &nsteps);
	struct buf committee = BUF_INIT, rows = BUF_INIT;
	struct db_stmt *st;
	int identify = o->case_kind == CASE_IDENTIFY;

	if (strlen(o->region) != 12 || region_name(db, o->region, village, sizeof(village), &level) ||
	    level != REGION_VILLAGE) {
		buf_addf(err, "“%s”不是已导入的村级行政区划代码（村内公示按村打印）", o->region);
		return -1;
	}
	for (int i = 0; i < nsteps; i++)
		if (!strcmp(steps[i].title, "村内公示"))
			notice_step = steps[i].step;
	village_committee(village, &committee);
	{
		char shortname[128];
		village_short(village, shortname, sizeof(shortname));
		snprintf(title, sizeof(title), "%s防返贫监测对象%s公示", shortname,
			 identify ? "识别纳入" : "风险消除");
	}
	doc_begin(out, title);
	st = db_prepare(db, "SELECT c.step_started, h.hh_no, h.address, head.name, head.id_number, "
			    "(SELECT count(*) FROM member x WHERE x.household_id = h.id), "
			    "COALESCE(a.risk_types, ''), COALESCE(mo.risk_types, ''), mo.category, "
			    "c.elim_mode FROM monitor_case c JOIN household h ON h.id = c.household_id "
			    "LEFT JOIN member head ON head.id = (SELECT min(y.id) FROM member y WHERE "
			    "y.household_id = h.id AND y.relation = 1) LEFT JOIN alert a ON a.id = "
			    "c.alert_id LEFT JOIN monitored mo ON mo.household_id = h.id WHERE c.state = "
			    "'active' AND c.kind = :k AND c.step = :s AND h.village_code = :v ORDER BY "
			    "c.step_started, h.hh_no, c.id");
	db_bind_int(st, ":k", o->case_kind);
	db_bind_int(st, ":s", notice_step);
	db_bind_text(st, ":v", o->region);
	*count = 0;
	for (;;) {
		rc = db_step(st);
		/* a batch ends when the start date changes or the rows end */
		if (batch[0] && (rc != DB_ROW || strcmp(batch, db_col_text(st, VN_STARTED)))) {
			long z;
			monitor_date_parse(batch, &z);
			monitor_date_format(z + NOTICE_DAYS - 1, end_date);
			buf_addstr(out, "<section class=\"notice\">\n<h1>");
			add_text(out, title);
			buf_addstr(out, "</h1>\n<p>");
			if (identify)
				buf_addf(out, "根据防止返贫动态监测和帮扶工作要求，经农户申请、干部排查或部门"
					      "预警，入户核查、信息比对和村民主评议，拟将以下 %d 户识别纳入"
					      "防返贫监测对象，现予以公示。", seq);
			else
				buf_addf(out, "根据防止返贫动态监测和帮扶工作要求，经入户核实和村民主评议，"
					      "以下 %d 户监测对象已达到风险消除条件，拟标注“风险消除”，现予以"
					      "公示。", seq);
			buf_addstr(out, "</p>\n<table>\n<thead><tr><th>序号</th><th>户主姓名</th>"
					"<th>身份证号</th><th>家庭人口</th>");
			buf_addstr(out, identify ? "<th>家庭住址</th><th>主要风险</th>"
						 : "<th>监测对象类别</th><th>风险消除方式</th>");
			buf_addstr(out, "</tr></thead>\n<tbody>\n");
			buf_add(out, rows.buf, rows.len);
			buf_addstr(out, "</tbody>\n</table>\n<p>公示时间：");
			add_cn_date(out, batch);
			buf_addstr(out, "至");
			add_cn_date(out, end_date);
			buf_addf(out, "（共 %d 天）。公示期间，如有异议，请以书面、电话或当面反映等方式向",
				 NOTICE_DAYS);
			add_text(out, committee.buf);
			buf_addstr(out, "或乡（镇）人民政府反映。");
			add_phone_line(out, o->phone);
			buf_addstr(out, "</p>\n<p class=\"sign\">");
			add_text(out, committee.buf);
			buf_addstr(out, "<br>");
			add_cn_date(out, batch);
			buf_addstr(out, "</p>\n</section>\n");
			buf_reset(&rows);
			seq = 0;
		}
		if (rc != DB_ROW)
			break;
		snprintf(batch, sizeof(batch), "%s", db_col_text(st, VN_STARTED));
		seq++;
		(*count)++;
		buf_addf(&rows, "<tr><td>%d</td><td>", seq);
		add_text(&rows, db_col_is_null(st, VN_HEAD) ? "（未登记户主）" : db_col_text(st, VN_HEAD));
		buf_addstr(&rows, "</td><td>");
		add_masked_id(&rows, db_col_text(st, VN_HEAD_ID));
		buf_addf(&rows, "</td><td>%lld</td>", (long long)db_col_int(st, VN_MEMBERS));
		if (identify) {
			buf_addstr(&rows, "<td class=\"addr\">");
			add_text(&rows, db_col_text(st, VN_ADDRESS));
			buf_addstr(&rows, "</td><td>");
			add_risks(&rows, db_col_text(st, VN_ALERT_RISKS));
		} else {
			const char *cat = db_col_is_null(st, VN_CATEGORY)
						  ? NULL
						  : codes_label(&code_monitor_category,
								(int)db_col_int(st, VN_CATEGORY));
			buf_addstr(&rows, "<td>");
			add_text(&rows, cat ? cat : "—");
			buf_addstr(&rows, "</td><td>");
			add_text(&rows, *db_col_text(st, VN_ELIM_MODE) ? db_col_text(st, VN_ELIM_MODE)
								      : "—");
		}
		buf_addstr(&rows, "</td></tr>\n");
	}
	db_done(st);
	if (rc < 0) {
		buf_addf(err, "查询失败：%s", db_errmsg(db));
		goto fail;
	}
	if (!*count) {
		buf_addstr(out, "<section class=\"notice\">\n<h1>");
		add_text(out, title);
		buf_addstr(out, "</h1>\n<p class=\"empty\">目前没有处于“村内公示”环节的户。</p>\n"
				"</section>\n");
	}
	doc_end(out);
	buf_release(&committee);
	buf_release(&rows);
	return 0;
fail:
	buf_release(&committee);
	buf_release(&rows);
	return -1;
}

/* Rows of a published announcement (monitor/notice.c's case_notice), the
 * households of the caller's scope only. */
enum { PN_TITLE, PN_KIND, PN_TOWNSHIP, PN_PHONE, PN_ON, PN_TOWNSHIP_NAME };
enum { CN_VILLAGE, CN_HEAD, CN_HEAD_ID, CN_MEMBERS, CN_CATEGORY, CN_RISKS, CN_ELIM_MODE,
       CN_CLOSED };

static int published_notice(struct db *db, const struct notice_opts *o, struct buf *out,
			    long *count, struct buf *err)
{
	char title[512], township_name[128], phone[64], published[11];
	int kind, rc;
	long people = 0;
	struct buf rows = BUF_INIT, signer = BUF_INIT;
	struct db_stmt *st;

	st = db_prepare(db, "SELECT n.title, n.kind, n.township, n.phone, n.published_on, (SELECT "
			    "name FROM region r WHERE r.code = n.township || '000') FROM case_notice "
			    "n WHERE n.id = :id");
	db_bind_int(st, ":id", o->notice_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		snprintf(title, sizeof(title), "%s", db_col_text(st, PN_TITLE));
		kind = (int)db_col_int(st, PN_KIND);
		snprintf(phone, sizeof(phone), "%s", db_col_text(st, PN_PHONE));
		snprintf(published, sizeof(published), "%s", db_col_text(st, PN_ON));
		snprintf(township_name, sizeof(township_name), "%s", db_col_text(st, PN_TOWNSHIP_NAME));
	}
	db_done(st);
	if (rc != DB_ROW) {
		if (rc < 0)
			buf_addf(err, "查询失败：%s", db_errmsg(db));
		return -1;
	}
	st = db_prepare(db, "SELECT v.name, head.name, head.id_number, (SELECT count(*) FROM member "
			    "x WHERE x.household_id = h.id), mo.category, COALESCE(mo.risk_types, ''), "
			    "c.elim_mode, c.closed_at FROM case_notice_item i JOIN monitor_case c ON "
			    "c.id = i.case_id JOIN household h ON h.id = i.household_id LEFT JOIN "
			    "region v ON v.code = h.village_code LEFT JOIN member head ON head.id = "
			    "(SELECT min(y.id) FROM member y WHERE y.household_id = h.id AND "
			    "y.relation = 1) LEFT JOIN monitored mo ON mo.household_id = h.id WHERE "
			    "i.notice_id = :id AND h.village_code >= :lo AND h.village_code < :hi ORDER "
			    "BY h.village_code, h.hh_no, i.case_id");
	db_bind_int(st, ":id", o->notice_id);
	db_bind_prefix(st, ":lo", ":hi", o->scope ? o->scope : "");
	*count = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		(*count)++;
		people += db_col_int(st, CN_MEMBERS);
		buf_addf(&rows, "<tr><td>%ld</td><td>", *count);
		add_text(&rows, db_col_text(st, CN_VILLAGE));
		buf_addstr(&rows, "</td><td>");
		add_text(&rows, db_col_is_null(st, CN_HEAD) ? "（未登记户主）" : db_col_text(st, CN_HEAD));
		buf_addstr(&rows, "</td><td>");
		add_masked_id(&rows, db_col_text(st, CN_HEAD_ID));
		buf_addf(&rows, "</td><td>%lld</td><td>", (long long)db_col_int(st, CN_MEMBERS));
		if (kind == CASE_IDENTIFY) {
			const char *cat = db_col_is_null(st, CN_CATEGORY)
						  ? NULL
						  : codes_label(&code_monitor_category,
								(int)db_col_int(st, CN_CATEGORY));
			add_text(&rows, cat ? cat : "—");
			buf_addstr(&rows, "</td><td>");
			add_risks(&rows, db_col_text(st, CN_RISKS));
		} else {
			add_text(&rows, *db_col_text(st, CN_ELIM_MODE) ? db_col_text(st, CN_ELIM_MODE)
								      : "—");
		}
		buf_addstr(&rows, "</td><td>");
		add_cn_date(&rows, db_col_text(st, CN_CLOSED));
		buf_addstr(&rows, "</td></tr>\n");
	}
	db_done(st);
	if (rc < 0 || !*count) { /* none in the caller's scope: not theirs to print */
		if (rc < 0)
			buf_addf(err, "查询失败：%s", db_errmsg(db));
		buf_release(&rows);
		return -1;
	}
	/* 以乡镇名义在村公告 (brief §1.6) */
	buf_addf(&signer, "%s人民政府", township_name);
	doc_begin(out, title);
	buf_addstr(out, "<section class=\"notice\">\n<h1>");
	add_text(out, title);
	buf_addstr(out, "</h1>\n<p>");
	if (kind == CASE_IDENTIFY)
		buf_addf(out, "根据防止返贫动态监测和帮扶工作要求，经农户申请、入户核查、信息比对、"
			      "村民主评议、村内公示、乡（镇）审核和县级审定，现将识别纳入防返贫监测对象的"
			      " %ld 户 %ld 人予以公告。", *count, people);
	else
		buf_addf(out, "根据防止返贫动态监测和帮扶工作要求，经入户核实、村民主评议、村内公示、"
			      "乡（镇）审核和县级审定，现将标注风险消除的 %ld 户 %ld 人予以公告。", *count,
			 people);
	buf_addstr(out, "</p>\n<table>\n<thead><tr><th>序号</th><th>村（社区）</th><th>户主姓名</th>"
			"<th>身份证号</th><th>家庭人口</th>");
	buf_addstr(out, kind == CASE_IDENTIFY ? "<th>监测对象类别</th><th>风险类型</th>"
					      : "<th>风险消除方式</th>");
	buf_addstr(out, "<th>审定日期</th></tr></thead>\n<tbody>\n");
	buf_add(out, rows.buf, rows.len);
	buf_addstr(out, "</tbody>\n</table>\n<p>如对公告内容有异议，请向当地村民委员会、乡（镇）人民政府"
			"或县乡村振兴部门反映。");
	add_phone_line(out, phone);
	buf_addstr(out, "</p>\n<p class=\"sign\">");
	add_text(out, signer.buf);
	buf_addstr(out, "<br>");
	add_cn_date(out, published);
	buf_addstr(out, "</p>\n</section>\n");
	doc_end(out);
	buf_release(&rows);
	buf_release(&signer);
	return 0;
}

int report_notice_html(struct db *db, const struct notice_opts *o, struct buf *out,
		       long *households, struct buf *err)
{
	if (o->kind == NOTICE_PUBLISHED)
		return published_notice(db, o, out, households, err);
	if (o->case_kind != CASE_IDENTIFY && o->case_kind != CASE_ELIMINATE) {
		buf_addstr(err, "kind 应为 identify（识别纳入）或 eliminate（风险消除）");
		return -1;
	}
	return village_notice(db, o, out, households, err);
}

/* ---- routes ----------------------------------------------------------------------- */

/* GET /api/v1/public-notice?region=VILLAGE&kind=identify|eliminate&phone= —
 * the 村内公示 of the households of one village now at that step. */
static void api_public_notice(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "region", "kind", "phone", NULL };
	const char *region = http_query(req, "region"), *kind = http_query(req, "kind");
	const char *phone = http_query(req, "phone");
	struct notice_opts o = { NOTICE_VILLAGE, 0, NULL, NULL, NULL, 0, NULL };
	struct buf err = BUF_INIT;
	char today[11];
	long n = 0;

	if (http_refuse_unknown_params(req, res, params))
		return;
	if (!region || strlen(region) != 12 || strspn(region, "0123456789") != 12) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "region 应为12位村级区划代码");
		return;
	}
	o.case_kind = !kind || !strcmp(kind, "identify") || !strcmp(kind, "识别纳入") ? CASE_IDENTIFY
		      : !strcmp(kind, "eliminate") || !strcmp(kind, "风险消除")     ? CASE_ELIMINATE
										     : 0;
	if (!o.case_kind) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "kind 应为 identify（识别纳入）或 "
								 "eliminate（风险消除）");
		return;
	}
	if (phone && (strlen(phone) > 40 || strspn(phone, "0123456789-+() ") != strlen(phone))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "phone 应为电话号码（数字、- 和空格）");
		return;
	}
	if (!starts_with(region, req->principal->scope)) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该村（或不在您的管辖范围内）");
		return;
	}
	monitor_today_text(today);
	o.region = region;
	o.phone = phone;
	o.today = today;
	buf_reset(&res->body);
	if (report_notice_html(req->db, &o, &res->body, &n, &err)) {
		buf_reset(&res->body);
		if (strstr(err.buf, "查询失败"))
			http_reply_error(res, 503, "E_DB", NULL, "%s", err.buf);
		else
			http_reply_error(res, 400, "E_BAD_PARAM", NULL, "%s", err.buf);
		buf_release(&err);
		return;
	}
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
	req->audit.sensitive = 1;
	snprintf(req->audit.detail, sizeof(req->audit.detail), "打印村内公示（%s，%s，%ld 户）",
		 o.case_kind == CASE_IDENTIFY ? "识别纳入" : "风险消除", region, n);
	buf_release(&err);
}

/* GET /api/v1/notices/:id/print — a published 公告 as a page to print, with
 * the households of the caller's scope (404 when it has none there). */
static void api_notice_print(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct notice_opts o = { NOTICE_PUBLISHED, 0, NULL, NULL, NULL, 0, NULL };
	struct buf err = BUF_INIT;
	long n = 0;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if (parse_int64(req->path_params[0], &o.notice_id) || o.notice_id <= 0) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该公告（或不在您的管辖范围内）");
		return;
	}
	o.scope = req->principal->scope;
	buf_reset(&res->body);
	if (report_notice_html(req->db, &o, &res->body, &n, &err)) {
		buf_reset(&res->body);
		if (err.len)
			http_reply_error(res, 503, "E_DB", NULL, "%s", err.buf);
		else
			http_reply_error(res, 404, "E_NOT_FOUND", NULL,
					 "找不到该公告（或不在您的管辖范围内）");
		buf_release(&err);
		return;
	}
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
	req->audit.sensitive = 1;
	http_audit_note(req, "notice", o.notice_id, NULL, NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "打印公告（%ld 户）", n);
	buf_release(&err);
}

const struct route report_notice_routes[] = {
	{ "GET", "/api/v1/public-notice", api_public_notice, 0, "household.read",
	  "村内公示（打印页：某村处于村内公示环节的户，识别纳入或风险消除）" },
	{ "GET", "/api/v1/notices/:id/print", api_notice_print, 0, "household.read",
	  "公告（打印页：已发布公告中本辖区的户）" },
	{ NULL },
};
