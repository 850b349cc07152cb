/* sql.c — rule_to_sql(): turn a compiled rule into one SELECT that screens
 * every household at once, in the SQL that SQLite (>= 3.40) and
 * PostgreSQL 15 both run: no iif/instr/printf/julianday, booleans as
 * TRUE/FALSE and IS [NOT] TRUE, CASE for min/max, SUBSTR + CAST for dates,
 * division as CAST(a AS DOUBLE PRECISION) / NULLIF(b, 0), decimals cast to
 * DOUBLE PRECISION so that PostgreSQL computes in binary floating point as
 * C and SQLite do.  Aggregates over members are correlated subqueries on
 * the catalogue's member_link, so an index on it serves them.  Also the
 * binding of :p_ parameters and the reading of explain columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "db/db.h"
#include "rules/node.h"

static void emit(const struct rule *r, int n, struct buf *o);

/* Set by rule_to_sql() while it writes the WHERE clause: any_as_in[n] is 1
 * for the any(member, e) nodes that are written as an uncorrelated IN (see
 * mark_any_as_in).  Thread-local: rules compile to SQL on several threads
 * at once. */
static __thread char *any_as_in;

static int is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static void emit_cast(const struct rule *r, int n, const char *type, struct buf *o)
{
	buf_addstr(o, "CAST(");
	emit(r, n, o);
	buf_addf(o, " AS %s)", type);
}

static void emit_param(const struct rule *r, const struct node *x, struct buf *o)
{
	const char *name = x->field->sql;
	switch (x->type) {
	case RULE_NUM:
		buf_addf(o, "CAST(%s AS DOUBLE PRECISION)", name);
		break;
	case RULE_TEXT:
	case RULE_DATE:
		buf_addf(o, "CAST(%s AS TEXT)", name);
		break;
	case RULE_BOOL:
		buf_addf(o, "(CAST(%s AS INTEGER) <> 0)", name);
		break;
	default:
		buf_addf(o, "CAST(%s AS INTEGER)", name);
		break;
	}
}

static void emit_string(const char *s, struct buf *o)
{
	buf_addch(o, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_addch(o, '\'');
		buf_addch(o, *s);
	}
	buf_addch(o, '\'');
}

/* SELECT … FROM member_from WHERE member_link AND */
static void emit_members(const struct rule *r, const char *what, struct buf *o)
{
	buf_addf(o, "SELECT %s FROM %s WHERE (%s)", what, r->cat->member_from, r->cat->member_link);
}

/* The year of date expression n: CAST(SUBSTR(d, 1, 4) AS INTEGER). */
static void emit_year(const struct rule *r, int n, struct buf *o)
{
	buf_addstr(o, "CAST(SUBSTR(");
	emit(r, n, o);
	buf_addstr(o, ", 1, 4) AS INTEGER)");
}

static void emit_substr(const struct rule *r, int n, int start, int len, struct buf *o)
{
	buf_addstr(o, "SUBSTR(");
	emit(r, n, o);
	buf_addf(o, ", %d, %d)", start, len);
}

/* The date `years` whole years before date expression b, as text:
 * CAST(year(b) - years AS TEXT) || SUBSTR(b, 5, 6). */
static void emit_cutoff(const struct rule *r, int b, long years, struct buf *o)
{
	buf_addstr(o, "(CAST(");
	emit_year(r, b, o);
	buf_addf(o, " - %ld AS TEXT) || ", years);
	emit_substr(r, b, 5, 6, o);
	buf_addch(o, ')');
}

/* The date `months` whole months before date expression b, as text, with
 * b's day (possibly not a real date, like 2024-02-31: it only serves
 * comparisons): with k = year(b) * 12 + month(b) - 1 - months,
 * CAST(k / 12 AS TEXT) || '-' || two-digit (k % 12 + 1) || SUBSTR(b, 8, 3). */
static void emit_month_cutoff(const struct rule *r, int b, long months, struct buf *o)
{
	struct buf k = BUF_INIT;
	buf_addch(&k, '(');
	emit_year(r, b, &k);
	buf_addstr(&k, " * 12 + CAST(");
	emit_substr(r, b, 6, 2, &k);
	buf_addf(&k, " AS INTEGER) - 1 - %ld)", months);
	buf_addf(o,
		 "(CAST(%s / 12 AS TEXT) || '-' || CASE WHEN %s %% 12 < 9 THEN '0' ELSE '' END"
		 " || CAST(%s %% 12 + 1 AS TEXT) || ",
		 k.buf, k.buf, k.buf);
	emit_substr(r, b, 8, 3, o);
	buf_addch(o, ')');
	buf_release(&k);
}

static void emit_date_cutoff(const struct rule *r, const struct node *f, long n, struct buf *o)
{
	if (f->op == N_AGE)
		emit_cutoff(r, f->b, n, o);
	else
		emit_month_cutoff(r, f->b, n, o);
}

/* For years_between(a, b) OP N with N a small whole number, a plain text
 * comparison of a with a cut-off date (no per-row date arithmetic):
 *   age >= N  <=>  a <= cutoff(N)          age > N   <=>  a <= cutoff(N+1)
 *   age <  N  <=>  a >  cutoff(N)          age <= N  <=>  a >  cutoff(N+1)
 * where cutoff(N) is b moved N years back; valid for 'YYYY-MM-DD' dates
 * (29 February included: the comparison is the one age() makes on MM-DD).
 * months_since(a) OP N likewise, with b moved N months back.
 * Returns 1 if it emitted the comparison. */
static int emit_age_cmp(const struct rule *r, const struct node *x, struct buf *o)
{
	const struct node *l = &r->nodes[x->a], *k = &r->nodes[x->b];
	const struct node *age;
	int op = x->op;
	long years;

	if ((l->op == N_AGE || l->op == N_MONTHS) && k->op == N_NUM) {
		age = l;
	} else if ((k->op == N_AGE || k->op == N_MONTHS) && l->op == N_NUM) {
		static const int flip[] = {[N_EQ] = N_EQ, [N_NE] = N_NE, [N_LT] = N_GT,
					   [N_LE] = N_GE, [N_GT] = N_LT, [N_GE] = N_LE};
		age = k;
		k = l;
		op = flip[op];
	} else {
		return 0;
	}
	if (strchr(k->text, '.') || k->num > (age->op == N_AGE ? 150 : 1800))
		return 0;
	years = (long)k->num;
	buf_addch(o, '(');
	switch (op) {
	case N_GE:
	case N_GT:
		emit(r, age->a, o);
		buf_addstr(o, " <= ");
		emit_date_cutoff(r, age, years + (op == N_GT), o);
		break;
	case N_LT:
	case N_LE:
		emit(r, age->a, o);
		buf_addstr(o, " > ");
		emit_date_cutoff(r, age, years + (op == N_LE), o);
		break;
	case N_EQ:
	case N_NE:
		emit(r, age->a, o);
		buf_addstr(o, op == N_EQ ? " <= " : " > ");
		emit_date_cutoff(r, age, years, o);
		buf_addstr(o, op == N_EQ ? " AND " : " OR ");
		emit(r, age->a, o);
		buf_addstr(o, op == N_EQ ? " > " : " <= ");
		emit_date_cutoff(r, age, years + 1, o);
		break;
	}
	buf_addch(o, ')');
	return 1;
}

/* 1 if node n is a yes/no field of the catalogue (an integer 0/1 or NULL
 * column, written "(col <> 0)" as a SQL boolean). */
static int is_bool_column(const struct rule *r, int n)
{
	const struct node *x = &r->nodes[n];
	return x->op == N_FIELD && x->type == RULE_BOOL;
}

/* A yes/no field compared with TRUE or FALSE as the column's own test —
 * "col <> 0" or "col = 0" rather than "(col <> 0) = FALSE" — the same in
 * three-valued logic, simpler for the engine.  Returns 1 if it emitted. */
static int emit_bool_cmp(const struct rule *r, const struct node *x, struct buf *o)
{
	int f = x->a, k = x->b, yes;
	if ((x->op != N_EQ && x->op != N_NE))
		return 0;
	if (r->nodes[f].op == N_BOOL) {
		f = x->b;
		k = x->a;
	}
	if (!is_bool_column(r, f) || r->nodes[k].op != N_BOOL)
		return 0;
	yes = (r->nodes[k].num != 0) == (x->op == N_EQ);
	buf_addf(o, "((%s) %s 0)", r->nodes[f].field->sql, yes ? "<>" : "=");
	return 1;
}

/* count(member, e) compared with 0 or 1 so that only "none" or "some"
 * matters: = 0, < 1, <= 0 become NOT EXISTS, and > 0, >= 1, <> 0 EXISTS,
 * which stop at the first matching member.  Returns 1 if it emitted. */
static int emit_count_exists(const struct rule *r, const struct node *x, struct buf *o)
{
	const struct node *l = &r->nodes[x->a], *k = &r->nodes[x->b];
	int op = x->op, none;

	if (k->op == N_COUNT && l->op == N_NUM) {
		static const int flip[] = {[N_EQ] = N_EQ, [N_NE] = N_NE, [N_LT] = N_GT,
					   [N_LE] = N_GE, [N_GT] = N_LT, [N_GE] = N_LE};
		const struct node *t = l;
		l = k;
		k = t;
		op = flip[op];
	}
	if (l->op != N_COUNT || k->op != N_NUM || (k->num != 0 && k->num != 1))
		return 0;
	if (k->num == 0 && (op == N_EQ || op == N_LE))
		none = 1;
	else if (k->num == 1 && op == N_LT)
		none = 1;
	else if (k->num == 0 && (op == N_GT || op == N_NE))
		none = 0;
	else if (k->num == 1 && op == N_GE)
		none = 0;
	else
		return 0;
	buf_addstr(o, none ? "(NOT EXISTS (" : "(EXISTS (");
	emit_members(r, "1", o);
	buf_addstr(o, " AND ");
	emit(r, l->a, o);
	buf_addstr(o, "))");
	return 1;
}

/* 1 if `sql` contains `word` (upper case) as a whole word, in any case. */
static int contains_word(const char *sql, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = sql; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && (s[i] == word[i] || s[i] == word[i] + ('a' - 'A')))
			i++;
		if (i == n && !is_ident_char(s[n]) && (s == sql || !is_ident_char(s[-1])))
			return 1;
	}
	return 0;
}

/* 1 if node n reads a household field (inside an aggregate, that makes
 * it correlated with the household). */
static int reads_household(const struct rule *r, int n)
{
	const struct node *x = &r->nodes[n];
	if ((x->op == N_FIELD) && x->field->scope == RULE_HOUSEHOLD)
		return 1;
	if (x->a >= 0 && reads_household(r, x->a))
		return 1;
	if (x->b >= 0 && reads_household(r, x->b))
		return 1;
	for (int i = 0; i < x->nr_args; i++)
		if (reads_household(r, r->args[x->args + i]))
			return 1;
	return 0;
}

/* Mark in `out` the any() nodes that every household reaches: those under
 * nothing but OR and NOT from the root.  Under an AND, a cheaper term may
 * leave few households for the any() (C008: only those with a 低保
 * measure), and looking up their members beats building the whole set. */
static void mark_any_as_in(const struct rule *r, int n, char *out)
{
	const struct node *x = &r->nodes[n];
	if (x->op == N_ANY)
		out[n] = 1;
	else if (x->op == N_OR || x->op == N_NOT) {
		mark_any_as_in(r, x->a, out);
		if (x->b >= 0)
			mark_any_as_in(r, x->b, out);
	}
}

/* A rough cost of evaluating node n once per household: aggregates (a
 * subquery each) dominate. */
static int cost(const struct rule *r, int n)
{
	const struct node *x = &r->nodes[n];
	int c = 1;
	if (x->a >= 0)
		c += cost(r, x->a);
	if (x->b >= 0)
		c += cost(r, x->b);
	for (int i = 0; i < x->nr_args; i++)
		c += cost(r, r->args[x->args + i]);
	switch (x->op) {
	case N_ANY:
	case N_ALL:
	case N_COUNT:
	case N_SUM:
		c = 1000 + 10 * c;
		break;
	case N_FIELD:
		/* a field the catalogue computes with a subquery (a count of
		 * measures, say) costs as much as an aggregate */
		if (contains_word(x->field->sql, "SELECT"))
			c = 1000;
		break;
	case N_AGE:
	case N_MONTHS:
		c += 10;
		break;
	}
	return c < 1000000 ? c : 1000000;
}

static void emit_list(const struct rule *r, const struct node *x, struct buf *o)
{
	for (int i = 0; i < x->nr_args; i++) {
		if (i)
			buf_addstr(o, ", ");
		emit(r, r->args[x->args + i], o);
	}
}

/* The index of node x in r->nodes. */
static int n_index(const struct rule *r, const struct node *x)
{
	return (int)(x - r->nodes);
}

/* Append to terms[] the operands of the chain of `op` (N_AND or N_OR) that
 * starts at node n, left to right; a chain longer than `max` keeps its tail
 * nested in the last term. */
static void collect_terms(const struct rule *r, int n, int op, int *terms, int *nr, int max)
{
	const struct node *x = &r->nodes[n];
	if (x->op == op && *nr < max - 1) {
		collect_terms(r, x->a, op, terms, nr, max - 1);
		collect_terms(r, x->b, op, terms, nr, max);
		return;
	}
	terms[(*nr)++] = n;
}

static const char *const sql_ops[] = {
    [N_ADD] = "+", [N_SUB] = "-", [N_MUL] = "*", [N_EQ] = "=",	  [N_NE] = "<>", [N_LT] = "<",
    [N_LE] = "<=", [N_GT] = ">",  [N_GE] = ">=", [N_AND] = "AND", [N_OR] = "OR",
};

/* Append node n as a self-contained (parenthesised or atomic) SQL
 * expression; boolean nodes become SQL booleans. */
static void emit(const struct rule *r, int n, struct buf *o)
{
	const struct node *x = &r->nodes[n];

	switch (x->op) {
	case N_NUM:
		if (strchr(x->text, '.'))
			buf_addf(o, "CAST(%s AS DOUBLE PRECISION)", x->text);
		else
			buf_addstr(o, x->text);
		break;
	case N_STR:
		emit_string(x->text, o);
		break;
	case N_BOOL:
		buf_addstr(o, x->num ? "TRUE" : "FALSE");
		break;
	case N_CODE:
		buf_addf(o, "%ld", (long)x->num);
		break;
	case N_FIELD:
		if (x->type == RULE_BOOL)
			buf_addf(o, "((%s) <> 0)", x->field->sql);
		else
			buf_addf(o, "(%s)", x->field->sql);
		break;
	case N_PARAM:
		emit_param(r, x, o);
		break;
	case N_NEG:
		buf_addstr(o, "(-");
		emit(r, x->a, o);
		buf_addch(o, ')');
		break;
	case N_AND:
	case N_OR: {
		/* cheap terms first: engines evaluate in the order written and
		 * stop early; AND and OR commute in three-valued logic, so a
		 * chain a AND (b AND c) is flattened and its terms sorted by
		 * cost (stable), wherever the parser nested them */
		int terms[64], costs[64], nt = 0;
		collect_terms(r, n_index(r, x), x->op, terms, &nt, 64);
		for (int i = 0; i < nt; i++)
			costs[i] = cost(r, terms[i]);
		for (int i = 1; i < nt; i++) {
			int t = terms[i], c = costs[i], j = i;
			for (; j > 0 && costs[j - 1] > c; j--) {
				terms[j] = terms[j - 1];
				costs[j] = costs[j - 1];
			}
			terms[j] = t;
			costs[j] = c;
		}
		buf_addch(o, '(');
		for (int i = 0; i < nt; i++) {
			if (i)
				buf_addf(o, " %s ", sql_ops[x->op]);
			emit(r, terms[i], o);
		}
		buf_addch(o, ')');
		break;
	}
	case N_ADD:
	case N_SUB:
	case N_MUL:
		buf_addch(o, '(');
		emit(r, x->a, o);
		buf_addf(o, " %s ", sql_ops[x->op]);
		emit(r, x->b, o);
		buf_addch(o, ')');
		break;
	case N_EQ:
	case N_NE:
	case N_LT:
	case N_LE:
	case N_GT:
	case N_GE:
		if (emit_age_cmp(r, x, o) || emit_count_exists(r, x, o) || emit_bool_cmp(r, x, o))
			break;
		buf_addch(o, '(');
		emit(r, x->a, o);
		buf_addf(o, " %s ", sql_ops[x->op]);
		emit(r, x->b, o);
		buf_addch(o, ')');
		break;
	case N_DIV:
		buf_addch(o, '(');
		emit_cast(r, x->a, "DOUBLE PRECISION", o);
		buf_addstr(o, " / NULLIF(");
		emit(r, x->b, o);
		buf_addstr(o, ", 0))");
		break;
	case N_NOT:
		buf_addstr(o, "(NOT ");
		emit(r, x->a, o);
		buf_addch(o, ')');
		break;
	case N_IN:
	case N_NOTIN:
		buf_addch(o, '(');
		emit(r, x->a, o);
		buf_addstr(o, x->op == N_IN ? " IN (" : " NOT IN (");
		emit_list(r, x, o);
		buf_addstr(o, "))");
		break;
	case N_ISNULL:
	case N_NOTNULL:
		buf_addch(o, '(');
		if (is_bool_column(r, x->a)) /* "(x <> 0) IS NULL" is "x IS NULL" */
			buf_addf(o, "(%s)", r->nodes[x->a].field->sql);
		else
			emit(r, x->a, o);
		buf_addstr(o, x->op == N_ISNULL ? " IS NULL)" : " IS NOT NULL)");
		break;
	case N_HAS:
		buf_addstr(o, "((");
		emit(r, x->a, o);
		buf_addf(o, " & %lld) <> 0)", (long long)x->mask);
		break;
	case N_AGE:
		/* year(b) - year(a) - (MM-DD of b < MM-DD of a) */
		buf_addch(o, '(');
		emit_year(r, x->b, o);
		buf_addstr(o, " - ");
		emit_year(r, x->a, o);
		buf_addstr(o, " - CASE WHEN ");
		emit_substr(r, x->b, 6, 5, o);
		buf_addstr(o, " < ");
		emit_substr(r, x->a, 6, 5, o);
		buf_addstr(o, " THEN 1 ELSE 0 END)");
		break;
	case N_MONTHS:
		/* (year(b)*12 + month(b)) - (year(a)*12 + month(a)) - (DD of b < DD of a) */
		buf_addstr(o, "((");
		emit_year(r, x->b, o);
		buf_addstr(o, " * 12 + CAST(");
		emit_substr(r, x->b, 6, 2, o);
		buf_addstr(o, " AS INTEGER)) - (");
		emit_year(r, x->a, o);
		buf_addstr(o, " * 12 + CAST(");
		emit_substr(r, x->a, 6, 2, o);
		buf_addstr(o, " AS INTEGER)) - CASE WHEN ");
		emit_substr(r, x->b, 9, 2, o);
		buf_addstr(o, " < ");
		emit_substr(r, x->a, 9, 2, o);
		buf_addstr(o, " THEN 1 ELSE 0 END)");
		break;
	case N_COALESCE:
		buf_addstr(o, "COALESCE(");
		emit_list(r, x, o);
		buf_addch(o, ')');
		break;
	case N_ABS:
		buf_addstr(o, "ABS(");
		emit(r, x->a, o);
		buf_addch(o, ')');
		break;
	case N_MIN:
	case N_MAX:
		buf_addstr(o, "(CASE WHEN ");
		emit(r, x->a, o);
		buf_addstr(o, x->op == N_MIN ? " <= " : " >= ");
		emit(r, x->b, o);
		buf_addstr(o, " THEN ");
		emit(r, x->a, o);
		buf_addstr(o, " WHEN ");
		emit(r, x->b, o);
		buf_addstr(o, x->op == N_MIN ? " < " : " > ");
		emit(r, x->a, o);
		buf_addstr(o, " THEN ");
		emit(r, x->b, o);
		buf_addstr(o, " END)");
		break;
	case N_ANY:
		if (any_as_in && any_as_in[n] && !reads_household(r, x->a)) {
			/* the households with such a member, found in one pass
			 * over the members: SQLite builds the set once, where
			 * EXISTS would look up every household's members */
			buf_addf(o, "(%s IN (SELECT %s FROM %s WHERE ", r->cat->household_id,
				 r->cat->member_household, r->cat->member_from);
			emit(r, x->a, o);
			buf_addstr(o, "))");
			break;
		}
		buf_addstr(o, "(EXISTS (");
		emit_members(r, "1", o);
		buf_addstr(o, " AND ");
		emit(r, x->a, o);
		buf_addstr(o, "))");
		break;
	case N_ALL:
		buf_addstr(o, "(NOT EXISTS (");
		emit_members(r, "1", o);
		buf_addstr(o, " AND (");
		emit(r, x->a, o);
		buf_addstr(o, " IS NOT TRUE)))");
		break;
	case N_COUNT:
		buf_addch(o, '(');
		emit_members(r, "COUNT(*)", o);
		buf_addstr(o, " AND ");
		emit(r, x->a, o);
		buf_addch(o, ')');
		break;
	case N_SUM: {
		struct buf what = BUF_INIT;
		buf_addstr(&what, "COALESCE(SUM(");
		emit(r, x->a, &what);
		buf_addstr(&what, "), 0)");
		buf_addch(o, '(');
		emit_members(r, what.buf, o);
		buf_addch(o, ')');
		buf_release(&what);
		break;
	}
	}
}

/* The explain column of slot i. */
static void emit_slot(const struct rule *r, int i, struct buf *o)
{
	const struct node *x = &r->nodes[r->slots[i].node];
	if (x->op == N_FIELD) {
		buf_addf(o, "(%s)", x->field->sql);
	} else if (x->op == N_ANY || x->op == N_ALL) {
		buf_addstr(o, "CASE WHEN ");
		emit(r, r->slots[i].node, o);
		buf_addstr(o, " THEN 1 ELSE 0 END");
	} else if (x->op == N_PARAM && x->type == RULE_BOOL) {
		buf_addf(o, "CAST(%s AS INTEGER)", x->field->sql);
	} else {
		emit(r, r->slots[i].node, o);
	}
}

/* 1 if `text` uses table alias `alias` ("alias." not preceded by an
 * identifier character). */
static int uses_alias(const char *text, const char *alias)
{
	size_t n = strlen(alias);
	for (const char *s = strstr(text, alias); s; s = strstr(s + 1, alias)) {
		char before = s == text ? ' ' : s[-1];
		if (s[n] == '.' &&
		    !((before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') ||
		      (before >= '0' && before <= '9') || before == '_'))
			return 1;
	}
	return 0;
}

/* ---- joins the rule cannot do without ------------------------------------------
 * The catalogue's joins are LEFT JOINs on a unique key: a household without
 * the joined row (no income summary for the year, say) reads NULL in the
 * join's columns.  When the rule cannot be TRUE for such a household, the
 * join may be an inner join, which lets the planner start from the joined
 * table when it is the smaller one (SQLite does not see this itself through
 * an OR, as in (户类型 = … and 合规自付支出 >= …) or (…)). */

/* 1 if field f's SQL is NULL whenever the row of join `alias` is missing:
 * it mentions the alias and is built only from columns, literals, casts and
 * arithmetic — no CASE, COALESCE, subquery or test of NULL, which can turn
 * a missing row into a value. */
static int strict_in(const struct rule_field *f, const char *alias)
{
	static const char *const lenient[] = { "CASE", "WHEN", "COALESCE", "IFNULL", "NULLIF",
					       "SELECT", "EXISTS", "IS", "NOT", "OR", "AND",
					       "NULL", "IIF", NULL };
	if (f->scope != RULE_HOUSEHOLD || !uses_alias(f->sql, alias))
		return 0;
	for (int i = 0; lenient[i]; i++)
		if (contains_word(f->sql, lenient[i]))
			return 0;
	return 1;
}

/* What node n can be when the row of join `alias` is missing. */
struct missing {
	int null;      /* surely NULL */
	int not_true;  /* surely not TRUE (FALSE or NULL) */
	int not_false; /* surely not FALSE (TRUE or NULL) */
};

static struct missing when_missing(const struct rule *r, int n, const char *alias)
{
	const struct node *x = &r->nodes[n];
	struct missing m = { 0, 0, 0 }, a, b;
	switch (x->op) {
	case N_FIELD:
		m.null = strict_in(x->field, alias);
		break;
	case N_NEG:
	case N_ABS:
	case N_HAS:
	case N_IN:
	case N_NOTIN:
		m.null = when_missing(r, x->a, alias).null;
		break;
	case N_ADD:
	case N_SUB:
	case N_MUL:
	case N_DIV:
	case N_EQ:
	case N_NE:
	case N_LT:
	case N_LE:
	case N_GT:
	case N_GE:
	case N_AGE:
	case N_MONTHS:
	case N_MIN:
	case N_MAX:
		m.null = when_missing(r, x->a, alias).null || when_missing(r, x->b, alias).null;
		break;
	case N_COALESCE:
		m.null = 1;
		for (int i = 0; i < x->nr_args && m.null; i++)
			m.null = when_missing(r, r->args[x->args + i], alias).null;
		break;
	case N_ISNULL:
		m.not_false = when_missing(r, x->a, alias).null;
		break;
	case N_NOTNULL:
		m.not_true = when_missing(r, x->a, alias).null;
		break;
	case N_AND:
		a = when_missing(r, x->a, alias);
		b = when_missing(r, x->b, alias);
		m.not_true = a.not_true || b.not_true;
		m.not_false = a.not_false && b.not_false;
		break;
	case N_OR:
		a = when_missing(r, x->a, alias);
		b = when_missing(r, x->b, alias);
		m.not_true = a.not_true && b.not_true;
		m.not_false = a.not_false || b.not_false;
		break;
	case N_NOT:
		a = when_missing(r, x->a, alias);
		m.not_true = a.not_false;
		m.not_false = a.not_true;
		break;
	default: /* literals, parameters, aggregates (never NULL) */
		break;
	}
	if (m.null)
		m.not_true = m.not_false = 1;
	return m;
}

/* An upper bound on the bytes emit() writes for node n.  min() and max()
 * write each operand twice, and a date under age() or months_since() is
 * written up to 14 times, so nested min()s grow as a power of two. */
static double emitted_bytes(const struct rule *r, int n)
{
	const struct node *x = &r->nodes[n];
	double b = 80, times = 1;
	if (x->op == N_MIN || x->op == N_MAX)
		times = 2;
	else if (x->op == N_AGE || x->op == N_MONTHS)
		times = 16;
	if (x->field && x->field->sql)
		b += strlen(x->field->sql) + 40;
	if (x->text)
		b += 2 * strlen(x->text);
	if (x->a >= 0)
		b += times * emitted_bytes(r, x->a);
	if (x->b >= 0)
		b += times * emitted_bytes(r, x->b);
	for (int i = 0; i < x->nr_args; i++)
		b += emitted_bytes(r, r->args[x->args + i]);
	return b;
}

int rule_sql_fits(const struct rule *r, char *msg, size_t size)
{
	struct buf sql = BUF_INIT;
	int deep;
	/* the WHERE clause, and the explain columns: values inside it, written
	 * again (aggregates do not nest, so at most as much once more) */
	if (2 * emitted_bytes(r, r->root) > MAX_SQL_BYTES) {
		snprintf(msg, size,
			 "表达式写成数据库查询后太长（超过 %d MB），请拆成几条规则",
			 MAX_SQL_BYTES >> 20);
		return 0;
	}
	rule_to_sql(r, NULL, &sql);
	deep = db_sql_too_deep(sql.buf);
	buf_release(&sql);
	if (deep) {
		snprintf(msg, size,
			 "表达式嵌套太深，数据库无法执行（SQLite 的语法分析栈有限），"
			 "请拆成几条规则或减少括号层数");
		return 0;
	}
	return 1;
}

void rule_to_sql(const struct rule *r, const char *extra_where, struct buf *sql)
{
	const struct rule_catalog *c = r->cat;
	int member = r->scope == RULE_MEMBER;
	struct buf cols = BUF_INIT, where = BUF_INIT;

	for (int i = 0; i < r->nr_slots; i++) {
		buf_addstr(&cols, ",\n  ");
		emit_slot(r, i, &cols);
	}
	/* a rule that needs a joined row (a monitored household, say) starts
	 * from that table's few rows, where EXISTS per household is cheaper;
	 * one that reads every household tests its any() as a set */
	if (!member && c->member_household) {
		int every = 1;
		for (int j = 0; j < c->nr_joins && every; j++)
			if (starts_with(c->joins[j].sql, "LEFT JOIN ") &&
			    when_missing(r, r->root, c->joins[j].alias).not_true)
				every = 0;
		if (every) {
			any_as_in = xcalloc(r->nr_nodes, 1);
			mark_any_as_in(r, r->root, any_as_in);
		}
	}
	emit(r, r->root, &where);
	free(any_as_in);
	any_as_in = NULL;
	if (extra_where && *extra_where)
		buf_addf(&where, "\n  AND (%s)", extra_where);
	buf_addf(sql, "SELECT %s", c->household_id);
	if (member)
		buf_addf(sql, ", %s", c->member_id);
	buf_add(sql, cols.buf, cols.len);
	buf_addf(sql, "\nFROM %s", c->household_from);
	for (int j = 0; j < c->nr_joins; j++) {
		const char *join = c->joins[j].sql;
		if (!uses_alias(cols.buf, c->joins[j].alias) &&
		    !uses_alias(where.buf, c->joins[j].alias))
			continue;
		if (starts_with(join, "LEFT JOIN ") &&
		    when_missing(r, r->root, c->joins[j].alias).not_true)
			join += 5; /* "JOIN …" */
		buf_addf(sql, "\n%s", join);
	}
	if (member)
		buf_addf(sql, "\nJOIN %s ON %s", c->member_from, c->member_link);
	buf_addstr(sql, "\nWHERE ");
	buf_add(sql, where.buf, where.len);
	buf_release(&cols);
	buf_release(&where);
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

int rule_sql_bind(const struct rule *r, const char *sql, struct db_stmt *st,
		  const struct rule_param_value *params, int nr_params)
{
	for (int i = 0; i < r->cat->nr_fields; i++) {
		const struct rule_field *f = &r->cat->fields[i];
		const struct rule_param_value *pv = NULL;
		const char *name = f->sql;

		if (f->scope != RULE_PARAM || !mentions(sql, name))
			continue;
		for (int k = 0; k < nr_params; k++)
			if (!strcmp(params[k].name, f->name))
				pv = &params[k];
		if (!pv)
			return error("rule parameter $%s has no value", f->name);
		if (pv->v.null) {
			db_bind_null(st, name);
			continue;
		}
		switch (f->type) {
		case RULE_NUM:
			/* whole numbers as integers: an index on an integer
			 * column (i.year = :year) stays usable on PostgreSQL */
			if (pv->v.num == (double)(int64_t)pv->v.num && pv->v.num > -9e15 &&
			    pv->v.num < 9e15)
				db_bind_int(st, name, (int64_t)pv->v.num);
			else
				db_bind_double(st, name, pv->v.num);
			break;
		case RULE_TEXT:
		case RULE_DATE:
			db_bind_text(st, name, pv->v.text);
			break;
		default:
			db_bind_int(st, name, (int64_t)pv->v.num);
			break;
		}
	}
	return 0;
}

int rule_sql_first_value(const struct rule *r)
{
	return r->scope == RULE_MEMBER ? 2 : 1;
}

void rule_sql_values(const struct rule *r, struct db_stmt *st, struct rule_value *vals)
{
	int col = rule_sql_first_value(r);
	for (int i = 0; i < r->nr_slots; i++, col++) {
		struct rule_value *v = &vals[i];
		memset(v, 0, sizeof(*v));
		if (db_col_is_null(st, col)) {
			v->null = 1;
			continue;
		}
		switch (r->slots[i].type) {
		case RULE_NUM:
			v->num = db_col_double(st, col);
			break;
		case RULE_TEXT:
		case RULE_DATE:
			v->text = db_col_text(st, col);
			break;
		case RULE_BOOL:
			v->num = db_col_int(st, col) != 0;
			break;
		default:
			v->num = (double)db_col_int(st, col);
			break;
		}
	}
}
