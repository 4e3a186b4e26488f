#!/bin/sh
# Runs every test and ends with one line "N passed, N failed".
#   Check programs (arguments): each check counts once.
#   tests/integration/test_*.sh: each prints its own "N passed, N failed".
#   libFuzzer targets: each runs PULLMAIL_FUZZ_SECONDS (30) and counts once.
# PULLMAIL_SKIP_INTEGRATION=1 (make unit-check only) leaves the integration
# scripts out and says so; make check never sets it.
# Absolute, so that tests can write paths into configuration files.
mkdir -p "${O:-.}"
O=$(cd "${O:-.}" && pwd)
FUZZ_SECONDS=${PULLMAIL_FUZZ_SECONDS:-30}
# Helper programs that integration tests compile against libpullmail.a must
# use the same sanitizers as the library.
if [ -n "${SANITIZE:-}" ]; then
	CC="${CC:-cc} -fsanitize=$SANITIZE"
	export CC
fi
LOGDIR=$O/run/tests/logs
mkdir -p "$LOGDIR"
passed=0
failed=0
failures=""

count_line() {
	# $1: log file, $2: exit code, $3: name
	p=""; f=""
	summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$1" | tail -n 1)
	if [ -n "$summary" ]; then
		n=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		fl=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		er=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		f=$((fl + er)); p=$((n - f))
	else
		summary=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
		if [ -n "$summary" ]; then
			p=$(echo "$summary" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/')
			f=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		fi
	fi
	if [ -z "$p" ]; then
		# No summary at all: the program died before reporting.
		p=0; f=1
	elif [ "$2" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		failures="$failures $3"
	fi
}

for t in "$@"; do
	name=$(basename "$t")
	log=$LOGDIR/$name.log
	echo "== $name"
	"$t" > "$log" 2>&1
	rc=$?
	grep -vE '^Running suite' "$log" | tail -n 40
	count_line "$log" $rc "$name"
done

if [ "${PULLMAIL_SKIP_INTEGRATION:-0}" = 1 ]; then
	echo "== integration tests left out (PULLMAIL_SKIP_INTEGRATION=1)"
else
	for s in tests/integration/test_*.sh; do
		[ -e "$s" ] || continue
		name=$(basename "$s" .sh)
		log=$LOGDIR/$name.log
		echo "== $name"
		O=$O timeout 1200 sh "$s" > "$log" 2>&1
		rc=$?
		tail -n 60 "$log"
		count_line "$log" $rc "$name"
	done
fi

if [ "$FUZZ_SECONDS" -gt 0 ]; then
	for f in "$O"/tests/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		case "$f" in *.o|*.d) continue ;; esac
		name=$(basename "$f")
		corpus=tests/fuzz/corpus/${name#fuzz_}
		work=$O/run/tests/fuzz/$name
		mkdir -p "$work"
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
		# Crash reproducers kept as seeds (tests/fuzz/regress/NAME).
		regress=tests/fuzz/regress/${name#fuzz_}
		[ -d "$regress" ] && cp -r "$regress"/. "$work"/ 2>/dev/null
		echo "== $name (${FUZZ_SECONDS}s)"
		log=$LOGDIR/$name.log
		"$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
			-artifact_prefix="$work/" "$work" > "$log" 2>&1
		rc=$?
		tail -n 3 "$log"
		# UBSan reports and goes on: a report fails the target too.
		if grep -m 3 'runtime error:' "$log"; then
			rc=1
		fi
		if [ $rc = 0 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1)); failures="$failures $name"
		fi
	done
fi

[ -n "$failures" ] && echo "failed:$failures (logs in $LOGDIR)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
