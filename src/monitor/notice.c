/* notice.c — the county announcement (公告) that follows 县级审定: the county
 * approver publishes, in the township's name, the households whose
 * identification (识别纳入) or risk elimination (风险消除) was approved, one
 * 公告 per township and kind listing the cases ticked; and the totals of
 * the workflow per township (or village) that the approver's page shows.
 *
 * Tables (module "monitor.notice"): case_notice, case_notice_item.
 * Routes: GET/POST /api/v1/notices, GET /api/v1/notices/:id,
 * GET /api/v1/case-totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/jw.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/idcard.h"
#include "registry/registry.h"

static const struct db_migration notice_migrations[] = {
	{ 1, "county announcements (公告) of approved cases",
	  "CREATE TABLE case_notice(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  kind INTEGER NOT NULL,        -- 1 识别纳入, 2 风险消除 (enum case_kind)\n"
	  "  township TEXT NOT NULL,       -- 9-digit prefix of the township it is published for\n"
	  "  year INTEGER NOT NULL,        -- year of publication (batches are numbered per year)\n"
	  "  batch INTEGER NOT NULL,       -- 第 N 批 within (township, kind, year)\n"
	  "  title TEXT NOT NULL,          -- Chinese title as published\n"
	  "  phone TEXT NOT NULL DEFAULT '', -- 监督电话 printed on the notice\n"
	  "  published_on TEXT NOT NULL,   -- YYYY-MM-DD\n"
	  "  published_by TEXT NOT NULL,   -- login of the county approver\n"
	  "  created_at TEXT NOT NULL,     -- UTC time\n"
	  "  UNIQUE(township, kind, year, batch)\n"
	  ");\n"
	  "CREATE TABLE case_notice_item(\n"
	  "  notice_id INTEGER NOT NULL REFERENCES case_notice(id) ON DELETE CASCADE,\n"
	  "  case_id INTEGER NOT NULL UNIQUE REFERENCES monitor_case(id) ON DELETE CASCADE,\n"
	  "                                -- a case is announced once\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  PRIMARY KEY(notice_id, case_id)\n"
	  ");\n",
	  NULL },
	/* the totals page (GET /api/v1/case-totals) reads counts kept per
	 * village by triggers instead of grouping every case and monitored
	 * household per request; the county-wide queue sorted by deadline
	 * reads its page from case_due in order */
	{ 2, "case and monitored-household counts per village, cases by deadline",
	  "CREATE TABLE case_count(\n"
	  "  what TEXT NOT NULL,          -- monitor_case.state, or 'monitored:' || monitored.status\n"
	  "  village_code TEXT NOT NULL,  -- the row's own copy of its household's village\n"
	  "  kind INTEGER NOT NULL,       -- case kind (0 for monitored households)\n"
	  "  step INTEGER NOT NULL,       -- active cases: the step, else 0\n"
	  "  closed_year TEXT NOT NULL,   -- closed cases: substr(closed_at, 1, 4), else ''\n"
	  "  noticed INTEGER NOT NULL,    -- monitor_case.noticed (0 for monitored households)\n"
	  "  n INTEGER NOT NULL,\n"
	  "  PRIMARY KEY(what, village_code, kind, step, closed_year, noticed)\n"
	  ") WITHOUT ROWID;\n"
	  "ALTER TABLE monitor_case ADD COLUMN noticed INTEGER NOT NULL DEFAULT 0;\n"
	  "  -- 1 while the case is in a 公告 (case_notice_item), kept by triggers\n"
	  "UPDATE monitor_case SET noticed = 1 WHERE id IN (SELECT case_id FROM case_notice_item);\n"
	  "INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "  SELECT state, village_code, kind, CASE WHEN state = 'active' THEN step ELSE 0 END,\n"
	  "         CASE WHEN state = 'active' THEN '' ELSE substr(closed_at, 1, 4) END, noticed, count(*)\n"
	  "  FROM monitor_case GROUP BY 1, 2, 3, 4, 5, 6;\n"
	  "INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "  SELECT 'monitored:' || status, village_code, 0, 0, '', 0, count(*) FROM monitored GROUP BY 1, 2;\n"
	  "-- every change adds +1 for the new row and -1 for the old one (upserts, so\n"
	  "-- that the order of these and the village-copying triggers does not matter)\n"
	  "CREATE TRIGGER case_count_insert AFTER INSERT ON monitor_case BEGIN\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES(NEW.state, NEW.village_code, NEW.kind, CASE WHEN NEW.state = 'active' THEN NEW.step ELSE 0 END,\n"
	  "           CASE WHEN NEW.state = 'active' THEN '' ELSE substr(NEW.closed_at, 1, 4) END, NEW.noticed, 1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (1);\n"
	  "END;\n"
	  "CREATE TRIGGER case_count_delete AFTER DELETE ON monitor_case BEGIN\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES(OLD.state, OLD.village_code, OLD.kind, CASE WHEN OLD.state = 'active' THEN OLD.step ELSE 0 END,\n"
	  "           CASE WHEN OLD.state = 'active' THEN '' ELSE substr(OLD.closed_at, 1, 4) END, OLD.noticed, -1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (-1);\n"
	  "END;\n"
	  "CREATE TRIGGER case_count_update AFTER UPDATE OF village_code, state, kind, step, closed_at, noticed\n"
	  "  ON monitor_case BEGIN\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES(OLD.state, OLD.village_code, OLD.kind, CASE WHEN OLD.state = 'active' THEN OLD.step ELSE 0 END,\n"
	  "           CASE WHEN OLD.state = 'active' THEN '' ELSE substr(OLD.closed_at, 1, 4) END, OLD.noticed, -1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (-1);\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES(NEW.state, NEW.village_code, NEW.kind, CASE WHEN NEW.state = 'active' THEN NEW.step ELSE 0 END,\n"
	  "           CASE WHEN NEW.state = 'active' THEN '' ELSE substr(NEW.closed_at, 1, 4) END, NEW.noticed, 1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (1);\n"
	  "END;\n"
	  "CREATE TRIGGER monitored_count_insert AFTER INSERT ON monitored BEGIN\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES('monitored:' || NEW.status, NEW.village_code, 0, 0, '', 0, 1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (1);\n"
	  "END;\n"
	  "CREATE TRIGGER monitored_count_delete AFTER DELETE ON monitored BEGIN\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES('monitored:' || OLD.status, OLD.village_code, 0, 0, '', 0, -1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (-1);\n"
	  "END;\n"
	  "CREATE TRIGGER monitored_count_update AFTER UPDATE OF village_code, status ON monitored BEGIN\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES('monitored:' || OLD.status, OLD.village_code, 0, 0, '', 0, -1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (-1);\n"
	  "  INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "    VALUES('monitored:' || NEW.status, NEW.village_code, 0, 0, '', 0, 1)\n"
	  "    ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = n + (1);\n"
	  "END;\n"
	  "CREATE TRIGGER case_noticed_insert AFTER INSERT ON case_notice_item BEGIN\n"
	  "  UPDATE monitor_case SET noticed = 1 WHERE id = NEW.case_id;\n"
	  "END;\n"
	  "CREATE TRIGGER case_noticed_delete AFTER DELETE ON case_notice_item BEGIN\n"
	  "  UPDATE monitor_case SET noticed = 0 WHERE id = OLD.case_id;\n"
	  "END;\n"
	  "CREATE INDEX case_due ON monitor_case(state, (CASE WHEN step_due = '' THEN '9999-12-31' ELSE step_due END),\n"
	  "  id, village_code, step_due);\n",
	  "CREATE TABLE case_count(\n"
	  "  what TEXT NOT NULL,          -- monitor_case.state, or 'monitored:' || monitored.status\n"
	  "  village_code TEXT NOT NULL,  -- the row's own copy of its household's village\n"
	  "  kind INTEGER NOT NULL,       -- case kind (0 for monitored households)\n"
	  "  step INTEGER NOT NULL,       -- active cases: the step, else 0\n"
	  "  closed_year TEXT NOT NULL,   -- closed cases: substr(closed_at, 1, 4), else ''\n"
	  "  noticed INTEGER NOT NULL,    -- monitor_case.noticed (0 for monitored households)\n"
	  "  n INTEGER NOT NULL,\n"
	  "  PRIMARY KEY(what, village_code, kind, step, closed_year, noticed)\n"
	  ");\n"
	  "ALTER TABLE monitor_case ADD COLUMN noticed INTEGER NOT NULL DEFAULT 0;\n"
	  "  -- 1 while the case is in a 公告 (case_notice_item), kept by triggers\n"
	  "UPDATE monitor_case SET noticed = 1 WHERE id IN (SELECT case_id FROM case_notice_item);\n"
	  "INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "  SELECT state, village_code, kind, CASE WHEN state = 'active' THEN step ELSE 0 END,\n"
	  "         CASE WHEN state = 'active' THEN '' ELSE substr(closed_at, 1, 4) END, noticed, count(*)\n"
	  "  FROM monitor_case GROUP BY 1, 2, 3, 4, 5, 6;\n"
	  "INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "  SELECT 'monitored:' || status, village_code, 0, 0, '', 0, count(*) FROM monitored GROUP BY 1, 2;\n"
	  "CREATE FUNCTION liubao_case_count() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  IF TG_OP <> 'INSERT' THEN\n"
	  "    INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "      VALUES(OLD.state, OLD.village_code, OLD.kind, CASE WHEN OLD.state = 'active' THEN OLD.step ELSE 0 END,\n"
	  "             CASE WHEN OLD.state = 'active' THEN '' ELSE substr(OLD.closed_at, 1, 4) END, OLD.noticed, -1)\n"
	  "      ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = case_count.n + (-1);\n"
	  "  END IF;\n"
	  "  IF TG_OP <> 'DELETE' THEN\n"
	  "    INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "      VALUES(NEW.state, NEW.village_code, NEW.kind, CASE WHEN NEW.state = 'active' THEN NEW.step ELSE 0 END,\n"
	  "             CASE WHEN NEW.state = 'active' THEN '' ELSE substr(NEW.closed_at, 1, 4) END, NEW.noticed, 1)\n"
	  "      ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = case_count.n + (1);\n"
	  "  END IF;\n"
	  "  RETURN NULL;\n"
	  "END $$;\n"
	  "CREATE TRIGGER case_count AFTER INSERT OR DELETE OR UPDATE OF village_code, state, kind, step, closed_at, noticed\n"
	  "  ON monitor_case FOR EACH ROW EXECUTE FUNCTION liubao_case_count();\n"
	  "CREATE FUNCTION liubao_monitored_count() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  IF TG_OP <> 'INSERT' THEN\n"
	  "    INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "      VALUES('monitored:' || OLD.status, OLD.village_code, 0, 0, '', 0, -1)\n"
	  "      ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = case_count.n + (-1);\n"
	  "  END IF;\n"
	  "  IF TG_OP <> 'DELETE' THEN\n"
	  "    INSERT INTO case_count(what, village_code, kind, step, closed_year, noticed, n)\n"
	  "      VALUES('monitored:' || NEW.status, NEW.village_code, 0, 0, '', 0, 1)\n"
	  "      ON CONFLICT(what, village_code, kind, step, closed_year, noticed) DO UPDATE SET n = case_count.n + (1);\n"
	  "  END IF;\n"
	  "  RETURN NULL;\n"
	  "END $$;\n"
	  "CREATE TRIGGER monitored_count AFTER INSERT OR DELETE OR UPDATE OF village_code, status\n"
	  "  ON monitored FOR EACH ROW EXECUTE FUNCTION liubao_monitored_count();\n"
	  "CREATE FUNCTION liubao_case_noticed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  IF TG_OP = 'INSERT' THEN\n"
	  "    UPDATE monitor_case SET noticed = 1 WHERE id = NEW.case_id;\n"
	  "  ELSE\n"
	  "    UPDATE monitor_case SET noticed = 0 WHERE id = OLD.case_id;\n"
	  "  END IF;\n"
	  "  RETURN NULL;\n"
	  "END $$;\n"
	  "CREATE TRIGGER case_noticed AFTER INSERT OR DELETE ON case_notice_item\n"
	  "  FOR EACH ROW EXECUTE FUNCTION liubao_case_noticed();\n"
	  "CREATE INDEX case_due ON monitor_case(state, (CASE WHEN step_due = '' THEN '9999-12-31' ELSE step_due END),\n"
	  "  id, village_code, step_due);\n" },
};

int monitor_notice_migrate(struct db *db)
{
	return db_migrate(db, "monitor.notice", notice_migrations, ARRAY_SIZE(notice_migrations));
}

static const char *scope_of(struct http_request *req)
{
	return req->principal->scope;
}

static const char *kind_title(int kind)
{
	return kind == CASE_IDENTIFY ? "识别纳入" : "风险消除";
}

static int kind_of(const char *s)
{
	if (!s)
		return 0;
	if (!strcmp(s, "identify") || !strcmp(s, "识别纳入"))
		return CASE_IDENTIFY;
	if (!strcmp(s, "eliminate") || !strcmp(s, "风险消除"))
		return CASE_ELIMINATE;
	return -1;
}

static void reply_begin(struct http_response *res, int status, struct jw *w)
{
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(w, &res->body);
}

/* Comma-separated risk-type codes as an array of labels. */
static void risk_labels(struct jw *w, const char *key, const char *codes)
{
	jw_key(w, key);
	jw_array(w);
	for (const char *p = codes; p && *p;) {
		const char *l = codes_label(&code_risk_type, atoi(p));
		if (l)
			jw_str(w, l);
		p = strchr(p, ',');
		if (p)
			p++;
	}
	jw_array_end(w);
}

/* ---- reading notices --------------------------------------------------------------------- */

enum { NT_ID, NT_KIND, NT_TOWNSHIP, NT_YEAR, NT_BATCH, NT_TITLE, NT_PHONE, NT_ON, NT_BY,
       NT_TOWNSHIP_NAME, NT_ITEMS };
/* A notice is visible to a caller when it lists at least one household in
 * the caller's scope; counts and items are limited to the scope too. */
#define NOTICE_SELECT                                                                              \
	"SELECT n.id, n.kind, n.township, n.year, n.batch, n.title, n.phone, n.published_on, "     \
	"n.published_by, (SELECT name FROM region r WHERE r.code = n.township || '000'), (SELECT " \
	"count(*) FROM case_notice_item i JOIN household h ON h.id = i.household_id WHERE "        \
	"i.notice_id = n.id AND h.village_code >= :lo AND h.village_code < :hi) AS items FROM "    \
	"case_notice n "

static void notice_head(struct jw *w, struct db_stmt *st)
{
	int kind = (int)db_col_int(st, NT_KIND);
	jw_kint(w, "id", db_col_int(st, NT_ID));
	jw_kstr(w, "kind", kind_title(kind));
	jw_kstr(w, "township", db_col_text(st, NT_TOWNSHIP));
	jw_kstr(w, "township_name", db_col_text(st, NT_TOWNSHIP_NAME));
	jw_kint(w, "year", db_col_int(st, NT_YEAR));
	jw_kint(w, "batch", db_col_int(st, NT_BATCH));
	jw_kstr(w, "title", db_col_text(st, NT_TITLE));
	jw_kstr(w, "phone", db_col_text(st, NT_PHONE));
	jw_kstr(w, "published_on", db_col_text(st, NT_ON));
	jw_kstr(w, "published_by", db_col_text(st, NT_BY));
	jw_kint(w, "households", db_col_int(st, NT_ITEMS));
}

/* GET /api/v1/notices[?kind=][&limit=][&cursor=] — newest first. */
static void api_notices(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "kind", "limit", "cursor", NULL };
	const char *lim = http_query(req, "limit"), *cur = http_query(req, "cursor");
	int kind = kind_of(http_query(req, "kind")), n = 0, rc;
	int64_t limit = 50, cursor = 0, last = 0;
	struct db_stmt *st;
	struct jw w;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if (kind < 0 || (lim && (parse_int64(lim, &limit) || limit < 1 || limit > 500)) ||
	    (cur && (parse_int64(cur, &cursor) || cursor < 0))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "查询参数无效（kind 为 identify 或 eliminate）");
		return;
	}
	st = db_prepare(req->db, "SELECT * FROM (" NOTICE_SELECT "WHERE (:kind = 0 OR n.kind = "
				 ":kind) AND (:cur = 0 OR n.id < :cur)) x WHERE x.items > 0 ORDER BY "
				 "x.id DESC LIMIT :n");
	db_bind_prefix(st, ":lo", ":hi", scope_of(req));
	db_bind_int(st, ":kind", kind);
	db_bind_int(st, ":cur", cursor);
	db_bind_int(st, ":n", limit + 1);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW && n < limit) {
		jw_object(&w);
		notice_head(&w, st);
		jw_object_end(&w);
		last = db_col_int(st, NT_ID);
		n++;
	}
	db_done(st);
	jw_array_end(&w);
	jw_key(&w, "next_cursor");
	if (rc == DB_ROW) {
		char c[24];
		snprintf(c, sizeof(c), "%lld", (long long)last);
		jw_str(&w, c);
	} else {
		jw_null(&w);
	}
	jw_object_end(&w);
}

/* Write notice `id` with the households of the caller's scope; 0, or -1
 * when it is not visible (nothing written). */
static int notice_write(struct http_request *req, struct jw *w, int64_t id)
{
	struct db_stmt *st = db_prepare(req->db, NOTICE_SELECT "WHERE n.id = :id");
	int found;
	db_bind_prefix(st, ":lo", ":hi", scope_of(req));
	db_bind_int(st, ":id", id);
	found = db_step(st) == DB_ROW && db_col_int(st, NT_ITEMS) > 0;
	if (found) {
		jw_object(w);
		notice_head(w, st);
	}
	db_done(st);
	if (!found)
		return -1;
	jw_key(w, "items");
	jw_array(w);
	st = db_prepare(req->db,
			"SELECT i.case_id, h.id, h.hh_no, h.village_code, r.name, hd.name, "
			"hd.id_number, (SELECT count(*) FROM member x WHERE x.household_id = h.id), "
			"m.category, m.risk_types, c.elim_mode, c.closed_at FROM case_notice_item i JOIN "
			"monitor_case c ON c.id = i.case_id JOIN household h ON h.id = i.household_id "
			"LEFT JOIN region r ON r.code = h.village_code LEFT JOIN member hd ON hd.id = "
			"(SELECT min(x.id) FROM member x WHERE x.household_id = h.id AND x.relation = 1) "
			"LEFT JOIN monitored m ON m.household_id = h.id WHERE i.notice_id = :id AND "
			"h.village_code >= :lo AND h.village_code < :hi ORDER BY h.village_code, "
			"h.hh_no, i.case_id");
	db_bind_int(st, ":id", id);
	db_bind_prefix(st, ":lo", ":hi", scope_of(req));
	while (db_step(st) == DB_ROW) {
		char masked[19];
		idcard_mask(db_col_text(st, 6), masked);
		jw_object(w);
		jw_kint(w, "case_id", db_col_int(st, 0));
		jw_kint(w, "household_id", db_col_int(st, 1));
		jw_kstr(w, "hh_no", db_col_text(st, 2));
		jw_kstr(w, "village_code", db_col_text(st, 3));
		jw_kstr(w, "village_name", db_col_text(st, 4));
		jw_kstr(w, "head_name", db_col_text(st, 5));
		jw_kstr(w, "head_id_number", masked);
		jw_kint(w, "members", db_col_int(st, 7));
		jw_kstr(w, "category", db_col_is_null(st, 8) ? ""
						: codes_label(&code_monitor_category, (int)db_col_int(st, 8)));
		risk_labels(w, "risk_types", db_col_text(st, 9));
		jw_kstr(w, "elim_mode", db_col_text(st, 10));
		jw_kstr(w, "approved_on", db_col_text(st, 11));
		jw_object_end(w);
	}
	db_done(st);
	jw_array_end(w);
	jw_object_end(w);
	return 0;
}

static void api_notice_get(struct http_request *req, struct http_response *res)
{
	int64_t id;
	struct jw w;
	if (parse_int64(req->path_params[0], &id) || id <= 0) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该公告（或不在您的管辖范围内）");
		return;
	}
	reply_begin(res, 200, &w);
	if (notice_write(req, &w, id))
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该公告（或不在您的管辖范围内）");
}

/* ---- publishing ------------------------------------------------------------------------ */

/* Is `s` a plausible 监督电话: 7 to 20 digits and dashes, starting with a digit? */
static int phone_ok(const char *s)
{
	size_t l = strlen(s);
	return l >= 7 && l <= 20 && s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789-") == l;
}

/* POST /api/v1/notices {case_ids: [...], phone?} — publish a 公告 for the
 * approved cases listed, which must all be of one kind and one township,
 * finished (state done), within scope and not announced before.  Only a
 * county approver publishes. */
static void api_notice_create(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "case_ids", "phone", NULL };
	json_t *ids = json_object_get(req->json, "case_ids"), *v;
	json_t *phone_v = json_object_get(req->json, "phone");
	const char *phone = json_is_string(phone_v) ? json_string_value(phone_v) : "";
	char township[10] = "", tname[128] = "", title[512], today[11], now[20];
	int kind = 0, year, batch = 1;
	int64_t notice_id;
	struct db_stmt *st;
	size_t i, nids;
	json_t *audit_ids;
	struct jw w;

	if (http_refuse_unknown_fields(res, req->json, fields))
		return;
	if (strcmp(req->principal->role, "county_approver")) {
		http_reply_error(res, 403, "E_STEP_ROLE", NULL, "公告应由县级审定人员发布");
		return;
	}
	if (phone_v && !json_is_string(phone_v)) {
		http_reply_error(res, 422, "E_BAD_TYPE", NULL, "监督电话（phone）应为字符串");
		return;
	}
	if (*phone && !phone_ok(phone)) {
		http_reply_error(res, 422, "E_BAD_PHONE", NULL,
				 "监督电话应为 7 到 20 位数字（可含“-”），如 0915-8421234");
		return;
	}
	nids = json_array_size(ids);
	if (!json_is_array(ids) || nids < 1 || nids > 500) {
		http_reply_error(res, 422, "E_REQUIRED", NULL, "请选择要公告的户（case_ids，1 到 500 个流程编号）");
		return;
	}
	json_array_foreach(ids, i, v) {
		int64_t id = json_is_integer(v) ? json_integer_value(v) : 0;
		struct case_rec c;
		struct household_rec h;
		int noticed;
		if (id <= 0) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "case_ids 应为流程编号（正整数）的数组");
			return;
		}
		for (size_t k = 0; k < i; k++)
			if (json_integer_value(json_array_get(ids, k)) == id) {
				http_reply_error(res, 422, "E_DUPLICATE", NULL, "流程 %lld 重复列出",
						 (long long)id);
				return;
			}
		if (monitor_case_load(req->db, id, &c) != 1 ||
		    registry_household_load_scoped(req->db, c.household_id, scope_of(req), &h) != 1) {
			http_reply_error(res, 422, "E_NOT_FOUND", NULL,
					 "找不到流程 %lld（或不在您的管辖范围内）", (long long)id);
			return;
		}
		if (strcmp(c.state, "done")) {
			http_reply_error(res, 409, "E_STATE", NULL,
					 "流程 %lld（户 %s）尚未完成县级审定，不能公告", (long long)id,
					 h.hh_no);
			return;
		}
		st = db_prepare(req->db, "SELECT 1 FROM case_notice_item WHERE case_id = :c");
		db_bind_int(st, ":c", id);
		noticed = db_step(st) == DB_ROW;
		db_done(st);
		if (noticed) {
			http_reply_error(res, 409, "E_ALREADY_NOTICED", NULL,
					 "户 %s 已经公告过，不能重复公告", h.hh_no);
			return;
		}
		if (!i) {
			kind = c.kind;
			snprintf(township, sizeof(township), "%.9s", h.village_code);
		} else if (c.kind != kind || strncmp(township, h.village_code, 9)) {
			http_reply_error(res, 422, "E_MIXED", NULL,
					 "一份公告只能包含同一乡镇、同一类型（识别纳入或风险消除）的户；"
					 "户 %s 与第一户不同", h.hh_no);
			return;
		}
	}
	monitor_today_text(today);
	now_utc_text(now);
	year = atoi(today);
	st = db_prepare(req->db, "SELECT coalesce(max(batch), 0) + 1 FROM case_notice WHERE township "
				 "= :t AND kind = :k AND year = :y");
	db_bind_text(st, ":t", township);
	db_bind_int(st, ":k", kind);
	db_bind_int(st, ":y", year);
	if (db_step(st) == DB_ROW)
		batch = (int)db_col_int(st, 0);
	db_done(st);
	st = db_prepare(req->db, "SELECT name FROM region WHERE code = :c");
	{
		char code[13];
		snprintf(code, sizeof(code), "%s000", township);
		db_bind_text(st, ":c", code);
	}
	if (db_step(st) == DB_ROW)
		snprintf(tname, sizeof(tname), "%s", db_col_text(st, 0));
	db_done(st);
	snprintf(title, sizeof(title), "%s关于%d年第%d批防止返贫监测对象%s结果的公告", tname, year,
		 batch, kind_title(kind));
	st = db_prepare(req->db, "INSERT INTO case_notice(kind, township, year, batch, title, phone, "
				 "published_on, published_by, created_at) VALUES(:k, :t, :y, :b, "
				 ":title, :p, :on, :by, :now)");
	db_bind_int(st, ":k", kind);
	db_bind_text(st, ":t", township);
	db_bind_int(st, ":y", year);
	db_bind_int(st, ":b", batch);
	db_bind_text(st, ":title", title);
	db_bind_text(st, ":p", phone);
	db_bind_text(st, ":on", today);
	db_bind_text(st, ":by", req->principal->login);
	db_bind_text(st, ":now", now);
	notice_id = db_run_insert(st);
	db_done(st);
	if (notice_id < 0)
		goto dbfail;
	audit_ids = json_array();
	json_array_foreach(ids, i, v) {
		int64_t id = json_integer_value(v);
		struct case_rec c;
		int steps, rc;
		monitor_case_load(req->db, id, &c);
		monitor_case_steps(c.kind, &steps);
		st = db_prepare(req->db, "INSERT INTO case_notice_item(notice_id, case_id, household_id) "
					 "VALUES(:n, :c, :h)");
		db_bind_int(st, ":n", notice_id);
		db_bind_int(st, ":c", id);
		db_bind_int(st, ":h", c.household_id);
		rc = db_run(st);
		db_done(st);
		if (rc >= 0) {
			/* the case's history shows the announcement after its last step */
			char rec[64];
			snprintf(rec, sizeof(rec), "{\"notice_id\":%lld}", (long long)notice_id);
			st = db_prepare(req->db, "INSERT INTO case_event(case_id, step, action, at, "
						 "on_date, user_id, login, role, record) VALUES(:c, :s, "
						 "'notice', :now, :d, :u, :l, :r, :rec)");
			db_bind_int(st, ":c", id);
			db_bind_int(st, ":s", steps);
			db_bind_text(st, ":now", now);
			db_bind_text(st, ":d", today);
			db_bind_int(st, ":u", req->principal->user_id);
			db_bind_text(st, ":l", req->principal->login);
			db_bind_text(st, ":r", req->principal->role);
			db_bind_text(st, ":rec", rec);
			rc = db_run(st);
			db_done(st);
		}
		if (rc < 0) {
			json_decref(audit_ids);
			goto dbfail;
		}
		json_array_append_new(audit_ids, json_integer(id));
	}
	http_audit_note(req, "notice", notice_id, NULL,
			json_pack("{s:s, s:s, s:s, s:s, s:o}", "title", title, "township", township,
				  "kind", kind_title(kind), "phone", phone, "case_ids", audit_ids));
	snprintf(req->audit.detail, sizeof(req->audit.detail), "发布公告（%zu 户）：%.180s", nids, title);
	reply_begin(res, 201, &w);
	if (notice_write(req, &w, notice_id))
		goto dbfail;
	return;
dbfail:
	http_reply_error(res, 500, "E_DB", NULL, "保存公告失败：%s", db_errmsg(req->db));
}

/* ---- totals ------------------------------------------------------------------------------- */

/* One row of the totals: a region one level below the caller's scope. */
struct total_row {
	char code[13];   /* prefix: township (9) or village (12) ... */
	char name[128];
	long waiting[3]; /* active cases at a village / township / county step */
	long red;        /* active cases past their step's deadline */
	long identified, eliminated, rejected; /* cases closed this year */
	long to_notice;  /* approved, not announced yet (any year) */
	long monitoring; /* households being monitored now */
};

static int role_slot(const char *role)
{
	return !strcmp(role, "village_clerk") ? 0 : !strcmp(role, "township_reviewer") ? 1 : 2;
}

/* The row of the region whose `len`-digit prefix village `code` has (rows
 * are sorted by code: a binary search), or NULL. */
static struct total_row *total_find(struct total_row *rows, int n, const char *code, int len)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strncmp(rows[mid].code, code, len);
		if (!c)
			return strlen(code) >= (size_t)len ? &rows[mid] : NULL;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static void total_write(struct jw *w, const struct total_row *t)
{
	jw_key(w, "waiting");
	jw_object(w);
	jw_kint(w, "village", t->waiting[0]);
	jw_kint(w, "township", t->waiting[1]);
	jw_kint(w, "county", t->waiting[2]);
	jw_object_end(w);
	jw_kint(w, "red", t->red);
	jw_kint(w, "identified", t->identified);
	jw_kint(w, "eliminated", t->eliminated);
	jw_kint(w, "rejected", t->rejected);
	jw_kint(w, "to_notice", t->to_notice);
	jw_kint(w, "monitoring", t->monitoring);
}

/* GET /api/v1/case-totals — per region one level below the caller's scope
 * (townships for a county user, villages for a township user): cases
 * waiting by the level that must act, overdue ones, cases closed this year
 * by outcome, approvals not yet announced, and households monitored.  The
 * counts come from case_count, kept per village by triggers on the cases,
 * the monitored households and the 公告 items; only the overdue cases are
 * read one by one (their light depends on today). */
static void api_case_totals(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	static const int child_len[] = { 2, 4, 4, 6, 6, 6, 9, 9, 9, 12, 12, 12, 12 };
	static const int level_of[] = { 0, 0, 1, 0, 2, 0, 3, 0, 0, 4, 0, 0, 5 };
	static const char *const level_names[] = { "", "省", "市", "县", "乡镇", "村" };
	const char *scope = scope_of(req);
	size_t sl = strlen(scope);
	int len = child_len[sl > 12 ? 12 : sl], level = level_of[len], n = 0, alloc = 0;
	struct total_row *rows = NULL, all = { .code = "" };
	char today[11], year0[5];
	struct db_stmt *st;
	struct jw w;
	if (http_refuse_unknown_params(req, res, params))
		return;
	monitor_today_text(today);
	snprintf(year0, sizeof(year0), "%.4s", today);
	/* every region of the level, even those with nothing to count */
	st = db_prepare(req->db, "SELECT code, name FROM region WHERE code >= :lo AND code < :hi AND "
				 "level = :lv ORDER BY code");
	db_bind_prefix(st, ":lo", ":hi", scope);
	db_bind_int(st, ":lv", level);
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(rows, n + 1, alloc);
		memset(&rows[n], 0, sizeof(rows[n]));
		snprintf(rows[n].code, sizeof(rows[n].code), "%.*s", len, db_col_text(st, 0));
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", db_col_text(st, 1));
		n++;
	}
	db_done(st);
	/* counted per village from case_count (kept by triggers, monitor.notice
	 * migration 2), added up per region in C */
	st = db_prepare(req->db, "SELECT village_code, kind, step, sum(n) FROM case_count WHERE what = "
				 "'active' AND village_code >= :lo AND village_code < :hi GROUP BY "
				 "village_code, kind, step");
	db_bind_prefix(st, ":lo", ":hi", scope);
	while (db_step(st) == DB_ROW) {
		struct total_row *t = total_find(rows, n, db_col_text(st, 0), len);
		int nsteps, step = (int)db_col_int(st, 2);
		const struct case_step_def *d = monitor_case_steps((int)db_col_int(st, 1), &nsteps);
		int slot = step >= 1 && step <= nsteps ? role_slot(d[step - 1].role) : 0;
		for (struct total_row *x = t ? t : &all; x; x = x == &all ? NULL : &all)
			x->waiting[slot] += db_col_int(st, 3);
	}
	db_done(st);
	/* overdue: only the overdue cases are read (index case_due; a step
	 * without a deadline sorts as 9999-12-31, i.e. never overdue) */
	st = db_prepare(req->db, "SELECT c.village_code, count(*) FROM monitor_case c WHERE c.state = "
				 "'active' AND (CASE WHEN c.step_due = '' THEN '9999-12-31' ELSE "
				 "c.step_due END) < :today AND c.village_code >= :lo AND c.village_code "
				 "< :hi GROUP BY c.village_code");
	db_bind_text(st, ":today", today);
	db_bind_prefix(st, ":lo", ":hi", scope);
	while (db_step(st) == DB_ROW) {
		struct total_row *t = total_find(rows, n, db_col_text(st, 0), len);
		for (struct total_row *x = t ? t : &all; x; x = x == &all ? NULL : &all)
			x->red += db_col_int(st, 1);
	}
	db_done(st);
	/* closed this year (closed_at >= 'YYYY-01-01' is closed_year >= 'YYYY'),
	 * and approved cases in no 公告 yet */
	st = db_prepare(req->db, "SELECT village_code, kind, what, sum(CASE WHEN closed_year >= :y0 THEN "
				 "n ELSE 0 END), sum(CASE WHEN what = 'done' AND noticed = 0 THEN n "
				 "ELSE 0 END) FROM case_count WHERE what IN ('done', 'rejected') AND "
				 "village_code >= :lo AND village_code < :hi GROUP BY village_code, "
				 "kind, what");
	db_bind_text(st, ":y0", year0);
	db_bind_prefix(st, ":lo", ":hi", scope);
	while (db_step(st) == DB_ROW) {
		struct total_row *t = total_find(rows, n, db_col_text(st, 0), len);
		int kind = (int)db_col_int(st, 1), done = !strcmp(db_col_text(st, 2), "done");
		for (struct total_row *x = t ? t : &all; x; x = x == &all ? NULL : &all) {
			if (!done)
				x->rejected += db_col_int(st, 3);
			else if (kind == CASE_IDENTIFY)
				x->identified += db_col_int(st, 3);
			else
				x->eliminated += db_col_int(st, 3);
			x->to_notice += db_col_int(st, 4);
		}
	}
	db_done(st);
	st = db_prepare(req->db, "SELECT village_code, sum(n) FROM case_count WHERE what = "
				 "'monitored:monitoring' AND village_code >= :lo AND village_code < :hi "
				 "GROUP BY village_code");
	db_bind_prefix(st, ":lo", ":hi", scope);
	while (db_step(st) == DB_ROW) {
		struct total_row *t = total_find(rows, n, db_col_text(st, 0), len);
		for (struct total_row *x = t ? t : &all; x; x = x == &all ? NULL : &all)
			x->monitoring += db_col_int(st, 1);
	}
	db_done(st);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_kstr(&w, "today", today);
	jw_kint(&w, "year", atoi(today));
	jw_kstr(&w, "level", level_names[level]);
	jw_key(&w, "items");
	jw_array(&w);
	for (int i = 0; i < n; i++) {
		jw_object(&w);
		jw_kstr(&w, "code", rows[i].code);
		jw_kstr(&w, "name", rows[i].name);
		total_write(&w, &rows[i]);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "total");
	jw_object(&w);
	total_write(&w, &all);
	jw_object_end(&w);
	jw_object_end(&w);
	free(rows);
}

const struct route monitor_notice_routes[] = {
	{ "GET", "/api/v1/notices", api_notices, 0, "household.read", "公告列表" },
	{ "POST", "/api/v1/notices", api_notice_create, ROUTE_WRITE | ROUTE_JSON, "household.read",
	  "发布公告（县级审定后，以乡镇名义）" },
	{ "GET", "/api/v1/notices/:id", api_notice_get, 0, "household.read", "公告内容" },
	{ "GET", "/api/v1/case-totals", api_case_totals, 0, "household.read",
	  "流程汇总（按乡镇或村：待办、逾期、本年办结、待公告、监测户数）" },
	{ NULL },
};
