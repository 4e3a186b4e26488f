#!/bin/sh
# milter part of make bench: a private Postfix (loopback, no chroot) relaying
# to smtp-sink, loaded with smtp-source -s 10: 2,000 messages of 10 KiB and
# 500 of 1 MiB through four smtpd ports side by side -- no milter, the null
# milter, the durable floor (both bench/null_milter.c) and pullmail-milter,
# taking turns in four rounds -- then twenty 20 MiB messages in flight at
# once through pullmail-milter and its peak RSS (VmHWM). Five free loopback
# ports are picked at run time.
# PULLMAIL_BENCH_MILTER_SCALE=N divides the message counts by N for a quick
# run (the table says so). PULLMAIL_BENCH_MILTER_STORE=DIR puts the store,
# and the durable floor's directory, in new directories inside DIR instead
# of under $O/run (for example on a tmpfs, to tell the cost of fsync from
# the cost of CPU; the table names the file system).
# PULLMAIL_BENCH_MILTER_FLOOR=file|none runs the durable floor with only the
# file's fsync, or with none (it is then not durable; the table says so).
O=${O:-.}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
TOP=$(pwd)
RUN=$O/run/bench_milter
MILTER=$O/milter/pullmail-milter
NULLM=$O/bench/null_milter
SCALE=${PULLMAIL_BENCH_MILTER_SCALE:-1}
N_SMALL=$((2000 / SCALE))
N_BIG=$((500 / SCALE))
FLOOR_SYNC=${PULLMAIL_BENCH_MILTER_FLOOR:-}
case $FLOOR_SYNC in
""|file|none) ;;
*) echo "bench_milter: PULLMAIL_BENCH_MILTER_FLOOR is file or none" >&2; exit 1 ;;
esac
# The store is a directory of its own (removed at the end), inside DIR; so
# is the durable floor's copy of each message, on the same file system.
STORE=$RUN/store
FLOOR=$RUN/floor
if [ -n "${PULLMAIL_BENCH_MILTER_STORE:-}" ]; then
	STORE=$PULLMAIL_BENCH_MILTER_STORE/pullmail-bench-store.$$
	FLOOR=$PULLMAIL_BENCH_MILTER_STORE/pullmail-bench-floor.$$
fi
# Five free ports: bound to port 0 together, so they differ, then released.
set -- $(python3 -c "
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))")
P_NONE=$1
P_SINK=$2
P_NULL=$3
P_PULL=$4
P_FLOOR=$5
[ -n "$P_FLOOR" ] || { echo "bench_milter: no free ports" >&2; exit 1; }
for f in "$MILTER" "$NULLM"; do
	[ -x "$f" ] || { echo "bench_milter: $f not built (make O=$O all bench)" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
	echo "bench_milter: needs root (a private Postfix master)" >&2
	exit 1
fi

SINK_PID= ; NULL_PID= ; FLOOR_PID= ; PULL_PID= ; MASTER_PID= ; STORE_FS=
. tests/lib/harness.sh     # stop_pid
# Removing a store frees thousands of inodes at once. ext4 without a
# journal (this kind of machine's root) will not reuse an inode freed in
# the last 60 s, or in the last 360 s while its inode table block is
# unwritten, and each new file's inode dirties such a block: every create
# in that block group then scans past all of them, about 1 ms a create
# after a run's 2,540 objects. A new store's tmp/ lands in the block group
# the previous run's did (mark_top_directory in common/store_fs.c), so a
# run started within 6 minutes of another measures that scan, which an
# installation, whose store is never removed whole, does not pay. The
# removal's time is kept in STAMP, and the next run waits until 361 s have
# passed since then.
STAMP=$O/run/bench_milter.removed
cleanup() {
	stop_pid "$MASTER_PID"; stop_pid "$PULL_PID"; stop_pid "$NULL_PID"
	stop_pid "$FLOOR_PID"; stop_pid "$SINK_PID"
	if [ -d "$STORE" ] || [ -d "$FLOOR" ]; then
		rm -rf "$STORE" "$FLOOR"
		case $STORE_FS in ext*) date +%s > "$STAMP" ;; esac
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

rm -rf "$RUN"
rm -rf "$STORE" "$FLOOR"
mkdir -p "$RUN/pf/conf" "$RUN/pf/queue" "$RUN/pf/data" "$STORE" "$FLOOR" || exit 1
# The floor's directory gets the flag a new store sets on itself
# (mark_top_directory in common/store_fs.c), where the file system has it.
chattr +T "$FLOOR" 2>/dev/null
STORE_FS=$(stat -f -c %T "$STORE")
case $STORE_FS in ext*)
	wait_s=0
	[ -f "$STAMP" ] && wait_s=$(($(cat "$STAMP") + 361 - $(date +%s)))
	if [ "$wait_s" -gt 0 ]; then
		echo "bench_milter: waiting ${wait_s} s for the previous run's removed store to age (see STAMP in $0)" >&2
		sleep "$wait_s"
	fi
esac
MUSER=postfix
if id pullmail >/dev/null 2>&1; then MUSER=pullmail; fi
chown "$MUSER" "$STORE"; chmod 750 "$STORE"
chown postfix "$RUN/pf/data"

wait_sock() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$1" ]
}
PF_TOP=$(pwd)
. tests/lib/postfix.sh     # wait_port, postfix_daemons

smtp-sink -u postfix 127.0.0.1:$P_SINK 1000 > "$RUN/sink.log" 2>&1 &
SINK_PID=$!
"$NULLM" "unix:$RUN/null.sock" > "$RUN/null.log" 2>&1 &
NULL_PID=$!
"$NULLM" "unix:$RUN/floor.sock" "$FLOOR" $FLOOR_SYNC > "$RUN/floor.log" 2>&1 &
FLOOR_PID=$!
cat > "$RUN/pullmail.conf" <<EOF
[store]
StoreDir = $STORE

[milter]
Socket = unix:$RUN/pull.sock
SocketMode = 0660
SocketGroup = postfix
UserID = $MUSER
BaseURL = https://pull.example.org/

[summary]
TemplateDir = $TOP/templates
EOF
chmod 644 "$RUN/pullmail.conf"
"$MILTER" -f -c "$RUN/pullmail.conf" > "$RUN/pull.log" 2>&1 &
PULL_PID=$!
wait_sock "$RUN/null.sock" && wait_sock "$RUN/floor.sock" &&
	wait_sock "$RUN/pull.sock" || {
	echo "bench_milter: a milter did not start" >&2
	cat "$RUN/null.log" "$RUN/floor.log" "$RUN/pull.log" >&2
	exit 1
}
chmod 666 "$RUN/null.sock"

relay_postfix_start bench_milter mx.example.org example.org "$P_SINK" <<EOF || exit 1
127.0.0.1:$P_NONE inet n - n - - smtpd
127.0.0.1:$P_NULL inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/null.sock
127.0.0.1:$P_PULL inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/pull.sock
127.0.0.1:$P_FLOOR inet n - n - - smtpd
  -o smtpd_milters=unix:$RUN/floor.sock
EOF
for p in $P_SINK $P_NONE $P_NULL $P_FLOOR $P_PULL; do
	wait_port $p || { echo "bench_milter: port $p not listening" >&2; exit 1; }
done

drain() { queue_drain bench_milter; }

# elapsed PORT COUNT SIZE SESSIONS: seconds smtp-source took to hand the
# messages over (the queue is drained afterwards, untimed).
elapsed() {
	t0=$(date +%s.%N)
	smtp-source -s "$4" -m "$2" -l "$3" -f alice@example.org \
		-t bob@example.net "127.0.0.1:$1" > "$RUN/source.log" 2>&1 ||
		{ echo "bench_milter: smtp-source failed on port $1" >&2; cat "$RUN/source.log" >&2; return 1; }
	t1=$(date +%s.%N)
	drain || return 1
	python3 -c "print('%.6f' % ($t1 - $t0))"
}
add() { python3 -c "print('%.6f' % ($1 + $2))"; }

objects() { find "$STORE" -name '*.pull' -type f | wc -l | tr -d ' '; }

# Warm-up, not timed: every port once, so that Postfix's processes (smtpd,
# cleanup, smtp) and the milters are started before the first timed run and
# the first configuration does not pay for them.
for p in $P_NONE $P_NULL $P_FLOOR $P_PULL; do
	elapsed $p $((N_SMALL / 10 + 10)) 10240 10 > /dev/null || exit 1
done
warm=$(objects)
# CPU time (user + system, clock ticks) a milter process has used so far:
# less noisy than the rates on a shared machine, printed per message.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_of() {
	case $1 in
	"$P_NULL") ticks "$NULL_PID" ;;
	"$P_FLOOR") ticks "$FLOOR_PID" ;;
	"$P_PULL") ticks "$PULL_PID" ;;
	*) echo 0 ;;
	esac
}
# The four configurations take turns in ROUNDS rounds, the order rotated
# each round, and each one's rate is its messages over its summed time.
# Run one after the other (as before), the configuration that came first
# was measured on a fresh queue and the last one behind thousands of
# queue files just created and deleted: the no-milter rate alone ranged
# from 416 to 711 msg/s between runs of that order.
ROUNDS=4
ORDER="$P_NONE $P_NULL $P_FLOOR $P_PULL"
for p in $ORDER; do eval "ts_$p=0 tb_$p=0 cs_$p=0 cb_$p=0"; done
# turn PORT COUNT SIZE KIND: one configuration's turn with COUNT messages
# of SIZE bytes; its time is added to t<KIND>_PORT, its milter's CPU to
# c<KIND>_PORT.
turn() {
	c0=$(cpu_of $1)
	t=$(elapsed $1 $2 $3 10) || return 1
	c1=$(cpu_of $1)
	eval "t$4_$1=\$(add \$t$4_$1 $t) c$4_$1=\$((c$4_$1 + c1 - c0))"
}
r=0
while [ $r -lt $ROUNDS ]; do
	for p in $ORDER; do turn $p $((N_SMALL / ROUNDS)) 10240 s || exit 1; done
	for p in $ORDER; do turn $p $((N_BIG / ROUNDS)) 1048576 b || exit 1; done
	set -- $ORDER
	ORDER="$2 $3 $4 $1"
	r=$((r + 1))
done
N_SMALL=$((N_SMALL / ROUNDS * ROUNDS))
N_BIG=$((N_BIG / ROUNDS * ROUNDS))
for p in $P_NONE $P_NULL $P_FLOOR $P_PULL; do
	eval "s_$p=\$(python3 -c \"print('%.1f' % ($N_SMALL / \$ts_$p))\")"
	eval "b_$p=\$(python3 -c \"print('%.1f' % ($N_BIG / \$tb_$p))\")"
done
HZ=$(getconf CLK_TCK)
pulled=$(($(objects) - warm))
# Twenty 20 MiB messages in flight at once.
elapsed $P_PULL 20 20971520 20 > /dev/null || exit 1
hwm=$(awk '/^VmHWM/ {print $2}' /proc/$PULL_PID/status)
big=$(($(objects) - pulled - warm))

eval "s0=\$s_$P_NONE s1=\$s_$P_NULL s2=\$s_$P_PULL s3=\$s_$P_FLOOR"
eval "b0=\$b_$P_NONE b1=\$b_$P_NULL b2=\$b_$P_PULL b3=\$b_$P_FLOOR"
eval "cs1=\$cs_$P_NULL cs2=\$cs_$P_PULL cb1=\$cb_$P_NULL cb2=\$cb_$P_PULL"
eval "cs3=\$cs_$P_FLOOR cb3=\$cb_$P_FLOOR"
python3 - "$s0" "$s1" "$s2" "$b0" "$b1" "$b2" \
	"$hwm" "$N_SMALL" "$N_BIG" "$pulled" "$big" "$STORE" "$STORE_FS" \
	"$cs1" "$cs2" "$cb1" "$cb2" "$HZ" "$s3" "$b3" "$cs3" "$cb3" \
	"${FLOOR_SYNC:-both}" <<'EOF'
import sys
s0, s1, s2, b0, b1, b2 = map(float, sys.argv[1:7])
hwm_kib, ns, nb, pulled, big = (int(x) for x in sys.argv[7:12])
store, store_fs = sys.argv[12:14]
cs1, cs2, cb1, cb2, hz = (int(x) for x in sys.argv[14:19])
s3, b3 = map(float, sys.argv[19:21])
cs3, cb3 = (int(x) for x in sys.argv[21:23])
floor_sync = sys.argv[23]
floor = {"both": "durable floor", "file": "floor, file fsync", "none": "floor, no fsync"}[floor_sync]
print("pullmail-milter benchmark: Postfix -> smtp-sink on loopback, smtp-source -s 10")
print("messages: %d x 10 KiB and %d x 1 MiB per configuration, in 4 rounds taking turns; 2 CPUs shared with other work, figures are noisy" % (ns, nb))
print("store: %s (%s); the floor's files beside it" % (store, store_fs))
print("%-18s %14s %8s %14s %8s" % ("configuration", "10 KiB msg/s", "ratio", "1 MiB msg/s", "ratio"))
for name, s, b in (("no milter", s0, b0), ("null milter", s1, b1),
                   (floor, s3, b3), ("pullmail-milter", s2, b2)):
    print("%-18s %14.1f %8.2f %14.1f %8.2f" % (name, s, s / s0, b, b / b0))
print("%-18s %14s %8s %14s %8s" % ("target", "", ">= 0.80", "", ">= 0.75"))
ms = lambda t, n: 1000.0 * t / hz / n
print("milter CPU (user + system) per message, 10 KiB / 1 MiB: null milter %.2f / %.2f ms; "
      "%s %.2f / %.2f ms; pullmail-milter %.2f / %.2f ms" %
      (ms(cs1, ns), ms(cb1, nb), floor, ms(cs3, ns), ms(cb3, nb), ms(cs2, ns), ms(cb2, nb)))
print("durable floor: a milter that only writes each message to a file and commits it as the store does "
      "(fsync, rename, directory fsync), then makes pullmail's rewrite with a fixed body")
if floor_sync != "both":
    print("this run's floor (PULLMAIL_BENCH_MILTER_FLOOR=%s) leaves out %s: it is not durable"
          % (floor_sync, "the directory's fsync" if floor_sync == "file" else "both fsyncs"))
print("objects sealed by pullmail-milter: %d (expected %d)" % (pulled, ns + nb))
print("20 x 20 MiB in flight: %d objects sealed; peak RSS (VmHWM) of pullmail-milter %.1f MiB (target < 64 MiB)" % (big, hwm_kib / 1024.0))
ok = s2 / s0 >= 0.80 and b2 / b0 >= 0.75 and hwm_kib < 64 * 1024
print("verdict: " + ("all targets met" if ok else "a target was missed"))
EOF
