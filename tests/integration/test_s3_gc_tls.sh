#!/bin/sh
# The s3 backend's gc in DeleteObjects batches, and the backend over https,
# on a real Ceph RADOS Gateway (tests/lib/ceph-rgw.sh, ports P_S3..P_S3+9):
#  1. gc of more than a thousand expired objects (two listing pages), a
#     few kept (with a header object): every one and every header goes,
#     the counts are exact, and radosgw saw DeleteObjects requests only
#     (no single DELETE).
#  2. A key the endpoint refuses in its DeleteObjects answer (<Error>
#     AccessDenied, from the fake endpoint tests/integration/s3/fake_s3.py):
#     gc counts it failed, exits 74, logs the reason; the key stays, the
#     others go.
#  3. https: nginx as a TLS reverse proxy before radosgw, with a CA made
#     here (openssl): pullmailctl check passes with CAFile = that CA, fails
#     with a certificate error without CAFile and with another CA;
#     Addressing = virtual through the same proxy (BUCKET.localhost).
# Ports: P_S3 (15080..15089), P_FAKE (15091), P_TLS (15092).
# Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/s3-gc-tls
P_S3=${P_S3:-15080}
P_FAKE=${P_FAKE:-15091}
P_TLS=${P_TLS:-15092}
CTL=$B/tools/pullmailctl
POP=$B/tests/unit/test_ctl
RGW="bash $TOP/tests/lib/ceph-rgw.sh"
. "$TOP/tests/lib/harness.sh"
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"   # wait_port
FAKE_PID=
stop_on_exit FAKE_PID
stop_pidfiles_on_exit "$RUN"
stop_pidfiles_on_exit "$RUN/rgw/run"
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

for f in "$CTL" "$POP"; do
	[ -e "$f" ] || { fail "$f is built (make O=$O tests)"; finish; }
done
for c in nginx openssl python3 curl; do
	command -v "$c" >/dev/null 2>&1 || { fail "$c is installed"; finish; }
done
rm -rf "$RUN"
mkdir -p "$RUN/spool" "$RUN/tls"

if ! $RGW start "$RUN/rgw" "$P_S3" > "$RUN/rgw.env" 2> "$RUN/rgw-start.err"; then
	fail "radosgw started on 127.0.0.1:$P_S3"
	tail -5 "$RUN/rgw-start.err"
	finish
fi
. "$RUN/rgw.env"
ok "radosgw started on $S3_ENDPOINT"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {  # s3 METHOD PATH: the HTTP status of a signed request; body in $RUN/s3.out
	curl -s -o "$RUN/s3.out" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -X "$1" \
	    -H "x-amz-content-sha256: $EMPTY" "$S3_ENDPOINT$2"
}
objects() {  # the number of keys under pm/, both listing pages
	s3 GET "/pullmail?list-type=2&prefix=pm%2F" > /dev/null
	n=$(grep -o '<Key>' "$RUN/s3.out" | wc -l)
	tok=$(sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p' "$RUN/s3.out" | sed 's|/|%2F|g')
	if [ -n "$tok" ]; then
		s3 GET "/pullmail?continuation-token=$tok&list-type=2&prefix=pm%2F" > /dev/null
		n=$((n + $(grep -o '<Key>' "$RUN/s3.out" | wc -l)))
	fi
	echo "$n"
}
check "bucket created" '[ "$(s3 PUT /pullmail)" = 200 ]'

CREDS=$RUN/s3.credentials
printf 'AccessKey = %s\nSecretKey = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$CREDS"
chmod 600 "$CREDS"
conf() {  # conf ENDPOINT MAX_RETENTION [EXTRA_LINE...]
	ep=$1 mr=$2; shift 2
	cat <<EOF
[store]
Backend = s3
Endpoint = $ep
Bucket = pullmail
Region = $S3_REGION
Prefix = pm/
CredentialsFile = $CREDS
SpoolDir = $RUN/spool
Retries = 1
RequestTimeout = 20s
MaxRetention = $mr
EOF
	for l in "$@"; do echo "$l"; done
}
OUT=$RUN/out
ERR=$RUN/err
run() {  # run EXPECTED_STATUS NAME ARGS...
	want=$1 name=$2; shift 2
	"$CTL" "$@" > "$OUT" 2> "$ERR"
	rc=$?
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
rgw_requests() {  # rgw_requests PATTERN: radosgw's requests so far matching it
	grep -c "beast: .*\"$1" "$RUN/rgw/log/client.rgw.a.log"
}

# ---- 1. gc in DeleteObjects batches ----
LIVE=20 EXPIRED=1030
conf "$S3_ENDPOINT" 90d > "$RUN/s3.conf"
# MaxRetention 5d: the kept ones (created 10 days ago) are due too.
conf "$S3_ENDPOINT" 5d "" "[milter]" "DefaultExpiry = 1d" \
	"[web]" "KeepExtension = 1d" > "$RUN/s3-5d.conf"
if ! "$POP" populate "$RUN/s3.conf" $LIVE $EXPIRED > "$RUN/objects" 2> "$RUN/populate.err"; then
	fail "populate: $(cat "$RUN/populate.err")"
	finish
fi
check "$((LIVE + EXPIRED)) objects in the bucket" '[ "$(objects)" = $((LIVE + EXPIRED)) ]'
for id in $(awk '$3 == "expired" { print $2 }' "$RUN/objects" | head -3); do
	"$CTL" -c "$RUN/s3.conf" keep "$id" --days 5 > /dev/null 2>&1 || fail "keep $id"
done
check "3 kept: 3 header objects more" '[ "$(objects)" = $((LIVE + EXPIRED + 3)) ]'
posts0=$(rgw_requests "POST /pullmail/?delete=")
deletes0=$(rgw_requests "DELETE /pullmail/")
run 0 "gc --json" -c "$RUN/s3-5d.conf" gc --json
json "d['examined'] == $((LIVE + EXPIRED)) and d['removed'] == $EXPIRED and d['kept'] == $LIVE and d['failed'] == 0 and d['unreadable'] == 0" "gc counts $EXPIRED removed, $LIVE kept, none failed"
check "gc: only the $LIVE live keys are left (headers gone too)" '[ "$(objects)" = $LIVE ]'
posts=$(( $(rgw_requests "POST /pullmail/?delete=") - posts0 ))
deletes=$(( $(rgw_requests "DELETE /pullmail/") - deletes0 ))
# One batch per gc worker's part (at most 4 parts, each under 1000 keys,
# or two batches of one part), and one for the 3 headers at most per part.
check "gc sent DeleteObjects requests ($posts), no single DELETE ($deletes)" \
	'[ "$posts" -ge 2 ] && [ "$posts" -le 8 ] && [ "$deletes" = 0 ]'
run 0 "gc again" -c "$RUN/s3-5d.conf" gc --json
json "d['removed'] == 0 and d['kept'] == $LIVE and d['failed'] == 0" "gc again: nothing more to remove"

# ---- 2. a key refused in the DeleteObjects answer ----
: > "$RUN/fake.count"
python3 "$TOP/tests/integration/s3/fake_s3.py" "$P_FAKE" lax "$RUN/fake.count" \
    > "$RUN/fake.log" 2>&1 &
FAKE_PID=$!
wait_port "$P_FAKE"
conf "http://127.0.0.1:$P_FAKE" 90d "RequestTimeout = 10s" > "$RUN/fake.conf"
if ! "$POP" populate "$RUN/fake.conf" 2 5 > "$RUN/fake-objects" 2> "$RUN/populate.err"; then
	fail "populate (fake endpoint): $(cat "$RUN/populate.err")"
else
	DENY=$(awk '$3 == "expired" { print $2; exit }' "$RUN/fake-objects")
	echo "$DENY" > "$RUN/fake.count.fail"
	run 74 "gc with one key refused" -c "$RUN/fake.conf" gc --json
	json "d['removed'] == 4 and d['failed'] == 1 and d['kept'] == 2" "gc counts the refused key failed, the 4 others removed"
	has "$ERR" "1 objects could not be deleted" "gc says one object could not be deleted"
	check "gc used DeleteObjects on the fake endpoint" 'grep -q POST "$RUN/fake.count" && ! grep -q DELETE "$RUN/fake.count"'
	rm -f "$RUN/fake.count.fail"
	run 0 "gc once the key is no longer refused" -c "$RUN/fake.conf" gc --json
	json "d['removed'] == 1 and d['failed'] == 0 and d['kept'] == 2" "gc then removes it"
fi
stop_pid "$FAKE_PID"; FAKE_PID=

# ---- 3. https through nginx, with CAFile ----
T=$RUN/tls
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pullmail test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" > "$T/openssl.log" 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
    -keyout "$T/other.key" -out "$T/other.pem" >> "$T/openssl.log" 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$T/server.key" -out "$T/server.csr" >> "$T/openssl.log" 2>&1
printf 'subjectAltName = DNS:localhost, DNS:pullmail.localhost, IP:127.0.0.1\n' > "$T/san.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -CAcreateserial -days 2 -extfile "$T/san.ext" -out "$T/server.pem" >> "$T/openssl.log" 2>&1
check "a throw-away CA and a server certificate" '[ -s "$T/ca.pem" ] && [ -s "$T/server.pem" ]' || cat "$T/openssl.log"
chmod 755 "$T"; chmod 644 "$T/server.key"   # nginx's workers may run as nobody
N=$RUN/nginx
mkdir -p "$N/logs" "$N/tmp"
cat > "$N/nginx.conf" <<EON
daemon on;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/logs/error.log warn;
events { worker_connections 64; }
http {
	log_format withhost '\$host "\$request" \$status';
	access_log $N/logs/access.log withhost;
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fastcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	server {
		listen 127.0.0.1:$P_TLS ssl;
		server_name localhost 127.0.0.1 pullmail.localhost;
		ssl_certificate $T/server.pem;
		ssl_certificate_key $T/server.key;
		client_max_body_size 0;
		location / {
			# The Host header and the URI as signed: radosgw checks
			# the signature over them.
			proxy_pass http://127.0.0.1:$P_S3;
			proxy_set_header Host \$http_host;
			proxy_http_version 1.1;
			proxy_request_buffering off;
			proxy_buffering off;
		}
	}
}
EON
nginx -p "$N" -c "$N/nginx.conf" 2> "$N/start.log"
i=0; while ! [ -s "$N/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
cp "$N/nginx.pid" "$RUN/nginx.pid" 2>/dev/null
check "nginx (TLS) listens on 127.0.0.1:$P_TLS" '[ -s "$N/nginx.pid" ]' || cat "$N/start.log"
wait_port "$P_TLS"

conf "https://127.0.0.1:$P_TLS" 90d "CAFile = $T/ca.pem" > "$RUN/tls.conf"
run 0 "check over https with CAFile" -c "$RUN/tls.conf" check
has "$OUT" "sealed, read back and verified a test object" "https: round trip through nginx to radosgw"
has "$OUT" "https://127.0.0.1:$P_TLS" "https: check names the endpoint"
run 0 "gc over https" -c "$RUN/tls.conf" gc --json
json "d['kept'] == $LIVE and d['failed'] == 0" "https: gc lists and reads heads through the proxy"
conf "https://127.0.0.1:$P_TLS" 90d > "$RUN/tls-noca.conf"
run 74 "check over https without CAFile" -c "$RUN/tls-noca.conf" check
check "without CAFile: a certificate error" 'grep -q "SSL certificate problem" "$OUT" "$ERR"' || head -c 600 "$OUT" "$ERR"
conf "https://127.0.0.1:$P_TLS" 90d "CAFile = $T/other.pem" > "$RUN/tls-other.conf"
run 74 "check over https with another CA" -c "$RUN/tls-other.conf" check
check "another CA: a certificate error" 'grep -q "SSL certificate problem" "$OUT" "$ERR"' || head -c 600 "$OUT" "$ERR"

# A host name: radosgw takes a Host that is not its DNS name (here
# 127.0.0.1) as a bucket, so it is restarted with the DNS name localhost;
# then BUCKET.localhost is virtual-hosted addressing.
sed -i 's/^rgw dns name = .*/rgw dns name = localhost/' "$RUN/rgw/ceph.conf"
if $RGW restart-rgw "$RUN/rgw" > "$RUN/rgw-restart.log" 2>&1; then
	ok "radosgw restarted with rgw dns name = localhost"
	conf "https://localhost:$P_TLS" 90d "CAFile = $T/ca.pem" > "$RUN/tls-name.conf"
	run 0 "check over https://localhost with CAFile" -c "$RUN/tls-name.conf" check
	has "$OUT" "sealed, read back and verified a test object" "https://localhost: round trip"
	conf "https://localhost:$P_TLS" 90d "CAFile = $T/ca.pem" "Addressing = virtual" > "$RUN/tls-virtual.conf"
	run 0 "check over https, Addressing = virtual" -c "$RUN/tls-virtual.conf" check
	has "$OUT" "sealed, read back and verified a test object" "virtual: round trip through pullmail.localhost"
	check "virtual: requests reached nginx as pullmail.localhost" 'grep -q "^pullmail.localhost \"PUT /pm/" "$N/logs/access.log"'
	run 0 "gc over https, Addressing = virtual" -c "$RUN/tls-virtual.conf" gc --json
	json "d['kept'] == $LIVE and d['failed'] == 0 and d['removed'] == 0" "virtual: gc lists the bucket"
else
	fail "radosgw restarted with rgw dns name = localhost: $(tail -3 "$RUN/rgw-restart.log")"
fi

$RGW stop "$RUN/rgw" > /dev/null 2>&1 || fail "radosgw stopped"
finish
