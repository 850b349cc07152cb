"""scale_queries.py — per-county queries of bench/scale.sh, timed on SQLite
and PostgreSQL over the same data.

They stand in for the monitoring screening and the data-quality checks of
the domain brief (§2.3): each takes one county (a 12-digit region-code range,
lo <= village_code < lo || ':') and returns a small result, as the screening
of one county does.  Run one county at a time (sequential) and all counties
with 2 workers (the machine has 2 cores), on both databases.

Usage: scale_queries.py --sqlite FILE --pg URL COUNTY...
"""
import argparse
import multiprocessing
import sqlite3
import statistics
import time

import psycopg2

AS_OF = "2026-01-01"  # fixed reference date for ages
AGE16 = "2010-01-01"  # born after: younger than 16 on AS_OF
AGE60 = "1966-01-01"  # born before: 60 or older

# name -> (what it stands for, SQL with ? for lo, hi)
QUERIES = {
    "aggregates": (
        "县级汇总：户数、人数、脱贫户、劳动力、低保/特困人数",
        "SELECT count(DISTINCT h.id), count(*), "
        "sum(CASE WHEN h.hh_type = 1 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN m.labor_skill IN (1, 2) THEN 1 ELSE 0 END), "
        "sum(CASE WHEN m.dibao = 1 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN m.tekun = 1 THEN 1 ELSE 0 END) "
        "FROM household h JOIN member m ON m.household_id = h.id "
        "WHERE h.village_code >= ? AND h.village_code < ?"),
    "per_village": (
        "按村汇总（仪表盘）：每村户数、人数、无劳动力户数",
        "SELECT village_code, count(*), sum(n), sum(CASE WHEN workers = 0 THEN 1 ELSE 0 END) "
        "FROM (SELECT h.id, h.village_code, count(*) AS n, "
        "sum(CASE WHEN m.labor_skill IN (1, 2, 3) THEN 1 ELSE 0 END) AS workers "
        "FROM household h JOIN member m ON m.household_id = h.id "
        "WHERE h.village_code >= ? AND h.village_code < ? GROUP BY h.id, h.village_code) x "
        "GROUP BY village_code ORDER BY village_code"),
    "screen_risk": (
        "监测筛查替身：整户无劳动力，或有大病成员而未享受低保",
        "SELECT count(*) FROM (SELECT h.id FROM household h JOIN member m ON "
        "m.household_id = h.id WHERE h.village_code >= ? AND h.village_code < ? "
        "GROUP BY h.id HAVING sum(CASE WHEN m.labor_skill IN (1, 2) THEN 1 ELSE 0 END) = 0 "
        "OR (max(coalesce(m.health, 0) & 4) > 0 AND max(coalesce(m.dibao, 0)) = 0)) x"),
    "dq_heads": (
        "数据质量：户主不是恰好一人（C4 #05–07）",
        "SELECT count(*) FROM (SELECT h.id FROM household h LEFT JOIN member m ON "
        "m.household_id = h.id AND m.relation = 1 WHERE h.village_code >= ? AND "
        "h.village_code < ? GROUP BY h.id HAVING count(m.id) <> 1) x"),
    "dq_spouse_sex": (
        "数据质量：户主与配偶同性别（C4 #28, 2_02_001）",
        "SELECT count(*) FROM household h JOIN member a ON a.household_id = h.id AND "
        "a.relation = 1 JOIN member b ON b.household_id = h.id AND b.relation = 2 "
        "WHERE h.village_code >= ? AND h.village_code < ? AND a.sex = b.sex"),
    "dq_labour_age": (
        "数据质量：16岁以下非无劳动力（2_01_011），16–60岁健康非在校却无/弱劳动力（5_12_008）",
        "SELECT sum(CASE WHEN m.birth_date > '" + AGE16 + "' AND m.labor_skill <> 5 "
        "THEN 1 ELSE 0 END), sum(CASE WHEN m.birth_date <= '" + AGE16 + "' AND "
        "m.birth_date > '" + AGE60 + "' AND m.health = 1 AND m.school_status IS NULL AND "
        "m.labor_skill IN (3, 5) THEN 1 ELSE 0 END) FROM household h JOIN member m ON "
        "m.household_id = h.id WHERE h.village_code >= ? AND h.village_code < ?"),
    "dq_student_work_ins": (
        "数据质量：在校生务工（4_01_006）；城乡居民与职工医保都有或都没有（2_01_008/009）",
        "SELECT sum(CASE WHEN m.school_status IS NOT NULL AND m.work_status BETWEEN 1 AND 5 "
        "THEN 1 ELSE 0 END), sum(CASE WHEN coalesce(m.ins_resident_med, 0) = "
        "coalesce(m.ins_employee_med, 0) THEN 1 ELSE 0 END) FROM household h JOIN member m "
        "ON m.household_id = h.id WHERE h.village_code >= ? AND h.village_code < ?"),
}


def connect(kind, target):
    if kind == "sqlite":
        return sqlite3.connect(target)
    return psycopg2.connect(target)


def run_one(kind, target, name, county):
    """Time query `name` for one county; returns (seconds, first row)."""
    con = connect(kind, target)
    sql = QUERIES[name][1]
    if kind == "postgresql":
        sql = sql.replace("?", "%s")
    lo = county.ljust(12, "0")[:6]
    t0 = time.perf_counter()
    cur = con.cursor()
    cur.execute(sql, (lo, lo + ":"))
    rows = cur.fetchall()
    dt = time.perf_counter() - t0
    con.close()
    return dt, rows[0] if rows else None


def _job(args):
    return run_one(*args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite")
    ap.add_argument("--pg")
    ap.add_argument("counties", nargs="+")
    a = ap.parse_args()
    dbs = [("sqlite", a.sqlite), ("postgresql", a.pg)]
    print("| query | what | SQLite per county (median / max) | SQLite 10 counties, 2 workers | "
          "PostgreSQL per county (median / max) | PostgreSQL 10 counties, 2 workers |")
    print("|---|---|---|---|---|---|")
    results = {}
    for name, (what, _) in QUERIES.items():
        cells = []
        for kind, target in dbs:
            run_one(kind, target, name, a.counties[0])  # warm the cache once
            seq = [run_one(kind, target, name, c) for c in a.counties]
            times = [t for t, _ in seq]
            results[(kind, name)] = [r for _, r in seq]
            t0 = time.perf_counter()
            with multiprocessing.Pool(2) as pool:
                pool.map(_job, [(kind, target, name, c) for c in a.counties])
            par = time.perf_counter() - t0
            cells.append("%.2f s / %.2f s" % (statistics.median(times), max(times)))
            cells.append("%.1f s (sequential %.1f s)" % (par, sum(times)))
        print("| %s | %s | %s |" % (name, what, " | ".join(cells)))
    # both databases must give the same answers
    for name in QUERIES:
        s, p = results[("sqlite", name)], results[("postgresql", name)]
        norm = [[tuple(int(v) if v is not None else None for v in (r or ())) for r in x]
                for x in (s, p)]
        print("%s: %s" % (name, "same results on both" if norm[0] == norm[1]
                          else "RESULTS DIFFER: %s vs %s" % (s[:2], p[:2])))
    print("first county (%s) results: %s" % (a.counties[0], {
        n: results[("postgresql", n)][0] for n in QUERIES if n != "per_village"}))


if __name__ == "__main__":
    main()
