/* page.c — the shared layout of server-rendered pages (see page.h): head,
 * header with the menu by permission, error pages and redirects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/html.h"
#include "base/util.h"
#include "http/page.h"

/* the office pages' menu (web/static/common.js NAV), with the search page */
const struct page_nav_item page_nav[] = {
	{ "/v/", "工作台", "household.read", NULL },
	{ "/v/search", "查找农户", "household.read", NULL },
	{ "/", "户籍查询", "household.read", NULL },
	{ "/dashboard.html", "领导驾驶舱", "stats.read", NULL },
	{ "/feeds.html", "部门数据", "feed.load", NULL },
	{ "/review.html", "待办审核", NULL, " township_reviewer county_approver " },
	{ "/county.html", "审定与公告", NULL, " county_approver " },
	{ "/import.html", "台账导入", "household.write", NULL },
	{ "/rules.html", "规则与监测线", "monitor.config", NULL },
	{ "/users.html", "用户管理", "user.manage", NULL },
	{ "/audit.html", "审计日志", "audit.read", NULL },
	{ "/password.html", "修改密码", NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

static int may(const struct principal *p, const struct page_nav_item *n)
{
	char role[64];
	if (n->roles) {
		if (!p)
			return 0;
		snprintf(role, sizeof(role), " %s ", p->role);
		return strstr(n->roles, role) != NULL;
	}
	return !n->perm || (p && http_hooks.permitted && http_hooks.permitted(p, n->perm));
}

void page_begin(struct http_request *req, struct http_response *res, const char *title,
		const struct page_opts *opts)
{
	static const struct page_opts none;
	const struct page_opts *o = opts ? opts : &none;
	const struct principal *p = req->principal;
	struct buf *b = &res->body;

	res->status = o->status ? o->status : 200;
	res->content_type = "text/html; charset=utf-8";
	buf_reset(b);
	http_add_header(res, "Cache-Control", "no-store");
	html_addf(b, "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		     "<title>%h · 六保</title>\n<link rel=\"stylesheet\" href=\"/static/app.css\">\n",
		  title);
	for (const char *const *s = o->styles; s && *s; s++)
		html_addf(b, "<link rel=\"stylesheet\" href=\"%a\">\n", *s);
	for (const char *const *s = o->scripts; s && *s; s++)
		html_addf(b, "<script type=\"module\" src=\"%a\"></script>\n", *s);
	html_addf(b, "</head>\n<body class=\"%a\">\n<a class=\"skip\" href=\"#main\">跳到正文</a>\n",
		  o->body_class ? o->body_class : "");
	if (p) {
		char scope[128] = "";
		const char *role = http_hooks.role_title ? http_hooks.role_title(p->role) : NULL;
		if (http_hooks.scope_name && req->db)
			http_hooks.scope_name(req->db, p->scope, scope, sizeof(scope));
		html_addf(b, "<header class=\"top\">\n<a class=\"brand\" href=\"/v/\">六保</a>\n"
			     "<nav aria-label=\"主菜单\">");
		for (const struct page_nav_item *n = page_nav; n->href; n++) {
			if (!may(p, n))
				continue;
			html_addf(b, "<a href=\"%a\"", n->href);
			if (o->nav && !strcmp(o->nav, n->href))
				html_raw(b, " aria-current=\"page\""); /* a literal */
			html_addf(b, ">%h</a>", n->label);
		}
		html_addf(b, "</nav>\n<p class=\"who\"><strong>%h</strong> %h%h%h</p>\n", p->name,
			  role ? role : p->role, scope[0] ? " · " : "", scope);
		html_addf(b, "<form method=\"post\" action=\"/logout\" class=\"logout\">");
		page_csrf_field(req, b);
		html_addf(b, "<button type=\"submit\" class=\"quiet\">退出登录</button></form>\n"
			     "</header>\n");
	}
	html_addf(b, "<main id=\"main\">\n");
}

void page_end(struct http_request *req, struct http_response *res)
{
	html_addf(&res->body, "</main>\n</body>\n</html>\n");
}

static const char *status_title(int status)
{
	switch (status) {
	case 400: return "请求有误";
	case 403: return "无权访问";
	case 404: return "找不到页面";
	case 405: return "不支持的操作";
	case 413: return "内容过大";
	case 415: return "请求格式有误";
	case 422: return "填写有误";
	case 503: return "系统繁忙";
	default: return status >= 500 ? "服务器出错" : "无法完成请求";
	}
}

void page_error(struct http_request *req, struct http_response *res, int status,
		const char *message)
{
	struct buf *b = &res->body;
	/* drop what the handler had set (a redirect's Location, say) */
	for (int i = 0; i < res->nr_headers; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	res->nr_headers = 0;
	page_begin(req, res, status_title(status), &(struct page_opts){ .status = status });
	html_addf(b, "<h1>%h</h1>\n<p class=\"msg error\" role=\"alert\">%h</p>\n<p>",
		  status_title(status), message);
	if (req->principal)
		html_addf(b, "<a href=\"/v/\">返回工作台</a>");
	else
		html_addf(b, "<a href=\"/login.html\">去登录</a>");
	html_addf(b, "</p>\n");
	page_end(req, res);
}

void page_redirect(struct http_response *res, const char *location)
{
	res->status = 303;
	res->content_type = "text/html; charset=utf-8";
	buf_reset(&res->body);
	http_add_header(res, "Location", location);
	html_addf(&res->body, "<!doctype html><title>…</title><a href=\"%a\">继续</a>\n", location);
}

void page_redirect_next(struct http_request *req, struct http_response *res, const char *target)
{
	struct buf loc = BUF_INIT, next = BUF_INIT;
	buf_addstr(&next, req->path);
	if (!strcmp(req->method, "GET") && req->nr_query) {
		for (int i = 0; i < req->nr_query; i++) {
			buf_addch(&next, i ? '&' : '?');
			html_url(&next, req->query[i].key);
			buf_addch(&next, '=');
			html_url(&next, req->query[i].value);
		}
	}
	buf_addf(&loc, "%s?next=", target);
	html_url(&loc, next.buf);
	page_redirect(res, loc.buf);
	buf_release(&loc);
	buf_release(&next);
}

void page_csrf_field(struct http_request *req, struct buf *b)
{
	html_addf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%a\">",
		  req->principal ? req->principal->csrf : "");
}

int page_refuse_unknown_params(struct http_request *req, struct http_response *res,
			       const char *const *allowed)
{
	for (int i = 0; i < req->nr_query; i++) {
		int ok = 0;
		for (int k = 0; allowed[k] && !ok; k++)
			ok = !strcmp(allowed[k], req->query[i].key);
		if (!ok) {
			char msg[160];
			snprintf(msg, sizeof(msg), "不认识查询参数“%.*s”",
				 utf8_cut(req->query[i].key, 64), req->query[i].key);
			page_error(req, res, 400, msg);
			return 1;
		}
	}
	return 0;
}
