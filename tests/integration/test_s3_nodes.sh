#!/bin/sh
# Several nodes on one bucket, and faults, on a real Ceph RADOS Gateway
# (tests/lib/ceph-rgw.sh, one for the script):
#  1. Two nodes: two private Postfix instances, each with its own
#     pullmail-milter, and two FastCGI responders behind one nginx
#     upstream (plus one server per responder, to aim at each), all on one
#     bucket: sealed through node A, read through B; revoke on B is 410
#     through both; keep through A is seen by B; gc on B removes what
#     expired for both.
#  2. Faults: radosgw stopped: node A (OnError = tempfail) answers 4xx and
#     keeps nothing, node B (OnError = accept) delivers the original
#     unchanged and logs why; radosgw back, A's messages go through.
#     radosgw restarted during a run of submissions through A, the client
#     retrying on 4xx as an MTA's queue would: none is lost, each sealed.
# Ports: P_S3 (15040..15049), SMTP A/B P_SMTP_A (15051), P_SMTP_B (15052),
# nginx upstream P_UP (15053), responder A P_WA (15054), B P_WB (15055).
# Needs root (private Postfix masters). Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/s3-nodes
P_S3=${P_S3:-15040}
P_SMTP_A=${P_SMTP_A:-15051}
P_SMTP_B=${P_SMTP_B:-15052}
P_UP=${P_UP:-15053}
P_WA=${P_WA:-15054}
P_WB=${P_WB:-15055}
CTL=$B/tools/pullmailctl
MILTER=$B/milter/pullmail-milter
WEB=$B/cgi/pullmail-web
LIB=$B/common/libpullmail.a
RGW="bash $TOP/tests/lib/ceph-rgw.sh"
. "$TOP/tests/lib/harness.sh"
MASTER_A= MASTER_B= MILTER_A= MILTER_B=
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"
stop_on_exit MILTER_A MILTER_B MASTER_A MASTER_B
stop_pidfiles_on_exit "$RUN"
stop_pidfiles_on_exit "$RUN/rgw/run"
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

if [ "$(id -u)" != 0 ]; then
	fail "test_s3_nodes needs root (private Postfix masters)"
	finish
fi
for f in "$CTL" "$MILTER" "$WEB" "$LIB"; do
	[ -e "$f" ] || { fail "$f is built (make O=$O tests)"; finish; }
done
rm -rf "$RUN"
mkdir -p "$RUN"
chmod 755 "$RUN"
if ! $RGW start "$RUN/rgw" "$P_S3" > "$RUN/rgw.env" 2> "$RUN/rgw-start.err"; then
	fail "radosgw started on 127.0.0.1:$P_S3"
	tail -5 "$RUN/rgw-start.err"
	finish
fi
. "$RUN/rgw.env"
ok "radosgw started on $S3_ENDPOINT"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {
	m=$1 p=$2; shift 2
	curl -s -o "$RUN/s3.out" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -X "$m" \
	    -H "x-amz-content-sha256: $EMPTY" "$@" "$S3_ENDPOINT$p"
}
check "bucket created" '[ "$(s3 PUT /shared)" = 200 ]'
MUSER=postfix
if id pullmail >/dev/null 2>&1; then MUSER=pullmail; fi

# node NAME ONERROR: RUN/NAME with its credentials, spool, configuration.
node() {
	d=$RUN/$1
	mkdir -p "$d/spool" "$d/pf/conf" "$d/pf/queue" "$d/pf/data" "$d/mail"
	printf 'AccessKey = %s\nSecretKey = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" \
	    > "$d/creds"
	chmod 600 "$d/creds"
	chown "$MUSER" "$d/creds" "$d/spool"
	chown 65534:65534 "$d/mail"
	chown postfix "$d/pf/data"
	chmod 755 "$d"
	cat > "$d/pullmail.conf" <<EOF
[store]
Backend = s3
Endpoint = $S3_ENDPOINT
Bucket = shared
Prefix = pm/
CredentialsFile = $d/creds
SpoolDir = $d/spool
Retries = 1
ConnectTimeout = 2s
RequestTimeout = 20s
MaxRetention = 90d

[log]
Level = debug

[milter]
Socket = unix:$d/milter.sock
SocketMode = 0660
SocketGroup = postfix
UserID = $MUSER
BaseURL = https://pull.example.org/
OnError = $2

[web]
PathPrefix = /m/
DefaultLanguage = en

[summary]
TemplateDir = $TOP/templates
EOF
	chmod 644 "$d/pullmail.conf"
	C=$d/pf/conf
	{
		postfix_main_cf "$C" "$d/pf/queue" "$d/pf/data" example.org \
			example.net "$d/mail"
		echo "milter_protocol = 6"
		echo "maillog_file = $d/pf/maillog"
		echo "maillog_file_prefixes = $d"
	} > "$C/main.cf"
	echo "bob@example.net example.net/bob/" > "$C/vmailbox"
	{
		cat <<EOF
127.0.0.1:$3 inet n - n - - smtpd
  -o smtpd_milters=unix:$d/milter.sock
  -o milter_default_action=tempfail
EOF
		postfix_daemons
	} > "$C/master.cf"
	postfix -c "$C" check > "$d/pf/check.log" 2>&1
}
start_node_milter() {  # start_node_milter NAME -> NODE_PID
	d=$RUN/$1
	"$MILTER" -f -c "$d/pullmail.conf" > "$d/milter.log" 2>&1 &
	NODE_PID=$!
	i=0
	while [ ! -S "$d/milter.sock" ] && [ $i -lt 100 ]; do
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$d/milter.sock" ]
}
node a tempfail "$P_SMTP_A"; rc=$?
check "node a configured (postfix check)" '[ $rc = 0 ]'
node b accept "$P_SMTP_B"; rc=$?
check "node b configured (postfix check)" '[ $rc = 0 ]'
start_node_milter a; rc=$?; MILTER_A=$NODE_PID
check "node a: pullmail-milter listens" '[ $rc = 0 ]'
start_node_milter b; rc=$?; MILTER_B=$NODE_PID
check "node b: pullmail-milter listens" '[ $rc = 0 ]'
start_master "$RUN/a/pf/conf" "$RUN/a/pf/master.out" "$P_SMTP_A"; rc=$?; MASTER_A=$MASTER_PID
check "node a: Postfix listens" '[ $rc = 0 ]'
start_master "$RUN/b/pf/conf" "$RUN/b/pf/master.out" "$P_SMTP_B"; rc=$?; MASTER_B=$MASTER_PID
check "node b: Postfix listens" '[ $rc = 0 ]'

# send PORT ID [RETRY_SECONDS]: one message with Message-ID <ID@example.org>
# and its own marker; exit 0 accepted, 4 on a 4xx (after RETRY_SECONDS of
# retries, as an MTA's queue would), 1 otherwise.
send() {
	python3 - "$@" <<'EOP'
import smtplib, sys, time
from email.message import EmailMessage
port, mid = int(sys.argv[1]), sys.argv[2]
retry = float(sys.argv[3]) if len(sys.argv) > 3 else 0
m = EmailMessage()
m["From"] = "alice@example.org"
m["To"] = "bob@example.net"
m["Subject"] = "node test " + mid
m["Message-ID"] = "<%s@example.org>" % mid
m.set_content("Marker %s in the body.\n" % mid)
m.add_attachment(b"attachment of " + mid.encode() + b"\n" * 2000,
    maintype="application", subtype="octet-stream", filename="a.bin")
end = time.time() + retry
while True:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.send_message(m)
        sys.exit(0)
    except smtplib.SMTPResponseException as e:
        if 400 <= e.smtp_code < 500 and time.time() < end:
            time.sleep(1)
            continue
        sys.exit(4 if 400 <= e.smtp_code < 500 else 1)
    except (smtplib.SMTPException, OSError):
        if time.time() < end:
            time.sleep(1)
            continue
        sys.exit(1)
EOP
}
# delivered NAME ID: the delivered file of message ID at node NAME (waits 30 s).
delivered() {
	i=0
	while [ $i -lt 300 ]; do
		f=$(grep -l "^Message-ID: <$2@example.org>" "$RUN/$1/mail/example.net/bob/new/"* 2>/dev/null | head -n 1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
url_of() { sed -n 's/^X-Pull-URL: *//p' "$1" | tr -d '\r' | head -n 1; }

# ---- 1. two nodes, one bucket ----
send "$P_SMTP_A" two-1; rc=$?
check "sent through node a" '[ $rc = 0 ]'
F=$(delivered a two-1)
URL=$(url_of "$F")
TOK=${URL##*/}
check "node a delivered a summary with a link" '[ ${#TOK} = 43 ]'

# The web: one upstream of both responders, and a server per responder.
for n in a b; do
	PULLMAIL_CONFIG=$RUN/$n/pullmail.conf PULLMAIL_LOG_STDERR=1 spawn-fcgi \
	    -s "$RUN/$n/web.sock" -M 0660 -P "$RUN/web-$n.pid" -- "$WEB" \
	    > "$RUN/$n/spawn.log" 2>&1
done
N=$RUN/nginx
mkdir -p "$N/logs" "$N/tmp" "$N/www"
loc() {  # loc UPSTREAM
	cat <<EOF
		location /m/ {
			fastcgi_pass $1;
			include /etc/nginx/fastcgi_params;
			fastcgi_param REQUEST_URI \$request_uri;
		}
EOF
}
cat > "$N/nginx.conf" <<EOF
user root;
daemon on;
worker_processes 1;
pid $RUN/nginx.pid;
error_log $N/logs/error.log warn;
events { worker_connections 64; }
http {
	access_log $N/logs/access.log;
	client_body_temp_path $N/tmp/body;
	fastcgi_temp_path $N/tmp/fastcgi;
	proxy_temp_path $N/tmp/proxy;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	upstream pullmail { server unix:$RUN/a/web.sock; server unix:$RUN/b/web.sock; }
	server { listen 127.0.0.1:$P_UP; root $N/www;
$(loc pullmail)
	}
	server { listen 127.0.0.1:$P_WA; root $N/www;
$(loc "unix:$RUN/a/web.sock")
	}
	server { listen 127.0.0.1:$P_WB; root $N/www;
$(loc "unix:$RUN/b/web.sock")
	}
}
EOF
nginx -p "$N" -c "$N/nginx.conf" 2> "$N/start.log"
i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "nginx started (upstream of two responders)" '[ -s "$RUN/nginx.pid" ]' || cat "$N/start.log"
code() { curl -s -o "$RUN/got" -w '%{http_code}' "$@"; }
c=$(code "http://127.0.0.1:$P_WB/m/$TOK/eml")
check "sealed through node a, read through node b's responder" '[ "$c" = 200 ] && grep -q "Marker two-1 in the body" "$RUN/got"'
cp "$RUN/got" "$RUN/two-1.eml"
all=1
for k in 1 2 3 4; do
	c=$(code "http://127.0.0.1:$P_UP/m/$TOK/eml")
	[ "$c" = 200 ] && cmp -s "$RUN/got" "$RUN/two-1.eml" || all=0
done
check "four reads through the upstream (both responders), byte-identical" '[ $all = 1 ]'
# keep through node a's responder, seen by node b's pullmailctl.
c=$(code -X POST -H "Origin: http://127.0.0.1:$P_WA" "http://127.0.0.1:$P_WA/m/$TOK/keep")
check "keep through node a: 200" '[ "$c" = 200 ]'
"$CTL" -c "$RUN/b/pullmail.conf" list --json > "$RUN/list.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(o["expires"] - d["now"] > 40 * 86400 for o in d["objects"]) else 1)' "$RUN/list.json"
rc=$?
check "node b sees the expiry node a's keep set" '[ $rc = 0 ]'
# revoke on node b: 410 through both responders.
"$CTL" -c "$RUN/b/pullmail.conf" revoke "$URL" > "$RUN/revoke.out" 2>&1
rc=$?
check "revoke on node b" '[ $rc = 0 ]'
ca=$(code "http://127.0.0.1:$P_WA/m/$TOK"); cb=$(code "http://127.0.0.1:$P_WB/m/$TOK")
check "revoked on b: 410 from node a's responder and node b's ($ca, $cb)" '[ "$ca" = 410 ] && [ "$cb" = 410 ]'
# gc on node b removes, for both, what expired: a message sealed through
# node a, then its expiry moved into the past is not possible through keep;
# the revoked tombstone is due once created + MaxRetention has passed, so
# gc with a shorter MaxRetention on b stands for the passing of time.
sed -e 's/^MaxRetention = 90d/MaxRetention = 1s/' \
    -e 's/^OnError = .*/&\nDefaultExpiry = 1s/' \
    -e 's/^PathPrefix = .*/&\nKeepExtension = 1s/' "$RUN/b/pullmail.conf" > "$RUN/b/short.conf"
sleep 2
"$CTL" -c "$RUN/b/short.conf" gc --json > "$RUN/gc.json" 2>&1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["removed"] >= 1 and d["failed"] == 0 else 1)' "$RUN/gc.json"
rc=$?
check "gc on node b removes what is due" '[ $rc = 0 ]' || cat "$RUN/gc.json"
ca=$(code "http://127.0.0.1:$P_WA/m/$TOK")
check "after gc on b, node a's responder finds nothing (404)" '[ "$ca" = 404 ]'
"$CTL" -c "$RUN/a/pullmail.conf" stats --json > "$RUN/stats.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["count"] == 0 else 1)' "$RUN/stats.json"
rc=$?
check "after gc on b, node a's pullmailctl counts nothing" '[ $rc = 0 ]'

# ---- 2. faults ----
RGW_PID=$(cat "$RUN/rgw/run/rgw.pid")
kill "$RGW_PID"
i=0; while kill -0 "$RGW_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
check "radosgw stopped (mon and osd still up)" '! kill -0 "$RGW_PID" 2>/dev/null'
lost=0
for k in 1 2 3; do
	send "$P_SMTP_A" down-a-$k; [ $? = 4 ] || lost=$((lost + 1))
done
check "node a (tempfail), gateway down: every message refused with 4xx" '[ $lost = 0 ]'
check "node a (tempfail): nothing delivered meanwhile" '! grep -l "down-a-" "$RUN/a/mail/example.net/bob/new/"* >/dev/null 2>&1'
check "node a logged the tempfail and why" 'grep -q "tempfail (OnError)" "$RUN/a/milter.log"'
unchanged=0
for k in 1 2 3; do
	send "$P_SMTP_B" down-b-$k
	f=$(delivered b down-b-$k) && ! grep -q "^X-Pull-URL:" "$f" &&
	    grep -q "Marker down-b-$k in the body" "$f" && unchanged=$((unchanged + 1))
done
check "node b (accept), gateway down: 3 originals delivered unchanged" '[ $unchanged = 3 ]'
check "node b logged each delivery unchanged and why" '[ "$(grep -c "delivering the original unchanged (OnError)" "$RUN/b/milter.log")" = 3 ]'
check "no secret in the milters' logs" '! grep -qF -- "$S3_SECRET_KEY" "$RUN/a/milter.log" "$RUN/b/milter.log"'
$RGW restart-rgw "$RUN/rgw" > "$RUN/rgw-restart.log" 2>&1
rc=$?
check "radosgw back" '[ $rc = 0 ]' || cat "$RUN/rgw-restart.log"
sealed=0
for k in 1 2 3; do
	send "$P_SMTP_A" down-a-$k 60 &&
	    f=$(delivered a down-a-$k) && u=$(url_of "$f") &&
	    "$CTL" -c "$RUN/b/pullmail.conf" show "$u/eml" --raw 2>/dev/null |
	    grep -q "Marker down-a-$k in the body" && sealed=$((sealed + 1))
done
check "node a: the 3 refused messages retried, sealed, readable" '[ $sealed = 3 ]'
# A run of 12 submissions while the gateway restarts twice.
( for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
	send "$P_SMTP_A" run-$k 90 || echo "run-$k not sent" >> "$RUN/run.lost"
  done ) &
SENDER=$!
sleep 1
$RGW restart-rgw "$RUN/rgw" > "$RUN/rgw-restart2.log" 2>&1
sleep 2
$RGW restart-rgw "$RUN/rgw" >> "$RUN/rgw-restart2.log" 2>&1
wait "$SENDER"
check "every submission of the run was accepted in the end" '[ ! -s "$RUN/run.lost" ]' || cat "$RUN/run.lost"
ok_run=0
for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
	f=$(delivered a run-$k) && u=$(url_of "$f") && [ -n "$u" ] &&
	    "$CTL" -c "$RUN/a/pullmail.conf" show "$u/eml" --raw 2>/dev/null |
	    grep -q "Marker run-$k in the body" && ok_run=$((ok_run + 1))
done
check "restarts during the run: 12 of 12 sealed and readable, none lost" '[ $ok_run = 12 ]'
n_del=$(grep -l "^Message-ID: <run-" "$RUN/a/mail/example.net/bob/new/"* 2>/dev/null | wc -l)
check "and each delivered once ($n_del)" '[ "$n_del" = 12 ]'

$RGW stop "$RUN/rgw" > "$RUN/rgw-stop.log" 2>&1
rc=$?
check "radosgw stopped" '[ $rc = 0 ]'
finish
