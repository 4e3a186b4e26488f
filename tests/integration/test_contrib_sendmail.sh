#!/bin/sh
# contrib/sendmail/pullmail.mc: Sendmail's own m4 macros (Debian package
# sendmail-cf) turn a minimal sendmail.mc that includes the shipped lines
# into a real sendmail.cf; its X line (socket, F=T, timeouts) and milter
# macros are checked. Then a real Sendmail: sendmail-bin cannot be installed
# beside Postfix, so its .deb is fetched with `apt-get download` (kept in
# run/contrib-it/debs) and unpacked into the run directory; `sendmail -bs
# -C` with the generated file talks SMTP on its standard input to a real
# pullmail-milter: the queued message is the summary with X-Pull-URL, the
# original opens from the store with that link; with the milter stopped,
# F=T makes Sendmail answer 4xx. Sendmail runs in its own UTS and mount
# namespaces so that its host name and /etc/hosts are the test's (it waits
# for a qualified host name otherwise). Only the socket path is changed in
# the generated file. No TCP port. Ends with "N passed, N failed".
TOP=$(pwd)
O=${O:-.}
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/contrib-it/test_contrib_sendmail
DEBS=$B/run/contrib-it/debs
MILTER=$B/milter/pullmail-milter
CTL=$B/tools/pullmailctl
MC=$TOP/contrib/sendmail/pullmail.mc
CFM4=/usr/share/sendmail/cf/m4/cf.m4
. "$TOP/tests/lib/harness.sh"
MILTER_PID=
SMDIR=
stop_on_exit MILTER_PID

if [ "$(id -u)" != 0 ]; then
	fail "test_contrib_sendmail needs root (sendmail -C, namespaces)"
	finish
fi
if ! command -v m4 >/dev/null 2>&1 || [ ! -f "$CFM4" ]; then
	fail "m4 and Sendmail's cf macros ($CFM4, package sendmail-cf) are installed (make deps)"
	finish
fi
for f in "$MILTER" "$CTL"; do
	[ -x "$f" ] || { fail "$f is built"; finish; }
done
rm -rf "$RUN"
mkdir -p "$RUN" "$RUN/store" "$DEBS"
chmod 755 "$RUN"
# The socket and the queue: Sendmail refuses a socket or queue whose path
# has a group- or world-writable directory (as /tmp is, for an O under it).
SMDIR=$(mktemp -d /run/pullmail-sendmail-test.XXXXXX)
remove_on_exit "$SMDIR"
chmod 755 "$SMDIR"
mkdir -m 700 "$SMDIR/queue"

# --- sendmail.cf from the shipped lines ------------------------------------
cat > "$RUN/test.mc" <<EOF
divert(-1)
include(\`$CFM4')
divert(0)dnl
VERSIONID(\`pullmail test')dnl
OSTYPE(\`linux')dnl
dnl Paths of this test only; then the shipped lines.
define(\`QUEUE_DIR', \`$SMDIR/queue')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`STATUS_FILE', \`$RUN/statistics')dnl
define(\`confHELP_FILE', \`')dnl
define(\`confPID_FILE', \`$RUN/sendmail.pid')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$RUN/service.switch')dnl
define(\`confHOSTS_FILE', \`$RUN/hosts')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
include(\`$MC')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
if m4 "$RUN/test.mc" > "$RUN/sendmail.cf" 2> "$RUN/m4.err" && [ ! -s "$RUN/m4.err" ]; then
	ok "m4 with Sendmail's cf macros builds a sendmail.cf that includes pullmail.mc"
else
	fail "m4 of a sendmail.mc with pullmail.mc: $(cat "$RUN/m4.err")"
	finish
fi
DEF_SOCK=$(sed -n '/^\[milter\]/,/^\[/s/^#*Socket = //p' "$TOP/contrib/pullmail.conf")
python3 - "$RUN/sendmail.cf" "$DEF_SOCK" > "$RUN/xline.out" 2>&1 <<'EOF'
import re, sys
cf, sock = sys.argv[1:3]
lines = open(cf, encoding="latin-1").read().splitlines()
bad = []
xs = [l for l in lines if l.startswith("X")]
if len(xs) != 1:
    sys.exit("%d X lines, expected one: %r" % (len(xs), xs))
name, _, rest = xs[0][1:].partition(",")
fields = dict(f.strip().split("=", 1) for f in rest.split(",") if f.strip())
print("X line: " + xs[0])
if name != "pullmail":
    bad.append("filter name %r" % name)
if fields.get("S") != sock:
    bad.append("S=%s, not the default Socket %s" % (fields.get("S"), sock))
if fields.get("F") != "T":
    bad.append("F=%s, not T (tempfail when the milter is down)" % fields.get("F"))
t = dict(p.split(":", 1) for p in fields.get("T", "").split(";") if ":" in p)
for k in "CSRE":
    if not re.fullmatch(r"\d+[smhd]?", t.get(k, "")):
        bad.append("T= has no valid %s: timeout (%r)" % (k, fields.get("T")))
opts = dict(l[2:].split("=", 1) for l in lines if l.startswith("O ") and "=" in l)
if opts.get("InputMailFilters") != "pullmail":
    bad.append("InputMailFilters=%r" % opts.get("InputMailFilters"))
need = {"connect": ["{daemon_name}", "{client_addr}"],
        "envfrom": ["i", "{auth_authen}", "{auth_type}"]}
for stage, names in need.items():
    got = [m.strip() for m in opts.get("Milter.macros." + stage, "").split(",")]
    for n in names:
        if n not in got:
            bad.append("Milter.macros.%s lacks %s" % (stage, n))
    if len(got) != len(set(got)):
        bad.append("Milter.macros.%s names a macro twice: %s" % (stage, got))
if bad:
    sys.exit("; ".join(bad))
EOF
if [ $? = 0 ]; then
	ok "sendmail.cf: $(head -n 1 "$RUN/xline.out"), InputMailFilters=pullmail, the milter's macros"
else
	fail "sendmail.cf's milter lines: $(cat "$RUN/xline.out")"
fi
SOCK=$SMDIR/milter.sock
sed -i "s|S=$DEF_SOCK,|S=unix:$SOCK,|" "$RUN/sendmail.cf"

# --- a real Sendmail --------------------------------------------------------
deb=$(ls "$DEBS"/sendmail-bin_*.deb 2>/dev/null | tail -n 1)
if [ -z "$deb" ]; then
	(cd "$DEBS" && apt-get download sendmail-bin) > "$RUN/download.log" 2>&1
	deb=$(ls "$DEBS"/sendmail-bin_*.deb 2>/dev/null | tail -n 1)
fi
SENDMAIL=$RUN/sendmail-bin/usr/libexec/sendmail/sendmail
if [ -n "$deb" ] && dpkg-deb -x "$deb" "$RUN/sendmail-bin" && [ -x "$SENDMAIL" ]; then
	ok "sendmail-bin unpacked from $(basename "$deb")"
else
	fail "sendmail-bin: apt-get download and dpkg-deb -x: $(tail -3 "$RUN/download.log" 2>/dev/null)"
	finish
fi
printf '127.0.0.1 mx.example.org localhost\n' > "$RUN/hosts"
printf 'hosts files\naliases files\n' > "$RUN/service.switch"

MUSER=nobody
id pullmail >/dev/null 2>&1 && MUSER=pullmail
chown "$MUSER" "$RUN/store"
chmod 750 "$RUN/store"
CONF=$RUN/pullmail.conf
cat > "$CONF" <<EOF
[store]
StoreDir = $RUN/store

[log]
Level = debug

[milter]
Socket = unix:$SOCK
UserID = $MUSER
BaseURL = https://pull.example.org/
LogWhy = yes

[summary]
TemplateDir = $TOP/templates
EOF
"$MILTER" -f -c "$CONF" > "$RUN/milter.log" 2>&1 &
MILTER_PID=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ] && kill -0 $MILTER_PID 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
[ -S "$SOCK" ] || { fail "pullmail-milter listens on $SOCK: $(cat "$RUN/milter.log")"; finish; }

# The SMTP client on Sendmail's standard input and output: waits for each
# reply (Sendmail refuses a client that talks before its greeting).
cat > "$RUN/smtp.py" <<'EOF'
import subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def reply():
    while True:
        l = p.stdout.readline().decode("utf-8", "replace")
        if not l:
            return "EOF"
        print("< " + l.rstrip())
        if len(l) >= 4 and l[3] == " ":
            return l[:3]
def send(s):
    print("> " + s.splitlines()[0])
    p.stdin.write(s.encode() + b"\r\n")
    p.stdin.flush()
reply()
for c in ["EHLO client.example.org", "MAIL FROM:<alice@example.org>",
          "RCPT TO:<bob@example.net>", "DATA"]:
    send(c)
    code = reply()
    if code[0] not in "23":
        break
else:
    send("From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
         "Date: Tue, 01 Dec 2026 08:00:00 +0000\r\n"
         "Subject: Through Sendmail\r\n\r\n"
         "This line of the original must stay in the store.\r\n.")
    code = reply()
    print("result " + code)
send("QUIT")
reply()
p.stdin.close()
sys.exit(p.wait())
EOF
smtp_dialogue() {
	timeout 120 unshare --uts --mount sh -c "mount --bind '$RUN/hosts' /etc/hosts &&
		hostname mx.example.org &&
		exec python3 '$RUN/smtp.py' '$SENDMAIL' -bs -C '$RUN/sendmail.cf'"
}
smtp_dialogue > "$RUN/dialogue1.out" 2>&1
qf=$(ls "$SMDIR"/queue/qf* 2>/dev/null | head -n 1)
df=$(ls "$SMDIR"/queue/df* 2>/dev/null | head -n 1)
url=$([ -n "$qf" ] && sed -n 's/^H??X-Pull-URL: //p' "$qf")
nobj=$(find "$RUN/store" -name '*.pull' -type f | wc -l | tr -d ' ')
if grep -q '^result 250' "$RUN/dialogue1.out" && [ -n "$df" ] &&
    [ "${url#https://pull.example.org/m/}" != "$url" ] &&
    ! grep -q 'must stay in the store' "$qf" "$df" && [ "$nobj" = 1 ]; then
	ok "sendmail -bs through pullmail-milter: the queued message is the summary with X-Pull-URL, one object stored"
else
	fail "sendmail -bs through pullmail-milter (objects: $nobj, X-Pull-URL: '$url'): $(tail -8 "$RUN/dialogue1.out") $(tail -3 "$RUN/milter.log")"
fi
# Sendmail agrees to every step pullmail keeps silent (SMFIP_NR_*).
if grep -q 'no reply in 6 of the 6 steps' "$RUN/milter.log"; then
	ok "Sendmail negotiated all six no-reply steps"
else
	fail "Sendmail negotiated all six no-reply steps: $(grep negotiated "$RUN/milter.log" | head -n 1)"
fi
if [ -n "$url" ] && "$CTL" -c "$CONF" show "$url" --raw > "$RUN/original.eml" 2> "$RUN/show.err" &&
    grep -q 'This line of the original must stay in the store.' "$RUN/original.eml" &&
    grep -q '^Subject: Through Sendmail' "$RUN/original.eml"; then
	ok "the link in the queued summary opens the original from the store"
else
	fail "pullmailctl show of the queued summary's link: $(cat "$RUN/show.err")"
fi

stop_pid "$MILTER_PID"
MILTER_PID=
rm -f "$SOCK"
smtp_dialogue > "$RUN/dialogue2.out" 2>&1
if grep -q '^< 451 4\.' "$RUN/dialogue2.out" && ! grep -q '^result 250' "$RUN/dialogue2.out"; then
	ok "milter stopped: F=T makes Sendmail answer 451 and take nothing"
else
	fail "milter stopped: $(tail -8 "$RUN/dialogue2.out")"
fi
finish
