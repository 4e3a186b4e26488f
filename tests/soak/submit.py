#!/usr/bin/env python3
# The soak's submitter: SESSIONS concurrent SMTP sessions send messages
# 0..COUNT-1 (tests/soak/soakmsg.py) at RATE messages a second, plain SMTP
# for most kinds and SMTP AUTH on a second port for the authenticated ones.
# Every answer is recorded, one JSON line per event, in OUT:
#   accepted  250 after the end of data (queue id noted)
#   refused   a 4xx/5xx the submitter saw, or a connection that failed
#             before the end of data: nothing was queued; sent again later
#   ambiguous the connection failed after the end of data was sent: Postfix
#             may or may not have queued it; resolved after the queue drains
#             (resolve mode: sent again only if it was not delivered)
# A session sends at most SOAK_SESSION_MESSAGES (5) messages, then QUIT and
# a new one, as mail clients and MTAs do: Postfix keeps one milter
# connection per SMTP session, so sessions held open for the whole run
# would let one milter kill decide the fate of all their later messages.
# Each accepted event carries the time its session was opened (sess_t).
# Bounded: it gives up at DEADLINE (unix time) and says how many were left.
#   submit.py run  OUT PLAIN_PORT AUTH_PORT USER PASS COUNT SESSIONS RATE SEED MAXSIZE DEADLINE
#   submit.py send OUT PLAIN_PORT AUTH_PORT USER PASS SEED MAXSIZE DEADLINE N...
import json
import os
import re
import smtplib
import socket
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import soakmsg  # noqa: E402

lock = threading.Lock()
PER_SESSION = max(int(os.environ.get("SOAK_SESSION_MESSAGES", "5")), 1)


class Out:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def rec(self, **kw):
        kw["t"] = round(time.time(), 3)
        with lock:
            self.f.write(json.dumps(kw, sort_keys=True) + "\n")


class Session:
    def __init__(self, cfg):
        self.cfg = cfg
        self.conn = {}
        self.used = {}
        self.opened = {}

    def drop(self, auth):
        self.used.pop(auth, None)
        self.opened.pop(auth, None)
        s = self.conn.pop(auth, None)
        if s is not None:
            try:
                s.close()
            except Exception:
                pass

    def get(self, auth):
        s = self.conn.get(auth)
        if s is not None and self.used.get(auth, 0) >= PER_SESSION:
            try:
                s.quit()
            except Exception:
                pass
            self.drop(auth)
            s = None
        if s is not None:
            return s
        port = self.cfg["auth_port"] if auth else self.cfg["plain_port"]
        s = smtplib.SMTP(timeout=120)
        # Stored first, so that a failed greeting or login is closed by
        # drop(): a connection left open would keep its smtpd (and, across
        # postfix stop, the old master's listening socket) alive.
        self.conn[auth] = s
        self.used[auth] = 0
        self.opened[auth] = round(time.time(), 3)
        s.connect("127.0.0.1", port)
        code, msg = s.ehlo("submitter.example.org")
        if code != 250:
            raise smtplib.SMTPResponseException(code, msg)
        if auth:
            s.login(self.cfg["user"], self.cfg["pass"])
        return s

    def send(self, n):
        """('accepted', qid, sess_t) | ('refused', code, text) |
        ('ambiguous', why)"""
        p = soakmsg.plan(n, self.cfg["seed"], self.cfg["maxsize"])
        auth = p["kind"].startswith("auth_")
        data = soakmsg.build(n, self.cfg["seed"], self.cfg["maxsize"])
        try:
            s = self.get(auth)
        except smtplib.SMTPResponseException as e:
            self.drop(auth)
            return ("refused", e.smtp_code, str(e.smtp_error)[:120])
        except (OSError, smtplib.SMTPException) as e:
            self.drop(auth)
            return ("refused", 0, "connect: %s" % e)
        self.used[auth] += 1
        opened = self.opened[auth]
        stage = "mail"
        try:
            code, msg = s.mail(soakmsg.SENDER)
            if code != 250:
                self.drop(auth)
                return ("refused", code, msg.decode(errors="replace")[:120])
            stage = "rcpt"
            for r in p["rcpts"]:
                code, msg = s.rcpt(r)
                if code not in (250, 251):
                    self.drop(auth)
                    return ("refused", code,
                            msg.decode(errors="replace")[:120])
            stage = "data"
            s.putcmd("data")
            code, msg = s.getreply()
            if code != 354:
                self.drop(auth)
                return ("refused", code, msg.decode(errors="replace")[:120])
            q = re.sub(rb"(?m)^\.", b"..", data)
            stage = "content"
            s.send(q + b".\r\n")
            stage = "end"
            code, msg = s.getreply()
        except (OSError, smtplib.SMTPException) as e:
            self.drop(auth)
            if stage in ("content", "end"):
                return ("ambiguous", "%s: %s" % (stage, e))
            return ("refused", 0, "%s: %s" % (stage, e))
        text = msg.decode(errors="replace")
        if code == 250:
            m = re.search(r"queued as (\S+)", text)
            return ("accepted", m.group(1) if m else "", opened)
        # Sent again on a new connection, as an MTA retries: Postfix
        # applies milter_default_action to the rest of a session whose
        # milter connection failed.
        self.drop(auth)
        return ("refused", code, text[:120])


def worker(cfg, out, todo, stats):
    ses = Session(cfg)
    while True:
        with lock:
            if not todo or time.time() > cfg["deadline"]:
                break
            n, not_before = todo.pop(0)
        wait = not_before - time.time()
        if wait > 0:
            time.sleep(min(wait, 5))
            if time.time() < not_before:
                with lock:
                    todo.insert(0, (n, not_before))
                continue
        r = ses.send(n)
        if r[0] == "accepted":
            out.rec(ev="accepted", id=n, qid=r[1], sess_t=r[2])
            with lock:
                stats["accepted"] += 1
        elif r[0] == "ambiguous":
            out.rec(ev="ambiguous", id=n, why=r[1])
            with lock:
                stats["ambiguous"] += 1
        else:
            out.rec(ev="refused", id=n, code=r[1], why=r[2])
            with lock:
                stats["refused"] += 1
                # Sent again a second later, after what is due by then.
                when = time.time() + 1.0
                i = 0
                while i < len(todo) and todo[i][1] <= when:
                    i += 1
                todo.insert(i, (n, when))
            time.sleep(0.2)
    for a in list(ses.conn):
        try:
            ses.conn[a].quit()
        except Exception:
            pass


def main():
    mode = sys.argv[1]
    a = sys.argv[2:]
    cfg = {"plain_port": int(a[1]), "auth_port": int(a[2]), "user": a[3],
           "pass": a[4]}
    out = Out(a[0])
    if mode == "run":
        count, sessions, rate = int(a[5]), int(a[6]), float(a[7])
        cfg.update(seed=a[8], maxsize=int(a[9]), deadline=float(a[10]))
        t0 = time.time()
        todo = [(n, t0 + n / rate) for n in range(count)]
    else:
        sessions = 4
        cfg.update(seed=a[5], maxsize=int(a[6]), deadline=float(a[7]))
        todo = [(int(n), 0) for n in a[8:]]
    stats = {"accepted": 0, "refused": 0, "ambiguous": 0}
    threads = [threading.Thread(target=worker, args=(cfg, out, todo, stats))
               for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.rec(ev="end", left=len(todo), **stats)
    print("submit: %d accepted, %d refusals seen, %d ambiguous, %d left at "
          "the deadline" % (stats["accepted"], stats["refused"],
                            stats["ambiguous"], len(todo)))
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main())
