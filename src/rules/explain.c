/* explain.c — rule_explain(): the Chinese sentence that tells a cadre why
 * a rule fired, from the explain slots of a hit, e.g.
 * "人均纯收入 5,230 元；监测线 8,700 元".  The same function formats the
 * values of both paths (rule_eval and the SQL screen), so the texts agree
 * whenever the values do. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "registry/codes.h"
#include "rules/node.h"

/* Append x with thousands separators and at most 2 decimals, trailing
 * zeros dropped: 5230 → "5,230", 1234.5 → "1,234.5", -0.004 → "0". */
static void add_number(struct buf *out, double x)
{
	char tmp[400];
	char *dot, *digits;
	size_t int_len, len;

	snprintf(tmp, sizeof(tmp), "%.2f", x);
	len = strlen(tmp);
	dot = strchr(tmp, '.');
	if (dot) {
		while (len > 0 && tmp[len - 1] == '0')
			tmp[--len] = '\0';
		if (tmp[len - 1] == '.')
			tmp[--len] = '\0';
	}
	if (!strcmp(tmp, "-0"))
		tmp[0] = '0', tmp[1] = '\0';
	digits = tmp;
	if (*digits == '-') {
		buf_addch(out, '-');
		digits++;
	}
	dot = strchr(digits, '.');
	int_len = dot ? (size_t)(dot - digits) : strlen(digits);
	for (size_t i = 0; i < int_len; i++) {
		if (i && (int_len - i) % 3 == 0)
			buf_addch(out, ',');
		buf_addch(out, digits[i]);
	}
	if (dot)
		buf_addstr(out, dot);
}

void rule_format_value(int type, const struct code_list *codes, const char *unit,
		       const struct rule_value *v, struct buf *out)
{
	if (v->null) {
		buf_addstr(out, "空");
		return;
	}
	switch (type) {
	case RULE_NUM:
		add_number(out, v->num);
		if (unit && *unit)
			buf_addf(out, " %s", unit);
		break;
	case RULE_TEXT:
	case RULE_DATE:
		buf_addstr(out, v->text ? v->text : "");
		break;
	case RULE_BOOL:
		buf_addstr(out, v->num != 0 ? "是" : "否");
		break;
	case RULE_CODE: {
		const char *label = codes ? codes_label(codes, (int)v->num) : NULL;
		if (label)
			buf_addstr(out, label);
		else
			buf_addf(out, "代码 %ld", (long)v->num);
		break;
	}
	case RULE_SET: {
		long mask = (long)v->num;
		int any = 0;
		for (int bit = 0; bit < 62; bit++) {
			const struct code_item *it;
			if (!(mask & (1L << bit)))
				continue;
			if (any++)
				buf_addstr(out, "、");
			it = codes ? codes_item(codes, bit) : NULL;
			if (it)
				buf_addstr(out, it->label);
			else
				buf_addf(out, "代码 %d", bit);
		}
		if (!any)
			buf_addstr(out, "无");
		break;
	}
	}
}

void rule_explain(const struct rule *r, const struct rule_value *vals, struct buf *out)
{
	for (int i = 0; i < r->nr_slots; i++) {
		const struct rule_slot *s = &r->slots[i];
		if (i)
			buf_addstr(out, "；");
		buf_addf(out, "%s ", s->label);
		rule_format_value(s->type, s->codes, s->unit, &vals[i], out);
	}
}
