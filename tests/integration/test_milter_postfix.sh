#!/bin/sh
# pullmail-milter through a real Postfix: a private instance (own
# config_directory, queue_directory and data_directory under
# $O/run/milter-it, no chroot, loopback only) with smtpd_milters pointing at
# pullmail-milter's unix socket, delivering into Maildirs. The cases are in
# tests/integration/milter/it.py. Ports: 10025 (milter_default_action =
# tempfail), 10027 (accept). Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
RUN=$TOP/$O/run/milter-it
case $O in /*) RUN=$O/run/milter-it ;; esac
MILTER=$(dirname "$RUN")/../milter/pullmail-milter
MILTER=$(cd "$(dirname "$MILTER")" 2>/dev/null && pwd)/pullmail-milter
LIB=$(cd "$(dirname "$RUN")/.." && pwd)/common/libpullmail.a
P_TF=10025
P_ACC=10027
passed=0
failed=0
MASTER_PID=
MILTER_PID=

ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "not ok - $1"; failed=$((failed + 1)); }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	stop_pid "$MILTER_PID"
	stop_pid "$MASTER_PID"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	fail "test_milter_postfix needs root (a private Postfix master)"
	finish
fi
if [ ! -x "$MILTER" ] || [ ! -f "$LIB" ]; then
	fail "pullmail-milter is built ($MILTER)"
	finish
fi

rm -rf "$RUN"
mkdir -p "$RUN/pf/conf" "$RUN/pf/queue" "$RUN/pf/data" "$RUN/mail" \
	"$RUN/store"
SOCK=$RUN/milter.sock
MUSER=postfix
if id pullmail >/dev/null 2>&1; then MUSER=pullmail; fi
chown "$MUSER" "$RUN/store"
chmod 750 "$RUN/store"
chown 65534:65534 "$RUN/mail"
chown postfix "$RUN/pf/data"

# The helper that opens objects and parses summaries with GMime.
TOOL=$RUN/it_tool
if ! ${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
    $(pkg-config --cflags gmime-3.0 libsodium) -o "$TOOL" \
    "$TOP/tests/integration/milter/it_tool.c" "$LIB" \
    $(pkg-config --libs gmime-3.0 libsodium glib-2.0) 2> "$RUN/tool.log"; then
	fail "the test helper builds"
	cat "$RUN/tool.log"
	finish
fi

CONF=$RUN/pullmail.conf
cat > "$CONF" <<EOF
[store]
StoreDir = $RUN/store

[milter]
Socket = unix:$SOCK
SocketMode = 0660
SocketGroup = postfix
UserID = $MUSER
BaseURL = https://pull.example.org/
LogWhy = yes

[summary]
TemplateDir = $TOP/templates
EOF
chmod 644 "$CONF"

C=$RUN/pf/conf
cat > "$C/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $RUN/pf/queue
data_directory = $RUN/pf/data
mail_owner = postfix
setgid_group = postdrop
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
myhostname = mx.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
default_transport = error:this test delivers nothing outside
relay_transport = error:this test delivers nothing outside
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
virtual_mailbox_domains = example.net
virtual_mailbox_base = $RUN/mail
virtual_mailbox_maps = texthash:$C/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
message_size_limit = 40000000
virtual_mailbox_limit = 0
milter_protocol = 6
EOF
for u in bob r0 r1 r2 r3 r4 r5 r6 r7 r8 r9; do
	echo "$u@example.net example.net/$u/"
done > "$C/vmailbox"
cat > "$C/master.cf" <<EOF
127.0.0.1:$P_TF inet n - n - - smtpd
  -o smtpd_milters=unix:$SOCK
  -o milter_default_action=tempfail
127.0.0.1:$P_ACC inet n - n - - smtpd
  -o smtpd_milters=unix:$SOCK
  -o milter_default_action=accept
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
EOF
if ! postfix -c "$C" check > "$RUN/pf/check.log" 2>&1; then
	fail "postfix check of the private instance"
	cat "$RUN/pf/check.log"
	finish
fi
printf 'maillog_file = %s\nmaillog_file_prefixes = %s\n' \
	"$RUN/pf/maillog" "$RUN" >> "$C/main.cf"

start_milter() {
	"$MILTER" -f -c "$CONF" > "$RUN/milter.log" 2>&1 &
	MILTER_PID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do
		kill -0 "$MILTER_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$SOCK" ]
}

if "$MILTER" -n -c "$CONF" > "$RUN/check.log" 2>&1; then
	ok "pullmail-milter -n accepts the configuration and the store"
else
	fail "pullmail-milter -n"
	cat "$RUN/check.log"
fi
if start_milter; then
	ok "pullmail-milter listens on $SOCK"
else
	fail "pullmail-milter started"
	cat "$RUN/milter.log"
	finish
fi

(cd / && exec "$(postconf -c "$C" -h daemon_directory)/master" -c "$C" -d) \
	> "$RUN/pf/master.out" 2>&1 &
MASTER_PID=$!
for p in $P_TF $P_ACC; do
	if ! python3 -c "
import socket, sys, time
end = time.time() + 15
while time.time() < end:
    try:
        socket.create_connection(('127.0.0.1', $p), 1).close(); sys.exit(0)
    except OSError: time.sleep(0.1)
sys.exit(1)"; then
		fail "Postfix listens on 127.0.0.1:$p"
		cat "$RUN/pf/master.out" "$RUN/pf/maillog" 2>/dev/null | tail -20
		finish
	fi
done

count() {
	# counts the it.py lines of $1
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok - "*) passed=$((passed + 1)) ;;
		"not ok - "*) failed=$((failed + 1)) ;;
		esac
	done < "$1"
}

python3 "$TOP/tests/integration/milter/it.py" "$RUN" $P_TF $P_ACC "$TOOL" \
	"$CONF" "$RUN/store" "$RUN/mail" pull > "$RUN/pull.out" 2>&1
rc=$?
count "$RUN/pull.out"
[ $rc = 0 ] || { fail "it.py pull phase ran to the end (rc $rc)"; tail -5 "$RUN/pull.out"; }
if grep -q 'pulled' "$RUN/milter.log" &&
    ! grep -Eq '/m/[A-Za-z0-9_-]{43}' "$RUN/milter.log" "$RUN/pf/maillog"; then
	ok "the milter logs each pulled message and never the link's token"
else
	fail "milter log: pulled lines, no token"
fi

stop_pid "$MILTER_PID"
MILTER_PID=
python3 "$TOP/tests/integration/milter/it.py" "$RUN" $P_TF $P_ACC "$TOOL" \
	"$CONF" "$RUN/store" "$RUN/mail" stopped > "$RUN/stopped.out" 2>&1
rc=$?
count "$RUN/stopped.out"
[ $rc = 0 ] || { fail "it.py stopped phase ran to the end (rc $rc)"; tail -5 "$RUN/stopped.out"; }
finish
