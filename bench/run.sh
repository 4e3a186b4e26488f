#!/bin/sh
# make bench: runs every bench/bench_*.sh part in turn; each prints its own
# table. A part that fails makes the whole run fail.
O=${O:-.}
export O
rc=0
for part in bench/bench_*.sh; do
	[ -e "$part" ] || continue
	echo "=== $(basename "$part" .sh)"
	sh "$part" || { echo "bench: $part failed" >&2; rc=1; }
done
exit $rc
