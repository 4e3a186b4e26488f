#!/bin/sh
# pullmail-milter reloads its configuration on SIGHUP (and SIGUSR1): the real
# daemon is started on a unix socket under $O/run/milter-reload and driven
# by a small milter-protocol client (Python, below) acting as the MTA. It
# shows that a new BaseURL reaches the next message, that a message already
# in progress keeps the configuration it started with, that a bad file is
# refused with a log line while the running configuration stays, that the
# daemon survives every reload signal, and that SIGTERM still ends it
# cleanly. No TCP port is used. Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
case $O in /*) BUILD=$O ;; *) BUILD=$TOP/$O ;; esac
RUN=$BUILD/run/milter-reload
MILTER=$BUILD/milter/pullmail-milter
. "$TOP/tests/lib/harness.sh"
. "$TOP/tests/lib/milter_daemon.sh"
start_milter https://old.example.org/

# The client prints ok/not ok lines; it rewrites the file and sends the
# signals between its steps.
export RUN SOCK CONF LOG TOP MILTER_PID
python3 - > "$RUN/client.out" 2>&1 <<'PYEOF'
import os, signal, socket, struct, subprocess, sys, time

RUN, SOCK, CONF, LOG, TOP = (os.environ[k] for k in
                             ("RUN", "SOCK", "CONF", "LOG", "TOP"))
PID = int(os.environ["MILTER_PID"])
results = []

def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    results.append(cond)

# Milter protocol version 6 (libmilter's mfdef.h), the MTA's side.
ALL_ACTIONS = 0x1ff
ALL_STEPS = 0x1fffff
NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NODATA, NR_CONN, NR_MAIL, NR_RCPT, NR_EOH, NR_BODY = \
    0x80, 0x200, 0x1000, 0x4000, 0x8000, 0x40000, 0x80000
LEADSPC = 0x100000
FINAL = b"caprtdy"

class Milter:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(SOCK)
        self.send(b"O", struct.pack(">III", 6, ALL_ACTIONS, ALL_STEPS))
        cmd, data = self.read()
        assert cmd == b"O", cmd
        _, self.actions, self.steps = struct.unpack(">III", data[:12])
        self.changes = []

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            part = self.s.recv(n - len(buf))
            if not part:
                raise EOFError("the milter closed the connection")
            buf += part
        return buf

    def read(self):
        n = struct.unpack(">I", self.recv_exact(4))[0]
        pkt = self.recv_exact(n)
        return pkt[:1], pkt[1:]

    def answer(self):
        """Reads up to the final answer; modifications are collected."""
        while True:
            cmd, data = self.read()
            if cmd == b"p":
                continue
            if cmd in (b"h", b"i", b"m", b"b"):
                self.changes.append((cmd, data))
                continue
            return cmd

    def step(self, cmd, data, skip_flag, nr_flag):
        if self.steps & skip_flag:
            return b"c"
        self.send(cmd, data)
        if self.steps & nr_flag:
            return b"c"
        return self.answer()

    def begin(self):
        a = self.step(b"C", b"client.example.org\0" + b"4" +
                      struct.pack(">H", 40000) + b"127.0.0.1\0",
                      NOCONNECT, NR_CONN)
        assert a == b"c", a

    def start_message(self, qid, headers):
        self.changes = []
        self.send(b"D", b"M" + b"i\0" + qid.encode() + b"\0")
        a = self.step(b"M", b"<alice@example.org>\0", NOMAIL, NR_MAIL)
        assert a == b"c", a
        a = self.step(b"R", b"<bob@example.net>\0", NORCPT, NR_RCPT)
        assert a == b"c", a
        sp = b" " if self.steps & LEADSPC else b""
        for name, value in headers:
            a = self.step(b"L", name.encode() + b"\0" + sp +
                          value.encode() + b"\0", NOHDRS, NR_HDR)
            assert a == b"c", a
        a = self.step(b"N", b"", NOEOH, NR_EOH)
        assert a == b"c", a

    def body(self, data):
        a = self.step(b"B", data, NOBODY, NR_BODY)
        assert a == b"c", a

    def end_message(self):
        self.send(b"E")
        final = self.answer()
        url = None
        for cmd, data in self.changes:
            if cmd in (b"h", b"i"):
                if cmd == b"i":
                    data = data[4:]
                name, value = data.split(b"\0")[:2]
                if name == b"X-Pull-URL":
                    url = value.decode().strip()
        return final, url

    def close(self):
        self.send(b"Q")
        self.s.close()

HEADERS = [("From", "Alice <alice@example.org>"), ("To", "bob@example.net"),
           ("Subject", "reload test"), ("MIME-Version", "1.0"),
           ("Content-Type", "text/plain; charset=utf-8")]
BODY = b"Hello Bob,\r\nthe body of the message.\r\n"

def one_message(m, qid):
    m.start_message(qid, HEADERS)
    m.body(BODY)
    return m.end_message()

def fresh_message(qid):
    m = Milter()
    m.begin()
    r = one_message(m, qid)
    m.close()
    return r

def write_conf(base_url, extra="", template_dir=None):
    with open(CONF + ".new", "w") as f:
        f.write("[store]\nStoreDir = %s/store\n\n[milter]\n"
                "Socket = unix:%s\nUserID = %s\nBaseURL = %s\n"
                "LogWhy = yes\n%s\n\n[summary]\nTemplateDir = %s\n" %
                (RUN, SOCK, subprocess.check_output(["id", "-un"],
                 text=True).strip(), base_url, extra,
                 template_dir or TOP + "/templates"))
    os.rename(CONF + ".new", CONF)

def log_lines():
    with open(LOG, errors="replace") as f:
        return f.read().splitlines()

def signal_and_wait(sig, needle):
    """Sends sig and waits for one more log line containing needle."""
    before = sum(needle in l for l in log_lines())
    os.kill(PID, sig)
    end = time.time() + 10
    while time.time() < end:
        lines = log_lines()
        if sum(needle in l for l in lines) > before:
            return [l for l in lines if needle in l][-1]
        time.sleep(0.05)
    return None

def alive():
    try:
        os.kill(PID, 0)
        return True
    except OSError:
        return False

def link_of(url, base):
    return url is not None and url.startswith(base + "m/") and \
        len(url) == len(base) + 2 + 43

try:
    final, url = fresh_message("Q1")
    check(final == b"c" and link_of(url, "https://old.example.org/"),
          "before the reload a message is linked to the first BaseURL")

    # A message in progress on a long connection while the file changes.
    a = Milter()
    a.begin()
    a.start_message("Q2", HEADERS)
    a.body(BODY[:10])

    write_conf("https://new.example.org/")
    line = signal_and_wait(signal.SIGHUP, "configuration reloaded")
    check(line is not None, "SIGHUP: the milter logs the reload")
    check(alive(), "SIGHUP: the milter is still running")

    final, url = fresh_message("Q3")
    check(final == b"c" and link_of(url, "https://new.example.org/"),
          "after SIGHUP the next message is linked to the new BaseURL")

    a.body(BODY[10:])
    final, url = a.end_message()
    check(final == b"c" and link_of(url, "https://old.example.org/"),
          "the message in progress during the reload keeps its "
          "configuration (the old BaseURL)")
    final, url = one_message(a, "Q4")
    check(final == b"c" and link_of(url, "https://new.example.org/"),
          "the next message on that same connection takes the new one")
    a.close()

    # Bad files: refused with a log line, the running configuration stays.
    for what, kw in (("an unknown key", dict(extra="NoSuchKey = 1")),
                     ("BaseURL not https", dict(base_url="ftp://x.example/")),
                     ("a TemplateDir without templates",
                      dict(template_dir=RUN + "/no-templates"))):
        args = dict(base_url="https://bad.example.org/")
        args.update(kw)
        write_conf(**args)
        line = signal_and_wait(signal.SIGHUP, "reload refused")
        check(line is not None, "a file with %s is refused with a log "
              "line (%s)" % (what, (line or "none")[:90]))
        check(alive(), "the milter is still running after the refused "
              "reload (%s)" % what)
        final, url = fresh_message("Q5")
        check(final == b"c" and link_of(url, "https://new.example.org/"),
              "after the refused reload (%s) messages keep the running "
              "configuration" % what)

    # SIGUSR1, the older reload signal, still works.
    write_conf("https://third.example.org/")
    line = signal_and_wait(signal.SIGUSR1, "configuration reloaded")
    check(line is not None and alive(), "SIGUSR1 reloads too")
    final, url = fresh_message("Q6")
    check(final == b"c" and link_of(url, "https://third.example.org/"),
          "after SIGUSR1 the next message is linked to the third BaseURL")

    # Many reloads in a row, messages in between: nothing lost.
    good = True
    for k in range(20):
        os.kill(PID, signal.SIGHUP)
        final, url = fresh_message("R%d" % k)
        good = good and final == b"c" and url is not None
    time.sleep(0.5)
    check(good and alive(), "twenty SIGHUPs between messages: every message "
          "answered and the milter still running")
except Exception as e:
    check(False, "the milter dialogue went to the end (%r)" % (e,))

sys.exit(0 if all(results) else 1)
PYEOF
rc=$?
while IFS= read -r line; do
	echo "$line"
	case $line in
	"ok - "*) passed=$((passed + 1)) ;;
	"not ok - "*) failed=$((failed + 1)) ;;
	esac
done < "$RUN/client.out"
[ $rc = 0 ] || { fail "the reload client ran to the end (rc $rc)"; tail -5 "$RUN/client.out"; }

# SIGTERM still stops it (libmilter's own path), with exit status 0.
if ! kill -0 "$MILTER_PID" 2>/dev/null; then
	fail "the milter was still running before SIGTERM"
	tail -5 "$LOG"
	finish
fi
if ! term_milter; then
	fail "SIGTERM ends the milter within 10 s"
else
	st=$MILTER_STATUS
	if [ "$st" = 0 ] && grep -q "stopping" "$LOG"; then
		ok "SIGTERM ends the milter cleanly (exit 0, \"stopping\" logged)"
	else
		fail "SIGTERM: exit status $st"
		tail -5 "$LOG"
	fi
fi
if ! grep -Eq '/m/[A-Za-z0-9_-]{43}' "$LOG"; then
	ok "no link's token in the milter's log"
else
	fail "a token was logged"
fi
finish
