#!/usr/bin/env python3
"""feed_gen.py DB ROWS OUT — a 医保 settlement file of ROWS rows for
bench/feed.sh: people drawn from the registry in DB (80%) or from a pool of
100,000 people of another county (20%: a county's file also names people
the rural registry does not hold), one settlement line per row with dates,
hospital, total cost and self-pay (mostly small, a few large, so that a
realistic 1–3% of people cross the thresholds).  Deterministic (seeded)."""
import random
import sqlite3
import sys

db, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(2026)
con = sqlite3.connect(db)
people = con.execute("SELECT id_number, name FROM member ORDER BY id").fetchall()
con.close()
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def stranger():
    s17 = "610925%04d%02d%02d%03d" % (rng.randint(1940, 2010), rng.randint(1, 12),
                                      rng.randint(1, 28), rng.randint(0, 999))
    return s17 + "10X98765432"[sum(int(c) * w for c, w in zip(s17, W)) % 11], "外县人员"


hospitals = ["平利县医院", "平利县中医医院", "安康市中心医院", "老县镇卫生院"]
# a pool of strangers reused, as a real county file repeats people
strangers = [stranger() for _ in range(100000)]
with open(out, "w", encoding="utf-8", newline="") as f:
    f.write("身份证号,姓名,入院日期,出院日期,医疗机构,总费用,个人自付\n")
    buf = []
    n = len(people)
    for i in range(rows):
        idn, name = people[rng.randrange(n)] if rng.random() < 0.8 else strangers[rng.randrange(100000)]
        m = rng.randint(1, 12)
        d = rng.randint(1, 20)
        total = rng.randint(200, 6000) if rng.random() < 0.995 else rng.randint(20000, 150000)
        buf.append("%s,%s,2025-%02d-%02d,2025-%02d-%02d,%s,%d,%d\n" % (
            idn, name, m, d, m, d + rng.randint(1, 8), hospitals[i & 3], total,
            total * rng.randint(2, 30) // 100))
        if len(buf) >= 100000:
            f.write("".join(buf))
            buf.clear()
    f.write("".join(buf))
