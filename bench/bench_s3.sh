#!/bin/sh
# s3 part of make bench: the s3 backend beside fs in the same run, with a
# throw-away Ceph RADOS Gateway on this machine (tests/lib/ceph-rgw.sh;
# it shares the processors with everything else). A private Postfix
# relays to smtp-sink; smtp-source -s 10 sends 10 KiB and 1 MiB messages to
# three smtpd ports taking turns (no milter, pullmail-milter on fs,
# pullmail-milter on s3); then twenty 20 MiB messages in flight at once
# through the s3 milter and its peak RSS (VmHWM); then pullmail-web
# (FastCGI, spawn-fcgi) serving a page and a 10 MiB part from each store.
# PULLMAIL_BENCH_S3_SCALE=N divides the message counts by N. Ports: free
# ones picked at run time, and the gateway on PULLMAIL_BENCH_S3_PORT
# (15060..15069).
O=${O:-.}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
TOP=$(pwd)
RUN=$O/run/bench_s3
MILTER=$O/milter/pullmail-milter
WEB=$O/cgi/pullmail-web
LIB=$O/common/libpullmail.a
SCALE=${PULLMAIL_BENCH_S3_SCALE:-1}
N_SMALL=$((1000 / SCALE))
N_BIG=$((200 / SCALE))
P_S3=${PULLMAIL_BENCH_S3_PORT:-15060}
set -- $(python3 -c "
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))")
P_NONE=$1 P_SINK=$2 P_FS=$3 P_S3M=$4 P_WEB=$5
for f in "$MILTER" "$WEB" "$LIB"; do
	[ -e "$f" ] || { echo "bench_s3: $f not built" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench_s3: needs root (a private Postfix master)" >&2; exit 1; }
SINK_PID= FS_PID= S3_PID= MASTER_PID= WEB_FS= WEB_S3=
. tests/lib/harness.sh     # stop_pid; its cleanup is replaced below
cleanup() {
	stop_pid "$MASTER_PID"; stop_pid "$FS_PID"; stop_pid "$S3_PID"
	stop_pid "$SINK_PID"; stop_pid "$WEB_FS"; stop_pid "$WEB_S3"
	[ -d "$RUN/rgw/run" ] && bash "$TOP/tests/lib/ceph-rgw.sh" stop "$RUN/rgw" > /dev/null 2>&1
	rm -rf "$RUN/store"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
rm -rf "$RUN"
mkdir -p "$RUN/pf/conf" "$RUN/pf/queue" "$RUN/pf/data" "$RUN/store" "$RUN/spool" || exit 1
PF_TOP=$TOP
. tests/lib/postfix.sh
bash "$TOP/tests/lib/ceph-rgw.sh" start "$RUN/rgw" "$P_S3" > "$RUN/rgw.env" 2> "$RUN/rgw.err" ||
	{ echo "bench_s3: radosgw did not start" >&2; tail -5 "$RUN/rgw.err" >&2; exit 1; }
. "$RUN/rgw.env"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
curl -s -o /dev/null --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	-X PUT -H "x-amz-content-sha256: $EMPTY" "$S3_ENDPOINT/bench"
MUSER=postfix
if id pullmail >/dev/null 2>&1; then MUSER=pullmail; fi
printf 'AccessKey = %s\nSecretKey = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$RUN/creds"
chmod 600 "$RUN/creds"
chown "$MUSER" "$RUN/creds" "$RUN/spool" "$RUN/store"
chmod 750 "$RUN/store"; chmod 700 "$RUN/spool"; chmod 755 "$RUN"
chown postfix "$RUN/pf/data"
conf() {  # conf NAME STORE_LINES
	cat > "$RUN/$1.conf" <<EOF
[store]
$2

[milter]
Socket = unix:$RUN/$1.sock
SocketMode = 0660
SocketGroup = postfix
UserID = $MUSER
BaseURL = https://pull.example.org/

[web]
PageCache = 0

[summary]
TemplateDir = $TOP/templates
EOF
	chmod 644 "$RUN/$1.conf"
}
conf fs "StoreDir = $RUN/store"
conf s3 "Backend = s3
Endpoint = $S3_ENDPOINT
Bucket = bench
CredentialsFile = $RUN/creds
SpoolDir = $RUN/spool"
wait_sock() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$1" ]
}
smtp-sink -u postfix 127.0.0.1:$P_SINK 1000 > "$RUN/sink.log" 2>&1 &
SINK_PID=$!
"$MILTER" -f -c "$RUN/fs.conf" > "$RUN/fs.log" 2>&1 &
FS_PID=$!
"$MILTER" -f -c "$RUN/s3.conf" > "$RUN/s3.log" 2>&1 &
S3_PID=$!
wait_sock "$RUN/fs.sock" && wait_sock "$RUN/s3.sock" ||
	{ echo "bench_s3: a milter did not start" >&2; cat "$RUN/fs.log" "$RUN/s3.log" >&2; exit 1; }
relay_postfix_start bench_s3 mx.example.org example.org "$P_SINK" <<EOF || exit 1
127.0.0.1:$P_NONE inet n - n - - smtpd
127.0.0.1:$P_FS inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/fs.sock
127.0.0.1:$P_S3M inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/s3.sock
EOF
for p in $P_SINK $P_NONE $P_FS $P_S3M; do
	wait_port $p || { echo "bench_s3: port $p not listening" >&2; exit 1; }
done
drain() { queue_drain bench_s3; }
elapsed() {  # elapsed PORT COUNT SIZE SESSIONS -> seconds
	t0=$(date +%s.%N)
	smtp-source -s "$4" -m "$2" -l "$3" -f alice@example.org \
		-t bob@example.net "127.0.0.1:$1" > "$RUN/source.log" 2>&1 ||
		{ echo "bench_s3: smtp-source failed on port $1" >&2; return 1; }
	t1=$(date +%s.%N)
	drain || return 1
	python3 -c "print('%.6f' % ($t1 - $t0))"
}
add() { python3 -c "print('%.6f' % ($1 + $2))"; }
for p in $P_NONE $P_FS $P_S3M; do elapsed $p 50 10240 10 > /dev/null || exit 1; done
ROUNDS=4
ORDER="$P_NONE $P_FS $P_S3M"
for p in $ORDER; do eval "ts_$p=0 tb_$p=0"; done
r=0
while [ $r -lt $ROUNDS ]; do
	for p in $ORDER; do
		t=$(elapsed $p $((N_SMALL / ROUNDS)) 10240 10) || exit 1
		eval "ts_$p=\$(add \$ts_$p $t)"
	done
	for p in $ORDER; do
		t=$(elapsed $p $((N_BIG / ROUNDS)) 1048576 10) || exit 1
		eval "tb_$p=\$(add \$tb_$p $t)"
	done
	set -- $ORDER; ORDER="$2 $3 $1"
	r=$((r + 1))
done
N_SMALL=$((N_SMALL / ROUNDS * ROUNDS))
N_BIG=$((N_BIG / ROUNDS * ROUNDS))
hwm0=$(awk '/^VmHWM/ {print $2}' /proc/$S3_PID/status)
t20=$(elapsed $P_S3M 20 20971520 20) || exit 1
hwm=$(awk '/^VmHWM/ {print $2}' /proc/$S3_PID/status)
sealed_s3=$(grep -c "pulled:" "$RUN/s3.log")
failed_s3=$(grep -c "OnError" "$RUN/s3.log")

# The retriever: one message of a page and a 10 MiB attachment in each store.
SEAL=$RUN/seal-fixture
${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" $(pkg-config --cflags glib-2.0 libsodium) \
	-o "$SEAL" "$TOP/tests/integration/web/seal-fixture.c" "$LIB" \
	$(pkg-config --libs gmime-3.0 libsodium glib-2.0 libxml-2.0 libcurl) 2> "$RUN/seal.log" ||
	{ cat "$RUN/seal.log" >&2; exit 1; }
python3 - "$RUN/big.eml" <<'EOP'
import os, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.org"; m["To"] = "bob@example.net"; m["Subject"] = "bench"
m.set_content("A page and a 10 MiB attachment.\n")
m.add_attachment(os.urandom(10 << 20), maintype="application", subtype="octet-stream", filename="big.bin")
open(sys.argv[1], "wb").write(bytes(m))
EOP
web_rows() {  # web_rows NAME -> "page_ms part_ms"
	set -- $("$SEAL" "$RUN/$1.conf" "$RUN/big.eml")
	tok=$1
	python3 - "$RUN/web.sock" "$tok" <<'EOP'
import socket, struct, sys, time
sock, tok = sys.argv[1:3]
def fcgi(uri):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    def rec(t, c): return struct.pack("!BBHHBx", 1, t, 1, len(c), 0) + c
    def nv(k, v):
        k, v = k.encode(), v.encode()
        return bytes([len(k)]) + (bytes([len(v)]) if len(v) < 128 else struct.pack("!I", len(v) | 0x80000000)) + k + v
    p = b"".join(nv(k, v) for k, v in (("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri),
        ("SCRIPT_NAME", ""), ("QUERY_STRING", ""), ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"), ("HTTPS", ""), ("REMOTE_ADDR", "127.0.0.1")))
    s.sendall(rec(1, struct.pack("!HB5x", 1, 0)) + rec(4, p) + rec(4, b"") + rec(5, b""))
    n = 0
    while True:
        h = s.recv(8, socket.MSG_WAITALL)
        if len(h) < 8: break
        _, t, _, cl, pl = struct.unpack("!BBHHBx", h)
        body = b""
        while len(body) < cl + pl:
            body += s.recv(cl + pl - len(body))
        if t == 6: n += cl
        if t == 3: break
    s.close()
    return n
out = []
for uri, reps in (("/m/%s" % tok, 20), ("/m/%s/part/1" % tok, 5)):
    fcgi(uri)
    t0 = time.time()
    for _ in range(reps): n = fcgi(uri)
    out.append("%.1f:%d" % (1000 * (time.time() - t0) / reps, n))
print(" ".join(out))
EOP
}
web_for() {  # web_for NAME -> rows
	rm -f "$RUN/web.sock"
	PULLMAIL_CONFIG=$RUN/$1.conf spawn-fcgi -s "$RUN/web.sock" -M 0666 -P "$RUN/web.pid" \
	    -- "$WEB" > "$RUN/spawn.log" 2>&1
	wait_sock "$RUN/web.sock"
	web_rows "$1"
	stop_pid "$(cat "$RUN/web.pid")"
}
w_fs=$(web_for fs)
w_s3=$(web_for s3)

eval "s0=\$ts_$P_NONE s1=\$ts_$P_FS s2=\$ts_$P_S3M b0=\$tb_$P_NONE b1=\$tb_$P_FS b2=\$tb_$P_S3M"
python3 - "$N_SMALL" "$N_BIG" "$s0" "$s1" "$s2" "$b0" "$b1" "$b2" "$hwm0" "$hwm" "$t20" \
	"$sealed_s3" "$failed_s3" "$w_fs" "$w_s3" <<'EOF'
import sys
ns, nb = int(sys.argv[1]), int(sys.argv[2])
ts = [float(x) for x in sys.argv[3:6]]
tb = [float(x) for x in sys.argv[6:9]]
hwm0, hwm, t20 = int(sys.argv[9]), int(sys.argv[10]), float(sys.argv[11])
sealed, failed = int(sys.argv[12]), int(sys.argv[13])
w = [[x.split(":") for x in a.split()] for a in sys.argv[14:16]]
print("s3 backend benchmark: Ceph RGW 16.2 (memstore) on this machine, Postfix -> smtp-sink, smtp-source -s 10")
print("messages: %d x 10 KiB and %d x 1 MiB per configuration, 4 rounds taking turns; 2 CPUs shared with radosgw, ceph-osd and other work" % (ns, nb))
print("%-22s %12s %9s %9s %12s %9s %9s" % ("configuration", "10 KiB msg/s", "/none", "/fs", "1 MiB msg/s", "/none", "/fs"))
for name, i in (("no milter", 0), ("pullmail-milter fs", 1), ("pullmail-milter s3", 2)):
    s, b = ns / ts[i], nb / tb[i]
    print("%-22s %12.1f %9.2f %9.2f %12.1f %9.2f %9.2f" % (name, s, ts[0] / ts[i], ts[1] / ts[i], b, tb[0] / tb[i], tb[1] / tb[i]))
print("target: s3 >= 0.50 x fs at 10 KiB")
print("20 x 20 MiB in flight through the s3 milter: %.1f s, %d messages sealed in all, %d OnError; peak RSS (VmHWM) %.1f MiB (before: %.1f MiB; target < 128 MiB)" % (t20, sealed, failed, hwm / 1024.0, hwm0 / 1024.0))
print("%-22s %16s %22s" % ("pullmail-web FastCGI", "page ms (bytes)", "10 MiB part ms (bytes)"))
for name, r in (("fs", w[0]), ("s3", w[1])):
    print("%-22s %8s (%s) %12s (%s)" % (name, r[0][0], r[0][1], r[1][0], r[1][1]))
EOF
