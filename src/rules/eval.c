/* eval.c — rule_eval(): evaluate a compiled rule on one household (or one
 * member) with values read through the caller's callback.  The semantics
 * copy what the SQL of sql.c does on SQLite and PostgreSQL, NULLs and
 * three-valued logic included, so that both paths agree; see rules.h.
 * Every node is evaluated (no short cut), so every explain slot has a
 * value whether or not the rule fires; rule_test(), which fills no slots,
 * stops at the side of AND / OR, the item of IN and the member of any() /
 * all() that decides. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "rules/node.h"

struct ev {
	const struct rule *r;
	const struct rule_ctx *ctx;
	struct rule_result *res;
	char *done; /* per slot: value recorded */
	int member; /* current member, or -1 */
	int failed;
};

static const struct rule_value null_value = {1, 0, NULL};

static struct rule_value num_value(double x)
{
	struct rule_value v = {0, x, NULL};
	return v;
}

/* The value of SQL's CAST(SUBSTR(s, start, len) AS INTEGER) for the digits
 * there (SQLite reads leading digits; both agree on valid dates). */
static int substr_int(const char *s, size_t start, size_t len)
{
	size_t n = strlen(s);
	int v = 0;
	if (start - 1 >= n)
		return 0;
	s += start - 1;
	for (size_t i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* SUBSTR(a, start, len) < SUBSTR(b, start, len), bytewise. */
static int substr_less(const char *a, const char *b, size_t start, size_t len)
{
	size_t na = strlen(a), nb = strlen(b);
	const char *x = start - 1 < na ? a + start - 1 : "";
	const char *y = start - 1 < nb ? b + start - 1 : "";
	return strncmp(x, y, len) < 0;
}

double rules_years_between(const char *a, const char *b)
{
	return (double)(substr_int(b, 1, 4) - substr_int(a, 1, 4) - substr_less(b, a, 6, 5));
}

double rules_months_between(const char *a, const char *b)
{
	int mb = substr_int(b, 1, 4) * 12 + substr_int(b, 6, 2);
	int ma = substr_int(a, 1, 4) * 12 + substr_int(a, 6, 2);
	return (double)(mb - ma - substr_less(b, a, 9, 2));
}

static const char *keep_text(struct rule_result *res, const char *s)
{
	char *c = xstrdup(s);
	ALLOC_GROW(res->texts, res->nr_texts + 1, res->alloc_texts);
	res->texts[res->nr_texts++] = c;
	return c;
}

static void record(struct ev *e, int slot, const struct rule_value *v)
{
	struct rule_value *dst;
	if (slot < 0 || !e->res || e->done[slot])
		return;
	e->done[slot] = 1;
	dst = &e->res->values[slot];
	*dst = *v;
	if (!v->null && v->text)
		dst->text = keep_text(e->res, v->text);
}

static struct rule_value eval(struct ev *e, int n);

/* Comparison of two non-NULL values of the same type: <0, 0, >0. */
static int compare(const struct node *x, const struct rule_value *a, const struct rule_value *b)
{
	if (x->type == RULE_TEXT || x->type == RULE_DATE)
		return strcmp(a->text, b->text);
	return a->num < b->num ? -1 : a->num > b->num;
}

static struct rule_value get_field(struct ev *e, const struct node *x)
{
	struct rule_value v = null_value;
	const struct rule_field *f = x->field;
	int member = f->scope == RULE_MEMBER ? e->member : -1;

	if (e->ctx->get(e->ctx->opaque, f, member, &v)) {
		if (!e->failed)
			error("cannot read field %s of member %d", f->name, member);
		e->failed = 1;
		return null_value;
	}
	if ((f->type == RULE_TEXT || f->type == RULE_DATE) && !v.text)
		v.null = 1;
	if (v.null)
		return null_value;
	if (f->type == RULE_BOOL)
		v.num = v.num != 0;
	return v;
}

static struct rule_value get_param(struct ev *e, const struct node *x)
{
	const char *name = x->field->name;
	for (int i = 0; i < e->ctx->nr_params; i++) {
		const struct rule_param_value *pv = &e->ctx->params[i];
		if (strcmp(pv->name, name))
			continue;
		if (pv->v.null || ((x->type == RULE_TEXT || x->type == RULE_DATE) && !pv->v.text))
			return null_value;
		return pv->v;
	}
	if (!e->failed)
		error("rule parameter $%s has no value", name);
	e->failed = 1;
	return null_value;
}

/* Three-valued truth of a BOOL value: 0, 1, or 2 for NULL. */
static int truth(const struct rule_value *v)
{
	return v->null ? 2 : v->num != 0;
}

static struct rule_value bool_value(int t)
{
	return t == 2 ? null_value : num_value(t);
}

static struct rule_value aggregate(struct ev *e, const struct node *x)
{
	int saved = e->member, count = 0, all = 1;
	double sum = 0;

	for (int m = 0; m < e->ctx->nr_members; m++) {
		struct rule_value v;
		e->member = m;
		v = eval(e, x->a);
		if (x->op == N_SUM) {
			if (!v.null)
				sum += v.num;
		} else if (truth(&v) == 1) {
			count++;
			if (x->op == N_ANY && !e->res)
				break; /* rule_test(): the answer is known */
		} else {
			all = 0;
			if (x->op == N_ALL && !e->res)
				break;
		}
	}
	e->member = saved;
	switch (x->op) {
	case N_ANY:
		return num_value(count > 0);
	case N_ALL:
		return num_value(all);
	case N_COUNT:
		return num_value(count);
	default:
		return num_value(sum);
	}
}

static struct rule_value eval_node(struct ev *e, int n)
{
	const struct rule *r = e->r;
	const struct node *x = &r->nodes[n];
	struct rule_value a, b;
	int c;

	switch (x->op) {
	case N_NUM:
	case N_BOOL:
	case N_CODE:
		return num_value(x->num);
	case N_STR: {
		struct rule_value v = {0, 0, x->text};
		return v;
	}
	case N_FIELD:
		return get_field(e, x);
	case N_PARAM:
		return get_param(e, x);
	case N_NEG:
		a = eval(e, x->a);
		return a.null ? null_value : num_value(-a.num);
	case N_ADD:
	case N_SUB:
	case N_MUL:
	case N_DIV:
		a = eval(e, x->a);
		b = eval(e, x->b);
		if (a.null || b.null)
			return null_value;
		switch (x->op) {
		case N_ADD:
			return num_value(a.num + b.num);
		case N_SUB:
			return num_value(a.num - b.num);
		case N_MUL:
			return num_value(a.num * b.num);
		default:
			return b.num == 0 ? null_value : num_value(a.num / b.num);
		}
	case N_EQ:
	case N_NE:
	case N_LT:
	case N_LE:
	case N_GT:
	case N_GE:
		a = eval(e, x->a);
		b = eval(e, x->b);
		if (a.null || b.null)
			return null_value;
		c = compare(&r->nodes[x->a], &a, &b);
		switch (x->op) {
		case N_EQ:
			return num_value(c == 0);
		case N_NE:
			return num_value(c != 0);
		case N_LT:
			return num_value(c < 0);
		case N_LE:
			return num_value(c <= 0);
		case N_GT:
			return num_value(c > 0);
		default:
			return num_value(c >= 0);
		}
	case N_AND: {
		int ta, tb;
		a = eval(e, x->a);
		/* rule_test() fills no slots: a FALSE side decides */
		if (!e->res && truth(&a) == 0)
			return num_value(0);
		b = eval(e, x->b);
		ta = truth(&a);
		tb = truth(&b);
		return bool_value(ta == 0 || tb == 0 ? 0 : ta == 2 || tb == 2 ? 2 : 1);
	}
	case N_OR: {
		int ta, tb;
		a = eval(e, x->a);
		if (!e->res && truth(&a) == 1)
			return num_value(1);
		b = eval(e, x->b);
		ta = truth(&a);
		tb = truth(&b);
		return bool_value(ta == 1 || tb == 1 ? 1 : ta == 2 || tb == 2 ? 2 : 0);
	}
	case N_NOT:
		a = eval(e, x->a);
		return a.null ? null_value : num_value(a.num == 0);
	case N_IN:
	case N_NOTIN: {
		int found = 0, saw_null = 0, t;
		a = eval(e, x->a);
		for (int i = 0; i < x->nr_args; i++) {
			int item = r->args[x->args + i];
			const struct node *it = &r->nodes[item];
			/* rule_test(): NULL on the left, or a match, decides */
			if (!e->res && (a.null || found))
				break;
			if ((it->op == N_CODE || it->op == N_NUM) && it->slot < 0)
				b = num_value(it->num); /* a literal: no call */
			else
				b = eval(e, item);
			if (b.null)
				saw_null = 1;
			else if (!a.null && !compare(&r->nodes[x->a], &a, &b))
				found = 1;
		}
		t = a.null ? 2 : found ? 1 : saw_null ? 2 : 0;
		if (x->op == N_NOTIN && t != 2)
			t = !t;
		return bool_value(t);
	}
	case N_ISNULL:
		a = eval(e, x->a);
		return num_value(a.null);
	case N_NOTNULL:
		a = eval(e, x->a);
		return num_value(!a.null);
	case N_HAS:
		a = eval(e, x->a);
		return a.null ? null_value : num_value(((int64_t)a.num & x->mask) != 0);
	case N_AGE:
	case N_MONTHS:
		a = eval(e, x->a);
		b = eval(e, x->b);
		if (a.null || b.null)
			return null_value;
		return num_value(x->op == N_AGE ? rules_years_between(a.text, b.text)
						: rules_months_between(a.text, b.text));
	case N_COALESCE: {
		struct rule_value found = null_value;
		for (int i = 0; i < x->nr_args; i++) {
			b = eval(e, r->args[x->args + i]);
			if (found.null && !b.null)
				found = b;
		}
		return found;
	}
	case N_ABS:
		a = eval(e, x->a);
		return a.null ? null_value : num_value(a.num < 0 ? -a.num : a.num);
	case N_MIN:
	case N_MAX:
		a = eval(e, x->a);
		b = eval(e, x->b);
		if (a.null || b.null)
			return null_value;
		if (x->op == N_MIN)
			return a.num <= b.num ? a : b;
		return a.num >= b.num ? a : b;
	case N_ANY:
	case N_ALL:
	case N_COUNT:
	case N_SUM:
		return aggregate(e, x);
	}
	return null_value;
}

static struct rule_value eval(struct ev *e, int n)
{
	struct rule_value v = eval_node(e, n);
	const struct node *x = &e->r->nodes[n];
	if (x->slot >= 0)
		record(e, x->slot, &v);
	return v;
}

int rule_eval(const struct rule *r, const struct rule_ctx *ctx, int member, struct rule_result *res)
{
	struct ev e;
	struct rule_value v;

	rule_result_release(res);
	res->truth = RULE_UNKNOWN;
	res->nr_values = r->nr_slots;
	res->values = xcalloc(r->nr_slots + 1, sizeof(*res->values));
	for (int i = 0; i < r->nr_slots; i++)
		res->values[i].null = 1;
	if (r->scope == RULE_MEMBER && (member < 0 || member >= ctx->nr_members))
		return error("member rule evaluated on member %d of %d", member, ctx->nr_members);
	memset(&e, 0, sizeof(e));
	e.r = r;
	e.ctx = ctx;
	e.res = res;
	e.done = xcalloc(r->nr_slots + 1, 1);
	e.member = r->scope == RULE_MEMBER ? member : -1;

	v = eval(&e, r->root);
	res->truth = v.null ? RULE_UNKNOWN : v.num != 0 ? RULE_TRUE : RULE_FALSE;
	/* household fields seen only inside aggregates over no member */
	for (int i = 0; i < r->nr_slots; i++)
		if (!e.done[i])
			eval(&e, r->slots[i].node);
	free(e.done);
	if (e.failed) {
		res->truth = RULE_UNKNOWN; /* never fire on values that could not be read */
		return -1;
	}
	return 0;
}

int rule_test(const struct rule *r, const struct rule_ctx *ctx, int member)
{
	struct ev e;
	struct rule_value v;

	if (r->scope == RULE_MEMBER && (member < 0 || member >= ctx->nr_members))
		return error("member rule evaluated on member %d of %d", member, ctx->nr_members);
	memset(&e, 0, sizeof(e));
	e.r = r;
	e.ctx = ctx;
	e.member = r->scope == RULE_MEMBER ? member : -1;
	v = eval(&e, r->root);
	if (e.failed)
		return -1;
	return v.null ? RULE_UNKNOWN : v.num != 0 ? RULE_TRUE : RULE_FALSE;
}

void rule_result_release(struct rule_result *res)
{
	for (int i = 0; i < res->nr_texts; i++)
		free(res->texts[i]);
	free(res->texts);
	free(res->values);
	memset(res, 0, sizeof(*res));
}
