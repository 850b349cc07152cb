"""test_backup.py — `liubao backup` and `liubao restore` (issue 9).

Backups are taken while three writers create households and visits through
the API as fast as they can.  Each backup, restored into a new database,
must be one consistent moment: every household written through the API has
both its members, and the audit log holds exactly one row per household and
per visit written (data and audit row commit together, so a torn copy would
show a difference).  On SQLite the restored database has exactly the rows of
the backup file, table by table; a backup taken after the writers stop
restores to exactly the live database (the audit rows of the backup and
restore commands themselves and the auth epoch aside).  A restore with
--force over the database a server is using replaces it under the server,
and a session made after the backup no longer works there, though the
server had it cached.  Refusals: an existing output, an existing database
without --force, a file that is no backup, a corrupted backup, the wrong
kind of backup, no pg_dump.
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (PG, Server, cli, eq, new_db, query, run_tests, snapshot,  # noqa: E402
                 tmp_path)
from traffic import (Writer, check_acknowledged, diff_digests, empty_target,  # noqa: E402
                     join_writers, table_digests)

_state = {}


def audit_count(db, action):
    return query(db, "SELECT count(*) FROM audit_log WHERE action = ? AND status < 300",
                 (action,))[0][0]


def api_rows(db):
    """(households, visits) written through the API by the writers."""
    h = query(db, "SELECT count(*) FROM household WHERE address LIKE '可靠性测试%'")[0][0]
    v = query(db, "SELECT count(*) FROM visit WHERE note LIKE '可靠性测试走访%'")[0][0]
    return h, v


def check_consistent(db, what):
    """The database shows one moment: every API household whole, one audit
    row per household and per visit written."""
    check_acknowledged(db, [])
    h, v = api_rows(db)
    eq(audit_count(db, "POST /api/v1/households"), h, "%s: audit rows of households" % what)
    eq(audit_count(db, "POST /api/v1/households/:id/visits"), v, "%s: audit rows of visits" % what)
    return h, v


def restore_check(backup, name):
    target = empty_target(name)
    p = cli("restore", backup, "--db", target, check=0)
    assert "完整性检查通过" in p.stderr, p.stderr
    return target


NO_RESTORE_ROW = {"audit_log": "action <> 'cli restore'"}
# a restore moves the auth epoch past the replaced database's (servers'
# session caches must not trust what they cached from it)
SKIP = ("auth_epoch",)


def test_backups_taken_while_writing_are_consistent_and_restore_exactly():
    db = new_db("bk.db", demo=60)
    s = Server(db, extra=["--threads", "2"])
    hh = [r[0] for r in query(db, "SELECT id FROM household ORDER BY id LIMIT 20")]
    writers = [Writer(s.port, s.token, tag, hh, seed=tag) for tag in (1, 2, 3)]
    try:
        for w in writers:
            w.start()
        time.sleep(0.4)
        backups, counts = [], []
        for k in range(3):
            out = tmp_path("bk%d.backup" % k)
            cli("backup", "--db", db, out, check=0)
            backups.append(out)
            time.sleep(0.3)
        join_writers(writers)
        nh, nv = check_acknowledged(db, writers)
        assert nh > 20 and nv > 20, (nh, nv, [w.statuses for w in writers])
        final = tmp_path("bk-final.backup")
        cli("backup", "--db", db, final, check=0)
        for k, b in enumerate(backups):
            target = restore_check(b, "restored%d.db" % k)
            counts.append(check_consistent(target, "backup %d" % k))
            if not PG:  # the backup file is itself a database: same rows
                d = diff_digests(table_digests(target, skip=SKIP, where=NO_RESTORE_ROW),
                                 table_digests(b, skip=SKIP, where=NO_RESTORE_ROW))
                assert not d, "backup %d restored differently: %s" % (k, d)
            if k == 0:
                _state["first"] = (b, target)
        eq(counts, sorted(counts), "later backups hold more")
        assert counts[-1][0] > 0, counts
        # after the writers stop: the restored backup is the live database
        target = restore_check(final, "restored-final.db")
        m = query(target, "SELECT max(id) FROM audit_log WHERE action <> 'cli restore'")[0][0]
        cond = {"audit_log": "id <= %d" % m}
        d = diff_digests(table_digests(target, skip=SKIP, where=cond),
                         table_digests(db, skip=SKIP, where=cond))
        assert not d, "final backup differs from the live database: %s" % d
        eq(api_rows(target), api_rows(db), "rows written through the API")
        eq(query(db, "SELECT action FROM audit_log WHERE id > ?", (m,)), [("cli backup",)],
           "the backup command's own audit row")
        print("info: %d households and %d visits acknowledged; backups held %s" %
              (nh, nv, counts))
        _state["live"] = (db, s)
    except Exception:
        s.stop()
        raise


def test_restore_force_replaces_the_database_under_a_running_server():
    db, s = _state["live"]
    first, first_restored = _state["first"]
    try:
        old = query(db, "SELECT id FROM household WHERE address LIKE '可靠性测试%' ORDER BY id "
                        "DESC LIMIT 1")[0][0]
        p = cli("restore", first, "--db", db)
        eq(p.returncode, 1, "restore over an existing database without --force")
        assert "已存在" in p.stderr and "--force" in p.stderr, p.stderr
        # a session made after the backup (nothing since has ended a session
        # or changed a user), resolved by every worker so that each has it
        # cached: it is not in the restored database, so it must not work
        st, b, _ = s.post("/api/v1/login", {"login": "tester", "password": Server.PASSWORD},
                          auth=False)
        eq(st, 200, "a new session")
        late = b["token"]
        for _ in range(6):
            eq(s.get("/api/v1/me", token=late)[0], 200, "the new session before the restore")
        cli("restore", first, "--db", db, "--force", check=0)
        for _ in range(6):
            eq(s.get("/api/v1/me", token=late)[0], 401, "a session the backup does not hold")
        d = diff_digests(table_digests(db, skip=SKIP, where=NO_RESTORE_ROW),
                         table_digests(first_restored, skip=SKIP, where=NO_RESTORE_ROW))
        assert not d, "restored over the live database: %s" % d
        # the running server sees the restored database
        st, b, _ = s.get("/api/v1/households/%d" % old)
        eq(st, 404, "a household written after the backup is gone")
        h = query(db, "SELECT id FROM household ORDER BY id LIMIT 1")[0][0]
        st, b, _ = s.get("/api/v1/households/%d" % h)
        eq(st, 200, "a household of the backup")
        st, b, _ = s.post("/api/v1/households/%d/visits" % h,
                          {"visit_date": "2025-06-02", "note": "可靠性测试走访 恢复后"})
        eq(st, 201, "writes go on after the restore")
        check_consistent(db, "after restore --force")
    finally:
        s.stop()


def test_refusals():
    db = new_db("bk2.db")
    out = tmp_path("refuse.backup")
    cli("backup", "--db", db, out, check=0)
    p = cli("backup", "--db", db, out)
    eq(p.returncode, 1, "backup over an existing file")
    assert "已存在" in p.stderr and "--force" in p.stderr, p.stderr
    cli("backup", "--db", db, out, "--force", check=0)
    p = cli("backup", "--db", db, "-")
    eq(p.returncode, 1, "backup to stdout")
    assert "标准输出" in p.stderr, p.stderr

    before = snapshot(db)
    p = cli("restore", out, "--db", db)
    eq(p.returncode, 1, "restore over an existing database")
    eq(snapshot(db), before, "database untouched")

    junk = tmp_path("junk.backup")
    with open(junk, "wb") as f:
        f.write(b"not a backup\n" * 100)
    target = empty_target("never.db")
    p = cli("restore", junk, "--db", target)
    eq(p.returncode, 1, "restore of a file that is no backup")
    assert "不是 liubao backup 生成的备份文件" in p.stderr, p.stderr
    p = cli("restore", tmp_path("missing.backup"), "--db", target)
    eq(p.returncode, 1, "restore of a missing file")
    assert "无法读取备份文件" in p.stderr, p.stderr

    if PG:
        # the wrong kind: a SQLite file onto PostgreSQL
        import sqlite3
        sq = tmp_path("other.sqlite")
        con = sqlite3.connect(sq)
        con.execute("CREATE TABLE schema_version(module TEXT)")
        con.commit()
        con.close()
        p = cli("restore", sq, "--db", target)
        eq(p.returncode, 1, "SQLite backup onto PostgreSQL")
        assert "SQLite" in p.stderr, p.stderr
        # without pg_dump on PATH: a clear message saying what to install
        p = cli("backup", "--db", db, tmp_path("nopath.backup"), env={"PATH": "/nonexistent"})
        eq(p.returncode, 1, "backup without pg_dump")
        assert "找不到 pg_dump" in p.stderr and "postgresql-client" in p.stderr, p.stderr
        eq(query(target, "SELECT count(*) FROM information_schema.tables WHERE "
                         "table_schema = 'public'"), [(0,)], "nothing restored")
        return

    # SQLite: a pg_dump archive is refused, and so is a damaged backup
    fake = tmp_path("fake.pgdump")
    with open(fake, "wb") as f:
        f.write(b"PGDMP" + b"\0" * 100)
    p = cli("restore", fake, "--db", target)
    eq(p.returncode, 1, "pg_dump archive onto SQLite")
    assert "PostgreSQL" in p.stderr, p.stderr
    bad = tmp_path("damaged.backup")
    shutil.copy(out, bad)
    size = os.path.getsize(bad)
    with open(bad, "r+b") as f:  # scribble over the pages after the first
        for off in range(4096, size, 4096):
            f.seek(off + 8)
            f.write(b"\xff" * 64)
    p = cli("restore", bad, "--db", target)
    eq(p.returncode, 1, "restore of a damaged backup")
    assert "完整性检查" in p.stderr or "malformed" in p.stderr, p.stderr
    assert not os.path.exists(target), "nothing written for a damaged backup"
    # a restore that was interrupted leaves no file under the target's name
    leftovers = [f for f in os.listdir(os.path.dirname(target)) if ".tmp-" in f]
    eq(leftovers, [], "temporary files")


run_tests(globals())
