#!/usr/bin/env python3
"""test_auth.py — access control against the real server (issue 3): the
authorisation matrix over every route × role × (in scope / out of scope),
region scope in lists, counts, searches and details, masking of 身份证号 and
phones, injection and traversal strings in every parameter, brute-force
lockout, sessions (token shape, cookie flags, logout, idle and absolute
expiry, death on disable and on password change), forced change of initial
passwords, CSRF, security headers, the audit log, and user management over
the API and the command line.

One server over a 300-household demo district of 平利县 (610926) is shared by
the file.  Beside the Server's own county-level administrator ("tester") it
holds one user per role, all scoped to 老县镇 (610926102) except the village
clerk, who is scoped to a village of 老县镇 that has households.  "In scope"
targets lie in that village; "out of scope" ones in 城关镇 (610926100).
Tests that make logins fail use their own loopback source addresses
(127.0.0.x), so the shared 127.0.0.1 is never locked; session expiry runs on
a second server with short lifetimes.  Database access goes through lib's
helpers, so the file also runs with LIUBAO_TEST_PG (more slowly: PostgreSQL
has no cheap change counter, so every check compares snapshots)."""
import base64
import collections
import concurrent.futures
import csv
import datetime
import http.client
import io
import itertools
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (ACTIVITY_TABLES, DatabaseError, Server, cli, connect, execute,  # noqa: E402
                 id_number, is_pg, new_db, query, query_dicts, run_tests, snapshot, tables,
                 tmp_path)

COUNTY = "610926"                 # 平利县
TOWNSHIP = "610926102"            # 老县镇: the scope of the matrix users
TOWNSHIP12 = "610926102000"
OTHER = "610926100"               # 城关镇: out of scope for them
OTHER12 = "610926100000"
PW = Server.PASSWORD

ROLES = ["village_clerk", "township_reviewer", "county_approver", "dept_user", "leader", "admin",
         "auditor"]
TITLES = {"village_clerk": "村级信息员", "township_reviewer": "乡镇审核",
          "county_approver": "县级审定", "dept_user": "部门用户", "leader": "领导",
          "admin": "系统管理员", "auditor": "审计员"}
ALL = set(ROLES)
READERS = {"village_clerk", "township_reviewer", "county_approver", "dept_user", "admin"}
WRITERS = {"village_clerk", "township_reviewer", "admin"}
FULL_ID = {"village_clerk", "township_reviewer", "county_approver", "admin"}
CONFIG = {"admin"}
# what a whole county shares (rules, checks, feed definitions, the calendar,
# the monitoring settings) only an administrator of a county or above may
# change: the matrix's 系统管理员 is 老县镇's, and is refused
COUNTY_ONLY = (403, "E_FORBIDDEN")
FEED = {"dept_user", "admin"}
PUBLIC = "public"

CJK = re.compile("[\u4e00-\u9fff]")
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
FULL_IDN = re.compile(r"^\d{17}[\dX]$")

# the server's today is China's (UTC+8); visits may not be dated later
TODAY = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
PAST = (TODAY - datetime.timedelta(days=3)).isoformat()

# ---- HTTP ------------------------------------------------------------------------

Resp = collections.namedtuple("Resp", "status body headers raw")


def call(s, method, path, body=None, token=None, cookie=None, csrf=None, source=None,
         headers=None):
    """Send one request to server `s`: bearer `token` or session `cookie` (or
    neither), optional X-CSRF-Token, from loopback address `source`.  A body
    that is not bytes is sent as JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30,
                                      source_address=(source, 0) if source else None)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if cookie:
        h["Cookie"] = "liubao_session=" + cookie
    if csrf:
        h["X-CSRF-Token"] = csrf
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False).encode()
    if body is not None:
        # raw bytes that are not a JSON document are a file upload (CSV)
        csv_file = not body.lstrip()[:1] in (b"{", b"[", b"")
        h.setdefault("Content-Type", "text/csv" if csv_file else "application/json")
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    raw = r.read()
    hdrs = {}
    for k, v in r.getheaders():
        k = k.lower()
        hdrs[k] = hdrs[k] + "\n" + v if k in hdrs else v
    conn.close()
    if hdrs.get("content-type", "").startswith("application/json"):
        parsed = json.loads(raw.decode())
    else:
        parsed = raw.decode("utf-8", "replace")
    return Resp(r.status, parsed, hdrs, raw)


def show(r):
    b = r.body if isinstance(r.body, str) else json.dumps(r.body, ensure_ascii=False)
    return "%d %s" % (r.status, b[:300])


def error_problem(r, status, code=None):
    """None if `r` is the error envelope with `status` (and `code`), else why not."""
    if r.status != status:
        return "status %s, want %d" % (show(r), status)
    b = r.body
    if not isinstance(b, dict) or set(b) != {"error"}:
        return "not an error envelope: %s" % show(r)
    e = b["error"]
    if code and e.get("code") != code:
        return "code %s, want %s (%s)" % (e.get("code"), code, e.get("message"))
    if not isinstance(e.get("message"), str) or not CJK.search(e["message"]):
        return "message not Chinese: %s" % show(r)
    return None


def expect_error(r, status, code=None, what=""):
    p = error_problem(r, status, code)
    if p:
        raise AssertionError("%s: %s" % (what, p))
    return r.body["error"]


def expect(r, status, what=""):
    if r.status != status:
        raise AssertionError("%s: %s, want %d" % (what, show(r), status))
    return r.body


def login(s, login_name, password=PW, source=None):
    r = call(s, "POST", "/api/v1/login", {"login": login_name, "password": password},
             source=source)
    return expect(r, 200, "login %s" % login_name)


def q1(db, sql, args=()):
    rows = query(db, sql, args)
    return rows[0][0] if rows else None


def list_routes():
    """The JSON API's routes.  Server-rendered pages (html: true) answer
    refusals as pages and redirects, not error envelopes: tests/api/
    test_pages.py holds their matrix."""
    p = cli("routes", check=0)
    routes = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return [r for r in routes if not r.get("html")]


def audit_max(db):
    return q1(db, "SELECT coalesce(max(id), 0) FROM audit_log")


def audit_since(db, last):
    """Audit rows after id `last`, as dicts, oldest first (JSON values parsed)."""
    rows = query_dicts(db, "SELECT * FROM audit_log WHERE id > ? ORDER BY id", (last,))
    for r in rows:
        for k in ("old_value", "new_value"):
            r[k] = json.loads(r[k]) if r[k] else None
    return rows


class Watch:
    """Finds what a request changed in the data tables (those lib.snapshot
    compares), cheaply: triggers installed in the test's own database log
    every row inserted, updated or deleted (table zz_watch), so a diff reads
    only the log.  On SQLite the log holds the row's key, and the rows are
    re-read and compared with a cache of them as they were; on PostgreSQL it
    holds the old and new rows themselves (row_to_json).  sync() before a
    request, diff() after it."""

    def __init__(self, db):
        self.db = db
        self.pg = is_pg(db)
        self.con = connect(db)
        self.keys, self.cache = {}, {}
        data = sorted(t for t in tables(db) if t not in ACTIVITY_TABLES and t != "zz_watch")
        if self.pg:
            self.con.execute("CREATE TABLE IF NOT EXISTS zz_watch(id bigserial PRIMARY KEY, "
                             "tbl text NOT NULL, old text, new text)")
            self.con.execute(
                "CREATE OR REPLACE FUNCTION zz_watch_log() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO zz_watch(tbl, old, new) VALUES(TG_TABLE_NAME, CASE WHEN "
                "TG_OP <> 'INSERT' THEN row_to_json(OLD)::text END, CASE WHEN TG_OP <> 'DELETE' "
                "THEN row_to_json(NEW)::text END); RETURN NULL; END $$")
            for t in data:
                self.con.execute('DROP TRIGGER IF EXISTS zz_watch ON "%s"' % t)
                self.con.execute('CREATE TRIGGER zz_watch AFTER INSERT OR UPDATE OR DELETE ON '
                                 '"%s" FOR EACH ROW EXECUTE FUNCTION zz_watch_log()' % t)
        else:
            self.con.execute("CREATE TABLE IF NOT EXISTS zz_watch(id INTEGER PRIMARY KEY, "
                             "tbl TEXT NOT NULL, k TEXT NOT NULL)")
            for t in data:
                sql = q1(db, "SELECT sql FROM sqlite_master WHERE name = ?", (t,))
                info = self.con.execute('PRAGMA table_info("%s")' % t).fetchall()
                keys = (["rowid"] if "WITHOUT ROWID" not in sql.upper() else
                        [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]])
                self.keys[t] = keys
                for when, rows in (("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]),
                                   ("DELETE", ["OLD"])):
                    body = "".join("INSERT INTO zz_watch(tbl, k) VALUES('%s', json_array(%s));"
                                   % (t, ", ".join('%s."%s"' % (r, k) for k in keys))
                                   for r in rows)
                    self.con.execute('CREATE TRIGGER IF NOT EXISTS "zz_watch_%s_%s" AFTER %s '
                                     'ON "%s" BEGIN %s END' % (t, when, when, t, body))
                kc = ", ".join('"%s"' % k for k in keys)
                self.cache[t] = {tuple(r[:len(keys)]): tuple(r[len(keys):]) for r in
                                 self.con.execute('SELECT %s, * FROM "%s"' % (kc, t)).fetchall()}
        self.last = self.con.execute("SELECT coalesce(max(id), 0) FROM zz_watch").fetchone()[0]
        self.con.commit()

    def _fetch(self, t, key):
        where = " AND ".join('"%s" = ?' % k for k in self.keys[t])
        row = self.con.execute('SELECT * FROM "%s" WHERE %s' % (t, where), key).fetchone()
        return tuple(row) if row else None

    def diff(self):
        """{table: (rows removed, rows added)} since the last call."""
        cols = "old, new" if self.pg else "k"
        log = self.con.execute("SELECT id, tbl, %s FROM zz_watch WHERE id > ? ORDER BY id" % cols,
                               (self.last,)).fetchall()
        if not log:
            self.con.commit()
            return {}
        self.last = log[-1][0]
        d = {}
        if self.pg:
            images = {}
            for _, t, old, new in log:
                olds, news = images.setdefault(t, (set(), set()))
                if old:
                    olds.add(tuple(json.loads(old).values()))
                if new:
                    news.add(tuple(json.loads(new).values()))
            for t, (olds, news) in images.items():
                if olds != news:
                    d[t] = (olds - news, news - olds)
            self.con.commit()
            return d
        touched = {}
        for _, t, k in log:
            touched.setdefault(t, set()).add(tuple(json.loads(k)))
        for t, keys in touched.items():
            removed, added = set(), set()
            for key in keys:
                old, new = self.cache[t].get(key), self._fetch(t, key)
                if old != new:
                    if old is not None:
                        removed.add(old)
                    if new is not None:
                        added.add(new)
                if new is None:
                    self.cache[t].pop(key, None)
                else:
                    self.cache[t][key] = new
            if removed or added:
                d[t] = (removed, added)
        self.con.commit()
        return d

    sync = diff


# ---- the shared server, its users and fixtures ----------------------------------------

class User:
    def __init__(self, login_name, role, scope, token, uid):
        self.login, self.role, self.scope, self.token, self.id = login_name, role, scope, token, uid


class Ctx:
    pass


_ctx = None
_seq = itertools.count(1)
_hh = itertools.count(1)
_names = itertools.count(1)
_days = itertools.count(0)         # calendar days from 2031-01-01
_rules = itertools.count(1)


def C():
    """The shared server and fixtures (built on first use; a failed set-up
    is not retried by every later test)."""
    global _ctx
    if _ctx is None:
        _ctx = "failed"
        _ctx = _setup()
    if _ctx == "failed":
        raise AssertionError("the shared server could not be set up (see the first failure)")
    return _ctx


def quick_user(s, login_name, role, scope, department="乡村振兴局"):
    """A signed-in user with password PW; returns a bearer token.  Cheaper
    than Server.make_user (two argon2id hashings instead of four): the
    initial-password change is skipped by clearing the flag in the database
    — test_initial_password_must_be_changed covers that flow itself."""
    args = ["user", "add", login_name, "--name", "测试" + login_name, "--role", role,
            "--department", department, "--db", s.db, "--password-stdin"]
    if scope:
        args += ["--scope", scope]
    cli(*args, stdin=PW + "\n", check=0)
    execute(s.db, "UPDATE users SET must_change_password = 0 WHERE login = ?", (login_name,))
    return login(s, login_name)["token"]


def uid_of(db, login_name):
    return q1(db, "SELECT id FROM users WHERE login = ?", (login_name,))


def _setup():
    c = Ctx()
    c.db = new_db("auth.db", demo=300, seed=5)
    # small imports answer at once (200) even on a busy machine
    c.s = Server(c.db, env={"LIUBAO_IMPORT_WAIT_MS": "30000"})
    try:
        _setup_fixtures(c)
    except BaseException:
        c.s.stop()
        raise
    return c


def _setup_fixtures(c):
    c.village = q1(c.db, "SELECT village_code FROM household WHERE village_code LIKE ? GROUP BY "
                         "village_code ORDER BY count(*) DESC, village_code LIMIT 1",
                   (TOWNSHIP + "%",))
    c.other_village = q1(c.db, "SELECT village_code FROM household WHERE village_code LIKE ? "
                               "GROUP BY village_code ORDER BY count(*) DESC, village_code "
                               "LIMIT 1", (OTHER + "%",))
    assert c.village and c.other_village
    c.tester = User("tester", "admin", COUNTY, c.s.token, uid_of(c.db, "tester"))
    c.users = {}
    for role in ROLES:
        name = "m." + role.replace("_", "-")
        scope = c.village if role == "village_clerk" else TOWNSHIP
        dept = {"dept_user": "医保局", "village_clerk": "村民委员会"}.get(role, "乡村振兴局")
        tok = quick_user(c.s, name, role, scope, department=dept)
        c.users[role] = User(name, role, scope, tok, uid_of(c.db, name))
    c.out_clerk = quick_user(c.s, "fx.out-clerk", "village_clerk", c.other_village, "村民委员会")
    # pristine fixtures: refused requests aim at these, so they never change
    c.fx = make_family(c, c.village)
    c.fx_child = child_of(c.fx)
    c.out = make_family(c, c.other_village)
    c.out_child = child_of(c.out)
    c.in_user = api_user(c, c.tester, "fx.in-user", "village_clerk", c.village)
    c.out_user = api_user(c, c.tester, "fx.out-user", "village_clerk", c.other_village)
    c.measure_in = make_measure(c, c.fx["id"])
    c.measure_out = make_measure(c, c.out["id"])
    c.line_in = make_line(c, TOWNSHIP)
    c.line_out = make_line(c, OTHER)
    c.alert_in = make_alert(c)
    c.alert_out = make_alert(c, c.out)
    c.case1 = make_case(c)
    c.case2 = make_case(c, step=2)
    c.case_out = make_case(c, c.other_village, c.out_clerk)
    c.rule = make_rule(c)
    c.check = make_check(c)
    c.cal_date = make_cal_day(c)
    c.feed_batch_in, c.feed_batch_out, c.feed_hit_in, c.feed_hit_out = make_feed_fixtures(c)
    c.done_in = make_done_case(c)
    c.done_out = make_done_case(c, c.other_village)
    c.notice_in = make_notice(c, c.village)
    c.notice_out = make_notice(c, c.other_village)
    c.jobs = {}
    c.job_other = make_job(c, c.tester)
    c.ajobs = {}
    c.ajob_other = make_annotated_job(c, c.tester)
    c.spare = {}
    c.watch = Watch(c.db)


_feed_seq = itertools.count(1)


def feed_csv(c, fam=None):
    """A 应急·受灾 file naming the 户主 of `fam` (default the pristine in-scope
    household), different every call (the same file twice is refused)."""
    fam = fam or c.fx
    head = [m for m in fam["members"] if m["relation"] == "户主"][0]
    idn = q1(c.db, "SELECT id_number FROM member WHERE id = ?", (head["id"],))
    return ("身份证号,姓名,灾害类型,直接经济损失\n%s,%s,洪涝,%d\n" % (
        idn, head["name"], next(_feed_seq))).encode()


def make_feed_fixtures(c):
    """A batch loaded by the township's 医保 user and one by the county
    administrator, and a hit on the pristine household in and out of scope."""
    dept = c.users["dept_user"].token
    county = expect(call(c.s, "POST", "/api/v1/feeds/yingji_disaster/batches", feed_csv(c),
                         token=c.s.token), 201, "feed batch")
    township = expect(call(c.s, "POST", "/api/v1/feeds/yibao_inpatient/batches",
                        ("身份证号,姓名,个人自付\n%s,x,1\n" % q1(
                            c.db, "SELECT id_number FROM member WHERE household_id = ?",
                            (c.fx["id"],))).encode(), token=dept), 201, "feed batch")
    expect(call(c.s, "POST", "/api/v1/feeds/yingji_disaster/batches", feed_csv(c, c.out),
                token=c.s.token), 201, "feed batch")
    hit_in = q1(c.db, "SELECT id FROM feed_hit WHERE household_id = ?", (c.fx["id"],))
    hit_out = q1(c.db, "SELECT id FROM feed_hit WHERE household_id = ?", (c.out["id"],))
    # the township user's batch is in scope; the county's is not
    return township["batch_id"], county["batch_id"], hit_in, hit_out


def new_idn(c, sex, birth):
    """A valid 身份证号 not yet in the registry (17th digit odd for 男)."""
    while True:
        n = next(_seq)
        seq = n % 1000
        if (seq % 2 == 1) != (sex == "男"):
            continue
        b = "%04d%s" % (int(birth[:4]) - n // 1000, birth[4:])
        idn = id_number(COUNTY, b, seq)
        if not query(c.db, "SELECT 1 FROM member WHERE id_number = ?", (idn,)):
            return idn


def member_body(c, name, relation, sex, birth, **kw):
    d = {"name": name, "relation": relation, "id_number": new_idn(c, sex, birth)}
    d.update(kw)
    return d


def family_body(c, village):
    return {"hh_no": "AUTH%05d" % next(_hh), "village_code": village, "address": "测试地址1组",
            "phone": "13912345678", "hh_type": "一般农户", "relocated": False,
            "members": [member_body(c, "张建国", "户主", "男", "19700315",
                                    labor_skill="普通劳动力"),
                        member_body(c, "李秀兰", "配偶", "女", "19720820"),
                        member_body(c, "张小军", "之子", "男", "20010101")]}


def make_family(c, village=None):
    """A household with 户主, 配偶 and 之子, created by the county administrator."""
    r = call(c.s, "POST", "/api/v1/households", family_body(c, village or c.village),
             token=c.s.token)
    return expect(r, 201, "create fixture household")


def child_of(hh):
    return [m for m in hh["members"] if m["relation"] == "之子"][0]


def api_user(c, by, login_name, role, scope, **kw):
    body = {"login": login_name, "name": "用户" + login_name, "role": role, "scope_code": scope,
            "department": "乡村振兴局"}
    body.update(kw)
    r = call(c.s, "POST", "/api/v1/users", body, token=by.token)
    return expect(r, 201, "create user %s" % login_name)


def fresh_login():
    return "u%04d" % next(_names)


MEASURE = {"category": "产业帮扶", "item": "产业奖补", "start_date": "2025-01-01", "amount": 50000,
           "unit": "镇农业站", "person": "王干部", "evidence": "发放记录"}
INCOME = {"items": [{"item": "务工收入", "amount": 1500000, "note": "外出务工"}]}
SECURITY = {"housing_safe": True, "schooling_ok": True, "water_safe": True, "medical_ok": True}


def make_measure(c, hh):
    r = call(c.s, "POST", "/api/v1/households/%d/measures" % hh, MEASURE, token=c.s.token)
    return expect(r, 201, "create measure")["id"]


def line_body(c, region):
    """A new monitoring line of `region`, in a year it has none for yet."""
    used = {r[0] for r in query(c.db, "SELECT year FROM monitor_line WHERE region = ?",
                                (region,))}
    year = min(y for y in range(2000, 2101) if y not in used)
    return {"year": year, "region": region, "amount": 800000, "basis": "测试"}


def make_line(c, region):
    r = call(c.s, "POST", "/api/v1/monitor-lines", line_body(c, region), token=c.s.token)
    return expect(r, 201, "create monitoring line")["id"]


def cal_body():
    day = datetime.date(2031, 1, 1) + datetime.timedelta(days=next(_days))
    return {"date": day.isoformat(), "kind": "放假", "name": "测试假日"}


def make_cal_day(c):
    body = cal_body()
    expect(call(c.s, "POST", "/api/v1/calendar", body, token=c.s.token), 201, "calendar day")
    return body["date"]


def rule_body():
    return {"id": "TAUTH%03d" % next(_rules), "title": "测试规则", "kind": "check",
            "severity": "低", "scope": "household", "expression": "true", "enabled": False}


def make_rule(c):
    body = rule_body()
    expect(call(c.s, "POST", "/api/v1/rules", body, token=c.s.token), 201, "rule")
    return body["id"]


def check_body():
    return {"id": "TCHK%03d" % next(_rules), "group": "complete", "severity": "低",
            "scope": "household", "title": "测试检查", "expression": "true", "enabled": False}


def make_check(c):
    body = check_body()
    expect(call(c.s, "POST", "/api/v1/checks", body, token=c.s.token), 201, "check")
    return body["id"]


def make_alert(c, fam=None):
    """An open alert (a self-report) on a fresh household of the village, or on `fam`."""
    fam = fam or make_family(c)
    r = call(c.s, "POST", "/api/v1/households/%d/applications" % fam["id"],
             {"reason": "申请纳入监测"}, token=c.s.token)
    return expect(r, 201, "application")["alert_id"]


def make_case(c, village=None, clerk=None, step=1):
    """An identification case on a fresh household, at step 1 (入户核查, the
    village clerk's) or step 2 (信息比对, the township's)."""
    clerk = clerk or c.users["village_clerk"].token
    alert = make_alert(c, make_family(c, village or c.village))
    case = expect(call(c.s, "POST", "/api/v1/alerts/%d/case" % alert, token=clerk), 201,
                  "open case")["id"]
    if step == 2:
        expect(call(c.s, "POST", "/api/v1/cases/%d/advance" % case, {"note": "入户核查属实"},
                    token=clerk), 200, "advance case")
    return case


def import_csv(c, village):
    """A members ledger (CSV bytes) of one new household of two in `village`."""
    hh = "AUTH%05d" % next(_hh)
    rows = [(hh, village, "张建国", new_idn(c, "男", "19700315"), "户主"),
            (hh, village, "李秀兰", new_idn(c, "女", "19720820"), "配偶")]
    return ("户编号,行政区划代码,户类型,姓名,证件号码,与户主关系\n" +
            "".join("%s,%s,一般农户,%s,%s,%s\n" % r for r in rows)).encode()


def make_job(c, u):
    """An import job (a dry run) started by user `u`."""
    r = call(c.s, "POST", "/api/v1/imports?kind=members&dry_run=1", import_csv(c, c.village),
             token=u.token)
    # a busy machine may answer 202 (the job still running): the job is made either way
    return expect(r, 202 if r.status == 202 else 200, "import job")["id"]


def import_xlsx_bad(village):
    """A members workbook (.xlsx bytes, written by hand) of one household in
    `village` whose 身份证号 is wrong: refused, with an annotated copy."""
    import zipfile
    rows = [["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系"],
            ["AUTHX%05d" % next(_hh), village, "张建国", "610926197003151234", "户主"]]

    def cell(r, ci, v):
        return ('<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (chr(65 + ci), r, v))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxml'
             'formats.org/spreadsheetml/2006/main"><sheetData>' +
             "".join('<row r="%d">%s</row>' % (ri + 1, "".join(cell(ri + 1, ci, v)
                                                               for ci, v in enumerate(row)))
                     for ri, row in enumerate(rows)) + "</sheetData></worksheet>")
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="%s/package/'
        '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
        'formats-package.relationships+xml"/><Default Extension="xml" ContentType="application/'
        'xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
        'formats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
        'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>' % ns,
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="%s/package/'
        '2006/relationships"><Relationship Id="rId1" Type="%s/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>' % (ns, ns),
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="%s/'
        'spreadsheetml/2006/main" xmlns:r="%s/officeDocument/2006/relationships"><sheets>'
        '<sheet name="成员" sheetId="1" r:id="rId1"/></sheets></workbook>' % (ns, ns),
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships '
        'xmlns="%s/package/2006/relationships"><Relationship Id="rId1" Type="%s/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        % (ns, ns),
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


def make_annotated_job(c, u):
    """A finished import job of user `u` with an annotated workbook."""
    r = call(c.s, "POST", "/api/v1/imports?kind=members&dry_run=1", import_xlsx_bad(c.village),
             token=u.token)
    job = expect(r, 202 if r.status == 202 else 200, "xlsx import job")
    while job["status"] == "running":
        time.sleep(0.2)
        job = expect(call(c.s, "GET", "/api/v1/imports/%d" % job["id"], token=u.token), 200,
                     "import job")
    assert job["result"]["annotated_url"], job
    return job["id"]


def make_done_case(c, village=None):
    """A case approved at the county step (state done), inserted directly on
    a new household: the workflow leading there is test_cases.py's."""
    fam = make_family(c, village or c.village)
    con = connect(c.db)
    cid = con.execute("INSERT INTO monitor_case(household_id, kind, step, state, opened_at, "
                      "step_started, closed_at) VALUES(?, 1, 6, 'done', ?, ?, ?) RETURNING id",
                      (fam["id"], PAST, PAST, PAST)).fetchone()[0]
    con.commit()
    con.close()
    return cid


def make_notice(c, village):
    """A published 公告 of one done case of `village`, inserted directly."""
    case = make_done_case(c, village)
    hh = q1(c.db, "SELECT household_id FROM monitor_case WHERE id = ?", (case,))
    con = connect(c.db)
    nid = con.execute("INSERT INTO case_notice(kind, township, year, batch, title, published_on, "
                      "published_by, created_at) VALUES(1, ?, 2026, ?, '测试公告', ?, 'fixture', ?) "
                      "RETURNING id", (village[:9], case, PAST, PAST)).fetchone()[0]
    con.execute("INSERT INTO case_notice_item(notice_id, case_id, household_id) VALUES(?, ?, ?)",
                (nid, case, hh))
    con.commit()
    con.close()
    return nid
PROFILE = {"title": "测试布局", "kind": "households",
           "columns": [{"header": "户编号", "field": "hh_no"}]}
_profiles = itertools.count(1)


def make_profile(c, fresh):
    """A saved layout profile to delete: a new one when `fresh`, else one kept."""
    if fresh or not getattr(c, "profile", None):
        name = "auth-del-%d" % next(_profiles)
        expect(call(c.s, "PUT", "/api/v1/layout-profiles/" + name, PROFILE, token=c.s.token),
               201, "layout profile")
        if fresh:
            return name
        c.profile = name
    return c.profile


# ---- the authorisation matrix ------------------------------------------------------

OK200, OK201 = (200, None), (201, None)
NF = (404, "E_NOT_FOUND")
OUT_OF_SCOPE = (403, "E_OUT_OF_SCOPE")
STEP = (403, "E_STEP_ROLE")   # the role may use the route, but this step is another's


def step(**roles):
    """Per-role expectations: the roles named get their answer, the others STEP."""
    d = dict(roles)
    d["*"] = STEP
    return d


# (method, pattern) → (roles allowed, expected in scope, expected out of
# scope or None when the route has no scoped target).  An expectation is
# (status, error code) or {role: (status, code), "*": default}.  Allowed
# requests are valid ones, so they get the status a valid request gets;
# refused ones get 403 E_FORBIDDEN whatever their target.
MATRIX = {
    ("POST", "/api/v1/login"): (PUBLIC, OK200, None),
    ("POST", "/api/v1/logout"): (ALL, OK200, None),
    ("GET", "/api/v1/me"): (ALL, OK200, None),
    # a wrong old password: the request passed authorisation, then the check
    ("POST", "/api/v1/me/password"): (ALL, (422, "E_OLD_PASSWORD"), None),
    ("GET", "/api/v1/users"): (CONFIG, OK200, OK200),   # out: search for an outsider
    ("POST", "/api/v1/users"): (CONFIG, OK201, (403, "E_SCOPE")),
    ("GET", "/api/v1/users/:id"): (CONFIG, OK200, NF),
    ("PUT", "/api/v1/users/:id"): (CONFIG, OK200, NF),
    ("POST", "/api/v1/users/:id/password"): (CONFIG, OK200, NF),
    ("GET", "/api/v1/audit"): ({"admin", "auditor"}, OK200, None),
    ("GET", "/api/v1/audit/export"): ({"admin", "auditor"}, OK200, None),
    ("GET", "/api/v1/health"): (PUBLIC, OK200, None),
    ("GET", "/api/v1/codes"): (ALL, OK200, None),
    ("GET", "/api/v1/regions"): (ALL, OK200, None),
    ("GET", "/api/v1/regions/:code"): (ALL, OK200, NF),
    ("GET", "/api/v1/households"): (READERS, OK200, OK200),   # out: region filter → nothing
    ("POST", "/api/v1/households"): (WRITERS, OK201, (422, "E_VALIDATION")),  # E_BAD_VILLAGE
    ("GET", "/api/v1/households/:id"): (READERS, OK200, NF),
    ("PUT", "/api/v1/households/:id"): (WRITERS, OK200, NF),
    ("DELETE", "/api/v1/households/:id"): (WRITERS, OK200, NF),
    ("POST", "/api/v1/households/:id/members"): (WRITERS, OK201, NF),
    ("GET", "/api/v1/members/:id"): (READERS, OK200, NF),
    ("PUT", "/api/v1/members/:id"): (WRITERS, OK200, NF),
    ("DELETE", "/api/v1/members/:id"): (WRITERS, OK200, NF),
    # the income ledger, measures and the 一户一策 plan
    ("GET", "/api/v1/households/:id/income/:year"): (READERS, OK200, NF),
    ("PUT", "/api/v1/households/:id/income/:year"): (WRITERS, OK200, NF),
    ("GET", "/api/v1/households/:id/income-ident/:month"): (READERS, OK200, NF),
    ("GET", "/api/v1/households/:id/measures"): (READERS, OK200, NF),
    ("POST", "/api/v1/households/:id/measures"): (WRITERS, OK201, NF),
    ("GET", "/api/v1/measures/:id"): (READERS, OK200, NF),
    ("PUT", "/api/v1/measures/:id"): (WRITERS, OK200, NF),
    ("DELETE", "/api/v1/measures/:id"): (WRITERS, OK200, NF),
    ("GET", "/api/v1/households/:id/plan/:year"): (READERS, OK200, NF),
    ("PUT", "/api/v1/households/:id/plan/:year"): (WRITERS, OK200, NF),
    # monitoring lines: reference data everyone reads; an administrator sets
    # those of the scope (a line above or beside it is 403, not hidden)
    ("GET", "/api/v1/monitor-lines"): (ALL, OK200, None),
    ("GET", "/api/v1/monitor-lines/applicable"): (ALL, OK200, None),
    ("POST", "/api/v1/monitor-lines"): (CONFIG, OK201, OUT_OF_SCOPE),
    ("PUT", "/api/v1/monitor-lines/:id"): (CONFIG, OK200, OUT_OF_SCOPE),
    ("DELETE", "/api/v1/monitor-lines/:id"): (CONFIG, OK200, OUT_OF_SCOPE),
    # the calendar, settings and rules are system-wide: as the code stands
    # any administrator may change them, whatever the scope (see the report)
    ("GET", "/api/v1/calendar"): (ALL, OK200, None),
    ("GET", "/api/v1/calendar/workdays"): (ALL, OK200, None),
    ("POST", "/api/v1/calendar"): (CONFIG, COUNTY_ONLY, None),
    ("DELETE", "/api/v1/calendar/:date"): (CONFIG, COUNTY_ONLY, None),
    ("GET", "/api/v1/monitor-settings"): (ALL, OK200, None),
    ("PUT", "/api/v1/monitor-settings"): (CONFIG, COUNTY_ONLY, None),
    ("GET", "/api/v1/monitor-codes"): (ALL, OK200, None),
    # alerts and cases: each step belongs to one role (E_STEP_ROLE otherwise)
    ("GET", "/api/v1/alerts"): (READERS, OK200, OK200),   # out: region filter → nothing
    ("GET", "/api/v1/alerts/:id"): (READERS, OK200, NF),
    ("POST", "/api/v1/alerts/:id/dismiss"): (
        WRITERS, step(village_clerk=OK200, township_reviewer=OK200), NF),
    ("POST", "/api/v1/alerts/:id/case"): (WRITERS, step(village_clerk=OK201), NF),
    ("GET", "/api/v1/cases"): (READERS, OK200, OK200),    # out: region filter → nothing
    ("GET", "/api/v1/cases/:id"): (READERS, OK200, NF),
    ("POST", "/api/v1/cases/:id/advance"): (READERS, step(village_clerk=OK200), NF),
    ("POST", "/api/v1/cases/:id/return"): (READERS, step(township_reviewer=OK200), NF),
    ("POST", "/api/v1/cases/:id/reject"): (READERS, step(village_clerk=OK200), NF),
    # a household that is not monitored: the clerk's valid request is refused
    ("POST", "/api/v1/households/:id/elimination"): (
        WRITERS, step(village_clerk=(422, "E_ELIMINATION_CONDITIONS")), NF),
    ("GET", "/api/v1/households/:id/monitoring"): (READERS, OK200, NF),
    ("POST", "/api/v1/households/:id/visits"): (WRITERS, OK201, NF),
    ("GET", "/api/v1/households/:id/visits"): (READERS, OK200, NF),
    ("POST", "/api/v1/households/:id/applications"): (WRITERS, OK201, NF),
    ("PUT", "/api/v1/households/:id/security/:year"): (WRITERS, OK200, NF),
    ("GET", "/api/v1/households/:id/timeline"): (READERS, OK200, NF),
    ("GET", "/api/v1/rules"): (ALL, OK200, None),
    ("GET", "/api/v1/rules/:id"): (ALL, OK200, None),
    ("POST", "/api/v1/rules"): (CONFIG, COUNTY_ONLY, None),
    ("PUT", "/api/v1/rules/:id"): (CONFIG, COUNTY_ONLY, None),
    ("POST", "/api/v1/rules/preview"): (CONFIG, OK200, None),
    ("POST", "/api/v1/screen"): (CONFIG, OK200, (422, "E_BAD_REGION")),
    ("GET", "/api/v1/households/:id/rule-hits"): (READERS, OK200, NF),
    # department feeds: definitions are reference data; a department user
    # uploads its own department's lists (the matrix's is 医保局)
    ("GET", "/api/v1/feeds"): (ALL, OK200, None),
    ("GET", "/api/v1/feeds/:id"): (ALL, OK200, None),
    ("POST", "/api/v1/feeds"): (CONFIG, COUNTY_ONLY, None),
    ("PUT", "/api/v1/feeds/:id/rules/:rule"): (CONFIG, COUNTY_ONLY, None),
    ("PUT", "/api/v1/feeds/:id/params/:name"): (CONFIG, OK200, OUT_OF_SCOPE),
    ("POST", "/api/v1/feeds/:id/batches"): (FEED, OK201, None),
    ("GET", "/api/v1/feed-batches"): (FEED, OK200, None),
    ("GET", "/api/v1/feed-batches/:id"): (FEED, OK200, NF),
    ("GET", "/api/v1/feed-hits"): (READERS, OK200, OK200),   # out: region filter → nothing
    ("POST", "/api/v1/feed-hits/:id/feedback"): (WRITERS, OK200, NF),
    # the office pages: ledger upload (out: a file of another township is
    # refused in its report), the 公告 (a county approver's), the totals
    ("POST", "/api/v1/imports"): (WRITERS, OK200, OK200),
    ("GET", "/api/v1/imports/:id"): (WRITERS, OK200, NF),   # out: another user's job
    ("GET", "/api/v1/imports/:id/annotated.xlsx"): (WRITERS, OK200, NF),   # (the same)
    ("GET", "/api/v1/notices"): (READERS, OK200, None),
    ("POST", "/api/v1/notices"): (READERS, step(county_approver=OK201),
                                  step(county_approver=(422, "E_NOT_FOUND"))),
    ("GET", "/api/v1/notices/:id"): (READERS, OK200, NF),
    ("GET", "/api/v1/case-totals"): (READERS, OK200, None),
    # data-quality checks (screen module)
    ("GET", "/api/v1/checks"): (ALL, OK200, None),
    ("POST", "/api/v1/checks"): (CONFIG, COUNTY_ONLY, None),
    ("PUT", "/api/v1/checks/:id"): (CONFIG, COUNTY_ONLY, None),
    ("POST", "/api/v1/check-runs"): (CONFIG, OK200, (422, "E_BAD_REGION")),
    ("GET", "/api/v1/check-findings"): (READERS, OK200, OK200),  # out: region filter → nothing
    ("GET", "/api/v1/check-findings/summary"): (READERS, OK200, OK200),
    ("GET", "/api/v1/households/:id/check-findings"): (READERS, OK200, NF),
    # Excel/CSV downloads (export permission), layout profiles, printable notices
    ("GET", "/api/v1/export/households"): (FULL_ID, OK200, NF),
    ("GET", "/api/v1/export/members"): (FULL_ID, OK200, NF),
    ("GET", "/api/v1/export/monitored"): (FULL_ID, OK200, NF),
    ("GET", "/api/v1/export/measures"): (FULL_ID, OK200, NF),
    ("GET", "/api/v1/export/alerts"): (FULL_ID, OK200, NF),
    ("GET", "/api/v1/export/findings"): (FULL_ID, OK200, NF),
    ("GET", "/api/v1/export/feed-hits"): (FEED, OK200, NF),
    ("GET", "/api/v1/layout-profiles"): (READERS, OK200, None),
    ("GET", "/api/v1/layout-profiles/:name"): (READERS, OK200, None),
    ("PUT", "/api/v1/layout-profiles/:name"): (WRITERS, OK201, None),
    ("DELETE", "/api/v1/layout-profiles/:name"): (WRITERS, OK200, None),
    ("GET", "/api/v1/public-notice"): (READERS, OK200, NF),
    ("GET", "/api/v1/notices/:id/print"): (READERS, OK200, NF),
}
# the dashboard's aggregates: every role reads them, for regions in its scope
REPORT_ROUTES = ["/api/v1/report/" + x for x in (
    "dashboard", "monitored", "risk-types", "alerts", "overdue", "measures", "trend")]
MATRIX.update({("GET", p): (ALL, OK200, NF) for p in REPORT_ROUTES})


def expected(key, role, where):
    """(status, error code or None) for `role` on route `key` with a target
    in or out of scope."""
    allowed, ins, outs = MATRIX[key]
    if allowed != PUBLIC and role not in allowed:
        return (403, "E_FORBIDDEN")
    e = ins if where == "in" else outs
    if isinstance(e, dict):
        e = e.get(role, e["*"])
    return e


class Req:
    """A request the matrix sends; `check(resp)` returns a problem or None."""

    def __init__(self, method, path, body=None, token=None, check=None):
        self.method, self.path, self.body, self.token, self.check = method, path, body, token, check


# Request builders: fn(c, user, where, fresh) → Req.  `fresh` asks for a
# target of its own (the request is expected to change or use it up);
# otherwise the pristine fixtures are used, which refused requests never change.

def _hh_of(c, where):
    return c.fx["id"] if where == "in" else c.out["id"]


def _b_login(c, u, where, fresh):
    def check(r):
        if fresh:
            c.spare[u.login] = r.body["token"]
        return None if r.body["user"]["login"] == u.login else "logged in as someone else"
    return Req("POST", "/api/v1/login", {"login": u.login, "password": PW}, u.token, check)


def _b_logout(c, u, where, fresh):
    tok = u.token
    if fresh:
        tok = c.spare.pop(u.login, None) or login(c.s, u.login)["token"]
    return Req("POST", "/api/v1/logout", None, tok)


def _b_me(c, u, where, fresh):
    return Req("GET", "/api/v1/me", None, u.token,
               lambda r: None if (r.body["login"], r.body["role"]) == (u.login, u.role)
               else "wrong account")


def _b_me_password(c, u, where, fresh):
    return Req("POST", "/api/v1/me/password",
               {"old_password": "Wrong#Old2026x", "new_password": "Brand#New2026z"}, u.token)


def _b_users(c, u, where, fresh):
    if where == "out":
        return Req("GET", "/api/v1/users?q=" + c.out_user["login"], None, u.token,
                   lambda r: None if r.body["items"] == [] else "outsider listed")

    def check(r):
        bad = [x["login"] for x in r.body["items"] if not x["scope_code"].startswith(u.scope)]
        return "users outside scope listed: %s" % bad if bad else None
    return Req("GET", "/api/v1/users", None, u.token, check)


def _b_users_create(c, u, where, fresh):
    return Req("POST", "/api/v1/users",
               {"login": fresh_login(), "name": "矩阵用户", "role": "leader",
                "scope_code": c.village if where == "in" else c.other_village}, u.token)


def _user_target(c, where):
    return (c.in_user if where == "in" else c.out_user)["id"]


def _b_user_get(c, u, where, fresh):
    return Req("GET", "/api/v1/users/%d" % _user_target(c, where), None, u.token)


def _b_user_put(c, u, where, fresh):
    return Req("PUT", "/api/v1/users/%d" % _user_target(c, where),
               {"name": "矩阵改名%d" % next(_names)}, u.token)


def _b_user_reset(c, u, where, fresh):
    return Req("POST", "/api/v1/users/%d/password" % _user_target(c, where), None, u.token)


def _b_get(path, check=None):
    """A builder for a GET with no target."""
    return lambda c, u, where, fresh: Req("GET", path, None, u.token, check)


def _b_region(c, u, where, fresh):
    return Req("GET", "/api/v1/regions/" + (TOWNSHIP12 if where == "in" else OTHER12), None,
               u.token)


def _b_households(c, u, where, fresh):
    if where == "out":
        return Req("GET", "/api/v1/households?count=1&region=" + OTHER, None, u.token,
                   lambda r: None if r.body["items"] == [] and r.body["total"] == 0
                   else "out-of-scope households listed")
    want = q1(c.db, "SELECT count(*) FROM household WHERE village_code = ?", (c.village,))

    def check(r):
        if r.body["total"] != want or any(x["village_code"] != c.village for x in r.body["items"]):
            return "list of the village: total %s, want %d" % (r.body["total"], want)
        return None
    return Req("GET", "/api/v1/households?limit=500&count=1&region=" + c.village, None, u.token,
               check)


def _b_household_create(c, u, where, fresh):
    body = family_body(c, c.village if where == "in" else c.other_village)
    check = None
    if where == "out":
        def check(r):
            codes = [d["code"] for d in r.body["error"].get("details", [])]
            return None if "E_BAD_VILLAGE" in codes else "want E_BAD_VILLAGE, got %s" % codes
    return Req("POST", "/api/v1/households", body, u.token, check)


def _hh_target(c, where, fresh):
    """Household id: out of scope, a fresh one to change, or the pristine one."""
    if where == "out":
        return c.out["id"]
    return make_family(c)["id"] if fresh else c.fx["id"]


def _member_target(c, where, fresh):
    if where == "out":
        return c.out_child["id"]
    return child_of(make_family(c))["id"] if fresh else c.fx_child["id"]


def _b_household_get(c, u, where, fresh):
    return Req("GET", "/api/v1/households/%d" % _hh_of(c, where), None, u.token,
               lambda r: None if where == "out" or r.body["hh_no"] == c.fx["hh_no"]
               else "wrong household")


def _b_household_put(c, u, where, fresh):
    return Req("PUT", "/api/v1/households/%d" % _hh_target(c, where, fresh),
               {"address": "矩阵修改地址"}, u.token)


def _b_household_delete(c, u, where, fresh):
    return Req("DELETE", "/api/v1/households/%d" % _hh_target(c, where, fresh), None, u.token)


def _b_member_create(c, u, where, fresh):
    return Req("POST", "/api/v1/households/%d/members" % _hh_target(c, where, fresh),
               member_body(c, "张小红", "之女", "女", "20030303"), u.token)


def _b_member_get(c, u, where, fresh):
    mid = c.fx_child["id"] if where == "in" else c.out_child["id"]
    return Req("GET", "/api/v1/members/%d" % mid, None, u.token)


def _b_member_put(c, u, where, fresh):
    return Req("PUT", "/api/v1/members/%d" % _member_target(c, where, fresh),
               {"phone": "13800001111"}, u.token)


def _b_member_delete(c, u, where, fresh):
    return Req("DELETE", "/api/v1/members/%d" % _member_target(c, where, fresh), None, u.token)


def _b_hh_path(method, suffix, body=None):
    """A builder for /api/v1/households/:id<suffix> on the pristine households."""
    return lambda c, u, where, fresh: Req(
        method, "/api/v1/households/%d%s" % (_hh_of(c, where), suffix),
        body() if callable(body) else body, u.token)


def _measure(c, where, fresh):
    if where == "out":
        return c.measure_out
    return make_measure(c, c.fx["id"]) if fresh else c.measure_in


def _line(c, where, fresh):
    if where == "out":
        return c.line_out
    return make_line(c, TOWNSHIP) if fresh else c.line_in


def _alert(c, where, fresh):
    if where == "out":
        return c.alert_out
    return make_alert(c) if fresh else c.alert_in


def _case(c, where, fresh, at_step=1):
    if where == "out":
        return c.case_out
    if fresh:
        return make_case(c, step=at_step)
    return c.case1 if at_step == 1 else c.case2


def _b_import(c, u, where, fresh):
    want = where == "in"
    return Req("POST", "/api/v1/imports?kind=members",
               import_csv(c, c.village if want else c.other_village), u.token,
               lambda r: None if r.body["result"]["accepted"] == want
               else "accepted %s: %s" % (r.body["result"]["accepted"], r.body["result"]["report"]))


def _b_import_get(c, u, where, fresh):
    job = c.job_other
    if where == "in" and u.role in WRITERS:
        if u.login not in c.jobs:
            c.jobs[u.login] = make_job(c, u)
        job = c.jobs[u.login]
    return Req("GET", "/api/v1/imports/%d" % job, None, u.token)


def _b_import_annotated(c, u, where, fresh):
    job = c.ajob_other
    if where == "in" and u.role in WRITERS:
        if u.login not in c.ajobs:
            c.ajobs[u.login] = make_annotated_job(c, u)
        job = c.ajobs[u.login]
    return Req("GET", "/api/v1/imports/%d/annotated.xlsx" % job, None, u.token)


def _b_notice_create(c, u, where, fresh):
    case = c.done_out if where == "out" else make_done_case(c) if fresh else c.done_in
    return Req("POST", "/api/v1/notices", {"case_ids": [case]}, u.token)


def _b_list_region(path):
    def build(c, u, where, fresh):
        if where == "out":
            return Req("GET", "%s?region=%s" % (path, OTHER), None, u.token,
                       lambda r: None if r.body["items"] == [] else "out-of-scope items listed")
        return Req("GET", "%s?region=%s" % (path, c.village), None, u.token)
    return build


BUILD = {
    ("POST", "/api/v1/login"): _b_login,
    ("POST", "/api/v1/logout"): _b_logout,
    ("GET", "/api/v1/me"): _b_me,
    ("POST", "/api/v1/me/password"): _b_me_password,
    ("GET", "/api/v1/users"): _b_users,
    ("POST", "/api/v1/users"): _b_users_create,
    ("GET", "/api/v1/users/:id"): _b_user_get,
    ("PUT", "/api/v1/users/:id"): _b_user_put,
    ("POST", "/api/v1/users/:id/password"): _b_user_reset,
    ("GET", "/api/v1/audit"): _b_get("/api/v1/audit?limit=5"),
    ("GET", "/api/v1/audit/export"): _b_get(
        "/api/v1/audit/export?login=m.admin",
        lambda r: None if r.headers["content-type"].startswith("text/csv") else "not CSV"),
    ("GET", "/api/v1/health"): _b_get("/api/v1/health"),
    ("GET", "/api/v1/codes"): _b_get("/api/v1/codes"),
    ("GET", "/api/v1/regions"): _b_get("/api/v1/regions"),
    ("GET", "/api/v1/regions/:code"): _b_region,
    ("GET", "/api/v1/households"): _b_households,
    ("POST", "/api/v1/households"): _b_household_create,
    ("GET", "/api/v1/households/:id"): _b_household_get,
    ("PUT", "/api/v1/households/:id"): _b_household_put,
    ("DELETE", "/api/v1/households/:id"): _b_household_delete,
    ("POST", "/api/v1/households/:id/members"): _b_member_create,
    ("GET", "/api/v1/members/:id"): _b_member_get,
    ("PUT", "/api/v1/members/:id"): _b_member_put,
    ("DELETE", "/api/v1/members/:id"): _b_member_delete,
    ("GET", "/api/v1/households/:id/income/:year"): _b_hh_path("GET", "/income/2025"),
    ("PUT", "/api/v1/households/:id/income/:year"): _b_hh_path("PUT", "/income/2025", INCOME),
    ("GET", "/api/v1/households/:id/income-ident/:month"): _b_hh_path(
        "GET", "/income-ident/2026-03"),
    ("GET", "/api/v1/households/:id/measures"): _b_hh_path("GET", "/measures"),
    ("POST", "/api/v1/households/:id/measures"): _b_hh_path("POST", "/measures", MEASURE),
    ("GET", "/api/v1/measures/:id"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/measures/%d" % _measure(c, where, False), None, u.token),
    ("PUT", "/api/v1/measures/:id"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/measures/%d" % _measure(c, where, False), {"unit": "县农业农村局"},
        u.token),
    ("DELETE", "/api/v1/measures/:id"): lambda c, u, where, fresh: Req(
        "DELETE", "/api/v1/measures/%d" % _measure(c, where, fresh), None, u.token),
    ("GET", "/api/v1/households/:id/plan/:year"): _b_hh_path("GET", "/plan/2025"),
    ("PUT", "/api/v1/households/:id/plan/:year"): _b_hh_path(
        "PUT", "/plan/2025", {"plan": "发展魔芋种植", "dev_status": "已实施"}),
    ("GET", "/api/v1/monitor-lines"): _b_get("/api/v1/monitor-lines"),
    ("GET", "/api/v1/monitor-lines/applicable"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/monitor-lines/applicable?year=2025&code=" + c.village, None, u.token),
    ("POST", "/api/v1/monitor-lines"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/monitor-lines", line_body(c, TOWNSHIP if where == "in" else OTHER),
        u.token),
    ("PUT", "/api/v1/monitor-lines/:id"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/monitor-lines/%d" % _line(c, where, False), {"amount": 810000}, u.token),
    ("DELETE", "/api/v1/monitor-lines/:id"): lambda c, u, where, fresh: Req(
        "DELETE", "/api/v1/monitor-lines/%d" % _line(c, where, fresh), None, u.token),
    ("GET", "/api/v1/calendar"): _b_get("/api/v1/calendar?year=2026"),
    ("GET", "/api/v1/calendar/workdays"): _b_get(
        "/api/v1/calendar/workdays?from=2026-03-02&days=3"),
    ("POST", "/api/v1/calendar"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/calendar", cal_body(), u.token),
    ("DELETE", "/api/v1/calendar/:date"): lambda c, u, where, fresh: Req(
        "DELETE", "/api/v1/calendar/" + (make_cal_day(c) if fresh else c.cal_date), None,
        u.token),
    ("GET", "/api/v1/monitor-settings"): _b_get("/api/v1/monitor-settings"),
    ("PUT", "/api/v1/monitor-settings"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/monitor-settings", {"income_denominator": "户籍人口"}, u.token),
    ("GET", "/api/v1/monitor-codes"): _b_get("/api/v1/monitor-codes"),
    ("GET", "/api/v1/alerts"): _b_list_region("/api/v1/alerts"),
    ("GET", "/api/v1/alerts/:id"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/alerts/%d" % _alert(c, where, False), None, u.token),
    ("POST", "/api/v1/alerts/:id/dismiss"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/alerts/%d/dismiss" % _alert(c, where, fresh), {"reason": "核实后无风险"},
        u.token),
    ("POST", "/api/v1/alerts/:id/case"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/alerts/%d/case" % _alert(c, where, fresh), None, u.token),
    ("GET", "/api/v1/cases"): _b_list_region("/api/v1/cases"),
    ("GET", "/api/v1/cases/:id"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/cases/%d" % _case(c, where, False), None, u.token),
    ("POST", "/api/v1/cases/:id/advance"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/cases/%d/advance" % _case(c, where, fresh), {"note": "入户核查属实"},
        u.token),
    ("POST", "/api/v1/cases/:id/return"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/cases/%d/return" % _case(c, where, fresh, 2), {"reason": "材料不全"},
        u.token),
    ("POST", "/api/v1/cases/:id/reject"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/cases/%d/reject" % _case(c, where, fresh), {"reason": "不符合条件"},
        u.token),
    ("POST", "/api/v1/households/:id/elimination"): _b_hh_path(
        "POST", "/elimination", {"mode": "帮扶消除"}),
    ("GET", "/api/v1/households/:id/monitoring"): _b_hh_path("GET", "/monitoring"),
    ("POST", "/api/v1/households/:id/visits"): _b_hh_path(
        "POST", "/visits", {"visit_date": PAST, "note": "入户走访"}),
    ("GET", "/api/v1/households/:id/visits"): _b_hh_path("GET", "/visits"),
    ("POST", "/api/v1/households/:id/applications"): _b_hh_path(
        "POST", "/applications", {"reason": "农户申请"}),
    ("PUT", "/api/v1/households/:id/security/:year"): _b_hh_path(
        "PUT", "/security/2025", SECURITY),
    ("GET", "/api/v1/households/:id/timeline"): _b_hh_path("GET", "/timeline"),
    ("GET", "/api/v1/rules"): _b_get("/api/v1/rules"),
    ("GET", "/api/v1/rules/:id"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/rules/" + c.rule, None, u.token),
    ("POST", "/api/v1/rules"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/rules", rule_body(), u.token),
    ("PUT", "/api/v1/rules/:id"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/rules/" + c.rule, {"title": "测试规则（修订）"}, u.token),
    ("POST", "/api/v1/rules/preview"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/rules/preview", {"expression": "true", "year": 2025}, u.token),
    ("POST", "/api/v1/screen"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/screen",
        {"year": 2025} if where == "in" else {"year": 2025, "region": OTHER}, u.token),
    ("GET", "/api/v1/households/:id/rule-hits"): _b_hh_path("GET", "/rule-hits"),
    ("GET", "/api/v1/feeds"): _b_get("/api/v1/feeds"),
    ("GET", "/api/v1/feeds/:id"): _b_get("/api/v1/feeds/yibao_inpatient"),
    ("POST", "/api/v1/feeds"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/feeds", FEED_DEF, u.token),
    ("PUT", "/api/v1/feeds/:id/rules/:rule"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/feeds/yingji_disaster/rules/YJ01", {"title": "应急部门受灾记录"}, u.token),
    ("PUT", "/api/v1/feeds/:id/params/:name"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/feeds/yibao_inpatient/params/tuopin_cum",
        {"value": 5000, "year": 2026, "region": TOWNSHIP if where == "in" else OTHER}, u.token),
    ("POST", "/api/v1/feeds/:id/batches"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/feeds/yibao_inpatient/batches",
        ("身份证号,姓名,个人自付\n%s,x,%d\n" % (q1(c.db, "SELECT id_number FROM member WHERE "
                                                  "household_id = ?", (c.fx["id"],)),
                                           next(_feed_seq))).encode(), u.token),
    ("GET", "/api/v1/feed-batches"): _b_get("/api/v1/feed-batches"),
    ("GET", "/api/v1/feed-batches/:id"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/feed-batches/%d" % (c.feed_batch_in if where == "in" else
                                            c.feed_batch_out), None, u.token),
    ("GET", "/api/v1/feed-hits"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/feed-hits?region=%s" % (c.village if where == "in" else OTHER), None,
        u.token, None if where == "in" else
        (lambda r: None if r.body["items"] == [] else "out-of-scope items listed")),
    ("POST", "/api/v1/feed-hits/:id/feedback"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/feed-hits/%d/feedback" % (c.feed_hit_in if where == "in" else
                                                   c.feed_hit_out),
        {"state": "已核实-无风险", "note": "入户核实"}, u.token),
    ("POST", "/api/v1/imports"): _b_import,
    ("GET", "/api/v1/imports/:id"): _b_import_get,
    ("GET", "/api/v1/imports/:id/annotated.xlsx"): _b_import_annotated,
    ("GET", "/api/v1/notices"): _b_get("/api/v1/notices"),
    ("POST", "/api/v1/notices"): _b_notice_create,
    ("GET", "/api/v1/notices/:id"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/notices/%d" % (c.notice_in if where == "in" else c.notice_out), None,
        u.token),
    ("GET", "/api/v1/case-totals"): _b_get("/api/v1/case-totals"),
    ("GET", "/api/v1/checks"): _b_get("/api/v1/checks"),
    ("POST", "/api/v1/checks"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/checks", check_body(), u.token),
    ("PUT", "/api/v1/checks/:id"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/checks/" + c.check, {"title": "测试检查（修订）"}, u.token),
    ("POST", "/api/v1/check-runs"): lambda c, u, where, fresh: Req(
        "POST", "/api/v1/check-runs",
        {"group": "structure"} if where == "in" else {"group": "structure", "region": OTHER},
        u.token),
    ("GET", "/api/v1/check-findings"): _b_list_region("/api/v1/check-findings"),
    ("GET", "/api/v1/check-findings/summary"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/check-findings/summary?region=" + (c.village if where == "in" else OTHER),
        None, u.token,
        None if where == "in" else
        lambda r: None if r.body["villages"] == [] else "out-of-scope villages counted"),
    ("GET", "/api/v1/households/:id/check-findings"): _b_hh_path("GET", "/check-findings"),
    ("GET", "/api/v1/export/households"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/households?format=csv&region=" +
        (c.village if where == "in" else OTHER), None, u.token),
    ("GET", "/api/v1/export/members"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/members?region=" + (c.village if where == "in" else OTHER), None,
        u.token),
    ("GET", "/api/v1/export/monitored"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/monitored?region=" + (c.village if where == "in" else OTHER), None,
        u.token),
    ("GET", "/api/v1/export/measures"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/measures?format=csv&region=" +
        (c.village if where == "in" else OTHER), None, u.token),
    ("GET", "/api/v1/export/alerts"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/alerts?region=" + (c.village if where == "in" else OTHER), None,
        u.token),
    ("GET", "/api/v1/export/findings"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/findings?region=" + (c.village if where == "in" else OTHER), None,
        u.token),
    ("GET", "/api/v1/export/feed-hits"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/export/feed-hits?format=csv&region=" +
        (c.village if where == "in" else OTHER), None, u.token),
    ("GET", "/api/v1/layout-profiles"): _b_get("/api/v1/layout-profiles"),
    ("GET", "/api/v1/layout-profiles/:name"): _b_get("/api/v1/layout-profiles/national"),
    ("PUT", "/api/v1/layout-profiles/:name"): lambda c, u, where, fresh: Req(
        "PUT", "/api/v1/layout-profiles/auth-%d" % next(_profiles), PROFILE, u.token),
    ("DELETE", "/api/v1/layout-profiles/:name"): lambda c, u, where, fresh: Req(
        "DELETE", "/api/v1/layout-profiles/" + make_profile(c, fresh), None, u.token),
    ("GET", "/api/v1/public-notice"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/public-notice?kind=identify&region=" +
        (c.village if where == "in" else OTHER + "001"), None, u.token),
    ("GET", "/api/v1/notices/:id/print"): lambda c, u, where, fresh: Req(
        "GET", "/api/v1/notices/%d/print" % (c.notice_in if where == "in" else c.notice_out),
        None, u.token),
}

FEED_DEF = {"id": "auth_feed", "title": "测试·部门名单", "department": "民政局",
            "columns": [{"name": "id_number", "title": "身份证号", "type": "id"},
                        {"name": "kind", "title": "类别", "type": "text"}],
            "rules": [{"id": "T1", "title": "测试规则", "expression": "类别 = '甲'"}]}


def _b_report(path):
    """The aggregates of the matrix village (inside every matrix user's
    scope), or of the other township."""
    def build(c, u, where, fresh):
        return Req("GET", "%s?region=%s" % (path, c.village if where == "in" else OTHER), None,
                   u.token)
    return build


BUILD.update({("GET", p): _b_report(p) for p in REPORT_ROUTES})


def test_route_table_is_covered():
    """Every route of `liubao routes` has a row in the matrix (and a request
    builder), and every row names a real route: a new route without an entry
    fails here."""
    routes = list_routes()
    keys = [(r["method"], r["pattern"]) for r in routes]
    assert len(keys) == len(set(keys)), "duplicate routes: %s" % keys
    missing = sorted(set(keys) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(keys))
    assert not missing, "routes without an expected row in MATRIX: %s" % missing
    assert not stale, "MATRIX rows for routes that do not exist: %s" % stale
    assert set(BUILD) == set(MATRIX), "BUILD and MATRIX disagree"
    for r in routes:
        allowed = MATRIX[(r["method"], r["pattern"])][0]
        assert (allowed == PUBLIC) == r["public"], "%s %s: public is %s in the route table" % (
            r["method"], r["pattern"], r["public"])


def test_authorization_matrix():
    """Every route × role × (in scope / out of scope) answers the expected
    status; refused writes change nothing; unauthenticated callers get 401."""
    c = C()
    routes = list_routes()
    problems = []
    # the change detector sees a write (so "changed nothing" below means something)
    c.watch.sync()
    make_family(c)
    assert {"household", "member"} <= set(c.watch.diff()), "Watch missed a write"
    assert c.watch.diff() == {}
    # the matrix's notion of who may do what agrees with the permissions each
    # role is given (GET /me lists them)
    perms = {}
    for role in ROLES:
        r = call(c.s, "GET", "/api/v1/me", token=c.users[role].token)
        perms[role] = set(expect(r, 200, "me")["permissions"])
        if r.body["role_title"] != TITLES[role]:
            problems.append("role %s titled %s" % (role, r.body["role_title"]))
    for rt in routes:
        key = (rt["method"], rt["pattern"])
        allowed = MATRIX[key][0]
        if rt["perm"] and allowed != PUBLIC:
            holders = {role for role in ROLES if rt["perm"] in perms[role]}
            if holders != allowed:
                problems.append("%s %s needs %s, held by %s; matrix allows %s" % (
                    key[0], key[1], rt["perm"], sorted(holders), sorted(allowed)))
        elif not rt["perm"] and allowed not in (PUBLIC, ALL):
            problems.append("%s %s needs no permission; matrix allows %s" % (
                key[0], key[1], sorted(allowed)))

    for rt in routes:
        key = (rt["method"], rt["pattern"])
        has_out = MATRIX[key][2] is not None
        cases = [(role, where, expected(key, role, where)) for role in ROLES
                 for where in (("in", "out") if has_out else ("in",))]
        # refused requests first: one snapshot covers them all; then the
        # allowed ones, each on a target of its own when it changes one
        cases.sort(key=lambda x: x[2][0] < 300)
        unauth = []
        if not rt["public"]:
            unauth = [(None, tok) for tok in (None, "A" * 43)]
        for who, tok in unauth:
            req = BUILD[key](c, c.users["admin"], "in", False)
            c.watch.sync()
            r = call(c.s, req.method, req.path, req.body, token=tok)
            what = "%s %s with %s" % (key[0], key[1], "a bogus token" if tok else "no session")
            p = error_problem(r, 401, "E_AUTH")
            if p:
                problems.append("%s: %s" % (what, p))
            if rt["write"] and c.watch.diff():
                problems.append("%s: changed the database" % what)
        for role, where, (want, code) in cases:
            u = c.users[role]
            refused = want >= 300
            req = BUILD[key](c, u, where, not refused and rt["write"])
            if refused and rt["write"]:
                c.watch.sync()
            r = call(c.s, req.method, req.path, req.body, token=req.token)
            what = "%s %s as %s (%s scope)" % (key[0], key[1], role, where)
            if refused:
                p = error_problem(r, want, code)
                if not p and where == "out" and want == 404:
                    for secret in (c.out["hh_no"], c.out_child["id_number"],
                                   c.out_user["login"]):
                        if secret.encode() in r.raw:
                            p = "out-of-scope data in the answer: %s" % show(r)
            else:
                p = None if r.status == want else "status %s, want %d" % (show(r), want)
                if not p and req.check:
                    p = req.check(r)
            if p:
                problems.append("%s: %s" % (what, p))
            if refused and rt["write"]:
                d = c.watch.diff()
                if d:
                    problems.append("%s: refused but changed %s" % (what, sorted(d)))
        if rt["public"]:
            # no session needed: the same request without a token
            req = BUILD[key](c, c.tester, "in", False)
            if key == ("POST", "/api/v1/login"):
                req.body = {"login": "tester", "password": PW}
            for tok in (None, "A" * 43):
                r = call(c.s, req.method, req.path, req.body, token=tok)
                if r.status != MATRIX[key][1][0]:
                    problems.append("%s %s without a session: %s" % (key[0], key[1], show(r)))
    assert not problems, "\n".join(problems)

# ---- scope in lists, counts, searches and details --------------------------------------

def list_all(c, token, params=""):
    r = call(c.s, "GET", "/api/v1/households?limit=500&count=1" + params, token=token)
    b = expect(r, 200, "list " + params)
    assert b["next_cursor"] is None, "more than 500 households"
    return b


def test_scope_limits_lists_counts_searches_details():
    c = C()
    clerk, town = c.users["village_clerk"], c.users["township_reviewer"]
    for token, prefix in ((c.tester.token, COUNTY), (town.token, TOWNSHIP),
                          (clerk.token, c.village)):
        b = list_all(c, token)
        want = q1(c.db, "SELECT count(*) FROM household WHERE village_code LIKE ?",
                  (prefix + "%",))
        assert b["total"] == want == len(b["items"]), (prefix, b["total"], want)
        assert all(x["village_code"].startswith(prefix) for x in b["items"]), prefix
    # region filters: narrower than the scope narrow it, outside it select nothing
    b = list_all(c, town.token, "&region=" + c.village)
    assert b["total"] == q1(c.db, "SELECT count(*) FROM household WHERE village_code = ?",
                            (c.village,))
    for region in (OTHER, OTHER12, c.other_village, "6109261001", "62"):
        b = list_all(c, clerk.token, "&region=" + region)
        assert b["items"] == [] and b["total"] == 0, region
    b = list_all(c, clerk.token, "&region=" + COUNTY)   # wider than the scope: the scope
    assert b["total"] == len(b["items"]) > 0
    assert {x["village_code"] for x in b["items"]} == {c.village}
    # searches: a name, a whole 身份证号, its last digits, a 户编号 outside scope
    idn, hh_no = c.out_child["id_number"], c.out["hh_no"]
    name = q1(c.db, "SELECT m.name FROM member m JOIN household h ON h.id = m.household_id "
                    "WHERE h.village_code LIKE ? AND m.name NOT IN (SELECT m2.name FROM member "
                    "m2 JOIN household h2 ON h2.id = m2.household_id WHERE h2.village_code LIKE "
                    "?) ORDER BY m.id LIMIT 1", (OTHER + "%", TOWNSHIP + "%"))
    for q in (name, name[:1], idn, idn[-6:], hh_no):
        qs = "&q=" + urllib.parse.quote(q)
        assert list_all(c, c.tester.token, qs)["total"] >= 1, q
        for u, prefix in ((clerk, c.village), (town, TOWNSHIP)):
            b = list_all(c, u.token, qs)
            assert all(x["village_code"].startswith(prefix) for x in b["items"]), q
            if q != name[:1]:
                assert b["total"] == 0 and b["items"] == [], q
    # details of out-of-scope records answer 404 like records that do not exist
    for path in ("/api/v1/households/%d" % c.out["id"], "/api/v1/members/%d" % c.out_child["id"],
                 "/api/v1/households/99999999", "/api/v1/members/99999999"):
        for u in (clerk, town):
            r = call(c.s, "GET", path, token=u.token)
            expect_error(r, 404, "E_NOT_FOUND", path)
            assert c.out["hh_no"].encode() not in r.raw and idn.encode() not in r.raw
    # a household of another village of the same township: the township sees
    # it, the village clerk does not
    other_in_town = q1(c.db, "SELECT id FROM household WHERE village_code LIKE ? AND "
                             "village_code <> ? ORDER BY id LIMIT 1", (TOWNSHIP + "%", c.village))
    expect(call(c.s, "GET", "/api/v1/households/%d" % other_in_town, token=town.token), 200)
    expect_error(call(c.s, "GET", "/api/v1/households/%d" % other_in_town, token=clerk.token),
                 404, "E_NOT_FOUND")
    # the region tree starts at the scope; other branches are hidden
    b = expect(call(c.s, "GET", "/api/v1/regions", token=clerk.token), 200)
    assert [x["code"] for x in b["items"]] == [c.village], b
    b = expect(call(c.s, "GET", "/api/v1/regions", token=town.token), 200)
    assert [x["code"] for x in b["items"]] == [TOWNSHIP12], b
    b = expect(call(c.s, "GET", "/api/v1/regions/" + TOWNSHIP12, token=clerk.token), 200)
    assert [x["code"] for x in b["children_list"]] == [c.village], b["children_list"]
    b = expect(call(c.s, "GET", "/api/v1/regions/%s000000" % COUNTY, token=town.token), 200)
    assert [x["code"] for x in b["children_list"]] == [TOWNSHIP12]
    expect_error(call(c.s, "GET", "/api/v1/regions/" + c.other_village, token=town.token), 404,
                 "E_NOT_FOUND")
    # a leader sees no personal data at all
    expect_error(call(c.s, "GET", "/api/v1/households", token=c.users["leader"].token), 403,
                 "E_FORBIDDEN")


# ---- masking ------------------------------------------------------------------------

def mask_id(idn):
    return idn[:6] + "*" * 8 + idn[-4:]


def mask_phone(p):
    return p[:3] + "****" + p[-4:] if len(p) == 11 else p


def test_masking_and_audited_full_id_reads():
    c = C()
    town = c.users["township_reviewer"]
    b = list_all(c, town.token)
    heads = dict(query(c.db, "SELECT h.id, m.id_number FROM household h JOIN member m ON "
                             "m.household_id = h.id AND m.relation = 1 WHERE h.village_code LIKE ?",
                       (TOWNSHIP + "%",)))
    phones = dict(query(c.db, "SELECT id, phone FROM household"))
    mobiles = 0
    for x in b["items"]:
        if x["id"] in heads:
            assert MASKED_ID.match(x["head_id_number"]), x
            assert x["head_id_number"] == mask_id(heads[x["id"]]), x
        ph = phones[x["id"]]
        if len(ph) == 11:
            mobiles += 1
            assert re.match(r"^1\d\d\*{4}\d{4}$", x["phone"]) and x["phone"] == mask_phone(ph), x
        assert not FULL_IDN.match(x["head_id_number"])
    assert mobiles > 5
    # the list as served to a masked role never holds a full number either
    for role in READERS:
        r = call(c.s, "GET", "/api/v1/households?limit=500", token=c.users[role].token)
        assert not re.search(rb"\d{17}[\dX]", r.raw), role

    hid, mid = c.fx["id"], c.fx_child["id"]
    real = {m[0]: m[1:] for m in query(c.db, "SELECT id, id_number, phone FROM member WHERE "
                                             "household_id = ?", (hid,))}
    assert any(p for _, p in real.values()) or True
    for role in sorted(READERS):
        u = c.users[role]
        last = audit_max(c.db)
        h = expect(call(c.s, "GET", "/api/v1/households/%d" % hid, token=u.token), 200, role)
        m = expect(call(c.s, "GET", "/api/v1/members/%d" % mid, token=u.token), 200, role)
        rows = audit_since(c.db, last)
        if role in FULL_ID:
            assert h["masked"] is False, role
            for x in h["members"]:
                assert x["id_number"] == real[x["id"]][0], role
            assert h["phone"] == "13912345678"
            assert m["id_number"] == real[mid][0]
            # exactly one audit row per full-ID read, saying who saw what
            assert [(a["action"], a["target_type"], a["target_id"], a["login"]) for a in rows] == [
                ("GET /api/v1/households/:id", "household", hid, u.login),
                ("GET /api/v1/members/:id", "member", mid, u.login)], (role, rows)
            assert all("身份证号" in a["detail"] and a["status"] == 200 and a["user_id"] == u.id
                       for a in rows), rows
        else:
            assert h["masked"] is True, role
            for x in h["members"]:
                assert x["id_number"] == mask_id(real[x["id"]][0]), (role, x)
                assert FULL_IDN.match(real[x["id"]][0])
            assert h["phone"] == "139****5678", h["phone"]
            assert m["id_number"] == mask_id(real[mid][0])
            assert not re.search(rb"\d{17}[\dX]", call(
                c.s, "GET", "/api/v1/households/%d" % hid, token=u.token).raw)
            assert rows == [], (role, rows)      # masked views are not audited


# ---- injection and traversal ----------------------------------------------------------

PAYLOADS = ["' OR 1=1 --", "1; DROP TABLE users", "../../etc/passwd", "%00", "\x00",
            "<script>alert(1)</script>", "A" * 5000, "x" + "长" * 1000, b"\xff\xfe\xc0\xaf"]

HH_FIELDS = ["hh_no", "village_code", "address", "phone", "hh_type", "relocated",
             "relocation_site", "members"]
MEMBER_FIELDS = ["name", "id_number", "relation", "sex", "birth_date", "ethnicity", "education",
                 "school_status", "health", "disability", "labor_skill", "work_status",
                 "ins_resident_med", "ins_employee_med", "ins_critical", "ins_pension", "dibao",
                 "tekun", "phone", "id", "household_id", "age"]
MEMBER_IGNORED = ["id", "household_id", "age"]
USER_FIELDS = ["login", "name", "phone", "scope_code", "department", "role", "disabled",
               "password"]
AUDIT_PARAMS = ["login", "target_type", "target_id", "from", "to", "action", "limit", "cursor"]
MEASURE_FIELDS = ["category", "item", "start_date", "end_date", "amount", "unit", "person",
                  "evidence", "case_id", "id", "household_id", "category_code", "development",
                  "created_at", "updated_at"]
MEASURE_IGNORED = ["id", "household_id", "category_code", "development", "created_at",
                   "updated_at"]
LINE_FIELDS = ["year", "region", "amount", "basis", "source", "assumed", "id", "region_name",
               "updated_at"]
LINE_IGNORED = ["id", "region_name", "updated_at"]
RULE_FIELDS = ["id", "title", "kind", "severity", "risk_type", "scope", "expression", "enabled",
               "valid_from"]
CASE_TABLES = {"monitor_case", "case_event", "alert", "case_count"}  # case_count: kept by triggers
CHECK_FIELDS = ["id", "group", "severity", "scope", "title", "advice", "expression", "enabled"]

# (method, pattern) → what can be injected and what a success may change:
#   actor    a matrix role, "self" (the account of /me/password), or None
#   query    query parameters; json: body fields ("items.0.note" is nested)
#   free     fields stored as given (free text); ignored: accepted, never stored
#   tables   the tables a success may change; target: the row it changes
#            ("hh" the household, "self", or a fixture name), None for a create
#   fresh    a fixture each success uses up (a new one is made for the next)
INJECT = {
    ("POST", "/api/v1/login"): dict(json=["login", "password"]),
    ("POST", "/api/v1/logout"): dict(),
    ("GET", "/api/v1/me"): dict(),
    ("POST", "/api/v1/me/password"): dict(actor="self", json=["old_password", "new_password"],
                                          free=["new_password"], tables={"users"},
                                          target="self"),
    ("GET", "/api/v1/users"): dict(actor="admin", query=["q", "role", "limit", "cursor"]),
    ("POST", "/api/v1/users"): dict(actor="admin", json=USER_FIELDS, free=["name", "password"],
                                    tables={"users"}),
    ("GET", "/api/v1/users/:id"): dict(actor="admin"),
    ("PUT", "/api/v1/users/:id"): dict(actor="admin", json=USER_FIELDS, free=["name"],
                                       tables={"users"}, target="in_user"),
    ("POST", "/api/v1/users/:id/password"): dict(actor="admin"),
    ("GET", "/api/v1/audit"): dict(actor="auditor", query=AUDIT_PARAMS),
    ("GET", "/api/v1/audit/export"): dict(actor="auditor", query=AUDIT_PARAMS),
    ("GET", "/api/v1/health"): dict(),
    ("GET", "/api/v1/codes"): dict(),
    ("GET", "/api/v1/regions"): dict(),
    ("GET", "/api/v1/regions/:code"): dict(actor="village_clerk"),
    ("GET", "/api/v1/households"): dict(actor="village_clerk",
                                        query=["region", "type", "q", "relocated", "limit",
                                               "cursor", "count"]),
    ("POST", "/api/v1/households"): dict(actor="village_clerk", json=HH_FIELDS,
                                         free=["address", "relocation_site"],
                                         tables={"household", "member"}),
    ("GET", "/api/v1/households/:id"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/households/:id"): dict(actor="village_clerk", json=HH_FIELDS,
                                            free=["address", "relocation_site"],
                                            tables={"household"}, target="hh"),
    ("DELETE", "/api/v1/households/:id"): dict(actor="village_clerk"),
    ("POST", "/api/v1/households/:id/members"): dict(actor="village_clerk", json=MEMBER_FIELDS,
                                                     free=["name"], ignored=MEMBER_IGNORED,
                                                     tables={"member"}),
    ("GET", "/api/v1/members/:id"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/members/:id"): dict(actor="village_clerk", json=MEMBER_FIELDS,
                                         free=["name"], ignored=MEMBER_IGNORED,
                                         tables={"member"}, target="member"),
    ("DELETE", "/api/v1/members/:id"): dict(actor="village_clerk"),
    ("GET", "/api/v1/households/:id/income/:year"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/households/:id/income/:year"): dict(
        actor="village_clerk",
        json=["items", "items.0.item", "items.0.amount", "items.0.note", "items.0.category",
              "items.0.group"],
        # saving a ledger runs the risk rules on the household (may raise an alert)
        free=["items.0.note"], tables={"income_item", "income_summary", "alert",
                                       "alert_evidence"}),
    ("GET", "/api/v1/households/:id/income-ident/:month"): dict(actor="village_clerk"),
    ("GET", "/api/v1/households/:id/measures"): dict(actor="village_clerk"),
    ("POST", "/api/v1/households/:id/measures"): dict(
        actor="village_clerk", json=MEASURE_FIELDS, free=["unit", "person", "evidence"],
        ignored=MEASURE_IGNORED, tables={"measure"}),
    ("GET", "/api/v1/measures/:id"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/measures/:id"): dict(
        actor="village_clerk", json=MEASURE_FIELDS, free=["unit", "person", "evidence"],
        ignored=MEASURE_IGNORED, tables={"measure"}, target="measure_in"),
    ("DELETE", "/api/v1/measures/:id"): dict(actor="village_clerk"),
    ("GET", "/api/v1/households/:id/plan/:year"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/households/:id/plan/:year"): dict(
        actor="village_clerk", json=["plan", "dev_status", "household_id", "year", "saved",
                                     "updated_at"],
        free=["plan"], ignored=["household_id", "year", "saved", "updated_at"],
        tables={"help_plan"}),
    ("GET", "/api/v1/monitor-lines"): dict(actor="village_clerk", query=["year", "region"]),
    ("GET", "/api/v1/monitor-lines/applicable"): dict(actor="village_clerk",
                                                      query=["code", "year"]),
    ("POST", "/api/v1/monitor-lines"): dict(actor="admin", json=LINE_FIELDS,
                                            free=["basis", "source"], ignored=LINE_IGNORED,
                                            tables={"monitor_line"}),
    ("PUT", "/api/v1/monitor-lines/:id"): dict(actor="admin", json=LINE_FIELDS,
                                               free=["basis", "source"], ignored=LINE_IGNORED,
                                               tables={"monitor_line"}, target="line_in"),
    ("DELETE", "/api/v1/monitor-lines/:id"): dict(actor="admin"),
    ("GET", "/api/v1/calendar"): dict(actor="village_clerk", query=["year"]),
    ("GET", "/api/v1/calendar/workdays"): dict(actor="village_clerk",
                                               query=["from", "days", "to"]),
    ("POST", "/api/v1/calendar"): dict(actor="tester",
                                       json=["date", "kind", "name", "source", "weekday",
                                             "days", "year"],
                                       free=["name", "source"], ignored=["weekday"],
                                       tables={"work_calendar"}),
    ("DELETE", "/api/v1/calendar/:date"): dict(actor="tester"),
    ("GET", "/api/v1/monitor-settings"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/monitor-settings"): dict(actor="tester", json=["income_denominator"]),
    ("GET", "/api/v1/monitor-codes"): dict(),
    ("GET", "/api/v1/alerts"): dict(actor="village_clerk",
                                    query=["status", "region", "limit", "cursor"]),
    ("GET", "/api/v1/alerts/:id"): dict(actor="village_clerk"),
    ("POST", "/api/v1/alerts/:id/dismiss"): dict(actor="village_clerk", json=["reason"],
                                                 free=["reason"], tables={"alert"},
                                                 fresh="alert"),
    ("POST", "/api/v1/alerts/:id/case"): dict(actor="village_clerk"),
    ("GET", "/api/v1/cases"): dict(actor="village_clerk",
                                   query=["kind", "state", "step", "region", "light", "mine",
                                          "limit", "cursor"]),
    ("GET", "/api/v1/cases/:id"): dict(actor="village_clerk"),
    ("POST", "/api/v1/cases/:id/advance"): dict(actor="village_clerk", json=["note"],
                                                free=["note"], tables=CASE_TABLES,
                                                fresh="case1"),
    ("POST", "/api/v1/cases/:id/return"): dict(actor="township_reviewer", json=["reason"],
                                               free=["reason"], tables=CASE_TABLES,
                                               fresh="case2"),
    ("POST", "/api/v1/cases/:id/reject"): dict(actor="village_clerk", json=["reason"],
                                               free=["reason"], tables=CASE_TABLES,
                                               fresh="case1"),
    ("POST", "/api/v1/households/:id/elimination"): dict(actor="village_clerk", json=["mode"]),
    ("GET", "/api/v1/households/:id/monitoring"): dict(actor="village_clerk"),
    ("POST", "/api/v1/households/:id/visits"): dict(
        actor="village_clerk", json=["visit_date", "note", "risk_found", "risk_types"],
        free=["note"], tables={"visit"}),
    ("GET", "/api/v1/households/:id/visits"): dict(actor="village_clerk"),
    ("POST", "/api/v1/households/:id/applications"): dict(
        actor="village_clerk", json=["reason", "risk_types", "applied_on"], free=["reason"],
        tables={"alert", "alert_evidence"}),
    ("PUT", "/api/v1/households/:id/security/:year"): dict(
        actor="village_clerk", json=["housing_safe", "schooling_ok", "water_safe",
                                     "medical_ok"]),
    ("GET", "/api/v1/households/:id/timeline"): dict(actor="village_clerk"),
    ("GET", "/api/v1/rules"): dict(actor="village_clerk"),
    ("GET", "/api/v1/rules/:id"): dict(actor="village_clerk"),
    ("POST", "/api/v1/rules"): dict(actor="tester", json=RULE_FIELDS, free=["title"],
                                    tables={"rule_def"}),
    ("PUT", "/api/v1/rules/:id"): dict(actor="tester", json=RULE_FIELDS, free=["title"],
                                       tables={"rule_def"}, target="rule"),
    # the expression is compiled to SQL: it must reject these, not run them
    # (a scope other than "member" means household; a year not a number, this year)
    ("POST", "/api/v1/rules/preview"): dict(actor="admin", json=["expression", "scope", "year"],
                                            ignored=["scope", "year"]),
    # a year that is not a number is ignored (this year is screened)
    ("POST", "/api/v1/screen"): dict(actor="admin", json=["year", "region"], ignored=["year"],
                                     tables={"rule_run", "rule_hit", "alert",
                                             "alert_evidence"}),
    ("GET", "/api/v1/households/:id/rule-hits"): dict(actor="village_clerk"),
    ("GET", "/api/v1/feeds"): dict(actor="village_clerk"),
    ("GET", "/api/v1/feeds/:id"): dict(actor="village_clerk"),
    ("POST", "/api/v1/feeds"): dict(actor="tester", json=["id", "title", "department", "cadence",
                                                         "columns.1.title", "rules.0.expression",
                                                         "rules.0.title"],
                                    free=["title", "department", "cadence", "rules.0.title"],
                                    tables={"feed_def", "feed_rule", "feed_param"}),
    ("PUT", "/api/v1/feeds/:id/rules/:rule"): dict(
        actor="tester", json=["title", "severity", "expression", "enabled", "risk_types"],
        free=["title"], tables={"feed_rule"}),
    ("PUT", "/api/v1/feeds/:id/params/:name"): dict(
        actor="admin", json=["value", "year", "region", "basis"], free=["basis"],
        tables={"feed_param"}),
    # an injected query parameter comes without a file: refused before loading
    ("POST", "/api/v1/feeds/:id/batches"): dict(
        actor="dept_user", query=["period", "skip_bad", "dry_run", "file_name"]),
    ("GET", "/api/v1/feed-batches"): dict(actor="dept_user", query=["feed", "cursor", "limit"]),
    ("GET", "/api/v1/feed-batches/:id"): dict(actor="dept_user",
                                              query=["kind", "cursor", "limit"]),
    ("GET", "/api/v1/feed-hits"): dict(actor="village_clerk",
                                       query=["state", "feed", "region", "overdue",
                                              "household_id", "cursor", "limit"]),
    ("POST", "/api/v1/feed-hits/:id/feedback"): dict(actor="village_clerk",
                                                     json=["state", "note"], free=["note"],
                                                     tables={"feed_hit"}, target="feed_hit"),
    # the upload's body is a file, not JSON: only its parameters are injected
    ("POST", "/api/v1/imports"): dict(actor="village_clerk", query=["kind", "dry_run", "skip_bad"]),
    ("GET", "/api/v1/imports/:id"): dict(actor="village_clerk"),
    ("GET", "/api/v1/imports/:id/annotated.xlsx"): dict(actor="village_clerk"),
    ("GET", "/api/v1/notices"): dict(actor="village_clerk", query=["kind", "limit", "cursor"]),
    ("POST", "/api/v1/notices"): dict(actor="county_approver", json=["case_ids", "phone"],
                                      tables={"case_notice", "case_notice_item", "case_event",
                                              "monitor_case", "case_count"},
                                      fresh="done_case"),
    ("GET", "/api/v1/notices/:id"): dict(actor="village_clerk"),
    ("GET", "/api/v1/case-totals"): dict(actor="village_clerk"),
    ("GET", "/api/v1/checks"): dict(actor="village_clerk", query=["group"]),
    ("POST", "/api/v1/checks"): dict(actor="tester", json=CHECK_FIELDS, free=["title", "advice"],
                                     tables={"check_def"}),
    ("PUT", "/api/v1/checks/:id"): dict(actor="tester", json=["title", "advice", "severity",
                                                             "enabled", "expression"],
                                        free=["title", "advice"], tables={"check_def"},
                                        target="check"),
    ("POST", "/api/v1/check-runs"): dict(actor="admin", json=["region", "year", "group"],
                                         tables={"check_run", "check_finding"}),
    ("GET", "/api/v1/check-findings"): dict(actor="village_clerk", query=[
        "region", "check", "group", "severity", "state", "household", "limit", "cursor",
        "count"]),
    ("GET", "/api/v1/check-findings/summary"): dict(actor="village_clerk", query=[
        "region", "group", "state", "limit", "cursor"]),
    ("GET", "/api/v1/households/:id/check-findings"): dict(actor="village_clerk",
                                                           query=["state"]),
    ("GET", "/api/v1/export/households"): dict(actor="village_clerk",
                                               query=["format", "region", "profile"]),
    ("GET", "/api/v1/export/members"): dict(actor="village_clerk",
                                            query=["format", "region", "profile"]),
    ("GET", "/api/v1/export/monitored"): dict(actor="village_clerk", query=["format", "region"]),
    ("GET", "/api/v1/export/measures"): dict(actor="village_clerk", query=["format", "region"]),
    ("GET", "/api/v1/export/alerts"): dict(actor="village_clerk", query=["format", "region"]),
    ("GET", "/api/v1/export/findings"): dict(actor="village_clerk", query=["format", "region"]),
    ("GET", "/api/v1/export/feed-hits"): dict(actor="dept_user", query=["format", "region"]),
    ("GET", "/api/v1/layout-profiles"): dict(actor="village_clerk"),
    ("GET", "/api/v1/layout-profiles/:name"): dict(actor="village_clerk"),
    ("PUT", "/api/v1/layout-profiles/:name"): dict(
        actor="village_clerk", json=["name", "title", "kind", "header_row", "sheet", "titles",
                                     "columns", "columns.0.header", "columns.0.field"],
        free=["title", "sheet", "columns.0.header"], tables={"layout_profile"}),
    ("DELETE", "/api/v1/layout-profiles/:name"): dict(actor="village_clerk"),
    ("GET", "/api/v1/public-notice"): dict(actor="village_clerk",
                                           query=["region", "kind", "phone"]),
    ("GET", "/api/v1/notices/:id/print"): dict(actor="village_clerk"),
}
INJECT.update({("GET", p): dict(actor="village_clerk",
                                query=["region", "months"] if p.endswith(("trend", "dashboard"))
                                else ["region"])
               for p in REPORT_ROUTES})


def enc(v):
    return urllib.parse.quote(v if isinstance(v, bytes) else v.encode(), safe="")


def with_field(base, field, value):
    """`base` as JSON bytes with `field` (a.b.0.c for nested) set to `value`;
    raw bytes go in as they are, making the body invalid UTF-8."""
    d = json.loads(json.dumps(base))
    node, parts = d, field.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[parts[-1]] = "@@RAW@@" if isinstance(value, bytes) else value
    out = json.dumps(d, ensure_ascii=False).encode()
    return out.replace(b"@@RAW@@", value) if isinstance(value, bytes) else out


def stored(rows, value):
    """1 if some row holds `value`, as a column or inside a JSON column."""
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}
    return any(isinstance(cell, str) and any(f in cell for f in forms)
               for row in rows for cell in row)


class Injector:
    """Targets and valid requests for every route, for the injection test."""

    def __init__(self, c):
        self.c = c
        self.fam = make_family(c)
        self.member = child_of(self.fam)["id"]
        self.self_user = User("inj.self", "village_clerk", c.village,
                              quick_user(c.s, "inj.self", "village_clerk", c.village),
                              uid_of(c.db, "inj.self"))
        self.pw = PW
        self.current = {}    # fresh fixtures in use: name → id

    def fixture(self, name):
        c = self.c
        if name not in self.current:
            self.current[name] = {"alert": lambda: make_alert(c),
                                  "case1": lambda: make_case(c),
                                  "case2": lambda: make_case(c, step=2),
                                  "done_case": lambda: make_done_case(c)}[name]()
        return self.current[name]

    def used_up(self, name):
        self.current.pop(name, None)

    def actor(self, spec):
        a = spec.get("actor")
        if a == "tester":
            return self.c.tester  # a county's 系统管理员 (county-wide settings)
        return self.self_user if a == "self" else self.c.users[a] if a else None

    def param(self, key, name):
        """The valid value of path parameter `name` of route `key`."""
        c, spec = self.c, INJECT[key]
        p = key[1]
        if name == ":year":
            return "2025"
        if name == ":month":
            return "2026-03"
        if name == ":date":
            return c.cal_date
        if name == ":code":
            return c.village
        if p.startswith("/api/v1/layout-profiles/"):  # the built-in one to read, a user's to write
            return "national" if key[0] == "GET" else "inj-profile"
        if spec.get("fresh"):
            return str(self.fixture(spec["fresh"]))
        if p.startswith("/api/v1/users/"):
            return str(c.in_user["id"])
        if p.startswith("/api/v1/households/"):
            return str(self.fam["id"])
        if p.startswith("/api/v1/members/"):
            return str(self.member)
        if p.startswith("/api/v1/measures/"):
            return str(c.measure_in)
        if p.startswith("/api/v1/monitor-lines/"):
            return str(c.line_in)
        if p.startswith("/api/v1/alerts/"):
            return str(c.alert_in)
        if p.startswith("/api/v1/cases/"):
            return str(c.case1)
        if p.startswith("/api/v1/rules/"):
            return c.rule
        if name == ":rule":
            return "YJ01"
        if name == ":name":
            return "tuopin_cum"
        if p.startswith("/api/v1/feeds/"):
            return "yibao_inpatient" if "params" in p or "batches" in p else "yingji_disaster"
        if p.startswith("/api/v1/feed-batches/"):
            return str(c.feed_batch_in)
        if p.startswith("/api/v1/feed-hits/"):
            return str(c.feed_hit_in)
        if p.startswith("/api/v1/imports/") and p.endswith("/annotated.xlsx"):
            clerk = c.users["village_clerk"]
            if clerk.login not in c.ajobs:
                c.ajobs[clerk.login] = make_annotated_job(c, clerk)
            return str(c.ajobs[clerk.login])
        if p.startswith("/api/v1/imports/"):
            clerk = c.users["village_clerk"]
            if clerk.login not in c.jobs:
                c.jobs[clerk.login] = make_job(c, clerk)
            return str(c.jobs[clerk.login])
        if p.startswith("/api/v1/notices/"):
            return str(c.notice_in)
        if p.startswith("/api/v1/checks/"):
            return c.check
        raise AssertionError("no value for %s in %s" % (name, p))

    def path(self, key, override=None):
        """The route's path with valid parameters, `override` = (name, encoded value)."""
        def sub(m):
            if override and m.group(0) == override[0]:
                return override[1]
            return enc(self.param(key, m.group(0)))
        return re.sub(r":[a-z]+", sub, key[1])

    def query(self, key, param=None, value=None):
        """A valid query string for `key`, with `param` set to `value` (raw)."""
        base = {("GET", "/api/v1/calendar/workdays"): {"from": "2026-03-02", "days": "3"},
                ("GET", "/api/v1/monitor-lines/applicable"): {"code": self.c.village,
                                                              "year": "2025"},
                ("GET", "/api/v1/public-notice"): {"region": self.c.village,
                                                   "kind": "identify"},
                ("POST", "/api/v1/imports"): {"kind": "members", "dry_run": "1"}}.get(key, {})
        q = {k: enc(v) for k, v in base.items()}
        if param:
            q[param] = enc(value)
        return "&".join("%s=%s" % kv for kv in q.items())

    def body(self, key):
        c = self.c
        bodies = {
            ("POST", "/api/v1/login"): lambda: {"login": "nobody.inject",
                                                "password": "Wrong#Pass2026x"},
            ("POST", "/api/v1/me/password"): lambda: {"old_password": self.pw,
                                                      "new_password": "Unused#Pass2026q"},
            ("POST", "/api/v1/users"): lambda: {
                "login": fresh_login(), "name": "注入测试", "role": "village_clerk",
                "scope_code": c.village, "department": "村民委员会", "phone": "13900001111"},
            ("PUT", "/api/v1/users/:id"): lambda: {"name": "注入测试"},
            ("POST", "/api/v1/households"): lambda: family_body(c, c.village),
            ("PUT", "/api/v1/households/:id"): lambda: {"address": "注入测试"},
            ("POST", "/api/v1/households/:id/members"): lambda: member_body(
                c, "张小红", "之女", "女", "20050505"),
            ("PUT", "/api/v1/members/:id"): lambda: {"name": "注入测试"},
            ("PUT", "/api/v1/households/:id/income/:year"): lambda: INCOME,
            ("POST", "/api/v1/households/:id/measures"): lambda: MEASURE,
            ("PUT", "/api/v1/measures/:id"): lambda: {"unit": "注入测试"},
            ("PUT", "/api/v1/households/:id/plan/:year"): lambda: {"plan": "注入测试"},
            ("POST", "/api/v1/monitor-lines"): lambda: line_body(c, TOWNSHIP),
            ("PUT", "/api/v1/monitor-lines/:id"): lambda: {"basis": "注入测试"},
            ("POST", "/api/v1/calendar"): cal_body,
            ("PUT", "/api/v1/monitor-settings"): lambda: {"income_denominator": "户籍人口"},
            ("POST", "/api/v1/alerts/:id/dismiss"): lambda: {"reason": "注入测试"},
            ("POST", "/api/v1/cases/:id/advance"): lambda: {"note": "注入测试"},
            ("POST", "/api/v1/cases/:id/return"): lambda: {"reason": "注入测试"},
            ("POST", "/api/v1/cases/:id/reject"): lambda: {"reason": "注入测试"},
            ("POST", "/api/v1/households/:id/elimination"): lambda: {"mode": "帮扶消除"},
            ("POST", "/api/v1/households/:id/visits"): lambda: {"visit_date": PAST,
                                                                "note": "注入测试"},
            ("POST", "/api/v1/households/:id/applications"): lambda: {"reason": "注入测试"},
            ("PUT", "/api/v1/households/:id/security/:year"): lambda: SECURITY,
            ("POST", "/api/v1/rules"): rule_body,
            ("PUT", "/api/v1/rules/:id"): lambda: {"title": "注入测试"},
            ("POST", "/api/v1/rules/preview"): lambda: {"expression": "true", "year": 2025},
            ("POST", "/api/v1/screen"): lambda: {"year": 2025},
            ("POST", "/api/v1/feeds"): lambda: FEED_DEF,
            ("PUT", "/api/v1/feeds/:id/rules/:rule"): lambda: {"title": "注入测试"},
            ("PUT", "/api/v1/feeds/:id/params/:name"): lambda: {"value": 5000, "year": 2026,
                                                                "region": TOWNSHIP},
            ("POST", "/api/v1/feeds/:id/batches"): lambda: (
                "身份证号,姓名,个人自付\n%s,x,%d\n" % (q1(c.db, "SELECT id_number FROM member "
                                                       "WHERE household_id = ?", (c.fx["id"],)),
                                                  next(_feed_seq))).encode(),
            ("POST", "/api/v1/feed-hits/:id/feedback"): lambda: {"state": "不属实",
                                                                 "note": "注入测试"},
            ("POST", "/api/v1/imports"): lambda: import_csv(c, c.village),
            ("POST", "/api/v1/notices"): lambda: {"case_ids": [self.fixture("done_case")],
                                                  "phone": "0915-8421234"},
            ("POST", "/api/v1/checks"): check_body,
            ("PUT", "/api/v1/checks/:id"): lambda: {"title": "注入测试"},
            ("POST", "/api/v1/check-runs"): lambda: {"group": "structure"},
            ("PUT", "/api/v1/layout-profiles/:name"): lambda: dict(PROFILE),
        }
        return bodies[key]() if key in bodies else None

    def target(self, key):
        """The id of the row a change of `key` may touch, or None (a create)."""
        t = INJECT[key].get("target")
        c = self.c
        return {None: None, "hh": self.fam["id"], "self": self.self_user.id,
                "member": self.member, "in_user": c.in_user["id"],
                "measure_in": c.measure_in, "line_in": c.line_in,
                "rule": c.rule, "feed_hit": c.feed_hit_in, "check": c.check}[t]


def test_injection_and_traversal_strings_reach_nothing():
    """Hostile strings in every query parameter, path parameter and JSON field
    of every route: never a 5xx, never a row outside the caller's scope, and
    a write either refused with nothing changed or, for free-text fields,
    the string stored as given (as data) in the rows the route may change."""
    c = C()
    routes = list_routes()
    keys = {(r["method"], r["pattern"]) for r in routes}
    assert keys == set(INJECT), "INJECT does not cover the routes: %s" % sorted(
        keys ^ set(INJECT))
    write = {(r["method"], r["pattern"]): r["write"] for r in routes}
    inj = Injector(c)
    in_scope_users = {row[0] for row in query(c.db, "SELECT id FROM users WHERE scope_code LIKE ?",
                                              (TOWNSHIP + "%",))}
    login_src = "127.0.0.9"
    problems = []

    def send(key, path, body):
        u = inj.actor(INJECT[key])
        return call(c.s, key[0], path, body, token=u.token if u else None,
                    source=login_src if key == ("POST", "/api/v1/login") else None)

    def check_read(key, r, what):
        if r.status >= 500:
            return "%s: %s" % (what, show(r))
        if r.status != 200:
            return None
        b = r.body
        if key == ("GET", "/api/v1/households"):
            bad = [x for x in b["items"] if x["village_code"] != c.village]
            if bad:
                return "%s: out-of-scope households %s" % (what, bad[:2])
        if key == ("GET", "/api/v1/users"):
            bad = [x["login"] for x in b["items"] if not x["scope_code"].startswith(TOWNSHIP)]
            if bad:
                return "%s: out-of-scope users %s" % (what, bad)
        if key == ("GET", "/api/v1/audit"):
            bad = [x["id"] for x in b["items"] if x["user_id"] not in in_scope_users]
            if bad:
                return "%s: audit rows of out-of-scope users %s" % (what, bad[:5])
        if key == ("GET", "/api/v1/audit/export"):
            rows = list(csv.reader(io.StringIO(b.lstrip("\ufeff"))))[1:]
            bad = [row[0] for row in rows if not row[2] or int(row[2]) not in in_scope_users]
            if bad:
                return "%s: exported audit rows of out-of-scope users %s" % (what, bad[:5])
        if key == ("GET", "/api/v1/check-findings"):
            bad = [x["id"] for x in b["items"] if not x["village_code"].startswith(c.village)]
            if bad:
                return "%s: out-of-scope findings %s" % (what, bad[:5])
        if key == ("GET", "/api/v1/check-findings/summary"):
            bad = [x["village_code"] for x in b["villages"]
                   if not x["village_code"].startswith(c.village)]
            if bad:
                return "%s: out-of-scope villages %s" % (what, bad[:5])
        if key in (("GET", "/api/v1/alerts"), ("GET", "/api/v1/cases")):
            hhs = {x["household_id"] for x in b["items"]}
            if hhs and q1(c.db, "SELECT count(*) FROM household WHERE id IN (%s) AND "
                                "village_code NOT LIKE ?" % ",".join(map(str, hhs)),
                          (c.village + "%",)):
                return "%s: out-of-scope %s" % (what, key[1])
        return None

    def check_write(key, field, value, r, d, what):
        spec = INJECT[key]
        if r.status >= 500:
            return "%s: %s" % (what, show(r))
        if r.status >= 300:
            return "%s: refused (%d) but changed %s" % (what, r.status, sorted(d)) if d else None
        if field not in spec.get("free", []) and field not in spec.get("ignored", []):
            return "%s: accepted: %s" % (what, show(r))
        if set(d) - spec.get("tables", set()):
            return "%s: changed tables %s" % (what, sorted(set(d) - spec.get("tables", set())))
        target = inj.target(key)
        primary = sorted(spec.get("tables", set()))
        if target is not None:
            for t, (removed, added) in d.items():
                if t in primary and len(primary) == 1 and any(
                        row[0] != target for row in removed | added):
                    return "%s: changed rows other than %s in %s" % (what, target, t)
        added = [row for _, a in d.values() for row in a]
        removed = [row for rm, _ in d.values() for row in rm]
        if field in spec.get("free", []) and "password" not in field:
            if not stored(added, value.strip(" ")):
                return "%s: %r not stored as given (%s)" % (what, value[:40], show(r))
        if (field in spec.get("ignored", []) and stored(added, value)
                and not stored(removed, value)):
            return "%s: an ignored field was stored" % what
        return None

    # controls: without a hostile string each request succeeds (the login
    # fails), so the refusals below are the strings' doing
    for key in sorted(INJECT):
        spec = INJECT[key]
        if key[0] == "DELETE" or not (spec.get("json") or spec.get("query") or ":" in key[1]):
            continue
        if key == ("POST", "/api/v1/households/:id/elimination"):
            continue                  # refused for every household that is not monitored
        r = send(key, inj.path(key) + "?" + inj.query(key), inj.body(key))
        if key == ("POST", "/api/v1/login"):
            expect_error(r, 401, "E_LOGIN_FAILED", "control")
        else:
            assert 200 <= r.status < 300, ("control", key, show(r))
        if key == ("POST", "/api/v1/me/password"):
            inj.pw = "Unused#Pass2026q"
        if spec.get("fresh") and key[0] == "POST" and 200 <= r.status < 300:
            inj.used_up(spec["fresh"])

    for key in sorted(INJECT):
        spec = INJECT[key]
        # path parameters: the hostile string alone and after a valid value
        for name in re.findall(r":[a-z]+", key[1]):
            good = inj.param(key, name)
            for value in PAYLOADS:
                prefixed = good.encode() + value if isinstance(value, bytes) else good + value
                for v in (value, prefixed):
                    path, body = inj.path(key, (name, enc(v))), inj.body(key)
                    c.watch.sync()
                    r = send(key, path, body)
                    what = "%s %s %s=%r" % (key[0], key[1], name, v[:30])
                    if r.status not in (400, 404):
                        problems.append("%s: %s" % (what, show(r)))
                    d = c.watch.diff()
                    if write[key] and d:
                        problems.append("%s: changed %s" % (what, sorted(d)))
        for param in spec.get("query", []):
            for value in PAYLOADS:
                c.watch.sync()
                r = send(key, "%s?%s" % (inj.path(key), inj.query(key, param, value)), None)
                what = "%s %s ?%s=%r" % (key[0], key[1], param, value[:30])
                p = check_read(key, r, what)
                if p:
                    problems.append(p)
                if r.status not in (200, 400):
                    problems.append("%s: %s" % (what, show(r)))
                if (r.status == 200 and param == "q" and isinstance(r.body, dict)
                        and r.body["items"]):
                    problems.append("%s: search found %d rows" % (what, len(r.body["items"])))
                if c.watch.diff():
                    problems.append("%s: changed the database" % what)
        for field in spec.get("json", []):
            for value in PAYLOADS:
                path, body = inj.path(key), with_field(inj.body(key), field, value)
                c.watch.sync()      # after any fixture the request needs was made
                r = send(key, path, body)
                d = c.watch.diff()
                what = "%s %s {%s: %r}" % (key[0], key[1], field, value[:30])
                p = check_write(key, field, value, r, d, what)
                if p:
                    problems.append(p)
                if 200 <= r.status < 300:
                    if key == ("POST", "/api/v1/me/password"):
                        inj.pw = value
                    if spec.get("fresh"):
                        inj.used_up(spec["fresh"])
    # the tables are all still there, and free text was stored as text
    names = tables(c.db)
    for t in ("users", "household", "member", "audit_log", "sessions", "rule_def", "measure"):
        assert t in names, t
    for sql, value in (("SELECT count(*) FROM household WHERE address = ?", "' OR 1=1 --"),
                       ("SELECT count(*) FROM household WHERE relocation_site = ?",
                        "1; DROP TABLE users"),
                       ("SELECT count(*) FROM member WHERE name = ?", "<script>alert(1)</script>"),
                       ("SELECT count(*) FROM users WHERE name = ?", "../../etc/passwd"),
                       ("SELECT count(*) FROM measure WHERE evidence = ?", "' OR 1=1 --"),
                       ("SELECT count(*) FROM visit WHERE note = ?", "1; DROP TABLE users")):
        assert q1(c.db, sql, (value,)) >= 1, (sql, value)
    assert not problems, "\n".join(problems[:40]) + "\n(%d problems)" % len(problems)

def test_traversal_paths_serve_no_files():
    c = C()
    for path in ("/../../etc/passwd", "/static/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/..%2f..%2fetc%2fpasswd", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                 "/api/v1/households/../../../etc/passwd", "/api/v1/../../etc/passwd",
                 "/etc/passwd", "/static/..%5c..%5cetc%5cpasswd", "/%00", "/index.html%00.js"):
        for tok in (None, c.s.token):
            r = call(c.s, "GET", path, token=tok)
            assert r.status in (400, 401, 404), (path, show(r))
            assert b"root:" not in r.raw, path


# ---- brute-force lockout ---------------------------------------------------------------

def lock_row(db, key):
    rows = query(db, "SELECT failures, last_failure, locked_until FROM login_lock WHERE key = ?",
                 (key,))
    return rows[0] if rows else None


def set_lock(db, key, failures, last_failure, locked_until):
    execute(db, "UPDATE login_lock SET failures = ?, last_failure = ?, locked_until = ? WHERE "
                "key = ?", (failures, last_failure, locked_until, key))


def retry_after(r):
    expect_error(r, 429, "E_LOCKED", "locked login")
    assert re.fullmatch(r"\d+", r.headers.get("retry-after", "")), r.headers
    return int(r.headers["retry-after"])


def test_lockout_per_account_with_back_off():
    c = C()
    src = "127.0.0.2"
    cli("user", "add", "lock.victim", "--name", "锁定测试", "--role", "leader", "--scope", COUNTY,
        "--db", c.db, "--password-stdin", stdin=PW + "\n", check=0)
    key = "user:lock.victim"
    last = audit_max(c.db)

    def attempt(pw, source=src):
        return call(c.s, "POST", "/api/v1/login", {"login": "lock.victim", "password": pw},
                    source=source)

    for i in range(4):
        expect_error(attempt("Wrong#Pass%04d" % i), 401, "E_LOGIN_FAILED")
    assert lock_row(c.db, key)[0] == 4
    expect(attempt(PW), 200, "4 failures do not lock")    # and a success resets the count
    assert lock_row(c.db, key) is None
    for i in range(5):
        expect_error(attempt("Wrong#Pass%04d" % i), 401, "E_LOGIN_FAILED", "failure %d" % i)
    wait = retry_after(attempt(PW))                      # the right password, refused
    assert 58 <= wait <= 60, wait
    # the lock holds from any address, and retrying does not lengthen it
    wait2 = retry_after(attempt(PW, source="127.0.0.1"))
    assert wait2 <= wait, (wait, wait2)
    assert lock_row(c.db, key)[2] - int(time.time()) <= 60
    rows = audit_since(c.db, last)
    assert [(a["status"], a["action"]) for a in rows] == [(401, "POST /api/v1/login")] * 4 + [
        (200, "POST /api/v1/login")] + [(401, "POST /api/v1/login")] * 5 + [
        (429, "POST /api/v1/login")] * 2, [(a["status"], a["detail"]) for a in rows]
    assert all(a["login"] == "lock.victim" for a in rows)
    assert rows[0]["detail"] == "登录失败：密码错误" and rows[0]["user_id"] is not None
    assert rows[-1]["addr"] == "127.0.0.1" and rows[0]["addr"] == src

    # back-off: each failure after a lock ends doubles it (60, 120, 240 … 3600)
    now = int(time.time())
    for failures, want in ((5, 120), (6, 240), (7, 480)):
        set_lock(c.db, key, failures, now - 61, now - 1)      # the lock has just ended
        expect_error(attempt("Wrong#Again1"), 401, "E_LOGIN_FAILED")
        wait = retry_after(attempt(PW))
        assert want - 2 <= wait <= want, (failures, wait, want)
    set_lock(c.db, key, 30, now - 61, now - 1)
    expect_error(attempt("Wrong#Again1"), 401, "E_LOGIN_FAILED")
    assert 3598 <= retry_after(attempt(PW)) <= 3600
    # a long lock is not forgiven just because it outlasted the quiet period
    set_lock(c.db, key, 9, now - 1000, now - 1)
    expect_error(attempt("Wrong#Again1"), 401, "E_LOGIN_FAILED")
    assert 1918 <= retry_after(attempt(PW)) <= 1920
    # a quiet quarter of an hour after the lock ended forgives old failures
    set_lock(c.db, key, 9, now - 2000, now - 1000)
    expect_error(attempt("Wrong#Again1"), 401, "E_LOGIN_FAILED")
    assert lock_row(c.db, key)[0] == 1
    expect(attempt(PW), 200, "after forgiveness")


def parallel(fn, args, workers=4):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, args))


def test_lockout_holds_against_parallel_guesses():
    """Guesses sent at once get no more tries than guesses sent one by one:
    the password is verified outside the write lock, but the outcome is
    decided under it."""
    c = C()
    cli("user", "add", "lock.parallel", "--name", "并发锁定", "--role", "leader", "--scope",
        COUNTY, "--db", c.db, "--password-stdin", stdin=PW + "\n", check=0)
    rs = parallel(lambda i: call(c.s, "POST", "/api/v1/login",
                                 {"login": "lock.parallel", "password": "Guess#%04d" % i},
                                 source="127.0.0.8"), range(9))
    assert sorted(r.status for r in rs) == [401] * 5 + [429] * 4, [show(r) for r in rs]
    assert lock_row(c.db, "user:lock.parallel")[0] == 5
    assert 58 <= retry_after(call(c.s, "POST", "/api/v1/login",
                                  {"login": "lock.parallel", "password": PW})) <= 60


def test_lockout_per_address_across_accounts():
    c = C()
    src = "127.0.0.3"
    last = audit_max(c.db)
    # different accounts, real and unknown, one failure each (sent in parallel)
    names = ["tester", "m.leader", "m.auditor"] + ["nobody%02d" % i for i in range(3, 20)]
    rs = parallel(lambda name: call(c.s, "POST", "/api/v1/login",
                                    {"login": name, "password": "Bad#Guess2026"}, source=src),
                  names)
    for name, r in zip(names, rs):
        expect_error(r, 401, "E_LOGIN_FAILED", name)
    assert lock_row(c.db, "addr:" + src)[0] == 20
    r = call(c.s, "POST", "/api/v1/login", {"login": "tester", "password": PW}, source=src)
    wait = retry_after(r)
    assert 58 <= wait <= 60
    assert "token" not in r.body
    # other addresses are not locked, and the accounts are not either
    expect(call(c.s, "POST", "/api/v1/login", {"login": "tester", "password": PW}), 200)
    rows = audit_since(c.db, last)
    fails = [a for a in rows if a["addr"] == src]
    assert [a["status"] for a in fails] == [401] * 20 + [429], [a["status"] for a in fails]
    by_login = {a["login"]: a for a in fails[:20]}
    assert set(by_login) == set(names)
    assert by_login["nobody07"]["detail"] == "登录失败：账号不存在"
    assert by_login["nobody07"]["user_id"] is None
    assert by_login["tester"]["detail"] == "登录失败：密码错误"
    assert by_login["tester"]["user_id"] == c.tester.id


# ---- sessions ----------------------------------------------------------------------

def cookie_of(r):
    m = re.search(r"liubao_session=([^;]*)", r.headers.get("set-cookie", ""))
    return m.group(1) if m else None


def test_session_tokens_and_cookies():
    c = C()
    r = call(c.s, "POST", "/api/v1/login", {"login": "m.leader", "password": PW})
    b = expect(r, 200, "login")
    tok = b["token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", tok), tok
    assert len(base64.urlsafe_b64decode(tok + "=")) == 32
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", b["csrf_token"]) and b["csrf_token"] != tok
    sc = r.headers["set-cookie"]
    parts = [p.strip() for p in sc.split(";")]
    assert parts[0] == "liubao_session=" + tok, sc
    assert "HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/" in parts, sc
    assert b["user"]["login"] == "m.leader" and "password_hash" not in b["user"]
    # only a hash of the token is stored
    stored = query(c.db, "SELECT token_hash, csrf FROM sessions")
    assert all(tok not in row[0] for row in stored)
    assert tok not in json.dumps(snapshot(c.db, include_activity=True), default=str)
    tok2 = login(c.s, "m.leader")["token"]
    assert tok2 != tok
    # the cookie works like the bearer token (reads need no CSRF token)
    expect(call(c.s, "GET", "/api/v1/me", cookie=tok), 200, "cookie")
    # logout ends this session only, and clears the cookie
    r = call(c.s, "POST", "/api/v1/logout", token=tok)
    expect(r, 200, "logout")
    assert "Max-Age=0" in r.headers["set-cookie"] and cookie_of(r) == ""
    for kw in ({"token": tok}, {"cookie": tok}):
        e = expect_error(call(c.s, "GET", "/api/v1/me", **kw), 401, "E_AUTH", "after logout")
        assert "重新登录" in e["message"]
    expect(call(c.s, "GET", "/api/v1/me", token=tok2), 200, "other session")
    expect_error(call(c.s, "GET", "/api/v1/me"), 401, "E_AUTH")
    for bad in ("", "x", tok2[:-1], tok2 + "A", tok2.upper(), "' OR 1=1 --" * 3):
        expect_error(call(c.s, "GET", "/api/v1/me", headers={"Authorization": "Bearer " + bad}),
                     401, "E_AUTH", repr(bad))


def test_login_with_any_user_agent():
    # the User-Agent is stored with the session: PostgreSQL refused one that
    # was not UTF-8, and the login failed with 500
    c = C()
    for ua in (b"\xff\xfe Mozilla", "浏览器/1.0".encode(), "张".encode() * 400, b""):
        r = call(c.s, "POST", "/api/v1/login", {"login": "m.leader", "password": PW},
                 headers={"User-Agent": ua})
        tok = expect(r, 200, "login with User-Agent %r" % ua[:20])["token"]
        expect(call(c.s, "GET", "/api/v1/me", token=tok), 200, "session of %r" % ua[:20])
    stored = [row[0] for row in query(c.db, "SELECT user_agent FROM sessions")]
    assert all(len(u.encode()) <= 255 for u in stored), max(stored, key=len)
    assert "浏览器/1.0" in stored and ("张" * 85) in stored, stored


def test_session_idle_and_absolute_expiry():
    s = Server(new_db("sessions.db"), extra=["--session-idle", "2", "--session-max", "5"],
               login=None)
    try:
        idle = quick_user(s, "tester", "admin", COUNTY)
        busy = login(s, "tester")["token"]
        t0 = time.time()
        while time.time() - t0 < 3.2:               # `busy` is used every half second
            expect(call(s, "GET", "/api/v1/me", token=busy), 200, "busy session")
            time.sleep(0.5)
        expect_error(call(s, "GET", "/api/v1/me", token=idle), 401, "E_AUTH", "idle session")
        expect(call(s, "GET", "/api/v1/me", token=busy), 200, "busy session before max")
        while time.time() - t0 < 5.6:
            time.sleep(0.4)
            call(s, "GET", "/api/v1/me", token=busy)
        expect_error(call(s, "GET", "/api/v1/me", token=busy), 401, "E_AUTH", "absolute expiry")
        # expired sessions also refuse writes and leave nothing behind
        before = snapshot(s.db)
        expect_error(call(s, "POST", "/api/v1/households", {"hh_no": "X1"}, token=busy), 401,
                     "E_AUTH")
        assert snapshot(s.db) == before
    finally:
        s.stop()


def test_bad_stored_scope_fails_closed():
    """A scope code that names no region level (written into the database by
    hand) must not widen into "everything": the session stops working."""
    c = C()
    tok = quick_user(c.s, "scope.odd", "county_approver", TOWNSHIP)
    expect(call(c.s, "GET", "/api/v1/households", token=tok), 200)
    for bad in ("6109261020", "61092610200", "abc", "61092610200a"):
        execute(c.db, "UPDATE users SET scope_code = ? WHERE login = 'scope.odd'", (bad,))
        expect_error(call(c.s, "GET", "/api/v1/households", token=tok), 401, "E_AUTH", bad)
    execute(c.db, "UPDATE users SET scope_code = ? WHERE login = 'scope.odd'", (TOWNSHIP12,))
    b = expect(call(c.s, "GET", "/api/v1/households?count=1", token=tok), 200)
    assert b["total"] == q1(c.db, "SELECT count(*) FROM household WHERE village_code LIKE ?",
                            (TOWNSHIP + "%",))


def test_session_dies_when_user_disabled():
    c = C()
    admin = c.users["admin"]
    tok = quick_user(c.s, "dis.user", "dept_user", c.village, department="医保局")
    uid = uid_of(c.db, "dis.user")
    expect(call(c.s, "GET", "/api/v1/households", token=tok), 200)
    # disabled over the API (by the township administrator)
    b = expect(call(c.s, "PUT", "/api/v1/users/%d" % uid, {"disabled": True}, token=admin.token),
               200, "disable")
    assert b["disabled"] is True
    expect_error(call(c.s, "GET", "/api/v1/me", token=tok), 401, "E_AUTH", "disabled user")
    r = call(c.s, "POST", "/api/v1/login", {"login": "dis.user", "password": PW},
             source="127.0.0.6")
    expect_error(r, 401, "E_LOGIN_FAILED", "disabled login")
    expect(call(c.s, "PUT", "/api/v1/users/%d" % uid, {"disabled": False}, token=admin.token), 200)
    expect_error(call(c.s, "GET", "/api/v1/me", token=tok), 401, "E_AUTH", "enabling revives none")
    tok = login(c.s, "dis.user")["token"]
    # disabled on the command line
    cli("user", "disable", "dis.user", "--db", c.db, check=0)
    expect_error(call(c.s, "GET", "/api/v1/me", token=tok), 401, "E_AUTH", "disabled by cli")
    cli("user", "enable", "dis.user", "--db", c.db, check=0)
    expect(call(c.s, "GET", "/api/v1/me", token=login(c.s, "dis.user")["token"]), 200)


def test_password_change_ends_other_sessions():
    c = C()
    tok_a = quick_user(c.s, "pw.user", "leader", TOWNSHIP)
    tok_b = login(c.s, "pw.user")["token"]
    tok_c = login(c.s, "pw.user")["token"]
    expect(call(c.s, "POST", "/api/v1/me/password",
                {"old_password": PW, "new_password": "Other#Pass2026w"}, token=tok_a), 200)
    expect(call(c.s, "GET", "/api/v1/me", token=tok_a), 200, "the changing session")
    for t in (tok_b, tok_c):
        expect_error(call(c.s, "GET", "/api/v1/me", token=t), 401, "E_AUTH", "other session")
    expect_error(call(c.s, "POST", "/api/v1/login", {"login": "pw.user", "password": PW},
                      source="127.0.0.6"), 401, "E_LOGIN_FAILED", "old password")
    login(c.s, "pw.user", "Other#Pass2026w")
    # an administrator's reset ends every session and forces a change
    uid = uid_of(c.db, "pw.user")
    b = expect(call(c.s, "POST", "/api/v1/users/%d/password" % uid, token=c.users["admin"].token),
               200, "reset")
    expect_error(call(c.s, "GET", "/api/v1/me", token=tok_a), 401, "E_AUTH", "after reset")
    b = login(c.s, "pw.user", b["initial_password"])
    assert b["must_change_password"] is True


# ---- forced change of initial passwords --------------------------------------------------

def test_initial_password_must_be_changed():
    c = C()
    p = cli("user", "add", "fc.user", "--name", "初始密码", "--role", "admin", "--scope", TOWNSHIP,
            "--department", "乡镇人民政府", "--db", c.db, check=0)
    m = re.search(r"初始密码：([A-Za-z0-9#%+=@]+)（", p.stdout)
    assert m, p.stdout
    initial = m.group(1)
    assert len(initial) >= 10
    b = login(c.s, "fc.user", initial)
    assert b["must_change_password"] is True
    tok = b["token"]
    problems = []
    for rt in list_routes():
        key = (rt["method"], rt["pattern"])
        if rt["public"]:
            continue
        if rt["pattern"] in ("/api/v1/me", "/api/v1/me/password", "/api/v1/logout"):
            continue
        req = BUILD[key](c, c.users["admin"], "in", False)
        c.watch.sync()
        r = call(c.s, req.method, req.path, req.body, token=tok)
        pr = error_problem(r, 403, "E_PASSWORD_CHANGE_REQUIRED")
        if pr:
            problems.append("%s %s: %s" % (key[0], key[1], pr))
        if c.watch.diff():
            problems.append("%s %s: changed the database" % key)
    assert not problems, "\n".join(problems)
    me = expect(call(c.s, "GET", "/api/v1/me", token=tok), 200)
    assert me["must_change_password"] is True
    # another session may still log out
    expect(call(c.s, "POST", "/api/v1/logout", token=login(c.s, "fc.user", initial)["token"]), 200)
    for weak, why in (("Ab1#short", "至少需要10个字符"),
                      ("abcdefghijkl", "至少三类"),
                      ("abcdefgh1234", "至少三类"),
                      ("Fc.User#2026x", "不能包含登录名"),
                      ("Password#2026", "过于常见"),
                      ("Qwertyuiop#1", "过于常见"),
                      (initial, "不能与原密码相同")):
        r = call(c.s, "POST", "/api/v1/me/password",
                 {"old_password": initial, "new_password": weak}, token=tok)
        e = expect_error(r, 422, "E_WEAK_PASSWORD", weak)
        assert why in e["message"], (weak, e["message"])
    e = expect_error(call(c.s, "POST", "/api/v1/me/password",
                          {"old_password": "Not#The2026Old", "new_password": "Good#Pass2026v"},
                          token=tok), 422, "E_OLD_PASSWORD")
    expect(call(c.s, "POST", "/api/v1/me/password",
                {"old_password": initial, "new_password": "Good#Pass2026v"}, token=tok), 200)
    me = expect(call(c.s, "GET", "/api/v1/me", token=tok), 200)
    assert me["must_change_password"] is False
    expect(call(c.s, "GET", "/api/v1/households", token=tok), 200, "after the change")
    expect_error(call(c.s, "POST", "/api/v1/login", {"login": "fc.user", "password": initial},
                      source="127.0.0.6"), 401, "E_LOGIN_FAILED", "initial password again")


# ---- CSRF ----------------------------------------------------------------------------------

def test_csrf_required_for_cookie_writes():
    c = C()
    quick_user(c.s, "csrf.user", "township_reviewer", TOWNSHIP)
    r = call(c.s, "POST", "/api/v1/login", {"login": "csrf.user", "password": PW})
    b = expect(r, 200)
    cookie, csrf = cookie_of(r), b["csrf_token"]
    assert cookie == b["token"]
    me = expect(call(c.s, "GET", "/api/v1/me", cookie=cookie), 200)
    assert me["csrf_token"] == csrf
    fam = make_family(c)
    child = child_of(fam)
    hpath, mpath = "/api/v1/households/%d" % fam["id"], "/api/v1/members/%d" % child["id"]
    writes = [("PUT", hpath, {"address": "跨站修改"}),
              ("POST", hpath + "/members", member_body(c, "张小红", "之女", "女", "20060606")),
              ("PUT", mpath, {"phone": "13800002222"}),
              ("DELETE", mpath, None),
              ("POST", "/api/v1/households", family_body(c, c.village)),
              ("POST", "/api/v1/me/password",
               {"old_password": PW, "new_password": "Csrf#Pass2026k"}),
              ("DELETE", hpath, None),
              ("POST", "/api/v1/logout", None)]
    for method, path, body in writes:
        for bad in (None, "", "wrong-token", csrf[:-1], csrf.lower() if csrf != csrf.lower()
                    else csrf.upper(), b["token"]):
            c.watch.sync()
            headers = {"X-CSRF-Token": bad} if bad is not None else None
            r = call(c.s, method, path, body, cookie=cookie, headers=headers)
            expect_error(r, 403, "E_CSRF", "%s %s with csrf %r" % (method, path, bad))
            assert not c.watch.diff(), (method, path)
    expect(call(c.s, "GET", "/api/v1/me", cookie=cookie), 200, "still signed in")
    # with the right token every one goes through (password and logout last)
    for method, path, body in writes:
        if path == "/api/v1/households":
            body = family_body(c, c.village)
        if path.endswith("/members"):
            body = member_body(c, "张小红", "之女", "女", "20060606")
        r = call(c.s, method, path, body, cookie=cookie, csrf=csrf)
        assert 200 <= r.status < 300, (method, path, show(r))
    expect_error(call(c.s, "GET", "/api/v1/me", cookie=cookie), 401, "E_AUTH")
    # bearer clients need no CSRF token
    fam = make_family(c)
    expect(call(c.s, "PUT", "/api/v1/households/%d" % fam["id"], {"address": "持令牌修改"},
                token=c.users["township_reviewer"].token), 200)
    # a cookie from one session with the CSRF token of another is refused
    b1 = login(c.s, "m.village-clerk")
    b2 = login(c.s, "m.village-clerk")
    c.watch.sync()
    expect_error(call(c.s, "PUT", "/api/v1/households/%d" % fam["id"], {"address": "混用"},
                      cookie=b1["token"], csrf=b2["csrf_token"]), 403, "E_CSRF")
    assert not c.watch.diff()


# ---- security headers ---------------------------------------------------------------------

def check_security_headers(r, what):
    h = r.headers
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("default-src") == "default-src 'self'", (what, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
    assert "frame-ancestors 'none'" in csp, (what, csp)
    assert h.get("x-frame-options") == "DENY", (what, h)
    assert h.get("x-content-type-options") == "nosniff", (what, h)
    assert h.get("referrer-policy") in ("no-referrer", "same-origin", "strict-origin"), (what, h)
    assert h.get("cache-control"), what


def test_security_headers_on_every_response():
    c = C()
    t = c.s.token
    cases = [("GET", "/api/v1/health", None, None, 200),
             ("GET", "/api/v1/me", None, None, 401),
             ("GET", "/api/v1/me", None, t, 200),
             ("GET", "/api/v1/audit", None, c.users["leader"].token, 403),
             ("GET", "/api/v1/nothing-here", None, t, 404),
             ("DELETE", "/api/v1/codes", None, t, 405),
             ("GET", "/api/v1/households?x=%ff", None, t, 400),
             ("GET", "/api/v1/households?bogus=1", None, t, 400),
             ("POST", "/api/v1/households", b"{not json", t, 400),
             ("POST", "/api/v1/households", b"x" * (1024 * 1024 + 10), t, 413),
             ("GET", "/api/v1/audit/export", None, t, 200),
             ("GET", "/api/v1/households/%d" % c.fx["id"], None, t, 200),
             ("GET", "/", None, None, 200),
             ("GET", "/no-such-page.html", None, None, 404),
             ("GET", "/%ff", None, None, 400)]
    for method, path, body, tok, status in cases:
        r = call(c.s, method, path, body, token=tok)
        assert r.status == status, (method, path, show(r))
        check_security_headers(r, "%s %s" % (method, path))
    r = call(c.s, "POST", "/api/v1/login", {"login": "tester", "password": PW})
    check_security_headers(r, "login")
    r = call(c.s, "POST", "/api/v1/households", b"{}", token=t,
             headers={"Content-Type": "text/plain"})
    assert r.status == 415
    check_security_headers(r, "415")


# ---- the audit log --------------------------------------------------------------------------

NO_TARGET = "no target"   # the audit row names a table but no row id


def monitored_household(c):
    """A household that meets the conditions of risk elimination: monitored
    for over half a year (the row is written directly — the identification
    workflow takes weeks of business days), a measure, this year's income
    far above the line, 三保障 secured, and a member able to work."""
    fam = make_family(c)
    execute(c.db, "INSERT INTO monitored(household_id, status, category, risk_types, "
                  "identified_on) VALUES(?, 'monitoring', 1, '1', '2024-01-15')", (fam["id"],))
    make_measure(c, fam["id"])
    year = TODAY.year
    if not q1(c.db, "SELECT count(*) FROM monitor_line WHERE year = ?", (year,)):
        expect(call(c.s, "POST", "/api/v1/monitor-lines",
                    {"year": year, "region": COUNTY, "amount": 800000}, token=c.s.token), 201)
    expect(call(c.s, "PUT", "/api/v1/households/%d/income/%d" % (fam["id"], year),
                {"items": [{"item": "务工收入", "amount": 100000000}]}, token=c.s.token), 200)
    expect(call(c.s, "PUT", "/api/v1/households/%d/security/%d" % (fam["id"], year), SECURITY,
                token=c.s.token), 200)
    return fam


def test_every_write_route_writes_one_audit_row():
    """One successful request per write route of the route table: exactly one
    audit row, naming the route, the caller, the record and its old and new
    values.  A new write route without a case here fails the test."""
    c = C()
    admin, clerk = c.users["admin"], c.users["village_clerk"]
    cadmin = c.tester  # a county's 系统管理员: county-wide settings
    town = c.users["township_reviewer"]
    routes = list_routes()
    writes = {(r["method"], r["pattern"]) for r in routes if r["write"]}
    fam = make_family(c)
    child = child_of(fam)
    fam2 = make_family(c)
    fam3 = monitored_household(c)
    audit_user = api_user(c, admin, "audit.target", "leader", c.village)
    tok_self = quick_user(c.s, "audit.self", "leader", c.village)
    spare = login(c.s, "audit.self")["token"]
    new_hh = family_body(c, c.village)
    new_member = member_body(c, "张小红", "之女", "女", "20070707")
    new_login = fresh_login()
    measure = make_measure(c, fam2["id"])
    line = make_line(c, TOWNSHIP)
    new_line = line_body(c, TOWNSHIP)
    day = cal_body()
    rule = rule_body()
    chk = check_body()
    alert1, alert2 = make_alert(c), make_alert(c)
    case1, case2, case3 = make_case(c), make_case(c, step=2), make_case(c)
    county = c.users["county_approver"]
    done = make_done_case(c)
    ledger = import_csv(c, c.village)
    hh2 = "/api/v1/households/%d" % fam2["id"]

    def ok(r):
        assert 200 <= r.status < 300, show(r)
        return r.body

    def send(method, path, body=None, who=clerk):
        return lambda: call(c.s, method, path, body, token=who.token)

    # (method, pattern) → (request, login, target type, target id — None: the
    # new record's "id", a string: that field of the answer — check(old, new))
    cases = {
        ("POST", "/api/v1/login"): (
            lambda: call(c.s, "POST", "/api/v1/login", {"login": "audit.self", "password": PW}),
            "audit.self", "user", uid_of(c.db, "audit.self"), lambda o, n: o is None and n is None),
        ("POST", "/api/v1/logout"): (
            lambda: call(c.s, "POST", "/api/v1/logout", token=spare),
            "audit.self", "user", uid_of(c.db, "audit.self"), None),
        ("POST", "/api/v1/me/password"): (
            lambda: call(c.s, "POST", "/api/v1/me/password",
                         {"old_password": PW, "new_password": "Audit#Pass2026r"}, token=tok_self),
            "audit.self", "user", uid_of(c.db, "audit.self"),
            lambda o, n: "Audit#Pass" not in json.dumps([o, n])),
        ("POST", "/api/v1/users"): (
            send("POST", "/api/v1/users", {"login": new_login, "name": "审计新用户", "role": "领导",
                                           "scope_code": c.village}, admin),
            admin.login, "user", None,
            lambda o, n: o is None and n["login"] == new_login and n["role"] == "leader"
            and "initial_password" not in n and "password_hash" not in n),
        ("PUT", "/api/v1/users/:id"): (
            send("PUT", "/api/v1/users/%d" % audit_user["id"], {"name": "审计改名",
                                                                 "role": "auditor"}, admin),
            admin.login, "user", audit_user["id"],
            lambda o, n: (o["name"], o["role"], n["name"], n["role"]) == (
                audit_user["name"], "leader", "审计改名", "auditor")),
        ("POST", "/api/v1/users/:id/password"): (
            send("POST", "/api/v1/users/%d/password" % audit_user["id"], None, admin),
            admin.login, "user", audit_user["id"], None),
        ("POST", "/api/v1/households"): (
            send("POST", "/api/v1/households", new_hh), clerk.login, "household", None,
            lambda o, n: o is None and n["hh_no"] == new_hh["hh_no"] and len(n["members"]) == 3
            and n["members"][0]["id_number"] == new_hh["members"][0]["id_number"]),
        ("PUT", "/api/v1/households/:id"): (
            send("PUT", "/api/v1/households/%d" % fam["id"], {"address": "审计新地址"}),
            clerk.login, "household", fam["id"],
            lambda o, n: (o["address"], n["address"]) == (fam["address"], "审计新地址")
            and o["hh_no"] == n["hh_no"] == fam["hh_no"]),
        ("POST", "/api/v1/households/:id/members"): (
            send("POST", "/api/v1/households/%d/members" % fam["id"], new_member),
            clerk.login, "member", None,
            lambda o, n: o is None and n["name"] == "张小红"
            and n["id_number"] == new_member["id_number"] and n["household_id"] == fam["id"]),
        ("PUT", "/api/v1/members/:id"): (
            send("PUT", "/api/v1/members/%d" % child["id"], {"phone": "13800003333"}),
            clerk.login, "member", child["id"],
            lambda o, n: (o["phone"], n["phone"]) == ("", "13800003333")
            and o["id_number"] == n["id_number"] == child["id_number"]),
        ("DELETE", "/api/v1/members/:id"): (
            send("DELETE", "/api/v1/members/%d" % child["id"]), clerk.login, "member",
            child["id"], lambda o, n: n is None and o["id_number"] == child["id_number"]),
        ("DELETE", "/api/v1/households/:id"): (
            send("DELETE", "/api/v1/households/%d" % fam["id"]), clerk.login, "household",
            fam["id"],
            lambda o, n: n is None and o["hh_no"] == fam["hh_no"] and o["address"] == "审计新地址"),
        # the monitoring module
        ("PUT", "/api/v1/households/:id/income/:year"): (
            send("PUT", hh2 + "/income/2024", INCOME), clerk.login, "income", fam2["id"],
            lambda o, n: o is None and n["year"] == 2024
            and [(x["item"], x["amount"]) for x in n["items"]] == [("务工收入", 1500000)]),
        ("POST", "/api/v1/households/:id/measures"): (
            send("POST", hh2 + "/measures", MEASURE), clerk.login, "measure", None,
            lambda o, n: o is None and (n["category"], n["item"], n["household_id"]) == (
                "产业帮扶", "产业奖补", fam2["id"])),
        ("PUT", "/api/v1/measures/:id"): (
            send("PUT", "/api/v1/measures/%d" % measure, {"unit": "县农业农村局"}), clerk.login,
            "measure", measure, lambda o, n: (o["unit"], n["unit"]) == ("镇农业站", "县农业农村局")),
        ("DELETE", "/api/v1/measures/:id"): (
            send("DELETE", "/api/v1/measures/%d" % measure), clerk.login, "measure", measure,
            lambda o, n: n is None and o["id"] == measure and o["unit"] == "县农业农村局"),
        ("PUT", "/api/v1/households/:id/plan/:year"): (
            send("PUT", hh2 + "/plan/2025", {"plan": "发展魔芋种植", "dev_status": "已实施"}),
            clerk.login, "help_plan", fam2["id"],
            lambda o, n: o is None and (n["plan"], n["dev_status"]) == ("发展魔芋种植", "已实施")),
        ("POST", "/api/v1/monitor-lines"): (
            send("POST", "/api/v1/monitor-lines", new_line, admin), admin.login, "monitor_line",
            None, lambda o, n: o is None and (n["year"], n["region"], n["amount"]) == (
                new_line["year"], TOWNSHIP, 800000)),
        ("PUT", "/api/v1/monitor-lines/:id"): (
            send("PUT", "/api/v1/monitor-lines/%d" % line, {"amount": 810000}, admin),
            admin.login, "monitor_line", line,
            lambda o, n: (o["amount"], n["amount"]) == (800000, 810000)),
        ("DELETE", "/api/v1/monitor-lines/:id"): (
            send("DELETE", "/api/v1/monitor-lines/%d" % line, None, admin), admin.login,
            "monitor_line", line, lambda o, n: n is None and o["amount"] == 810000),
        ("POST", "/api/v1/calendar"): (
            send("POST", "/api/v1/calendar", day, cadmin), cadmin.login, "calendar",
            int(day["date"].replace("-", "")),
            lambda o, n: o == [] and [(x["date"], x["kind"]) for x in n] == [(day["date"], "放假")]),
        ("DELETE", "/api/v1/calendar/:date"): (
            send("DELETE", "/api/v1/calendar/" + day["date"], None, cadmin), cadmin.login,
            "calendar", int(day["date"].replace("-", "")),
            lambda o, n: n is None and o["date"] == day["date"]),
        ("PUT", "/api/v1/monitor-settings"): (
            send("PUT", "/api/v1/monitor-settings", {"income_denominator": "户籍人口"}, cadmin),
            cadmin.login, "monitor_setting", NO_TARGET,
            lambda o, n: o["income_denominator"] == n["income_denominator"] == "户籍人口"),
        ("POST", "/api/v1/alerts/:id/dismiss"): (
            send("POST", "/api/v1/alerts/%d/dismiss" % alert1, {"reason": "核实后无风险"}),
            clerk.login, "alert", alert1,
            lambda o, n: o is None and n == {"status": "dismissed", "reason": "核实后无风险"}),
        ("POST", "/api/v1/alerts/:id/case"): (
            send("POST", "/api/v1/alerts/%d/case" % alert2), clerk.login, "case", None,
            lambda o, n: o is None and (n["step"], n["state"]) == (1, "active")),
        ("POST", "/api/v1/cases/:id/advance"): (
            send("POST", "/api/v1/cases/%d/advance" % case1, {"note": "入户核查属实"}),
            clerk.login, "case", case1, lambda o, n: (o["step"], n["step"]) == (1, 2)),
        ("POST", "/api/v1/cases/:id/return"): (
            send("POST", "/api/v1/cases/%d/return" % case2, {"reason": "材料不全"}, town),
            town.login, "case", case2, lambda o, n: (o["step"], n["step"]) == (2, 1)),
        ("POST", "/api/v1/cases/:id/reject"): (
            send("POST", "/api/v1/cases/%d/reject" % case3, {"reason": "不符合条件"}),
            clerk.login, "case", case3,
            lambda o, n: (o["state"], n["state"]) == ("active", "rejected")),
        ("POST", "/api/v1/households/:id/elimination"): (
            send("POST", "/api/v1/households/%d/elimination" % fam3["id"], {"mode": "帮扶消除"}),
            clerk.login, "case", None,
            lambda o, n: o is None and n["household_id"] == fam3["id"] and n["step"] == 1),
        ("POST", "/api/v1/households/:id/visits"): (
            send("POST", hh2 + "/visits", {"visit_date": PAST, "note": "入户走访"}), clerk.login,
            "visit", None, lambda o, n: o is None and (n["note"], n["visit_date"], n[
                "household_id"]) == ("入户走访", PAST, fam2["id"])),
        ("POST", "/api/v1/households/:id/applications"): (
            send("POST", hh2 + "/applications", {"reason": "农户申请"}), clerk.login, "alert",
            "alert_id", lambda o, n: o is None and (n["reason"], n["household_id"]) == (
                "农户申请", fam2["id"])),
        ("PUT", "/api/v1/households/:id/security/:year"): (
            send("PUT", hh2 + "/security/2025", SECURITY), clerk.login, "household", fam2["id"],
            lambda o, n: o is None and n == SECURITY),
        ("POST", "/api/v1/rules"): (
            send("POST", "/api/v1/rules", rule, cadmin), cadmin.login, "rule", NO_TARGET,
            lambda o, n: o is None and (n["id"], n["version"]) == (rule["id"], 1)),
        ("PUT", "/api/v1/rules/:id"): (
            send("PUT", "/api/v1/rules/" + rule["id"], {"title": "改名"}, cadmin), cadmin.login,
            "rule", NO_TARGET,
            lambda o, n: o is None and (n["id"], n["version"], n["title"]) == (
                rule["id"], 2, "改名")),
        ("POST", "/api/v1/screen"): (
            send("POST", "/api/v1/screen", {"year": 2025}, admin), admin.login, "", NO_TARGET,
            None),
        ("POST", "/api/v1/feeds"): (
            send("POST", "/api/v1/feeds", FEED_DEF, cadmin), cadmin.login, "feed", NO_TARGET,
            lambda o, n: o is None and n["id"] == "auth_feed"),
        ("PUT", "/api/v1/feeds/:id/rules/:rule"): (
            send("PUT", "/api/v1/feeds/yingji_disaster/rules/YJ01", {"severity": "中"}, cadmin),
            cadmin.login, "feed_rule", NO_TARGET,
            lambda o, n: o["version"] + 1 == n["version"] and n["id"] == "YJ01"),
        ("PUT", "/api/v1/feeds/:id/params/:name"): (
            send("PUT", "/api/v1/feeds/yibao_inpatient/params/stay_other",
                 {"value": 9000, "year": 2026, "region": TOWNSHIP}, admin),
            admin.login, "feed_param", NO_TARGET,
            lambda o, n: o is None and (n["name"], n["value"], n["region"]) == (
                "stay_other", 9000, TOWNSHIP)),
        ("POST", "/api/v1/feeds/:id/batches"): (
            lambda: call(c.s, "POST", "/api/v1/feeds/yingji_disaster/batches", feed_csv(c, fam2),
                         token=admin.token),
            admin.login, "feed_batch", "batch_id",
            lambda o, n: o is None and (n["feed"], n["rows"], n["hits"]) == (
                "yingji_disaster", 1, 1)),
        ("POST", "/api/v1/feed-hits/:id/feedback"): (
            send("POST", "/api/v1/feed-hits/%d/feedback" % c.feed_hit_in,
                 {"state": "不属实", "note": "入户核实不属实"}),
            clerk.login, "feed_hit", c.feed_hit_in,
            lambda o, n: o is not None and n == {"state": "不属实", "note": "入户核实不属实"}),
        # the office pages: the import job writes its row with the data
        ("POST", "/api/v1/imports"): (
            send("POST", "/api/v1/imports?kind=members", ledger), clerk.login, "import", None,
            lambda o, n: o is None and (n["kind"], n["households_new"], n["members_new"]) == (
                "members", 1, 2)),
        ("POST", "/api/v1/notices"): (
            send("POST", "/api/v1/notices", {"case_ids": [done]}, county), county.login, "notice",
            None, lambda o, n: o is None and n["case_ids"] == [done]),
        ("POST", "/api/v1/checks"): (
            send("POST", "/api/v1/checks", chk, cadmin), cadmin.login, "check", NO_TARGET,
            lambda o, n: o is None and (n["id"], n["version"]) == (chk["id"], 1)),
        ("PUT", "/api/v1/checks/:id"): (
            send("PUT", "/api/v1/checks/" + chk["id"], {"title": "改名"}, cadmin), cadmin.login,
            "check", NO_TARGET,
            lambda o, n: o is None and (n["id"], n["version"], n["title"]) == (
                chk["id"], 2, "改名")),
        ("POST", "/api/v1/check-runs"): (
            send("POST", "/api/v1/check-runs", {"group": "structure"}, admin), admin.login,
            "check_run", "run_id",
            lambda o, n: o is None and (n["group"], n["region"]) == ("structure", TOWNSHIP)),
        ("PUT", "/api/v1/layout-profiles/:name"): (
            send("PUT", "/api/v1/layout-profiles/audit-layout", PROFILE), clerk.login,
            "layout_profile", NO_TARGET,
            lambda o, n: o is None and (n["name"], n["columns"]) == ("audit-layout",
                                                                     PROFILE["columns"])),
        ("DELETE", "/api/v1/layout-profiles/:name"): (
            send("DELETE", "/api/v1/layout-profiles/audit-layout"), clerk.login,
            "layout_profile", NO_TARGET, lambda o, n: n is None and o["name"] == "audit-layout"),
    }
    assert set(cases) == writes, "write routes without an audit case: %s; stale: %s" % (
        sorted(writes - set(cases)), sorted(set(cases) - writes))
    for key, (request, who, ttype, tid, check) in cases.items():
        last = audit_max(c.db)
        r = request()
        body = ok(r)
        rows = audit_since(c.db, last)
        assert len(rows) == 1, (key, rows)
        a = rows[0]
        assert a["action"] == "%s %s" % key, (key, a["action"])
        assert a["login"] == who and a["user_id"] == uid_of(c.db, who), (key, a)
        assert a["target_type"] == ttype, (key, a)
        want_id = (None if tid == NO_TARGET else body["id"] if tid is None
                   else body[tid] if isinstance(tid, str) else tid)
        assert a["target_id"] == want_id, (key, a["target_id"], want_id)
        assert a["status"] == r.status and a["addr"] == "127.0.0.1", (key, a)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", a["at"]), a["at"]
        if check:
            assert check(a["old_value"], a["new_value"]), (key, a["old_value"], a["new_value"])
        assert "password_hash" not in json.dumps([a["old_value"], a["new_value"]])
    # a refused write leaves no row
    last = audit_max(c.db)
    call(c.s, "PUT", "/api/v1/households/%d" % c.out["id"], {"address": "越权"}, token=clerk.token)
    call(c.s, "PUT", "/api/v1/households/%d" % c.fx["id"], {"phone": "bad"}, token=clerk.token)
    call(c.s, "POST", "/api/v1/cases/%d/advance" % c.case1, {"note": "x"}, token=town.token)
    assert audit_since(c.db, last) == []


def test_audit_rows_cannot_be_changed_or_deleted():
    c = C()
    n = q1(c.db, "SELECT count(*) FROM audit_log")
    assert n > 10
    con = connect(c.db)
    for sql in ("UPDATE audit_log SET detail = 'x'",
                "UPDATE audit_log SET login = 'x' WHERE id = 1",
                "DELETE FROM audit_log", "DELETE FROM audit_log WHERE id = 1"):
        try:
            con.execute(sql)
            con.commit()
        except DatabaseError as e:
            assert "append-only" in str(e), e
            con.rollback()
        else:
            raise AssertionError("%s succeeded" % sql)
    con.close()
    assert q1(c.db, "SELECT count(*) FROM audit_log") == n
    # no route changes the log
    for method in ("PUT", "DELETE", "POST", "PATCH"):
        for path in ("/api/v1/audit", "/api/v1/audit/1"):
            r = call(c.s, method, path, {"detail": "x"} if method != "DELETE" else None,
                     token=c.s.token)
            assert r.status in (404, 405), (method, path, show(r))
    assert q1(c.db, "SELECT count(*) FROM audit_log WHERE detail = 'x'") == 0


def audit_get(c, token, params):
    r = call(c.s, "GET", "/api/v1/audit?" + urllib.parse.urlencode(params), token=token)
    return expect(r, 200, "audit %s" % params)


def test_audit_search_and_export():
    c = C()
    t = c.s.token
    hid = c.fx["id"]
    # some rows to find: the clerk reads the fixture twice (full-ID reads)
    t0 = q1(c.db, "SELECT max(at) FROM audit_log")
    time.sleep(1.05)
    mark = audit_max(c.db)
    for _ in range(2):
        expect(call(c.s, "GET", "/api/v1/households/%d" % hid,
                    token=c.users["village_clerk"].token), 200)
    t1 = q1(c.db, "SELECT max(at) FROM audit_log")
    b = audit_get(c, t, {"login": "m.village-clerk", "target_type": "household",
                         "target_id": hid})
    assert len(b["items"]) >= 2 and all(
        (x["login"], x["target_type"], x["target_id"]) == ("m.village-clerk", "household", hid)
        for x in b["items"]), b
    assert [x["id"] for x in b["items"]] == sorted((x["id"] for x in b["items"]), reverse=True)
    # time range
    b = audit_get(c, t, {"from": t1, "to": t1, "limit": 1000})
    assert {x["id"] for x in b["items"]} >= {r["id"] for r in audit_since(c.db, mark)}
    assert all(x["at"] == t1 for x in b["items"])
    b = audit_get(c, t, {"to": t0, "limit": 1000})
    assert b["items"] and all(x["at"] <= t0 for x in b["items"])
    assert all(x["id"] <= mark for x in b["items"])
    day = t1[:10]
    b = audit_get(c, t, {"from": day, "to": day, "limit": 1000})   # a whole day
    assert mark + 1 in {x["id"] for x in b["items"]}
    b = audit_get(c, t, {"from": t1.replace(" ", "T") + "Z", "limit": 1000})  # ISO 8601 too
    assert {x["id"] for x in b["items"]} >= {r["id"] for r in audit_since(c.db, mark)}
    for bad in ("yesterday", "2026-13-01", "' OR 1=1 --", "2026-01-01 25:00:00"):
        expect_error(call(c.s, "GET", "/api/v1/audit?from=" + enc(bad), token=t), 400,
                     "E_BAD_PARAM", bad)
    # paging: pages are disjoint, newest first, and add up to the whole (read
    # in pages of 1000 too: the log may hold more than one page by now)
    def pages(size):
        seen, cursor = [], None
        while True:
            p = {"limit": size, "to": t1}
            if cursor:
                p["cursor"] = cursor
            b = audit_get(c, t, p)
            assert len(b["items"]) <= size
            seen += b["items"]
            cursor = b["next_cursor"]
            if not cursor:
                return seen
    everything = pages(1000)
    assert [x["id"] for x in everything] == sorted((x["id"] for x in everything), reverse=True)
    assert [x["id"] for x in pages(7)] == [x["id"] for x in everything]
    # a township auditor sees the rows of users in the township only
    inside = {r[0] for r in query(c.db, "SELECT id FROM users WHERE scope_code LIKE ?",
                                  (TOWNSHIP + "%",))}
    b = audit_get(c, c.users["auditor"].token, {"limit": 1000})
    assert b["items"] and all(x["user_id"] in inside for x in b["items"])
    assert audit_get(c, c.users["auditor"].token, {"login": "tester"})["items"] == []
    # export: CSV of the same search, itself audited
    last = audit_max(c.db)
    r = call(c.s, "GET", "/api/v1/audit/export?login=m.village-clerk&target_type=household",
             token=t)
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), show(r)
    assert "attachment" in r.headers.get("content-disposition", "")
    assert r.raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["序号", "时间(UTC)", "用户ID", "登录名"], rows[0]
    listed = audit_get(c, t, {"login": "m.village-clerk", "target_type": "household",
                              "limit": 1000})["items"]
    assert [int(x[0]) for x in rows[1:]] == [x["id"] for x in listed]
    assert all(x[3] == "m.village-clerk" for x in rows[1:])
    a = audit_since(c.db, last)
    assert len(a) == 1 and a[0]["action"] == "GET /api/v1/audit/export", a
    assert a[0]["login"] == "tester" and str(len(rows) - 1) in a[0]["detail"], a
    # a hostile login name from a failed login cannot become a spreadsheet formula
    evil = "=HYPERLINK(\"http://x\",\"y\")"
    call(c.s, "POST", "/api/v1/login", {"login": evil, "password": "x"}, source="127.0.0.4")
    r = call(c.s, "GET", "/api/v1/audit/export?login=" + enc(evil), token=t)
    rows = list(csv.reader(io.StringIO(r.raw.decode("utf-8-sig"))))
    assert len(rows) == 2, rows
    assert not rows[1][3].startswith(("=", "+", "-", "@")), rows[1]
    assert evil in rows[1][3]


def test_logins_exports_and_imports_are_audited():
    c = C()
    last = audit_max(c.db)
    login(c.s, "m.leader")
    call(c.s, "POST", "/api/v1/login", {"login": "m.leader", "password": "Wrong#Pass2026"},
         source="127.0.0.5")
    call(c.s, "POST", "/api/v1/login", {"login": "no.such.user", "password": "Wrong#Pass2026"},
         source="127.0.0.5")
    rows = audit_since(c.db, last)
    leader = c.users["leader"].id
    assert [(a["action"], a["login"], a["user_id"], a["status"], a["detail"], a["addr"])
            for a in rows] == [
        ("POST /api/v1/login", "m.leader", leader, 200, "登录成功", "127.0.0.1"),
        ("POST /api/v1/login", "m.leader", leader, 401, "登录失败：密码错误", "127.0.0.5"),
        ("POST /api/v1/login", "no.such.user", None, 401, "登录失败：账号不存在", "127.0.0.5")], rows
    assert all("Wrong#Pass" not in json.dumps(a, ensure_ascii=False) for a in rows)
    # command-line exports and imports
    out = tmp_path("audit-export.csv")
    last = audit_max(c.db)
    cli("export", "households", "--db", c.db, "--under", TOWNSHIP, "--output", out, check=0)
    cli("import", "households", out, "--db", c.db, check=0)
    cli("import", "households", out, "--db", c.db, "--dry-run", check=0)
    rows = audit_since(c.db, last)
    assert [a["action"] for a in rows] == ["cli export households", "cli import households",
                                          "cli import households"], rows
    assert all(a["login"].startswith("cli:") and a["addr"] == "cli" for a in rows), rows
    assert TOWNSHIP in rows[0]["detail"] and "audit-export.csv" in rows[1]["detail"], rows
    os.remove(out)


# ---- user management -------------------------------------------------------------------------

def test_user_management_api():
    c = C()
    t = c.s.token
    tadmin = c.users["admin"]                  # 系统管理员 scoped to 老县镇
    # created with a Chinese role name; the initial password is returned once
    r = call(c.s, "POST", "/api/v1/users", {"login": "um.clerk", "name": "新信息员",
                                             "role": "村级信息员", "scope_code": c.village,
                                             "department": "村民委员会", "phone": "13700001234"},
             token=tadmin.token)
    b = expect(r, 201, "create")
    assert b["role"] == "village_clerk" and b["role_title"] == "村级信息员"
    assert b["must_change_password"] is True and re.fullmatch(r"\S{10,}", b["initial_password"])
    assert b["scope_code"] == c.village
    g = expect(call(c.s, "GET", "/api/v1/users/%d" % b["id"], token=tadmin.token), 200)
    assert "initial_password" not in g and "password_hash" not in g and "password" not in g
    assert login(c.s, "um.clerk", b["initial_password"])["must_change_password"] is True
    # role by id, and scope given as a prefix
    b2 = expect(call(c.s, "POST", "/api/v1/users", {"login": "um.reviewer", "name": "审核",
                                                     "role": "township_reviewer",
                                                     "scope_code": TOWNSHIP}, token=tadmin.token),
                201)
    assert b2["scope_code"] == TOWNSHIP12
    # bad input
    for body, status, code in (
            ({"login": "um.x", "name": "x", "role": "superuser", "scope_code": c.village}, 422,
             "E_VALIDATION"),
            ({"login": "UM X", "name": "x", "role": "leader", "scope_code": c.village}, 422,
             "E_VALIDATION"),
            ({"login": "um.y", "name": "", "role": "leader", "scope_code": c.village}, 422,
             "E_VALIDATION"),
            ({"login": "um.y", "name": "y", "role": "leader", "scope_code": "61092610200199"},
             422, "E_TOO_LONG"),
            ({"login": "um.y", "name": "长" * 22, "role": "leader", "scope_code": c.village},
             422, "E_TOO_LONG"),
            ({"login": "um.y", "name": "y\n", "role": "leader", "scope_code": c.village},
             422, "E_VALIDATION"),
            ({"login": "um.y", "name": "y", "role": "leader", "scope_code": c.village,
              "department": "外星局"}, 422, "E_VALIDATION"),
            ({"login": "um.y", "name": "y" * 200, "role": "leader", "scope_code": c.village},
             422, "E_TOO_LONG"),
            ({"login": "um.clerk", "name": "y", "role": "leader", "scope_code": c.village}, 409,
             "E_DUPLICATE_LOGIN"),
            ({"login": "um.y", "name": "y", "role": "leader", "scope_code": c.village,
              "password": "weakweak"}, 422, "E_VALIDATION"),
            ({"login": "um.y", "name": "y", "role": "leader", "scope_code": c.village,
              "superuser": True}, 400, "E_UNKNOWN_FIELD")):
        c.watch.sync()
        expect_error(call(c.s, "POST", "/api/v1/users", body, token=tadmin.token), status, code,
                     json.dumps(body, ensure_ascii=False)[:80])
        assert not c.watch.diff()
    # a township administrator manages users under 老县镇 only
    for scope in (c.other_village, OTHER, COUNTY, "610926000000", ""):
        body = {"login": "um.out", "name": "越权", "role": "leader"}
        if scope:
            body["scope_code"] = scope
        c.watch.sync()
        expect_error(call(c.s, "POST", "/api/v1/users", body, token=tadmin.token), 403, "E_SCOPE",
                     "create in %r" % scope)
        assert not c.watch.diff()
    listed = expect(call(c.s, "GET", "/api/v1/users?limit=500", token=tadmin.token), 200)["items"]
    logins = {x["login"] for x in listed}
    assert {"um.clerk", "um.reviewer", "m.admin", "m.village-clerk"} <= logins
    assert not {"tester", "fx.out-user"} & logins
    assert all(x["scope_code"].startswith(TOWNSHIP) for x in listed)
    leaders = expect(call(c.s, "GET", "/api/v1/users?role=" + enc("领导"), token=tadmin.token),
                     200)["items"]
    assert leaders and all(x["role"] == "leader" for x in leaders)
    for method, path, body in (("GET", "/api/v1/users/%d", None),
                               ("PUT", "/api/v1/users/%d", {"name": "越权改名"}),
                               ("PUT", "/api/v1/users/%d", {"disabled": True}),
                               ("POST", "/api/v1/users/%d/password", None)):
        for uid in (c.tester.id, c.out_user["id"], 99999):
            c.watch.sync()
            expect_error(call(c.s, method, path % uid, body, token=tadmin.token), 404,
                         "E_NOT_FOUND", "%s %s" % (method, path % uid))
            assert not c.watch.diff()
    # moving an in-scope user out of scope is refused
    c.watch.sync()
    expect_error(call(c.s, "PUT", "/api/v1/users/%d" % b["id"], {"scope_code": c.other_village},
                      token=tadmin.token), 403, "E_SCOPE")
    expect_error(call(c.s, "PUT", "/api/v1/users/%d" % b["id"], {"login": "renamed"},
                      token=tadmin.token), 422, "E_VALIDATION")
    assert not c.watch.diff()
    # roles change by Chinese name or id
    u = expect(call(c.s, "PUT", "/api/v1/users/%d" % b["id"], {"role": "部门用户",
                                                               "department": "医保局"},
                    token=tadmin.token), 200)
    assert (u["role"], u["department"]) == ("dept_user", "医保局")
    u = expect(call(c.s, "PUT", "/api/v1/users/%d" % b["id"], {"role": "county_approver"},
                    token=tadmin.token), 200)
    assert u["role"] == "county_approver"
    # no one disables themself or changes their own role
    me = tadmin.id
    for body in ({"disabled": True}, {"role": "auditor"}, {"role": "审计员"}):
        c.watch.sync()
        expect_error(call(c.s, "PUT", "/api/v1/users/%d" % me, body, token=tadmin.token), 422,
                     "E_SELF", json.dumps(body))
        assert not c.watch.diff()
    # editing one's own name keeps the session (and the same role, named in Chinese, is no change)
    u = expect(call(c.s, "PUT", "/api/v1/users/%d" % me, {"name": "镇管理员", "role": "系统管理员"},
                    token=tadmin.token), 200)
    assert u["name"] == "镇管理员" and u["role"] == "admin"
    expect(call(c.s, "GET", "/api/v1/me", token=tadmin.token), 200, "own session after edit")
    # the county administrator sees and edits township users
    expect(call(c.s, "GET", "/api/v1/users/%d" % b["id"], token=t), 200)
    assert "um.clerk" in {x["login"] for x in expect(call(c.s, "GET", "/api/v1/users?q=um.clerk",
                                                          token=t), 200)["items"]}


def test_county_wide_settings_need_a_county_scope():
    """Rules, checks, feed definitions, the calendar and the monitoring
    settings are shared by the whole county: a township's 系统管理员 is
    refused (403, nothing written), a county's may change them."""
    c = C()
    cadmin = quick_user(c.s, "cw.county-admin", "admin", COUNTY)
    tadmin = c.users["admin"]  # 老县镇's
    settings = expect(call(c.s, "GET", "/api/v1/monitor-settings", token=cadmin), 200)
    sends = [("POST", "/api/v1/rules", rule_body), ("POST", "/api/v1/checks", check_body),
             ("POST", "/api/v1/calendar", cal_body),
             ("PUT", "/api/v1/monitor-settings",
              lambda: {"income_denominator": settings["income_denominator"]})]
    for method, path, body in sends:
        b = body()
        c.watch.sync()
        r = call(c.s, method, path, b, token=tadmin.token)
        expect_error(r, 403, "E_FORBIDDEN", "%s %s by a township admin" % (method, path))
        assert "县级" in r.body["error"]["message"], r.body
        assert not c.watch.diff(), "%s %s refused but wrote" % (method, path)
        r = call(c.s, method, path, b, token=cadmin)
        assert r.status in (200, 201), "%s %s by a county admin: %s" % (method, path, show(r))


def test_user_management_cli():
    c = C()
    db = c.db
    p = cli("user", "add", "cli.one", "--name", "命令行用户", "--role", "乡镇审核", "--scope",
            TOWNSHIP, "--department", "乡镇人民政府", "--phone", "13600001234", "--db", db,
            check=0)
    initial = re.search(r"初始密码：([A-Za-z0-9#%+=@]+)（", p.stdout).group(1)
    row = query(db, "SELECT role, scope_code, department, must_change_password, disabled FROM "
                    "users WHERE login = 'cli.one'")[0]
    assert row == ("township_reviewer", TOWNSHIP12, "乡镇人民政府", 1, 0), row
    p = cli("user", "list", "--db", db, check=0)
    line = [x for x in p.stdout.splitlines() if " cli.one " in x][0]
    assert "乡镇审核" in line and TOWNSHIP12 in line and "待改初始密码" in line, line
    assert initial not in p.stdout
    # refused: bad roles, scopes, logins, names, departments, duplicates
    for args in (["--role", "superuser", "--scope", TOWNSHIP],
                 ["--role", "leader", "--scope", "999999"],
                 ["--role", "leader", "--scope", "abc"],
                 ["--role", "leader", "--scope", "61092610"],
                 ["--role", "", "--scope", TOWNSHIP],
                 ["--role", "leader", "--scope", TOWNSHIP, "--department", "外星局"],
                 ["--role", "leader", "--scope", TOWNSHIP, "--phone", "12345"]):
        before = snapshot(db)
        p = cli("user", "add", "cli.bad", "--name", "坏", "--db", db, *args)
        assert p.returncode != 0 and CJK.search(p.stderr), (args, p.returncode, p.stderr)
        assert snapshot(db) == before, args
    for argv in (["user", "add", "cli.one", "--name", "重复", "--role", "leader", "--scope",
                  TOWNSHIP],
                 ["user", "add", "Bad Login", "--name", "x", "--role", "leader"],
                 ["user", "add", "cli.noname", "--role", "leader", "--scope", TOWNSHIP],
                 ["user", "disable", "no.such.user"],
                 ["user", "role", "cli.one", "--role", "superuser"],
                 ["user", "role", "cli.one", "--scope", "999999999999"],
                 ["user", "role", "cli.one"],
                 ["user", "frobnicate", "cli.one"],
                 ["user"]):
        before = snapshot(db)
        p = cli(*argv, "--db", db)
        assert p.returncode != 0, (argv, p.stdout)
        assert snapshot(db) == before, argv
    p = cli("user", "add", "cli.weak", "--name", "弱密码", "--role", "leader", "--scope", TOWNSHIP,
            "--password-stdin", "--db", db, stdin="short\n")
    assert p.returncode != 0 and "密码" in p.stderr
    # role and scope changes, by Chinese name or id
    cli("user", "role", "cli.one", "--role", "审计员", "--db", db, check=0)
    cli("user", "role", "cli.one", "--scope", c.village, "--db", db, check=0)
    assert query(db, "SELECT role, scope_code FROM users WHERE login = 'cli.one'")[0] == (
        "auditor", c.village)
    cli("user", "role", "cli.one", "--role", "township_reviewer", "--scope", TOWNSHIP, "--db", db,
        check=0)
    # passwd: generated (must change) or from stdin (no change needed); sessions end
    tok = login(c.s, "cli.one", initial)["token"]
    p = cli("user", "passwd", "cli.one", "--db", db, check=0)
    second = re.search(r"初始密码：([A-Za-z0-9#%+=@]+)（", p.stdout).group(1)
    assert second != initial
    expect_error(call(c.s, "GET", "/api/v1/me", token=tok), 401, "E_AUTH")
    assert login(c.s, "cli.one", second)["must_change_password"] is True
    cli("user", "passwd", "cli.one", "--password-stdin", "--db", db, stdin=PW + "\n", check=0)
    b = login(c.s, "cli.one")
    assert b["must_change_password"] is False
    # disable / enable
    cli("user", "disable", "cli.one", "--db", db, check=0)
    assert q1(db, "SELECT disabled FROM users WHERE login = 'cli.one'") == 1
    expect_error(call(c.s, "GET", "/api/v1/me", token=b["token"]), 401, "E_AUTH")
    assert "已停用" in cli("user", "list", "--db", db, check=0).stdout
    cli("user", "enable", "cli.one", "--db", db, check=0)
    assert q1(db, "SELECT disabled FROM users WHERE login = 'cli.one'") == 0
    actions = [r[0] for r in query(db, "SELECT action FROM audit_log WHERE target_type = "
                                       "'user' AND target_id = (SELECT id FROM users WHERE "
                                       "login = 'cli.one') AND action LIKE 'cli %' ORDER BY id")]
    assert actions == ["cli user add", "cli user role", "cli user role", "cli user role",
                       "cli user passwd", "cli user passwd", "cli user disable",
                       "cli user enable"], actions


def teardown():
    if isinstance(_ctx, Ctx):
        _ctx.s.stop()


if __name__ == "__main__":
    run_tests(globals())
