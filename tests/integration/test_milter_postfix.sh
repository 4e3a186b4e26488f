#!/bin/sh
# pullmail-milter through a real Postfix: a private instance (own
# config_directory, queue_directory and data_directory under
# $O/run/milter-it, no chroot, loopback only) with smtpd_milters pointing at
# pullmail-milter's unix socket, delivering into Maildirs. The cases are in
# tests/integration/milter/it.py. Also the "submission" service of
# contrib/postfix/master.cf as shipped (only its address and the milter's
# socket replaced), with STARTTLS and SASL through a Dovecot auth service:
# pullmail-send's authenticated message is pulled, an unauthenticated client
# is refused; and what contrib/postfix/README tells an administrator to set
# is accepted by this Postfix and by pullmail-milter, and its order of
# smtpd_milters (pullmail before a DKIM signer) makes the second milter see
# the summary, not the original (tests/lib/record_milter.py stands in for
# the signer).
# Ports (P_TF, P_ACC, P_SUB, P_ORDER in the environment change them): 10025
# (milter_default_action = tempfail), 10027 (accept), 10028 (submission),
# 10029 (README's smtpd_milters).
# Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
RUN=$TOP/$O/run/milter-it
case $O in /*) RUN=$O/run/milter-it ;; esac
MILTER=$(dirname "$RUN")/../milter/pullmail-milter
MILTER=$(cd "$(dirname "$MILTER")" 2>/dev/null && pwd)/pullmail-milter
LIB=$(cd "$(dirname "$RUN")/.." && pwd)/common/libpullmail.a
SEND=$(cd "$(dirname "$RUN")/.." && pwd)/tools/pullmail-send
P_TF=${P_TF:-10025}
P_ACC=${P_ACC:-10027}
P_SUB=${P_SUB:-10028}
P_ORDER=${P_ORDER:-10029}
SIGNER_PID=
SASL_USER=alice
SASL_PASS='milter submission 7?'
. "$TOP/tests/lib/harness.sh"
MASTER_PID=
MILTER_PID=
DOVECOT_PID=
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"
stop_on_exit MILTER_PID MASTER_PID DOVECOT_PID SIGNER_PID

if [ "$(id -u)" != 0 ]; then
	fail "test_milter_postfix needs root (a private Postfix master)"
	finish
fi
if [ ! -x "$MILTER" ] || [ ! -f "$LIB" ] || [ ! -x "$SEND" ]; then
	fail "pullmail-milter and pullmail-send are built ($MILTER, $SEND)"
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
chmod 755 "$RUN"
if ! make_ca > "$RUN/ca.log" 2>&1; then
	fail "a throw-away CA and server certificate"
	cat "$RUN/ca.log"
	finish
fi
if ! start_dovecot > "$RUN/dovecot.log" 2>&1; then
	fail "the Dovecot auth service for SASL"
	cat "$RUN/dovecot.log"
	finish
fi

# The helper that opens objects and parses summaries with GMime.
TOOL=$RUN/it_tool
if ! ${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
    $(pkg-config --cflags gmime-3.0 libsodium) -o "$TOOL" \
    "$TOP/tests/integration/milter/it_tool.c" "$LIB" \
    $(pkg-config --libs gmime-3.0 libsodium glib-2.0 libcurl) 2> "$RUN/tool.log"; then
	fail "the test helper builds"
	cat "$RUN/tool.log"
	finish
fi

CONF=$RUN/pullmail.conf
cat > "$CONF" <<EOF
[store]
StoreDir = $RUN/store

[log]
Level = debug

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
{
	postfix_main_cf "$C" "$RUN/pf/queue" "$RUN/pf/data" example.org \
		example.net "$RUN/mail"
	cat <<EOF
message_size_limit = 40000000
virtual_mailbox_limit = 0
milter_protocol = 6
# For the submission service of contrib/postfix/master.cf: what a site's
# main.cf provides (the service itself requires TLS and SASL).
smtpd_tls_cert_file = $RUN/tls/server.crt
smtpd_tls_key_file = $RUN/tls/server.key
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/dovecot/base/auth-postfix
EOF
} > "$C/main.cf"
for u in bob r0 r1 r2 r3 r4 r5 r6 r7 r8 r9; do
	echo "$u@example.net example.net/$u/"
done > "$C/vmailbox"
if ! submission=$(contrib_service submission $P_SUB "$SOCK" 2>&1); then
	fail "the submission service of contrib/postfix/master.cf: $submission"
	finish
fi
# README's smtpd_milters line, its sockets replaced: pullmail's by the
# test's, the signer's (inet:localhost:8891) by the recording milter's.
README=$TOP/contrib/postfix/README
SIGNER_SOCK=$RUN/signer.sock
order=$(sed -n 's/^[[:space:]]*smtpd_milters = //p' "$README" | head -n 1 |
	sed -e 's/,[[:space:]]*/,/g' -e "s|unix:/run/pullmail/milter.sock|unix:$SOCK|" \
	-e "s|inet:localhost:8891|unix:$SIGNER_SOCK|")
case $order in
"unix:$SOCK,unix:$SIGNER_SOCK"|"unix:$SIGNER_SOCK,unix:$SOCK") ;;
*) fail "README's smtpd_milters names pullmail's socket and the signer's inet:localhost:8891 ($order)"
	order="unix:$SOCK,unix:$SIGNER_SOCK" ;;
esac
python3 "$TOP/tests/lib/record_milter.py" "$SIGNER_SOCK" "$RUN/signer.out" \
	> "$RUN/signer.log" 2>&1 &
SIGNER_PID=$!
{
	cat <<EOF
127.0.0.1:$P_ORDER inet n - n - - smtpd
  -o smtpd_milters=$order
  -o milter_default_action=tempfail
127.0.0.1:$P_TF inet n - n - - smtpd
  -o smtpd_milters=unix:$SOCK
  -o milter_default_action=tempfail
127.0.0.1:$P_ACC inet n - n - - smtpd
  -o smtpd_milters=unix:$SOCK
  -o milter_default_action=accept
EOF
	echo "$submission"
	postfix_daemons
} > "$C/master.cf"
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

if ! start_master "$C" "$RUN/pf/master.out" $P_TF $P_ACC $P_SUB $P_ORDER; then
	fail "Postfix listens on 127.0.0.1:$P_TF, $P_ACC, $P_SUB and $P_ORDER"
	cat "$RUN/pf/master.out" "$RUN/pf/maillog" 2>/dev/null | tail -20
	finish
fi

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
# Postfix agrees to every step pullmail keeps silent (SMFIP_NR_*): the
# dialogue above ran with them, and libmilter would log a step that
# answered anyway.
if grep -q 'no reply in 6 of the 6 steps' "$RUN/milter.log" &&
    ! grep -q 'not reply\|claimed not to reply' "$RUN/milter.log"; then
	ok "Postfix negotiated all six no-reply steps"
else
	fail "Postfix negotiated all six no-reply steps: $(grep negotiated "$RUN/milter.log" | head -n 1)"
fi
if grep -q 'pulled' "$RUN/milter.log" &&
    ! grep -Eq '/m/[A-Za-z0-9_-]{43}' "$RUN/milter.log" "$RUN/pf/maillog"; then
	ok "the milter logs each pulled message and never the link's token"
else
	fail "milter log: pulled lines, no token"
fi

# --- the submission service of contrib/postfix/master.cf ------------------
objects() { find "$RUN/store" -name '*.pull' -type f | wc -l | tr -d ' '; }
printf 'Only the link shows this line of the submission case.\n' > "$RUN/sub.txt"
before=$(objects)
PULLMAIL_PASSWORD=$SASL_PASS "$SEND" --server 127.0.0.1:$P_SUB --tls starttls \
	--ca-file "$RUN/tls/ca.crt" --user "$SASL_USER" \
	--from "alice@example.org" --to bob@example.net \
	--subject "Through the contrib submission service" --text "$RUN/sub.txt" \
	> "$RUN/sub.out" 2>&1
rc=$?
if [ $rc = 0 ] && python3 - "$RUN/mail" "$RUN/sub.txt" > "$RUN/sub.check" 2>&1 <<'EOF'
import email, email.policy, glob, sys, time
maildir, orig = sys.argv[1:3]
line = open(orig, "rb").read().strip()
end = time.time() + 60
while time.time() < end:
    for f in glob.glob(maildir + "/example.net/bob/new/*"):
        raw = open(f, "rb").read()
        m = email.message_from_bytes(raw, policy=email.policy.default)
        if str(m["Subject"]) != "Through the contrib submission service":
            continue
        url = str(m.get("X-Pull-URL", ""))
        if not url.startswith("https://pull.example.org/m/"):
            sys.exit("no X-Pull-URL: delivered whole")
        if line in raw:
            sys.exit("the original's text is in the delivered message")
        sys.exit(0)
    time.sleep(0.3)
sys.exit("not delivered within 60 s")
EOF
then
	after=$(objects)
	if [ "$after" = $((before + 1)) ]; then
		ok "contrib submission service: pullmail-send (STARTTLS, AUTH) is pulled: a summary with X-Pull-URL, one object stored"
	else
		fail "contrib submission service: store $before -> $after objects"
	fi
else
	fail "contrib submission service: pullmail-send exit $rc: $(cat "$RUN/sub.out" "$RUN/sub.check" 2>/dev/null | head -10)"
fi
# Without SASL the shipped service refuses the client, and without STARTTLS
# it refuses to go on at all.
python3 - $P_SUB "$RUN/tls/ca.crt" > "$RUN/noauth.out" 2>&1 <<'EOF'
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("client.example.org")
code, _ = s.mail("alice@example.org")
print("plain-mail", code)
s.starttls(context=ssl.create_default_context(cafile=ca))
s.ehlo("client.example.org")
code, _ = s.mail("alice@example.org")
if code == 250:
    code, _ = s.rcpt("bob@example.net")
print("tls-noauth", code)
s.quit()
EOF
if grep -q '^plain-mail 530$' "$RUN/noauth.out" &&
    grep -Eq '^tls-noauth 5[0-9][0-9]$' "$RUN/noauth.out"; then
	ok "contrib submission service: no STARTTLS is 530, no AUTH is refused ($(tr '\n' ' ' < "$RUN/noauth.out"))"
else
	fail "contrib submission service without TLS or AUTH: $(cat "$RUN/noauth.out")"
fi

# --- contrib/postfix/README -----------------------------------------------
# The order of its smtpd_milters: the milter after pullmail (the signer) is
# shown the summary that is delivered, not the original.
python3 - $P_ORDER "$RUN/mail" "$RUN/signer.out" > "$RUN/order.out" 2>&1 <<'EOF'
import glob, smtplib, sys, time
from email.message import EmailMessage
port, maildir, seen = int(sys.argv[1]), sys.argv[2], sys.argv[3]
m = EmailMessage()
m["From"] = "alice@example.org"
m["To"] = "r9@example.net"
m["Subject"] = "Milter order"
m.set_content("The original text that a signer after pullmail never sees.\n")
with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
    s.send_message(m)
end = time.time() + 60
while time.time() < end:
    try:
        got = open(seen, "rb").read()
    except OSError:
        got = b""
    if b"Milter order" in got:
        break
    time.sleep(0.3)
else:
    sys.exit("the second milter saw no message")
msg = got[got.index(b"Milter order"):]
msg = msg[:msg.index(b"--- end of message ---")]
if b"never sees" in got:
    sys.exit("the second milter saw the original")
if b"X-Pull-URL: https://pull.example.org/m/" not in got:
    sys.exit("the second milter saw no X-Pull-URL")
if b"https://pull.example.org/m/" not in msg.split(b"\n\n", 1)[-1]:
    sys.exit("the body the second milter saw has no link")
EOF
if [ $? = 0 ]; then
	ok "README's smtpd_milters order: the milter after pullmail (a signer) sees the summary with X-Pull-URL, never the original"
else
	fail "README's smtpd_milters order: $(cat "$RUN/order.out")"
fi
# Every Postfix setting it shows ("  name = value"), and every one of
# contrib/postfix/main.cf that it tells to add, is accepted by this
# instance's postconf on a copy of its configuration, without a warning.
README=$TOP/contrib/postfix/README
RC=$RUN/pf/readme-conf
rm -rf "$RC"
cp -r "$C" "$RC"
settings=$({ sed -n 's/^[[:space:]]\{1,\}\([a-z][a-z_]*[[:space:]]*=.*\)$/\1/p' "$README"
	grep -E '^[a-z][a-z_]*[[:space:]]*=' "$TOP/contrib/postfix/main.cf"; })
nset=0
echo "$settings" | {
	bad=0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		name=$(echo "$line" | sed 's/[[:space:]]*=.*//')
		postconf -c "$RC" -e "$line" > "$RUN/postconf.err" 2>&1 &&
			postconf -c "$RC" -n "$name" >> "$RUN/postconf.err" 2>&1 &&
			! grep -q 'warning' "$RUN/postconf.err" ||
			{ bad=1; echo "    postconf: $line: $(cat "$RUN/postconf.err")"; }
	done
	exit $bad
}
if [ $? = 0 ] && [ -n "$settings" ]; then
	ok "postconf accepts the $(echo "$settings" | wc -l | tr -d ' ') settings of contrib/postfix/README and main.cf"
else
	fail "postconf refuses a setting of contrib/postfix/README or main.cf"
fi
# What it says about the names: pullmail's socket listed first (before a
# DKIM signer), the shipped default socket and store, and the socket
# settings this test runs with.
def_sock=$(sed -n '/^\[milter\]/,/^\[/s/^#*Socket = //p' "$TOP/contrib/pullmail.conf")
def_store=$(sed -n 's/^#*StoreDir = //p' "$TOP/contrib/pullmail.conf")
first=$(sed -n 's/^[[:space:]]*smtpd_milters = \([^, ]*\).*/\1/p' "$README")
if [ -n "$first" ] && [ "$first" = "$def_sock" ]; then
	ok "README lists pullmail-milter's default socket $def_sock first in smtpd_milters"
else
	fail "README's smtpd_milters begins with '$first', not the default Socket $def_sock"
fi
if grep -q "install -d -o pullmail -g pullmail -m 0750 $def_store\$" "$README"; then
	ok "README creates the default StoreDir $def_store, mode 0750"
else
	fail "README does not create the default StoreDir $def_store with mode 0750"
fi
if grep -q "SocketGroup = postfix, mode 0660 (SocketMode's default)" "$README" &&
    grep -q '^#SocketMode = 0660$' "$TOP/contrib/pullmail.conf" &&
    grep -q '^SocketGroup = postfix$' "$CONF" && grep -q '^SocketMode = 0660$' "$CONF"; then
	ok "README's socket settings (SocketGroup = postfix, mode 0660, the default) are the ones Postfix connected with here"
else
	fail "README's socket settings differ from this test's (SocketGroup = postfix, SocketMode = 0660) or from the default"
fi

# The milter dies in the middle of a message (kill -9, as the kernel's
# OOM killer or an abort inside GLib would end it): with
# milter_default_action = tempfail Postfix answers the end of that
# message with a temporary error, so the client keeps it; nothing is
# delivered, whole or cut.
export P_TF MILTER_PID MAILDIR="$RUN/mail"
python3 - > "$RUN/killed.out" 2>&1 <<'PYEOF'
import glob, os, signal, smtplib, sys, time
P_TF, PID, MAILDIR = int(os.environ["P_TF"]), int(os.environ["MILTER_PID"]), \
    os.environ["MAILDIR"]
subject = "killed mid-message %d" % os.getpid()
s = smtplib.SMTP("127.0.0.1", P_TF, timeout=120)
s.ehlo("client.example.org")
s.mail("alice@example.org")
s.rcpt("bob@example.net")
code, _ = s.docmd("DATA")
assert code == 354, code
s.send(("From: alice@example.org\r\nTo: bob@example.net\r\n"
        "Subject: %s\r\n\r\n" % subject).encode() +
       b"first half of the body\r\n" * 20000)
time.sleep(1)
os.kill(PID, signal.SIGKILL)
s.send(b"second half of the body\r\n" * 20000 + b".\r\n")
code, msg = s.getreply()
s.quit()
time.sleep(3)
found = [f for f in glob.glob(MAILDIR + "/*/*/new/*")
         if subject.encode() in open(f, "rb").read()]
print("reply %d %s, delivered %d" % (code, msg.decode(errors="replace"),
                                    len(found)))
sys.exit(0 if 400 <= code < 500 and not found else 1)
PYEOF
if [ $? = 0 ]; then
	ok "milter killed mid-message: Postfix (tempfail) answers $(sed -n 's/^reply \([0-9]*\).*/\1/p' "$RUN/killed.out"), nothing delivered"
else
	fail "milter killed mid-message: $(tail -3 "$RUN/killed.out")"
fi
wait "$MILTER_PID" 2>/dev/null
stop_pid "$MILTER_PID"
MILTER_PID=
python3 "$TOP/tests/integration/milter/it.py" "$RUN" $P_TF $P_ACC "$TOOL" \
	"$CONF" "$RUN/store" "$RUN/mail" stopped > "$RUN/stopped.out" 2>&1
rc=$?
count "$RUN/stopped.out"
[ $rc = 0 ] || { fail "it.py stopped phase ran to the end (rc $rc)"; tail -5 "$RUN/stopped.out"; }
finish
