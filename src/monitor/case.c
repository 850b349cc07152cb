/* case.c — alerts (风险线索) and the statutory workflows: identification
 * (识别纳入: 入户核查 → 信息比对 → 民主评议 → 村内公示 → 乡镇审核 → 县级审定)
 * and risk elimination (风险消除: 入户核实 → 民主评议 → 村内公示 → 乡镇审核 →
 * 县级审定), each step owned by one role, with working-day time limits.
 *
 * Tables (module "monitor.case"): alert, alert_evidence, monitor_case,
 * case_event, monitored, visit, hh_security. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "auth/auth.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/registry.h"

/* ---- code lists ------------------------------------------------------------- */

static const struct code_item risk_type_items[] = {
	{ 1, "因病", 0 },         { 2, "因灾", 0 },          { 3, "因残", 0 },
	{ 4, "缺劳动力", 0 },     { 5, "因意外事故", 0 },    { 6, "因产业失败", 0 },
	{ 7, "因务工就业不稳", 0 }, { 9, "因学", 0 },        { 10, "因安全住房", 0 },
	{ 11, "因安全饮水", 0 },  { 12, "因新冠肺炎疫情影响", 0 }, { 99, "其他", 0 },
};
const struct code_list code_risk_type = { "risk_type", "风险类型", risk_type_items,
					  ARRAY_SIZE(risk_type_items), 0 };

static const struct code_item category_items[] = {
	{ 1, "脱贫不稳定户", 0 },
	{ 2, "边缘易致贫户", 0 },
	{ 3, "突发严重困难户", 0 },
};
const struct code_list code_monitor_category = { "monitor_category", "监测对象类别",
						 category_items, ARRAY_SIZE(category_items), 0 };

/* ---- the steps ------------------------------------------------------------------ */

static const char *const rec_check[] = { "note", NULL };                   /* 核查情况 */
static const char *const rec_compare[] = { "note", NULL };                 /* 比对结果 */
static const char *const rec_review[] = { "minutes", NULL };               /* 评议记录 */
static const char *const rec_notice[] = { "objections", NULL };            /* 公示异议情况 */
static const char *const rec_opinion[] = { "note", NULL };                 /* 审核意见 */
static const char *const rec_approve_id[] = { "note", "category", "risk_types", "contact_name",
					      "contact_phone", NULL };
static const char *const rec_approve_el[] = { "note", NULL };

static const struct case_step_def identify_steps[] = {
	{ 1, "入户核查", "village_clerk", 3, 0, rec_check },
	{ 2, "信息比对", "township_reviewer", 5, 0, rec_compare },
	{ 3, "民主评议", "village_clerk", 3, 0, rec_review },
	{ 4, "村内公示", "village_clerk", 0, 5, rec_notice },
	{ 5, "乡镇审核", "township_reviewer", 3, 0, rec_opinion },
	{ 6, "县级审定", "county_approver", 3, 0, rec_approve_id },
};

static const struct case_step_def eliminate_steps[] = {
	{ 1, "入户核实", "village_clerk", 3, 0, rec_check },
	{ 2, "民主评议", "village_clerk", 3, 0, rec_review },
	{ 3, "村内公示", "village_clerk", 0, 5, rec_notice },
	{ 4, "乡镇审核", "township_reviewer", 3, 0, rec_opinion },
	{ 5, "县级审定", "county_approver", 3, 0, rec_approve_el },
};

/* The whole identification should finish within this many working days. */
#define IDENTIFY_TOTAL_WORKDAYS 20

const struct case_step_def *monitor_case_steps(enum case_kind kind, int *n)
{
	if (kind == CASE_ELIMINATE) {
		*n = ARRAY_SIZE(eliminate_steps);
		return eliminate_steps;
	}
	*n = ARRAY_SIZE(identify_steps);
	return identify_steps;
}

static const struct case_step_def *step_def(enum case_kind kind, int step)
{
	int n;
	const struct case_step_def *d = monitor_case_steps(kind, &n);
	return step >= 1 && step <= n ? &d[step - 1] : NULL;
}

/* ---- schema --------------------------------------------------------------------- */

static const struct db_migration case_migrations[] = {
	{ 1, "alerts, cases, monitored households, visits, 三保障 records",
	  "CREATE TABLE alert(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  status TEXT NOT NULL,        -- open | case | dismissed\n"
	  "  channels INTEGER NOT NULL DEFAULT 0, -- bitmask of 1<<alert_channel seen\n"
	  "  risk_types TEXT NOT NULL DEFAULT '', -- suggested codes, comma-separated\n"
	  "  first_at TEXT NOT NULL,\n"
	  "  last_at TEXT NOT NULL,\n"
	  "  case_id INTEGER,             -- monitor_case opened from it\n"
	  "  closed_note TEXT NOT NULL DEFAULT '' -- reason when dismissed\n"
	  ");\n"
	  "CREATE INDEX alert_household ON alert(household_id, status);\n"
	  "CREATE INDEX alert_status ON alert(status, id);\n"
	  "CREATE TABLE alert_evidence(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  alert_id INTEGER NOT NULL REFERENCES alert(id) ON DELETE CASCADE,\n"
	  "  channel INTEGER NOT NULL,    -- enum alert_channel\n"
	  "  source TEXT NOT NULL,        -- rule id, visit:N, feed name\n"
	  "  source_version INTEGER NOT NULL DEFAULT 0, -- rule version that fired\n"
	  "  risk_types TEXT NOT NULL DEFAULT '',\n"
	  "  explain TEXT NOT NULL,       -- Chinese: the values that made it fire\n"
	  "  created_at TEXT NOT NULL,\n"
	  "  created_by INTEGER           -- users.id, NULL for the system\n"
	  ");\n"
	  "CREATE INDEX alert_evidence_alert ON alert_evidence(alert_id);\n"
	  "CREATE TABLE monitor_case(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  kind INTEGER NOT NULL,       -- 1 识别纳入, 2 风险消除\n"
	  "  step INTEGER NOT NULL,       -- current step (case_step_def.step)\n"
	  "  state TEXT NOT NULL,         -- active | done | rejected\n"
	  "  opened_at TEXT NOT NULL,     -- YYYY-MM-DD\n"
	  "  opened_by INTEGER,\n"
	  "  step_started TEXT NOT NULL,  -- YYYY-MM-DD the current step began\n"
	  "  step_due TEXT NOT NULL DEFAULT '', -- YYYY-MM-DD deadline of the step ('' = none)\n"
	  "  total_due TEXT NOT NULL DEFAULT '', -- deadline of the whole procedure\n"
	  "  elim_mode TEXT NOT NULL DEFAULT '', -- 帮扶消除 | 自然消除 (elimination)\n"
	  "  closed_at TEXT NOT NULL DEFAULT '',\n"
	  "  alert_id INTEGER\n"
	  ");\n"
	  "CREATE INDEX case_household ON monitor_case(household_id);\n"
	  "CREATE INDEX case_state ON monitor_case(state, step, step_due);\n"
	  "CREATE TABLE case_event(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  case_id INTEGER NOT NULL REFERENCES monitor_case(id) ON DELETE CASCADE,\n"
	  "  step INTEGER NOT NULL,       -- the step acted on\n"
	  "  action TEXT NOT NULL,        -- open | advance | return | reject | done\n"
	  "  at TEXT NOT NULL,            -- UTC time\n"
	  "  on_date TEXT NOT NULL,       -- the business date (YYYY-MM-DD)\n"
	  "  user_id INTEGER, login TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '',\n"
	  "  record TEXT NOT NULL DEFAULT '{}' -- JSON: the step's required record\n"
	  ");\n"
	  "CREATE INDEX case_event_case ON case_event(case_id, id);\n"
	  "CREATE TABLE monitored(\n"
	  "  household_id INTEGER PRIMARY KEY REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  status TEXT NOT NULL,        -- monitoring | eliminated\n"
	  "  category INTEGER NOT NULL,   -- code_monitor_category\n"
	  "  risk_types TEXT NOT NULL,    -- up to 5 codes, comma-separated\n"
	  "  risk_mask INTEGER NOT NULL DEFAULT 0, -- the same as bits: 1 << (index in code_risk_type)\n"
	  "  identified_on TEXT NOT NULL, -- YYYY-MM-DD (识别监测时间)\n"
	  "  contact_name TEXT NOT NULL DEFAULT '', contact_phone TEXT NOT NULL DEFAULT '',\n"
	  "  eliminated_on TEXT NOT NULL DEFAULT '', elim_mode TEXT NOT NULL DEFAULT '',\n"
	  "  case_id INTEGER              -- the case that decided the current status\n"
	  ");\n"
	  "CREATE TABLE visit(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  visit_date TEXT NOT NULL,     -- YYYY-MM-DD\n"
	  "  user_id INTEGER, visitor TEXT NOT NULL DEFAULT '',\n"
	  "  note TEXT NOT NULL,\n"
	  "  risk_found INTEGER NOT NULL DEFAULT 0,\n"
	  "  risk_types TEXT NOT NULL DEFAULT '',\n"
	  "  created_at TEXT NOT NULL\n"
	  ");\n"
	  "CREATE INDEX visit_household ON visit(household_id, visit_date);\n"
	  "CREATE TABLE hh_security(\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  year INTEGER NOT NULL,\n"
	  "  housing_safe INTEGER NOT NULL, -- 住房安全有保障\n"
	  "  schooling_ok INTEGER NOT NULL, -- 无义务教育阶段失学辍学\n"
	  "  water_safe INTEGER NOT NULL,   -- 饮水安全有保障\n"
	  "  medical_ok INTEGER NOT NULL,   -- 全部成员参加基本医疗保险\n"
	  "  recorded_on TEXT NOT NULL,\n"
	  "  PRIMARY KEY(household_id, year)\n"
	  ");\n",
	  NULL },
	/* Queues and totals filter cases by region: with the village on the
	 * case itself a township's queue reads its own cases from an index,
	 * instead of looking up the household of every case in the county.
	 * Triggers keep the copy right: set on insert, moved with the household. */
	{ 2, "the household's village on cases and monitored households, kept by triggers",
	  "ALTER TABLE monitor_case ADD COLUMN village_code TEXT NOT NULL DEFAULT '';\n"
	  "  -- household.village_code, copied by the triggers below (scope filters)\n"
	  "UPDATE monitor_case SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "  WHERE h.id = monitor_case.household_id), '');\n"
	  "CREATE INDEX case_village ON monitor_case(state, village_code, kind, step, step_due);\n"
	  "ALTER TABLE monitored ADD COLUMN village_code TEXT NOT NULL DEFAULT '';\n"
	  "  -- household.village_code, copied by the triggers below\n"
	  "UPDATE monitored SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "  WHERE h.id = monitored.household_id), '');\n"
	  "CREATE INDEX monitored_village ON monitored(status, village_code);\n"
	  "CREATE TRIGGER case_village_on_insert AFTER INSERT ON monitor_case BEGIN\n"
	  "  UPDATE monitor_case SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "    WHERE h.id = NEW.household_id), '') WHERE id = NEW.id;\n"
	  "END;\n"
	  "CREATE TRIGGER monitored_village_on_insert AFTER INSERT ON monitored BEGIN\n"
	  "  UPDATE monitored SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "    WHERE h.id = NEW.household_id), '') WHERE household_id = NEW.household_id;\n"
	  "END;\n"
	  "CREATE TRIGGER household_village_moves AFTER UPDATE OF village_code ON household\n"
	  "  WHEN OLD.village_code IS NOT NEW.village_code BEGIN\n"
	  "  UPDATE monitor_case SET village_code = NEW.village_code WHERE household_id = NEW.id;\n"
	  "  UPDATE monitored SET village_code = NEW.village_code WHERE household_id = NEW.id;\n"
	  "END;\n",
	  "ALTER TABLE monitor_case ADD COLUMN village_code TEXT NOT NULL DEFAULT '';\n"
	  "UPDATE monitor_case SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "  WHERE h.id = monitor_case.household_id), '');\n"
	  "CREATE INDEX case_village ON monitor_case(state, village_code, kind, step, step_due);\n"
	  "ALTER TABLE monitored ADD COLUMN village_code TEXT NOT NULL DEFAULT '';\n"
	  "UPDATE monitored SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "  WHERE h.id = monitored.household_id), '');\n"
	  "CREATE INDEX monitored_village ON monitored(status, village_code);\n"
	  "CREATE FUNCTION liubao_village_of_household() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  NEW.village_code := coalesce((SELECT h.village_code FROM household h\n"
	  "    WHERE h.id = NEW.household_id), '');\n"
	  "  RETURN NEW;\n"
	  "END $$;\n"
	  "CREATE TRIGGER case_village_on_insert BEFORE INSERT ON monitor_case\n"
	  "  FOR EACH ROW EXECUTE FUNCTION liubao_village_of_household();\n"
	  "CREATE TRIGGER monitored_village_on_insert BEFORE INSERT ON monitored\n"
	  "  FOR EACH ROW EXECUTE FUNCTION liubao_village_of_household();\n"
	  "CREATE FUNCTION liubao_household_village_moves() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  UPDATE monitor_case SET village_code = NEW.village_code WHERE household_id = NEW.id;\n"
	  "  UPDATE monitored SET village_code = NEW.village_code WHERE household_id = NEW.id;\n"
	  "  RETURN NULL;\n"
	  "END $$;\n"
	  "CREATE TRIGGER household_village_moves AFTER UPDATE OF village_code ON household\n"
	  "  FOR EACH ROW WHEN (OLD.village_code IS DISTINCT FROM NEW.village_code)\n"
	  "  EXECUTE FUNCTION liubao_household_village_moves();\n" },
	/* the queue of a role's steps ("mine") seeks each (kind, step) */
	{ 3, "cases by kind and step, then state and village",
	  "CREATE INDEX case_step ON monitor_case(kind, step, state, village_code, step_due);\n",
	  NULL },
};

int monitor_case_migrate(struct db *db)
{
	return db_migrate(db, "monitor.case", case_migrations, ARRAY_SIZE(case_migrations));
}

/* ---- dates ------------------------------------------------------------------------ */

void monitor_today_text(char out[11])
{
	monitor_date_format(monitor_today(), out);
}

/* Day number of "YYYY-MM-DD", or -1. */
static long days_of(const char *d)
{
	long z;
	return d && !monitor_date_parse(d, &z) ? z : -1;
}

static int months_between(const char *from, const char *to)
{
	int y1, m1, d1, y2, m2, d2, n;
	if (sscanf(from, "%4d-%2d-%2d", &y1, &m1, &d1) != 3 ||
	    sscanf(to, "%4d-%2d-%2d", &y2, &m2, &d2) != 3)
		return -1;
	n = (y2 - y1) * 12 + (m2 - m1);
	if (d2 < d1)
		n--;
	return n;
}

/* The deadline `n` working days after `date` into out[11] ("" when n == 0). */
static void deadline(struct db *db, const char *date, int n, char out[11])
{
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	struct work_calendar cal;
	long day = days_of(date);
	monitor_cal_init(&cal);
	if (day < 0 || monitor_cal_load(db, &cal) < 0) {
		snprintf(out, 11, "%s", date);
	} else {
		monitor_date_format(monitor_cal_add_workdays(&cal, day, n), out);
	}
	monitor_cal_release(&cal);
}

/* ---- alerts ----------------------------------------------------------------------- */

/* Merge the comma-separated code sets a and b into out (unique, ≤ 5 kept). */
static void merge_codes(const char *a, const char *b, struct buf *out)
{
	int seen[16], n = 0;
	const char *parts[2] = { a, b };
	buf_reset(out);
	for (int k = 0; k < 2; k++) {
		const char *p = parts[k];
		while (p && *p) {
			int v = atoi(p), dup = 0;
			for (int i = 0; i < n; i++)
				dup |= seen[i] == v;
			if (v > 0 && !dup && n < (int)ARRAY_SIZE(seen)) {
				seen[n++] = v;
				buf_addf(out, "%s%d", out->len ? "," : "", v);
			}
			p = strchr(p, ',');
			if (p)
				p++;
		}
	}
}

int64_t monitor_alert_add(struct db *db, const struct alert_evidence *e)
{
	struct db_stmt *st;
	int64_t alert_id = 0;
	char now[20];
	struct buf types = BUF_INIT;
	int rc;

	now_utc_text(now);
	st = db_prepare(db, "SELECT id, risk_types FROM alert WHERE household_id = :hh AND status "
			    "IN ('open', 'case') ORDER BY id DESC LIMIT 1");
	db_bind_int(st, ":hh", e->household_id);
	if (db_step(st) == DB_ROW) {
		alert_id = db_col_int(st, 0);
		merge_codes(db_col_text(st, 1), e->risk_types, &types);
	} else {
		merge_codes(e->risk_types, "", &types);
	}
	db_done(st);
	if (!alert_id) {
		st = db_prepare(db, "INSERT INTO alert(household_id, status, channels, risk_types, "
				    "first_at, last_at) VALUES(:hh, 'open', :ch, :rt, :now, :now)");
		db_bind_int(st, ":hh", e->household_id);
		db_bind_int(st, ":ch", 1 << e->channel);
		db_bind_text(st, ":rt", types.buf);
		db_bind_text(st, ":now", now);
		alert_id = db_run_insert(st);
		db_done(st);
		if (alert_id < 0)
			goto fail;
	} else {
		/* the same evidence on the same open alert is not repeated */
		int dup;
		st = db_prepare(db, "SELECT 1 FROM alert_evidence WHERE alert_id = :a AND source = :s "
				    "AND source_version = :v AND explain = :x");
		db_bind_int(st, ":a", alert_id);
		db_bind_text(st, ":s", e->source);
		db_bind_int(st, ":v", e->source_version);
		db_bind_text(st, ":x", e->explain);
		dup = db_step(st) == DB_ROW;
		db_done(st);
		if (dup) {
			buf_release(&types);
			return alert_id;
		}
		st = db_prepare(db, "UPDATE alert SET channels = channels | :ch, risk_types = :rt, "
				    "last_at = :now WHERE id = :a");
		db_bind_int(st, ":ch", 1 << e->channel);
		db_bind_text(st, ":rt", types.buf);
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":a", alert_id);
		rc = db_run(st);
		db_done(st);
		if (rc < 0)
			goto fail;
	}
	st = db_prepare(db, "INSERT INTO alert_evidence(alert_id, channel, source, source_version, "
			    "risk_types, explain, created_at, created_by) VALUES(:a, :ch, :s, :v, :rt, "
			    ":x, :now, :by)");
	db_bind_int(st, ":a", alert_id);
	db_bind_int(st, ":ch", e->channel);
	db_bind_text(st, ":s", e->source);
	db_bind_int(st, ":v", e->source_version);
	db_bind_text(st, ":rt", e->risk_types ? e->risk_types : "");
	db_bind_text(st, ":x", e->explain);
	db_bind_text(st, ":now", now);
	if (e->created_by > 0)
		db_bind_int(st, ":by", e->created_by);
	else
		db_bind_null(st, ":by");
	rc = db_run(st);
	db_done(st);
	if (rc < 0)
		goto fail;
	buf_release(&types);
	return alert_id;
fail:
	buf_release(&types);
	return -1;
}

/* ---- many alerts at once (screening) ------------------------------------------------
 * monitor_alert_add_many() gives the result of monitor_alert_add() called for
 * each evidence in turn, with a fixed number of statements instead of four
 * or five per evidence: the open alerts and their evidence are read once,
 * the merging is done in memory, and new rows go in through db_copy (COPY on
 * PostgreSQL, where a statement per evidence cost a round trip each). */

/* An open-addressing map from int64 keys (> 0) to indexes. */
struct id_map {
	int64_t *keys;
	long *vals;
	size_t size; /* a power of two */
};

static void id_map_init(struct id_map *m, size_t expect)
{
	m->size = 64;
	while (m->size < expect * 2)
		m->size *= 2;
	m->keys = xcalloc(m->size, sizeof(*m->keys));
	m->vals = xcalloc(m->size, sizeof(*m->vals));
}

static void id_map_release(struct id_map *m)
{
	free(m->keys);
	free(m->vals);
}

/* The slot of `key`: holding it, or empty where it goes. */
static size_t id_map_slot(const struct id_map *m, int64_t key)
{
	size_t i = (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ull >> 20) & (m->size - 1);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->size - 1);
	return i;
}

/* A set of evidence keys (XXH3-128 of the key's bytes), for the evidence
 * already on an alert: 16 bytes a key and no copy of its text, so a large
 * batch of evidence is checked without a string per item. */
struct key_set {
	XXH128_hash_t *items; /* high64 0: empty (keys have the low bit of high64 set) */
	size_t size, count;   /* size a power of two */
};

static size_t key_slot(const struct key_set *t, XXH128_hash_t k)
{
	size_t i = (size_t)k.low64 & (t->size - 1);
	while (t->items[i].high64 && !XXH128_isEqual(t->items[i], k))
		i = (i + 1) & (t->size - 1);
	return i;
}

/* Add `k`; 1 if it was new, 0 if already there. */
static int key_set_add(struct key_set *t, XXH128_hash_t k)
{
	size_t i;
	k.high64 |= 1;
	if ((t->count + 1) * 2 > t->size) {
		struct key_set n = { xcalloc(t->size ? t->size * 2 : 1024, sizeof(*t->items)),
				     t->size ? t->size * 2 : 1024, t->count };
		for (size_t j = 0; j < t->size; j++)
			if (t->items[j].high64)
				n.items[key_slot(&n, t->items[j])] = t->items[j];
		free(t->items);
		*t = n;
	}
	i = key_slot(t, k);
	if (t->items[i].high64)
		return 0;
	t->items[i] = k;
	t->count++;
	return 1;
}

/* The dedup key of evidence on alert `alert` (an id, or -1 - index of an
 * alert created in this call): its source, rule version and explanation. */
static XXH128_hash_t evidence_key(struct buf *k, int64_t alert, const char *source, int version,
				  const char *explain)
{
	buf_reset(k);
	buf_add(k, &alert, sizeof(alert));
	buf_add(k, &version, sizeof(version));
	buf_addstr(k, source);
	buf_addch(k, '\x1f');
	buf_addstr(k, explain);
	return XXH3_128bits(k->buf, k->len);
}

/* One household's alert as it stands during the call. */
struct alert_state {
	int64_t id;        /* existing alert id, or 0 for one created here */
	long created;      /* index among the created alerts, when id is 0 */
	struct buf types;  /* risk types, merged */
	int channels;      /* bitmask of 1 << channel */
	int touched;       /* an existing alert that got evidence: update it */
};

int monitor_alert_add_many(struct db *db, const struct alert_evidence *ev, long n)
{
	struct id_map hh;
	struct alert_state *as = NULL;
	long nr_as = 0, alloc_as = 0, nr_created = 0, *keep = NULL, nr_keep = 0;
	struct key_set seen = { 0 };
	struct buf key = BUF_INIT, merged = BUF_INIT;
	struct db_stmt *st;
	struct db_copy *cp;
	int64_t *new_ids = NULL;
	char now[20];
	int rc = -1;

	if (n <= 0)
		return 0;
	now_utc_text(now);
	id_map_init(&hh, (size_t)n);
	/* the households' open alerts: the latest open or in-case one of each */
	for (long i = 0; i < n; i++) {
		size_t k = id_map_slot(&hh, ev[i].household_id);
		hh.keys[k] = ev[i].household_id;
		hh.vals[k] = -1;
	}
	st = db_prepare(db, "SELECT household_id, id, risk_types, channels FROM alert WHERE status "
			    "IN ('open', 'case') ORDER BY household_id, id");
	while ((rc = db_step(st)) == DB_ROW) {
		size_t k = id_map_slot(&hh, db_col_int(st, 0));
		struct alert_state *a;
		if (!hh.keys[k])
			continue;
		if (hh.vals[k] < 0) {
			ALLOC_GROW(as, nr_as + 1, alloc_as);
			hh.vals[k] = nr_as++;
			buf_init(&as[hh.vals[k]].types, 0);
		}
		a = &as[hh.vals[k]]; /* ids ascend: the last one read is the latest */
		a->id = db_col_int(st, 1);
		a->created = -1;
		buf_reset(&a->types);
		buf_addstr(&a->types, db_col_text(st, 2));
		a->channels = (int)db_col_int(st, 3);
		a->touched = 0;
	}
	db_done(st);
	if (rc < 0)
		goto out;
	/* the evidence those alerts already have */
	if (nr_as) {
		struct id_map mine;
		id_map_init(&mine, (size_t)nr_as);
		for (long i = 0; i < nr_as; i++)
			mine.keys[id_map_slot(&mine, as[i].id)] = as[i].id;
		st = db_prepare(db, "SELECT e.alert_id, e.source, e.source_version, e.explain FROM "
				    "alert_evidence e JOIN alert a ON a.id = e.alert_id WHERE a.status "
				    "IN ('open', 'case')");
		while ((rc = db_step(st)) == DB_ROW) {
			int64_t aid = db_col_int(st, 0);
			if (mine.keys[id_map_slot(&mine, aid)] != aid)
				continue;
			key_set_add(&seen, evidence_key(&key, aid, db_col_text(st, 1),
							(int)db_col_int(st, 2), db_col_text(st, 3)));
		}
		db_done(st);
		id_map_release(&mine);
		if (rc < 0)
			goto out;
	}
	/* each evidence in turn, as monitor_alert_add() would take it */
	keep = xcalloc(n, sizeof(*keep));
	for (long i = 0; i < n; i++) {
		const struct alert_evidence *e = &ev[i];
		size_t k = id_map_slot(&hh, e->household_id);
		struct alert_state *a;
		if (hh.vals[k] < 0) {
			ALLOC_GROW(as, nr_as + 1, alloc_as);
			hh.vals[k] = nr_as;
			a = &as[nr_as++];
			a->id = 0;
			a->created = nr_created++;
			buf_init(&a->types, 0);
			merge_codes(e->risk_types, "", &a->types);
			a->channels = 1 << e->channel;
			a->touched = 0;
			key_set_add(&seen, evidence_key(&key, -1 - a->created, e->source,
							e->source_version, e->explain));
		} else {
			a = &as[hh.vals[k]];
			if (!key_set_add(&seen, evidence_key(&key, a->id ? a->id : -1 - a->created,
							     e->source, e->source_version,
							     e->explain)))
				continue; /* already there: not repeated */
			merge_codes(a->types.buf, e->risk_types, &merged);
			buf_reset(&a->types);
			buf_addstr(&a->types, merged.buf);
			a->channels |= 1 << e->channel;
			a->touched = a->id != 0;
		}
		keep[nr_keep++] = i;
	}
	/* the new alerts, with ids reserved so that their evidence can name them */
	new_ids = xcalloc(nr_created + 1, sizeof(*new_ids));
	if (db_next_ids(db, "alert", nr_created, new_ids))
		goto fail;
	cp = db_copy_begin(db, "alert", "id, household_id, status, channels, risk_types, "
					"first_at, last_at");
	for (long i = 0; i < n; i++) {
		size_t k = id_map_slot(&hh, ev[i].household_id);
		struct alert_state *a = &as[hh.vals[k]];
		if (a->id || a->created < 0)
			continue;
		db_copy_int(cp, new_ids[a->created]);
		db_copy_int(cp, ev[i].household_id);
		db_copy_text(cp, "open");
		db_copy_int(cp, a->channels);
		db_copy_text(cp, a->types.buf);
		db_copy_text(cp, now);
		db_copy_text(cp, now);
		db_copy_row(cp);
		a->id = new_ids[a->created]; /* written: later evidence finds it by id */
		a->created = -1;
	}
	if (db_copy_end(cp, 0))
		goto fail;
	/* the alerts that were there and got evidence */
	for (long i = 0; i < nr_as; i++) {
		if (!as[i].touched)
			continue;
		st = db_prepare(db, "UPDATE alert SET channels = :ch, risk_types = :rt, last_at = "
				    ":now WHERE id = :a");
		db_bind_int(st, ":ch", as[i].channels);
		db_bind_text(st, ":rt", as[i].types.buf);
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":a", as[i].id);
		rc = db_run(st);
		db_done(st);
		if (rc < 0)
			goto fail;
	}
	cp = db_copy_begin(db, "alert_evidence", "alert_id, channel, source, source_version, "
						 "risk_types, explain, created_at, created_by");
	for (long j = 0; j < nr_keep; j++) {
		const struct alert_evidence *e = &ev[keep[j]];
		db_copy_int(cp, as[hh.vals[id_map_slot(&hh, e->household_id)]].id);
		db_copy_int(cp, e->channel);
		db_copy_text(cp, e->source);
		db_copy_int(cp, e->source_version);
		db_copy_text(cp, e->risk_types ? e->risk_types : "");
		db_copy_text(cp, e->explain);
		db_copy_text(cp, now);
		db_copy_int_or_null(cp, e->created_by > 0 ? e->created_by : -1);
		db_copy_row(cp);
	}
	if (db_copy_end(cp, 0))
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = -1;
out:
	for (long i = 0; i < nr_as; i++)
		buf_release(&as[i].types);
	free(as);
	free(keep);
	free(new_ids);
	id_map_release(&hh);
	free(seen.items);
	buf_release(&key);
	buf_release(&merged);
	return rc < 0 ? -1 : 0;
}

/* ---- lights ------------------------------------------------------------------------ */

/* 红黄绿灯 for a step due on `due` (YYYY-MM-DD or ""), seen on `today`:
 * red when overdue, yellow when due today or within `warn` working days,
 * green otherwise (and when there is no time limit). */
const char *monitor_light(struct db *db, const char *due, const char *today)
{
	char warn_day[11];
	if (!due || !*due)
		return "green";
	if (strcmp(today, due) > 0)
		return "red";
	monitor_light_warn_day(db, today, warn_day);
	return monitor_light_at(due, today, warn_day);
}

void monitor_light_warn_day(struct db *db, const char *today, char out[11])
{
	deadline(db, today, 1, out);
}

const char *monitor_light_at(const char *due, const char *today, const char *warn_day)
{
	if (!due || !*due)
		return "green";
	if (strcmp(today, due) > 0)
		return "red";
	return strcmp(warn_day, due) >= 0 ? "yellow" : "green";
}

/* ---- cases --------------------------------------------------------------------------- */

enum { CC_ID, CC_HH, CC_KIND, CC_STEP, CC_STATE, CC_OPENED, CC_STARTED, CC_DUE, CC_TOTAL_DUE,
       CC_MODE, CC_CLOSED, CC_ALERT };
#define CASE_COLUMNS                                                                               \
	"id, household_id, kind, step, state, opened_at, step_started, step_due, total_due, "       \
	"elim_mode, closed_at, alert_id"

static void read_case(struct db_stmt *st, struct case_rec *c)
{
	memset(c, 0, sizeof(*c));
	c->id = db_col_int(st, CC_ID);
	c->household_id = db_col_int(st, CC_HH);
	c->kind = (int)db_col_int(st, CC_KIND);
	c->step = (int)db_col_int(st, CC_STEP);
	snprintf(c->state, sizeof(c->state), "%s", db_col_text(st, CC_STATE));
	snprintf(c->opened_at, sizeof(c->opened_at), "%s", db_col_text(st, CC_OPENED));
	snprintf(c->step_started, sizeof(c->step_started), "%s", db_col_text(st, CC_STARTED));
	snprintf(c->step_due, sizeof(c->step_due), "%s", db_col_text(st, CC_DUE));
	snprintf(c->total_due, sizeof(c->total_due), "%s", db_col_text(st, CC_TOTAL_DUE));
	snprintf(c->elim_mode, sizeof(c->elim_mode), "%s", db_col_text(st, CC_MODE));
	snprintf(c->closed_at, sizeof(c->closed_at), "%s", db_col_text(st, CC_CLOSED));
	c->alert_id = db_col_is_null(st, CC_ALERT) ? 0 : db_col_int(st, CC_ALERT);
}

int monitor_case_load(struct db *db, int64_t id, struct case_rec *c)
{
	struct db_stmt *st = db_prepare(db, "SELECT " CASE_COLUMNS " FROM monitor_case WHERE id = :id");
	int rc;
	db_bind_int(st, ":id", id);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_case(st, c);
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

static int add_event(struct db *db, int64_t case_id, int step, const char *action,
		     const struct principal *p, const char *today, json_t *record)
{
	struct db_stmt *st;
	char now[20];
	char *rec = record ? json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc;
	now_utc_text(now);
	st = db_prepare(db, "INSERT INTO case_event(case_id, step, action, at, on_date, user_id, "
			    "login, role, record) VALUES(:c, :s, :a, :now, :d, :u, :l, :r, :rec)");
	db_bind_int(st, ":c", case_id);
	db_bind_int(st, ":s", step);
	db_bind_text(st, ":a", action);
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":d", today);
	if (p && p->user_id > 0)
		db_bind_int(st, ":u", p->user_id);
	else
		db_bind_null(st, ":u");
	db_bind_text(st, ":l", p ? p->login : "");
	db_bind_text(st, ":r", p ? p->role : "");
	db_bind_text(st, ":rec", rec ? rec : "{}");
	rc = db_run(st);
	db_done(st);
	free(rec);
	return rc < 0 ? -1 : 0;
}

/* Status of `household_id` in the monitored table into status[16] ("" if never). */
static void monitored_status(struct db *db, int64_t household_id, char status[16],
			     char identified_on[11])
{
	struct db_stmt *st = db_prepare(db, "SELECT status, identified_on FROM monitored WHERE "
					    "household_id = :h");
	status[0] = identified_on[0] = '\0';
	db_bind_int(st, ":h", household_id);
	if (db_step(st) == DB_ROW) {
		snprintf(status, 16, "%s", db_col_text(st, 0));
		snprintf(identified_on, 11, "%s", db_col_text(st, 1));
	}
	db_done(st);
}

int monitor_elimination_check(struct db *db, int64_t household_id, const char *today,
			      struct buf *why)
{
	char status[16], identified[11];
	struct db_stmt *st;
	int failures = 0, members = 0, able = 0, year;
	struct household_rec h;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		buf_addf(why, "%s", why->len ? "；" : "");                                          \
		buf_addf(why, __VA_ARGS__);                                                        \
		failures++;                                                                        \
	} while (0)

	monitored_status(db, household_id, status, identified);
	if (strcmp(status, "monitoring")) {
		FAIL("该户不是正在监测的对象");
		return failures;
	}
	if (months_between(identified, today) < 6)
		FAIL("识别纳入监测未满半年（识别于 %s）", identified);
	st = db_prepare(db, "SELECT count(*) FROM measure WHERE household_id = :h");
	db_bind_int(st, ":h", household_id);
	if (db_step(st) != DB_ROW || db_col_int(st, 0) < 1)
		FAIL("尚未落实任何帮扶措施");
	db_done(st);
	/* income: the latest ledger (this year's, else last year's) must be
	 * above that year's monitoring line */
	year = atoi(today);
	if (registry_household_load(db, household_id, &h) == 1) {
		struct income_totals t;
		struct income_figures f;
		struct monitor_line line;
		int persons = 0, found = 0;
		if (monitor_income_summary(db, household_id, year, &t, &persons) == 1)
			found = year;
		else if (monitor_income_summary(db, household_id, year - 1, &t, &persons) == 1)
			found = year - 1;
		if (!found) {
			FAIL("没有 %d 或 %d 年的收入核算", year - 1, year);
		} else if (monitor_line_lookup(db, h.village_code, found, &line) != 1) {
			FAIL("%d 年的监测范围（监测线）未设置", found);
		} else {
			monitor_income_figures(&t, persons, &f);
			if (!f.has_pc || f.net_pc <= line.amount)
				FAIL("%d 年人均纯收入 %.2f 元未稳定超过监测线 %.2f 元", found,
				     f.has_pc ? f.net_pc / 100.0 : 0.0, line.amount / 100.0);
		}
	}
	st = db_prepare(db, "SELECT housing_safe, schooling_ok, water_safe, medical_ok, year FROM "
			    "hh_security WHERE household_id = :h ORDER BY year DESC LIMIT 1");
	db_bind_int(st, ":h", household_id);
	if (db_step(st) != DB_ROW) {
		FAIL("未录入“三保障”和饮水安全情况");
	} else {
		if (!db_col_int(st, 0))
			FAIL("住房安全未保障");
		if (!db_col_int(st, 1))
			FAIL("有义务教育阶段适龄儿童少年失学辍学");
		if (!db_col_int(st, 2))
			FAIL("饮水安全未保障");
		if (!db_col_int(st, 3))
			FAIL("有家庭成员未参加基本医疗保险");
	}
	db_done(st);
	st = db_prepare(db, "SELECT count(*), sum(CASE WHEN labor_skill IN (1, 2, 3) THEN 1 ELSE 0 "
			    "END) FROM member WHERE household_id = :h");
	db_bind_int(st, ":h", household_id);
	if (db_step(st) == DB_ROW) {
		members = (int)db_col_int(st, 0);
		able = (int)db_col_int(st, 1);
	}
	db_done(st);
	if (members && !able)
		FAIL("整户无劳动能力，落实兜底保障后暂不标注风险消除，应持续跟踪");
#undef FAIL
	return failures;
}

int64_t monitor_case_open(struct db *db, int64_t household_id, enum case_kind kind,
			  int64_t alert_id, const char *elim_mode, const struct principal *p,
			  struct buf *err, int *status)
{
	struct db_stmt *st;
	char today[11], due[11], total[11], mstatus[16], identified[11];
	const struct case_step_def *first = step_def(kind, 1);
	int64_t id;
	int active;

	*status = 422;
	monitor_today_text(today);
	if (strcmp(p->role, first->role)) {
		const struct role *r = auth_role_find(first->role);
		*status = 403;
		buf_addf(err, "发起%s应由%s办理", kind == CASE_IDENTIFY ? "识别纳入" : "风险消除",
			 r ? r->title : first->role);
		return -1;
	}
	st = db_prepare(db, "SELECT count(*) FROM monitor_case WHERE household_id = :h AND state = "
			    "'active'");
	db_bind_int(st, ":h", household_id);
	active = db_step(st) == DB_ROW ? (int)db_col_int(st, 0) : 0;
	db_done(st);
	if (active) {
		*status = 409;
		buf_addstr(err, "该户已有正在办理的流程");
		return -1;
	}
	monitored_status(db, household_id, mstatus, identified);
	if (kind == CASE_IDENTIFY && !strcmp(mstatus, "monitoring")) {
		*status = 409;
		buf_addstr(err, "该户已是监测对象");
		return -1;
	}
	if (kind == CASE_ELIMINATE) {
		if (!elim_mode || (strcmp(elim_mode, "帮扶消除") && strcmp(elim_mode, "自然消除"))) {
			buf_addstr(err, "风险消除方式应为“帮扶消除”或“自然消除”");
			return -1;
		}
		if (monitor_elimination_check(db, household_id, today, err))
			return -1;
	}
	deadline(db, today, first->limit_workdays, due);
	if (kind == CASE_IDENTIFY)
		deadline(db, today, IDENTIFY_TOTAL_WORKDAYS, total);
	else
		total[0] = '\0';
	st = db_prepare(db, "INSERT INTO monitor_case(household_id, kind, step, state, opened_at, "
			    "opened_by, step_started, step_due, total_due, elim_mode, alert_id) "
			    "VALUES(:h, :k, 1, 'active', :d, :by, :d, :due, :total, :mode, :alert)");
	db_bind_int(st, ":h", household_id);
	db_bind_int(st, ":k", kind);
	db_bind_text(st, ":d", today);
	db_bind_int(st, ":by", p->user_id);
	db_bind_text(st, ":due", due);
	db_bind_text(st, ":total", total);
	db_bind_text(st, ":mode", kind == CASE_ELIMINATE ? elim_mode : "");
	if (alert_id > 0)
		db_bind_int(st, ":alert", alert_id);
	else
		db_bind_null(st, ":alert");
	id = db_run_insert(st);
	db_done(st);
	if (id < 0 || add_event(db, id, 1, "open", p, today, NULL)) {
		*status = 500;
		buf_addf(err, "保存失败：%s", db_errmsg(db));
		return -1;
	}
	if (alert_id > 0) {
		st = db_prepare(db, "UPDATE alert SET status = 'case', case_id = :c WHERE id = :a");
		db_bind_int(st, ":c", id);
		db_bind_int(st, ":a", alert_id);
		db_run(st);
		db_done(st);
	}
	*status = 201;
	return id;
}

/* Validate the final identification record: category, 1–5 risk types, the
 * monitoring contact.  Fills the normalised risk-type codes. */
static int final_record_bad(json_t *rec, int *category, struct buf *risk_codes, struct buf *err)
{
	json_t *rt = json_object_get(rec, "risk_types"), *e;
	const char *cat = json_string_value(json_object_get(rec, "category"));
	const char *phone = json_string_value(json_object_get(rec, "contact_phone"));
	size_t i;
	*category = cat ? codes_lookup(&code_monitor_category, cat) : -1;
	if (*category < 0)
		buf_addf(err, "监测对象类别应为 脱贫不稳定户、边缘易致贫户 或 突发严重困难户");
	if (!json_is_array(rt) || json_array_size(rt) < 1 || json_array_size(rt) > 5) {
		buf_addf(err, "%s风险类型应为 1 到 5 项", err->len ? "；" : "");
	} else {
		json_array_foreach(rt, i, e) {
			int c = json_is_string(e) ? codes_lookup(&code_risk_type, json_string_value(e)) : -1;
			if (c < 0) {
				buf_addf(err, "%s风险类型“%s”无效", err->len ? "；" : "",
					 json_is_string(e) ? json_string_value(e) : "?");
				break;
			}
			buf_addf(risk_codes, "%s%d", risk_codes->len ? "," : "", c);
		}
	}
	if (phone && (strlen(phone) != 11 || phone[0] != '1' || strspn(phone, "0123456789") != 11))
		buf_addf(err, "%s监测联系人电话应为11位手机号", err->len ? "；" : "");
	return err->len > 0;
}

int64_t monitor_risk_mask(const char *codes)
{
	int64_t mask = 0;
	for (const char *p = codes; p && *p;) {
		int c = atoi(p);
		for (int i = 0; i < code_risk_type.nr_items; i++)
			if (code_risk_type.items[i].code == c)
				mask |= (int64_t)1 << i;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return mask;
}

/* Finish a case whose last step was approved. */
static int finish_case(struct db *db, struct case_rec *c, json_t *rec, const char *today,
		       struct buf *err)
{
	struct db_stmt *st;
	int rc;
	if (c->kind == CASE_IDENTIFY) {
		int category;
		struct buf codes = BUF_INIT;
		if (final_record_bad(rec, &category, &codes, err)) {
			buf_release(&codes);
			return -1;
		}
		st = db_prepare(db, "INSERT INTO monitored(household_id, status, category, risk_types, "
				    "risk_mask, identified_on, contact_name, contact_phone, case_id) "
				    "VALUES(:h, 'monitoring', :cat, :rt, :mask, :d, :cn, :cp, :c) ON "
				    "CONFLICT(household_id) DO UPDATE SET status = 'monitoring', category = "
				    "excluded.category, risk_types = excluded.risk_types, risk_mask = "
				    "excluded.risk_mask, identified_on = excluded.identified_on, "
				    "contact_name = excluded.contact_name, contact_phone = "
				    "excluded.contact_phone, eliminated_on = '', elim_mode = '', case_id = "
				    "excluded.case_id");
		db_bind_int(st, ":h", c->household_id);
		db_bind_int(st, ":cat", category);
		db_bind_text(st, ":rt", codes.buf);
		db_bind_int(st, ":mask", monitor_risk_mask(codes.buf));
		db_bind_text(st, ":d", today);
		db_bind_text(st, ":cn", json_string_value(json_object_get(rec, "contact_name")));
		db_bind_text(st, ":cp", json_string_value(json_object_get(rec, "contact_phone")));
		db_bind_int(st, ":c", c->id);
		rc = db_run(st);
		db_done(st);
		buf_release(&codes);
	} else {
		st = db_prepare(db, "UPDATE monitored SET status = 'eliminated', eliminated_on = :d, "
				    "elim_mode = :m, case_id = :c WHERE household_id = :h");
		db_bind_text(st, ":d", today);
		db_bind_text(st, ":m", c->elim_mode);
		db_bind_int(st, ":c", c->id);
		db_bind_int(st, ":h", c->household_id);
		rc = db_run(st);
		db_done(st);
	}
	if (rc < 0) {
		buf_addf(err, "保存失败：%s", db_errmsg(db));
		return -1;
	}
	if (c->alert_id) {
		st = db_prepare(db, "UPDATE alert SET status = 'closed' WHERE id = :a");
		db_bind_int(st, ":a", c->alert_id);
		db_run(st);
		db_done(st);
	}
	return 0;
}

int monitor_case_act(struct db *db, struct case_rec *c, const char *action, json_t *record,
		     const struct principal *p, struct buf *err, int *status)
{
	const struct case_step_def *d = step_def(c->kind, c->step);
	int nsteps, to_step = c->step;
	char today[11], due[11];
	const char *new_state = "active";
	struct db_stmt *st;

	monitor_case_steps(c->kind, &nsteps);
	monitor_today_text(today);
	*status = 422;
	if (strcmp(c->state, "active")) {
		*status = 409;
		buf_addstr(err, "该流程已结束，不能再办理");
		return -1;
	}
	if (strcmp(p->role, d->role)) {
		const struct role *r = auth_role_find(d->role);
		*status = 403;
		buf_addf(err, "“%s”环节应由%s办理", d->title, r ? r->title : d->role);
		return -1;
	}
	if (!strcmp(action, "advance")) {
		for (const char *const *f = d->required; *f; f++) {
			json_t *v = json_object_get(record, *f);
			if (!v || (json_is_string(v) && !*json_string_value(v)) ||
			    (json_is_array(v) && !json_array_size(v))) {
				buf_addf(err, "“%s”环节需要填写 %s", d->title, *f);
				return -1;
			}
		}
		if (d->min_days && days_of(today) - days_of(c->step_started) < d->min_days) {
			buf_addf(err, "%s期不少于 %d 天（%s 开始），请期满后再提交", d->title,
				 d->min_days, c->step_started);
			return -1;
		}
		if (c->step == nsteps) {
			if (c->kind == CASE_ELIMINATE && monitor_elimination_check(db, c->household_id,
										  today, err))
				return -1;
			if (finish_case(db, c, record, today, err))
				return -1;
			new_state = "done";
		} else {
			to_step = c->step + 1;
		}
	} else if (!strcmp(action, "return")) {
		if (!json_string_value(json_object_get(record, "reason")) ||
		    !*json_string_value(json_object_get(record, "reason"))) {
			buf_addstr(err, "退回需要填写原因（reason）");
			return -1;
		}
		if (c->step == 1) {
			buf_addstr(err, "第一个环节不能退回，如不予纳入请选择“不予通过”");
			return -1;
		}
		to_step = c->step - 1;
	} else if (!strcmp(action, "reject")) {
		if (!json_string_value(json_object_get(record, "reason")) ||
		    !*json_string_value(json_object_get(record, "reason"))) {
			buf_addstr(err, "不予通过需要填写原因（reason）");
			return -1;
		}
		new_state = "rejected";
	} else {
		*status = 400;
		buf_addf(err, "未知操作“%s”", action);
		return -1;
	}
	if (add_event(db, c->id, c->step, action, p, today, record))
		goto dbfail;
	if (strcmp(new_state, "active")) {
		st = db_prepare(db, "UPDATE monitor_case SET state = :s, closed_at = :d, step_due = '' "
				    "WHERE id = :id");
		db_bind_text(st, ":s", new_state);
		db_bind_text(st, ":d", today);
		db_bind_int(st, ":id", c->id);
		if (db_run(st) < 0) {
			db_done(st);
			goto dbfail;
		}
		db_done(st);
		if (!strcmp(new_state, "rejected") && c->alert_id) {
			st = db_prepare(db, "UPDATE alert SET status = 'closed', closed_note = :n WHERE "
					    "id = :a");
			db_bind_text(st, ":n", json_string_value(json_object_get(record, "reason")));
			db_bind_int(st, ":a", c->alert_id);
			db_run(st);
			db_done(st);
		}
	} else {
		deadline(db, today, step_def(c->kind, to_step)->limit_workdays, due);
		st = db_prepare(db, "UPDATE monitor_case SET step = :s, step_started = :d, step_due = "
				    ":due WHERE id = :id");
		db_bind_int(st, ":s", to_step);
		db_bind_text(st, ":d", today);
		db_bind_text(st, ":due", due);
		db_bind_int(st, ":id", c->id);
		if (db_run(st) < 0) {
			db_done(st);
			goto dbfail;
		}
		db_done(st);
	}
	*status = 200;
	return monitor_case_load(db, c->id, c) == 1 ? 0 : -1;
dbfail:
	*status = 500;
	buf_addf(err, "保存失败：%s", db_errmsg(db));
	return -1;
}
