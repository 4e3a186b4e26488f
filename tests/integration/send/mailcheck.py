#!/usr/bin/env python3
"""Reads messages delivered into a Maildir for tests/integration/test_send.sh.

  mailcheck.py find MAILDIR SUBJECT   path of the message with that subject
  mailcheck.py show FILE              its headers (decoded) and its parts:
      header NAME: VALUE
      raw NAME: VALUE                 (undecoded, as delivered)
      part TYPE FILENAME SIZE SHA256  (payload after transfer decoding)
      text TYPE LINE                  (decoded text of text/* parts)
"""
import email
import email.policy
import hashlib
import os
import sys


def load(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)


def find(maildir, subject):
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if str(load(p).get("Subject", "")) == subject:
                print(p)
                return 0
    return 1


def show(path):
    with open(path, "rb") as f:
        raw = f.read()
    head = raw.split(b"\n\n", 1)[0].decode("ascii", "replace")
    for line in head.replace("\n ", " ").replace("\n\t", " ").split("\n"):
        print("raw", line)
    msg = load(path)
    for k, v in msg.items():
        print("header %s: %s" % (k, str(v)))
    for part in msg.walk():
        if part.is_multipart():
            print("multipart", part.get_content_type())
            continue
        data = part.get_payload(decode=True) or b""
        print("part %s %s %d %s" % (part.get_content_type(),
              part.get_filename() or "-", len(data),
              hashlib.sha256(data).hexdigest()))
        if part.get_content_maintype() == "text":
            for line in part.get_content().splitlines():
                print("text %s %s" % (part.get_content_type(), line))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "find":
        sys.exit(find(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "show":
        sys.exit(show(sys.argv[2]))
    sys.stderr.write(__doc__)
    sys.exit(2)
