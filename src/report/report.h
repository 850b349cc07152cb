/* report.h — aggregates for leaders' dashboards: monitored households by
 * region and category, risk types, alerts, overdue workflow steps, measures
 * and monthly trends.  Aggregates only: no name, 身份证号, phone, 户编号 or
 * household id ever leaves this module.
 *
 * Counting the registry live costs 0.15–0.25 s per aggregate on a
 * 300,000-household county (measured, bench/RESULTS.md), so the slow ones are
 * precomputed: report_refresh() counts every table once, rolls the counts up
 * from each village to its township, county, city, province and the whole
 * database, and stores them in table report_cell.  A request for a region
 * then reads the rows of that region and of its children (a few hundred).
 * The summary is rebuilt when it is older than report_max_age_seconds (in
 * the server by a background thread started by the request that finds it
 * stale, which like every other request meanwhile reads the previous one),
 * or by `liubao report refresh`.  Workflow cases are counted
 * live: there are few active ones, and their red/yellow lights depend on
 * today's date and the working-day calendar. */
#ifndef REPORT_REPORT_H
#define REPORT_REPORT_H

#include <stdint.h>
#include "base/buf.h"
#include "db/db.h"
#include "http/http.h"

/* The migration of module "report" (tables report_cell, report_state). */
int report_migrate(struct db *db);

/* Seconds a summary stays fresh (default 300); 0 rebuilds it for every
 * request (tests).  Set by `liubao serve --report-max-age`. */
extern long report_max_age_seconds;

struct report_build_info {
	int64_t cells;   /* rows written to report_cell */
	double seconds;  /* time taken */
};
/* Recount everything and replace the summary, in one transaction of its
 * own (the counting happens before it, so writers are held up only while
 * the rows are written).  0, or -1 with the message in db_errmsg(). */
int report_refresh(struct db *db, struct report_build_info *info);
/* Rebuild the summary if it is missing or older than
 * report_max_age_seconds.  A missing summary (or any, with max age 0) is
 * built before returning, one thread at a time.  A stale one is kept for
 * this answer and rebuilt by a background thread on a connection of its
 * own when report_rebuild_in_background is set (the server sets it; a
 * command that exits at once must not), else here.  0 when a summary is
 * there to be read, -1 when there is none and it could not be built. */
int report_ensure_fresh(struct db *db);
/* Rebuild stale summaries in a background thread (see above); default 0. */
extern int report_rebuild_in_background;

/* Sections of a report (bit mask). */
enum report_section {
	REPORT_MONITORED = 1 << 0, /* kpi, categories, sub-regions */
	REPORT_RISK = 1 << 1,      /* risk types */
	REPORT_ALERTS = 1 << 2,    /* new alerts this month, open alerts, channels */
	REPORT_OVERDUE = 1 << 3,   /* active cases by step × sub-region, lights */
	REPORT_MEASURES = 1 << 4,  /* measures by category */
	REPORT_TREND = 1 << 5,     /* new monitored, eliminated, alerts per month */
	REPORT_ALL = (1 << 6) - 1,
};

/* Write the JSON report of `region` (a region code or prefix, "" or NULL
 * for `scope` itself) for a caller whose region scope is `scope` ("" = all)
 * into `out`: the sections asked for, `months` months of trend (1..36).
 * Returns an HTTP status: 200 (out filled), 400 (bad region code), 404
 * (no such region, or outside the scope; the two are not told apart) or 503
 * (no summary could be built); on an error `code` and `msg` (Chinese)
 * describe it. */
int report_write(struct db *db, const char *scope, const char *region, unsigned sections,
		 int months, struct buf *out, const char **code, struct buf *msg);

/* ---- the summary's rows (shared by report.c and report_api.c) ---------------- */

/* What a report_cell row counts, with the meaning of its keys. */
enum report_metric {
	RM_HOUSEHOLDS = 1,    /* households in the registry */
	RM_MONITORED = 2,     /* k1 enum report_status, k2 category: n households, n2 persons */
	RM_RISK = 3,          /* k1 risk-type code, k2 enum report_status: n households */
	RM_NEW = 4,           /* k1 yyyymm of identified_on: n households identified */
	RM_ELIMINATED = 5,    /* k1 yyyymm of eliminated_on: n households out of risk */
	RM_ALERTS = 6,        /* k1 yyyymm (China date) of first_at: n alerts raised */
	RM_ALERT_CHANNEL = 7, /* k1 yyyymm, k2 enum alert_channel: n alerts through it */
	RM_ALERTS_OPEN = 8,   /* alerts still open (待核实) */
	RM_MEASURES = 9,      /* k1 measure category: n measures, n2 households, n3 分 */
};
/* monitored.status as a key. */
enum report_status { RS_MONITORING = 1, RS_ELIMINATED = 2 };
/* "2025-03" (or a longer date) as 202503; 0 when empty or malformed. */
int report_yyyymm(const char *s);

/* HTTP routes of the report module (GET /api/v1/report/...), NULL-terminated. */
extern const struct route report_routes[];

/* ---- printable notices (notice.c) ---------------------------------------------
 * The village public notice (村内公示) of households proposed for monitoring
 * or for risk elimination, and the announcement (公告) of the households
 * decided in a period, as print-ready HTML (A4, names and masked 身份证号,
 * the notice period, the objection phone).  Unlike the aggregates above,
 * these name people: a public notice must. */

enum notice_kind {
	NOTICE_VILLAGE = 1,   /* 村内公示: cases now at the 村内公示 step in one village */
	NOTICE_PUBLISHED = 2, /* a 公告 published after 县级审定 (monitor's case_notice) */
};

struct notice_opts {
	enum notice_kind kind;
	int case_kind;          /* 村内公示: enum case_kind, 1 识别纳入, 2 风险消除 */
	const char *region;     /* 村内公示: the village's 12-digit code */
	const char *phone;      /* 村内公示: objection phone; NULL or "" leaves a line to fill in */
	const char *today;      /* 村内公示: YYYY-MM-DD (unused by the period, which is the step's) */
	int64_t notice_id;      /* 公告: case_notice.id */
	const char *scope;      /* 公告: only the households under this prefix ("" = all) */
};

/* Write the notice as a complete HTML document into `out`; *households
 * receives how many households it lists.  0, or -1 with a Chinese message
 * in err (an unknown region, say; for a 公告 that does not exist or has no
 * household in the scope, err stays empty). */
int report_notice_html(struct db *db, const struct notice_opts *o, struct buf *out,
		       long *households, struct buf *err);

/* HTTP routes of the printable notices (GET /api/v1/public-notice,
 * GET /api/v1/notices/:id/print), NULL-terminated. */
extern const struct route report_notice_routes[];

#endif
