#!/usr/bin/python3
"""Counts the occurrences of each NEEDLE in the memory of process PID
(every readable mapping of /proc/PID/maps, read through /proc/PID/mem;
root reads a process that is not dumpable). A needle given as b64:TEXT is
also looked for as the bytes it decodes to (base64url, no padding).

Usage: memscan.py PID NEEDLE...
Prints "COUNT NEEDLE" per needle; exits 2 when the memory cannot be read.
"""
import base64
import re
import sys

pid = sys.argv[1]
needles = []
for a in sys.argv[2:]:
    if a.startswith("b64:"):
        text = a[4:]
        needles.append((text, text.encode()))
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        needles.append(("bytes of " + text, raw))
    else:
        needles.append((a, a.encode()))
counts = [0] * len(needles)
CHUNK = 16 << 20
LONGEST = max(len(n) for _, n in needles)
try:
    maps = open("/proc/%s/maps" % pid).read().splitlines()
    mem = open("/proc/%s/mem" % pid, "rb", 0)
except OSError as e:
    print("cannot read the memory of %s: %s" % (pid, e))
    sys.exit(2)
for line in maps:
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
    lo, hi, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
    if perms[0] != "r" or "[vvar]" in line or "[vsyscall]" in line:
        continue
    # AddressSanitizer's shadow is terabytes reserved, never the program's
    # own data: mappings over 4 GiB are left out.
    if hi - lo > 4 << 30:
        continue
    # In blocks, each overlapping the previous one by less than a needle,
    # so that no occurrence is counted twice or missed.
    at, tail = lo, b""
    while at < hi:
        try:
            mem.seek(at)
            block = mem.read(min(CHUNK, hi - at))
        except (OSError, ValueError, OverflowError):
            break
        if not block:
            break
        data = tail + block
        for i, (_, n) in enumerate(needles):
            counts[i] += data.count(n) - tail.count(n)
        tail = data[-(LONGEST - 1):] if LONGEST > 1 else b""
        at += len(block)
for (name, _), c in zip(needles, counts):
    print(c, name)
