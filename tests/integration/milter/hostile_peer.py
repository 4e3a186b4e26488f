#!/usr/bin/env python3
"""A misbehaving peer of pullmail-milter's socket, the MTA's side of milter
protocol version 6, for test_milter_protocol.sh.

  hostile_peer.py SOCKET PID LOG

Sends malformed macro lists (SMFIC_MACRO with an odd number of strings, or
a last string without its NUL) before MAIL, whose callback asks libmilter
for {auth_authen}, and carries on with the message as if nothing were
wrong. After each, the milter must still run (PID) and serve a new
connection with a whole message to its end; a well-formed list on a
connection still works. Prints "ok - ..." / "not ok - ..." lines."""
import os
import socket
import struct
import sys
import time

SOCK, PID, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ALL_ACTIONS = 0x1ff
ALL_STEPS = 0x1fffff
NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NR_CONN, NR_MAIL, NR_RCPT, NR_EOH, NR_BODY = \
    0x80, 0x1000, 0x4000, 0x8000, 0x40000, 0x80000
LEADSPC = 0x100000
failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond:
        failures += 1


class Closed(Exception):
    pass


class Peer:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(SOCK)
        self.send(b"O", struct.pack(">III", 6, ALL_ACTIONS, ALL_STEPS))
        cmd, data = self.read()
        assert cmd == b"O", cmd
        _, _, self.steps = struct.unpack(">III", data[:12])

    def send(self, cmd, data=b""):
        try:
            self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)
        except (BrokenPipeError, ConnectionResetError):
            raise Closed()

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                part = self.s.recv(n - len(buf))
            except ConnectionResetError:
                raise Closed()
            if not part:
                raise Closed()
            buf += part
        return buf

    def read(self):
        n = struct.unpack(">I", self.recv_exact(4))[0]
        pkt = self.recv_exact(n)
        return pkt[:1], pkt[1:]

    def answer(self):
        changes = []
        while True:
            cmd, data = self.read()
            if cmd == b"p":
                continue
            if cmd in (b"h", b"i", b"m", b"b"):
                changes.append((cmd, data))
                continue
            return cmd, changes

    def step(self, cmd, data, skip_flag, nr_flag):
        if self.steps & skip_flag:
            return b"c"
        self.send(cmd, data)
        if self.steps & nr_flag:
            return b"c"
        return self.answer()[0]

    def message(self, macros, connect=None):
        """Connect info, the given macro packet before MAIL, a message to
        its end; returns the final answer and the modifications."""
        self.step(b"C", connect or b"client.example.org\0" + b"4" +
                  struct.pack(">H", 40000) + b"127.0.0.1\0",
                  NOCONNECT, NR_CONN)
        self.send(b"D", macros)
        self.step(b"M", b"<alice@example.org>\0", NOMAIL, NR_MAIL)
        self.step(b"R", b"<bob@example.net>\0", NORCPT, NR_RCPT)
        sp = b" " if self.steps & LEADSPC else b""
        for name, value in ((b"From", b"alice@example.org"),
                            (b"To", b"bob@example.net"),
                            (b"Subject", b"protocol test"),
                            (b"Content-Type", b"text/plain")):
            self.step(b"L", name + b"\0" + sp + value + b"\0", NOHDRS,
                      NR_HDR)
        self.step(b"N", b"", NOEOH, NR_EOH)
        self.step(b"B", b"Hello Bob,\r\nthe body.\r\n", NOBODY, NR_BODY)
        self.send(b"E")
        return self.answer()

    def close(self):
        try:
            self.send(b"Q")
        except Closed:
            pass
        self.s.close()


def alive():
    try:
        os.kill(PID, 0)
    except OSError:
        return False
    # A zombie is a dead milter too.
    try:
        with open("/proc/%d/stat" % PID) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


GOOD = b"Mi\0Q1\0{auth_authen}\0alice\0"
# libmilter's array of the strings of a list of three has room for four
# pointers, the last NULL; smfi_getsymval reads a fifth from the bytes
# that follow, which are what the heap held before. The connect packet
# before it is freed just before that array is allocated, in the same
# size class: its host name leaves bytes there that are no pointer.
GROOM = b"\xa5" * 37 + b"\0U"
HOSTILE = [
    ("three strings", b"Mi\0Q2\0{foo}\0", GROOM),
    ("one string", b"M{foo}\0", None),
    ("a name without its NUL", b"Mi\0Q3\0{foo}", None),
    ("many names, no values", b"M" + b"".join(b"{m%d}\0" % i
                                               for i in range(999)), None),
]

try:
    p = Peer()
    final, changes = p.message(GOOD)
    p.close()
    check(final == b"c" and any(b"X-Pull-URL\0" in d for _, d in changes),
          "a well-formed macro list: the message is pulled")
    for what, macros, connect in HOSTILE:
        p = Peer()
        try:
            final, _ = p.message(macros, connect)
            result = "answered %r" % final
        except Closed:
            result = "closed"
        p.close()
        time.sleep(0.2)
        check(alive(), "macro list with %s (%s): the milter still runs"
              % (what, result))
        try:
            q = Peer()
            final, changes = q.message(GOOD)
            q.close()
            served = final == b"c" and any(b"X-Pull-URL\0" in d
                                           for _, d in changes)
        except (Closed, OSError, AssertionError):
            served = False
        check(served, "macro list with %s: the next connection is served "
              "to the end of its message" % what)
    with open(LOG, errors="replace") as f:
        n = sum("malformed macro list" in l for l in f)
    check(n == len(HOSTILE), "each malformed macro list is logged (%d of %d)"
          % (n, len(HOSTILE)))
except Exception as e:
    check(False, "the peer's dialogue ran to its end (%r)" % e)
sys.exit(1 if failures else 0)
