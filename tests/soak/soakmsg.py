# The soak's messages, rebuilt from their number alone: the submitter sends
# them and the accounting rebuilds the same bytes to compare with what was
# delivered or what the link returns, so no copy of the originals is kept.
#   plan(n, seed, max_size) -> dict: recipients, kind, size target
#   build(n, seed, max_size) -> bytes (CRLF line ends, as sent)
import base64
import random

DOMAIN = "example.net"          # pulled recipients (virtual mailboxes)
LOCAL = "local.test"            # LocalDomains: never pulled
SENDER = "alice@example.org"
RCPTS = ["r%d@%s" % (i, DOMAIN) for i in range(10)]
LOCAL_RCPTS = ["l%d@%s" % (i, LOCAL) for i in range(3)]


def _rng(n, seed):
    return random.Random("%s:%d" % (seed, n))


def plan(n, seed, max_size):
    """What message n is: its kind, recipients and size."""
    r = _rng(n, seed)
    x = r.random()
    # The size mix: mostly small text, some documents, a few large ones.
    if x < 0.60:
        size = r.randint(1024, 16 * 1024)
    elif x < 0.85:
        size = r.randint(16 * 1024, 256 * 1024)
    elif x < 0.97:
        size = r.randint(256 * 1024, 1024 * 1024)
    else:
        size = r.randint(1024 * 1024, 5 * 1024 * 1024)
    size = min(size, max_size)
    attach = size > 16 * 1024 or r.random() < 0.2
    k = r.random()
    # Kinds: pull (plain SMTP from an InternalHosts client), local (every
    # recipient in LocalDomains: delivered unchanged by policy), auth_no
    # (authenticated, X-Pull: no: unchanged by policy), auth_short
    # (authenticated, X-Pull-Expires: a short expiry, for gc).
    if k < 0.80:
        kind = "pull"
    elif k < 0.87:
        kind = "local"
    elif k < 0.93:
        kind = "auth_no"
    else:
        kind = "auth_short"
    if kind == "local":
        rcpts = r.sample(LOCAL_RCPTS, r.randint(1, 2))
    else:
        rcpts = r.sample(RCPTS, r.choice([1, 1, 1, 2, 3]))
    return {"kind": kind, "rcpts": sorted(rcpts), "size": size,
            "attach": attach}


def msgid(n, seed):
    return "soak-%s-%06d" % (seed, n)


def _lines(r, nbytes):
    words = ("pull mail seal store link summary queue retry fault "
             "postfix milter original attachment byte exact").split()
    out, got = [], 0
    while got < nbytes:
        line = " ".join(r.choice(words) for _ in range(r.randint(6, 11)))
        out.append(line)
        got += len(line) + 2
    return out


def build(n, seed, max_size, short_expiry="3m"):
    p = plan(n, seed, max_size)
    r = _rng(n, seed + "/body")
    mid = msgid(n, seed)
    h = [
        "From: Alice Soak <%s>" % SENDER,
        "To: %s" % ", ".join(p["rcpts"]),
        "Subject: %s %s" % (mid, p["kind"]),
        "Date: Mon, 02 Jun 2025 10:00:00 +0000",
        "Message-ID: <%s@soak.example.org>" % mid,
        "X-Soak-Id: %s" % mid,
        "MIME-Version: 1.0",
    ]
    if p["kind"] == "auth_no":
        h.append("X-Pull: no")
    if p["kind"] == "auth_short":
        h.append("X-Pull-Expires: %s" % short_expiry)
    text = ["Soak message %s." % mid] + _lines(r, min(p["size"], 4096) - 200)
    if not p["attach"]:
        h.append("Content-Type: text/plain; charset=utf-8")
        body = text
    else:
        b = "b-%s" % mid
        h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
        body = ["This is a MIME message.", "", "--" + b,
                "Content-Type: text/plain; charset=utf-8", ""] + text
        left = max(p["size"] - 4096, 512)
        nparts = 1 if left < 64 * 1024 else r.randint(1, 3)
        for i in range(nparts):
            raw = r.randbytes(max(int(left / nparts * 3 / 4), 64))
            enc = base64.encodebytes(raw).decode().splitlines()
            body += ["--" + b,
                     "Content-Type: application/octet-stream",
                     'Content-Disposition: attachment; filename="%s-%d.bin"'
                     % (mid, i),
                     "Content-Transfer-Encoding: base64", ""] + enc
        body += ["--" + b + "--", ""]
    return ("\r\n".join(h) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()
