/* demo.c — one account per role at different levels of the demo county,
 * so that a newcomer can try every view after `make demo`. */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "base/util.h"

struct demo_account {
	const char *login, *name, *role, *department;
	const char *scope_suffix; /* appended to the county code; "V" = first village of 老县镇 */
};

static const struct demo_account demo_accounts[] = {
	{ "admin", "系统管理员（县）", "admin", "乡村振兴局", "" },
	{ "xian.shending", "县级审定员", "county_approver", "乡村振兴局", "" },
	{ "laoxian.shenhe", "老县镇审核员", "township_reviewer", "乡镇人民政府", "102" },
	{ "cun.xinxiyuan", "村级信息员", "village_clerk", "村民委员会", "V" },
	{ "yibao", "医保局用户", "dept_user", "医保局", "" },
	{ "lingdao", "县领导", "leader", "乡村振兴局", "" },
	{ "shenji", "审计员", "auditor", "督查室", "" },
	{ NULL },
};

/* The scope code for account `a` in county `county`, into out[13]. */
static int demo_scope(struct db *db, const char *county, const struct demo_account *a, char out[13])
{
	if (strcmp(a->scope_suffix, "V")) {
		snprintf(out, 13, "%.6s%s", county, a->scope_suffix);
		return 0;
	}
	{
		struct db_stmt *st = db_prepare(db, "SELECT min(code) FROM region WHERE code >= :lo AND "
						    "code < :hi AND level = 5");
		char lo[16], hi[16];
		int ok;
		snprintf(lo, sizeof(lo), "%.6s102", county);
		snprintf(hi, sizeof(hi), "%.6s102:", county);
		db_bind_text(st, ":lo", lo);
		db_bind_text(st, ":hi", hi);
		ok = db_step(st) == DB_ROW && !db_col_is_null(st, 0);
		if (ok)
			snprintf(out, 13, "%s", db_col_text(st, 0));
		db_done(st);
		return ok ? 0 : -1;
	}
}

int auth_demo_accounts(struct db *db, const char *county)
{
	struct buf err = BUF_INIT;
	if (db_begin(db))
		return error("cannot begin: %s", db_errmsg(db));
	for (const struct demo_account *a = demo_accounts; a->login; a++) {
		struct user_rec u;
		struct db_stmt *st;
		int64_t id;
		memset(&u, 0, sizeof(u));
		if (auth_user_load_login(db, a->login, &u) == 1)
			continue;
		snprintf(u.login, sizeof(u.login), "%s", a->login);
		snprintf(u.name, sizeof(u.name), "%s", a->name);
		snprintf(u.role, sizeof(u.role), "%s", a->role);
		snprintf(u.department, sizeof(u.department), "%s", a->department);
		if (demo_scope(db, county, a, u.scope_code))
			continue; /* the county has no village under 102: skip the clerk */
		u.must_change_password = 0;
		buf_reset(&err);
		id = auth_user_create(db, &u, AUTH_DEMO_PASSWORD, &err);
		if (id < 0) {
			db_rollback(db);
			error("cannot create demo account %s: %s", a->login, err.buf);
			buf_release(&err);
			return -1;
		}
		st = db_prepare(db, "UPDATE users SET demo = 1 WHERE id = :id");
		db_bind_int(st, ":id", id);
		db_run(st);
		db_done(st);
	}
	buf_release(&err);
	return db_commit(db) ? error("cannot commit: %s", db_errmsg(db)) : 0;
}

void auth_print_demo_logins(struct db *db, FILE *f)
{
	struct db_stmt *st = db_prepare(db, "SELECT u.login, u.name, u.role, u.scope_code, "
					    "coalesce(r.name, '') FROM users u LEFT JOIN region r ON "
					    "r.code = u.scope_code WHERE u.demo = 1 AND u.disabled = 0 "
					    "ORDER BY u.id");
	int n = 0;
	while (db_step(st) == DB_ROW) {
		const struct role *r = auth_role_find(db_col_text(st, 2));
		if (!n++)
			fprintf(f, "演示账号（密码均为 %s）：\n", AUTH_DEMO_PASSWORD);
		fprintf(f, "  %-16s %s · %s · 辖区 %s\n", db_col_text(st, 0), r ? r->title : "",
			db_col_text(st, 1), db_col_text(st, 4));
	}
	db_done(st);
}
