/* roles.c — the roles and what each may do, as a table in code (tested as a
 * matrix over every route), plus region-scope prefixes and departments. */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "base/util.h"

/* Permissions.  Routes name one; handlers check PERM_ID_FULL themselves. */
#define P_HH_READ "household.read"   /* 户、成员：列表与详情（身份证号脱敏） */
#define P_HH_WRITE "household.write" /* 户、成员：新增、修改、删除 */
#define P_ID_FULL PERM_ID_FULL       /* 详情中查看完整身份证号和电话（留痕） */
#define P_EXPORT "export"            /* 导出名单（留痕） */
#define P_STATS "stats.read"         /* 汇总统计（不含个人信息） */
#define P_USERS "user.manage"        /* 管理本辖区用户 */
#define P_AUDIT "audit.read"         /* 查询、导出审计日志 */
#define P_CONFIG "monitor.config"    /* 维护监测规则、监测线、节假日，运行规则筛查 */
#define P_FEED "feed.load"           /* 上传本部门数据名单，查看导入批次报告 */

const char *const auth_permissions[] = { P_HH_READ, P_HH_WRITE, P_ID_FULL, P_EXPORT,
					 P_STATS,   P_USERS,    P_AUDIT,   P_CONFIG, P_FEED, NULL };

static const char *const village_clerk[] = { P_HH_READ, P_HH_WRITE, P_ID_FULL, P_EXPORT, P_STATS, NULL };
static const char *const township_reviewer[] = { P_HH_READ, P_HH_WRITE, P_ID_FULL, P_EXPORT, P_STATS, NULL };
static const char *const county_approver[] = { P_HH_READ, P_ID_FULL, P_EXPORT, P_STATS, NULL };
static const char *const dept_user[] = { P_HH_READ, P_STATS, P_FEED, NULL };
static const char *const leader[] = { P_STATS, NULL };
static const char *const admin[] = { P_HH_READ, P_HH_WRITE, P_ID_FULL, P_EXPORT, P_STATS, P_USERS, P_AUDIT, P_CONFIG, P_FEED, NULL };
static const char *const auditor[] = { P_STATS, P_AUDIT, NULL };

const struct role auth_roles[] = {
	{ "village_clerk", "村级信息员", village_clerk },
	{ "township_reviewer", "乡镇审核", township_reviewer },
	{ "county_approver", "县级审定", county_approver },
	{ "dept_user", "部门用户", dept_user },
	{ "leader", "领导", leader },
	{ "admin", "系统管理员", admin },
	{ "auditor", "审计员", auditor },
	{ NULL, NULL, NULL },
};

const char *const auth_departments[] = {
	"乡村振兴局", "医保局", "民政局", "教育局", "卫健局", "人社局", "住建局", "残联",
	"应急局", "生态环境局", "督查室", "公安局", "农业农村局", "水利局", "财政局",
	"乡镇人民政府", "村民委员会", NULL,
};

const struct role *auth_role_find(const char *name)
{
	for (const struct role *r = auth_roles; r->id; r++)
		if (!strcmp(r->id, name) || !strcmp(r->title, name))
			return r;
	return NULL;
}

const char *auth_role_title(const char *role)
{
	const struct role *r = auth_role_find(role);
	return r ? r->title : NULL;
}

int auth_role_permits(const char *role, const char *perm)
{
	const struct role *r = auth_role_find(role);
	if (!r)
		return 0;
	for (const char *const *p = r->perms; *p; p++)
		if (!strcmp(*p, perm))
			return 1;
	return 0;
}

int auth_permitted(const struct principal *p, const char *perm)
{
	return p && auth_role_permits(p->role, perm);
}

int auth_scope_prefix(const char *code, char out[13])
{
	size_t l = strlen(code);
	out[0] = '\0';
	if (!l)
		return 0;
	if ((l != 2 && l != 4 && l != 6 && l != 9 && l != 12) || strspn(code, "0123456789") != l)
		return -1;
	snprintf(out, 13, "%s", code);
	code_drop_zero_levels(out); /* 12 → 9 → 6 → 4 → 2 digits; "00" stays */
	return 0;
}
