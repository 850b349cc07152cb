/* schema.c — the registry's tables and their migrations, and the copy of
 * the code lists kept in table code_item for SQL reports. */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "db/db.h"
#include "registry/codes.h"
#include "registry/pinyin.h"
#include "registry/registry.h"

static const struct db_migration registry_migrations[] = {
	{ 1, "regions, households, members, code lists",
	  "CREATE TABLE region(\n"
	  "  code TEXT PRIMARY KEY,   -- 12-digit 统计用区划代码 (province 610000000000 ... village)\n"
	  "  name TEXT NOT NULL,      -- official name, e.g. 平利县\n"
	  "  level INTEGER NOT NULL,  -- 1 省 2 市 3 县 4 乡镇 5 村 (enum region_level)\n"
	  "  parent TEXT              -- code of the enclosing region, NULL for a province\n"
	  ");\n"
	  "CREATE INDEX region_parent ON region(parent);\n"
	  "CREATE TABLE code_item(\n"
	  "  list TEXT NOT NULL,      -- list name, e.g. relation\n"
	  "  code INTEGER NOT NULL,   -- value stored in member/household columns\n"
	  "  label TEXT NOT NULL,     -- Chinese label shown to users\n"
	  "  PRIMARY KEY(list, code)\n"
	  ");\n"
	  "CREATE TABLE household(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT, -- internal id, never reused\n"
	  "  hh_no TEXT NOT NULL UNIQUE, -- 户编号 (national platform number)\n"
	  "  village_code TEXT NOT NULL REFERENCES region(code), -- 12-digit village code\n"
	  "  address TEXT NOT NULL DEFAULT '', -- 家庭住址\n"
	  "  phone TEXT NOT NULL DEFAULT '',   -- 户联系电话\n"
	  "  hh_type INTEGER,         -- 户类型 (code_hh_type)\n"
	  "  relocated INTEGER NOT NULL DEFAULT 0, -- 易地扶贫搬迁户 1/0\n"
	  "  relocation_site TEXT NOT NULL DEFAULT '', -- 安置点\n"
	  "  created_at TEXT NOT NULL, -- UTC\n"
	  "  updated_at TEXT NOT NULL  -- UTC, changes only when a value changes\n"
	  ");\n"
	  "CREATE INDEX household_village ON household(village_code, id);\n"
	  "CREATE TABLE member(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT, -- internal id, never reused\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  name TEXT NOT NULL,      -- 姓名\n"
	  "  id_number TEXT NOT NULL UNIQUE, -- 身份证号, 18 characters, upper-case X\n"
	  "  relation INTEGER NOT NULL, -- 与户主关系 (code_relation)\n"
	  "  sex INTEGER NOT NULL,    -- 1 男 2 女, from the 身份证号\n"
	  "  birth_date TEXT NOT NULL, -- YYYY-MM-DD, from the 身份证号\n"
	  "  ethnicity INTEGER,       -- 民族 (GB 3304)\n"
	  "  education INTEGER,       -- 文化程度\n"
	  "  school_status INTEGER,   -- 在校生状况\n"
	  "  health INTEGER,          -- 健康状况 bitmask (1<<code)\n"
	  "  disability INTEGER,      -- 残疾类别\n"
	  "  labor_skill INTEGER,     -- 劳动技能\n"
	  "  work_status INTEGER,     -- 务工状况\n"
	  "  ins_resident_med INTEGER, -- 城乡居民基本医疗保险 1/0\n"
	  "  ins_employee_med INTEGER, -- 职工基本医疗保险 1/0\n"
	  "  ins_critical INTEGER,    -- 大病保险 1/0\n"
	  "  ins_pension INTEGER,     -- 养老保险 1/0\n"
	  "  dibao INTEGER,           -- 享受低保 1/0\n"
	  "  tekun INTEGER,           -- 特困供养 1/0\n"
	  "  phone TEXT NOT NULL DEFAULT '', -- 联系电话\n"
	  "  created_at TEXT NOT NULL,\n"
	  "  updated_at TEXT NOT NULL\n"
	  ");\n"
	  "CREATE INDEX member_household ON member(household_id);\n"
	  "CREATE INDEX member_name ON member(name);\n",
	  NULL },
	{ 2, "pinyin initials of member names and the last digits of 身份证号, for search",
	  "ALTER TABLE member ADD COLUMN name_py TEXT NOT NULL DEFAULT ''; -- pinyin initials "
	  "of name (registry_name_initials), e.g. zsf for 张三丰; kept in step on every write\n"
	  "CREATE INDEX member_name_py ON member(name_py);\n"
	  "CREATE INDEX member_id_tail ON member(substr(id_number, 15, 4)); -- search by the "
	  "last digits of the 身份证号\n",
	  NULL },
	{ 3, "layout profiles saved by users (column mappings of ledger layouts)",
	  "CREATE TABLE layout_profile(\n"
	  "  name TEXT PRIMARY KEY,    -- identifier used with --profile (letters, digits, - _)\n"
	  "  body TEXT NOT NULL,       -- the profile as JSON (registry_profile_to_json)\n"
	  "  created_at TEXT NOT NULL, -- UTC\n"
	  "  updated_at TEXT NOT NULL, -- UTC\n"
	  "  updated_by TEXT NOT NULL DEFAULT '' -- login of the last writer\n"
	  ");\n",
	  NULL },
};

/* Fill member.name_py where it is still empty (the rows that existed when
 * migration 2 added the column), in batches of one transaction each. */
static int backfill_initials(struct db *db)
{
	for (;;) {
		struct db_stmt *st, *up;
		int64_t ids[2000];
		char (*names)[64] = xmalloc(sizeof(char[64]) * ARRAY_SIZE(ids));
		int n = 0, rc;
		if (db_begin(db)) {
			free(names);
			return error("cannot begin: %s", db_errmsg(db));
		}
		st = db_prepare(db, "SELECT id, name FROM member WHERE name_py = '' AND name <> '' "
				    "ORDER BY id LIMIT :n");
		db_bind_int(st, ":n", (int64_t)ARRAY_SIZE(ids));
		while ((rc = db_step(st)) == DB_ROW) {
			ids[n] = db_col_int(st, 0);
			snprintf(names[n], 64, "%s", db_col_text(st, 1));
			n++;
		}
		db_done(st);
		for (int i = 0; i < n && rc >= 0; i++) {
			char py[64];
			up = db_prepare(db, "UPDATE member SET name_py = :py WHERE id = :id");
			registry_name_initials(names[i], py, sizeof(py));
			/* a name without a letter gets "-", so it is not read again */
			db_bind_text(up, ":py", py[0] ? py : "-");
			db_bind_int(up, ":id", ids[i]);
			rc = db_run(up);
			db_done(up);
		}
		free(names);
		if (rc < 0) {
			db_rollback(db);
			return error("cannot fill member initials: %s", db_errmsg(db));
		}
		if (db_commit(db))
			return error("cannot commit: %s", db_errmsg(db));
		if (n < (int)ARRAY_SIZE(ids))
			return 0;
	}
}

int registry_migrate(struct db *db)
{
	if (db_migrate(db, "registry", registry_migrations, ARRAY_SIZE(registry_migrations)) ||
	    backfill_initials(db))
		return -1;
	/* Keep code_item in step with the lists compiled into this binary. */
	if (db_begin(db))
		return error("cannot begin: %s", db_errmsg(db));
	for (int i = 0; code_lists[i]; i++) {
		const struct code_list *l = code_lists[i];
		for (int j = 0; j < l->nr_items; j++) {
			struct db_stmt *st = db_prepare(
				db, "INSERT INTO code_item(list, code, label) VALUES(:l, :c, :t) "
				    "ON CONFLICT(list, code) DO UPDATE SET label = excluded.label "
				    "WHERE code_item.label <> excluded.label");
			db_bind_text(st, ":l", l->name);
			db_bind_int(st, ":c", l->items[j].code);
			db_bind_text(st, ":t", l->items[j].label);
			if (db_run(st) < 0) {
				db_done(st);
				db_rollback(db);
				return error("cannot store code list %s: %s", l->name, db_errmsg(db));
			}
			db_done(st);
		}
	}
	return db_commit(db) ? error("cannot commit: %s", db_errmsg(db)) : 0;
}
