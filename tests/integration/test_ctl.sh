#!/bin/sh
# pullmailctl, the real binary: exit codes, usage errors, --json output
# (parsed with python3), gc/list/stats/revoke/keep/show/check on a store
# filled through the real sealing path (tests/unit/test_ctl populate).
O=${O:-.}
CTL=$O/tools/pullmailctl
POP=$O/tests/unit/test_ctl
RUN=$O/run/ctl
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

for f in "$CTL" "$POP"; do
	if [ ! -x "$f" ]; then
		fail "$f is not built (make O=$O tests)"
		finish
	fi
done
rm -rf "$RUN"
mkdir -p "$RUN/store" || { fail "mkdir $RUN"; finish; }
chmod 0750 "$RUN/store"
CONF=$RUN/pullmail.conf
printf '[store]\nStoreDir = %s\nMaxRetention = 90d\n\n[milter]\nUserID = %s\n' \
	"$RUN/store" "$(id -un)" > "$CONF"
OUT=$RUN/out
ERR=$RUN/err
ALL=$RUN/all-output

# run EXPECTED_STATUS NAME ARGS...: runs pullmailctl, keeps stdout/stderr.
run() {
	want=$1; name=$2; shift 2
	"$CTL" "$@" > "$OUT" 2> "$ERR"
	rc=$?
	cat "$OUT" "$ERR" >> "$ALL"
	if [ "$rc" = "$want" ]; then
		ok "$name (exit $rc)"
		return 0
	fi
	fail "$name: exit $rc, expected $want; stderr: $(head -c 300 "$ERR")"
	return 1
}

# has FILE TEXT NAME
has() {
	if grep -qF -- "$2" "$1"; then ok "$3"; else fail "$3: no \"$2\" in $(head -c 300 "$1")"; fi
}

# json EXPRESSION NAME: evaluates a Python expression over d = the JSON of $OUT.
json() {
	if python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1" 2> "$RUN/py.err"; then
		ok "$2"
	else
		fail "$2: $1 is false for $(head -c 400 "$OUT") $(cat "$RUN/py.err")"
	fi
}

# Usage errors: EX_USAGE (64) with a message.
run 64 "no command" ; has "$ERR" "no command given" "no command: says so"
has "$ERR" "usage:" "usage printed"
run 64 "unknown command" -c "$CONF" frobnicate; has "$ERR" 'unknown command "frobnicate"' "unknown command named"
run 64 "gc with an argument" -c "$CONF" gc extra
run 64 "list --dry-run" -c "$CONF" list --dry-run
run 64 "keep without --days" -c "$CONF" keep 0123456789abcdef0123456789abcdef
run 64 "keep --days abc" -c "$CONF" keep 0123456789abcdef0123456789abcdef --days abc
run 64 "keep --days 0" -c "$CONF" keep 0123456789abcdef0123456789abcdef --days 0
run 64 "show --headers --raw" -c "$CONF" show https://x.example/m/AAAA --headers --raw
run 64 "unknown option" -c "$CONF" stats --frob
run 0 "-h" -h; has "$OUT" "usage:" "-h prints usage on stdout"
run 78 "missing configuration file" -c "$RUN/nonexistent.conf" stats
has "$ERR" "nonexistent.conf" "configuration error names the file"
printf '[store]\nStoreDir = %s\nNoSuchKey = 1\n' "$RUN/store" > "$RUN/bad.conf"
run 78 "unknown key in the configuration" -c "$RUN/bad.conf" check
has "$ERR" "NoSuchKey" "configuration error names the key"

# check: a good store, then wrong modes.
run 0 "check on a good store" -c "$CONF" check
has "$OUT" "check: 0 errors" "check: no errors"
chmod 0777 "$RUN/store"
run 78 "check on a world-writable store" -c "$CONF" check
has "$OUT" "mode 0777 is world-writable" "check names the world-writable mode"
chmod 0755 "$RUN/store"
run 78 "check on a world-readable store" -c "$CONF" check
has "$OUT" "mode 0755 lets others" "check names the world-readable mode"
chmod 0750 "$RUN/store"

# Objects: 20 live, 30 expired, made through the real sealing path.
if ! "$POP" populate "$CONF" 20 30 > "$RUN/objects" 2> "$RUN/populate.err"; then
	fail "populate: $(cat "$RUN/populate.err")"
	finish
fi
LIVE_TOKEN=$(awk '$3 == "live" { print $1; exit }' "$RUN/objects")
LIVE_ID=$(awk '$3 == "live" { print $2; exit }' "$RUN/objects")
LIVE2_ID=$(awk '$3 == "live" { n++; if (n == 2) { print $2; exit } }' "$RUN/objects")
LIVE3_TOKEN=$(awk '$3 == "live" { n++; if (n == 3) { print $1; exit } }' "$RUN/objects")
OLD_TOKEN=$(awk '$3 == "expired" { print $1; exit }' "$RUN/objects")
LINK="https://mail.example.com/m/$LIVE_TOKEN"

run 0 "stats --json" -c "$CONF" stats --json
json 'd["count"] == 50 and d["expired"] == 30 and d["expiring_day"] == 0 and d["expiring_week"] == 0 and d["bytes"] > 0 and d["oldest"] < d["newest"] and d["revoked"] == 0' "stats --json fields"
run 0 "stats" -c "$CONF" stats; has "$OUT" "objects:            50" "stats text"
run 0 "list --json" -c "$CONF" list --json
json 'd["count"] == 50 and len(d["objects"]) == 50 and all(len(o["id"]) == 32 and o["size"] > 80 and "created_utc" in o and "expires" in o for o in d["objects"])' "list --json fields"
json 'sum(1 for o in d["objects"] if o["expired"]) == 30' "list --json: 30 expired"
run 0 "list --expired --json" -c "$CONF" list --expired --json
json 'd["count"] == 30 and all(o["gc_due"] for o in d["objects"])' "list --expired: the 30 expired"
run 0 "list" -c "$CONF" list; has "$OUT" "$LIVE_ID" "list shows a storage id"

# gc: dry run first, then for real; same counts.
run 0 "gc --dry-run --json" -c "$CONF" gc --dry-run --json
json 'd["dry_run"] is True and d["removed"] == 30 and d["examined"] == 50 and d["kept"] == 20' "gc --dry-run counts"
DRY_BYTES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["removed_bytes"])' "$OUT")
run 0 "list after the dry run" -c "$CONF" list --json
json 'd["count"] == 50' "gc --dry-run removed nothing"
run 0 "gc --json" -c "$CONF" gc --json
json "d['dry_run'] is False and d['removed'] == 30 and d['removed_bytes'] == $DRY_BYTES and d['kept'] == 20 and d['failed'] == 0" "gc removes what the dry run reported"
run 0 "stats after gc" -c "$CONF" stats --json
json 'd["count"] == 20 and d["expired"] == 0' "gc left the 20 live objects"
run 0 "gc again" -c "$CONF" gc; has "$OUT" "gc: removed 0 objects" "second gc removes nothing"

# show
run 0 "show (headers by default)" -c "$CONF" show "$LINK"
has "$OUT" "Subject: object 0" "show prints the headers"
if grep -q "Body of object" "$OUT"; then fail "show --headers printed the body"; else ok "show --headers stops at the body"; fi
run 0 "show --raw" -c "$CONF" show "$LINK/eml" --raw
has "$OUT" "Body of object 0." "show --raw prints the whole original"
run 64 "show with a malformed link" -c "$CONF" show "https://mail.example.com/m/short"
has "$ERR" "not a pullmail link" "malformed link: clear error"
run 64 "show with a storage id" -c "$CONF" show "$LIVE_ID"
has "$ERR" "needs the link" "show with an id: clear error"
run 66 "show with a wrong link" -c "$CONF" show "https://mail.example.com/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
has "$ERR" "no message for this link" "wrong link: clear error"
run 66 "show a collected message" -c "$CONF" show "$OLD_TOKEN"

# revoke and keep
run 0 "revoke by link" -c "$CONF" revoke "$LINK"
has "$OUT" "revoked" "revoke says so"
run 69 "show a revoked message" -c "$CONF" show "$LINK"
has "$ERR" "revoked" "show says revoked"
run 0 "stats after revoke" -c "$CONF" stats --json
json 'd["revoked"] == 1 and d["count"] == 20' "revoked counted as a tombstone"
run 66 "revoke an unknown id" -c "$CONF" revoke ffffffffffffffffffffffffffffffff
run 64 "revoke garbage" -c "$CONF" revoke not-an-id
run 0 "keep --days 5" -c "$CONF" keep "$LIVE2_ID" --days 5
has "$OUT" "$LIVE2_ID: expires" "keep prints the new expiry"
run 0 "keep --days 400 (capped)" -c "$CONF" keep "https://mail.example.com/m/$LIVE3_TOKEN" --days 400
has "$OUT" "capped at creation + MaxRetention (90 days)" "keep past MaxRetention is capped and says so"
run 0 "list after keep" -c "$CONF" list --json
json "any(o['id'] == '$LIVE2_ID' and 4 * 86400 < o['expires'] - d['now'] <= 5 * 86400 for o in d['objects'])" "keep moved the expiry to 5 days"
run 69 "keep a revoked message" -c "$CONF" keep "$LIVE_ID" --days 3

# No token in any output.
leaked=0
while read -r tok id kind; do
	if grep -qF -- "$tok" "$ALL"; then leaked=$((leaked + 1)); fi
done < "$RUN/objects"
if [ "$leaked" = 0 ]; then ok "no token in any output"; else fail "$leaked tokens printed"; fi

rm -rf "$RUN"
finish
