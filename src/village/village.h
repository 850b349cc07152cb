/* village.h — the village cadre's (村级信息员) pages, server-rendered so
 * that they work on a cheap phone with JavaScript off: the 工作台 with the
 * task list, finding a household (name, pinyin initials, 户编号, last digits
 * of the 身份证号), the household page, and the 走访 and 风险报告 forms.
 * Every query is limited to the caller's region scope; data comes from the
 * registry and monitor modules' own functions. */
#ifndef VILLAGE_VILLAGE_H
#define VILLAGE_VILLAGE_H

#include "http/http.h"

/* The pages' routes (ROUTE_HTML), terminated by an entry with method NULL. */
extern const struct route village_routes[];

#endif
