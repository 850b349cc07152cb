"""test_office.py — the routes behind the office pages: the web import of
CSV ledgers (POST /api/v1/imports, its job, scope limits, the per-row report,
audit), the case queue's filters, sort by deadline, paging and light counts
(GET /api/v1/cases), the county announcement (公告, /api/v1/notices) and the
workflow totals (GET /api/v1/case-totals), and the rule preview's household
count."""
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import Server, cli, eq, id_number, new_db, query, run_tests, snapshot  # noqa: E402

TOWNSHIP = "610926102"            # 老县镇
OTHER = "610926100"               # 城关镇
_db = None
_srv = None
_tok = {}
_seq = [0]


def db():
    global _db
    if _db is None:
        _db = new_db("office.db", demo=300, seed=7)
    return _db


def village(prefix):
    return query(db(), "SELECT village_code FROM household WHERE village_code LIKE ? GROUP BY "
                 "village_code ORDER BY count(*) DESC, village_code LIMIT 1", (prefix + "%",))[0][0]


def server():
    """One server for the file; users: county admin (s.token), a township
    reviewer and a clerk of 老县镇, a clerk of 城关镇, county approver, 医保 user."""
    global _srv
    if _srv is None:
        _srv = Server(db(), login="office.admin", env={"LIUBAO_IMPORT_WAIT_MS": "3000"})
        _tok["admin"] = _srv.token
        _tok["township"] = _srv.make_user("office.town", "township_reviewer", TOWNSHIP)
        _tok["clerk"] = _srv.make_user("office.clerk", "village_clerk", village(TOWNSHIP))
        _tok["other_clerk"] = _srv.make_user("office.clerk2", "village_clerk", village(OTHER))
        _tok["other_town"] = _srv.make_user("office.town2", "township_reviewer", OTHER)
        _tok["county"] = _srv.make_user("office.county", "county_approver", "610926")
        _tok["county_town"] = _srv.make_user("office.county2", "county_approver", OTHER)
        _tok["dept"] = _srv.make_user("office.dept", "dept_user", "610926", department="医保局")
    return _srv


def as_(who):
    return {"token": _tok[who]}


def teardown():
    if _srv:
        if _srv.proc.poll() is not None:
            print("server exited %s: %s" % (_srv.proc.returncode, _srv.proc.stderr.read()[-3000:]))
        _srv.stop()


def today(days=0):
    d = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
    return (d - datetime.timedelta(days=days)).isoformat()


def person(sex):
    """A valid 身份证号 not in the demo (born 1931–1939, high serials)."""
    while True:
        _seq[0] += 1
        n = _seq[0]
        seq = 800 + (n * 2) % 190 + (1 if sex == "男" else 0)
        idn = id_number("610926", "19%02d%02d%02d" % (31 + n % 9, 1 + n % 12, 1 + n % 28), seq)
        if not query(db(), "SELECT 1 FROM member WHERE id_number = ?", (idn,)):
            return idn


HEADER = "户编号,行政区划代码,户类型,家庭住址,姓名,证件号码,与户主关系,劳动技能\n"


def members_csv(rows):
    """rows: (hh_no, village, name, id_number, relation)."""
    return HEADER + "".join("%s,%s,一般农户,测试地址,%s,%s,%s,普通劳动力\n" % r for r in rows)


def upload(s, csv_text, who="township", **params):
    q = "&".join("%s=%s" % kv for kv in dict({"kind": "members"}, **params).items())
    body = csv_text.encode("utf-8") if isinstance(csv_text, str) else csv_text
    return s.request("POST", "/api/v1/imports?" + q, body, headers={"Content-Type": "text/csv"},
                     **as_(who))


def new_hh_no():
    _seq[0] += 1
    return "OFF%06d" % _seq[0]


# ---- import ---------------------------------------------------------------------------


def test_import_checks_then_writes_with_one_audit_row():
    s = server()
    v = village(TOWNSHIP)
    h1, h2 = new_hh_no(), new_hh_no()
    ids = [person("男"), person("女"), person("男"), person("女")]
    good = members_csv([(h1, v, "孙志强", ids[0], "户主"), (h1, v, "周桂兰", ids[1], "配偶"),
                        (h2, v, "吴德明", ids[2], "户主"), (h2, v, "郑小燕", ids[3], "配偶")])
    bad_idn = ids[1][:17] + ("1" if ids[1][17] != "1" else "2")
    bad = good.replace(ids[1], bad_idn)
    before = snapshot(db())
    # a file with a bad 身份证号: refused whole, per-row report, nothing written
    st, b, _ = upload(s, bad)
    eq(st, 200, "refused import answers its report: %s" % b)
    r = b["result"]
    eq((b["status"], r["accepted"], r["written"], r["rows"], r["bad_rows"]),
       ("done", False, False, 4, 2), "refused")
    errs = [p for p in r["problems"] if not p["warning"]]
    eq([(p["line"], p["column"], p["value"]) for p in errs], [(3, "证件号码", bad_idn)], "problems")
    assert "校验" in errs[0]["message"], errs
    assert "第 3 行" in r["report"], r["report"]
    eq(snapshot(db()), before, "nothing written")
    # a dry run of the good file: accepted, nothing written
    st, b, _ = upload(s, good, dry_run="1")
    eq((st, b["result"]["accepted"], b["result"]["written"], b["dry_run"]), (200, True, False, True),
       "dry run")
    eq(snapshot(db()), before, "dry run writes nothing")
    # the import, with its audit row in the same transaction
    last = query(db(), "SELECT coalesce(max(id), 0) FROM audit_log")[0][0]
    st, b, _ = upload(s, good)
    eq(st, 200, "import")
    r = b["result"]
    eq((r["accepted"], r["written"], r["households_new"], r["members_new"]), (True, True, 2, 4),
       "written")
    eq(query(db(), "SELECT count(*) FROM household WHERE hh_no IN (?, ?)", (h1, h2))[0][0], 2,
       "households")
    rows = query(db(), "SELECT action, login, target_type, target_id, status, detail FROM audit_log "
                 "WHERE id > ? ORDER BY id", (last,))
    eq(len(rows), 1, "one audit row: %s" % rows)
    eq(rows[0][:5], ("POST /api/v1/imports", "office.town", "import", b["id"], 200), "audit row")
    assert "新增 2 户 4 人" in rows[0][5], rows[0][5]
    # the same file again changes nothing and leaves no audit row
    after = snapshot(db())
    st, b, _ = upload(s, good)
    eq((b["result"]["written"], b["result"]["unchanged"]), (False, 4), "idempotent")
    eq(snapshot(db()), after, "re-import")
    # the job can be read again by its owner only
    st, j, _ = s.get("/api/v1/imports/%d" % b["id"], **as_("township"))
    eq((st, j["status"], j["result"]["unchanged"]), (200, "done", 4), "job")
    st, _, _ = s.get("/api/v1/imports/%d" % b["id"], **as_("clerk"))
    eq(st, 404, "another user's job")


def test_import_stays_inside_the_uploader_scope():
    s = server()
    before = snapshot(db())
    # a household of another township
    other_v = village(OTHER)
    st, b, _ = upload(s, members_csv([(new_hh_no(), other_v, "陈立新", person("男"), "户主")]))
    r = b["result"]
    eq((st, r["accepted"]), (200, False), "refused")
    assert any("不在您的管辖范围内" in p["message"] for p in r["problems"]), r["problems"]
    # an 户编号 already registered outside the scope, given an in-scope village
    out_hh, out_v = query(db(), "SELECT hh_no, village_code FROM household WHERE village_code "
                          "LIKE ? ORDER BY id LIMIT 1", (OTHER + "%",))[0]
    st, b, _ = upload(s, members_csv([(out_hh, village(TOWNSHIP), "陈立新", person("男"), "户主")]))
    assert any("管辖范围以外" in p["message"] for p in b["result"]["problems"]), b
    # a 身份证号 registered in a household outside: refused without naming it
    idn, name, hh = query(db(), "SELECT m.id_number, m.name, h.hh_no FROM member m JOIN household h "
                          "ON h.id = m.household_id WHERE h.village_code LIKE ? ORDER BY m.id "
                          "LIMIT 1", (OTHER + "%",))[0]
    st, b, _ = upload(s, members_csv([(new_hh_no(), village(TOWNSHIP), "陈立新", idn, "户主")]))
    msgs = [p["message"] for p in b["result"]["problems"]]
    assert any("管辖范围以外的户" in m for m in msgs), msgs
    assert not any(name in m or hh in m for m in msgs) and name not in b["result"]["report"], msgs
    # the county administrator may import it
    st, b, _ = upload(s, members_csv([(new_hh_no(), other_v, "陈立新", person("男"), "户主")]),
                      who="admin", dry_run="1")
    eq(b["result"]["accepted"], True, "county scope: %s" % b["result"]["problems"])
    eq(snapshot(db()), before, "nothing written")


def test_import_refuses_bad_requests():
    s = server()
    before = snapshot(db())
    good = members_csv([(new_hh_no(), village(TOWNSHIP), "陈立新", person("男"), "户主")])
    for params, want, code in ((dict(kind="people"), 400, "E_BAD_PARAM"),
                               (dict(dry_run="yes"), 400, "E_BAD_PARAM"),
                               (dict(skip_bad="2"), 400, "E_BAD_PARAM"),
                               (dict(format="xlsx"), 400, "E_UNKNOWN_PARAM")):
        st, b, _ = upload(s, good, **params)
        eq((st, b["error"]["code"]), (want, code), "params %s" % params)
    st, b, _ = upload(s, "")
    eq((st, b["error"]["code"]), (422, "E_REQUIRED"), "empty file")
    st, b, _ = upload(s, "姓名,年龄\n张三,30\n")
    eq((st, b["result"]["accepted"]), (200, False), "no required columns")
    assert "找不到表头" in b["result"]["report"], b["result"]["report"]
    st, b, _ = upload(s, good, who="dept")
    eq((st, b["error"]["code"]), (403, "E_FORBIDDEN"), "dept user")
    st, b, _ = s.get("/api/v1/imports/abc", **as_("township"))
    eq(st, 404, "bad id")
    eq(snapshot(db()), before, "nothing written")


def test_import_job_reports_progress_and_large_uploads():
    """With no wait the POST answers 202 and the job is followed to its end;
    an upload route takes bodies over --max-body up to --max-upload."""
    server()
    d = db()
    s = Server(d, login=None, extra=["--max-body", "4000", "--max-upload", "200000"],
               env={"LIUBAO_IMPORT_WAIT_MS": "0"})
    try:
        s.token = _tok["township"]
        v = village(TOWNSHIP)
        rows = []
        for _ in range(300):
            rows.append((new_hh_no(), v, "测试户主", person("男"), "户主"))
        text = members_csv(rows)
        assert 4000 < len(text.encode()) < 200000
        st, b, h = s.request("POST", "/api/v1/imports?kind=members&dry_run=1", text.encode(),
                             headers={"Content-Type": "text/csv"})
        eq(st, 202, "job answer: %s" % (b if st != 202 else ""))
        eq(h.get("location"), "/api/v1/imports/%d" % b["id"], "Location")
        assert b["status"] == "running" and b["result"] is None and 0 <= b["percent"] < 100, b
        seen = []
        for _ in range(200):
            st, j, _ = s.get("/api/v1/imports/%d" % b["id"])
            seen.append(j["percent"])
            if j["status"] != "running":
                break
            time.sleep(0.05)
        eq((j["status"], j["percent"], j["result"]["accepted"], j["result"]["rows"]),
           ("done", 100, True, 300), "finished")
        assert seen == sorted(seen), seen
        # other routes keep the small limit
        st, b, _ = s.post("/api/v1/households", {"address": "x" * 5000})
        eq(st, 413, "JSON body over --max-body")
        st, b, _ = s.request("POST", "/api/v1/imports?kind=members", b"x" * 210000,
                             headers={"Content-Type": "text/csv"})
        eq(st, 413, "upload over --max-upload")
    finally:
        s.stop()


# ---- the case queue ------------------------------------------------------------------------


def advance_cli(case, who, record, on=None):
    env = {"LIUBAO_TODAY": on} if on else None
    import json
    cli("case", "advance", case, "--as", who, "--record", json.dumps(record, ensure_ascii=False),
        "--db", db(), check=0, env=env)


def new_family(s, vcode):
    hh = new_hh_no()
    st, b, _ = s.post("/api/v1/households", {
        "hh_no": hh, "village_code": vcode, "address": "测试地址", "hh_type": "一般农户",
        "members": [{"name": "测试户主", "relation": "户主", "id_number": person("男")}]})
    eq(st, 201, "family: %s" % b)
    return b["id"]


def open_case(s, clerk, vcode):
    """An identification case opened by `clerk` on a new household of `vcode`."""
    hh = new_family(s, vcode)
    st, b, _ = s.post("/api/v1/households/%d/applications" % hh, {"reason": "申请"}, **as_(clerk))
    eq(st, 201, "application: %s" % b)
    st, c, _ = s.post("/api/v1/alerts/%d/case" % b["alert_id"], None, **as_(clerk))
    eq(st, 201, "case: %s" % c)
    return c["id"]


LOGINS = {"clerk": "office.clerk", "other_clerk": "office.clerk2"}


def case_at_county(s, clerk, town, vcode):
    """A case brought to 县级审定 (step 6): village steps dated a week back."""
    cid = open_case(s, clerk, vcode)
    wk = today(7)
    advance_cli(cid, LOGINS[clerk], {"note": "属实"}, wk)
    advance_cli(cid, town, {"note": "无异常"}, wk)
    advance_cli(cid, LOGINS[clerk], {"minutes": "同意"}, wk)
    advance_cli(cid, LOGINS[clerk], {"objections": "无异议"})
    advance_cli(cid, town, {"note": "同意"})
    st, c, _ = s.get("/api/v1/cases/%d" % cid)
    eq(c["step_title"], "县级审定", "at the county step")
    return cid


FINAL = {"note": "同意，予以公告", "category": "边缘易致贫户", "risk_types": ["因病"],
         "contact_name": "张三", "contact_phone": "13800001111"}


def test_case_queue_filters_sort_paging_and_counts():
    s = server()
    for _ in range(3):
        open_case(s, "clerk", village(TOWNSHIP))
    all_active = {r[0] for r in query(db(), "SELECT id FROM monitor_case WHERE state = 'active'")}
    st, b, _ = s.get("/api/v1/cases?limit=500&count=1")
    eq({x["id"] for x in b["items"]}, all_active, "every active case for the county")
    eq(b["total"], len(all_active), "total")
    eq(sum(b["lights"].values()), b["total"], "lights add up")
    for l in ("red", "yellow", "green"):
        eq(b["lights"][l], sum(1 for x in b["items"] if x["light"] == l), "light %s" % l)
        st, lb, _ = s.get("/api/v1/cases?limit=500&light=" + l)
        eq({x["id"] for x in lb["items"]}, {x["id"] for x in b["items"] if x["light"] == l}, l)
    # nearest deadline first, paged by a cursor that keeps the order
    st, full, _ = s.get("/api/v1/cases?limit=500&sort=due")
    keys = [(x["step_due"] or "9999-12-31", x["id"]) for x in full["items"]]
    eq(keys, sorted(keys), "sorted by deadline")
    got, cur = [], None
    while True:
        st, p, _ = s.get("/api/v1/cases?limit=2&sort=due" + ("&cursor=" + cur if cur else ""))
        eq(st, 200, "page")
        got += [x["id"] for x in p["items"]]
        cur = p["next_cursor"]
        if not cur:
            break
    eq(got, [x["id"] for x in full["items"]], "paging by deadline")
    # mine: the steps the township acts on, within its scope (one at 信息比对,
    # the first of its steps, besides the demo's at 乡镇审核)
    second = open_case(s, "clerk", village(TOWNSHIP))
    advance_cli(second, "office.clerk", {"note": "属实"})
    st, m, _ = s.get("/api/v1/cases?limit=500&mine=1", **as_("township"))
    assert second in {x["id"] for x in m["items"]}, "a case at 信息比对 in the township's queue"
    want = {r[0] for r in query(
        db(), "SELECT c.id FROM monitor_case c JOIN household h ON h.id = c.household_id WHERE "
        "c.state = 'active' AND h.village_code LIKE ? AND ((c.kind = 1 AND c.step IN (2, 5)) OR "
        "(c.kind = 2 AND c.step = 4))", (TOWNSHIP + "%",))}
    eq({x["id"] for x in m["items"]}, want, "mine")
    assert all(x["can_act"] and x["step_role"] == "township_reviewer" for x in m["items"]), m
    st, m, _ = s.get("/api/v1/cases?limit=500&mine=1", **as_("clerk"))
    assert m["items"] and all(x["step_role"] == "village_clerk" for x in m["items"]), m
    # a household that moves to another township takes its case along (the
    # queue filters on the case's copy of the village, kept by a trigger)
    moved = open_case(s, "clerk", village(TOWNSHIP))
    hh = query(db(), "SELECT household_id FROM monitor_case WHERE id = ?", (moved,))[0][0]
    st, b, _ = s.put("/api/v1/households/%d" % hh, {"village_code": village(OTHER)})
    eq(st, 200, "move: %s" % b)
    for who, sees in (("township", False), ("other_town", True)):
        st, q, _ = s.get("/api/v1/cases?limit=500", **as_(who))
        eq(moved in {x["id"] for x in q["items"]}, sees, "%s after the move" % who)
    st, _, _ = s.get("/api/v1/cases/%d" % moved, **as_("township"))
    eq(st, 404, "out of the old township's scope")
    eq(query(db(), "SELECT village_code FROM monitor_case WHERE id = ?", (moved,))[0][0],
       village(OTHER), "copy moved")
    # bad parameters
    for q in ("sort=deadline", "cursor=2026-13-01.5&sort=due", "cursor=abc&sort=due", "mine=2",
              "noticed=yes", "count=true", "light=blue"):
        st, e, _ = s.get("/api/v1/cases?" + q)
        eq((st, e["error"]["code"]), (400, "E_BAD_PARAM"), q)


# ---- 公告 and totals -----------------------------------------------------------------------


def test_county_notice_publication_and_totals():
    s = server()
    v_in, v_out = village(TOWNSHIP), village(OTHER)
    a = case_at_county(s, "clerk", "office.town", v_in)
    b = case_at_county(s, "clerk", "office.town", v_in)
    c = case_at_county(s, "other_clerk", "office.town2", v_out)
    st, t0, _ = s.get("/api/v1/case-totals", **as_("county"))
    eq((st, t0["level"], len(t0["items"])), (200, "乡镇", 11), "townships of the county")
    row0 = [x for x in t0["items"] if x["code"] == TOWNSHIP][0]
    assert row0["waiting"]["county"] >= 2, row0
    for cid in (a, b, c):
        st, r, _ = s.post("/api/v1/cases/%d/advance" % cid, FINAL, **as_("county"))
        eq((st, r["state"]), (200, "done"), "approved")
    st, t1, _ = s.get("/api/v1/case-totals", **as_("county"))
    row1 = [x for x in t1["items"] if x["code"] == TOWNSHIP][0]
    eq((row1["waiting"]["county"], row1["identified"], row1["to_notice"]),
       (row0["waiting"]["county"] - 2, row0["identified"] + 2, row0["to_notice"] + 2), "totals move")
    eq(t1["total"]["to_notice"], sum(x["to_notice"] for x in t1["items"]), "total row")
    st, pend, _ = s.get("/api/v1/cases?state=done&noticed=0&limit=500", **as_("county"))
    assert {a, b, c} <= {x["id"] for x in pend["items"]}, pend
    active = open_case(s, "clerk", v_in)
    before = snapshot(db())
    # refused: wrong role, mixed townships, active case, bad phone, unknown field, out of scope
    for who, body, want, code in (
            ("township", {"case_ids": [a]}, 403, "E_STEP_ROLE"),
            ("county", {"case_ids": [a, c]}, 422, "E_MIXED"),
            ("county", {"case_ids": [a, a]}, 422, "E_DUPLICATE"),
            ("county", {"case_ids": []}, 422, "E_REQUIRED"),
            ("county", {"case_ids": ["1"]}, 422, "E_BAD_TYPE"),
            ("county", {"case_ids": [a], "phone": "call me"}, 422, "E_BAD_PHONE"),
            ("county", {"case_ids": [a], "title": "x"}, 400, "E_UNKNOWN_FIELD"),
            ("county_town", {"case_ids": [a]}, 422, "E_NOT_FOUND")):
        st, e, _ = s.post("/api/v1/notices", body, **as_(who))
        eq((st, e["error"]["code"]), (want, code), "%s %s" % (who, body))
    st, e, _ = s.post("/api/v1/notices", {"case_ids": [active]}, **as_("county"))
    eq((st, e["error"]["code"]), (409, "E_STATE"), "active case")
    eq(snapshot(db()), before, "refusals write nothing")
    # published
    last = query(db(), "SELECT coalesce(max(id), 0) FROM audit_log")[0][0]
    st, n, _ = s.post("/api/v1/notices", {"case_ids": [a, b], "phone": "0915-8421234"},
                      **as_("county"))
    eq(st, 201, "publish: %s" % n)
    year = today()[:4]
    eq((n["kind"], n["township"], n["township_name"], n["households"], n["phone"], n["batch"]),
       ("识别纳入", TOWNSHIP, "老县镇", 2, "0915-8421234", 1), "notice")
    eq(n["title"], "老县镇关于%s年第1批防止返贫监测对象识别纳入结果的公告" % year, "title")
    eq(sorted(x["case_id"] for x in n["items"]), sorted([a, b]), "items")
    for x in n["items"]:
        assert x["head_id_number"][6:14] == "********", x
        eq((x["category"], x["risk_types"]), ("边缘易致贫户", ["因病"]), "record")
    rows = query(db(), "SELECT action, target_type, target_id FROM audit_log WHERE id > ?", (last,))
    eq(rows, [("POST /api/v1/notices", "notice", n["id"])], "one audit row")
    st, ca, _ = s.get("/api/v1/cases/%d" % a)
    eq((ca["events"][-1]["action"], ca["events"][-1]["record"]), ("notice", {"notice_id": n["id"]}),
       "case history")
    # once only; the next batch is numbered 2
    st, e, _ = s.post("/api/v1/notices", {"case_ids": [a]}, **as_("county"))
    eq((st, e["error"]["code"]), (409, "E_ALREADY_NOTICED"), "again")
    st, n2, _ = s.post("/api/v1/notices", {"case_ids": [c]}, **as_("county"))
    eq((st, n2["batch"], n2["township_name"]), (201, 1, "城关镇"), "other township, own numbering")
    # who sees what
    st, l, _ = s.get("/api/v1/notices", **as_("clerk"))
    eq([x["id"] for x in l["items"]], [n["id"]], "the clerk sees the notice of the village")
    st, _, _ = s.get("/api/v1/notices/%d" % n2["id"], **as_("clerk"))
    eq(st, 404, "not another township's")
    st, l, _ = s.get("/api/v1/notices", **as_("county"))
    eq([x["id"] for x in l["items"]], [n2["id"], n["id"]], "newest first")
    st, l, _ = s.get("/api/v1/notices?kind=eliminate", **as_("county"))
    eq(l["items"], [], "kind filter")
    st, pend, _ = s.get("/api/v1/cases?state=done&noticed=0&limit=500", **as_("county"))
    assert not {a, b, c} & {x["id"] for x in pend["items"]}, "announced cases leave the list"
    st, t2, _ = s.get("/api/v1/case-totals", **as_("county"))
    row2 = [x for x in t2["items"] if x["code"] == TOWNSHIP][0]
    eq(row2["to_notice"], row0["to_notice"], "announced")
    st, tv, _ = s.get("/api/v1/case-totals", **as_("township"))
    eq(tv["level"], "村", "a township sees its villages")
    eq(sum(x["identified"] for x in tv["items"]), row2["identified"], "villages add up")


TALLY_RECOUNT = (
    "SELECT what, village_code, kind, step, closed_year, noticed, sum(n) FROM ("
    " SELECT state AS what, village_code, kind, CASE WHEN state = 'active' THEN step ELSE 0 END AS step,"
    " CASE WHEN state = 'active' THEN '' ELSE substr(closed_at, 1, 4) END AS closed_year,"
    " CASE WHEN EXISTS (SELECT 1 FROM case_notice_item i WHERE i.case_id = c.id) THEN 1 ELSE 0 END"
    " AS noticed, 1 AS n FROM monitor_case c"
    " UNION ALL SELECT 'monitored:' || status, village_code, 0, 0, '', 0, 1 FROM monitored) x"
    " GROUP BY what, village_code, kind, step, closed_year, noticed")


def live_totals(prefix, y0, day):
    """What GET /api/v1/case-totals answers for a township, counted from the
    cases and monitored households themselves (the queries it used before
    it read case_count)."""
    one = lambda sql, *a: query(db(), sql, (prefix + "%",) + a)[0][0] or 0
    return {
        "waiting": one("SELECT count(*) FROM monitor_case WHERE state = 'active' AND village_code LIKE ?"),
        "red": one("SELECT count(*) FROM monitor_case WHERE state = 'active' AND village_code LIKE ? "
                   "AND step_due <> '' AND step_due < ?", day),
        "identified": one("SELECT count(*) FROM monitor_case WHERE state = 'done' AND kind = 1 AND "
                          "village_code LIKE ? AND closed_at >= ?", y0),
        "eliminated": one("SELECT count(*) FROM monitor_case WHERE state = 'done' AND kind = 2 AND "
                          "village_code LIKE ? AND closed_at >= ?", y0),
        "rejected": one("SELECT count(*) FROM monitor_case WHERE state = 'rejected' AND "
                        "village_code LIKE ? AND closed_at >= ?", y0),
        "to_notice": one("SELECT count(*) FROM monitor_case c WHERE state = 'done' AND village_code LIKE ? "
                         "AND NOT EXISTS (SELECT 1 FROM case_notice_item i WHERE i.case_id = c.id)"),
        "monitoring": one("SELECT count(*) FROM monitored WHERE status = 'monitoring' AND village_code LIKE ?"),
    }


def check_totals(s, what):
    tally = sorted(r for r in query(db(), "SELECT what, village_code, kind, step, closed_year, noticed, "
                                    "n FROM case_count WHERE n <> 0"))
    eq(tally, sorted(query(db(), TALLY_RECOUNT)), "case_count equals a recount " + what)
    st, t, _ = s.get("/api/v1/case-totals", **as_("county"))
    eq(st, 200, "totals")
    for row in t["items"]:
        got = {k: row[k] for k in ("red", "identified", "eliminated", "rejected", "to_notice", "monitoring")}
        got["waiting"] = sum(row["waiting"].values())
        eq(got, live_totals(row["code"], t["today"][:4] + "-01-01", t["today"]), row["name"] + " " + what)


def test_case_totals_equal_live_counts():
    """The totals come from case_count, kept by triggers: after cases are
    opened, advanced, approved, announced, after a household moves to another
    township and after one is deleted, they equal the live counts."""
    s = server()
    check_totals(s, "at the start")
    a = case_at_county(s, "clerk", "office.town", village(TOWNSHIP))
    b = case_at_county(s, "clerk", "office.town", village(TOWNSHIP))
    check_totals(s, "with cases at the county step")
    for cid in (a, b):
        st, r, _ = s.post("/api/v1/cases/%d/advance" % cid, FINAL, **as_("county"))
        eq((st, r["state"]), (200, "done"), "approved")
    check_totals(s, "after approval")
    st, r, _ = s.post("/api/v1/notices", {"case_ids": [a]}, **as_("county"))
    eq(st, 201, "published: %s" % r)
    check_totals(s, "after a 公告")
    hh_a, hh_b = (query(db(), "SELECT household_id FROM monitor_case WHERE id = ?", (c,))[0][0] for c in (a, b))
    st, r, _ = s.put("/api/v1/households/%d" % hh_a, {"village_code": village(OTHER)})
    eq(st, 200, "move: %s" % r)
    check_totals(s, "after a move")
    st, r, _ = s.request("DELETE", "/api/v1/households/%d" % hh_b)
    if st == 200 or st == 204:
        check_totals(s, "after a deletion")
    # a township's queue sorted by deadline (the narrow form of the sort key)
    st, full, _ = s.get("/api/v1/cases?limit=500&sort=due", **as_("township"))
    keys = [(x["step_due"] or "9999-12-31", x["id"]) for x in full["items"]]
    eq(keys, sorted(keys), "a township's queue sorted by deadline")


def test_rule_preview_counts_households():
    s = server()
    st, b, _ = s.post("/api/v1/rules/preview", {"expression": "age() >= 60", "scope": "member"})
    eq(st, 200, "preview: %s" % b)
    st, hh, _ = s.post("/api/v1/rules/preview", {"expression": "any(member, age() >= 60)"})
    eq(st, 200, "household form: %s" % hh)
    eq(b["households"], hh["hits"], "the members' households are the households with such a member")
    assert 0 < b["households"] < b["hits"], b
    st, h, _ = s.post("/api/v1/rules/preview", {"expression": "人均纯收入 < 监测线", "year": 2025})
    eq(h["households"], h["hits"], "household rule")


run_tests(globals())
