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

/* The WHERE clause: region range, type, relocation and the search.  Every
 * search term can use an index: member_name (name prefix), member_name_py
 * (initials prefix), the unique 身份证号, and member_id_tail (its last four
 * characters; longer tails are then checked whole). */
#define HOUSEHOLD_FILTER                                                                           \
	"h.village_code >= :lo AND h.village_code < :hi AND (:type IS NULL OR h.hh_type = :type) "  \
	"AND (:reloc IS NULL OR h.relocated = :reloc) AND (:q IS NULL OR h.hh_no = :q OR h.id IN "  \
	"(SELECT household_id FROM member WHERE (name >= :q AND name < :qend) OR id_number = "      \
	":qup OR (substr(id_number, 15, 4) = :tail AND substr(id_number, 19 - length(:qup)) = :qup) OR "       \
	"(name_py >= :py AND name_py < :pyend)))"

/* 1 if `s` is 1..16 ASCII letters (then it is also read as initials). */
static int all_letters(const char *s)
{
	size_t n = 0;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return n >= 1 && n <= 16;
}

/* Bind the search parameters of HOUSEHOLD_FILTER for `q` (may be NULL). */
static void bind_query(struct db_stmt *st, const struct hh_query *q)
{
	const char *text = q->q && *q->q ? q->q : NULL;
	char lo[16];
	snprintf(lo, sizeof(lo), "%s", q->prefix ? q->prefix : "");
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
		if (len >= 4 && len <= 17 && strspn(up, "0123456789X") == len) {
			db_bind_text(st, ":tail", up + len - 4);
		} else {
			db_bind_null(st, ":tail");
		}
		if (all_letters(text)) {
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
	} else {
		db_bind_null(st, ":q");
		db_bind_null(st, ":qend");
		db_bind_null(st, ":qup");
		db_bind_null(st, ":tail");
		db_bind_null(st, ":py");
		db_bind_null(st, ":pyend");
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
	st = db_prepare(db,
			"SELECT h.id, h.hh_no, h.village_code, r.name, h.hh_type, h.relocated, "
			"head.name, head.id_number, (SELECT count(*) FROM member c WHERE "
			"c.household_id = h.id), h.phone FROM household h LEFT JOIN region r ON "
			"r.code = h.village_code LEFT JOIN member head ON head.id = (SELECT min(x.id) "
			"FROM member x WHERE x.household_id = h.id AND x.relation = 1) WHERE "
			"h.id > :cursor AND " HOUSEHOLD_FILTER " ORDER BY h.id LIMIT :limit");
	bind_query(st, q);
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

int64_t registry_household_count(struct db *db, const struct hh_query *q)
{
	struct db_stmt *st = db_prepare(db, "SELECT count(*) FROM household h WHERE " HOUSEHOLD_FILTER);
	int64_t n = -1;
	bind_query(st, q);
	if (db_step(st) == DB_ROW)
		n = db_col_int(st, 0);
	db_done(st);
	return n;
}
