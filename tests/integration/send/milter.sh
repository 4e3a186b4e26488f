# Sourced by cases.sh: pullmail-send through a Postfix port with
# pullmail-milter, the submissions service of contrib/postfix/master.cf. A message from an authenticated sender is pulled (the
# recipient gets a summary with X-Pull-URL, the store one more object); one
# sent with --no-pull arrives whole. Needs $O/milter/pullmail-milter.

if [ ! -x "$MILTER" ]; then
	echo "SKIP - pullmail-send through pullmail-milter: $MILTER is not built"
	return 0 2>/dev/null || true
fi

M=$RUN/milter
mkdir -p "$M/store"
MILTER_SOCK=$M/milter.sock
MILTER_USER=root
if id pullmail >/dev/null 2>&1; then
	MILTER_USER=pullmail
fi
chown -R "$MILTER_USER" "$M/store"
cat > "$M/pullmail.conf" <<EOF
[store]
StoreDir = $M/store

[milter]
Socket = unix:$MILTER_SOCK
SocketMode = 0666
UserID = $MILTER_USER
BaseURL = https://pull.$DOMAIN/
LogWhy = yes

[summary]
# Not installed: the templates from the source tree.
TemplateDir = $SRC/templates
EOF

milter_started=no
if "$MILTER" -n -c "$M/pullmail.conf" > "$M/check.log" 2>&1; then
	"$MILTER" -f -c "$M/pullmail.conf" > "$M/milter.log" 2>&1 &
	MILTER_PID=$!
	i=0
	while [ ! -S "$MILTER_SOCK" ] && [ $i -lt 100 ]; do
		kill -0 "$MILTER_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$MILTER_SOCK" ] && milter_started=yes
fi
if [ $milter_started = no ]; then
	fail "pullmail-milter started for the pull cases"
	sed 's/^/    /' "$M/check.log" "$M/milter.log" 2>/dev/null | head -20
	return 0 2>/dev/null || true
fi

# The same Postfix, restarted with one more port: the "submissions" service
# of contrib/postfix/master.cf as shipped, only its address and the milter's
# socket replaced. Its milter_default_action is tempfail, so a broken milter
# cannot pass the pull case by delivering the original.
stop_pid "$POSTFIX_PID"
POSTFIX_PID=
if ! service=$(contrib_service submissions $P_MILTER "$MILTER_SOCK"); then
	fail "the submissions service of contrib/postfix/master.cf"
	return 0 2>/dev/null || true
fi
if ! start_postfix "$service"; then
	fail "Postfix restarted with contrib/postfix/master.cf's submissions on port $P_MILTER"
	return 0 2>/dev/null || true
fi
ok "Postfix accepts contrib/postfix/master.cf's submissions service (port $P_MILTER)"

objects() { find "$M/store" -name '*.pull' -type f | wc -l | tr -d ' '; }

printf 'The original text that only the link should show.\n' > "$F/orig.txt"
before=$(objects)
PULLMAIL_PASSWORD=$SASL_PASS run pulled --server 127.0.0.1:$P_MILTER \
	--tls implicit $BASE --from "Alice <alice@$DOMAIN>" --to "h@$DOMAIN" \
	--subject "Pulled ✓" --text "$F/orig.txt" --attach "$F/picture.dat" \
	--expires 14d
after=$(objects)
if [ $RC = 0 ] && wait_mail h "Pulled ✓" &&
    $CHECK show "$MSG" > "$OUT/show.txt" 2>&1 &&
    grep -q '^raw X-Pull-URL: https://pull\.example\.test/' "$OUT/show.txt"; then
	if ! grep -q 'The original text that only the link should show' "$MSG" &&
	    grep -q 'picture.dat' "$OUT/show.txt" &&
	    ! grep -q '^raw X-Pull: ' "$OUT/show.txt" &&
	    grep -q '^raw X-Pull-Expires: ' "$OUT/show.txt" &&
	    [ "$after" = $((before + 1)) ]; then
		ok "through pullmail-milter: an authenticated message is pulled (summary with X-Pull-URL, one stored object)"
	else
		fail "pulled message: summary content or store count ($before -> $after)"
		grep '^raw\|^part' "$OUT/show.txt" | sed 's/^/    /'
	fi
else
	fail "through pullmail-milter: authenticated message pulled (rc $RC)"
	explain pulled
	tail -5 "$M/milter.log" | sed 's/^/    /'
fi

before=$(objects)
PULLMAIL_PASSWORD=$SASL_PASS run nopull --server 127.0.0.1:$P_MILTER \
	--tls implicit $BASE --from "Alice <alice@$DOMAIN>" --to "h@$DOMAIN" \
	--subject "Not pulled" --text "$F/orig.txt" --attach "$F/picture.dat" \
	--no-pull
after=$(objects)
if [ $RC = 0 ] && wait_mail h "Not pulled" &&
    show_has "$MSG" "text text/plain The original text that only the link should show." &&
    show_has "$MSG" "part image/png picture.dat $(wc -c < "$F/picture.dat" | tr -d ' ') $(sha256sum < "$F/picture.dat" | cut -d' ' -f1)" &&
    ! grep -q '^raw X-Pull' "$OUT/show.txt" &&
    [ "$after" = "$before" ]; then
	ok "through pullmail-milter: --no-pull arrives whole, X-Pull removed, nothing stored"
else
	fail "through pullmail-milter: --no-pull (rc $RC, store $before -> $after)"
	explain nopull
	grep '^raw\|^part' "$OUT/show.txt" 2>/dev/null | sed 's/^/    /'
fi
