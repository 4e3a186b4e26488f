#!/bin/sh
# Between two pullmail domains, with real parts on loopback. Organisation
# A: a private Postfix whose submission service runs pullmail-milter
# (outbound) then OpenDKIM signing (SignHeaders with X-Pull-URL,
# OversignHeaders From,X-Pull-URL), and nginx with TLS (a CA made here)
# in front of pullmail-web. A also has two services that only sign (a
# summary written by the test goes out signed as A's) and two signers
# configured as Debian ships OpenDKIM (X-Pull-URL not signed) and with
# X-Pull-URL signed once only. Organisation B: a private Postfix whose
# port-25 service runs OpenDKIM verifying (public keys from a file,
# TestPublicKeys: no DNS) then pullmail-milter -i, delivering to Maildirs.
# Asserted from outside: A's message arrives at B as the original with
# X-Pull-Fetched; each refusal arrives as the summary with no request in
# nginx's access log; each failure arrives as the summary and B's log
# says why; no token in any log. Ports 15225-15249 (P_BASE changes them).
# Ends with "N passed, N failed".
O=${O:-.}
TOP=$(pwd)
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/inbound-it
MILTER=$B/milter/pullmail-milter
WEB=$B/cgi/pullmail-web
CTL=$B/tools/pullmailctl
MAIL="python3 $TOP/tests/integration/inbound/mail.py"
P=${P_BASE:-15225}
P_SUB=$P                    # A: pullmail outbound + strong signer
P_RAW=$((P + 1))            # A: strong signer only
P_WEAK=$((P + 2))           # A: Debian's default signer
P_ONCE=$((P + 3))           # A: X-Pull-URL signed, not oversigned
P_B=$((P + 5))              # B: verifier + pullmail-milter -i
P_DKIM_S=$((P + 6))         # OpenDKIM: strong signer
P_DKIM_W=$((P + 7))         # OpenDKIM: default headers
P_DKIM_O=$((P + 8))         # OpenDKIM: not oversigned
P_DKIM_V=$((P + 9))         # OpenDKIM: B's verifier
P_WEB=$((P + 18))           # nginx, TLS
P_SLOW=$((P + 19))          # a backend that never answers
. "$TOP/tests/lib/harness.sh"
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"
check() { if eval "$2"; then ok "$1"; else fail "$1"; return 1; fi; }
MASTER_A= MASTER_B= OUT_PID= IN_PID= SLOW_PID=
stop_on_exit MASTER_A MASTER_B OUT_PID IN_PID SLOW_PID
stop_pidfiles_on_exit "$RUN/pids"

if [ "$(id -u)" != 0 ]; then
	fail "test_inbound needs root (private Postfix masters)"
	finish
fi
for p in "$MILTER" "$WEB" "$CTL"; do
	[ -x "$p" ] || { fail "built: $p"; finish; }
done
for p in opendkim opendkim-genkey nginx spawn-fcgi postfix; do
	command -v $p >/dev/null 2>&1 || { fail "installed: $p"; finish; }
done

rm -rf "$RUN"
mkdir -p "$RUN/pids" "$RUN/a/pf/conf" "$RUN/a/pf/queue" "$RUN/a/pf/data" \
	"$RUN/a/store" "$RUN/b/pf/conf" "$RUN/b/pf/queue" "$RUN/b/pf/data" \
	"$RUN/b/mail" "$RUN/dkim" "$RUN/www/bad/x" "$RUN/www/big/x"
chmod 755 "$RUN" "$RUN/a" "$RUN/b"
chmod 750 "$RUN/a/store"
chown 65534:65534 "$RUN/b/mail"
chown postfix "$RUN/a/pf/data" "$RUN/b/pf/data"
if ! make_ca > "$RUN/ca.log" 2>&1; then
	fail "a throw-away CA and a certificate for localhost"
	cat "$RUN/ca.log"
	finish
fi

# --- keys: one per signing domain; bad.example's published key is another
D=$RUN/dkim
for dom in a.example c.example priv.example bad.example other.example; do
	mkdir -p "$D/$dom"
	opendkim-genkey -b 1024 -D "$D/$dom" -d $dom -s sel 2>> "$D/genkey.log" ||
		{ fail "opendkim-genkey for $dom"; finish; }
done
: > "$D/keytable"
: > "$D/signingtable"
: > "$D/public"
for dom in a.example c.example priv.example bad.example; do
	echo "sel._domainkey.$dom $dom:sel:$D/$dom/sel.private" >> "$D/keytable"
	echo "*@$dom sel._domainkey.$dom" >> "$D/signingtable"
	pubdom=$dom
	[ $dom = bad.example ] && pubdom=other.example
	# The TXT record opendkim-genkey wrote, on one line.
	rec=$(tr -d '\n' < "$D/$pubdom/sel.txt" | sed -e 's/^[^(]*(//' -e 's/).*$//' \
		-e 's/"[[:space:]]*"//g' -e 's/"//g' -e 's/[[:space:]][[:space:]]*/ /g' -e 's/^ //')
	echo "sel._domainkey.$dom $rec" >> "$D/public"
done
chmod 600 "$D"/*/sel.private

# opendkim_conf NAME PORT MODE EXTRA...: a private OpenDKIM, foreground.
opendkim_conf() {
	name=$1 port=$2 mode=$3
	shift 3
	{
		cat <<EOF
Mode $mode
Socket inet:$port@127.0.0.1
PidFile $RUN/pids/opendkim-$name.pid
Syslog no
LogResults yes
UMask 007
Canonicalization relaxed/simple
EOF
		for l in "$@"; do echo "$l"; done
	} > "$D/$name.conf"
}
SIGN_COMMON="RequireSafeKeys no|KeyTable file:$D/keytable|SigningTable refile:$D/signingtable|InternalHosts 127.0.0.1"
ifs=$IFS; IFS='|'
opendkim_conf strong $P_DKIM_S s $SIGN_COMMON \
	"SignHeaders From,Reply-To,Subject,Date,To,Cc,Message-ID,In-Reply-To,References,MIME-Version,Content-Type,X-Pull-URL,X-Pull-Expires" \
	"OversignHeaders From,X-Pull-URL"
opendkim_conf weak $P_DKIM_W s $SIGN_COMMON
opendkim_conf once $P_DKIM_O s $SIGN_COMMON \
	"SignHeaders From,Subject,Date,To,Message-ID,X-Pull-URL"
IFS=$ifs
opendkim_conf verify $P_DKIM_V v "TestPublicKeys $D/public" \
	"AuthservID mx.b.example" "InternalHosts 192.0.2.1" "RemoveARAll yes" \
	"RemoveARFrom mx.b.example"
for n in strong weak once verify; do
	opendkim -f -x "$D/$n.conf" > "$D/$n.log" 2>&1 &
	echo $! > "$RUN/pids/opendkim-$n-f.pid"
done
for p in $P_DKIM_S $P_DKIM_W $P_DKIM_O $P_DKIM_V; do
	wait_port $p || { fail "OpenDKIM listens on $p"; cat "$D"/*.log; finish; }
done
# Ours, not another program that holds the port: each is still running.
sleep 0.5
for n in strong weak once verify; do
	kill -0 "$(cat "$RUN/pids/opendkim-$n-f.pid")" 2>/dev/null ||
		{ fail "OpenDKIM $n runs"; cat "$D/$n.log"; finish; }
done
ok "four OpenDKIM instances (three signers, one verifier) listen"

# --- A: pullmail-milter outbound, pullmail-web behind nginx -------------
ORIGIN=https://localhost:$P_WEB
cat > "$RUN/a/pullmail.conf" <<EOF
[store]
StoreDir = $RUN/a/store

[milter]
Socket = unix:$RUN/a/milter.sock
SocketMode = 0660
SocketGroup = postfix
UserID = root
BaseURL = $ORIGIN
LogWhy = yes

[summary]
TemplateDir = $TOP/templates
EOF
"$MILTER" -f -c "$RUN/a/pullmail.conf" > "$RUN/a/milter.log" 2>&1 &
OUT_PID=$!
PULLMAIL_CONFIG=$RUN/a/pullmail.conf PULLMAIL_LOG_STDERR=1 spawn-fcgi \
	-s "$RUN/a/web.sock" -M 0660 -P "$RUN/pids/web.pid" -- "$WEB" \
	> "$RUN/a/spawn.log" 2>&1
# The damaged and the oversized original, served as files.
printf 'this is not a message, nor a header\n\nbody\n' > "$RUN/www/bad/x/eml"
python3 -c 'import sys; sys.stdout.write("From: a@a.example\nSubject: big\n\n" + ("x" * 76 + "\n") * 4000)' \
	> "$RUN/www/big/x/eml"
# A backend that accepts and never answers (the slow server).
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' $P_SLOW > "$RUN/slow.log" 2>&1 &
SLOW_PID=$!
mkdir -p "$RUN/nginx/logs" "$RUN/nginx/tmp"
cat > "$RUN/nginx/nginx.conf" <<EOF
user root;
daemon on;
worker_processes 1;
pid $RUN/pids/nginx.pid;
error_log $RUN/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
	# No path in the log: it holds the token.
	log_format counts '\$request_method \$status';
	access_log $RUN/nginx/logs/access.log counts;
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
		root $RUN/www;
		location /m/ {
			error_log /dev/null;
			fastcgi_pass unix:$RUN/a/web.sock;
			include /etc/nginx/fastcgi_params;
			fastcgi_param REQUEST_URI \$request_uri;
		}
		location /redir/ { return 302 $ORIGIN/m/elsewhere; }
		location /slow/ {
			proxy_pass http://127.0.0.1:$P_SLOW;
			proxy_read_timeout 60s;
		}
		location /bad/ { default_type message/rfc822; }
		location /big/ { default_type message/rfc822; }
	}
}
EOF
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx/start.log" &&
	wait_port $P_WEB || { fail "nginx listens on $P_WEB"; cat "$RUN/nginx/start.log"; finish; }
i=0; while [ ! -S "$RUN/a/milter.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
check "A: pullmail-milter, pullmail-web and nginx started" \
	'[ -S "$RUN/a/milter.sock" ] && [ -S "$RUN/a/web.sock" ]'

C=$RUN/a/pf/conf
{
	postfix_main_cf "$C" "$RUN/a/pf/queue" "$RUN/a/pf/data" a.example \
		a-local.invalid "$RUN/a/mail" |
		sed -e '/^default_transport/d' -e '/^relay_transport/d' -e '/^relayhost/d'
	cat <<EOF
default_transport = smtp
relay_transport = smtp
relayhost = [127.0.0.1]:$P_B
milter_protocol = 6
milter_default_action = tempfail
smtp_tls_security_level = none
EOF
} > "$C/main.cf"
: > "$C/vmailbox"
{
	cat <<EOF
127.0.0.1:$P_SUB inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/a/milter.sock,inet:127.0.0.1:$P_DKIM_S
127.0.0.1:$P_RAW inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$P_DKIM_S
127.0.0.1:$P_WEAK inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$P_DKIM_W
127.0.0.1:$P_ONCE inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$P_DKIM_O
EOF
	postfix_daemons
} > "$C/master.cf"

# --- B: OpenDKIM verifying, then pullmail-milter -i ----------------------
# a.example may be fetched from nginx on loopback (allow-private, as a
# test needs); priv.example names nginx by its address, without
# allow-private (one origin cannot be listed both ways).
cat > "$RUN/b/pullmail.conf" <<EOF
[log]
Level = debug

[milter]
UserID = root

[inbound]
Socket = unix:$RUN/b/inbound.sock
Trust = a.example $ORIGIN allow-private; priv.example https://127.0.0.1:$P_WEB; bad.example $ORIGIN allow-private
AuthservID = mx.b.example
CAFile = $RUN/tls/ca.crt
MaxSize = 100K
ConnectTimeout = 3s
Timeout = 4s
MaxFetches = 2
OptOutFile = $RUN/b/optout
EOF
printf '# who keeps summaries\noptout@b.example\n' > "$RUN/b/optout"
if "$MILTER" -i -n -c "$RUN/b/pullmail.conf" > "$RUN/b/check.log" 2>&1; then
	ok "pullmail-milter -i -n accepts B's configuration"
else
	fail "pullmail-milter -i -n: $(cat "$RUN/b/check.log")"
fi
"$MILTER" -i -f -c "$RUN/b/pullmail.conf" > "$RUN/b/milter.log" 2>&1 &
IN_PID=$!
i=0; while [ ! -S "$RUN/b/inbound.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
check "B: pullmail-milter -i listens" '[ -S "$RUN/b/inbound.sock" ]' ||
	{ cat "$RUN/b/milter.log"; finish; }
chgrp postfix "$RUN/b/inbound.sock"; chmod 660 "$RUN/b/inbound.sock"

C=$RUN/b/pf/conf
{
	postfix_main_cf "$C" "$RUN/b/pf/queue" "$RUN/b/pf/data" b.example \
		b.example "$RUN/b/mail"
	cat <<EOF
milter_protocol = 6
milter_default_action = tempfail
virtual_mailbox_limit = 0
EOF
} > "$C/main.cf"
for u in bob optout; do echo "$u@b.example b.example/$u/"; done > "$C/vmailbox"
{
	cat <<EOF
127.0.0.1:$P_B inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$P_DKIM_V,unix:$RUN/b/inbound.sock
EOF
	postfix_daemons
} > "$C/master.cf"

for c in "$RUN/a/pf/conf" "$RUN/b/pf/conf"; do
	postfix -c "$c" check > "$c/../check.log" 2>&1 ||
		{ fail "postfix check of $c"; cat "$c/../check.log"; finish; }
	printf 'maillog_file = %s/maillog\nmaillog_file_prefixes = %s\n' \
		"$(dirname "$c")" "$RUN" >> "$c/main.cf"
done
start_master "$RUN/b/pf/conf" "$RUN/b/pf/master.out" $P_B ||
	{ fail "B's Postfix listens"; cat "$RUN/b/pf/master.out"; finish; }
MASTER_B=$MASTER_PID
start_master "$RUN/a/pf/conf" "$RUN/a/pf/master.out" $P_SUB $P_RAW $P_WEAK $P_ONCE ||
	{ fail "A's Postfix listens"; cat "$RUN/a/pf/master.out"; finish; }
MASTER_A=$MASTER_PID
ok "A's and B's Postfix listen"

BOX=$RUN/b/mail/b.example/bob
# field FILE NAME: the values of the header field NAME (any case), each on
# one line with its folding undone; fails when there is none.
field() {
	awk -v want="$(echo "$2" | tr 'A-Z' 'a-z')" '
		{ sub(/\r$/, "") }
		/^$/ { exit }
		/^[ \t]/ { if (on) { sub(/^[ \t]+/, " "); v = v $0 }; next }
		{ if (on) print v; on = 0
		  n = index($0, ":"); name = tolower(substr($0, 1, n - 1))
		  if (n > 0 && name == want) { on = 1; v = substr($0, n + 1); sub(/^[ \t]+/, "", v); found = 1 } }
		END { if (on) print v; exit !found }' "$1"
}
requests() { wc -l < "$RUN/nginx/logs/access.log" | tr -d ' '; }

# message SUBJECT FROM [FIELD...] > file: a small original.
message() {
	subj=$1 from=$2
	shift 2
	printf 'From: <%s>\nTo: <bob@b.example>\nSubject: %s\nDate: %s\nMessage-ID: <%s@a.example>\nX-Original-Only: kept as written\n' \
		"$from" "$subj" "$(date -R)" "$(date +%s%N)"
	for f in "$@"; do printf '%s\n' "$f"; done
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
	printf 'The original text of "%s".\n\n-- \nline two with trailing space \n' "$subj"
}

# deliver NAME: waits for the message of subject NAME in bob's Maildir.
deliver() {
	$MAIL wait "$BOX" "$1" 30 "$RUN/got-$1.eml"
}

# --- 1. A to B: the original arrives ------------------------------------
message main alice@a.example > "$RUN/orig-main.eml"
$MAIL send $P_SUB alice@a.example bob@b.example "$RUN/orig-main.eml"
if deliver main; then
	out=$($MAIL same-original "$RUN/got-main.eml" "$RUN/orig-main.eml")
	check "A to B: the original arrives (body byte for byte, its fields)" '[ -z "$out" ]' ||
		echo "$out"
	fetched=$(field "$RUN/got-main.eml" X-Pull-Fetched)
	check "A to B: X-Pull-Fetched names the origin" \
		'case $fetched in "from $ORIGIN;"*) true ;; *) false ;; esac' ||
		echo "X-Pull-Fetched: $fetched"
	check "A to B: B's Authentication-Results and Received kept" \
		'field "$RUN/got-main.eml" Authentication-Results | grep -q "^mx.b.example; dkim=pass" &&
		 field "$RUN/got-main.eml" Received | grep -q "mx.b.example"'
	check "A to B: the summary's signature is gone, X-Pull-Expires too" \
		'! field "$RUN/got-main.eml" DKIM-Signature >/dev/null &&
		 ! field "$RUN/got-main.eml" X-Pull-Expires >/dev/null'
else
	fail "A to B: delivered"
	tail -20 "$RUN/b/milter.log" "$RUN/a/pf/maillog" "$RUN/b/pf/maillog"
fi

# A summary made by A's milter for a refused case, whose link is a live
# one: the untrusted domain, c.example.
message untrusted carol@c.example > "$RUN/orig-untrusted.eml"
before=$(requests)
$MAIL send $P_SUB carol@c.example bob@b.example "$RUN/orig-untrusted.eml"
if deliver untrusted; then
	LINK=$(field "$RUN/got-untrusted.eml" X-Pull-URL)
	check "untrusted domain: the summary arrives, no request to A" \
		'[ -n "$LINK" ] && [ "$(requests)" = "$before" ]'
	check "untrusted domain: B's log says why" \
		'grep -q "summary left as it came: no dkim=pass for a domain on the trust list" "$RUN/b/milter.log"'
else
	fail "untrusted domain: delivered"
fi

# summary NAME FROM URL [FIELD...] > file: a summary written by the test.
summary() {
	subj=$1 from=$2 url=$3
	shift 3
	printf 'From: <%s>\nTo: <bob@b.example>\nSubject: %s\nDate: %s\nMessage-ID: <%s@x>\nX-Pull-URL: %s\n' \
		"$from" "$subj" "$(date -R)" "$(date +%s%N)" "$url"
	for f in "$@"; do printf '%s\n' "$f"; done
	printf '\nA summary. The original is at the link.\n'
}

# refused NAME PORT FROM URL WHY: a summary sent through A's PORT arrives
# as it was, without a request to A, and B's log has WHY.
refused() {
	name=$1 port=$2 from=$3 url=$4 why=$5
	shift 5
	summary "$name" "$from" "$url" "$@" > "$RUN/sum-$name.eml"
	before=$(requests)
	$MAIL send "$port" "$from" bob@b.example "$RUN/sum-$name.eml"
	if deliver "$name"; then
		got=$(field "$RUN/got-$name.eml" X-Pull-URL)
		check "$name: the summary arrives, no request to A" \
			'[ "${got%%
*}" = "$url" ] && [ "$(requests)" = "$before" ] &&
			 ! field "$RUN/got-$name.eml" X-Pull-Fetched >/dev/null'
		check "$name: B's log says $why" 'grep -q "$why" "$RUN/b/milter.log"' ||
			tail -3 "$RUN/b/milter.log"
	else
		fail "$name: delivered"
	fi
}

# --- 2. refusals ----------------------------------------------------------
message dkimfail dave@bad.example > "$RUN/orig-dkimfail.eml"
before=$(requests)
$MAIL send $P_SUB dave@bad.example bob@b.example "$RUN/orig-dkimfail.eml"
if deliver dkimfail; then
	check "DKIM failed: the summary arrives, no request to A" \
		'field "$RUN/got-dkimfail.eml" X-Pull-URL >/dev/null && [ "$(requests)" = "$before" ]'
	check "DKIM failed: B's verifier said fail" \
		'field "$RUN/got-dkimfail.eml" Authentication-Results | grep -q "dkim=fail"'
else
	fail "DKIM failed: delivered"
fi
# No signature at all: straight into B.
summary nodkim alice@a.example "$LINK" > "$RUN/sum-nodkim.eml"
before=$(requests)
$MAIL send $P_B alice@a.example bob@b.example "$RUN/sum-nodkim.eml"
if deliver nodkim; then
	check "DKIM missing: the summary arrives, no request to A" \
		'field "$RUN/got-nodkim.eml" X-Pull-URL >/dev/null && [ "$(requests)" = "$before" ]'
else
	fail "DKIM missing: delivered"
fi
refused notsigned $P_WEAK alice@a.example "$LINK" \
	"the passing signature does not sign X-Pull-URL"
refused notoversigned $P_ONCE alice@a.example "$LINK" \
	"signs X-Pull-URL but does not oversign it"
refused otherorigin $P_RAW alice@a.example \
	"$(echo "$LINK" | sed "s|//localhost:|//127.0.0.1:|")" \
	"the link's origin is not listed"
refused twolinks $P_RAW alice@a.example "$LINK" "more than one X-Pull-URL" \
	"X-Pull-URL: $ORIGIN/m/$(echo "$LINK" | sed 's|.*/m/||' | rev)"

# --- 3. failures: the summary arrives, B's log says why ------------------
# failed NAME FROM URL WHY
failed_case() {
	name=$1 from=$2 url=$3 why=$4
	summary "$name" "$from" "$url" > "$RUN/sum-$name.eml"
	$MAIL send $P_RAW "$from" bob@b.example "$RUN/sum-$name.eml"
	if deliver "$name"; then
		got=$(field "$RUN/got-$name.eml" X-Pull-URL)
		check "$name: the summary arrives" '[ "$got" = "$url" ] &&
			! field "$RUN/got-$name.eml" X-Pull-Fetched >/dev/null'
		check "$name: B's log says $why" 'grep -q -- "$why" "$RUN/b/milter.log"' ||
			grep "fetch failed" "$RUN/b/milter.log" | tail -2
	else
		fail "$name: delivered"
	fi
}
NOTOKEN=$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
failed_case notfound alice@a.example "$ORIGIN/m/$NOTOKEN" "answered 404"
if [ -n "$LINK" ] && "$CTL" -c "$RUN/a/pullmail.conf" revoke "$LINK" > "$RUN/revoke.log" 2>&1; then
	failed_case revoked alice@a.example "$LINK" "answered 410"
else
	fail "pullmailctl revoke: $(cat "$RUN/revoke.log")"
fi
failed_case damaged alice@a.example "$ORIGIN/bad/x" "without a field name"
failed_case oversized alice@a.example "$ORIGIN/big/x" "larger than MaxSize"
before=$(requests)
failed_case redirect alice@a.example "$ORIGIN/redir/x" "a redirect (never followed)"
check "redirect: one request, answered 302, nothing followed" \
	'[ "$(requests)" = $((before + 1)) ] && tail -n 1 "$RUN/nginx/logs/access.log" | grep -q "GET 302"'
failed_case slow alice@a.example "$ORIGIN/slow/x" "timed out"
before=$(requests)
failed_case private priv.example-user@priv.example "https://127.0.0.1:$P_WEB/m/$NOTOKEN" \
	"a private, loopback or link-local address"
check "private: no request reached A" '[ "$(requests)" = "$before" ]'

# Opted out: the recipient keeps summaries.
message optedout alice@a.example > "$RUN/orig-optout.eml"
before=$(requests)
$MAIL send $P_SUB alice@a.example optout@b.example "$RUN/orig-optout.eml"
if $MAIL wait "$RUN/b/mail/b.example/optout" optedout 60 "$RUN/got-optout.eml"; then
	check "opt-out: the summary arrives, no request to A" \
		'field "$RUN/got-optout.eml" X-Pull-URL >/dev/null && [ "$(requests)" = "$before" ]'
	check "opt-out: B's log says so" 'grep -q "keeps summaries (OptOutFile)" "$RUN/b/milter.log"'
else
	fail "opt-out: delivered"
fi

# A's web server down: a real message of A, nginx stopped.
stop_pid "$(cat "$RUN/pids/nginx.pid")"
message down alice@a.example > "$RUN/orig-down.eml"
$MAIL send $P_SUB alice@a.example bob@b.example "$RUN/orig-down.eml"
if deliver down; then
	check "A's web server down: the summary arrives" \
		'field "$RUN/got-down.eml" X-Pull-URL >/dev/null'
	check "A's web server down: B's log says why" \
		'grep -q "fetch failed: https://localhost:$P_WEB: Couldn.t connect" "$RUN/b/milter.log"'
else
	fail "A's web server down: delivered"
fi

check "no token in B's logs, A's Postfix log or nginx's" \
	'! grep -Eq "/m/[A-Za-z0-9_-]{43}" "$RUN/b/milter.log" "$RUN/b/pf/maillog" "$RUN/nginx/logs/access.log"'
check "B's log names messages by storage id, not by link" \
	'grep -q "id=[0-9a-f]\{8\}" "$RUN/b/milter.log"'
check "pullmail-milter -i still runs" 'kill -0 $IN_PID'
finish
