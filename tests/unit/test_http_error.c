/* test_http_error.c — the JSON error envelope every refusal uses:
 * {"error":{"code":"E_…","message":"…"}} (plus "details" when given), with
 * the status asked for, whatever the message holds. */
#include <jansson.h>

#include "base/buf.h"
#include "http/http.h"
#include "harness.h"

/* The reply's body parsed; NULL (and a failed check) if it is not JSON. */
static json_t *reply(struct http_response *res)
{
	json_t *j = json_loads(res->body.buf ? res->body.buf : "", 0, NULL);
	CHECK(j != NULL);
	return j;
}

TEST(http_error_envelope_shape)
{
	struct http_response res;
	json_t *j, *e;
	http_response_init(&res);
	http_reply_error(&res, 422, "E_VALIDATION", NULL, "字段“%s”的值 %d%% 无效：\"x\"\n", "sex", 50);
	CHECK_INT(res.status, 422);
	CHECK_STR(res.content_type, "application/json; charset=utf-8");
	j = reply(&res);
	if (j) {
		CHECK_INT(json_object_size(j), 1);
		e = json_object_get(j, "error");
		CHECK(json_is_object(e));
		CHECK_INT(json_object_size(e), 2);
		CHECK_STR(json_string_value(json_object_get(e, "code")), "E_VALIDATION");
		CHECK_STR(json_string_value(json_object_get(e, "message")),
			  "字段“sex”的值 50% 无效：\"x\"\n");
	}
	json_decref(j);
	http_response_release(&res);
}

TEST(http_error_envelope_details)
{
	struct http_response res;
	json_t *j;
	http_response_init(&res);
	http_reply_error(&res, 400, "E_UNKNOWN_FIELD", json_pack("{s:[s]}", "fields", "colour"),
			 "不认识的字段");
	CHECK_INT(res.status, 400);
	j = reply(&res);
	if (j)
		CHECK_STR(json_string_value(json_array_get(
				  json_object_get(json_object_get(json_object_get(j, "error"),
								  "details"), "fields"), 0)),
			  "colour");
	json_decref(j);
	http_response_release(&res);
}

TEST(http_error_envelope_keeps_status_for_bytes_not_utf8)
{
	struct http_response res;
	json_t *j;
	http_response_init(&res);
	/* a message quoting input cut inside a character, or raw GBK bytes */
	http_reply_error(&res, 404, "E_NOT_FOUND", NULL, "找不到户“%s”", "\xd5\xc5\xc8\xfd\xe5\xbc");
	CHECK_INT(res.status, 404);
	j = reply(&res);
	if (j) {
		json_t *e = json_object_get(j, "error");
		CHECK_STR(json_string_value(json_object_get(e, "code")), "E_NOT_FOUND");
		CHECK_STR(json_string_value(json_object_get(e, "message")), "找不到户“??????”");
	}
	json_decref(j);
	http_response_release(&res);
}
