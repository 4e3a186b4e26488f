#!/bin/sh
# pullmail-web behind a real nginx on loopback (port 18081), with
# contrib/nginx/pullmail.conf included in the private nginx.conf:
# A) FastCGI: pullmail-web started by spawn-fcgi on a unix socket;
# B) CGI: the same binary run per request by fcgiwrap (port 18082).
# For each: the page, an attachment byte-identical to the decoded part
# (decoded independently by Python), the .eml byte-identical to what was
# sealed, 404 and 410; then the upstream down, dying or failing in each
# variant, and no token in any log nginx wrote. Ends with "N passed, N
# failed".
NAME=nginx
. tests/integration/web/common.sh

P_FCGI=18081
P_CGI=18082
SAMPLE=$TOP/tests/data/web_sample.eml
seal "$SAMPLE"; T_LIVE=$TOKEN; S_LIVE=$SID
seal "$SAMPLE" expired; T_EXP=$TOKEN
seal "$SAMPLE" revoked; T_REV=$TOKEN
check "three objects sealed" '[ ${#T_LIVE} = 43 ] && [ ${#T_EXP} = 43 ] && [ ${#T_REV} = 43 ]'
T_NONE=$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
# Attachment: leaf 3 of the sample is the PDF (text, html, chart, pdf, photo).
decoded_part "$SAMPLE" 3 "$RUN/expected-part3"

# run_cases PORT LABEL
run_cases() {
	base=http://127.0.0.1:$1/m
	l=$2
	code=$(curl -s -o "$RUN/page.html" -D "$RUN/page.h" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: page 200" '[ "$code" = 200 ]'
	check "$l: page shows the decoded subject" 'grep -q "Relatório trimestral — números de novembro" "$RUN/page.html"'
	check "$l: page lists the attachment" 'grep -q "relatório final.pdf" "$RUN/page.html"'
	code=$(curl -s -o "$RUN/page2.html" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: the page again, byte-identical" '[ "$code" = 200 ] && cmp -s "$RUN/page.html" "$RUN/page2.html"'
	check "$l: page headers" 'grep -qi "^cache-control: no-store" "$RUN/page.h" &&
	    grep -qi "^referrer-policy: no-referrer" "$RUN/page.h" &&
	    grep -qi "^x-content-type-options: nosniff" "$RUN/page.h" &&
	    grep -qi "^x-robots-tag: noindex" "$RUN/page.h" &&
	    grep -qi "^content-security-policy: default-src .none.; style-src .sha256-" "$RUN/page.h"'
	code=$(curl -s -o "$RUN/html.html" -D "$RUN/html.h" -w '%{http_code}' "$base/$T_LIVE/html")
	check "$l: html 200 with the sandbox CSP" '[ "$code" = 200 ] && grep -qi "^content-security-policy: sandbox" "$RUN/html.h"'
	check "$l: html cid rewritten" 'grep -q "src=\"part/2\"" "$RUN/html.html"'
	code=$(curl -s -o "$RUN/part3" -D "$RUN/part3.h" -w '%{http_code}' "$base/$T_LIVE/part/3")
	check "$l: attachment 200 as a download" '[ "$code" = 200 ] && grep -qi "^content-disposition: attachment; filename=\"relat_rio final.pdf\"; filename\*=UTF-8'"''"'relat%C3%B3rio%20final.pdf" "$RUN/part3.h" && grep -qi "^content-type: application/octet-stream" "$RUN/part3.h"'
	check "$l: attachment byte-identical to the decoded part" 'cmp -s "$RUN/part3" "$RUN/expected-part3"'
	code=$(curl -s -o "$RUN/orig.eml" -D "$RUN/eml.h" -w '%{http_code}' "$base/$T_LIVE/eml")
	check "$l: eml 200 message/rfc822" '[ "$code" = 200 ] && grep -qi "^content-type: message/rfc822" "$RUN/eml.h"'
	check "$l: eml byte-identical to what was sealed" 'cmp -s "$RUN/orig.eml" "$SAMPLE"'
	code=$(curl -s -o "$RUN/e.html" -w '%{http_code}' "$base/$T_NONE")
	check "$l: unknown token 404, not echoed" '[ "$code" = 404 ] && ! grep -q "$T_NONE" "$RUN/e.html"'
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base/not-a-token")
	check "$l: malformed token 404" '[ "$code" = 404 ]'
	code=$(curl -s -o "$RUN/e.html" -w '%{http_code}' "$base/$T_EXP")
	check "$l: expired 410" '[ "$code" = 410 ] && ! grep -q "$T_EXP" "$RUN/e.html"'
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base/$T_REV/eml")
	check "$l: revoked 410" '[ "$code" = 410 ]'
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/$T_LIVE/keep")
	check "$l: keep without Origin 403" '[ "$code" = 403 ]'
	code=$(curl -s -o "$RUN/kept.html" -w '%{http_code}' -X POST -H "Origin: http://127.0.0.1:$1" "$base/$T_LIVE/keep")
	check "$l: keep from this host 200" '[ "$code" = 200 ] && grep -q "kept longer" "$RUN/kept.html"'
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$base/$T_LIVE")
	check "$l: PUT 405" '[ "$code" = 405 ]'
}

# A: FastCGI on a unix socket through spawn-fcgi.
sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/pullmail-fcgi.conf"
# A short upstream timeout, for the upstream that never answers below.
write_nginx $P_FCGI "$RUN/pullmail-fcgi.conf" "fastcgi_read_timeout 5s;"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$RUN/nginx/nginx.conf"
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web.sock" \
    -M 0660 -P "$RUN/web.pid" -- "$WEB" > "$RUN/spawn.log" 2>&1
check "spawn-fcgi started pullmail-web" '[ -S "$RUN/web.sock" ]'
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx-start.log"
i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "nginx (FastCGI) started" '[ -s "$RUN/nginx.pid" ]' || cat "$RUN/nginx-start.log"
run_cases $P_FCGI fastcgi
check "fastcgi: no token in the nginx error log" '! grep -q "$T_LIVE" "$RUN/nginx/logs/error.log"'
check "fastcgi: access log off for /m/" '! grep -q "/m/" "$RUN/nginx/logs/access.log"'
# How the responder ends a request, spoken to directly on its socket (one
# responder): it closes at once after a GET instead of waiting for the web
# server to close first, and still answers a refused body in full.
timeout 120 python3 "$TOP/tests/integration/web/fcgi_close.py" "$RUN/web.sock" \
    "$T_LIVE" 127.0.0.1 $P_FCGI > "$RUN/fcgi-close.out" 2>&1
close_rc=$?
relay_tap "$RUN/fcgi-close.out" "fastcgi close: "
[ $close_rc = 0 ] && grep -q "^ok - the responder still answers" "$RUN/fcgi-close.out" ||
	fail "fastcgi close: the client script ran to its end (exit $close_rc)"

# Valgrind cannot run a binary built with AddressSanitizer: under SANITIZE
# the sanitizers themselves check every request above, and the valgrind
# run happens in the plain build (make check without SANITIZE).
if [ -z "${SANITIZE:-}" ]; then
# The same FastCGI responder under valgrind: 1,000 requests over every
# route and error, then no leak and no error. pullmail-web hands a FastCGI
# socket to pullmail-web-render by exec, where valgrind would not follow:
# it runs the responder itself.
stop_pid "$(cat "$RUN/web.pid")"
rm -f "$RUN/web.sock" "$RUN/web.pid"
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web.sock" \
    -M 0660 -P "$RUN/web.pid" -- /usr/bin/valgrind --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --log-file="$RUN/valgrind.log" "$WEB-render" > "$RUN/spawn-vg.log" 2>&1
i=0; while ! [ -S "$RUN/web.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 1
base=http://127.0.0.1:$P_FCGI/m
count=0
while [ $count -lt 1000 ]; do
	for r in "$T_LIVE" "$T_LIVE/" "$T_LIVE/html" "$T_LIVE/html?images=1" \
	    "$T_LIVE/part/2" "$T_LIVE/part/3?download=1" "$T_LIVE/eml" \
	    "$T_LIVE/part/99" "$T_NONE" "$T_EXP" "$T_REV/eml" "bad"; do
		curl -s -o /dev/null "$base/$r"
		count=$((count + 1))
	done
	curl -s -o /dev/null -X POST -H "Origin: http://127.0.0.1:$P_FCGI" "$base/$T_LIVE/keep"
	curl -s -o /dev/null -X POST "$base/$T_LIVE/keep"
	curl -s -o /dev/null -X DELETE "$base/$T_LIVE"
	count=$((count + 3))
done
stop_pid "$(cat "$RUN/web.pid")"
sleep 1
check "valgrind: $count FastCGI requests, no leak" 'grep -q "definitely lost: 0 bytes" "$RUN/valgrind.log" && grep -q "indirectly lost: 0 bytes" "$RUN/valgrind.log"'
check "valgrind: no error" 'grep -q "ERROR SUMMARY: 0 errors" "$RUN/valgrind.log"' || tail -30 "$RUN/valgrind.log"
else
	echo "note - valgrind run left out: this build uses -fsanitize=$SANITIZE (the plain make check runs it)"
fi
# The upstream failing: nginx logs each failure with the request line, so
# the shipped location must keep every such line out of every log. The
# responder gone (socket missing: logged at crit; socket left with nobody
# listening: at error), dying mid-request, answering garbage, half an
# answer, or none in time: nginx answers 502 or 504, and nothing under its
# log directory holds the token.
[ -s "$RUN/web.pid" ] && stop_pid "$(cat "$RUN/web.pid")"
rm -f "$RUN/web.pid" "$RUN/web.sock"
# upstream_fails PORT LABEL: one request, answered 502 or 504 by nginx.
upstream_fails() {
	code=$(curl -s -m 30 -o "$RUN/e.html" -w '%{http_code}' "http://127.0.0.1:$1/m/$T_LIVE/part/3?download=1")
	check "upstream $2: nginx answers $code, without the token" '{ [ "$code" = 502 ] || [ "$code" = 504 ]; } && ! grep -q "$T_LIVE" "$RUN/e.html"'
}
# fake_upstream SOCKET MODE: fake_fcgi.py listening on SOCKET.
fake_upstream() {
	rm -f "$1"
	python3 "$TOP/tests/integration/web/fake_fcgi.py" "$1" "$2" > "$RUN/fake.log" 2>&1 &
	echo $! > "$RUN/fake.pid"
	i=0; while ! [ -S "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
}
stop_fake() {
	stop_pid "$(cat "$RUN/fake.pid")"
	rm -f "$RUN/fake.pid" "$1"
}
upstream_fails $P_FCGI "fastcgi, socket missing"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$RUN/web.sock"
upstream_fails $P_FCGI "fastcgi, nobody listening"
for mode in close garbage half hang; do
	fake_upstream "$RUN/web.sock" $mode
	upstream_fails $P_FCGI "fastcgi, $mode"
	stop_fake "$RUN/web.sock"
done
check "fastcgi: nginx logged the failures somewhere (its error log exists)" '[ -f "$RUN/nginx/logs/error.log" ]'
verify_no_token() {
	for t in "$T_LIVE" "$T_EXP" "$T_REV" "$T_NONE"; do
		grep -rqF -- "$t" "$RUN/nginx/logs" && return 1
	done
	return 0
}
check "fastcgi: no token in any nginx log after the upstream failures" 'verify_no_token' ||
	grep -rh "/m/" "$RUN/nginx/logs" | head -5
stop_pid "$(cat "$RUN/nginx.pid")"
rm -f "$RUN/nginx.pid"

# B: CGI through fcgiwrap, the contrib variant B uncommented.
sed -n '/^# B:/,$p' "$TOP/contrib/nginx/pullmail.conf" | sed -e 's/^#//' \
    -e "s|unix:/run/fcgiwrap.socket|unix:$RUN/fcgiwrap.sock|" \
    -e "s|/usr/local/sbin/pullmail-web|$WEB|" \
    -e "s|/etc/pullmail/pullmail.conf|$CONF|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    | grep -v '^ B:' > "$RUN/pullmail-cgi.conf"
write_nginx $P_CGI "$RUN/pullmail-cgi.conf"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$RUN/nginx/nginx.conf"
spawn-fcgi -s "$RUN/fcgiwrap.sock" -M 0660 -P "$RUN/fcgiwrap.pid" -- \
    /usr/sbin/fcgiwrap -c 2 > "$RUN/spawn-wrap.log" 2>&1
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx-start.log"
i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "nginx (fcgiwrap) started" '[ -s "$RUN/nginx.pid" ]' || cat "$RUN/nginx-start.log"
rm -rf "$RUN/pages"
run_cases $P_CGI cgi
check "cgi: the page was kept in PageCacheDir (one entry of its object)" '[ "$(ls "$RUN/pages" | grep -c "^$S_LIVE\.")" = 1 ]'
# fcgiwrap gone, then a FastCGI server in its place that fails.
stop_pid "$(cat "$RUN/fcgiwrap.pid")"
rm -f "$RUN/fcgiwrap.pid" "$RUN/fcgiwrap.sock"
upstream_fails $P_CGI "cgi, fcgiwrap gone"
for mode in close half; do
	fake_upstream "$RUN/fcgiwrap.sock" $mode
	upstream_fails $P_CGI "cgi, $mode"
	stop_fake "$RUN/fcgiwrap.sock"
done
check "cgi: no token in any nginx log after the upstream failures" 'verify_no_token' ||
	grep -rh "/m/" "$RUN/nginx/logs" | head -5
finish
