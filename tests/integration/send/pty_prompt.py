#!/usr/bin/env python3
"""Runs a command on a new pseudo-terminal, types PASSWORD when it asks
for one, and prints everything the terminal showed; exits with the
command's status. Used to check that pullmail-send's prompt does not echo.

  pty_prompt.py PASSWORD COMMAND [ARG...]
"""
import os
import pty
import select
import sys
import time

password = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
seen = b""
typed = False
end = time.time() + 60
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if fd in r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not typed and b"Password for" in seen:
        time.sleep(0.2)  # let the prompt turn echo off first
        os.write(fd, password + b"\n")
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
