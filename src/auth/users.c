/* users.c — user accounts: validation, creation, updates and passwords. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "base/csv.h"
#include "base/util.h"

static void copy_text(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* 1 if `s` is valid UTF-8 without control characters (it is shown in
 * pages, JSON and the audit export). */
static int text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return utf8_valid(s, strlen(s));
}

int auth_user_validate(struct db *db, const struct user_rec *u, struct buf *err)
{
	size_t l = strlen(u->login);
	char prefix[13];
	if (l < 3 || l > 32)
		buf_addstr(err, "登录名应为3到32个字符");
	for (size_t i = 0; i < l && !err->len; i++) {
		unsigned char c = (unsigned char)u->login[i];
		if (!(islower(c) || isdigit(c) || c == '_' || c == '.' || c == '-'))
			buf_addstr(err, "登录名只能包含小写字母、数字和 . _ -");
	}
	if (!err->len && !u->name[0])
		buf_addstr(err, "姓名不能为空");
	if (!err->len && !text_ok(u->name))
		buf_addstr(err, "姓名应为有效的 UTF-8 文字，且不含控制字符");
	if (!err->len && !auth_role_find(u->role))
		buf_addf(err, "角色“%s”不存在", u->role);
	if (!err->len && u->department[0]) {
		int ok = 0;
		for (int i = 0; auth_departments[i] && !ok; i++)
			ok = !strcmp(auth_departments[i], u->department);
		if (!ok)
			buf_addf(err, "部门“%s”不在部门列表中", u->department);
	}
	if (!err->len && u->phone[0] &&
	    (strlen(u->phone) != 11 || u->phone[0] != '1' || strspn(u->phone, "0123456789") != 11))
		buf_addstr(err, "手机号应为11位数字");
	if (!err->len && auth_scope_prefix(u->scope_code, prefix))
		buf_addstr(err, "管辖区划应为2、4、6、9或12位数字区划代码（如 610926 或 610926102）");
	if (!err->len && u->scope_code[0]) {
		struct db_stmt *st = db_prepare(db, "SELECT 1 FROM region WHERE code = :c");
		char code[13];
		code_pad12(u->scope_code, code);
		db_bind_text(st, ":c", code);
		if (db_step(st) != DB_ROW)
			buf_addf(err, "管辖区划 %s 不存在（请先导入行政区划）", u->scope_code);
		db_done(st);
	}
	return err->len ? -1 : 0;
}

/* Normalise a scope code to 12 digits ("" stays ""). */
static void scope12(const char *in, char out[13])
{
	if (!in[0]) {
		out[0] = '\0';
		return;
	}
	code_pad12(in, out);
}

int64_t auth_user_create(struct db *db, const struct user_rec *u0, const char *password,
			 struct buf *err)
{
	struct user_rec u = *u0;
	char hash[crypto_pwhash_STRBYTES], now[20];
	const char *weak;
	struct db_stmt *st;
	int64_t id;

	if (auth_user_validate(db, &u, err))
		return -1;
	scope12(u0->scope_code, u.scope_code);
	if ((weak = auth_password_weak(password, u.login))) {
		buf_addstr(err, weak);
		return -1;
	}
	if (auth_user_load_login(db, u.login, &(struct user_rec){ 0 }) == 1) {
		buf_addf(err, "登录名 %s 已存在", u.login);
		return -1;
	}
	if (auth_password_hash(password, hash, sizeof(hash))) {
		buf_addstr(err, "无法计算密码散列");
		return -1;
	}
	now_utc_text(now);
	st = db_prepare(db, "INSERT INTO users(login, name, phone, scope_code, department, role, "
			    "password_hash, must_change_password, disabled, created_at, updated_at, "
			    "password_changed_at) VALUES(:login, :name, :phone, :scope, :dept, :role, "
			    ":hash, :must, 0, :now, :now, :now)");
	db_bind_text(st, ":login", u.login);
	db_bind_text(st, ":name", u.name);
	db_bind_text(st, ":phone", u.phone);
	db_bind_text(st, ":scope", u.scope_code);
	db_bind_text(st, ":dept", u.department);
	db_bind_text(st, ":role", auth_role_find(u.role)->id);
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":must", u.must_change_password);
	db_bind_text(st, ":now", now);
	id = db_run_insert(st);
	db_done(st);
	if (id < 0)
		buf_addf(err, "无法创建用户：%s", db_errmsg(db));
	return id;
}

enum { UC_ID, UC_LOGIN, UC_NAME, UC_PHONE, UC_SCOPE, UC_DEPT, UC_ROLE, UC_MUST, UC_DISABLED,
       UC_CREATED, UC_LAST_LOGIN };
#define USER_COLUMNS                                                                               \
	"id, login, name, phone, scope_code, department, role, must_change_password, disabled, "    \
	"created_at, last_login_at"

static void read_user(struct db_stmt *st, struct user_rec *u)
{
	memset(u, 0, sizeof(*u));
	u->id = db_col_int(st, UC_ID);
	copy_text(u->login, sizeof(u->login), db_col_text(st, UC_LOGIN));
	copy_text(u->name, sizeof(u->name), db_col_text(st, UC_NAME));
	copy_text(u->phone, sizeof(u->phone), db_col_text(st, UC_PHONE));
	copy_text(u->scope_code, sizeof(u->scope_code), db_col_text(st, UC_SCOPE));
	copy_text(u->department, sizeof(u->department), db_col_text(st, UC_DEPT));
	copy_text(u->role, sizeof(u->role), db_col_text(st, UC_ROLE));
	u->must_change_password = (int)db_col_int(st, UC_MUST);
	u->disabled = (int)db_col_int(st, UC_DISABLED);
	copy_text(u->created_at, sizeof(u->created_at), db_col_text(st, UC_CREATED));
	copy_text(u->last_login_at, sizeof(u->last_login_at), db_col_text(st, UC_LAST_LOGIN));
}

int auth_user_load(struct db *db, int64_t id, struct user_rec *u)
{
	struct db_stmt *st = db_prepare(db, "SELECT " USER_COLUMNS " FROM users WHERE id = :id");
	int rc;
	db_bind_int(st, ":id", id);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_user(st, u);
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int auth_user_load_login(struct db *db, const char *login, struct user_rec *u)
{
	struct db_stmt *st = db_prepare(db, "SELECT " USER_COLUMNS " FROM users WHERE login = :l");
	int rc;
	db_bind_text(st, ":l", login);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_user(st, u);
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int auth_user_update(struct db *db, const struct user_rec *u0, struct buf *err)
{
	struct user_rec u = *u0, old;
	struct db_stmt *st;
	char now[20];
	int end_sessions;
	if (auth_user_validate(db, &u, err))
		return -1;
	scope12(u0->scope_code, u.scope_code);
	if (auth_user_load(db, u.id, &old) != 1) {
		buf_addstr(err, "用户不存在");
		return -1;
	}
	/* a disabled user's sessions die at once, and so do they when the role
	 * or scope changes; a new name or phone leaves them alone (an
	 * administrator editing their own name stays signed in) */
	end_sessions = u.disabled > 0 || strcmp(old.role, auth_role_find(u.role)->id) ||
		       strcmp(old.scope_code, u.scope_code);
	now_utc_text(now);
	st = db_prepare(db, "UPDATE users SET name = :name, phone = :phone, scope_code = :scope, "
			    "department = :dept, role = :role, disabled = :disabled, updated_at = "
			    ":now WHERE id = :id");
	db_bind_text(st, ":name", u.name);
	db_bind_text(st, ":phone", u.phone);
	db_bind_text(st, ":scope", u.scope_code);
	db_bind_text(st, ":dept", u.department);
	db_bind_text(st, ":role", auth_role_find(u.role)->id);
	db_bind_int(st, ":disabled", u.disabled > 0);
	db_bind_text(st, ":now", now);
	db_bind_int(st, ":id", u.id);
	if (db_run(st) < 0) {
		db_done(st);
		buf_addf(err, "无法保存用户：%s", db_errmsg(db));
		return -1;
	}
	db_done(st);
	return end_sessions ? auth_session_end(db, 0, u.id) : 0;
}

int auth_user_set_password(struct db *db, int64_t id, const char *password, int must_change,
			   struct buf *err)
{
	char hash[crypto_pwhash_STRBYTES], now[20];
	struct user_rec u;
	struct db_stmt *st;
	const char *weak;
	if (auth_user_load(db, id, &u) != 1) {
		buf_addstr(err, "用户不存在");
		return -1;
	}
	if ((weak = auth_password_weak(password, u.login))) {
		buf_addstr(err, weak);
		return -1;
	}
	if (auth_password_hash(password, hash, sizeof(hash))) {
		buf_addstr(err, "无法计算密码散列");
		return -1;
	}
	now_utc_text(now);
	st = db_prepare(db, "UPDATE users SET password_hash = :hash, must_change_password = :must, "
			    "password_changed_at = :now, updated_at = :now WHERE id = :id");
	db_bind_text(st, ":hash", hash);
	db_bind_int(st, ":must", must_change > 0);
	db_bind_text(st, ":now", now);
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0) {
		db_done(st);
		buf_addf(err, "无法保存密码：%s", db_errmsg(db));
		return -1;
	}
	db_done(st);
	return 0;
}

json_t *auth_user_json(const struct user_rec *u)
{
	const struct role *r = auth_role_find(u->role);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:s}", "id",
			 (json_int_t)u->id, "login", u->login, "name", u->name, "phone", u->phone,
			 "scope_code", u->scope_code, "department", u->department, "role", u->role,
			 "role_title", r ? r->title : "", "must_change_password",
			 u->must_change_password, "disabled", u->disabled, "created_at",
			 u->created_at, "last_login_at", u->last_login_at);
}
