#!/bin/sh
# make bench: runs every bench/bench_*.sh part in turn; each prints its own
# table. A part that fails makes the whole run fail. bench_milter goes last:
# it removes thousands of objects at its end, and on ext4 without a journal
# the store created next (bench_seal's) would scan past their inodes for
# minutes on each create (see STAMP in bench/bench_milter.sh). Only
# bench_milter waits for its previous run's removal: a make bench started
# within six minutes of another measures bench_seal in that block group.
O=${O:-.}
export O
rc=0
part() {
	echo "=== $(basename "$1" .sh)"
	sh "$1" || { echo "bench: $1 failed" >&2; rc=1; }
}
for p in bench/bench_*.sh; do
	case $p in
	*/bench_milter.sh) ;;
	*) [ -e "$p" ] && part "$p" ;;
	esac
done
part bench/bench_milter.sh
exit $rc
