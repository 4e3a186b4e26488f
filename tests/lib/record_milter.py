#!/usr/bin/env python3
"""A milter that changes nothing and writes down what it was shown: the
stand-in for a DKIM signer listed after pullmail-milter, so that a test can
see which message a signer would sign.

  record_milter.py SOCKET OUTFILE

Listens on the unix socket SOCKET and, at the end of each message, appends
to OUTFILE the header fields and the body it received, then a line
"--- end of message ---". Speaks milter protocol version 6: asks for no
action and no protocol step left out, answers "continue" to every step.
"""
import os
import socket
import struct
import sys
import threading

SOCK, OUT = sys.argv[1:3]
lock = threading.Lock()


def recvn(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b


def reply(c, cmd, data=b""):
    c.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def serve(c):
    headers, body = [], b""
    try:
        while True:
            n, = struct.unpack(">I", recvn(c, 4))
            pkt = recvn(c, n)
            cmd, data = pkt[:1], pkt[1:]
            if cmd == b"O":
                reply(c, b"O", struct.pack(">III", 6, 0, 0))
            elif cmd in (b"D", b"A", b"K"):
                if cmd == b"A":
                    headers, body = [], b""
            elif cmd == b"Q":
                return
            elif cmd == b"L":
                name, value = data.split(b"\0")[:2]
                headers.append(name + b": " + value)
                reply(c, b"c")
            elif cmd == b"B":
                body += data
                reply(c, b"c")
            elif cmd == b"E":
                body += data
                with lock, open(OUT, "ab") as f:
                    f.write(b"\n".join(headers) + b"\n\n" + body +
                            b"\n--- end of message ---\n")
                headers, body = [], b""
                reply(c, b"c")
            else:
                reply(c, b"c")
    except (EOFError, OSError):
        return
    finally:
        c.close()


if os.path.exists(SOCK):
    os.unlink(SOCK)
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(SOCK)
os.chmod(SOCK, 0o666)
ls.listen(16)
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
