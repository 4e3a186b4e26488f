#!/bin/sh
# make soak: thousands of messages through a real private Postfix and
# pullmail-milter while faults are injected, then every message accounted
# for from the outside (issue 18). Run as root, on loopback only.
#
# Per mode (OnError = tempfail with milter_default_action = tempfail, then
# OnError = accept with milter_default_action = accept), under
# $O/run/soak/MODE:
# - a private Postfix (tests/lib/postfix.sh: its own directories, master in
#   the foreground, virtual Maildirs), a plain smtpd port for the
#   InternalHosts client and a SASL port (Dovecot's auth service) for the
#   authenticated senders; pullmail-milter on a unix socket, run by a
#   supervisor loop that restarts it as contrib/systemd/pullmail-milter.service
#   does (ExecStartPre's -n, then -f; RestartSec read from the unit);
#   StoreDir on a size-limited tmpfs mounted for the run; pullmail-web -w 2
#   under spawn-fcgi behind nginx (contrib/nginx/pullmail.conf without its
#   per-client rate limit, all the load coming from one address, and with
#   its error log kept); pullmailctl gc every few seconds;
# - tests/soak/submit.py: SOAK_SESSIONS concurrent sessions, the mix of
#   tests/soak/soakmsg.py, refusals sent again, ambiguous ends resolved;
# - tests/soak/account.py watch: fetches each delivered summary's .eml
#   through nginx and compares it with the original, samples StoreDir for
#   plaintext, revokes and keeps some messages and checks the retriever at
#   once, records peak RSS; wrk at 64 connections in rounds over pages,
#   parts and .eml (tests/soak/wrk.lua);
# - the faults (tests/soak/faults.sh), on a schedule printed as it runs;
# - after the load: the queue drained (bounded), gc, then account.py final:
#   the table, and a non-zero exit on any lost, duplicated or dangling
#   message.
# Environment: SOAK_MESSAGES (10000), SOAK_MODES ("tempfail accept"),
# SOAK_SESSIONS (10), SOAK_SESSION_MESSAGES (messages per SMTP session
# before a new one, 5), SOAK_MAX_SIZE (bytes, 5 MiB), SOAK_RATE (messages a
# second the submitter aims at; by default the load lasts about
# SOAK_LOAD_SECONDS), SOAK_FAULT_ROUNDS (each fault kind this many times;
# 1 up to 2,000 messages, else 3), SOAK_STORE_MB (the tmpfs), SOAK_P_SMTP,
# SOAK_P_AUTH, SOAK_P_HTTP (10530, 10531, 18130).
# Output: the table per mode; "N passed, N failed" at the end.
O=${O:-.}
TOP=$(pwd)
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
SOAK=$TOP/tests/soak
N=${SOAK_MESSAGES:-10000}
MODES=${SOAK_MODES:-tempfail accept}
SESSIONS=${SOAK_SESSIONS:-10}
MAXSIZE=${SOAK_MAX_SIZE:-5242880}
if [ "$N" -le 2000 ]; then ROUNDS_DEF=1; else ROUNDS_DEF=3; fi
ROUNDS=${SOAK_FAULT_ROUNDS:-$ROUNDS_DEF}
P_SMTP=${SOAK_P_SMTP:-10530}
P_AUTH=${SOAK_P_AUTH:-10531}
P_HTTP=${SOAK_P_HTTP:-18130}
MILTER=$B/milter/pullmail-milter
WEB=$B/cgi/pullmail-web
CTL=$B/tools/pullmailctl
LIB=$B/common/libpullmail.a
UNIT=$TOP/contrib/systemd/pullmail-milter.service
SASL_USER=soak
SASL_PASS='soak submission 3!'
MUSER=pullmail
RUNBASE=$B/run/soak
RUN=

. "$TOP/tests/lib/harness.sh"
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"
. "$SOAK/faults.sh"

MASTER_PID= DOVECOT_PID= SUP_PID= GC_PID= WATCH_PID= WRK_LOOP_PID=
FAULT_PID= SUBMIT_PID= MOUNTED=
stop_all() {
	[ -n "$RUN" ] && touch "$RUN/stop"
	for p in $FAULT_PID $SUBMIT_PID $WRK_LOOP_PID $GC_PID; do stop_pid "$p"; done
	FAULT_PID= SUBMIT_PID= WRK_LOOP_PID= GC_PID=
	stop_pid "$WATCH_PID"; WATCH_PID=
	if [ -n "$SUP_PID" ]; then
		stop_pid "$SUP_PID"
		[ -s "$RUN/milter.pid" ] && stop_pid "$(cat "$RUN/milter.pid")"
		SUP_PID=
	fi
	stop_pid "$MASTER_PID"; MASTER_PID=
	# A master started again by the pf_stop fault is not our child.
	mp=$(cat "$RUN/pf/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
	[ -n "$mp" ] && kill -0 "$mp" 2>/dev/null && stop_pid "$mp"
	[ -s "$RUN/nginx.pid" ] && stop_pid "$(cat "$RUN/nginx.pid")"
	[ -s "$RUN/web.pid" ] && stop_pid "$(cat "$RUN/web.pid")"
	rm -f "$RUN/nginx.pid" "$RUN/web.pid" 2>/dev/null
	stop_pid "$DOVECOT_PID"; DOVECOT_PID=
	if [ -n "$MOUNTED" ]; then
		chmod -R u+rwX "$MOUNTED" 2>/dev/null
		umount "$MOUNTED" || umount -l "$MOUNTED"
		MOUNTED=
	fi
}
cleanup() { stop_all; return 0; }

say() { echo "soak: $*"; }

if [ "$(id -u)" != 0 ]; then
	fail "the soak needs root (a private Postfix master, a tmpfs mount)"
	finish
fi
for f in "$MILTER" "$WEB" "$CTL" "$LIB"; do
	[ -e "$f" ] || { fail "built: $f (make O=$O all)"; finish; }
done
for c in wrk nginx spawn-fcgi dovecot; do
	command -v $c >/dev/null 2>&1 || { fail "$c is installed"; finish; }
done
id "$MUSER" >/dev/null 2>&1 || useradd --system --user-group \
	--home-dir /nonexistent --shell /usr/sbin/nologin "$MUSER"

# As systemd would: the pacing and the start limit of the shipped unit.
unit_key() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
secs() { case $1 in *ms) echo 0 ;; *min) echo $((${1%min} * 60)) ;; *s) echo "${1%s}" ;; "") echo "" ;; *) echo "$1" ;; esac; }
RESTART_SEC=$(secs "$(unit_key RestartSec)")
LIMIT_INTERVAL=$(secs "$(unit_key StartLimitIntervalSec)")
LIMIT_BURST=$(unit_key StartLimitBurst)
RESTART=$(unit_key Restart)
# systemd's defaults where the unit says nothing: 100 ms, 10 s, 5.
[ -n "$RESTART_SEC" ] || RESTART_SEC=0.1
[ -n "$LIMIT_INTERVAL" ] || LIMIT_INTERVAL=10
[ -n "$LIMIT_BURST" ] || LIMIT_BURST=5

# The seal helper of the web tests fills the store with expired objects.
SEAL=$RUNBASE/seal-fixture
mkdir -p "$RUNBASE"
if ! ${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
    $(pkg-config --cflags glib-2.0 libsodium) -o "$SEAL" \
    "$TOP/tests/integration/web/seal-fixture.c" "$LIB" \
    $(pkg-config --libs gmime-3.0 libsodium glib-2.0 libxml-2.0 libcurl) \
    2> "$RUNBASE/seal-build.log"; then
	fail "the seal helper builds"; cat "$RUNBASE/seal-build.log"; finish
fi

# setup MODE: the run directory, store, configuration, servers.
setup() {
	mode=$1
	RUN=$RUNBASE/$mode
	# A store left mounted by a run that died (one mount or several on
	# top of each other) is unmounted before its directory is removed.
	i=0
	while mountpoint -q "$RUN/storefs" 2>/dev/null && [ $i -lt 10 ]; do
		say "$mode: unmounting a store left mounted by an earlier run"
		chmod -R u+rwX "$RUN/storefs" 2>/dev/null
		umount "$RUN/storefs" || umount -l "$RUN/storefs"
		i=$((i + 1))
	done
	rm -rf "$RUN"
	if [ -e "$RUN" ]; then
		echo "cannot remove $RUN"
		return 1
	fi
	mkdir -p "$RUN/pf/conf" "$RUN/pf/queue" "$RUN/pf/data" "$RUN/mail" \
		"$RUN/storefs" "$RUN/nginx/tmp" "$RUN/nginx/logs" "$RUN/web"
	chmod 755 "$RUN" "$RUN/web"
	chown 65534:65534 "$RUN/mail"
	chown postfix "$RUN/pf/data"
	chown -R www-data "$RUN/nginx"
	# The store's own file system: full when it is full, and mode
	# changes that touch nothing else.
	if [ -n "${SOAK_STORE_MB:-}" ]; then smb=$SOAK_STORE_MB
	else smb=$(python3 -c "import sys; sys.path.insert(0, '$SOAK'); import soakmsg
tot = sum(soakmsg.plan(n, '$mode', $MAXSIZE)['size'] for n in range($N))
print(int(tot * 1.25 / 1048576) + 96)"); fi
	mount -t tmpfs -o size=${smb}m,mode=0755 soakstore "$RUN/storefs" || return 1
	MOUNTED=$RUN/storefs
	STORE=$RUN/storefs/store
	STORE_MB=$smb
	mkdir -p "$STORE"
	chown "$MUSER:$MUSER" "$STORE"
	chmod 750 "$STORE"
	SOCK=$RUN/milter.sock
	CONF=$RUN/pullmail.conf
	cat > "$CONF" <<EOF
[store]
StoreDir = $STORE
MaxRetention = 90d

[log]
Level = info

[milter]
Socket = unix:$SOCK
SocketMode = 0660
SocketGroup = postfix
UserID = $MUSER
BaseURL = http://127.0.0.1:$P_HTTP/
LocalDomains = local.test
OnError = $mode
LogWhy = yes

[web]
PathPrefix = /m/

[summary]
TemplateDir = $TOP/templates
EOF
	chmod 644 "$CONF"
	make_ca > "$RUN/ca.log" 2>&1 || return 1
	start_dovecot > "$RUN/dovecot.out" 2>&1 || { cat "$RUN/dovecot.out"; return 1; }
	C=$RUN/pf/conf
	{
		postfix_main_cf "$C" "$RUN/pf/queue" "$RUN/pf/data" example.org \
			"example.net, local.test" "$RUN/mail"
		cat <<EOF
message_size_limit = 20000000
virtual_mailbox_limit = 0
milter_protocol = 6
smtpd_milters = unix:$SOCK
milter_default_action = $mode
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/dovecot/base/auth-postfix
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
in_flow_delay = 0
EOF
	} > "$C/main.cf"
	{
		for i in 0 1 2 3 4 5 6 7 8 9; do echo "r$i@example.net example.net/r$i/"; done
		for i in 0 1 2; do echo "l$i@local.test local.test/l$i/"; done
	} > "$C/vmailbox"
	{
		cat <<EOF
127.0.0.1:$P_SMTP inet n - n - - smtpd
127.0.0.1:$P_AUTH inet n - n - - smtpd
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
EOF
		postfix_daemons
	} > "$C/master.cf"
	postfix -c "$C" check > "$RUN/pf/check.log" 2>&1 || { cat "$RUN/pf/check.log"; return 1; }
	printf 'maillog_file = %s\nmaillog_file_prefixes = %s\n' \
		"$RUN/pf/maillog" "$RUN" >> "$C/main.cf"

	"$MILTER" -n -c "$CONF" > "$RUN/check.log" 2>&1 || { cat "$RUN/check.log"; return 1; }
	supervise &
	SUP_PID=$!
	i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$SOCK" ] || { cat "$RUN/milter.log"; return 1; }
	start_master "$C" "$RUN/pf/master.out" $P_SMTP $P_AUTH || return 1

	sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web/web.sock|" \
	    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
	    -e "s|error_log /dev/null;|error_log $RUN/nginx/logs/error-m.log;|" \
	    -e "/limit_req /d" \
	    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/nginx/pullmail.conf"
	cat > "$RUN/nginx/nginx.conf" <<EOF
user www-data;
daemon on;
worker_processes 2;
pid $RUN/nginx.pid;
error_log $RUN/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $RUN/nginx/tmp/body;
	fastcgi_temp_path $RUN/nginx/tmp/fastcgi;
	proxy_temp_path $RUN/nginx/tmp/proxy;
	uwsgi_temp_path $RUN/nginx/tmp/uwsgi;
	scgi_temp_path $RUN/nginx/tmp/scgi;
	# One client (wrk, the checks) on loopback: the shipped per-client
	# rate limit (limit_req) is left out of the snippet, or it would
	# answer most of the load 503.
	server {
		listen 127.0.0.1:$P_HTTP;
		server_name 127.0.0.1;
		include $RUN/nginx/pullmail.conf;
	}
}
EOF
	chown "$MUSER:www-data" "$RUN/web"
	PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web/web.sock" \
		-M 0660 -u "$MUSER" -g "$MUSER" -U www-data -G www-data \
		-P "$RUN/web.pid" -- "$WEB" -w 2 > "$RUN/web/spawn.log" 2>&1 || return 1
	nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx/start.log" || return 1
	i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	wait_port $P_HTTP
}

# supervise: the milter as pullmail-milter.service runs it: ExecStartPre
# (-n), ExecStart (-f), and after any exit RestartSec, then again, until
# the run stops. Each start and exit is noted in starts.log.
supervise() {
	trap - EXIT
	while [ ! -e "$RUN/stop" ]; do
		echo "$(date +%s.%N) start" >> "$RUN/starts.log"
		if "$MILTER" -n -c "$CONF" >> "$RUN/milter.log" 2>&1; then
			"$MILTER" -f -c "$CONF" >> "$RUN/milter.log" 2>&1 &
			echo $! > "$RUN/milter.pid"
			# The shell's "Killed" for each kill -9 goes nowhere.
			wait $! 2>/dev/null
			rc=$?
		else
			rc=$?
		fi
		echo "$(date +%s.%N) exit $rc" >> "$RUN/starts.log"
		[ -e "$RUN/stop" ] && break
		sleep "$RESTART_SEC"
	done
}

# gc_loop: pullmailctl gc every 5 s as the unit's user, as its timer would
# (only more often).
gc_loop() {
	trap - EXIT
	while [ ! -e "$RUN/stop" ]; do
		[ -e "$RUN/gc.pause" ] && { sleep 1; continue; }
		runuser -u "$MUSER" -- "$CTL" -c "$CONF" gc >> "$RUN/gc.log" 2>&1
		echo "gc exit $?" >> "$RUN/gc.log"
		sleep 5
	done
}

# wrk_loop: rounds of 10 s at 64 connections over what account.py has
# verified so far, until the load ends.
wrk_loop() {
	trap - EXIT
	r=0
	while [ ! -e "$RUN/load.done" ] && [ ! -e "$RUN/stop" ] && [ $r -lt 200 ]; do
		if [ -f "$RUN/urls" ] && [ "$(wc -l < "$RUN/urls")" -ge 10 ]; then
			r=$((r + 1))
			echo "round $r start $(date +%s.%N)" >> "$RUN/wrk.out"
			timeout 60 wrk -t 2 -c 64 -d 10s --latency -s "$SOAK/wrk.lua" \
				"http://127.0.0.1:$P_HTTP" -- "$RUN/urls" >> "$RUN/wrk.out" 2>&1
			echo "round $r end $(date +%s.%N)" >> "$RUN/wrk.out"
		else
			sleep 1
		fi
	done
}

# drain: until Postfix's queue is empty and nothing is in flight, at most
# $1 seconds.
drain() {
	end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$end" ]; do
		n=$(find "$RUN/pf/queue/incoming" "$RUN/pf/queue/active" \
			"$RUN/pf/queue/deferred" "$RUN/pf/queue/maildrop" \
			"$RUN/pf/queue/hold" -type f 2>/dev/null | wc -l)
		[ "$n" = 0 ] && return 0
		sleep 1
	done
	return 1
}

run_mode() {
	mode=$1
	say "mode $mode: $N messages, $SESSIONS sessions, each fault kind $ROUNDS time(s)"
	T0=$(date +%s)
	if ! setup "$mode"; then
		fail "$mode: the servers start"
		return
	fi
	say "$mode: store on a ${STORE_MB} MiB tmpfs; Postfix 127.0.0.1:$P_SMTP (plain) and :$P_AUTH (SASL); nginx 127.0.0.1:$P_HTTP; milter restarted as the unit says (Restart=$RESTART, RestartSec=$RESTART_SEC s, StartLimitBurst=$LIMIT_BURST in $LIMIT_INTERVAL s)"
	# The load lasts about as long as the faults need, with time before
	# and after them.
	fault_secs=$(fault_plan_seconds "$ROUNDS")
	load=${SOAK_LOAD_SECONDS:-$((fault_secs * 100 / 70))}
	rate=${SOAK_RATE:-$(python3 -c "print(max($N / $load, 1))")}
	lead=$((load * 15 / 100))
	gc_loop & GC_PID=$!
	python3 "$SOAK/account.py" watch "$RUN" "$mode" $MAXSIZE $P_HTTP "$CONF" \
		"$CTL" "$MUSER" > "$RUN/watch.out" 2>&1 &
	WATCH_PID=$!
	wrk_loop & WRK_LOOP_PID=$!
	deadline=$(($(date +%s) + load * 4 + 600))
	echo "$(date +%s.%N)" > "$RUN/load.start"
	python3 "$SOAK/submit.py" run "$RUN/submit.jsonl" $P_SMTP $P_AUTH \
		"$SASL_USER" "$SASL_PASS" $N $SESSIONS "$rate" "$mode" $MAXSIZE \
		$deadline > "$RUN/submit.out" 2>&1 &
	SUBMIT_PID=$!
	say "$mode: submitting at $rate messages/s; faults from +${lead}s"
	( trap - EXIT; sleep "$lead"; run_faults "$ROUNDS" ) &
	FAULT_PID=$!
	wait "$FAULT_PID"; FAULT_PID=
	wait "$SUBMIT_PID"; SUBMIT_PID=
	echo "$(date +%s.%N)" > "$RUN/load.end"
	cat "$RUN/submit.out"
	touch "$RUN/load.done"
	stop_pid "$WRK_LOOP_PID"; WRK_LOOP_PID=
	# Ambiguous ends: sent again only if not delivered once the queue has
	# drained.
	drain 300 || say "$mode: the queue did not drain in 300 s"
	amb=$(python3 "$SOAK/account.py" undelivered-ambiguous "$RUN" "$mode" $MAXSIZE)
	if [ -n "$amb" ]; then
		say "$mode: sending again the ambiguous ones not delivered: $amb"
		python3 "$SOAK/submit.py" send "$RUN/submit.jsonl" $P_SMTP $P_AUTH \
			"$SASL_USER" "$SASL_PASS" "$mode" $MAXSIZE \
			$(($(date +%s) + 300)) $amb >> "$RUN/submit.out" 2>&1
		drain 300
	fi
	if drain 300; then ok "$mode: Postfix's queue drained"
	else fail "$mode: Postfix's queue drained: $(find "$RUN/pf/queue/deferred" -type f | wc -l) deferred"; fi
	# The watcher sees the last deliveries, then stops; gc runs once more
	# after the temporary files of a killed milter are past their grace.
	touch "$RUN/deliveries.done"
	i=0; while kill -0 "$WATCH_PID" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.5; i=$((i + 1)); done
	stop_pid "$WATCH_PID"; WATCH_PID=
	stop_pid "$GC_PID"; GC_PID=
	last_kill=$(sed -n 's/^\([0-9]*\)[.0-9]* \(kill9\|unwritable_store\) .*/\1/p' "$RUN/faults.log" | tail -n 1)
	[ -n "$last_kill" ] && while [ $(($(date +%s) - last_kill)) -lt 65 ]; do sleep 1; done
	runuser -u "$MUSER" -- "$CTL" -c "$CONF" gc >> "$RUN/gc.log" 2>&1
	echo "gc exit $? (final)" >> "$RUN/gc.log"
	echo "$(date +%s)" > "$RUN/end"
	T1=$(date +%s)
	python3 "$SOAK/account.py" final "$RUN" "$mode" $MAXSIZE $P_HTTP "$CONF" \
		"$CTL" "$MUSER" $((T1 - T0)) "$RESTART_SEC" "$LIMIT_INTERVAL" \
		"$LIMIT_BURST" > "$RUN/final.out" 2>&1
	rc=$?
	relay_tap "$RUN/final.out" "$mode: "
	[ $rc = 0 ] || fail "$mode: the accounting ran to its end and found nothing missing (exit $rc)"
	stop_all
}

for m in $MODES; do
	case $m in tempfail|accept) run_mode "$m" ;;
	*) fail "SOAK_MODES: $m is not tempfail or accept" ;; esac
done
finish
