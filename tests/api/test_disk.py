"""test_disk.py — a full disk and a read-only database (issue 9): writes get a
clear Chinese error (507 E_DISK_FULL, 503 E_DB_READONLY), nothing half
written, reads go on, and the service recovers by itself when the storage
does.

  * SQLite, disk full: the database lives on a small tmpfs; a filler file
    takes the rest of it; households are written until the disk refuses.
    Each write is either acknowledged and present or refused with 507 and
    absent; reads still work; integrity_check says ok; deleting the filler
    lets writes through again, on the same server.
  * SQLite, read-only: the tmpfs is remounted read-only under a stopped
    server (or, not as root, the file and its directory lose write
    permission); the server starts, serves reads to an existing session,
    refuses writes and logins with 503 E_DB_READONLY; when the filesystem
    is writable again the next write succeeds without a restart.
  * PostgreSQL, disk full: the test database lives in a tablespace on a
    small tmpfs, filled the same way (the server's own WAL is elsewhere).
  * PostgreSQL, read-only: default_transaction_read_only is switched on for
    the database (what a standby or a maintenance window looks like).

Mounting needs root: CI runs as root; otherwise the tmpfs tests say they
are skipped and why.
"""
import errno
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import PG, Server, cli, eq, query, run_tests  # noqa: E402
from traffic import household_body  # noqa: E402

ROOT = os.geteuid() == 0


def mount(size, owner=None):
    d = tempfile.mkdtemp(prefix="lbdisk")
    opts = "size=%s" % size
    if owner:
        opts += ",uid=%d,gid=%d,mode=0700" % owner
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", d], check=True)
    return d


def umount(d):
    subprocess.run(["umount", "-l", d], check=False)
    os.rmdir(d)


def fill(d):
    """Fill the filesystem of directory `d` to the last byte; returns the
    filler's path."""
    path = os.path.join(d, "filler")
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 16, 4096, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return path


def write_until_refused(s, tag, limit=3000):
    """POST new households until the server refuses one; returns (acked
    {hh_no: id}, refused [(hh_no, status, body)])."""
    acked, refused = {}, []
    for i in range(limit):
        body = household_body(tag, i)
        st, b, _ = s.post("/api/v1/households", body)
        if st == 201:
            acked[body["hh_no"]] = b["id"]
            continue
        refused.append((body["hh_no"], st, b))
        # a few more after the first refusal: each is refused or whole
        for j in range(i + 1, i + 4):
            body = household_body(tag, j)
            st, b, _ = s.post("/api/v1/households", body)
            if st == 201:
                acked[body["hh_no"]] = b["id"]
            else:
                refused.append((body["hh_no"], st, b))
        return acked, refused
    raise AssertionError("the disk never filled up after %d households" % limit)


def check_refusals(db, acked, refused, code, status):
    for hh_no, st, b in refused:
        eq(st, status, "refused write status (%s)" % b)
        eq(b["error"]["code"], code, "refused write code")
    msg = refused[0][2]["error"]["message"]
    assert "磁盘空间已满" in msg or "只读" in msg, msg
    have = dict(query(db, "SELECT hh_no, id FROM household WHERE address LIKE '可靠性测试%'"))
    for hh_no, hid in acked.items():
        eq(have.get(hh_no), hid, "acknowledged household %s" % hh_no)
    for hh_no, _, _ in refused:
        assert hh_no not in have, "refused household %s was written" % hh_no
    whole = query(db, "SELECT h.hh_no FROM household h WHERE h.address LIKE '可靠性测试%' AND "
                      "(SELECT count(*) FROM member m WHERE m.household_id = h.id) <> 2")
    eq(whole, [], "households without both members")


def integrity(db):
    if PG:
        return
    import sqlite3
    con = sqlite3.connect(db)
    eq(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)], "integrity_check")
    con.close()


def reads_work(s, hid, dept, full):
    """Reads go on: a household page and list for a user who sees masked
    身份证号 (token `dept`); a page with full 身份证号 (token `full`), whose
    audit row cannot be written, is withheld with a message saying why,
    when `full` is given."""
    st, b, _ = s.get("/api/v1/households/%d" % hid, token=dept)
    eq(st, 200, "a household page: %s" % (b,))
    st, b, _ = s.get("/api/v1/households?limit=5", token=dept)
    eq(st, 200, "a household list: %s" % (b,))
    if full:
        st, b, _ = s.get("/api/v1/households/%d" % hid, token=full)
        assert st in (503, 507) and "审计日志" in b["error"]["message"], (st, b)


def test_sqlite_disk_full():
    if PG:
        print("info: SQLite only (the PostgreSQL case is test_postgresql_disk_full)")
        return
    if not ROOT:
        print("info: skipped: mounting a small tmpfs needs root (CI runs as root)")
        return
    d = mount("24m")
    s = None
    try:
        db = os.path.join(d, "full.db")
        cli("demo", "--db", db, "--households", 20, check=0)
        s = Server(db)
        dept = s.make_user("yibao2", "dept_user", "610926", department="医保局")
        hid = query(db, "SELECT min(id) FROM household")[0][0]
        filler = fill(d)
        acked, refused = write_until_refused(s, 11)
        check_refusals(db, acked, refused, "E_DISK_FULL", 507)
        reads_work(s, hid, dept, None)
        integrity(db)
        # space returns: the same server writes again
        os.remove(filler)
        st, b, _ = s.post("/api/v1/households", household_body(12, 0))
        eq(st, 201, "a write once space returns: %s" % (b,))
        st, b, _ = s.post("/api/v1/households/%d/visits" % hid,
                          {"visit_date": "2025-06-01", "note": "磁盘恢复后走访"})
        eq(st, 201, "a visit once space returns: %s" % (b,))
        s.stop()
        integrity(db)
        print("info: disk full after %d households; %d refused with 507" %
              (len(acked), len(refused)))
    finally:
        if s:
            s.stop()
        umount(d)


def test_sqlite_clean_stop_after_concurrent_requests():
    """Both workers hold a connection when the server stops; the last close
    must still checkpoint and remove the WAL (two workers closing together
    each saw the other open and both left it, in 26 of 40 stops)."""
    if PG:
        print("info: SQLite only (PostgreSQL has no WAL file beside the database)")
        return
    d = tempfile.mkdtemp(prefix="lbstop")
    db = os.path.join(d, "stop.db")
    cli("demo", "--db", db, "--households", 20, check=0)
    for i in range(6):
        s = Server(db, login=None) if i else Server(db)
        if not i:
            token = s.token
        s.token = token

        def burst():
            for _ in range(5):
                st, _b, _ = s.get("/api/v1/households?limit=5")
                eq(st, 200, "a read")
        ts = [threading.Thread(target=burst) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        s.stop()
        assert not os.path.exists(db + "-wal"), "stop %d left the WAL" % (i + 1)


def test_sqlite_read_only():
    if PG:
        print("info: SQLite only (the PostgreSQL case is test_postgresql_read_only)")
        return
    d = mount("24m") if ROOT else tempfile.mkdtemp(prefix="lbro")
    s = None
    try:
        db = os.path.join(d, "ro.db")
        cli("demo", "--db", db, "--households", 20, check=0)
        s = Server(db)
        token = s.token
        dept = s.make_user("yibao2", "dept_user", "610926", department="医保局")
        hid = query(db, "SELECT min(id) FROM household")[0][0]
        s.stop()
        assert not os.path.exists(db + "-wal"), "a clean shutdown leaves no WAL"
        before = query(db, "SELECT count(*) FROM visit")[0][0]
        if ROOT:
            subprocess.run(["mount", "-o", "remount,ro", d], check=True)
        else:
            os.chmod(db, 0o444)
            os.chmod(d, 0o555)
        s = Server(db, login=None)
        s.token = token
        reads_work(s, hid, dept, token)
        st, b, _ = s.post("/api/v1/households/%d/visits" % hid,
                          {"visit_date": "2025-06-01", "note": "只读时走访"})
        eq((st, b["error"]["code"]), (503, "E_DB_READONLY"), "a write: %s" % (b,))
        assert "只读" in b["error"]["message"], b
        st, b, _ = s.post("/api/v1/households", household_body(13, 0))
        eq((st, b["error"]["code"]), (503, "E_DB_READONLY"), "a new household: %s" % (b,))
        st, b, _ = s.post("/api/v1/login", {"login": "tester", "password": Server.PASSWORD},
                          auth=False)
        eq((st, b["error"]["code"]), (503, "E_DB_READONLY"), "a login: %s" % (b,))
        reads_work(s, hid, dept, token)
        # writable again: the running server takes writes
        if ROOT:
            subprocess.run(["mount", "-o", "remount,rw", d], check=True)
        else:
            os.chmod(d, 0o755)
            os.chmod(db, 0o644)
        st, b, _ = s.post("/api/v1/households/%d/visits" % hid,
                          {"visit_date": "2025-06-01", "note": "恢复可写后走访"})
        eq(st, 201, "a write once the disk is writable: %s" % (b,))
        eq(query(db, "SELECT count(*) FROM visit")[0][0], before + 1, "visits")
        s.stop()
        integrity(db)
    finally:
        if s:
            s.stop()
        if ROOT:
            umount(d)
        else:
            os.chmod(d, 0o755)


def test_postgresql_read_only():
    if not PG:
        print("info: PostgreSQL only")
        return
    db = lib.new_db("ro", demo=20)
    s = Server(db)
    token = s.token
    dept = s.make_user("yibao2", "dept_user", "610926", department="医保局")
    hid = query(db, "SELECT min(id) FROM household")[0][0]
    s.stop()
    name = db.split("?")[0].rsplit("/", 1)[1]
    lib._pg_admin("ALTER DATABASE %s SET default_transaction_read_only = on" % name)
    s = Server(db, login=None)
    try:
        s.token = token
        reads_work(s, hid, dept, token)
        st, b, _ = s.post("/api/v1/households/%d/visits" % hid,
                          {"visit_date": "2025-06-01", "note": "只读时走访"})
        eq((st, b["error"]["code"]), (503, "E_DB_READONLY"), "a write: %s" % (b,))
        lib._pg_admin("ALTER DATABASE %s RESET default_transaction_read_only" % name)
        st, b, _ = s.post("/api/v1/households/%d/visits" % hid,
                          {"visit_date": "2025-06-01", "note": "恢复可写后走访"})
        eq(st, 201, "a write once the database is writable: %s" % (b,))
    finally:
        s.stop()


def test_postgresql_disk_full():
    if not PG:
        print("info: PostgreSQL only")
        return
    if not ROOT:
        print("info: skipped: mounting a small tmpfs needs root (CI runs as root)")
        return
    import pwd
    pg = pwd.getpwnam("postgres")
    d = mount("48m", owner=(pg.pw_uid, pg.pw_gid))
    space = "lbfull%d" % os.getpid()
    name = "lb_full_%d" % os.getpid()
    s = None
    try:
        lib._pg_admin("CREATE TABLESPACE %s LOCATION '%s'" % (space, d))
        lib._pg_admin("CREATE DATABASE %s TABLESPACE %s" % (name, space))
        db = lib._pg_url(name)
        cli("demo", "--db", db, "--households", 20, check=0)
        s = Server(db)
        dept = s.make_user("yibao2", "dept_user", "610926", department="医保局")
        hid = query(db, "SELECT min(id) FROM household")[0][0]
        filler = fill(d)
        acked, refused = write_until_refused(s, 14)
        check_refusals(db, acked, refused, "E_DISK_FULL", 507)
        reads_work(s, hid, dept, None)
        os.remove(filler)
        st, b, _ = s.post("/api/v1/households", household_body(15, 0))
        eq(st, 201, "a write once space returns: %s" % (b,))
        print("info: tablespace full after %d households; %d refused with 507" %
              (len(acked), len(refused)))
    finally:
        if s:
            s.stop()
        lib._pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        lib._pg_admin("DROP TABLESPACE IF EXISTS %s" % space)
        umount(d)


run_tests(globals())
