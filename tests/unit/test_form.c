/* test_form.c — unit tests for the HTML-form side of http/dispatch.c: an
 * urlencoded body decoded into req->form (escapes, '+', repeated fields,
 * empty values), refused when malformed, and the unknown-field check that
 * always allows the CSRF field. */
#include "harness.h"
#include "http/http.h"

TEST(form_body_is_decoded)
{
	struct http_request req;
	static const char body[] = "visit_date=2026-03-05&note=%E5%85%A5%E6%88%B7+%E8%B5%B0%E8%AE%BF%0D%0A&"
				   "risk_types=%E5%9B%A0%E7%97%85&risk_types=%E5%9B%A0%E7%81%BE&empty=&flag&csrf=t";
	http_request_init(&req);
	CHECK_INT(http_parse_form(&req, body, sizeof(body) - 1), 0);
	CHECK_INT(req.nr_form, 7);
	CHECK_STR(http_form(&req, "visit_date"), "2026-03-05");
	CHECK_STR(http_form(&req, "note"), "入户 走访\r\n");
	CHECK_STR(http_form(&req, "risk_types"), "因病"); /* the first of repeated fields */
	CHECK_STR(req.form[3].value, "因灾");
	CHECK_STR(http_form(&req, "empty"), "");
	CHECK_STR(http_form(&req, "flag"), "");
	CHECK(http_form(&req, "missing") == NULL);
	{
		static const char *const allowed[] = { "visit_date", "note", "risk_types", "empty", NULL };
		static const char *const all[] = { "visit_date", "note", "risk_types", "empty", "flag", NULL };
		CHECK_STR(http_form_unknown(&req, allowed), "flag");
		CHECK(http_form_unknown(&req, all) == NULL); /* csrf is always allowed */
	}
	http_request_release(&req);
	CHECK_INT(req.nr_form, 0);
}

TEST(form_body_malformed_is_refused)
{
	static const char *const bad[] = { "a=%E5%85", "a=%ZZ", "a=%", "a=%FF", "%C0%AF=1", "a=%00" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_request req;
		http_request_init(&req);
		CHECK_INT(http_parse_form(&req, bad[i], strlen(bad[i])), -1);
		http_request_release(&req);
	}
	{
		/* a NUL byte inside the body itself */
		struct http_request req;
		http_request_init(&req);
		CHECK_INT(http_parse_form(&req, "a=1\0b=2", 7), -1);
		http_request_release(&req);
	}
}
