#!/usr/bin/python3
"""A FastCGI upstream that fails, for the tests of what the web server logs
when pullmail-web is crashed or broken: listens on a unix socket and, for
each connection, does MODE:

  close    accepts and closes at once (a responder that died mid-request)
  garbage  answers bytes that are not FastCGI
  half     answers the start of a response, then closes
  hang     reads the request and never answers (the web server times out)

Usage: fake_fcgi.py SOCKET MODE (runs until killed)
"""
import os
import socket
import struct
import sys

path, mode = sys.argv[1:3]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
os.chmod(path, 0o666)
srv.listen(16)
held = []
while True:
    c, _ = srv.accept()
    if mode == "close":
        c.close()
    elif mode == "garbage":
        c.sendall(b"HTTP/1.0 200 OK\r\n\r\nnot fastcgi\n")
        c.close()
    elif mode == "half":
        out = b"Status: 200 OK\r\nContent-Type: text/html\r\n"
        c.sendall(struct.pack("!BBHHBx", 1, 6, 1, len(out), 0) + out)
        c.close()
    else:
        held.append(c)
