#!/usr/bin/env python3
"""test_api_households.py — the registry's JSON API against the real server:
health, code lists, regions, household and member CRUD, the household list
(filters, masking, cursor pagination), and every kind of bad input, which
must answer the documented status with the one error envelope and leave the
database exactly as it was.

Two servers are shared by the file: one over a database holding only the
610926 (平利县) regions, for writes, and one over a 300-household demo
district, for the list.  Each test uses its own 户编号 and 身份证号."""
import datetime
import itertools
import json
import math
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Server, eq, id_number, new_db, query, run_tests, snapshot, tables  # noqa: E402

VILLAGE = "610926100001"          # 城关镇西城社区居委会
TOWNSHIP = "610926100000"         # 城关镇
COUNTY = "610926000000"           # 平利县

_servers = {}


def api():
    """The server over the regions-only database (started on first use)."""
    if "api" not in _servers:
        _servers["api"] = Server(new_db("api.db"))
    return _servers["api"]


def demo():
    """The server over the 300-household demo district."""
    if "demo" not in _servers:
        _servers["demo"] = Server(new_db("demo.db", demo=300, seed=7))
    return _servers["demo"]


def teardown():
    for s in _servers.values():
        s.stop()


# ---- people and households ----------------------------------------------------

_seq = itertools.count(1)
_hh = itertools.count(1)


def person(sex, birth="19800101", area="610926"):
    """A fresh valid 身份证号 for sex '男' or '女' (17th digit odd for 男)."""
    while True:
        n = next(_seq)
        if (n % 2 == 1) == (sex == "男"):
            return id_number(area, birth, n % 1000)


def hh_no(tag):
    return "T%s%03d" % (tag.upper(), next(_hh))


def member(name, relation, idn, **kw):
    d = {"name": name, "relation": relation, "id_number": idn}
    d.update(kw)
    return d


def family(tag):
    """A household body with 户主 (男), 配偶 (女) and 之子 (男)."""
    return {
        "hh_no": hh_no(tag), "village_code": VILLAGE, "address": "城关镇西城社区3组5号",
        "phone": "09158421234", "hh_type": "一般农户", "relocated": False,
        "members": [
            member("王建国", "户主", person("男", "19700315")),
            member("李秀英", "配偶", person("女", "19720820")),
            member("王小明", "之子", person("男", "19990101")),
        ],
    }


def create(body, server=None):
    s = server or api()
    st, b, h = s.post("/api/v1/households", body)
    eq(st, 201, "create status (%s)" % json.dumps(b, ensure_ascii=False)[:300])
    return b


# ---- checks --------------------------------------------------------------------

CJK = re.compile("[\u4e00-\u9fff]")


def check_envelope(status, body, want_status, want_code=None):
    """The one error shape: {"error":{"code":"E_…","message":"<Chinese>"}}."""
    if status != want_status:
        raise AssertionError("status %d, want %d: %s" % (
            status, want_status, json.dumps(body, ensure_ascii=False)[:400]))
    if not isinstance(body, dict) or set(body) != {"error"}:
        raise AssertionError("not an error envelope: %r" % (body,))
    err = body["error"]
    if not isinstance(err.get("code"), str) or not err["code"].startswith("E_"):
        raise AssertionError("bad error code in %r" % (err,))
    if not isinstance(err.get("message"), str) or not CJK.search(err["message"]):
        raise AssertionError("error message not Chinese: %r" % (err,))
    if set(err) - {"code", "message", "details"}:
        raise AssertionError("unexpected keys in error: %r" % (err,))
    if want_code:
        eq(err["code"], want_code, "error code (%s)" % err["message"])
    return err


def expect_error(method, path, body, status, code=None, headers=None, server=None):
    """Send a bad request; check status, envelope and that nothing changed."""
    s = server or api()
    before = snapshot(s.db)
    st, b, h = s.request(method, path, body, headers=headers)
    err = check_envelope(st, b, status, code)
    if snapshot(s.db) != before:
        raise AssertionError("%s %s (%d) changed the database" % (method, path, status))
    eq(h.get("content-type", "").split(";")[0], "application/json", "error content type")
    return err


def detail_codes(err):
    return [d.get("code") for d in err.get("details", [])]


def mask(idn):
    return idn[:6] + "*" * 8 + idn[-4:]


def age_on(birth, today):
    y, m, d = int(birth[:4]), int(birth[4:6]), int(birth[6:8])
    return today.year - y - ((today.month, today.day) < (m, d))


def list_all(server, params):
    """Every item of GET /api/v1/households?params, following next_cursor."""
    items, cursor, pages = [], None, 0
    while True:
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        st, b, _ = server.get("/api/v1/households?" + urllib.parse.urlencode(p))
        eq(st, 200, "list status %r" % (b,))
        items += b["items"]
        pages += 1
        cursor = b["next_cursor"]
        if cursor is None:
            return items, pages
        if pages > 1000:
            raise AssertionError("pagination does not end")


def total(server, **params):
    params["count"] = 1
    st, b, _ = server.get("/api/v1/households?" + urllib.parse.urlencode(params))
    eq(st, 200, "count status %r" % (b,))
    return b["total"]


# ---- health, codes, regions -----------------------------------------------------

def test_health_is_public_and_reports_schema():
    st, b, h = api().get("/api/v1/health")
    eq(st, 200, "health status")
    eq(b["status"], "ok", "status")
    eq(b["database"], "ok", "database")
    if not isinstance(b["schema_version"], int) or b["schema_version"] < 1:
        raise AssertionError("schema_version %r" % b["schema_version"])
    if not re.match(r"^\d+\.\d+\.\d+$", b["version"]):
        raise AssertionError("version %r" % b["version"])


def test_codes_listing_matches_code_table():
    st, b, _ = api().get("/api/v1/codes")
    eq(st, 200, "codes status")
    stored = {}
    for lst, code, label in query(api().db, "SELECT list, code, label FROM code_item"):
        stored.setdefault(lst, set()).add(label)
    eq(set(b), set(stored), "code lists")
    for name, l in b.items():
        eq(set(l["values"]), stored[name], "values of %s" % name)
        eq(len(l["values"]), len(stored[name]), "no duplicate labels in %s" % name)
        if not CJK.search(l["title"]):
            raise AssertionError("title of %s not Chinese: %r" % (name, l["title"]))
    for label in ("户主", "配偶", "之子", "之女"):
        if label not in b["relation"]["values"]:
            raise AssertionError("relation lacks %s" % label)
    eq(b["health"]["multi"], True, "health is multi-valued")
    eq(b["relation"]["multi"], False, "relation is single-valued")
    eq(b["hh_type"]["values"].count("低保户"), 1, "hh_type has 低保户")


def test_regions_top_level():
    # a county-scoped user's tree starts at the county
    st, b, _ = api().get("/api/v1/regions")
    eq(st, 200, "regions status")
    eq([(r["code"], r["name"], r["level"], r["parent"]) for r in b["items"]],
       [(COUNTY, "平利县", 3, "610900000000")], "top level for a county user")
    # a user without a scope limit sees the provinces
    tok = api().make_user("regions.all", "admin", "")
    st, b, _ = api().get("/api/v1/regions", token=tok)
    eq(st, 200, "regions status (unlimited)")
    eq([(r["code"], r["name"], r["level"], r["parent"]) for r in b["items"]],
       [("610000000000", "陕西省", 1, None)], "top level")
    eq(b["items"][0]["children"], 1, "陕西省 children loaded (安康市 only)")


def test_region_county_children_and_path():
    st, b, _ = api().get("/api/v1/regions/" + COUNTY)
    eq(st, 200, "county status")
    eq((b["code"], b["name"], b["level"], b["parent"]), (COUNTY, "平利县", 3, "610900000000"),
       "county")
    eq(b["children"], 11, "children count")
    kids = b["children_list"]
    eq(len(kids), 11, "11 townships")
    want = query(api().db, "SELECT code, name FROM region WHERE parent = ? ORDER BY code",
                 (COUNTY,))
    eq([(k["code"], k["name"]) for k in kids], [tuple(r) for r in want], "townships")
    for k in kids:
        eq(k["level"], 4, "township level")
        eq(k["parent"], COUNTY, "township parent")
        if k["children"] < 1:
            raise AssertionError("township %s has no villages" % k["code"])
    eq([(p["code"], p["name"]) for p in b["path"]],
       [("610000000000", "陕西省"), ("610900000000", "安康市")], "path, nearest last")
    # a village: path down to its township, no children
    st, b, _ = api().get("/api/v1/regions/" + VILLAGE)
    eq(st, 200, "village status")
    eq(b["level"], 5, "village level")
    eq(b["children_list"], [], "village has no children")
    eq([p["code"] for p in b["path"]], ["610000000000", "610900000000", COUNTY, TOWNSHIP],
       "village path")


def test_region_invalid_codes_404():
    for code in ("123", "61092600000", "6109260000000", "abcdefghijkl", "610926999000",
                 "110000000000"):
        expect_error("GET", "/api/v1/regions/" + code, None, 404, "E_NOT_FOUND")
    expect_error("GET", "/api/v1/regions?level=1", None, 400, "E_UNKNOWN_PARAM")


# ---- household CRUD ------------------------------------------------------------------

def test_create_and_read_back_household_with_members():
    body = family("crud")
    st, b, h = api().post("/api/v1/households", body)
    eq(st, 201, "create status %r" % (b,))
    hid = b["id"]
    eq(h.get("location"), "/api/v1/households/%d" % hid, "Location header")
    st, g, _ = api().get("/api/v1/households/%d" % hid)
    eq(st, 200, "read back")
    eq(g, b, "GET equals the create response")
    eq(g["hh_no"], body["hh_no"], "hh_no")
    eq(g["village_code"], VILLAGE, "village_code")
    eq(g["village_name"], query(api().db, "SELECT name FROM region WHERE code=?",
                                (VILLAGE,))[0][0], "village_name")
    eq(g["township_name"], "城关镇", "township_name")
    eq(g["address"], body["address"], "address")
    eq(g["phone"], body["phone"], "phone (full in detail)")
    eq(g["hh_type"], "一般农户", "hh_type label")
    eq(g["relocated"], False, "relocated")
    today = datetime.date.today()
    got = {m["id_number"]: m for m in g["members"]}
    eq(set(got), {m["id_number"] for m in body["members"]}, "members")
    for sent in body["members"]:
        m = got[sent["id_number"]]
        idn = sent["id_number"]
        eq(m["name"], sent["name"], "name")
        eq(m["relation"], sent["relation"], "relation label")
        eq(m["sex"], "男" if int(idn[16]) % 2 else "女", "sex from 17th digit of " + idn)
        eq(m["birth_date"], "%s-%s-%s" % (idn[6:10], idn[10:12], idn[12:14]), "birth_date")
        eq(m["age"], age_on(idn[6:14], today), "age")
        eq(m["household_id"], hid, "household_id")
        eq(m["health"], [], "health unrecorded")
        eq(m["ethnicity"], None, "ethnicity unrecorded")
    eq(query(api().db, "SELECT count(*) FROM member WHERE household_id=?", (hid,))[0][0], 3,
       "3 member rows")


def test_lowercase_x_and_spaces_in_id_number_are_normalised():
    idn = None
    for birth in ("19850505", "19850506", "19850507", "19850508"):
        for seq in range(900, 1000, 2):   # even sequence: 女
            cand = id_number("610926", birth, seq)
            if cand.endswith("X"):
                idn = cand
                break
        if idn:
            break
    assert idn, "no X check digit found"
    body = {"hh_no": hh_no("x"), "village_code": VILLAGE,
            "members": [member("赵兰", "户主", " " + idn[:6] + " " + idn[6:-1] + "x ")]}
    b = create(body)
    eq(b["members"][0]["id_number"], idn, "stored upper-case and without spaces")
    eq(b["members"][0]["sex"], "女", "sex")


def test_update_household_fields():
    b = create(family("upd"))
    hid = b["id"]
    st, u, _ = api().put("/api/v1/households/%d" % hid, {
        "hh_type": "低保户", "address": "老县镇新建安置小区2栋", "relocated": True,
        "relocation_site": "老县镇安置点", "phone": "13912345678"})
    eq(st, 200, "update status %r" % (u,))
    st, g, _ = api().get("/api/v1/households/%d" % hid)
    eq(g, u, "GET equals the update response")
    eq((g["hh_type"], g["address"], g["relocated"], g["relocation_site"], g["phone"]),
       ("低保户", "老县镇新建安置小区2栋", True, "老县镇安置点", "13912345678"), "updated")
    eq((g["hh_no"], g["village_code"]), (b["hh_no"], VILLAGE), "untouched fields")
    eq(g["members"], b["members"], "members untouched without a members key")
    # move to another village, change the 户编号; null hh_type clears it
    other = query(api().db, "SELECT code FROM region WHERE level=5 AND code<>? ORDER BY code "
                  "LIMIT 1", (VILLAGE,))[0][0]
    new_no = hh_no("upd")
    st, u, _ = api().put("/api/v1/households/%d" % hid,
                         {"village_code": other, "hh_no": new_no, "hh_type": None})
    eq(st, 200, "second update %r" % (u,))
    eq((u["village_code"], u["hh_no"], u["hh_type"]), (other, new_no, None), "moved")
    eq(query(api().db, "SELECT hh_no, village_code FROM household WHERE id=?", (hid,)),
       [(new_no, other)], "stored")


def test_replace_members_with_put():
    body = family("rep")
    b = create(body)
    hid = b["id"]
    ids = {m["relation"]: m["id"] for m in b["members"]}
    head, spouse, son = body["members"]
    daughter = member("王小红", "之女", person("女", "20050606"), education="初中",
                      health=["长期慢性病"], dibao=True)
    spouse2 = dict(spouse, education="小学", phone="13812345678")
    st, u, _ = api().put("/api/v1/households/%d" % hid, {"members": [head, spouse2, daughter]})
    eq(st, 200, "replace status %r" % (u,))
    got = {m["id_number"]: m for m in u["members"]}
    eq(set(got), {head["id_number"], spouse["id_number"], daughter["id_number"]}, "new set")
    eq(got[head["id_number"]]["id"], ids["户主"], "户主 keeps its member id")
    eq(got[spouse["id_number"]]["id"], ids["配偶"], "配偶 keeps its member id")
    eq((got[spouse["id_number"]]["education"], got[spouse["id_number"]]["phone"]),
       ("小学", "13812345678"), "配偶 updated")
    d = got[daughter["id_number"]]
    eq((d["relation"], d["sex"], d["education"], d["health"], d["dibao"]),
       ("之女", "女", "初中", ["长期慢性病"], True), "之女 added")
    st, old, _ = api().get("/api/v1/members/%d" % ids["之子"])
    if st == 200 and old["id_number"] == son["id_number"]:
        raise AssertionError("之子 still readable after replace")
    eq(query(api().db, "SELECT count(*) FROM member WHERE id_number=?",
             (son["id_number"],))[0][0], 0, "之子 row gone")
    st, g, _ = api().get("/api/v1/households/%d" % hid)
    eq(g, u, "GET equals the PUT response")


def test_member_add_update_delete():
    body = family("mem")
    b = create(body)
    hid = b["id"]
    # add
    idn = person("女", "20100909")
    st, m, h = api().post("/api/v1/households/%d/members" % hid,
                          member("王小丽", "之女", idn, ethnicity="汉族", school_status="小学"))
    eq(st, 201, "add member %r" % (m,))
    mid = m["id"]
    eq((m["household_id"], m["sex"], m["birth_date"], m["relation"], m["ethnicity"],
        m["school_status"]), (hid, "女", "2010-09-09", "之女", "汉族", "小学"), "added member")
    st, g, _ = api().get("/api/v1/households/%d" % hid)
    eq(len(g["members"]), 4, "4 members after add")
    # update
    st, u, _ = api().put("/api/v1/members/%d" % mid, {
        "name": "王丽", "health": ["患有大病", "残疾"], "disability": "肢体残疾",
        "ins_resident_med": True, "tekun": False, "phone": "0915-8421234"})
    eq(st, 200, "update member %r" % (u,))
    st, r, _ = api().get("/api/v1/members/%d" % mid)
    eq(st, 200, "member read back")
    eq(r["hh_no"], body["hh_no"], "member carries hh_no")
    eq((r["name"], sorted(r["health"]), r["disability"], r["ins_resident_med"], r["tekun"],
        r["phone"], r["id_number"], r["relation"]),
       ("王丽", sorted(["患有大病", "残疾"]), "肢体残疾", True, False, "0915-8421234", idn,
        "之女"), "member updated")
    # clearing a flag with null
    st, u, _ = api().put("/api/v1/members/%d" % mid, {"tekun": None, "health": None})
    eq(st, 200, "clear %r" % (u,))
    eq((u["tekun"], u["health"]), (None, []), "cleared")
    # delete
    st, d, _ = api().delete("/api/v1/members/%d" % mid)
    eq((st, d), (200, {"id": mid, "deleted": True}), "delete member")
    st, _, _ = api().get("/api/v1/members/%d" % mid)
    eq(st, 404, "deleted member is gone")
    st, g, _ = api().get("/api/v1/households/%d" % hid)
    eq(sorted(m["id"] for m in g["members"]), sorted(m["id"] for m in b["members"]),
       "the others remain")


def test_delete_household_removes_members():
    b = create(family("del"))
    hid = b["id"]
    mids = [m["id"] for m in b["members"]]
    st, d, _ = api().delete("/api/v1/households/%d" % hid)
    eq((st, d), (200, {"id": hid, "deleted": True}), "delete")
    st, _, _ = api().get("/api/v1/households/%d" % hid)
    eq(st, 404, "household gone")
    for mid in mids:
        st, _, _ = api().get("/api/v1/members/%d" % mid)
        eq(st, 404, "member %d gone" % mid)
    eq(query(api().db, "SELECT count(*) FROM member WHERE household_id=?", (hid,))[0][0], 0,
       "no member rows left")
    expect_error("DELETE", "/api/v1/households/%d" % hid, None, 404, "E_NOT_FOUND")
    # the freed 身份证号 can be registered again
    head = [m for m in b["members"] if m["relation"] == "户主"][0]
    create({"hh_no": hh_no("del"), "village_code": VILLAGE,
            "members": [member(head["name"], "户主", head["id_number"])]})


def test_missing_ids_are_404():
    for path in ("/api/v1/households/999999", "/api/v1/households/0",
                 "/api/v1/households/-1", "/api/v1/households/abc", "/api/v1/members/999999",
                 "/api/v1/households/1x"):
        expect_error("GET", path, None, 404, "E_NOT_FOUND")
    expect_error("PUT", "/api/v1/households/999999", {"address": "x"}, 404, "E_NOT_FOUND")
    expect_error("POST", "/api/v1/households/999999/members",
                 member("某", "之子", person("男")), 404, "E_NOT_FOUND")
    expect_error("DELETE", "/api/v1/members/999999", None, 404, "E_NOT_FOUND")


# ---- list ----------------------------------------------------------------------------

def test_list_region_prefix_filter():
    s = demo()
    for prefix in ("610926101", TOWNSHIP, "6109261000", "610926"):
        items, _ = list_all(s, {"region": prefix, "limit": 500})
        want = [r[0] for r in query(s.db, "SELECT id FROM household WHERE village_code LIKE ? "
                                          "ORDER BY id", (prefix + "%",))]
        eq([i["id"] for i in items], want, "region %s" % prefix)
        eq(total(s, region=prefix), len(want), "total for region %s" % prefix)
        if prefix == "610926101" and not want:
            raise AssertionError("demo has no households in 兴隆镇; test proves nothing")
    eq(total(s, region="620000"), 0, "region elsewhere selects nothing")
    for bad in ("61092610000000", "abc", "6109-26"):
        expect_error("GET", "/api/v1/households?region=" + bad, None, 400, "E_BAD_PARAM",
                     server=s)


def test_list_type_and_relocated_filters():
    s = demo()
    for label in ("低保户", "一般农户", "脱贫户"):
        code = query(s.db, "SELECT code FROM code_item WHERE list='hh_type' AND label=?",
                     (label,))[0][0]
        want = [r[0] for r in query(s.db, "SELECT id FROM household WHERE hh_type=? ORDER BY id",
                                    (code,))]
        items, _ = list_all(s, {"type": label, "limit": 500})
        eq([i["id"] for i in items], want, "type %s" % label)
        if any(i["hh_type"] != label for i in items):
            raise AssertionError("type filter returned another type")
    for v, flag in (("true", 1), ("false", 0), ("是", 1), ("否", 0)):
        want = [r[0] for r in query(s.db, "SELECT id FROM household WHERE relocated=? ORDER BY id",
                                    (flag,))]
        items, _ = list_all(s, {"relocated": v, "limit": 500})
        eq([i["id"] for i in items], want, "relocated=%s" % v)
        if any(i["relocated"] != bool(flag) for i in items):
            raise AssertionError("relocated flag wrong in items")
    if not query(s.db, "SELECT 1 FROM household WHERE relocated=1"):
        raise AssertionError("demo has no relocated households; test proves nothing")
    # combined filters
    code = query(s.db, "SELECT code FROM code_item WHERE list='hh_type' AND label='脱贫户'")[0][0]
    want = query(s.db, "SELECT count(*) FROM household WHERE hh_type=? AND relocated=1 AND "
                       "village_code LIKE '610926%'", (code,))[0][0]
    eq(total(s, type="脱贫户", relocated="true", region="610926"), want, "combined")
    expect_error("GET", "/api/v1/households?type=" + urllib.parse.quote("贫困户X"), None, 400,
                 "E_BAD_PARAM", server=s)
    expect_error("GET", "/api/v1/households?relocated=yes", None, 400, "E_BAD_PARAM", server=s)


def _search_ids(s, q):
    items, _ = list_all(s, {"q": q, "limit": 500})
    return [i["id"] for i in items]


def test_list_search_by_name_prefix_id_number_and_hh_no():
    s = demo()
    # name prefix: a surname, then a full name
    surname = query(s.db, "SELECT substr(name, 1, 1) s FROM member GROUP BY s "
                          "ORDER BY count(*) DESC, s LIMIT 1")[0][0]
    name, idn, hno, hid = query(s.db, "SELECT m.name, m.id_number, h.hh_no, h.id FROM member m "
                                      "JOIN household h ON h.id=m.household_id WHERE "
                                      "substr(m.name, 1, 1)=? ORDER BY m.id LIMIT 1 OFFSET 3",
                                (surname,))[0]
    want = [r[0] for r in query(s.db, "SELECT DISTINCT household_id FROM member WHERE "
                                      "substr(name, 1, 1)=? ORDER BY 1", (surname,))]
    eq(_search_ids(s, surname), want, "q=%s (surname)" % surname)
    if len(want) < 2:
        raise AssertionError("surname too rare to prove prefix search")
    want = [r[0] for r in query(s.db, "SELECT DISTINCT household_id FROM member WHERE "
                                      "name LIKE ? ORDER BY 1", (name + "%",))]
    eq(_search_ids(s, name), want, "q=%s (full name)" % name)
    if hid not in want:
        raise AssertionError("own household not found by name")
    # the full 身份证号 finds exactly its household
    eq(_search_ids(s, idn), [hid], "full id number")
    # the last 4 characters
    want = [r[0] for r in query(s.db, "SELECT DISTINCT household_id FROM member WHERE "
                                      "substr(id_number, length(id_number) - 3)=? ORDER BY 1", (idn[-4:],))]
    eq(_search_ids(s, idn[-4:]), want, "last 4 digits")
    if hid not in want:
        raise AssertionError("own household not found by last 4")
    # lower-case x matches an upper-case X
    rows = query(s.db, "SELECT household_id, id_number FROM member WHERE id_number LIKE '%X' "
                       "LIMIT 1")
    if rows:
        xhid, xidn = rows[0]
        eq(_search_ids(s, xidn.lower()), [xhid], "lower-case x, full number")
    # the 户编号
    eq(_search_ids(s, hno), [hid], "hh_no")
    # nothing for a name nobody has, or a middle part of a 身份证号
    eq(_search_ids(s, "欧阳无此人"), [], "unknown name")
    eq(_search_ids(s, idn[3:9]) , [r[0] for r in query(
        s.db, "SELECT DISTINCT household_id FROM member WHERE substr(id_number, length(id_number) - 5)=? "
              "ORDER BY 1", (idn[3:9],))], "middle digits are not a suffix")
    # q longer than 64 bytes
    expect_error("GET", "/api/v1/households?q=" + "1" * 65, None, 400, "E_BAD_PARAM", server=s)


def test_list_masks_id_number_and_phone():
    s = demo()
    st, raw, _ = s.get("/api/v1/households?limit=500", raw=True)
    eq(st, 200, "list status")
    b = json.loads(raw.decode())
    heads = dict(query(s.db, "SELECT h.id, m.id_number FROM household h JOIN member m ON "
                             "m.household_id=h.id AND m.relation=1"))
    phones = dict(query(s.db, "SELECT id, phone FROM household"))
    checked_phone = 0
    for it in b["items"]:
        full = heads[it["id"]]
        eq(it["head_id_number"], mask(full), "masked 身份证号 of %d" % it["id"])
        if not re.match(r"^\d{6}\*{8}[\dX]{4}$", it["head_id_number"]):
            raise AssertionError("mask shape %r" % it["head_id_number"])
        p = phones[it["id"]]
        if len(p) == 11:
            eq(it["phone"], p[:3] + "****" + p[7:], "masked phone")
            checked_phone += 1
        elif p:
            eq(it["phone"][-4:], p[-4:], "masked phone keeps last 4")
            if p in it["phone"]:
                raise AssertionError("phone not masked: %r" % it["phone"])
    if checked_phone < 10:
        raise AssertionError("too few mobile numbers to check masking")
    # no full 身份证号 or phone anywhere in the list response
    text = raw.decode()
    for idn in query(s.db, "SELECT id_number FROM member"):
        if idn[0] in text:
            raise AssertionError("full 身份证号 %s leaked in list" % idn[0])
    for (p,) in query(s.db, "SELECT phone FROM household WHERE length(phone)=11"):
        if p in text:
            raise AssertionError("full phone %s leaked in list" % p)


def test_list_cursor_pagination_visits_every_household_once():
    s = demo()
    all_ids = [r[0] for r in query(s.db, "SELECT id FROM household ORDER BY id")]
    if len(all_ids) < 300:
        raise AssertionError("demo has %d households" % len(all_ids))
    items, pages = list_all(s, {"limit": 50})
    ids = [i["id"] for i in items]
    eq(len(ids), len(set(ids)), "no household twice")
    eq(ids, all_ids, "every household, in id order")
    eq(pages, math.ceil(len(all_ids) / 50), "pages")
    # page boundaries: each page starts right after the cursor, is full but the last
    st, p1, _ = s.get("/api/v1/households?limit=50")
    eq(len(p1["items"]), 50, "first page full")
    eq(p1["next_cursor"], str(p1["items"][-1]["id"]), "cursor is the last id")
    st, p2, _ = s.get("/api/v1/households?limit=50&cursor=" + p1["next_cursor"])
    eq([i["id"] for i in p2["items"]], all_ids[50:100], "second page")
    # same again: stable
    st, p2b, _ = s.get("/api/v1/households?limit=50&cursor=" + p1["next_cursor"])
    eq(p2b, p2, "a page is stable")
    # a filtered walk with an odd page size
    want = [r[0] for r in query(s.db, "SELECT id FROM household WHERE village_code LIKE "
                                      "'6109261%' ORDER BY id")]
    items, _ = list_all(s, {"limit": 7, "region": "6109261"})
    eq([i["id"] for i in items], want, "filtered pagination")
    # default page size and count
    st, b, _ = s.get("/api/v1/households?count=1")
    eq(len(b["items"]), 50, "default limit 50")
    eq(b["total"], len(all_ids), "total")
    st, b, _ = s.get("/api/v1/households?count=1&limit=500")
    eq((len(b["items"]), b["next_cursor"], b["total"]), (len(all_ids), None, len(all_ids)),
       "one page holds all")
    st, b, _ = s.get("/api/v1/households")
    if "total" in b:
        raise AssertionError("total without count=1")


def test_list_bad_params_400():
    s = demo()
    for qs, code in (("foo=1", "E_UNKNOWN_PARAM"), ("limit=0", "E_BAD_PARAM"),
                     ("limit=501", "E_BAD_PARAM"), ("limit=abc", "E_BAD_PARAM"),
                     ("limit=-5", "E_BAD_PARAM"), ("limit=1.5", "E_BAD_PARAM"),
                     ("cursor=abc", "E_BAD_PARAM"), ("cursor=-1", "E_BAD_PARAM"),
                     ("cursor=1e3", "E_BAD_PARAM"), ("limit=99999999999999999999", "E_BAD_PARAM"),
                     ("q=%FF", "E_BAD_QUERY"), ("q=%E5%BC", "E_BAD_QUERY"),
                     ("%FF=1", "E_BAD_QUERY"), ("q=%00", "E_BAD_QUERY")):
        err = expect_error("GET", "/api/v1/households?" + qs, None, 400, code, server=s)
        if code == "E_UNKNOWN_PARAM" and "foo" not in err["message"]:
            raise AssertionError("message does not name the parameter: %s" % err["message"])


def test_unknown_params_on_detail_and_write_routes_400():
    """The routes that take no query parameters refuse one, before doing
    anything (the database unchanged)."""
    b = create(family("prm"))
    hid, mid = b["id"], b["members"][0]["id"]
    new_m = member("赵六", "之女", person("女", "20100101"))
    for method, path, body in (
            ("GET", "/api/v1/households/%d?foo=1" % hid, None),
            ("PUT", "/api/v1/households/%d?foo=1" % hid, {"address": "改"}),
            ("DELETE", "/api/v1/households/%d?foo=1" % hid, None),
            ("POST", "/api/v1/households?foo=1", family("prm2")),
            ("POST", "/api/v1/households/%d/members?foo=1" % hid, new_m),
            ("GET", "/api/v1/members/%d?foo=1" % mid, None),
            ("PUT", "/api/v1/members/%d?foo=1" % mid, {"phone": "13800000000"}),
            ("DELETE", "/api/v1/members/%d?foo=1" % mid, None),
            ("GET", "/api/v1/regions/610926000000?foo=1", None),
            ("GET", "/api/v1/codes?foo=1", None)):
        err = expect_error(method, path, body, 400, "E_UNKNOWN_PARAM")
        if "foo" not in err["message"]:
            raise AssertionError("%s %s: message does not name the parameter: %s" % (
                method, path, err["message"]))
    eq(api().get("/api/v1/households/%d" % hid)[0], 200, "still there")


# ---- bad input: status, envelope, nothing changed ----------------------------------

def test_malformed_and_non_object_json_400():
    for raw in ("{bad", "", "{\"hh_no\": \"A\",}", "{\"hh_no\":\"A\",\"hh_no\":\"B\"}",
                "\xff", "{\"hh_no\": \"unterminated}"):
        expect_error("POST", "/api/v1/households", raw.encode("latin-1"), 400, "E_BAD_JSON",
                     headers={"Content-Type": "application/json"})
    for raw in ("[1]", "\"text\"", "42", "null", "true"):
        expect_error("POST", "/api/v1/households", raw, 400, "E_BAD_JSON",
                     headers={"Content-Type": "application/json"})
    b = create(family("json"))
    expect_error("PUT", "/api/v1/households/%d" % b["id"], "{bad", 400, "E_BAD_JSON",
                 headers={"Content-Type": "application/json; charset=utf-8"})
    expect_error("POST", "/api/v1/households/%d/members" % b["id"], "[]", 400, "E_BAD_JSON",
                 headers={"Content-Type": "application/json"})
    expect_error("PUT", "/api/v1/members/%d" % b["members"][0]["id"], "{", 400, "E_BAD_JSON",
                 headers={"Content-Type": "application/json"})


def test_wrong_content_type_415():
    body = json.dumps(family("ct"), ensure_ascii=False).encode()
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonp",
               "multipart/form-data; boundary=x", None):
        h = {"Content-Type": ct} if ct else {}
        expect_error("POST", "/api/v1/households", body, 415, "E_CONTENT_TYPE", headers=h)
    b = create(family("ct"))
    expect_error("PUT", "/api/v1/households/%d" % b["id"], b'{"address":"x"}', 415,
                 "E_CONTENT_TYPE", headers={"Content-Type": "text/json"})


def test_unknown_field_400():
    body = family("unk")
    err = expect_error("POST", "/api/v1/households", dict(body, colour="red"), 400,
                       "E_UNKNOWN_FIELD")
    if "colour" not in err["message"]:
        raise AssertionError("message does not name the field: %s" % err["message"])
    body = family("unk")
    body["members"][1]["nickname"] = "小李"
    err = expect_error("POST", "/api/v1/households", body, 400, "E_UNKNOWN_FIELD")
    if "nickname" not in err["message"]:
        raise AssertionError("message does not name the member field: %s" % err["message"])
    b = create(family("unk"))
    expect_error("PUT", "/api/v1/households/%d" % b["id"], {"Address": "x"}, 400,
                 "E_UNKNOWN_FIELD")
    expect_error("PUT", "/api/v1/members/%d" % b["members"][0]["id"], {"gender": "男"}, 400,
                 "E_UNKNOWN_FIELD")


def test_wrong_types_422():
    cases = [
        {"relocated": "yes"}, {"relocated": 1}, {"hh_no": 123}, {"village_code": 610926100001},
        {"address": ["a"]}, {"hh_type": 3}, {"phone": 13912345678}, {"members": {"a": 1}},
        {"members": "none"}, {"members": [1, 2]},
    ]
    for extra in cases:
        body = dict(family("type"), **extra)
        err = expect_error("POST", "/api/v1/households", body, 422, "E_BAD_TYPE")
    body = family("type")
    body["members"][0]["dibao"] = "是"
    expect_error("POST", "/api/v1/households", body, 422, "E_BAD_TYPE")
    body = family("type")
    body["members"][2]["health"] = 2
    expect_error("POST", "/api/v1/households", body, 422, "E_BAD_TYPE")
    b = create(family("type"))
    expect_error("PUT", "/api/v1/households/%d" % b["id"], {"relocated": "yes"}, 422,
                 "E_BAD_TYPE")
    expect_error("PUT", "/api/v1/members/%d" % b["members"][0]["id"], {"name": 5}, 422,
                 "E_BAD_TYPE")
    expect_error("PUT", "/api/v1/members/%d" % b["members"][0]["id"], {"ins_pension": "true"},
                 422, "E_BAD_TYPE")


def _bad_member_body(tag, idn, relation="户主", **kw):
    return {"hh_no": hh_no(tag), "village_code": VILLAGE,
            "members": [member("钱多多", relation, idn, **kw)]}


def test_invalid_id_numbers_422():
    good = person("男", "19900101")
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    feb30 = id_number("610926", "19900230", 123)
    future = id_number("610926", (datetime.date.today() + datetime.timedelta(days=400))
                       .strftime("%Y%m%d"), 123)
    cases = [(bad_check, "E_ID_CHECK"), (feb30, "E_ID_DATE"), (future, "E_ID_FUTURE"),
             (good[:17], "E_ID_LENGTH"), (good + "1", "E_ID_LENGTH"),
             (good[:10] + "A" + good[11:], "E_ID_CHAR"), ("", "E_REQUIRED"),
             (id_number("610926", "18991231", 123), "E_ID_DATE"),
             (id_number("610926", "19900431", 123), "E_ID_DATE"),
             (id_number("610926", "19000229", 123), "E_ID_DATE")]
    for idn, code in cases:
        err = expect_error("POST", "/api/v1/households", _bad_member_body("idn", idn), 422)
        if code not in detail_codes(err):
            raise AssertionError("%r: want %s in details, got %r" % (idn, code, err))
    # a leap day is fine
    create(_bad_member_body("idn", id_number("610926", "20000229", 321)))
    b = create(family("idn"))
    err = expect_error("POST", "/api/v1/households/%d/members" % b["id"],
                       member("孙某", "之子", bad_check), 422)
    eq(detail_codes(err), ["E_ID_CHECK"], "add member with bad check digit")
    err = expect_error("PUT", "/api/v1/members/%d" % b["members"][2]["id"],
                       {"id_number": feb30}, 422)
    eq(detail_codes(err), ["E_ID_DATE"], "update member to 30 Feb")
    err = expect_error("PUT", "/api/v1/members/%d" % b["members"][2]["id"],
                       {"id_number": ""}, 422)
    eq(detail_codes(err), ["E_REQUIRED"], "clear 身份证号")


def test_sex_and_birth_date_must_agree_with_id_number():
    idn = person("男", "19880808")
    err = expect_error("POST", "/api/v1/households", _bad_member_body("sex", idn, sex="女"), 422)
    eq(detail_codes(err), ["E_SEX_MISMATCH"], "sex")
    err = expect_error("POST", "/api/v1/households",
                       _bad_member_body("sex", idn, birth_date="1988-08-09"), 422)
    eq(detail_codes(err), ["E_BIRTH_MISMATCH"], "birth date")
    b = create(_bad_member_body("sex", idn, sex="男", birth_date="1988-08-08"))
    eq((b["members"][0]["sex"], b["members"][0]["birth_date"]), ("男", "1988-08-08"),
       "agreeing values accepted")


def test_code_labels_not_in_list_422_with_suggestion():
    idn = person("男", "19950505")
    err = expect_error("POST", "/api/v1/households", _bad_member_body("code", idn, "儿子"), 422)
    eq(detail_codes(err), ["E_BAD_CODE"], "relation 儿子")
    if "之子" not in err["message"] or "儿子" not in err["message"]:
        raise AssertionError("no suggestion in %r" % err["message"])
    err = expect_error("POST", "/api/v1/households",
                       _bad_member_body("code", idn, ethnicity="汉"), 422)
    if "汉族" not in err["message"]:
        raise AssertionError("no suggestion for 汉: %r" % err["message"])
    err = expect_error("POST", "/api/v1/households",
                       _bad_member_body("code", idn, education="火星学院"), 422)
    eq(detail_codes(err), ["E_BAD_CODE"], "education")
    if "火星学院" not in err["message"]:
        raise AssertionError("message does not quote the value: %r" % err["message"])
    for extra in ({"health": ["健康", "残疾"]}, {"health": ["良好"]}, {"work_status": "打工"}):
        expect_error("POST", "/api/v1/households", _bad_member_body("code", idn, **extra), 422,
                     "E_VALIDATION")
    expect_error("POST", "/api/v1/households",
                 dict(_bad_member_body("code", idn), hh_type="贫困户"), 422, "E_VALIDATION")


def test_structure_errors_422():
    def body(*members):
        return {"hh_no": hh_no("st"), "village_code": VILLAGE, "members": list(members)}
    m = person
    cases = [
        ("two 户主", body(member("甲", "户主", m("男")), member("乙", "户主", m("女"))),
         "E_MULTI_HEAD"),
        ("two 配偶", body(member("甲", "户主", m("男")), member("乙", "配偶", m("女")),
                        member("丙", "配偶", m("女"))), "E_MULTI_SPOUSE"),
        ("same-sex spouse", body(member("甲", "户主", m("男")), member("乙", "配偶", m("男"))),
         "E_SPOUSE_SEX"),
        ("之女 male", body(member("甲", "户主", m("男")), member("乙", "之女", m("男", "20010101"))),
         "E_RELATION_SEX"),
        ("之母 male", body(member("甲", "户主", m("男")), member("乙", "之母", m("男", "19400101"))),
         "E_RELATION_SEX"),
        ("no 户主", body(member("甲", "配偶", m("女")), member("乙", "之子", m("男"))),
         "E_NO_HEAD"),
    ]
    for what, b, code in cases:
        err = expect_error("POST", "/api/v1/households", b, 422, "E_STRUCTURE")
        if code not in detail_codes(err):
            raise AssertionError("%s: want %s, got %r" % (what, code, err))
        eq(query(api().db, "SELECT count(*) FROM household WHERE hh_no=?", (b["hh_no"],))[0][0],
           0, "%s: no household left" % what)
    # the same through member writes on an existing household
    fam = create(family("st"))
    hid, ids = fam["id"], {x["relation"]: x["id"] for x in fam["members"]}
    expect_error("POST", "/api/v1/households/%d/members" % hid, member("丁", "户主", m("男")),
                 422, "E_STRUCTURE")
    expect_error("POST", "/api/v1/households/%d/members" % hid, member("丁", "配偶", m("女")),
                 422, "E_STRUCTURE")
    expect_error("PUT", "/api/v1/members/%d" % ids["之子"], {"relation": "之女"}, 422,
                 "E_STRUCTURE")
    expect_error("PUT", "/api/v1/members/%d" % ids["配偶"], {"relation": "户主"}, 422,
                 "E_STRUCTURE")
    expect_error("DELETE", "/api/v1/members/%d" % ids["户主"], None, 422, "E_STRUCTURE")
    expect_error("PUT", "/api/v1/households/%d" % hid,
                 {"members": [member("甲", "户主", m("男")), member("乙", "户主", m("女"))]}, 422,
                 "E_STRUCTURE")


def test_duplicate_id_number_across_households_409():
    fam = create(family("dupid"))
    taken = fam["members"][1]["id_number"]
    body = {"hh_no": hh_no("dupid"), "village_code": VILLAGE,
            "members": [member("冒名", "户主", person("男")), member("重复", "配偶", taken)]}
    err = expect_error("POST", "/api/v1/households", body, 409, "E_DUPLICATE_ID_NUMBER")
    if taken not in err["message"]:
        raise AssertionError("message does not name the number: %s" % err["message"])
    other = create({"hh_no": hh_no("dupid"), "village_code": VILLAGE,
                    "members": [member("另户", "户主", person("男"))]})
    expect_error("POST", "/api/v1/households/%d/members" % other["id"],
                 member("重复", "配偶", taken), 409, "E_DUPLICATE_ID_NUMBER")
    expect_error("PUT", "/api/v1/members/%d" % other["members"][0]["id"],
                 {"id_number": fam["members"][0]["id_number"]}, 409, "E_DUPLICATE_ID_NUMBER")
    expect_error("PUT", "/api/v1/households/%d" % other["id"],
                 {"members": [member("另户", "户主", other["members"][0]["id_number"]),
                              member("重复", "配偶", taken)]}, 409, "E_DUPLICATE_ID_NUMBER")
    # twice in the same request
    same = person("女")
    err = expect_error("POST", "/api/v1/households",
                       {"hh_no": hh_no("dupid"), "village_code": VILLAGE,
                        "members": [member("甲", "户主", person("男")),
                                    member("乙", "配偶", same), member("丙", "之女", same)]},
                       422)
    if "E_DUPLICATE_ID_NUMBER" not in detail_codes(err):
        raise AssertionError("same number twice in one request: %r" % err)


def test_duplicate_hh_no_409():
    fam = create(family("duphh"))
    body = family("duphh")
    body["hh_no"] = fam["hh_no"]
    err = expect_error("POST", "/api/v1/households", body, 409, "E_DUPLICATE_HH_NO")
    if fam["hh_no"] not in err["message"]:
        raise AssertionError("message does not name the 户编号: %s" % err["message"])
    other = create({"hh_no": hh_no("duphh"), "village_code": VILLAGE})
    expect_error("PUT", "/api/v1/households/%d" % other["id"], {"hh_no": fam["hh_no"]}, 409,
                 "E_DUPLICATE_HH_NO")


def test_bad_village_codes_422():
    for code in (TOWNSHIP, COUNTY, "610926100999", "110101001001", "61092610000", "abc",
                 "6109261000011"):
        body = dict(family("vil"), village_code=code)
        err = expect_error("POST", "/api/v1/households", body, 422)
        if not set(detail_codes(err)) & {"E_BAD_VILLAGE", "E_TOO_LONG"}:
            raise AssertionError("village %s: %r" % (code, err))
    b = create(family("vil"))
    expect_error("PUT", "/api/v1/households/%d" % b["id"], {"village_code": TOWNSHIP}, 422,
                 "E_VALIDATION")


def test_required_fields_cannot_be_missing_or_cleared():
    for drop in ("hh_no", "village_code"):
        body = family("req")
        del body[drop]
        err = expect_error("POST", "/api/v1/households", body, 422, "E_VALIDATION")
        eq(detail_codes(err), ["E_REQUIRED"], "missing %s" % drop)
    for drop in ("name", "id_number", "relation"):
        body = family("req")
        del body["members"][1][drop]
        expect_error("POST", "/api/v1/households", body, 422, "E_VALIDATION")
    b = create(family("req"))
    for field, value in (("hh_no", ""), ("hh_no", "   "), ("hh_no", None), ("village_code", ""),
                         ("village_code", None)):
        err = expect_error("PUT", "/api/v1/households/%d" % b["id"], {field: value}, 422,
                           "E_VALIDATION")
        eq(detail_codes(err), ["E_REQUIRED"], "clearing %s with %r" % (field, value))
    for field, value in (("name", ""), ("name", "  "), ("relation", None)):
        expect_error("PUT", "/api/v1/members/%d" % b["members"][0]["id"], {field: value}, 422,
                     "E_VALIDATION")
    st, g, _ = api().get("/api/v1/households/%d" % b["id"])
    eq(g, b, "household unchanged after the refused writes")


def test_other_field_validation_422():
    for extra, code in (({"hh_no": "A/B"}, "E_BAD_HH_NO"), ({"hh_no": "户001"}, "E_BAD_HH_NO"),
                        ({"hh_no": "X" * 40}, "E_TOO_LONG"), ({"phone": "12345"}, "E_PHONE"),
                        ({"address": "长" * 100}, "E_TOO_LONG")):
        err = expect_error("POST", "/api/v1/households", dict(family("val"), **extra), 422)
        if code not in detail_codes(err):
            raise AssertionError("%r: want %s, got %r" % (extra, code, err))
    # control characters are refused (so every stored value exports and imports
    # back); 家庭住址 and 安置点 alone may hold a line break
    for extra in ({"address": "a\tb"}, {"relocation_site": "x\ry"}, {"phone": "139\n12345678"},
                  {"hh_no": "A\nB"}, {"address": "a\u001bb"}):
        err = expect_error("POST", "/api/v1/households", dict(family("val"), **extra), 422)
        if "E_BAD_TEXT" not in detail_codes(err):
            raise AssertionError("%r: want E_BAD_TEXT, got %r" % (extra, err))
    body = family("val")
    body["members"][1]["name"] = "李\t四"
    expect_error("POST", "/api/v1/households", body, 422, "E_VALIDATION")
    ok = create(dict(family("val"), address="城关镇\n3组", relocation_site="安置点\n2栋"))
    eq((ok["address"], ok["relocation_site"]), ("城关镇\n3组", "安置点\n2栋"), "line breaks kept")
    # a NUL inside a JSON string is refused by the parser
    expect_error("POST", "/api/v1/households",
                 json.dumps(dict(family("val"), address="a\u0000b")), 400, "E_BAD_JSON",
                 headers={"Content-Type": "application/json"})
    body = family("val")
    body["members"][0]["phone"] = "8421234"
    expect_error("POST", "/api/v1/households", body, 422, "E_VALIDATION")
    body = family("val")
    body["members"][0]["name"] = "名" * 31
    expect_error("POST", "/api/v1/households", body, 422, "E_VALIDATION")
    body = family("val")
    body["members"] = [member("人%d" % i, "户主" if i == 0 else "其他", person("男", "19600101"))
                       for i in range(51)]
    expect_error("POST", "/api/v1/households", body, 422, "E_VALIDATION")


def test_deleted_ids_are_not_reused():
    """A deleted household's or member's id must not come back as another
    record: a client holding /api/v1/members/N would otherwise read or
    change a different person."""
    s = api()
    fam = create(family("reuse"))
    hid, mids = fam["id"], sorted(m["id"] for m in fam["members"])
    eq(s.delete("/api/v1/households/%d" % hid)[0], 200, "delete")
    new = create(family("reuse"))
    reused = []
    if new["id"] == hid:
        reused.append("household id %d" % hid)
    reused += ["member id %d" % m["id"] for m in new["members"] if m["id"] in mids]
    if reused:
        raise AssertionError("deleted ids reused by new records: %s" % ", ".join(reused))
    for mid in mids:
        eq(s.get("/api/v1/members/%d" % mid)[0], 404, "old member id %d" % mid)


def test_failing_member_leaves_nothing_behind():
    s = api()
    # third member already registered elsewhere (fails after two members were saved)
    taken = create(family("atom"))["members"][0]["id_number"]
    body = family("atom")
    body["members"][2]["id_number"] = taken
    expect_error("POST", "/api/v1/households", body, 409, "E_DUPLICATE_ID_NUMBER")
    # the second member is invalid
    body2 = family("atom")
    body2["members"][1]["relation"] = "老婆"
    expect_error("POST", "/api/v1/households", body2, 422, "E_VALIDATION")
    # the structure check at the end fails
    body3 = family("atom")
    body3["members"][2]["relation"] = "配偶"
    expect_error("POST", "/api/v1/households", body3, 422, "E_STRUCTURE")
    for b in (body, body2, body3):
        eq(query(s.db, "SELECT count(*) FROM household WHERE hh_no=?", (b["hh_no"],))[0][0], 0,
           "household %s left behind" % b["hh_no"])
        for m in b["members"][:2]:
            eq(query(s.db, "SELECT count(*) FROM member WHERE id_number=?",
                     (m["id_number"],))[0][0], 0, "member %s left behind" % m["id_number"])
    # the good version of the same household goes in afterwards
    create(dict(body3, members=body3["members"][:2]))


def test_failed_put_replacing_members_leaves_household_unchanged():
    s = api()
    fam = create(family("putatom"))
    hid = fam["id"]
    taken = create(family("putatom"))["members"][0]["id_number"]
    before = snapshot(s.db)
    head, spouse, son = [{k: m[k] for k in ("name", "relation", "id_number")}
                         for m in fam["members"]]
    new = member("新人", "之女", person("女", "20000101"))
    # drops 之子 and adds 之女 first, then hits a taken number
    expect_error("PUT", "/api/v1/households/%d" % hid,
                 {"address": "改了", "members": [head, spouse, new,
                                               member("冒名", "之子", taken)]}, 409,
                 "E_DUPLICATE_ID_NUMBER")
    eq(snapshot(s.db), before, "snapshot")
    st, g, _ = s.get("/api/v1/households/%d" % hid)
    eq(g, fam, "household and members as before")


def test_oversize_body_413():
    big = b'{"hh_no":"BIG","village_code":"' + VILLAGE.encode() + b'","address":"' + \
        b"x" * (1 << 20) + b'"}'
    expect_error("POST", "/api/v1/households", big, 413, "E_TOO_LARGE",
                 headers={"Content-Type": "application/json"})
    b = create(family("big"))
    expect_error("PUT", "/api/v1/households/%d" % b["id"], big, 413, "E_TOO_LARGE",
                 headers={"Content-Type": "application/json"})
    # just under the limit is not refused for its size
    padded = b'{"hh_no":"' + b"Y" * ((1 << 20) - 20) + b'"}'
    st, body, _ = api().post("/api/v1/households", padded,
                             headers={"Content-Type": "application/json"})
    if st == 413:
        raise AssertionError("a body under 1 MiB was refused as too large")
    check_envelope(st, body, 422)


def test_unknown_route_404_and_wrong_method_405():
    for path in ("/api/v1/nope", "/api/v2/households", "/api/v1/households/1/members/2",
                 "/api/v1/households/", "/api/v1//households", "/api/v1/Households",
                 "/api/v1/regions/610926000000/children"):
        expect_error("GET", path, None, 404, "E_NOT_FOUND")
    expect_error("POST", "/api/v1/nope", {"a": 1}, 404, "E_NOT_FOUND")
    for method, path in (("PATCH", "/api/v1/households"), ("DELETE", "/api/v1/households"),
                         ("PUT", "/api/v1/households"), ("GET", "/api/v1/households/1/members"),
                         ("POST", "/api/v1/members/1"), ("POST", "/api/v1/health"),
                         ("DELETE", "/api/v1/regions"), ("POST", "/api/v1/codes")):
        err = expect_error(method, path, None, 405, "E_METHOD")
        if method not in err["message"]:
            raise AssertionError("405 message does not name %s: %s" % (method, err["message"]))


def test_method_that_is_not_a_token_400():
    # found by tests/fuzz/fuzz_http: the 405 answer named a method that was
    # not UTF-8, and the answer failed to encode (500)
    import socket
    srv = api()
    for method in (b"\x82GET", b"G\xe5\xbc\xa0T", b'GE"T', b"PO" + b"_" * 37 + b"ST"):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(method + b" /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Authorization: Bearer " + srv.token.encode() + b"\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        if b"_" in method:
            # a token, but long: the 405 answer names it cut short, not cut
            # inside a character (found by fuzz_http: that answer was a 500)
            eq(head.split(b"\r\n")[0], b"HTTP/1.1 405 Method Not Allowed", repr(method))
            eq(json.loads(body.decode())["error"]["code"], "E_METHOD", repr(method))
            continue
        eq(head.split(b"\r\n")[0], b"HTTP/1.1 400 Bad Request", repr(method))
        eq(json.loads(body.decode())["error"]["code"], "E_BAD_METHOD", repr(method))


def test_non_utf8_query_bytes_400():
    for qs in ("q=%FF", "q=%C0%AF", "region=%ED%A0%80", "q=%E4%B8", "q=%"):
        expect_error("GET", "/api/v1/households?" + qs, None, 400)
    err = expect_error("GET", "/api/v1/households?q=%FF", None, 400, "E_BAD_QUERY")
    # non-UTF-8 bytes in the path
    expect_error("GET", "/api/v1/households/%FF", None, 400, "E_BAD_PATH")


INJECTIONS = ["' OR 1=1 --", "\" OR \"\"=\"", "<script>alert(1)</script>", "../../etc/passwd",
              "1; DROP TABLE household; --", "%%%%", "____", "%' --", "\\", "$(id)",
              "Robert'); DROP TABLE member;--"]


def test_injection_strings_in_q_are_plain_data():
    s = demo()
    n = len(query(s.db, "SELECT id FROM household"))
    for q in INJECTIONS:
        st, b, _ = s.get("/api/v1/households?count=1&limit=500&q=" + urllib.parse.quote(q))
        eq(st, 200, "q=%r status" % q)
        eq((len(b["items"]), b["total"]), (0, 0), "q=%r matches nothing (items, total)" % q)
    eq(len(query(s.db, "SELECT id FROM household")), n, "tables intact")
    for q in INJECTIONS:
        st, b, _ = s.get("/api/v1/households?region=" + urllib.parse.quote(q))
        check_envelope(st, b, 400, "E_BAD_PARAM")
        st, b, _ = s.get("/api/v1/households?type=" + urllib.parse.quote(q))
        check_envelope(st, b, 400, "E_BAD_PARAM")
        st, b, _ = s.get("/api/v1/regions/" + urllib.parse.quote(q, safe=""))
        if st not in (400, 404):
            raise AssertionError("region %r: %d" % (q, st))


def test_injection_strings_in_fields_are_stored_verbatim():
    s = api()
    names = ["' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd"]
    address = "; ".join(INJECTIONS)
    body = {"hh_no": hh_no("inj"), "village_code": VILLAGE, "address": address,
            "relocation_site": "<img src=x onerror=alert(1)>",
            "members": [member(names[0], "户主", person("男")),
                        member(names[1], "配偶", person("女")),
                        member(names[2], "之子", person("男", "20000101"))]}
    b = create(body)
    st, g, _ = s.get("/api/v1/households/%d" % b["id"])
    eq((g["address"], g["relocation_site"]), (address, body["relocation_site"]), "verbatim")
    eq(sorted(m["name"] for m in g["members"]), sorted(names), "names verbatim")
    eq(query(s.db, "SELECT address FROM household WHERE id=?", (b["id"],)), [(address,)],
       "stored verbatim")
    # each name is found as a plain prefix, and only there
    for nm in names:
        st, r, _ = s.get("/api/v1/households?count=1&q=" + urllib.parse.quote(nm))
        eq((st, [i["id"] for i in r["items"]], r["total"]), (200, [b["id"]], 1), "q=%r" % nm)
    # in fields that have a shape, the same strings are refused, not interpreted
    for bad in INJECTIONS:
        if not re.match(r"^[A-Za-z0-9_-]+$", bad):
            expect_error("POST", "/api/v1/households", dict(family("inj"), hh_no=bad), 422,
                         "E_VALIDATION")
        expect_error("POST", "/api/v1/households", dict(family("inj"), village_code=bad),
                           422, "E_VALIDATION")
    eq({"household", "member"} <= tables(s.db), True, "tables still exist")


def test_error_envelope_is_uniform():
    s = api()
    fam = create(family("env"))
    cases = [
        ("GET", "/api/v1/nope", None, None, 404),
        ("PATCH", "/api/v1/households", None, None, 405),
        ("POST", "/api/v1/households", "{", {"Content-Type": "application/json"}, 400),
        ("POST", "/api/v1/households", "{}", {"Content-Type": "text/plain"}, 415),
        ("POST", "/api/v1/households", {"x": 1}, None, 400),
        ("POST", "/api/v1/households", {"hh_no": 1}, None, 422),
        ("POST", "/api/v1/households", dict(family("env"), hh_no=fam["hh_no"]), None, 409),
        ("GET", "/api/v1/households?q=%FF", None, None, 400),
        ("GET", "/api/v1/households/77777", None, None, 404),
        ("GET", "/api/v1/households?limit=0", None, None, 400),
    ]
    for method, path, body, headers, status in cases:
        st, b, h = s.request(method, path, body, headers=headers)
        check_envelope(st, b, status)
        eq(h.get("content-type"), "application/json; charset=utf-8", "content type")


def test_security_headers_on_every_response():
    s = api()
    fam = create(family("hdr"))
    reqs = [("GET", "/api/v1/health", None, None), ("GET", "/api/v1/codes", None, None),
            ("GET", "/api/v1/households/%d" % fam["id"], None, None),
            ("GET", "/api/v1/nope", None, None), ("PATCH", "/api/v1/households", None, None),
            ("GET", "/api/v1/households?q=%FF", None, None),
            ("POST", "/api/v1/households", b"x" * ((1 << 20) + 1),
             {"Content-Type": "application/json"}),
            ("POST", "/api/v1/households", family("hdr"), None),
            ("GET", "/", None, None)]
    for method, path, body, headers in reqs:
        st, _, h = s.request(method, path, body, headers=headers, raw=True)
        what = "%s %s (%d)" % (method, path, st)
        eq(h.get("x-content-type-options"), "nosniff", what + " nosniff")
        if h.get("x-frame-options", "").upper() not in ("DENY", "SAMEORIGIN"):
            raise AssertionError(what + " X-Frame-Options %r" % h.get("x-frame-options"))
        csp = h.get("content-security-policy", "")
        for d in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
            if d not in csp:
                raise AssertionError(what + " CSP lacks %r: %r" % (d, csp))
        if "unsafe-inline" in csp or "unsafe-eval" in csp:
            raise AssertionError(what + " CSP allows unsafe code: %r" % csp)
        if path.startswith("/api/") and h.get("cache-control") != "no-store":
            raise AssertionError(what + " API response may be cached: %r" %
                                 h.get("cache-control"))


def test_area_code_outside_loaded_regions_is_a_warning():
    """612427 (平利 before 安康 became a city) and a spouse from Beijing are
    accepted: the write succeeds and the reply carries a warning for each;
    a GET carries none, and nothing warns about a 610926 number."""
    body = family("area")
    body["members"][0]["id_number"] = person("男", "19560229", area="612427")
    body["members"][1]["id_number"] = person("女", "19580101", area="110105")
    st, b, _ = api().post("/api/v1/households", body)
    eq(st, 201, "created despite the area codes (%r)" % (b,))
    idx = {m["id_number"][:6]: i for i, m in enumerate(b["members"])}
    eq(sorted((w["field"], w["code"]) for w in b.get("warnings", [])),
       sorted([("members[%d].id_number" % idx["612427"], "W_ID_AREA_UNKNOWN"),
               ("members[%d].id_number" % idx["110105"], "W_ID_AREA_UNKNOWN")]),
       "a warning per unknown area code")
    for w in b["warnings"]:
        expect_cjk = "不在已导入的行政区划中"
        if expect_cjk not in w["message"] or w["field"][8] not in "0123456789":
            raise AssertionError("warning message: %r" % (w,))
    eq(b["members"][idx["612427"]]["birth_date"], "1956-02-29", "born on a leap day")
    st, g, _ = api().get("/api/v1/households/%d" % b["id"])
    eq(st, 200, "read back")
    if "warnings" in g:
        raise AssertionError("a GET carries write warnings")
    del b["warnings"]
    eq(g, b, "otherwise GET equals the create response")
    # a member added or changed on its own
    st, m, _ = api().post("/api/v1/households/%d/members" % b["id"],
                          member("王小红", "之女", person("女", "20050101", area="422801")))
    eq(st, 201, "member with a Hubei number (%r)" % (m,))
    eq([(w["field"], w["code"]) for w in m.get("warnings", [])],
       [("id_number", "W_ID_AREA_UNKNOWN")], "member warning")
    st, m2, _ = api().put("/api/v1/members/%d" % m["id"],
                          {"id_number": person("女", "20050101")})
    eq(st, 200, "moved to a 610926 number (%r)" % (m2,))
    if "warnings" in m2:
        raise AssertionError("a 610926 number warned: %r" % (m2,))
    st, ok, _ = api().post("/api/v1/households", family("area2"))
    eq(st, 201, "plain family")
    if "warnings" in ok:
        raise AssertionError("warnings for 610926 numbers: %r" % (ok,))


def test_pagination_stable_while_households_are_added_and_deleted():
    """A walk through the list while others write: every household that
    exists from start to end is seen exactly once, in id order; one added
    during the walk shows up at the end, one deleted ahead is not seen."""
    s = api()
    made = [create(family("pg%d" % i))["id"] for i in range(12)]
    # the walk starts at the first of these (the cursor is the last id seen),
    # so it deletes nothing another test made
    start = [r[0] for r in query(s.db, "SELECT id FROM household WHERE id >= ? ORDER BY id",
                                 (made[0],))]
    seen = []
    st, b, _ = s.get("/api/v1/households?limit=5&cursor=%d" % (made[0] - 1))
    seen += [i["id"] for i in b["items"]]
    # between pages: delete one already seen and one not yet reached, add one
    gone_seen, gone_ahead = seen[1], made[-2]
    for hid in (gone_seen, gone_ahead):
        eq(s.delete("/api/v1/households/%d" % hid)[0], 200, "delete %d" % hid)
    added = create(family("pgnew"))["id"]
    cursor = b["next_cursor"]
    while cursor:
        st, b, _ = s.get("/api/v1/households?limit=5&cursor=" + cursor)
        eq(st, 200, "page")
        seen += [i["id"] for i in b["items"]]
        cursor = b["next_cursor"]
    eq(seen, sorted(seen), "id order")
    eq(len(seen), len(set(seen)), "no household twice")
    want = [h for h in start if h != gone_ahead] + [added]
    eq(seen, want, "every household that stayed, the new one last")


if __name__ == "__main__":
    run_tests(globals())
