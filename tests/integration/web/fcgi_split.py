#!/usr/bin/python3
"""Sends one GET for /m/TOKEN to a pullmail-web responder on a unix socket
in the records mod_proxy_fcgi writes (begin, the parameters, the empty
record that ends them, the empty standard input), with a pause before the
empty parameters record: as on a loaded machine, the responder reads the
parameters alone, and the rest in reads of its own that libfcgi puts at
the start of the same buffer. Waits for the whole response.

Usage: fcgi_split.py SOCKET TOKEN HOST PORT
Prints the response's Status line (or "no status") and exits 1 when the
response did not end.
"""
import socket
import struct
import sys
import time

SOCK, TOKEN, HOST, PORT = sys.argv[1:5]
BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(kind, content, rid=1):
    return struct.pack("!BBHHBx", 1, kind, rid, len(content), 0) + content


def nv(name, value):
    out = b""
    for x in (name, value):
        n = len(x)
        out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return out + name + value


path = b"/m/" + TOKEN.encode()
env = {
    b"HTTP_HOST": ("%s:%s" % (HOST, PORT)).encode(),
    b"SERVER_NAME": HOST.encode(), b"SERVER_PORT": PORT.encode(),
    b"SCRIPT_FILENAME": b"proxy:fcgi://localhost" + path,
    b"GATEWAY_INTERFACE": b"CGI/1.1", b"SERVER_PROTOCOL": b"HTTP/1.1",
    b"REQUEST_METHOD": b"GET", b"QUERY_STRING": b"",
    b"REQUEST_URI": path, b"SCRIPT_NAME": path,
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(SOCK)
s.sendall(record(BEGIN, struct.pack("!HB5x", 1, 0)))
s.sendall(record(PARAMS, b"".join(nv(k, v) for k, v in env.items())))
time.sleep(0.5)
s.sendall(record(PARAMS, b""))
s.sendall(record(STDIN, b""))
buf, out, ended = b"", b"", False
while not ended:
    try:
        data = s.recv(65536)
    except OSError:
        break
    if not data:
        break
    buf += data
    while len(buf) >= 8:
        _, kind, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
        if len(buf) < 8 + clen + plen:
            break
        if kind == STDOUT:
            out += buf[8:8 + clen]
        elif kind == END:
            ended = True
        buf = buf[8 + clen + plen:]
s.close()
status = [l for l in out.split(b"\r\n") if l.lower().startswith(b"status:")]
print(status[0].decode() if status else "no status")
sys.exit(0 if ended else 1)
