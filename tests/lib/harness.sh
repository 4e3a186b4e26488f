# Sourced by integration tests: counting, the closing line, stopping by PID,
# and the teardown on exit. The caller sets RUN (its run directory) before
# calling finish.
#   ok MSG / fail MSG   count one check
#   finish              a sanitizer report in any log under $RUN is one more
#                       failure; prints "N passed, N failed" and exits
#   stop_pid PID        SIGTERM, up to 10 s, then SIGKILL; reaps a child;
#                       then the same for the children it had
# Teardown: on exit (or INT, TERM) cleanup stops, by PID, every process the
# test registered, in this order, and removes what it registered:
#   PIDS="$PIDS $!"         a process whose PID never changes
#   stop_on_exit VAR...     the process whose PID the variable VAR holds at
#                           exit (it may be set, changed or emptied later)
#   stop_pidfiles_on_exit DIR
#                           the processes named by DIR/*.pid at exit
#   remove_on_exit PATH...  paths removed (rm -rf) at exit, after the
#                           processes are stopped
# A test does not define cleanup itself.
# Programs the test links with libpullmail.a get the sanitizers it was
# built with (tests/run.sh exports CC so; a direct run may not).
if [ -n "${SANITIZE:-}" ]; then
	case ${CC:-} in *-fsanitize=*) ;; *) CC="${CC:-cc} -fsanitize=$SANITIZE" ;; esac
fi
passed=0
failed=0
PIDS=
STOP_VARS=
STOP_PIDFILE_DIRS=
REMOVE_PATHS=

ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "not ok - $1"; failed=$((failed + 1)); }
# relay_tap FILE [PREFIX]: counts the "ok - " / "not ok - " lines a helper
# program wrote to FILE as this test's own (PREFIX before each name) and
# passes its other lines through.
relay_tap() {
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${2:-}${line#ok - }" ;;
		"not ok - "*) fail "${2:-}${line#not ok - }" ;;
		*) printf "%s\n" "$line" ;;
		esac
	done < "$1"
}
finish() {
	# UBSan's "runtime error" does not stop the program: look for it.
	if [ -d "$RUN" ] && grep -rlE 'runtime error:|ERROR: (Address|Leak)Sanitizer' "$RUN" \
	    --include='*.log' --include='*.out' --include='*.err' > "$RUN/.sanitizer" 2>/dev/null; then
		fail "sanitizer reports in: $(tr '\n' ' ' < "$RUN/.sanitizer")"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}
stop_one() {
	kill "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
stop_pid() {
	[ -n "$1" ] || return 0
	# Its children are noted first: a prefork parent (fcgiwrap -c N) that
	# gets SIGTERM leaves its workers running; they are stopped by PID too.
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
	stop_one "$1"
	for k in $kids; do stop_one "$k"; done
}
stop_on_exit() { STOP_VARS="$STOP_VARS $*"; }
stop_pidfiles_on_exit() { STOP_PIDFILE_DIRS="$STOP_PIDFILE_DIRS $1"; }
remove_on_exit() { REMOVE_PATHS="$REMOVE_PATHS $*"; }
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	for v in $STOP_VARS; do eval "stop_pid \"\${$v:-}\""; done
	for d in $STOP_PIDFILE_DIRS; do
		for f in "$d"/*.pid; do
			[ -f "$f" ] && stop_pid "$(cat "$f")"
		done
	done
	for r in $REMOVE_PATHS; do [ -n "$r" ] && rm -rf "$r"; done
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM
