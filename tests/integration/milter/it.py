#!/usr/bin/env python3
"""Cases of test_milter_postfix.sh: builds messages with Python's email
package, submits them to the private Postfix, and checks what was delivered
(Maildir), what the store holds and what the link opens.

usage: it.py RUN PORT_TEMPFAIL PORT_ACCEPT TOOL CONF STOREDIR MAILDIR PHASE
PHASE is "pull" (milter running) or "stopped" (milter stopped).
Prints "ok - ..." / "not ok - ..." lines; the shell counts them."""
import email, email.policy, glob, os, re, smtplib, subprocess, sys, time
from email.message import EmailMessage

RUN, P_TF, P_ACC, TOOL, CONF, STORE, MAILDIR, PHASE = sys.argv[1:9]
DOM = "example.net"


def ok(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail:
        for line in str(detail).splitlines()[:15]:
            print("    " + line)
    sys.stdout.flush()
    return cond


def base(subject, to=None):
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Alice Sender <alice@example.org>"
    m["To"] = ", ".join(to or ["bob@" + DOM])
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(localtime=False)
    m["Message-ID"] = email.utils.make_msgid(domain="example.org")
    return m


def cases():
    out = []
    m = base("Plain text only")
    m.set_content("Plain body line one of the original, secret 8f3a.\n"
                  "Second original line, secret 91bc.\n")
    out.append(("plain text", m, ["bob@" + DOM], []))

    m = base("Relatório de novembro ✓ ação")
    m.set_content("Corpo em português com acentuação: ação, relatório 77ab.\n")
    m.add_attachment(b"%PDF-1.4 fake pdf bytes for the test 12345\n" * 40,
                     maintype="application", subtype="pdf",
                     filename="relatório final ✓.pdf")
    out.append(("UTF-8 subject and file name", m, ["bob@" + DOM],
                [("relatório final ✓.pdf", "application/pdf")]))

    m = base("HTML with an inline image")
    m.set_content("Text alternative of the html message 55cd.\n")
    png = bytes.fromhex("89504e470d0a1a0a") + os.urandom(3000)
    m.add_alternative('<html><body><p>Original html paragraph 66de.</p>'
                      '<img src="cid:logo@x"></body></html>', subtype="html")
    m.get_payload()[1].add_related(png, maintype="image", subtype="png",
                                   cid="<logo@x>", filename="logo.png")
    out.append(("HTML with an inline image", m, ["bob@" + DOM],
                [("logo.png", "image/png")]))

    m = base("Three attachments")
    m.set_content("See the three files, original line 12ef.\n")
    m.add_attachment(os.urandom(10000), maintype="application",
                     subtype="octet-stream", filename="data.bin")
    m.add_attachment("a,b,c\n1,2,3\n" * 100, subtype="csv",
                     filename="table.csv")
    m.add_attachment(os.urandom(50000), maintype="image", subtype="jpeg",
                     filename="photo.jpg")
    out.append(("three attachments", m, ["bob@" + DOM],
                [("data.bin", "application/octet-stream"),
                 ("table.csv", "text/csv"), ("photo.jpg", "image/jpeg")]))

    m = base("A 20 MB attachment")
    m.set_content("The big file is attached, original line 34aa.\n")
    m.add_attachment(os.urandom(20 * 1000 * 1000), maintype="application",
                     subtype="zip", filename="big.zip")
    out.append(("20 MB attachment", m, ["bob@" + DOM],
                [("big.zip", "application/zip")]))

    rcpts = ["r%d@%s" % (i, DOM) for i in range(10)]
    m = base("Ten recipients", rcpts)
    m.set_content("To ten people at once, original line 9b9b.\n")
    out.append(("ten recipients", m, rcpts, []))
    return out


def submit(port, m, rcpts):
    raw = m.as_bytes(policy=email.policy.SMTP)
    with smtplib.SMTP("127.0.0.1", int(port), timeout=120) as s:
        s.sendmail("alice@example.org", rcpts, raw)
    return raw


def delivered(subject, n=1, timeout=90):
    """The delivered files whose Subject is subject (n of them)."""
    end = time.time() + timeout
    while time.time() < end:
        found = []
        for f in glob.glob(MAILDIR + "/*/*/new/*"):
            with open(f, "rb") as fh:
                msg = email.message_from_binary_file(fh, policy=email.policy.default)
            if str(msg["Subject"]) == subject:
                found.append(f)
        if len(found) >= n:
            return found
        time.sleep(0.3)
    return found


def objects():
    return sorted(glob.glob(STORE + "/*/*.pull"))


def body_lines(raw):
    body = raw.split(b"\r\n\r\n", 1)[1]
    return [l for l in body.split(b"\r\n") if len(l.strip()) >= 16]


def check_pull():
    total = 0
    originals = []
    for name, m, rcpts, atts in cases():
        before = set(objects())
        raw = submit(P_TF, m, rcpts)
        originals.append(raw)
        files = delivered(str(m["Subject"]), len(rcpts))
        after = set(objects())
        new = after - before
        ok(len(files) == len(rcpts), name + ": delivered to every recipient",
           "%d of %d" % (len(files), len(rcpts)))
        ok(len(new) == 1, name + ": exactly one stored object", str(len(new)))
        if not files:
            continue
        data = open(files[0], "rb").read()
        msg = email.message_from_bytes(data, policy=email.policy.default)
        url = msg["X-Pull-URL"]
        good = (msg.get_content_type() == "multipart/alternative" and
                [p.get_content_type() for p in msg.iter_parts()] ==
                ["text/plain", "text/html"] and url is not None and
                msg["X-Pull-Expires"] is not None and
                msg["Message-ID"] == m["Message-ID"] and
                "X-Pull" not in msg)
        ok(good, name + ": Python email parses a multipart/alternative summary with X-Pull-URL",
           data[:1500].decode("utf-8", "replace"))
        if not good:
            continue
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        ok(str(msg["Subject"]) in text and url in text and url in html,
           name + ": summary names the subject and carries the link", text)
        missing = [a for a in atts if a[0] not in text or a[1] not in text]
        ok(not missing, name + ": summary lists each attachment's name and type",
           "missing %r\n%s" % (missing, text))
        if name == "20 MB attachment":
            ok(re.search(r"big\.zip \(application/zip, 20(\.0)? MB\)", text)
               is not None, name + ": decoded size shown as 20 MB", text)
        g = subprocess.run([TOOL, "gmime", files[0]], capture_output=True,
                           text=True)
        ok(g.returncode == 0 and g.stdout.startswith(
           "multipart/alternative 2 text/plain text/html"),
           name + ": GMime parses the summary (two text parts with the link)",
           g.stdout + g.stderr)
        # The summary's lines: at most 78 characters (Maildir has LF ends).
        body = data.split(b"\n\n", 1)[1]
        long_lines = [l for l in body.split(b"\n") if len(l.rstrip(b"\r")) > 78]
        ok(not long_lines and len(body) < 4096,
           name + ": summary body under 4 KB, lines at most 78 characters",
           b"\n".join(long_lines[:3]).decode("utf-8", "replace"))
        out = os.path.join(RUN, "opened.eml")
        o = subprocess.run([TOOL, "open", CONF, url, out],
                           capture_output=True, text=True)
        if not ok(o.returncode == 0, name + ": the link opens the object",
                  o.stderr):
            continue
        got = open(out, "rb").read()
        os.unlink(out)
        # What the milter sees is the submitted message after Postfix's own
        # Received: field, which cleanup prepends before the milter runs.
        prefix = got[:len(got) - len(raw)] if got.endswith(raw) else None
        fields_ok = prefix is not None and all(
            l.startswith(b"Received:") or l[:1] in (b" ", b"\t")
            for l in prefix.split(b"\r\n") if l)
        ok(fields_ok, name + ": the object is the message as the milter received it, byte for byte "
           "(Postfix's Received: field, then the submitted bytes)",
           "object %d bytes, submitted %d; object head: %r" %
           (len(got), len(raw), got[:300]))
        total += 1
    # No line of any original body anywhere in the store (sealed).
    leaked = []
    for raw in originals:
        for line in body_lines(raw)[:200]:
            r = subprocess.run(["grep", "-rqF", "--", line.decode("latin-1"),
                                STORE], capture_output=True)
            if r.returncode == 0:
                leaked.append(line[:60])
    ok(not leaked, "no line of any original body appears in the store directory",
       repr(leaked[:5]))


def check_stopped():
    m = base("Milter stopped, tempfail port")
    m.set_content("Sent while the milter was stopped 1111.\n")
    try:
        submit(P_TF, m, ["bob@" + DOM])
        code = 250
    except smtplib.SMTPDataError as e:
        code = e.smtp_code
    except smtplib.SMTPResponseException as e:
        code = e.smtp_code
    ok(400 <= code < 500, "milter stopped, milter_default_action=tempfail: "
       "Postfix answers 4xx (%d)" % code)
    m = base("Milter stopped, accept port")
    m.set_content("Sent while the milter was stopped 2222.\n")
    submit(P_ACC, m, ["bob@" + DOM])
    files = delivered(str(m["Subject"]))
    good = False
    if files:
        msg = email.message_from_bytes(open(files[0], "rb").read(),
                                       policy=email.policy.default)
        good = (msg["X-Pull-URL"] is None and
                "2222" in msg.get_body(("plain",)).get_content())
    ok(good, "milter stopped, milter_default_action=accept: the original "
       "is delivered unchanged")


if PHASE == "pull":
    check_pull()
else:
    check_stopped()
