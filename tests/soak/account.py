#!/usr/bin/env python3
# The soak's accounting, from the outside (tests/soak/soak.sh runs it).
#   account.py watch RUN MODE MAXSIZE HTTP_PORT CONF CTL USER
#       while the load runs: each delivered summary's .eml fetched through
#       nginx and compared byte for byte with the original (rebuilt by
#       soakmsg.py); paths for wrk written to RUN/urls; every 40th pulled
#       message revoked (pullmailctl) and its page and .eml asked for at
#       once (410 expected), every 40th kept (pullmailctl keep, then the
#       page's keep button); StoreDir sampled for plaintext; peak RSS of
#       the milter and the responders. Ends after RUN/deliveries.done.
#   account.py undelivered-ambiguous RUN MODE MAXSIZE
#       the numbers of ambiguous submissions that were never delivered
#   account.py final RUN MODE MAXSIZE HTTP_PORT CONF CTL USER WALL
#                    RESTART_SEC LIMIT_INTERVAL LIMIT_BURST
#       every message in one state: (a) a summary once per recipient whose
#       link returns the original, (b) delivered once unchanged with the
#       log line that says why, (c) refused at submission (then sent again
#       until delivered), (d) with accept only, delivered once half
#       rewritten by a milter killed during its end-of-message edits (the
#       original's body under some of the edits, accepted just after a
#       kill, its link if it got one returning the original); lost,
#       duplicates, dangling links, orphan objects,
#       plaintext, temporary files; the retriever's load; the table; "ok -"
#       and "not ok -" lines. Exit 1 on any lost, duplicated or dangling
#       message.
import glob
import hashlib
import json
import os
import random
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soakmsg  # noqa: E402

MARK = b"Soak message soak-"


def canon(b):
    return re.sub(rb"\r?\n", b"\r\n", b)


def only_header_lines(prefix):
    return prefix == b"" or (prefix.endswith(b"\r\n") and
                             b"\r\n\r\n" not in prefix and
                             re.match(rb"[A-Za-z-]+:", prefix) is not None)


def without_xpull(orig):
    head, sep, body = orig.partition(b"\r\n\r\n")
    lines = [l for l in head.split(b"\r\n")
             if not l.lower().startswith(b"x-pull")]
    return b"\r\n".join(lines) + sep + body


def same_original(got, orig, strip_ok=False):
    """got (as delivered or as the .eml) is orig after header lines that
    Postfix prepended (Received, Return-Path...)."""
    g = canon(got)
    for want in ([orig, without_xpull(orig)] if strip_ok else [orig]):
        if g.endswith(want) and only_header_lines(g[:len(g) - len(want)]):
            return True
    return False


PREPENDED = {b"return-path", b"x-original-to", b"delivered-to", b"received"}
ADDED = [b"mime-version", b"content-type", b"x-pull-url", b"x-pull-expires"]


def fields(head):
    """A header block as a list of (lower-case name, field with its folded
    lines)."""
    out = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + b"\r\n" + line)
        else:
            out.append((line.split(b":", 1)[0].strip().lower(), line))
    return out


def removable(name):
    return name.startswith(b"content-") or name == b"mime-version" or \
        name == b"x-pull" or name.startswith(b"x-pull-")


def half_rewritten(got, orig):
    """The milter killed in the middle of its end-of-message edits, Postfix
    applying those it had received (milter_default_action = accept): got
    is orig's body unchanged under orig's header fields less some of those
    the rewrite removes (Content-*, MIME-Version, X-Pull*), followed by the
    first of those it adds (MIME-Version, Content-Type, X-Pull-URL,
    X-Pull-Expires), in that order. None if not; else the X-Pull-URL added
    (or "")."""
    gh, sep, gb = canon(got).partition(b"\r\n\r\n")
    oh, _, ob = orig.partition(b"\r\n\r\n")
    if not sep or gb != ob:
        return None
    G, O = fields(gh), fields(oh)
    i = 0
    while i < len(G) and G[i] != O[0]:
        if G[i][0] not in PREPENDED:
            return None
        i += 1
    G = G[i:]
    pos = changed = 0
    for f in O:
        if pos < len(G) and G[pos] == f:
            pos += 1
        elif removable(f[0]):
            changed += 1
        else:
            return None
    added = G[pos:]
    if [a[0] for a in added] != ADDED[:len(added)]:
        return None
    if added and added[0][1].split(b":", 1)[1].strip() != b"1.0":
        return None
    if not changed and not added:
        return None
    url = ""
    for name, line in added:
        if name == b"x-pull-url":
            url = line.split(b":", 1)[1].strip().decode()
    return url


def storage_id(token):
    raw = __import__("base64").urlsafe_b64decode(token + "=")
    h = hashlib.blake2b(b"", digest_size=16, key=raw,
                        salt=struct.pack("<Q", 1) + b"\0" * 8,
                        person=b"pullmail" + b"\0" * 8)
    return h.hexdigest()


def head_fields(raw):
    head = raw.split(b"\n\n", 1)[0]
    head = re.sub(rb"\r?\n[ \t]+", b" ", head)
    f = {}
    for line in head.split(b"\n"):
        k, _, v = line.partition(b":")
        f.setdefault(k.strip().lower().decode(errors="replace"),
                     v.strip().decode(errors="replace"))
    return f


def get(url, method="GET", headers=None, timeout=120):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:
        return 0, str(e).encode()


# The watcher reads this much of a delivered file to find its header
# fields, and verifies at most WATCH_BATCH deliveries between two looks at
# the Maildirs.
WATCH_HEAD_MAX = 65536
WATCH_BATCH = 20


def expires_at(fields):
    """The delivered summary's X-Pull-Expires as a time stamp (infinity
    without one), for the watcher's order."""
    import email.utils
    try:
        return email.utils.parsedate_to_datetime(
            fields["x-pull-expires"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return float("inf")


def expired(fields):
    import email.utils
    try:
        t = email.utils.parsedate_to_datetime(fields["x-pull-expires"])
        return t.timestamp() <= time.time()
    except (KeyError, TypeError, ValueError):
        return False


_qidx = None


def milter_down_logged(lines, qid):
    """Postfix logged the milter's failure for this message: a line with
    its queue id that names the milter, or a milter warning of the smtpd or
    cleanup process that handled it, among that process's lines just before
    (Postfix logs a failed milter connection before the queue id exists)."""
    global _qidx
    if _qidx is None or _qidx[0] is not lines:
        idx = {}
        for i, line in enumerate(lines):
            m = re.search(r" ([0-9A-F]{6,}): ", line)
            if m:
                idx.setdefault(m.group(1), []).append(i)
        _qidx = (lines, idx)
    first = None
    pids = set()
    for i in _qidx[1].get(qid, []):
        line = lines[i]
        if "milter" in line.lower():
            return True
        m = re.search(r"postfix/(smtpd|cleanup)\[(\d+)\]", line)
        if m:
            pids.add(m.group(0))
            if first is None:
                first = i
    if first is None:
        return False
    # cleanup logs the milter's failure after the message's own lines and
    # before the queue manager takes the message; on a busy log that can be
    # more than a few lines further.
    queued = [i for i in _qidx[1][qid] if "postfix/qmgr" in lines[i]]
    end = max(first + 50, queued[0] if queued else first + 50)
    for p in pids:
        seen = 0
        for line in reversed(lines[:end]):
            if p not in line:
                continue
            if "milter" in line.lower() and "warning" in line:
                return True
            seen += 1
            if seen > 40:
                break
    return False


def n_of(soak_id):
    return int(soak_id.rsplit("-", 1)[1])


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def mail_files(run):
    return glob.glob(run + "/mail/*/*/new/*") + \
        glob.glob(run + "/mail/*/*/cur/*")


def vmhwm(pid):
    try:
        for line in open("/proc/%s/status" % pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def children(pid):
    out = []
    for d in glob.glob("/proc/[0-9]*/stat"):
        try:
            s = open(d).read()
            if s[s.rindex(")") + 2:].split()[1] == str(pid):
                out.append(d.split("/")[2])
        except (OSError, ValueError, IndexError):
            pass
    return out


def ctl(cfg, *args):
    p = subprocess.run(["runuser", "-u", cfg["user"], "--", cfg["ctl"],
                        "-c", cfg["conf"]] + list(args),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).strip()


def store_dir(conf):
    for line in open(conf):
        if line.startswith("StoreDir"):
            return line.split("=", 1)[1].strip()


def scan_plaintext(store, sample=None):
    """(files looked at, files holding a message's text)"""
    files = []
    for root, _, names in os.walk(store):
        files += [os.path.join(root, n) for n in names]
    tmp = [f for f in files if "/tmp/" in f]
    if sample is not None and len(files) > sample:
        files = tmp + random.sample(files, sample)
    hits = []
    for f in files:
        try:
            if MARK in open(f, "rb").read():
                hits.append(f)
        except OSError:
            pass
    return len(files), hits


def watch(run, mode, maxsize, port, conf, ctlpath, user):
    cfg = {"ctl": ctlpath, "conf": conf, "user": user}
    base = "http://127.0.0.1:%d" % port
    store = store_dir(conf)
    seen = set()
    verified = open(run + "/verified.jsonl", "a", buffering=1)
    urls = open(run + "/urls", "a", buffering=1)
    revoked = open(run + "/revoked.jsonl", "a", buffering=1)
    kept = open(run + "/kept.jsonl", "a", buffering=1)
    samples = open(run + "/plaintext.jsonl", "a", buffering=1)
    rss = {"milter_kib": 0, "responder_kib": 0}
    n_pulled = 0
    last_sample = last_rss = 0
    quiet = 0
    # Deliveries wait in "pending" and are verified soonest-expiring first,
    # a bounded batch per pass: a message sent with a short expiry must be
    # read before it expires even when the watcher is behind (on a loaded
    # machine it can be minutes behind the deliveries).
    pending = []
    while True:
        done = os.path.exists(run + "/deliveries.done")
        new = [f for f in mail_files(run) if os.path.basename(f) not in seen]
        for path in new:
            seen.add(os.path.basename(path))
            try:
                with open(path, "rb") as fh:
                    raw = fh.read(WATCH_HEAD_MAX)
            except OSError:
                continue
            f = head_fields(raw)
            url = f.get("x-pull-url")
            sid = f.get("x-soak-id")
            if not url or not sid:
                continue
            pending.append((expires_at(f), path, url, sid))
        pending.sort(key=lambda e: e[0])
        batch, pending = pending[:WATCH_BATCH], pending[WATCH_BATCH:]
        for _, path, url, sid in batch:
            tok = url.rsplit("/", 1)[1]
            n = n_of(sid)
            code, body = get(base + "/m/%s/eml" % tok)
            orig = soakmsg.build(n, mode, maxsize)
            ok = code == 200 and same_original(body, orig)
            verified.write(json.dumps({"id": n, "token": tok, "code": code,
                                       "match": ok, "t": time.time(),
                                       "file": path}) + "\n")
            p = soakmsg.plan(n, mode, maxsize)
            urls.write("/m/%s\n/m/%s/eml\n" % (tok, tok))
            if p["attach"]:
                urls.write("/m/%s/part/1\n" % tok)
            if not ok or p["kind"] != "pull":
                continue
            n_pulled += 1
            if n_pulled % 40 == 0:
                rc, out = ctl(cfg, "revoke", url)
                c1, _ = get(base + "/m/" + tok)
                c2, _ = get(base + "/m/%s/eml" % tok)
                revoked.write(json.dumps({"id": n, "token": tok, "rc": rc,
                                          "out": out[:200], "page": c1,
                                          "eml": c2}) + "\n")
            elif n_pulled % 40 == 20:
                rc, out = ctl(cfg, "keep", url, "--days", "40")
                c1, page = get(base + "/m/" + tok)
                c2, _ = get(base + "/m/%s/keep" % tok, "POST",
                            {"Origin": base})
                kept.write(json.dumps({"id": n, "token": tok, "rc": rc,
                                       "out": out[:200], "page": c1,
                                       "keep": c2}) + "\n")
        now = time.time()
        if now - last_sample > 15:
            last_sample = now
            nf, hits = scan_plaintext(store, 200)
            samples.write(json.dumps({"t": now, "files": nf,
                                      "hits": hits[:5],
                                      "n_hits": len(hits)}) + "\n")
        if now - last_rss > 1:
            last_rss = now
            try:
                mp = open(run + "/milter.pid").read().strip()
                rss["milter_kib"] = max(rss["milter_kib"], vmhwm(mp))
                wp = open(run + "/web.pid").read().strip()
                for k in children(wp):
                    rss["responder_kib"] = max(rss["responder_kib"],
                                               vmhwm(k))
            except OSError:
                pass
            with open(run + "/rss.json", "w") as f:
                json.dump(rss, f)
        if done and not new and not pending:
            quiet += 1
            if quiet >= 3:
                break
        else:
            quiet = 0
        if not new and not pending:
            time.sleep(1)


def submissions(run):
    acc, refused, amb = {}, {}, {}
    for r in read_jsonl(run + "/submit.jsonl"):
        if r["ev"] == "accepted":
            acc.setdefault(r["id"], []).append(r)
        elif r["ev"] == "refused":
            refused.setdefault(r["id"], []).append(r)
        elif r["ev"] == "ambiguous":
            amb.setdefault(r["id"], []).append(r)
    return acc, refused, amb


def delivered_ids(run):
    ids = {}
    for path in mail_files(run):
        try:
            with open(path, "rb") as f:
                head = f.read(65536)
        except OSError:
            continue
        sid = head_fields(head).get("x-soak-id")
        if sid:
            ids.setdefault(n_of(sid), []).append(path)
    return ids


def undelivered_ambiguous(run, mode, maxsize):
    acc, _, amb = submissions(run)
    d = delivered_ids(run)
    print(" ".join(str(n) for n in sorted(amb) if n not in d and
                   n not in acc))


def wrk_rounds(run):
    rounds, cur = [], None
    try:
        lines = open(run + "/wrk.out").read().splitlines()
    except OSError:
        return rounds
    for line in lines:
        m = re.match(r"round (\d+) (start|end) ([\d.]+)", line)
        if m and m.group(2) == "start":
            cur = {"n": int(m.group(1)), "start": float(m.group(3)),
                   "status": {}, "requests": 0, "p50": None, "p99": None,
                   "errors": "", "end": None}
            rounds.append(cur)
        elif m:
            cur["end"] = float(m.group(3))
        elif cur is not None:
            p = line.split()
            if line.startswith("status "):
                cur["status"][int(p[1])] = int(p[2])
            elif line.startswith("requests "):
                cur["requests"] = int(p[1])
            elif line.startswith("p50_us "):
                cur["p50"] = int(p[1])
            elif line.startswith("p99_us "):
                cur["p99"] = int(p[1])
            elif line.startswith("errors "):
                cur["errors"] = " ".join(p[1:])
    return [r for r in rounds if r["p50"] is not None]


def final(run, mode, maxsize, port, conf, ctlpath, user, wall, restart_sec,
          limit_interval, limit_burst):
    base = "http://127.0.0.1:%d" % port
    store = store_dir(conf)
    passed = []
    failed = []

    def check(cond, what):
        (passed if cond else failed).append(what)
        print("%s - %s" % ("ok" if cond else "not ok", what))

    subs = read_jsonl(run + "/submit.jsonl")
    ends = [r for r in subs if r["ev"] == "end"]
    acc, refused, amb = submissions(run)
    N = max([r["id"] for r in subs if "id" in r] + [-1]) + 1
    milter_log = open(run + "/milter.log", errors="replace").read()
    maillog_lines = open(run + "/pf/maillog", errors="replace").read() \
        .splitlines()
    faults = open(run + "/faults.log").read().splitlines()
    verified = {}
    for r in read_jsonl(run + "/verified.jsonl"):
        verified.setdefault(r["token"], r)
    # A revoke refused while a fault was on (the broken configuration,
    # the unwritable store) leaves the message as it was: it must still
    # be served, and is checked as any other.
    tried = read_jsonl(run + "/revoked.jsonl")
    revoked = {r["token"]: r for r in tried if r["rc"] == 0}
    revoke_refused = [r for r in tried if r["rc"] != 0]
    # Likewise a keep refused during a fault: the message stays served.
    tried_keep = read_jsonl(run + "/kept.jsonl")
    kept = [r for r in tried_keep if r["rc"] == 0]
    keep_refused = [r for r in tried_keep if r["rc"] != 0]

    # Every delivered copy, by message and mailbox.
    copies = {}
    for path in mail_files(run):
        raw = open(path, "rb").read()
        f = head_fields(raw)
        sid = f.get("x-soak-id")
        if not sid:
            continue
        box = path.split("/mail/")[1].split("/new/")[0].split("/cur/")[0]
        copies.setdefault(n_of(sid), []).append((box, path, raw, f))

    # The milter's outages: each kill (kill9, and the one of the
    # unwritable fault) until the fault log saw it back.
    outages = []
    for line in faults:
        w = line.split()
        if len(w) < 2:
            continue
        if w[1] in ("kill9", "unwritable_store"):
            outages.append([float(w[0]), float("inf")])
        elif w[1] in ("kill9_back", "unwritable_back") and outages and \
                outages[-1][1] == float("inf"):
            outages[-1][1] = float(w[0])

    def bypass_explained(recs):
        """With accept, Postfix applies milter_default_action to the rest
        of a session whose milter connection failed, and to a whole
        session opened while the milter was down: a message that bypassed
        the milter was accepted after a kill in a session opened before the
        milter was back (2 s of slack for the fault log's timing)."""
        for r in recs:
            st = r.get("sess_t", r["t"])
            for k, back in outages:
                if r["t"] >= k - 2 and st <= back + 2:
                    return True
        return False

    def killed_at(recs):
        """Accepted (250) within 10 s after a kill of the milter."""
        return any(k - 1 <= r["t"] <= k + 10 for r in recs
                   for k, _ in outages)

    state = {"a": 0, "b_policy": 0, "b_onerror": 0, "b_milter_down": 0,
             "d": 0}
    lost, dups, dangling, bad, unlogged, wrong_kind = [], [], [], [], [], []
    unexplained_bypass = []
    half = []
    expired_ok = revoked_ok = 0
    tokens = set()
    for n in range(N):
        p = soakmsg.plan(n, mode, maxsize)
        want = {"%s/%s" % (r.split("@")[1], r.split("@")[0])
                for r in p["rcpts"]}
        got = copies.get(n, [])
        boxes = [c[0] for c in got]
        if not got or set(boxes) != want:
            lost.append(n)
            continue
        if len(boxes) != len(want):
            dups.append(n)
            continue
        urls = {c[3].get("x-pull-url") for c in got}
        if len(urls) != 1:
            bad.append((n, "copies differ: some pulled, some not, or two links"))
            continue
        url = urls.pop()
        orig = soakmsg.build(n, mode, maxsize)
        qids = [r["qid"] for r in acc.get(n, [])]
        # Not the original (X-Pull* removed as the milter does), not a
        # summary (no original text in it): half rewritten?
        hr = [None]
        if not all(same_original(c[2], orig, True) for c in got) and \
                (not url or any(MARK in c[2] for c in got)):
            hr = [half_rewritten(c[2], orig) for c in got]
        if all(h is not None for h in hr):
            # (d) neither the original nor a summary: half rewritten.
            if mode != "accept":
                bad.append((n, "half rewritten, with OnError = tempfail"))
                continue
            if not killed_at(acc.get(n, [])):
                bad.append((n, "half rewritten, but no milter kill then"))
                continue
            link = hr[0]
            if link:
                tok = link.rsplit("/", 1)[1]
                tokens.add(tok)
                code, body = get(base + "/m/%s/eml" % tok)
                if code != 200 or not same_original(body, orig):
                    dangling.append((n, "half rewritten, link %d" % code))
                    continue
            half.append((n, "link" if link else "no link"))
            state["d"] += 1
            continue
        if url:
            tok = url.rsplit("/", 1)[1]
            tokens.add(tok)
            if any(MARK in c[2] for c in got):
                bad.append((n, "a summary carries the original's text"))
            v = verified.get(tok)
            if v is None or not v["match"]:
                code, body = get(base + "/m/%s/eml" % tok)
                v = {"code": code, "match": code == 200 and
                     same_original(body, orig)}
            if not v["match"]:
                dangling.append((n, v["code"]))
                continue
            # Its link now: the original still, or 410 as asked.
            code, body = get(base + "/m/%s/eml" % tok)
            if tok in revoked:
                if code == 410:
                    revoked_ok += 1
                else:
                    dangling.append((n, "revoked, now %d" % code))
                    continue
            elif code in (404, 410) and p["kind"] == "auth_short" and \
                    expired(got[0][3]):
                # Expired as its sender asked: 410, or 404 once gc has
                # removed it; it was read byte for byte before (above).
                expired_ok += 1
            elif code != 200 or not same_original(body, orig):
                dangling.append((n, code))
                continue
            state["a"] += 1
        else:
            if not all(same_original(c[2], orig, True) for c in got):
                bad.append((n, "delivered unchanged but not the original"))
                continue
            why = None
            for q in qids:
                if re.search(r"%s: not pulled: (every recipient is in "
                             r"LocalDomains|sender asked X-Pull: no)" % q,
                             milter_log):
                    why = "b_policy"
                elif re.search(r"%s: .*delivering the original unchanged "
                               r"\(OnError\)" % q, milter_log):
                    why = "b_onerror"
                elif milter_down_logged(maillog_lines, q):
                    why = "b_milter_down"
            if why is None:
                unlogged.append((n, qids))
                continue
            if mode == "tempfail" and why != "b_policy":
                wrong_kind.append((n, why))
                continue
            if why == "b_milter_down":
                recs = [r for r in acc.get(n, []) if r["qid"] in qids]
                if not bypass_explained(recs):
                    unexplained_bypass.append(
                        (n, [(r["t"], r.get("sess_t")) for r in recs]))
            state[why] += 1

    # Objects that no delivered summary names.
    objs = {os.path.basename(f)[:-5] for f in
            glob.glob(store + "/??/*.pull")}
    named = {storage_id(t) for t in tokens}
    orphans = objs - named
    tmp_left = os.listdir(store + "/tmp")
    nf, hits = scan_plaintext(store)
    samples = read_jsonl(run + "/plaintext.jsonl")
    sample_hits = sum(s["n_hits"] for s in samples)

    kinds = {}
    for line in faults:
        k = line.split()[1] if len(line.split()) > 1 else ""
        kinds[k] = kinds.get(k, 0) + 1
    broken = [l for l in faults if re.search(r" \S+_(failed|notback) ", l + " ")]
    starts = [float(l.split()[0]) for l in open(run + "/starts.log")
              if l.split()[1] == "start"]
    exits = [l.split() for l in open(run + "/starts.log")
             if l.split()[1] == "exit"]
    maxwin = 0
    for i, t in enumerate(starts):
        maxwin = max(maxwin, len([s for s in starts[i:]
                                  if s <= t + float(limit_interval)]))
    refused73 = len([e for e in exits if e[2] == "73"])

    rounds = wrk_rounds(run)
    kills = [float(l.split()[0]) for l in faults if " fcgi_kill " in l]
    reqs = sum(r["requests"] for r in rounds)
    five = 0
    five_unexplained = []
    for r in rounds:
        k = len([t for t in kills if r["start"] <= t <= (r["end"] or 1e18)])
        f5 = sum(v for c, v in r["status"].items() if c >= 500)
        five += f5
        if f5 > k:
            five_unexplained.append((r["n"], f5, k))
    p50s = sorted(r["p50"] for r in rounds)
    p99s = sorted(r["p99"] for r in rounds)
    codes = {}
    for r in rounds:
        for c, v in r["status"].items():
            codes[c] = codes.get(c, 0) + v

    # Throughput by phase, from the 250s the submitter saw.
    t_acc = sorted(r["t"] for r in subs if r["ev"] == "accepted")
    t_start = float(open(run + "/load.start").read())
    fts = [float(l.split()[0]) for l in faults
           if l.split()[1] not in ("schedule:", "faults_done")]
    f0 = min(fts) if fts else t_start
    f1 = [float(l.split()[0]) for l in faults if " faults_done" in l]
    f1 = f1[0] if f1 else f0
    tend = t_acc[-1] if t_acc else f1

    def rate(a, b):
        k = len([t for t in t_acc if a <= t < b])
        return "%.1f" % (k / (b - a)) if b > a else "-"
    rss = json.load(open(run + "/rss.json")) if os.path.exists(
        run + "/rss.json") else {}
    n_refused = len(refused)
    n_refusals = sum(len(v) for v in refused.values())

    check(ends and ends[-1].get("left", 1) == 0,
          "every message was submitted before the deadline")
    check(not lost, "lost: %d %s" % (len(lost), lost[:10]))
    check(not dups, "duplicates: %d %s" % (len(dups), dups[:10]))
    check(not dangling, "dangling links (404/410/500 or not the original): "
          "%d %s" % (len(dangling), dangling[:10]))
    check(not bad, "delivered copies as they should be: %d bad %s"
          % (len(bad), bad[:5]))
    check(not unlogged, "each message delivered unchanged has a log line "
          "naming it: %d without %s" % (len(unlogged), unlogged[:5]))
    if mode == "tempfail":
        check(not wrong_kind, "OnError = tempfail: nothing delivered "
              "unchanged but by policy: %d %s"
              % (len(wrong_kind), wrong_kind[:5]))
    if mode == "accept":
        check(not unexplained_bypass, "OnError = accept: a message delivered "
              "unchanged because the milter was down was sent in a session "
              "open across a milter kill (%d such, all explained; %d "
              "outages) %s" % (state["b_milter_down"], len(outages),
                               unexplained_bypass[:3]))
        check(state["b_onerror"] > 0, "OnError = accept exercised: %d "
              "messages the store refused delivered unchanged, each with "
              "the milter's OnError line" % state["b_onerror"])
    check(not hits and sample_hits == 0, "no plaintext in StoreDir: %d "
          "files at the end, %d samples while running, %d hits %s"
          % (nf, len(samples), len(hits) + sample_hits, hits[:3]))
    check(not tmp_left, "no temporary file after gc: %d %s"
          % (len(tmp_left), tmp_left[:5]))
    check(not broken, "every fault done and recovered from %s" % broken[:3])
    for k in ("kill9", "hup", "hup_broken", "unwritable", "full", "pf_stop",
              "pf_reload", "fcgi_kill"):
        check(kinds.get(k, 0) > 0, "fault %s happened (%d)"
              % (k, kinds.get(k, 0)))
    check(kinds.get("unwritable_back", 0) == kinds.get("unwritable", 0),
          "the milter came back by itself after each unwritable store "
          "(%d starts refused with exit 73 meanwhile)" % refused73)
    check(refused73 > 0, "restarts while the store was unwritable were "
          "refused (exit 73): %d" % refused73)
    check(maxwin <= int(limit_burst), "at the unit's pace (RestartSec %s s) "
          "at most %d starts in any %s s, within StartLimitBurst %s"
          % (restart_sec, maxwin, limit_interval, limit_burst))
    check(re.search(r"rename into place: Permission denied: (tempfail|"
                    r"delivering)", milter_log) is not None,
          "a failed commit's log line names the store's cause (rename into "
          "place: Permission denied)")
    check(rounds and not five_unexplained, "retriever: %d requests in %d "
          "rounds of wrk at 64 connections; 5xx %d, each in a round where a "
          "responder was killed (at most one per kill) %s"
          % (reqs, len(rounds), five, five_unexplained[:3]))
    rv_bad = [r for r in revoked.values()
              if r["page"] != 410 or r["eml"] != 410]
    rv_bad += [r for r in revoke_refused
               if r["page"] != 200 or r["eml"] != 200]
    check(revoked and not rv_bad, "revoke: %d revoked, page and .eml 410 at "
          "once after pullmailctl revoke returned; %d refused during a "
          "fault, still served %s"
          % (len(revoked), len(revoke_refused), rv_bad[:2]))
    kp_bad = [r for r in kept if r["page"] != 200 or r["keep"] != 200]
    kp_bad += [r for r in keep_refused if r["page"] != 200]
    check(kept and not kp_bad, "keep: %d kept (pullmailctl keep, then the "
          "page and its keep button 200); %d refused during a fault, still "
          "served %s" % (len(kept), len(keep_refused), kp_bad[:2]))

    fk = ", ".join("%s %d" % (k, kinds.get(k, 0)) for k in
                   ("kill9", "hup", "hup_broken", "unwritable", "full",
                    "pf_stop", "pf_reload", "fcgi_kill"))
    b = state["b_policy"] + state["b_onerror"] + state["b_milter_down"]
    print("")
    print("| soak, OnError = %s, milter_default_action = %s | |" % (mode, mode))
    print("|---|---|")
    print("| messages | %d (%d recipients' copies) |"
          % (N, sum(len(v) for v in copies.values())))
    print("| faults | %s |" % fk)
    print("| (a) summary, link returns the original byte for byte | %d "
          "(of which %d expired as asked, %d revoked: 410) |"
          % (state["a"], expired_ok, revoked_ok))
    print("| (b) delivered unchanged | %d: policy %d, OnError %d, milter "
          "down %d |" % (b, state["b_policy"], state["b_onerror"],
                         state["b_milter_down"]))
    print("| (c) refused at submission, then sent again | %d messages "
          "(%d refusals; %d ambiguous ends) |" % (n_refused, n_refusals,
                                                  len(amb)))
    print("| (d) half rewritten: the milter killed during its "
          "end-of-message edits, Postfix applied those it had received "
          "(accept only) | %d %s |" % (state["d"], half[:5]))
    print("| lost / duplicates / dangling | %d / %d / %d |"
          % (len(lost), len(dups), len(dangling)))
    print("| objects no summary names | %d (a commit the MTA never "
          "acknowledged: milter killed or Postfix stopped after it) |"
          % len(orphans))
    print("| plaintext in StoreDir / temporary files after gc | %d / %d |"
          % (len(hits) + sample_hits, len(tmp_left)))
    print("| milter restarts / refused (exit 73) / most starts in %s s | "
          "%d / %d / %d (StartLimitBurst %s) |"
          % (limit_interval, len(starts) - 1, refused73, maxwin, limit_burst))
    print("| retriever at 64 connections | %d requests, p50 %s ms, p99 %s ms "
          "(median over %d rounds; worst p99 %s ms), 5xx %d, statuses %s |"
          % (reqs, "%.1f" % (p50s[len(p50s) // 2] / 1000) if p50s else "-",
             "%.1f" % (p99s[len(p99s) // 2] / 1000) if p99s else "-",
             len(rounds), "%.1f" % (p99s[-1] / 1000) if p99s else "-", five,
             " ".join("%d:%d" % kv for kv in sorted(codes.items()))))
    print("| revoke / keep | %d / %d |" % (len(revoked), len(kept)))
    print("| throughput before / during / after faults | %s / %s / %s "
          "messages/s |" % (rate(t_start, f0), rate(f0, f1), rate(f1, tend + 0.001)))
    print("| peak RSS milter / responder | %.1f / %.1f MiB |"
          % (rss.get("milter_kib", 0) / 1024, rss.get("responder_kib", 0) / 1024))
    print("| wall time | %s s |" % wall)
    print("")
    return 1 if (lost or dups or dangling or failed) else 0


def main():
    a = sys.argv[1:]
    if a[0] == "watch":
        watch(a[1], a[2], int(a[3]), int(a[4]), a[5], a[6], a[7])
    elif a[0] == "undelivered-ambiguous":
        undelivered_ambiguous(a[1], a[2], int(a[3]))
    elif a[0] == "final":
        return final(a[1], a[2], int(a[3]), int(a[4]), a[5], a[6], a[7],
                     a[8], a[9], a[10], a[11])
    return 0


if __name__ == "__main__":
    sys.exit(main())
