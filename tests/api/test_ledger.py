#!/usr/bin/env python3
"""test_ledger.py — the income ledger, monitoring lines, working-day calendar,
assistance measures and 一户一策 plan over the JSON API: round trips with
items and 说明, the derived figures (纯收入, 人均纯收入 rounded in 分, 参考收入),
the line found by the longest region prefix and the below-line flag, the
identification-period approximation, region scope (404 outside), Chinese
validation with 400/422 and nothing written, audit rows with old and new
values, administrator-only configuration, and the demo incomes (deterministic,
summaries in step with the items, a realistic share below the line)."""
import itertools
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Server, eq, id_number, new_db, query, query_dicts, run_tests, snapshot  # noqa: E402

VILLAGE = "610926100001"     # 城关镇 西城社区
OTHER_VILLAGE = "610926101001"  # 兴隆镇 冠汝社区
CJK = re.compile("[\u4e00-\u9fff]")

_servers = {}
_tokens = {}
_seq = itertools.count(1)


def api():
    """Admin (scope 610926) over a regions-only database, plus a village
    clerk of 兴隆镇 and a county administrator without scope."""
    if "api" not in _servers:
        s = Server(new_db("ledger.db"))
        _servers["api"] = s
        _tokens["admin"] = s.token
        _tokens["clerk"] = s.make_user("ledger.clerk", "village_clerk", "610926101")
        _tokens["top"] = s.make_user("ledger.top", "admin", None)
        _tokens["leader"] = s.make_user("ledger.leader", "leader", "610926")
    return _servers["api"]


def teardown():
    for s in _servers.values():
        s.stop()


def as_(who):
    return {"token": _tokens[who]}


# ---- helpers --------------------------------------------------------------------

def person(sex, birth):
    while True:
        n = next(_seq)
        if (n % 2 == 1) == (sex == "男"):
            return id_number("610926", birth, n % 1000)


def household(village=VILLAGE, members=3):
    """Create a household with `members` members; returns its id."""
    people = [("户主", "男", "19700315"), ("配偶", "女", "19720820"), ("之子", "男", "19990101"),
              ("之女", "女", "20030101")][:members]
    body = {"hh_no": "L%05d" % next(_seq), "village_code": village, "hh_type": "一般农户",
            "members": [{"name": "成员%d" % i, "relation": r, "id_number": person(sx, b)}
                        for i, (r, sx, b) in enumerate(people)]}
    st, b, _ = api().post("/api/v1/households", body)
    eq(st, 201, "create household %r" % (b,))
    return b["id"]


def check_error(status, body, want_status, want_code=None):
    if status != want_status:
        raise AssertionError("status %d, want %d: %r" % (status, want_status, body))
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert err["code"].startswith("E_"), err
    assert CJK.search(err["message"]), err
    if want_code:
        eq(err["code"], want_code, "error code (%s)" % err["message"])
    return err


def expect_error(method, path, body, status, code=None, who="admin"):
    """A refused request: the status, the one error shape, nothing written."""
    s = api()
    before = snapshot(s.db)
    st, b, _ = s.request(method, path, body, **as_(who))
    err = check_error(st, b, status, code)
    if snapshot(s.db) != before:
        raise AssertionError("%s %s (%d) changed the database" % (method, path, status))
    return err


def detail_codes(err):
    return [d["code"] for d in err.get("details", [])]


def last_audit(db, target_type, target_id):
    """The latest audit row about a target (target_id None: a target without id)."""
    if target_id is None:
        rows = query_dicts(db, "SELECT * FROM audit_log WHERE target_type = ? AND target_id IS "
                           "NULL ORDER BY id DESC LIMIT 1", (target_type,))
    else:
        rows = query_dicts(db, "SELECT * FROM audit_log WHERE target_type = ? AND target_id = ? "
                           "ORDER BY id DESC LIMIT 1", (target_type, target_id))
    return rows[0] if rows else None


def ensure_line(year, region, amount):
    """Set the line of (year, region) through the API (unscoped admin)."""
    s = api()
    st, b, _ = s.get("/api/v1/monitor-lines?year=%d&region=%s" % (year, region))
    eq(st, 200)
    if b["items"]:
        st, b, _ = s.put("/api/v1/monitor-lines/%d" % b["items"][0]["id"], {"amount": amount},
                         **as_("top"))
        eq(st, 200, "update line %r" % (b,))
    else:
        st, b, _ = s.post("/api/v1/monitor-lines", {"year": year, "region": region,
                                                    "amount": amount, "basis": "测试"},
                          **as_("top"))
        eq(st, 201, "create line %r" % (b,))
    return b


ITEMS = [
    {"item": "务工收入", "amount": 3600000, "note": "张三 省外务工 10个月"},
    {"item": "村级公益岗收入", "amount": 600000, "note": "护林员"},
    {"item": "种植业收入", "amount": 500000, "note": "魔芋、玉米"},
    {"item": "种植业支出", "amount": 150000, "note": "化肥"},
    {"item": "土地流转收入", "amount": 80000, "note": ""},
    {"item": "公益林补贴", "amount": 12345, "note": "生态公益林"},
    {"item": "防贫保险", "amount": 20000},
    {"item": "合规自付支出", "amount": 1800000, "note": "住院自付"},
    {"item": "理赔收入", "amount": 300000, "note": "防贫保险理赔"},
]


# ---- income ledger ----------------------------------------------------------------

def test_income_round_trip_with_items_and_notes():
    s = api()
    hh = household()
    st, b, _ = s.get("/api/v1/households/%d/income/2025" % hh)
    eq(st, 200)
    eq((b["saved"], b["items"], b["net_income"], b["below_line"]), (False, [], None, None))
    assert "尚未录入" in b["explain"], b["explain"]

    st, b, _ = s.put("/api/v1/households/%d/income/2025" % hh, {"items": ITEMS})
    eq(st, 200, "save %r" % (b,))
    eq(b["saved"], True)
    got = {i["item"]: (i["amount"], i["note"], i["category"], i["group"]) for i in b["items"]}
    eq(got["务工收入"], (3600000, "张三 省外务工 10个月", "工资性收入", None))
    eq(got["公益林补贴"], (12345, "生态公益林", "转移性收入", "生态补偿金"))
    eq(got["防贫保险"], (20000, "", "转移性收入", "其他转移性收入"))
    eq(got["合规自付支出"][2], "合规自付支出")
    eq([i["item"] for i in b["items"]][:3], ["务工收入", "村级公益岗收入", "种植业收入"])
    eq(b["totals"], {"wage": 4200000, "business": 500000, "property": 80000,
                     "transfer": 32345, "business_cost": 150000, "claims": 300000,
                     "rigid": 1800000})
    net = 4200000 + 500000 + 80000 + 32345 - 150000
    eq(b["net_income"], net)
    eq(b["reference_income"], net - 1800000 + 300000)
    eq((b["hh_size"], b["denominator"], b["resident_size"], b["members_now"]), (3, 3, None, 3))
    eq(b["net_income_pc"], 1554115)      # 4,662,345 / 3 = 1,554,115
    eq(b["reference_income_pc"], 1054115)  # 3,162,345 / 3 = 1,054,115
    eq(b["denominator_basis"], "户籍人口")

    st, again, _ = s.get("/api/v1/households/%d/income/2025" % hh)
    eq(st, 200)
    for k in ("items", "totals", "net_income", "net_income_pc", "reference_income"):
        eq(again[k], b[k], k)
    # stored rows: items and the summary kept in step
    rows = query(s.db, "SELECT item, amount, note FROM income_item WHERE household_id = ? AND "
                 "year = 2025 ORDER BY item", (hh,))
    eq(len(rows), len(ITEMS))
    eq(rows[0], (101, 3600000, "张三 省外务工 10个月"))
    summ = query_dicts(s.db, "SELECT * FROM income_summary WHERE household_id = ? AND year = 2025",
                       (hh,))[0]
    eq((summ["wage"], summ["net"], summ["hh_size"], summ["net_pc"], summ["ref_pc"]),
       (4200000, net, 3, 1554115, 1054115))
    # audited: first save has no old value
    a = last_audit(s.db, "income", hh)
    assert a and a["old_value"] is None and "张三" in a["new_value"], a

    # a second save replaces the items; the audit keeps both versions
    st, b2, _ = s.put("/api/v1/households/%d/income/2025" % hh,
                      {"items": [{"item": "低保金", "amount": 100, "note": "调整"}]})
    eq(st, 200)
    eq([i["item"] for i in b2["items"]], ["低保金"])
    eq(b2["net_income_pc"], 33)  # 100 / 3 = 33.33
    eq(query(s.db, "SELECT count(*) FROM income_item WHERE household_id = ? AND year = 2025",
             (hh,))[0][0], 1)
    a = last_audit(s.db, "income", hh)
    assert "张三" in a["old_value"] and "调整" in a["new_value"], a
    # other years are separate ledgers
    st, b3, _ = s.get("/api/v1/households/%d/income/2024" % hh)
    eq(b3["saved"], False)


def test_income_per_capita_rounding_and_zero_members():
    s = api()
    hh = household(members=3)
    st, b, _ = s.put("/api/v1/households/%d/income/2025" % hh,
                     {"items": [{"item": "务工收入", "amount": 2000}]})
    eq(b["net_income_pc"], 667)  # 666.67 rounds up
    st, b, _ = s.put("/api/v1/households/%d/income/2025" % hh,
                     {"items": [{"item": "种植业收入", "amount": 1000},
                                {"item": "种植业支出", "amount": 3000}]})
    eq((b["net_income"], b["net_income_pc"]), (-2000, -667))  # halves away from zero
    # a household without members has no per-capita figures
    st, h, _ = s.post("/api/v1/households", {"hh_no": "L0EMPTY%d" % next(_seq),
                                             "village_code": VILLAGE})
    eq(st, 201)
    st, b, _ = s.put("/api/v1/households/%d/income/2025" % h["id"],
                     {"items": [{"item": "务工收入", "amount": 1000}]})
    eq(st, 200)
    eq((b["hh_size"], b["net_income"], b["net_income_pc"], b["below_line"]), (0, 1000, None, None))
    assert "家庭人口数为 0" in b["explain"], b["explain"]
    # an empty ledger is a saved ledger of zeros
    st, b, _ = s.put("/api/v1/households/%d/income/2023" % hh, {"items": []})
    eq((st, b["saved"], b["net_income"], b["net_income_pc"]), (200, True, 0, 0))


def test_income_line_longest_prefix_and_below_flag():
    s = api()
    hh = household(members=2)
    ensure_line(2030, "", 700000)
    ensure_line(2030, "61", 800000)
    county = ensure_line(2030, "610926", 900000)
    ensure_line(2030, "610926101", 950000)     # another township: not ours
    # 16,000 元 / 2 = 8,000 元 per person
    st, b, _ = s.put("/api/v1/households/%d/income/2030" % hh,
                     {"items": [{"item": "务工收入", "amount": 1600000}]})
    eq(st, 200)
    eq(b["net_income_pc"], 800000)
    eq((b["line"]["region"], b["line"]["amount"], b["line"]["region_name"]),
       ("610926", 900000, "平利县"))
    eq(b["below_line"], True)
    assert "低于 2030 年监测线 9,000.00 元" in b["explain"], b["explain"]
    assert "8,000.00" in b["explain"], b["explain"]
    # without the county line the province line applies: 8,000 is not below 8,000
    st, _, _ = s.delete("/api/v1/monitor-lines/%d" % county["id"])
    eq(st, 200)
    st, b, _ = s.get("/api/v1/households/%d/income/2030" % hh)
    eq((b["line"]["region"], b["line"]["amount"], b["below_line"]), ("61", 800000, False))
    assert "不低于" in b["explain"], b["explain"]
    # the reference income after rigid spending can fall below when net does not
    st, b, _ = s.put("/api/v1/households/%d/income/2030" % hh,
                     {"items": [{"item": "务工收入", "amount": 1800000},
                                {"item": "合规自付支出", "amount": 500000}]})
    eq((b["below_line"], b["reference_below_line"]), (False, True))
    assert "参考收入" in b["explain"], b["explain"]
    # the lookup route: longest prefix for any code
    for code, want in (("610926101001", "610926101"), ("610926100001", "61"),
                       ("620102000000", ""), ("61", "61")):
        st, b, _ = s.get("/api/v1/monitor-lines/applicable?code=%s&year=2030" % code)
        eq((st, b["line"]["region"]), (200, want), code)
    st, b, _ = s.get("/api/v1/monitor-lines/applicable?code=610926100001&year=2099")
    eq((st, b["line"]), (200, None))
    # a year without a line says so
    st, b, _ = s.put("/api/v1/households/%d/income/2099" % hh,
                     {"items": [{"item": "务工收入", "amount": 1}]})
    eq((b["line"], b["below_line"]), (None, None))
    assert "未设置 2099 年监测线" in b["explain"], b["explain"]


def test_shipped_lines():
    s = api()
    st, b, _ = s.get("/api/v1/monitor-lines?year=2021", **as_("clerk"))
    eq(st, 200)
    got = {(i["region"], i["amount"], i["assumed"]) for i in b["items"]}
    eq(got, {("", 600000, False), ("61", 600000, False)})
    names = {i["region"]: i["region_name"] for i in b["items"]}
    eq(names, {"": "全国", "61": "陕西省"})


def test_income_identification_period():
    s = api()
    hh = household(members=2)
    s.put("/api/v1/households/%d/income/2024" % hh,
          {"items": [{"item": "务工收入", "amount": 1200000}]})
    st, b, _ = s.get("/api/v1/households/%d/income-ident/2025-07" % hh)
    eq(st, 200)
    eq((b["period"], b["complete"], b["missing_years"]),
       ({"from": "2024-07-01", "to": "2025-06-30"}, False, [2025]))
    eq(b["net_income"], None)
    s.put("/api/v1/households/%d/income/2025" % hh,
          {"items": [{"item": "务工收入", "amount": 2400000}]})
    st, b, _ = s.get("/api/v1/households/%d/income-ident/202507" % hh)
    eq(b["spans"], [{"year": 2024, "months": 6, "saved": True},
                    {"year": 2025, "months": 6, "saved": True}])
    eq((b["complete"], b["totals"]["wage"], b["net_income_pc"]), (True, 1800000, 900000))
    st, b, _ = s.get("/api/v1/households/%d/income-ident/2025-01" % hh)
    eq((b["spans"], b["net_income"]), ([{"year": 2024, "months": 12, "saved": True}], 1200000))
    for bad in ("2025-13", "202500", "abc", "1999-01"):
        st, b, _ = s.get("/api/v1/households/%d/income-ident/%s" % (hh, bad))
        check_error(st, b, 400, "E_BAD_PARAM")


def test_income_bad_input_writes_nothing():
    hh = household()
    path = "/api/v1/households/%d/income/2025" % hh
    api().put(path, {"items": ITEMS[:2]})
    cases = [
        ({"items": [], "year": 2025}, 400, "E_UNKNOWN_FIELD"),
        ({"items": [{"item": "务工收入", "amount": 1, "who": "x"}]}, 400, "E_UNKNOWN_FIELD"),
        ({}, 422, "E_VALIDATION"),
        ({"items": {"item": "务工收入"}}, 422, "E_BAD_TYPE"),
        ({"items": ["务工收入"]}, 422, "E_BAD_TYPE"),
        ({"items": [{"item": "务工收入", "amount": "1000"}]}, 422, "E_BAD_TYPE"),
        ({"items": [{"item": "务工收入", "amount": 10.5}]}, 422, "E_BAD_TYPE"),
        ({"items": [{"item": "务工收入", "amount": True}]}, 422, "E_BAD_TYPE"),
        ({"items": [{"item": 101, "amount": 1}]}, 422, "E_BAD_TYPE"),
        ({"items": [{"item": "务工收入", "amount": -1}]}, 422, "E_VALIDATION"),
        ({"items": [{"item": "务工收入", "amount": 10 ** 13}]}, 422, "E_VALIDATION"),
        ({"items": [{"item": "务工收人", "amount": 1}]}, 422, "E_VALIDATION"),
        ({"items": [{"item": "务工收入"}]}, 422, "E_VALIDATION"),
        ({"items": [{"item": "务工收入", "amount": 1}, {"item": "务工收入", "amount": 2}]},
         422, "E_VALIDATION"),
        ({"items": [{"item": "务工收入", "amount": 1, "category": "转移性收入"}]}, 422,
         "E_VALIDATION"),
        ({"items": [{"item": "务工收入", "amount": 1, "note": "a\x01b"}]}, 422, "E_VALIDATION"),
        ({"items": [{"item": "务工收入", "amount": 1, "note": "长" * 400}]}, 422, "E_VALIDATION"),
        ({"items": [{"item": "务工收入", "amount": 1, "note": 5}]}, 422, "E_BAD_TYPE"),
    ]
    for body, status, code in cases:
        expect_error("PUT", path, body, status, code)
    err = expect_error("PUT", path, {"items": [{"item": "务工收人", "amount": 1}]}, 422)
    eq(detail_codes(err), ["E_BAD_CODE"])
    assert "务工收入" in err["message"], err  # did you mean
    err = expect_error("PUT", path, {"items": [{"item": "务工收入", "amount": 1},
                                               {"item": "务工收入", "amount": 2}]}, 422)
    assert "E_DUPLICATE_ITEM" in detail_codes(err), err
    expect_error("PUT", "/api/v1/households/%d/income/1999" % hh, {"items": []}, 400,
                 "E_BAD_PARAM")
    expect_error("PUT", "/api/v1/households/%d/income/abc" % hh, {"items": []}, 400,
                 "E_BAD_PARAM")
    expect_error("PUT", "/api/v1/households/999999/income/2025", {"items": []}, 404,
                 "E_NOT_FOUND")
    s = api()
    before = snapshot(s.db)
    st, b, _ = s.request("PUT", path, "{not json", headers={"Content-Type": "application/json"})
    check_error(st, b, 400, "E_BAD_JSON")
    st, b, _ = s.request("PUT", path, '{"items": []}', headers={"Content-Type": "text/plain"})
    check_error(st, b, 415)
    eq(snapshot(s.db), before, "415 wrote nothing")
    st, b, _ = s.get(path + "?x=1")
    check_error(st, b, 400, "E_UNKNOWN_PARAM")


def test_scope_404_and_roles():
    s = api()
    mine = household(VILLAGE)            # 城关镇: outside the clerk's 兴隆镇
    theirs = household(OTHER_VILLAGE)
    st, mid, _ = s.post("/api/v1/households/%d/measures" % mine,
                        {"category": "产业帮扶", "item": "产业奖补", "start_date": "2025-03-01"})
    eq(st, 201)
    for method, path, body in [
            ("GET", "/api/v1/households/%d/income/2025" % mine, None),
            ("PUT", "/api/v1/households/%d/income/2025" % mine, {"items": []}),
            ("GET", "/api/v1/households/%d/income-ident/2025-07" % mine, None),
            ("GET", "/api/v1/households/%d/measures" % mine, None),
            ("POST", "/api/v1/households/%d/measures" % mine,
             {"category": "产业帮扶", "item": "产业奖补", "start_date": "2025-03-01"}),
            ("GET", "/api/v1/measures/%d" % mid["id"], None),
            ("PUT", "/api/v1/measures/%d" % mid["id"], {"amount": 1}),
            ("DELETE", "/api/v1/measures/%d" % mid["id"], None),
            ("GET", "/api/v1/households/%d/plan/2025" % mine, None),
            ("PUT", "/api/v1/households/%d/plan/2025" % mine, {"plan": "x"})]:
        expect_error(method, path, body, 404, "E_NOT_FOUND", who="clerk")
    # inside scope the clerk reads and writes
    st, b, _ = s.put("/api/v1/households/%d/income/2025" % theirs,
                     {"items": [{"item": "养殖业收入", "amount": 500000}]}, **as_("clerk"))
    eq(st, 200, "clerk saves %r" % (b,))
    st, b, _ = s.get("/api/v1/households/%d/income/2025" % theirs, **as_("clerk"))
    eq((st, b["totals"]["business"]), (200, 500000))
    # a leader (statistics only) may not read ledgers
    expect_error("GET", "/api/v1/households/%d/income/2025" % theirs, None, 403, "E_FORBIDDEN",
                 who="leader")


# ---- measures and plan ----------------------------------------------------------

def test_measures_crud_validation_and_audit():
    s = api()
    hh = household()
    base = "/api/v1/households/%d/measures" % hh
    st, m1, h = s.post(base, {"category": "产业帮扶", "item": "产业奖补", "start_date": "2025-03-01",
                              "end_date": "2025-12-31", "amount": 300000, "unit": "县农业农村局",
                              "person": "李四", "evidence": "奖补发放表\n照片3张", "case_id": 42})
    eq(st, 201, "create %r" % (m1,))
    eq(h.get("location"), "/api/v1/measures/%d" % m1["id"])
    eq((m1["category"], m1["category_code"], m1["item"], m1["development"], m1["amount"],
        m1["case_id"], m1["evidence"]),
       ("产业帮扶", "100A39", "产业奖补", True, 300000, 42, "奖补发放表\n照片3张"))
    st, m2, _ = s.post(base, {"category": "100A48", "item": "低保", "start_date": "2025-01-01"})
    eq(st, 201, "by code %r" % (m2,))
    eq((m2["category"], m2["development"], m2["end_date"], m2["amount"], m2["case_id"]),
       ("综合保障", False, None, 0, None))
    st, b, _ = s.get(base)
    eq([m["id"] for m in b["items"]], [m2["id"], m1["id"]])  # by start date
    a = last_audit(s.db, "measure", m1["id"])
    assert a["old_value"] is None and "产业奖补" in a["new_value"], a

    # partial update
    st, u, _ = s.put("/api/v1/measures/%d" % m1["id"], {"end_date": None, "amount": 350000})
    eq(st, 200, "update %r" % (u,))
    eq((u["end_date"], u["amount"], u["item"], u["person"]), (None, 350000, "产业奖补", "李四"))
    a = last_audit(s.db, "measure", m1["id"])
    assert '300000' in a["old_value"] and '350000' in a["new_value"], a
    # a category change needs an item of the new category
    st, u, _ = s.put("/api/v1/measures/%d" % m1["id"], {"category": "就业帮扶", "item": "技能培训"})
    eq((st, u["category"], u["item"], u["development"]), (200, "就业帮扶", "技能培训", True))

    mpath = "/api/v1/measures/%d" % m1["id"]
    for method, path, body, status, code in [
            ("POST", base, {"category": "产业帮扶", "item": "产业奖补"}, 422, "E_VALIDATION"),
            ("POST", base, {"category": "致富帮扶", "item": "其他", "start_date": "2025-01-01"},
             422, "E_VALIDATION"),
            ("POST", base, {"category": "产业帮扶", "item": "低保", "start_date": "2025-01-01"},
             422, "E_VALIDATION"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": "2025-02-30"},
             422, "E_VALIDATION"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": "2025-05-01",
                            "end_date": "2025-04-30"}, 422, "E_VALIDATION"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": "2025-05-01",
                            "amount": "100"}, 422, "E_BAD_TYPE"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": "2025-05-01",
                            "amount": -5}, 422, "E_VALIDATION"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": "2025-05-01",
                            "case_id": "7"}, 422, "E_BAD_TYPE"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": "2025-05-01",
                            "colour": "red"}, 400, "E_UNKNOWN_FIELD"),
            ("POST", base, {"category": "产业帮扶", "item": "其他", "start_date": 20250501},
             422, "E_BAD_TYPE"),
            ("PUT", mpath, {"category": "健康帮扶"}, 422, "E_VALIDATION"),
            ("PUT", mpath, {"item": "劳务输出x"}, 422, "E_VALIDATION"),
            ("PUT", mpath, {"start_date": "2026-01-01", "end_date": "2025-01-01"}, 422,
             "E_VALIDATION"),
            ("PUT", mpath, {"person": "a\tb"}, 422, "E_VALIDATION"),
            ("PUT", mpath, {"start_date": None}, 422, "E_VALIDATION"),
            ("PUT", mpath, {"unknown": 1}, 400, "E_UNKNOWN_FIELD"),
            ("PUT", "/api/v1/measures/999999", {"amount": 1}, 404, "E_NOT_FOUND"),
            ("DELETE", "/api/v1/measures/0", None, 404, "E_NOT_FOUND"),
            ("POST", "/api/v1/households/999999/measures",
             {"category": "产业帮扶", "item": "其他", "start_date": "2025-01-01"}, 404,
             "E_NOT_FOUND")]:
        expect_error(method, path, body, status, code)
    err = expect_error("PUT", mpath, {"item": "劳务输出x"}, 422)
    assert "可选" in err["message"] and "劳务输出" in err["message"], err

    st, b, _ = s.delete(mpath)
    eq((st, b["deleted"]), (200, True))
    a = last_audit(s.db, "measure", m1["id"])
    assert a["new_value"] is None and "技能培训" in a["old_value"], a
    st, b, _ = s.get(mpath)
    check_error(st, b, 404, "E_NOT_FOUND")
    # measures go with their household
    st, _, _ = s.delete("/api/v1/households/%d" % hh)
    eq(st, 200)
    eq(query(s.db, "SELECT count(*) FROM measure WHERE household_id = ?", (hh,))[0][0], 0)


def test_plan_round_trip():
    s = api()
    hh = household()
    path = "/api/v1/households/%d/plan/2025" % hh
    st, b, _ = s.get(path)
    eq((st, b["saved"], b["plan"], b["dev_status"]), (200, False, "", None))
    text = "一、发展茶叶种植 5 亩\n二、推荐公益岗位\n三、落实慢病签约"
    st, b, _ = s.put(path, {"plan": text, "dev_status": "尚未实施"})
    eq((st, b["saved"], b["plan"], b["dev_status"]), (200, True, text, "尚未实施"))
    a = last_audit(s.db, "help_plan", hh)
    assert a["old_value"] is None and "茶叶" in a["new_value"], a
    # partial: only the status changes
    st, b, _ = s.put(path, {"dev_status": "已实施"})
    eq((b["plan"], b["dev_status"]), (text, "已实施"))
    a = last_audit(s.db, "help_plan", hh)
    assert "尚未实施" in a["old_value"] and "已实施" in a["new_value"], a
    st, b, _ = s.put(path, {"dev_status": None})
    eq(b["dev_status"], None)
    for body, status, code in [({"dev_status": "部分实施"}, 422, "E_VALIDATION"),
                               ({"plan": 5}, 422, "E_BAD_TYPE"),
                               ({"plan": "x" * 20001}, 422, "E_VALIDATION"),
                               ({"plans": "x"}, 400, "E_UNKNOWN_FIELD")]:
        expect_error("PUT", path, body, status, code)
    st, b, _ = s.get("/api/v1/households/%d/plan/2024" % hh)
    eq(b["saved"], False)


# ---- monitoring lines ------------------------------------------------------------------

def test_lines_api_auth_and_validation():
    s = api()
    # a county administrator sets the county's line, not the province's
    st, b, _ = s.post("/api/v1/monitor-lines", {"year": 2031, "region": "610926000000",
                                                 "amount": 910000, "basis": "县定",
                                                 "source": "平利县文件", "assumed": True})
    eq(st, 201, "county admin %r" % (b,))
    eq((b["region"], b["region_name"], b["assumed"]), ("610926", "平利县", True))
    lid = b["id"]
    a = last_audit(s.db, "monitor_line", lid)
    assert a["old_value"] is None and "910000" in a["new_value"], a
    expect_error("POST", "/api/v1/monitor-lines", {"year": 2031, "region": "61",
                                                    "amount": 800000}, 403, "E_OUT_OF_SCOPE")
    expect_error("POST", "/api/v1/monitor-lines", {"year": 2031, "region": "610926",
                                                    "amount": 1}, 409, "E_DUPLICATE_LINE")
    for body, status in [({"year": 2031, "region": "6109261", "amount": 1}, 422),
                         ({"year": 2031, "region": "610926100001", "amount": 1}, 422),
                         ({"year": 2031, "region": "610926999", "amount": 1}, 422),
                         ({"year": 2031, "region": "610926100", "amount": 0}, 422),
                         ({"year": 2031, "region": "610926100", "amount": 8700.5}, 422),
                         ({"year": 2031, "region": "610926100", "amount": "8700"}, 422),
                         ({"year": 1999, "region": "610926100", "amount": 1}, 422),
                         ({"year": 2031, "region": 610926, "amount": 1}, 422),
                         ({"year": 2031, "amount": 1}, 422),
                         ({"year": 2031, "region": "610926100", "amount": 1, "x": 1}, 400),
                         ({"year": 2031, "region": "610926100", "amount": 1,
                           "assumed": "是"}, 422)]:
        expect_error("POST", "/api/v1/monitor-lines", body, status)
    # update and the audit's old value
    st, b, _ = s.put("/api/v1/monitor-lines/%d" % lid, {"amount": 920000, "assumed": False})
    eq((st, b["amount"], b["assumed"], b["basis"]), (200, 920000, False, "县定"))
    a = last_audit(s.db, "monitor_line", lid)
    assert "910000" in a["old_value"] and "920000" in a["new_value"], a
    # the shipped national line belongs to the unscoped administrator
    nat = query(s.db, "SELECT id FROM monitor_line WHERE year = 2021 AND region = ''")[0][0]
    expect_error("PUT", "/api/v1/monitor-lines/%d" % nat, {"amount": 1}, 403, "E_OUT_OF_SCOPE")
    expect_error("DELETE", "/api/v1/monitor-lines/%d" % nat, None, 403, "E_OUT_OF_SCOPE")
    st, b, _ = s.post("/api/v1/monitor-lines", {"year": 2031, "region": "", "amount": 700000},
                      **as_("top"))
    eq((st, b["region"], b["region_name"]), (201, "", "全国"))
    # writes are for administrators only; everyone signed in may read
    expect_error("POST", "/api/v1/monitor-lines", {"year": 2032, "region": "610926",
                                                    "amount": 1}, 403, "E_FORBIDDEN", who="clerk")
    expect_error("PUT", "/api/v1/monitor-lines/%d" % lid, {"amount": 1}, 403, "E_FORBIDDEN",
                 who="clerk")
    expect_error("DELETE", "/api/v1/monitor-lines/%d" % lid, None, 403, "E_FORBIDDEN",
                 who="clerk")
    st, b, _ = s.get("/api/v1/monitor-lines?year=2031", **as_("clerk"))
    eq([i["region"] for i in b["items"]], ["", "610926"])
    st, b, _ = s.get("/api/v1/monitor-lines?year=20x1")
    check_error(st, b, 400, "E_BAD_PARAM")
    st, b, _ = s.delete("/api/v1/monitor-lines/%d" % lid)
    eq(st, 200)
    a = last_audit(s.db, "monitor_line", lid)
    assert "920000" in a["old_value"] and a["new_value"] is None, a
    expect_error("DELETE", "/api/v1/monitor-lines/%d" % lid, None, 404, "E_NOT_FOUND")


# ---- calendar -------------------------------------------------------------------------

def test_calendar_read_and_workdays():
    s = api()
    st, b, _ = s.get("/api/v1/calendar?year=2025", **as_("clerk"))
    eq(st, 200)
    eq((b["loaded"], b["workdays"]), (True, 248))
    assert "2025年部分节假日安排" in b["source"], b["source"]
    days = {d["date"]: (d["kind"], d["name"], d["weekday"]) for d in b["days"]}
    eq(days["2025-01-26"], ("调休上班", "春节", "星期日"))
    eq(days["2025-01-28"][0], "放假")
    eq(len([d for d in b["days"] if d["kind"] == "调休上班"]), 5)
    st, b, _ = s.get("/api/v1/calendar?year=2024")
    eq(b["workdays"], 251)
    st, b, _ = s.get("/api/v1/calendar/workdays?from=2025-01-24&days=3")
    eq((st, b["deadline"], b["deadline_weekday"], b["years_not_loaded"]),
       (200, "2025-02-05", "星期三", []))
    st, b, _ = s.get("/api/v1/calendar/workdays?from=2026-02-13&days=2")
    eq(b["deadline"], "2026-02-24")
    st, b, _ = s.get("/api/v1/calendar/workdays?from=2025-01-20&to=2025-02-21")
    eq(b["workdays"], 20)
    st, b, _ = s.get("/api/v1/calendar/workdays?from=2029-01-01&days=1")
    eq(b["years_not_loaded"], [2029])
    for q in ("from=2025-02-30&days=1", "from=2025-01-01", "from=2025-01-01&days=1&to=2025-02-01",
              "from=2025-01-01&days=x", "days=3", "from=2025-01-01&days=1&y=1"):
        st, b, _ = s.get("/api/v1/calendar/workdays?" + q)
        check_error(st, b, 400)


def test_calendar_admin_writes():
    s = api()
    notice = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
              "days": [{"date": "2027-02-06", "kind": "调休上班", "name": "春节"},
                       {"date": "2027-02-08", "kind": "放假", "name": "春节"},
                       {"date": "2027-02-09", "kind": "放假", "name": "春节"}]}
    # not for a village clerk
    expect_error("POST", "/api/v1/calendar", notice, 403, "E_FORBIDDEN", who="clerk")
    expect_error("DELETE", "/api/v1/calendar/2025-01-26", None, 403, "E_FORBIDDEN", who="clerk")
    # bad notices change nothing: a 调休上班 on a weekday, a date outside the
    # year, a duplicate date, an unknown kind
    for days, code in [([{"date": "2027-02-10", "kind": "调休上班"}], "E_VALIDATION"),
                       ([{"date": "2028-01-01", "kind": "放假"}], "E_VALIDATION"),
                       ([{"date": "2027-02-10", "kind": "放假"},
                         {"date": "2027-02-10", "kind": "放假"}], "E_VALIDATION"),
                       ([{"date": "2027-02-10", "kind": "休息"}], "E_VALIDATION"),
                       ([{"date": "2027/02/10", "kind": "放假"}], "E_VALIDATION"),
                       ([{"date": "2027-02-10", "kind": "放假", "x": 1}], "E_UNKNOWN_FIELD"),
                       ([], "E_VALIDATION"),
                       ("2027-02-10", "E_BAD_TYPE")]:
        body = dict(notice, days=days)
        expect_error("POST", "/api/v1/calendar", body, 400 if code == "E_UNKNOWN_FIELD" else 422,
                     code)
    st, b, _ = s.post("/api/v1/calendar", notice)
    eq((st, b["created"], b["updated"]), (201, 3, 0))
    st, b, _ = s.get("/api/v1/calendar?year=2027")
    eq((b["loaded"], b["source"], len(b["days"])), (True, notice["source"], 3))
    st, b, _ = s.get("/api/v1/calendar/workdays?from=2027-02-05&days=1")
    eq(b["deadline"], "2027-02-06")  # the Saturday is now worked
    a = last_audit(s.db, "calendar", 2027)
    assert a and "2027-02-08" in a["new_value"], a
    # one day, replacing an existing one
    st, b, _ = s.post("/api/v1/calendar", {"date": "2027-02-09", "kind": "调休上班"})
    check_error(st, b, 422)  # a Tuesday cannot be a 调休上班 day
    st, b, _ = s.post("/api/v1/calendar", {"date": "2027-02-09", "kind": "放假", "name": "除夕"})
    eq((st, b["created"], b["updated"], b["days"][0]["name"]), (200, 0, 1, "除夕"))
    # remove a day
    st, b, _ = s.delete("/api/v1/calendar/2027-02-09")
    eq((st, b["deleted"]), (200, True))
    a = last_audit(s.db, "calendar", 20270209)
    assert "除夕" in a["old_value"] and a["new_value"] is None, a
    expect_error("DELETE", "/api/v1/calendar/2027-02-09", None, 404, "E_NOT_FOUND")
    expect_error("DELETE", "/api/v1/calendar/2027-02-30", None, 404, "E_NOT_FOUND")
    st, b, _ = s.get("/api/v1/calendar/workdays?from=2027-02-08&days=1")
    eq(b["deadline"], "2027-02-09")


# ---- settings and code lists ---------------------------------------------------------------

def test_settings_and_codes():
    s = api()
    st, b, _ = s.get("/api/v1/monitor-settings", **as_("clerk"))
    eq((st, b["income_denominator"], b["resident_flag_available"]), (200, "户籍人口", False))
    expect_error("PUT", "/api/v1/monitor-settings", {"income_denominator": "共同生活人口"}, 403,
                 "E_FORBIDDEN", who="clerk")
    expect_error("PUT", "/api/v1/monitor-settings", {"income_denominator": "常住人口"}, 422,
                 "E_VALIDATION")
    expect_error("PUT", "/api/v1/monitor-settings", {"denominator": "户籍人口"}, 400,
                 "E_UNKNOWN_FIELD")
    st, b, _ = s.put("/api/v1/monitor-settings", {"income_denominator": "共同生活人口"})
    eq((st, b["income_denominator"]), (200, "共同生活人口"))
    # without a co-resident flag in the registry the household size still divides
    hh = household(members=2)
    st, b, _ = s.put("/api/v1/households/%d/income/2025" % hh,
                     {"items": [{"item": "务工收入", "amount": 1000}]})
    eq((b["denominator"], b["net_income_pc"], b["denominator_basis"]), (2, 500, "户籍人口"))
    st, b, _ = s.put("/api/v1/monitor-settings", {"income_denominator": "户籍人口"})
    eq(b["income_denominator"], "户籍人口")
    a = last_audit(s.db, "monitor_setting", None)
    assert "共同生活人口" in a["old_value"] and "户籍人口" in a["new_value"], a

    st, b, _ = s.get("/api/v1/monitor-codes", **as_("clerk"))
    eq(st, 200)
    eq(len(b["measure_categories"]), 14)
    eq([c["code"] for c in b["measure_categories"]][:4], ["100A39", "100A40", "100A41", "100A42"])
    eq(sum(c["development"] for c in b["measure_categories"]), 4)
    eq(len(b["income_items"]), 45)
    eq(b["income_categories"], ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入",
                                "生产经营性支出", "理赔收入", "合规自付支出"])
    eq(b["calendar_kinds"], ["放假", "调休上班"])


# ---- demo incomes ------------------------------------------------------------------------

def test_demo_incomes_deterministic_and_consistent():
    a = new_db("demo-a.db", demo=1500, seed=11)
    b = new_db("demo-b.db", demo=1500, seed=11)
    dump = "SELECT h.hh_no, i.year, i.item, i.amount, i.note FROM income_item i JOIN household h " \
           "ON h.id = i.household_id ORDER BY h.hh_no, i.year, i.item"
    ra, rb = query(a, dump), query(b, dump)
    assert len(ra) > 1500 * 3 * 3, len(ra)
    eq(ra == rb, True, "the same seed gives the same ledgers")
    # every household has a ledger for 2024..2026, and its summary agrees with its items
    eq(query(a, "SELECT year, count(*) FROM income_summary GROUP BY year ORDER BY year"),
       [(2024, 1500), (2025, 1500), (2026, 1500)])
    bad = query(a, "SELECT s.household_id, s.year FROM income_summary s JOIN (SELECT "
                "household_id, year, sum(CASE WHEN item < 200 THEN amount ELSE 0 END) AS w, "
                "sum(CASE WHEN item >= 400 AND item < 500 THEN amount ELSE 0 END) AS t, "
                "sum(CASE WHEN item >= 500 AND item < 600 THEN amount ELSE 0 END) AS c, "
                "sum(CASE WHEN item >= 700 THEN amount ELSE 0 END) AS r FROM income_item "
                "GROUP BY household_id, year) x ON x.household_id = s.household_id AND x.year "
                "= s.year WHERE x.w <> s.wage OR x.t <> s.transfer OR x.c <> s.business_cost "
                "OR x.r <> s.rigid OR s.hh_size <> (SELECT count(*) FROM member m WHERE "
                "m.household_id = s.household_id)")
    eq(bad, [], "summaries in step with items")
    # a realistic share below the (demo) line, and some large medical spending
    below = query(a, "SELECT s.year, count(*), sum(CASE WHEN s.net_pc < l.amount THEN 1 ELSE 0 "
                  "END) FROM income_summary s JOIN monitor_line l ON l.year = s.year AND "
                  "l.region = '61' GROUP BY s.year ORDER BY s.year")
    eq(len(below), 3)
    for year, n, k in below:
        share = k / n
        assert 0.02 <= share <= 0.12, (year, share)
    big = query(a, "SELECT count(*) FROM income_summary WHERE rigid > 2000000")[0][0]
    assert big > 0, big
    assert query(a, "SELECT count(*) FROM monitor_line WHERE region = '61' AND assumed = 1 "
                 "AND year BETWEEN 2022 AND 2026")[0][0] == 5
    # 低保 households draw 低保金, migrant workers earn 务工收入
    eq(query(a, "SELECT count(*) FROM household h WHERE h.hh_type = 3 AND NOT EXISTS (SELECT 1 "
             "FROM income_item i WHERE i.household_id = h.id AND i.item = 402 AND i.year = "
             "2025)")[0][0], 0)
    eq(query(a, "SELECT count(*) FROM household h WHERE EXISTS (SELECT 1 FROM member m WHERE "
             "m.household_id = h.id AND m.work_status BETWEEN 1 AND 5 AND m.labor_skill IN (1, "
             "2)) AND NOT EXISTS (SELECT 1 FROM income_item i WHERE i.household_id = h.id AND "
             "i.item = 101 AND i.year = 2025)")[0][0], 0)


if __name__ == "__main__":
    run_tests(globals())
