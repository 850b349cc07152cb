#!/usr/bin/env python3
"""test_report.py — the dashboard aggregates (GET /api/v1/report/...): every
figure equals a count written here by hand over the demo data (risk types
from the risk_types text, months from the date strings, alerts in China
time, lights from the working-day calendar — not the way the server counts
them), for the county, a township, a village and each of their sub-regions;
the caller's scope bounds what can be asked (out of scope → 404); a leader's
answers carry no personal data; and the summary's freshness rules (rebuilt
when stale, `liubao report refresh`)."""
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
# a fixed business date, so that demo dates, months and lights are the same
# every run (set before the demo is generated: cli() and Server pass it on)
TODAY = "2026-03-04"
os.environ["LIUBAO_TODAY"] = TODAY

from lib import Server, cli, eq, execute, new_db, query, run_tests  # noqa: E402

COUNTY = "610926"
ROUTES = ["dashboard", "monitored", "risk-types", "alerts", "overdue", "measures", "trend"]
CATEGORIES = ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
CHANNELS = ["系统规则筛查", "干部走访", "农户自主申报", "部门数据"]
# the national lists (brief §1.4, §1.7), as src/monitor keeps them
RISK_TYPES = [(1, "因病"), (2, "因灾"), (3, "因残"), (4, "缺劳动力"), (5, "因意外事故"),
              (6, "因产业失败"), (7, "因务工就业不稳"), (9, "因学"), (10, "因安全住房"),
              (11, "因安全饮水"), (12, "因新冠肺炎疫情影响"), (99, "其他")]
MEASURE_CATEGORIES = [(39, "产业帮扶"), (40, "就业帮扶"), (41, "金融帮扶"), (42, "公益岗位帮扶"),
                      (45, "健康帮扶"), (46, "义务教育保障"), (47, "其他教育帮扶"),
                      (48, "综合保障"), (50, "住房安全保障"), (51, "饮水安全保障"),
                      (52, "社会帮扶"), (53, "搬迁"), (54, "生产生活条件改善"),
                      (55, "基础设施建设")]

_ctx = None


class Ctx:
    pass


def C():
    global _ctx
    if _ctx is None:
        _ctx = "failed"
        _ctx = _setup()
    if _ctx == "failed":
        raise AssertionError("set-up failed (see the first failure)")
    return _ctx


# Alert times (UTC) spread over months, with the China-date edges: 16:00 UTC
# is midnight in China, so 2026-02-28 16:30 is already March there.
ALERT_TIMES = ["2026-03-01 02:00:00", "2026-02-28 16:30:00", "2026-03-31 15:59:59",
               "2026-03-31 16:00:00", "2026-02-10 08:00:00", "2025-12-31 20:00:00",
               "2025-04-01 00:00:00", "2025-03-31 18:00:00", "2024-12-01 00:00:00",
               "2026-03-03 23:00:00"]


def _setup():
    c = Ctx()
    c.db = new_db("report.db", demo=400, seed=7)
    # alerts at chosen times and through chosen channels
    ids = [r[0] for r in query(c.db, "SELECT id FROM alert ORDER BY id")]
    assert len(ids) >= 20, "the demo has too few alerts: %d" % len(ids)
    for n, i in enumerate(ids):
        execute(c.db, "UPDATE alert SET first_at = ?, channels = ? WHERE id = ?",
                (ALERT_TIMES[n % len(ALERT_TIMES)], (2 << (n % 4)) | (16 if n % 5 == 0 else 0), i))
    # active cases due before, on and after today, with and without a limit,
    # of both kinds, and one finished (not counted)
    hhs = [r[0] for r in query(c.db, "SELECT h.id FROM household h WHERE NOT EXISTS (SELECT 1 "
                                     "FROM monitor_case x WHERE x.household_id = h.id) ORDER BY "
                                     "h.village_code, h.id LIMIT 60")]
    hhs = hhs[::5]
    plan = [(1, 1, "active", "2026-03-03"), (1, 2, "active", "2026-03-04"),
            (1, 3, "active", "2026-03-05"), (1, 5, "active", "2026-03-10"),
            (1, 4, "active", ""), (2, 1, "active", "2026-02-20"), (2, 4, "active", "2026-03-05"),
            (2, 3, "active", ""), (1, 2, "done", "2026-01-05"), (1, 6, "active", "2026-02-27"),
            (2, 5, "rejected", "2026-02-01"), (1, 1, "active", "2026-03-02")]
    for hh, (kind, step, state, due) in zip(hhs, plan):
        execute(c.db, "INSERT INTO monitor_case(household_id, kind, step, state, opened_at, "
                      "step_started, step_due, total_due) VALUES(?, ?, ?, ?, '2026-02-16', "
                      "'2026-02-25', ?, '')", (hh, kind, step, state, due))
    c.s = Server(c.db, extra=["--report-max-age", "0"])
    try:
        c.leader = c.s.make_user("t.leader", "leader", COUNTY)
        town = query(c.db, "SELECT substr(h.village_code, 1, 9) FROM monitored m JOIN household h "
                           "ON h.id = m.household_id GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        c.town = town[0][0]
        c.village = query(c.db, "SELECT h.village_code FROM monitored m JOIN household h ON h.id "
                                "= m.household_id WHERE h.village_code LIKE ? GROUP BY 1 ORDER BY "
                                "count(*) DESC, 1 LIMIT 1", (c.town + "%",))[0][0]
        c.other_town = query(c.db, "SELECT min(code) FROM region WHERE level = 4 AND code NOT "
                                   "LIKE ?", (c.town + "%",))[0][0][:9]
        c.reviewer = c.s.make_user("t.reviewer", "township_reviewer", c.town)
        c.clerk = c.s.make_user("t.clerk", "village_clerk", c.village)
    except BaseException:
        c.s.stop()
        raise
    return c


def teardown():
    if _ctx and _ctx != "failed":
        _ctx.s.stop()


def get(c, path, token=None, status=200):
    st, body, _ = c.s.get(path, token=token)
    assert st == status, (path, st, body)
    return body


# ---- the counts, by hand ----------------------------------------------------------------

def china_date(utc):
    t = datetime.datetime.strptime(utc, "%Y-%m-%d %H:%M:%S") + datetime.timedelta(hours=8)
    return t.strftime("%Y-%m-%d")


def months_back(n, last=TODAY[:7]):
    y, m = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(n):
        out.append("%04d-%02d" % (y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def next_workday(db, day):
    cal = {r[0]: r[1] for r in query(db, "SELECT day, kind FROM work_calendar")}
    d = datetime.date.fromisoformat(day)
    while True:
        d += datetime.timedelta(days=1)
        kind = cal.get(d.isoformat())
        if kind == 2 or (kind != 1 and d.weekday() < 5):
            return d.isoformat()


def steps_of(db):
    """(kind, step) in the order of the API's cases.steps: identification 1..6, elimination 1..5."""
    return [(1, s) for s in range(1, 7)] + [(2, s) for s in range(1, 6)]


class Raw:
    """Every row the aggregates are made of, read once."""

    def __init__(self, db):
        self.hh = query(db, "SELECT id, village_code FROM household")
        self.mon = query(db, "SELECT h.village_code, m.status, m.category, m.risk_types, "
                             "m.identified_on, m.eliminated_on, (SELECT count(*) FROM member x "
                             "WHERE x.household_id = m.household_id) FROM monitored m JOIN "
                             "household h ON h.id = m.household_id")
        self.alerts = query(db, "SELECT h.village_code, a.first_at, a.status, a.channels FROM "
                                "alert a JOIN household h ON h.id = a.household_id")
        self.measures = query(db, "SELECT h.village_code, m.category, m.household_id, m.amount "
                                  "FROM measure m JOIN household h ON h.id = m.household_id")
        self.cases = query(db, "SELECT h.village_code, c.kind, c.step, c.step_due FROM "
                               "monitor_case c JOIN household h ON h.id = c.household_id WHERE "
                               "c.state = 'active'")
        self.warn = next_workday(db, TODAY)
        self.risk_codes = [code for code, _ in RISK_TYPES]
        self.measure_cats = MEASURE_CATEGORIES
        self.db = db

    def figures(self, p):
        """The figures of region prefix `p` as the API names them."""
        f = {}
        f["households"] = sum(1 for _, v in self.hh if v.startswith(p))
        mon = [r for r in self.mon if r[0].startswith(p)]
        live = [r for r in mon if r[1] == "monitoring"]
        gone = [r for r in mon if r[1] == "eliminated"]
        f["monitored"], f["monitoring"], f["eliminated"] = len(live) + len(gone), len(live), len(gone)
        f["monitored_persons"] = sum(r[6] for r in live + gone)
        f["monitoring_persons"] = sum(r[6] for r in live)
        f["categories"] = [{"code": k, "name": CATEGORIES[k - 1],
                            "monitoring": sum(1 for r in live if r[2] == k),
                            "eliminated": sum(1 for r in gone if r[2] == k),
                            "monitoring_persons": sum(r[6] for r in live if r[2] == k)}
                           for k in (1, 2, 3)]

        def has(r, code):
            return str(code) in [x for x in r[3].split(",") if x]
        f["risk"] = {code: (sum(1 for r in live if has(r, code)),
                            sum(1 for r in live + gone if has(r, code)))
                     for code in self.risk_codes}
        al = [r for r in self.alerts if r[0].startswith(p)]
        month = TODAY[:7]
        this = [r for r in al if china_date(r[1])[:7] == month]
        f["alerts_month"] = len(this)
        f["alerts_open"] = sum(1 for r in al if r[2] == "open")
        f["by_channel"] = [sum(1 for r in this if r[3] & (1 << ch)) for ch in (1, 2, 3, 4)]
        ms = [r for r in self.measures if r[0].startswith(p)]
        f["measures"] = [{"code": code, "name": label,
                          "measures": sum(1 for r in ms if r[1] == code),
                          "households": len({r[2] for r in ms if r[1] == code}),
                          "amount_fen": sum(r[3] for r in ms if r[1] == code)}
                         for code, label in self.measure_cats]
        f["measure_total"] = len(ms)
        f["measure_amount"] = sum(r[3] for r in ms)
        cs = [r for r in self.cases if r[0].startswith(p)]
        steps = steps_of(self.db)
        f["active"] = [sum(1 for r in cs if (r[1], r[2]) == s) for s in steps]
        f["overdue"] = [sum(1 for r in cs if (r[1], r[2]) == s and r[3] and TODAY > r[3])
                        for s in steps]
        f["due_soon"] = [sum(1 for r in cs if (r[1], r[2]) == s and r[3] and TODAY <= r[3] <= self.warn)
                         for s in steps]
        months = months_back(12)
        f["trend"] = {"months": months,
                      "new_monitored": [sum(1 for r in mon if r[4][:7] == m) for m in months],
                      "eliminated": [sum(1 for r in gone if r[5][:7] == m) for m in months],
                      "alerts": [sum(1 for r in al if china_date(r[1])[:7] == m) for m in months]}
        return f


def children(db, prefix):
    clen = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12}.get(len(prefix))
    if not clen:
        return []
    code = (prefix + "0" * 12)[:12]
    return [(r[0][:clen], r[1]) for r in
            query(db, "SELECT code, name FROM region WHERE parent = ? ORDER BY code", (code,))]


def check_region(c, body, prefix, raw=None):
    """Every figure of a dashboard answer for `prefix` equals the hand count."""
    raw = raw or Raw(c.db)
    f = raw.figures(prefix)
    eq(body["region"]["prefix"], prefix, "region")
    eq(body["today"], TODAY, "today")
    k = body["kpi"]
    for key in ("households", "monitored", "monitoring", "eliminated", "monitored_persons",
                "monitoring_persons", "alerts_month", "alerts_open"):
        eq(k[key], f[key], "kpi." + key + " of " + prefix)
    eq(k["cases_active"], sum(f["active"]), "cases_active of " + prefix)
    eq(k["cases_overdue"], sum(f["overdue"]), "cases_overdue of " + prefix)
    eq(k["cases_due_soon"], sum(f["due_soon"]), "cases_due_soon of " + prefix)
    eq(k["measures"], f["measure_total"], "measures of " + prefix)
    eq(k["measure_amount_fen"], f["measure_amount"], "measure amount of " + prefix)
    eq(body["categories"], f["categories"], "categories of " + prefix)
    eq([(r["code"], r["name"]) for r in body["risk_types"]], RISK_TYPES, "risk type list")
    got_risk = {r["code"]: (r["monitoring"], r["total"]) for r in body["risk_types"]}
    eq(got_risk, f["risk"], "risk types of " + prefix)
    eq(body["alerts"]["month"], TODAY[:7], "alert month")
    eq(body["alerts"]["new"], f["alerts_month"], "alerts.new")
    eq([x["name"] for x in body["alerts"]["by_channel"]], CHANNELS, "channels")
    eq([x["count"] for x in body["alerts"]["by_channel"]], f["by_channel"], "alerts by channel")
    eq([(s["kind"], s["step"]) for s in body["cases"]["steps"]],
       [("识别纳入" if k == 1 else "风险消除", s) for k, s in steps_of(c.db)], "steps")
    eq(body["cases"]["active"], f["active"], "active cases by step of " + prefix)
    eq(body["cases"]["overdue"], f["overdue"], "overdue cases by step of " + prefix)
    eq(body["cases"]["due_soon"], f["due_soon"], "cases due soon by step of " + prefix)
    eq(body["measures"], f["measures"], "measures of " + prefix)
    eq(body["trend"], f["trend"], "trend of " + prefix)
    kids = children(c.db, prefix)
    eq([(s["prefix"], s["name"]) for s in body["subregions"]], kids, "sub-regions of " + prefix)
    for s in body["subregions"]:
        g = raw.figures(s["prefix"])
        want = {"households": g["households"], "monitoring": g["monitoring"],
                "eliminated": g["eliminated"],
                "monitoring_by_category": [x["monitoring"] for x in g["categories"]],
                "alerts_month": g["alerts_month"], "cases_active": sum(g["active"]),
                "cases_overdue": sum(g["overdue"]), "overdue_by_step": g["overdue"]}
        eq({key: s[key] for key in want}, want, "sub-region " + s["prefix"])
    return f


# ---- tests ------------------------------------------------------------------------------

def test_demo_data_has_something_to_count():
    """The fixtures give every figure a non-zero value somewhere (or the
    comparisons below prove little)."""
    c = C()
    f = Raw(c.db).figures(COUNTY)
    assert f["monitoring"] > 10 and f["eliminated"] > 0, f
    assert all(x["monitoring"] for x in f["categories"]), f["categories"]
    assert f["alerts_month"] > 0 and f["alerts_open"] > 0, f
    assert sum(f["overdue"]) >= 3 and sum(f["due_soon"]) >= 2, (f["overdue"], f["due_soon"])
    assert f["measure_total"] > 10, f
    assert sum(f["trend"]["new_monitored"]) > 0 and sum(f["trend"]["alerts"]) > 0, f["trend"]
    assert sum(1 for v in f["risk"].values() if v[0]) >= 3, f["risk"]


def test_county_figures_equal_hand_counts():
    c = C()
    raw = Raw(c.db)
    body = get(c, "/api/v1/report/dashboard")
    check_region(c, body, COUNTY, raw)
    eq(body["region"]["name"], "平利县")
    eq(body["children_level"], "乡镇")
    eq(body["path"], [{"code": "610926000000", "prefix": "610926", "name": "平利县"}], "path")
    eq(body["parent"], None, "parent at the scope")
    # the same region however it is written
    for r in ("610926", "610926000000"):
        b = get(c, "/api/v1/report/dashboard?region=" + r)
        b.pop("as_of")
        body2 = dict(body)
        body2.pop("as_of")
        eq(b, body2, "region=" + r)
    # the sub-regions add up to the county
    subs = body["subregions"]
    eq(sum(s["households"] for s in subs), body["kpi"]["households"], "households by township")
    eq(sum(s["monitoring"] for s in subs), body["kpi"]["monitoring"], "monitoring by township")
    eq(sum(s["cases_overdue"] for s in subs), body["kpi"]["cases_overdue"], "overdue by township")


def test_township_and_village_figures_equal_hand_counts():
    c = C()
    raw = Raw(c.db)
    body = get(c, "/api/v1/report/dashboard?region=" + c.town)
    check_region(c, body, c.town, raw)
    eq(body["children_level"], "村（社区）")
    eq([p["prefix"] for p in body["path"]], [COUNTY, c.town], "path")
    eq(body["parent"]["prefix"], COUNTY, "parent")
    body = get(c, "/api/v1/report/dashboard?region=" + c.village)
    check_region(c, body, c.village, raw)
    eq(body["subregions"], [], "a village has no sub-regions")
    eq(body["children_level"], None)
    eq([p["prefix"] for p in body["path"]], [COUNTY, c.town, c.village], "path")
    # a township with nothing monitored answers zeros, not an error
    empty = [t for t, _ in children(c.db, COUNTY) if not raw.figures(t)["monitored"]]
    for t in empty[:1]:
        check_region(c, get(c, "/api/v1/report/dashboard?region=" + t), t, raw)


def test_each_section_route_answers_its_part_of_the_dashboard():
    c = C()
    full = get(c, "/api/v1/report/dashboard?region=" + c.town)
    parts = {"monitored": ["categories", "subregions"], "risk-types": ["risk_types"],
             "alerts": ["alerts"], "overdue": ["cases"], "measures": ["measures"],
             "trend": ["trend"]}
    kpi = {"monitored": ["households", "monitored", "monitoring", "eliminated",
                         "monitored_persons", "monitoring_persons"],
           "alerts": ["alerts_month", "alerts_open"],
           "overdue": ["cases_active", "cases_overdue", "cases_due_soon"],
           "measures": ["measures", "measure_amount_fen"], "risk-types": [], "trend": []}
    for route, keys in parts.items():
        b = get(c, "/api/v1/report/%s?region=%s" % (route, c.town))
        for k in ("region", "path", "parent", "children_level", "today"):
            eq(b[k], full[k], "%s: %s" % (route, k))
        for k in keys:
            if k == "subregions":
                continue
            eq(b[k], full[k], "%s: %s" % (route, k))
        eq(b["kpi"], {k: full["kpi"][k] for k in kpi[route]}, route + ": kpi")
        others = {"categories", "risk_types", "alerts", "cases", "measures", "trend"} - set(keys)
        assert not others & set(b), (route, sorted(others & set(b)))
    # sub-regions carry the figures of the sections asked for
    subs = get(c, "/api/v1/report/overdue?region=" + c.town)["subregions"]
    eq([{k: s[k] for k in ("prefix", "cases_overdue", "overdue_by_step")} for s in subs],
       [{k: s[k] for k in ("prefix", "cases_overdue", "overdue_by_step")}
        for s in full["subregions"]], "overdue sub-regions")
    assert "monitoring" not in subs[0]
    # the trend's length
    t = get(c, "/api/v1/report/trend?months=24")["trend"]
    raw = Raw(c.db)
    eq(t["months"], months_back(24), "24 months")
    eq(len(t["alerts"]), 24)
    al = [r for r in raw.alerts]
    eq(t["alerts"], [sum(1 for r in al if china_date(r[1])[:7] == m) for m in months_back(24)],
       "24 months of alerts")
    eq(get(c, "/api/v1/report/trend?months=1")["trend"]["months"], [TODAY[:7]])


def test_scope_bounds_the_regions():
    """A township user's figures cover the township; regions above or beside
    the scope are 404 (whether they exist or not); bad input is 400."""
    c = C()
    raw = Raw(c.db)
    body = get(c, "/api/v1/report/dashboard", c.reviewer)
    check_region(c, body, c.town, raw)
    eq([p["prefix"] for p in body["path"]], [c.town], "the path starts at the scope")
    eq(body["parent"], None, "nothing above the scope")
    assert body["kpi"]["households"] < raw.figures(COUNTY)["households"]
    check_region(c, get(c, "/api/v1/report/dashboard?region=" + c.village, c.reviewer), c.village,
                 raw)
    # the village clerk: the village
    check_region(c, get(c, "/api/v1/report/dashboard", c.clerk), c.village, raw)
    for route in ROUTES:
        for region in (COUNTY, "610926000000", c.other_town, c.other_town + "000", "61",
                       "610925", "610926199"):
            st, b, _ = c.s.get("/api/v1/report/%s?region=%s" % (route, region), token=c.reviewer)
            eq((st, b["error"]["code"]), (404, "E_NOT_FOUND"), "%s region=%s" % (route, region))
            eq(b["error"]["message"], "找不到该区划（或不在您的管辖范围内）")
            assert "subregions" not in b and "kpi" not in b
        for bad in ("abc", "6109261", "61092610200", "6109261020001", "-1", " 610926102"):
            st, b, _ = c.s.get("/api/v1/report/%s?region=%s" % (route, bad.replace(" ", "%20")),
                               token=c.reviewer)
            eq((st, b["error"]["code"]), (400, "E_BAD_PARAM"), "%s region=%r" % (route, bad))
        st, b, _ = c.s.get("/api/v1/report/%s?regoin=%s" % (route, c.town), token=c.reviewer)
        eq((st, b["error"]["code"]), (400, "E_UNKNOWN_PARAM"), route + " unknown parameter")
        assert "regoin" in b["error"]["message"]
        st, b, _ = c.s.post("/api/v1/report/" + route, {}, token=c.reviewer)
        eq(st, 405, route + " POST")
        st, b, _ = c.s.get("/api/v1/report/" + route, auth=False)
        eq((st, b["error"]["code"]), (401, "E_AUTH"), route + " signed out")
    # months only where there is a trend, and only 1..36
    for route in ("trend", "dashboard"):
        for m in ("0", "37", "x", "-3", "1.5"):
            st, b, _ = c.s.get("/api/v1/report/%s?months=%s" % (route, m))
            eq((st, b["error"]["code"]), (400, "E_BAD_PARAM"), "%s months=%s" % (route, m))
        eq(len(get(c, "/api/v1/report/%s?months=36" % route)["trend"]["months"]), 36)
    st, b, _ = c.s.get("/api/v1/report/monitored?months=12")
    eq((st, b["error"]["code"]), (400, "E_UNKNOWN_PARAM"), "months without a trend")


# Keys that would name a person or a household, in any answer.
PERSONAL_KEYS = {"id_number", "head_id_number", "身份证号", "head_name", "member_name", "phone",
                 "contact_name", "contact_phone", "hh_no", "household_id", "address", "birth_date",
                 "login", "visitor", "person", "members", "items", "id"}


def test_leader_answers_carry_no_personal_data():
    c = C()
    personal = set()
    for sql in ("SELECT name FROM member", "SELECT id_number FROM member", "SELECT phone FROM member",
                "SELECT hh_no FROM household", "SELECT address FROM household",
                "SELECT phone FROM household", "SELECT contact_name FROM monitored",
                "SELECT contact_phone FROM monitored", "SELECT person FROM measure",
                "SELECT unit FROM measure", "SELECT login FROM users", "SELECT name FROM users"):
        personal |= {r[0] for r in query(c.db, sql) if r[0]}
    names = {r[0] for r in query(c.db, "SELECT name FROM region")}
    labels = ({r[0] for r in query(c.db, "SELECT label FROM code_item")} | set(CATEGORIES) |
              set(CHANNELS) | {x for _, x in RISK_TYPES + MEASURE_CATEGORIES})
    seen = []

    def walk(v, where):
        if isinstance(v, dict):
            for k, x in v.items():
                assert k not in PERSONAL_KEYS, "key %r at %s" % (k, where)
                if k == "name":
                    assert x in names | labels | {"全部辖区"} or "·" in x, (
                        "name %r at %s is neither a region nor a label" % (x, where))
                walk(x, where + "." + k)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, "%s[%d]" % (where, i))
        elif isinstance(v, str):
            assert v not in personal, "personal value %r at %s" % (v, where)
            seen.append(v)
    for region in ("", c.town, c.village):
        for route in ROUTES:
            st, b, h = c.s.get("/api/v1/report/%s%s" % (route, "?region=" + region if region else ""),
                               token=c.leader)
            eq(st, 200, route)
            walk(b, route)
            assert "no-store" in h.get("cache-control", ""), h
    assert "平利县" in seen and "因病" in seen, "the walk saw the answers"
    # and the leader still reads no household
    st, b, _ = c.s.get("/api/v1/households", token=c.leader)
    eq((st, b["error"]["code"]), (403, "E_FORBIDDEN"))


def test_figures_follow_writes_through_the_api():
    """With --report-max-age 0 every answer is counted afresh: a self-report
    (自主申报) is a new open alert of this month at once."""
    c = C()
    hh = query(c.db, "SELECT id FROM household WHERE village_code = ? AND id NOT IN (SELECT "
                     "household_id FROM alert WHERE status IN ('open', 'case')) ORDER BY id LIMIT 1",
               (c.village,))[0][0]
    before = get(c, "/api/v1/report/alerts?region=" + c.village, c.clerk)
    st, b, _ = c.s.post("/api/v1/households/%d/applications" % hh, {"reason": "因病申请纳入监测"},
                        token=c.clerk)
    eq(st, 201, b)
    after = get(c, "/api/v1/report/alerts?region=" + c.village, c.clerk)
    # the alert is stamped now (real time), counted in this (fixed) month only if it is one
    now_month = china_date(datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S"))[:7]
    eq(after["alerts"]["open"], before["alerts"]["open"] + 1, "open alerts")
    eq(after["alerts"]["new"], before["alerts"]["new"] + (1 if now_month == TODAY[:7] else 0),
       "new alerts this month")
    check_region(c, get(c, "/api/v1/report/dashboard?region=" + c.village), c.village)


def test_summary_is_kept_until_stale_or_refreshed():
    """A server with the default max age reads the same summary until it is
    rebuilt: `liubao report refresh` makes a change visible at once."""
    c = C()
    s = Server(c.db, login=None)
    try:
        tok = s.make_user("t.admin2", "admin", COUNTY)
        cli("report", "refresh", "--db", c.db, check=0)
        first = s.get("/api/v1/report/monitored?region=" + c.village, token=tok)[1]
        eq(first["kpi"]["monitoring"], Raw(c.db).figures(c.village)["monitoring"])
        hh = query(c.db, "SELECT m.household_id FROM monitored m JOIN household h ON h.id = "
                         "m.household_id WHERE h.village_code = ? AND m.status = 'monitoring' "
                         "ORDER BY m.household_id LIMIT 1", (c.village,))[0][0]
        execute(c.db, "UPDATE monitored SET status = 'eliminated', eliminated_on = ?, elim_mode = "
                      "'帮扶消除' WHERE household_id = ?", (TODAY, hh))
        try:
            again = s.get("/api/v1/report/monitored?region=" + c.village, token=tok)[1]
            eq(again, first, "the summary is kept while fresh")
            p = cli("report", "refresh", "--db", c.db, check=0)
            assert "已更新统计汇总" in p.stderr, p.stderr
            now = s.get("/api/v1/report/monitored?region=" + c.village, token=tok)[1]
            eq(now["kpi"]["monitoring"], first["kpi"]["monitoring"] - 1, "after refresh")
            eq(now["kpi"]["eliminated"], first["kpi"]["eliminated"] + 1, "after refresh")
            check_region(c, get(c, "/api/v1/report/dashboard?region=" + c.village), c.village)
            # the command line shows what the API answers an unlimited scope
            out = json.loads(cli("report", "show", "--region", c.town, "--db", c.db,
                                 check=0).stdout)
            api = get(c, "/api/v1/report/dashboard?region=" + c.town)
            for k in ("kpi", "categories", "risk_types", "measures", "trend", "subregions",
                      "cases", "alerts"):
                eq(out[k], api[k], "report show: " + k)
            eq(len(out["path"]), 5, "the path from 全部辖区 down")
            p = cli("report", "show", "--region", "abc", "--db", c.db)
            eq(p.returncode, 1)
            assert "区划代码“abc”无效" in p.stderr, p.stderr
            eq(cli("report", "--db", c.db).returncode, 2)
        finally:
            execute(c.db, "UPDATE monitored SET status = 'monitoring', eliminated_on = '', "
                          "elim_mode = '' WHERE household_id = ?", (hh,))
    finally:
        s.stop()


def test_lights_follow_the_working_day_calendar():
    """On 2026-02-14, a Saturday worked before the Spring Festival break
    (15th–23rd), the next working day is the 24th: steps due up to then are
    yellow, steps due before the 14th red (as monitor_light() decides)."""
    c = C()
    today = "2026-02-14"
    s = Server(c.db, login=None, extra=["--report-max-age", "0"], env={"LIUBAO_TODAY": today})
    try:
        tok = s.make_user("t.admin4", "admin", COUNTY)
        b = s.get("/api/v1/report/overdue", token=tok)[1]
        raw = Raw(c.db)
        warn = next_workday(c.db, today)
        eq(warn, "2026-02-24", "the next working day")
        steps = steps_of(c.db)
        cs = raw.cases
        eq(b["today"], today)
        eq(b["cases"]["overdue"], [sum(1 for r in cs if (r[1], r[2]) == st and r[3] and today > r[3])
                                   for st in steps], "red")
        eq(b["cases"]["due_soon"], [sum(1 for r in cs if (r[1], r[2]) == st and r[3] and
                                        today <= r[3] <= warn) for st in steps], "yellow")
        assert sum(b["cases"]["due_soon"]) >= 1, b["cases"]
    finally:
        s.stop()


def test_stale_summary_is_rebuilt_in_the_background():
    """Once older than --report-max-age, the summary still answers at once
    (stale) while a background thread recounts; the next answers are new."""
    c = C()
    s = Server(c.db, login=None, extra=["--report-max-age", "1"])
    try:
        tok = s.make_user("t.admin3", "admin", COUNTY)
        cli("report", "refresh", "--db", c.db, check=0)
        path = "/api/v1/report/monitored?region=" + c.village
        first = s.get(path, token=tok)[1]
        hh = query(c.db, "SELECT m.household_id FROM monitored m JOIN household h ON h.id = "
                         "m.household_id WHERE h.village_code = ? AND m.status = 'monitoring' "
                         "ORDER BY m.household_id LIMIT 1", (c.village,))[0][0]
        execute(c.db, "UPDATE monitored SET status = 'eliminated', eliminated_on = ?, elim_mode = "
                      "'帮扶消除' WHERE household_id = ?", (TODAY, hh))
        try:
            time.sleep(1.2)
            # this answer comes from the stale summary unless the background
            # thread (started by it) wins the race to the tiny test database
            stale = s.get(path, token=tok)[1]
            assert stale["kpi"]["monitoring"] in (first["kpi"]["monitoring"],
                                                  first["kpi"]["monitoring"] - 1), stale["kpi"]
            deadline = time.time() + 20
            while time.time() < deadline:
                now = s.get(path, token=tok)[1]
                if now["kpi"] != first["kpi"]:
                    break
                time.sleep(0.1)
            eq(now["kpi"]["monitoring"], first["kpi"]["monitoring"] - 1, "rebuilt")
            assert now["as_of"] >= first["as_of"]
        finally:
            execute(c.db, "UPDATE monitored SET status = 'monitoring', eliminated_on = '', "
                          "elim_mode = '' WHERE household_id = ?", (hh,))
    finally:
        s.stop()


if __name__ == "__main__":
    run_tests(globals())
