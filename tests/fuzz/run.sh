#!/bin/sh
# make fuzz FUZZ_SECONDS=N: runs each libFuzzer target given N seconds, from
# a copy of its seeds (tests/fuzz/corpus/NAME and the crash reproducers in
# tests/fuzz/regress/NAME, NAME without "fuzz_") under $O/run/fuzz/NAME,
# where new inputs and any crash file go; the log of each is
# $O/run/fuzz/NAME.log. Exits non-zero if any target failed.
#   usage: O=DIR sh tests/fuzz/run.sh SECONDS TARGET...
O=${O:-.}
seconds=$1
shift
failed=""
for f in "$@"; do
	name=$(basename "$f")
	short=${name#fuzz_}
	work=$O/run/fuzz/$short
	mkdir -p "$work"
	for d in tests/fuzz/corpus/$short tests/fuzz/regress/$short; do
		[ -d "$d" ] && cp -r "$d"/. "$work"/
	done
	log=$O/run/fuzz/$short.log
	echo "== $name (${seconds}s)"
	"$f" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60 \
		-artifact_prefix="$work/" "$work" > "$log" 2>&1
	rc=$?
	tail -n 3 "$log"
	[ $rc = 0 ] || failed="$failed $name"
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed (logs in $O/run/fuzz)"
	exit 1
fi
