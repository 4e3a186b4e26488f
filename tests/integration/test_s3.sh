#!/bin/sh
# Backend = s3 against a real S3 server: one throw-away Ceph RADOS Gateway
# (tests/lib/ceph-rgw.sh, ports P_S3..P_S3+9) for the whole script.
#  1. pullmailctl check, list, stats, show, keep, revoke, gc on a bucket
#     filled through the real sealing path; check with wrong credentials,
#     a missing bucket and a loose credentials file.
#  2. pullmail-milter behind a private Postfix sealing into the bucket: the
#     summary is delivered, the original is in the bucket and reads back.
#  3. pullmail-web behind nginx, as FastCGI (spawn-fcgi) and as CGI
#     (fcgiwrap, with PageCacheDir): page, attachment and .eml from the
#     bucket, byte-identical; 410 for expired and revoked; keep; the
#     fetches counted in the read state (an object in the bucket) and shown
#     by pullmailctl show and list.
# Ports: P_S3 (15020), P_SMTP (15031), P_FCGI (15032), P_CGI (15033).
# Needs root (a private Postfix master). Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/s3-it
P_S3=${P_S3:-15020}
P_SMTP=${P_SMTP:-15031}
P_FCGI=${P_FCGI:-15032}
P_CGI=${P_CGI:-15033}
CTL=$B/tools/pullmailctl
POP=$B/tests/unit/test_ctl
MILTER=$B/milter/pullmail-milter
WEB=$B/cgi/pullmail-web
LIB=$B/common/libpullmail.a
. "$TOP/tests/lib/harness.sh"
MASTER_PID=
MILTER_PID=
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"
stop_on_exit MILTER_PID MASTER_PID
stop_pidfiles_on_exit "$RUN"
stop_pidfiles_on_exit "$RUN/rgw/run"
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

if [ "$(id -u)" != 0 ]; then
	fail "test_s3 needs root (a private Postfix master)"
	finish
fi
for f in "$CTL" "$POP" "$MILTER" "$WEB" "$LIB"; do
	[ -e "$f" ] || { fail "$f is built (make O=$O tests)"; finish; }
done
rm -rf "$RUN"
mkdir -p "$RUN/spool" "$RUN/pf/conf" "$RUN/pf/queue" "$RUN/pf/data" \
	"$RUN/mail"

# The gateway: about 20 s.
if ! bash "$TOP/tests/lib/ceph-rgw.sh" start "$RUN/rgw" "$P_S3" > "$RUN/rgw.env" \
    2> "$RUN/rgw-start.err"; then
	fail "radosgw started on 127.0.0.1:$P_S3"
	tail -5 "$RUN/rgw-start.err"
	finish
fi
. "$RUN/rgw.env"
ok "radosgw started on $S3_ENDPOINT"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {  # s3 METHOD PATH [curl args]: the HTTP status of a signed request
	m=$1 p=$2; shift 2
	curl -s -o "$RUN/s3.out" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -X "$m" \
	    -H "x-amz-content-sha256: $EMPTY" "$@" "$S3_ENDPOINT$p"
}
check "bucket created" '[ "$(s3 PUT /pullmail)" = 200 ]'
# The shipped lifecycle backstop is accepted by the gateway as it is.
LC=$TOP/contrib/s3/lifecycle.xml
code=$(curl -s -o "$RUN/lc.out" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -T "$LC" \
    -H "Content-MD5: $(openssl md5 -binary "$LC" | base64)" \
    -H "x-amz-content-sha256: $(sha256sum "$LC" | cut -d' ' -f1)" \
    "$S3_ENDPOINT/pullmail?lifecycle=")
check "contrib/s3/lifecycle.xml is accepted by radosgw" '[ "$code" = 200 ]' || cat "$RUN/lc.out"
s3 GET "/pullmail?lifecycle=" > /dev/null
check "the bucket has both lifecycle rules" 'grep -q pullmail-expire-backstop "$RUN/s3.out" && grep -q pullmail-abort-stale-uploads "$RUN/s3.out"'

# The milter runs as this user after start-up: it reads the credentials
# and writes the spool.
MUSER=postfix
if id pullmail >/dev/null 2>&1; then MUSER=pullmail; fi
CREDS=$RUN/s3.credentials
printf '# radosgw test user\nAccessKey = %s\nSecretKey = %s\n' \
	"$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$CREDS"
chmod 600 "$CREDS"
chown "$MUSER" "$CREDS" "$RUN/spool"
chmod 700 "$RUN/spool"
chmod 755 "$RUN"
SOCK=$RUN/milter.sock
CONF=$RUN/pullmail.conf
store_section() {  # store_section BUCKET CREDENTIALS
	cat <<EOF
[store]
Backend = s3
Endpoint = $S3_ENDPOINT
Bucket = $1
Region = $S3_REGION
Prefix = pm/
CredentialsFile = $2
SpoolDir = $RUN/spool
Retries = 2
MaxRetention = 90d
EOF
}
{
	store_section pullmail "$CREDS"
	cat <<EOF

[log]
Level = debug

[milter]
Socket = unix:$SOCK
SocketMode = 0660
SocketGroup = postfix
UserID = $MUSER
BaseURL = https://pull.example.org/
OnError = tempfail
LogWhy = yes

[web]
PathPrefix = /m/
DefaultLanguage = en
PageCacheDir = $RUN/pages

[summary]
TemplateDir = $TOP/templates
EOF
} > "$CONF"
chmod 644 "$CONF"
OUT=$RUN/out
ERR=$RUN/err
ALL=$RUN/all-output
run() {  # run EXPECTED_STATUS NAME ARGS...
	want=$1 name=$2; shift 2
	"$CTL" "$@" > "$OUT" 2> "$ERR"
	rc=$?
	cat "$OUT" "$ERR" >> "$ALL"
	if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; return 0; fi
	fail "$name: exit $rc, expected $want; $(head -c 400 "$OUT" "$ERR")"
	return 1
}
has() { if grep -qF -- "$2" "$1"; then ok "$3"; else fail "$3: no \"$2\" in $(head -c 400 "$1")"; fi; }
json() {
	if python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1" 2> "$RUN/py.err"; then
		ok "$2"
	else
		fail "$2: $1 is false for $(head -c 400 "$OUT") $(cat "$RUN/py.err")"
	fi
}
objects() {  # the number of keys under pm/ (objects and headers)
	s3 GET "/pullmail?list-type=2&prefix=pm%2F" > /dev/null
	grep -o '<Key>' "$RUN/s3.out" | wc -l
}

# ---- 1. pullmailctl ----
run 0 "check on s3" -c "$CONF" check
has "$OUT" "sealed, read back and verified a test object" "check: round trip through the bucket"
has "$OUT" "deleted the test object" "check: test object deleted"
has "$OUT" "the endpoint refuses to overwrite an object (If-None-Match)" "check: radosgw refuses an overwrite"
check "check leaves no key in the bucket" '[ "$(objects)" = 0 ]'
# Wrong secret, missing bucket, loose credentials file: clear errors.
printf 'AccessKey = %s\nSecretKey = WRONGwrongWRONGwrongWRONGwrongWRONGwrong\n' \
	"$S3_ACCESS_KEY" > "$RUN/wrong.credentials"
chmod 600 "$RUN/wrong.credentials"
store_section pullmail "$RUN/wrong.credentials" > "$RUN/wrong.conf"
run 74 "check with a wrong secret" -c "$RUN/wrong.conf" check
has "$OUT" "access denied (HTTP 403" "wrong secret: says access denied"
check "wrong secret: neither secret printed" '! grep -qF -e WRONGwrong -e "$S3_SECRET_KEY" "$OUT" "$ERR"'
store_section no-such-bucket "$CREDS" > "$RUN/nobucket.conf"
run 74 "check with a missing bucket" -c "$RUN/nobucket.conf" check
has "$OUT" 'bucket "no-such-bucket" does not exist' "missing bucket: says so"
cp "$CREDS" "$RUN/loose.credentials"; chmod 644 "$RUN/loose.credentials"
store_section pullmail "$RUN/loose.credentials" > "$RUN/loose.conf"
run 78 "check with a world-readable credentials file" -c "$RUN/loose.conf" check
has "$OUT" "chmod 600" "loose credentials file: says how to fix it"
check "loose credentials file: secret not printed" '! grep -qF -e "$S3_SECRET_KEY" "$OUT" "$ERR"'

if ! "$POP" populate "$CONF" 20 30 > "$RUN/objects" 2> "$RUN/populate.err"; then
	fail "populate: $(cat "$RUN/populate.err")"
	finish
fi
LIVE_TOKEN=$(awk '$3 == "live" { print $1; exit }' "$RUN/objects")
LIVE_ID=$(awk '$3 == "live" { print $2; exit }' "$RUN/objects")
LIVE2_ID=$(awk '$3 == "live" { n++; if (n == 2) { print $2; exit } }' "$RUN/objects")
LIVE3_TOKEN=$(awk '$3 == "live" { n++; if (n == 3) { print $1; exit } }' "$RUN/objects")
LINK="https://mail.example.com/m/$LIVE_TOKEN"
check "50 objects in the bucket" '[ "$(objects)" = 50 ]'
run 0 "stats --json" -c "$CONF" stats --json
json 'd["count"] == 50 and d["expired"] == 30 and d["bytes"] > 0 and d["revoked"] == 0' "stats counts the bucket"
run 0 "list --json" -c "$CONF" list --json
json 'd["count"] == 50 and sum(1 for o in d["objects"] if o["expired"]) == 30 and all(o["size"] > 80 for o in d["objects"])' "list --json: 50, 30 expired"
run 0 "gc --dry-run --json" -c "$CONF" gc --dry-run --json
json 'd["removed"] == 30 and d["kept"] == 20' "gc --dry-run counts"
check "gc --dry-run removed nothing" '[ "$(objects)" = 50 ]'
run 0 "gc --json" -c "$CONF" gc --json
json 'd["removed"] == 30 and d["kept"] == 20 and d["failed"] == 0' "gc removes the 30 expired"
check "gc: 20 keys left in the bucket" '[ "$(objects)" = 20 ]'
run 0 "show --raw" -c "$CONF" show "$LINK/eml" --raw
has "$OUT" "Body of object 0." "show --raw reads the original from the bucket"
run 0 "keep --days 5" -c "$CONF" keep "$LIVE2_ID" --days 5
run 0 "list after keep" -c "$CONF" list --json
json "any(o['id'] == '$LIVE2_ID' and 4 * 86400 < o['expires'] - d['now'] <= 5 * 86400 for o in d['objects'])" "keep moved the expiry to 5 days"
check "keep wrote a header object beside the object" '[ "$(objects)" = 21 ]'
run 0 "keep --days 400 (capped)" -c "$CONF" keep "https://mail.example.com/m/$LIVE3_TOKEN" --days 400
has "$OUT" "capped at creation + MaxRetention (90 days)" "keep past MaxRetention is capped"
run 0 "revoke by link" -c "$CONF" revoke "$LINK"
run 69 "show a revoked message" -c "$CONF" show "$LINK"
has "$ERR" "revoked" "show says revoked"
run 0 "stats after revoke" -c "$CONF" stats --json
json 'd["revoked"] == 1 and d["count"] == 20' "the tombstone is counted"
s3 GET "/pullmail/pm/$LIVE_ID.pull" > /dev/null
check "the revoked object is the tombstone alone (56 bytes)" '[ "$(wc -c < "$RUN/s3.out")" = 56 ]'
run 66 "revoke an unknown id" -c "$CONF" revoke ffffffffffffffffffffffffffffffff
# A writer that died in a multipart upload: gc aborts it once stale.
check "a multipart upload left behind" '[ "$(s3 POST "/pullmail/pm/0123456789abcdef0123456789abcdef.pull?uploads=")" = 200 ]'
run 0 "gc --dry-run with a fresh upload" -c "$CONF" gc --dry-run --json
leaked=0
while read -r tok id kind; do
	if grep -qF -- "$tok" "$ALL"; then leaked=$((leaked + 1)); fi
done < "$RUN/objects"
check "no token in any pullmailctl output" '[ "$leaked" = 0 ]'
check "no secret in any pullmailctl output" '! grep -qF -- "$S3_SECRET_KEY" "$ALL"'

# An endpoint that always answers 503 SlowDown, and one that never answers
# in time: a fake (tests/integration/s3/fake_s3.py), since radosgw cannot be
# made to do either on demand.
P_FAKE=$((P_S3 + 15))
fake_endpoint() {  # fake_endpoint MODE: starts it, FAKE_PID; counts in $RUN/fake.count
	: > "$RUN/fake.count"
	python3 "$TOP/tests/integration/s3/fake_s3.py" "$P_FAKE" "$1" "$RUN/fake.count" \
	    > "$RUN/fake.log" 2>&1 &
	FAKE_PID=$!
	wait_port "$P_FAKE"
}
FAKE_PID=
stop_on_exit FAKE_PID
fake_conf() {  # fake_conf EXTRA_LINE > file
	store_section pullmail "$CREDS" | sed "s|^Endpoint = .*|Endpoint = http://127.0.0.1:$P_FAKE|"
	echo "$1"
}
fake_endpoint slowdown
fake_conf "RequestTimeout = 10s" > "$RUN/slowdown.conf"
run 74 "check against an endpoint in 503 SlowDown" -c "$RUN/slowdown.conf" check
has "$OUT" "HTTP 503 SlowDown" "503 SlowDown: says so"
check "503: the write was tried 1 + Retries (2) times" '[ "$(grep -c PUT "$RUN/fake.count")" = 3 ]'
stop_pid "$FAKE_PID"; FAKE_PID=
fake_endpoint slow
fake_conf "RequestTimeout = 2s" | sed 's/^Retries = .*/Retries = 0/' > "$RUN/slow.conf"
start=$(date +%s)
run 74 "check against an endpoint that never answers in time" -c "$RUN/slow.conf" check
took=$(( $(date +%s) - start ))
has "$OUT" "timed out" "slow endpoint: says it timed out"
check "slow endpoint: given up after RequestTimeout ($took s)" '[ "$took" -lt 10 ]'
stop_pid "$FAKE_PID"; FAKE_PID=
# A server that ignores If-None-Match: check says the object could be
# overwritten (radosgw, above, refused: "refuses to overwrite").
fake_endpoint lax
fake_conf "RequestTimeout = 10s" > "$RUN/lax.conf"
run 70 "check against an endpoint that ignores If-None-Match" -c "$RUN/lax.conf" check
has "$OUT" "sealed, read back and verified a test object" "lax endpoint: the round trip itself works"
has "$OUT" "overwrote the test object despite If-None-Match" "lax endpoint: check says it overwrites"
stop_pid "$FAKE_PID"; FAKE_PID=

# ---- 2. the milter behind Postfix ----
C=$RUN/pf/conf
chown 65534:65534 "$RUN/mail"
chown postfix "$RUN/pf/data"
{
	postfix_main_cf "$C" "$RUN/pf/queue" "$RUN/pf/data" example.org \
		example.net "$RUN/mail"
	echo "milter_protocol = 6"
	echo "maillog_file = $RUN/pf/maillog"
	echo "maillog_file_prefixes = $RUN"
} > "$C/main.cf"
echo "bob@example.net example.net/bob/" > "$C/vmailbox"
{
	cat <<EOF
127.0.0.1:$P_SMTP inet n - n - - smtpd
  -o smtpd_milters=unix:$SOCK
  -o milter_default_action=tempfail
EOF
	postfix_daemons
} > "$C/master.cf"
if ! postfix -c "$C" check > "$RUN/pf/check.log" 2>&1; then
	fail "postfix check of the private instance"
	cat "$RUN/pf/check.log"
	finish
fi
"$MILTER" -f -c "$CONF" > "$RUN/milter.log" 2>&1 &
MILTER_PID=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do
	kill -0 "$MILTER_PID" 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
check "pullmail-milter (Backend = s3) listens" '[ -S "$SOCK" ]' || cat "$RUN/milter.log"
if ! start_master "$C" "$RUN/pf/master.out" "$P_SMTP"; then
	fail "Postfix listens on 127.0.0.1:$P_SMTP"
	finish
fi
head -c 3000000 /dev/urandom > "$RUN/attachment.bin"
python3 - "$P_SMTP" "$RUN/attachment.bin" "$RUN/sent.eml" <<'EOP' > "$RUN/smtp.log" 2>&1
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.org"
m["To"] = "bob@example.net"
m["Subject"] = "s3 backend test"
m["Message-ID"] = "<s3-it-1@example.org>"
m.set_content("Marker s3-it-body-7f3a for the bucket.\n")
m.add_attachment(open(sys.argv[2], "rb").read(), maintype="application",
    subtype="octet-stream", filename="data.bin")
open(sys.argv[3], "wb").write(bytes(m))
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as s:
    s.send_message(m)
EOP
rc=$?
check "the message was accepted by Postfix" '[ $rc = 0 ]' || cat "$RUN/smtp.log"
i=0
while [ -z "$(find "$RUN/mail/example.net/bob/new" -type f 2>/dev/null)" ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
DELIVERED=$(find "$RUN/mail/example.net/bob/new" -type f 2>/dev/null | head -n 1)
check "the summary was delivered" '[ -n "$DELIVERED" ]' || tail -20 "$RUN/pf/maillog"
URL=$(sed -n 's/^X-Pull-URL: *//p' "$DELIVERED" 2>/dev/null | tr -d '\r' | head -n 1)
check "the summary carries an X-Pull-URL" '[ -n "$URL" ]'
check "the summary does not carry the attachment" '! grep -q "Marker s3-it-body-7f3a" "$DELIVERED" || [ "$(wc -c < "$DELIVERED")" -lt 100000 ]'
TOK=${URL##*/}
run 0 "the sealed original reads back from the bucket" -c "$CONF" show "$URL/eml" --raw
cp "$OUT" "$RUN/milter-original.eml"
python3 - "$OUT" "$RUN/attachment.bin" <<'EOP'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
parts = [p for p in m.walk() if not p.is_multipart()]
ok = (m["Subject"] == "s3 backend test" and
      any(p.get_filename() == "data.bin" and p.get_payload(decode=True) == open(sys.argv[2], "rb").read() for p in parts))
sys.exit(0 if ok else 1)
EOP
rc=$?
check "the original from the bucket carries the 3 MB attachment unchanged" '[ $rc = 0 ]'
check "the milter logged the storage in s3 without a secret" '! grep -qF -- "$S3_SECRET_KEY" "$RUN/milter.log"'

# Wrong credentials and a missing bucket at run time: the milter is
# started on each in turn; the message is refused with a 4xx (OnError =
# tempfail) and the log says why, without the secret.
restart_milter() {  # restart_milter CONF
	stop_pid "$MILTER_PID"; MILTER_PID=
	rm -f "$SOCK"
	"$MILTER" -f -c "$1" >> "$RUN/milter.log" 2>&1 &
	MILTER_PID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$SOCK" ]
}
for bad in wrong nobucket; do
	sed -n '/^\[log\]/,$p' "$CONF" >> "$RUN/$bad.conf"
	chmod 644 "$RUN/$bad.conf"
	chown "$MUSER" "$RUN/wrong.credentials"
	restart_milter "$RUN/$bad.conf"; rc=$?
	check "$bad: the milter starts (the store is checked at the first message)" '[ $rc = 0 ]'
	python3 - "$P_SMTP" <<'EOP' > "$RUN/smtp-$bad.log" 2>&1
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.org"; m["To"] = "bob@example.net"; m["Subject"] = "bad store"
m.set_content("x")
m.add_attachment(b"y" * 5000, maintype="application", subtype="octet-stream", filename="y.bin")
try:
    with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as s:
        s.send_message(m)
    sys.exit(0)
except smtplib.SMTPResponseException as e:
    sys.exit(4 if 400 <= e.smtp_code < 500 else 1)
EOP
	rc=$?
	check "$bad: the message is refused with a 4xx (tempfail)" '[ $rc = 4 ]'
done
check "run time, wrong secret: the log says access denied" 'grep -q "access denied (HTTP 403 .*tempfail (OnError)" "$RUN/milter.log"'
check "run time, missing bucket: the log says so" 'grep -q "bucket \"no-such-bucket\" does not exist.*tempfail (OnError)" "$RUN/milter.log"'
check "run time: no secret in the milter's log" '! grep -qF -e "$S3_SECRET_KEY" -e WRONGwrong "$RUN/milter.log"'
restart_milter "$CONF"; rc=$?
check "the milter is back on the good configuration" '[ $rc = 0 ]'

# ---- 3. pullmail-web: FastCGI and CGI over the bucket ----
SEAL=$RUN/seal-fixture
if ! ${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
    $(pkg-config --cflags glib-2.0 libsodium) -o "$SEAL" \
    "$TOP/tests/integration/web/seal-fixture.c" "$LIB" \
    $(pkg-config --libs gmime-3.0 libsodium glib-2.0 libxml-2.0 libcurl) \
    2> "$RUN/seal-build.log"; then
	fail "the seal helper builds"
	cat "$RUN/seal-build.log"
	finish
fi
seal() { set -- $("$SEAL" "$CONF" "$@"); TOKEN=$1; SID=$2; }
SAMPLE=$TOP/tests/data/web_sample.eml
seal "$SAMPLE"; T_LIVE=$TOKEN; S_LIVE=$SID
seal "$SAMPLE" expired; T_EXP=$TOKEN
seal "$SAMPLE" revoked; T_REV=$TOKEN
check "three objects sealed into the bucket" '[ ${#T_LIVE} = 43 ] && [ ${#T_EXP} = 43 ] && [ ${#T_REV} = 43 ]'
python3 - "$SAMPLE" 3 "$RUN/expected-part3" <<'EOP'
import sys, email, email.policy
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
leaves = [p for p in msg.walk() if not p.is_multipart()]
open(sys.argv[3], 'wb').write(leaves[int(sys.argv[2])].get_payload(decode=True))
EOP
write_nginx() {  # write_nginx DIR PORT SNIPPET
	mkdir -p "$1/logs" "$1/tmp" "$1/www"
	cat > "$1/nginx.conf" <<EON
user root;
daemon on;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 64; }
http {
	access_log $1/logs/access.log;
	client_body_temp_path $1/tmp/body;
	fastcgi_temp_path $1/tmp/fastcgi;
	proxy_temp_path $1/tmp/proxy;
	uwsgi_temp_path $1/tmp/uwsgi;
	scgi_temp_path $1/tmp/scgi;
	limit_req_zone \$binary_remote_addr zone=pullmail:1m rate=1000r/s;
	server {
		listen 127.0.0.1:$2;
		server_name localhost;
		root $1/www;
		include $3;
	}
}
EON
}
start_nginx() {  # start_nginx DIR
	nginx -p "$1" -c "$1/nginx.conf" 2> "$1/start.log"
	i=0; while ! [ -s "$1/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
	cp "$1/nginx.pid" "$RUN/$(basename "$1").pid" 2>/dev/null
	[ -s "$1/nginx.pid" ]
}
run_cases() {  # run_cases PORT LABEL
	base=http://127.0.0.1:$1/m l=$2
	code=$(curl -s -o "$RUN/page.html" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: page 200 from the bucket" '[ "$code" = 200 ] && grep -q "relatório final.pdf" "$RUN/page.html"'
	code=$(curl -s -o "$RUN/page2.html" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: the page again, byte-identical" '[ "$code" = 200 ] && cmp -s "$RUN/page.html" "$RUN/page2.html"'
	code=$(curl -s -o "$RUN/part3" -w '%{http_code}' "$base/$T_LIVE/part/3")
	check "$l: attachment byte-identical to the decoded part" '[ "$code" = 200 ] && cmp -s "$RUN/part3" "$RUN/expected-part3"'
	code=$(curl -s -o "$RUN/orig.eml" -w '%{http_code}' "$base/$T_LIVE/eml")
	check "$l: eml byte-identical to what was sealed" '[ "$code" = 200 ] && cmp -s "$RUN/orig.eml" "$SAMPLE"'
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base/$T_EXP")
	check "$l: expired 410" '[ "$code" = 410 ]'
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base/$T_REV/eml")
	check "$l: revoked 410" '[ "$code" = 410 ]'
	code=$(curl -s -o "$RUN/milter.eml" -w '%{http_code}' "$base/$TOK/eml")
	check "$l: the milter's message served from the bucket" '[ "$code" = 200 ] && cmp -s "$RUN/milter.eml" "$RUN/milter-original.eml"'
}
# A: FastCGI.
sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/pullmail-fcgi.conf"
write_nginx "$RUN/nginx-fcgi" "$P_FCGI" "$RUN/pullmail-fcgi.conf"
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web.sock" \
    -M 0660 -P "$RUN/web.pid" -- "$WEB" > "$RUN/spawn.log" 2>&1
check "nginx (FastCGI) started" 'start_nginx "$RUN/nginx-fcgi"'
run_cases "$P_FCGI" fastcgi
# Those fetches are the message's read state, an object beside it in the
# bucket, seen by pullmailctl.
check "the read state is an object beside the message (256 bytes)" '[ "$(s3 GET "/pullmail/pm/$S_LIVE.read")" = 200 ] && [ "$(wc -c < "$RUN/s3.out")" = 256 ]'
run 0 "show after the fetches" -c "$CONF" show "https://mail.example.com/m/$T_LIVE"
has "$OUT" "read page  2 times" "show: the two pages fetched through FastCGI"
has "$OUT" "read eml   1 time," "show: the .eml fetched once"
run 0 "list --json after the fetches" -c "$CONF" list --json
json "any(o['id'] == '$S_LIVE' and o['state'] == 'read' and o['read']['count'] == 4 and o['read']['routes']['part']['count'] == 1 for o in d['objects'])" "list --json: the read state from the bucket"
# keep through the web, seen by pullmailctl.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Origin: http://127.0.0.1:$P_FCGI" "http://127.0.0.1:$P_FCGI/m/$T_LIVE/keep")
check "fastcgi: keep 200" '[ "$code" = 200 ]'
run 0 "list after keep through the web" -c "$CONF" list --json
json "any(o['id'] == '$S_LIVE' and o['expires'] - d['now'] > 20 * 86400 for o in d['objects'])" "keep through the web is in the bucket"
# B: CGI through fcgiwrap, with PageCacheDir.
sed -n '/^# B:/,$p' "$TOP/contrib/nginx/pullmail.conf" | sed -e 's/^#//' \
    -e "s|unix:/run/fcgiwrap.socket|unix:$RUN/fcgiwrap.sock|" \
    -e "s|/usr/local/sbin/pullmail-web|$WEB|" \
    -e "s|/etc/pullmail/pullmail.conf|$CONF|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    | grep -v '^ B:' > "$RUN/pullmail-cgi.conf"
write_nginx "$RUN/nginx-cgi" "$P_CGI" "$RUN/pullmail-cgi.conf"
spawn-fcgi -s "$RUN/fcgiwrap.sock" -M 0660 -P "$RUN/fcgiwrap.pid" -- \
    /usr/sbin/fcgiwrap -c 2 > "$RUN/spawn-wrap.log" 2>&1
check "nginx (CGI) started" 'start_nginx "$RUN/nginx-cgi"'
run_cases "$P_CGI" cgi
check "cgi: the page was kept in PageCacheDir (one entry of its object)" '[ "$(ls "$RUN/pages" | grep -c "^$S_LIVE\.")" = 1 ]'
# A kept page is bound to the object's version: a revoke answers 410.
run 0 "revoke the page's message" -c "$CONF" revoke "$S_LIVE"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_CGI/m/$T_LIVE")
check "cgi: revoked after its page was kept: 410" '[ "$code" = 410 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_FCGI/m/$T_LIVE")
check "fastcgi: revoked after its page was cached: 410" '[ "$code" = 410 ]'
check "no token in the nginx error logs" '! grep -qF -- "$T_LIVE" "$RUN"/nginx-*/logs/error.log'
check "no secret in the responder's log" '! grep -qF -- "$S3_SECRET_KEY" "$RUN/spawn.log"'

# The gateway's own stop (by PID, as the harness would).
bash "$TOP/tests/lib/ceph-rgw.sh" stop "$RUN/rgw" > "$RUN/rgw-stop.log" 2>&1
rc=$?
check "radosgw stopped" '[ $rc = 0 ]'
finish
