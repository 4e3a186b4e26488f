# Sourced by the tests that drive the real pullmail-milter on a unix socket
# under their run directory, with a client of their own acting as the MTA.
# Set RUN and MILTER, source tests/lib/harness.sh, then:
#   start_milter BASEURL   writes $CONF (store in $RUN/store, the socket
#                          $SOCK, UserID the current user, LogWhy, the
#                          tree's templates), starts the daemon in the
#                          foreground with its log in $LOG, stops it on
#                          exit, and waits for the socket: one check; the
#                          test finishes there if the daemon never listens.
start_milter() {
	MILTER_PID=
	stop_on_exit MILTER_PID
	if [ ! -x "$MILTER" ]; then
		fail "pullmail-milter is built ($MILTER)"
		finish
	fi
	rm -rf "$RUN"
	mkdir -p "$RUN/store"
	chmod 750 "$RUN/store"
	SOCK=$RUN/milter.sock
	CONF=$RUN/pullmail.conf
	LOG=$RUN/milter.log
	cat > "$CONF" <<CONFEOF
[store]
StoreDir = $RUN/store

[milter]
Socket = unix:$SOCK
UserID = $(id -un)
BaseURL = $1
LogWhy = yes

[summary]
TemplateDir = $TOP/templates
CONFEOF
	"$MILTER" -f -c "$CONF" > "$LOG" 2>&1 &
	MILTER_PID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do
		kill -0 "$MILTER_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	if [ -S "$SOCK" ]; then
		ok "pullmail-milter listens on $SOCK"
	else
		fail "pullmail-milter started"
		cat "$LOG"
		finish
	fi
}

# term_milter: SIGTERM to the daemon, then up to 10 s for it to end. Returns
# 0 with its exit status in MILTER_STATUS (and MILTER_PID emptied) when it
# ended, 1 when it is still running.
term_milter() {
	kill -TERM "$MILTER_PID"
	i=0
	while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -0 "$MILTER_PID" 2>/dev/null && return 1
	wait "$MILTER_PID"
	MILTER_STATUS=$?
	MILTER_PID=
	return 0
}
