#!/bin/sh
# contrib/systemd/: the five units as an administrator installs them. After
# `make install DESTDIR=$ROOT`, the units go to $ROOT/etc/systemd/system and
# `systemd-analyze verify --root=$ROOT` checks each (syntax, programs
# present at the named paths, man pages of Documentation= installed). Then
# what each unit runs is run, parsed out of the unit files by
# tests/lib/unit_exec.py (the same environment, user, umask, runtime
# directory and, for pullmail-web, the listening socket on standard input
# that pullmail-web.socket hands it): pullmail-gc.service deletes an expired
# object and keeps a live one; pullmail-milter.service's checks pass, the
# milter negotiates on its socket with Postfix's account, reloads with
# ExecReload and stops on SIGTERM; pullmail-web.service answers a FastCGI
# request (cgi-fcgi) on pullmail-web.socket's socket. No TCP port: unix
# sockets under the run directory only. systemd is not the service manager
# here, so nothing is started with systemctl. Ends with "N passed, N failed".
NAME=test_contrib_systemd
. "$(pwd)/tests/lib/contrib.sh"

UNITS="pullmail-gc.service pullmail-gc.timer pullmail-milter.service
pullmail-web.service pullmail-web.socket"
U=$ROOT/etc/systemd/system
mkdir -p "$U"
for u in $UNITS; do
	install -m 644 "$TOP/contrib/systemd/$u" "$U/$u"
done
get() { $UNIT_EXEC get "$U/$1" "$2" "$3"; }

for prog in systemd-analyze cgi-fcgi setpriv; do
	if ! command -v $prog >/dev/null 2>&1; then
		fail "$prog is installed (make deps)"
		finish
	fi
done

# --- systemd-analyze verify inside the installed tree -----------------------
# It resolves every path under --root: systemd's own units (sysinit.target
# and the rest) and the programs the units name that are not pullmail's
# (/bin/kill) are copied in from this system; pullmail's come from make
# install only.
mkdir -p "$ROOT/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
for u in $UNITS; do
	for key in ExecStartPre ExecStart ExecReload ExecStop; do
		get "$u" Service "$key" 2>/dev/null | while read -r line; do
			p=$(echo "$line" | sed -E 's/^[-@:+!]*//; s/[[:space:]].*//')
			case $p in
			/usr/local/*) ;;	# make install's, never copied
			/*)
				if [ ! -e "$ROOT$p" ] && [ -x "$p" ]; then
					mkdir -p "$(dirname "$ROOT$p")"
					cp "$p" "$ROOT$p"
				fi ;;
			esac
		done
	done
done
for u in $UNITS; do
	out=$(cd "$ROOT" && MANPATH=$ROOT/usr/local/share/man \
		systemd-analyze verify --root="$ROOT" "$U/$u" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify $u: no complaint"
	else
		fail "systemd-analyze verify $u (exit $rc): $out"
	fi
done

# rw_covers UNIT PATH: PATH lies under one of UNIT's ReadWritePaths= (with
# ProtectSystem=strict nothing else is writable).
rw_covers() {
	for d in $(get "$1" Service ReadWritePaths); do
		case $2/ in "${d%/}"/*) return 0 ;; esac
	done
	return 1
}
DEF_STORE=$(sed -n 's/^#*StoreDir = //p' "$TOP/contrib/pullmail.conf")
DEF_SOCKET=$(sed -n '/^\[milter\]/,/^\[/s/^#*Socket = unix://p' "$TOP/contrib/pullmail.conf")

# --- pullmail-gc.timer ------------------------------------------------------
cal=$(get pullmail-gc.timer Timer OnCalendar)
if [ -n "$cal" ] && systemd-analyze calendar "$cal" > "$RUN/calendar.out" 2>&1 &&
    grep -q 'Normalized form: \*-\*-\* 00:00:00' "$RUN/calendar.out"; then
	ok "pullmail-gc.timer: OnCalendar=$cal is once a day"
else
	fail "pullmail-gc.timer: OnCalendar=$cal is not daily: $(cat "$RUN/calendar.out")"
fi
target=$(get pullmail-gc.timer Timer Unit || echo pullmail-gc.service)
if [ -f "$U/$target" ] && [ "$(get "$target" Service Type)" = oneshot ]; then
	ok "pullmail-gc.timer starts $target, a shipped oneshot service"
else
	fail "pullmail-gc.timer starts $target, which is not a shipped oneshot service"
fi

# --- pullmail-gc.service ----------------------------------------------------
printf 'From: a@example.org\nTo: b@example.net\nSubject: gc\n\nbody\n' > "$RUN/m.eml"
seal "$RUN/m.eml" live
LIVE=$OBJ
seal "$RUN/m.eml" expired
EXPIRED=$OBJ
if [ -f "$LIVE" ] && [ -f "$EXPIRED" ]; then
	ok "a live and an expired object in the store"
else
	fail "sealing the fixtures (live '$LIVE', expired '$EXPIRED')"
	finish
fi
if rw_covers pullmail-gc.service "$DEF_STORE"; then
	ok "pullmail-gc.service may write the default StoreDir $DEF_STORE"
else
	fail "pullmail-gc.service: $DEF_STORE is outside its ReadWritePaths"
fi
echo "# pullmail-gc.service runs: $($UNIT_EXEC run --dry-run --root "$ROOT" \
	"$U/pullmail-gc.service" ExecStart | tr '\n' ' ')"
$UNIT_EXEC run --root "$ROOT" $USER_MAP --env PULLMAIL_CONFIG="$CONF" \
	"$U/pullmail-gc.service" ExecStart > "$RUN/gc.out" 2>&1
rc=$?
if [ $rc = 0 ] && [ ! -e "$EXPIRED" ] && [ -f "$LIVE" ]; then
	ok "pullmail-gc.service's ExecStart deleted the expired object, kept the live one"
else
	fail "pullmail-gc.service's ExecStart (exit $rc; expired there: $([ -e "$EXPIRED" ] && echo yes || echo no); live there: $([ -f "$LIVE" ] && echo yes || echo no)): $(cat "$RUN/gc.out")"
fi

# --- pullmail-milter.service ------------------------------------------------
# The unit's RuntimeDirectory must hold the default socket, and Postfix's
# account must be able to reach it there.
rdir=$(get pullmail-milter.service Service RuntimeDirectory)
if [ -n "$rdir" ] && [ "$(dirname "$DEF_SOCKET")" = "/run/$rdir" ] &&
    rw_covers pullmail-milter.service "$DEF_STORE"; then
	ok "pullmail-milter.service: RuntimeDirectory=$rdir holds $DEF_SOCKET; the store is writable"
else
	fail "pullmail-milter.service: RuntimeDirectory=$rdir, default socket $DEF_SOCKET, ReadWritePaths $(get pullmail-milter.service Service ReadWritePaths)"
fi
# A store that stays unusable makes each start fail at once (exit 73):
# the unit restarts it whatever the cause, paced so that systemd's start
# limit is never reached (tests/soak/soak.sh restarts the milter at this
# pace and shows it coming back once the store is writable again).
restart=$(get pullmail-milter.service Service Restart)
rsec=$(get pullmail-milter.service Service RestartSec | sed 's/s$//')
lint=$(get pullmail-milter.service Unit StartLimitIntervalSec | sed 's/s$//')
lburst=$(get pullmail-milter.service Unit StartLimitBurst)
if [ "$restart" = always ] && [ -n "$rsec" ] && [ "$rsec" -ge 1 ] &&
    [ -n "$lint" ] && [ -n "$lburst" ] && [ $((lint / rsec + 1)) -lt "$lburst" ]; then
	ok "pullmail-milter.service: Restart=always every ${rsec} s: at most $((lint / rsec + 1)) starts in ${lint} s, under StartLimitBurst=$lburst"
else
	fail "pullmail-milter.service: Restart=$restart RestartSec=$rsec StartLimitIntervalSec=$lint StartLimitBurst=$lburst: a failing store would exhaust the start limit"
fi
MSOCK=$ROOT/run/pullmail/milter.sock
$UNIT_EXEC run --root "$ROOT" --env PULLMAIL_CONFIG="$CONF" \
	"$U/pullmail-milter.service" ExecStartPre > "$RUN/milter-pre.out" 2>&1
rc=$?
if [ $rc = 0 ]; then
	ok "pullmail-milter.service's ExecStartPre (the check) passes"
else
	fail "pullmail-milter.service's ExecStartPre: exit $rc: $(cat "$RUN/milter-pre.out")"
fi
$UNIT_EXEC run --root "$ROOT" --env PULLMAIL_CONFIG="$CONF" \
	"$U/pullmail-milter.service" ExecStart > "$RUN/milter.log" 2>&1 &
MILTER_PID=$!
PIDS="$PIDS $MILTER_PID"
i=0
while [ ! -S "$MSOCK" ] && [ $i -lt 100 ] && kill -0 $MILTER_PID 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done

# optneg: the milter protocol's first exchange, as Postfix (protocol 6,
# every action offered) over the socket, run as Postfix's account. Prints
# the actions the milter asked for.
optneg() {
	setpriv --reuid=postfix --regid=postfix --init-groups /usr/bin/python3 - "$MSOCK" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
body = b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
s.sendall(struct.pack(">I", len(body)) + body)
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("connection closed")
        b += c
    return b
n, = struct.unpack(">I", recvn(4))
reply = recvn(n)
if reply[:1] != b"O" or len(reply) < 13:
    sys.exit("reply %r" % reply[:1])
ver, actions, proto = struct.unpack(">III", reply[1:13])
q = b"Q"
s.sendall(struct.pack(">I", len(q)) + q)
print(actions)
EOF
}
# SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_CHGHDRS
NEED=$((0x01 | 0x02 | 0x10))
acts=$(optneg 2> "$RUN/optneg.err")
if [ -n "$acts" ] && [ $((acts & NEED)) = $NEED ]; then
	ok "pullmail-milter.service's ExecStart: the milter negotiates with Postfix's account on its socket"
else
	fail "milter negotiation on $MSOCK: '$acts' $(cat "$RUN/optneg.err") $(cat "$RUN/milter.log")"
fi
if [ "$(stat -c %a "$(dirname "$MSOCK")")" != "" ] &&
    setpriv --reuid=postfix --regid=postfix --init-groups test -x "$(dirname "$MSOCK")"; then
	ok "Postfix's account can enter RuntimeDirectory $rdir (mode $(get pullmail-milter.service Service RuntimeDirectoryMode))"
else
	fail "Postfix's account cannot enter /run/$rdir (RuntimeDirectoryMode $(get pullmail-milter.service Service RuntimeDirectoryMode))"
fi
$UNIT_EXEC run --root "$ROOT" --env MAINPID=$MILTER_PID \
	"$U/pullmail-milter.service" ExecReload > "$RUN/reload.out" 2>&1
rc=$?
i=0
while ! grep -q 'reloaded' "$RUN/milter.log" && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
acts=$(optneg 2> "$RUN/optneg.err")
if [ $rc = 0 ] && kill -0 $MILTER_PID 2>/dev/null &&
    grep -q 'reloaded' "$RUN/milter.log" && [ -n "$acts" ]; then
	ok "pullmail-milter.service's ExecReload: the milter reloads and still answers"
else
	fail "pullmail-milter.service's ExecReload (exit $rc): $(cat "$RUN/reload.out") $(tail -5 "$RUN/milter.log")"
fi
# systemd stops a unit without ExecStop= with SIGTERM.
kill -0 $MILTER_PID 2>/dev/null || fail "the milter was no longer running before SIGTERM"
kill -TERM $MILTER_PID 2>/dev/null
i=0
while kill -0 $MILTER_PID 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
if kill -0 $MILTER_PID 2>/dev/null; then
	fail "the milter did not stop within 10 s of SIGTERM"
else
	wait $MILTER_PID
	rc=$?
	# pullmail-milter finishes cleanly on SIGTERM: exit 0 and "stopping"
	# logged (death by the signal would also satisfy systemd, not the man page).
	case $rc in
	0) if grep -q stopping "$RUN/milter.log"; then
		ok "the milter stops on SIGTERM (exit 0, 'stopping' logged)"
	   else
		fail "the milter exited 0 on SIGTERM without logging 'stopping'"
	   fi ;;
	*) fail "the milter exited $rc on SIGTERM" ;;
	esac
fi

# --- pullmail-web.socket + pullmail-web.service -----------------------------
lsock=$(get pullmail-web.socket Socket ListenStream)
nginx_sock=$(sed -n 's/^[[:space:]]*fastcgi_pass unix:\(.*\);/\1/p' "$TOP/contrib/nginx/pullmail.conf" | head -n 1)
if [ "$lsock" = "$nginx_sock" ]; then
	ok "pullmail-web.socket listens where contrib/nginx/pullmail.conf connects ($lsock)"
else
	fail "pullmail-web.socket ListenStream=$lsock, contrib/nginx fastcgi_pass unix:$nginx_sock"
fi
if rw_covers pullmail-web.service "$DEF_STORE"; then
	ok "pullmail-web.service may write the default StoreDir (keep moves the expiry)"
else
	fail "pullmail-web.service: $DEF_STORE is outside its ReadWritePaths"
fi
seal "$TOP/tests/data/web_sample.eml" live
WSOCK=$ROOT$lsock
$UNIT_EXEC run --root "$ROOT" $USER_MAP --socket "$U/pullmail-web.socket" \
	"$U/pullmail-web.service" ExecStart > "$RUN/web.log" 2>&1 &
WEB_PID=$!
PIDS="$PIDS $WEB_PID"
i=0
while [ ! -S "$WSOCK" ] && [ $i -lt 100 ] && kill -0 $WEB_PID 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
# fcgi_get PATH: one FastCGI request as nginx (www-data) would send it.
fcgi_get() {
	setpriv --reuid=www-data --regid=www-data --init-groups \
		env -i REQUEST_METHOD=GET REQUEST_URI="$1" SCRIPT_NAME="$1" \
		HTTP_HOST=pull.example.org SERVER_PORT=443 HTTPS=on \
		SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
		cgi-fcgi -bind -connect "$WSOCK" < /dev/null
}
fcgi_get "/m/$TOKEN" > "$RUN/page.out" 2> "$RUN/page.err"
if head -n 1 "$RUN/page.out" | grep -q '^Status: 200' &&
    grep -q 'Relatório trimestral' "$RUN/page.out"; then
	ok "pullmail-web.service on pullmail-web.socket's socket: the page (200, the subject)"
else
	fail "the page through $WSOCK: $(head -c 400 "$RUN/page.out") $(cat "$RUN/page.err") $(cat "$RUN/web.log")"
fi
fcgi_get "/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" > "$RUN/404.out" 2>&1
if head -n 1 "$RUN/404.out" | grep -q '^Status: 404'; then
	ok "pullmail-web.service: an unknown token is a 404"
else
	fail "unknown token: $(head -c 300 "$RUN/404.out")"
fi
if kill -0 $WEB_PID 2>/dev/null; then
	ok "pullmail-web serves on after the requests (one process, FastCGI)"
else
	fail "pullmail-web exited: $(cat "$RUN/web.log")"
fi
finish
