/* backup.c — online backup and restore of a whole database (db.h:
 * db_backup, db_restore).
 *
 * SQLite: the online backup API copies every page in one step, inside one
 * read transaction, so the copy shows one moment even while a server writes
 * (in WAL mode a reader never blocks a writer).  The copy is made beside
 * the destination under a temporary name, switched to a rollback journal
 * so that it is one self-contained file, checked with PRAGMA
 * integrity_check, synced and renamed into place: a crash never leaves half
 * a backup under the final name.
 *
 * PostgreSQL: pg_dump (custom format) and pg_restore, run as child
 * processes.  The connection URL reaches them through libpq's environment
 * variables (PGHOST, PGPASSWORD...), so a password never shows in `ps`. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/util.h"
#include "db/db.h"

static int is_pg_target(const char *target)
{
	return starts_with(target, "postgresql://") || starts_with(target, "postgres://");
}

static int fail(char *errbuf, size_t errlen, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* What the first bytes of file `path` say it is: 's' SQLite, 'p' a pg_dump
 * archive, '?' something else, 0 when it cannot be read. */
static int file_kind(const char *path)
{
	char head[16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n == 16 && !memcmp(head, "SQLite format 3", 16))
		return 's';
	if (n >= 5 && !memcmp(head, "PGDMP", 5))
		return 'p';
	return '?';
}

/* fsync file `path`, then its directory, so a rename into it is durable. */
static int sync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	int rc;
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int sync_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rc;
	if (!slash)
		rc = sync_path(".", 1);
	else {
		slash[slash == dir] = '\0';
		rc = sync_path(dir, 1);
	}
	free(dir);
	return rc;
}

/* A temporary name beside `path`; the caller frees it. */
static char *temp_beside(const char *path)
{
	return xstrfmt("%s.tmp-%ld", path, (long)getpid());
}

static void unlink_sqlite(const char *path)
{
	char *w = xstrfmt("%s-wal", path), *s = xstrfmt("%s-shm", path), *j = xstrfmt("%s-journal", path);
	unlink(path);
	unlink(w);
	unlink(s);
	unlink(j);
	free(w);
	free(s);
	free(j);
}

/* ---- SQLite ------------------------------------------------------------------- */

/* PRAGMA integrity_check on `h`: 0 when it says ok, else -1 with its first
 * findings in errbuf. */
static int sq_integrity(sqlite3 *h, const char *what, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st;
	struct buf found = BUF_INIT;
	int rc, n = 0, ok = 0;
	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return fail(errbuf, errlen, "无法检查%s：%s", what, sqlite3_errmsg(h));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (!n++ && t && !strcmp(t, "ok"))
			ok = 1;
		else if (n <= 3)
			buf_addf(&found, "%s%s", found.len ? "；" : "", t ? t : "");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		buf_release(&found);
		return fail(errbuf, errlen, "无法检查%s：%s", what, sqlite3_errmsg(h));
	}
	if (!ok || n != 1) {
		fail(errbuf, errlen, "%s未通过完整性检查：%s", what, found.buf);
		buf_release(&found);
		return -1;
	}
	buf_release(&found);
	return 0;
}

/* Copy every page of `src` into `dst` in one step (one read transaction on
 * the source, one write transaction on the destination), waiting while
 * either is locked.  Returns 0 or -1 with errbuf. */
static int sq_copy(sqlite3 *src, sqlite3 *dst, char *errbuf, size_t errlen)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc, frc, waited = 0;
	if (!b)
		return fail(errbuf, errlen, "无法开始复制：%s", sqlite3_errmsg(dst));
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (waited++ > 600) /* 60 s */
			break;
		sqlite3_sleep(100);
	}
	frc = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return fail(errbuf, errlen, "复制失败：%s", rc == SQLITE_BUSY || rc == SQLITE_LOCKED
					? "数据库持续被锁定，请稍后重试" : sqlite3_errstr(rc));
	if (frc != SQLITE_OK)
		return fail(errbuf, errlen, "复制失败：%s", sqlite3_errmsg(dst));
	return 0;
}

static sqlite3 *sq_open(const char *path, int flags, char *errbuf, size_t errlen)
{
	sqlite3 *h = NULL;
	if (sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fail(errbuf, errlen, "无法打开 '%s'：%s", path, h ? sqlite3_errmsg(h) : "内存不足");
		sqlite3_close(h);
		return NULL;
	}
	sqlite3_busy_timeout(h, 10000);
	return h;
}

/* Run `sql` on `h`; 0 or -1 with errbuf. */
static int sq_exec(sqlite3 *h, const char *sql, char *errbuf, size_t errlen)
{
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(errbuf, errlen, "%s", sqlite3_errmsg(h));
	return 0;
}

static int sq_backup(const char *target, const char *out, char *errbuf, size_t errlen)
{
	sqlite3 *src = NULL, *dst = NULL;
	char *tmp = temp_beside(out);
	int rc = -1;
	if (access(target, F_OK))
		return fail(errbuf, errlen, "数据库 '%s' 不存在", target);
	if (!(src = sq_open(target, SQLITE_OPEN_READONLY, errbuf, errlen)))
		goto out;
	unlink_sqlite(tmp);
	if (!(dst = sq_open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, errbuf, errlen)))
		goto out;
	if (sq_copy(src, dst, errbuf, errlen))
		goto out;
	/* one self-contained file: a rollback journal, not a WAL beside it */
	if (sq_exec(dst, "PRAGMA journal_mode=DELETE", errbuf, errlen) ||
	    sq_integrity(dst, "备份", errbuf, errlen))
		goto out;
	if (sqlite3_close(dst) != SQLITE_OK) {
		fail(errbuf, errlen, "无法关闭备份文件 '%s'", tmp);
		dst = NULL;
		goto out;
	}
	dst = NULL;
	if (sync_path(tmp, 0) || rename(tmp, out) || sync_parent(out)) {
		fail(errbuf, errlen, "无法写入 '%s'：%s", out, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc)
		unlink_sqlite(tmp);
	free(tmp);
	return rc;
}

/* Is `path` a database with data (a file longer than zero bytes)? */
static int sq_has_data(const char *path)
{
	struct stat sb;
	return !stat(path, &sb) && sb.st_size > 0;
}

static int sq_restore(const char *in, const char *target, int force, char *errbuf, size_t errlen)
{
	sqlite3 *src = NULL, *dst = NULL, *check = NULL;
	sqlite3_stmt *st;
	char *tmp = NULL;
	int rc = -1, liubao = 0;
	if (!(src = sq_open(in, SQLITE_OPEN_READONLY, errbuf, errlen)))
		return -1;
	if (sq_integrity(src, "备份文件", errbuf, errlen))
		goto out;
	if (sqlite3_prepare_v2(src, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
				    "name = 'schema_version'", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			liubao = sqlite3_column_int(st, 0) == 1;
		sqlite3_finalize(st);
	}
	if (!liubao) {
		fail(errbuf, errlen, "'%s' 不是 liubao 的数据库备份（没有 schema_version 表）", in);
		goto out;
	}
	if (sq_has_data(target) && !force) {
		fail(errbuf, errlen, "数据库 '%s' 已存在；确认要用备份覆盖它时请加 --force", target);
		goto out;
	}
	if (!sq_has_data(target)) {
		/* a new database: write it beside, then rename into place; a stale
		 * WAL left under the target's name would be replayed into it */
		tmp = temp_beside(target);
		unlink_sqlite(tmp);
		if (!(dst = sq_open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, errbuf, errlen)) ||
		    sq_copy(src, dst, errbuf, errlen) ||
		    sq_exec(dst, "PRAGMA journal_mode=DELETE", errbuf, errlen))
			goto out;
		sqlite3_close(dst);
		dst = NULL;
		unlink_sqlite(target);
		if (sync_path(tmp, 0) || rename(tmp, target) || sync_parent(target)) {
			fail(errbuf, errlen, "无法写入 '%s'：%s", target, strerror(errno));
			goto out;
		}
	} else {
		/* an existing database, perhaps open in a server: overwrite it
		 * through SQLite's locks in one write transaction */
		if (!(dst = sq_open(target, SQLITE_OPEN_READWRITE, errbuf, errlen)) ||
		    sq_copy(src, dst, errbuf, errlen))
			goto out;
		sqlite3_close(dst);
		dst = NULL;
	}
	if (!(check = sq_open(target, SQLITE_OPEN_READONLY, errbuf, errlen)) ||
	    sq_integrity(check, "恢复后的数据库", errbuf, errlen))
		goto out;
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	sqlite3_close(check);
	if (tmp) {
		if (rc)
			unlink_sqlite(tmp);
		free(tmp);
	}
	return rc;
}

/* ---- PostgreSQL ------------------------------------------------------------------- */

/* Run `argv` (a PostgreSQL client tool) with the connection of `url` in its
 * environment; stdout goes to /dev/null when `quiet_stdout`.  Returns its
 * exit status, 127 when it cannot be started, or -1 on a bad URL. */
static int run_pg_tool(const char *const *argv, const char *url, int quiet_stdout)
{
	PQconninfoOption *opts = NULL;
	char *perr = NULL;
	pid_t pid;
	int status;
	if (url && !(opts = PQconninfoParse(url, &perr))) {
		PQfreemem(perr);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		PQconninfoFree(opts);
		return -1;
	}
	if (pid == 0) {
		for (PQconninfoOption *o = opts; o && o->keyword; o++)
			if (o->envvar && o->val && *o->val)
				setenv(o->envvar, o->val, 1);
		if (quiet_stdout) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0)
				dup2(fd, 1);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	PQconninfoFree(opts);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int tool_failed(char *errbuf, size_t errlen, const char *tool, int rc)
{
	if (rc == 127)
		return fail(errbuf, errlen, "找不到 %s：PostgreSQL 数据库的备份和恢复需要它，请安装 "
			    "postgresql-client（Debian：apt-get install postgresql-client-15）", tool);
	if (rc < 0)
		return fail(errbuf, errlen, "无法运行 %s（数据库地址无效？）", tool);
	return fail(errbuf, errlen, "%s 失败（退出码 %d），见上面的输出", tool, rc);
}

/* Does the pg_dump archive `path` read back whole?  0 or -1 with errbuf. */
static int pg_verify_archive(const char *path, char *errbuf, size_t errlen)
{
	const char *argv[] = { "pg_restore", "--list", path, NULL };
	int rc = run_pg_tool(argv, NULL, 1);
	if (rc == 127)
		return tool_failed(errbuf, errlen, "pg_restore", rc);
	if (rc)
		return fail(errbuf, errlen, "备份文件 '%s' 无法读取（pg_restore --list 退出码 %d）", path,
			    rc);
	return 0;
}

static int pg_backup(const char *target, const char *out, char *errbuf, size_t errlen)
{
	char *tmp = temp_beside(out), *file = xstrfmt("--file=%s", tmp);
	const char *argv[] = { "pg_dump", "--format=custom", "--no-owner", "--no-privileges", file,
			       NULL };
	int rc = run_pg_tool(argv, target, 0);
	if (rc)
		tool_failed(errbuf, errlen, "pg_dump", rc);
	else if (pg_verify_archive(tmp, errbuf, errlen))
		rc = -1;
	else if (sync_path(tmp, 0) || rename(tmp, out) || sync_parent(out))
		rc = fail(errbuf, errlen, "无法写入 '%s'：%s", out, strerror(errno));
	if (rc)
		unlink(tmp);
	free(file);
	free(tmp);
	return rc ? -1 : 0;
}

/* How many tables the PostgreSQL database `target` has in schema public; -1
 * with errbuf when it cannot be asked. */
static long pg_tables(const char *target, char *errbuf, size_t errlen)
{
	struct db *db = db_open(target, 0, errbuf, errlen);
	struct db_stmt *st;
	long n = -1;
	if (!db)
		return -1;
	st = db_prepare(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
			    "'public'");
	if (db_step(st) == DB_ROW)
		n = (long)db_col_int(st, 0);
	else
		fail(errbuf, errlen, "%s", db_errmsg(db));
	db_done(st);
	db_close(db);
	return n;
}

static int pg_restore(const char *in, const char *target, int force, char *errbuf, size_t errlen)
{
	const char *argv[] = { "pg_restore", "--single-transaction", "--exit-on-error", "--no-owner",
			       "--no-privileges", NULL, NULL, NULL, NULL, NULL };
	int i = 5, rc;
	long have;
	if (pg_verify_archive(in, errbuf, errlen))
		return -1;
	if ((have = pg_tables(target, errbuf, errlen)) < 0)
		return -1;
	if (have > 0 && !force)
		return fail(errbuf, errlen, "数据库已存在（已有 %ld 张表）；确认要用备份覆盖它时请加 --force", have);
	/* pg_restore needs --dbname; an empty conninfo string takes everything
	 * from the environment run_pg_tool sets */
	argv[i++] = "--dbname=";
	if (have > 0) {
		argv[i++] = "--clean";
		argv[i++] = "--if-exists";
	}
	argv[i++] = in;
	argv[i] = NULL;
	rc = run_pg_tool(argv, target, 0);
	if (rc)
		return tool_failed(errbuf, errlen, "pg_restore", rc);
	if (pg_tables(target, errbuf, errlen) <= 0)
		return fail(errbuf, errlen, "恢复后数据库中没有表");
	return 0;
}

/* ---- the front ------------------------------------------------------------------- */

int db_backup(const char *target, const char *out, int force, char *errbuf, size_t errlen)
{
	if (!strcmp(out, "-") || !*out)
		return fail(errbuf, errlen, "请指定备份文件名（不能写到标准输出）");
	if (!force && !access(out, F_OK))
		return fail(errbuf, errlen, "备份文件 '%s' 已存在；要覆盖它请加 --force", out);
	if (is_pg_target(target))
		return pg_backup(target, out, errbuf, errlen);
	if (!strcmp(target, out))
		return fail(errbuf, errlen, "备份文件不能是数据库本身");
	return sq_backup(target, out, errbuf, errlen);
}

int db_restore(const char *in, const char *target, int force, char *errbuf, size_t errlen)
{
	int kind = file_kind(in);
	if (!kind)
		return fail(errbuf, errlen, "无法读取备份文件 '%s'：%s", in, strerror(errno));
	if (is_pg_target(target)) {
		if (kind == 's')
			return fail(errbuf, errlen, "'%s' 是 SQLite 数据库备份，不能恢复到 PostgreSQL；"
				    "请用 liubao import 导入导出的台账", in);
		if (kind != 'p')
			return fail(errbuf, errlen, "'%s' 不是 liubao backup 生成的备份文件", in);
		return pg_restore(in, target, force, errbuf, errlen);
	}
	if (kind == 'p')
		return fail(errbuf, errlen, "'%s' 是 PostgreSQL 备份（pg_dump），不能恢复到 SQLite 文件",
			    in);
	if (kind != 's')
		return fail(errbuf, errlen, "'%s' 不是 liubao backup 生成的备份文件", in);
	if (!strcmp(in, target))
		return fail(errbuf, errlen, "备份文件和目标数据库是同一个文件");
	return sq_restore(in, target, force, errbuf, errlen);
}
