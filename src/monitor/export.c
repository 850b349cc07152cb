/* export.c — the monitoring lists as Excel (.xlsx) or CSV: monitored
 * households (监测对象), assistance measures (帮扶措施), risk alerts (风险线索)
 * the open data-quality findings (数据质量疑点) and the department warnings
 * with the village's answers (部门数据预警), for the command line
 * (`liubao export monitored|measures|alerts|findings|feed-hits`) and the API
 * (GET /api/v1/export/{monitored,measures,alerts,findings,feed-hits}).
 *
 * Each list is one query in region order, written row by row through a
 * base/table (constant memory); households are named by 户编号, village
 * and head, the head's 身份证号 masked unless the caller may see it in full;
 * every API download is audited like the registry's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/html.h"
#include "base/table.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/idcard.h"
#include "registry/registry.h"
#include "screen/screen.h"

static const char *const channel_names[] = { "", "系统规则筛查", "干部走访", "农户自主申报",
					     "部门数据" };

/* The columns every list starts with: where the household is and who heads it. */
#define HH_COLS                                                                                    \
	{ "户编号", 20, TC_TEXT }, { "乡（镇）", 12, TC_GENERAL }, { "村（社区）", 16, TC_GENERAL }, \
		{ "户主姓名", 10, TC_GENERAL }, { "户主身份证号", 21, TC_TEXT }
#define HH_SELECT                                                                                  \
	"h.hh_no, t.name, v.name, head.name, head.id_number"
#define HH_JOIN                                                                                    \
	"JOIN household h ON h.id = x.household_id LEFT JOIN region v ON v.code = h.village_code "   \
	"LEFT JOIN region t ON t.code = v.parent LEFT JOIN member head ON head.id = (SELECT "        \
	"min(y.id) FROM member y WHERE y.household_id = h.id AND y.relation = 1) "
#define HH_WHERE "h.village_code >= :lo AND h.village_code < :hi "
enum { HC_HH_NO, HC_TOWN, HC_VILLAGE, HC_HEAD, HC_HEAD_ID, NR_HC };

static const struct table_col monitored_cols[] = {
	HH_COLS,
	{ "家庭人口", 8, TC_GENERAL },
	{ "监测对象类别", 14, TC_GENERAL },
	{ "风险类型", 20, TC_GENERAL },
	{ "识别监测时间", 12, TC_DATE },
	{ "监测状态", 10, TC_GENERAL },
	{ "风险消除方式", 12, TC_GENERAL },
	{ "风险消除时间", 12, TC_DATE },
	{ "监测联系人", 10, TC_GENERAL },
	{ "联系电话", 14, TC_TEXT },
};

static const struct table_col measure_cols[] = {
	HH_COLS,
	{ "措施类别", 14, TC_GENERAL },
	{ "国家代码表", 10, TC_TEXT },
	{ "具体措施", 24, TC_GENERAL },
	{ "开始日期", 12, TC_DATE },
	{ "结束日期", 12, TC_DATE },
	{ "金额（元）", 12, TC_MONEY },
	{ "责任单位", 16, TC_GENERAL },
	{ "责任人", 10, TC_GENERAL },
	{ "佐证材料", 24, TC_GENERAL },
};

static const struct table_col alert_cols[] = {
	HH_COLS,
	{ "线索编号", 9, TC_GENERAL },
	{ "状态", 8, TC_GENERAL },
	{ "发现渠道", 20, TC_GENERAL },
	{ "风险类型", 20, TC_GENERAL },
	{ "首次发现", 17, TC_GENERAL },
	{ "最近更新", 17, TC_GENERAL },
	{ "处理说明", 24, TC_GENERAL },
};

static const struct table_col finding_cols[] = {
	HH_COLS,
	{ "检查编号", 9, TC_TEXT },
	{ "检查分组", 12, TC_GENERAL },
	{ "严重程度", 8, TC_GENERAL },
	{ "疑点", 30, TC_GENERAL },
	{ "成员姓名", 10, TC_GENERAL },
	{ "成员身份证号", 21, TC_TEXT },
	{ "依据", 36, TC_GENERAL },
	{ "处理建议", 30, TC_GENERAL },
	{ "首次发现", 19, TC_GENERAL },
	{ "最近发现", 19, TC_GENERAL },
};

static const struct table_col feed_hit_cols[] = {
	HH_COLS,
	{ "预警编号", 9, TC_GENERAL },
	{ "数据类型", 16, TC_GENERAL },
	{ "规则", 10, TC_TEXT },
	{ "成员姓名", 10, TC_GENERAL },
	{ "成员身份证号", 21, TC_TEXT },
	{ "原因", 40, TC_GENERAL },
	{ "推送时间", 19, TC_GENERAL },
	{ "核实期限", 12, TC_DATE },
	{ "核实结果", 12, TC_GENERAL },
	{ "核实情况", 30, TC_GENERAL },
	{ "核实人", 10, TC_GENERAL },
	{ "核实时间", 19, TC_GENERAL },
};

int monitor_export_list(const char *name)
{
	return !strcmp(name, "monitored")   ? MONITOR_EXPORT_MONITORED
	       : !strcmp(name, "measures")  ? MONITOR_EXPORT_MEASURES
	       : !strcmp(name, "alerts")    ? MONITOR_EXPORT_ALERTS
	       : !strcmp(name, "findings")  ? MONITOR_EXPORT_FINDINGS
	       : !strcmp(name, "feed-hits") ? MONITOR_EXPORT_FEED_HITS
					    : -1;
}

/* A moment stored in UTC ("YYYY-MM-DD HH:MM:SS") as China time to the
 * minute, as the pages show it. */
static void put_time(struct table *t, const char *utc)
{
	char at[17];
	html_china_time(utc, at);
	table_text(t, at, 0);
}

/* A member's 身份证号, masked when `masked`. */
static void put_id(struct table *t, const char *idn, int masked)
{
	if (masked && strlen(idn) == 18) {
		char m[19];
		idcard_mask(idn, m);
		table_text(t, m, 0);
	} else {
		table_text(t, idn, 0);
	}
}

/* A date cell from "YYYY-MM-DD"; empty when there is none. */
static void put_date(struct table *t, const char *s)
{
	int y, m, d;
	if (s && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3)
		table_date(t, y, m, d, 0);
	else
		table_blank(t, 0);
}

/* Labels of comma-separated risk-type codes, joined by 、. */
static void put_risks(struct table *t, const char *codes)
{
	struct buf b = BUF_INIT;
	for (const char *p = codes; p && *p;) {
		const char *l = codes_label(&code_risk_type, atoi(p));
		if (l)
			buf_addf(&b, "%s%s", b.len ? "、" : "", l);
		p = strchr(p, ',');
		if (p)
			p++;
	}
	table_text(t, b.buf, 0);
	buf_release(&b);
}

static void put_code(struct table *t, const struct code_list *l, int64_t code, int is_null)
{
	const char *label = is_null ? NULL : codes_label(l, (int)code);
	table_text(t, label ? label : "", 0);
}

/* The household columns (HC_*) of a row. */
static void put_household(struct table *t, struct db_stmt *st, int masked)
{
	char m[19];
	table_text(t, db_col_text(st, HC_HH_NO), 0);
	table_text(t, db_col_text(st, HC_TOWN), 0);
	table_text(t, db_col_text(st, HC_VILLAGE), 0);
	table_text(t, db_col_text(st, HC_HEAD), 0);
	if (masked && *db_col_text(st, HC_HEAD_ID)) {
		idcard_mask(db_col_text(st, HC_HEAD_ID), m);
		table_text(t, m, 0);
	} else {
		table_text(t, db_col_text(st, HC_HEAD_ID), 0);
	}
}

int monitor_export_to(struct db *db, enum monitor_export list, enum table_format fmt,
		      const char *under, int masked, int fd, struct buf *out, long *rows,
		      struct buf *err)
{
	const struct table_col *cols;
	const char *sheet;
	int nr_cols, rc, failed = 0;
	struct db_stmt *st;
	struct table *t;
	long n = 0;

	switch (list) {
	case MONITOR_EXPORT_MONITORED:
		cols = monitored_cols, nr_cols = (int)ARRAY_SIZE(monitored_cols), sheet = "监测对象";
		st = db_prepare(db, "SELECT " HH_SELECT ", (SELECT count(*) FROM member c WHERE "
				    "c.household_id = h.id), x.category, x.risk_types, x.identified_on, "
				    "x.status, x.elim_mode, x.eliminated_on, x.contact_name, "
				    "x.contact_phone FROM monitored x " HH_JOIN "WHERE " HH_WHERE
				    "ORDER BY h.village_code, h.hh_no");
		break;
	case MONITOR_EXPORT_MEASURES:
		cols = measure_cols, nr_cols = (int)ARRAY_SIZE(measure_cols), sheet = "帮扶措施";
		st = db_prepare(db, "SELECT " HH_SELECT ", x.category, x.item, x.start_date, "
				    "x.end_date, x.amount, x.unit, x.person, x.evidence FROM measure x "
				    HH_JOIN "WHERE " HH_WHERE "ORDER BY h.village_code, h.hh_no, x.id");
		break;
	case MONITOR_EXPORT_ALERTS:
		cols = alert_cols, nr_cols = (int)ARRAY_SIZE(alert_cols), sheet = "风险线索";
		st = db_prepare(db, "SELECT " HH_SELECT ", x.id, x.status, x.channels, x.risk_types, "
				    "x.first_at, x.last_at, x.closed_note FROM alert x " HH_JOIN
				    "WHERE " HH_WHERE "ORDER BY h.village_code, h.hh_no, x.id");
		break;
	case MONITOR_EXPORT_FINDINGS:
		cols = finding_cols, nr_cols = (int)ARRAY_SIZE(finding_cols), sheet = "数据质量疑点";
		st = db_prepare(db, "SELECT " HH_SELECT ", x.check_id, d.grp, d.severity, d.title, "
				    "fm.name, fm.id_number, x.explain, d.advice, x.first_seen, "
				    "x.last_seen FROM check_finding x " HH_JOIN "JOIN check_def d ON d.id = "
				    "x.check_id AND d.version = x.check_version LEFT JOIN member fm ON "
				    "fm.id = x.member_id WHERE x.state = 'open' AND " HH_WHERE
				    "ORDER BY h.village_code, h.hh_no, x.check_id, x.id");
		break;
	case MONITOR_EXPORT_FEED_HITS:
		cols = feed_hit_cols, nr_cols = (int)ARRAY_SIZE(feed_hit_cols), sheet = "部门数据预警";
		st = db_prepare(db, "SELECT " HH_SELECT ", x.id, (SELECT d.title FROM feed_def d WHERE "
				    "d.id = x.feed_id ORDER BY d.version DESC LIMIT 1), x.rule_id, "
				    "fm.name, fm.id_number, x.explain, x.created_at, x.due_on, x.state, "
				    "x.feedback, x.feedback_by, x.feedback_at FROM feed_hit x " HH_JOIN
				    "JOIN member fm ON fm.id = x.member_id WHERE " HH_WHERE
				    "ORDER BY h.village_code, h.hh_no, x.id");
		break;
	default:
		buf_addstr(err, "未知的导出清单");
		return -1;
	}
	t = table_open(fmt, fd, out, sheet, cols, nr_cols, NULL, err);
	if (!t) {
		db_done(st);
		return -1;
	}
	db_bind_prefix(st, ":lo", ":hi", under ? under : "");
	while ((rc = db_step(st)) == DB_ROW) {
		int c = NR_HC;
		put_household(t, st, masked);
		switch (list) {
		case MONITOR_EXPORT_MONITORED:
			table_number(t, (double)db_col_int(st, c), 0);
			put_code(t, &code_monitor_category, db_col_int(st, c + 1),
				 db_col_is_null(st, c + 1));
			put_risks(t, db_col_text(st, c + 2));
			put_date(t, db_col_text(st, c + 3));
			table_text(t, !strcmp(db_col_text(st, c + 4), "eliminated") ? "已消除" : "监测中",
				   0);
			table_text(t, db_col_text(st, c + 5), 0);
			put_date(t, db_col_text(st, c + 6));
			table_text(t, db_col_text(st, c + 7), 0);
			if (masked && *db_col_text(st, c + 8)) {
				char ph[24];
				registry_mask_phone(db_col_text(st, c + 8), ph);
				table_text(t, ph, 0);
			} else {
				table_text(t, db_col_text(st, c + 8), 0);
			}
			break;
		case MONITOR_EXPORT_MEASURES: {
			int cat = (int)db_col_int(st, c);
			const struct code_list *items = monitor_measure_items(cat);
			put_code(t, &code_measure_category, cat, 0);
			table_text(t, monitor_measure_table(cat), 0);
			put_code(t, items ? items : &code_measure_category, db_col_int(st, c + 1),
				 !items);
			put_date(t, db_col_text(st, c + 2));
			put_date(t, db_col_is_null(st, c + 3) ? NULL : db_col_text(st, c + 3));
			table_number(t, (double)db_col_int(st, c + 4) / 100.0, 0);
			table_text(t, db_col_text(st, c + 5), 0);
			table_text(t, db_col_text(st, c + 6), 0);
			table_text(t, db_col_text(st, c + 7), 0);
			break;
		}
		case MONITOR_EXPORT_ALERTS: {
			const char *status = db_col_text(st, c + 1);
			int64_t ch = db_col_int(st, c + 2);
			struct buf b = BUF_INIT;
			table_number(t, (double)db_col_int(st, c), 0);
			table_text(t, !strcmp(status, "open")        ? "待核实"
				      : !strcmp(status, "case")      ? "已启动识别"
				      : !strcmp(status, "dismissed") ? "核实无风险"
								     : "已关闭",
				   0);
			for (int k = 1; k < (int)ARRAY_SIZE(channel_names); k++)
				if (ch & (1 << k))
					buf_addf(&b, "%s%s", b.len ? "、" : "", channel_names[k]);
			table_text(t, b.buf, 0);
			buf_release(&b);
			put_risks(t, db_col_text(st, c + 3));
			put_time(t, db_col_text(st, c + 4));
			put_time(t, db_col_text(st, c + 5));
			table_text(t, db_col_text(st, c + 6), 0);
			break;
		}
		case MONITOR_EXPORT_FINDINGS: {
			const char *grp = db_col_text(st, c + 1), *idn = db_col_text(st, c + 5);
			table_text(t, db_col_text(st, c), 0);
			table_text(t, screen_check_group_label(grp) ? screen_check_group_label(grp) : grp,
				   0);
			table_text(t, db_col_text(st, c + 2), 0);
			table_text(t, db_col_text(st, c + 3), 0);
			table_text(t, db_col_text(st, c + 4), 0);
			put_id(t, idn, masked);
			table_text(t, db_col_text(st, c + 6), 0);
			table_text(t, db_col_text(st, c + 7), 0);
			put_time(t, db_col_text(st, c + 8));
			put_time(t, db_col_text(st, c + 9));
			break;
		}
		case MONITOR_EXPORT_FEED_HITS:
			table_number(t, (double)db_col_int(st, c), 0);
			for (int k = 1; k <= 3; k++) /* 数据类型, 规则, 成员姓名 */
				table_text(t, db_col_text(st, c + k), 0);
			put_id(t, db_col_text(st, c + 4), masked);
			table_text(t, db_col_text(st, c + 5), 0);
			put_time(t, db_col_text(st, c + 6));
			put_date(t, db_col_text(st, c + 7));
			for (int k = 8; k <= 10; k++) /* 核实结果, 核实情况, 核实人 */
				table_text(t, db_col_text(st, c + k), 0);
			put_time(t, db_col_text(st, c + 11));
			break;
		}
		n++;
		if (table_row_end(t)) {
			failed = 1;
			break;
		}
	}
	db_done(st);
	if (rc < 0 && !failed) {
		buf_addf(err, "导出失败：%s", db_errmsg(db));
		failed = 1;
	}
	if (table_close(t, err))
		failed = 1;
	if (rows)
		*rows = n;
	return failed ? -1 : 0;
}

/* ---- routes ------------------------------------------------------------------------ */

/* GET /api/v1/export/{monitored,measures,alerts,findings,feed-hits}?format=xlsx|csv&region=CODE */
static void export_route(struct http_request *req, struct http_response *res,
			 enum monitor_export list)
{
	static const char *const params[] = { "format", "region", NULL };
	static const char *const ascii[] = { "monitored", "measures", "alerts", "findings",
					     "feed-hits" };
	static const char *const chinese[] = { "监测对象", "帮扶措施", "风险线索", "数据质量疑点",
					       "部门数据预警" };
	const char *region = http_query(req, "region"), *f = http_query(req, "format");
	const char *scope = req->principal->scope;
	enum table_format fmt = TABLE_XLSX;
	struct buf err = BUF_INIT;
	char prefix[13], a[96], u[160], now[20], day[9];
	long rows = 0;
	int full;

	if (http_refuse_unknown_params(req, res, params))
		return;
	if (f && strcmp(f, "xlsx") && strcmp(f, "csv")) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "format 应为 xlsx 或 csv");
		return;
	}
	if (f && !strcmp(f, "csv"))
		fmt = TABLE_CSV;
	if (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "region 应为最多12位的数字区划代码前缀");
		return;
	}
	if (region && *region && !starts_with(region, scope) && !starts_with(scope, region)) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该行政区划（不在您的辖区内）");
		return;
	}
	snprintf(prefix, sizeof(prefix), "%s", region && strlen(region) > strlen(scope) ? region : scope);
	full = auth_permitted(req->principal, PERM_ID_FULL);
	buf_reset(&res->body);
	if (monitor_export_to(req->db, list, fmt, prefix, !full, -1, &res->body, &rows, &err)) {
		buf_reset(&res->body);
		http_reply_error(res, 500, "E_EXPORT", NULL, "导出失败：%s", err.buf);
		buf_release(&err);
		return;
	}
	res->status = 200;
	res->content_type = table_mime(fmt);
	now_utc_text(now);
	snprintf(day, sizeof(day), "%.4s%.2s%.2s", now, now + 5, now + 8);
	snprintf(a, sizeof(a), "%s-%s-%s.%s", ascii[list - 1], prefix[0] ? prefix : "all", day,
		 table_ext(fmt));
	snprintf(u, sizeof(u), "%s-%s-%s.%s", chinese[list - 1], prefix[0] ? prefix : "全部", day,
		 table_ext(fmt));
	registry_attachment(res, a, u);
	req->audit.sensitive = 1;
	snprintf(req->audit.detail, sizeof(req->audit.detail), "导出%s %ld 行（%s，区划 %s，%s）",
		 chinese[list - 1], rows, fmt == TABLE_XLSX ? "Excel" : "CSV",
		 prefix[0] ? prefix : "全部", full ? "完整身份证号" : "身份证号已脱敏");
	buf_release(&err);
}

static void api_export_monitored(struct http_request *req, struct http_response *res)
{
	export_route(req, res, MONITOR_EXPORT_MONITORED);
}

static void api_export_measures(struct http_request *req, struct http_response *res)
{
	export_route(req, res, MONITOR_EXPORT_MEASURES);
}

static void api_export_alerts(struct http_request *req, struct http_response *res)
{
	export_route(req, res, MONITOR_EXPORT_ALERTS);
}

static void api_export_findings(struct http_request *req, struct http_response *res)
{
	export_route(req, res, MONITOR_EXPORT_FINDINGS);
}

static void api_export_feed_hits(struct http_request *req, struct http_response *res)
{
	export_route(req, res, MONITOR_EXPORT_FEED_HITS);
}

const struct route monitor_export_routes[] = {
	{ "GET", "/api/v1/export/monitored", api_export_monitored, 0, "export",
	  "导出监测对象（Excel 或 CSV，留痕）" },
	{ "GET", "/api/v1/export/measures", api_export_measures, 0, "export",
	  "导出帮扶措施（Excel 或 CSV，留痕）" },
	{ "GET", "/api/v1/export/alerts", api_export_alerts, 0, "export",
	  "导出风险线索（Excel 或 CSV，留痕）" },
	{ "GET", "/api/v1/export/findings", api_export_findings, 0, "export",
	  "导出数据质量疑点（未处理的，Excel 或 CSV，留痕）" },
	/* the departments' list: who loads the feeds follows up their warnings */
	{ "GET", "/api/v1/export/feed-hits", api_export_feed_hits, 0, "feed.load",
	  "导出部门数据预警及村级核实情况（Excel 或 CSV，留痕）" },
	{ NULL },
};
