#!/bin/sh
# make demo end to end: run it, fetch the printed link, check the page shows
# the sample's subject and both attachments, run make demo-stop and check
# that no process it started is left. Needs root (as make demo does).
TOP=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-.}
RUN=$(cd "$TOP" && cd "$O" && pwd)/run/demo
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
no() { echo "FAIL - $*"; fail=$((fail + 1)); }

cleanup() { make -C "$TOP" --no-print-directory O="$O" SANITIZE="${SANITIZE:-}" demo-stop >/dev/null 2>&1; }
trap cleanup EXIT

out=$(make -C "$TOP" --no-print-directory O="$O" SANITIZE="${SANITIZE:-}" demo 2>&1)
rc=$?
echo "$out" | tail -n 30
[ $rc = 0 ] && ok "make demo exits 0" || no "make demo exited $rc"
link=$(echo "$out" | sed -n 's/^X-Pull-URL: //p' | head -n 1)
[ -n "$link" ] && ok "make demo printed the link" || no "no link printed"
echo "$out" | tail -n 1 | grep -q 'make demo-stop' &&
	ok "last line says how to open the link and how to stop" ||
	no "last line does not say how to stop"
echo "$out" | grep -q '^Subject: Relatório da obra' &&
	ok "the summary shows the decoded subject" || no "summary subject missing"

page=$(curl -sS "$link")
echo "$page" | grep -q 'Relatório da obra: fotos e orçamento de março' &&
	ok "the page shows the subject" || no "subject not on the page"
echo "$page" | grep -q 'orçamento-março.csv' &&
	ok "the page lists orçamento-março.csv" || no "csv attachment missing"
echo "$page" | grep -q 'cronograma.pdf' &&
	ok "the page lists cronograma.pdf" || no "pdf attachment missing"
[ -s "$RUN/page.png" ] && ok "screenshot saved" || no "no screenshot"

# Running it twice in a row works too.
make -C "$TOP" --no-print-directory O="$O" SANITIZE="${SANITIZE:-}" demo >/dev/null 2>&1 &&
	ok "make demo twice in a row" || no "second make demo failed"

pids=""
for f in "$RUN/milter/milter.pid" "$RUN/web/web.pid" "$RUN/nginx/nginx.pid" \
	"$RUN/postfix/spool/pid/master.pid"; do
	[ -s "$f" ] && pids="$pids $(tr -d ' ' < "$f")"
done
make -C "$TOP" --no-print-directory O="$O" demo-stop >/dev/null 2>&1 &&
	ok "make demo-stop exits 0" || no "make demo-stop failed"
sleep 1
left=""
# A zombie has exited (it waits for init, its parent, to reap it).
for p in $pids; do
	[ -d "/proc/$p" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null &&
		left="$left $p"
done
[ -n "$pids" ] && [ -z "$left" ] && ok "no process left behind ($pids)" ||
	no "processes left:$left (recorded:$pids)"
for port in 2525 8080; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		no "port $port still open"
	else
		ok "port $port closed"
	fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
