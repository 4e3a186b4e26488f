#!/bin/sh
# A misbehaving peer of the milter socket cannot take pullmail-milter down:
# the real daemon is started on a unix socket under $O/run/milter-protocol
# and tests/integration/milter/hostile_peer.py, speaking the MTA's side of
# the milter protocol, sends malformed macro lists (an odd number of
# strings, a string without its NUL) on which libmilter's smfi_getsymval
# would read past the list, then goes on with its message. Each time the
# daemon must still run and serve the next connection to the end of a
# message. No TCP port is used. Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
case $O in /*) BUILD=$O ;; *) BUILD=$TOP/$O ;; esac
RUN=$BUILD/run/milter-protocol
MILTER=${PULLMAIL_MILTER:-$BUILD/milter/pullmail-milter}
. "$TOP/tests/lib/harness.sh"
. "$TOP/tests/lib/milter_daemon.sh"
start_milter https://pull.example.org/

timeout 300 python3 "$TOP/tests/integration/milter/hostile_peer.py" \
	"$SOCK" "$MILTER_PID" "$LOG" > "$RUN/peer.out" 2>&1
rc=$?
relay_tap "$RUN/peer.out"
[ $rc = 0 ] || { fail "hostile_peer.py ran to its end (rc $rc)"; tail -5 "$RUN/peer.out"; tail -5 "$LOG"; }

if kill -0 "$MILTER_PID" 2>/dev/null; then
	if term_milter; then
		ok "SIGTERM ends pullmail-milter after the hostile peer"
	else
		fail "SIGTERM ends pullmail-milter after the hostile peer"
	fi
else
	fail "pullmail-milter still runs after the hostile peer"
	tail -5 "$LOG"
fi
finish
