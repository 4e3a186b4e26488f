# Sourced by tests/integration/test_send.sh once Dovecot and Postfix run:
# every case sends with the real pullmail-send and reads what Postfix
# delivered into the Maildirs under $RUN/mail.

CA=$RUN/tls/ca.crt
F=$RUN/files
OUT=$RUN/out
MAILDIR=$RUN/mail/$DOMAIN
printf '%s\n' "$SASL_PASS" > "$F/password"
chmod 600 "$F/password"

# run NAME ARGS...: pullmail-send with its output in $OUT/NAME.{out,err};
# sets RC.
run() {
	name=$1; shift
	"$SEND" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
	RC=$?
}
# auth ARGS...: the common options of an authenticated submission.
submit_implicit() {
	PULLMAIL_PASSWORD=$SASL_PASS run "$@"
}
# wait_mail USER SUBJECT [SECONDS]: sets MSG to the delivered file.
wait_mail() {
	i=0; MSG=
	limit=$(( ${3:-20} * 4 ))
	while [ $i -lt $limit ]; do
		MSG=$($CHECK find "$MAILDIR/$1" "$2" 2>/dev/null) && return 0
		sleep 0.25; i=$((i + 1))
	done
	MSG=
	return 1
}
# show_has FILE PATTERN: the decoded summary of FILE has a line matching
# the fixed string PATTERN.
show_has() {
	$CHECK show "$1" > "$OUT/show.txt" 2>&1 && grep -qF -- "$2" "$OUT/show.txt"
}
explain() {
	# On failure, what the client said.
	sed 's/^/    /' "$OUT/$1.err" "$OUT/$1.out" 2>/dev/null | head -20
}

BASE="--ca-file $CA --user $SASL_USER"

# --- a plain message over implicit TLS (password from the environment)
printf 'Hello,\nthis is a plain message.\n.\n.a line with a leading dot\n' \
	> "$F/plain.txt"
PULLMAIL_PASSWORD=$SASL_PASS run plain --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "a@$DOMAIN" \
	--subject "Plain message" --text "$F/plain.txt"
if [ $RC = 0 ] && wait_mail a "Plain message" &&
    show_has "$MSG" "part text/plain - " &&
    show_has "$MSG" "text text/plain this is a plain message." &&
    show_has "$MSG" "text text/plain ." &&
    show_has "$MSG" "text text/plain .a line with a leading dot" &&
    show_has "$MSG" "header From: alice@$DOMAIN" &&
    show_has "$MSG" "header To: a@$DOMAIN" &&
    grep -q '^raw Date: ' "$OUT/show.txt" &&
    grep -q "^raw Message-I[dD]: <.*@$DOMAIN>" "$OUT/show.txt" &&
    grep -q 'sasl_username=alice' "$RUN/postfix/maillog"; then
	ok "plain message over implicit TLS, delivered with Date and Message-ID, SASL user alice"
else
	fail "plain message over implicit TLS (rc $RC)"; explain plain
fi

# --- UTF-8 subject, names and file names, STARTTLS, --password-file
SUBJ='Relatório de março ✓ — çà'
printf 'Olá, tudo bem? ✓\n' > "$F/utf8.txt"
printf 'conteúdo\n' > "$F/relatório ç ✓.txt"
run utf8 --server 127.0.0.1:$P_STARTTLS --tls starttls --ca-file "$CA" \
	--user "$SASL_USER" --password-file "$F/password" \
	--from "José Ção <alice@$DOMAIN>" --to "Zoë Ünïcøde <b@$DOMAIN>" \
	--subject "$SUBJ" --text "$F/utf8.txt" --attach "$F/relatório ç ✓.txt"
if [ $RC = 0 ] && wait_mail b "$SUBJ" &&
    show_has "$MSG" "header Subject: $SUBJ" &&
    show_has "$MSG" "header From: José Ção <alice@$DOMAIN>" &&
    show_has "$MSG" "header To: Zoë Ünïcøde <b@$DOMAIN>" &&
    show_has "$MSG" "text text/plain Olá, tudo bem? ✓" &&
    show_has "$MSG" "part text/plain relatório ç ✓.txt " &&
    grep -q '^raw Subject: =?UTF-8?' "$OUT/show.txt" &&
    grep -q "filename\*=UTF-8''relat%C3%B3rio" "$MSG" &&
    ! LC_ALL=C grep -q '^raw .*[^ -~]' "$OUT/show.txt"; then
	ok "UTF-8 subject, names and file name (RFC 2047 / RFC 2231) over STARTTLS"
else
	fail "UTF-8 subject, names and file name (rc $RC)"; explain utf8
fi

# --- the password typed at a prompt on a terminal, without echo
(unset PULLMAIL_PASSWORD; python3 "$SRC/tests/integration/send/pty_prompt.py" \
	"$SASL_PASS" "$SEND" --server 127.0.0.1:$P_STARTTLS --ca-file "$CA" \
	--user "$SASL_USER" --from "alice@$DOMAIN" --to "c@$DOMAIN" \
	--subject "Prompted" --text "$F/plain.txt") > "$OUT/prompt.out" 2>&1
RC=$?
if [ $RC = 0 ] && grep -q "Password for $SASL_USER at 127.0.0.1: " "$OUT/prompt.out" &&
    ! grep -qF "$SASL_PASS" "$OUT/prompt.out" && wait_mail c "Prompted"; then
	ok "password from a terminal prompt, not echoed"
else
	fail "password prompt (rc $RC)"; sed 's/^/    /' "$OUT/prompt.out"
fi

# --- HTML with a text alternative
printf 'Plain alternative ✓\n' > "$F/alt.txt"
printf '<html><body><p>Rich <b>HTML</b> ✓</p></body></html>\n' > "$F/alt.html"
PULLMAIL_PASSWORD=$SASL_PASS run html --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "c@$DOMAIN" \
	--subject "HTML message" --text "$F/alt.txt" --html "$F/alt.html"
if [ $RC = 0 ] && wait_mail c "HTML message" &&
    show_has "$MSG" "multipart multipart/alternative" &&
    show_has "$MSG" "text text/plain Plain alternative ✓" &&
    show_has "$MSG" "text text/html <html><body><p>Rich <b>HTML</b> ✓</p></body></html>" &&
    [ "$(grep -c '^part ' "$OUT/show.txt")" = 2 ]; then
	ok "HTML with a text alternative (multipart/alternative)"
else
	fail "HTML with a text alternative (rc $RC)"; explain html
fi

# --- three attachments, one binary; types from content, bytes intact
head -c 100000 /dev/urandom > "$F/random.bin"
python3 - "$F/picture.dat" <<'EOF'
import struct, sys, zlib
def chunk(t, d):
    c = struct.pack(">I", len(d)) + t + d
    return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\0" + bytes([x * 8 % 256, 0, 255 - x * 8 % 256]) * 32
               for x in range(32))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
EOF
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' \
	> "$F/document"
PULLMAIL_PASSWORD=$SASL_PASS run attach --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "d@$DOMAIN" \
	--subject "Three attachments" --text "$F/plain.txt" \
	--attach "$F/random.bin" "$F/picture.dat" --attach "$F/document"
if [ $RC = 0 ] && wait_mail d "Three attachments" &&
    show_has "$MSG" "multipart multipart/mixed" &&
    show_has "$MSG" "part application/octet-stream random.bin 100000 $(sha256sum < "$F/random.bin" | cut -d' ' -f1)" &&
    show_has "$MSG" "part image/png picture.dat $(wc -c < "$F/picture.dat" | tr -d ' ') $(sha256sum < "$F/picture.dat" | cut -d' ' -f1)" &&
    show_has "$MSG" "part application/pdf document $(wc -c < "$F/document" | tr -d ' ') $(sha256sum < "$F/document" | cut -d' ' -f1)"; then
	ok "three attachments (binary, PNG and PDF detected from content) decode to the same bytes"
else
	fail "three attachments (rc $RC)"; explain attach
	grep '^part' "$OUT/show.txt" 2>/dev/null | sed 's/^/    /'
fi

# --- three To, two Cc, two Bcc
PULLMAIL_PASSWORD=$SASL_PASS run many --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" \
	--to "a@$DOMAIN" "b@$DOMAIN" "c@$DOMAIN" --cc "d@$DOMAIN" \
	--cc "e@$DOMAIN" --bcc "f@$DOMAIN" "Hidden G <g@$DOMAIN>" \
	--subject "Seven recipients" --text "$F/plain.txt"
got=0; leak=""
if [ $RC = 0 ]; then
	for u in a b c d e f g; do
		wait_mail $u "Seven recipients" || continue
		got=$((got + 1))
		$CHECK show "$MSG" > "$OUT/show-$u.txt"
		# A mailbox's own Delivered-To and X-Original-To (added by
		# Postfix's virtual(8)) name its owner; any other mention of
		# a blind copy in a header is a leak.
		if grep '^raw ' "$OUT/show-$u.txt" |
		    grep -vE "^raw (Delivered-To|X-Original-To): $u@$DOMAIN\$" |
		    grep -qiE "(f|g)@$DOMAIN|^raw Bcc:|Hidden G"; then
			leak="$leak $u"
		fi
	done
fi
if [ $RC = 0 ] && [ $got = 7 ] && [ -z "$leak" ] &&
    grep -q "header To: a@$DOMAIN, b@$DOMAIN, c@$DOMAIN" "$OUT/show-a.txt" &&
    grep -q "header Cc: d@$DOMAIN, e@$DOMAIN" "$OUT/show-f.txt"; then
	ok "three To, two Cc, two Bcc: all seven delivered, no Bcc address in any header"
else
	fail "three To, two Cc, two Bcc (rc $RC, $got of 7 delivered, leaks in:$leak)"
	explain many
fi

# --- wrong password: EX_NOPERM and the server's 535 text
PULLMAIL_PASSWORD='not the password' run badpw --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "e@$DOMAIN" \
	--subject "Wrong password" --text "$F/plain.txt"
if [ $RC = 77 ] && grep -q 'authentication as alice rejected by 127.0.0.1: 535 5.7.8' "$OUT/badpw.err" &&
    ! wait_mail e "Wrong password" 2; then
	ok "wrong password: exit 77 (EX_NOPERM) with the server's 535 text, nothing sent"
else
	fail "wrong password (rc $RC)"; explain badpw
fi

# --- untrusted certificate: the system CAs, then an unrelated CA
PULLMAIL_PASSWORD=$SASL_PASS run untrusted --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit --user "$SASL_USER" --from "alice@$DOMAIN" \
	--to "e@$DOMAIN" --subject "Untrusted" --text "$F/plain.txt"
rc1=$RC
PULLMAIL_PASSWORD=$SASL_PASS run untrusted2 --server 127.0.0.1:$P_STARTTLS \
	--ca-file "$RUN/tls/other.crt" --user "$SASL_USER" \
	--from "alice@$DOMAIN" --to "e@$DOMAIN" --subject "Untrusted" \
	--text "$F/plain.txt"
if [ $rc1 = 76 ] && [ $RC = 76 ] &&
    grep -q 'TLS: the certificate of 127.0.0.1 was not accepted: SSL certificate problem: unable to get local issuer certificate' "$OUT/untrusted.err" &&
    grep -q 'TLS: the certificate of 127.0.0.1 was not accepted' "$OUT/untrusted2.err" &&
    ! wait_mail e "Untrusted" 2; then
	ok "untrusted certificate refused (implicit TLS and STARTTLS), exit 76, message names the host and why"
else
	fail "untrusted certificate (rc $rc1 / $RC)"; explain untrusted; explain untrusted2
fi

# --- a certificate from the trusted CA, but for another host name
PULLMAIL_PASSWORD=$SASL_PASS run wrongname --server 127.0.0.1:$P_WRONGNAME \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "e@$DOMAIN" \
	--subject "Wrong name" --text "$F/plain.txt"
if [ $RC = 76 ] &&
    grep -q "TLS: the certificate of 127.0.0.1 was not accepted: .*target host name '127.0.0.1'" "$OUT/wrongname.err" &&
    ! wait_mail e "Wrong name" 2; then
	ok "certificate for another host name refused, exit 76, message names the host"
else
	fail "certificate for another host name (rc $RC)"; explain wrongname
fi

# --- a server without STARTTLS where STARTTLS is required
PULLMAIL_PASSWORD=$SASL_PASS run nostarttls --server 127.0.0.1:$P_PLAIN \
	--tls starttls $BASE --from "alice@$DOMAIN" --to "e@$DOMAIN" \
	--subject "No STARTTLS" --text "$F/plain.txt" --transcript
if [ $RC = 76 ] && grep -q "127.0.0.1 port $P_PLAIN does not offer STARTTLS; refusing to send without TLS" "$OUT/nostarttls.err" &&
    ! grep -q '^C: AUTH\|^C: MAIL' "$OUT/nostarttls.out" &&
    ! wait_mail e "No STARTTLS" 2; then
	ok "server without STARTTLS on the STARTTLS port refused before AUTH and MAIL, exit 76"
else
	fail "server without STARTTLS (rc $RC)"; explain nostarttls
fi

# --- --transcript: C:/S: lines, AUTH redacted, content summarised
PULLMAIL_PASSWORD=$SASL_PASS run transcript --server 127.0.0.1:$P_STARTTLS \
	$BASE --from "alice@$DOMAIN" --to "e@$DOMAIN" \
	--subject "Transcript" --text "$F/plain.txt" --transcript
b64=$(python3 -c 'import base64,sys; print(base64.b64encode(("\0%s\0%s" % (sys.argv[1], sys.argv[2])).encode()).decode())' "$SASL_USER" "$SASL_PASS")
size=$(grep -o '^C: <message, [0-9]* bytes>$' "$OUT/transcript.out" | tr -dc 0-9)
if [ $RC = 0 ] && grep -qx 'S: 220 2.0.0 Ready to start TLS' "$OUT/transcript.out" &&
    grep -qx 'C: AUTH PLAIN <redacted>' "$OUT/transcript.out" &&
    grep -qx 'S: 235 2.7.0 Authentication successful' "$OUT/transcript.out" &&
    grep -qx "C: MAIL FROM:<alice@$DOMAIN> SIZE=$size" "$OUT/transcript.out" &&
    grep -qx "C: RCPT TO:<e@$DOMAIN>" "$OUT/transcript.out" &&
    grep -qx 'C: QUIT' "$OUT/transcript.out" &&
    [ -n "$size" ] && [ "$size" -gt 100 ] &&
    ! grep -qF "$b64" "$OUT/transcript.out" &&
    ! grep -qF "$SASL_PASS" "$OUT/transcript.out" &&
    ! grep -q 'a plain message' "$OUT/transcript.out" &&
    ! grep -v '^[CS*]: \|^\* ' "$OUT/transcript.out" | grep -q . &&
    wait_mail e "Transcript"; then
	ok "--transcript: C:/S: lines, AUTH PLAIN <redacted>, message summarised ($size bytes)"
else
	fail "--transcript (rc $RC)"; explain transcript
fi

# --- a server that offers only AUTH LOGIN: every step after it redacted
PULLMAIL_PASSWORD=$SASL_PASS run login --server 127.0.0.1:$P_LOGIN \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "e@$DOMAIN" \
	--subject "AUTH LOGIN" --text "$F/plain.txt" --transcript
user64=$(printf '%s' "$SASL_USER" | base64)
pass64=$(printf '%s' "$SASL_PASS" | base64)
if [ $RC = 0 ] && grep -qx 'S: 250-AUTH LOGIN' "$OUT/login.out" &&
    grep -qx 'C: AUTH LOGIN <redacted>' "$OUT/login.out" &&
    grep -qx 'C: <redacted>' "$OUT/login.out" &&
    grep -qx 'S: 235 2.7.0 Authentication successful' "$OUT/login.out" &&
    ! grep -qF "$user64" "$OUT/login.out" && ! grep -qF "$pass64" "$OUT/login.out" &&
    wait_mail e "AUTH LOGIN"; then
	ok "AUTH LOGIN when the server offers only LOGIN; user and password redacted in the transcript"
else
	fail "AUTH LOGIN (rc $RC)"; explain login
fi

# --- a recipient rejected: named with the server's reply, the others get it
PULLMAIL_PASSWORD=$SASL_PASS run rcpt --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" \
	--to "a@$DOMAIN" "nobody@$DOMAIN" --cc "b@$DOMAIN" \
	--subject "One rejected" --text "$F/plain.txt"
if [ $RC = 67 ] &&
    grep -q "recipient <nobody@$DOMAIN> rejected by 127.0.0.1: 550 5.1.1 <nobody@$DOMAIN>: Recipient address rejected" "$OUT/rcpt.err" &&
    grep -q 'sent to the other 2 recipients' "$OUT/rcpt.err" &&
    wait_mail a "One rejected" && wait_mail b "One rejected"; then
	ok "one recipient rejected: exit 67 (EX_NOUSER) naming it with the 550 reply; the other two delivered"
else
	fail "one recipient rejected (rc $RC)"; explain rcpt
fi

# --- message too large (552 at MAIL FROM ... SIZE=)
head -c 40000 /dev/urandom > "$F/big.bin"
PULLMAIL_PASSWORD=$SASL_PASS run big --server 127.0.0.1:$P_SMALL $BASE \
	--from "alice@$DOMAIN" --to "a@$DOMAIN" --subject "Too large" \
	--attach "$F/big.bin"
if [ $RC = 65 ] && grep -q 'is too large for 127.0.0.1: 552 5.3.4 Message size exceeds fixed limit' "$OUT/big.err" &&
    ! wait_mail a "Too large" 2; then
	ok "message too large: exit 65 (EX_DATAERR) with the 552 reply"
else
	fail "message too large (rc $RC)"; explain big
fi

# --- X-Pull-Expires / X-Pull: no reach Postfix (no milter on this port)
PULLMAIL_PASSWORD=$SASL_PASS run xpull --server 127.0.0.1:$P_IMPLICIT \
	--tls implicit $BASE --from "alice@$DOMAIN" --to "a@$DOMAIN" \
	--subject "Pull headers" --text "$F/plain.txt" --expires 14d --no-pull
if [ $RC = 0 ] && wait_mail a "Pull headers" &&
    show_has "$MSG" "raw X-Pull-Expires: 14d" && show_has "$MSG" "raw X-Pull: no"; then
	ok "--expires 14d and --no-pull add X-Pull-Expires and X-Pull: no"
else
	fail "--expires / --no-pull headers (rc $RC)"; explain xpull
fi

# --- errors before any SMTP: no TLS with a password, bad --expires,
# password on the command line, unknown host, connection refused
run notls --server 127.0.0.1:$P_PLAIN --tls none --user "$SASL_USER" \
	--from "alice@$DOMAIN" --to "a@$DOMAIN" --subject x
rc1=$RC
run badexp --dry-run --from "alice@$DOMAIN" --to "a@$DOMAIN" --subject x \
	--expires 'soon'
rc2=$RC
run cmdpw --server 127.0.0.1:$P_IMPLICIT --password secret \
	--from "alice@$DOMAIN" --to "a@$DOMAIN" --subject x
rc3=$RC
run nohost --server host.invalid --from "alice@$DOMAIN" --to "a@$DOMAIN" \
	--subject x --timeout 10
rc4=$RC
run refused --server 127.0.0.1:10479 --from "alice@$DOMAIN" --to "a@$DOMAIN" \
	--subject x --timeout 10
rc5=$RC
if [ $rc1 = 64 ] && grep -q 'refusing to authenticate without TLS' "$OUT/notls.err" &&
    [ $rc2 = 64 ] && grep -q -- '--expires soon' "$OUT/badexp.err" &&
    [ $rc3 = 64 ] && grep -q 'never taken from the command line' "$OUT/cmdpw.err" &&
    [ $rc4 = 68 ] && grep -q 'host not found: host.invalid' "$OUT/nohost.err" &&
    [ $rc5 = 69 ] && grep -q 'cannot connect to 127.0.0.1 port 10479' "$OUT/refused.err"; then
	ok "errors: AUTH without TLS (64), bad --expires (64), --password (64), unknown host (68), connection refused (69)"
else
	fail "errors before SMTP (rc $rc1 $rc2 $rc3 $rc4 $rc5)"
	for n in notls badexp cmdpw nohost refused; do explain $n; done
fi

# --- --dry-run prints the message: no Bcc header, envelope on stderr.
# The Bcc address as an address: a random Message-Id such as
# <T9LDPT.H9BIFPEPUZHF@example.test> must not count as one.
run dry --dry-run --from "alice@$DOMAIN" --to "a@$DOMAIN" --bcc "f@$DOMAIN" \
	--subject "Dry run" --text "$F/plain.txt"
if [ $RC = 0 ] && grep -q '^Subject: Dry run$' "$OUT/dry.out" &&
    ! grep -qiE "(^|[^[:alnum:]._-])f@$DOMAIN|^Bcc:" "$OUT/dry.out" &&
    grep -q "RCPT TO:<a@$DOMAIN> RCPT TO:<f@$DOMAIN>" "$OUT/dry.err"; then
	ok "--dry-run prints the message without Bcc; the envelope goes to stderr"
else
	fail "--dry-run (rc $RC)"; explain dry
fi

if [ -f "$SRC/tests/integration/send/milter.sh" ]; then
	. "$SRC/tests/integration/send/milter.sh"
fi
