#!/usr/bin/env python3
"""load_setup.py — prepare a database for bench/load and write the Lua
configuration bench/load.lua reads.

Before the server starts (`prepare`): county-wide accounts for the three
kinds of caller (a 部门用户 who sees masked 身份证号, a 村级信息员 who writes
visits and acts on 入户核查, a 乡镇审核 who acts on 信息比对), and every active
identification case put at step 2 (信息比对) so that the load can move cases
back and forth between steps 1 and 2 without ever finishing them.
After it starts (`tokens`, again before each wrk run): sign each account
in (changing its initial password the first time), and write the tokens,
the household id range, the townships and the cases with their current
step as a Lua table.

Usage: load_setup.py prepare BIN DB
       load_setup.py tokens BIN DB PORT OUT.lua
"""
import http.client
import json
import sqlite3
import subprocess
import sys

USERS = [("load.dept", "dept_user", "医保局"), ("load.clerk", "village_clerk", ""),
         ("load.reviewer", "township_reviewer", "")]
INIT, FINAL = "Init#Load2026a", "Load#Bench2026b"


def prepare(bin_, db):
    for login, role, dept in USERS:
        args = [bin_, "user", "add", login, "--name", "压测" + login, "--role", role,
                "--scope", "610926", "--db", db, "--password-stdin"]
        if dept:
            args += ["--department", dept]
        p = subprocess.run(args, input=INIT + "\n", capture_output=True, text=True)
        if p.returncode and "已存在" not in p.stderr:
            sys.exit("cannot create %s: %s" % (login, p.stderr))
    con = sqlite3.connect(db)
    con.execute("UPDATE monitor_case SET step = 2 WHERE kind = 1 AND state = 'active'")
    con.commit()
    con.close()


def call(port, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    data = json.loads(r.read().decode() or "null")
    c.close()
    return r.status, data


def tokens(bin_, db, port, out):
    port = int(port)
    tok = {}
    for login, _, _ in USERS:
        st, b = call(port, "POST", "/api/v1/login", {"login": login, "password": FINAL})
        if st != 200:
            st, b = call(port, "POST", "/api/v1/login", {"login": login, "password": INIT})
            assert st == 200, (login, st, b)
            t = b["token"]
            st, b2 = call(port, "POST", "/api/v1/me/password",
                          {"old_password": INIT, "new_password": FINAL}, token=t)
            assert st == 200, (login, st, b2)
            tok[login] = t
        else:
            tok[login] = b["token"]
    con = sqlite3.connect(db)
    lo, hi = con.execute("SELECT min(id), max(id) FROM household").fetchone()
    towns = [r[0] for r in con.execute(
        "SELECT code FROM region WHERE level = 4 AND code LIKE '610926%' ORDER BY code")]
    cases = con.execute("SELECT id, step FROM monitor_case WHERE kind = 1 AND state = 'active' "
                        "AND step IN (1, 2) ORDER BY id").fetchall()
    # search terms as users type them: the first two characters of a name,
    # three pinyin initials, the last 4 digits of a 身份证号, a whole 户编号
    # (drawn from members spread over the district, the same each run)
    sample = con.execute("SELECT m.name, m.name_py, m.id_number, h.hh_no FROM member m JOIN "
                         "household h ON h.id = m.household_id WHERE m.id % 997 = 0 "
                         "ORDER BY m.id LIMIT 100").fetchall()
    terms = []
    for name, py, idn, hh_no in sample:
        terms += [name[:2], (py or "")[:3], idn[-4:], hh_no]
    terms = [t for t in terms if t]
    villages = [r[0] for r in con.execute(
        "SELECT code FROM region WHERE level = 5 AND code LIKE '610926%' ORDER BY code")]
    surnames = [r[0] for r in con.execute(
        "SELECT substr(name, 1, 1) FROM member GROUP BY 1 ORDER BY count(*) DESC LIMIT 20")]
    con.close()

    def lua_strings(xs):
        return ", ".join('"%s"' % x.replace("\\", "\\\\").replace('"', '\\"') for x in xs)
    with open(out, "w") as f:
        f.write("return {\n")
        f.write('  dept = "%s", clerk = "%s", reviewer = "%s",\n' %
                (tok["load.dept"], tok["load.clerk"], tok["load.reviewer"]))
        f.write("  hh_lo = %d, hh_hi = %d,\n" % (lo, hi))
        f.write("  towns = {%s},\n" % lua_strings(towns))
        f.write("  villages = {%s},\n" % lua_strings(villages))
        f.write("  terms = {%s},\n" % lua_strings(terms))
        f.write("  surnames = {%s},\n" % lua_strings(surnames))
        f.write("  cases = {%s},\n" % ", ".join("{%d, %d}" % c for c in cases))
        f.write("}\n")
    print("%d households (%d..%d), %d townships, %d cases at 入户核查 or 信息比对" %
          (hi - lo + 1, lo, hi, len(towns), len(cases)))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(*sys.argv[2:4])
    else:
        tokens(*sys.argv[2:6])
