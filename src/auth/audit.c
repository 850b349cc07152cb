/* audit.c — the append-only audit log: who, when, from where, what, which
 * record, old and new values.  Rows are only ever inserted (triggers refuse
 * UPDATE and DELETE); no route modifies them. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/util.h"

static char *dump_or_null(json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15)) : NULL;
}

int auth_audit_write(struct db *db, const struct audit_entry *e)
{
	struct db_stmt *st;
	char now[20];
	char *oldv = dump_or_null(e->old_value), *newv = dump_or_null(e->new_value);
	int rc;
	now_utc_text(now);
	st = db_prepare(db, "INSERT INTO audit_log(at, user_id, login, role, addr, action, "
			    "target_type, target_id, old_value, new_value, detail, status) "
			    "VALUES(:at, :uid, :login, :role, :addr, :action, :tt, :tid, :old, :new, "
			    ":detail, :status)");
	db_bind_text(st, ":at", now);
	if (e->user_id > 0)
		db_bind_int(st, ":uid", e->user_id);
	else
		db_bind_null(st, ":uid");
	db_bind_text(st, ":login", e->login ? e->login : "");
	db_bind_text(st, ":role", e->role ? e->role : "");
	db_bind_text(st, ":addr", e->addr ? e->addr : "");
	db_bind_text(st, ":action", e->action);
	db_bind_text(st, ":tt", e->target_type ? e->target_type : "");
	if (e->target_type && e->target_id)
		db_bind_int(st, ":tid", e->target_id);
	else
		db_bind_null(st, ":tid");
	db_bind_text(st, ":old", oldv);
	db_bind_text(st, ":new", newv);
	db_bind_text(st, ":detail", e->detail ? e->detail : "");
	db_bind_int(st, ":status", e->status);
	rc = db_run(st);
	db_done(st);
	free(oldv);
	free(newv);
	return rc < 0 ? -1 : 0;
}

int auth_audit_request(struct http_request *req, struct http_response *res)
{
	struct audit_entry e = { 0 };
	const struct principal *p = req->principal;
	char *action = xstrfmt("%s %s", req->method, req->route ? req->route->pattern : req->path);
	int rc;
	e.user_id = p ? p->user_id : 0;
	e.login = p ? p->login : "";
	e.role = p ? p->role : "";
	e.addr = req->remote_addr;
	e.action = action;
	e.target_type = req->audit.target_type;
	e.target_id = req->audit.target_id;
	e.old_value = req->audit.old_value;
	e.new_value = req->audit.new_value;
	e.detail = req->audit.detail;
	e.status = res->status;
	rc = auth_audit_write(req->db, &e);
	free(action);
	return rc;
}

void auth_cli_principal(struct principal *p)
{
	struct passwd *pw = getpwuid(getuid());
	memset(p, 0, sizeof(*p));
	snprintf(p->login, sizeof(p->login), "cli:%s", pw ? pw->pw_name : "unknown");
	snprintf(p->name, sizeof(p->name), "命令行");
	snprintf(p->role, sizeof(p->role), "admin");
}
