#!/bin/sh
# inbound part of make bench: the receiving side's cost of fetching
# originals. A private Postfix (loopback, no chroot) relaying to smtp-sink
# gets the same trusted summary, with smtp-source -s 10 -F, on two smtpd
# ports taking turns: no milter, and pullmail-milter -i, which fetches the
# original (10 KiB, then 1 MiB) from pullmail-web (FastCGI, -w auto) behind nginx
# with TLS on loopback and delivers it in the summary's place. The DKIM
# verifier is left out (its cost is the same with or without pullmail): the
# summary carries the Authentication-Results a verifier would have added and
# the milter trusts that authserv-id. Three free loopback ports are picked
# at run time. PULLMAIL_BENCH_INBOUND_SCALE=N divides the counts by N.
O=${O:-.}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
TOP=$(pwd)
RUN=$O/run/bench_inbound
MILTER=$O/milter/pullmail-milter
WEB=$O/cgi/pullmail-web
LIB=$O/common/libpullmail.a
SCALE=${PULLMAIL_BENCH_INBOUND_SCALE:-1}
N_SMALL=$((400 / SCALE))
N_BIG=$((100 / SCALE))
ROUNDS=2
set -- $(python3 -c "
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))")
P_NONE=$1 P_SINK=$2 P_IN=$3 P_WEB=$4
[ -n "$P_WEB" ] || { echo "bench_inbound: no free ports" >&2; exit 1; }
for f in "$MILTER" "$WEB" "$LIB"; do
	[ -e "$f" ] || { echo "bench_inbound: $f not built (make O=$O all)" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
	echo "bench_inbound: needs root (a private Postfix master)" >&2
	exit 1
fi

SINK_PID= ; IN_PID= ; MASTER_PID=
. tests/lib/harness.sh     # stop_pid
cleanup() {
	stop_pid "$MASTER_PID"; stop_pid "$IN_PID"; stop_pid "$SINK_PID"
	for f in "$RUN"/*.pid; do [ -f "$f" ] && stop_pid "$(cat "$f")"; done
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM
rm -rf "$RUN"
mkdir -p "$RUN/pf/conf" "$RUN/pf/queue" "$RUN/pf/data" "$RUN/store" \
	"$RUN/nginx/logs" "$RUN/nginx/tmp" || exit 1
chmod 755 "$RUN"
chmod 750 "$RUN/store"
chown postfix "$RUN/pf/data"
PF_TOP=$TOP
. tests/lib/postfix.sh     # wait_port, postfix_daemons, make_ca
make_ca > "$RUN/ca.log" 2>&1 || { cat "$RUN/ca.log" >&2; exit 1; }

# The sender's side: two originals sealed into a store, served by
# pullmail-web behind nginx with TLS.
cat > "$RUN/sender.conf" <<EOF
[store]
StoreDir = $RUN/store
EOF
SEAL=$RUN/seal
${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
	$(pkg-config --cflags glib-2.0 libsodium) -o "$SEAL" \
	"$TOP/tests/integration/web/seal-fixture.c" "$LIB" \
	$(pkg-config --libs gmime-3.0 libsodium glib-2.0 libxml-2.0 libcurl) \
	2> "$RUN/seal.log" || { cat "$RUN/seal.log" >&2; exit 1; }
original() {
	python3 - "$1" "$2" <<'EOF'
import sys
size, path = int(sys.argv[1]), sys.argv[2]
head = ("From: <alice@bench.example>\nTo: <bob@b.example>\nSubject: original\n"
        "Date: Mon, 7 Dec 2026 00:00:00 +0000\nMessage-ID: <bench@bench.example>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
line = "x" * 75 + "\n"
body = line * ((size - len(head)) // len(line))
open(path, "w").write(head + body)
EOF
}
original 10240 "$RUN/small.eml"
original 1048576 "$RUN/big.eml"
T_SMALL=$("$SEAL" "$RUN/sender.conf" "$RUN/small.eml" | cut -d' ' -f1)
T_BIG=$("$SEAL" "$RUN/sender.conf" "$RUN/big.eml" | cut -d' ' -f1)
[ ${#T_SMALL} = 43 ] && [ ${#T_BIG} = 43 ] || { echo "bench_inbound: sealing failed" >&2; exit 1; }
# One responder per processor (-w auto), as pullmail-web.service starts
# it; the supervisor's PID stops its responders.
PULLMAIL_CONFIG=$RUN/sender.conf spawn-fcgi -s "$RUN/web.sock" -M 0660 \
	-P "$RUN/web.pid" -- "$WEB" -w auto > "$RUN/spawn.log" 2>&1 ||
	{ cat "$RUN/spawn.log" >&2; exit 1; }
cat > "$RUN/nginx/nginx.conf" <<EOF
user root;
daemon on;
worker_processes 2;
pid $RUN/nginx.pid;
error_log $RUN/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $RUN/nginx/tmp/body;
	fastcgi_temp_path $RUN/nginx/tmp/fastcgi;
	proxy_temp_path $RUN/nginx/tmp/proxy;
	uwsgi_temp_path $RUN/nginx/tmp/uwsgi;
	scgi_temp_path $RUN/nginx/tmp/scgi;
	server {
		listen 127.0.0.1:$P_WEB ssl;
		server_name localhost;
		ssl_certificate $RUN/tls/server.crt;
		ssl_certificate_key $RUN/tls/server.key;
		location /m/ {
			error_log /dev/null;
			fastcgi_pass unix:$RUN/web.sock;
			include /etc/nginx/fastcgi_params;
			fastcgi_param REQUEST_URI \$request_uri;
			fastcgi_buffers 16 64k;
		}
	}
}
EOF
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx.log" ||
	{ cat "$RUN/nginx.log" >&2; exit 1; }
ORIGIN=https://localhost:$P_WEB

# The receiving side.
cat > "$RUN/inbound.conf" <<EOF
[log]
Level = info

[milter]
UserID = root

[inbound]
Socket = unix:$RUN/in.sock
Trust = bench.example $ORIGIN allow-private
AuthservID = mx.b.example
CAFile = $RUN/tls/ca.crt
MaxSize = 2M
EOF
"$MILTER" -i -f -c "$RUN/inbound.conf" > "$RUN/in.log" 2>&1 &
IN_PID=$!
i=0; while [ ! -S "$RUN/in.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$RUN/in.sock" ] || { cat "$RUN/in.log" >&2; exit 1; }
chgrp postfix "$RUN/in.sock"; chmod 660 "$RUN/in.sock"
summary() {
	printf 'Authentication-Results: mx.b.example;\r\n\tdkim=pass header.d=bench.example header.b=QkVOQ0hi\r\n'
	printf 'DKIM-Signature: v=1; a=rsa-sha256; d=bench.example; s=s;\r\n\th=from:to:subject:x-pull-url:x-pull-url; bh=x; b=QkVOQ0hiZW5jaA==\r\n'
	printf 'From: <alice@bench.example>\r\nTo: <bob@b.example>\r\nSubject: summary\r\n'
	printf 'X-Pull-URL: %s/m/%s\r\n\r\nA summary.\r\n' "$ORIGIN" "$1"
}
summary "$T_SMALL" > "$RUN/sum-small.eml"
summary "$T_BIG" > "$RUN/sum-big.eml"

smtp-sink -u postfix 127.0.0.1:$P_SINK 1000 > "$RUN/sink.log" 2>&1 &
SINK_PID=$!
relay_postfix_start bench_inbound mx.b.example b.example "$P_SINK" <<EOF || exit 1
127.0.0.1:$P_NONE inet n - n - - smtpd
127.0.0.1:$P_IN inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/in.sock
EOF
for p in $P_SINK $P_NONE $P_IN $P_WEB; do
	wait_port $p || { echo "bench_inbound: port $p not listening" >&2; exit 1; }
done

drain() { queue_drain bench_inbound; }
# elapsed PORT COUNT FILE: seconds smtp-source took to hand the messages
# over (the queue is drained afterwards, untimed).
elapsed() {
	t0=$(date +%s.%N)
	smtp-source -s 10 -m "$2" -F "$3" -f alice@bench.example \
		-t bob@b.example "127.0.0.1:$1" > "$RUN/source.log" 2>&1 ||
		{ echo "bench_inbound: smtp-source failed on port $1" >&2; cat "$RUN/source.log" >&2; return 1; }
	t1=$(date +%s.%N)
	drain || return 1
	python3 -c "print('%.6f' % ($t1 - $t0))"
}
add() { python3 -c "print('%.6f' % ($1 + $2))"; }
fetched() { grep -c "original fetched" "$RUN/in.log"; }

# Warm-up, not timed.
elapsed $P_NONE 20 "$RUN/sum-small.eml" > /dev/null || exit 1
elapsed $P_IN 20 "$RUN/sum-small.eml" > /dev/null || exit 1
warm=$(fetched)
ts_n=0 ts_i=0 tb_n=0 tb_i=0
r=0
while [ $r -lt $ROUNDS ]; do
	t=$(elapsed $P_NONE $((N_SMALL / ROUNDS)) "$RUN/sum-small.eml") || exit 1
	ts_n=$(add $ts_n $t)
	t=$(elapsed $P_IN $((N_SMALL / ROUNDS)) "$RUN/sum-small.eml") || exit 1
	ts_i=$(add $ts_i $t)
	t=$(elapsed $P_IN $((N_BIG / ROUNDS)) "$RUN/sum-big.eml") || exit 1
	tb_i=$(add $tb_i $t)
	t=$(elapsed $P_NONE $((N_BIG / ROUNDS)) "$RUN/sum-big.eml") || exit 1
	tb_n=$(add $tb_n $t)
	r=$((r + 1))
done
N_SMALL=$((N_SMALL / ROUNDS * ROUNDS))
N_BIG=$((N_BIG / ROUNDS * ROUNDS))
got=$(($(fetched) - warm))
python3 - "$N_SMALL" "$N_BIG" "$ts_n" "$ts_i" "$tb_n" "$tb_i" "$got" <<'EOF'
import sys
ns, nb = int(sys.argv[1]), int(sys.argv[2])
ts_n, ts_i, tb_n, tb_i = map(float, sys.argv[3:7])
got = int(sys.argv[7])
s0, s1, b0, b1 = ns / ts_n, ns / ts_i, nb / tb_n, nb / tb_i
print("pullmail-milter -i benchmark: Postfix -> smtp-sink on loopback, smtp-source -s 10 -F (a trusted summary)")
print("originals fetched from pullmail-web (FastCGI, -w auto) behind nginx, TLS; "
      "%d x 10 KiB and %d x 1 MiB per configuration in 2 rounds; 2 CPUs shared, figures are noisy" % (ns, nb))
print("%-26s %14s %8s %14s %8s" % ("configuration", "10 KiB msg/s", "ratio", "1 MiB msg/s", "ratio"))
print("%-26s %14.1f %8.2f %14.1f %8.2f" % ("no milter (the summary)", s0, 1.0, b0, 1.0))
print("%-26s %14.1f %8.2f %14.1f %8.2f" % ("pullmail-milter -i", s1, s1 / s0, b1, b1 / b0))
print("originals fetched and delivered: %d (expected %d)" % (got, ns + nb))
sys.exit(0 if got == ns + nb else 1)
EOF
