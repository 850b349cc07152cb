"""test_pages.py — the server-rendered pages (routes flagged html in `liubao
routes`: the village cadre's /v/… pages and POST /logout) over HTTP with a
browser's cookie session: a permission × scope matrix over every page route
(refusals are pages in Chinese, a caller who is not signed in is sent to the
login page), CSRF tokens in form fields, Post/Redirect/Get with the values
typed kept on a refusal, nothing written by a refused form, escaping of
stored and reflected text, masked and audited full 身份证号, the search terms
(name, pinyin initials, 户编号, last digits of the 身份证号) within scope, the
task list's lights, and the security headers every page carries."""
import json
import re
import urllib.parse

from lib import (Server, cli, eq, execute, id_number, new_db, query, run_tests, snapshot,
                 tmp_path)

TOWNSHIP = "610926102"          # 老县镇
VILLAGE = "610926102001"        # the clerk's village
OTHER = "610926100001"          # a village of another township
CJK = re.compile(r"[\u4e00-\u9fff]")
PW = Server.PASSWORD
XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"

_seq = iter(range(1, 10**6))


class Ctx:
    pass


C = None


def ctx():
    """One server for the file: households in and out of the clerk's scope and
    a cookie session per role."""
    global C
    if C:
        return C
    c = Ctx()
    c.db = new_db("pages.db")
    c.s = Server(c.db)
    c.ids = [id_number("612427", "19800102", 123), id_number("612427", "19750505", 432),
             id_number("612427", "19650606", 111), id_number("612427", "19900909", 222)]
    c.hh = make_household(c, VILLAGE, "张三丰", c.ids[0])
    c.hh2 = make_household(c, VILLAGE, "曾小明", c.ids[1])
    c.out = make_household(c, OTHER, "王外村", c.ids[2])
    c.xss = make_household(c, VILLAGE, "李" + XSS[:20], c.ids[3], address=XSS)
    # a 医保 list naming 张三丰, 曾小明 and 王外村 (25,000 元 self-paid each,
    # over the 20,000 元 line for people not 脱贫): a department warning each
    claims = "身份证号,姓名,入院日期,出院日期,医疗机构,总费用,个人自付\n" + "".join(
        "%s,%s,2026-01-03,2026-01-20,平利县医院,40000,25000\n" % (idn, name)
        for idn, name in ((c.ids[0], "张三丰"), (c.ids[1], "曾小明"), (c.ids[2], "王外村")))
    path = tmp_path("pages-claims.csv")
    with open(path, "w") as f:
        f.write(claims)
    cli("feed", "load", "yibao_inpatient", path, "--period", "2026-01", "--db", c.db)
    c.hits = {hh: hit for hh, hit in query(
        c.db, "SELECT household_id, min(id) FROM feed_hit GROUP BY household_id")}
    for h in (c.hh, c.hh2, c.out):
        assert h["id"] in c.hits, ("no warning for", h["hh_no"], c.hits)
    c.sessions = {}
    for login, role, scope in (("clerk", "village_clerk", VILLAGE),
                               ("town", "township_reviewer", TOWNSHIP),
                               ("county", "county_approver", "610926"),
                               ("dept", "dept_user", "610926"),
                               ("leader", "leader", "610926")):
        c.s.make_user(login, role, scope)
        c.sessions[role] = cookie_login(c, login)
    C = c
    return c


def make_household(c, village, head, idn, address="老县镇1组"):
    body = {"hh_no": "P%06d" % next(_seq), "village_code": village, "address": address,
            "phone": "13912345678", "hh_type": "一般农户", "relocated": False,
            "members": [{"name": head, "relation": "户主", "id_number": idn,
                         "phone": "13800001111"}]}
    st, b, _ = c.s.post("/api/v1/households", body)
    assert st == 201, (st, b)
    return b


class Session:
    def __init__(self, cookie, csrf):
        self.cookie, self.csrf = cookie, csrf


def cookie_login(c, login):
    st, b, h = c.s.request("POST", "/api/v1/login", {"login": login, "password": PW}, auth=False)
    assert st == 200, (st, b)
    cookie = h["set-cookie"].split(";")[0]
    return Session(cookie, b["csrf_token"])


def page(c, sess, method, path, form=None, csrf=True, headers=None):
    """A browser request: the session cookie, a urlencoded form with the CSRF
    field (unless csrf is False).  Returns (status, text, headers)."""
    h = dict(headers or {})
    if sess:
        h["Cookie"] = sess.cookie
    body = None
    if form is not None:
        pairs = list(form.items()) if isinstance(form, dict) else list(form)
        if csrf and sess:
            pairs.append(("csrf", sess.csrf))
        body = urllib.parse.urlencode(pairs)
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return c.s.request(method, path, body, headers=h, auth=False)


def is_page(text, hdrs, what):
    assert hdrs.get("content-type", "").startswith("text/html"), (what, hdrs)
    assert text.startswith("<!doctype html>"), (what, text[:200])
    assert hdrs.get("cache-control") == "no-store", (what, hdrs.get("cache-control"))
    assert "script-src 'self'" in hdrs.get("content-security-policy", ""), what
    assert "<script>" not in text, what  # no inline script, ever


def error_page(st, text, hdrs, status, what):
    assert st == status, (what, st, text[:300])
    is_page(text, hdrs, what)
    m = re.search(r'<p class="msg error" role="alert">([^<]*)</p>', text)
    assert m and CJK.search(m.group(1)), (what, text[:500])


def routes():
    p = cli("routes", check=0)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def today(c):
    st, text, _ = page(c, c.sessions["village_clerk"], "GET",
                       "/v/households/%d/visit" % c.hh["id"])
    return re.search(r'max="(\d{4}-\d\d-\d\d)"', text).group(1)


# ---- the matrix -------------------------------------------------------------------------

READERS = {"village_clerk", "township_reviewer", "county_approver", "dept_user"}
WRITERS = {"village_clerk", "township_reviewer"}
ROLES = ["village_clerk", "township_reviewer", "county_approver", "dept_user", "leader"]
NARROW = {"village_clerk", "township_reviewer"}  # their scope leaves out OTHER

# (method, pattern) -> (roles allowed, status when allowed, has an out-of-scope variant)
MATRIX = {
    ("GET", "/v/"): (READERS, 200, False),
    ("GET", "/v/search"): (READERS, 200, False),
    ("GET", "/v/households/:id"): (READERS, 200, True),
    ("GET", "/v/households/:id/visit"): (WRITERS, 200, True),
    ("POST", "/v/households/:id/visit"): (WRITERS, 303, True),
    ("GET", "/v/households/:id/report"): (WRITERS, 200, True),
    ("POST", "/v/households/:id/report"): (WRITERS, 303, True),
    ("GET", "/v/households/:id/feed-hits/:hit"): (WRITERS, 200, True),
    ("POST", "/v/households/:id/feed-hits/:hit"): (WRITERS, 303, True),
    ("POST", "/logout"): (set(ROLES), 303, False),
    ("POST", "/login"): ("public", 303, False),
}

FORMS = {
    "/visit": lambda c: {"visit_date": today(c), "note": "矩阵测试走访"},
    "/report": lambda c: {"reason": "矩阵测试申报"},
}


def build(c, key, where):
    method, pattern = key
    hh = c.hh if where == "in" else c.out
    path = pattern.replace(":id", str(hh["id"])).replace(":hit", str(c.hits[hh["id"]]))
    form = None
    if method == "POST":
        form = {}
        for suffix, f in FORMS.items():
            if path.endswith(suffix):
                form = f(c)
        if "/feed-hits/" in path:
            form = {"state": "已核实-无风险", "note": "矩阵测试核实"}
    return method, path, form


def test_every_page_route_is_in_the_matrix():
    html = {(r["method"], r["pattern"]) for r in routes() if r["html"]}
    eq(sorted(html), sorted(MATRIX), "html routes")
    for r in routes():
        if r["html"]:
            eq(r["public"], MATRIX[(r["method"], r["pattern"])][0] == "public", r["pattern"])
            assert not r["json"], r


def test_page_matrix_roles_scope_and_sign_in():
    c = ctx()
    problems = []
    for key, (allowed, ok_status, has_out) in MATRIX.items():
        if key in (("POST", "/logout"), ("POST", "/login")):
            continue  # test_logout_form, test_login_form_without_javascript
        for where in ("in", "out") if has_out else ("in",):
            method, path, form = build(c, key, where)
            # not signed in: the login page, coming back here afterwards
            st, text, h = page(c, None, method, path, form)
            if st != 303 or not h.get("location", "").startswith("/login.html?next="):
                problems.append("%s %s without a session: %s %s" % (method, path, st,
                                                                     h.get("location")))
            elif method == "GET":
                nxt = urllib.parse.unquote(h["location"].split("next=", 1)[1])
                if nxt != path:
                    problems.append("%s next=%s" % (path, nxt))
            for role in ROLES:
                before = snapshot(c.db) if method == "POST" else None
                st, text, h = page(c, c.sessions[role], method, path, form)
                want = ok_status if role in allowed else 403
                if role in allowed and where == "out" and role in NARROW:
                    want = 404
                what = "%s %s as %s (%s)" % (method, path, role, where)
                if st != want:
                    problems.append("%s: %s, want %s: %s" % (what, st, want, text[:200]))
                    continue
                if st >= 400:
                    try:
                        error_page(st, text, h, want, what)
                    except AssertionError as e:
                        problems.append(str(e))
                    if where == "out" and (c.out["hh_no"] in text or "王外村" in text):
                        problems.append("%s: out-of-scope data in the page" % what)
                    if before is not None and snapshot(c.db) != before:
                        problems.append("%s: refused but changed the database" % what)
                elif st == 200:
                    try:
                        is_page(text, h, what)
                    except AssertionError as e:
                        problems.append(str(e))
    assert not problems, "\n".join(problems)


def test_not_found_pages_are_chinese_pages():
    c = ctx()
    s = c.sessions["village_clerk"]
    for path in ("/v/nothing", "/v/households/abc", "/v/households/0",
                 "/v/households/99999999", "/v/households/%d/nothing" % c.hh["id"],
                 "/no-such-page.html"):
        st, text, h = page(c, s, "GET", path)
        error_page(st, text, h, 404, path)
    # a JSON client still gets the error envelope under /api/
    st, b, _ = page(c, s, "GET", "/api/v1/nothing")
    assert st == 404 and b["error"]["code"] == "E_NOT_FOUND", (st, b)
    st, text, h = page(c, s, "DELETE", "/v/")
    error_page(st, text, h, 405, "DELETE /v/")


def test_unknown_parameters_and_fields_are_refused():
    c = ctx()
    s = c.sessions["village_clerk"]
    for path in ("/v/?x=1", "/v/search?q=a&bogus=1", "/v/households/%d?x=1" % c.hh["id"]):
        st, text, h = page(c, s, "GET", path)
        error_page(st, text, h, 400, path)
    st, text, h = page(c, s, "GET", "/v/search?after=abc")
    error_page(st, text, h, 400, "bad cursor")
    before = snapshot(c.db)
    st, text, h = page(c, s, "POST", "/v/households/%d/visit" % c.hh["id"],
                       {"visit_date": today(c), "note": "x", "extra": "1"})
    error_page(st, text, h, 400, "unknown field")
    assert "extra" in text
    # a JSON body is not a form
    st, text, h = page(c, s, "POST", "/v/households/%d/visit" % c.hh["id"], None,
                       headers={"Content-Type": "application/json"})
    error_page(st, text, h, 415, "json body")
    eq(snapshot(c.db), before, "refused forms wrote nothing")


# ---- CSRF -----------------------------------------------------------------------------------

def test_csrf_token_in_the_form_field():
    c = ctx()
    s = c.sessions["village_clerk"]
    path = "/v/households/%d/visit" % c.hh["id"]
    form = {"visit_date": today(c), "note": "CSRF 测试"}
    before = snapshot(c.db)
    for what, pairs in (("no token", list(form.items())),
                        ("wrong token", list(form.items()) + [("csrf", "x" * 43)]),
                        ("empty token", list(form.items()) + [("csrf", "")]),
                        ("another session's token",
                         list(form.items()) + [("csrf", c.sessions["township_reviewer"].csrf)])):
        st, text, h = page(c, s, "POST", path, pairs, csrf=False)
        error_page(st, text, h, 403, what)
        assert "CSRF" in text, what
    eq(snapshot(c.db), before, "refused without a valid token")
    # the form the page serves carries the session's token
    st, text, _ = page(c, s, "GET", path)
    token = re.search(r'name="csrf" value="([^"]+)"', text).group(1)
    eq(token, s.csrf, "token in the form")
    # the header works too (a script posting the form)
    st, text, h = page(c, s, "POST", path, form, csrf=False, headers={"X-CSRF-Token": s.csrf})
    eq(st, 303, "header token")
    # and an API client with a bearer token needs none (no cookie to ride on)
    st, text, h = c.s.request("POST", path, urllib.parse.urlencode(form),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(st, 303, "bearer token")


def test_logout_form():
    c = ctx()
    s = cookie_login(c, "clerk")
    st, text, h = page(c, s, "POST", "/logout", {}, csrf=False)
    error_page(st, text, h, 403, "logout without token")
    st, text, h = page(c, s, "POST", "/logout", {})
    eq(st, 303, "logout")
    eq(h["location"], "/login.html", "to the login page")
    assert "Max-Age=0" in h.get("set-cookie", ""), h
    st, text, h = page(c, s, "GET", "/v/")
    eq(st, 303, "session ended")
    assert h["location"].startswith("/login.html?next="), h


def test_login_form_without_javascript():
    """login.html's form posts to /login when no script runs: the server signs
    in and redirects, or renders the login page again with the message."""
    c = ctx()
    form = {"login": "clerk", "password": "Wrong#Password1"}
    st, text, h = page(c, None, "POST", "/login", form)
    error_page(st, text, h, 401, "wrong password")
    assert "登录名或密码错误" in text and 'value="clerk"' in text
    assert "liubao_session" not in h.get("set-cookie", "")
    st, text, h = page(c, None, "POST", "/login", {"login": "", "password": ""})
    error_page(st, text, h, 422, "empty")
    st, text, h = page(c, None, "POST", "/login", {"login": "clerk", "password": PW, "x": "1"})
    error_page(st, text, h, 400, "unknown field")
    # signed in: to the 工作台, or to a safe ?next=
    for nxt, want in (("", "/v/"), ("/v/search?q=zsf", "/v/search?q=zsf"),
                      ("//evil.example/x", "/v/"), ("https://evil.example/", "/v/"),
                      ("/login.html", "/v/")):
        st, text, h = page(c, None, "POST", "/login", {"login": "clerk", "password": PW,
                                                       "next": nxt})
        eq((st, h.get("location")), (303, want), "next=%r" % nxt)
        cookie = h["set-cookie"].split(";")[0]
        assert "HttpOnly" in h["set-cookie"] and "SameSite=Strict" in h["set-cookie"]
    st, text, h = page(c, Session(cookie, ""), "GET", "/v/")
    eq(st, 200, "the new session works")
    # a leader reads no households: the home page
    st, text, h = page(c, None, "POST", "/login", {"login": "leader", "password": PW})
    eq((st, h.get("location")), (303, "/"), "leader")
    # a form posted from another site signs nobody in
    st, text, h = page(c, None, "POST", "/login", {"login": "clerk", "password": PW},
                       headers={"Sec-Fetch-Site": "cross-site"})
    error_page(st, text, h, 403, "cross-site login")
    assert "set-cookie" not in h
    # the login page's form names this route
    st, text, h = c.s.request("GET", "/login.html", auth=False)
    assert '<form id="login-form" class="card" method="post" action="/login"' in text


# ---- forms: PRG, values kept, nothing written on refusal, audit ----------------------------

def test_visit_form_keeps_values_and_redirects():
    c = ctx()
    s = c.sessions["village_clerk"]
    hid = c.hh["id"]
    path = "/v/households/%d/visit" % hid
    day = today(c)
    before = snapshot(c.db)
    for form, field, message in (
            ({"visit_date": "2099-01-01", "note": "入户<b>走访</b>"}, "visit_date", "不晚于今天"),
            ({"visit_date": "2026-02-30", "note": "入户走访"}, "visit_date", "不晚于今天"),
            ({"visit_date": day, "note": "   "}, "note", "请填写走访情况"),
            ({"visit_date": day, "note": "长" * 700}, "note", "过长"),
            ([("visit_date", day), ("note", "风险类型过多")] +
             [("risk_types", r) for r in ("因病", "因灾", "因残", "缺劳动力", "因学", "因意外事故")],
             "risk_types", "最多选 5 项"),
            ({"visit_date": day, "note": "坏风险类型", "risk_types": "因为<x>"}, "risk_types",
             "无效")):
        st, text, h = page(c, s, "POST", path, form)
        assert st == 422, (form, st, text[:300])
        is_page(text, h, "refused visit")
        assert message in text, (message, text[:800])
        # the field at fault is marked, and what was typed is still there (escaped)
        if field != "risk_types":
            assert re.search(r'name="%s"[^>]*aria-invalid="true"' % field, text), field
        pairs = form.items() if isinstance(form, dict) else form
        for k, v in pairs:
            if k == "note" and v.strip():
                assert v.replace("<", "&lt;").replace(">", "&gt;") in text, k
            if k == "risk_types" and "<" not in v:
                assert 'value="%s" checked' % v in text, v
    assert "<b>走访</b>" not in text
    eq(snapshot(c.db), before, "refused visits wrote nothing")
    # accepted: 303 back to the household, one visit, one audit row
    audit0 = query(c.db, "SELECT coalesce(max(id), 0) FROM audit_log")[0][0]
    st, text, h = page(c, s, "POST", path, [("visit_date", day), ("note", "入户走访\r\n收入稳定"),
                                            ("risk_found", "1"), ("risk_types", "因病")])
    eq(st, 303, "accepted")
    eq(h["location"], "/v/households/%d?saved=visit" % hid, "PRG location")
    rows = query(c.db, "SELECT note, risk_found, risk_types FROM visit WHERE household_id = ? "
                       "ORDER BY id DESC LIMIT 1", (hid,))
    eq(rows[0], ("入户走访\n收入稳定", 1, "1"), "visit row")
    audit = query(c.db, "SELECT action, target_type, login, status FROM audit_log WHERE id > ? "
                        "ORDER BY id", (audit0,))
    eq(audit, [("POST /v/households/:id/visit", "visit", "clerk", 303)], "one audit row")
    # a risk found raises a 线索 (干部走访)
    assert query(c.db, "SELECT count(*) FROM alert WHERE household_id = ? AND status = 'open'",
                 (hid,))[0][0] == 1
    st, text, h = page(c, s, "GET", h["location"])
    eq(st, 200, "household after PRG")
    assert "走访记录已保存" in text
    assert re.search(r'<span class="kind">走访</span> <span class="detail">%s 入户走访\n收入稳定'
                     % day, text), text[-1500:]


def test_report_form_files_a_self_report():
    c = ctx()
    s = c.sessions["township_reviewer"]
    hid = c.hh2["id"]
    path = "/v/households/%d/report" % hid
    before = snapshot(c.db)
    st, text, h = page(c, s, "POST", path, {"reason": "", "applied_on": today(c)})
    eq(st, 422, "empty reason")
    assert "请填写申报事由" in text
    st, text, h = page(c, s, "POST", path, {"reason": "突发重病", "applied_on": "2099-12-31"})
    eq(st, 422, "future date")
    assert 'value="2099-12-31"' in text and "突发重病" in text
    eq(snapshot(c.db), before, "nothing written")
    st, text, h = page(c, s, "POST", path, [("reason", "家中老人突发重病，医疗费用高"),
                                            ("applied_on", today(c)), ("risk_types", "因病")])
    eq(st, 303, "filed")
    eq(h["location"], "/v/households/%d?saved=report" % hid, "PRG")
    ev = query(c.db, "SELECT e.channel, e.explain FROM alert_evidence e JOIN alert a ON a.id = "
                     "e.alert_id WHERE a.household_id = ? ORDER BY e.id", (hid,))
    eq(ev[-1][0], 3, "channel 农户自主申报")
    assert "家中老人突发重病" in ev[-1][1]


# ---- escaping ------------------------------------------------------------------------------

def test_village_answers_a_department_warning():
    """The household page lists the department warnings pushed to it; a
    writer answers one on its own form (核实结果 and 核实情况): a refusal keeps
    what was typed and writes nothing, a warning of another household is not
    found, and the answer is stored with who gave it, audited, and shown to
    the department."""
    c = ctx()
    s = c.sessions["village_clerk"]
    hh, hit = c.hh2["id"], c.hits[c.hh2["id"]]
    st, text, _ = page(c, s, "GET", "/v/households/%d" % hh)
    eq(st, 200, "household page")
    assert "部门数据预警" in text and 'id="hit-%d"' % hit in text, text[-3000:]
    assert "医保·住院自付" in text and "核实期限" in text, text[-3000:]
    form_path = "/v/households/%d/feed-hits/%d" % (hh, hit)
    assert 'href="%s"' % form_path in text, "the answer link"
    # a reader who may not write sees the warning, not the link
    st, text, _ = page(c, c.sessions["county_approver"], "GET", "/v/households/%d" % hh)
    assert 'id="hit-%d"' % hit in text and form_path not in text, "no link for a reader"
    st, text, _ = page(c, s, "GET", form_path)
    eq(st, 200, "form")
    eq(len(re.findall(r'<input type="radio" name="state"', text)), 3, "three answers")
    assert 'name="csrf"' in text and 'data-validate="feedback"' in text
    before = snapshot(c.db)
    for form, status, message in (
            ({"note": "已入户"}, 422, "核实结果应为"),
            ({"state": "待核实", "note": "已入户"}, 422, "核实结果应为"),
            ({"state": "不属实", "note": "  \r\n "}, 422, "请填写核实情况"),
            ({"state": "不属实", "note": "x" * 2001}, 422, "请填写核实情况"),
            ({"state": "不属实", "note": "已入户", "bogus": "1"}, 400, "不认识的字段")):
        st, text, h = page(c, s, "POST", form_path, form)
        error_page(st, text, h, status, repr(form)[:60])
        assert message in text, (form, text[-2000:])
        if status == 422 and "x" * 10 not in form.get("note", ""):
            assert form["note"].strip() in text, "the note typed is kept"
    # a warning of another household, in scope or not, under this household's path
    for other in (c.hits[c.hh["id"]], c.hits[c.out["id"]], 999999):
        st, text, h = page(c, s, "POST", "/v/households/%d/feed-hits/%d" % (hh, other),
                           {"state": "不属实", "note": "x"})
        error_page(st, text, h, 404, "hit %d" % other)
    eq(snapshot(c.db), before, "refusals write nothing")
    st, text, h = page(c, s, "POST", form_path,
                       {"state": "已核实-纳入", "note": "入户核实：\r\n住院自付属实，纳入监测"})
    eq((st, h.get("location")), (303, "/v/households/%d?saved=feedback#hit-%d" % (hh, hit)),
       "Post/Redirect/Get")
    eq(query(c.db, "SELECT state, feedback, feedback_by FROM feed_hit WHERE id = ?", (hit,)),
       [("已核实-纳入", "入户核实：\n住院自付属实，纳入监测", "clerk")], "stored")
    eq(query(c.db, "SELECT count(*) FROM audit_log WHERE target_type = 'feed_hit' AND "
                   "target_id = ?", (hit,))[0][0], 1, "audited")
    st, text, _ = page(c, s, "GET", "/v/households/%d?saved=feedback" % hh)
    assert "核实结果已保存" in text and "纳入监测" in text and "已核实-纳入" in text, text[-3000:]
    assert form_path not in text, "answered: no link"
    # the department sees the answer
    st, lst, _ = c.s.get("/api/v1/feed-hits?household_id=%d" % hh)
    eq([(x["state"], x["light"], x["feedback_by"]) for x in lst["items"] if x["id"] == hit],
       [("已核实-纳入", "green", "clerk")], "the department's list")


def test_stored_and_reflected_text_is_escaped():
    c = ctx()
    s = c.sessions["village_clerk"]
    st, text, _ = page(c, s, "GET", "/v/households/%d" % c.xss["id"])
    eq(st, 200, "xss household")
    assert XSS not in text and "<img" not in text and "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img" in text
    st, text, _ = page(c, s, "GET", "/v/search?q=" + urllib.parse.quote("李<script>"))
    eq(st, 200, "search")
    assert "<script>" not in text and 'value="李&lt;script&gt;"' in text
    # the search that finds it lists the name escaped, in links built with %u
    st, text, _ = page(c, s, "GET", "/v/search?q=" + urllib.parse.quote("李"))
    assert "李&lt;script&gt;" in text and "<script>" not in text
    q = "a\"&<>'"
    st, text, _ = page(c, s, "GET", "/v/search?q=" + urllib.parse.quote(q))
    assert 'value="a&quot;&amp;&lt;&gt;&#39;"' in text, text[:2000]


# ---- search, scope, masking ------------------------------------------------------------------

def found(c, role, q):
    st, text, _ = page(c, c.sessions[role], "GET", "/v/search?q=" + urllib.parse.quote(q))
    assert st == 200, (q, st, text[:300])
    return sorted(int(x) for x in re.findall(r'href="/v/households/(\d+)"', text))


def test_search_terms_within_scope():
    c = ctx()
    a, b, out = c.hh["id"], c.hh2["id"], c.out["id"]
    ida, idb, ido = c.ids[0], c.ids[1], c.ids[2]
    cases = [("张三", [a]), ("张三丰", [a]), ("zsf", [a]), ("ZS", [a]), ("z", [a, b]),
             ("zxm", [b]),                      # 曾 read as a surname (z, not c)
             (ida[-4:], [a]), (ida[-6:], [a]), (ida[-4:].lower(), [a]), (ida, [a]),
             (c.hh["hh_no"], [a]), (idb[-4:], [b]), ("xyz", []), ("%", []), ("_", []),
             ("王外村", []), (ido[-4:], []), (c.out["hh_no"], [])]
    for q, want in cases:
        eq(found(c, "village_clerk", q), sorted(want), "clerk finds %r" % q)
    # a county user sees the other village too
    eq(found(c, "county_approver", "wwc"), [out], "county by initials")
    eq(found(c, "county_approver", ido[-5:]), [out], "county by ID tail")
    # short initials outside one village: a hint instead of thousands of names
    eq(found(c, "county_approver", "ww"), [], "two initials in a county")
    st, text, _ = page(c, c.sessions["county_approver"], "GET", "/v/search?q=ww")
    assert "请至少输入 3 个字母" in text, text[-1500:]
    # the JSON API's list runs the same search
    st, body, _ = c.s.get("/api/v1/households?q=zsf")
    eq([x["id"] for x in body["items"]], [a], "API by initials")
    # initials follow a change of name (kept on write)
    mid = c.hh["members"][0]["id"]
    st, body, _ = c.s.put("/api/v1/members/%d" % mid, {"name": "欧阳锋"})
    assert st == 200, body
    eq(found(c, "village_clerk", "oyf"), [a], "renamed")
    eq(found(c, "village_clerk", "zsf"), [], "old initials gone")
    st, body, _ = c.s.put("/api/v1/members/%d" % mid, {"name": "张三丰"})
    assert st == 200, body


def test_search_pages_and_empty_results():
    c = ctx()
    s = c.sessions["county_approver"]
    st, text, _ = page(c, s, "GET", "/v/search")
    eq(st, 200, "list all")
    assert "辖区内共 4 户" in text, text[:3000]
    st, text, _ = page(c, s, "GET", "/v/search?q=" + urllib.parse.quote("查无此人"))
    assert "没有找到与“查无此人”相符的户" in text
    st, text, _ = page(c, s, "GET", "/v/search?q=" + "x" * 65)
    eq(st, 400, "too long")


def test_masked_ids_and_audited_full_view():
    c = ctx()
    hid = c.hh["id"]
    s = c.sessions["village_clerk"]
    st, text, _ = page(c, s, "GET", "/v/households/%d" % hid)
    ida = c.ids[0]
    assert ida not in text and ida[:6] + "********" + ida[-4:] in text
    assert "13912345678" not in text and "139****5678" in text
    assert "显示完整号码" in text
    audit0 = query(c.db, "SELECT coalesce(max(id), 0) FROM audit_log")[0][0]
    st, text, _ = page(c, s, "GET", "/v/households/%d?show=full" % hid)
    eq(st, 200, "full")
    assert ida in text and "13912345678" in text
    eq(query(c.db, "SELECT action, target_type, target_id, detail FROM audit_log WHERE id > ?",
             (audit0,)),
       [("GET /v/households/:id", "household", hid, "查看完整身份证号和联系电话")], "audited")
    # a department user reads households but not full numbers
    st, text, h = page(c, c.sessions["dept_user"], "GET", "/v/households/%d?show=full" % hid)
    error_page(st, text, h, 403, "dept full")
    st, text, h = page(c, c.sessions["dept_user"], "GET", "/v/households/%d" % hid)
    assert "显示完整号码" not in text and "登记走访" not in text


# ---- tasks -----------------------------------------------------------------------------------

def test_task_list_lights():
    c = ctx()
    s = c.sessions["village_clerk"]
    hid = c.xss["id"]
    st, body, _ = c.s.post("/api/v1/households/%d/applications" % hid, {"reason": "任务测试"})
    assert st == 201, body
    alert = body["alert_id"]
    st, text, _ = page(c, s, "GET", "/v/")
    eq(st, 200, "home")
    item = re.search(r'<li class="task mine"><span class="light (\w+)">(\w+)</span> <a href="'
                     r'/v/households/%d">' % hid, text)
    assert item, text[-3000:]
    eq(item.groups(), ("green", "正常"), "a new 线索 is green")
    # raised long ago: overdue, listed first
    execute(c.db, "UPDATE alert SET first_at = '2020-01-02 08:00:00' WHERE id = ?", (alert,))
    st, text, _ = page(c, s, "GET", "/v/")
    first = re.search(r'<li class="task[^"]*"><span class="light (\w+)">\w+</span> <a href="'
                      r'/v/households/(\d+)">', text)
    eq(first.groups(), ("red", str(hid)), "overdue first")
    assert "期限 <time datetime=\"2020-01-07\">2020-01-07</time>" in text, text[-2000:]
    assert "超期 1" in text
    # out of scope: another village's 线索 is not listed
    st, body, _ = c.s.post("/api/v1/households/%d/applications" % c.out["id"], {"reason": "外村"})
    st, text, _ = page(c, s, "GET", "/v/")
    assert "/v/households/%d\"" % c.out["id"] not in text
    st, text, _ = page(c, c.sessions["county_approver"], "GET", "/v/")
    assert "/v/households/%d\"" % c.out["id"] in text


def teardown():
    if C:
        C.s.stop()


run_tests(globals())
