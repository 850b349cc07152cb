"""test_income_import.py — the income ledger from a township's file
(`liubao import income FILE`): CSV and Excel, title rows, amounts in 元 with
thousands commas, item labels and codes, every kind of bad row reported by
its line with nothing written, duplicates within the file, a re-import that
changes nothing, the dry run, and the audit row."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import cli, eq, new_db, query, run_tests, sheet_xlsx, snapshot, tmp_path  # noqa: E402

_db = None


def db():
    global _db
    if _db is None:
        _db = new_db("income.db", demo=4)
    return _db


def households(n):
    return [r[0] for r in query(db(), "SELECT hh_no FROM household ORDER BY id LIMIT %d" % n)]


def ledger(hh_no, year):
    return query(db(), "SELECT i.item, i.amount, i.note FROM income_item i JOIN household h ON "
                 "h.id = i.household_id WHERE h.hh_no = ? AND i.year = ? ORDER BY i.item",
                 (hh_no, year))


def write(name, text):
    path = tmp_path(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def test_csv_with_title_rows_replaces_the_ledgers_it_names():
    a, b = households(2)
    path = write("ok.csv", "平利县 2025 年收入台账\n\n户编号,年度,收入项目,金额（元）,说明\n"
                 '%s,2025,务工收入,"12,000.50",外出务工\n%s,2025,402,3600,\n'
                 "%s,2025,种植业收入,800,茶叶\n" % (a, a, b))
    p = cli("import", "income", path, "--db", db(), check=0)
    assert "2 户·年度，3 个收入项目" in p.stdout, p.stdout
    eq(ledger(a, 2025), [(101, 1200050, "外出务工"), (402, 360000, "")], "household a")
    eq(ledger(b, 2025), [(201, 80000, "茶叶")], "household b")
    summary = query(db(), "SELECT s.wage, s.transfer FROM income_summary s JOIN household h ON "
                    "h.id = s.household_id WHERE h.hh_no = ? AND s.year = 2025", (a,))
    eq(summary, [(1200050, 360000)], "the summary row follows")
    # the same file again: nothing changes (but the audit log)
    before = snapshot(db())
    p = cli("import", "income", path, "--db", db(), check=0)
    assert "其中 2 户·年度与已有台账相同，未改动" in p.stdout, p.stdout
    eq(snapshot(db()), before, "re-import changes nothing")
    audit = query(db(), "SELECT count(*) FROM audit_log WHERE action = 'import' AND "
                  "target_type = 'income'")
    eq(audit, [(2,)], "each import audited")


def test_excel_workbook_and_dry_run():
    (a,) = households(1)
    path = tmp_path("income.xlsx")
    sheet_xlsx(path, [
        (1, ["收入台账（Excel）"]),
        (2, ["户编号", "年度", "收入项目", "金额（元）", "说明"]),
        (3, [a, 2024, "养老保险金", 1800.5, "城乡居民养老"]),
        (4, [a, 2024, "林果业收入", 2400, None]),
    ])
    before = snapshot(db())
    p = cli("import", "income", path, "--db", db(), "--dry-run", check=0)
    assert "试运行" in p.stdout and "1 户·年度，2 个收入项目" in p.stdout, p.stdout
    eq(snapshot(db()), before, "dry run writes nothing")
    cli("import", "income", path, "--db", db(), check=0)
    eq(ledger(a, 2024), [(203, 240000, ""), (404, 180050, "城乡居民养老")], "from the workbook")


def test_bad_rows_are_named_and_nothing_is_written():
    a, b = households(2)
    path = write("bad.csv", "户编号,年度,收入项目,金额,说明\n"
                 "%s,2025,务工收入,12000.505,\n"
                 "9999,2025,低保,1,\n"
                 "%s,20x5,种植业收入,-5,\n"
                 "%s,2025,养殖业收入,5,\n"
                 "%s,2025,养殖业收入,6,\n" % (a, b, b, b))
    before = snapshot(db())
    p = cli("import", "income", path, "--db", db(), check=1)
    for text in ("第 2 行：金额应为不小于 0 的元数（最多两位小数），而不是“12000.505”",
                 "第 3 行：户编号“9999”不在户籍中",
                 "第 3 行：收入项目“低保”不在代码表中，是否为“低保金”？",
                 "第 4 行：年度应为 2010 到 2100 的年份，而不是“20x5”",
                 "第 4 行：金额应为不小于 0 的元数",
                 "第 6 行：2025 年的收入项目“养殖业收入”与第 5 行重复",
                 "未写入任何数据"):
        assert text in p.stderr, (text, p.stderr)
    eq(snapshot(db()), before, "nothing written")
    # no header, an empty file, a file that is not there, a broken workbook
    for name, text, want in (("nohead.csv", "a,b,c\n1,2,3\n", "找不到表头"),
                             ("empty.csv", "户编号,年度,收入项目,金额\n", "没有数据行")):
        p = cli("import", "income", write(name, text), "--db", db(), check=1)
        assert want in p.stderr, (want, p.stderr)
    p = cli("import", "income", "/nonexistent.csv", "--db", db(), check=1)
    assert "无法读取文件" in p.stderr, p.stderr
    broken = tmp_path("broken.xlsx")
    with open(broken, "wb") as f:
        f.write(b"PK\x03\x04" + b"\0" * 40)
    p = cli("import", "income", broken, "--db", db(), check=1)
    assert p.stderr.strip(), "a broken workbook names the problem"
    eq(snapshot(db()), before, "still nothing written")


run_tests(globals())
