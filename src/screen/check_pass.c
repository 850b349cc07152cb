/* check_pass.c — evaluating the data-quality checks: one pass over the
 * households of a region and their members, in household order, holding
 * one household's members at a time, in which every check runs — the
 * built-in ones in C (身份证号 via registry/idcard.c, household structure
 * and member fields via registry/check.c, the code lists) and the rule
 * checks through the rule language's evaluator (rule_test() on every
 * household or member, rule_eval() and rule_explain() on the hits) — plus
 * the built-ins that compare a household with others (the same person in
 * two households of a township, the same phone anywhere), each a job that
 * reads the households and members once and groups them in memory.
 *
 * A rule check reads its values through the catalogue's SQL (check_catalog()),
 * so it sees exactly what the same rule compiled to SQL would see: the
 * household query selects the SQL of every household field some rule uses,
 * with the joins those fields need, the member query every member field.
 * Which fields a rule uses is found by evaluating it once on a household of
 * NULLs (rule_eval() evaluates every node, see rules/eval.c).
 *
 * The household-id range is cut into a fixed number of pieces, which
 * worker threads take in turn, each on a read connection of its own, with
 * the SQL built-ins; hits are gathered per piece and joined in piece order,
 * so a run gives the same hits in the same order however many threads
 * run it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/registry.h"
#include "screen/check_internal.h"

/* Pieces the household-id range is cut into. */
#define CHECK_PIECES 32

/* ---- which fields the rules read -------------------------------------------------- */

struct usage {
	const struct rule_catalog *cat;
	int *slot;	/* per catalogue field: its index in the household or member
			 * value array, -1 when no rule reads it */
	int *hh_fields; /* catalogue indexes of the household fields read, by slot */
	int nr_hh;
	int *m_fields;	/* the same for member fields */
	int nr_m;
	int *m_col;	/* per member slot: its column in the member query */
};

struct probe {
	const struct rule_field *base;
	char *used; /* per catalogue field */
};

static int probe_get(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	struct probe *p = opaque;
	p->used[f - p->base] = 1;
	memset(out, 0, sizeof(*out));
	out->null = 1;
	return 0;
}

static void usage_find(struct usage *u, const struct check_def *defs, int n,
		       const struct rule_param_value *params, int nr_params)
{
	struct probe p;
	struct rule_result res = RULE_RESULT_INIT;
	u->cat = check_catalog();
	p.base = u->cat->fields;
	p.used = xcalloc(u->cat->nr_fields + 1, 1);
	for (int i = 0; i < n; i++) {
		struct rule_ctx ctx = { &p, 1, probe_get, params, nr_params };
		/* rule_eval(), not rule_test(): every node, so every field */
		if (defs[i].run && defs[i].rule)
			rule_eval(defs[i].rule, &ctx, defs[i].scope == RULE_MEMBER ? 0 : -1, &res);
	}
	rule_result_release(&res);
	u->slot = xcalloc(u->cat->nr_fields + 1, sizeof(*u->slot));
	u->hh_fields = xcalloc(u->cat->nr_fields + 1, sizeof(*u->hh_fields));
	u->m_fields = xcalloc(u->cat->nr_fields + 1, sizeof(*u->m_fields));
	for (int i = 0; i < u->cat->nr_fields; i++) {
		const struct rule_field *f = &u->cat->fields[i];
		u->slot[i] = -1;
		if (!p.used[i] || f->scope == RULE_PARAM)
			continue;
		if (f->scope == RULE_MEMBER) {
			u->slot[i] = u->nr_m;
			u->m_fields[u->nr_m++] = i;
		} else {
			u->slot[i] = u->nr_hh;
			u->hh_fields[u->nr_hh++] = i;
		}
	}
	free(p.used);
}

static void usage_release(struct usage *u)
{
	free(u->m_col);
	free(u->slot);
	free(u->hh_fields);
	free(u->m_fields);
}

/* 1 if `sql` uses table alias `alias` ("alias." after a non-identifier
 * character), as rules/sql.c decides which joins a rule needs. */
static int uses_alias(const char *sql, const char *alias)
{
	size_t n = strlen(alias);
	for (const char *s = strstr(sql, alias); s; s = strstr(s + 1, alias)) {
		char b = s == sql ? ' ' : s[-1];
		if (s[n] == '.' && !((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
				     (b >= '0' && b <= '9') || b == '_'))
			return 1;
	}
	return 0;
}

/* 1 if `sql` mentions parameter `name` (":x") as a whole word. */
static int mentions(const char *sql, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = strstr(sql, name); s; s = strstr(s + 1, name)) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return 1;
	}
	return 0;
}

/* ---- the queries ------------------------------------------------------------------ */

/* Columns of the household query before the fields' own. */
enum { HC_ID, HC_VILLAGE, HC_TYPE, HC_PHONE, HC_FIELDS };
/* Columns of the member query before the fields' own. */
enum { MC_HH, MC_ID, MC_NAME, MC_IDN, MC_RELATION, MC_SEX, MC_BIRTH, MC_ETHNICITY,
       MC_EDUCATION, MC_SCHOOL, MC_HEALTH, MC_DISABILITY, MC_LABOR, MC_WORK, MC_IRM, MC_IEM,
       MC_ICR, MC_IPE, MC_DIBAO, MC_TEKUN, MC_PHONE, MC_FIELDS };

static void household_sql(const struct usage *u, int region, struct buf *sql)
{
	struct buf cols = BUF_INIT;
	for (int i = 0; i < u->nr_hh; i++)
		buf_addf(&cols, ",\n  %s", u->cat->fields[u->hh_fields[i]].sql);
	buf_addf(sql, "SELECT h.id, h.village_code, h.hh_type, h.phone%s\nFROM %s", cols.buf,
		 u->cat->household_from);
	for (int j = 0; j < u->cat->nr_joins; j++)
		if (uses_alias(cols.buf, u->cat->joins[j].alias))
			buf_addf(sql, "\n%s", u->cat->joins[j].sql);
	buf_addstr(sql, "\nWHERE h.id >= :a AND h.id < :b");
	if (region)
		buf_addstr(sql, " AND h.village_code >= :lo AND h.village_code < :hi");
	buf_addstr(sql, "\nORDER BY h.id");
	buf_release(&cols);
}

/* The member query's own columns, in MC_ order: a member field whose SQL is
 * one of them is read from it rather than selected twice. */
static const char *const member_cols[MC_FIELDS] = {
	"m.household_id", "m.id", "m.name", "m.id_number", "m.relation", "m.sex",
	"m.birth_date", "m.ethnicity", "m.education", "m.school_status", "m.health",
	"m.disability", "m.labor_skill", "m.work_status", "m.ins_resident_med",
	"m.ins_employee_med", "m.ins_critical", "m.ins_pension", "m.dibao", "m.tekun", "m.phone",
};

/* Writes the query and fills u->m_col. */
static void member_sql(struct usage *u, int region, struct buf *sql)
{
	int extra = 0;
	buf_addstr(sql, "SELECT ");
	for (int c = 0; c < MC_FIELDS; c++)
		buf_addf(sql, "%s%s", c ? ", " : "", member_cols[c]);
	u->m_col = xcalloc(u->nr_m + 1, sizeof(*u->m_col));
	for (int i = 0; i < u->nr_m; i++) {
		const char *f = u->cat->fields[u->m_fields[i]].sql;
		u->m_col[i] = -1;
		for (int c = 0; c < MC_FIELDS && u->m_col[i] < 0; c++)
			if (!strcmp(f, member_cols[c]))
				u->m_col[i] = c;
		if (u->m_col[i] < 0) {
			u->m_col[i] = MC_FIELDS + extra++;
			buf_addf(sql, ",\n  %s", f);
		}
	}
	buf_addf(sql, "\nFROM %s", u->cat->member_from);
	if (region)
		buf_addstr(sql, " JOIN household h ON h.id = m.household_id");
	buf_addstr(sql, "\nWHERE m.household_id >= :a AND m.household_id < :b");
	if (region)
		buf_addstr(sql, " AND h.village_code >= :lo AND h.village_code < :hi");
	buf_addstr(sql, "\nORDER BY m.household_id, m.id");
}

/* ---- the run's shared state --------------------------------------------------------- */

struct engine {
	struct check_def *defs;
	int n;
	const char *under;
	int year;
	const char *today;
	int today_int;	      /* YYYYMMDD for idcard_parse */
	struct usage u;
	struct rule_param_value params[2];
	char *hh_sql, *m_sql; /* interned by db_prepare_text */
	int bdef[NR_BUILTINS]; /* the def of each built-in in this run, or -1 */
	int *rules;	       /* the defs of the rule checks this run evaluates */
	int nr_rules;
};

/* A value read from a column, text kept in `arena` at an offset (stored
 * in .text as offset + 1 until the arena stops growing). */
static void read_value(struct db_stmt *st, int col, int type, struct rule_value *v,
		       struct buf *arena)
{
	memset(v, 0, sizeof(*v));
	if (db_col_is_null(st, col)) {
		v->null = 1;
		return;
	}
	switch (type) {
	case RULE_NUM:
		v->num = db_col_double(st, col);
		break;
	case RULE_TEXT:
	case RULE_DATE: {
		const char *t = db_col_text(st, col);
		size_t off = arena->len;
		buf_add(arena, t, strlen(t) + 1);
		v->text = (const char *)(uintptr_t)(off + 1);
		break;
	}
	case RULE_BOOL:
		v->num = db_col_int(st, col) != 0;
		break;
	default:
		v->num = (double)db_col_int(st, col);
		break;
	}
}

/* Turn the offsets of read_value() into pointers into `arena`. */
static void fix_texts(struct rule_value *v, int n, struct buf *arena)
{
	for (int i = 0; i < n; i++)
		if (!v[i].null && v[i].text)
			v[i].text = arena->buf + ((uintptr_t)v[i].text - 1);
}

/* Copy `src` into dst[n], cut to fit (the registry's record sizes). */
static void copy_cut(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

static int col_code(struct db_stmt *st, int col)
{
	return db_col_is_null(st, col) ? -1 : (int)db_col_int(st, col);
}

/* ---- one piece: households and their members ---------------------------------------- */

struct hrow {
	int64_t id;
	char village[13];
	int hh_type;    /* -1 NULL */
	size_t phone;   /* offset of the phone text in the arena */
};

struct mrow {
	struct member_rec rec; /* for registry/check.c (texts cut to its sizes) */
	size_t name, idn, birth, phone; /* offsets of the stored texts in the arena */
};

/* What a worker needs for one household. */
struct piece_state {
	const struct engine *e;
	struct check_hits *hits;
	/* the household being evaluated */
	const struct hrow *h;
	const char *hh_phone;
	struct rule_value *hv;	   /* its field values, by slot */
	struct mrow *m;		   /* its members */
	int nm, alloc_m;
	struct rule_value *mv;	   /* member values: nm × u.nr_m */
	int alloc_mv;
	struct buf marena;	   /* texts of the members */
	struct rule_result res;
	struct buf why;
};

static const char *mtext(const struct piece_state *ps, size_t off)
{
	return ps->marena.buf + off;
}

static int eval_get(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	const struct piece_state *ps = opaque;
	int slot = ps->e->u.slot[f - ps->e->u.cat->fields];
	if (slot < 0) {
		memset(out, 0, sizeof(*out));
		out->null = 1;
		return 0;
	}
	*out = f->scope == RULE_MEMBER ? ps->mv[member * ps->e->u.nr_m + slot] : ps->hv[slot];
	return 0;
}

static void hit(struct piece_state *ps, int bi, int64_t member, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
static void hit(struct piece_state *ps, int bi, int64_t member, const char *fmt, ...)
{
	va_list ap;
	int d = ps->e->bdef[bi];
	if (d < 0)
		return;
	buf_reset(&ps->why);
	va_start(ap, fmt);
	buf_vaddf(&ps->why, fmt, ap);
	va_end(ap);
	check_hits_add(ps->hits, d, ps->h->id, member, ps->why.buf);
}

/* A phone number with all but its last four characters hidden, into out[24]
 * (as the registry's lists show it). */
static void mask_phone(const char *p, char out[24])
{
	size_t l = strlen(p);
	if (l == 11) {
		snprintf(out, 24, "%.3s****%.4s", p, p + 7);
	} else if (l > 4 && l < 24) {
		memset(out, '*', l - 4);
		memcpy(out + l - 4, p + l - 4, 5);
	} else {
		snprintf(out, 24, "%s", l ? "****" : "");
	}
}

/* 身份证号 of a member: checksum, shape, placeholder, and whether the
 * stored sex and birth date are the number's. */
static void builtin_identity(struct piece_state *ps, const struct mrow *m)
{
	const char *raw = mtext(ps, m->idn);
	struct idcard id;
	enum idcard_status st = idcard_parse(raw, ps->e->today_int, &id);
	char masked[19], birth[11];
	idcard_mask(raw, masked);
	switch (st) {
	case IDCARD_OK:
		if (strcmp(raw, id.number)) {
			char want[19];
			idcard_mask(id.number, want);
			hit(ps, BI_ID_FORMAT, m->rec.id, "身份证号 %s 未规范为18位（大写X），应为 %s",
			    masked, want);
		}
		idcard_birth_text(&id, birth);
		if (m->rec.sex != id.sex || strcmp(mtext(ps, m->birth), birth))
			hit(ps, BI_ID_MISMATCH, m->rec.id,
			    "身份证号显示为%s、%s，登记为%s、%s", id.sex == SEX_MALE ? "男" : "女",
			    birth,
			    m->rec.sex == SEX_MALE	   ? "男"
			    : m->rec.sex == SEX_FEMALE ? "女"
						   : "性别空",
			    *mtext(ps, m->birth) ? mtext(ps, m->birth) : "出生日期空");
		break;
	case IDCARD_BAD_CHECK:
		if (strlen(raw) == 18)
			hit(ps, BI_ID_CHECKSUM, m->rec.id, "身份证号 %s 的校验位应为 %c", masked,
			    idcard_check_char(raw));
		else
			hit(ps, BI_ID_CHECKSUM, m->rec.id, "身份证号 %s 的校验位不符", masked);
		break;
	case IDCARD_PLACEHOLDER:
		hit(ps, BI_ID_PLACEHOLDER, m->rec.id, "身份证号 %s 为占位号码", masked);
		break;
	default: {
		size_t l = strlen(raw);
		struct idcard inner;
		char first[19];
		/* a 残疾人证号 (the 身份证号 and 2 or 4 more digits) in the column */
		if ((l == 20 || l == 22) && l < sizeof(first) + 4) {
			memcpy(first, raw, 18);
			first[18] = '\0';
			if (idcard_parse(first, ps->e->today_int, &inner) == IDCARD_OK) {
				idcard_mask(first, masked);
				hit(ps, BI_ID_FORMAT, m->rec.id,
				    "身份证号栏填写的是残疾人证号（%d位），其前18位 %s 才是身份证号",
				    (int)l, masked);
				break;
			}
		}
		hit(ps, BI_ID_FORMAT, m->rec.id, "身份证号“%s”：%s", *raw ? masked : "",
		    idcard_strerror(st));
		break;
	}
	}
}

/* A code outside its list (NULL is the completeness checks' business). */
static void builtin_code(struct piece_state *ps, int bi, const struct code_list *l, int code,
			 int64_t member)
{
	if (code >= 0 && !codes_item(l, code))
		hit(ps, bi, member, "%s代码 %d 不在代码表中", l->title, code);
}

static void builtin_health(struct piece_state *ps, const struct mrow *m)
{
	int mask = m->rec.health, known = 0;
	if (mask < 0)
		return;
	for (int i = 0; i < code_health.nr_items; i++)
		known |= 1 << code_health.items[i].code;
	if (!mask || (mask & ~known))
		hit(ps, BI_CODE_HEALTH, m->rec.id, "健康状况代码 %d 不在代码表中", mask);
	else if ((mask & (1 << HEALTH_HEALTHY)) && mask != (1 << HEALTH_HEALTHY)) {
		struct buf labels = BUF_INIT;
		codes_mask_labels(&code_health, mask, &labels);
		hit(ps, BI_CODE_HEALTH, m->rec.id, "健康状况“%s”：“健康”不能与其他状况同时填写",
		    labels.buf);
		buf_release(&labels);
	}
}

/* The built-ins that look at one household and its members. */
static void builtins_household(struct piece_state *ps)
{
	const struct engine *e = ps->e;
	struct reg_problem probs[16];
	struct member_rec *recs;
	int np, done_head = 0, done_spouse = 0;

	/* household fields */
	builtin_code(ps, BI_CODE_HH_TYPE, &code_hh_type, ps->h->hh_type, 0);
	if (e->bdef[BI_HH_PHONE] >= 0 && *ps->hh_phone) {
		struct member_rec probe;
		struct reg_problem rp;
		char masked[24];
		member_rec_init(&probe);
		snprintf(probe.name, sizeof(probe.name), "x");
		probe.relation = REL_HEAD;
		copy_cut(probe.phone, sizeof(probe.phone), ps->hh_phone);
		mask_phone(ps->hh_phone, masked);
		if (strlen(ps->hh_phone) >= sizeof(probe.phone) ||
		    registry_check_member(&probe, &rp, 1))
			hit(ps, BI_HH_PHONE, 0, "户联系电话“%s”格式不正确", masked);
	}

	/* each member */
	for (int i = 0; i < ps->nm; i++) {
		const struct mrow *m = &ps->m[i];
		int64_t mid = m->rec.id;
		if (e->bdef[BI_ID_CHECKSUM] >= 0 || e->bdef[BI_ID_FORMAT] >= 0 ||
		    e->bdef[BI_ID_PLACEHOLDER] >= 0 || e->bdef[BI_ID_MISMATCH] >= 0)
			builtin_identity(ps, m);
		builtin_code(ps, BI_CODE_RELATION, &code_relation, m->rec.relation, mid);
		builtin_code(ps, BI_CODE_ETHNICITY, &code_ethnicity, m->rec.ethnicity, mid);
		builtin_code(ps, BI_CODE_EDUCATION, &code_education, m->rec.education, mid);
		builtin_code(ps, BI_CODE_SCHOOL, &code_school_status, m->rec.school_status, mid);
		builtin_code(ps, BI_CODE_DISABILITY, &code_disability, m->rec.disability, mid);
		builtin_code(ps, BI_CODE_LABOR, &code_labor_skill, m->rec.labor_skill, mid);
		builtin_code(ps, BI_CODE_WORK, &code_work_status, m->rec.work_status, mid);
		if (e->bdef[BI_CODE_HEALTH] >= 0)
			builtin_health(ps, m);
		if (e->bdef[BI_NAME] >= 0 || e->bdef[BI_MEMBER_PHONE] >= 0) {
			/* registry_check_member() on the stored name and phone
			 * (a name longer than the record holds is too long anyway) */
			struct member_rec probe = m->rec;
			struct reg_problem rp[4];
			const char *name = mtext(ps, m->name), *phone = mtext(ps, m->phone);
			int n, long_name = strlen(name) >= sizeof(probe.name);
			probe.relation = REL_HEAD;
			if (long_name)
				snprintf(probe.name, sizeof(probe.name), "x");
			n = registry_check_member(&probe, rp, 4);
			for (int k = 0; k < n && k < 4; k++)
				if (!strcmp(rp[k].code, "E_NAME"))
					hit(ps, BI_NAME, mid, "%s", rp[k].message);
			if (long_name)
				hit(ps, BI_NAME, mid, "姓名有 %zu 个字节，过长，请核对姓名",
				    strlen(name));
			if (*phone) {
				int bad = strlen(phone) >= sizeof(probe.phone);
				for (int k = 0; k < n && k < 4 && !bad; k++)
					bad = !strcmp(rp[k].code, "E_PHONE");
				if (bad) {
					char masked[24];
					mask_phone(phone, masked);
					hit(ps, BI_MEMBER_PHONE, mid, "联系电话“%s”格式不正确", masked);
				}
			}
		}
		if (e->bdef[BI_DUP_IN_HH] >= 0)
			for (int k = 0; k < i; k++)
				if (m->rec.sex == ps->m[k].rec.sex &&
				    !strcmp(mtext(ps, m->name), mtext(ps, ps->m[k].name)) &&
				    !strcmp(mtext(ps, m->birth), mtext(ps, ps->m[k].birth))) {
					hit(ps, BI_DUP_IN_HH, mid,
					    "与本户另一成员（成员ID %lld）姓名、性别、出生日期相同：%s，%s，%s",
					    (long long)ps->m[k].rec.id, mtext(ps, m->name),
					    m->rec.sex == SEX_MALE ? "男" : "女", mtext(ps, m->birth));
					break;
				}
	}

	/* household structure (registry/check.c) */
	if (e->bdef[BI_NO_HEAD] < 0 && e->bdef[BI_MULTI_HEAD] < 0 && e->bdef[BI_MULTI_SPOUSE] < 0 &&
	    e->bdef[BI_SPOUSE_SEX] < 0 && e->bdef[BI_RELATION_SEX] < 0)
		return;
	recs = xcalloc(ps->nm + 1, sizeof(*recs));
	for (int i = 0; i < ps->nm; i++)
		recs[i] = ps->m[i].rec;
	np = registry_check_structure(recs, ps->nm, probs, ARRAY_SIZE(probs));
	for (int k = 0; k < np && k < (int)ARRAY_SIZE(probs); k++) {
		const struct reg_problem *p = &probs[k];
		int64_t mid = p->member >= 0 && p->member < ps->nm ? recs[p->member].id : 0;
		if (!strcmp(p->code, "E_NO_HEAD")) {
			hit(ps, BI_NO_HEAD, 0, "%s", p->message);
		} else if (!strcmp(p->code, "E_MULTI_HEAD")) {
			if (!done_head++)
				hit(ps, BI_MULTI_HEAD, 0, "%s", p->message);
		} else if (!strcmp(p->code, "E_MULTI_SPOUSE")) {
			if (!done_spouse++)
				hit(ps, BI_MULTI_SPOUSE, 0, "%s", p->message);
		} else if (!strcmp(p->code, "E_SPOUSE_SEX")) {
			hit(ps, BI_SPOUSE_SEX, mid, "%s", p->message);
		} else if (!strcmp(p->code, "E_RELATION_SEX")) {
			hit(ps, BI_RELATION_SEX, mid, "%s", p->message);
		}
	}
	free(recs);
}

/* The rule checks on one household and each of its members. */
static int rules_household(struct piece_state *ps)
{
	const struct engine *e = ps->e;
	struct rule_ctx ctx = { ps, ps->nm, eval_get, e->params, 2 };
	for (int k = 0; k < e->nr_rules; k++) {
		int i = e->rules[k];
		const struct check_def *d = &e->defs[i];
		int first, last;
		first = d->scope == RULE_MEMBER ? 0 : -1;
		last = d->scope == RULE_MEMBER ? ps->nm - 1 : -1;
		for (int m = first; m <= last; m++) {
			int t = rule_test(d->rule, &ctx, m);
			if (t < 0)
				return -1;
			if (t != RULE_TRUE)
				continue;
			if (rule_eval(d->rule, &ctx, m, &ps->res))
				return -1;
			buf_reset(&ps->why);
			rule_explain(d->rule, ps->res.values, &ps->why);
			check_hits_add(ps->hits, i, ps->h->id, m >= 0 ? ps->m[m].rec.id : 0,
				       ps->why.buf);
		}
	}
	return 0;
}

static int evaluate_household(struct piece_state *ps)
{
	/* the member texts no longer move: resolve them */
	fix_texts(ps->mv, ps->nm * ps->e->u.nr_m, &ps->marena);
	builtins_household(ps);
	return rules_household(ps);
}

static void bind_common(const struct engine *e, struct db_stmt *st, const char *sql, int64_t a,
			int64_t b)
{
	db_bind_int(st, ":a", a);
	db_bind_int(st, ":b", b);
	if (*e->under)
		db_bind_prefix(st, ":lo", ":hi", e->under);
	if (mentions(sql, ":year"))
		db_bind_int(st, ":year", e->year);
	if (mentions(sql, ":today"))
		db_bind_text(st, ":today", e->today);
}

/* Evaluate the households with ids in [a, b).  0 or -1 (err filled). */
static int run_piece(const struct engine *e, struct db *db, int64_t a, int64_t b,
		     struct check_hits *hits, char *err, size_t errlen)
{
	const struct usage *u = &e->u;
	struct piece_state ps;
	struct hrow *hr = NULL;
	struct rule_value *hv = NULL;
	struct buf harena = BUF_INIT;
	struct db_stmt *st;
	long nh = 0, alloc_h = 0, alloc_hv = 0, next = 0;
	int rc = 0, step;

	memset(&ps, 0, sizeof(ps));
	ps.e = e;
	ps.hits = hits;
	buf_init(&ps.marena, 0);
	buf_init(&ps.why, 0);
	buf_addch(&harena, '\0'); /* offset 0: the empty text */

	/* the households, with the values of the fields the rules read */
	st = db_prepare_text(db, e->hh_sql);
	bind_common(e, st, e->hh_sql, a, b);
	while ((step = db_step(st)) == DB_ROW) {
		struct hrow *h;
		const char *phone;
		ALLOC_GROW(hr, nh + 1, alloc_h);
		h = &hr[nh];
		h->id = db_col_int(st, HC_ID);
		copy_cut(h->village, sizeof(h->village), db_col_text(st, HC_VILLAGE));
		h->hh_type = col_code(st, HC_TYPE);
		phone = db_col_text(st, HC_PHONE);
		h->phone = harena.len;
		buf_add(&harena, phone, strlen(phone) + 1);
		ALLOC_GROW(hv, (nh + 1) * u->nr_hh + 1, alloc_hv);
		for (int k = 0; k < u->nr_hh; k++) {
			const struct rule_field *f = &u->cat->fields[u->hh_fields[k]];
			read_value(st, HC_FIELDS + k, f->type, &hv[nh * u->nr_hh + k], &harena);
		}
		nh++;
	}
	db_done(st);
	if (step < 0) {
		snprintf(err, errlen, "%s", db_errmsg(db));
		rc = -1;
		goto out;
	}
	fix_texts(hv, (int)(nh * u->nr_hh), &harena);

	/* the members, in household order; each household evaluated when its
	 * members are all read (or at once when it has none) */
	st = db_prepare_text(db, e->m_sql);
	bind_common(e, st, e->m_sql, a, b);
	for (;;) {
		int64_t hh;
		step = db_step(st);
		if (step < 0) {
			snprintf(err, errlen, "%s", db_errmsg(db));
			rc = -1;
			break;
		}
		hh = step == DB_ROW ? db_col_int(st, MC_HH) : INT64_MAX;
		/* households before this member's are complete */
		while (next < nh && hr[next].id < hh) {
			if (ps.h == &hr[next]) {
				if (evaluate_household(&ps)) {
					snprintf(err, errlen, "%s", "规则求值失败");
					rc = -1;
					break;
				}
			} else {
				/* no members */
				ps.h = &hr[next];
				ps.hh_phone = harena.buf + hr[next].phone;
				ps.hv = hv + next * u->nr_hh;
				ps.nm = 0;
				if (evaluate_household(&ps)) {
					snprintf(err, errlen, "%s", "规则求值失败");
					rc = -1;
					break;
				}
			}
			next++;
			ps.h = NULL;
		}
		if (rc || step != DB_ROW)
			break;
		if (next >= nh || hr[next].id != hh)
			continue; /* a member of a household not read (moved meanwhile) */
		if (ps.h != &hr[next]) {
			ps.h = &hr[next];
			ps.hh_phone = harena.buf + hr[next].phone;
			ps.hv = hv + next * u->nr_hh;
			ps.nm = 0;
			buf_reset(&ps.marena);
		}
		{
			struct mrow *m;
			const char *t;
			ALLOC_GROW(ps.m, ps.nm + 1, ps.alloc_m);
			ALLOC_GROW(ps.mv, (ps.nm + 1) * u->nr_m + 1, ps.alloc_mv);
			m = &ps.m[ps.nm];
			member_rec_init(&m->rec);
			m->rec.id = db_col_int(st, MC_ID);
			m->rec.household_id = hh;
			t = db_col_text(st, MC_NAME);
			copy_cut(m->rec.name, sizeof(m->rec.name), t);
			m->name = ps.marena.len;
			buf_add(&ps.marena, t, strlen(t) + 1);
			t = db_col_text(st, MC_IDN);
			copy_cut(m->rec.id_number, sizeof(m->rec.id_number), t);
			m->idn = ps.marena.len;
			buf_add(&ps.marena, t, strlen(t) + 1);
			t = db_col_text(st, MC_BIRTH);
			copy_cut(m->rec.birth_date, sizeof(m->rec.birth_date), t);
			m->birth = ps.marena.len;
			buf_add(&ps.marena, t, strlen(t) + 1);
			t = db_col_text(st, MC_PHONE);
			copy_cut(m->rec.phone, sizeof(m->rec.phone), t);
			m->phone = ps.marena.len;
			buf_add(&ps.marena, t, strlen(t) + 1);
			m->rec.relation = col_code(st, MC_RELATION);
			m->rec.sex = col_code(st, MC_SEX);
			m->rec.ethnicity = col_code(st, MC_ETHNICITY);
			m->rec.education = col_code(st, MC_EDUCATION);
			m->rec.school_status = col_code(st, MC_SCHOOL);
			m->rec.health = col_code(st, MC_HEALTH);
			m->rec.disability = col_code(st, MC_DISABILITY);
			m->rec.labor_skill = col_code(st, MC_LABOR);
			m->rec.work_status = col_code(st, MC_WORK);
			m->rec.ins_resident_med = col_code(st, MC_IRM);
			m->rec.ins_employee_med = col_code(st, MC_IEM);
			m->rec.ins_critical = col_code(st, MC_ICR);
			m->rec.ins_pension = col_code(st, MC_IPE);
			m->rec.dibao = col_code(st, MC_DIBAO);
			m->rec.tekun = col_code(st, MC_TEKUN);
			for (int k = 0; k < u->nr_m; k++) {
				const struct rule_field *f = &u->cat->fields[u->m_fields[k]];
				read_value(st, u->m_col[k], f->type, &ps.mv[ps.nm * u->nr_m + k],
					   &ps.marena);
			}
			ps.nm++;
		}
	}
	db_done(st);
out:
	rule_result_release(&ps.res);
	buf_release(&ps.why);
	buf_release(&ps.marena);
	free(ps.m);
	free(ps.mv);
	free(hr);
	free(hv);
	buf_release(&harena);
	return rc;
}

/* ---- the built-ins that compare a household with others ------------------------- */

static int in_region(const struct engine *e, const char *village)
{
	return starts_with(village, e->under);
}

/* The households of the registry (or of the townships of the region), by
 * id: the run's region or not, 户编号 and 户联系电话, for the built-ins that
 * compare households with each other. */
struct hh_info {
	int64_t id;
	char village[13];
	int in;		  /* in the run's region */
	size_t hh_no;	  /* offsets into the arena */
	size_t phone;
};

struct hh_table {
	struct hh_info *v;
	long n, alloc;
	struct buf arena;
};

static int hh_cmp(const void *x, const void *y)
{
	const struct hh_info *a = x, *b = y;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Load the households whose village starts with `prefix` ("" = all),
 * sorted by id (read in table order, sorted here if need be: an ORDER BY
 * would have SQLite sort the whole county). */
static int hh_table_load(const struct engine *e, struct db *db, const char *prefix,
			 struct hh_table *t, char *err, size_t errlen)
{
	struct db_stmt *st;
	int step, sorted = 1;
	buf_init(&t->arena, 0);
	if (*prefix) {
		st = db_prepare(db, "SELECT id, village_code, hh_no, phone FROM household WHERE "
				    "village_code >= :lo AND village_code < :hi");
		db_bind_prefix(st, ":lo", ":hi", prefix);
	} else {
		st = db_prepare(db, "SELECT id, village_code, hh_no, phone FROM household");
	}
	while ((step = db_step(st)) == DB_ROW) {
		struct hh_info *h;
		const char *s;
		ALLOC_GROW(t->v, t->n + 1, t->alloc);
		h = &t->v[t->n++];
		h->id = db_col_int(st, 0);
		if (t->n > 1 && h->id < h[-1].id)
			sorted = 0;
		copy_cut(h->village, sizeof(h->village), db_col_text(st, 1));
		h->in = in_region(e, h->village);
		s = db_col_text(st, 2);
		h->hh_no = t->arena.len;
		buf_add(&t->arena, s, strlen(s) + 1);
		s = db_col_text(st, 3);
		h->phone = t->arena.len;
		buf_add(&t->arena, s, strlen(s) + 1);
	}
	db_done(st);
	if (step < 0) {
		snprintf(err, errlen, "%s", db_errmsg(db));
		return -1;
	}
	if (!sorted)
		qsort(t->v, t->n, sizeof(*t->v), hh_cmp);
	return 0;
}

static void hh_table_release(struct hh_table *t)
{
	free(t->v);
	buf_release(&t->arena);
	memset(t, 0, sizeof(*t));
}

static const struct hh_info *hh_find(const struct hh_table *t, int64_t id)
{
	long lo = 0, hi = t->n - 1;
	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		if (t->v[mid].id == id)
			return &t->v[mid];
		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* One person for the duplicate search: the key hashes township, name, sex
 * and birth date; the texts are kept to compare exactly. */
struct dup_entry {
	uint64_t key;
	int64_t id, hh;
	size_t name, birth; /* offsets into the arena */
	int sex;
	const struct hh_info *h;
};

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001B3ull;
	}
	return h;
}

static int dup_same(const struct dup_entry *a, const struct dup_entry *b, const char *arena)
{
	return a->key == b->key && a->sex == b->sex && !strcmp(arena + a->name, arena + b->name) &&
	       !strcmp(arena + a->birth, arena + b->birth) &&
	       !memcmp(a->h->village, b->h->village, 9);
}

static int dup_cmp(const void *x, const void *y, void *arg)
{
	const struct dup_entry *a = x, *b = y;
	const char *dup_arena = arg;
	int c;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if ((c = strcmp(dup_arena + a->name, dup_arena + b->name)))
		return c;
	if ((c = strcmp(dup_arena + a->birth, dup_arena + b->birth)))
		return c;
	if (a->sex != b->sex)
		return a->sex - b->sex;
	if ((c = memcmp(a->h->village, b->h->village, 9)))
		return c;
	return a->hh < b->hh ? -1 : a->hh > b->hh ? 1 : a->id < b->id ? -1 : a->id > b->id;
}

/* Members whose name, sex and birth date are those of a member of another
 * household of the same township (乡镇): one person registered twice,
 * most likely.  (Across townships the same name and birth date are too
 * common to mean anything.) */
static int run_dup_person(const struct engine *e, struct db *db, struct check_hits *hits,
			  char *err, size_t errlen)
{
	struct hh_table t = { 0 };
	struct dup_entry *v = NULL;
	struct buf arena = BUF_INIT, why = BUF_INIT;
	struct db_stmt *st;
	long n = 0, alloc = 0;
	int step, rc = 0, d = e->bdef[BI_DUP_PERSON];
	char prefix[10];

	/* the townships of the region (or everything) */
	snprintf(prefix, sizeof(prefix), "%.9s", e->under);
	if (hh_table_load(e, db, prefix, &t, err, errlen))
		return -1;
	if (*prefix) {
		st = db_prepare(db, "SELECT m.id, m.household_id, m.name, m.sex, m.birth_date FROM "
				    "member m JOIN household h ON h.id = m.household_id WHERE "
				    "h.village_code >= :lo AND h.village_code < :hi");
		db_bind_prefix(st, ":lo", ":hi", prefix);
	} else {
		st = db_prepare(db, "SELECT m.id, m.household_id, m.name, m.sex, m.birth_date FROM "
				    "member m");
	}
	buf_addch(&arena, '\0');
	while ((step = db_step(st)) == DB_ROW) {
		struct dup_entry *x;
		const char *name = db_col_text(st, 2), *birth = db_col_text(st, 4);
		const struct hh_info *h = hh_find(&t, db_col_int(st, 1));
		size_t ln = strlen(name), lb = strlen(birth);
		int sex = (int)db_col_int(st, 3);
		if (!h || !*name)
			continue;
		ALLOC_GROW(v, n + 1, alloc);
		x = &v[n++];
		x->id = db_col_int(st, 0);
		x->hh = h->id;
		x->h = h;
		x->sex = sex;
		x->name = arena.len;
		buf_add(&arena, name, ln + 1);
		x->birth = arena.len;
		buf_add(&arena, birth, lb + 1);
		x->key = fnv(fnv(fnv(0xCBF29CE484222325ull, h->village, 9), name, ln + 1), birth, lb) ^
			 (uint64_t)sex;
	}
	db_done(st);
	if (step < 0) {
		snprintf(err, errlen, "%s", db_errmsg(db));
		rc = -1;
		goto out;
	}
	qsort_r(v, n, sizeof(*v), dup_cmp, arena.buf);
	for (long i = 0; i < n;) {
		long j = i + 1;
		while (j < n && dup_same(&v[i], &v[j], arena.buf))
			j++;
		/* v[i..j) is one person; more than one household? */
		if (v[j - 1].hh != v[i].hh)
			for (long k = i; k < j; k++) {
				int others = 0;
				if (!v[k].h->in)
					continue;
				buf_reset(&why);
				buf_addstr(&why, "与同乡镇户 ");
				for (long o = i; o < j; o++) {
					if (v[o].hh == v[k].hh || (o > i && v[o].hh == v[o - 1].hh))
						continue;
					if (others == 3) {
						buf_addstr(&why, " 等");
						break;
					}
					buf_addf(&why, "%s%s", others ? "、" : "",
						 t.arena.buf + v[o].h->hh_no);
					others++;
				}
				buf_addf(&why, " 的成员姓名、性别、出生日期相同：%s，%s，%s",
					 arena.buf + v[k].name, v[k].sex == 1 ? "男" : "女",
					 arena.buf + v[k].birth);
				check_hits_add(hits, d, v[k].hh, v[k].id, why.buf);
			}
		i = j;
	}
out:
	free(v);
	buf_release(&arena);
	buf_release(&why);
	hh_table_release(&t);
	return rc;
}

/* A household with a phone, by the phone's hash, for grouping. */
struct phone_ref {
	uint64_t hash;
	const struct hh_info *h;
};

static int phone_cmp(const void *x, const void *y, void *arg)
{
	const struct phone_ref *a = x, *b = y;
	const char *arena = arg;
	int c;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if ((c = strcmp(arena + a->h->phone, arena + b->h->phone)))
		return c;
	return a->h->id < b->h->id ? -1 : a->h->id > b->h->id;
}

/* Households whose 户联系电话 another household also gives, anywhere. */
static int run_shared_phone(const struct engine *e, struct db *db, struct check_hits *hits,
			    char *err, size_t errlen)
{
	struct hh_table t = { 0 };
	struct phone_ref *p = NULL;
	struct buf why = BUF_INIT;
	long n = 0;
	int d = e->bdef[BI_SHARED_PHONE];

	if (hh_table_load(e, db, "", &t, err, errlen))
		return -1;
	p = xcalloc(t.n + 1, sizeof(*p));
	for (long i = 0; i < t.n; i++) {
		const char *phone = t.arena.buf + t.v[i].phone;
		if (!*phone)
			continue;
		p[n].hash = fnv(0xCBF29CE484222325ull, phone, strlen(phone));
		p[n++].h = &t.v[i];
	}
	qsort_r(p, n, sizeof(*p), phone_cmp, t.arena.buf);
	for (long i = 0; i < n;) {
		long j = i + 1;
		const char *phone = t.arena.buf + p[i].h->phone;
		while (j < n && p[j].hash == p[i].hash && !strcmp(t.arena.buf + p[j].h->phone, phone))
			j++;
		for (long k = i; j - i > 1 && k < j; k++) {
			char masked[24];
			int others = 0;
			if (!p[k].h->in)
				continue;
			mask_phone(phone, masked);
			buf_reset(&why);
			buf_addf(&why, "户联系电话 %s 与户 ", masked);
			for (long o = i; o < j; o++) {
				if (o == k)
					continue;
				if (others == 3) {
					buf_addstr(&why, " 等");
					break;
				}
				buf_addf(&why, "%s%s", others ? "、" : "", t.arena.buf + p[o].h->hh_no);
				others++;
			}
			buf_addstr(&why, " 相同");
			check_hits_add(hits, d, p[k].h->id, 0, why.buf);
		}
		i = j;
	}
	free(p);
	buf_release(&why);
	hh_table_release(&t);
	return 0;
}

/* ---- jobs and workers ------------------------------------------------------------- */

struct job {
	int builtin;	    /* -1: a piece of the household range */
	int64_t a, b;	    /* the piece */
	struct check_hits hits;
	int failed;
	char err[512];
	double millis;
};

struct pool {
	const struct engine *e;
	const char *target; /* database each worker opens */
	struct db *shared;  /* used instead when set */
	struct job *jobs;
	int n, next;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	char err[512] = "";
	struct db *db = p->shared ? p->shared : db_open(p->target, 0, err, sizeof(err));
	for (;;) {
		struct job *j;
		double t0;
		int i;
		pthread_mutex_lock(&p->lock);
		i = p->next < p->n ? p->next++ : -1;
		pthread_mutex_unlock(&p->lock);
		if (i < 0)
			break;
		j = &p->jobs[i];
		if (!db) {
			j->failed = 1;
			snprintf(j->err, sizeof(j->err), "%s", err);
			continue;
		}
		t0 = mono_seconds();
		if (j->builtin == BI_DUP_PERSON)
			j->failed = run_dup_person(p->e, db, &j->hits, j->err, sizeof(j->err)) < 0;
		else if (j->builtin == BI_SHARED_PHONE)
			j->failed = run_shared_phone(p->e, db, &j->hits, j->err, sizeof(j->err)) < 0;
		else
			j->failed = run_piece(p->e, db, j->a, j->b, &j->hits, j->err,
					      sizeof(j->err)) < 0;
		j->millis = (mono_seconds() - t0) * 1000;
	}
	if (db && !p->shared)
		db_close(db);
	return NULL;
}

int check_evaluate(struct db *db, struct check_def *defs, int n, const char *under, int year,
		   const char *today, int threads, struct check_hits *out, struct buf *err)
{
	struct engine e;
	struct pool p;
	struct buf sql = BUF_INIT;
	struct db_stmt *st;
	struct job *jobs = NULL;
	int nj = 0, alloc = 0, rc = 0, any_pass = 0;
	int64_t lo = 0, hi = -1;
	pthread_t tids[16];

	memset(&e, 0, sizeof(e));
	e.defs = defs;
	e.n = n;
	e.under = under;
	e.year = year;
	e.today = today;
	e.today_int = atoi(today) * 10000 + atoi(today + 5) * 100 + atoi(today + 8);
	e.params[0] = (struct rule_param_value){ "year", { 0, year, NULL } };
	e.params[1] = (struct rule_param_value){ "today", { 0, 0, today } };
	for (int i = 0; i < NR_BUILTINS; i++)
		e.bdef[i] = -1;
	e.rules = xcalloc(n + 1, sizeof(*e.rules));
	for (int i = 0; i < n; i++) {
		if (!defs[i].run)
			continue;
		if (defs[i].rule)
			e.rules[e.nr_rules++] = i;
		if (defs[i].builtin >= 0)
			e.bdef[defs[i].builtin] = i;
		if (defs[i].rule || (defs[i].builtin >= 0 && !check_builtins[defs[i].builtin].sql))
			any_pass = 1;
	}
	usage_find(&e.u, defs, n, e.params, 2);
	household_sql(&e.u, *under != 0, &sql);
	e.hh_sql = xstrdup(sql.buf);
	buf_reset(&sql);
	member_sql(&e.u, *under != 0, &sql);
	e.m_sql = xstrdup(sql.buf);
	buf_release(&sql);

	/* the pieces of the household-id range */
	if (any_pass) {
		if (*under)
			st = db_prepare(db, "SELECT min(id), max(id) FROM household WHERE village_code "
					    ">= :lo AND village_code < :hi");
		else
			st = db_prepare(db, "SELECT min(id), max(id) FROM household");
		if (*under)
			db_bind_prefix(st, ":lo", ":hi", under);
		if (db_step(st) == DB_ROW && !db_col_is_null(st, 0)) {
			lo = db_col_int(st, 0);
			hi = db_col_int(st, 1);
		}
		db_done(st);
	}
	/* the jobs that read the whole township or registry first: the pieces
	 * then fill the threads while they run */
	for (int bi = 0; bi < NR_BUILTINS; bi++) {
		if (!check_builtins[bi].sql || e.bdef[bi] < 0)
			continue;
		ALLOC_GROW(jobs, nj + 1, alloc);
		memset(&jobs[nj], 0, sizeof(jobs[nj]));
		jobs[nj].builtin = bi;
		nj++;
	}

	if (hi >= lo) {
		int64_t span = hi - lo + 1, pieces = span < CHECK_PIECES ? span : CHECK_PIECES;
		for (int64_t k = 0; k < pieces; k++) {
			ALLOC_GROW(jobs, nj + 1, alloc);
			memset(&jobs[nj], 0, sizeof(jobs[nj]));
			jobs[nj].builtin = -1;
			jobs[nj].a = lo + span * k / pieces;
			jobs[nj].b = lo + span * (k + 1) / pieces;
			nj++;
		}
	}
	memset(&p, 0, sizeof(p));
	p.e = &e;
	p.target = db_target(db);
	p.jobs = jobs;
	p.n = nj;
	pthread_mutex_init(&p.lock, NULL);
	if (threads > (int)ARRAY_SIZE(tids))
		threads = ARRAY_SIZE(tids);
	if (threads > nj)
		threads = nj;
	/* a database inside a transaction is read through the caller's own
	 * connection */
	if (db_depth(db) || threads <= 1) {
		p.shared = db;
		worker(&p);
	} else {
		int started = 0;
		for (int t = 0; t < threads; t++)
			if (!pthread_create(&tids[t], NULL, worker, &p))
				started++;
		for (int t = 0; t < started; t++)
			pthread_join(tids[t], NULL);
		if (!started) {
			p.shared = db;
			worker(&p);
		}
	}
	pthread_mutex_destroy(&p.lock);

	for (int i = 0; i < nj; i++) {
		if (jobs[i].failed && !rc) {
			buf_addstr(err, jobs[i].err);
			rc = -1;
		}
		if (jobs[i].builtin >= 0)
			defs[e.bdef[jobs[i].builtin]].millis = jobs[i].millis;
		for (long k = 0; k < jobs[i].hits.n; k++) {
			const struct check_hit *h = &jobs[i].hits.v[k];
			ALLOC_GROW(out->v, out->n + 1, out->alloc);
			out->v[out->n++] = *h; /* the explanation moves along */
		}
		free(jobs[i].hits.v);
	}
	free(jobs);
	free(e.hh_sql);
	free(e.m_sql);
	free(e.rules);
	usage_release(&e.u);
	return rc;
}
