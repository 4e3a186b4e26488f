# The soak's faults (sourced by tests/soak/soak.sh, which sets RUN, STORE,
# CONF, C, SEAL, CTL, MUSER, RESTART_SEC and the ports). Each fault notes
# "EPOCH KIND DETAIL" in $RUN/faults.log and prints it: the schedule as it
# runs. run_faults ROUNDS runs every kind ROUNDS times, in this order:
#   kill9        kill -9 of the milter while a write is in progress
#                (a file in StoreDir/tmp), back by the supervisor
#   hup          SIGHUP: the configuration reloaded
#   kill9        again (a second kill per round)
#   hup_broken   SIGHUP with an unknown key in the file: refused, the
#                running configuration kept, the milter still there
#   unwritable   the fan-out directories unwritable until a commit has
#                failed at the rename (logged with its cause; at least 4 s,
#                at most 60), then StoreDir and tmp/ too and the milter killed:
#                its restarts fail (exit 73) until the modes are restored,
#                then it comes back by itself
#   full         the store's tmpfs filled with expired objects (gc paused),
#                held, then freed by pullmailctl gc
#   pf_stop      postfix stop, a pause, Postfix started again
#   pf_reload    postfix reload
#   fcgi_kill    kill -9 of a FastCGI responder while wrk is loading it
FAULT_GAP=${SOAK_FAULT_GAP:-2}
HOLD_FULL=${SOAK_HOLD_FULL:-6}
HOLD_UNWRITABLE=${SOAK_HOLD_UNWRITABLE:-12}
HOLD_PF_STOP=${SOAK_HOLD_PF_STOP:-5}
UNWRITABLE_WAIT=${SOAK_UNWRITABLE_WAIT:-60}

note() {
	line="$(date +%s.%N | cut -c1-14) $*"
	echo "$line" >> "$RUN/faults.log"
	echo "soak: fault: $line"
}

fault_plan_seconds() {
	echo $(( $1 * (9 * FAULT_GAP + 2 * (RESTART_SEC_INT + 4) + 4 + \
		HOLD_UNWRITABLE + RESTART_SEC_INT + 12 + HOLD_FULL + 8 + \
		HOLD_PF_STOP + 6 + 2 + 5) ))
}
RESTART_SEC_INT=${RESTART_SEC%.*}
[ -n "$RESTART_SEC_INT" ] || RESTART_SEC_INT=1

milter_pid() { cat "$RUN/milter.pid" 2>/dev/null; }
milter_starts() { grep -c 'starting on' "$RUN/milter.log" 2>/dev/null; }

# wait_milter_back STARTS SECONDS: until a start after STARTS listens.
wait_milter_back() {
	t0=$(date +%s)
	while [ $(($(date +%s) - t0)) -lt "$2" ]; do
		if [ "$(milter_starts)" -gt "$1" ] && [ -S "$RUN/milter.sock" ] &&
		    kill -0 "$(milter_pid)" 2>/dev/null; then
			echo $(($(date +%s) - t0))
			return 0
		fi
		sleep 0.2
	done
	return 1
}

fault_kill9() {
	# Mid-message: a temporary file in the store is a write in progress.
	i=0
	while [ $i -lt 300 ] && [ -z "$(ls -A "$STORE/tmp" 2>/dev/null)" ]; do
		sleep 0.05; i=$((i + 1))
	done
	inflight=$(ls -A "$STORE/tmp" 2>/dev/null | wc -l)
	s=$(milter_starts); pid=$(milter_pid)
	kill -9 "$pid"
	note "kill9 pid $pid, $inflight write(s) in progress"
	if back=$(wait_milter_back "$s" $((RESTART_SEC_INT * 3 + 30))); then
		note "kill9_back milter back after ${back} s (pid $(milter_pid))"
	else
		note "kill9_notback milter not back"
	fi
}

fault_hup() {
	n=$(grep -c 'configuration reloaded' "$RUN/milter.log")
	kill -HUP "$(milter_pid)"
	i=0
	while [ $i -lt 50 ] && [ "$(grep -c 'configuration reloaded' "$RUN/milter.log")" -le "$n" ]; do
		sleep 0.1; i=$((i + 1))
	done
	if [ "$(grep -c 'configuration reloaded' "$RUN/milter.log")" -gt "$n" ]; then
		note "hup reloaded"
	else
		note "hup_failed no reload line"
	fi
}

fault_hup_broken() {
	cp -p "$CONF" "$CONF.good"
	sed -i 's/^\[milter\]$/[milter]\nNoSuchKey = yes/' "$CONF"
	n=$(grep -c 'reload refused' "$RUN/milter.log")
	pid=$(milter_pid)
	kill -HUP "$pid"
	i=0
	while [ $i -lt 50 ] && [ "$(grep -c 'reload refused' "$RUN/milter.log")" -le "$n" ]; do
		sleep 0.1; i=$((i + 1))
	done
	mv "$CONF.good" "$CONF"
	if [ "$(grep -c 'reload refused' "$RUN/milter.log")" -gt "$n" ] && kill -0 "$pid" 2>/dev/null; then
		note "hup_broken refused, milter $pid still running"
	else
		note "hup_broken_failed no refusal or the milter stopped"
	fi
}

fault_unwritable() {
	s=$(milter_starts)
	r0=$(grep -c 'rename into place' "$RUN/milter.log")
	chmod 0550 "$STORE"/??
	note "unwritable fan-out directories 0550 (commits fail at the rename)"
	# Held until a message has really hit it: at least 4 s, and until a
	# commit failure is logged (at most UNWRITABLE_WAIT s).
	t0=$(date +%s)
	r1=$r0
	while [ $(($(date +%s) - t0)) -lt "$UNWRITABLE_WAIT" ]; do
		r1=$(grep -c 'rename into place' "$RUN/milter.log")
		[ "$r1" -gt "$r0" ] && [ $(($(date +%s) - t0)) -ge 4 ] && break
		sleep 0.2
	done
	[ "$r1" -gt "$r0" ] ||
		note "unwritable_failed no commit reached the unwritable directories in $UNWRITABLE_WAIT s"
	chmod 0550 "$STORE" "$STORE/tmp"
	pid=$(milter_pid)
	kill -9 "$pid"
	note "unwritable_store StoreDir and tmp/ 0550, milter $pid killed; $((r1 - r0)) commit failure(s) logged with the rename's cause"
	sleep "$HOLD_UNWRITABLE"
	refused=$(grep -c ' exit 73$' "$RUN/starts.log")
	chmod 0750 "$STORE" "$STORE/tmp" "$STORE"/??
	note "writable again; $refused start(s) refused with exit 73 so far"
	if back=$(wait_milter_back "$s" $((RESTART_SEC_INT * 3 + 30))); then
		note "unwritable_back milter back by itself ${back} s after the store became writable (pid $(milter_pid))"
	else
		note "unwritable_notback milter not back"
	fi
}

fault_full() {
	touch "$RUN/gc.pause"
	sleep 1
	# Sealed as the milter's user, so that gc (as that user) can read them.
	[ -f "$RUN/filler.bin" ] || head -c 4194304 /dev/urandom > "$RUN/filler.bin"
	i=0
	while [ $i -lt 2000 ] && runuser -u "$MUSER" -- "$SEAL" "$CONF" "$RUN/filler.bin" expired > /dev/null 2>&1; do
		i=$((i + 1))
	done
	# The last megabytes: smaller objects until nothing fits.
	head -c 65536 /dev/urandom > "$RUN/filler-small.bin"
	j=0
	while [ $j -lt 200 ] && runuser -u "$MUSER" -- "$SEAL" "$CONF" "$RUN/filler-small.bin" expired > /dev/null 2>&1; do
		j=$((j + 1))
	done
	avail=$(df -k --output=avail "$STORE" | tail -n 1 | tr -d ' ')
	note "full store filled with $i x 4 MiB + $j x 64 KiB expired objects, ${avail} KiB left"
	sleep "$HOLD_FULL"
	runuser -u "$MUSER" -- "$CTL" -c "$CONF" gc > "$RUN/gc-full.out" 2>&1
	rm -f "$RUN/gc.pause"
	avail=$(df -k --output=avail "$STORE" | tail -n 1 | tr -d ' ')
	note "full_freed by gc: $(tr '\n' ' ' < "$RUN/gc-full.out" | cut -c1-100) ${avail} KiB free"
}

fault_pf_stop() {
	mp=$(cat "$RUN/pf/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
	kids=$(ps -o pid= --ppid "$mp" 2>/dev/null)
	postfix -c "$C" stop > "$RUN/pf/stop.out" 2>&1
	i=0
	while [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	# An smtpd in an idle session outlives its master and keeps the old
	# listening socket, on which the kernel then queues some of the new
	# connections until its smtpd_timeout (seen: clients waiting 300 s):
	# what a stop that waits for its processes would end is ended here.
	# All of them at once: SIGTERM, up to 5 s, then SIGKILL (one by one,
	# some ignore SIGTERM and cost 10 s each).
	sleep 2
	left=0 live=
	for k in $kids; do
		kill -0 "$k" 2>/dev/null || continue
		left=$((left + 1)); live="$live $k"
	done
	[ -n "$live" ] && kill $live 2>/dev/null
	i=0
	while [ $i -lt 50 ]; do
		still=
		for k in $live; do kill -0 "$k" 2>/dev/null && still="$still $k"; done
		[ -z "$still" ] && break
		sleep 0.1; i=$((i + 1))
	done
	[ -n "$still" ] && kill -9 $still 2>/dev/null
	note "pf_stop postfix stop (master $mp gone: $(kill -0 "$mp" 2>/dev/null && echo no || echo yes); $left idle process(es) of it stopped by pid)"
	sleep "$HOLD_PF_STOP"
	if start_master "$C" "$RUN/pf/master.out" $P_SMTP $P_AUTH; then
		note "pf_start Postfix started again (master $MASTER_PID)"
	else
		note "pf_start_failed Postfix did not start"
	fi
}

fault_pf_reload() {
	postfix -c "$C" reload > "$RUN/pf/reload.out" 2>&1
	note "pf_reload postfix reload (exit $?)"
}

fault_fcgi_kill() {
	parent=$(cat "$RUN/web.pid")
	# While wrk is loading the responders.
	i=0
	while [ $i -lt 300 ] && ! tail -n 1 "$RUN/wrk.out" 2>/dev/null | grep -q '^round [0-9]* start'; do
		sleep 0.1; i=$((i + 1))
	done
	sleep 1
	kid=$(ps -o pid= --ppid "$parent" | head -n 1 | tr -d ' ')
	kill -9 "$kid"
	round=$(grep '^round [0-9]* start' "$RUN/wrk.out" | tail -n 1 | cut -d' ' -f2)
	note "fcgi_kill responder $kid killed during wrk round $round"
	i=0
	while [ $i -lt 50 ]; do
		kids=$(ps -o pid= --ppid "$parent" | tr -d ' ' | tr '\n' ' ')
		case " $kids" in *" $kid "*) ;; *)
			[ "$(echo $kids | wc -w)" -ge 2 ] && break ;; esac
		sleep 0.1; i=$((i + 1))
	done
	note "fcgi_back responders now: $kids"
}

run_faults() {
	note "schedule: $1 round(s) of kill9 hup kill9 hup_broken unwritable full pf_stop pf_reload fcgi_kill, ${FAULT_GAP} s apart"
	r=0
	while [ $r -lt "$1" ] && [ ! -e "$RUN/stop" ]; do
		r=$((r + 1))
		for f in kill9 hup kill9 hup_broken unwritable full pf_stop pf_reload fcgi_kill; do
			[ -e "$RUN/stop" ] && break
			"fault_$f"
			sleep "$FAULT_GAP"
		done
	done
	note "faults_done"
}
