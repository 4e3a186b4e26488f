#!/bin/sh
# pullmail-send against real servers: a private Postfix instance (implicit
# TLS, STARTTLS, no-STARTTLS and small-size ports on 127.0.0.1) with SASL
# through a Dovecot auth service (passwd-file), a throw-away CA, delivery
# into a Maildir under the run directory. With pullmail-milter built, a port
# with the milter too. Everything started here is stopped by PID on exit.
# Ports: 10460-10469 on 127.0.0.1 (Postfix); the milter listens on a unix socket.
set -u
O=${O:-.}
O=$(cd "$O" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SEND=$O/tools/pullmail-send
MILTER=$O/milter/pullmail-milter
RUN=$O/run/send-it
CHECK="python3 $SRC/tests/integration/send/mailcheck.py"

P_IMPLICIT=10460
P_STARTTLS=10461
P_PLAIN=10462
P_SMALL=10463
P_MILTER=10464
P_LOGIN=10465
P_WRONGNAME=10466
SIZE_LIMIT=20000

DOMAIN=example.test
SASL_USER=alice
SASL_PASS='correct horse 9!'

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}

POSTFIX_PID=
DOVECOT_PID=
MILTER_PID=
stop_pid() {
	# $1: pid; waits up to 10 s for it to go.
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null || true
}
cleanup() {
	stop_pid "$POSTFIX_PID"
	stop_pid "$DOVECOT_PID"
	stop_pid "$MILTER_PID"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ ! -x "$SEND" ]; then
	echo "no $SEND: build first (make O=$O all)"
	failed=1
	finish
fi
if [ "$(id -u)" != 0 ]; then
	echo "needs root: Postfix's master and Dovecot start as root and drop privileges"
	failed=1
	finish
fi
for prog in postfix dovecot openssl python3; do
	if ! command -v $prog >/dev/null 2>&1; then
		echo "$prog not installed (make deps)"
		failed=1
		finish
	fi
done

# A previous run may have left a master behind if it was killed hard.
if [ -f "$RUN/postfix/queue/pid/master.pid" ]; then
	old=$(tr -d ' ' < "$RUN/postfix/queue/pid/master.pid")
	if [ -n "$old" ] && [ "$(cat /proc/$old/comm 2>/dev/null)" = master ]; then
		stop_pid "$old"
	fi
fi
if [ -f "$RUN/dovecot/base/master.pid" ]; then
	old=$(cat "$RUN/dovecot/base/master.pid")
	if [ -n "$old" ] && [ "$(cat /proc/$old/comm 2>/dev/null)" = dovecot ]; then
		stop_pid "$old"
	fi
fi
rm -rf "$RUN"
mkdir -p "$RUN/tls" "$RUN/dovecot/base" "$RUN/dovecot/state" \
	"$RUN/postfix/conf" "$RUN/postfix/queue" "$RUN/postfix/data" \
	"$RUN/mail" "$RUN/files" "$RUN/out"
chmod 755 "$RUN" "$RUN/postfix" "$RUN/dovecot"
. "$SRC/tests/integration/send/servers.sh"

make_ca || { fail "throw-away CA and server certificate"; finish; }
start_dovecot || { fail "Dovecot auth service started"; finish; }
start_postfix || { fail "Postfix started"; finish; }

. "$SRC/tests/integration/send/cases.sh"
finish
