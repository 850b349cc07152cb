/* search.c — finding households: the one query behind the household list of
 * the JSON API and the search page, with region scope in SQL, filters and
 * the search text (户编号, name prefix, pinyin initials, whole 身份证号 or its
 * last digits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "registry/registry.h"

/* The WHERE clause comes in four variants, so that each plan is good
 * without table statistics (SQLite without ANALYZE plans blind):
 *   - a scope of one village (a 12-digit prefix) is an equality on
 *     village_code, which household_village(village_code, id) answers in id
 *     order; a broad search text then checks each of its households'
 *     members (EXISTS over member_household: a few hundred households at
 *     most), a selective one starts from the members, as below;
 *   - a wider scope is a code range; the search then starts from the members
 *     it matches (every term below uses an index: member_name for the name
 *     prefix, member_name_py for initials, the unique 身份证号, and
 *     member_id_tail for the last four characters, longer tails checked
 *     whole), so the households are looked up by id, never scanned. */
#define SEARCH_TERMS                                                                               \
	"(name >= :q AND name < :qend) OR id_number = :qup OR (substr(id_number, 15, 4) = :tail "    \
	"AND substr(id_number, 19 - length(:qup)) = :qup) OR (name_py >= :py AND name_py < :pyend)"
#define FILTERS "(:type IS NULL OR h.hh_type = :type) AND (:reloc IS NULL OR h.relocated = :reloc)"
#define IN_VILLAGE "h.village_code = :lo AND " FILTERS
#define IN_RANGE "h.village_code >= :lo AND h.village_code < :hi AND " FILTERS
#define Q_EXISTS                                                                                   \
	" AND (h.hh_no = :q OR EXISTS (SELECT 1 FROM member m WHERE m.household_id = h.id AND ("    \
	SEARCH_TERMS ")))"
#define Q_IN                                                                                       \
	" AND h.id IN (SELECT household_id FROM member WHERE " SEARCH_TERMS " UNION SELECT x.id "    \
	"FROM household x WHERE x.hh_no = :q)"

#define FIND_COLUMNS                                                                               \
	"SELECT h.id, h.hh_no, h.village_code, r.name, h.hh_type, h.relocated, head.name, "          \
	"head.id_number, (SELECT count(*) FROM member c WHERE c.household_id = h.id), h.phone FROM "  \
	"household h LEFT JOIN region r ON r.code = h.village_code LEFT JOIN member head ON head.id " \
	"= (SELECT min(x.id) FROM member x WHERE x.household_id = h.id AND x.relation = 1) WHERE "    \
	"h.id > :cursor AND "
#define FIND_END " ORDER BY h.id LIMIT :limit"
#define COUNT "SELECT count(*) FROM household h WHERE "

enum variant { V_VILLAGE, V_VILLAGE_Q, V_VILLAGE_IN, V_RANGE, V_RANGE_Q };

static const char *const find_sql[] = {
	FIND_COLUMNS IN_VILLAGE FIND_END,
	FIND_COLUMNS IN_VILLAGE Q_EXISTS FIND_END,
	FIND_COLUMNS IN_VILLAGE Q_IN FIND_END,
	FIND_COLUMNS IN_RANGE FIND_END,
	FIND_COLUMNS IN_RANGE Q_IN FIND_END,
};
static const char *const count_sql[] = {
	COUNT IN_VILLAGE,
	COUNT IN_VILLAGE Q_EXISTS,
	COUNT IN_VILLAGE Q_IN,
	COUNT IN_RANGE,
	COUNT IN_RANGE Q_IN,
};

#define CAPPED(where) "SELECT count(*) FROM (SELECT 1 FROM household h WHERE " where " LIMIT :cap) n"
static const char *const capped_sql[] = {
	CAPPED(IN_VILLAGE),
	CAPPED(IN_VILLAGE Q_EXISTS),
	CAPPED(IN_VILLAGE Q_IN),
	CAPPED(IN_RANGE),
	CAPPED(IN_RANGE Q_IN),
};

/* 1 if search text `t` matches few members in a whole county: digits (an
 * ID tail, a 户编号), or two or more characters that are not ASCII (a name). */
static int selective(const char *t)
{
	size_t n = strlen(t), wide = 0;
	if (strspn(t, "0123456789Xx") == n)
		return 1;
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		wide += (*p & 0xc0) == 0xc0; /* a lead byte: one more character */
	return wide >= 2;
}

/* The variant for `q`: within one village, a broad text (a surname, a
 * letter or two) checks the village's few hundred households one by one,
 * and a selective one starts from the members it matches; in a wider
 * scope the search always starts from the members. */
static enum variant variant_of(const struct hh_query *q)
{
	int village = q->prefix && strlen(q->prefix) == 12;
	if (!q->q || !*q->q)
		return village ? V_VILLAGE : V_RANGE;
	if (!village)
		return V_RANGE_Q;
	return selective(q->q) ? V_VILLAGE_IN : V_VILLAGE_Q;
}

/* 1 if `s` is 1..16 ASCII letters (then it is also read as initials). */
static int all_letters(const char *s)
{
	size_t n = 0;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return n >= 1 && n <= 16;
}

/* Bind the parameters of variant `v` for `q`. */
static void bind_query(struct db_stmt *st, const struct hh_query *q, enum variant v)
{
	const char *text = q->q && *q->q ? q->q : NULL;
	char lo[16];
	snprintf(lo, sizeof(lo), "%s", q->prefix ? q->prefix : "");
	if (v == V_VILLAGE || v == V_VILLAGE_Q || v == V_VILLAGE_IN)
		db_bind_text(st, ":lo", lo);
	else
		db_bind_prefix(st, ":lo", ":hi", lo);
	db_bind_int_or_null(st, ":type", q->hh_type);
	db_bind_int_or_null(st, ":reloc", q->relocated);
	if (text) {
		size_t len = strlen(text);
		char *end = xstrfmt("%s\xf4\x8f\xbf\xbf", text), *up = xstrdup(text);
		for (char *p = up; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		db_bind_text(st, ":q", text);
		db_bind_text(st, ":qend", end);
		db_bind_text(st, ":qup", up);
		if (len >= 4 && len <= 17 && strspn(up, "0123456789X") == len)
			db_bind_text(st, ":tail", up + len - 4);
		else
			db_bind_null(st, ":tail");
		/* initials: any length within a village; in a wider scope at least
		 * REGISTRY_INITIALS_MIN letters (a county has thousands of names
		 * for any two initials, which nobody reads through) */
		if (all_letters(text) && (len >= REGISTRY_INITIALS_MIN || v == V_VILLAGE_Q)) {
			char *py = xstrdup(text), *pyend;
			for (char *p = py; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			pyend = xstrfmt("%s{", py); /* '{' sorts right after 'z' */
			db_bind_text(st, ":py", py);
			db_bind_text(st, ":pyend", pyend);
			free(py);
			free(pyend);
		} else {
			db_bind_null(st, ":py");
			db_bind_null(st, ":pyend");
		}
		free(end);
		free(up);
	}
}

enum { HS_ID, HS_HH_NO, HS_VILLAGE, HS_VILLAGE_NAME, HS_TYPE, HS_RELOCATED, HS_HEAD, HS_HEAD_ID,
       HS_MEMBERS, HS_PHONE };

int registry_household_find(struct db *db, const struct hh_query *q, struct hh_row **rows,
			    int *alloc, int *more)
{
	struct db_stmt *st;
	int n = 0, rc;
	*more = 0;
	enum variant v = variant_of(q);
	st = db_prepare(db, find_sql[v]);
	bind_query(st, q, v);
	db_bind_int(st, ":cursor", q->after);
	db_bind_int(st, ":limit", (int64_t)q->limit + 1);
	while ((rc = db_step(st)) == DB_ROW) {
		struct hh_row *r;
		if (n == q->limit) {
			*more = 1;
			break;
		}
		ALLOC_GROW(*rows, n + 1, *alloc);
		r = &(*rows)[n++];
		memset(r, 0, sizeof(*r));
		r->id = db_col_int(st, HS_ID);
		snprintf(r->hh_no, sizeof(r->hh_no), "%s", db_col_text(st, HS_HH_NO));
		snprintf(r->village_code, sizeof(r->village_code), "%s", db_col_text(st, HS_VILLAGE));
		snprintf(r->village_name, sizeof(r->village_name), "%s",
			 db_col_text(st, HS_VILLAGE_NAME));
		r->hh_type = db_col_is_null(st, HS_TYPE) ? -1 : (int)db_col_int(st, HS_TYPE);
		r->relocated = (int)db_col_int(st, HS_RELOCATED);
		snprintf(r->head_name, sizeof(r->head_name), "%s", db_col_text(st, HS_HEAD));
		snprintf(r->head_id_number, sizeof(r->head_id_number), "%s",
			 db_col_text(st, HS_HEAD_ID));
		r->members = (int)db_col_int(st, HS_MEMBERS);
		snprintf(r->phone, sizeof(r->phone), "%s", db_col_text(st, HS_PHONE));
	}
	db_done(st);
	return rc < 0 ? -1 : n;
}

int64_t registry_household_count(struct db *db, const struct hh_query *q, int64_t cap)
{
	enum variant v = variant_of(q);
	struct db_stmt *st = db_prepare(db, cap > 0 ? capped_sql[v] : count_sql[v]);
	int64_t n = -1;
	bind_query(st, q, v);
	if (cap > 0)
		db_bind_int(st, ":cap", cap + 1);
	if (db_step(st) == DB_ROW)
		n = db_col_int(st, 0);
	db_done(st);
	return n;
}
