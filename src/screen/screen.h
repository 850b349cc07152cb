/* screen.h — the screen module: department data feeds (部门数据) matched to
 * the registry by 身份证号, the rules on feeds that raise alerts, and the
 * data-quality check catalogue (数据比对 / 疑点).  One public header for the
 * module; the feed part and the check part keep their own sections. */
#ifndef LIUBAO_SCREEN_H
#define LIUBAO_SCREEN_H

#include <stdint.h>

#include "base/buf.h"
#include "db/db.h"
#include "http/http.h"

/* ---- department feeds (feed_def.c, feed_load.c, feed_api.c, feed_demo.c) --
 * A feed (部门数据) is a named, versioned kind of list a department sends —
 * its columns, cadence, thresholds and rules are data (table feed_def and
 * friends).  Loading a file validates every row, matches people by
 * normalised 身份证号, sums each person's rows, evaluates the feed's rules
 * and turns hits into monitoring alerts (one per household, merged) that the
 * village verifies by a due date. */

/* A department warning (a feed hit) as pages show it; strings owned. */
struct feed_hit_row {
	int64_t id;
	char *feed_title, *member_name, *explain;
	char *state;  /* 待核实 | 已核实-纳入 | 已核实-无风险 | 不属实 */
	char *due_on; /* YYYY-MM-DD, the village's deadline */
	char *feedback, *feedback_by, *feedback_at;
	const char *light; /* "red" overdue, "yellow" waiting, "green" answered */
};
/* The warnings of household `hh`, the waiting first (by deadline): their
 * number, or -1 on a database error. */
int feed_hits_of_household(struct db *db, int64_t hh, struct feed_hit_row **rows);
void feed_hit_rows_free(struct feed_hit_row *rows, int n);

#define FEED_NOTE_MAX 2000

/* Why an answer was refused: a stable E_ code, the field at fault (or NULL)
 * and a Chinese message. */
struct feed_refusal {
	const char *code, *field;
	struct buf message;
};
/* The village's answer to warning `id` (of household `hh`, when not 0), in
 * the caller's region: `state` 已核实-纳入, 已核实-无风险 or 不属实 and a
 * note of 1..FEED_NOTE_MAX bytes.  Stored with who and when, and audited.
 * Returns 0, or the HTTP status of the refusal (404, 422, 500) with `why`
 * filled. */
int feed_hit_answer(struct http_request *req, int64_t hh, int64_t id, const char *state,
		    const char *note, struct feed_refusal *why);

/* The feed tables ("screen.feed" migrations) and the shipped feeds. */
int screen_feed_migrate(struct db *db);
/* Add the shipped feeds that are missing (caller's transaction); 0 or -1. */
int screen_feed_install(struct db *db);

enum feed_issue_kind {
	FEED_ISSUE_BAD = 1,       /* a row that cannot be used (skipped only when told) */
	FEED_ISSUE_UNMATCHED = 2, /* a valid 身份证号 nobody in the registry has */
	FEED_ISSUE_NAME = 3,      /* the registry's name for the number differs */
	FEED_ISSUE_OUTSIDE = 4,   /* the person lives outside the loader's region */
};

/* One line of a load report: a bad row, or a person of a kind, with the
 * first line it was seen on and how many rows share it. */
struct feed_issue {
	int kind;             /* enum feed_issue_kind */
	long line;            /* physical line in the file (1-based) */
	long nr_rows;         /* rows of this person with this problem */
	char column[64];      /* the column at fault (bad rows), or "" */
	char id_masked[19];   /* 身份证号 masked, "" when unreadable */
	char name[64];        /* the name as the file wrote it */
	int64_t household_id; /* FEED_ISSUE_NAME: the registry household, else 0 */
	char message[256];    /* Chinese */
};

struct feed_load_opts {
	const char *feed;      /* feed id or Chinese title */
	const char *data;      /* the file's bytes (UTF-8 or GB18030 CSV) */
	size_t len;
	const char *file_name; /* for the batch record, may be NULL */
	const char *period;    /* "YYYY-MM" the data covers; NULL = this month */
	const char *scope;     /* the loader's region prefix ("" = all) */
	int skip_bad;          /* load the good rows when some are bad */
	int dry_run;           /* check and match only; write nothing */
	int64_t user_id;       /* who loads (0 for the command line without --as) */
	const char *login;
	int max_issues;        /* issues kept (and stored) beyond the count; 0 = 100,000 */
	/* progress: a stage name (Chinese) and the fraction done, 0..1 */
	void (*progress)(void *ctx, const char *stage, double frac);
	void *progress_ctx;
};

struct feed_report {
	char code[32];        /* on failure: a stable E_ code */
	struct buf message;   /* on failure: Chinese */
	char feed_id[32];
	int feed_version;
	char feed_title[128];
	char period[8];       /* YYYY-MM */
	char encoding[16];
	char hash[65];        /* "xxh3:" and XXH3-128 of the file in hex (older batches:
	                       * BLAKE2b-256 in hex) */
	int64_t batch_id;     /* the stored batch (0 for a dry run or a refusal) */
	int64_t duplicate_of; /* E_DUPLICATE_BATCH: the batch that loaded this file */
	long rows, bad_rows, matched_rows, unmatched_rows, mismatch_rows, outside_rows;
	long persons;         /* distinct matched people */
	long hits;            /* rule hits this load (new or updated) */
	long alerts;          /* alerts created or added to */
	struct feed_issue *issues; /* the first max_issues issues, bad rows first */
	int nr_issues, alloc_issues;
	long total_issues;
	double seconds;
};
void feed_report_init(struct feed_report *r);
void feed_report_release(struct feed_report *r);

/* Load one file of a feed.  Returns 0 when it was loaded (or, for a dry
 * run, would load), 1 when rows are bad and skip_bad is not set (nothing
 * written; the report lists them), -1 when the file cannot be loaded at all
 * (unknown feed, undecodable text, no header, a required column missing,
 * the same file loaded before, a database error): r->code and r->message. */
int screen_feed_load(struct db *db, const struct feed_load_opts *o, struct feed_report *r);

/* Store a feed definition (JSON, the shape of the shipped ones) as a new
 * feed or the next version of an existing one; changed rules get new
 * versions.  Caller's transaction.  0 (version in *version), or -1 with a
 * Chinese message in err. */
int screen_feed_define(struct db *db, const char *json_text, const char *by, int *version,
		       struct buf *err);

/* Demo data: a year of 医保 inpatient claims, a 低保/特困 list, a 危房 list,
 * a 残疾证 list, a disaster list and a death list (a few still listed),
 * generated for the households under `county` and loaded as batches.
 * Deterministic in seed.  0 or -1. */
int screen_feed_demo(struct db *db, const char *county, int year, uint64_t seed);

/* The id of the feed named `name` (its id or its Chinese title) into out:
 * 1 found, 0 none, -1 error. */
int screen_feed_resolve(struct db *db, const char *name, char out[32]);

/* The feed routes. */
extern const struct route screen_feed_routes[];

/* ---- data-quality checks (check.c, check_pass.c, check_api.c, check_demo.c)
 * A catalogue of checks (疑点规则), versioned rows in table check_def: id,
 * group, severity, Chinese title and advice, and either an expression in
 * the rule language (src/rules, over the monitoring catalogue of fields plus
 * a few registry fields) or the name of a built-in check written in C or
 * SQL (身份证号, 家庭结构, 代码值, duplicates across households…).  A run
 * evaluates every enabled check over a region in one pass over households
 * and members and keeps the findings (疑点) in table check_finding, one open
 * finding per (check, household, member): a rerun updates what it finds
 * again, opens what is new and closes what is gone. */

/* Create or upgrade the tables of the checks ("screen.check") and install
 * the shipped checks that are missing.  0 or -1. */
int screen_check_migrate(struct db *db);

struct check_report {
	int64_t run_id;	       /* check_run.id, 0 for a dry run */
	int checks;	       /* checks run */
	int failed;	       /* checks that did not compile (skipped) */
	long hits;	       /* findings seen by this run */
	long opened, closed;   /* findings opened and closed by it */
	double seconds;
	struct buf text;       /* one line per check (Chinese); caller releases */
};
enum { CHECK_PROGRESS = 1, /* progress on stderr */
       CHECK_DRY_RUN = 2 }; /* evaluate and count, store nothing */
/* Run the current version of every enabled check (of group `group`, NULL or
 * "" for all) over the households under region prefix `under` ("" = all)
 * with income and monitoring-line year `year`, and store the findings in
 * one transaction of its own (the caller must not hold one).  `by` is the
 * login recorded with the run.  0, or -1 with the reason reported. */
int screen_check_run(struct db *db, const char *under, int year, const char *group, const char *by,
		     struct check_report *rep, int flags);
/* 1 if `group` names a check group (身份信息 … as ids "identity" …). */
int screen_check_group_known(const char *group);
/* The Chinese title of check group `group` (身份信息…), or NULL. */
const char *screen_check_group_label(const char *group);
/* Append the current catalogue to `out`, one check per line (Chinese). */
void screen_check_list(struct db *db, struct buf *out);
/* The demo district's deliberate data errors (a small, fixed number, all
 * of kinds the registry import accepts, so the demo still exports and
 * re-imports), then one check run so findings exist on first start.  0 or -1. */
int screen_check_demo(struct db *db, const char *county, uint64_t seed);

/* HTTP routes of the checks, NULL-terminated. */
extern const struct route screen_check_routes[];

#endif
