/* page.h — server-rendered HTML pages: the layout every page shares, error
 * pages, redirects and the CSRF form field.  Pages work without JavaScript;
 * scripts only enhance them (external files only: the CSP forbids inline
 * scripts and styles).  Write the page's own markup with html_addf()
 * (base/html.h) between page_begin() and page_end():
 *
 *	static void page_things(struct http_request *req, struct http_response *res)
 *	{
 *		struct buf *b = &res->body;
 *		page_begin(req, res, "事项", &(struct page_opts){ .nav = "/things" });
 *		html_addf(b, "<h1>事项</h1><p>%h</p>", name);
 *		page_end(req, res);
 *	}
 *
 * and declare the route with ROUTE_HTML (and ROUTE_FORM for a POSTed form):
 * the dispatcher then answers its refusals as pages (page_error()) and sends
 * a caller who is not signed in to the login page.  A form that changes data
 * POSTs to a ROUTE_WRITE | ROUTE_FORM | ROUTE_HTML route with
 * page_csrf_field() inside; on success the handler answers page_redirect()
 * (303, Post/Redirect/Get) and the dispatcher commits; when it refuses the
 * input it renders the form again with the values typed and a Chinese message
 * and answers >= 400, and the dispatcher rolls back.
 *
 * Every page is sent with Cache-Control: no-store (pages carry personal data). */
#ifndef HTTP_PAGE_H
#define HTTP_PAGE_H

#include "base/buf.h"
#include "http/http.h"

struct page_opts {
	int status;                 /* HTTP status, 0 = 200 */
	const char *nav;            /* href of the menu item to mark as current */
	const char *const *scripts; /* extra module scripts ("/static/x.js"), NULL-terminated */
	const char *const *styles;  /* extra stylesheets, NULL-terminated */
	const char *body_class;     /* class of <body>, may be NULL */
};

/* The main menu: an item shows when the caller holds `perm` (NULL = any
 * signed-in user).  Add a line to page_nav[] in page.c for a new page. */
struct page_nav_item {
	const char *href;  /* "/v/" */
	const char *label; /* "工作台" */
	const char *perm;  /* "household.read", or NULL */
	const char *roles; /* " township_reviewer county_approver ": only these roles, or NULL */
};
extern const struct page_nav_item page_nav[]; /* ends with href NULL */

/* Start an HTML answer in res: status, Content-Type text/html, no-store, the
 * <head> (title "TITLE · 六保", app.css, opts' styles and scripts) and the
 * header (menu by permission, the user's name, role and 辖区, a logout
 * button), then <main>.  opts may be NULL. */
void page_begin(struct http_request *req, struct http_response *res, const char *title,
		const struct page_opts *opts);
/* Close <main> and the document. */
void page_end(struct http_request *req, struct http_response *res);
/* Replace whatever res holds with an error page: status, a title for the
 * status (404 找不到页面, 403 无权访问…), `message` (Chinese) and a way back. */
void page_error(struct http_request *req, struct http_response *res, int status,
		const char *message);
/* Answer 303 See Other to `location` (a path on this site). */
void page_redirect(struct http_response *res, const char *location);
/* Answer 303 to `target` ("/login.html") with ?next= the requested path and
 * query (for a GET), so the user comes back after signing in. */
void page_redirect_next(struct http_request *req, struct http_response *res, const char *target);
/* Append the hidden form field carrying the session's CSRF token. */
void page_csrf_field(struct http_request *req, struct buf *b);
/* Answer a 400 page and return 1 if the query has a parameter not in
 * `allowed` (NULL-terminated); 0 otherwise. */
int page_refuse_unknown_params(struct http_request *req, struct http_response *res,
			       const char *const *allowed);

#endif
