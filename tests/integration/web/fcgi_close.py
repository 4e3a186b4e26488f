#!/usr/bin/python3
"""Talks FastCGI to a pullmail-web responder on a unix socket, as a web
server would, and checks how it ends a request:

- a GET is answered in full, and then the responder closes its end on its
  own, while the client keeps its end open (libfcgi alone would wait up to
  two seconds for the client to close first);
- with one responder, a second connection is answered while the first is
  still open;
- a POST whose body the responder refuses (413) without reading it is still
  answered in full, and a refused body that never arrives does not hold
  the responder;
- a POST that passes every check but whose body never comes is answered
  408 once its deadline has passed.

Usage: fcgi_close.py SOCKET TOKEN HOST PORT
Prints TAP-like lines "ok - ..." / "not ok - ..." and exits 1 on a failure.
"""
import socket
import struct
import sys
import time

SOCK, TOKEN, HOST, PORT = sys.argv[1:5]
BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print("ok - " + name)
    else:
        failed += 1
        print("not ok - " + name + (": " + detail if detail else ""))


def record(kind, content, rid=1):
    return struct.pack("!BBHHBx", 1, kind, rid, len(content), 0) + content


def nv(name, value):
    out = b""
    for x in (name, value):
        n = len(x)
        out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return out + name + value


def request(method, path, body=b""):
    env = {
        b"REQUEST_METHOD": method, b"REQUEST_URI": path,
        b"SCRIPT_NAME": path, b"QUERY_STRING": b"",
        b"SERVER_NAME": HOST.encode(), b"SERVER_PORT": PORT.encode(),
        b"HTTP_HOST": ("%s:%s" % (HOST, PORT)).encode(),
        b"CONTENT_LENGTH": str(len(body)).encode() if body else b"",
        b"SERVER_PROTOCOL": b"HTTP/1.1", b"GATEWAY_INTERFACE": b"CGI/1.1",
    }
    if body:
        env[b"HTTP_ORIGIN"] = ("http://%s:%s" % (HOST, PORT)).encode()
    params = b"".join(nv(k, v) for k, v in env.items())
    # role responder, flags 0: the connection is not kept.
    return (record(BEGIN, struct.pack("!HB5x", 1, 0)) + record(PARAMS, params)
            + record(PARAMS, b""))


def read_response(s, deadline):
    """Reads records up to END_REQUEST; returns (stdout bytes, ended)."""
    buf, out = b"", b""
    while True:
        while len(buf) >= 8:
            _, kind, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
            if len(buf) < 8 + clen + plen:
                break
            content = buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            if kind == STDOUT:
                out += content
            elif kind == END:
                return out, True
        try:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
        except socket.timeout:
            return out, False
        if not chunk:
            return out, False
        buf += chunk


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    return s


def send_get(s):
    s.sendall(request(b"GET", path) + record(STDIN, b""))


def timed_get(s):
    """A GET on s: (stdout, ended, seconds from sending to the end)."""
    t0 = time.monotonic()
    send_get(s)
    out, ended = read_response(s, time.monotonic() + 10)
    return out, ended, time.monotonic() - t0


def status_of(out):
    first = out.split(b"\r\n", 1)[0]
    return first.decode("latin-1")


path = ("/m/" + TOKEN).encode()

# 1. A GET, the client keeping its end open afterwards.
a = connect()
send_get(a)
out, ended = read_response(a, time.monotonic() + 10)
check("GET answered in full (END_REQUEST)", ended and out.startswith(b"Status: 200"),
      status_of(out))
check("the page is all there", out.rstrip().endswith(b"</html>"))
# libfcgi alone shuts down its sending side at once (the client sees end
# of file) but keeps the connection until the client closes, reading what
# it sends: a byte written then would go through. Closed, the responder
# makes such a write fail.
a.settimeout(5)
try:
    eof = a.recv(1) == b""
except socket.timeout:
    eof = False
t0 = time.monotonic()
closed = False
while not closed and time.monotonic() - t0 < 1.0:
    time.sleep(0.05)
    try:
        a.send(b"\0")
    except (BrokenPipeError, ConnectionResetError):
        closed = True
waited = time.monotonic() - t0
check("the responder closes the connection without waiting for the client "
      "(%.3f s; libfcgi's wait is 2 s)" % waited, eof and closed)

# 2. With one responder: a second connection answered while the first
# is still open.
b = connect()
send_get(b)
c = connect()
out_b, ended_b = read_response(b, time.monotonic() + 10)
out_c, ended_c, waited = timed_get(c)
check("a second connection is answered while the first is open "
      "(%.3f s)" % waited,
      ended_b and ended_c and out_c.startswith(b"Status: 200") and waited < 1.5)
for s in (a, b, c):
    s.close()

# 3. A POST with a body over the limit, sent whole before the answer is
# read (as nginx, which buffers request bodies, sends it): refused
# unread, and answered in full all the same.
body = b"x" * 20000
d = connect()
d.sendall(request(b"POST", path + b"/keep", body))
for i in range(0, len(body), 4000):
    d.sendall(record(STDIN, body[i:i + 4000]))
d.sendall(record(STDIN, b""))
out, ended = read_response(d, time.monotonic() + 10)
check("an oversized POST body is answered 413 in full", ended
      and out.startswith(b"Status: 413"), status_of(out))
d.close()

# 3b. The same refused POST whose body never comes (a client streaming it
# slowly through a web server that does not buffer): the responder must
# not wait for it. libfcgi's careful close gives up after two seconds.
d = connect()
d.sendall(request(b"POST", path + b"/keep", body))
out, ended = read_response(d, time.monotonic() + 10)
f = connect()
out_f, ended_f, waited = timed_get(f)
check("a body that never comes does not hold the responder "
      "(next request answered in %.3f s)" % waited,
      ended and out.startswith(b"Status: 413") and ended_f and waited < 3.5)
d.close()
f.close()

# 3c. A POST that passes every check (same origin, a live link, a small
# Content-Length) but whose body never comes: the responder waits for it
# only until its deadline (5 s), answers 408, and serves the next request.
d = connect()
t0 = time.monotonic()
d.sendall(request(b"POST", path + b"/keep", b"x" * 10))
out, ended = read_response(d, time.monotonic() + 15)
waited = time.monotonic() - t0
check("a granted POST whose body never comes is answered 408 by the "
      "deadline (%.3f s)" % waited,
      ended and out.startswith(b"Status: 408") and waited < 8, status_of(out))
f = connect()
out_f, ended_f, waited = timed_get(f)
check("and the responder is free again (next request in %.3f s)" % waited,
      ended_f and out_f.startswith(b"Status: 200") and waited < 3.5)
d.close()
f.close()

# 4. The responder still serves after all this.
e = connect()
send_get(e)
out, ended = read_response(e, time.monotonic() + 10)
check("the responder still answers", ended and out.startswith(b"Status: 200"))
e.close()
sys.exit(1 if failed else 0)
