"""traffic.py — helpers shared by the reliability tests (test_backup,
test_crash, test_disk): API writers that record every write the server
acknowledged, and per-table digests to compare two databases.

A write is "acknowledged" when its 2xx reply has been read in full: the
server commits before it answers, so an acknowledged write must survive
anything that happens to the server afterwards.
"""
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import threading
import time

from lib import connect, id_number, tables

VILLAGE = "610926100001"


def household_body(tag, i):
    """A valid new household number i of writer `tag` (1..400): hh_no
    R<tag><i>, with 户主 and 配偶 whose 身份证号 (area 110101, which the demo
    never uses) are unique to (tag, i)."""
    birth = (datetime.date(1950, 1, 1) + datetime.timedelta(days=i)).strftime("%Y%m%d")
    return {
        "hh_no": "R%03d%06d" % (tag, i), "village_code": VILLAGE,
        "address": "可靠性测试%d-%d号" % (tag, i), "phone": "", "hh_type": "一般农户",
        "relocated": False,
        "members": [
            {"name": "赵可靠", "relation": "户主", "id_number": id_number("110101", birth, 2 * tag)},
            {"name": "钱可靠", "relation": "配偶",
             "id_number": id_number("110101", birth, 2 * tag + 1)},
        ],
    }


class Writer(threading.Thread):
    """Writes through the API until stop(): new households (writer `tag`,
    see household_body; the server may die and come back meanwhile) and, when `visit_households` lists ids,
    visits to them.  Records what was acknowledged:
      households {hh_no: id}, visits {id: household_id}
    and counts requests that failed (connection errors, 5xx)."""

    def __init__(self, port, token, tag, visit_households=(), seed=0, pause=0.0):
        super().__init__(daemon=True)
        self.port, self.token, self.tag = port, token, tag
        self.visit_households = list(visit_households)
        self.rng = random.Random(seed)
        self.pause = pause
        self.households, self.visits = {}, {}
        self.sent_households = set()
        self.failures = 0
        self.statuses = {}
        self._halt = threading.Event()
        self.n = 0

    def stop(self):
        self._halt.set()

    def _post(self, conn, path, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        conn.request("POST", path, body=data, headers={
            "Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = conn.getresponse()
        raw = r.read()
        return r.status, raw

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by join_writers()
            self.error = e

    def _run(self):
        self.error = None
        conn = None
        while not self._halt.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            visit = self.visit_households and self.rng.random() < 0.5
            self.n += 1  # a write whose reply was lost is not sent again
            try:
                if visit:
                    hid = self.rng.choice(self.visit_households)
                    st, raw = self._post(conn, "/api/v1/households/%d/visits" % hid, {
                        "visit_date": "2025-06-01", "note": "可靠性测试走访 %d" % self.n,
                        "risk_found": False})
                else:
                    body = household_body(self.tag, self.n)
                    hh_no = body["hh_no"]
                    self.sent_households.add(hh_no)
                    st, raw = self._post(conn, "/api/v1/households", body)
            except (OSError, http.client.HTTPException):
                self.failures += 1
                conn.close()
                conn = None
                if self._halt.wait(0.02):
                    break
                continue
            self.statuses[st] = self.statuses.get(st, 0) + 1
            if 200 <= st < 300:
                b = json.loads(raw.decode())
                if visit:
                    self.visits[b["id"]] = b["household_id"]
                else:
                    self.households[hh_no] = b["id"]
            elif st >= 500:
                self.failures += 1
            else:
                raise AssertionError("writer: unexpected status %d: %s" % (st, raw[:300]))
            if self.pause:
                time.sleep(self.pause)
        if conn is not None:
            conn.close()


def join_writers(writers):
    """Stop `writers`, wait for them, and raise the first error one met."""
    for w in writers:
        w.stop()
    for w in writers:
        w.join(30)
        if w.is_alive():
            raise AssertionError("writer %d did not stop" % w.tag)
        if getattr(w, "error", None):
            raise w.error


def check_acknowledged(db, writers):
    """Every write acknowledged by any of `writers` is in `db`, whole: the
    household with the id the API returned and its two members, each visit
    with its household.  Households sent but never acknowledged may be there
    or not, but if there, whole.  Returns (households, visits) acknowledged."""
    con = connect(db)
    try:
        rows = {}
        for hh_no, hid, n in con.execute(
                "SELECT h.hh_no, h.id, (SELECT count(*) FROM member m WHERE m.household_id = "
                "h.id) FROM household h WHERE h.address LIKE '可靠性测试%'").fetchall():
            rows[hh_no] = (hid, n)
        for hh_no, (hid, n) in rows.items():
            if n != 2:
                raise AssertionError("household %s has %d members, want 2 (half a write)" %
                                     (hh_no, n))
        visits = dict(con.execute("SELECT id, household_id FROM visit WHERE note LIKE "
                                  "'可靠性测试走访%'").fetchall())
    finally:
        con.close()
    nh = nv = 0
    for w in writers:
        for hh_no, hid in w.households.items():
            got = rows.get(hh_no)
            if not got or got[0] != hid:
                raise AssertionError("acknowledged household %s (id %s) missing: %s" %
                                     (hh_no, hid, got))
            nh += 1
        for vid, hid in w.visits.items():
            if visits.get(vid) != hid:
                raise AssertionError("acknowledged visit %s missing" % vid)
            nv += 1
    return nh, nv


def table_digests(db, skip=(), where=None):
    """{table: (row count, sha1 of its rows in key order)} for every table
    of `db` but those in `skip`; `where` maps a table to a SQL condition
    that limits the rows compared."""
    con = connect(db)
    out = {}
    try:
        for name in sorted(tables(db)):
            if name in skip or name.startswith("sqlite_"):
                continue
            cond = (where or {}).get(name)
            sql = 'SELECT * FROM "%s"%s ORDER BY 1' % (name, " WHERE " + cond if cond else "")
            rows = sorted(repr(tuple(r)) for r in con.execute(sql).fetchall())
            h = hashlib.sha1()
            for r in rows:  # whole rows in order: PostgreSQL returns ties in any order
                h.update(r.encode())
                h.update(b"\n")
            out[name] = (len(rows), h.hexdigest())
    finally:
        con.close()
    return out


def diff_digests(got, want):
    """A readable difference of two table_digests() results, "" if equal."""
    lines = []
    for t in sorted(set(got) | set(want)):
        if got.get(t) != want.get(t):
            lines.append("%s: %s vs %s" % (t, got.get(t), want.get(t)))
    return "; ".join(lines)


def empty_target(name):
    """Where a restore can go: a path that does not exist yet, or a new empty
    PostgreSQL database (dropped at the end of the run like new_db's)."""
    import lib
    if lib.PG:
        dbname = "lb_%s_%d_%d" % (re.sub(r"\W", "_", name), os.getpid(), next(lib._pg_seq))
        lib._pg_admin("CREATE DATABASE %s" % dbname)
        lib._pg_dbs.append(dbname)
        return lib._pg_url(dbname)
    path = lib.tmp_path(name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path
