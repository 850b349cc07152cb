/* node.h — the compiled form of a rule, shared by the files of src/rules
 * (parse.c builds it; eval.c, sql.c and explain.c read it).  Private to
 * src/rules: other modules use rules.h. */
#ifndef RULES_NODE_H
#define RULES_NODE_H

#include <stdint.h>

#include "rules/rules.h"

enum node_op {
	N_NUM,	 /* number literal: num, text = digits as written */
	N_STR,	 /* string literal: text (unescaped); type TEXT or DATE */
	N_BOOL,	 /* TRUE / FALSE: num */
	N_CODE,	 /* a label resolved to a code: num = code, text = label */
	N_FIELD, /* field */
	N_PARAM, /* $param: field (scope RULE_PARAM) */
	N_NEG,	 /* -a */
	N_ADD,
	N_SUB,
	N_MUL,
	N_DIV,
	N_EQ,
	N_NE,
	N_LT,
	N_LE,
	N_GT,
	N_GE,
	N_AND,
	N_OR,
	N_NOT,
	N_IN,
	N_NOTIN, /* a IN (args) */
	N_ISNULL,
	N_NOTNULL,
	N_HAS,	    /* a HAS label: mask = 1<<code */
	N_AGE,	    /* whole years from a to b (age(d): b = $today) */
	N_MONTHS,   /* whole months from a to b ($today) */
	N_COALESCE, /* args */
	N_ABS,
	N_MIN,
	N_MAX,
	N_ANY,
	N_ALL,
	N_COUNT,
	N_SUM, /* over members: a is the member expression */
};

struct node {
	int op;				/* enum node_op */
	int type;			/* enum rule_type of the result */
	const struct code_list *codes;	/* for RULE_CODE / RULE_SET results */
	int a, b;			/* operands (node indexes), -1 if absent */
	int args, nr_args;		/* N_IN, N_NOTIN, N_COALESCE: indexes into rule->args */
	double num;			/* literal value */
	const char *text;		/* literal text (owned by the rule) */
	int64_t mask;			/* N_HAS */
	const struct rule_field *field; /* N_FIELD, N_PARAM */
	int slot;			/* explain slot, or -1 */
	int in_member;	 /* 1 if evaluated per member (inside an aggregate or a member rule) */
	size_t off, end; /* source span in bytes */
};

/* One explain slot. */
struct rule_slot {
	int node; /* the node whose value it shows */
	int type; /* enum rule_type */
	const struct code_list *codes;
	const char *unit;
	char *label; /* Chinese label (owned) */
};

struct rule {
	const struct rule_catalog *cat;
	int scope;
	char *src; /* the expression as given */
	struct node *nodes;
	int nr_nodes, alloc_nodes;
	int *args;
	int nr_args, alloc_args;
	char **strs; /* owned strings the nodes point at */
	int nr_strs, alloc_strs;
	struct rule_slot *slots;
	int nr_slots, alloc_slots;
	int root;
	int today; /* catalogue index of the date parameter "today", or -1 */
};

/* The most SQL rule_to_sql() may write for a rule. */
enum { MAX_SQL_BYTES = 1 << 20 };

/* 1 if the rule's SQL stays within MAX_SQL_BYTES and SQLite's parser can
 * take its nesting; else 0 with a Chinese message in msg. */
int rule_sql_fits(const struct rule *r, char *msg, size_t size);

/* Whole years from date text a to b, as SQL computes them from
 * SUBSTR(…) pieces; 0 with *null set when either is NULL. */
double rules_years_between(const char *a, const char *b);
double rules_months_between(const char *a, const char *b);

#endif
