/* parse.c — rule_compile(): the tokenizer, a recursive-descent parser with
 * SQL's precedence, and the type checks, building the node array of a
 * struct rule (node.h).  Labels of code fields are resolved to codes here,
 * so a misspelt label is a compile error, never a silent non-match.  Every
 * error names the character where it was found, in Chinese. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/util.h"
#include "registry/codes.h"
#include "rules/node.h"

enum tok_kind {
	T_EOF,
	T_NUM,
	T_STR,
	T_IDENT,
	T_PARAM, /* $name; the span excludes the '$' in name_off/name_len */
	T_LP,
	T_RP,
	T_COMMA,
	T_PLUS,
	T_MINUS,
	T_STAR,
	T_SLASH,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
};

struct tok {
	int kind;	 /* enum tok_kind */
	size_t off, end; /* span in the source */
	size_t name_off; /* T_IDENT, T_PARAM: the name */
	size_t name_len;
	char *str; /* T_STR: unescaped text (xmalloc, moved to the rule) */
};

/* Limits that keep the recursion here, in eval.c and sql.c bounded; the
 * database's parser has its own, which rule_sql_fits() checks. */
enum {
	MAX_EXPR_BYTES = 20000,
	MAX_DEPTH = 100, /* levels of the tree, and nesting while parsing */
	MAX_MINMAX = 4,	 /* min/max within min/max: SQL writes operands twice */
};

struct parser {
	const struct rule_catalog *cat;
	struct rule *r;
	const char *s; /* the expression */
	size_t len;
	size_t pos;	 /* next byte to read */
	struct tok tok;	 /* current token */
	struct tok prev; /* the token before it (kind T_EOF at the start) */
	int have_prev;
	int in_agg;  /* inside any/all/count/sum(member, …) */
	int nesting; /* parse_expr/parse_not/parse_unary recursion depth */
	struct rule_error *err;
	int failed;
};

static const char *const type_names[] = {
    "", "数值", "文本", "是/否", "日期", "代码", "多选",
};

/* The 1-based character column of byte `off` of s. */
static int column_of(const char *s, size_t off)
{
	int col = 1;
	for (size_t i = 0; i < off; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			col++;
	return col;
}

/* Record the first error, at byte `off`, and return -1. */
__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, size_t off, const char *fmt,
						      ...)
{
	va_list ap;
	int col;
	struct buf msg = BUF_INIT;

	if (p->failed)
		return -1;
	p->failed = 1;
	if (off > p->len)
		off = p->len;
	col = column_of(p->s, off);
	buf_addf(&msg, "第 %d 个字符处：", col);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	p->err->offset = off;
	p->err->column = col;
	/* a long quoted name may not fit: cut before a whole character, so the
	 * message stays valid UTF-8 (it goes into JSON answers) */
	if (msg.len >= sizeof(p->err->msg)) {
		size_t n = sizeof(p->err->msg) - 1;
		while (n && ((unsigned char)msg.buf[n] & 0xC0) == 0x80)
			n--;
		buf_setlen(&msg, n);
	}
	snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg.buf);
	buf_release(&msg);
	return -1;
}

/* ---- characters ---- */

/* Decode the UTF-8 character at s[i] (n bytes left); store its length in
 * *clen.  Returns the code point, or -1 for malformed input (a bad or
 * truncated sequence, an overlong form, a surrogate, or a code point above
 * U+10FFFF). */
static long decode(const char *s, size_t n, int *clen)
{
	const unsigned char *u = (const unsigned char *)s;
	int extra;
	long c = u[0];

	*clen = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xF0 && c < 0xF8)
		extra = 3, c &= 0x07;
	else if (c >= 0xE0 && c < 0xF0)
		extra = 2, c &= 0x0F;
	else if (c >= 0xC2 && c < 0xE0)
		extra = 1, c &= 0x1F;
	else
		return -1;
	if ((size_t)extra >= n)
		return -1;
	for (int k = 1; k <= extra; k++) {
		if ((u[k] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (u[k] & 0x3F);
	}
	if ((extra == 2 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (extra == 3 && (c < 0x10000 || c > 0x10FFFF)))
		return -1;
	*clen = extra + 1;
	return c;
}

/* 1 if code point c may be part of a name: ASCII letters, digits, '_', and
 * any other character except punctuation blocks (general punctuation and
 * symbols, CJK punctuation, full-width forms). */
static int is_name_char(long c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       c == '_';
	if (c < 0xC0)
		return 0;
	if (c >= 0x2000 && c <= 0x2BFF)
		return 0;
	if (c >= 0x3000 && c <= 0x303F)
		return 0;
	if (c >= 0xFF00 && c <= 0xFFEF)
		return 0;
	return 1;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Case-insensitive ASCII comparison of the token name with `word`. */
static int name_is(const struct parser *p, const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	if (t->kind != T_IDENT || t->name_len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p->s[t->name_off + i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != word[i])
			return 0;
	}
	return 1;
}

static const char *const keywords[] = {
    "and", "or", "not", "in", "is", "null", "has", "true", "false", "member",
};

static int is_keyword(const struct parser *p, const struct tok *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (name_is(p, t, keywords[i]))
			return 1;
	return 0;
}

/* ---- tokenizer ---- */

/* Scan the run of characters that could belong to a malformed number. */
static size_t number_run(struct parser *p, size_t i)
{
	while (i < p->len) {
		int clen;
		long c = decode(p->s + i, p->len - i, &clen);
		if (c == '.' || (c >= 0 && is_name_char(c)))
			i += clen;
		else
			break;
	}
	return i;
}

static int lex_number(struct parser *p, struct tok *t)
{
	size_t i = t->off, end = number_run(p, t->off), int_digits = 0;
	int ok = 1;

	while (i < end && is_digit(p->s[i]))
		i++, int_digits++;
	if (!int_digits)
		ok = 0;
	if (ok && i < end && p->s[i] == '.') {
		size_t frac = 0;
		i++;
		while (i < end && is_digit(p->s[i]))
			i++, frac++;
		if (!frac)
			ok = 0;
	}
	if (i != end)
		ok = 0;
	t->end = end;
	if (!ok)
		return fail(p, t->off, "“%.*s”不是有效的数", (int)(end - t->off), p->s + t->off);
	if (int_digits > 15)
		return fail(p, t->off, "数“%.*s”太大", (int)(end - t->off), p->s + t->off);
	t->kind = T_NUM;
	return 0;
}

static int lex_string(struct parser *p, struct tok *t)
{
	struct buf b = BUF_INIT;
	size_t i = t->off + 1;

	for (;;) {
		if (i >= p->len) {
			buf_release(&b);
			return fail(p, t->off, "字符串缺少结尾的单引号");
		}
		if (p->s[i] == '\'') {
			if (i + 1 < p->len && p->s[i + 1] == '\'') {
				buf_addch(&b, '\'');
				i += 2;
				continue;
			}
			i++;
			break;
		}
		buf_addch(&b, p->s[i]);
		i++;
	}
	t->kind = T_STR;
	t->end = i;
	t->str = buf_detach(&b, NULL);
	return 0;
}

/* Scan a name starting at byte i; returns its end. */
static size_t name_end(struct parser *p, size_t i)
{
	while (i < p->len) {
		int clen;
		long c = decode(p->s + i, p->len - i, &clen);
		if (c < 0 || !is_name_char(c))
			break;
		i += clen;
	}
	return i;
}

/* Read the next token into p->tok.  Returns 0 or -1 on a lexical error. */
static int next(struct parser *p)
{
	struct tok *t = &p->tok;
	int clen;
	long c;

	if (p->failed)
		return -1;
	free(t->str);
	p->prev = *t;
	p->prev.str = NULL;
	p->have_prev = t->end > 0 || t->kind != T_EOF;
	memset(t, 0, sizeof(*t));

	for (;;) {
		if (p->pos >= p->len) {
			t->kind = T_EOF;
			t->off = t->end = p->len;
			return 0;
		}
		c = decode(p->s + p->pos, p->len - p->pos, &clen);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000)
			p->pos += clen;
		else
			break;
	}
	t->off = p->pos;
	t->end = p->pos + clen;
	if (c >= 0 && is_digit((int)c)) {
		if (lex_number(p, t))
			return -1;
	} else if (c == '.') {
		t->end = number_run(p, t->off);
		return fail(p, t->off, "“%.*s”不是有效的数", (int)(t->end - t->off), p->s + t->off);
	} else if (c == '\'') {
		if (lex_string(p, t))
			return -1;
	} else if (c == '$') {
		size_t e = name_end(p, t->off + 1);
		if (e == t->off + 1)
			return fail(p, t->off, "“$”后缺少参数名");
		t->kind = T_PARAM;
		t->name_off = t->off + 1;
		t->name_len = e - t->name_off;
		t->end = e;
	} else if (c >= 0 && is_name_char(c)) {
		t->kind = T_IDENT;
		t->end = name_end(p, t->off);
		t->name_off = t->off;
		t->name_len = t->end - t->off;
	} else {
		switch (c) {
		case '(':
		case 0xFF08: /* （ */
			t->kind = T_LP;
			break;
		case ')':
		case 0xFF09: /* ） */
			t->kind = T_RP;
			break;
		case ',':
		case 0xFF0C: /* ， */
			t->kind = T_COMMA;
			break;
		case '+':
			t->kind = T_PLUS;
			break;
		case '-':
			t->kind = T_MINUS;
			break;
		case '*':
			t->kind = T_STAR;
			break;
		case '/':
			t->kind = T_SLASH;
			break;
		case '=':
			t->kind = T_EQ;
			if (p->pos + 1 < p->len && p->s[p->pos + 1] == '=')
				return fail(p, t->off, "相等请写“=”，不是“==”");
			break;
		case '!':
			if (p->pos + 1 < p->len && p->s[p->pos + 1] == '=') {
				t->kind = T_NE;
				t->end++;
				break;
			}
			return fail(p, t->off, "无法识别的字符“!”（不等于请写“!=”或“<>”）");
		case '<':
			t->kind = T_LT;
			if (p->pos + 1 < p->len && p->s[p->pos + 1] == '=')
				t->kind = T_LE, t->end++;
			else if (p->pos + 1 < p->len && p->s[p->pos + 1] == '>')
				t->kind = T_NE, t->end++;
			break;
		case '>':
			t->kind = T_GT;
			if (p->pos + 1 < p->len && p->s[p->pos + 1] == '=')
				t->kind = T_GE, t->end++;
			break;
		case 0x2018:
		case 0x2019:
		case 0x201C:
		case 0x201D:
			return fail(p, t->off, "字符串请用英文单引号括起，如 '户主'");
		default:
			if (c < 0)
				return fail(p, t->off, "表达式不是有效的 UTF-8 文本");
			return fail(p, t->off, "无法识别的字符“%.*s”", clen, p->s + t->off);
		}
	}
	p->pos = t->end;
	return 0;
}

/* ---- building nodes ---- */

static int new_node(struct parser *p, int op, int type, size_t off, size_t end)
{
	struct rule *r = p->r;
	struct node *n;
	ALLOC_GROW(r->nodes, r->nr_nodes + 1, r->alloc_nodes);
	n = &r->nodes[r->nr_nodes];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->type = type;
	n->a = n->b = -1;
	n->slot = -1;
	n->in_member = p->in_agg || r->scope == RULE_MEMBER;
	n->off = off;
	n->end = end;
	return r->nr_nodes++;
}

static struct node *N(struct parser *p, int n)
{
	return &p->r->nodes[n];
}

static const char *keep_str(struct rule *r, char *s)
{
	ALLOC_GROW(r->strs, r->nr_strs + 1, r->alloc_strs);
	r->strs[r->nr_strs++] = s;
	return s;
}

static int binary(struct parser *p, int op, int type, int a, int b)
{
	int n = new_node(p, op, type, N(p, a)->off, N(p, b)->end);
	N(p, n)->a = a;
	N(p, n)->b = b;
	return n;
}

/* The source text of node n, for messages. */
#define SRC(p, n) (int)(N(p, n)->end - N(p, n)->off), (p)->s + N(p, n)->off

/* Reserve an explain slot for node n. */
static int add_slot(struct parser *p, int n, int type, const struct code_list *codes,
		    const char *unit, char *label)
{
	struct rule *r = p->r;
	struct rule_slot *s;
	ALLOC_GROW(r->slots, r->nr_slots + 1, r->alloc_slots);
	s = &r->slots[r->nr_slots];
	s->node = n;
	s->type = type;
	s->codes = codes;
	s->unit = unit;
	s->label = label;
	N(p, n)->slot = r->nr_slots;
	return r->nr_slots++;
}

/* Give field (or parameter) node n its slot, shared with an earlier
 * mention of the same field. */
static void field_slot(struct parser *p, int n)
{
	struct rule *r = p->r;
	const struct rule_field *f = N(p, n)->field;
	for (int i = 0; i < r->nr_slots; i++) {
		struct node *o = &r->nodes[r->slots[i].node];
		if ((o->op == N_FIELD || o->op == N_PARAM) && o->field == f) {
			N(p, n)->slot = i;
			return;
		}
	}
	add_slot(p, n, f->type, f->codes, f->unit, xstrdup(f->title ? f->title : f->name));
}

/* ---- suggestions ---- */

/* The candidate closest to `word`, or NULL. */
static const char *suggest(const char *const *cands, int n, const char *word)
{
	struct code_item *items;
	struct code_list l = {"", "", NULL, 0, 0};
	const char *best;

	if (!n)
		return NULL;
	items = xcalloc(n, sizeof(*items));
	for (int i = 0; i < n; i++) {
		items[i].code = i;
		items[i].label = cands[i];
	}
	l.items = items;
	l.nr_items = n;
	best = codes_suggest(&l, word);
	free(items);
	return best;
}

/* Fields of the catalogue whose scope matches `params` (1: parameters,
 * 0: the others) by name or title. */
static const struct rule_field *find_field(struct parser *p, const char *name, int params)
{
	for (int i = 0; i < p->cat->nr_fields; i++) {
		const struct rule_field *f = &p->cat->fields[i];
		if ((f->scope == RULE_PARAM) != params)
			continue;
		if (!strcasecmp(f->name, name) || (f->title && !strcmp(f->title, name)))
			return f;
	}
	return NULL;
}

static const char *suggest_field(struct parser *p, const char *name, int params)
{
	const char **cands = xcalloc(2 * (size_t)p->cat->nr_fields + 1, sizeof(*cands));
	const char *best;
	int n = 0, ascii = 1;

	for (const char *c = name; *c; c++)
		if ((unsigned char)*c >= 0x80)
			ascii = 0;
	for (int i = 0; i < p->cat->nr_fields; i++) {
		const struct rule_field *f = &p->cat->fields[i];
		if ((f->scope == RULE_PARAM) != params)
			continue;
		if (ascii || !f->title)
			cands[n++] = f->name;
		if (f->title)
			cands[n++] = f->title;
	}
	best = suggest(cands, n, name);
	free(cands);
	return best;
}

/* ---- type checks ---- */

static int is_literal_str(struct parser *p, int n)
{
	return N(p, n)->op == N_STR;
}

static int valid_date(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !is_digit(s[i]))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1000 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

/* Write "可选：a、b、c" for list l into b. */
static void add_choices(struct buf *b, const struct code_list *l)
{
	buf_addstr(b, "可选：");
	for (int i = 0; i < l->nr_items; i++) {
		if (i)
			buf_addstr(b, "、");
		buf_addstr(b, l->items[i].label);
	}
}

/* Resolve label literal n against code list l (of the field named
 * `title`).  Returns the code (or for a multi list the bitmask), or -1. */
static long resolve_label(struct parser *p, int n, const struct code_list *l, const char *title)
{
	const char *label = N(p, n)->text;
	const char *best;
	long code = codes_lookup(l, label);
	struct buf m = BUF_INIT;

	if (code >= 0)
		return code;
	best = codes_suggest(l, label);
	buf_addf(&m, "“%s”没有“%s”这一项", title, label);
	if (best)
		buf_addf(&m, "，是否应为“%s”？", best);
	else {
		buf_addstr(&m, "（");
		add_choices(&m, l);
		buf_addstr(&m, "）");
	}
	fail(p, N(p, n)->off, "%s", m.buf);
	buf_release(&m);
	return -1;
}

/* A name for the value of node n in messages: the field's title or the
 * source text. */
static void describe(struct parser *p, int n, struct buf *b)
{
	buf_addf(b, "%s“%.*s”", type_names[N(p, n)->type], SRC(p, n));
}

/* Make string literal `lit` fit the type of node `other`: a date, a code
 * label, or plain text.  Returns 0 or -1. */
static int coerce(struct parser *p, int lit, int other, size_t op_off)
{
	struct node *o = N(p, other), *l = N(p, lit);
	long code;

	switch (o->type) {
	case RULE_TEXT:
		return 0;
	case RULE_DATE:
		if (!valid_date(l->text))
			return fail(p, l->off,
				    "“%s”不是有效日期（应为 YYYY-MM-DD，如 '2024-03-01'）",
				    l->text);
		l->type = RULE_DATE;
		return 0;
	case RULE_CODE: {
		const char *title = o->op == N_FIELD || o->op == N_PARAM
					? (o->field->title ? o->field->title : o->field->name)
					: o->codes->title;
		code = resolve_label(p, lit, o->codes, title);
		if (code < 0)
			return -1;
		l = N(p, lit);
		l->op = N_CODE;
		l->type = RULE_CODE;
		l->codes = o->codes;
		l->num = (double)code;
		return 0;
	}
	case RULE_SET:
		return fail(p, op_off, "多选字段“%.*s”请用 has 判断，如 %.*s has '%s'",
			    SRC(p, other), SRC(p, other), l->text);
	default: {
		struct buf m = BUF_INIT;
		buf_addstr(&m, "不能比较");
		describe(p, other, &m);
		buf_addstr(&m, "和文本“");
		buf_addf(&m, "%.*s”", SRC(p, lit));
		fail(p, op_off, "%s", m.buf);
		buf_release(&m);
		return -1;
	}
	}
}

/* Check that a and b may be compared with operator `op` (N_EQ …; -1 for
 * IN and coalesce, which need equality only), coercing string literals.
 * Returns 0 or -1. */
static int check_pair(struct parser *p, int a, int b, int op, size_t op_off)
{
	struct node *x, *y;
	int ordering = op == N_LT || op == N_LE || op == N_GT || op == N_GE;

	if (is_literal_str(p, a) && !is_literal_str(p, b)) {
		if (coerce(p, a, b, op_off))
			return -1;
	} else if (is_literal_str(p, b) && !is_literal_str(p, a)) {
		if (coerce(p, b, a, op_off))
			return -1;
	}
	x = N(p, a);
	y = N(p, b);
	if (x->type == RULE_SET || y->type == RULE_SET) {
		int s = x->type == RULE_SET ? a : b;
		return fail(p, op_off, "多选字段“%.*s”不能直接比较，请用 has，如 %.*s has '…'",
			    SRC(p, s), SRC(p, s));
	}
	if (x->type != y->type || (x->type == RULE_CODE && x->codes != y->codes)) {
		struct buf m = BUF_INIT;
		buf_addstr(&m, "不能比较");
		describe(p, a, &m);
		buf_addstr(&m, "和");
		describe(p, b, &m);
		fail(p, op_off, "%s", m.buf);
		buf_release(&m);
		return -1;
	}
	if (ordering && (x->type == RULE_CODE || x->type == RULE_BOOL))
		return fail(p, op_off, "%s“%.*s”只能用 =、!= 或 in 比较，不能比大小",
			    type_names[x->type], SRC(p, a));
	return 0;
}

static int want_type(struct parser *p, int n, int type, const char *op)
{
	if (N(p, n)->type == type)
		return 0;
	if (type == RULE_BOOL)
		return fail(p, N(p, n)->off, "“%s”的运算对象应为条件（真/假），而“%.*s”是%s", op,
			    SRC(p, n), type_names[N(p, n)->type]);
	return fail(p, N(p, n)->off, "“%s”的运算对象应为%s，而“%.*s”是%s", op, type_names[type],
		    SRC(p, n), type_names[N(p, n)->type]);
}

/* Make argument n a date: a date field, or a 'YYYY-MM-DD' literal. */
static int want_date(struct parser *p, int n, const char *fn)
{
	struct node *x = N(p, n);
	if (x->op == N_STR) {
		if (!valid_date(x->text))
			return fail(p, x->off,
				    "“%s”不是有效日期（应为 YYYY-MM-DD，如 '2024-03-01'）",
				    x->text);
		x->type = RULE_DATE;
		return 0;
	}
	return want_type(p, n, RULE_DATE, fn);
}

/* ---- the grammar ---- */

static int parse_expr(struct parser *p);

/* Report a missing value at the current token. */
static int missing_value(struct parser *p)
{
	struct tok *t = &p->tok;
	if (t->kind == T_EOF && !p->have_prev)
		return fail(p, 0, "表达式为空");
	if (p->have_prev && p->prev.kind != T_LP && p->prev.kind != T_COMMA)
		return fail(p, t->off, "“%.*s”后缺少值", (int)(p->prev.end - p->prev.off),
			    p->s + p->prev.off);
	if (t->kind == T_EOF)
		return fail(p, t->off, "表达式不完整，此处缺少值");
	return fail(p, t->off, "此处缺少值，却是“%.*s”", (int)(t->end - t->off), p->s + t->off);
}

static int expect(struct parser *p, int kind, const char *what)
{
	if (p->tok.kind == kind)
		return next(p);
	if (p->tok.kind == T_EOF)
		return fail(p, p->tok.off, "缺少%s", what);
	return fail(p, p->tok.off, "缺少%s，却是“%.*s”", what, (int)(p->tok.end - p->tok.off),
		    p->s + p->tok.off);
}

static int parse_field(struct parser *p)
{
	struct tok t = p->tok;
	char *name = xstrndup(p->s + t.name_off, t.name_len);
	const struct rule_field *f = find_field(p, name, 0);
	int n;

	if (!f) {
		const struct rule_field *pf = find_field(p, name, 1);
		const char *best = suggest_field(p, name, 0);
		if (pf)
			fail(p, t.off, "“%s”是参数，请写成“$%s”", name, name);
		else if (best)
			fail(p, t.off, "未知字段“%s”，是否应为“%s”？", name, best);
		else
			fail(p, t.off, "未知字段“%s”", name);
		free(name);
		return -1;
	}
	free(name);
	if (f->scope == RULE_MEMBER && !p->in_agg && p->r->scope != RULE_MEMBER)
		return fail(p, t.off,
			    "“%.*s”是成员字段，只能用在 any/all/count/sum(member, …) 之中，如 "
			    "any(member, %.*s …)",
			    (int)t.name_len, p->s + t.name_off, (int)t.name_len, p->s + t.name_off);
	n = new_node(p, N_FIELD, f->type, t.off, t.end);
	N(p, n)->field = f;
	N(p, n)->codes = f->codes;
	if (f->scope == RULE_HOUSEHOLD || !p->in_agg)
		field_slot(p, n);
	if (next(p))
		return -1;
	return n;
}

static int parse_param(struct parser *p)
{
	struct tok t = p->tok;
	char *name = xstrndup(p->s + t.name_off, t.name_len);
	const struct rule_field *f = find_field(p, name, 1);
	int n;

	if (!f) {
		const char *best = suggest_field(p, name, 1);
		if (best)
			fail(p, t.off, "未知参数“$%s”，是否应为“$%s”？", name, best);
		else
			fail(p, t.off, "未知参数“$%s”", name);
		free(name);
		return -1;
	}
	free(name);
	n = new_node(p, N_PARAM, f->type, t.off, t.end);
	N(p, n)->field = f;
	N(p, n)->codes = f->codes;
	field_slot(p, n);
	if (next(p))
		return -1;
	return n;
}

/* The node for $today (hidden: not an explain slot), for age() and
 * months_since(). */
static int today_node(struct parser *p, size_t off, const char *fn)
{
	int n;
	if (p->r->today < 0)
		return fail(p, off, "%s() 需要日期参数 $today，而字段目录中没有", fn);
	n = new_node(p, N_PARAM, RULE_DATE, off, off);
	N(p, n)->field = &p->cat->fields[p->r->today];
	return n;
}

static const char *const func_names[] = {
    "age", "months_since", "years_between", "coalesce", "abs", "min",
    "max", "any",	   "all",	    "count",	"sum",
};

/* any/all/count/sum(member, e); the current token is '(' */
static int parse_agg(struct parser *p, int op, const char *fn, size_t off)
{
	int a, n, slot = -1;
	const char *what;

	if (p->in_agg)
		return fail(p, off, "%s(member, …) 不能写在另一个 any/all/count/sum 之中", fn);
	if (next(p))
		return -1;
	if (!name_is(p, &p->tok, "member") &&
	    !(p->tok.kind == T_IDENT && p->tok.name_len == strlen("成员") &&
	      !memcmp(p->s + p->tok.name_off, "成员", strlen("成员"))))
		return fail(p, p->tok.off,
			    "%s 的第一个参数应为 member，如 %s(member, 健康状况 has '患有大病')",
			    fn, fn);
	if (next(p) || expect(p, T_COMMA, "逗号“,”"))
		return -1;
	/* reserve the slot first, so that it comes before the fields inside */
	n = new_node(p, op, op == N_COUNT || op == N_SUM ? RULE_NUM : RULE_BOOL, off, off);
	slot = add_slot(p, n, N(p, n)->type, NULL, op == N_COUNT ? "人" : NULL, NULL);
	p->in_agg = 1;
	a = parse_expr(p);
	p->in_agg = 0;
	if (a < 0)
		return -1;
	if (op == N_SUM) {
		if (want_type(p, a, RULE_NUM, fn))
			return -1;
	} else if (want_type(p, a, RULE_BOOL, fn)) {
		return -1;
	}
	N(p, n)->a = a;
	N(p, n)->end = p->tok.end;
	if (expect(p, T_RP, "右括号“)”"))
		return -1;
	switch (op) {
	case N_ANY:
		what = "有成员满足";
		break;
	case N_ALL:
		what = "全部成员满足";
		break;
	case N_COUNT:
		what = "满足";
		break;
	default:
		what = "成员";
		break;
	}
	{
		struct buf label = BUF_INIT;
		buf_addf(&label, "%s“%.*s”", what, SRC(p, a));
		if (op == N_COUNT)
			buf_addstr(&label, "的成员数");
		else if (op == N_SUM)
			buf_addstr(&label, "合计");
		p->r->slots[slot].label = buf_detach(&label, NULL);
		if (op == N_SUM && N(p, a)->op == N_FIELD)
			p->r->slots[slot].unit = N(p, a)->field->unit;
	}
	return n;
}

static int depth(const struct rule *r, int n, int minmax);

static int parse_call(struct parser *p)
{
	struct tok t = p->tok;
	char fn[32];
	int args[8], nargs = 0, n = -1, want = -1, f = -1;
	size_t lp_off;

	for (size_t i = 0; i < ARRAY_SIZE(func_names); i++)
		if (name_is(p, &t, func_names[i]))
			f = (int)i;
	if (f < 0) {
		char *name = xstrndup(p->s + t.name_off, t.name_len);
		const char *best = suggest(func_names, (int)ARRAY_SIZE(func_names), name);
		if (best)
			fail(p, t.off, "未知函数“%s”，是否应为“%s”？", name, best);
		else
			fail(p, t.off, "未知函数“%s”", name);
		free(name);
		return -1;
	}
	snprintf(fn, sizeof(fn), "%s", func_names[f]);
	if (next(p))
		return -1;
	lp_off = p->tok.off;
	if (!strcmp(fn, "any"))
		return parse_agg(p, N_ANY, fn, t.off);
	if (!strcmp(fn, "all"))
		return parse_agg(p, N_ALL, fn, t.off);
	if (!strcmp(fn, "count"))
		return parse_agg(p, N_COUNT, fn, t.off);
	if (!strcmp(fn, "sum"))
		return parse_agg(p, N_SUM, fn, t.off);

	if (next(p))
		return -1;
	if (p->tok.kind != T_RP) {
		for (;;) {
			int a = parse_expr(p);
			if (a < 0)
				return -1;
			if (nargs == (int)ARRAY_SIZE(args))
				return fail(p, N(p, a)->off, "函数 %s 的参数太多", fn);
			args[nargs++] = a;
			if (p->tok.kind != T_COMMA)
				break;
			if (next(p))
				return -1;
		}
	}
	if (p->tok.kind != T_RP)
		return expect(p, T_RP, "右括号“)”");
	if (!strcmp(fn, "age")) {
		if (nargs > 1)
			want = 1;
	} else if (!strcmp(fn, "months_since") || !strcmp(fn, "abs")) {
		want = 1;
	} else if (!strcmp(fn, "years_between") || !strcmp(fn, "min") || !strcmp(fn, "max")) {
		want = 2;
	} else if (!strcmp(fn, "coalesce") && nargs < 2) {
		return fail(p, lp_off, "函数 coalesce 至少需要 2 个参数，这里有 %d 个", nargs);
	}
	if (want >= 0 && nargs != want)
		return fail(p, lp_off, "函数 %s 需要 %d 个参数，这里有 %d 个", fn, want, nargs);

	if (!strcmp(fn, "age")) {
		int d, today;
		if (!nargs) {
			const struct rule_field *bf =
			    p->cat->age_field ? find_field(p, p->cat->age_field, 0) : NULL;
			if (!p->in_agg && p->r->scope != RULE_MEMBER)
				return fail(p, t.off,
					    "age() 不带参数时指成员的年龄，只能用在 "
					    "any/all/count/sum(member, "
					    "…) 之中；户的日期请写 age(日期字段)");
			if (!bf || bf->scope != RULE_MEMBER || bf->type != RULE_DATE)
				return fail(p, t.off,
					    "字段目录没有指定出生日期字段，请写 age(日期字段)");
			d = new_node(p, N_FIELD, RULE_DATE, t.off, t.off);
			N(p, d)->field = bf;
			if (!p->in_agg)
				field_slot(p, d);
		} else {
			d = args[0];
			if (want_date(p, d, "age"))
				return -1;
		}
		if ((today = today_node(p, t.off, "age")) < 0)
			return -1;
		n = new_node(p, N_AGE, RULE_NUM, t.off, p->tok.end);
		N(p, n)->a = d;
		N(p, n)->b = today;
	} else if (!strcmp(fn, "years_between")) {
		if (want_date(p, args[0], fn) || want_date(p, args[1], fn))
			return -1;
		n = new_node(p, N_AGE, RULE_NUM, t.off, p->tok.end);
		N(p, n)->a = args[0];
		N(p, n)->b = args[1];
	} else if (!strcmp(fn, "months_since")) {
		int today;
		if (want_date(p, args[0], fn) || (today = today_node(p, t.off, fn)) < 0)
			return -1;
		n = new_node(p, N_MONTHS, RULE_NUM, t.off, p->tok.end);
		N(p, n)->a = args[0];
		N(p, n)->b = today;
	} else if (!strcmp(fn, "abs")) {
		if (want_type(p, args[0], RULE_NUM, fn))
			return -1;
		n = new_node(p, N_ABS, RULE_NUM, t.off, p->tok.end);
		N(p, n)->a = args[0];
	} else if (!strcmp(fn, "min") || !strcmp(fn, "max")) {
		if (want_type(p, args[0], RULE_NUM, fn) || want_type(p, args[1], RULE_NUM, fn))
			return -1;
		if (depth(p->r, args[0], 1) >= MAX_MINMAX || depth(p->r, args[1], 1) >= MAX_MINMAX)
			return fail(p, t.off,
				    "min/max 嵌套太深（最多 %d 层）：每套一层，数据库里的算式就长一倍，"
				    "请拆成几条规则",
				    MAX_MINMAX);
		n = new_node(p, fn[1] == 'i' ? N_MIN : N_MAX, RULE_NUM, t.off, p->tok.end);
		N(p, n)->a = args[0];
		N(p, n)->b = args[1];
	} else { /* coalesce */
		struct rule *r = p->r;
		int typed = args[0];
		for (int i = 0; i < nargs; i++)
			if (!is_literal_str(p, args[i])) {
				typed = args[i];
				break;
			}
		for (int i = 0; i < nargs; i++)
			if (args[i] != typed &&
			    check_pair(p, typed, args[i], -1, N(p, args[i])->off))
				return -1;
		n = new_node(p, N_COALESCE, N(p, typed)->type, t.off, p->tok.end);
		N(p, n)->codes = N(p, typed)->codes;
		N(p, n)->args = r->nr_args;
		N(p, n)->nr_args = nargs;
		ALLOC_GROW(r->args, r->nr_args + nargs, r->alloc_args);
		for (int i = 0; i < nargs; i++)
			r->args[r->nr_args++] = args[i];
	}
	if (next(p))
		return -1;
	return n;
}

static int parse_primary(struct parser *p)
{
	struct tok *t = &p->tok;
	int n;

	switch (t->kind) {
	case T_NUM:
		n = new_node(p, N_NUM, RULE_NUM, t->off, t->end);
		N(p, n)->text = keep_str(p->r, xstrndup(p->s + t->off, t->end - t->off));
		N(p, n)->num = strtod(N(p, n)->text, NULL);
		return next(p) ? -1 : n;
	case T_STR:
		n = new_node(p, N_STR, RULE_TEXT, t->off, t->end);
		N(p, n)->text = keep_str(p->r, t->str);
		t->str = NULL;
		return next(p) ? -1 : n;
	case T_PARAM:
		return parse_param(p);
	case T_LP: {
		size_t lp = t->off;
		if (next(p) || (n = parse_expr(p)) < 0)
			return -1;
		if (p->tok.kind != T_RP) {
			if (p->tok.kind == T_EOF)
				return fail(p, p->tok.off,
					    "缺少右括号（与第 %d 个字符处的左括号配对）",
					    column_of(p->s, lp));
			return fail(p, p->tok.off, "缺少右括号，却是“%.*s”",
				    (int)(p->tok.end - p->tok.off), p->s + p->tok.off);
		}
		/* widen the span to the parentheses, for messages and labels */
		N(p, n)->off = lp;
		N(p, n)->end = p->tok.end;
		return next(p) ? -1 : n;
	}
	case T_IDENT:
		if (name_is(p, t, "true") || name_is(p, t, "false")) {
			n = new_node(p, N_BOOL, RULE_BOOL, t->off, t->end);
			N(p, n)->num = name_is(p, t, "true");
			return next(p) ? -1 : n;
		}
		if (name_is(p, t, "null"))
			return fail(p, t->off, "null 只能写在 is null 或 is not null 中");
		if (is_keyword(p, t)) {
			if (!p->have_prev)
				return fail(p, t->off, "“%.*s”前缺少值", (int)t->name_len,
					    p->s + t->name_off);
			return missing_value(p);
		}
		{
			/* a name followed by '(' is a function call */
			size_t save = p->pos;
			int clen;
			while (save < p->len && (p->s[save] == ' ' || p->s[save] == '\t'))
				save++;
			if (save < p->len && (p->s[save] == '(' ||
					      decode(p->s + save, p->len - save, &clen) == 0xFF08))
				return parse_call(p);
		}
		return parse_field(p);
	default:
		return missing_value(p);
	}
}

static int parse_unary(struct parser *p)
{
	if (p->tok.kind == T_MINUS) {
		size_t off = p->tok.off;
		int a, n;
		if (++p->nesting > MAX_DEPTH)
			return fail(p, off,
				    "表达式嵌套太深（最多 %d 层），请拆成几条规则或用 in (…)",
				    MAX_DEPTH);
		if (next(p) || (a = parse_unary(p)) < 0)
			return -1;
		p->nesting--;
		if (want_type(p, a, RULE_NUM, "-"))
			return -1;
		n = new_node(p, N_NEG, RULE_NUM, off, N(p, a)->end);
		N(p, n)->a = a;
		return n;
	}
	return parse_primary(p);
}

static int parse_arith(struct parser *p, int level)
{
	int l = level ? parse_unary(p) : parse_arith(p, 1);
	if (l < 0)
		return -1;
	for (;;) {
		int k = p->tok.kind, op, r;
		char sym[2] = {0, 0};
		if (level && (k == T_STAR || k == T_SLASH))
			op = k == T_STAR ? N_MUL : N_DIV;
		else if (!level && (k == T_PLUS || k == T_MINUS))
			op = k == T_PLUS ? N_ADD : N_SUB;
		else
			return l;
		sym[0] = p->s[p->tok.off];
		if (next(p) || (r = level ? parse_unary(p) : parse_arith(p, 1)) < 0)
			return -1;
		if (want_type(p, l, RULE_NUM, sym) || want_type(p, r, RULE_NUM, sym))
			return -1;
		l = binary(p, op, RULE_NUM, l, r);
	}
}

static int cmp_op(int kind)
{
	switch (kind) {
	case T_EQ:
		return N_EQ;
	case T_NE:
		return N_NE;
	case T_LT:
		return N_LT;
	case T_LE:
		return N_LE;
	case T_GT:
		return N_GT;
	case T_GE:
		return N_GE;
	default:
		return -1;
	}
}

static int parse_in(struct parser *p, int l, int op, size_t op_off)
{
	struct rule *r = p->r;
	int items[64], nr = 0, n;

	if (p->tok.kind != T_LP)
		return expect(p, T_LP, "左括号“(”");
	if (next(p))
		return -1;
	for (;;) {
		int a = parse_expr(p);
		if (a < 0)
			return -1;
		if (nr == (int)ARRAY_SIZE(items))
			return fail(p, N(p, a)->off, "in 列表最多 %d 项", (int)ARRAY_SIZE(items));
		if (check_pair(p, l, a, -1, N(p, a)->off))
			return -1;
		items[nr++] = a;
		if (p->tok.kind != T_COMMA)
			break;
		if (next(p))
			return -1;
	}
	if (p->tok.kind != T_RP)
		return expect(p, T_RP, "右括号“)”");
	n = new_node(p, op, RULE_BOOL, N(p, l)->off, p->tok.end);
	N(p, n)->a = l;
	N(p, n)->args = r->nr_args;
	N(p, n)->nr_args = nr;
	ALLOC_GROW(r->args, r->nr_args + nr, r->alloc_args);
	for (int i = 0; i < nr; i++)
		r->args[r->nr_args++] = items[i];
	(void)op_off;
	return next(p) ? -1 : n;
}

static int parse_pred(struct parser *p)
{
	int l = parse_arith(p, 0), op, r, n;
	size_t op_off = p->tok.off;

	if (l < 0)
		return -1;
	if ((op = cmp_op(p->tok.kind)) >= 0) {
		if (next(p) || (r = parse_arith(p, 0)) < 0)
			return -1;
		if (check_pair(p, l, r, op, op_off))
			return -1;
		n = binary(p, op, RULE_BOOL, l, r);
	} else if (name_is(p, &p->tok, "not")) {
		if (next(p))
			return -1;
		if (!name_is(p, &p->tok, "in"))
			return fail(p, op_off, "此处的“not”应写在条件之前，或写成“not in (…)”");
		if (next(p) || (n = parse_in(p, l, N_NOTIN, op_off)) < 0)
			return -1;
	} else if (name_is(p, &p->tok, "in")) {
		if (next(p) || (n = parse_in(p, l, N_IN, op_off)) < 0)
			return -1;
	} else if (name_is(p, &p->tok, "is")) {
		int neg = 0;
		if (next(p))
			return -1;
		if (name_is(p, &p->tok, "not")) {
			neg = 1;
			if (next(p))
				return -1;
		}
		if (!name_is(p, &p->tok, "null"))
			return fail(p, p->tok.off, "“is”后应为 null 或 not null");
		n = new_node(p, neg ? N_NOTNULL : N_ISNULL, RULE_BOOL, N(p, l)->off, p->tok.end);
		N(p, n)->a = l;
		if (next(p))
			return -1;
	} else if (name_is(p, &p->tok, "has")) {
		const struct node *x = N(p, l);
		long mask;
		int lit;
		if (x->type != RULE_SET)
			return fail(p, op_off,
				    "has 只能用于多选字段（如健康状况），“%.*s”是%s，请用 = 或 in",
				    SRC(p, l), type_names[x->type]);
		if (next(p))
			return -1;
		if (p->tok.kind != T_STR)
			return fail(p, p->tok.off, "has 后应为一个标签，如 '患有大病'");
		lit = parse_primary(p);
		if (lit < 0)
			return -1;
		x = N(p, l); /* the literal's node may have moved the node array */
		mask = resolve_label(p, lit, N(p, l)->codes,
				     x->op == N_FIELD || x->op == N_PARAM
					 ? (x->field->title ? x->field->title : x->field->name)
					 : N(p, l)->codes->title);
		if (mask < 0)
			return -1;
		if (mask & (mask - 1))
			return fail(p, N(p, lit)->off,
				    "has 一次只能判断一个标签，多个请用 or 连接");
		n = binary(p, N_HAS, RULE_BOOL, l, lit);
		N(p, n)->mask = mask;
	} else {
		return l;
	}
	if (cmp_op(p->tok.kind) >= 0 || name_is(p, &p->tok, "in") || name_is(p, &p->tok, "is") ||
	    name_is(p, &p->tok, "has"))
		return fail(p, p->tok.off, "比较不能连写，请用 and 连接两个条件");
	return n;
}

static int parse_not(struct parser *p)
{
	if (name_is(p, &p->tok, "not")) {
		size_t off = p->tok.off;
		int a, n;
		if (++p->nesting > MAX_DEPTH)
			return fail(p, off,
				    "表达式嵌套太深（最多 %d 层），请拆成几条规则或用 in (…)",
				    MAX_DEPTH);
		if (next(p) || (a = parse_not(p)) < 0)
			return -1;
		p->nesting--;
		if (want_type(p, a, RULE_BOOL, "not"))
			return -1;
		n = new_node(p, N_NOT, RULE_BOOL, off, N(p, a)->end);
		N(p, n)->a = a;
		return n;
	}
	return parse_pred(p);
}

static int parse_logic(struct parser *p, int level)
{
	const char *word = level ? "and" : "or";
	int l = level ? parse_not(p) : parse_logic(p, 1);
	if (l < 0)
		return -1;
	while (name_is(p, &p->tok, word)) {
		int r;
		if (next(p) || (r = level ? parse_not(p) : parse_logic(p, 1)) < 0)
			return -1;
		if (want_type(p, l, RULE_BOOL, word) || want_type(p, r, RULE_BOOL, word))
			return -1;
		l = binary(p, level ? N_AND : N_OR, RULE_BOOL, l, r);
	}
	return l;
}

static int parse_expr(struct parser *p)
{
	int n;
	if (++p->nesting > MAX_DEPTH) {
		fail(p, p->tok.off, "表达式嵌套太深（最多 %d 层），请拆成几条规则或用 in (…)",
		     MAX_DEPTH);
		return -1;
	}
	n = parse_logic(p, 0);
	p->nesting--;
	return n;
}

/* The depth of the tree under node n; with `minmax`, the most min()/max()
 * on one path down from it. */
static int depth(const struct rule *r, int n, int minmax)
{
	const struct node *x = &r->nodes[n];
	int d = x->a >= 0 ? depth(r, x->a, minmax) : 0;
	if (x->b >= 0) {
		int k = depth(r, x->b, minmax);
		if (k > d)
			d = k;
	}
	for (int i = 0; i < x->nr_args; i++) {
		int k = depth(r, r->args[x->args + i], minmax);
		if (k > d)
			d = k;
	}
	return d + (!minmax || x->op == N_MIN || x->op == N_MAX);
}

struct rule *rule_compile(const struct rule_catalog *cat, int scope, const char *expr,
			  struct rule_error *err)
{
	struct parser p;
	struct rule *r = xcalloc(1, sizeof(*r));
	int root;

	memset(err, 0, sizeof(*err));
	memset(&p, 0, sizeof(p));
	r->cat = cat;
	r->scope = scope == RULE_MEMBER ? RULE_MEMBER : RULE_HOUSEHOLD;
	r->src = xstrdup(expr ? expr : "");
	r->today = -1;
	for (int i = 0; i < cat->nr_fields; i++) {
		const struct rule_field *f = &cat->fields[i];
		if (f->scope != RULE_PARAM)
			continue;
		if (!f->sql || f->sql[0] != ':') {
			snprintf(err->msg, sizeof(err->msg),
				 "字段目录有误：参数“%s”没有 SQL 参数名（如 \":%s\"）", f->name,
				 f->name);
			err->column = 1;
			rule_free(r);
			return NULL;
		}
		if (!strcmp(f->name, "today") && f->type == RULE_DATE)
			r->today = i;
	}
	p.cat = cat;
	p.r = r;
	p.s = r->src;
	p.len = strlen(r->src);
	p.err = err;

	if (p.len > MAX_EXPR_BYTES) {
		fail(&p, 0, "表达式太长（最多 %d 字节）", MAX_EXPR_BYTES);
		goto fail;
	}
	/* names, strings and messages quoting them must all be valid UTF-8 */
	for (size_t i = 0; i < p.len;) {
		int clen;
		if (decode(p.s + i, p.len - i, &clen) < 0) {
			fail(&p, i, "表达式不是有效的 UTF-8 文本");
			goto fail;
		}
		i += clen;
	}
	if (next(&p))
		goto fail;
	if (p.tok.kind == T_EOF) {
		fail(&p, 0, "表达式为空");
		goto fail;
	}
	root = parse_expr(&p);
	if (root < 0)
		goto fail;
	if (p.tok.kind == T_RP) {
		fail(&p, p.tok.off, "多余的右括号");
		goto fail;
	}
	if (p.tok.kind != T_EOF) {
		fail(&p, p.tok.off, "此处应为运算符（and、or、=、+ …）或表达式结束，却是“%.*s”",
		     (int)(p.tok.end - p.tok.off), p.s + p.tok.off);
		goto fail;
	}
	if (r->nodes[root].type != RULE_BOOL) {
		fail(&p, 0, "规则应为条件（结果为真/假），而整个表达式的结果是%s",
		     type_names[r->nodes[root].type]);
		goto fail;
	}
	if (depth(r, root, 0) > MAX_DEPTH) {
		fail(&p, 0, "表达式嵌套太深（最多 %d 层），请拆成几条规则或用 in (…)", MAX_DEPTH);
		goto fail;
	}
	r->root = root;
	{
		char msg[sizeof(err->msg) - 64];
		if (!rule_sql_fits(r, msg, sizeof(msg))) {
			fail(&p, 0, "%s", msg);
			goto fail;
		}
	}
	free(p.tok.str);
	return r;
fail:
	free(p.tok.str);
	rule_free(r);
	return NULL;
}

void rule_free(struct rule *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nr_strs; i++)
		free(r->strs[i]);
	for (int i = 0; i < r->nr_slots; i++)
		free(r->slots[i].label);
	free(r->strs);
	free(r->slots);
	free(r->nodes);
	free(r->args);
	free(r->src);
	free(r);
}

int rule_scope(const struct rule *r)
{
	return r->scope;
}

int rule_nr_values(const struct rule *r)
{
	return r->nr_slots;
}

const char *rule_value_label(const struct rule *r, int i)
{
	return r->slots[i].label;
}

int rule_value_type(const struct rule *r, int i)
{
	return r->slots[i].type;
}
