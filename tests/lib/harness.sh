# Sourced by integration tests: counting, the closing line, stopping by PID.
# The caller sets RUN (its run directory) before calling finish and defines
# cleanup (called on exit; the default stops every PID in $PIDS).
#   ok MSG / fail MSG   count one check
#   finish              a sanitizer report in any log under $RUN is one more
#                       failure; prints "N passed, N failed" and exits
#   stop_pid PID        SIGTERM, up to 10 s, then SIGKILL; reaps a child;
#                       then the same for the children it had
# Programs the test links with libpullmail.a get the sanitizers it was
# built with (tests/run.sh exports CC so; a direct run may not).
if [ -n "${SANITIZE:-}" ]; then
	case ${CC:-} in *-fsanitize=*) ;; *) CC="${CC:-cc} -fsanitize=$SANITIZE" ;; esac
fi
passed=0
failed=0
PIDS=

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
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM
