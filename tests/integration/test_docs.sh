#!/bin/sh
# The documentation stays true: every man page formats without a warning
# and every program and the configuration file have a page.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
no() { echo "FAIL - $*"; fail=$((fail + 1)); }

for page in man/*.[158]; do
	w=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$w" ] && ok "man --warnings $page" || no "$page: $w"
done
for p in pullmail-milter.8 pullmail-web.8 pullmailctl.8 pullmail-send.1 \
	pullmail.conf.5; do
	[ -f "man/$p" ] && ok "man/$p exists" || no "man/$p missing"
done

echo "$pass passed, $fail failed"
[ $fail = 0 ]
