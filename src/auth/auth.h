/* auth.h — accounts, roles, region scopes, sessions and the audit log.
 *
 * Every route of every module goes through this: the dispatcher asks
 * auth_authenticate() who is calling, auth_permitted() whether the caller's
 * role holds the route's permission, and auth_audit_request() to write the
 * audit row of a write or a sensitive read.  Region scope is a region-code
 * prefix carried by the principal; modules apply it in their SQL. */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdint.h>
#include <stdio.h>
#include "base/buf.h"
#include "db/db.h"
#include "http/http.h"

/* ---- roles and permissions (roles.c) ------------------------------------ */

struct role {
	const char *id;    /* "village_clerk" */
	const char *title; /* "村级信息员" */
	const char *const *perms; /* NULL-terminated permissions */
};

/* The roles, NULL-terminated. */
extern const struct role auth_roles[];
/* Every permission name used by routes, NULL-terminated (for the matrix test). */
extern const char *const auth_permissions[];
/* The role with identifier or Chinese title `name`, or NULL. */
const struct role *auth_role_find(const char *name);
/* The Chinese title of role id `role`, or NULL (the page header's hook). */
const char *auth_role_title(const char *role);
/* 1 if role `role` holds permission `perm`. */
int auth_role_permits(const char *role, const char *perm);
/* The dispatcher hook: 1 if principal `p` holds `perm`. */
int auth_permitted(const struct principal *p, const char *perm);

/* Permissions that handlers check beyond the route's own. */
#define PERM_ID_FULL "person.id_full" /* see full 身份证号 and phone on detail views */

/* The departments a user may belong to (Chinese names), NULL-terminated. */
extern const char *const auth_departments[];

/* ---- region scope -------------------------------------------------------- */

/* The prefix of a 12-digit region code by its level: province 2 digits,
 * city 4, county 6, township 9, village 12.  Writes into out[13]; "" for
 * an empty code.  Returns -1 if `code` is not 2, 4, 6, 9 or 12 digits (a
 * code of another length names no level). */
int auth_scope_prefix(const char *code, char out[13]);

/* ---- passwords (password.c) ------------------------------------------------ */

#define PASSWORD_MIN_LEN 10
/* Check strength: at least PASSWORD_MIN_LEN characters, three of four
 * classes (lower, upper, digit, other), not containing the login, not a
 * common password.  Returns NULL if acceptable, else a Chinese reason. */
const char *auth_password_weak(const char *password, const char *login);
/* Hash with argon2id (libsodium); out must hold crypto_pwhash_STRBYTES. */
int auth_password_hash(const char *password, char *out, size_t outlen);
/* 1 if `password` matches `hash`. */
int auth_password_verify(const char *hash, const char *password);
/* A random initial password that passes auth_password_weak(); out[20]. */
void auth_password_generate(char out[20]);

/* ---- users (users.c) ------------------------------------------------------- */

struct user_rec {
	int64_t id;
	char login[64];
	char name[64];
	char phone[24];
	char scope_code[13];   /* 12-digit region code, or "" for the whole system */
	char department[64];
	char role[32];
	int must_change_password;
	int disabled;
	char created_at[20];
	char last_login_at[20];
};

int auth_migrate(struct db *db);
/* Validate and create a user with `password` (hashed here).  Returns the
 * new id, or -1 with a Chinese reason in `err`. */
int64_t auth_user_create(struct db *db, const struct user_rec *u, const char *password,
			 struct buf *err);
/* Load by id / login; 1 found, 0 not, -1 error. */
int auth_user_load(struct db *db, int64_t id, struct user_rec *u);
int auth_user_load_login(struct db *db, const char *login, struct user_rec *u);
/* Update name, phone, scope, department, role and disabled from `u`
 * (validated; the user's sessions end when the user is disabled or the
 * role or scope changes).  0 or -1 + err. */
int auth_user_update(struct db *db, const struct user_rec *u, struct buf *err);
/* Set a password; `must_change` marks it as initial.  0 or -1 + err. */
int auth_user_set_password(struct db *db, int64_t id, const char *password, int must_change,
			   struct buf *err);
/* Validate the fields of `u` (login shape, role, scope exists, department). */
int auth_user_validate(struct db *db, const struct user_rec *u, struct buf *err);
/* The user as JSON (no secrets). */
json_t *auth_user_json(const struct user_rec *u);

/* ---- sessions (session.c) -------------------------------------------------- */

/* Idle and absolute session lifetimes in seconds (defaults 30 min, 12 h;
 * `liubao serve --session-idle/--session-max` change them). */
extern long auth_session_idle_seconds, auth_session_max_seconds;

/* Create a session for user `u`: writes a 256-bit random token (base64url,
 * 43 characters) to token[64] and its CSRF token to csrf[64]. */
int auth_session_create(struct db *db, int64_t user_id, const char *addr, const char *agent,
			char token[64], char csrf[64]);
/* Resolve a token into a principal (checks expiry and that the user is not
 * disabled; refreshes last use at most once a minute).  Each thread keeps
 * the sessions it resolved and serves them again while the database's auth
 * epoch is unchanged (a one-row read instead of the sessions-users join; see
 * session.c), so a change made anywhere is seen on the next call.  1 valid,
 * 0 invalid, -1 error. */
int auth_session_resolve(struct db *db, const char *token, struct principal *p);
/* End the session with id `session_id`, or every session of `user_id` when
 * session_id is 0. */
int auth_session_end(struct db *db, int64_t session_id, int64_t user_id);
/* The auth epoch of a database that may predate it or not be liubao's at
 * all: -1 when it has none (nothing to compare with). */
int64_t auth_epoch_peek(struct db *db);
/* After the database was replaced wholesale (liubao restore): move its auth
 * epoch past `before`, the epoch the replaced database had (-1 if none), so
 * that a server's session cache filled from the old one trusts none of its
 * entries — a session made after the backup would otherwise still resolve
 * while the restored counter happens to read the same.  0 or -1. */
int auth_epoch_advance(struct db *db, int64_t before);
/* The dispatcher hook. */
int auth_authenticate(struct http_request *req);

/* ---- login throttling (session.c) ----------------------------------------- */

/* Seconds the key ("user:LOGIN" or "addr:IP") must still wait, 0 if none. */
long auth_lock_remaining(struct db *db, const char *key);
/* Record a failure / success for a key. */
void auth_lock_fail(struct db *db, const char *key, int threshold);
void auth_lock_clear(struct db *db, const char *key);
#define LOCK_ACCOUNT_THRESHOLD 5
#define LOCK_ADDRESS_THRESHOLD 20

/* ---- audit (audit.c) ------------------------------------------------------- */

struct audit_entry {
	int64_t user_id;
	const char *login, *role, *addr;
	const char *action;      /* "PUT /api/v1/households/:id", "cli export members", "login" */
	const char *target_type; /* may be NULL */
	int64_t target_id;
	json_t *old_value, *new_value; /* borrowed, may be NULL */
	const char *detail;      /* Chinese, may be NULL */
	int status;              /* HTTP status or command exit code */
};
/* Append one row to the audit log (the caller owns the transaction). */
int auth_audit_write(struct db *db, const struct audit_entry *e);
/* The dispatcher hook: audit the request from req->audit. */
int auth_audit_request(struct http_request *req, struct http_response *res);
/* Principal for command-line use: the operating-system user, unlimited scope. */
void auth_cli_principal(struct principal *p);

/* HTTP routes of the auth module, terminated by a NULL method. */
extern const struct route auth_routes[];

/* Demo accounts for 平利县; creates them (must_change_password = 0) and
 * prints them when `print` is set. */
int auth_demo_accounts(struct db *db, const char *county);
/* The demo password printed by `make demo`. */
#define AUTH_DEMO_PASSWORD "Pingli#2020demo"
/* Print the demo logins if the database holds them. */
void auth_print_demo_logins(struct db *db, FILE *f);

#endif
