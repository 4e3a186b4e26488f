#!/bin/sh
# contrib/cron/pullmail-gc, the /etc/cron.d file for systems without
# systemd: its name and lines are what cron(8) accepts, it runs once a day,
# and its command, run the way cron runs it (/bin/sh -c as the file's user,
# cron's PATH) against a make install tree, deletes an expired object and
# keeps a live one. Ends with "N passed, N failed".
NAME=test_contrib_cron
. "$(pwd)/tests/lib/contrib.sh"
CRON=$TOP/contrib/cron/pullmail-gc

# cron.d ignores files whose names have characters other than letters,
# digits, "_" and "-", and a last line without a newline.
if basename "$CRON" | grep -Eq '^[A-Za-z0-9_-]+$'; then
	ok "the file's name is one cron.d reads"
else
	fail "cron.d ignores a file named $(basename "$CRON")"
fi
if [ "$(tail -c 1 "$CRON" | od -An -c | tr -d ' ')" = '\n' ]; then
	ok "the file ends with a newline"
else
	fail "the last line has no newline: cron ignores it"
fi

# The one job line: five time fields, a user, the command.
python3 - "$CRON" > "$RUN/job" 2> "$RUN/job.err" <<'EOF'
import re, sys
ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
jobs = []
for line in open(sys.argv[1], encoding="utf-8"):
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", s):
        continue  # an environment setting
    f = s.split(None, 6)
    if len(f) < 7:
        sys.exit("a job line needs 5 time fields, a user and a command: " + s)
    for v, (lo, hi) in zip(f[:5], ranges):
        for part in v.split(","):
            m = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
            if not m:
                sys.exit("bad time field " + v)
            for n in re.findall(r"\d+", m.group(1)):
                if not lo <= int(n) <= hi:
                    sys.exit("time field %s out of %d-%d" % (v, lo, hi))
    jobs.append(f)
if len(jobs) != 1:
    sys.exit("%d job lines, expected one" % len(jobs))
f = jobs[0]
daily = f[0].isdigit() and f[1].isdigit() and f[2:5] == ["*", "*", "*"]
print("daily" if daily else "not-daily")
print(f[5])
print(f[6])
EOF
if [ $? = 0 ]; then
	ok "one job line with valid time fields: $(sed -n 3p "$RUN/job")"
else
	fail "the job line: $(cat "$RUN/job.err")"
	finish
fi
[ "$(sed -n 1p "$RUN/job")" = daily ] && ok "it runs once a day" ||
	fail "it does not run once a day"
user=$(sed -n 2p "$RUN/job")
cmd=$(sed -n 3p "$RUN/job")
if [ "$user" = pullmail ]; then
	ok "it runs as pullmail, the store's owner"
else
	fail "it runs as $user, not pullmail (the store's owner)"
fi
[ "$user" = pullmail ] && user=$SVC_USER
line=$(grep -Ev '^[[:space:]]*(#|$)' "$CRON")
if grep -qxF "$line" "$TOP/man/pullmailctl.8"; then
	ok "pullmailctl(8) shows the same line"
else
	fail "pullmailctl(8) shows another cron line than contrib/cron/pullmail-gc ($line)"
fi
case $cmd in
/usr/local/sbin/pullmailctl\ *) ok "it runs pullmailctl where make install puts it" ;;
*) fail "the command is not /usr/local/sbin/pullmailctl: $cmd" ;;
esac

printf 'From: a@example.org\nTo: b@example.net\nSubject: gc\n\nbody\n' > "$RUN/m.eml"
seal "$RUN/m.eml" live
LIVE=$OBJ
seal "$RUN/m.eml" expired
EXPIRED=$OBJ
if [ ! -f "$LIVE" ] || [ ! -f "$EXPIRED" ]; then
	fail "sealing the fixtures (live '$LIVE', expired '$EXPIRED')"
	finish
fi
# As cron runs it, with the installed tree's paths under $ROOT and the
# configuration that stands in for /etc/pullmail/pullmail.conf.
run_cmd=$(printf '%s' "$cmd" | sed "s|/usr/local/|$ROOT/usr/local/|g")
echo "# runs as $user: $run_cmd"
setpriv --reuid="$user" --regid="$(id -gn "$user")" --init-groups \
	env -i HOME=/ LOGNAME="$user" SHELL=/bin/sh PATH=/usr/bin:/bin \
	PULLMAIL_CONFIG="$CONF" /bin/sh -c "$run_cmd" > "$RUN/gc.out" 2> "$RUN/gc.err"
rc=$?
if [ $rc = 0 ] && [ ! -e "$EXPIRED" ] && [ -f "$LIVE" ]; then
	ok "the cron command deleted the expired object and kept the live one"
else
	fail "the cron command (exit $rc; expired there: $([ -e "$EXPIRED" ] && echo yes || echo no); live there: $([ -f "$LIVE" ] && echo yes || echo no)): $(cat "$RUN/gc.err")"
fi
# cron mails whatever a job prints: a run with nothing to do prints nothing.
setpriv --reuid="$user" --regid="$(id -gn "$user")" --init-groups \
	env -i HOME=/ LOGNAME="$user" SHELL=/bin/sh PATH=/usr/bin:/bin \
	PULLMAIL_CONFIG="$CONF" /bin/sh -c "$run_cmd" > "$RUN/gc2.out" 2>&1
rc=$?
if [ $rc = 0 ] && [ ! -s "$RUN/gc2.out" ]; then
	ok "a run with nothing to do prints nothing (cron mails no one)"
else
	fail "a quiet run (exit $rc) printed: $(cat "$RUN/gc2.out")"
fi
finish
