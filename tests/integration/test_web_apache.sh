#!/bin/sh
# pullmail-web behind a private Apache 2.4 on loopback, configured from
# contrib/apache/pullmail.conf (only paths substituted), one virtual host
# per variant:
# A) FastCGI through mod_proxy_fcgi to pullmail-web on a unix socket,
#    started by spawn-fcgi (port 18100);
# B) CGI: the same binary run per request by mod_cgid (port 18101), then
#    again under the prefork MPM by mod_cgi (port 18102).
# For each: the page and its security headers, an attachment byte-identical
# to the decoded part (decoded independently by Python), the .eml
# byte-identical to what was sealed, 404, 410, 403/413/405, POST keep, odd
# requests; then no token in any log Apache or pullmail-web wrote. Ends with
# "N passed, N failed".
NAME=apache
# Run directly with SANITIZE (not through tests/run.sh): the seal helper
# must be built with the sanitizers libpullmail.a was built with.
if [ -n "${SANITIZE:-}" ]; then
	case " ${CC:-cc} " in
	*" -fsanitize="*) ;;
	*) CC="${CC:-cc} -fsanitize=$SANITIZE"; export CC ;;
	esac
fi
. tests/integration/web/common.sh
# check, returning non-zero when it failed (to print what went wrong).
verify() { f0=$failed; check "$1" "$2"; [ "$failed" = "$f0" ]; }

P_FCGI=18100
P_CGI=18101
P_CGI_PREFORK=18102
MODS=/usr/lib/apache2/modules
AP=$RUN/apache
SAMPLE=$TOP/tests/data/web_sample.eml
if ! command -v apache2 > /dev/null || ! [ -f "$MODS/mod_proxy_fcgi.so" ]; then
	fail "apache2 and its modules are installed (Debian package apache2)"
	finish
fi

seal "$SAMPLE"; T_LIVE=$TOKEN; S_LIVE=$SID
seal "$SAMPLE" expired; T_EXP=$TOKEN
seal "$SAMPLE" revoked; T_REV=$TOKEN
check "three objects sealed" '[ ${#T_LIVE} = 43 ] && [ ${#T_EXP} = 43 ] && [ ${#T_REV} = 43 ]'
T_NONE=$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
# Attachment: leaf 3 of the sample is the PDF (text, html, chart, pdf, photo).
decoded_part "$SAMPLE" 3 "$RUN/expected-part3"

# Apache refuses to serve as root: its children (and so the CGI program)
# run as www-data, which then owns the store as the retriever's user does.
WEB_USER=
if [ "$(id -u)" = 0 ]; then
	WEB_USER=www-data
	chown -R "$WEB_USER:$WEB_USER" "$RUN/store"
	mkdir -m 700 "$RUN/pages"
	chown "$WEB_USER:$WEB_USER" "$RUN/pages"
fi

# From the shipped file: the shared part (the prefix's log) is all above
# "# A:"; variant A is everything above "# B:"; variant B is the shared
# part plus the commented block from "# B:" on, uncommented.
CONTRIB=$TOP/contrib/apache/pullmail.conf
sed -n '/^# B:/q;p' "$CONTRIB" \
    | sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    > "$RUN/pullmail-fcgi.conf"
{
	sed -n '/^# A:/q;p' "$CONTRIB"
	sed -n '/^# B:/,$p' "$CONTRIB" | grep -v '^# B:' | sed -e 's/^#//' \
	    -e "s|/usr/local/sbin/pullmail-web|$WEB|" \
	    -e "s|/etc/pullmail/pullmail.conf|$CONF|"
} > "$RUN/pullmail-cgi.conf"
# The virtual hosts' own access log, exactly as the contrib file tells to
# write it.
VHOST_LOG=$(sed -n 's|^#[[:space:]]*\(CustomLog \${APACHE_LOG_DIR}/access.log .*\)$|\1|p' "$CONTRIB")
check "contrib file gives the virtual host's access log line" '[ -n "$VHOST_LOG" ] && [ "$(echo "$VHOST_LOG" | wc -l)" = 1 ]'
check "contrib variant B is all comments (A is the active one)" '! sed -n "/^# B:/,\$p" "$CONTRIB" | grep -qv "^#\|^\$"'
check "contrib variant A has the FastCGI handler" 'grep -q "^[[:space:]]*SetHandler \"proxy:unix:$RUN/web.sock|fcgi://" "$RUN/pullmail-fcgi.conf"'
check "contrib variant B has the ScriptAlias" 'grep -q "^ScriptAlias /m/ $WEB/" "$RUN/pullmail-cgi.conf" && ! grep -q "SetHandler" "$RUN/pullmail-cgi.conf"'

# The private server: its own ServerRoot, pid file, logs, mutexes and
# cgid socket; modules loaded one by one; Debian's deny-all on / so that
# the contrib file has to grant its prefix itself; Debian's LogLevel.
# write_httpd MPM CGI-MODULE PORT:SNIPPET...
mkdir -p "$AP/logs" "$AP/run" "$AP/www"
echo static > "$AP/www/index.html"
write_httpd() {
	mpm=$1 cgimod=$2
	shift 2
	{
		cat <<EOA
ServerRoot "$AP"
ServerName localhost
PidFile "$RUN/apache.pid"
DefaultRuntimeDir "$AP/run"
Mutex file:$AP/run default
ErrorLog "$AP/logs/error.log"
LogLevel warn
Define APACHE_LOG_DIR $AP/logs
EOA
		for m in mpm_$mpm authz_core alias env setenvif headers $cgimod proxy proxy_fcgi; do
			echo "LoadModule ${m}_module $MODS/mod_$m.so"
		done
		[ -n "$WEB_USER" ] && printf 'User %s\nGroup %s\n' "$WEB_USER" "$WEB_USER"
		if [ "$mpm" = event ]; then
			printf '%s\n' "StartServers 1" "ServerLimit 1" "ThreadsPerChild 8" \
			    "MaxRequestWorkers 8" "MinSpareThreads 1" "MaxSpareThreads 8"
		else
			printf '%s\n' "StartServers 2" "MinSpareServers 1" \
			    "MaxSpareServers 4" "MaxRequestWorkers 4"
		fi
		[ "$cgimod" = cgid ] && echo "ScriptSock \"$AP/run/cgid.sock\""
		cat <<EOA
DocumentRoot "$AP/www"
<Directory />
	AllowOverride None
	Require all denied
</Directory>
<Directory "$AP/www">
	Require all granted
</Directory>
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
EOA
		for v in "$@"; do
			cat <<EOA
Listen 127.0.0.1:${v%%:*}
<VirtualHost 127.0.0.1:${v%%:*}>
	$VHOST_LOG
	# pullmail-web's log lines (CGI: into Apache's error log), to check them.
	SetEnv PULLMAIL_LOG_STDERR 1
	Include "${v#*:}"
</VirtualHost>
EOA
		done
	} > "$AP/httpd.conf"
	verify "apache2 ($mpm, mod_$cgimod) accepts the configuration" 'apache2 -t -f "$AP/httpd.conf" > "$RUN/apache-t.log" 2>&1' || cat "$RUN/apache-t.log"
}

# start_apache PORT...: started, and every port answers.
start_apache() {
	apache2 -f "$AP/httpd.conf" -k start > "$RUN/apache-start.log" 2>&1
	i=0
	while [ $i -lt 100 ]; do
		up=0
		for port in "$@"; do
			curl -s -o /dev/null "http://127.0.0.1:$port/index.html" && up=$((up + 1))
		done
		[ -s "$RUN/apache.pid" ] && [ $up = $# ] && break
		sleep 0.1; i=$((i + 1))
	done
	if ! verify "apache2 started on 127.0.0.1:$*" '[ -s "$RUN/apache.pid" ] && [ $i -lt 100 ]'; then
		cat "$RUN/apache-start.log" "$AP/logs/error.log" 2>/dev/null
		finish
	fi
}

# A's responder: spawn-fcgi as the deployment's socket unit does it
# (socket group www-data, mode 0660; the program as the web user). -n: no
# fork, so that pullmail-web keeps this standard error (its log lines and
# any sanitizer report) and its PID is known.
if [ -n "$WEB_USER" ]; then
	SPAWN_USER="-u $WEB_USER -g $WEB_USER -U $WEB_USER -G $WEB_USER"
else
	SPAWN_USER=
fi
# shellcheck disable=SC2086
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -n -s "$RUN/web.sock" \
    -M 0660 $SPAWN_USER -- "$WEB" > "$RUN/spawn.log" 2>&1 &
echo $! > "$RUN/web.pid"
i=0; while ! [ -S "$RUN/web.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
check "spawn-fcgi started pullmail-web" '[ -S "$RUN/web.sock" ] && kill -0 "$(cat "$RUN/web.pid")"'

# has_header FILE NAME VALUE-REGEX: exactly one NAME header, matching.
has_header() {
	[ "$(grep -ci "^$2:" "$1")" = 1 ] && grep -qi "^$2: $3" "$1"
}
security_headers() {
	has_header "$1" cache-control 'no-store' &&
	    has_header "$1" referrer-policy 'no-referrer' &&
	    has_header "$1" x-content-type-options 'nosniff' &&
	    has_header "$1" x-robots-tag 'noindex' &&
	    has_header "$1" content-security-policy "$2"
}
CSP_PAGE="default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]*'; img-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
# Every request under the prefix is counted here (from subshells too), to
# compare with the prefix's own log.
mreq() { echo x >> "$RUN/m-requests"; curl "$@"; }
expiry_line() { grep -o 'This message can be read until [^<]*' "$1"; }

# run_cases PORT LABEL
run_cases() {
	base=http://127.0.0.1:$1/m
	l=$2
	code=$(mreq -s -o "$RUN/page.html" -D "$RUN/page.h" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: page 200" '[ "$code" = 200 ]'
	check "$l: page shows the decoded subject" 'grep -q "Relatório trimestral — números de novembro" "$RUN/page.html"'
	check "$l: page lists the attachment" 'grep -q "relatório final.pdf" "$RUN/page.html"'
	code=$(mreq -s -o "$RUN/page2.html" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: the page again, byte-identical" '[ "$code" = 200 ] && cmp -s "$RUN/page.html" "$RUN/page2.html"'
	verify "$l: page security headers, once each" 'security_headers "$RUN/page.h" "$CSP_PAGE"' || cat "$RUN/page.h"
	check "$l: page is HTML in UTF-8" 'has_header "$RUN/page.h" content-type "text/html; charset=utf-8"'
	code=$(mreq -s -I -o "$RUN/head.h" -w '%{http_code}' "$base/$T_LIVE")
	check "$l: HEAD 200 with the headers" '[ "$code" = 200 ] && security_headers "$RUN/head.h" "$CSP_PAGE"'
	code=$(mreq -s -o "$RUN/html.html" -D "$RUN/html.h" -w '%{http_code}' "$base/$T_LIVE/html")
	check "$l: html 200 with the sandbox CSP" '[ "$code" = 200 ] && security_headers "$RUN/html.h" "sandbox "'
	check "$l: html cid rewritten" 'grep -q "src=\"part/2\"" "$RUN/html.html"'
	code=$(mreq -s -o "$RUN/part3" -D "$RUN/part3.h" -w '%{http_code}' "$base/$T_LIVE/part/3")
	check "$l: attachment 200 as a download" '[ "$code" = 200 ] && has_header "$RUN/part3.h" content-disposition "attachment; filename=\"relat_rio final.pdf\"; filename\*=UTF-8'"''"'relat%C3%B3rio%20final.pdf" && has_header "$RUN/part3.h" content-type "application/octet-stream" && security_headers "$RUN/part3.h" "sandbox"'
	check "$l: attachment byte-identical to the decoded part" 'cmp -s "$RUN/part3" "$RUN/expected-part3"'
	code=$(mreq -s -o "$RUN/orig.eml" -D "$RUN/eml.h" -w '%{http_code}' "$base/$T_LIVE/eml")
	check "$l: eml 200 message/rfc822" '[ "$code" = 200 ] && has_header "$RUN/eml.h" content-type "message/rfc822" && security_headers "$RUN/eml.h" "sandbox"'
	check "$l: eml byte-identical to what was sealed" 'cmp -s "$RUN/orig.eml" "$SAMPLE"'
	code=$(mreq -s -o "$RUN/e.html" -D "$RUN/e.h" -w '%{http_code}' "$base/$T_NONE")
	check "$l: unknown token 404 from pullmail-web, not echoed" '[ "$code" = 404 ] && grep -q "There is no message at this link" "$RUN/e.html" && security_headers "$RUN/e.h" "$CSP_PAGE" && ! grep -q "$T_NONE" "$RUN/e.html" "$RUN/e.h"'
	code=$(mreq -s -o "$RUN/e.html" -w '%{http_code}' "$base/not-a-token")
	check "$l: malformed token 404" '[ "$code" = 404 ] && grep -q "There is no message at this link" "$RUN/e.html"'
	code=$(mreq -s -o "$RUN/e.html" -w '%{http_code}' "$base/$T_EXP")
	check "$l: expired 410, not echoed" '[ "$code" = 410 ] && grep -q "This message has expired" "$RUN/e.html" && ! grep -q "$T_EXP" "$RUN/e.html"'
	code=$(mreq -s -o "$RUN/e.html" -w '%{http_code}' "$base/$T_REV")
	check "$l: revoked page 410" '[ "$code" = 410 ] && grep -q "This message has expired" "$RUN/e.html"'
	code=$(mreq -s -o /dev/null -w '%{http_code}' "$base/$T_REV/eml")
	check "$l: revoked eml 410" '[ "$code" = 410 ]'
	code=$(mreq -s -o /dev/null -w '%{http_code}' -X POST "$base/$T_LIVE/keep")
	check "$l: keep without Origin 403" '[ "$code" = 403 ]'
	before=$(expiry_line "$RUN/page.html")
	code=$(mreq -s -o "$RUN/kept.html" -w '%{http_code}' -X POST -H "Origin: http://127.0.0.1:$1" "$base/$T_LIVE/keep")
	check "$l: keep from this host 200" '[ "$code" = 200 ] && grep -q "kept longer" "$RUN/kept.html"'
	mreq -s -o "$RUN/page2.html" "$base/$T_LIVE"
	after=$(expiry_line "$RUN/page2.html")
	check "$l: keep moved the expiry ($before -> $after)" '[ -n "$before" ] && [ -n "$after" ] && [ "$before" != "$after" ]'
	head -c 5000 /dev/zero | tr '\0' x > "$RUN/big.body"
	code=$(mreq -s -o "$RUN/e.html" -w '%{http_code}' -X POST -H "Origin: http://127.0.0.1:$1" --data-binary @"$RUN/big.body" "$base/$T_LIVE/keep")
	verify "$l: 5,000-byte POST 413, not echoed" '[ "$code" = 413 ] && ! grep -q "$T_LIVE" "$RUN/e.html"' || cat "$RUN/e.html"
	code=$(mreq -s -o "$RUN/e.html" -w '%{http_code}' -X POST -H "Origin: http://127.0.0.1:$1" -H "Transfer-Encoding: chunked" --data-binary @"$RUN/big.body" "$base/$T_LIVE/keep")
	verify "$l: 5,000-byte chunked POST 413, not echoed" '[ "$code" = 413 ] && ! grep -q "$T_LIVE" "$RUN/e.html"' || cat "$RUN/e.html"
	code=$(mreq -s -o /dev/null -w '%{http_code}' -X PUT "$base/$T_LIVE")
	check "$l: PUT 405" '[ "$code" = 405 ]'
	# Odd requests for a live link, some refused by Apache before they
	# reach the <Location>, some that name the prefix only once decoded:
	# whatever they answer, no page echoes the token and (checked at the
	# end) no log has it.
	big=$(head -c 9000 /dev/zero | tr '\0' a)
	root=http://127.0.0.1:$1
	odd=0
	for n in 1 2 3 4 5 6 7 8 9; do
		case $n in
		1) set -- -H "X-Big: $big" "$base/$T_LIVE" ;;
		2) set -- "$base/$T_LIVE/$big" ;;
		3) set -- -H "Host: bad host" "$base/$T_LIVE" ;;
		4) set -- "$root/x/../m/$T_LIVE" ;;
		5) set -- "$root//m/$T_LIVE" ;;
		6) set -- "$root/%6d/$T_LIVE" ;;
		7) set -- "$root/m%2f$T_LIVE" ;;
		8) set -- "$root/m/$T_LIVE%00" ;;
		9) set -- --request-target "$root/m/$T_LIVE" "$root/" ;;
		esac
		: > "$RUN/odd.html"
		mreq -s -o "$RUN/odd.html" --path-as-is "$@"
		grep -q "$T_LIVE" "$RUN/odd.html" && odd=$((odd + 1))
	done
	check "$l: 9 odd requests, none echoes the token" '[ $odd = 0 ]'
	curl -s -o /dev/null "$root/index.html?$l"
}

write_httpd event cgid "$P_FCGI:$RUN/pullmail-fcgi.conf" "$P_CGI:$RUN/pullmail-cgi.conf"
start_apache $P_FCGI $P_CGI
run_cases $P_FCGI fastcgi

# The FastCGI responder after those requests: no core dump, not dumpable
# (another process of its user cannot read its memory; checked against a
# process of the same user that is), and no token it served left in its
# memory (read as root, which may).
WPID=$(pid_of_file "$RUN/web.pid")
check "fastcgi: the responder may not dump core (RLIMIT_CORE 0)" '[ "$(awk "/^Max core file size/ { print \$5, \$6 }" /proc/$WPID/limits)" = "0 0" ]'
as_web_user() {
	if [ -n "$WEB_USER" ]; then
		setpriv --reuid="$WEB_USER" --regid="$WEB_USER" --clear-groups "$@"
	else
		"$@"
	fi
}
if [ -n "$WEB_USER" ]; then
	setpriv --reuid="$WEB_USER" --regid="$WEB_USER" --clear-groups sleep 30 &
else
	sleep 30 &
fi
SLEEPER=$!
PIDS="$PIDS $SLEEPER"
sleep 0.2
check "a process of the web user can read another one's memory map (the control)" 'as_web_user cat /proc/$SLEEPER/maps > /dev/null 2>&1'
stop_pid $SLEEPER
check "fastcgi: the responder's memory is closed to its own user (not dumpable)" '! as_web_user cat /proc/$WPID/maps > /dev/null 2>&1'
if [ "$(id -u)" = 0 ]; then
	# One more request, straight to the socket, whose parameters arrive
	# in a read of their own before the record that ends them (what a
	# loaded machine does now and then): libfcgi reads that record into
	# the start of the same buffer, in front of the parameters.
	T_SPLIT=$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
	st=$(timeout 60 python3 "$TOP/tests/integration/web/fcgi_split.py" "$RUN/web.sock" "$T_SPLIT" 127.0.0.1 $P_FCGI)
	check "fastcgi: parameters ended in a later read, unknown token 404 ($st)" '[ "$st" = "Status: 404 Not Found" ]'
	python3 "$TOP/tests/integration/web/memscan.py" "$WPID" "b64:$T_LIVE" \
	    "b64:$T_EXP" "b64:$T_REV" "b64:$T_NONE" "b64:$T_SPLIT" > "$RUN/memscan.out" 2>&1
	verify "fastcgi: no token left in the responder's memory after its requests" '[ -s "$RUN/memscan.out" ] && ! grep -qv "^0 " "$RUN/memscan.out"' || cat "$RUN/memscan.out"
else
	echo "note - the responder's memory is read only as root"
fi

run_cases $P_CGI cgi
check "cgi: the page was kept in PageCacheDir by the web user" '[ "$(ls "$RUN/pages" | grep -c "^$S_LIVE\.")" = 1 ] && { [ -z "$WEB_USER" ] || [ "$(stat -c %U "$RUN/pages/$(ls "$RUN/pages" | grep "^$S_LIVE\.")")" = "$WEB_USER" ]; }'

# The responder gone: Apache's 503, which must not echo the token.
stop_pid "$(pid_of_file "$RUN/web.pid")"
rm -f "$RUN/web.pid"
code=$(mreq -s -o "$RUN/e.html" -w '%{http_code}' "http://127.0.0.1:$P_FCGI/m/$T_LIVE")
check "fastcgi: responder down 503, not echoed" '[ "$code" = 503 ] && ! grep -q "$T_LIVE" "$RUN/e.html"'
# A responder that dies mid-request, answers garbage or half an answer:
# Apache answers 502 or 503, and (checked with the logs below) logs no
# token at LogLevel warn.
for mode in close garbage half; do
	rm -f "$RUN/web.sock"
	python3 "$TOP/tests/integration/web/fake_fcgi.py" "$RUN/web.sock" $mode > "$RUN/fake.log" 2>&1 &
	echo $! > "$RUN/fake.pid"
	i=0; while ! [ -S "$RUN/web.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
	code=$(mreq -s -m 30 -o "$RUN/e.html" -w '%{http_code}' "http://127.0.0.1:$P_FCGI/m/$T_LIVE/part/3")
	check "fastcgi: upstream $mode answered $code, not echoed" '{ [ "$code" = 502 ] || [ "$code" = 503 ]; } && ! grep -q "$T_LIVE" "$RUN/e.html"'
	stop_pid "$(cat "$RUN/fake.pid")"
	rm -f "$RUN/fake.pid" "$RUN/web.sock"
done

stop_pid "$(pid_of_file "$RUN/apache.pid")"
rm -f "$RUN/apache.pid"

# B again under the prefork MPM with mod_cgi, as the file offers.
write_httpd prefork cgi "$P_CGI_PREFORK:$RUN/pullmail-cgi.conf"
start_apache $P_CGI_PREFORK
run_cases $P_CGI_PREFORK cgi-prefork
stop_pid "$(pid_of_file "$RUN/apache.pid")"
rm -f "$RUN/apache.pid"

# The logs, now complete. The access log works (it has the static pages)
# but has nothing of the prefix; the prefix's own log has every request
# without its path; nobody logged a token.
LOGS="$AP/logs/access.log $AP/logs/pullmail.log $AP/logs/error.log $RUN/spawn.log"
check "access log has the other pages" 'grep -q "GET /index.html?fastcgi " "$AP/logs/access.log" && grep -q "GET /index.html?cgi " "$AP/logs/access.log" && grep -q "GET /index.html?cgi-prefork " "$AP/logs/access.log"'
verify "access log has nothing under /m/" '! grep -qi "/m/\|/m%2f\|/%6d/" "$AP/logs/access.log"' || cat "$AP/logs/access.log"
n=$(grep -c . "$AP/logs/pullmail.log" 2>/dev/null)
sent=$(grep -c . "$RUN/m-requests")
check "pullmail.log has each of the prefix's $sent requests (${n:-0} lines)" '[ "${n:-0}" = "$sent" ] && grep -q " GET 200 " "$AP/logs/pullmail.log" && grep -q " POST 413 " "$AP/logs/pullmail.log" && grep -q " GET 503 " "$AP/logs/pullmail.log"'
check "pullmail.log has no path" '! grep -q "/m\|%6d" "$AP/logs/pullmail.log"'
for t in live:$T_LIVE expired:$T_EXP revoked:$T_REV unknown:$T_NONE; do
	tok=${t#*:}
	# shellcheck disable=SC2086
	verify "no ${t%%:*} token in any log" '! grep -q -- "$tok" $LOGS' || grep -l -- "$tok" $LOGS
done
check "pullmail-web logged to its standard error (FastCGI) and Apache's error log (CGI)" 'grep -q "^pullmail-web.*kept until" "$RUN/spawn.log" && grep -q "^pullmail-web.*kept until" "$AP/logs/error.log"'
# shellcheck disable=SC2086
verify "no sanitizer report" '! grep -q "Sanitizer\|runtime error:" $LOGS' || grep -A20 "Sanitizer\|runtime error:" $LOGS | head -60
finish
