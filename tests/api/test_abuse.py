"""test_abuse.py — slow clients and bad traffic on loopback (issue 9): the
server stays up, goes on answering others within a deadline, answers a bad
request with a clean 4xx and closes the bad connection.

  * slowloris: many connections send a request's headers a line at a time
    and never finish; others are answered meanwhile; once they fall silent
    the server closes them after its connection timeout (--timeout)
  * many idle connections: hundreds of connections that send nothing;
    a single address cannot take more than --max-per-ip of them
  * huge headers (one long header, very many headers): 431 and closed
  * huge bodies: a Content-Length far over the limit is refused with 413
    at once, before the body is sent (one a little over is read, dropped
    and then refused, so that clients that send before they read see the
    413: test_api_households); a chunked body that grows over the limit is
    refused too; an upload route takes a big file only from a signed-in user
  * malformed chunked encoding: 400 and closed
  * path traversal in static paths, plain and encoded: never a file
  * non-UTF-8 bytes in the path, the query, headers and JSON fields: 400,
    401, 403 or 415 with the usual error shape — never 5xx

The "attackers" connect from 127.0.0.2 (all of 127/8 is loopback), the
well-behaved client from 127.0.0.1, so a per-address limit shows.
"""
import json
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Server, eq, new_db, run_tests  # noqa: E402

TIMEOUT = 3          # the server's --timeout for these tests
PER_IP = 64          # --max-per-ip
DEADLINE = 2.0       # seconds within which a good request must be answered
_s = {}


def server():
    if "s" not in _s:
        db = new_db("abuse.db", demo=20)
        _s["s"] = Server(db, extra=["--timeout", str(TIMEOUT), "--max-per-ip", str(PER_IP),
                                    "--max-body", "65536"])
        hid = _s["s"].get("/api/v1/households?limit=1")[1]["items"][0]["id"]
        _s["hid"] = hid
    return _s["s"]


def teardown():
    if "s" in _s:
        _s["s"].stop()


def connect(src="127.0.0.2"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", server().port))
    return s


def exchange(data, src="127.0.0.2", timeout=10):
    """Send raw bytes, read until the server closes or `timeout`; returns
    (status or None, headers text, body bytes, closed)."""
    s = connect(src)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf, closed = b"", False
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.time()))
            if not r:
                break
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= n and b"connection: close" not in head.lower():
                    break
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.") else None
    return status, head.decode("latin-1"), body, closed


def healthy():
    """A well-behaved client is answered within the deadline."""
    t = time.time()
    st, b, _ = server().get("/api/v1/health")
    took = time.time() - t
    eq(st, 200, "health")
    assert took < DEADLINE, "health took %.2f s" % took
    assert server().proc.poll() is None, "the server died"
    return took


def error_shape(status, body, want, what):
    assert status in want, "%s: status %s, want %s: %r" % (what, status, want, body[:200])
    if body and status not in (431,):  # libmicrohttpd answers 431 itself
        j = json.loads(body.decode())
        assert j["error"]["code"].startswith("E_") and j["error"]["message"], (what, j)


def test_slowloris_partial_headers():
    server()
    conns = []
    for i in range(40):
        s = connect()
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        conns.append(s)
    worst = 0
    for k in range(4):  # trickle one header line per connection, keep answering others
        for s in conns:
            s.sendall(b"X-Slow-%d: %d\r\n" % (k, k))
        worst = max(worst, healthy())
        time.sleep(0.5)
    # silent now: every one is closed by the server after its timeout
    t = time.time()
    open_ = set(range(len(conns)))
    while open_ and time.time() - t < TIMEOUT + 5:
        r, _, _ = select.select([conns[i] for i in open_], [], [], 0.5)
        for s in r:
            i = conns.index(s)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            if not data:
                open_.discard(i)
    closed_after = time.time() - t
    for s in conns:
        s.close()
    eq(sorted(open_), [], "slow connections the server left open")
    assert closed_after >= TIMEOUT - 1, closed_after
    healthy()
    print("info: 40 slowloris connections; health answered in <= %.3f s; closed %.1f s after "
          "they fell silent" % (worst, closed_after))


def test_many_idle_connections():
    server()
    conns, refused = [], 0
    for i in range(PER_IP * 3):
        try:
            conns.append(connect())
        except OSError:
            refused += 1
    time.sleep(0.3)
    took = healthy()
    # the server closes connections over the per-address limit at once
    over = 0
    for s in conns:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            try:
                if not s.recv(1):
                    over += 1
            except ConnectionResetError:
                over += 1
    for s in conns:
        s.close()
    assert over + refused >= PER_IP, (over, refused)
    healthy()
    print("info: %d idle connections from one address: %d closed at once; health in %.3f s" %
          (PER_IP * 3, over + refused, took))


def test_huge_headers():
    server()
    big = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"
    st, head, body, closed = exchange(big)
    assert st in (400, 413, 414, 431), (st, head)
    many = (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" +
            b"".join(b"X-H%d: v\r\n" % i for i in range(20000)) + b"\r\n")
    st, head, body, closed = exchange(many)
    assert st in (400, 413, 431), (st, head)
    longurl = b"GET /api/v1/households?q=" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    st, head, body, closed = exchange(longurl)
    assert st in (400, 414, 431), (st, head)
    healthy()


def test_huge_bodies():
    s = server()
    # over the limit by Content-Length: 413 before the body is sent
    t = time.time()
    st, head, body, closed = exchange(
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 500000000\r\n\r\n{", timeout=5)
    eq(st, 413, "Content-Length over the limit: %s" % head)
    error_shape(st, body, (413,), "413")
    assert "超过" in json.loads(body)["error"]["message"] or "过大" in json.loads(body)["error"]["message"]
    assert time.time() - t < DEADLINE, "413 took %.2f s" % (time.time() - t)
    # chunked, growing past the limit
    chunk = b"%x\r\n%s\r\n" % (16384, b"a" * 16384)
    st, head, body, closed = exchange(
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 8 + b"0\r\n\r\n")
    eq(st, 413, "chunked body over the limit: %s" % head)
    # a file upload route takes more than --max-body only from a signed-in user
    up = "/api/v1/feeds/yibao_inpatient/batches?period=2026-02&dry_run=1"
    req = (b"POST " + up.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
           b"Content-Length: 200000000\r\n\r\n")
    st, head, body, closed = exchange(req, timeout=5)
    eq(st, 413, "a big upload without a session: %s" % head)
    st, b, _ = s.request("POST", up, ("身份证号,姓名\n" + "x,y\n" * 30000).encode(),
                         headers={"Content-Type": "text/csv"})
    assert st < 500 and st != 413, (st, b)
    healthy()


def test_malformed_chunked_encoding():
    server()
    head = (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    for bad in (b"zz\r\nabc\r\n0\r\n\r\n",                       # not hex
                b"5\r\nabcdefghij\r\n0\r\n\r\n",                  # longer than announced
                b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",      # size overflow
                b"-5\r\nabcde\r\n0\r\n\r\n",                      # negative
                b"3\r\nabc0\r\n\r\n"):                            # missing CRLF
        st, h, body, closed = exchange(head + bad, timeout=TIMEOUT + 2)
        assert st is None or 400 <= st < 500, (bad, st, h)
        assert closed, (bad, "connection left open")
    # Content-Length and chunked together (request smuggling): one request only
    st, h, body, closed = exchange(
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n", timeout=TIMEOUT + 2)
    assert st is None or 400 <= st < 500, (st, h)
    healthy()


TRAVERSALS = [
    b"/static/../../etc/passwd", b"/static/..%2f..%2f..%2fetc%2fpasswd",
    b"/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd",
    b"/static/%252e%252e/%252e%252e/etc/passwd", b"/static/....//....//etc/passwd",
    b"/static/..\\..\\..\\etc\\passwd", b"/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    b"/static/app.css%00../../etc/passwd", b"/../../../../etc/passwd",
    b"/static//etc/passwd", b"//etc/passwd", b"/static/%2fetc%2fpasswd",
    b"/api/../static/../../etc/passwd", b"/index.html/../../etc/passwd",
]


def test_path_traversal_in_static_paths():
    server()
    for p in TRAVERSALS:
        st, h, body, closed = exchange(b"GET " + p + b" HTTP/1.1\r\nHost: x\r\nConnection: "
                                       b"close\r\n\r\n")
        assert st in (400, 404), (p, st, h)
        assert b"root:" not in body, p
    st, h, body, closed = exchange(b"GET /static/app.css HTTP/1.1\r\nHost: x\r\nConnection: "
                                   b"close\r\n\r\n")
    eq(st, 200, "a real asset")
    healthy()


def test_non_utf8_everywhere():
    s = server()
    tok = s.token.encode()
    hid = _s["hid"]
    cases = [
        (b"GET /api/v1/households/\xff\xfe HTTP/1.1\r\nHost: x\r\n", (400, 404)),
        (b"GET /api/v1/households/%ff%fe HTTP/1.1\r\nHost: x\r\n", (400,)),
        (b"GET /static/%ff.css HTTP/1.1\r\nHost: x\r\n", (400,)),
        (b"GET /api/v1/households?q=%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
         b"\r\n", (400,)),
        (b"GET /api/v1/households?q=\xff\xfe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
         b"\r\n", (400,)),
        (b"GET /api/v1/households?%ff=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
         b"\r\n", (400,)),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe" + b"a" * 40 +
         b"\r\n", (401,)),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nCookie: liubao_session=\xff\xfe" + b"a" * 40 +
         b"\r\n", (401,)),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: \xff\xfe\r\nAuthorization: Bearer " + tok + b"\r\n",
         (200, 400)),
        (b"GET /api/v1/households/%d HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\xfe\xc0\xaf\r\n"
         b"Authorization: Bearer " % hid + tok + b"\r\n", (200,)),
    ]
    login = {"login": "tester", "password": "x"}

    def post(path, body, ctype=b"application/json", extra=b""):
        return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: " + ctype +
                b"\r\nContent-Length: %d\r\n" % len(body) + extra, body)
    bodies = [
        (post(b"/api/v1/login", b'{"login": "\xff\xfe", "password": "x"}'), (400,)),
        (post(b"/api/v1/login", json.dumps(login).encode(), b"application/json\xff"), (415,)),
        (post(b"/api/v1/login", json.dumps(login).encode(), extra=b"User-Agent: \xff\xfe\r\n"),
         (401, 403)),
        (post(b"/api/v1/login", b'{"login": "\\ud800", "password": "x"}'), (400,)),
        (post(b"/api/v1/login", b'{"login": "a\\u0000b", "password": "x"}'), (400,)),
        (post(b"/api/v1/households/%d/visits" % hid,
              b'{"visit_date": "2025-06-01", "note": "\xc3\x28"}',
              extra=b"Authorization: Bearer " + tok + b"\r\n"), (400,)),
        (post(b"/api/v1/households",
              b'{"hh_no": "\xe6\xb5", "village_code": "610926100001"}',
              extra=b"Authorization: Bearer " + tok + b"\r\n"), (400,)),
        (post(b"/api/v1/feeds/yibao_inpatient/batches?period=2026-02&dry_run=1",
              b"\xd5\xe2\xca\xc7,\xff\xfe\xfd\n\x80\x81,\x00\x01\n", b"text/csv",
              extra=b"Authorization: Bearer " + tok + b"\r\n"), (400, 409, 415, 422)),
        (post(b"/api/v1/login", b"\x00\xff\x00\xff"), (400,)),
    ]
    for req, want in cases:
        st, h, body, closed = exchange(req + b"Connection: close\r\n\r\n")
        error_shape(st, body if st >= 400 else b"", want, req[:60])
    for (head, body), want in bodies:
        st, h, rbody, closed = exchange(head + b"Connection: close\r\n\r\n" + body)
        error_shape(st, rbody, want, head[:60])
    healthy()


run_tests(globals())
