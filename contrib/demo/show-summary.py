#!/usr/bin/env python3
"""Prints a delivered message as a mail client shows it: the main headers,
decoded, and the text/plain part of the summary."""
import sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], 'rb') as f:
    msg = BytesParser(policy=policy.default).parse(f)
for name in ('From', 'To', 'Subject', 'Date', 'X-Pull-URL', 'X-Pull-Expires',
             'Content-Type'):
    if msg[name] is not None:
        print(f'{name}: {msg[name]}')
print()
part = msg.get_body(preferencelist=('plain',))
print(part.get_content() if part is not None else '(no text part)')
