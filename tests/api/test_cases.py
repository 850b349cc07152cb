"""test_cases.py — alerts, the identification and risk-elimination workflows,
step roles and regions, working-day deadlines and lights, visits and
self-reports, rule screening and its explanations, and evaluate-vs-SQL
equivalence of the shipped rules over the demo district."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import Server, cli, eq, new_db, query, run_tests, snapshot  # noqa: E402

_db = None
_servers = []
_tokens = {}
MONDAY = "2026-03-02"


def db():
    global _db
    if _db is None:
        _db = new_db("cases.db", demo=600, seed=5)
    return _db


def server(today=MONDAY):
    """A server over the shared database whose clock reads `today`."""
    for s in _servers:
        s.stop()
    _servers.clear()
    first = not _tokens
    s = Server(db(), login="case.admin" if first else None, env={"LIUBAO_TODAY": today})
    if first:
        _tokens["admin"] = s.token
        village, township = target_village()
        _tokens["clerk"] = s.make_user("case.clerk", "village_clerk", village)
        _tokens["township"] = s.make_user("case.township", "township_reviewer", township)
        _tokens["county"] = s.make_user("case.county", "county_approver", "610926")
        other = query(db(), "SELECT min(village_code) FROM household WHERE village_code NOT "
                      "LIKE ?", (township + "%",))[0][0]
        _tokens["other"] = s.make_user("case.other", "village_clerk", other)
    s.token = _tokens["admin"]
    _servers.append(s)
    return s


def target_village():
    v = query(db(), "SELECT village_code FROM household WHERE village_code LIKE '610926102%' "
              "GROUP BY village_code ORDER BY count(*) DESC, village_code LIMIT 1")[0][0]
    return v, v[:9]


_picked = []


def households(n=3):
    """The first n households of the target village that the demo left alone
    (not monitored, no case, no alert), chosen once per run."""
    if not _picked:
        v, _ = target_village()
        _picked.extend(r[0] for r in query(
            db(), "SELECT id FROM household h WHERE village_code = ? AND NOT EXISTS (SELECT 1 "
            "FROM monitored m WHERE m.household_id = h.id) AND NOT EXISTS (SELECT 1 FROM "
            "monitor_case c WHERE c.household_id = h.id) AND NOT EXISTS (SELECT 1 FROM alert a "
            "WHERE a.household_id = h.id) ORDER BY id LIMIT 5", (v,)))
    return _picked[:n]


def as_(who):
    return {"token": _tokens[who]}


def test_visit_and_self_report_merge_into_one_alert():
    s = server()
    hh = households()[0]
    st, b, _ = s.post("/api/v1/households/%d/visits" % hh, {
        "visit_date": MONDAY, "note": "户主住院，医药费负担重", "risk_found": True,
        "risk_types": ["因病"]}, **as_("clerk"))
    eq(st, 201, "visit: %s" % b)
    st, b, _ = s.post("/api/v1/households/%d/applications" % hh,
                      {"reason": "申请纳入监测", "risk_types": ["因病", "因残"]}, **as_("clerk"))
    eq(st, 201, "application: %s" % b)
    rows = query(db(), "SELECT id, status, channels, risk_types FROM alert WHERE household_id = ?",
                 (hh,))
    eq(len(rows), 1, "one alert for the household")
    eq(rows[0][1], "open", "status")
    st, b, _ = s.get("/api/v1/alerts/%d" % rows[0][0], **as_("clerk"))
    eq(st, 200, "alert get")
    eq(sorted(b["channels"]), sorted(["干部走访", "农户自主申报"]), "channels")
    eq(len(b["evidence"]), 2, "two pieces of evidence")
    eq(b["risk_types"], ["因病", "因残"], "merged risk types")
    # the same visit twice is one more piece of evidence (different visit id) but never a new alert
    st, _, _ = s.post("/api/v1/households/%d/visits" % hh, {
        "visit_date": MONDAY, "note": "复访", "risk_found": True}, **as_("clerk"))
    eq(st, 201, "second visit")
    eq(query(db(), "SELECT count(*) FROM alert WHERE household_id = ?", (hh,))[0][0], 1, "still one")


def test_bad_visit_input_writes_nothing():
    s = server()
    hh = households()[0]
    before = snapshot(db())
    for body, code in [({"visit_date": "2026-02-30", "note": "x"}, 422),
                       ({"visit_date": "2099-01-01", "note": "x"}, 422),
                       ({"visit_date": MONDAY}, 422),
                       ({"visit_date": MONDAY, "note": "x", "risk_found": "yes"}, 422),
                       ({"visit_date": MONDAY, "note": "x", "risk_types": ["因穷"]}, 422),
                       ({"visit_date": MONDAY, "note": "x", "extra": 1}, 400)]:
        st, b, _ = s.post("/api/v1/households/%d/visits" % hh, body, **as_("clerk"))
        eq(st, code, "visit %r: %s" % (body, b))
    eq(snapshot(db()), before, "nothing written")
    st, _, _ = s.post("/api/v1/households/%d/visits" % hh, {"visit_date": MONDAY, "note": "x"},
                      **as_("other"))
    eq(st, 404, "other village's clerk")


def open_case(s, hh):
    alert = query(db(), "SELECT id FROM alert WHERE household_id = ? AND status = 'open'", (hh,))
    if not alert:
        st, b, _ = s.post("/api/v1/households/%d/applications" % hh, {"reason": "申请"},
                          **as_("clerk"))
        eq(st, 201, "application")
        alert = query(db(), "SELECT id FROM alert WHERE household_id = ? AND status = 'open'",
                      (hh,))
    st, b, _ = s.post("/api/v1/alerts/%d/case" % alert[0][0], None, **as_("clerk"))
    eq(st, 201, "open case: %s" % b)
    return b


def act(s, case, who, action, record, want):
    st, b, _ = s.post("/api/v1/cases/%d/%s" % (case, action), record, **as_(who))
    eq(st, want, "%s %s by %s: %s" % (action, json.dumps(record, ensure_ascii=False), who, b))
    return b


def test_identification_workflow_roles_steps_and_deadlines():
    s = server()
    hh = households()[0]
    c = open_case(s, hh)
    cid = c["id"]
    eq((c["step"], c["step_title"], c["step_role"]), (1, "入户核查", "village_clerk"), "first step")
    eq(c["step_due"], "2026-03-05", "3 working days after Monday")
    eq(c["light"], "green", "light")
    # wrong role, wrong region, missing record, unknown action
    act(s, cid, "township", "advance", {"note": "x"}, 403)
    st, _, _ = s.post("/api/v1/cases/%d/advance" % cid, {"note": "x"}, **as_("other"))
    eq(st, 404, "clerk of another village")
    act(s, cid, "clerk", "advance", {}, 422)
    act(s, cid, "clerk", "return", {"reason": "x"}, 422)  # first step cannot return
    b = act(s, cid, "clerk", "advance", {"note": "入户核查属实"}, 200)
    eq((b["step"], b["step_title"]), (2, "信息比对"), "step 2")
    act(s, cid, "clerk", "advance", {"note": "x"}, 403)
    b = act(s, cid, "township", "advance", {"note": "比对无异常"}, 200)
    eq(b["step_title"], "民主评议", "step 3")
    b = act(s, cid, "clerk", "advance", {"minutes": "村民代表 12 人，同意 12 人"}, 200)
    eq(b["step_title"], "村内公示", "step 4")
    act(s, cid, "clerk", "advance", {"objections": "无异议"}, 422)  # notice period not over
    # five days later
    s = server("2026-03-07")
    b = act(s, cid, "clerk", "advance", {"objections": "无异议"}, 200)
    eq(b["step_title"], "乡镇审核", "step 5")
    b = act(s, cid, "township", "return", {"reason": "公示材料不全"}, 200)
    eq(b["step_title"], "村内公示", "returned to step 4")
    act(s, cid, "clerk", "advance", {"objections": "无异议"}, 422)  # a new notice period
    s = server("2026-03-12")
    act(s, cid, "clerk", "advance", {"objections": "无异议"}, 200)
    act(s, cid, "township", "advance", {"note": "同意"}, 200)
    act(s, cid, "county", "advance", {"note": "同意"}, 422)  # category etc. missing
    act(s, cid, "county", "advance", {"note": "同意", "category": "边缘户", "risk_types": ["因病"],
                                      "contact_name": "张三", "contact_phone": "13800001111"}, 422)
    b = act(s, cid, "county", "advance", {"note": "同意，予以公告", "category": "边缘易致贫户",
                                          "risk_types": ["因病", "因残"], "contact_name": "张三",
                                          "contact_phone": "13800001111"}, 200)
    eq(b["state"], "done", "case done")
    eq(len(b["events"]), 9, "every action recorded")
    st, m, _ = s.get("/api/v1/households/%d/monitoring" % hh, **as_("clerk"))
    eq((m["status"], m["category"], m["risk_types"]), ("监测中", "边缘易致贫户", ["因病", "因残"]),
       "monitored")
    eq(m["identified_on"], "2026-03-12", "identified on")
    act(s, cid, "county", "advance", {"note": "x"}, 409)  # finished
    # the alert is closed, a new identification for a monitored household is refused
    eq(query(db(), "SELECT status FROM alert WHERE case_id = ?", (cid,))[0][0], "closed", "alert")
    st, b, _ = s.post("/api/v1/households/%d/applications" % hh, {"reason": "再申请"},
                      **as_("clerk"))
    alert = query(db(), "SELECT id FROM alert WHERE household_id = ? AND status = 'open'", (hh,))
    st, b, _ = s.post("/api/v1/alerts/%d/case" % alert[0][0], None, **as_("clerk"))
    eq(st, 409, "already monitored: %s" % b)
    # every write was audited
    n = query(db(), "SELECT count(*) FROM audit_log WHERE target_type = 'case' AND target_id = ?",
              (cid,))[0][0]
    eq(n, 9, "audit rows for the case: one per event (open + 8 actions)")


def test_reject_and_lights():
    s = server()
    hh = households()[1]
    c = open_case(s, hh)
    cid = c["id"]
    act(s, cid, "clerk", "reject", {}, 422)
    # a week later the first step is overdue: red; the day it is due: yellow
    s = server("2026-03-05")
    st, b, _ = s.get("/api/v1/cases/%d" % cid, **as_("clerk"))
    eq(b["light"], "yellow", "due today")
    s = server("2026-03-09")
    st, b, _ = s.get("/api/v1/cases?light=red", **as_("township"))
    eq(st, 200, "queue")
    assert cid in [x["id"] for x in b["items"]], "overdue case in the red queue"
    st, b, _ = s.get("/api/v1/cases?light=red", **as_("other"))
    assert cid not in [x["id"] for x in b["items"]], "other village does not see it"
    b = act(s, cid, "clerk", "reject", {"reason": "收入核实后不符合条件"}, 200)
    eq(b["state"], "rejected", "rejected")
    eq(query(db(), "SELECT status FROM alert WHERE case_id = ?", (cid,))[0][0], "closed", "alert")


def test_case_actions_from_the_command_line():
    s = server()
    hh = households(4)[3]
    c = open_case(s, hh)
    p = cli("case", "advance", c["id"], "--as", "case.township", "--record", '{"note": "x"}',
            "--db", db())
    eq(p.returncode, 1, "wrong role refused")
    assert "入户核查" in p.stderr and "村级信息员" in p.stderr, p.stderr
    p = cli("case", "advance", c["id"], "--as", "case.clerk", "--record", "{", "--db", db())
    eq(p.returncode, 1, "bad JSON refused")
    p = cli("case", "advance", c["id"], "--as", "case.clerk", "--record",
            '{"note": "入户核查属实"}', "--db", db(), check=0)
    assert "信息比对" in p.stdout, p.stdout
    p = cli("case", "list", "--under", hh and target_village()[0], "--db", db(), check=0)
    assert "信息比对" in p.stdout, p.stdout
    eq(query(db(), "SELECT count(*) FROM audit_log WHERE action = 'cli case advance' AND "
             "target_id = ?", (c["id"],))[0][0], 1, "audited")
    p = cli("case", "reject", c["id"], "--as", "case.township", "--record",
            '{"reason": "不符合条件"}', "--db", db(), check=0)
    assert "不予通过" in p.stdout, p.stdout


def test_elimination_refused_with_reasons():
    s = server("2026-04-01")
    hh = households()[0]
    eq(query(db(), "SELECT status FROM monitored WHERE household_id = ?", (hh,)),
       [("monitoring",)], "monitored by the identification test")
    st, b, _ = s.post("/api/v1/households/%d/elimination" % hh, {"mode": "帮扶消除"},
                      **as_("clerk"))
    eq(st, 422, "refused: %s" % b)
    eq(b["error"]["code"], "E_ELIMINATION_CONDITIONS", "code")
    for why in ("未满半年", "帮扶措施", "三保障"):
        assert why in b["error"]["message"], "reason %s in %s" % (why, b["error"]["message"])
    st, b, _ = s.post("/api/v1/households/%d/elimination" % hh, {"mode": "随便"}, **as_("clerk"))
    eq(st, 422, "bad mode")
    st, b, _ = s.post("/api/v1/households/%d/elimination" % hh, {"mode": "帮扶消除"},
                      **as_("township"))
    eq(st, 403, "wrong role")
    st, m, _ = s.get("/api/v1/households/%d/monitoring" % hh, **as_("clerk"))
    eq(m["can_eliminate"], False, "cannot eliminate yet")


def test_security_record_and_timeline():
    s = server()
    hh = households()[0]
    st, b, _ = s.put("/api/v1/households/%d/security/2026" % hh, {
        "housing_safe": True, "schooling_ok": True, "water_safe": False, "medical_ok": True},
        **as_("clerk"))
    eq(st, 200, "security: %s" % b)
    st, b, _ = s.put("/api/v1/households/%d/security/2026" % hh, {"housing_safe": "yes"},
                     **as_("clerk"))
    eq(st, 422, "bad security record")
    st, b, _ = s.get("/api/v1/households/%d/timeline" % hh, **as_("clerk"))
    eq(st, 200, "timeline")
    kinds = {x["kind"] for x in b["items"]}
    assert {"线索", "识别纳入", "走访"} <= kinds, kinds
    ats = [x["at"] for x in b["items"]]
    eq(ats, sorted(ats), "in time order")


def test_screen_stores_hits_with_explanations_and_raises_alerts():
    s = server()
    p = cli("screen", "--db", db(), "--year", "2025", check=0)
    assert "M001" in p.stdout and "共 18 条规则" in p.stdout, p.stdout
    hits = query(db(), "SELECT rule_id, rule_version, household_id, explain FROM rule_hit WHERE "
                 "rule_id = 'M001'")
    assert hits, "some households below the line"
    for rid, ver, hh, why in hits[:20]:
        assert "人均纯收入" in why and "监测线" in why and "元" in why, why
        eq(ver, 1, "version kept")
    # rule hits for non-monitored households became alert evidence with the rule version
    ev = query(db(), "SELECT source, source_version, explain FROM alert_evidence WHERE source = "
               "'M001' LIMIT 5")
    assert ev and all(e[1] == 1 and "人均纯收入" in e[2] for e in ev), ev
    # screening again merges: no duplicate evidence for the same alert
    n1 = query(db(), "SELECT count(*) FROM alert_evidence")[0][0]
    cli("screen", "--db", db(), "--year", "2025", check=0)
    eq(query(db(), "SELECT count(*) FROM alert_evidence")[0][0], n1, "no duplicate evidence")
    st, b, _ = s.get("/api/v1/households/%d/rule-hits" % hits[0][2])
    eq(st, 200, "hits of a household")
    assert any(x["rule_id"] == "M001" for x in b["items"]), b


def check_alerts_match_hits(run_id):
    """What screening wrote, checked against its hits: every hit of a risk rule
    on a household not being monitored is evidence on the household's open
    alert, no alert has the same evidence twice, and an alert's risk types and
    channels are what its evidence adds up to."""
    hits = query(db(), "SELECT h.household_id, d.title || '：' || h.explain, h.rule_id, "
                 "h.rule_version FROM rule_hit h JOIN rule_def d ON d.id = h.rule_id AND "
                 "d.version = h.rule_version WHERE h.run_id = ? AND d.kind = 'risk' AND "
                 "h.household_id NOT IN (SELECT household_id FROM monitored WHERE status = "
                 "'monitoring') ORDER BY h.id", (run_id,))
    assert hits, "risk hits"
    latest = dict(query(db(), "SELECT household_id, max(id) FROM alert WHERE status IN "
                        "('open', 'case') GROUP BY household_id ORDER BY household_id"))
    ev = {}
    for aid, src, ver, why, rt, ch in query(
            db(), "SELECT e.alert_id, e.source, e.source_version, e.explain, e.risk_types, "
            "e.channel FROM alert_evidence e JOIN alert a ON a.id = e.alert_id WHERE a.status "
            "IN ('open', 'case') ORDER BY e.id"):
        key = (aid, src, ver, why)
        assert key not in ev, ("evidence repeated", key)
        ev[key] = (rt, ch)
    for hh, why, rid, ver in hits:
        assert hh in latest, ("no open alert", hh, rid)
        assert (latest[hh], rid, ver, why) in ev, ("hit without evidence", hh, rid, why)
    for aid, rt, ch in query(db(), "SELECT id, risk_types, channels FROM alert WHERE status = "
                             "'open' ORDER BY id"):
        mine = [v for k, v in ev.items() if k[0] == aid]
        want = {c for t, _ in mine for c in t.split(",") if c}
        eq(set(c for c in rt.split(",") if c), want, "risk types of alert %d" % aid)
        for _, c in mine:
            assert ch & (1 << c), ("channel", aid, ch, c)


def test_screen_alerts_match_hits():
    """Screening stores hits and alerts set-based; the result must be what one
    statement per hit gave: a first run, a run of another year that adds
    evidence to the alerts of the first (and merges their risk types), and a
    repeat that adds nothing."""
    server()
    added = []
    for year in ("2025", "2026", "2026"):
        n0 = query(db(), "SELECT count(*) FROM alert_evidence")[0][0]
        p = cli("screen", "--db", db(), "--year", year, check=0)
        assert "共 18 条规则" in p.stdout, p.stdout + p.stderr
        check_alerts_match_hits(query(db(), "SELECT max(id) FROM rule_run")[0][0])
        added.append(query(db(), "SELECT count(*) FROM alert_evidence")[0][0] - n0)
    assert added[1] > 0, ("another year's incomes explain hits anew", added)
    eq(added[2], 0, "a repeated screening adds no evidence")
    cli("screen", "--db", db(), "--year", "2025", check=0)  # later tests read the 2025 run


def test_rule_versions_preview_and_syntax_errors():
    s = server()
    st, b, _ = s.post("/api/v1/rules/preview", {"expression": "人均纯收入 < 监测线", "year": 2025})
    eq(st, 200, "preview: %s" % b)
    m001 = query(db(), "SELECT count(DISTINCT household_id) FROM rule_hit WHERE rule_id = 'M001' "
                 "AND run_id = (SELECT max(id) FROM rule_run)")[0][0]
    eq(b["hits"], m001, "preview counts the same households as the screening")
    # a rule nobody meets (the sanitizer pass: no hits gave qsort() a NULL array)
    st, b, _ = s.post("/api/v1/rules/preview", {"expression": "家庭人口数 < 0", "year": 2025})
    eq((st, b.get("hits")), (200, 0), "preview without hits: %s" % b)
    st, b, _ = s.post("/api/v1/rules/preview", {"expression": "人均收入 < 监测线"})
    eq(st, 422, "unknown field")
    assert "人均纯收入" in b["error"]["message"], b  # suggestion
    st, b, _ = s.post("/api/v1/rules/preview", {"expression": "(人均纯收入 < 监测线"})
    eq(st, 422, "unbalanced")
    assert b["error"]["details"]["column"] >= 1, b
    st, b, _ = s.put("/api/v1/rules/M001", {"expression": "人均纯收入 < 监测线 * 1.1"})
    eq(st, 200, "new version: %s" % b)
    eq([v["version"] for v in b["versions"]], [2, 1], "versions kept")
    st, b, _ = s.put("/api/v1/rules/M001", {"expression": "人均纯收入 <"})
    eq(st, 422, "bad expression refused")
    st, b, _ = s.put("/api/v1/rules/M001", {"expression": "true"}, **as_("clerk"))
    eq(st, 403, "clerk may not edit rules")
    st, b, _ = s.post("/api/v1/rules", {"id": "X001", "title": "测试", "kind": "check",
                                        "severity": "低", "scope": "member",
                                        "expression": "age() > 100"})
    eq(st, 201, "create rule: %s" % b)
    st, b, _ = s.post("/api/v1/rules", {"id": "X001", "title": "测试", "kind": "check",
                                        "severity": "低", "scope": "member", "expression": "true"})
    eq(st, 409, "duplicate id")


def test_saving_an_income_ledger_evaluates_the_rules():
    """A ledger saved below the line raises an alert at once (the evaluation
    path), with the rule's explanation."""
    s = server()
    hh = households(3)[2]
    before = query(db(), "SELECT count(*) FROM alert_evidence e JOIN alert a ON a.id = e.alert_id "
                   "WHERE a.household_id = ? AND e.source = 'M001'", (hh,))[0][0]
    st, b, _ = s.put("/api/v1/households/%d/income/2026" % hh, {"items": [
        {"item": "务工收入", "amount": 120000, "note": "零工"}]}, **as_("clerk"))
    eq(st, 200, "income saved: %s" % b)
    assert b["rules_fired"] >= 1, b
    ev = query(db(), "SELECT e.explain FROM alert_evidence e JOIN alert a ON a.id = e.alert_id "
               "WHERE a.household_id = ? AND e.source = 'M001'", (hh,))
    eq(len(ev), before + 1, "one new piece of evidence from M001")
    assert "人均纯收入" in ev[-1][0] and "监测线" in ev[-1][0], ev


def test_evaluate_and_sql_agree_on_the_demo_district():
    """Every shipped rule, both ways, over every demo household (the C
    evaluator and the compiled SQL must find the same households and give the
    same explanations)."""
    p = cli("rules", "check", "--db", db(), "--year", "2025", check=0)
    assert "不一致 0" in p.stdout, p.stdout + p.stderr


def teardown():
    for s in _servers:
        s.stop()


if __name__ == "__main__":
    run_tests(globals())
