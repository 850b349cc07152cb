"""test_feed.py — department feeds (部门数据): loading files through the CLI
and the upload API, 身份证号 normalisation and matching, per-row reports with
nothing written on error, duplicate files, every shipped rule firing and not
firing, yearly accumulation and per-county thresholds, hits merged into one
alert per household, village verification, and rule versions."""
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import (Server, cli, eq, execute, feed_totals, is_pg, new_db, query,  # noqa: E402
                 run_tests, sheet_xlsx, snapshot, tmp_path)

TODAY = "2026-03-10"
_db = None
_srv = None
_tokens = {}


def db():
    global _db
    if _db is None:
        _db = new_db("feed.db", demo=300, seed=7)
    return _db


def server():
    global _srv
    if _srv is None:
        _srv = Server(db(), login="feed.admin", env={"LIUBAO_TODAY": TODAY})
        _tokens["admin"] = _srv.token
        _tokens["yibao"] = _srv.make_user("feed.yibao", "dept_user", "610926", department="医保局")
        _tokens["minzheng"] = _srv.make_user("feed.mz", "dept_user", "610926", department="民政局")
    return _srv


def people(where, n=1, args=()):
    """n registry people matching `where` (SQL over member m, household h) not
    used by an earlier call: (id_number, name, household_id, member_id)."""
    used = people.used
    rows = query(db(), "SELECT m.id_number, m.name, m.household_id, m.id FROM member m JOIN "
                 "household h ON h.id = m.household_id WHERE " + where + " ORDER BY m.id", args)
    out = [r for r in rows if r[3] not in used][:n]
    assert len(out) == n, "not enough people for: " + where
    used.update(r[3] for r in out)
    return out


people.used = set()
TUOPIN = ("h.hh_type = 1 AND NOT EXISTS (SELECT 1 FROM monitored mo WHERE mo.household_id = "
          "h.id) AND m.dibao = 0 AND m.tekun = 0")
OTHER = ("h.hh_type = 2 AND NOT EXISTS (SELECT 1 FROM monitored mo WHERE mo.household_id = "
         "h.id) AND m.dibao = 0 AND m.tekun = 0")
MONITORED = "EXISTS (SELECT 1 FROM monitored mo WHERE mo.household_id = h.id AND mo.status = 'monitoring')"


def csv(header, rows, title=None):
    lines = ([title] if title else []) + [",".join(header)] + [",".join(map(str, r)) for r in rows]
    return "\n".join(lines) + "\n"


def upload(feed, text, who="admin", period="2026-02", extra="", ctype="text/csv", enc="utf-8"):
    s = server()
    q = "?period=%s%s" % (period, extra) if period else ("?" + extra.lstrip("&") if extra else "")
    return s.request("POST", "/api/v1/feeds/%s/batches%s" % (feed, q), text.encode(enc),
                     headers={"Content-Type": ctype, "Authorization": "Bearer " + _tokens[who]})


def dry_run(body, enc="utf-8"):
    """The report of a 医保 dry run that skips bad rows, without its time."""
    st, b, _ = upload("yibao_inpatient", body, extra="&dry_run=1&skip_bad=1", enc=enc)
    eq(st, 200, "dry run (%s): %s" % (enc, b if st != 200 else ""))
    b.pop("seconds")
    return b


def hits_of(member_id, feed=None):
    sql = "SELECT rule_id FROM feed_hit WHERE member_id = ?"
    args = [member_id]
    if feed:
        sql += " AND feed_id = ?"
        args.append(feed)
    return sorted(r[0] for r in query(db(), sql + " ORDER BY rule_id", args))


YB = ["身份证号", "姓名", "入院日期", "出院日期", "医疗机构", "总费用", "个人自付（元）"]


def test_matching_normalises_and_reports_unmatched_and_name_mismatch():
    server()
    (a_id, a_name, _, a_mid), (b_id, b_name, _, b_mid), (c_id, _, c_hh, c_mid) = people(
        "substr(m.id_number, 7, 2) = '19' AND substr(m.id_number, 18, 1) <> 'X'", 3)
    x_rows = query(db(), "SELECT id_number, name, id FROM member WHERE id_number LIKE '%X' ORDER BY id")
    x_id, x_name, x_mid = [r for r in x_rows if r[2] not in people.used][0]
    people.used.add(x_mid)
    fifteen = a_id[:6] + a_id[8:17]                       # the old 15-digit form
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in b_id)
    spaced = c_id[:6] + " " + c_id[6:14] + " " + c_id[14:]
    text = csv(YB, [
        [fifteen, a_name, "2026-02-01", "2026-02-03", "县医院", 100, 10],
        [full_width, b_name, "2026/02/01", "20260203", "县医院", 100, 10],
        [spaced, "错名字", "2026-02-01", "2026-02-03", "县医院", 100, 10],
        [x_id.lower(), x_name, "2026-02-01", "2026-02-03", "县医院", 100, 10],
        ["110101199003071233", "李四", "2026-02-01", "2026-02-03", "县医院", 100, 10],
    ], title="平利县医疗保障局 住院结算自付明细（2026年2月）")
    st, b, _ = upload("yibao_inpatient", text, who="yibao")
    eq(st, 201, "upload: %s" % b)
    eq((b["rows"], b["matched_rows"], b["persons"], b["unmatched_rows"], b["mismatch_rows"],
        b["bad_rows"]), (5, 4, 4, 1, 1, 0), "counts")
    kinds = sorted((i["kind"], i["line"]) for i in b["issues"])
    eq(kinds, [("姓名不一致", 5), ("查无此人", 7)], "issues with their lines")
    unm = [i for i in b["issues"] if i["kind"] == "查无此人"][0]
    eq(unm["id_number"], "110101********1233", "masked number")
    mis = [i for i in b["issues"] if i["kind"] == "姓名不一致"][0]
    eq(mis["household_id"], c_hh, "mismatch names the household")
    totals = feed_totals(db(), b["batch_id"])
    eq(sorted(totals), sorted([a_mid, b_mid, c_mid, x_mid]), "every normalised form matched")
    # the batch report pages through its issues by kind
    st, rep, _ = server().get("/api/v1/feed-batches/%d?kind=unmatched" % b["batch_id"],
                              token=_tokens["yibao"])
    eq((st, [i["line"] for i in rep["issues"]]), (200, [7]), "report by kind")
    # the same file again: refused, naming the first batch
    st, e, _ = upload("yibao_inpatient", text, who="yibao")
    eq((st, e["error"]["code"], e["error"]["details"]["batch_id"]),
       (409, "E_DUPLICATE_BATCH", b["batch_id"]), "duplicate file")
    (h,), = query(db(), "SELECT file_hash FROM feed_batch WHERE id = ?", (b["batch_id"],))
    assert re.fullmatch("xxh3:[0-9a-f]{32}", h), h
    # a batch loaded before XXH3 kept the file's BLAKE2b-256: still the same file
    execute(db(), "UPDATE feed_batch SET file_hash = ? WHERE id = ?",
            (hashlib.blake2b(text.encode(), digest_size=32).hexdigest(), b["batch_id"]))
    before = snapshot(db())
    st, e, _ = upload("yibao_inpatient", text, who="yibao")
    eq((st, e["error"]["code"], e["error"]["details"]["batch_id"]),
       (409, "E_DUPLICATE_BATCH", b["batch_id"]), "duplicate of a BLAKE2b batch")
    eq(snapshot(db()), before, "nothing written")


def test_bad_rows_and_bad_files_write_nothing():
    server()
    (p_id, p_name, _, _), = people(OTHER)
    good = [p_id, p_name, "2026-02-01", "2026-02-03", "县医院", 100, 10]
    before = snapshot(db())
    bad_rows = csv(YB, [good,
                        ["612427199001011234", "王五", "2026-02-01", "2026-02-03", "县医院", 1, 1],
                        [p_id, p_name, "2026-02-30", "2026-02-03", "县医院", 100, 10],
                        [p_id, p_name, "2026-02-01", "2026-02-03", "县医院", 100, "十元"],
                        [p_id, p_name, "2026-02-01", "2026-02-03", "县医院", 100, ""]])
    st, e, _ = upload("yibao_inpatient", bad_rows, who="yibao")
    eq((st, e["error"]["code"]), (422, "E_BAD_ROWS"), "bad rows refused")
    det = e["error"]["details"]
    eq(det["bad_rows"], 4, "four bad rows")
    eq(sorted(i["line"] for i in det["issues"] if i["kind"] == "无效行"), [3, 4, 5, 6], "lines")
    msgs = " ".join(i["message"] for i in det["issues"])
    for want in ("校验", "入院日期", "个人自付", "不能为空"):
        assert want in msgs, (want, msgs)
    cases = [
        ("no header", "甲,乙\n1,2\n", "text/csv", "E_NO_HEADER", 422),
        ("required column missing", "身份证号,姓名\n%s,%s\n" % (p_id, p_name), "text/csv",
         "E_MISSING_COLUMN", 422),
        ("json body", '{"a":1}', "application/json", "E_CONTENT_TYPE", 415),
        ("not text", "\xff\xfe\x00\x01", "text/csv", "E_ENCODING", 422),
        ("only a header", ",".join(YB) + "\n", "text/csv", "E_EMPTY", 422),
        ("unterminated quote", ",".join(YB) + '\n"%s,x\n' % p_id, "text/csv", "E_CSV", 422),
    ]
    for what, body, ctype, code, status in cases:
        st, e, _ = upload("yibao_inpatient", body, who="yibao", ctype=ctype,
                          enc="latin-1" if what == "not text" else "utf-8")
        eq((st, e["error"]["code"]), (status, code), what)
    st, e, _ = upload("yibao_inpatient", csv(YB, [good]), period="2026-13")
    eq((st, e["error"]["code"]), (422, "E_BAD_PERIOD"), "bad period")
    st, e, _ = upload("yibao_inpatient", csv(YB, [good]), extra="&bogus=1")
    eq(st, 400, "unknown parameter")
    st, e, _ = upload("no_such_feed", csv(YB, [good]))
    eq(st, 404, "unknown feed")
    # a department uploads only its own lists
    st, e, _ = upload("yibao_inpatient", csv(YB, [good]), who="minzheng")
    eq((st, e["error"]["code"]), (403, "E_DEPARTMENT"), "another department's feed")
    eq(snapshot(db()), before, "nothing written by any refusal")
    # --skip-bad loads the good row and keeps the report
    st, b, _ = upload("yibao_inpatient", bad_rows, who="yibao", extra="&skip_bad=1")
    eq((st, b["rows"], b["bad_rows"], b["matched_rows"]), (201, 5, 4, 1), "skip bad")
    eq(query(db(), "SELECT count(*) FROM feed_issue WHERE batch_id = ? AND kind = 1",
             (b["batch_id"],))[0][0], 4, "bad rows kept in the batch report")
    # a dry run writes nothing
    before = snapshot(db())
    st, b, _ = upload("yibao_inpatient", csv(YB, [good, good]), who="yibao", extra="&dry_run=1")
    eq((st, b["dry_run"], b["batch_id"]), (200, True, None), "dry run")
    eq(snapshot(db()), before, "dry run writes nothing")


def test_gb18030_file_from_the_command_line():
    (p_id, p_name, _, p_mid), = people(OTHER)
    path = tmp_path("mz.csv")
    with open(path, "wb") as f:
        f.write(csv(["公民身份号码", "姓名", "保障类别", "起始日期", "月保障金"],
                    [[p_id, p_name, "低保", "2025-06-01", "450.00"]]).encode("gb18030"))
    p = cli("feed", "load", "民政·低保特困名单", path, "--db", db(), "--period", "2026-02",
            env={"LIUBAO_TODAY": TODAY}, check=0)
    assert "GB18030" in p.stdout and "匹配 1" in p.stdout, p.stdout
    eq(hits_of(p_mid, "minzheng_dibao"), ["MZ01", "MZ02"],
       "低保 for 9 months, not monitored, not flagged in the registry")
    p = cli("feed", "load", "minzheng_dibao", path, "--db", db(), env={"LIUBAO_TODAY": TODAY})
    eq(p.returncode, 1, "duplicate from the command line")
    assert "不能重复导入" in p.stderr, p.stderr
    p = cli("feed", "load", "minzheng_dibao", "/nonexistent.csv", "--db", db())
    eq(p.returncode, 1, "missing file")
    p = cli("feed", "frobnicate", "--db", db())
    eq(p.returncode, 2, "unknown subcommand")


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"




def test_excel_workbook_loads_like_the_csv():
    server()
    (a_id, a_name, _, a_mid), (b_id, b_name, _, b_mid) = people(
        "h.hh_type = 1 AND substr(m.id_number, 18, 1) <> 'X'", 2)
    title = "平利县医疗保障局 住院结算明细（Excel）"
    # a title on row 1, the header on row 3, row 5 left out by Excel, amounts
    # as numbers, one 身份证号 typed as a number (its last digits lost)
    path = tmp_path("feed.xlsx")
    data = sheet_xlsx(path, [
        (1, [title]),
        (3, YB),
        (4, [a_id, a_name, "2026-02-01", "2026-02-09", "县医院", 30000, 6000.5]),
        (6, [b_id, b_name, "2026-02-11", "2026-02-12", "县医院", 100, 10]),
        (7, [float(b_id[:17] + "1"), b_name, "2026-02-11", "2026-02-12", "县医院", 100, 10]),
    ])
    before = snapshot(db())
    st, e, _ = upload("yibao_inpatient", data.decode("latin-1"), who="yibao", enc="latin-1",
                      ctype=XLSX_TYPE)
    eq((st, e["error"]["code"]), (422, "E_BAD_ROWS"), "the number-typed 身份证号 is a bad row")
    assert "7" in json_dumps(e) and "身份证号" in json_dumps(e), e
    eq(snapshot(db()), before, "nothing written")
    st, b, _ = upload("yibao_inpatient", data.decode("latin-1"), who="yibao", enc="latin-1",
                      ctype=XLSX_TYPE, extra="&skip_bad=1")
    eq(st, 201, "upload with skip_bad: %s" % b)
    eq((b["encoding"], b["rows"], b["bad_rows"], b["matched_rows"], b["persons"]),
       ("xlsx", 3, 1, 2, 2), "counts")
    eq([i["line"] for i in b["issues"] if i["kind"] == "无效行"], [7], "the sheet's row number")
    vals = feed_totals(db(), b["batch_id"])
    eq((vals[a_mid]["self_pay"], vals[a_mid]["rows"]), ("6000.5", "1"), "a's totals stored")
    # the same workbook from the command line: already loaded
    p = cli("feed", "load", "yibao_inpatient", path, "--db", db(), "--period", "2026-02",
            env={"LIUBAO_TODAY": TODAY})
    eq(p.returncode, 1, "duplicate workbook")
    assert "不能重复导入" in p.stderr, p.stderr
    # a zip that is no workbook, and a broken one: refused with a message, nothing written
    before = snapshot(db())
    import zipfile
    junk = tmp_path("junk.xlsx")
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("hello.txt", "不是工作簿")
    with open(junk, "rb") as f:
        st, e, _ = upload("yibao_inpatient", f.read().decode("latin-1"), who="yibao",
                          enc="latin-1", ctype=XLSX_TYPE)
    eq((st, e["error"]["code"]), (422, "E_XLSX"), "a zip without a workbook")
    assert "workbook" in e["error"]["message"] or "工作簿" in e["error"]["message"], e
    st, e, _ = upload("yibao_inpatient", data[:len(data) // 2].decode("latin-1"), who="yibao",
                      enc="latin-1", ctype=XLSX_TYPE)
    eq((st, e["error"]["code"]), (422, "E_XLSX"), "a cut workbook")
    eq(snapshot(db()), before, "nothing written")


def json_dumps(x):
    import json
    return json.dumps(x, ensure_ascii=False)


def test_long_values_in_issues_are_cut_between_characters():
    # found by tests/fuzz/fuzz_csv: an issue quoting a long value was cut in
    # the middle of a character, so its text was not UTF-8 (PostgreSQL
    # refused to store it; the answer's JSON could not carry it)
    server()
    (p_id, p_name, _, _), = people(OTHER)
    rows = [[p_id, p_name, "2026-03-01", "2026-03-03", "县医院", 100, 10],
            ["６" * 100, "名" * 40, "2026-03-01", "2026-03-03", "县医院", 100, 10]]
    st, b, _ = upload("yibao_inpatient", csv(YB, rows), who="yibao", period="2026-03",
                      extra="&skip_bad=1")
    eq(st, 201, "loaded without the bad row: %s" % b)
    bad = [i for i in b["issues"] if i["kind"] == "无效行"]
    eq(len(bad), 1, "one bad row: %s" % b["issues"])
    assert bad[0]["message"].startswith("“６６６") and len(bad[0]["message"].encode()) < 256, bad
    assert bad[0]["name"] == "名" * 21, bad
    stored = query(db(), "SELECT message, name FROM feed_issue WHERE batch_id = ?",
                   (b["batch_id"],))
    eq(sorted(stored), sorted((i["message"], i["name"]) for i in b["issues"]), "stored issues")


def test_each_shipped_rule_fires_and_does_not():
    server()
    t_fire, t_not, t_half = people(TUOPIN, 3)
    o_fire, o_not = people(OTHER, 2)
    mon_fire, = people(MONITORED)
    stay_other, = people(OTHER)
    # 医保: YB01 脱贫 ≥ 5000; YB02 others ≥ 20000; YB03 per stay 6000/10000;
    # YB04 over 50%/100% of 16,992
    rows = [
        [t_fire[0], t_fire[1], "2026-02-01", "2026-02-05", "县医院", 9000, 3000],
        [t_fire[0], t_fire[1], "2026-02-10", "2026-02-15", "县医院", 9000, 2000],    # 5000 in all
        [t_not[0], t_not[1], "2026-02-01", "2026-02-05", "县医院", 9000, 4999],
        [t_half[0], t_half[1], "2026-02-01", "2026-02-05", "县医院", 9000, 5000],
        [t_half[0], t_half[1], "2026-02-11", "2026-02-15", "县医院", 9000, 3500],  # 8500
        [o_fire[0], o_fire[1], "2026-02-01", "2026-02-05", "市医院", 90000, 9000],
        [o_fire[0], o_fire[1], "2026-02-11", "2026-02-15", "市医院", 90000, 9000],
        [o_fire[0], o_fire[1], "2026-02-21", "2026-02-25", "市医院", 90000, 2000],  # 20000
        [o_not[0], o_not[1], "2026-02-01", "2026-02-05", "市医院", 90000, 9999],
        [mon_fire[0], mon_fire[1], "2026-02-01", "2026-02-05", "市医院", 90000, 6001],
        [stay_other[0], stay_other[1], "2026-02-01", "2026-02-05", "市医院", 90000, 10001],
    ]
    st, b, _ = upload("yibao_inpatient", csv(YB, rows), who="yibao")
    eq(st, 201, "upload: %s" % b)
    eq(hits_of(t_fire[3]), ["YB01"], "脱贫 5000 in two stays: YB01")
    eq(hits_of(t_half[3]), ["YB01", "YB04"], "脱贫 8500 > 50% of 16,992: YB04 too")
    eq(hits_of(t_not[3]), [], "脱贫 4999: nothing")
    eq(hits_of(o_fire[3]), ["YB02", "YB04"], "others 20000")
    eq(hits_of(o_not[3]), [], "others 9999 in one stay: nothing")
    eq(hits_of(mon_fire[3]), ["YB01", "YB03"], "monitored (counts as 脱贫): 6001 ≥ 5000 and one stay over 6000")
    eq(hits_of(stay_other[3]), ["YB03"], "others, one stay over 10000")
    why = query(db(), "SELECT explain FROM feed_hit WHERE member_id = ? AND rule_id = 'YB01'",
                (t_fire[3],))[0][0]
    assert "个人自付 5,000 元" in why and "5,000 元" in why, why

    def load(feed, header, rows):
        st, b, _ = upload(feed, csv(header, rows))
        eq(st, 201, "%s: %s" % (feed, b))
    # 民政: MZ01 低保/特困 not 脱贫; MZ02 registry not marked
    mz_fire, mz_old = people(OTHER, 2)
    mz_not, = people(TUOPIN + " AND 1 = 1")
    load("minzheng_dibao", ["身份证号", "姓名", "救助类别", "保障起始日期"],
         [[mz_fire[0], mz_fire[1], "特困", "2025-12-01"], [mz_not[0], mz_not[1], "临时救助", ""],
          [mz_old[0], mz_old[1], "低保", "2023-05-01"]])
    eq(hits_of(mz_fire[3]), ["MZ01", "MZ02"], "特困 for 3 months, not 脱贫 nor flagged")
    eq(hits_of(mz_not[3]), [], "临时救助 of a 脱贫 person")
    eq(hits_of(mz_old[3]), ["MZ02"], "低保 since 2023: only the registry flag")
    # 教育: JY01 > 10000
    jy = people(OTHER, 2)
    load("jiaoyu_selfpay", ["身份证号", "姓名", "学校", "学年", "个人自付"],
         [[jy[0][0], jy[0][1], "平利中学", "2025-2026", 10001],
          [jy[1][0], jy[1][1], "平利中学", "2025-2026", 10000]])
    eq((hits_of(jy[0][3]), hits_of(jy[1][3])), (["JY01"], []), "教育 10001 vs 10000")
    # 住建: ZJ01 C/D
    zj = people(OTHER, 2)
    load("zhujian_weifang", ["户主身份证号", "户主姓名", "鉴定等级", "鉴定日期"],
         [[zj[0][0], zj[0][1], "D", "2026-02-10"], [zj[1][0], zj[1][1], "B", "2026-02-10"]])
    eq((hits_of(zj[0][3]), hits_of(zj[1][3])), (["ZJ01"], []), "危房 D vs B")
    # 残联: CL01 一/二级 and not monitored
    cl = people(OTHER, 2)
    load("canlian_cert", ["身份证号", "姓名", "残疾类别", "残疾等级", "发证日期"],
         [[cl[0][0], cl[0][1], "肢体", "二级", "2026-02-01"],
          [cl[1][0], cl[1][1], "肢体", "四级", "2026-02-01"]])
    eq((hits_of(cl[0][3]), hits_of(cl[1][3])), (["CL01"], []), "残疾 二级 vs 四级")
    # 应急: YJ01 any record; 公安: GA01 any record of someone still listed
    yj, = people(OTHER)
    load("yingji_disaster", ["身份证号", "姓名", "灾害类型", "受灾日期", "直接经济损失"],
         [[yj[0], yj[1], "洪涝", "2026-02-01", 30000]])
    eq(hits_of(yj[3]), ["YJ01"], "disaster")
    ga, = people(OTHER)
    load("gongan_death", ["身份证号", "姓名", "死亡日期"], [[ga[0], ga[1], "2026-01-20"]])
    eq(hits_of(ga[3]), ["GA01"], "death of someone still listed")
    # people in no file have no hits: every hit above belongs to someone named
    named = {p[3] for p in [t_fire, t_half, o_fire, mon_fire, stay_other, mz_fire, jy[0], zj[0], cl[0], yj, ga]}
    fired = {r[0] for r in query(db(), "SELECT DISTINCT member_id FROM feed_hit WHERE year = 2026 "
                                       "AND feed_id <> 'minzheng_dibao' OR member_id = ?", (mz_fire[3],))}
    assert named <= fired, named - fired


def test_accumulation_thresholds_and_one_alert_per_household():
    s = server()
    (p_id, p_name, p_hh, p_mid), = people(TUOPIN)
    # two monthly files of 3,000 each: the second crosses 5,000
    st, b, _ = upload("yibao_inpatient", csv(YB, [[p_id, p_name, "2026-01-05", "2026-01-09", "县医院", 5000, 3000]]),
                      period="2026-01")
    eq((st, hits_of(p_mid)), (201, []), "3,000 alone")
    st, b, _ = upload("yibao_inpatient", csv(YB, [[p_id, p_name, "2026-02-05", "2026-02-09", "县医院", 5000, 3000]]),
                      period="2026-02")
    eq(hits_of(p_mid), ["YB01"], "6,000 over two batches")
    # a county lowers its threshold for 2026: 2,500 now fires for another person
    (q_id, q_name, _, q_mid), = people(TUOPIN)
    st, _, _ = s.put("/api/v1/feeds/yibao_inpatient/params/tuopin_cum",
                     {"value": 2500, "year": 2026, "region": "610926", "basis": "县定"})
    eq(st, 200, "set threshold")
    st, e, _ = s.put("/api/v1/feeds/yibao_inpatient/params/tuopin_cum", {"value": "x"})
    eq((st, e["error"]["code"]), (422, "E_BAD_VALUE"), "bad value")
    st, e, _ = s.put("/api/v1/feeds/yibao_inpatient/params/tuopin_cum",
                     {"value": 1, "region": "610927"})
    eq((st, e["error"]["code"]), (403, "E_OUT_OF_SCOPE"), "another county")
    upload("yibao_inpatient", csv(YB, [[q_id, q_name, "2026-02-05", "2026-02-09", "县医院", 5000, 2600]]))
    eq(hits_of(q_mid), ["YB01"], "county threshold applies")
    # a disaster for the same household: one alert with evidence from both feeds
    upload("yingji_disaster", csv(["身份证号", "姓名", "灾害类型"], [[p_id, p_name, "滑坡"]]))
    alerts = query(db(), "SELECT DISTINCT alert_id FROM feed_hit WHERE household_id = ?", (p_hh,))
    eq(len(alerts), 1, "one alert per household")
    ev = query(db(), "SELECT source FROM alert_evidence WHERE alert_id = ? ORDER BY source",
               (alerts[0][0],))
    srcs = sorted({r[0] for r in ev})
    assert "yibao_inpatient/YB01" in srcs and "yingji_disaster/YJ01" in srcs, srcs
    st, al, _ = s.get("/api/v1/alerts/%d" % alerts[0][0])
    eq(st, 200, "the alert is in the monitoring workflow")
    assert "部门数据" in al.get("channels", []), al


def test_earlier_batches_from_packs_and_from_the_old_table():
    """A batch's per-person totals are kept packed (a line a person); a later
    batch of the year adds them, and also the feed_total rows that loads
    before the packs wrote.  Texts with tabs, line ends and backslashes and
    amounts of any form come back as they went in."""
    (p_id, p_name, p_hh, p_mid), (q_id, q_name, _, q_mid) = people(TUOPIN, 2)
    odd = '"县医院\t二\\部\n住院"'
    st, b1, _ = upload("yibao_inpatient", csv(YB, [
        [p_id, p_name, "2025-01-05", "2025-01-09", "县医院", 4000, 2000.25],
        [q_id, q_name, "2025-01-05", "2025-01-09", odd, 12.345678, 2500.5]]), period="2025-01")
    eq(st, 201, "first month: %s" % (b1,))
    bid = b1["batch_id"]
    t = feed_totals(db(), bid)
    eq((t[q_mid]["hospital"], t[q_mid]["total_cost"], t[q_mid]["self_pay"], t[q_mid]["rows"],
        t[p_mid]["self_pay_max"], t[p_mid]["admit_date"]),
       ("县医院\\t二\\\\部\\n住院", "12.345678", "2500.5", "1", "2000.25", "2025-01-05"),
       "stored packed, the text escaped")
    eq((hits_of(p_mid), hits_of(q_mid)), ([], []), "below the line in January")
    # p's January as a load before the packs kept it: a feed_total row
    for part, data in query(db(), "SELECT part, data FROM feed_total_pack WHERE batch_id = ?",
                            (bid,)):
        kept = [x for x in data.split("\n") if not x.startswith("%d\t" % p_mid)]
        execute(db(), "UPDATE feed_total_pack SET data = ? WHERE batch_id = ? AND part = ?",
                ("\n".join(kept), bid, part))
    execute(db(), "INSERT INTO feed_total(batch_id, member_id, household_id, rows, vals) VALUES "
            "(?, ?, ?, 1, ?)", (bid, p_mid, p_hh, '{"total_cost":4000,"total_cost_max":4000,'
                                '"self_pay":2000.25,"self_pay_max":2000.25}'))
    eq(sorted(feed_totals(db(), bid)), [q_mid], "p left the pack")
    st, b2, _ = upload("yibao_inpatient", csv(YB, [
        [p_id, p_name, "2025-02-05", "2025-02-09", "县医院", 4000, 3000],
        [q_id, q_name, "2025-02-05", "2025-02-09", "市医院", 4000, 2500]]), period="2025-02")
    eq(st, 201, "second month: %s" % (b2,))
    eq((hits_of(p_mid), hits_of(q_mid)), (["YB01"], ["YB01"]), "January added: over 5,000")
    ex = dict(query(db(), "SELECT member_id, explain FROM feed_hit WHERE member_id IN (?, ?)",
                    (p_mid, q_mid)))
    assert "5,000.25 元" in ex[p_mid] and "5,000.5 元" in ex[q_mid], ex
    t = feed_totals(db(), b2["batch_id"])
    eq((t[p_mid]["self_pay"], t[q_mid]["self_pay"], t[q_mid]["hospital"]), ("3000", "2500", "市医院"),
       "a batch stores its own totals, not the year's")


def test_loads_leave_every_reference_whole():
    """A load writes its rows without a foreign-key look-up each on SQLite
    when nothing was committed between reading the members and writing:
    every row must still refer to rows that are there."""
    if is_pg(db()):
        print("info: SQLite only (PostgreSQL checks every reference)")
        return
    eq(query(db(), "PRAGMA foreign_key_check"), [], "no dangling reference")
    eq(query(db(), "SELECT count(*) FROM feed_hit h LEFT JOIN alert a ON a.id = h.alert_id "
                   "WHERE h.alert_id IS NOT NULL AND a.id IS NULL")[0][0], 0, "hits name alerts")


def test_village_verifies_hits_in_scope():
    s = server()
    row = query(db(), "SELECT x.id, h.village_code FROM feed_hit x JOIN household h ON h.id = "
                      "x.household_id WHERE x.state = '待核实' ORDER BY x.id LIMIT 1")[0]
    hit_id, village = row
    clerk = s.make_user("feed.clerk", "village_clerk", village)
    other_village = query(db(), "SELECT code FROM region WHERE level = 5 AND code <> ? ORDER BY "
                                "code LIMIT 1", (village,))[0][0]
    outsider = s.make_user("feed.outsider", "village_clerk", other_village)
    st, lst, _ = s.get("/api/v1/feed-hits?state=%E5%BE%85%E6%A0%B8%E5%AE%9E", token=clerk)
    ids = [h["id"] for h in lst["items"]]
    assert st == 200 and hit_id in ids, (st, lst)
    assert all(h["light"] in ("yellow", "red") for h in lst["items"]), lst
    st, lst, _ = s.get("/api/v1/feed-hits", token=outsider)
    assert hit_id not in [h["id"] for h in lst["items"]], "scope"
    before = snapshot(db())
    for body, code in [({"state": "待核实", "note": "x"}, "E_BAD_STATE"),
                       ({"state": "不属实"}, "E_NOTE_REQUIRED"),
                       ({"state": "不属实", "note": "x", "extra": 1}, "E_UNKNOWN_FIELD")]:
        st, e, _ = s.post("/api/v1/feed-hits/%d/feedback" % hit_id, body, token=clerk)
        eq((st // 100, e["error"]["code"]), (4, code), "bad feedback %r" % body)
    st, e, _ = s.post("/api/v1/feed-hits/%d/feedback" % hit_id, {"state": "不属实", "note": "x"},
                      token=outsider)
    eq(st, 404, "out of scope")
    eq(snapshot(db()), before, "refusals write nothing")
    st, h, _ = s.post("/api/v1/feed-hits/%d/feedback" % hit_id,
                      {"state": "已核实-无风险", "note": "入户核实：已报销，无返贫风险"}, token=clerk)
    eq((st, h["state"], h["light"], h["feedback_by"]), (200, "已核实-无风险", "green", "feed.clerk"),
       "verified")
    n = query(db(), "SELECT count(*) FROM audit_log WHERE target_type = 'feed_hit' AND target_id = ?",
              (hit_id,))[0][0]
    eq(n, 1, "audited")


def test_department_exports_its_warnings_with_the_answers():
    """A department downloads the warnings with the village's answers (Excel or
    CSV): every warning of its region in village order, 身份证号 masked for a
    role that may not see them in full, moments in China time; each download
    audited; a village clerk (no feed.load) is refused."""
    import csv as csvmod
    import io
    s = server()
    answered = query(db(), "SELECT id FROM feed_hit ORDER BY id LIMIT 1")[0][0]
    st, h, _ = s.post("/api/v1/feed-hits/%d/feedback" % answered,
                      {"state": "不属实", "note": "导出测试：名单有误"})
    eq(st, 200, "an answer to export")
    st, body, hdrs = s.get("/api/v1/export/feed-hits?format=csv", token=_tokens["yibao"], raw=True)
    eq(st, 200, "department export")
    assert "attachment" in hdrs.get("content-disposition", ""), hdrs
    rows = list(csvmod.reader(io.StringIO(body.decode("utf-8-sig"))))
    eq(rows[0], ["户编号", "乡（镇）", "村（社区）", "户主姓名", "户主身份证号", "预警编号", "数据类型",
                 "规则", "成员姓名", "成员身份证号", "原因", "推送时间", "核实期限", "核实结果",
                 "核实情况", "核实人", "核实时间"], "header")
    want = query(db(), "SELECT x.id, m.id_number, x.state FROM feed_hit x JOIN household h ON "
                       "h.id = x.household_id JOIN member m ON m.id = x.member_id ORDER BY "
                       "h.village_code, h.hh_no, x.id")
    eq([(int(r[5]), r[13]) for r in rows[1:]], [(i, st) for i, _, st in want],
       "every warning, in village order, with its state")
    masked = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
    assert all(masked.match(r[9]) and masked.match(r[4]) for r in rows[1:]), rows[1]
    mine = [r for r in rows[1:] if int(r[5]) == answered][0]
    eq(mine[13:16], ["不属实", "导出测试：名单有误", "feed.admin"], "the answer")
    at = query(db(), "SELECT feedback_at, created_at FROM feed_hit WHERE id = ?", (answered,))[0]
    for utc, shown in zip(at, (mine[16], mine[11])):
        hour = (int(utc[11:13]) + 8) % 24
        eq(shown[11:], "%02d:%s" % (hour, utc[14:16]), "China time of %s" % utc)
    # Excel, and an administrator sees full numbers
    st, body, hdrs = s.get("/api/v1/export/feed-hits", raw=True)
    eq((st, body[:2]), (200, b"PK"), "an xlsx workbook by default")
    clerk = s.make_user("feed.export.clerk", "village_clerk",
                        query(db(), "SELECT village_code FROM household LIMIT 1")[0][0])
    st, e, _ = s.get("/api/v1/export/feed-hits", token=clerk)
    eq((st, e["error"]["code"]), (403, "E_FORBIDDEN"), "a clerk may not")
    eq(query(db(), "SELECT count(*) FROM audit_log WHERE action = 'GET /api/v1/export/feed-hits' "
                   "AND status = 200 AND detail LIKE '导出部门数据预警%'")[0][0], 2,
       "each download audited")


def test_definitions_rule_versions_and_batches_visibility():
    s = server()
    st, lst, _ = s.get("/api/v1/feeds")
    eq(st, 200, "feeds")
    eq(len([f for f in lst["items"] if f["id"] in (
        "yibao_inpatient", "minzheng_dibao", "jiaoyu_selfpay", "zhujian_weifang", "canlian_cert",
        "yingji_disaster", "gongan_death")]), 7, "the shipped feeds")
    # a county adds its own feed as data
    feed = {"id": "county_water", "title": "水利·饮水不安全", "department": "水利局",
            "cadence": "每季度", "verify_days": 5,
            "columns": [{"name": "id_number", "title": "身份证号", "type": "id"},
                        {"name": "name", "title": "姓名", "type": "name"},
                        {"name": "problem", "title": "问题", "type": "text", "required": True}],
            "rules": [{"id": "SL01", "title": "饮水不安全", "severity": "高",
                       "risk_types": ["因安全饮水"], "expression": "问题 = '水量不足'"}]}
    st, b, _ = s.post("/api/v1/feeds", feed)
    eq((st, b["version"]), (201, 1), "defined")
    bad = dict(feed, id="bad_feed", rules=[{"id": "X1", "title": "t", "expression": "问题 = "}])
    st, e, _ = s.post("/api/v1/feeds", bad)
    eq((st, e["error"]["code"]), (422, "E_FEED_DEF"), "bad expression")
    assert "字符" in e["error"]["message"], e
    st, e, _ = s.post("/api/v1/feeds", dict(feed, id="bad2", columns=[]))
    eq(st, 422, "no columns")
    (w_id, w_name, _, w_mid), = people(OTHER)
    upload("county_water", csv(["身份证号", "姓名", "问题"], [[w_id, w_name, "水量不足"]]))
    eq(hits_of(w_mid, "county_water"), ["SL01"], "the county's own rule fired")
    # editing a rule makes a new version; old hits keep theirs
    st, r, _ = s.put("/api/v1/feeds/county_water/rules/SL01", {"expression": "问题 in ('水量不足', '水质不达标')"})
    eq((st, r["version"]), (200, 2), "rule v2")
    st, e, _ = s.put("/api/v1/feeds/county_water/rules/SL01", {"expression": "没有这个字段 > 1"})
    eq((st, e["error"]["code"]), (422, "E_RULE"), "unknown field")
    eq(query(db(), "SELECT rule_version FROM feed_hit WHERE member_id = ? AND feed_id = 'county_water'",
             (w_mid,))[0][0], 1, "the hit keeps version 1")
    (v_id, v_name, _, v_mid), = people(OTHER)
    upload("county_water", csv(["身份证号", "姓名", "问题"], [[v_id, v_name, "水质不达标"]]))
    eq(query(db(), "SELECT rule_version FROM feed_hit WHERE member_id = ?", (v_mid,))[0][0], 2,
       "new hits carry version 2")
    # batches: a department user sees its own department's only
    st, lst, _ = s.get("/api/v1/feed-batches", token=_tokens["yibao"])
    eq({b["feed"] for b in lst["items"]}, {"yibao_inpatient"}, "医保局 sees 医保 batches")
    st, lst, _ = s.get("/api/v1/feed-batches?feed=county_water")
    bid = lst["items"][0]["id"]
    st, e, _ = s.get("/api/v1/feed-batches/%d" % bid, token=_tokens["yibao"])
    eq(st, 404, "another department's batch")
    st, e, _ = s.get("/api/v1/feed-batches?limit=0")
    eq(st, 400, "bad limit")


def test_a_large_file_read_in_two_threads_gives_the_one_thread_answer():
    """A file over 4 MB without quoted fields is read in two halves at once;
    the same rows with one field quoted are read in one thread: the reports
    (counts, people, issues and their lines, hits) must be identical."""
    s = server()
    reg = query(db(), "SELECT id_number, name FROM member ORDER BY id")
    rows = []
    for i in range(60000):
        idn, name = reg[(i * 7919) % len(reg)]
        if i % 997 == 0:
            name = "别名"                         # name mismatch
        if i % 1999 == 0:
            idn = "110101199003071233"           # nobody
        if i == 45000:
            idn = "110101199003071234"           # a bad number in the second half
        rows.append([idn, name, "2026-01-%02d" % (1 + i % 28), "2026-02-01", "县医院",
                     100 + i % 50, "%d.%02d" % (i % 300, i % 100)])
    text = csv(YB, rows)
    assert len(text.encode()) > 4 << 20 and '"' not in text
    quoted = text.replace("县医院", '"县医院"', 1)
    two, one = dry_run(text), dry_run(quoted)
    eq(two, one, "two threads and one thread")
    eq(two["rows"], 60000, "rows")
    # (registry babies born after the test's clock are "future" births too)
    assert 45002 in [i["line"] for i in two["issues"] if i["kind"] == "无效行"], two["issues"][:3]
    assert two["persons"] > 500 and two["mismatch_rows"] > 0 and two["unmatched_rows"] > 0, (
        two["persons"], two["mismatch_rows"], two["unmatched_rows"])


def test_a_large_file_in_gbk_or_with_a_bad_byte():
    """A file over 4 MB (its UTF-8 checked in two threads) in GBK/GB18030
    gives the same report as its UTF-8 twin; a UTF-8 file with one byte that
    is neither gets the error naming that byte's line, with nothing written."""
    server()
    reg = query(db(), "SELECT id_number, name FROM member ORDER BY id")
    rows = [[reg[(i * 7919) % len(reg)][0], reg[(i * 7919) % len(reg)][1],
             "2026-01-%02d" % (1 + i % 28), "2026-02-01", "县人民医院", 100 + i % 50,
             "%d.%02d" % (i % 300, i % 100)] for i in range(60000)]
    text = csv(YB, rows)
    assert len(text.encode()) > 4 << 20
    utf8, gbk = dry_run(text), dry_run(text, "gb18030")
    eq(gbk.pop("encoding"), "GB18030", "read again as GB18030")
    eq(utf8.pop("encoding"), "UTF-8", "UTF-8")
    eq(gbk, utf8, "the same report")
    # a byte that is neither, on line 45,002: the error names it
    raw = text.encode()
    at = raw.index(b"\n", len(raw) * 3 // 4) + 1
    line = raw[:at].count(b"\n") + 1
    bad = raw[:at + 5] + b"\xff" + raw[at + 5:]
    before = snapshot(db())
    st, e, _ = upload("yibao_inpatient", bad.decode("latin-1"), enc="latin-1")
    eq((st, e["error"]["code"]), (422, "E_ENCODING"), "neither UTF-8 nor GB18030: %s" % (e,))
    assert "第 %d 行" % line in e["error"]["message"], (line, e["error"]["message"])
    eq(snapshot(db()), before, "nothing written")


def test_fast_and_general_reading_agree():
    """Lines of the common shape are cut in place; anything else (quotes,
    other 身份证号 forms, amounts with commas, other date forms, blanks,
    CRLF, short rows, long names) goes the general way.  The same rows with
    every line's first field quoted (all read the general way) must give
    the same report: counts, people, issues with their lines, hits."""
    reg = query(db(), "SELECT id_number, name FROM member WHERE substr(id_number, 7, 2) = '19' "
                "ORDER BY id")
    lines = []
    for i in range(3000):
        idn, name = reg[(i * 31) % 97]
        amount, date, hosp = 100 + i % 7, "2026-02-%02d" % (1 + i % 28), "县医院"
        k = i % 23
        if k == 1:
            idn = idn[:6] + idn[8:17]                    # 15 digits
        elif k == 2:
            name = "  " + name                           # leading spaces
        elif k == 3:
            amount = "1,2%02d.50" % (i % 100)            # a comma
        elif k == 4:
            date = "2026/02/%02d" % (1 + i % 28)
        elif k == 5:
            date = "2026年2月%d日" % (1 + i % 28)
        elif k == 6:
            amount = ""                                  # required: a bad row
        elif k == 7:
            name = "欧阳诸葛司马上官某"                     # a long name, differs
        elif k == 8:
            hosp = " 县医院 "
        elif k == 9:
            amount = "12.345678"
        elif k == 10:
            lines.append("")
        elif k == 11:
            lines.append(",,,,,,")
        elif k == 12:
            idn = "110101199003071233"                   # nobody
        elif k == 13:
            idn = idn[:17] + "0" if idn[17] != "0" else idn[:17] + "1"   # check digit
        elif k == 14:
            date = "2026-02-30"                          # no such day
        row = [idn, name, date, "2026-03-01", hosp, 200, amount]
        if k == 15:
            row = row[:5]                                # a short row
        line = ",".join(map(str, row))
        if k == 16:
            line += "\r"
        lines.append(line)
    text = ",".join(YB) + "\n" + "\n".join(lines) + "\n"

    def quoted(line):
        if line.endswith("\r"):
            return quoted(line[:-1]) + "\r"
        f = line.split(",")
        return ",".join(['"%s"' % f[0]] + f[1:])
    general = ",".join(YB) + "\n" + "\n".join(quoted(x) for x in lines) + "\n"
    fast, slow = dry_run(text), dry_run(general)
    eq(fast, slow, "cut in place and read the general way")
    assert fast["bad_rows"] > 0 and fast["mismatch_rows"] > 0 and fast["unmatched_rows"] > 0, fast


if __name__ == "__main__":
    try:
        run_tests(globals())
    finally:
        if _srv:
            _srv.stop()
