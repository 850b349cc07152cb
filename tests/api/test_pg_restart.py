"""test_pg_restart.py — the PostgreSQL server restarts under a running
`liubao serve`: every write acknowledged with 2xx, before and after the
restart, is in the database afterwards, and the server keeps answering.

Runs in the PostgreSQL pass only (LIUBAO_TEST_PG set); it starts a server of
its own with tests/pg-server so that restarting it disturbs no other test.
A writer creates households through the API as fast as it can; after a
first batch is acknowledged, `pg_ctl restart -m fast` runs while the writer
goes on.  A request that fails with 5xx or a broken HTTP connection during
the restart is retried, as a client would; a retry answered 409 means the
first attempt had committed after all (its reply was lost), and the row
must then be there too.
"""
import datetime
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import PG, Server, cli, eq, id_number, query, run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_SERVER = os.path.join(ROOT, "tests", "pg-server")
VILLAGE = "610926100001"

_pg = {}


def pg_server():
    """Start this test's own PostgreSQL (once); returns (dir, admin URL)."""
    if not _pg:
        parent = tempfile.mkdtemp(prefix="lbpg")
        os.chmod(parent, 0o755)  # the server runs as the postgres user
        d = os.path.join(parent, "pg")
        url = subprocess.run([PG_SERVER, "start", d], capture_output=True, text=True,
                             check=True).stdout.strip()
        _pg.update(dir=d, parent=parent, url=url)
    return _pg["dir"], _pg["url"]


def teardown():
    if _pg:
        subprocess.run([PG_SERVER, "stop", _pg["dir"]], capture_output=True)
        os.rmdir(_pg["parent"])


def household(i):
    """A valid household body number i: 户主 and 配偶 with IDs unique to i."""
    birth = (datetime.date(1960, 1, 1) + datetime.timedelta(days=i)).strftime("%Y%m%d")
    return {
        "hh_no": "RS%06d" % i, "village_code": VILLAGE, "address": "重启测试%d号" % i,
        "phone": "", "hh_type": "一般农户", "relocated": False,
        "members": [
            {"name": "赵重启", "relation": "户主", "id_number": id_number("610926", birth, 101)},
            {"name": "钱重启", "relation": "配偶", "id_number": id_number("610926", birth, 102)},
        ],
    }


def create_with_retry(s, i, deadline, log):
    """POST household i until it is acknowledged (201) or, after an earlier
    attempt failed, found already there (409); returns (status, id or None)."""
    attempts = 0
    while True:
        attempts += 1
        try:
            st, b, _ = s.post("/api/v1/households", household(i))
        except OSError as e:  # connection reset while the server restarts
            st, b = None, str(e)
        if st == 201:
            return 201, b["id"]
        if st == 409 and attempts > 1:
            return 409, None
        if st is not None and st < 500:
            raise AssertionError("household %d: status %s %s" % (i, st, b))
        log.append((i, st, b if st is None else b.get("error", {}).get("code")))
        if time.time() > deadline:
            raise AssertionError("household %d: no success before the deadline: %s" % (i, log[-5:]))
        time.sleep(0.05)


def test_writes_acknowledged_across_a_server_restart_are_kept():
    d, admin = pg_server()
    db = admin.replace("/postgres?", "/restart?")
    import psycopg2
    con = psycopg2.connect(admin)
    con.autocommit = True
    con.cursor().execute("CREATE DATABASE restart")
    con.close()
    cli("init", "--db", db, check=0)
    cli("regions", "import", "--under", "610926", "--db", db, check=0)
    s = Server(db, extra=["--threads", "2"])
    acked, retried, failures = {}, {}, []
    restarted = threading.Event()

    def restart():
        subprocess.run([PG_SERVER, "restart", d], check=True, capture_output=True)
        restarted.set()

    try:
        deadline = time.time() + 120
        n, i = 600, 0
        restarter, done_at = None, None
        # go on until 600 are written and at least 50 more after the restart
        while i < n or done_at is None or i < done_at + 50:
            if done_at is None and restarted.is_set():
                done_at = i
            if i == 150:
                restarter = threading.Thread(target=restart)
                restarter.start()
            st, hid = create_with_retry(s, i, deadline, failures)
            if st == 201:
                acked[i] = hid
            else:
                retried[i] = st
            i += 1
            if time.time() > deadline:
                raise AssertionError("writer did not finish")
        restarter.join()
        # every acknowledged write is there, with the id the API returned
        rows = dict(query(db, "SELECT hh_no, id FROM household WHERE hh_no LIKE 'RS%'"))
        for k, hid in acked.items():
            eq(rows.get("RS%06d" % k), hid, "acknowledged household %d" % k)
        for k in retried:  # committed, reply lost, retry saw the duplicate
            assert "RS%06d" % k in rows, k
        eq(len(rows), i, "one row per household written")
        members = query(db, "SELECT count(*) FROM member m JOIN household h ON "
                            "h.id = m.household_id WHERE h.hh_no LIKE 'RS%'")[0][0]
        eq(members, 2 * i, "members of the households written")
        # the restart was felt (some requests failed and were retried) —
        # or it fell between requests; either way the server still answers
        st, b, _ = s.get("/api/v1/health")
        eq(st, 200, "health after restart")
        st, b, _ = s.post("/api/v1/households", household(i + 1))
        eq(st, 201, "a write after the restart")
        print("info: %d acknowledged (restart began at #150, done by #%d), %d retries during "
              "the restart, %d 409-after-retry" % (len(acked), done_at, len(failures), len(retried)))
    finally:
        s.stop()


def test_clear_error_when_the_server_is_down():
    pg_server()
    # a socket directory where no server listens: the message names the
    # server and says what to check
    bad = "postgresql://postgres@/restart?host=%s&port=5999" % _pg["parent"]
    p = cli("export", "households", "--db", bad)
    eq(p.returncode, 1, "exit status")
    assert "无法连接 PostgreSQL 服务器" in p.stderr, p.stderr
    assert "请确认服务器已启动" in p.stderr, p.stderr


if not PG:
    print("info: PostgreSQL pass only (LIUBAO_TEST_PG is not set)")
    print("0 passed, 0 failed")
    sys.exit(0)
run_tests(globals())
