"""test_crash.py — crash safety (issue 9): SIGKILL `liubao` at random
moments and prove that nothing acknowledged is lost and nothing half-written
is visible.

  * import: a registry file of ~10,000 members (~4,000 on
    PostgreSQL, where each load costs more) is imported over and over,
    alternating between two versions (A, then B = A with every address
    changed, then A again...), and the importing process is killed at a
    random moment of its run.  After each kill the registry's content is
    exactly the state before the import or exactly the file's state (all or
    nothing per file), the number of audited imports matches the changes
    that committed (the audit row commits with the data), SQLite's PRAGMA
    integrity_check says ok, and running the same import again succeeds and
    gives the file's state.
  * API writes: three writers create households and visits through the API
    as fast as they can; the server is killed at a random moment and
    restarted.  Every write acknowledged with 2xx before the kill is present
    (the household whole, with both members), and integrity_check says ok.
  * feed load: `liubao feed load` of a new 医保 file of 5,000 rows (1,000 on
    PostgreSQL) is
    killed at a random moment, round after round: afterwards the file's
    batch is there whole (every per-person total and hit it counts, nothing
    pointing at a missing batch or alert) or not at all, and loading the
    file again either loads it or says it was already loaded.

The moments come from a seeded RNG: the seed is printed, and
LIUBAO_CRASH_SEED=N replays a run.  On PostgreSQL the same kills test the
same guarantees from the client's side (the server rolls back what a killed
connection left open); integrity_check becomes pg_amcheck at the end when
it is installed.
"""
import csv
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import xxhash

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (BIN, DIVISION, PG, Server, cli, eq, feed_totals, free_port,  # noqa: E402
                 is_pg, new_db, query, run_tests, tmp_path)
from traffic import Writer, check_acknowledged, join_writers  # noqa: E402

SEED = int(os.environ.get("LIUBAO_CRASH_SEED") or random.SystemRandom().randrange(1 << 31))
rng = random.Random(SEED)
print("info: crash seed %d (replay with LIUBAO_CRASH_SEED=%d)" % (SEED, SEED))
sys.stdout.flush()

IMPORT_KILLS = 20 if PG else 24  # kills that hit a running import, per run
API_KILLS = 22 if PG else 20     # kills of a server under write load, per run
TIME_CAP = 150         # seconds per test at most (a safety net for a loaded machine)
kills = {"import": 0, "api": 0, "feed": 0}

FEED_KILLS = 8 if PG else 12  # kills of a running `liubao feed load`, per run
FEED_ROWS = 1000 if PG else 5000  # a feed load on PostgreSQL slows with every batch
FEED = "yibao_inpatient"
FEED_ENV = {"LIUBAO_TODAY": "2026-03-10"}


def env():
    return dict(os.environ, LIUBAO_DIVISION_DIR=DIVISION)


def integrity(db):
    """SQLite: PRAGMA integrity_check and foreign_key_check of a database no
    process holds (this connection replays the WAL a kill left behind)."""
    if is_pg(db):
        return
    con = sqlite3.connect(db)
    try:
        r = con.execute("PRAGMA integrity_check").fetchall()
        eq(r, [("ok",)], "integrity_check")
        eq(con.execute("PRAGMA foreign_key_check").fetchall(), [], "foreign_key_check")
    finally:
        con.close()


def amcheck(db):
    """PostgreSQL: pg_amcheck over the database's tables and indexes, when
    installed (the amcheck extension ships with the server)."""
    tool = shutil.which("pg_amcheck") or next(
        (p for p in ["/usr/lib/postgresql/15/bin/pg_amcheck"] if os.path.exists(p)), None)
    if not is_pg(db):
        return
    if not tool:
        print("info: pg_amcheck not run (not installed)")
        return
    import urllib.parse
    u = urllib.parse.urlsplit(db)
    q = dict(urllib.parse.parse_qsl(u.query))
    e = dict(os.environ, PGHOST=q.get("host", u.hostname or ""), PGPORT=q.get("port", str(u.port or 5432)),
             PGUSER=u.username or "postgres")
    p = subprocess.run([tool, "--install-missing", "--heapallindexed", "-d", u.path.lstrip("/")],
                       capture_output=True, text=True, timeout=120, env=e)
    eq(p.returncode, 0, "pg_amcheck: %s %s" % (p.stdout[-500:], p.stderr[-500:]))


def registry_digest(db):
    """The registry's content without ids and timestamps (ids drawn from a
    PostgreSQL sequence are not rolled back with the transaction)."""
    h = hashlib.sha1()
    rows = query(db, "SELECT hh_no, village_code, address, phone, hh_type, relocated FROM "
                     "household ORDER BY hh_no")
    for r in rows:
        h.update(repr(tuple(r)).encode())
    mem = query(db, "SELECT m.id_number, h.hh_no, m.name, m.relation, m.sex, m.birth_date, "
                    "m.phone FROM member m JOIN household h ON h.id = m.household_id "
                    "ORDER BY m.id_number")
    for r in mem:
        h.update(repr(tuple(r)).encode())
    return "%d/%d/%s" % (len(rows), len(mem), h.hexdigest()[:12])


def audited_imports(db):
    """Imports whose audit row says they changed something."""
    return query(db, "SELECT count(*) FROM audit_log WHERE action = 'cli import members' AND "
                     "status = 0 AND detail NOT LIKE '%未写入%'")[0][0]


def make_files():
    """Members files A (the demo district of 3,000 households, 1,200 on PostgreSQL) and B (A with
    every address changed)."""
    src = new_db("crash-src.db", demo=1200 if PG else 3000, seed=7)
    a = tmp_path("crash-a.csv")
    cli("export", "members", "--db", src, "--output", a, check=0)
    b = tmp_path("crash-b.csv")
    with open(a, encoding="utf-8-sig", newline="") as fi, \
            open(b, "w", encoding="utf-8-sig", newline="") as fo:
        r, w = csv.reader(fi), csv.writer(fo)
        head = next(r)
        w.writerow(head)
        col = head.index("家庭住址")
        for row in r:
            row[col] += "（新址）"
            w.writerow(row)
    return a, b


def kill_rounds(db, files, argv_of, digest, kind, want_kills, audited=None):
    """Run the loads of `files` in turn (file i+1 after file i, cycling),
    killing each at a random moment, until `want_kills` kills hit a running
    load.  After each: the content is the state before or the file's state,
    nothing else; `audited(db)` (if given) counts the loads that committed;
    the load run again succeeds."""
    states = {}           # file -> digest once loaded cleanly
    cur = digest(db)      # the state now
    committed = audited(db) if audited else 0
    t0 = time.time()
    # time a clean run of each file (and learn its state)
    durations = {}
    for f in files:
        t = time.time()
        p = subprocess.run(argv_of(db, f), capture_output=True, text=True, env=env(), timeout=300)
        eq(p.returncode, 0, "clean load of %s: %s" % (f, p.stderr[-800:]))
        durations[f] = time.time() - t
        states[f] = digest(db)
        committed += 1
        if audited:
            eq(audited(db), committed, "audited loads after the clean load of %s" % f)
    cur = states[files[-1]]
    i, rounds, landed = 0, 0, {"before": 0, "after": 0}
    while kills[kind] < want_kills:
        if time.time() - t0 > TIME_CAP:
            raise AssertionError("%s: only %d kills in %d s" % (kind, kills[kind], TIME_CAP))
        f = files[i % len(files)]
        i += 1
        rounds += 1
        before = cur
        delay = rng.uniform(0, durations[f] * 1.1)
        p = subprocess.Popen(argv_of(db, f), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env())
        time.sleep(delay)
        hit = p.poll() is None
        if hit:
            p.send_signal(signal.SIGKILL)
            kills[kind] += 1
        p.wait()
        integrity(db)
        after = digest(db)
        if after not in (before, states[f]):
            raise AssertionError("%s of %s killed after %.3f s: content %s is neither the state "
                                 "before (%s) nor the file's (%s)" %
                                 (kind, os.path.basename(f), delay, after, before, states[f]))
        if hit:
            landed["before" if after == before else "after"] += 1
        if audited:
            n = audited(db)
            want = committed + (1 if after != before else 0)
            eq(n, want, "%s: audited loads after a kill at %.3f s (content %s)" %
               (kind, delay, "changed" if after != before else "unchanged"))
            committed = n
        # the job can simply be run again
        r = subprocess.run(argv_of(db, f), capture_output=True, text=True, env=env(),
                           timeout=300)
        eq(r.returncode, 0, "%s of %s run again: %s" % (kind, f, r.stderr[-800:]))
        integrity(db)
        eq(digest(db), states[f], "%s of %s run again: content" % (kind, f))
        if audited:
            committed += 1 if after == before else 0
            eq(audited(db), committed, "audited loads after the rerun")
        cur = states[f]
    print("info: %s: %d kills in %d rounds, %.1f s (a clean run takes %.2f s); %d kills left "
          "the state before, %d came after the commit" %
          (kind, kills[kind], rounds, time.time() - t0, max(durations.values()), landed["before"],
           landed["after"]))


def test_kill_during_import():
    a, b = make_files()
    db = new_db("crash-import.db")
    kill_rounds(db, [a, b],
                lambda d, f: [BIN, "import", "members", f, "--db", d],
                registry_digest, "import", IMPORT_KILLS, audited_imports)
    amcheck(db)


class Serve:
    """`liubao serve` as a process we can SIGKILL."""

    def __init__(self, db):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % self.port, "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
        import socket
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("server exited: %s" % self.proc.stderr.read())
                if time.time() > deadline:
                    raise AssertionError("server did not start")
                time.sleep(0.02)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def test_kill_during_api_writes():
    db = new_db("crash-api.db", demo=50)
    s = Server(db)          # creates the account and its session
    token = s.token
    s.stop()
    hh = [r[0] for r in query(db, "SELECT id FROM household ORDER BY id LIMIT 30")]
    writers, t0, rounds, tag = [], time.time(), 0, 0
    while kills["api"] < API_KILLS:
        if time.time() - t0 > TIME_CAP:
            raise AssertionError("api: only %d kills in %d s" % (kills["api"], TIME_CAP))
        rounds += 1
        srv = Serve(db)
        batch = []
        for _ in range(3):
            tag += 1
            batch.append(Writer(srv.port, token, tag, hh, seed=SEED + tag))
        for w in batch:
            w.start()
        time.sleep(rng.uniform(0.05, 0.6))
        srv.kill()
        kills["api"] += 1
        join_writers(batch)
        writers += batch
        integrity(db)
        check_acknowledged(db, writers)
    nh, nv = check_acknowledged(db, writers)
    failed = sum(w.failures for w in writers)
    # after the last kill the server comes back and takes writes
    srv = Serve(db)
    try:
        w = Writer(srv.port, token, tag + 1, hh, seed=1)
        w.start()
        time.sleep(0.3)
        join_writers([w])
        assert w.households or w.visits, w.statuses
        check_acknowledged(db, writers + [w])
    finally:
        srv.kill()
    integrity(db)
    amcheck(db)
    assert nh > 50 and nv > 50, (nh, nv)
    print("info: api: %d kills in %d rounds, %.1f s; %d households and %d visits acknowledged "
          "and all present; %d requests cut off by the kills" %
          (kills["api"], rounds, time.time() - t0, nh, nv, failed))


def feed_batches(db):
    """The feed batches' file hashes in order, checking each batch is whole:
    its per-person totals are all there, the latest batch's hits too (a
    later batch takes over the hits it repeats), and nothing refers to a
    batch or alert that is not there."""
    out = []
    rows = query(db, "SELECT id, file_hash, persons, hits FROM feed_batch ORDER BY id")
    for bid, h, persons, hits in rows:
        nt = len(feed_totals(db, bid))
        eq(nt, persons, "batch %d: per-person totals stored" % bid)
        out.append(h)
    if rows:
        bid, hits = rows[-1][0], rows[-1][3]
        nh = query(db, "SELECT count(*) FROM feed_hit WHERE batch_id = ?", (bid,))[0][0]
        eq(nh, hits, "latest batch %d: hits stored" % bid)
    for t in ("feed_total_pack", "feed_hit", "feed_issue"):
        eq(query(db, "SELECT count(*) FROM %s WHERE batch_id NOT IN (SELECT id FROM feed_batch)" %
                 t)[0][0], 0, "%s rows of no batch" % t)
    eq(query(db, "SELECT count(*) FROM feed_hit WHERE alert_id IS NOT NULL AND alert_id NOT IN "
                 "(SELECT id FROM alert)")[0][0], 0, "hits attached to missing alerts")
    return out


def feed_file(db, k, reg):
    """Department file number k: 5,000 hospital stays of registry people
    (1,000 on PostgreSQL),
    amounts varying with k (so each file is new), a few names that differ
    and numbers that match nobody."""
    lines = ["身份证号,姓名,入院日期,出院日期,医疗机构,总费用,个人自付（元）"]
    for i in range(FEED_ROWS):
        idn, name = reg[(i * 7919) % len(reg)]
        if i % 997 == 0:
            name = "别名"
        if i % 1999 == 0:
            idn = "110101199003071233"
        lines.append("%s,%s,2026-02-%02d,2026-02-%02d,县医院,%d,%d.%02d" % (
            idn, name, 1 + i % 20, 2 + i % 20, 1000 + i % 500 + k, (i * 37 + k) % 9000, k % 100))
    path = tmp_path("feed%d.csv" % k)
    data = ("\n".join(lines) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    return path, "xxh3:" + xxhash.xxh3_128_hexdigest(data)


def test_kill_during_feed_load():
    db = new_db("crash-feed.db", demo=800, seed=3)
    reg = query(db, "SELECT id_number, name FROM member ORDER BY id")
    e = dict(env(), **FEED_ENV)

    def load(path):
        return [BIN, "feed", "load", FEED, path, "--db", db, "--period", "2026-02", "--skip-bad"]
    path, h = feed_file(db, 0, reg)
    t = time.time()
    p = subprocess.run(load(path), capture_output=True, text=True, env=e, timeout=300)
    eq(p.returncode, 0, "a clean feed load: %s" % p.stderr[-800:])
    span = time.time() - t
    have = feed_batches(db)
    eq(have[-1], h, "the first batch")
    t0, k, landed = time.time(), 0, {"before": 0, "after": 0}
    while kills["feed"] < FEED_KILLS:
        if time.time() - t0 > TIME_CAP:
            raise AssertionError("feed: only %d kills in %d s" % (kills["feed"], TIME_CAP))
        k += 1
        path, h = feed_file(db, k, reg)
        delay = rng.uniform(0, span * 1.1)
        p = subprocess.Popen(load(path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=e)
        time.sleep(delay)
        hit = p.poll() is None
        if hit:
            p.send_signal(signal.SIGKILL)
            kills["feed"] += 1
        p.wait()
        integrity(db)
        after = feed_batches(db)
        if after not in (have, have + [h]):
            raise AssertionError("feed load %d killed after %.3f s: batches %s, before %s" %
                                 (k, delay, after[len(have) - 1:], have[-1:]))
        if hit:
            landed["before" if after == have else "after"] += 1
        # run again: it loads the file, or says the file is already loaded
        r = subprocess.run(load(path), capture_output=True, text=True, env=e, timeout=300)
        if after == have:
            eq(r.returncode, 0, "feed load %d run again: %s" % (k, r.stderr[-800:]))
        else:
            eq(r.returncode, 1, "feed load %d run again after it committed" % k)
            assert "不能重复导入" in r.stderr, r.stderr[-800:]
        integrity(db)
        have = have + [h]
        eq(feed_batches(db), have, "batches after feed load %d ran again" % k)
    amcheck(db)
    print("info: feed: %d kills in %d rounds, %.1f s (a clean load takes %.2f s); %d kills left "
          "the state before, %d came after the commit" %
          (kills["feed"], k, time.time() - t0, span, landed["before"], landed["after"]))


def test_kills_counted():
    total = sum(kills.values())
    print("info: %d kills survived (import %d, api %d, feed %d), seed %d" %
          (total, kills["import"], kills["api"], kills["feed"], SEED))
    assert total >= 50, kills


run_tests(globals())
