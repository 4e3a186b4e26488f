#!/usr/bin/env python3
"""Helper of test_inbound.sh: send a message over SMTP, wait for one in a
Maildir, compare a delivered message with the original it should be.

  mail.py send PORT FROM TO FILE
  mail.py wait MAILDIR SUBJECT SECONDS OUT     copies the message to OUT
  mail.py same-original DELIVERED ORIGINAL     exit 0 when it is
"""
import email
import email.policy
import glob
import os
import smtplib
import sys
import time


def send(port, frm, to, path):
    data = open(path, "rb").read()
    with smtplib.SMTP("127.0.0.1", int(port), timeout=60) as s:
        s.sendmail(frm, [to], data)


def wait(maildir, subject, seconds, out):
    end = time.time() + float(seconds)
    while time.time() < end:
        for f in glob.glob(os.path.join(maildir, "new", "*")):
            raw = open(f, "rb").read()
            m = email.message_from_bytes(raw, policy=email.policy.compat32)
            if str(m.get("Subject", "")).strip() == subject:
                open(out, "wb").write(raw)
                return 0
        time.sleep(0.2)
    sys.stderr.write("no message %r in %s within %s s\n"
                     % (subject, maildir, seconds))
    return 1


def split(raw):
    """Header and body, line ends made LF, and the body's empty lines at
    its end removed (RFC 6376's simple body canonicalisation: the store
    keeps the end of DATA's last CRLF as an empty line)."""
    raw = raw.replace(b"\r\n", b"\n")
    head, sep, body = raw.partition(b"\n\n")
    while body.endswith(b"\n\n"):
        body = body[:-1]
    return head, body


def fields(head):
    out = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + b"\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            out.append((name.strip().lower(), value.strip()))
    return out


def same_original(delivered, original):
    d_head, d_body = split(open(delivered, "rb").read())
    o_head, o_body = split(open(original, "rb").read())
    problems = []
    if d_body != o_body:
        problems.append("body differs (%d bytes delivered, %d original)"
                        % (len(d_body), len(o_body)))
    d_fields = fields(d_head)
    for name, value in fields(o_head):
        if (name, value) not in d_fields:
            problems.append("field %s of the original missing"
                            % name.decode())
    for name, _ in d_fields:
        if name == b"x-pull-url":
            problems.append("X-Pull-URL still there")
    for p in problems:
        print(p)
    return 1 if problems else 0


def main(argv):
    cmd = argv[1]
    if cmd == "send":
        send(*argv[2:6])
        return 0
    if cmd == "wait":
        return wait(*argv[2:6])
    if cmd == "same-original":
        return same_original(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        rc = main(sys.argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # A reader such as grep -q that stops early.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        rc = 0
    sys.exit(rc)
