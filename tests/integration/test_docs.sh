#!/bin/sh
# The documentation stays true: every man page formats without a warning
# and every program and the configuration file have a page; every file in
# contrib/ is used by a test or the demo.
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

# Every file in contrib/ is named by a test, the demo or the Makefile, by its
# path or by its folder and its name (the tests that name them run them; this
# catches a file added without one).
WHERE="tests bench Makefile contrib/demo/demo.sh"
for f in $(git ls-files contrib 2>/dev/null || find contrib -type f); do
	dir=$(dirname "$f"); name=$(basename "$f")
	users=$(grep -rlsF --exclude-dir=node_modules -e "$f" $WHERE)
	[ -n "$users" ] || users=$(grep -rlsF --exclude-dir=node_modules -e "$dir" $WHERE |
	    xargs -r grep -lsF -e "$name")
	# The demo names its own files relative to its folder.
	[ -n "$users" ] || { [ "$dir" = contrib/demo ] && grep -qsF "$name" contrib/demo/demo.sh &&
	    users=contrib/demo/demo.sh; }
	if [ -n "$users" ]; then
		ok "$f is used by $(echo $users | tr ' ' ',')"
	else
		no "$f is used by no test and not by the demo"
	fi
done

# make-sample.py still writes the committed sample (Python draws MIME
# boundaries at random: they are compared as placeholders).
tmp=$(mktemp -d)
if (cd "$tmp" && python3 "$TOP/contrib/demo/make-sample.py") &&
    python3 - "$tmp/sample.eml" contrib/demo/sample.eml <<'EOP'
import re, sys
norm = lambda p: re.sub(rb'={15}\d+==', b'BOUNDARY', open(p, 'rb').read())
sys.exit(0 if norm(sys.argv[1]) == norm(sys.argv[2]) else 1)
EOP
then
	ok "contrib/demo/make-sample.py writes contrib/demo/sample.eml"
else
	no "contrib/demo/make-sample.py no longer writes the committed sample.eml"
fi
rm -rf "$tmp"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
