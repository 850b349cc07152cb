/* rules.h — the rule language (design.md "Rules are data", issue 5): a small
 * expression language over the named fields of a household and its members,
 * compiled once and then either evaluated on one household (a form being
 * saved) or turned into one SQL query that screens every household at once.
 * Both paths give the same answers and the same Chinese explanation.
 *
 * The language knows nothing about the registry: the caller supplies a
 * catalogue of fields (name, Chinese title, type, SQL expression) and, for
 * evaluation, a callback that reads a field's value.
 *
 * Grammar (keywords and function names are case-insensitive; precedence
 * from loosest to tightest, as in SQL):
 *
 *   expr    := or
 *   or      := and { OR and }
 *   and     := not { AND not }
 *   not     := NOT not | pred
 *   pred    := sum [ cmp sum | [NOT] IN '(' expr {',' expr} ')'
 *                  | IS [NOT] NULL | HAS string ]
 *   cmp     := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 *   sum     := product { ('+' | '-') product }
 *   product := unary { ('*' | '/') unary }
 *   unary   := '-' unary | primary
 *   primary := number | string | TRUE | FALSE | field | '$' param
 *            | func '(' [expr {',' expr}] ')'
 *            | agg '(' MEMBER ',' expr ')' | '(' expr ')'
 *   func    := age | months_since | years_between | coalesce | abs | min | max
 *   agg     := any | all | count | sum
 *
 * number: digits with an optional fraction (12, 8700, 0.5).  string: '…'
 * with '' for a quote.  field: the English name or the Chinese title from
 * the catalogue.  Full-width （ ） ， are accepted as ( ) ,.
 *
 * Types: a string literal compared with a date field must be 'YYYY-MM-DD';
 * compared with a code field it is a label ('户主'), resolved to its code
 * when the rule is compiled; a set field (健康状况) is tested with HAS.
 * Code fields compare with = != <> IN only.
 *
 * Semantics are SQL's, NULLs included: arithmetic or a comparison with NULL
 * is NULL; AND/OR/NOT use three-valued logic; x IN (…) is NULL when x is
 * NULL or when nothing matches and an item is NULL; a rule fires only when
 * its expression is TRUE.  Division always yields a real number and
 * division by zero is NULL.
 *   age(d)                whole years from date d to $today; age() on a
 *                         member reads the catalogue's age_field
 *   years_between(d1, d2) whole years from d1 to d2
 *   months_since(d)       whole months from d to $today
 *   coalesce(a, b, …)     the first non-NULL argument
 *   abs(x)                absolute value
 *   min(a, b), max(a, b)  the smaller/larger; NULL if either is NULL
 *   any(member, e)        TRUE if e is TRUE for some member, else FALSE
 *   all(member, e)        TRUE if e is TRUE for every member, else FALSE;
 *                         TRUE for a household without members
 *   count(member, e)      members for which e is TRUE (0 when none)
 *   sum(member, e)        total of e over members, NULLs skipped; 0 when
 *                         no member has a value
 * Aggregates never yield NULL.  Inside an aggregate, e sees the member's
 * fields and the household's; aggregates do not nest.
 *
 * Dates are text 'YYYY-MM-DD' in the database and in values; a date field
 * must hold that or NULL (an empty string is not a date).  Parameters
 * ($line, $today, $year) are declared in the catalogue with scope
 * RULE_PARAM, each naming its SQL parameter (":line"), and given values at
 * run time.  age() and months_since() need a date parameter named today.
 *
 * Numbers are binary floating point on both paths: the catalogue's SQL
 * should yield integers or DOUBLE PRECISION (not NUMERIC, which PostgreSQL
 * computes in decimal); sum() over fractional values may differ in the
 * last bit between the paths, as the order of addition may differ.
 *
 * Limits: an expression has at most 20,000 bytes, 100 levels of nesting
 * and 4 of min/max within min/max (SQL writes their operands twice), and
 * its SQL must fit in 1 MB and SQLite's parser (a stack of 100 entries,
 * which each level of SQL takes 1 to 8 of: some 14 levels of division or
 * 45 of minus signs).
 *
 * Everything here is reentrant: no global state; a compiled rule is
 * read-only after rule_compile() and may be shared between threads. */
#ifndef RULES_RULES_H
#define RULES_RULES_H

#include <stddef.h>

struct buf;
struct code_list;
struct rule_join;
struct db_stmt;

enum rule_scope {
	RULE_HOUSEHOLD = 1, /* a field of the household (or its income, …) */
	RULE_MEMBER = 2,    /* a field of one member */
	RULE_PARAM = 3,	    /* a run-time parameter, written $name */
};

enum rule_type {
	RULE_NUM = 1, /* number */
	RULE_TEXT,    /* text, compared bytewise */
	RULE_BOOL,    /* 是/否; in SQL an integer 0/1 (or NULL) */
	RULE_DATE,    /* text 'YYYY-MM-DD' */
	RULE_CODE,    /* an integer code of `codes`; expressions use labels */
	RULE_SET,     /* a bitmask of 1<<code of `codes` (健康状况) */
};

/* One field of the catalogue. */
struct rule_field {
	const char *name;  /* English id, e.g. "net_income_pc" ([A-Za-z_][A-Za-z0-9_]*) */
	const char *title; /* Chinese name, also accepted in expressions, e.g. "人均纯收入" */
	int scope;	   /* enum rule_scope */
	int type;	   /* enum rule_type */
	const char *sql;   /* SQL expression; household fields use the aliases of
			    * household_from, member fields the alias of member_from;
			    * for parameters the SQL parameter, e.g. ":line" (a string
			    * that lives as long as the catalogue: db binds by its address) */
	const struct code_list *codes; /* for RULE_CODE and RULE_SET */
	const char *unit; /* "元", "岁"… shown after numbers in explanations, or NULL */
};

/* What rules may refer to, and how to reach it in SQL.  Borrowed by every
 * rule compiled against it: it must outlive them. */
struct rule_catalog {
	const struct rule_field *fields;
	int nr_fields;
	const char *household_from;    /* FROM clause, e.g. "household h LEFT JOIN hh_income i
					* ON i.household_id = h.id AND i.year = :year"; it may
					* use the parameters' SQL names */
	const char *household_id;      /* e.g. "h.id" */
	const char *member_from;       /* e.g. "member m" */
	const char *member_link;       /* condition tying a member to the household,
					* e.g. "m.household_id = h.id" (index it) */
	const char *member_id;	       /* e.g. "m.id"; for member-scope rules */
	const char *age_field;	       /* name of the member date field age() reads
					* without an argument, e.g. "birth_date"; may be NULL */
	const struct rule_join *joins; /* optional joins after household_from, or NULL */
	int nr_joins;
	const char *member_household;  /* the member column naming its household, e.g.
					* "m.household_id", or NULL: lets rule_to_sql()
					* test any(member, e) as "household_id IN (SELECT
					* … WHERE e)" when every household is read */
};

/* An optional join of the catalogue: rule_to_sql() appends it only when the
 * rule's SQL uses its alias ("alias." after a non-identifier character), so a
 * rule pays only for the tables it reads.  Joins must not change the number
 * of household rows (LEFT JOIN on a unique key). */
struct rule_join {
	const char *alias; /* e.g. "inc" */
	const char *sql;   /* e.g. "LEFT JOIN income_summary inc ON inc.household_id = h.id
			    * AND inc.year = :year" */
};

/* A value: the field's type says which member holds it. */
struct rule_value {
	int null;	  /* 1 for NULL (then num and text are ignored) */
	double num;	  /* RULE_NUM; RULE_BOOL 0/1; RULE_CODE the code; RULE_SET the mask */
	const char *text; /* RULE_TEXT and RULE_DATE */
};

/* A parameter's value for one run. */
struct rule_param_value {
	const char *name; /* the catalogue name, without '$' */
	struct rule_value v;
};

/* A compile error: where and why. */
struct rule_error {
	size_t offset; /* byte offset into the expression */
	int column;    /* 1-based, in characters */
	char msg[512]; /* Chinese, e.g. "第 17 个字符处：缺少右括号" */
};

struct rule;

/* Compile `expr` against `cat`.  `scope` is RULE_HOUSEHOLD (the rule is
 * about a household; member fields appear only inside aggregates) or
 * RULE_MEMBER (the rule is about each member; its fields and the
 * household's are visible).  The expression must be a condition (TRUE /
 * FALSE).  Returns the rule (free with rule_free()), or NULL with `err`
 * filled in. */
struct rule *rule_compile(const struct rule_catalog *cat, int scope, const char *expr,
			  struct rule_error *err);
/* Free a compiled rule; NULL is allowed. */
void rule_free(struct rule *r);
/* The scope the rule was compiled for. */
int rule_scope(const struct rule *r);

/* The values that explain a hit ("explain slots"), in order of first
 * appearance in the expression: each field of the rule's own scope (and,
 * for member rules, of the household), each parameter and each aggregate,
 * once.  rule_value_label() is the slot's Chinese label (borrowed);
 * rule_value_type() its enum rule_type. */
int rule_nr_values(const struct rule *r);
const char *rule_value_label(const struct rule *r, int i);
int rule_value_type(const struct rule *r, int i);

/* How rule_eval() reads values.  get() stores field `f`'s value for the
 * household (member == -1) or for member `member` (0 … nr_members-1) into
 * `out` and returns 0, or -1 on failure.  Text must stay valid until
 * rule_eval() returns.  A RULE_BOOL value is num 0/1. */
struct rule_ctx {
	void *opaque;	/* passed to get() */
	int nr_members; /* members of the household */
	int (*get)(void *opaque, const struct rule_field *f, int member, struct rule_value *out);
	const struct rule_param_value *params; /* values of the parameters */
	int nr_params;
};

enum rule_truth { RULE_FALSE = 0, RULE_TRUE = 1, RULE_UNKNOWN = 2 };

/* The outcome of one evaluation.  Initialise with RULE_RESULT_INIT; each
 * rule_eval() reuses it; rule_result_release() frees it. */
struct rule_result {
	int truth;		   /* enum rule_truth; the rule fires on RULE_TRUE */
	int nr_values;		   /* rule_nr_values() */
	struct rule_value *values; /* the explain slots; text owned by the result */
	char **texts;		   /* owned copies of text values */
	int nr_texts, alloc_texts;
};
#define RULE_RESULT_INIT                                                                           \
	{                                                                                          \
		0, 0, NULL, NULL, 0, 0                                                             \
	}

/* Evaluate `r` on the household `ctx` describes (member must be -1), or for
 * a member rule on member `member` of it.  Fills `res` (truth and every
 * explain slot, even when the rule does not fire).  Returns 0, or -1 when
 * get() failed or a parameter is missing (reported with error()). */
int rule_eval(const struct rule *r, const struct rule_ctx *ctx, int member,
	      struct rule_result *res);
void rule_result_release(struct rule_result *res);
/* The truth of `r` on the household or member `ctx` describes, as
 * rule_eval() finds it, without filling explain slots or allocating
 * anything, and stopping at the operand of AND / OR, the item of IN or
 * the member of any() / all() that decides: for a first pass over many records,
 * rule_eval() then explains the hits.  Returns enum rule_truth, or -1 when
 * get() failed or a parameter is missing (reported with error()); a value
 * that was not needed is not read. */
int rule_test(const struct rule *r, const struct rule_ctx *ctx, int member);

/* Append to `sql` one SELECT that finds every hit of `r`:
 *   SELECT <household_id>, [<member_id>,] <one column per explain slot>
 *   FROM <household_from> [JOIN <member_from> ON <member_link>]
 *   WHERE <condition> [AND (<extra_where>)]
 * in no particular order (an ORDER BY costs SQLite a sort even when it
 * scans in that order).  `extra_where` (may be NULL) is caller SQL, e.g. a
 * region condition.
 * The SQL runs on SQLite >= 3.40 and PostgreSQL 15 alike. */
void rule_to_sql(const struct rule *r, const char *extra_where, struct buf *sql);
/* Bind on `st` (prepared from `sql`, the text rule_to_sql() gave, perhaps
 * with more around it) each catalogue parameter whose SQL name `sql` uses
 * (in the expression, household_from or extra_where), taking its value
 * from `params`; whole numbers are bound as integers.  Returns 0, or -1
 * (with error()) when a value is missing.  Parameters of extra_where that
 * are not in the catalogue are the caller's to bind. */
int rule_sql_bind(const struct rule *r, const char *sql, struct db_stmt *st,
		  const struct rule_param_value *params, int nr_params);
/* The column of `st`'s current row where the explain slots start (1, or 2
 * for member rules), and the slots read into vals[rule_nr_values(r)];
 * text is borrowed until the next db_step(). */
int rule_sql_first_value(const struct rule *r);
void rule_sql_values(const struct rule *r, struct db_stmt *st, struct rule_value *vals);

/* Append the Chinese explanation of `vals` (a hit's slots, from rule_eval()
 * or rule_sql_values()) to `out`: "人均纯收入 5,230 元；监测线 8,700 元".
 * Numbers get thousands separators and at most 2 decimals, dates are shown
 * as written, codes by their labels, 是/否 for booleans, 空 for NULL. */
void rule_explain(const struct rule *r, const struct rule_value *vals, struct buf *out);
/* Append one value of type `type` formatted as rule_explain() does. */
void rule_format_value(int type, const struct code_list *codes, const char *unit,
		       const struct rule_value *v, struct buf *out);

#endif
