#!/usr/bin/env python3
"""test_xlsx.py — Excel in and out: xlsx import of households and members
through the same checks as CSV (title rows, two-row merged headers, shared
and inline strings, dates stored as serials, numbers stored as text and text
stored as numbers, a 身份证号 Excel turned into a number, trailing empty
rows, near-miss code labels, broken files), the error report written back
into a copy of the workbook, layout profiles (the national layout built in,
a county's own saved by CLI and API), xlsx/CSV export round trips, the API
downloads (scope, permission, audit), and the printable notices.

Workbooks come from three independent writers: liubao itself
(base/xlsxw), LibreOffice (soffice --convert-to, from CSV), and the
minimal OOXML written by hand here (zipfile); LibreOffice also reads
liubao's workbooks back (tests/unit/test_xlsx.c adds libxlsxwriter's)."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (Server, cli, copy_db, eq, id_number, new_db, query, run_tests,  # noqa: E402
                 snapshot, tmp_path)

VILLAGE = "610926100001"      # 城关镇西城社区居委会 (610926100 城关镇)
SUMMARY = re.compile(r"新增 (\d+) 户 / (\d+) 人，更新 (\d+) 户 / (\d+) 人，未变 (\d+) 行")

_template = None
_demo = None


def fresh_db(name):
    """A new database with the 610926 regions (a copy of one made once)."""
    global _template
    if _template is None:
        _template = new_db("xlsx_template.db")
    return copy_db(_template, name)


def demo_db():
    """A small demo district, made once and never changed by the tests."""
    global _demo
    if _demo is None:
        _demo = new_db("xlsx_demo.db", demo=150, seed=3)
    return _demo


def summary(stderr):
    m = SUMMARY.findall(stderr)
    if len(m) != 1:
        raise AssertionError("no single summary line in:\n" + stderr[-2000:])
    return tuple(int(x) for x in m[0])


def imp(kind, path, db, *opts):
    return cli("import", kind, path, "--db", db, *opts)


def export_csv(kind, db, *opts):
    p = cli("export", kind, "--db", db, *opts, stdin=b"")
    eq(p.returncode, 0, "export exit (%s)" % p.stderr[-500:].decode("utf-8", "replace"))
    return p.stdout


def refused(p, before, db, what):
    if p.returncode != 1:
        raise AssertionError("%s: exit %d, want 1\n%s" % (what, p.returncode, p.stderr[-2000:]))
    if snapshot(db) != before:
        raise AssertionError("%s: database changed by a refused import" % what)


def expect_in(text, *parts, what=""):
    for part in parts:
        if part not in text:
            raise AssertionError("%s: %r not in:\n%s" % (what, part, text[-3000:]))


_seq = [0]


def person(sex, birth="19800101"):
    while True:
        _seq[0] += 1
        if (_seq[0] % 2 == 1) == (sex == "男"):
            return id_number("610926", birth, _seq[0] % 1000)


# ---- a minimal OOXML writer (the third, independent writer) -------------------------

class Num:
    """A number cell; style 'date' gives it the built-in date format 14."""

    def __init__(self, v, style=None):
        self.v, self.style = v, style


def col_name(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def make_xlsx(path, sheets, shared=True, date1904=False, merges=(), rph=False):
    """Write a workbook by hand.  `sheets` is [(name, rows)], a row a list of
    cells (None = no cell, str = text, int/float/Num = number) or
    ("row", n, cells) to place it on sheet row n.  Strings go to the shared
    table (with a phonetic run when `rph`) or inline.  `merges` are "A1:B2"
    ranges of the first sheet."""
    sst, sst_index = [], {}
    sheet_xml = []
    for si, (name, rows) in enumerate(sheets):
        out, rn = [], 0
        for row in rows:
            if isinstance(row, tuple) and row and row[0] == "row":
                rn, cells = row[1], row[2]
            else:
                rn, cells = rn + 1, row
            cx = []
            for ci, v in enumerate(cells):
                ref = "%s%d" % (col_name(ci), rn)
                if v is None:
                    continue
                if isinstance(v, str):
                    if shared:
                        if v not in sst_index:
                            sst_index[v] = len(sst)
                            sst.append(v)
                        cx.append('<c r="%s" t="s"><v>%d</v></c>' % (ref, sst_index[v]))
                    else:
                        cx.append('<c r="%s" t="inlineStr"><is><t xml:space="preserve">%s</t>'
                                  '</is></c>' % (ref, escape(v)))
                else:
                    n = v if isinstance(v, Num) else Num(v)
                    style = ' s="1"' if n.style == "date" else ""
                    cx.append('<c r="%s"%s><v>%s</v></c>' % (ref, style, repr(n.v)))
            out.append('<row r="%d">%s</row>' % (rn, "".join(cx)))
        mc = ""
        if si == 0 and merges:
            mc = '<mergeCells count="%d">%s</mergeCells>' % (
                len(merges), "".join('<mergeCell ref="%s"/>' % m for m in merges))
        sheet_xml.append(
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData>%s</sheetData>%s</worksheet>' % ("".join(out), mc))
    ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    wb = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
          'org/spreadsheetml/2006/main" xmlns:r="%s"><workbookPr%s/><sheets>%s</sheets>'
          '</workbook>' % (ns, ' date1904="1"' if date1904 else "", "".join(
              '<sheet name="%s" sheetId="%d" r:id="rId%d"/>' % (escape(n), i + 1, i + 1)
              for i, (n, _) in enumerate(sheets))))
    rels = "".join('<Relationship Id="rId%d" Type="%s/worksheet" Target="worksheets/sheet%d.xml"/>'
                   % (i + 1, ns, i + 1) for i in range(len(sheets)))
    k = len(sheets)
    rels += '<Relationship Id="rId%d" Type="%s/styles" Target="styles.xml"/>' % (k + 1, ns)
    if shared:
        rels += '<Relationship Id="rId%d" Type="%s/sharedStrings" Target="sharedStrings.xml"/>' % (
            k + 2, ns)
    styles = ('<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats'
              '.org/spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/>'
              '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>')
    phon = '<rPh sb="0" eb="1"><t>PINYIN</t></rPh>' if rph else ""
    sst_xml = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>' % (
                   len(sst), len(sst), "".join('<si><t xml:space="preserve">%s</t>%s</si>' % (
                       escape(s), phon) for s in sst)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"/>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                   'Type="%s/officeDocument" Target="xl/workbook.xml"/></Relationships>' % ns)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">%s</Relationships>' % rels)
        z.writestr("xl/styles.xml", styles)
        if shared:
            z.writestr("xl/sharedStrings.xml", sst_xml)
        for i, x in enumerate(sheet_xml):
            z.writestr("xl/worksheets/sheet%d.xml" % (i + 1), x)
    return path


def read_sheet(path, sheet=1):
    """{ref: (text, style)} of a workbook written by liubao (inline strings)."""
    with zipfile.ZipFile(path) as z:
        x = z.read("xl/worksheets/sheet%d.xml" % sheet).decode()
    cells = {}
    for m in re.finditer(r'<c r="([A-Z]+\d+)"((?: [a-z]+="[^"]*")*)(?:/>|>(.*?)</c>)', x):
        attrs = dict(re.findall(r'([a-z]+)="([^"]*)"', m.group(2)))
        inner = m.group(3) or ""
        t = re.search(r"<t[^>]*>(.*?)</t>", inner) or re.search(r"<v>(.*?)</v>", inner)
        text = t.group(1) if t else ""
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cells[m.group(1)] = (text, attrs.get("s"))
    return cells, x


def soffice(csv_path, outdir, text_columns=None):
    """Convert a UTF-8 CSV to xlsx with LibreOffice; `text_columns` (1-based)
    are imported as text, the rest as LibreOffice detects them."""
    spec = "44,34,76,1"
    if text_columns:
        spec += "," + "/".join("%d/2" % c for c in text_columns)
    profile = "file://" + tmp_path("lo-profile")
    subprocess.run(["soffice", "-env:UserInstallation=" + profile, "--headless",
                    "--infilter=CSV:" + spec, "--convert-to", "xlsx", "--outdir", outdir,
                    csv_path], check=True, capture_output=True, timeout=180)
    out = os.path.join(outdir, os.path.splitext(os.path.basename(csv_path))[0] + ".xlsx")
    assert os.path.exists(out), "soffice wrote no %s" % out
    return out


MEMBER_HEADER = ["户编号", "行政区划代码", "户类型", "家庭住址", "姓名", "证件号码", "与户主关系",
                 "出生日期", "健康状况", "联系电话"]


# ---- round trips ------------------------------------------------------------------------

def test_members_xlsx_export_import_round_trip_no_change():
    src = demo_db()
    n_hh, n_m = query(src, "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM member)")[0]
    book = tmp_path("rt_members.xlsx")
    cli("export", "members", "--db", src, "--output", book, check=0)
    with zipfile.ZipFile(book) as z:
        assert "xl/worksheets/sheet1.xml" in z.namelist(), z.namelist()
    cells, xml = read_sheet(book)
    eq(cells["A1"][0], "户编号", "header A1")
    eq(cells["I1"][0], "证件号码", "header I1")
    assert 'state="frozen"' in xml and 'ySplit="1"' in xml, "header row frozen"
    idn = query(src, "SELECT id_number FROM member m JOIN household h ON h.id = m.household_id "
                "ORDER BY h.village_code, h.hh_no, m.relation, m.id LIMIT 1")[0][0]
    eq(cells["I2"][0], idn, "身份证号 written in full as text")
    assert cells["I2"][1], "身份证号 cell has the text format"
    dst = fresh_db("rt_dst.db")
    p = imp("members", book, dst)
    eq(p.returncode, 0, "import exit\n" + p.stderr[-1500:])
    eq(summary(p.stderr)[:2], (n_hh, n_m), "all new")
    eq(export_csv("members", dst), export_csv("members", src), "same registry after the round trip")
    before = snapshot(dst)
    p = imp("members", book, dst)
    eq(p.returncode, 0, "second import")
    eq(summary(p.stderr), (0, 0, 0, 0, n_m), "re-import changes nothing")
    eq(snapshot(dst), before, "database unchanged by the re-import")


def test_households_xlsx_round_trip():
    src = demo_db()
    book = tmp_path("rt_households.xlsx")
    cli("export", "households", "--db", src, "--output", book, "--format", "xlsx", check=0)
    dst = fresh_db("rt_hh.db")
    p = imp("households", book, dst)
    eq(p.returncode, 0, "import\n" + p.stderr[-1500:])
    # the household columns match (head name and size come from members, absent here)
    a = query(src, "SELECT hh_no, village_code, address, phone, hh_type, relocated, "
              "relocation_site FROM household ORDER BY hh_no")
    b = query(dst, "SELECT hh_no, village_code, address, phone, hh_type, relocated, "
              "relocation_site FROM household ORDER BY hh_no")
    eq(b, a, "households round trip")


def test_libreoffice_workbook_reads_like_the_csv():
    """The CSV export converted by LibreOffice (IDs and codes as text) imports
    to the same registry as the CSV itself; converted with LibreOffice's own
    guesses, 身份证号 and 户编号 become numbers and the import is refused with
    the reason and nothing written."""
    if not shutil.which("soffice"):
        raise AssertionError("soffice missing: scripts/install-deps installs libreoffice-calc-nogui")
    src = demo_db()
    data = export_csv("members", src, "--under", "610926100")
    csv_path = tmp_path("lo_members.csv")
    with open(csv_path, "wb") as f:
        f.write(data)
    outdir = tmp_path("lo_text")
    os.makedirs(outdir, exist_ok=True)
    book = soffice(csv_path, outdir, text_columns=[1, 2, 5, 9, 12, 26])
    a, b = fresh_db("lo_csv.db"), fresh_db("lo_xlsx.db")
    p = imp("members", csv_path, a)
    eq(p.returncode, 0, "csv import\n" + p.stderr[-800:])
    p = imp("members", book, b)
    eq(p.returncode, 0, "LibreOffice workbook import\n" + p.stderr[-1500:])
    eq(export_csv("members", b), export_csv("members", a), "same as the CSV")
    # LibreOffice's guesses: numbers
    outdir2 = tmp_path("lo_guess")
    os.makedirs(outdir2, exist_ok=True)
    book2 = soffice(csv_path, outdir2)
    c = fresh_db("lo_guess.db")
    before = snapshot(c)
    p = imp("members", book2, c)
    refused(p, before, c, "numbers where text belongs")
    expect_in(p.stderr, "证件号码", "（I 列）", "Excel 把它存成了数字", "E+17", "文本",
              what="身份证号 stored as a number")
    errors = os.path.splitext(book2)[0] + ".errors.xlsx"
    assert os.path.exists(errors), "annotated copy written beside the workbook"
    # and the other way: LibreOffice reads liubao's workbook as the same table
    book3 = tmp_path("lo_back.xlsx")
    cli("export", "members", "--db", src, "--under", "610926100", "--output", book3, check=0)
    outdir3 = tmp_path("lo_back")
    os.makedirs(outdir3, exist_ok=True)
    subprocess.run(["soffice", "-env:UserInstallation=file://" + tmp_path("lo-profile"),
                    "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1",
                    "--outdir", outdir3, book3], check=True, capture_output=True, timeout=180)
    with open(os.path.join(outdir3, "lo_back.csv"), encoding="utf-8") as f:
        back = list(csv.reader(f))
    eq(back, list(csv.reader(io.StringIO(data.decode("utf-8-sig")))),
       "LibreOffice reads liubao's workbook as the CSV")


# ---- pathological workbooks ---------------------------------------------------------------

def family_rows():
    """Two households as the rows of a ledger, with the IDs used."""
    h1, s1, c1 = person("男", "19700305"), person("女", "19720611"), person("女", "20050102")
    h2 = person("男", "19650909")
    return [h1, s1, c1, h2]


def test_title_rows_merged_header_dates_and_numbers():
    """Two title rows, a header in two rows under a merged group title, 户编号
    merged down over its members, shared strings with phonetic runs, 出生日期
    as a date-formatted serial and as a bare serial, 户编号 and phone numbers
    stored as numbers, a code value with a trailing space, empty rows after
    the data: all read as a clerk means them."""
    h1, s1, c1, h2 = family_rows()
    rows = [
        ["城关镇西城社区防返贫监测户成员信息表"],
        ["填报单位：西城社区", None, None, None, None, "填报日期：2026年3月"],
        ["户编号", "行政区划代码", "户类型", "家庭成员信息", None, None, None, None, None, None],
        [None, None, None, "家庭住址", "姓名", "证件号码", "与户主关系", "出生日期", "健康状况",
         "联系电话"],
        [610926100001901, VILLAGE, "脱贫户", "西城社区1组", "张大山", h1, "户主",
         Num(25632, "date"), "健康", 13912345678],
        [None, VILLAGE, "脱贫户", "西城社区1组", "李秀英", s1, "配偶", Num(26461), "长期慢性病 ",
         None],
        [None, VILLAGE, "脱贫户", "西城社区1组", "张小红", c1, "之女", "2005-01-02", "健康", None],
        ["610926100001902", VILLAGE, "一般农户", "西城社区2组", "王老五", h2, "户主", "1965年9月9日",
         "残疾，长期慢性病", "13800001111"],
        ("row", 12, [None, None, None]),
        ("row", 13, []),
    ]
    book = make_xlsx(tmp_path("patho.xlsx"), [("成员", rows)], rph=True,
                     merges=["D3:J3", "A3:A4", "B3:B4", "C3:C4", "A5:A7"])
    db = fresh_db("patho.db")
    p = imp("members", book, db)
    eq(p.returncode, 0, "import\n" + p.stderr[-2000:])
    eq(summary(p.stderr)[:2], (2, 4), "two households, four members")
    got = query(db, "SELECT h.hh_no, m.name, m.birth_date, m.health, m.phone FROM member m JOIN "
                "household h ON h.id = m.household_id ORDER BY m.id")
    eq(got, [("610926100001901", "张大山", "1970-03-05", 1, "13912345678"),
             ("610926100001901", "李秀英", "1972-06-11", 2, ""),
             ("610926100001901", "张小红", "2005-01-02", 1, ""),
             ("610926100001902", "王老五", "1965-09-09", 10, "13800001111")], "members as meant")
    # the same rows as inline strings, in a 1904-date workbook, read the same
    rows[4][7] = Num(25632 - 1462, "date")
    rows[5][7] = Num(26461 - 1462)
    book2 = make_xlsx(tmp_path("patho1904.xlsx"), [("成员", rows)], shared=False, date1904=True,
                      merges=["D3:J3", "A3:A4", "B3:B4", "C3:C4", "A5:A7"])
    db2 = fresh_db("patho1904.db")
    p = imp("members", book2, db2)
    eq(p.returncode, 0, "1904 import\n" + p.stderr[-2000:])
    eq(query(db2, "SELECT h.hh_no, m.name, m.birth_date, m.health, m.phone FROM member m JOIN "
             "household h ON h.id = m.household_id ORDER BY m.id"), got, "1904 workbook")


def test_id_number_stored_as_number_and_near_misses():
    """A 身份证号 Excel turned into a number, a code label that is close but not
    valid, and a wrong check digit: refused with row, column and reason, the
    closest valid label suggested, nothing written; the annotated copy marks
    exactly those cells and names the problems in its last column."""
    h1, s1, c1, h2 = family_rows()
    rows = [["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "健康状况"],
            ["H901", VILLAGE, "张大山", float(h1[:17] + "1"), "户主", "健康"],
            ["H901", VILLAGE, "李秀英", s1, "配偶", "慢性病"],
            ["H901", VILLAGE, "张小红", c1, "之女", "健康"],
            ["H902", VILLAGE, "王老五", h2[:-1] + ("0" if h2[-1] != "0" else "1"), "户主", "健康"]]
    book = make_xlsx(tmp_path("bad.xlsx"), [("成员", rows)])
    db = fresh_db("bad.db")
    before = snapshot(db)
    p = imp("members", book, db)
    refused(p, before, db, "bad rows")
    expect_in(p.stderr, "第 2 行，列“证件号码”（D 列）", "Excel 把它存成了数字", "后面几位已丢失",
              "第 3 行，列“健康状况”（F 列），值“慢性病”", "是否应为“长期慢性病”",
              "第 5 行，列“证件号码”（D 列）", "校验位错误", "数据库未作任何修改",
              what="report")
    errors = tmp_path("bad.errors.xlsx")
    expect_in(p.stderr, errors, "红色", what="points at the annotated copy")
    cells, _ = read_sheet(errors)
    eq(cells["G1"][0], "错误原因（liubao 导入检查）", "note column header")
    bad = {ref for ref, (_, s) in cells.items() if s and ref[0] in "ABCDEF" and ref[1:] != "1"}
    red = {ref for ref in bad if cells[ref][1] == cells["D2"][1]}
    eq(red, {"D2", "F3", "D5"}, "exactly the bad cells are highlighted")
    expect_in(cells["G2"][0], "证件号码", "存成了数字", what="row 2 note")
    expect_in(cells["G3"][0], "健康状况", "长期慢性病", what="row 3 note")
    eq(cells["G4"][0], "本户其他行有错误，整户未导入", "row 4 note")
    expect_in(cells["G5"][0], "校验位错误", what="row 5 note")
    eq(cells["D3"][0], s1, "good values copied")
    # fixed in the copy (as a clerk would in Excel) the file imports
    fixed_rows = [r[:] for r in rows]
    fixed_rows[1][3] = h1
    fixed_rows[2][5] = "长期慢性病"
    fixed_rows[4][3] = h2
    p = imp("members", make_xlsx(tmp_path("fixed.xlsx"), [("成员", fixed_rows)]), db)
    eq(p.returncode, 0, "fixed file\n" + p.stderr[-1500:])
    eq(summary(p.stderr)[:2], (2, 4), "imported after the fix")


def test_skip_bad_and_dry_run_with_workbooks():
    h1, s1, c1, h2 = family_rows()
    rows = [["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系"],
            ["H911", VILLAGE, "张大山", h1, "户主"],
            ["H912", VILLAGE, "王老五", h2, "户主"],
            ["H912", VILLAGE, "李秀英", s1, "之母"]]   # a 之母 must be female: fine; 户主 male
    rows[3][4] = "之父"                                 # 之父 with a female ID: refused
    book = make_xlsx(tmp_path("skip.xlsx"), [("Sheet1", rows)])
    db = fresh_db("skip.db")
    before = snapshot(db)
    p = imp("members", book, db, "--dry-run")
    refused(p, before, db, "dry run with a bad row")
    p = imp("members", book, db, "--skip-bad", "--reject", tmp_path("skip.marked.xlsx"))
    eq(p.returncode, 0, "skip-bad\n" + p.stderr[-1500:])
    eq(summary(p.stderr)[:2], (1, 1), "the good household only")
    assert os.path.exists(tmp_path("skip.marked.xlsx")), "--reject names the annotated copy"
    eq(query(db, "SELECT hh_no FROM household"), [("H911",)], "H912 not written")


def test_broken_files_clear_errors_nothing_written():
    db = fresh_db("broken.db")
    before = snapshot(db)
    cases = []
    p = tmp_path("notzip.xlsx")
    with open(p, "w") as f:
        f.write("户编号,姓名\nH1,张三\n")
    cases.append((p, "不是 zip 格式"))
    good = make_xlsx(tmp_path("good.xlsx"), [("S", [["户编号", "行政区划代码"], ["H1", VILLAGE]])])
    with open(good, "rb") as f:
        data = f.read()
    p = tmp_path("truncated.xlsx")
    with open(p, "wb") as f:
        f.write(data[:len(data) * 2 // 3])
    cases.append((p, "不是 zip 格式"))
    p = tmp_path("badxml.xlsx")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(p, "w") as zout:
        for n in zin.namelist():
            d = zin.read(n)
            if n.endswith("sheet1.xml"):
                d = d.replace(b"</row></sheetData>", b"</sheetData>")
            zout.writestr(n, d)
    cases.append((p, "XML 格式错误"))
    p = tmp_path("old.xls")
    with open(p, "wb") as f:
        f.write(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    cases.append((p, "97-2003"))
    cases.append((good, "没有工作表“第九页”"))
    for path, want in cases:
        extra = ("--sheet", "第九页") if want.startswith("没有工作表") else ()
        r = imp("households", path, db, *extra)
        refused(r, before, db, path)
        expect_in(r.stderr, want, what=path)
        if "Traceback" in r.stderr or "AddressSanitizer" in r.stderr:
            raise AssertionError(r.stderr)
    r = imp("households", good, db, "--sheet", "第九页")
    expect_in(r.stderr, "有：S", what="lists the sheets")


def test_any_sheet_by_name_or_position():
    h1 = person("男", "19800101")
    rows = [["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系"], ["H921", VILLAGE, "赵一", h1, "户主"]]
    book = make_xlsx(tmp_path("sheets.xlsx"), [("说明", [["本表说明"]]), ("成员", rows)])
    db = fresh_db("sheets.db")
    p = imp("members", book, db)
    eq(p.returncode, 1, "first sheet has no header")
    expect_in(p.stderr, "找不到表头", what="first sheet")
    p = imp("members", book, db, "--sheet", "成员", "--dry-run")
    eq(p.returncode, 0, "by name\n" + p.stderr[-800:])
    p = imp("members", book, db, "--sheet", "2")
    eq(p.returncode, 0, "by position\n" + p.stderr[-800:])
    eq(query(db, "SELECT name FROM member"), [("赵一",)], "imported from sheet 2")


# ---- layout profiles --------------------------------------------------------------------------

def test_national_layout_profile_round_trip():
    """The national layout (title rows, header on row 3, region names instead
    of the village code) exports and imports back, with the profile named or
    found by itself."""
    src = demo_db()
    book = tmp_path("national.xlsx")
    cli("export", "members", "--db", src, "--profile", "national", "--output", book,
        "--under", "610926100", check=0)
    cells, _ = read_sheet(book)
    eq(cells["A1"][0], "全国防返贫监测信息系统　家庭成员基础信息", "title row")
    expect_in(cells["A2"][0], "导出范围：城关镇", what="second title row")
    eq([cells[c + "3"][0] for c in "ABCDEFG"], ["序号", "省", "市", "县", "乡", "村", "户编号"],
       "header on row 3")
    eq([cells[c + "4"][0] for c in "BCDE"], ["陕西省", "安康市", "平利县", "城关镇"], "names")
    want = export_csv("members", src, "--under", "610926100")
    for opts in (("--profile", "national"), ()):
        dst = fresh_db("nat_%d.db" % len(opts))
        p = imp("members", book, dst, *opts)
        eq(p.returncode, 0, "import %r\n%s" % (opts, p.stderr[-1500:]))
        eq(export_csv("members", dst), want, "same registry (%r)" % (opts,))
    p = cli("profile", "list", "--db", src, check=0)
    expect_in(p.stdout, "national", "liubao-members", "（内置）", what="profile list")


def test_user_profile_saved_by_cli_maps_county_headers():
    db = fresh_db("uprof.db")
    prof = {"name": "pingli-2024", "title": "平利县 2024 年摸排表", "kind": "members",
            "header_row": 2, "columns": [
                {"header": "农户编码", "field": "hh_no"}, {"header": "村代码", "field": "village_code"},
                {"header": "成员名字", "field": "name"}, {"header": "身份号码", "field": "id_number"},
                {"header": "关系", "field": "relation"}, {"header": "备注", "field": "ignore"}]}
    path = tmp_path("prof.json")
    with open(path, "w") as f:
        json.dump(prof, f, ensure_ascii=False)
    p = cli("profile", "save", path, "--db", db)
    eq(p.returncode, 0, "save\n" + p.stderr)
    h1 = person("男")
    rows = [["平利县防返贫摸排表"], ["农户编码", "村代码", "成员名字", "身份号码", "关系", "备注"],
            ["H931", VILLAGE, "钱二", h1, "户主", "新增"]]
    book = make_xlsx(tmp_path("county.xlsx"), [("摸排", rows)])
    before = snapshot(db)
    p = imp("members", book, db)
    refused(p, before, db, "without the profile the headers are unknown")
    p = imp("members", book, db, "--profile", "pingli-2024")
    eq(p.returncode, 0, "with the profile\n" + p.stderr[-1000:])
    eq(query(db, "SELECT name, id_number FROM member"), [("钱二", h1)], "mapped")
    # bad profiles are refused with the reason
    for bad, want in [(dict(prof, columns=[{"header": "x", "field": "nosuch"}]), "nosuch"),
                      (dict(prof, extra=1), "extra"), (dict(prof, kind="people"), "kind"),
                      (dict(prof, name="national"), "自带")]:
        with open(path, "w") as f:
            json.dump(bad, f, ensure_ascii=False)
        p = cli("profile", "save", path, "--db", db)
        eq(p.returncode, 1, "bad profile %r" % want)
        expect_in(p.stderr, want, what="bad profile")
    p = cli("profile", "delete", "national", "--db", db)
    eq(p.returncode, 1, "built-in cannot be deleted")
    p = cli("profile", "delete", "pingli-2024", "--db", db)
    eq(p.returncode, 0, "delete")
    eq(query(db, "SELECT count(*) FROM audit_log WHERE action LIKE 'cli profile %'")[0][0], 2,
       "save and delete audited")


# ---- the API ------------------------------------------------------------------------------------

def test_api_downloads_scope_permission_audit():
    db = copy_db(demo_db(), "api_dl.db")
    s = Server(db, role="admin", scope="610926")
    try:
        village = query(db, "SELECT min(village_code) FROM household")[0][0]
        clerk = s.make_user("dl.clerk", "village_clerk", village)
        dept = s.make_user("dl.dept", "dept_user", "610926")
        n_village = query(db, "SELECT count(*) FROM member m JOIN household h ON h.id = "
                          "m.household_id WHERE h.village_code = ?", (village,))[0][0]
        st, body, h = s.get("/api/v1/export/members", token=clerk, raw=True)
        eq(st, 200, "clerk download")
        eq(h["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "xlsx type")
        expect_in(h["content-disposition"], "attachment", ".xlsx", village, what="file name")
        path = tmp_path("dl.xlsx")
        with open(path, "wb") as f:
            f.write(body)
        cells, xml = read_sheet(path)
        eq(len(re.findall(r"<row ", xml)) - 1, n_village, "only the clerk's village")
        full = [v for ref, (v, _) in cells.items() if ref.startswith("I") and ref != "I1"]
        assert all(len(x) == 18 and "*" not in x for x in full), "full 身份证号 (person.id_full)"
        st, body, h = s.get("/api/v1/export/members?format=csv&region=" + village[:9],
                            token=clerk, raw=True)
        eq(st, 200, "a region above the scope narrows to the scope")
        eq(body.decode("utf-8-sig").count("\n") - 1, n_village, "csv rows")
        st, b, _ = s.get("/api/v1/export/members?region=610926999", token=clerk)
        eq((st, b["error"]["code"]), (404, "E_NOT_FOUND"), "outside the scope")
        for bad in ("format=pdf", "region=61x", "colour=1", "profile=nosuch"):
            st, b, _ = s.get("/api/v1/export/households?" + bad, token=clerk)
            eq(st, 400, "bad parameter %s: %s" % (bad, b))
        st, b, _ = s.get("/api/v1/export/members", token=dept)
        eq((st, b["error"]["code"]), (403, "E_FORBIDDEN"), "no export permission")
        st, body, _ = s.get("/api/v1/export/members?profile=national", raw=True)
        eq(st, 200, "national layout by API")
        rows = query(db, "SELECT detail FROM audit_log WHERE action = 'GET /api/v1/export/members' "
                     "AND status = 200 ORDER BY id")
        eq(len(rows), 3, "every download audited")
        expect_in(rows[0][0], "导出家庭成员 %d 行" % n_village, "Excel", "完整身份证号",
                  what="audit detail")
        expect_in(rows[2][0], "布局方案 national", what="audit names the profile")
        # profiles over the API
        prof = {"title": "测试方案", "kind": "households",
                "columns": [{"header": "编号", "field": "hh_no"},
                            {"header": "村码", "field": "village_code"}]}
        before = snapshot(db)
        st, b, _ = s.put("/api/v1/layout-profiles/national", dict(prof), token=clerk)
        eq((st, b["error"]["code"]), (409, "E_BUILTIN"), "built-in profile")
        st, b, _ = s.put("/api/v1/layout-profiles/t1", dict(prof, bogus=1), token=clerk)
        eq(st, 400, "unknown field: %s" % b)
        st, b, _ = s.put("/api/v1/layout-profiles/t1", dict(prof, name="t2"), token=clerk)
        eq(st, 400, "name differs from the path: %s" % b)
        eq(snapshot(db), before, "refused saves write nothing")
        st, b, _ = s.put("/api/v1/layout-profiles/t1", prof, token=clerk)
        eq(st, 201, "saved: %s" % b)
        st, b, _ = s.get("/api/v1/layout-profiles", token=dept)
        eq(st, 200, "list")
        assert [p["name"] for p in b["items"]][-1] == "t1", b
        st, b, _ = s.get("/api/v1/layout-profiles/t1", token=dept)
        eq((st, b["columns"][0]["header"]), (200, "编号"), "get")
        st, b, _ = s.put("/api/v1/layout-profiles/t1", prof, token=dept)
        eq(st, 403, "dept user cannot save")
        st, body, _ = s.get("/api/v1/export/households?format=csv&profile=t1", token=clerk,
                            raw=True)
        eq(body.decode("utf-8-sig").splitlines()[0], "编号,村码", "export in the saved layout")
        st, b, _ = s.delete("/api/v1/layout-profiles/t1", token=clerk)
        eq(st, 200, "deleted")
        st, b, _ = s.get("/api/v1/layout-profiles/t1", token=clerk)
        eq(st, 404, "gone")
    finally:
        s.stop()


def test_monitoring_lists_export():
    """监测对象, 帮扶措施 and 风险线索 as Excel from the command line and the API:
    one row per record of the caller's region, Chinese headers, masked or
    full 身份证号 by permission, audited."""
    src = demo_db()
    for name, table, header in (("monitored", "monitored", "监测对象类别"),
                                ("measures", "measure", "措施类别"),
                                ("alerts", "alert", "发现渠道")):
        book = tmp_path("list_%s.xlsx" % name)
        p = cli("export", name, "--db", src, "--output", book)
        eq(p.returncode, 0, "export %s: %s" % (name, p.stderr))
        cells, xml = read_sheet(book)
        n = query(src, "SELECT count(*) FROM %s" % table)[0][0]
        eq(len(re.findall(r"<row ", xml)) - 1, n, "%s rows" % name)
        assert header in [v for v, _ in cells.values()], "%s header" % name
        p = cli("export", name, "--db", src, "--profile", "national", stdin=b"")
        eq(p.returncode, 2, "profiles are for the registry only")
    db = copy_db(src, "lists_api.db")
    s = Server(db, role="admin", scope="610926")
    try:
        town = query(db, "SELECT substr(h.village_code, 1, 9) FROM monitored m JOIN household h "
                     "ON h.id = m.household_id GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
        tok = s.make_user("list.town", "township_reviewer", town)
        st, body, h = s.get("/api/v1/export/monitored?format=csv", token=tok, raw=True)
        eq(st, 200, "monitored csv")
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        n = query(db, "SELECT count(*) FROM monitored m JOIN household h ON h.id = "
                  "m.household_id WHERE h.village_code LIKE ?", (town + "%",))[0][0]
        eq(len(rows) - 1, n, "the township's monitored households")
        eq(rows[0][:5], ["户编号", "乡（镇）", "村（社区）", "户主姓名", "户主身份证号"], "header")
        assert all(len(r[4]) == 18 and "*" not in r[4] for r in rows[1:]), "full IDs"
        st, b, _ = s.get("/api/v1/export/alerts?region=610926100", token=tok)
        eq(st, 404 if not "610926100".startswith(town) else 200, "other township")
        st, b, _ = s.get("/api/v1/export/measures?format=ods", token=tok)
        eq(st, 400, "bad format")
        eq(query(db, "SELECT count(*) FROM audit_log WHERE action = 'GET /api/v1/export/monitored' "
                 "AND status = 200")[0][0], 1, "audited")
    finally:
        s.stop()


def test_web_upload_of_a_workbook():
    """POST /api/v1/imports takes an Excel workbook as well as CSV: the same
    checks, limited to the uploader's scope, the problems listed by row."""
    h1, s1, c1, h2 = family_rows()
    db = fresh_db("upload.db")
    s = Server(db, role="admin", scope="610926")
    try:
        clerk = s.make_user("up.clerk", "village_clerk", VILLAGE)
        good = [["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "健康状况"],
                ["H961", VILLAGE, "张大山", h1, "户主", "长期慢性病 "],
                ["H961", VILLAGE, "李秀英", s1, "配偶", "健康"]]
        with open(make_xlsx(tmp_path("up.xlsx"), [("成员", good)]), "rb") as f:
            body = f.read()
        st, b, _ = s.request("POST", "/api/v1/imports?kind=members", body, token=clerk,
                             headers={"Content-Type": "application/vnd.openxmlformats-"
                                      "officedocument.spreadsheetml.sheet"})
        eq(st, 200, "upload: %s" % b)
        eq(query(db, "SELECT name FROM member ORDER BY id"), [("张大山",), ("李秀英",)], "imported: %s" % b)
        bad = [good[0], ["H962", "610926100002", "王老五", h2, "户主", "健康"],
               ["H963", VILLAGE, "张小红", c1, "户主", "慢性病"]]
        before = snapshot(db)
        with open(make_xlsx(tmp_path("up_bad.xlsx"), [("成员", bad)]), "rb") as f:
            body = f.read()
        st, b, _ = s.request("POST", "/api/v1/imports?kind=members", body, token=clerk)
        eq(snapshot(db), before, "refused upload writes nothing")
        text = json.dumps(b, ensure_ascii=False)
        expect_in(text, "不在您的管辖范围内", "长期慢性病", what="problems of the upload")
        # the annotated copy of the uploaded workbook, for its uploader only
        url = b["result"]["annotated_url"]
        eq(url, "/api/v1/imports/%d/annotated.xlsx" % b["id"], "annotated_url")
        st, body, h = s.get(url, token=clerk, raw=True)
        eq(st, 200, "annotated download: %s" % body[:300])
        eq(h["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "xlsx type")
        expect_in(h["content-disposition"], "attachment", "import-%d-errors.xlsx" % b["id"],
                  what="file name")
        path = tmp_path("up_bad.errors.xlsx")
        with open(path, "wb") as f:
            f.write(body)
        cells, _ = read_sheet(path)
        eq(cells["G1"][0], "错误原因（liubao 导入检查）", "note column header")
        red = {ref for ref, (_, st_) in cells.items()
               if st_ and ref[0] in "ABCDEF" and ref[1:] != "1"}
        eq(red, {"B2", "F3"}, "the out-of-scope village and the near-miss label are marked")
        expect_in(cells["G2"][0], "不在您的管辖范围内", what="row 2 note")
        expect_in(cells["G3"][0], "长期慢性病", what="row 3 note")
        eq((cells["D2"][0], cells["D3"][0]), (h2, c1), "the file's values copied")
        rows = query(db, "SELECT detail, target_type, target_id FROM audit_log WHERE action = "
                     "'GET /api/v1/imports/:id/annotated.xlsx' ORDER BY id")
        eq(len(rows), 1, "the download is audited: %s" % rows)
        expect_in(rows[0][0], "下载标注错误的工作簿", "2 行中 2 行有错误", what="audit detail")
        eq(rows[0][1:], ("import", b["id"]), "audit target")
        # another user of the same village, an unknown job, a bad parameter, no permission
        other = s.make_user("up.other", "village_clerk", VILLAGE)
        dept = s.make_user("up.dept", "dept_user", "610926")
        st, e, _ = s.get(url, token=other)
        eq((st, e["error"]["code"]), (404, "E_NOT_FOUND"), "someone else's job")
        st, e, _ = s.get("/api/v1/imports/99999/annotated.xlsx", token=clerk)
        eq(st, 404, "no such job")
        st, e, _ = s.get(url + "?full=1", token=clerk)
        eq(st, 400, "unknown parameter: %s" % e)
        st, e, _ = s.get(url, token=dept)
        eq((st, e["error"]["code"]), (403, "E_FORBIDDEN"), "no import permission")
        # a good workbook and a bad CSV have no annotated copy
        st, b2, _ = s.request("POST", "/api/v1/imports?kind=members&dry_run=1",
                              open(tmp_path("up.xlsx"), "rb").read(), token=clerk)
        eq((st, b2["result"]["annotated_url"]), (200, None), "a good workbook")
        st, e, _ = s.get("/api/v1/imports/%d/annotated.xlsx" % b2["id"], token=clerk)
        eq(st, 404, "no copy for a good workbook")
        csv_bad = "户编号,行政区划代码,姓名,证件号码,与户主关系\nH964,%s,赵六,123,户主\n" % VILLAGE
        st, b3, _ = s.request("POST", "/api/v1/imports?kind=members", csv_bad.encode(),
                              token=clerk)
        eq((b3["result"]["bad_rows"], b3["result"]["annotated_url"]), (1, None), "a CSV")
        eq(query(db, "SELECT count(*) FROM member"), [(2,)], "nothing written since")
    finally:
        s.stop()


# ---- printable notices -------------------------------------------------------------------------

def test_village_notice_and_county_announcement():
    db = copy_db(demo_db(), "notice.db")
    village = query(db, "SELECT village_code FROM household WHERE village_code LIKE '610926100%' "
                    "GROUP BY village_code ORDER BY count(*) DESC, village_code LIMIT 1")[0][0]
    hh, head, head_id = query(
        db, "SELECT h.id, m.name, m.id_number FROM household h JOIN member m ON m.household_id = "
        "h.id AND m.relation = 1 WHERE h.village_code = ? AND NOT EXISTS (SELECT 1 FROM monitored "
        "x WHERE x.household_id = h.id) AND NOT EXISTS (SELECT 1 FROM monitor_case c WHERE "
        "c.household_id = h.id) AND NOT EXISTS (SELECT 1 FROM alert a WHERE a.household_id = "
        "h.id) ORDER BY h.id LIMIT 1", (village,))[0]
    servers = []

    def server(today):
        for x in servers:
            x.stop()
        servers.clear()
        x = Server(db, login=None, env={"LIUBAO_TODAY": today})
        servers.append(x)
        return x

    s = server("2026-03-02")
    tok = {"clerk": s.make_user("n.clerk", "village_clerk", village),
           "town": s.make_user("n.town", "township_reviewer", village[:9]),
           "county": s.make_user("n.county", "county_approver", "610926"),
           "other": s.make_user("n.other", "village_clerk", "610926102001")}
    try:
        def act(case, who, action, record):
            st, b, _ = s.post("/api/v1/cases/%d/%s" % (case, action), record, token=tok[who])
            eq(st, 200, "%s by %s: %s" % (action, who, b))

        st, b, _ = s.post("/api/v1/households/%d/applications" % hh,
                          {"reason": "申请纳入监测", "risk_types": ["因病"]}, token=tok["clerk"])
        eq(st, 201, "application: %s" % b)
        st, b, _ = s.post("/api/v1/alerts/%d/case" % b["alert_id"], None, token=tok["clerk"])
        eq(st, 201, "case: %s" % b)
        case = b["id"]
        act(case, "clerk", "advance", {"note": "入户核查属实"})
        act(case, "town", "advance", {"note": "比对无异常"})
        act(case, "clerk", "advance", {"minutes": "村民代表 12 人同意"})
        url = "/api/v1/public-notice?region=%s&kind=identify&phone=0915-8421234" % village
        st, html, h = s.get(url, token=tok["clerk"])
        eq(st, 200, "village notice")
        expect_in(h["content-type"], "text/html", what="type")
        masked = head_id[:6] + "********" + head_id[-4:]
        expect_in(html, "@page", "size: A4", "识别纳入公示", head, masked, "因病",
                  "公示时间：2026年3月2日至2026年3月6日（共 5 天）", "监督电话：0915-8421234",
                  what="notice")
        assert head_id not in html, "full 身份证号 on a public notice"
        st, html, _ = s.get("/api/v1/public-notice?region=%s&kind=eliminate" % village,
                            token=tok["clerk"])
        expect_in(html, "目前没有处于“村内公示”环节的户", what="empty notice")
        st, html, _ = s.get(url.replace("&phone=0915-8421234", ""), token=tok["clerk"])
        expect_in(html, '监督电话：<span class="blank"></span>', what="a line to fill in")
        st, b, _ = s.get(url, token=tok["other"])
        eq((st, b["error"]["code"]), (404, "E_NOT_FOUND"), "another village's clerk")
        for bad, code, who in (("region=%s&kind=x" % village, 400, "clerk"),
                               ("region=%s&kind=identify" % village[:9], 400, "town"),
                               ("region=610926102001&kind=identify", 404, "clerk"),
                               ("region=%s&phone=abc" % village, 400, "clerk"),
                               ("region=%s&x=1" % village, 400, "clerk")):
            st, b, _ = s.get("/api/v1/public-notice?" + bad, token=tok[who])
            eq(st, code, "%s as %s: %s" % (bad, who, b))
        n = query(db, "SELECT count(*) FROM audit_log WHERE action = 'GET /api/v1/public-notice' "
                  "AND status = 200")[0][0]
        eq(n, 3, "printed notices audited")
        s = server("2026-03-07")
        act(case, "clerk", "advance", {"objections": "无异议"})
        act(case, "town", "advance", {"note": "同意"})
        act(case, "county", "advance", {"note": "同意", "category": "边缘易致贫户",
                                        "risk_types": ["因病"], "contact_name": "张三",
                                        "contact_phone": "13800001111"})
        st, b, _ = s.post("/api/v1/notices", {"case_ids": [case], "phone": "0915-8420000"},
                          token=tok["county"])
        eq(st, 201, "publish the 公告: %s" % b)
        ann = "/api/v1/notices/%d/print" % b["id"]
        st, html, h = s.get(ann, token=tok["county"])
        eq(st, 200, "announcement")
        expect_in(h["content-type"], "text/html", what="type")
        expect_in(html, "城关镇关于2026年第1批防止返贫监测对象识别纳入结果的公告", head, masked,
                  "边缘易致贫户", "因病", "识别纳入防返贫监测对象的 1 户", "城关镇人民政府",
                  "监督电话：0915-8420000", "2026年3月7日", "size: A4", what="announcement")
        assert head_id not in html, "full 身份证号 on a public notice"
        st, html, _ = s.get(ann, token=tok["clerk"])
        eq(st, 200, "the village's clerk prints it too")
        st, b, _ = s.get(ann, token=tok["other"])
        eq((st, b["error"]["code"]), (404, "E_NOT_FOUND"), "no household of theirs")
        st, b, _ = s.get("/api/v1/notices/999999/print", token=tok["county"])
        eq(st, 404, "no such notice")
        st, b, _ = s.get(ann + "?x=1", token=tok["county"])
        eq(st, 400, "unknown parameter")
    finally:
        for x in servers:
            x.stop()


run_tests(globals())
