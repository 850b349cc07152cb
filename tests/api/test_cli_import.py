#!/usr/bin/env python3
"""test_cli_import.py — the liubao command line: help and option errors, and
CSV import/export of households and members: round trips, the encodings and
layouts county ledgers come in, whole-file validation (nothing written when a
row is bad), --skip-bad with its reject file, --dry-run, the cross-row and
database checks, malformed files, and "-" for stdin/stdout."""
import csv
import datetime
import errno
import io
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (BIN, DIVISION, cli, connect, copy_db, eq, id_number, new_db, query,  # noqa: E402
                 run_tests, sheet_xlsx, snapshot, tmp_path)

VILLAGE = "610926100001"      # 城关镇西城社区居委会
VILLAGE2 = "610926100002"
BOM = "\ufeff"

MEMBER_HEADER = "户编号,行政区划代码,户类型,家庭住址,姓名,证件号码,与户主关系,健康状况"

_template = None


def fresh_db(name):
    """A new database with the 610926 regions (a copy of one made once)."""
    global _template
    if _template is None:
        _template = new_db("template.db")
    return copy_db(_template, name)


_seq = [0]


def person(sex, birth="19800101", area="610926"):
    """A fresh valid 身份证号 (17th digit odd for 男)."""
    while True:
        _seq[0] += 1
        if (_seq[0] % 2 == 1) == (sex == "男"):
            return id_number(area, birth, _seq[0] % 1000)


def bad_check(idn):
    return idn[:-1] + ("0" if idn[-1] != "0" else "1")


def write(name, data):
    path = tmp_path(name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def imp(kind, path, db, *opts, stdin=None, env=None):
    return cli("import", kind, path, "--db", db, *opts, stdin=stdin, env=env)


def export(kind, db, *opts):
    """Exported CSV bytes."""
    p = cli("export", kind, "--db", db, *opts, stdin=b"")
    eq(p.returncode, 0, "export exit (%s)" % p.stderr[-500:].decode("utf-8", "replace"))
    return p.stdout


SUMMARY = re.compile(r"新增 (\d+) 户 / (\d+) 人，更新 (\d+) 户 / (\d+) 人，未变 (\d+) 行")


def summary(stderr):
    """(households new, members new, households changed, members changed, unchanged)."""
    m = SUMMARY.findall(stderr)
    if len(m) != 1:
        raise AssertionError("no single summary line in:\n" + stderr[-2000:])
    return tuple(int(x) for x in m[0])


def refused(p, before, db, what):
    """The import was refused with exit 1 and the database is unchanged."""
    if p.returncode != 1:
        raise AssertionError("%s: exit %d, want 1\n%s" % (what, p.returncode, p.stderr[-2000:]))
    if snapshot(db) != before:
        raise AssertionError("%s: database changed by a refused import" % what)
    if "数据库未作任何修改" not in p.stderr and "导入未执行" not in p.stderr:
        raise AssertionError("%s: report does not say nothing was written:\n%s" % (
            what, p.stderr[-1000:]))


def expect_in(text, *parts, what=""):
    for part in parts:
        if part not in text:
            raise AssertionError("%s: %r not in:\n%s" % (what, part, text[-2000:]))


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("第 ")]


def rows_of(csv_bytes):
    text = csv_bytes.decode("utf-8")
    if text.startswith(BOM):
        text = text[1:]
    return list(csv.reader(io.StringIO(text, newline="")))


# ---- help and option errors ------------------------------------------------------

def test_help_lists_commands():
    p = cli("help", check=0)
    for cmd in ("init", "regions", "demo", "serve", "import", "export", "help"):
        if not re.search(r"^\s+%s\s" % cmd, p.stdout, re.M):
            raise AssertionError("help does not list %s:\n%s" % (cmd, p.stdout))
    eq(p.stderr, "", "help writes nothing to stderr")
    eq(cli(check=0).stdout, p.stdout, "no arguments prints the same help")


def test_help_and_unknown_options_for_every_command():
    """Every command listed by `liubao help` has its own help (the same as
    COMMAND --help), and refuses an unknown option with exit 2 before it
    touches a database."""
    listing = cli("help", check=0).stdout
    names = re.findall(r"^  (\w+)\s", listing, re.M)
    if len(names) < 10:
        raise AssertionError("too few commands in:\n" + listing)
    missing = tmp_path("never-created.db")
    for name in names:
        p = cli("help", name, check=0)
        expect_in(p.stdout, "用法：liubao " + name, what="help " + name)
        if name != "help":
            eq(cli(name, "--help", check=0).stdout, p.stdout, name + " --help")
            p = cli(name, "--no-such-option", "--db", missing)
            eq(p.returncode, 2, name + " with an unknown option")
            expect_in(p.stderr, "未知选项 '--no-such-option'", what=name + " unknown option")
    if os.path.exists(missing):
        raise AssertionError("a command created a database despite a bad option")
    p = cli("help", "import", "extra")
    eq(p.returncode, 2, "help with two arguments")


def test_serve_refuses_bad_options_before_anything_else():
    missing = tmp_path("serve-never.db")
    for args in (("--listen", "nonsense"), ("--listen", "127.0.0.1:99999"),
                 ("--listen", "127.0.0.1:0", "--timeout", "0")):
        p = cli("serve", "--db", missing, *args)
        eq(p.returncode, 2, "serve %r" % (args,))
        if "演示账号" in p.stderr or "Pingli" in p.stderr:
            raise AssertionError("logins printed for a refused serve: " + p.stderr)
    if os.path.exists(missing):
        raise AssertionError("a refused serve created a database")


def test_help_import_shows_options():
    p = cli("help", "import", check=0)
    expect_in(p.stdout, "liubao import", "households", "members", "--skip-bad", "--dry-run",
              "--reject", "--db", what="help import")
    eq(cli("import", "--help", check=0).stdout, p.stdout, "import --help")
    p = cli("help", "export", check=0)
    expect_in(p.stdout, "--output", "--under", what="help export")
    p = cli("help", "nosuch")
    eq(p.returncode, 2, "help for an unknown command")
    expect_in(p.stderr, "nosuch", what="help nosuch")


def test_unknown_command_exit_2():
    p = cli("frobnicate")
    eq(p.returncode, 2, "exit")
    expect_in(p.stderr, "frobnicate", "未知命令", what="stderr")
    eq(p.stdout, "", "nothing on stdout")


def test_unknown_option_exit_2_and_nothing_touched():
    db = fresh_db("opt.db")
    before = snapshot(db)
    f = write("opt.csv", MEMBER_HEADER + "\nH1,%s,,x,张三,%s,户主,\n" % (VILLAGE, person("男")))
    for args in (("import", "members", f, "--db", db, "--bogus"),
                 ("import", "members", f, "--db", db, "-x"),
                 ("import", "members", f, "--db", db, "--dry-run=yes"),
                 ("export", "members", "--db", db, "--colour"),
                 ("import", "members", f, "extra", "--db", db),
                 ("import", "people", f, "--db", db),
                 ("export", "members", "--db", db, "--under", "61x")):
        p = cli(*args)
        eq(p.returncode, 2, "exit for %r (stderr %s)" % (args, p.stderr[-300:]))
        if not p.stderr:
            raise AssertionError("no message for %r" % (args,))
    p = cli("import", "members", f, "--db", db, "--bogus")
    expect_in(p.stderr, "--bogus", "未知选项", what="unknown option message")
    eq(snapshot(db), before, "database untouched")
    missing = tmp_path("never.db")
    eq(cli("import", "members", f, "--db", missing, "--bogus").returncode, 2, "exit")
    if os.path.exists(missing):
        raise AssertionError("a database was created despite the bad option")
    p = cli("import", "members", f, "--db", missing)
    eq(p.returncode, 1, "import into a missing database")
    if os.path.exists(missing):
        raise AssertionError("import created a database")


# ---- round trips -----------------------------------------------------------------------

def _demo_with_awkward_text(name):
    """A 200-household demo district, with some addresses and names that need
    CSV quoting (commas, quotes, line breaks)."""
    db = new_db(name, demo=200, seed=11)
    con = connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM household ORDER BY id LIMIT 4")]
    con.execute("UPDATE household SET address = ? WHERE id = ?", ("城关镇, 西城社区 3组", ids[0]))
    con.execute("UPDATE household SET address = ? WHERE id = ?", ('"老屋场" 5号', ids[1]))
    con.execute("UPDATE household SET address = ?, relocated = 1, relocation_site = ? "
                "WHERE id = ?", ("大贵镇\n儒林堡村2组", "儒林堡, 安置点", ids[2]))
    con.execute("UPDATE member SET name = ? WHERE id = (SELECT min(id) FROM member WHERE "
                "household_id = ?)", ('张"三", 之', ids[3]))
    con.commit()
    con.close()
    return db


def test_members_export_import_round_trip():
    src = _demo_with_awkward_text("rt_src.db")
    n_hh, n_m = query(src, "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM member)")[0]
    eq(n_hh, 200, "demo households")
    first = export("members", src)
    rows = rows_of(first)
    eq(len(rows) - 1, n_m, "one row per member")
    eq(rows[0][:2], ["户编号", "行政区划代码"], "header")
    f = write("rt_members.csv", first)
    dst = fresh_db("rt_dst.db")
    p = imp("members", f, dst)
    eq(p.returncode, 0, "import exit\n" + p.stderr[-1500:])
    eq(summary(p.stderr)[:2], (n_hh, n_m), "all households and members new")
    # the address with a line break and the quoted one came through
    eq(query(dst, "SELECT count(*) FROM household WHERE address IN (?, ?, ?)",
             ("城关镇, 西城社区 3组", '"老屋场" 5号', "大贵镇\n儒林堡村2组"))[0][0], 3,
       "awkward addresses stored verbatim")
    second = export("members", dst)
    if second != first:
        a, b = first.decode().splitlines(), second.decode().splitlines()
        diff = [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y][:3]
        raise AssertionError("export after import differs (%d vs %d lines): %r" % (
            len(a), len(b), diff))
    # importing the same file again changes nothing
    before = snapshot(dst)
    p = imp("members", f, dst)
    eq(p.returncode, 0, "re-import exit")
    eq(summary(p.stderr), (0, 0, 0, 0, n_m), "re-import: nothing new or changed")
    expect_in(p.stderr, "无变化", what="re-import summary")
    eq(snapshot(dst), before, "re-import left the database as it was")
    # the households exported from both agree as well
    eq(export("households", dst), export("households", src), "households of both")


def test_households_export_import_round_trip():
    src = new_db("rth_src.db", demo=200, seed=12)
    hh_csv = export("households", src)
    m_csv = export("members", src)
    rows = rows_of(hh_csv)
    eq(rows[0], ["户编号", "行政区划代码", "户主姓名", "户类型", "家庭住址", "户联系电话",
                 "易地扶贫搬迁户", "安置点", "家庭人口数"], "household header")
    eq(len(rows) - 1, 200, "one row per household")
    f = write("rth_households.csv", hh_csv)
    dst = fresh_db("rth_dst.db")
    p = imp("households", f, dst)
    eq(p.returncode, 0, "import exit\n" + p.stderr[-1500:])
    eq(summary(p.stderr)[:2], (200, 0), "200 households new, no members")
    # without members, everything but 户主姓名 / 家庭人口数 round-trips
    got = rows_of(export("households", dst))
    eq(len(got), len(rows), "row count")
    for want_row, got_row in zip(rows[1:], got[1:]):
        eq(got_row[:2] + got_row[3:8], want_row[:2] + want_row[3:8], "household " + want_row[0])
        eq((got_row[2], got_row[8]), ("", "0"), "no members yet in " + want_row[0])
    # re-import: no change
    before = snapshot(dst)
    p = imp("households", f, dst)
    eq(p.returncode, 0, "re-import exit")
    eq(summary(p.stderr), (0, 0, 0, 0, 200), "re-import unchanged")
    eq(snapshot(dst), before, "snapshot after re-import")
    # with the members the households export is byte-identical
    p = imp("members", write("rth_members.csv", m_csv), dst)
    eq(p.returncode, 0, "members import exit\n" + p.stderr[-1500:])
    eq(summary(p.stderr)[0], 0, "members file adds no households")
    eq(export("households", dst), hh_csv, "households export after both imports")
    eq(export("members", dst), m_csv, "members export after both imports")
    # a changed household is counted as changed, and only it
    rows[1][4] = rows[1][4] + "（已改）"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    p = imp("households", write("rth_changed.csv", BOM + out.getvalue()), dst)
    eq(p.returncode, 0, "changed import exit")
    eq(summary(p.stderr), (0, 0, 1, 0, 199), "one household changed")
    eq(query(dst, "SELECT address FROM household WHERE hh_no=?", (rows[1][0],))[0][0], rows[1][4],
       "change stored")


def test_export_under_prefix():
    src = new_db("under.db", demo=200, seed=12)
    all_rows = rows_of(export("members", src))
    part = rows_of(export("members", src, "--under", "610926101"))
    want = [r for r in all_rows[1:] if r[1].startswith("610926101")]
    if not want:
        raise AssertionError("no members under 610926101; test proves nothing")
    eq(part[1:], want, "members under 兴隆镇")
    eq(part[0], all_rows[0], "header")


# ---- CSV features ----------------------------------------------------------------------------

def _stored(db):
    return (query(db, "SELECT hh_no, village_code, address FROM household ORDER BY hh_no"),
            query(db, "SELECT name, id_number, relation FROM member ORDER BY id_number"))


def test_utf8_bom_quoted_commas_and_multiline_address():
    a, b, c = person("男", "19700101"), person("女", "19720202"), person("男", "19950303")
    addr = '城关镇, 西城社区 "老街"\n3组5号'
    q = '"' + addr.replace('"', '""') + '"'
    text = BOM + MEMBER_HEADER + "\n" + \
        "B1,%s,一般农户,%s,张三,%s,户主,健康\n" % (VILLAGE, q, a) + \
        "B1,%s,一般农户,%s,李四,%s,配偶,\"长期慢性病,残疾\"\n" % (VILLAGE, q, b) + \
        "B2,%s,低保户,\"a,b\",王五,%s,户主,\n" % (VILLAGE2, c)
    db = fresh_db("bom.db")
    p = imp("members", write("bom.csv", text), db)
    eq(p.returncode, 0, "exit\n" + p.stderr)
    eq(summary(p.stderr)[:2], (2, 3), "2 households, 3 members")
    eq(query(db, "SELECT hh_no, address FROM household ORDER BY hh_no"),
       [("B1", addr), ("B2", "a,b")], "addresses verbatim")
    exp = rows_of(export("members", db))
    hdr = exp[0]
    by_id = {r[hdr.index("证件号码")]: r for r in exp[1:]}
    eq(by_id[b][hdr.index("健康状况")], "长期慢性病,残疾", "multi-valued 健康状况")
    eq(by_id[a][hdr.index("性别")], "男", "sex derived")
    eq(by_id[b][hdr.index("出生日期")], "1972-02-02", "birth derived")
    eq(by_id[c][hdr.index("户类型")], "低保户", "户类型")


def test_gb18030_title_rows_crlf_trailing_empty_rows():
    a, b = person("男", "19650505"), person("女", "19660606")
    lines = [
        "平利县城关镇2026年农户基础信息台账,,,,,,,",
        "填报单位：西城社区（盖章）,,,,,,,",
        "",
        MEMBER_HEADER,
        "G1,%s,脱贫户,\"城关镇西城社区\r\n4组8号\",欧阳建华,%s,户主,健康" % (VILLAGE, a),
        "G1,%s,脱贫户,\"城关镇西城社区\r\n4组8号\",喆妍,%s,配偶,患有大病" % (VILLAGE, b),
        ",,,,,,,",
        "  ,,,,,,,",
        "",
    ]
    data = "\r\n".join(lines).encode("gb18030")
    try:
        data.decode("utf-8")
        raise AssertionError("test file is valid UTF-8; it proves nothing about GB18030")
    except UnicodeDecodeError:
        pass
    db = fresh_db("gb.db")
    p = imp("members", write("gb.csv", data), db)
    eq(p.returncode, 0, "exit\n" + p.stderr)
    eq(summary(p.stderr)[:2], (1, 2), "one household, two members")
    expect_in(p.stderr, "读取 2 行", what="blank rows are not data rows")
    eq(_stored(db), ([("G1", VILLAGE, "城关镇西城社区\n4组8号")],
                     sorted([("欧阳建华", a, 1), ("喆妍", b, 2)], key=lambda r: r[1])),
       "stored as UTF-8, CRLF inside the address as LF")


def test_english_column_names_and_aliases():
    a, b = person("男", "19700707"), person("女", "19800808")
    text = ("hh_no,village_code,hh_type,address,name,id_number,relation,sex,birth_date\n"
            "E1,%s,一般农户,addr,张三,%s,户主,男,1970-07-07\n" % (VILLAGE, a))
    db = fresh_db("en.db")
    p = imp("members", write("en.csv", text), db)
    eq(p.returncode, 0, "english header exit\n" + p.stderr)
    eq(_stored(db), ([("E1", VILLAGE, "addr")], [("张三", a, 1)]), "english columns")
    # ledger aliases, a starred required column, ignored region-name columns
    text = ("序号,乡镇,村,户码,村代码,*成员姓名,身份证号码,与户主关系,住址\n"
            "1,城关镇,西城社区,E2,%s,李梅,%s,户主,某地\n" % (VILLAGE, b))
    p = imp("members", write("alias.csv", text), db)
    eq(p.returncode, 0, "alias header exit\n" + p.stderr)
    eq(query(db, "SELECT h.hh_no, h.address, m.name FROM member m JOIN household h ON "
                 "h.id=m.household_id WHERE m.id_number=?", (b,)), [("E2", "某地", "李梅")],
       "aliases")


def test_code_values_with_surrounding_spaces_accepted():
    a, b = person("男", "19601010"), person("女", "19621212")
    text = MEMBER_HEADER + "\n"
    text += "S1,%s, 一般农户 ,x,张三,%s,户主 ,长期慢性病 \n" % (VILLAGE, a)
    text += "S1,%s, 一般农户 ,x,李四, %s ,　配偶　,\"长期慢性病 , 残疾\"\n" % (VILLAGE, b)
    db = fresh_db("space.db")
    p = imp("members", write("space.csv", text), db)
    eq(p.returncode, 0, "exit\n" + p.stderr)
    exp = rows_of(export("members", db))
    hdr = exp[0]
    by_id = {r[hdr.index("证件号码")]: r for r in exp[1:]}
    eq((by_id[a][hdr.index("健康状况")], by_id[a][hdr.index("与户主关系")],
        by_id[a][hdr.index("户类型")]), ("长期慢性病", "户主", "一般农户"), "trimmed values")
    eq((by_id[b][hdr.index("健康状况")], by_id[b][hdr.index("与户主关系")]),
       ("长期慢性病,残疾", "配偶"), "trimmed multi-values, full-width spaces")


# ---- whole-file validation --------------------------------------------------------

def _file_with_one_bad_household(tag):
    """Two good households and one (2 rows) whose second row has a bad check
    digit; returns (text, good ids, bad household rows' ids, bad line no)."""
    g1, g2, g3 = person("男", "19700101"), person("女", "19710101"), person("男", "19750101")
    b1, b2 = person("男", "19800101"), bad_check(person("女", "19820101"))
    lines = [MEMBER_HEADER,
             "%s1,%s,一般农户,x,甲,%s,户主,健康" % (tag, VILLAGE, g1),
             "%s1,%s,一般农户,x,乙,%s,配偶,健康" % (tag, VILLAGE, g2),
             "%s2,%s,一般农户,y,丙,%s,户主," % (tag, VILLAGE, b1),
             "%s2,%s,一般农户,y,丁,%s,配偶," % (tag, VILLAGE, b2),
             "%s3,%s,低保户,z,戊,%s,户主," % (tag, VILLAGE2, g3)]
    return "\n".join(lines) + "\n", [g1, g2, g3], [b1, b2], 5


def test_one_bad_row_refuses_whole_file():
    text, good, bad, line = _file_with_one_bad_household("V")
    db = fresh_db("bad.db")
    before = snapshot(db)
    p = imp("members", write("bad.csv", text), db)
    refused(p, before, db, "bad check digit")
    errs = error_lines(p.stderr)
    eq(len(errs), 1, "one problem reported: %r" % errs)
    expect_in(errs[0], "第 %d 行" % line, "证件号码", bad[1], "校验位错误", what="report")
    expect_in(p.stderr, "错误 2 行", what="both rows of the household are counted bad")
    # the same file with the row fixed goes in whole
    fixed = text.replace(bad[1], id_number(bad[1][:6], bad[1][6:14], int(bad[1][14:17])))
    p = imp("members", write("bad_fixed.csv", fixed), db)
    eq(p.returncode, 0, "fixed file\n" + p.stderr)
    eq(summary(p.stderr)[:2], (3, 5), "all written")


def test_skip_bad_writes_good_households_and_reject_file():
    text, good, bad, line = _file_with_one_bad_household("K")
    db = fresh_db("skip.db")
    f = write("skip.csv", text)
    reject = tmp_path("skip-rejects.csv")
    p = imp("members", f, db, "--skip-bad", "--reject", reject)
    eq(p.returncode, 0, "exit\n" + p.stderr)
    eq(summary(p.stderr)[:2], (2, 3), "good households written")
    expect_in(p.stderr, "第 %d 行" % line, reject, what="report")
    eq(sorted(r[0] for r in query(db, "SELECT id_number FROM member")), sorted(good),
       "only the good households' members")
    eq(sorted(r[0] for r in query(db, "SELECT hh_no FROM household")), ["K1", "K3"],
       "only the good households")
    raw = open(reject, "rb").read()
    rows = rows_of(raw)
    hdr = rows[0]
    eq(hdr[:-1], MEMBER_HEADER.split(","), "reject header is the file's header")
    eq(hdr[-1], "错误原因", "错误原因 column")
    eq([r[hdr.index("证件号码")] for r in rows[1:]], bad, "both rows of the bad household")
    for r in rows[1:]:
        eq(len(r), len(hdr), "reject row width")
        if not re.search("[\u4e00-\u9fff]", r[-1]):
            raise AssertionError("reason not Chinese: %r" % r[-1])
    # each row says what is wrong with it: the bad one its own problem (the
    # same words as the report), the other one that its household was held back
    reason = {r[hdr.index("证件号码")]: r[-1] for r in rows[1:]}
    expect_in(reason[bad[1]], "证件号码：身份证号校验位错误", what="the bad row's reason")
    expect_in(p.stderr, "第 %d 行，列“证件号码”，值“%s”：身份证号校验位错误" % (line, bad[1]),
              what="the report's line for it")
    eq(reason[bad[0]], "本户其他行有错误，整户未导入", "the good row of the bad household")
    # the reject file, once fixed, imports
    fixed = raw.decode("utf-8-sig").replace(bad[1], id_number(bad[1][:6], bad[1][6:14],
                                                               int(bad[1][14:17])))
    p = imp("members", write("skip_fixed.csv", fixed), db)
    eq(p.returncode, 0, "fixed reject file imports (extra 错误原因 column ignored)\n" + p.stderr)
    eq(summary(p.stderr)[:2], (1, 2), "the bad household now written")
    # default reject path beside the file
    db2 = fresh_db("skip2.db")
    p = imp("members", f, db2, "--skip-bad")
    eq(p.returncode, 0, "default reject path exit")
    if not os.path.exists(f + ".rejects.csv"):
        raise AssertionError("default reject file %s.rejects.csv missing" % f)


def test_dry_run_writes_nothing():
    a, b = person("男", "19550505"), person("女", "19560606")
    text = MEMBER_HEADER + "\nD1,%s,一般农户,x,甲,%s,户主,\nD1,%s,一般农户,x,乙,%s,配偶,\n" % (
        VILLAGE, a, VILLAGE, b)
    db = fresh_db("dry.db")
    before = snapshot(db)
    p = imp("members", write("dry.csv", text), db, "--dry-run")
    eq(p.returncode, 0, "dry run of a good file\n" + p.stderr)
    expect_in(p.stderr, "检查完成", "读取 2 行", what="dry-run summary")
    eq(snapshot(db), before, "dry run wrote nothing")
    bad, *_ = _file_with_one_bad_household("DR")
    p = imp("members", write("dry_bad.csv", bad), db, "--dry-run")
    refused(p, before, db, "dry run of a bad file")
    p = imp("members", write("dry_bad.csv", bad), db, "--dry-run", "--skip-bad", "--reject",
            tmp_path("dry-rejects.csv"))
    eq(p.returncode, 0, "dry run with --skip-bad")
    eq(snapshot(db), before, "dry run with --skip-bad wrote nothing")


def test_two_heads_across_rows_reported():
    a, b, c = person("男", "19600101"), person("女", "19610101"), person("男", "19900101")
    text = MEMBER_HEADER + "\n" + "\n".join([
        "W1,%s,一般农户,x,甲,%s,户主," % (VILLAGE, a),
        "W1,%s,一般农户,x,乙,%s,配偶," % (VILLAGE, b),
        "W1,%s,一般农户,x,丙,%s,户主," % (VILLAGE, c)]) + "\n"
    db = fresh_db("heads.db")
    before = snapshot(db)
    p = imp("members", write("heads.csv", text), db)
    refused(p, before, db, "two 户主")
    expect_in(p.stderr, "W1", "2 名户主", "与户主关系", what="structure report")
    if not any("第 4 行" in l for l in error_lines(p.stderr)):
        raise AssertionError("the second 户主's line (4) is not named:\n" + p.stderr)
    # a second 户主 in the file for a household already stored is caught too
    ok = MEMBER_HEADER + "\nW2,%s,一般农户,x,甲,%s,户主,\n" % (VILLAGE, person("男"))
    eq(imp("members", write("heads_ok.csv", ok), db).returncode, 0, "first part")
    before = snapshot(db)
    more = MEMBER_HEADER + "\nW2,%s,一般农户,x,丁,%s,户主,\n" % (VILLAGE, person("女"))
    p = imp("members", write("heads_more.csv", more), db)
    refused(p, before, db, "second 户主 against the database")
    expect_in(p.stderr, "户主", what="report")
    # 之女 with a male number
    text = MEMBER_HEADER + "\nW3,%s,,x,甲,%s,户主,\nW3,%s,,x,乙,%s,之女,\n" % (
        VILLAGE, person("女"), VILLAGE, person("男", "20000101"))
    p = imp("members", write("heads_sex.csv", text), db)
    refused(p, before, db, "之女 male")
    expect_in(p.stderr, "之女", "男性", what="relation sex")


def test_duplicate_id_number_within_file_names_both_lines():
    a, b = person("男", "19700202"), person("男", "19710303")
    text = MEMBER_HEADER + "\n" + "\n".join([
        "U1,%s,,x,甲,%s,户主," % (VILLAGE, a),
        "U2,%s,,x,乙,%s,户主," % (VILLAGE, b),
        "U3,%s,,x,丙,%s,户主," % (VILLAGE, a.lower())]) + "\n"
    db = fresh_db("dupfile.db")
    before = snapshot(db)
    p = imp("members", write("dupfile.csv", text), db)
    refused(p, before, db, "duplicate within the file")
    errs = [l for l in error_lines(p.stderr) if a in l]
    eq(len(errs), 1, "one report line: %r" % errs)
    expect_in(errs[0], "第 4 行", "第 2 行", "重复", "证件号码", what="both lines named")


def test_id_number_registered_in_another_household():
    a = person("男", "19680808")
    db = fresh_db("other.db")
    first = MEMBER_HEADER + "\nO1,%s,,x,甲,%s,户主,\n" % (VILLAGE, a)
    eq(imp("members", write("other1.csv", first), db).returncode, 0, "first import")
    before = snapshot(db)
    second = MEMBER_HEADER + "\nO2,%s,,x,甲二,%s,户主,\n" % (VILLAGE, a)
    p = imp("members", write("other2.csv", second), db)
    refused(p, before, db, "number registered elsewhere")
    expect_in(p.stderr, "第 2 行", "证件号码", a, "O1", "已登记", what="report")
    # the same person re-imported in the same household is fine (an update)
    again = MEMBER_HEADER + "\nO1,%s,,x,甲,%s,户主,健康\n" % (VILLAGE, a)
    p = imp("members", write("other3.csv", again), db)
    eq(p.returncode, 0, "same household\n" + p.stderr)
    eq(summary(p.stderr)[:4], (0, 0, 0, 1), "member updated")


def test_sex_and_birth_columns_contradicting_id_number():
    a, b, c = person("男", "19770707"), person("女", "19880808"), person("男", "19990909")
    text = ("户编号,行政区划代码,姓名,证件号码,与户主关系,性别,出生日期\n"
            "X1,%s,甲,%s,户主,女,1977-07-07\n"
            "X2,%s,乙,%s,户主,女,1988-08-09\n"
            "X3,%s,丙,%s,户主,男,1999/09/09\n" % (VILLAGE, a, VILLAGE, b, VILLAGE, c))
    db = fresh_db("sexcol.db")
    before = snapshot(db)
    p = imp("members", write("sexcol.csv", text), db)
    refused(p, before, db, "contradicting columns")
    errs = error_lines(p.stderr)
    eq(len(errs), 2, "two problems: %r" % errs)
    expect_in(errs[0], "第 2 行", "性别", "第17位", what="sex")
    expect_in(errs[1], "第 3 行", "出生日期", "1988-08-08", what="birth date")
    expect_in(p.stderr, "错误 2 行", what="the agreeing row is fine")


def test_unknown_household_without_village_column():
    a = person("男", "19720101")
    text = "户编号,姓名,证件号码,与户主关系\nN404,张三,%s,户主\n" % a
    db = fresh_db("nohh.db")
    before = snapshot(db)
    p = imp("members", write("nohh.csv", text), db)
    refused(p, before, db, "unknown household")
    expect_in(p.stderr, "第 2 行", "户编号", "N404", "不存在", "行政区划代码", what="report")
    # once the household exists (households import), the same file goes in
    hh = "户编号,行政区划代码,户类型\nN404,%s,一般农户\n" % VILLAGE
    eq(imp("households", write("nohh_hh.csv", hh), db).returncode, 0, "households import")
    p = imp("members", write("nohh.csv", text), db)
    eq(p.returncode, 0, "members for a known household\n" + p.stderr)
    eq(query(db, "SELECT h.hh_no FROM member m JOIN household h ON h.id=m.household_id "
                 "WHERE m.id_number=?", (a,)), [("N404",)], "attached to N404")


def test_unknown_village_reported():
    a = person("男", "19720102")
    db = fresh_db("novil.db")
    before = snapshot(db)
    for code in ("610926100000", "610926199999", "61092610000", "6109261000x1"):
        text = MEMBER_HEADER + "\nNV1,%s,,x,甲,%s,户主,\n" % (code, a)
        p = imp("members", write("novil.csv", text), db)
        refused(p, before, db, "village %s" % code)
        expect_in(p.stderr, "第 2 行", "行政区划代码", code, what="village %s" % code)


def test_old_area_code_accepted_with_warning():
    old = person("男", "19630303", area="612427")
    other = person("女", "19650303", area="420321")
    text = MEMBER_HEADER + "\nA1,%s,,x,甲,%s,户主,\nA1,%s,,x,乙,%s,配偶,\n" % (
        VILLAGE, old, VILLAGE, other)
    db = fresh_db("old.db")
    p = imp("members", write("old.csv", text), db)
    eq(p.returncode, 0, "exit\n" + p.stderr)
    warn = [l for l in p.stderr.splitlines() if l.startswith("警告")]
    eq(len(warn), 2, "two warnings: %r" % warn)
    expect_in(warn[0], "第 2 行", "612427", "已接受", what="warning")
    expect_in(p.stderr, "警告 2 条", what="summary counts warnings")
    eq(sorted(r[0] for r in query(db, "SELECT id_number FROM member")), sorted([old, other]),
       "both stored")


def test_head_name_and_household_size_checked_against_the_members():
    """户主姓名 and 家庭人口数 are not stored (the export writes them from the
    members), but what a file says in them is compared with its members:
    a disagreement is a warning naming the row, and the members are stored."""
    header = "户编号,行政区划代码,户主姓名,家庭人口数,姓名,证件号码,与户主关系"
    rows = [
        ("H1", "张一", "2", "张一", person("男", "19600101"), "户主"),   # right
        ("H1", "张一", "2", "李一", person("女", "19610101"), "配偶"),
        ("H2", "王二", "2", "王贰", person("男", "19600202"), "户主"),   # head misnamed
        ("H2", "王二", "2", "赵二", person("女", "19610202"), "配偶"),
        ("H3", "刘三", "3", "刘三", person("男", "19600303"), "户主"),   # size 3, 2 members
        ("H3", "刘三", "3", "陈三", person("女", "19610303"), "配偶"),
        ("H4", "周四", "1", "周四", person("男", "19600404"), "户主"),   # rows disagree
        ("H4", "吴四", "2", "吴四", person("女", "19610404"), "配偶"),
        ("H5", "", "三", "郑五", person("男", "19600505"), "户主"),      # not a number
    ]
    text = header + "\n" + "\n".join(
        "%s,%s,%s,%s,%s,%s,%s" % (hh, VILLAGE, head, size, name, idn, rel)
        for hh, head, size, name, idn, rel in rows) + "\n"
    db = fresh_db("headsize.db")
    p = imp("members", write("headsize.csv", text), db)
    eq(p.returncode, 0, "warnings refuse nothing\n" + p.stderr)
    warn = [l for l in p.stderr.splitlines() if l.startswith("警告")]
    expect_in("\n".join(warn), "第 4 行", "H2", "王二", "王贰", what="misnamed head, on its row")
    expect_in("\n".join(warn), "第 6 行", "H3", "家庭人口数填的是 3", "共 2 人",
              what="size against the members")
    expect_in("\n".join(warn), "第 9 行", "与本户第 8 行的户主姓名“周四”不同",
              what="a row against the household's first")
    expect_in("\n".join(warn), "第 9 行", "与本户第 8 行的家庭人口数 1 不同",
              what="a row's size against the household's first")
    expect_in("\n".join(warn), "第 10 行", "家庭人口数应为 1–99 的整数", what="not a number")
    eq(len(warn), 6, "one warning each (H4's first size, 1, is also not its 2 members): %r"
       % warn)
    expect_in(p.stderr, "警告 6 条", what="summary counts warnings")
    eq(query(db, "SELECT count(*) FROM member")[0][0], 9, "every member stored")
    # members already stored count: H1 again with a third person and 家庭人口数 3
    more = header + "\nH1,%s,张一,3,张小一,%s,之子\n" % (VILLAGE, person("男", "19900101"))
    p = imp("members", write("headsize2.csv", more), db)
    eq(p.returncode, 0, "exit\n" + p.stderr)
    eq([l for l in p.stderr.splitlines() if l.startswith("警告")], [],
       "3 = the file's one + the two stored")
    more = header + "\nH1,%s,张二,5,张小二,%s,之子\n" % (VILLAGE, person("男", "19920101"))
    p = imp("members", write("headsize3.csv", more), db)
    warn = [l for l in p.stderr.splitlines() if l.startswith("警告")]
    expect_in("\n".join(warn), "“张二”", "“张一”", "家庭人口数填的是 5", "共 4 人",
              "含已登记、本文件未列出的成员", what="against the stored members")
    # an exported file says what its members are: no warning importing it back
    p = imp("members", write("headsize4.csv", export("members", db)), db)
    eq(p.returncode, 0, "re-import\n" + p.stderr)
    eq([l for l in p.stderr.splitlines() if l.startswith("警告")], [], "export round trip")


def test_unterminated_quote_names_line_and_writes_nothing():
    a, b = person("男", "19710404"), person("女", "19720404")
    text = MEMBER_HEADER + "\n" + \
        "Q1,%s,,x,甲,%s,户主,\n" % (VILLAGE, a) + \
        "Q1,%s,,\"x,乙,%s,配偶,\n" % (VILLAGE, b) + \
        "Q2,%s,,y,丙,%s,户主,\n" % (VILLAGE, person("男"))
    db = fresh_db("quote.db")
    before = snapshot(db)
    p = imp("members", write("quote.csv", text), db)
    refused(p, before, db, "unterminated quote")
    expect_in(p.stderr, "第 3 行", "引号", what="names the line")
    p = imp("members", write("quote.csv", text), db, "--skip-bad", "--reject",
            tmp_path("quote-rej.csv"))
    eq(p.returncode, 1, "--skip-bad does not skip a malformed file")
    eq(snapshot(db), before, "nothing written with --skip-bad either")
    # a character after a closing quote
    text2 = MEMBER_HEADER + "\nQ3,%s,,\"x\"y,甲,%s,户主,\n" % (VILLAGE, person("男"))
    p = imp("members", write("quote2.csv", text2), db)
    refused(p, before, db, "text after closing quote")
    expect_in(p.stderr, "第 2 行", what="names the line")


def test_undecodable_file_clear_error():
    db = fresh_db("enc.db")
    before = snapshot(db)
    utf16 = b"\xff\xfe" + (MEMBER_HEADER + "\n").encode("utf-16-le")
    cases = [("utf16.csv", b"\xff\xfe\x00", "UTF-16"), ("utf16b.csv", utf16, "UTF-16"),
             ("junk.csv", b"\xff\xff\xfe\xfe\x80\x80\n", "编码"),
             ("bombad.csv", b"\xef\xbb\xbf" + MEMBER_HEADER.encode() + b"\n\xff\xfe,\n", "UTF-8")]
    for name, data, word in cases:
        p = imp("members", write(name, data), db)
        if p.returncode == 0:
            raise AssertionError("%s accepted" % name)
        eq(snapshot(db), before, "%s: nothing written" % name)
        expect_in(p.stderr, word, "编码", what=name)
        if "Traceback" in p.stderr or "Segmentation" in p.stderr:
            raise AssertionError("%s crashed" % name)
    p = imp("members", tmp_path("does-not-exist.csv"), db)
    eq(p.returncode, 1, "missing file")
    expect_in(p.stderr, "does-not-exist.csv", what="missing file named")


def test_missing_required_columns_and_empty_files():
    db = fresh_db("cols.db")
    before = snapshot(db)
    for name, text, want in (
            ("nocol.csv", "户编号,行政区划代码,姓名\nC1,%s,甲\n" % VILLAGE, "证件号码"),
            ("nohdr.csv", "a,b,c\n1,2,3\n", "表头"),
            ("empty.csv", "", "表头"),
            ("hdronly.csv", MEMBER_HEADER + "\n,,,,,,,\n", "没有数据行")):
        p = imp("members", write(name, text), db)
        refused(p, before, db, name)
        expect_in(p.stderr, want, what=name)


# ---- stdin / stdout -------------------------------------------------------------------------

def test_dash_reads_stdin_and_writes_stdout():
    a, b = person("男", "19690909"), person("女", "19700909")
    text = BOM + MEMBER_HEADER + "\nI1,%s,一般农户,x,甲,%s,户主,\nI1,%s,一般农户,x,乙,%s,配偶,\n" % (
        VILLAGE, a, VILLAGE, b)
    db = fresh_db("stdin.db")
    p = cli("import", "members", "-", "--db", db, stdin=text.encode())
    eq(p.returncode, 0, "import from stdin\n" + p.stderr.decode())
    eq(sorted(r[0] for r in query(db, "SELECT id_number FROM member")), sorted([a, b]),
       "members from stdin")
    out_default = export("members", db)
    out_dash = export("members", db, "--output", "-")
    eq(out_dash, out_default, "--output - is stdout")
    path = tmp_path("stdout-file.csv")
    p = cli("export", "members", "--db", db, "--output", path, stdin=b"")
    eq((p.returncode, p.stdout), (0, b""), "export to a file prints nothing")
    eq(open(path, "rb").read(), out_default, "file equals stdout")
    p = cli("export", "members", "--db", db, "--output", path, stdin=b"")
    eq(p.returncode, 1, "refuses to overwrite without --force")
    eq(open(path, "rb").read(), out_default, "file kept")
    # stdout export pipes straight back in: nothing changes
    before = snapshot(db)
    p = cli("import", "members", "-", "--db", db, stdin=out_default)
    eq(p.returncode, 0, "re-import from stdin")
    eq(summary(p.stderr.decode()), (0, 0, 0, 0, 2), "unchanged")
    eq(snapshot(db), before, "snapshot")
    # stderr chatter never reaches stdout
    if b"\xe5\xaf\xbc\xe5\x87\xba" in out_default or not out_default.startswith(b"\xef\xbb\xbf"):
        raise AssertionError("export stdout is not clean CSV")
    eq(export("households", db, "--output", "-"), export("households", db), "households too")


# ---- the demo's logins, listed once by make demo --------------------------------------

def test_demo_no_logins_leaves_them_to_serve():
    """make demo runs `demo --no-logins` then `serve`, which lists the logins:
    once, not twice."""
    for flag, want in (((), 1), (("--no-logins",), 0)):
        db = tmp_path("logins%d.db" % want)
        p = cli("demo", "--db", db, "--households", "20", *flag)
        eq(p.returncode, 0, "demo %r exit (%s)" % (flag, p.stderr[-500:]))
        eq(p.stderr.count("演示账号"), want, "logins listed by demo %r" % (flag,))
        expect_in(p.stderr, "已生成演示区县 610926：20 户", what="demo %r" % (flag,))


# ---- init on a path it cannot open -------------------------------------------------------------

def _as_nobody(args):
    """`args` run as user nobody when this runs as root (root may write
    anywhere), else as they are; None when that cannot be done here."""
    if os.geteuid() != 0:
        return args
    wrap = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    try:
        ok = subprocess.run(wrap + [BIN, "--help"], capture_output=True).returncode == 0
    except OSError:
        ok = False
    return wrap + args if ok else None


def test_init_on_a_path_it_cannot_open_says_why():
    base = tmp_path("noinit")
    os.makedirs(base, exist_ok=True)
    a_file = write("noinit-file", "x")
    # directories user nobody may reach, for the permission cases
    open_root = tempfile.mkdtemp(prefix="lbinit")
    os.chmod(open_root, 0o755)
    closed = os.path.join(open_root, "closed")      # no writing
    shut = os.path.join(open_root, "shut")          # no entering
    os.mkdir(closed, 0o555)
    os.mkdir(shut, 0o700)
    os.chmod(closed, 0o555)
    cases = [("/nonexistent/dir/x.db", "目录 '/nonexistent/dir' 不存在", False),
             (os.path.join(base, "missing", "x.db"),
              "目录 '%s' 不存在" % os.path.join(base, "missing"), False),
             (os.path.join(a_file, "x.db"), "'%s' 不是目录" % a_file, False),
             (os.path.join(a_file, "a", "x.db"), "'%s' 不是目录" % a_file, False),
             (base, "这是一个目录，不是数据库文件", False),
             (a_file, "这个文件不是 SQLite 数据库（或已损坏）", False),
             (os.path.join(closed, "x.db"), "没有权限在目录 '%s' 中创建文件" % closed, True),
             (os.path.join(shut, "x.db"), "没有权限进入目录 '%s'" % shut, True),
             (os.path.join(shut, "a", "x.db"), "没有权限进入目录 '%s'" % shut, True)]
    listing = lambda: [sorted(os.listdir(d)) for d in (base, closed, shut)]  # noqa: E731
    before = listing()
    try:
        for path, why, unprivileged in cases:
            args = [BIN, "init", "--db", path]
            if unprivileged:
                args = _as_nobody(args)
                if args is None:
                    continue
            p = subprocess.run(args, capture_output=True, text=True,
                               env=dict(os.environ, LIUBAO_DIVISION_DIR=DIVISION))
            eq(p.returncode, 1, "exit for %s (stderr %s)" % (path, p.stderr))
            expect_in(p.stderr, "无法打开数据库 '%s'：%s" % (path, why), what="message for " + path)
            if "unable to open" in p.stderr:
                raise AssertionError("SQLite's English message shown: " + p.stderr)
            eq(p.stdout, "", "nothing on stdout for " + path)
            if path not in (base, a_file) and os.path.exists(path):
                raise AssertionError("init created " + path)
        eq(listing(), before, "nothing created")
        with open(a_file) as f:
            eq(f.read(), "x", "the file that is not a database is left as it was")
        if os.path.exists("/nonexistent"):
            raise AssertionError("init created /nonexistent")
    finally:
        shutil.rmtree(open_root)


# ---- error messages of export and regions import ---------------------------------------------

def test_export_errors_name_their_cause():
    """A failed export says why in the words of the failed call (on PostgreSQL
    closing the connection used to clear errno first: "…：Success"), suggests
    --force only when the file exists, and leaves no file behind."""
    db = new_db("exerr.db", demo=20, seed=3)
    missing_dir = tmp_path("no-such-dir/x.csv")
    for kind in ("members", "households", "alerts"):
        for out in (missing_dir, missing_dir[:-3] + "xlsx"):
            p = cli("export", kind, "--db", db, "--output", out)
            eq(p.returncode, 1, "export %s to %s" % (kind, out))
            expect_in(p.stderr, "无法写入", os.strerror(errno.ENOENT), what="missing directory")
            if "Success" in p.stderr or "--force" in p.stderr:
                raise AssertionError("misleading message: " + p.stderr)
    existing = write("exerr-existing.csv", "keep")
    p = cli("export", "members", "--db", db, "--output", existing)
    eq(p.returncode, 1, "existing file")
    expect_in(p.stderr, os.strerror(errno.EEXIST), "--force", what="existing file")
    eq(open(existing).read(), "keep", "existing file untouched")
    if os.path.exists("/dev/full"):
        for fmt in ("csv", "xlsx"):
            p = cli("export", "members", "--db", db, "--output", "/dev/full", "--force",
                    "--format", fmt)
            eq(p.returncode, 1, "export to a full device (%s)" % fmt)
            expect_in(p.stderr, os.strerror(errno.ENOSPC), what="full device " + fmt)
            if "Success" in p.stderr:
                raise AssertionError("misleading message: " + p.stderr)
    # a file that cannot grow (RLIMIT_FSIZE, SIGXFSZ ignored: writes fail with
    # EFBIG) is removed, not left half-written
    big = new_db("exerr-big.db", demo=200, seed=3)  # ~200 kB of members CSV

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for fmt in ("csv",):
        out = tmp_path("exerr-big." + fmt)
        p = subprocess.run([BIN, "export", "members", "--db", big, "--output", out],
                           capture_output=True, text=True, preexec_fn=small_files,
                           env=dict(os.environ, LIUBAO_DIVISION_DIR=DIVISION), timeout=120)
        eq(p.returncode, 1, "export over the file size limit (%s)\n%s" % (fmt, p.stderr))
        expect_in(p.stderr, os.strerror(errno.EFBIG), "已删除", what="file size limit " + fmt)
        if os.path.exists(out):
            raise AssertionError("half-written %s left behind" % out)


def test_export_under_is_checked_and_takes_full_codes():
    db = new_db("exunder.db", demo=20, seed=3)
    county = export("households", db, "--under", "610926")
    if county.count(b"\n") < 10:
        raise AssertionError("no households under 610926; test proves nothing")
    eq(export("households", db, "--under", "610926000000"), county, "12-digit county code")
    eq(export("households", db, "--under", "61"), county, "province prefix")
    for bad, want in (("99", "没有代码为 99 的区划"), ("6109261000011", "最多 12 位"),
                      ("61 09", "最多 12 位")):
        for kind in ("members", "alerts"):
            p = cli("export", kind, "--db", db, "--under", bad)
            eq(p.returncode, 2, "export %s --under %r" % (kind, bad))
            expect_in(p.stderr, want, what="--under %r" % bad)
            eq(p.stdout, "", "nothing written for --under %r" % bad)


def test_regions_import_under_checked():
    db = new_db("regunder.db")
    before = snapshot(db)
    n = query(db, "SELECT count(*) FROM region")[0][0]
    p = cli("regions", "import", "--under", "999999", "--db", db)
    eq(p.returncode, 1, "unknown county\n" + p.stderr)
    expect_in(p.stderr, "没有区划代码 999999", what="unknown county")
    eq(snapshot(db), before, "nothing loaded for an unknown county")
    p = cli("regions", "import", "--under", "610926000000", "--db", db)
    eq(p.returncode, 0, "12-digit county code\n" + p.stderr)
    expect_in(p.stderr, "已导入区划 %d 条" % n, what="the whole county again")
    p = cli("regions", "bogus", "--db", db)
    eq(p.returncode, 2, "unknown subcommand")
    expect_in(p.stderr, "未知子命令", what="unknown subcommand")


def test_reimport_keeps_timestamps():
    """Re-importing the same file writes nothing: not even updated_at (which
    has whole seconds, so it is set back first to make a rewrite visible)."""
    src = new_db("ts_src.db", demo=20, seed=5)
    f = write("ts_members.csv", export("members", src))
    dst = fresh_db("ts_dst.db")
    eq(imp("members", f, dst).returncode, 0, "first import")
    con = connect(dst)
    con.execute("UPDATE household SET created_at = '2001-02-03 04:05:06', "
                "updated_at = '2001-02-03 04:05:06'")
    con.execute("UPDATE member SET created_at = '2001-02-03 04:05:06', "
                "updated_at = '2001-02-03 04:05:06'")
    con.commit()
    con.close()
    before = snapshot(dst)
    p = imp("members", f, dst)
    eq(p.returncode, 0, "re-import")
    eq(snapshot(dst), before, "re-import changed nothing, timestamps included")
    h = write("ts_households.csv", export("households", src))
    p = imp("households", h, dst)
    eq(p.returncode, 0, "households re-import")
    eq(snapshot(dst), before, "households re-import changed nothing")


def test_workbook_on_stdin_round_trip_and_rejects():
    """`-` works for Excel too: export --format xlsx to stdout, import it from
    stdin unchanged; with --skip-bad a bad workbook on stdin gets its marked
    copy as stdin.errors.xlsx (a workbook, not a .csv name)."""
    src = new_db("xstdin_src.db", demo=20, seed=4)
    book = export("members", src, "--format", "xlsx")
    eq(book[:4], b"PK\x03\x04", "an xlsx on stdout")
    dst = fresh_db("xstdin_dst.db")
    p = cli("import", "members", "-", "--db", dst, stdin=book)
    eq(p.returncode, 0, "workbook from stdin\n" + p.stderr.decode()[-1500:])
    eq(export("members", dst), export("members", src), "members of both")
    before = snapshot(dst)
    eq(cli("import", "members", "-", "--db", dst, stdin=book).returncode, 0, "again")
    eq(snapshot(dst), before, "re-import from stdin changed nothing")
    bad = sheet_xlsx(tmp_path("xstdin_bad.xlsx"),
                     [(1, ["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系"]),
                      (2, ["X1", VILLAGE, "张三", "123", "户主"]),
                      (3, ["X2", VILLAGE, "李四", person("男"), "户主"])])
    work = tmp_path("xstdin_cwd")
    os.makedirs(work, exist_ok=True)
    p = subprocess.run([BIN, "import", "members", "-", "--skip-bad", "--db", dst], input=bad,
                       capture_output=True, cwd=work, timeout=120,
                       env=dict(os.environ, LIUBAO_DIVISION_DIR=DIVISION))
    eq(p.returncode, 0, "skip-bad from stdin\n" + p.stderr.decode()[-1500:])
    eq(sorted(os.listdir(work)), ["stdin.errors.xlsx"], "the marked copy's name")
    with open(os.path.join(work, "stdin.errors.xlsx"), "rb") as f:
        eq(f.read(4), b"PK\x03\x04", "the marked copy is a workbook")
    eq(query(dst, "SELECT count(*) FROM household WHERE hh_no IN ('X1', 'X2')")[0][0], 1,
       "the good household written")


def test_progress_line_for_large_files():
    """A file of 20,000 rows or more shows a progress line on stderr when
    stderr is a terminal (or LIUBAO_PROGRESS is set); a small one does not."""
    lines = [MEMBER_HEADER]
    day0 = datetime.date(1950, 1, 1)
    for i in range(20500):
        birth = (day0 + datetime.timedelta(days=i // 100)).strftime("%Y%m%d")
        lines.append("P%05d,%s,一般农户,x,甲,%s,户主," % (
            i, VILLAGE, id_number("610926", birth, 2 * (i % 100) + 1)))
    f = write("progress.csv", "\n".join(lines) + "\n")
    db = fresh_db("progress.db")
    p = imp("members", f, db, "--dry-run", env={"LIUBAO_PROGRESS": "1"})
    eq(p.returncode, 0, "dry run\n" + p.stderr[-1500:])
    expect_in(p.stderr, "检查：20000 行（", what="progress line")
    p = imp("members", f, db, "--dry-run")
    if "检查：" in p.stderr:
        raise AssertionError("progress written to a non-terminal without LIUBAO_PROGRESS")


if __name__ == "__main__":
    run_tests(globals())
