#!/bin/sh
# make bench, web part: wrk against a private nginx on 127.0.0.1:18090
# (18091 for CGI, 18092 for FastCGI with the page cache off), side by side
# in one run: a static 50 KiB file; the page of a stored 50 KiB message
# (text + HTML + one attachment) through pullmail-web as FastCGI, as
# configured by default (the responder's page cache on, so after the first
# request it is served from there); the same page with PageCache = 0
# (parsed and rendered every time); the same page through fcgiwrap (CGI,
# with [web] PageCacheDir as the tests set it, so after the first request
# pullmail-web answers the page kept there without starting its renderer);
# the same with PageCache = 0 (port 18093: the renderer every time); the
# FastCGI page once more with [web] RecordReads = no (port 18094: the
# page's fetches not counted in the store, which the default configuration
# does, so that the cost of the read state is measured in the same run); a
# trivial CGI program through the same fcgiwrap; a 10 MiB attachment
# download. 10 s each, in
# two runs of 5 s (the second pass in the reverse order), 2 threads, 16
# connections. Prints req/s, p99 and MB/s with the targets.
# Two more rows are the floors the targets sit on: a FastCGI responder that
# does no work (bench/null_fcgi.c, answering a page of the same size) and
# the same program as CGI, linked with pullmail-web's libraries, both
# through the same nginx; a target above its floor cannot be met by any
# responder on this machine.
# The machine is shared: figures are noisy while others build (the load
# average is printed before and after).
NAME=bench
. tests/integration/web/common.sh
DUR=${BENCH_WEB_SECONDS:-10}
PORT=18090

python3 - "$RUN" <<'EOP'
import sys, os
from email.message import EmailMessage
run = sys.argv[1]
def msg(att_size, text_size):
    m = EmailMessage()
    m['From'] = 'Bench <bench@example.com>'; m['To'] = 'r@example.org'
    m['Subject'] = 'benchmark'; m['Date'] = 'Sun, 22 Nov 2026 11:47:00 +0000'
    m.set_content(('lorem ipsum dolor sit amet https://example.org/x\n' * (text_size // 50)))
    m.add_alternative('<p>' + ('lorem <b>ipsum</b> dolor ' * (text_size // 25)) + '</p>', subtype='html')
    m.add_attachment(os.urandom(att_size), maintype='application', subtype='octet-stream', filename='data.bin')
    return bytes(m)
# 8 KiB of text, 8 KiB of HTML and a 24.5 KiB attachment: 50 KiB stored.
open(run + '/m50k.eml', 'wb').write(msg(25088, 8 * 1024))
open(run + '/m10m.eml', 'wb').write(msg(10 * 1024 * 1024, 100))
open(run + '/static50k', 'wb').write(os.urandom(50 * 1024))
EOP
seal "$RUN/m50k.eml"; T50=$TOKEN
seal "$RUN/m10m.eml"; T10=$TOKEN
echo "size of the 50 KiB message: $(wc -c < "$RUN/m50k.eml") bytes"

# The same program linked with every library pullmail-web links (kept
# even though unused) is the floor of the CGI row: starting such a program.
if ! ${CC:-cc} -O2 -o "$RUN/null_fcgi" "$TOP/bench/null_fcgi.c" -lfcgi \
    2> "$RUN/null-build.log" ||
    ! ${CC:-cc} -O2 -pie -fPIE -Wl,-z,relro,-z,now -o "$RUN/null_cgi_linked" \
    "$TOP/bench/null_fcgi.c" -Wl,--no-as-needed \
    $(pkg-config --libs glib-2.0 gmime-3.0 libsodium libxml-2.0 libcurl) -lfcgi \
    2>> "$RUN/null-build.log"; then
	fail "the null FastCGI responder builds"
	cat "$RUN/null-build.log"
	finish
fi

mkdir -p "$RUN/nginx/www/static" "$RUN/cgi"
cp "$RUN/static50k" "$RUN/nginx/www/static/50k.bin"
printf '#!/bin/sh\nprintf "Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello\\n"\n' > "$RUN/cgi/trivial"
chmod 755 "$RUN/cgi/trivial"
sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    -e "s|access_log off;|access_log off;|" \
    -e "s|limit_req zone=pullmail burst=20 nodelay;||" \
    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/pullmail-fcgi.conf"
cat >> "$RUN/pullmail-fcgi.conf" <<EOC
location = /trivial {
	access_log off;
	fastcgi_pass unix:$RUN/fcgiwrap.sock;
	include /etc/nginx/fastcgi_params;
	fastcgi_param SCRIPT_FILENAME $RUN/cgi/trivial;
}
location = /trivial-linked {
	access_log off;
	fastcgi_pass unix:$RUN/fcgiwrap.sock;
	include /etc/nginx/fastcgi_params;
	fastcgi_param SCRIPT_FILENAME $RUN/null_cgi_linked;
}
location /static/ { access_log off; }
location = /null-fcgi {
	access_log off;
	fastcgi_pass unix:$RUN/null.sock;
	include /etc/nginx/fastcgi_params;
}
EOC
# The CGI variant (contrib's B) on a second port of the same nginx.
sed -n '/^# B:/,$p' "$TOP/contrib/nginx/pullmail.conf" | sed -e 's/^#//' \
    -e "s|unix:/run/fcgiwrap.socket|unix:$RUN/fcgiwrap.sock|" \
    -e "s|/usr/local/sbin/pullmail-web|$WEB|" \
    -e "s|/etc/pullmail/pullmail.conf|$CONF|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    -e "s|limit_req zone=pullmail burst=20 nodelay;||" \
    | grep -v '^ B:' > "$RUN/pullmail-cgi.conf"
# The FastCGI variant once more on a third port, to responders whose page
# cache is off ([web] PageCache = 0): every request parses and renders.
sed -n '1,/^# B:/p' "$RUN/pullmail-fcgi.conf" |
    sed -e "s|unix:$RUN/web.sock|unix:$RUN/web-nocache.sock|" > "$RUN/pullmail-nocache.conf"
sed 's/^\[web\]$/[web]\nPageCache = 0/' "$CONF" > "$RUN/nocache.conf"
# And the CGI variant to the renderer every time (PageCache = 0 keeps
# nothing on disk either).
sed "s|$CONF|$RUN/nocache.conf|" "$RUN/pullmail-cgi.conf" > "$RUN/pullmail-cgi-nocache.conf"
# FastCGI with the page cache, as configured by default, but no read state.
sed -n '1,/^# B:/p' "$RUN/pullmail-fcgi.conf" |
    sed -e "s|unix:$RUN/web.sock|unix:$RUN/web-norec.sock|" > "$RUN/pullmail-norec.conf"
sed 's/^\[web\]$/[web]\nRecordReads = no/' "$CONF" > "$RUN/norec.conf"
write_nginx $PORT "$RUN/pullmail-fcgi.conf"
python3 - "$RUN/nginx/nginx.conf" "$RUN/pullmail-cgi.conf" $((PORT + 1)) \
    "$RUN/pullmail-nocache.conf" $((PORT + 2)) \
    "$RUN/pullmail-cgi-nocache.conf" $((PORT + 3)) \
    "$RUN/pullmail-norec.conf" $((PORT + 4)) <<'EOP'
import sys
p = sys.argv[1]
s = open(p).read().rstrip()
assert s.endswith('}')
s = s[:-1]
for snip, port in zip(sys.argv[2::2], sys.argv[3::2]):
    s += '\tserver {\n\t\tlisten 127.0.0.1:%s;\n\t\tinclude %s;\n\t}\n' % (port, snip)
open(p, 'w').write(s + '}\n')
EOP
sed -i "s|worker_processes 1;|worker_processes 2;|" "$RUN/nginx/nginx.conf"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$RUN/nginx/nginx.conf"
# -w auto: one responder per processor on the one socket, as
# pullmail-web.service starts it; spawn-fcgi names the supervisor's PID,
# which stops its responders. The null responder gets as many processes.
NCPU=$(getconf _NPROCESSORS_ONLN)
PULLMAIL_CONFIG=$CONF spawn-fcgi -s "$RUN/web.sock" -M 0660 \
    -- "$WEB" -w auto > "$RUN/spawn.log" 2>&1
PIDS="$PIDS $(sed -n 's/.*PID: \([0-9]*\).*/\1/p' "$RUN/spawn.log" | tr '\n' ' ')"
PULLMAIL_CONFIG=$RUN/nocache.conf spawn-fcgi -s "$RUN/web-nocache.sock" \
    -M 0660 -- "$WEB" -w auto > "$RUN/spawn-nocache.log" 2>&1
PIDS="$PIDS $(sed -n 's/.*PID: \([0-9]*\).*/\1/p' "$RUN/spawn-nocache.log" | tr '\n' ' ')"
PULLMAIL_CONFIG=$RUN/norec.conf spawn-fcgi -s "$RUN/web-norec.sock" \
    -M 0660 -- "$WEB" -w auto > "$RUN/spawn-norec.log" 2>&1
PIDS="$PIDS $(sed -n 's/.*PID: \([0-9]*\).*/\1/p' "$RUN/spawn-norec.log" | tr '\n' ' ')"
spawn-fcgi -s "$RUN/fcgiwrap.sock" -M 0660 -P "$RUN/fcgiwrap.pid" -- \
    /usr/sbin/fcgiwrap -c 4 > /dev/null 2>&1
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf"
sleep 0.5
base=http://127.0.0.1:$PORT
cbase=http://127.0.0.1:$((PORT + 1))
for u in /static/50k.bin "/m/$T50" /trivial /trivial-linked "/m/$T10/part/2"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base$u")
	[ "$code" = 200 ] || { fail "GET ${u%%/m/*} answers 200 (got $code)"; finish; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$cbase/m/$T50")
[ "$code" = 200 ] || { fail "CGI page answers 200 (got $code)"; finish; }
nbase=http://127.0.0.1:$((PORT + 2))
code=$(curl -s -o /dev/null -w '%{http_code}' "$nbase/m/$T50")
[ "$code" = 200 ] || { fail "page without cache answers 200 (got $code)"; finish; }
rbase=http://127.0.0.1:$((PORT + 3))
code=$(curl -s -o /dev/null -w '%{http_code}' "$rbase/m/$T50")
[ "$code" = 200 ] || { fail "CGI page without PageCacheDir answers 200 (got $code)"; finish; }
xbase=http://127.0.0.1:$((PORT + 4))
code=$(curl -s -o /dev/null -w '%{http_code}' "$xbase/m/$T50")
[ "$code" = 200 ] || { fail "page without the read state answers 200 (got $code)"; finish; }
PAGE_BYTES=$(curl -s "$base/m/$T50" | wc -c)
# The cached page is the page: the same bytes as one rendered afresh.
if [ "$(curl -s "$base/m/$T50" | sha256sum)" != "$(curl -s "$nbase/m/$T50" | sha256sum)" ]; then
	fail "the cached page is the page rendered afresh"
	finish
fi
# As CGI: the page kept on disk, served by pullmail-web alone, is the
# renderer's (the status line aside, FastCGI and CGI answer alike).
curl -s "$cbase/m/$T50" > /dev/null
if [ "$(curl -s "$cbase/m/$T50" | sha256sum)" != "$(curl -s "$rbase/m/$T50" | sha256sum)" ] ||
    [ "$(ls "$RUN/pages" | wc -l)" != 1 ]; then
	fail "the CGI page kept in PageCacheDir is the page rendered afresh"
	finish
fi
spawn-fcgi -s "$RUN/null.sock" -M 0660 -F "$NCPU" -- "$RUN/null_fcgi" \
    "$PAGE_BYTES" > "$RUN/null-spawn.log" 2>&1
PIDS="$PIDS $(sed -n 's/.*PID: \([0-9]*\).*/\1/p' "$RUN/null-spawn.log" | tr '\n' ' ')"
sleep 0.2
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/null-fcgi")
[ "$code" = 200 ] || { fail "null FastCGI responder answers 200 (got $code)"; finish; }
echo "page: $PAGE_BYTES bytes; $NCPU processors; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL URL [BASE]: one wrk run of DUR / 2 seconds; its "req/s p99_ms
# MB/s" line is added to res-LABEL.
run() {
	wrk -t2 -c16 -d"$((DUR / 2))s" --latency "${3:-$base}$2" > "$RUN/wrk-$1.txt" 2>&1
	python3 - "$RUN/wrk-$1.txt" >> "$RUN/res-$1" <<'EOP'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
m = re.search(r'99%\s+([\d.]+)(us|ms|s)', t)
p99 = float(m.group(1)) * {'us': 0.001, 'ms': 1, 's': 1000}[m.group(2)]
m = re.search(r'Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)', t)
mbs = float(m.group(1)) * {'B': 1e-6, 'KB': 1.024e-3, 'MB': 1.048576, 'GB': 1073.741824}[m.group(2)]
print(f"{rps:.0f} {p99:.2f} {mbs:.1f}")
EOP
}
# result LABEL -> "req/s p99_ms MB/s": the mean rate of its runs (they
# last as long as each other), the worst p99.
result() {
	awk '{ r += $1; m += $3; if ($2 > p) p = $2; n++ }
	    END { printf "%.0f %.2f %.1f\n", r / n, p, m / n }' "$RUN/res-$1"
}
# Every case twice, the second time in the reverse order, so that a drift
# of the machine's speed during the run (the static file's rate alone moved
# from 23,318 to 30,340 req/s between runs) weighs on all of them alike.
CASES="static|/static/50k.bin| null|/null-fcgi| fcgi|/m/$T50|
    norec|/m/$T50|$xbase nocache|/m/$T50|$nbase cgi|/m/$T50|$cbase cginocache|/m/$T50|$rbase
    trivial|/trivial|
    linked|/trivial-linked| big|/m/$T10/part/2|"
REVERSED=$(for c in $CASES; do echo "$c"; done | tac)
for c in $CASES $REVERSED; do
	IFS='|' read -r label url b <<EOC
$c
EOC
	run "$label" "$url" $b
done
set -- $(result static); S_RPS=$1; S_P99=$2; S_MB=$3
set -- $(result null); N_RPS=$1; N_P99=$2; N_MB=$3
set -- $(result fcgi); F_RPS=$1; F_P99=$2; F_MB=$3
set -- $(result nocache); U_RPS=$1; U_P99=$2; U_MB=$3
set -- $(result cgi); C_RPS=$1; C_P99=$2; C_MB=$3
set -- $(result cginocache); R_RPS=$1; R_P99=$2; R_MB=$3
set -- $(result trivial); V_RPS=$1; V_P99=$2; V_MB=$3
set -- $(result linked); L_RPS=$1; L_P99=$2; L_MB=$3
set -- $(result big); A_RPS=$1; A_P99=$2; A_MB=$3
set -- $(result norec); X_RPS=$1; X_P99=$2; X_MB=$3

printf '%-34s %10s %10s %10s\n' "case" "req/s" "p99 ms" "MB/s"
printf '%-34s %10s %10s %10s\n' "static 50 KiB (nginx)" $S_RPS $S_P99 $S_MB
printf '%-34s %10s %10s %10s\n' "null FastCGI responder, same size" $N_RPS $N_P99 $N_MB
printf '%-34s %10s %10s %10s\n' "page of 50 KiB message, FastCGI" $F_RPS $F_P99 $F_MB
printf '%-34s %10s %10s %10s\n' "same page, FastCGI, RecordReads=no" $X_RPS $X_P99 $X_MB
printf '%-34s %10s %10s %10s\n' "same page, FastCGI, PageCache = 0" $U_RPS $U_P99 $U_MB
printf '%-34s %10s %10s %10s\n' "same page, fcgiwrap CGI" $C_RPS $C_P99 $C_MB
printf '%-34s %10s %10s %10s\n' "same page, CGI, PageCache = 0" $R_RPS $R_P99 $R_MB
printf '%-34s %10s %10s %10s\n' "trivial CGI, fcgiwrap" $V_RPS $V_P99 $V_MB
printf '%-34s %10s %10s %10s\n' "null CGI, same libraries, fcgiwrap" $L_RPS $L_P99 $L_MB
printf '%-34s %10s %10s %10s\n' "10 MiB attachment, FastCGI" $A_RPS $A_P99 $A_MB
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - $S_RPS $F_RPS $F_P99 $C_RPS $V_RPS $A_MB $N_RPS $L_RPS $U_RPS $U_P99 $R_RPS $X_RPS <<'EOP'
import sys
s, f, fp99, c, v, a, n, l, u, up99, r, x = map(float, sys.argv[1:])
rows = [("FastCGI page >= 4000 req/s", f >= 4000, f"{f:.0f}"),
        ("page, reads recorded >= 0.9 x not", f >= 0.9 * x, f"{f / x:.2f}"),
        ("FastCGI page >= 0.35 x static", f >= 0.35 * s, f"{f / s:.2f}"),
        ("CGI page >= 0.7 x trivial CGI", c >= 0.7 * v, f"{c / v:.2f}"),
        ("10 MiB attachment >= 200 MB/s", a >= 200, f"{a:.0f}"),
        ("page p99 < 20 ms", fp99 < 20, f"{fp99:.2f}")]
for name, ok, val in rows:
    print(f"{name:36} {val:>8}  {'met' if ok else 'NOT met'}")
print()
print(f"page cache off (PageCache = 0, every request parsed and rendered): "
      f"{u:.0f} req/s, {u / s:.2f} x static, p99 {up99:.2f} ms")
print(f"floor: a FastCGI responder doing nothing gets {n:.0f} req/s "
      f"({n / s:.2f} x static); the page gets {f / n:.2f} of that")
if n < 4000 or n < 0.35 * s:
    print("       (below a FastCGI page target: no responder can meet it here)")
print(f"CGI with nothing kept (PageCache = 0, pullmail-web-render every "
      f"time): {r:.0f} req/s, {r / v:.2f} x trivial CGI")
print(f"floor of that: a CGI program doing nothing but linked like "
      f"pullmail-web-render gets {l / v:.2f} x trivial CGI")
EOP
echo "($(getconf _NPROCESSORS_ONLN) processors shared; other builds and tests may run at the same time)"
ok "benchmark ran"
finish
