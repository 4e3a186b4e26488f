#!/bin/sh
# make deb-test: the Debian packages on a new Debian 12, as an administrator
# uses them. Not part of make check (it takes minutes and a package mirror).
#
#   sh tests/package/test_deb.sh            (as root, from the checkout)
#
# runs this script with --inside on a fresh Debian 12 through
# ../shared/fresh-machine/run.sh (PULLMAIL_FRESH_MACHINE names another
# path), which clones the checkout's committed HEAD. The packages cannot be
# carried into that machine, so they are built there: make deb (apt-get
# build-dep installs the build dependencies), after which the build
# dependencies are purged again so that the install shows apt resolving the
# packages' own dependencies. Then, on that machine:
#
#   - Debian's postfix and nginx are installed (without starting them), and
#     man-db (a standard server has it; systemd-analyze verify reads the
#     units' Documentation= with man);
#     apt-get install ./pullmail*.deb; the user and group pullmail, the
#     store, the configuration (a conffile, root:pullmail 0640), /run/pullmail,
#     the units enabled the Debian way (no systemd runs there: the links),
#     the cron line, and the milter's condition refusing to start without
#     BaseURL, with the installation saying so;
#   - BaseURL and SocketGroup set; the milter and pullmail-web started as
#     their units' command lines say (tests/lib/unit_exec.py: user, runtime
#     directory, the socket unit's listening socket); Postfix's submission
#     service given the milter (the packaged example's lines); nginx given
#     the packaged snippet; a message submitted (python smtplib); the summary
#     delivered to the local mailbox; the page and the original fetched
#     through nginx, the original byte for byte; gc as its unit runs it and
#     the cron line doing nothing under systemd and gc without;
#   - apt-get remove: programs and units gone, configuration, store and user
#     kept; apt-get purge: configuration gone, the store with its message
#     kept (README.Debian says why); after removing it by hand, install and
#     purge again leave nothing that was not there before the install.
#
# Prints "N passed, N failed" (the inside run's count) and exits non-zero on
# a failure. PULLMAIL_DEB_TEST_KEEP=1 keeps the machine (--keep).
set -u

if [ "${1:-}" != --inside ]; then
	TOP=$(cd "$(dirname "$0")/../.." && pwd)
	HARNESS=${PULLMAIL_FRESH_MACHINE:-$TOP/../shared/fresh-machine/run.sh}
	if [ ! -f "$HARNESS" ]; then
		echo "test_deb: $HARNESS is missing (set PULLMAIL_FRESH_MACHINE)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "test_deb: must run as root (the fresh-machine harness does)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	if [ -n "$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		echo "test_deb: note: the machine gets the committed HEAD; uncommitted changes are not tested"
	fi
	keep=
	[ "${PULLMAIL_DEB_TEST_KEEP:-0}" = 1 ] && keep=--keep
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	bash "$HARNESS" $keep --timeout 3000 "$TOP" -- \
		sh tests/package/test_deb.sh --inside 2>&1 | tee "$log"
	rc=$(sed -n 's/^fresh-machine: exit status \([0-9]*\),.*/\1/p' "$log" | tail -n 1)
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$last" ]; then
		echo "test_deb: the run on the new machine ended without its count (exit status ${rc:-none})"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "$last"
	[ "${rc:-1}" = 0 ]
	exit
fi

# ---------------------------------------------------------------- inside --
TOP=$(pwd)
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
no() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else no "$1"; fi; }
T0=$(date +%s)
lap() { echo "# $1: $(($(date +%s) - T0)) s since the start"; }
finish() {
	[ -n "${MILTER_PID:-}" ] && kill "$MILTER_PID" 2>/dev/null
	[ -n "${WEB_PID:-}" ] && kill "$WEB_PID" 2>/dev/null
	lap "end"
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
	exit
}
W=/root/deb-test
mkdir -p "$W"
export DEBIAN_FRONTEND=noninteractive
CONF=/etc/pullmail/pullmail.conf
STORE=/var/lib/pullmail/store
UNIT=/lib/systemd/system
UNIT_EXEC="python3 $TOP/tests/lib/unit_exec.py"
PKGS="pullmail pullmail-common pullmail-milter pullmail-web pullmail-send"

# --- build: make deb on this machine ----------------------------------------
if DEB_BUILD_OPTIONS=nocheck PULLMAIL_DEB_LINTIAN=0 O=$W/out make deb > "$W/make-deb.log" 2>&1; then
	ok "make deb built the packages from a clean clone ($(grep -c '\.deb$' "$W/make-deb.log") files)"
else
	no "make deb: $(tail -n 20 "$W/make-deb.log")"
	finish
fi
lap "make deb (build dependencies and build)"
DEBS=$(ls "$W"/out/deb/pullmail*_*.deb | grep -v dbgsym)
# The build dependencies go again (apt-get build-dep installed them as
# automatically installed, for a pseudo-package builddeps:pullmail): the
# install below must bring the libraries itself. Those still there after
# autoremove are purged by name (debian/control's Build-Depends).
apt-get autoremove --purge -y > "$W/purge-builddeps.log" 2>&1
if dpkg -l libgmime-3.0-0 libfcgi0ldbl libsodium23 2>/dev/null | grep -q "^ii"; then
	bd=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sed '$d' |
		sed 's/^Build-Depends://; s/([^)]*)//g; s/<[^>]*>//g' | tr ',' '\n' |
		awk '{print $1}' | grep . | sed 's/^debhelper-compat$/debhelper/')
	apt-get purge -y --autoremove $bd >> "$W/purge-builddeps.log" 2>&1
fi
check "no runtime library left from the build (libgmime-3.0-0, libfcgi0ldbl, libsodium23 absent)" \
	'! dpkg -l libgmime-3.0-0 libfcgi0ldbl libsodium23 2>/dev/null | grep -q "^ii"'

# --- the administrator's machine: Postfix and nginx, not started -----------
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string pullmail-fresh" | debconf-set-selections
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
if apt-get install -y --no-install-recommends postfix nginx python3 curl man-db \
    > "$W/deps.log" 2>&1; then
	ok "Debian's postfix and nginx installed"
else
	no "apt-get install postfix nginx: $(tail -n 10 "$W/deps.log")"
	finish
fi
rm -f /usr/sbin/policy-rc.d
lap "postfix, nginx"

# What is on the system before the packages, to compare after the purge.
snapshot() {
	find /etc /usr /lib /var /run -xdev \
		-path /var/lib/dpkg -prune -o -path /var/lib/apt -prune -o \
		-path /var/cache -prune -o -path /var/log -prune -o \
		-path /var/mail -prune -o -path /var/spool -prune -o \
		-path /var/lib/postfix -prune -o -path /var/lib/nginx -prune -o \
		-path /run/systemd -prune -o \
		-print | sort
}
snapshot > "$W/before.list"

# --- apt-get install ./pullmail*.deb ------------------------------------------
if apt-get install -y $DEBS > "$W/install.log" 2>&1; then
	ok "apt-get install ./pullmail*.deb (dependencies resolved by apt)"
else
	no "apt-get install ./pullmail*.deb: $(tail -n 20 "$W/install.log")"
	finish
fi
lap "install"
check "apt installed the libraries the packages depend on (libgmime-3.0-0, libfcgi0ldbl)" \
	'dpkg -l libgmime-3.0-0 libfcgi0ldbl | grep -c "^ii" | grep -qx 2'
check "the installation says the milter waits for BaseURL" \
	'grep -q "pullmail-milter: the milter starts once BaseURL is set" "$W/install.log"'
uid=$(id -u pullmail 2>/dev/null || echo none)
check "system user pullmail (uid $uid < 1000, no login shell, group pullmail)" \
	'[ "$uid" != none ] && [ "$uid" -lt 1000 ] &&
	 [ "$(getent passwd pullmail | cut -d: -f7)" = /usr/sbin/nologin ] &&
	 [ "$(id -gn pullmail)" = pullmail ]'
check "$STORE: pullmail:pullmail 0750 ($(stat -c '%U:%G %a' "$STORE" 2>&1))" \
	'[ "$(stat -c "%U:%G %a" "$STORE")" = "pullmail:pullmail 750" ]'
check "$CONF: root:pullmail 0640 ($(stat -c '%U:%G %a' "$CONF" 2>&1)), a conffile" \
	'[ "$(stat -c "%U:%G %a" "$CONF")" = "root:pullmail 640" ] &&
	 dpkg-query -W -f="\${Conffiles}\n" pullmail-common | grep -q " $CONF "'
check "/etc/cron.d/pullmail-gc, a conffile" \
	'dpkg-query -W -f="\${Conffiles}\n" pullmail-common | grep -q " /etc/cron.d/pullmail-gc "'
check "/run/pullmail made at installation (tmpfiles.d)" '[ -d /run/pullmail ]'
for u in pullmail-milter.service pullmail-web.socket pullmail-web.service \
    pullmail-gc.service pullmail-gc.timer; do
	check "$u installed in $UNIT, with /usr/sbin programs" \
		'[ -f "$UNIT/$u" ] && ! grep -q /usr/local "$UNIT/$u"'
done
check "enabled: pullmail-milter.service, pullmail-web.socket, pullmail-gc.timer; not the socket-started service" \
	'[ -L /etc/systemd/system/multi-user.target.wants/pullmail-milter.service ] &&
	 [ -L /etc/systemd/system/sockets.target.wants/pullmail-web.socket ] &&
	 [ -L /etc/systemd/system/timers.target.wants/pullmail-gc.timer ] &&
	 [ ! -e /etc/systemd/system/multi-user.target.wants/pullmail-web.service ]'
out=$(cd / && systemd-analyze verify $UNIT/pullmail-milter.service \
	$UNIT/pullmail-web.socket $UNIT/pullmail-web.service \
	$UNIT/pullmail-gc.service $UNIT/pullmail-gc.timer 2>&1)
check "systemd-analyze verify: the installed units, no complaint${out:+: $out}" '[ -z "$out" ]'
DROPIN=$UNIT/pullmail-milter.service.d/debian.conf
$UNIT_EXEC run "$DROPIN" ExecCondition > "$W/cond0.out" 2>&1
rc=$?
check "without BaseURL the milter's ExecCondition skips the unit (exit $rc, 1..254)" \
	'[ $rc -ge 1 ] && [ $rc -le 254 ]'
check "pullmail-send runs (--help)" 'pullmail-send --help > /dev/null 2>&1'

# --- configure as README.Debian says ---------------------------------------
BASE=http://127.0.0.1:8080
sed -i "s|^#BaseURL =.*|BaseURL = $BASE|; s|^#SocketGroup =.*|SocketGroup = postfix|" "$CONF"
$UNIT_EXEC run "$DROPIN" ExecCondition > "$W/cond1.out" 2>&1
rc=$?
check "with BaseURL set the ExecCondition lets the milter start (exit $rc)" '[ $rc = 0 ]'
$UNIT_EXEC run "$UNIT/pullmail-milter.service" ExecStartPre > "$W/pre.out" 2>&1
rc=$?
check "pullmail-milter.service's ExecStartPre (pullmail-milter -n) passes (exit $rc) $(cat "$W/pre.out")" '[ $rc = 0 ]'
setpriv --reuid=pullmail --regid=pullmail --init-groups pullmailctl check > "$W/ctlcheck.out" 2>&1
rc=$?
check "pullmailctl check as pullmail (exit $rc): $(tail -n 1 "$W/ctlcheck.out")" '[ $rc = 0 ]'

$UNIT_EXEC run "$UNIT/pullmail-milter.service" ExecStart > "$W/milter.log" 2>&1 &
MILTER_PID=$!
$UNIT_EXEC run --socket "$UNIT/pullmail-web.socket" "$UNIT/pullmail-web.service" \
	ExecStart > "$W/web.log" 2>&1 &
WEB_PID=$!
i=0
while { [ ! -S /run/pullmail/milter.sock ] || [ ! -S /run/pullmail/web.sock ]; } &&
    [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "the milter listens on /run/pullmail/milter.sock (group postfix, 0660)" \
	'[ "$(stat -c "%G %a" /run/pullmail/milter.sock 2>/dev/null)" = "postfix 660" ]'
check "pullmail-web listens on /run/pullmail/web.sock (pullmail:www-data 0660)" \
	'[ "$(stat -c "%U:%G %a" /run/pullmail/web.sock 2>/dev/null)" = "pullmail:www-data 660" ]'

# Postfix: the packaged example's main.cf lines, and a submission service on
# loopback with the milter (no TLS or SASL here: the test submits from
# 127.0.0.1, one of InternalHosts).
EX=/usr/share/doc/pullmail-milter/examples/postfix
grep -v '^#' "$EX/main.cf" >> /etc/postfix/main.cf
postconf -e maillog_file=/var/log/postfix.log
cat >> /etc/postfix/master.cf <<'EOF'
submission inet n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_milters=unix:/run/pullmail/milter.sock
  -o milter_default_action=tempfail
  -o milter_protocol=6
EOF
# nginx: the packaged snippet in a loopback site.
install -m 644 /usr/share/doc/pullmail-web/examples/nginx/pullmail.conf /etc/nginx/snippets/pullmail.conf
echo 'limit_req_zone $binary_remote_addr zone=pullmail:10m rate=10r/s;' > /etc/nginx/conf.d/pullmail-limit.conf
cat > /etc/nginx/sites-enabled/pullmail <<'EOF'
server {
	listen 127.0.0.1:8080;
	server_name localhost;
	include /etc/nginx/snippets/pullmail.conf;
}
EOF
/etc/init.d/postfix start > "$W/postfix-start.log" 2>&1
check "Postfix starts with the submission service" \
	'postfix status > /dev/null 2>&1'
nginx > "$W/nginx-start.log" 2>&1
check "nginx starts with the site $(cat "$W/nginx-start.log")" '[ -s /run/nginx.pid ]'
lap "configured and started"

# --- one message through Postfix, the milter and nginx ----------------------
python3 - "$W/orig.eml" <<'EOF'
import base64, os, sys
att = os.urandom(3000)
b64 = base64.encodebytes(att).replace(b"\n", b"\r\n")
msg = (b"From: Alice <alice@example.org>\r\n"
       b"To: root@localhost\r\n"
       b"Subject: Quarterly report (package test)\r\n"
       b"Date: Mon, 07 Dec 2026 02:00:00 +0000\r\n"
       b"Message-ID: <deb-test-1@example.org>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
       b"\r\n"
       b"--b1\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n"
       b"\r\n"
       b"The original text, unique marker 7f3c9a.\r\n"
       b"--b1\r\n"
       b"Content-Type: application/octet-stream\r\n"
       b"Content-Disposition: attachment; filename=\"report.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n"
       b"\r\n" + b64 +
       b"--b1--\r\n")
open(sys.argv[1], "wb").write(msg)
EOF
python3 - "$W/orig.eml" > "$W/submit.out" 2>&1 <<'EOF'
import smtplib, sys
msg = open(sys.argv[1], "rb").read()
with smtplib.SMTP("127.0.0.1", 587, timeout=60) as s:
    s.sendmail("alice@example.org", ["root@localhost"], msg)
print("accepted")
EOF
check "the message is accepted on the submission port ($(tail -n 1 "$W/submit.out"))" \
	'grep -q accepted "$W/submit.out"'
i=0
while ! grep -qs '^X-Pull-URL:' /var/mail/root && [ $i -lt 300 ]; do
	sleep 0.2; i=$((i + 1))
done
URL=$(sed -n 's/^X-Pull-URL: *//p' /var/mail/root 2>/dev/null | tr -d '\r' | head -n 1)
check "a summary is delivered to root's mailbox, its link under BaseURL ($URL)" \
	'case $URL in "$BASE"/m/*) true ;; *) false ;; esac'
check "the delivered mail does not carry the original text" \
	'! grep -q "unique marker 7f3c9a" /var/mail/root'
n=$(find "$STORE" -type f -name '*.pull' | wc -l)
check "one sealed object in the store ($n), owned by pullmail" \
	'[ "$n" = 1 ] && [ "$(stat -c %U "$(find "$STORE" -type f -name "*.pull")")" = pullmail ]'
code=$(curl -s -o "$W/page.html" -w '%{http_code}' "$URL")
check "the link through nginx: the page (200, the subject) [$code]" \
	'[ "$code" = 200 ] && grep -q "Quarterly report (package test)" "$W/page.html"'
code=$(curl -s -o "$W/got.eml" -w '%{http_code}' "$URL/eml")
python3 - "$W/got.eml" "$W/orig.eml" > "$W/cmp.out" 2>&1 <<'EOF'
import re, sys
got, orig = (open(p, "rb").read() for p in sys.argv[1:3])
# Postfix prepends its Received: field; the rest is the original's bytes.
if not got.endswith(orig):
    sys.exit("not the original (%d bytes, the original %d)" % (len(got), len(orig)))
pre = got[:len(got) - len(orig)]
if pre and not re.fullmatch(rb"(Received:.*\r\n([ \t].*\r\n)*)+", pre):
    sys.exit("prepended lines other than Received: %r" % pre[:200])
print("%d bytes of the original, byte for byte, under %d bytes of Received:" % (len(orig), len(pre)))
EOF
rc=$?
check "the original through nginx ($code): $(cat "$W/cmp.out")" '[ "$code" = 200 ] && [ $rc = 0 ]'
lap "message delivered and fetched"

# --- gc: the timer's service, and the cron line ------------------------------
$UNIT_EXEC run "$UNIT/pullmail-gc.service" ExecStart > "$W/gc.out" 2>&1
rc=$?
check "pullmail-gc.service's ExecStart (as pullmail) exits 0 and keeps the live message" \
	'[ $rc = 0 ] && [ "$(find "$STORE" -type f -name "*.pull" | wc -l)" = 1 ]'
# A writer's temporary file left two days ago: gc removes it.
stale=$STORE/tmp/99999.1
setpriv --reuid=pullmail --regid=pullmail --init-groups sh -c "echo x > $stale && touch -d '2 days ago' $stale"
line=$(grep -v '^#' /etc/cron.d/pullmail-gc | grep .)
cuser=$(echo "$line" | awk '{print $6}')
ccmd=$(echo "$line" | cut -d' ' -f7-)
cron_run() {
	setpriv --reuid="$cuser" --regid="$cuser" --init-groups \
		env -i HOME=/nonexistent LOGNAME="$cuser" SHELL=/bin/sh \
		PATH=/usr/bin:/bin /bin/sh -c "$ccmd"
}
mkdir -p /run/systemd/system
cron_run > "$W/cron1.out" 2>&1
rc1=$?
rmdir /run/systemd/system
check "the cron line under systemd does nothing (exit $rc1, the stale file kept)" \
	'[ $rc1 = 0 ] && [ ! -s "$W/cron1.out" ] && [ -f "$stale" ]'
cron_run > "$W/cron2.out" 2>&1
rc2=$?
check "the cron line without systemd runs gc as $cuser (exit $rc2, the stale file removed) $(cat "$W/cron2.out")" \
	'[ $rc2 = 0 ] && [ ! -e "$stale" ]'

# --- remove -----------------------------------------------------------------
# No systemd stops the services here: the administrator does.
kill "$MILTER_PID" "$WEB_PID" 2>/dev/null
wait "$MILTER_PID" "$WEB_PID" 2>/dev/null
MILTER_PID= WEB_PID=
/etc/init.d/postfix stop > /dev/null 2>&1
nginx -s quit 2>/dev/null
if apt-get remove -y $PKGS > "$W/remove.log" 2>&1; then
	ok "apt-get remove"
else
	no "apt-get remove: $(tail -n 10 "$W/remove.log")"
fi
check "after remove: no program, no unit" \
	'[ ! -e /usr/sbin/pullmail-milter ] && [ ! -e /usr/sbin/pullmail-web ] &&
	 [ ! -e /usr/sbin/pullmailctl ] && [ ! -e /usr/bin/pullmail-send ] &&
	 ! ls $UNIT/pullmail-* > /dev/null 2>&1'
check "after remove: configuration, cron line, store with its message and user kept" \
	'[ -f "$CONF" ] && [ -f /etc/cron.d/pullmail-gc ] &&
	 [ "$(find "$STORE" -type f -name "*.pull" | wc -l)" = 1 ] && id pullmail > /dev/null 2>&1'
check "after remove: dpkg lists pullmail-common as config-files (rc)" \
	'dpkg -l pullmail-common | grep -q "^rc"'

# --- purge ------------------------------------------------------------------
# apt knows only the packages dpkg still keeps configuration files of.
RC=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $PKGS 2>/dev/null |
	awk '$1 == "rc" {print $2}')
if apt-get purge -y --autoremove $RC > "$W/purge.log" 2>&1; then
	ok "apt-get purge --autoremove"
else
	no "apt-get purge: $(tail -n 10 "$W/purge.log")"
fi
check "purge says the store with messages is kept" \
	'grep -q "/var/lib/pullmail/store kept: it holds 1 sealed message," "$W/purge.log"'
check "after purge: /etc/pullmail, the cron line and the statoverride gone" \
	'[ ! -e /etc/pullmail ] && [ ! -e /etc/cron.d/pullmail-gc ] &&
	 ! dpkg-statoverride --list | grep -q pullmail'
check "after purge: the store with its message kept, the user kept" \
	'[ "$(find "$STORE" -type f -name "*.pull" | wc -l)" = 1 ] && id pullmail > /dev/null 2>&1'
check "after purge: no unit enabled (no link left)" \
	'! find /etc/systemd/system -name "pullmail*" | grep -q .'
check "after purge: dpkg has no pullmail package, installed or configured" \
	'! dpkg-query -W -f="\${db:Status-Abbrev}\n" $PKGS 2>/dev/null | grep -qv "^un"'

# --- again with an empty store: nothing left ----------------------------------
rm -rf /var/lib/pullmail
if apt-get install -y $DEBS > "$W/install2.log" 2>&1 &&
    apt-get purge -y --autoremove $PKGS > "$W/purge2.log" 2>&1; then
	ok "install over the kept user, then purge"
else
	no "second install and purge: $(tail -n 10 "$W/install2.log" "$W/purge2.log" 2>/dev/null)"
fi
# The administrator's own files of the web server go too.
rm -f /etc/nginx/snippets/pullmail.conf /etc/nginx/conf.d/pullmail-limit.conf \
	/etc/nginx/sites-enabled/pullmail
snapshot > "$W/after.list"
diff "$W/before.list" "$W/after.list" > "$W/left.diff"
check "after purge of an empty store: the files are those before the install$(sed -n 's/^[<>] / /p' "$W/left.diff" | head -n 20 | tr '\n' ',')" \
	'[ ! -s "$W/left.diff" ]'
finish
