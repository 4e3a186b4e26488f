#!/bin/sh
# make demo / make demo-stop: pullmail end to end on this machine.
#
# Starts, under ./run/demo/ and on loopback only: a private Postfix instance
# (its own config_directory and queue_directory) on 127.0.0.1:2525 with
# pullmail-milter on a unix socket, delivering to a Maildir; pullmail-web as a
# FastCGI responder on a unix socket; nginx on 127.0.0.1:8080. Then sends
# contrib/demo/sample.eml, prints the summary the recipient receives and its
# link, and takes a screenshot of the page in headless Chromium.
# Every process is stopped by `make demo-stop`, by the PID it recorded.
#
#   demo.sh all     (make demo) installs the packages the demo needs, builds,
#                   then start; one line per step with its time
#   demo.sh start   the servers and the sample, on what is built
#   demo.sh stop    (make demo-stop)
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$TOP" && mkdir -p "${O:-.}" && cd "${O:-.}" && pwd)
RUN=$BIN/run/demo
DEMO=$TOP/contrib/demo
SMTP_PORT=2525
HTTP_PORT=8080
BASE_URL=http://127.0.0.1:$HTTP_PORT
SENDER=ana@pullmail.test
RECIPIENT=bruno@example.net
PF=$RUN/postfix

say() { printf '%s\n' "demo: $*"; }
die() { printf '%s\n' "demo: $*" >&2; exit 1; }

# Stops the process whose PID is in $1 if it is still the program named $2
# (so a PID reused by another process is never signalled).
# running PID: the process exists and has not exited (an exited process
# whose parent was init stays a zombie until init reaps it).
running() {
	[ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# libmilter notices a stop request at its listener's next poll, which can
# take a few seconds: up to 10 s before SIGKILL.
stop_pidfile() {
	pidfile=$1; name=$2
	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if running "$pid" && grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		i=0
		while running "$pid" && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
		if running "$pid"; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

stop() {
	if [ -f "$PF/etc/main.cf" ]; then
		postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
		# postfix stop returns before master has exited.
		stop_pidfile "$PF/spool/pid/master.pid" master
	fi
	stop_pidfile "$RUN/nginx/nginx.pid" nginx
	stop_pidfile "$RUN/web/web.pid" pullmail-web
	stop_pidfile "$RUN/milter/milter.pid" pullmail-milter
}

need_user() {
	id pullmail >/dev/null 2>&1 && return 0
	say "creating the system user pullmail (the milter and the retriever run as it; userdel pullmail removes it)"
	useradd --system --user-group --home-dir /nonexistent \
		--shell /usr/sbin/nologin pullmail
}

write_config() {
	cat > "$RUN/pullmail.conf" <<CONF
# Written by make demo.
[store]
StoreDir = $RUN/store

[milter]
Socket = unix:$RUN/milter/milter.sock
SocketMode = 0660
SocketGroup = postfix
UserID = pullmail:pullmail
BaseURL = $BASE_URL
LogWhy = yes

[web]
PathPrefix = /m/

[summary]
Language = en
# Not installed: the templates from the source tree.
TemplateDir = $TOP/templates
CONF
	chmod 644 "$RUN/pullmail.conf"
}

write_postfix() {
	mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$RUN/mail"
	chown postfix:postfix "$PF/data" "$RUN/mail"
	cat > "$PF/etc/main.cf" <<CONF
# A private Postfix instance for make demo; nothing here touches /etc/postfix.
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.pullmail.test
mydomain = pullmail.test
mydestination =
relayhost =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.net
virtual_mailbox_base = $RUN/mail
virtual_mailbox_maps = texthash:$PF/etc/vmailbox
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_mailbox_limit = 0
alias_maps =
alias_database =
smtpd_milters = unix:$RUN/milter/milter.sock
# The shipped milter settings (contrib/postfix/main.cf):
$(cat "$TOP/contrib/postfix/main.cf")
CONF
	echo "$RECIPIENT bruno/" > "$PF/etc/vmailbox"
	sed "s|@SMTP@|127.0.0.1:$SMTP_PORT|" "$DEMO/master.cf" > "$PF/etc/master.cf"
	postfix -c "$PF/etc" check
}

write_nginx() {
	mkdir -p "$RUN/nginx/tmp"
	cp /etc/nginx/fastcgi_params "$RUN/nginx/"
	sed -e "s|@RUN@|$RUN|g" -e "s|@HTTP@|127.0.0.1:$HTTP_PORT|g" \
		-e "s|@SNIPPET@|$RUN/nginx/pullmail.conf|g" \
		"$DEMO/nginx.conf" > "$RUN/nginx/nginx.conf"
	# The shipped server block, with the demo's socket and without TLS.
	sed -n '/^# A:/,/^# B:/p' "$TOP/contrib/nginx/pullmail.conf" |
		sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web/web.sock|" \
		> "$RUN/nginx/pullmail.conf"
	nginx -t -q -e "$RUN/nginx/error.log" -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf"
}

start_milter() {
	mkdir -p "$RUN/milter"
	chown pullmail:pullmail "$RUN/milter"
	"$BIN/milter/pullmail-milter" -n -c "$RUN/pullmail.conf" ||
		die "pullmail-milter -n rejected the demo configuration"
	nohup "$BIN/milter/pullmail-milter" -f -c "$RUN/pullmail.conf" \
		> "$RUN/milter/milter.log" 2>&1 &
	echo $! > "$RUN/milter/milter.pid"
	wait_for "milter socket" test -S "$RUN/milter/milter.sock"
}

start_web() {
	mkdir -p "$RUN/web"
	chown pullmail:www-data "$RUN/web"
	chmod 750 "$RUN/web"
	PULLMAIL_CONFIG=$RUN/pullmail.conf spawn-fcgi -s "$RUN/web/web.sock" \
		-M 0660 -u pullmail -g pullmail -U www-data -G www-data \
		-P "$RUN/web/web.pid" -- "$BIN/cgi/pullmail-web" -w auto \
		> "$RUN/web/spawn.log" 2>&1 || die "spawn-fcgi failed: $(cat "$RUN/web/spawn.log")"
}

wait_for() {
	what=$1; shift
	i=0
	until "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 150 ] || die "timed out waiting for $what"
		sleep 0.2
	done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
	[ -x "$BIN/milter/pullmail-milter" ] || die "pullmail-milter not built (make all)"
	[ -x "$BIN/cgi/pullmail-web" ] || die "pullmail-web not built (make all)"
	stop
	rm -rf "$RUN"
	mkdir -p "$RUN"
	chmod 755 "$RUN"
	need_user
	mkdir -p "$RUN/store"
	chown pullmail:pullmail "$RUN/store"
	chmod 750 "$RUN/store"
	write_config
	write_postfix
	write_nginx

	start_milter
	say "pullmail-milter running (pid $(cat "$RUN/milter/milter.pid")), log $RUN/milter/milter.log"
	start_web
	say "pullmail-web running as FastCGI, one responder per processor (pid $(cat "$RUN/web/web.pid"))"
	nginx -e "$RUN/nginx/error.log" -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf"
	wait_for "nginx" test -s "$RUN/nginx/nginx.pid"
	say "nginx on $BASE_URL (pid $(cat "$RUN/nginx/nginx.pid"))"
	postfix -c "$PF/etc" start >/dev/null
	wait_for "postfix on port $SMTP_PORT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT"
	say "postfix on 127.0.0.1:$SMTP_PORT (pid $(cat "$PF/spool/pid/master.pid" | tr -d ' '))"

	say "sending $DEMO/sample.eml from $SENDER to $RECIPIENT"
	curl -sS --url "smtp://127.0.0.1:$SMTP_PORT" --mail-from "$SENDER" \
		--mail-rcpt "$RECIPIENT" --upload-file "$DEMO/sample.eml" ||
		die "the SMTP transaction failed; see $PF/maillog"
	wait_for "delivery into $RUN/mail/bruno/new" \
		sh -c "ls '$RUN/mail/bruno/new/'* >/dev/null 2>&1"
	msg=$(ls -t "$RUN/mail/bruno/new/"* | head -n 1)

	echo
	echo "---------------- the summary as $RECIPIENT receives it ----------------"
	python3 "$DEMO/show-summary.py" "$msg" > "$RUN/summary.txt"
	cat "$RUN/summary.txt"
	echo "------------------------------------------------------------------------"
	link=$(sed -n 's/^X-Pull-URL: //p' "$RUN/summary.txt" | head -n 1)
	[ -n "$link" ] || die "the delivered message carries no X-Pull-URL"
	echo "$link" > "$RUN/link"
	# The page is the message in clear: counted, never written to disk.
	got=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$link") ||
		die "the link did not answer; see $RUN/nginx/error.log"
	[ "${got% *}" = 200 ] || die "the link answers HTTP ${got% *}, not 200; see $RUN/nginx/error.log"
	say "the link answers HTTP 200 with the page (${got#* } bytes)"

	rm -rf "$RUN/chromium"
	if ! command -v chromium >/dev/null 2>&1; then
		say "no screenshot: Chromium is not installed (make check installs it, or apt-get install chromium)"
	elif chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --hide-scrollbars \
		--user-data-dir="$RUN/chromium" --window-size=1000,1300 \
		--screenshot="$RUN/page.png" "$link" > "$RUN/chromium.log" 2>&1; then
		say "screenshot of the page: $RUN/page.png"
	else
		say "headless Chromium failed (see $RUN/chromium.log); the page is still at the link"
	fi
	rm -rf "$RUN/chromium"
	echo
}

# step NAME COMMAND...: runs one step of make demo, then says its time.
step() {
	name=$1; shift
	t0=$(date +%s)
	say "$name ..."
	"$@" || die "$name failed"
	say "  done in $(( $(date +%s) - t0 )) s"
}

all() {
	t_all=$(date +%s)
	mkdir -p "$BIN/run"
	step "installing the Debian packages the demo needs, if missing" \
		env PULLMAIL_DEPS_LOG="$BIN/run/demo-deps.log" sh "$TOP/mk/deps.sh" demo
	step "building pullmail" \
		sh -c 'make -C "$1" --no-print-directory all > "$2" 2>&1 || { tail -n 30 "$2"; exit 1; }' \
		sh "$TOP" "$BIN/run/demo-build.log"
	t0=$(date +%s)
	say "starting Postfix, pullmail-milter, pullmail-web and nginx on 127.0.0.1 ..."
	start
	say "servers started and the sample delivered in $(( $(date +%s) - t0 )) s; make demo took $(( $(date +%s) - t_all )) s in all"
	echo "Open $(cat "$RUN/link") in a browser on this machine to read the original; stop everything with: make demo-stop"
}

case "${1:-start}" in
all) all ;;
start) start
	echo "Open $(cat "$RUN/link") in a browser on this machine to read the original; stop everything with: make demo-stop" ;;
stop) stop; say "stopped" ;;
*) die "usage: demo.sh start|stop" ;;
esac
