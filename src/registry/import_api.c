/* import_api.c — ledger import over the web: a CSV file or an Excel
 * workbook (.xlsx) uploaded as the request body runs through the same
 * registry_import() as
 * `liubao import` (whole-file validation, per-row report, nothing written
 * on error), limited to the uploader's region scope.
 *
 * POST /api/v1/imports?kind=households|members[&dry_run=1][&skip_bad=1]
 * starts an import job on its own thread and database connection and
 * waits a moment for it: a small file answers 200 with the result at once,
 * a large one 202 with the job, which GET /api/v1/imports/:id then reports
 * (phase, percent, and the result when finished).  Jobs live in memory
 * (the last JOBS_KEPT), visible only to the user who started them.  A
 * writing import puts its audit row in the import's own transaction.
 *
 * When an Excel upload has bad rows, the job keeps the annotated copy of
 * the workbook the CLI writes (bad cells on red, a 错误原因 column), and
 * GET /api/v1/imports/:id/annotated.xlsx hands it back to the uploader
 * (audited like an export); older copies are dropped once they hold more
 * than ANNOTATED_BYTES together. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "base/jw.h"
#include "base/table.h"
#include "base/util.h"
#include "registry/registry.h"

#define JOBS_KEPT 32
/* Annotated workbooks kept, in bytes, beyond the newest one */
#define ANNOTATED_BYTES (64u << 20)
/* How long POST waits for the job before answering 202: 1500 ms, or
 * $LIUBAO_IMPORT_WAIT_MS (tests set 0 to see the job path). */
static long job_wait_ms(void)
{
	const char *e = getenv("LIUBAO_IMPORT_WAIT_MS");
	long v = e ? atol(e) : 1500;
	return v < 0 ? 0 : v > 60000 ? 60000 : v;
}

enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct import_job {
	int64_t id;
	struct principal who;   /* copy of the uploader */
	char addr[64];          /* the uploader's address, for the audit row */
	char *target;           /* database the job opens (db_target of the request's) */
	enum import_kind kind;
	int dry_run, skip_bad;
	char *data;             /* the file, freed when the job ends */
	size_t len;
	double started;         /* mono_seconds() */
	double seconds;         /* run time once finished */
	/* under jobs_lock */
	int waiting;            /* the POST that started it still waits on it: keep it */
	enum job_state state;
	int phase;              /* enum import_phase, 0 before the first report */
	long done, total;
	int rc;                 /* registry_import()'s result */
	struct import_result res; /* read only once state != JOB_RUNNING */
	struct buf annotated;   /* the annotated workbook ("" = none or dropped) */
	int annotated_dropped;  /* had one, dropped to keep memory bounded */
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cond = PTHREAD_COND_INITIALIZER;
static struct import_job *jobs[JOBS_KEPT];
static int64_t last_job_id;

static void job_free(struct import_job *j)
{
	if (!j)
		return;
	import_result_release(&j->res);
	buf_release(&j->annotated);
	free(j->data);
	free(j->target);
	free(j);
}

static const char *kind_name(enum import_kind k)
{
	return k == IMPORT_MEMBERS ? "members" : "households";
}

static const char *kind_title(enum import_kind k)
{
	return k == IMPORT_MEMBERS ? "家庭成员" : "户";
}

/* ---- the job thread --------------------------------------------------------------------- */

static void job_progress(void *arg, int phase, long done, long total)
{
	struct import_job *j = arg;
	pthread_mutex_lock(&jobs_lock);
	j->phase = phase;
	j->done = done;
	j->total = total;
	pthread_mutex_unlock(&jobs_lock);
}

/* The audit row of a writing import, inside its transaction. */
static int job_audit(void *arg, struct db *db)
{
	struct import_job *j = arg;
	struct audit_entry e = { 0 };
	char *detail = xstrfmt("网页导入%s台账：%ld 行，新增 %ld 户 %ld 人，更新 %ld 户 %ld 人%s",
			       kind_title(j->kind), j->res.rows, j->res.households_new,
			       j->res.members_new, j->res.households_changed,
			       j->res.members_changed,
			       j->res.bad_rows ? "（跳过有错误的户）" : "");
	json_t *nv = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "kind",
			       kind_name(j->kind), "bytes", (json_int_t)j->len, "rows",
			       (json_int_t)j->res.rows, "bad_rows", (json_int_t)j->res.bad_rows,
			       "households_new", (json_int_t)j->res.households_new,
			       "households_changed", (json_int_t)j->res.households_changed,
			       "members_new", (json_int_t)j->res.members_new, "members_changed",
			       (json_int_t)j->res.members_changed, "skip_bad", j->skip_bad);
	int rc;
	e.user_id = j->who.user_id;
	e.login = j->who.login;
	e.role = j->who.role;
	e.addr = j->addr;
	e.action = "POST /api/v1/imports";
	e.target_type = "import";
	e.target_id = j->id;
	e.new_value = nv;
	e.detail = detail;
	e.status = 200;
	rc = auth_audit_write(db, &e);
	json_decref(nv);
	free(detail);
	return rc;
}

/* Keep the annotated workbooks other than `keep`'s under ANNOTATED_BYTES
 * together: the oldest are dropped (caller holds jobs_lock). */
static void drop_old_annotated(const struct import_job *keep)
{
	for (;;) {
		size_t bytes = 0;
		int oldest = -1;
		for (int i = 0; i < JOBS_KEPT; i++) {
			/* a running job's buffer belongs to its thread until it ends */
			if (!jobs[i] || jobs[i]->state == JOB_RUNNING || jobs[i] == keep ||
			    !jobs[i]->annotated.len)
				continue;
			bytes += jobs[i]->annotated.len;
			if (oldest < 0 || jobs[i]->id < jobs[oldest]->id)
				oldest = i;
		}
		if (bytes <= ANNOTATED_BYTES || oldest < 0)
			return;
		buf_release(&jobs[oldest]->annotated);
		jobs[oldest]->annotated_dropped = 1;
	}
}

static void *job_run(void *arg)
{
	struct import_job *j = arg;
	struct import_opts o = { 0 };
	char err[512];
	struct db *db = db_open(j->target, 0, err, sizeof(err));
	int rc = -1;
	if (!db) {
		buf_addf(&j->res.report, "无法打开数据库：%s\n", err);
	} else {
		o.dry_run = j->dry_run;
		o.skip_bad = j->skip_bad;
		o.data = j->data;
		o.len = j->len;
		o.scope = j->who.scope;
		o.reject_out = &j->annotated;
		o.on_progress = job_progress;
		o.before_commit = job_audit;
		o.arg = j;
		rc = registry_import(db, j->kind, "上传的文件", &o, &j->res);
		db_close(db);
	}
	if (!j->res.rejects_written)
		buf_release(&j->annotated); /* none, or a half-written one */
	pthread_mutex_lock(&jobs_lock);
	if (j->annotated.len)
		drop_old_annotated(j);
	free(j->data);
	j->data = NULL;
	j->rc = rc;
	j->seconds = mono_seconds() - j->started;
	j->state = rc < 0 ? JOB_FAILED : JOB_DONE;
	pthread_cond_broadcast(&jobs_cond);
	pthread_mutex_unlock(&jobs_lock);
	return NULL;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static const char *const phase_titles[] = { "等待开始", "逐行校验", "核对已有数据", "写入数据库" };

/* Overall progress 0..100 from the phase and how far it got. */
static int job_percent(const struct import_job *j)
{
	/* share of the whole: parse, check, write (a dry run does not write) */
	static const int wet[] = { 0, 40, 30, 30 }, dry[] = { 0, 60, 40, 0 };
	const int *w = j->dry_run ? dry : wet;
	int base = 0, p;
	if (j->state != JOB_RUNNING)
		return 100;
	if (j->phase < 1 || j->phase > 3)
		return 0;
	for (int i = 1; i < j->phase; i++)
		base += w[i];
	p = base + (j->total > 0 ? (int)(w[j->phase] * (double)j->done / j->total) : 0);
	return p > 99 ? 99 : p;
}

/* Write job `j` (caller holds jobs_lock). */
static void job_write(struct jw *w, const struct import_job *j)
{
	jw_object(w);
	jw_kint(w, "id", j->id);
	jw_kstr(w, "kind", kind_name(j->kind));
	jw_kstr(w, "kind_title", kind_title(j->kind));
	jw_kbool(w, "dry_run", j->dry_run);
	jw_kbool(w, "skip_bad", j->skip_bad);
	jw_kint(w, "file_bytes", (int64_t)j->len);
	jw_kstr(w, "status", j->state == JOB_RUNNING ? "running" : j->state == JOB_DONE ? "done"
											      : "failed");
	jw_kstr(w, "phase", j->state == JOB_RUNNING ? phase_titles[j->phase >= 0 && j->phase <= 3
									    ? j->phase
									    : 0]
						    : "完成");
	jw_kint(w, "percent", job_percent(j));
	if (j->state == JOB_RUNNING) {
		jw_knull(w, "result");
	} else {
		const struct import_result *r = &j->res;
		jw_key(w, "result");
		jw_object(w);
		/* accepted: the file passed (rc 0); refused: bad rows, nothing written */
		jw_kbool(w, "accepted", j->rc == 0);
		jw_kbool(w, "written", r->written);
		jw_kint(w, "milliseconds", (int64_t)(j->seconds * 1000));
		jw_kint(w, "rows", r->rows);
		jw_kint(w, "bad_rows", r->bad_rows);
		jw_kint(w, "households_new", r->households_new);
		jw_kint(w, "households_changed", r->households_changed);
		jw_kint(w, "members_new", r->members_new);
		jw_kint(w, "members_changed", r->members_changed);
		jw_kint(w, "unchanged", r->unchanged);
		jw_kint(w, "warnings", r->warnings);
		jw_kint(w, "problems_total", r->problems_total);
		jw_key(w, "problems");
		jw_array(w);
		for (int i = 0; i < r->nr_problems; i++) {
			const struct import_problem *p = &r->problems[i];
			jw_object(w);
			jw_kint(w, "line", p->line);
			jw_kstr(w, "column", p->column);
			jw_kstr(w, "value", p->value);
			jw_kstr(w, "message", p->message);
			jw_kbool(w, "warning", p->warning);
			jw_object_end(w);
		}
		jw_array_end(w);
		jw_kstr(w, "report", r->report.buf);
		/* the workbook with the bad cells marked, for an Excel upload with bad rows */
		if (j->annotated.len) {
			char url[80];
			snprintf(url, sizeof(url), "/api/v1/imports/%lld/annotated.xlsx",
				 (long long)j->id);
			jw_kstr(w, "annotated_url", url);
		} else {
			jw_knull(w, "annotated_url");
		}
		jw_object_end(w);
	}
	jw_object_end(w);
}

static void reply_job(struct http_response *res, int status, const struct import_job *j)
{
	struct jw w;
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(&w, &res->body);
	job_write(&w, j);
}

/* ---- routes ------------------------------------------------------------------------------ */

/* Find a free slot (caller holds jobs_lock): an empty one, else the oldest
 * finished job, which is dropped.  -1 when every slot runs a job. */
static int free_slot(void)
{
	int oldest = -1;
	for (int i = 0; i < JOBS_KEPT; i++) {
		if (!jobs[i])
			return i;
		if (jobs[i]->state != JOB_RUNNING && !jobs[i]->waiting &&
		    (oldest < 0 || jobs[i]->id < jobs[oldest]->id))
			oldest = i;
	}
	if (oldest >= 0) {
		job_free(jobs[oldest]);
		jobs[oldest] = NULL;
	}
	return oldest;
}

static int flag_param(struct http_request *req, const char *key, int *out)
{
	const char *v = http_query(req, key);
	*out = v && !strcmp(v, "1");
	return v && strcmp(v, "0") && strcmp(v, "1");
}

static void api_import_start(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "kind", "dry_run", "skip_bad", NULL };
	const char *kind = http_query(req, "kind");
	struct import_job *j;
	struct timespec until;
	pthread_t t;
	int slot, dry_run, skip_bad, busy = 0;
	long wait;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if (!kind || (strcmp(kind, "households") && strcmp(kind, "members"))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "请指明导入的台账：kind=households（户）或 kind=members（家庭成员）");
		return;
	}
	if (flag_param(req, "dry_run", &dry_run) || flag_param(req, "skip_bad", &skip_bad)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "dry_run、skip_bad 应为 0 或 1");
		return;
	}
	if (!req->body_len) {
		http_reply_error(res, 422, "E_REQUIRED", NULL, "请选择要导入的 CSV 或 Excel 文件（上传的内容为空）");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->who = *req->principal;
	snprintf(j->addr, sizeof(j->addr), "%s", req->remote_addr ? req->remote_addr : "");
	j->target = xstrdup(db_target(req->db));
	j->kind = !strcmp(kind, "members") ? IMPORT_MEMBERS : IMPORT_HOUSEHOLDS;
	j->dry_run = dry_run;
	j->skip_bad = skip_bad;
	j->data = xmalloc(req->body_len + 1);
	memcpy(j->data, req->body, req->body_len);
	j->data[req->body_len] = '\0';
	j->len = req->body_len;
	j->started = mono_seconds();
	import_result_init(&j->res);

	pthread_mutex_lock(&jobs_lock);
	for (int i = 0; i < JOBS_KEPT; i++)
		busy |= jobs[i] && jobs[i]->state == JOB_RUNNING &&
			jobs[i]->who.user_id == req->principal->user_id;
	slot = busy ? -1 : free_slot();
	if (slot >= 0) {
		j->id = ++last_job_id;
		j->waiting = 1;
		jobs[slot] = j;
	}
	pthread_mutex_unlock(&jobs_lock);
	if (busy || slot < 0) {
		job_free(j);
		http_reply_error(res, busy ? 409 : 503, busy ? "E_BUSY" : "E_TOO_MANY_JOBS", NULL,
				 busy ? "您有一个导入正在进行，请等它完成后再上传"
				      : "服务器正忙于其他导入，请稍后再试");
		return;
	}
	if (pthread_create(&t, NULL, job_run, j)) {
		pthread_mutex_lock(&jobs_lock);
		jobs[slot] = NULL;
		pthread_mutex_unlock(&jobs_lock);
		job_free(j);
		http_reply_error(res, 503, "E_TOO_MANY_JOBS", NULL, "无法启动导入，请稍后再试");
		return;
	}
	pthread_detach(t);
	clock_gettime(CLOCK_REALTIME, &until);
	wait = job_wait_ms();
	until.tv_nsec += (wait % 1000) * 1000000L;
	until.tv_sec += wait / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&jobs_lock);
	while (j->state == JOB_RUNNING)
		if (pthread_cond_timedwait(&jobs_cond, &jobs_lock, &until))
			break;
	j->waiting = 0;
	if (j->state == JOB_FAILED)
		http_reply_error(res, 500, "E_IMPORT_FAILED", NULL, "导入失败，数据库未作修改：%s",
				 j->res.report.buf);
	else
		reply_job(res, j->state == JOB_RUNNING ? 202 : 200, j);
	if (j->state == JOB_RUNNING) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/v1/imports/%lld", (long long)j->id);
		http_add_header(res, "Location", loc);
	}
	pthread_mutex_unlock(&jobs_lock);
}

/* The job `id` of the caller, or NULL (caller holds jobs_lock).  A job
 * belongs to the user who started it, under the scope they had then. */
static struct import_job *own_job(struct http_request *req, int64_t id)
{
	for (int i = 0; i < JOBS_KEPT; i++) {
		struct import_job *j = jobs[i];
		if (j && j->id == id && j->who.user_id == req->principal->user_id &&
		    !strcmp(j->who.scope, req->principal->scope))
			return j;
	}
	return NULL;
}

static void api_import_get(struct http_request *req, struct http_response *res)
{
	int64_t id;
	int found = 0;
	if (!parse_int64(req->path_params[0], &id)) {
		struct import_job *j;
		pthread_mutex_lock(&jobs_lock);
		j = own_job(req, id);
		if (j) {
			reply_job(res, 200, j);
			found = 1;
		}
		pthread_mutex_unlock(&jobs_lock);
	}
	if (!found)
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该导入任务（任务只保留最近 %d 个）",
				 JOBS_KEPT);
}

/* GET /api/v1/imports/:id/annotated.xlsx — the uploaded workbook with the
 * bad cells on red and the problems in a last column, to fix in Excel and
 * upload again.  Audited as an export (it holds the file's 身份证号). */
static void api_import_annotated(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct import_job *j = NULL;
	int64_t id;
	if (http_refuse_unknown_params(req, res, params))
		return;
	pthread_mutex_lock(&jobs_lock);
	if (!parse_int64(req->path_params[0], &id))
		j = own_job(req, id);
	if (!j) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL,
				 "找不到该导入任务（任务只保留最近 %d 个）", JOBS_KEPT);
	} else if (j->state == JOB_RUNNING) {
		http_reply_error(res, 409, "E_BUSY", NULL, "导入任务还在进行，完成后才能下载标注错误的工作簿");
	} else if (!j->annotated.len) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "%s",
				 j->annotated_dropped
					 ? "标注错误的工作簿已不再保留（只保留最近的），请重新上传文件检查"
					 : "该导入没有标注错误的工作簿（只有 Excel 文件且有错误行时才生成）");
	} else {
		char ascii[64], utf8[96];
		res->status = 200;
		res->content_type = table_mime(TABLE_XLSX);
		buf_reset(&res->body);
		buf_add(&res->body, j->annotated.buf, j->annotated.len);
		snprintf(ascii, sizeof(ascii), "import-%lld-errors.xlsx", (long long)j->id);
		snprintf(utf8, sizeof(utf8), "导入%lld-标注错误.xlsx", (long long)j->id);
		registry_attachment(res, ascii, utf8);
		req->audit.sensitive = 1;
		http_audit_note(req, "import", j->id, NULL, NULL);
		snprintf(req->audit.detail, sizeof(req->audit.detail),
			 "下载标注错误的工作簿（导入任务 %lld，%s台账，%ld 行中 %ld 行有错误）",
			 (long long)j->id, kind_title(j->kind), j->res.rows, j->res.bad_rows);
	}
	pthread_mutex_unlock(&jobs_lock);
}

const struct route registry_import_routes[] = {
	{ "POST", "/api/v1/imports", api_import_start, ROUTE_WRITE | ROUTE_OWN_TX | ROUTE_UPLOAD,
	  "household.write", "上传 CSV 或 Excel 台账导入户或家庭成员（dry_run=1 只校验）" },
	{ "GET", "/api/v1/imports/:id", api_import_get, 0, "household.write",
	  "导入任务的进度和逐行结果" },
	{ "GET", "/api/v1/imports/:id/annotated.xlsx", api_import_annotated, 0, "household.write",
	  "下载标注错误的工作簿（Excel 导入有错误行时）" },
	{ NULL },
};
