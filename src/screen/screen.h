/* screen.h — the screen module: department data feeds (部门数据) matched to
 * the registry by 身份证号, the rules on feeds that raise alerts, and the
 * data-quality check catalogue (数据比对 / 疑点).  One public header for the
 * module; the feed part and the check part keep their own sections. */
#ifndef LIUBAO_SCREEN_H
#define LIUBAO_SCREEN_H

#include "db/db.h"
#include "http/http.h"

/* ---- department feeds (feed.c, feed_api.c) ------------------------------ */

/* ---- data-quality checks (check.c, check_api.c) -------------------------- */

#endif
