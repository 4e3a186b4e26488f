#!/bin/sh
# gc part of make bench: pullmailctl gc over N (100,000) objects, none
# expired and then all expired; objects examined per second and peak RSS.
# PULLMAIL_BENCH_GC_N changes N; PULLMAIL_BENCH_GC_DIR the stores' place.
O=${O:-.}
N=${PULLMAIL_BENCH_GC_N:-100000}
# Default: tmpfs (/dev/shm) when writable. Filling goes through the real
# commit path (a file and a directory fsync per object): on this disk that
# is about 15 ms an object, 50 minutes for 2 x 100,000; on tmpfs seconds.
if [ -z "$PULLMAIL_BENCH_GC_DIR" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	DIR=/dev/shm/pullmail-bench-gc
else
	DIR=${PULLMAIL_BENCH_GC_DIR:-$O/run/bench_gc}
fi
CTL=$O/tools/pullmailctl
BIN=$O/bench/bench_gc
for f in "$CTL" "$BIN"; do
	[ -x "$f" ] || { echo "bench_gc: $f not built (make O=$O all bench)" >&2; exit 1; }
done
rm -rf "$DIR"
mkdir -p "$DIR/live" "$DIR/expired" || exit 1
chmod 0750 "$DIR/live" "$DIR/expired"
for s in live expired; do
	printf '[store]\nStoreDir = %s\nMaxRetention = 90d\n' "$DIR/$s" \
		> "$DIR/$s.conf"
done
echo "gc over $N objects per run; stores in $DIR ($(df -PT "$DIR" | awk 'NR==2 {print $2}')); page cache warm (the objects were just written)"
"$BIN" "$CTL" "$DIR/live.conf" "$DIR/expired.conf" "$N"
rc=$?
rm -rf "$DIR"
# A missed target is shown in the table; only a failure to run fails make bench.
[ $rc -le 1 ] || exit 1
exit 0
