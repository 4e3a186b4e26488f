#!/bin/sh
# pullmail-web as CGI with [web] PageCacheDir, run from the shell with the
# CGI variables a web server sets (no server needed): the first GET of a
# page is rendered by pullmail-web-render, which keeps it sealed; the next
# is answered by pullmail-web alone. Who answered shows in PageCacheDir:
# the renderer writes the entry of every page it answers afresh (a new
# nonce, new bytes), pullmail-web only reads it. Checks that a kept page is never served for a
# revoked, expired or kept message, another variant of the request, or
# another configuration, and that nothing in PageCacheDir is plaintext.
# Ends with "N passed, N failed".
NAME=cgi-pages
. tests/integration/web/common.sh

SAMPLE=$TOP/tests/data/web_sample.eml
CTL=$B/tools/pullmailctl
PAGES=$RUN/pages         # common.sh's PageCacheDir

# cgi PROGRAM METHOD URI OUT [Accept-Language] [Origin]
cgi() {
	env -i PATH=/usr/bin:/bin PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 \
	    REQUEST_METHOD="$2" REQUEST_URI="$3" HTTP_HOST=127.0.0.1 \
	    SERVER_PORT=80 ${5:+HTTP_ACCEPT_LANGUAGE="$5"} \
	    ${6:+HTTP_ORIGIN="$6"} ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	    "$1" < /dev/null > "$4" 2>> "$RUN/cgi.err"
}
status() { sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$1"; }
entries() { ls "$PAGES" 2>/dev/null | grep -c "^$1\." ; }
# The bytes of every entry: unchanged across a request that was answered
# from PageCacheDir, changed by one the renderer answered.
snap() { cat "$PAGES"/* 2>/dev/null | sha256sum; }
# alone URI OUT [Accept-Language]: GET through pullmail-web; true when it
# answered 200 from PageCacheDir (no entry written meanwhile).
alone() {
	before=$(snap)
	cgi "$WEB" GET "$1" "$2" "$3"
	[ "$(status "$2")" = 200 ] && [ "$(snap)" = "$before" ]
}

seal "$SAMPLE"; T=$TOKEN; S=$SID
seal "$SAMPLE"; T2=$TOKEN; S2=$SID

cgi "$WEB" GET "/m/$T" "$RUN/p1.out"
check "first GET: 200 from the renderer" '[ "$(status "$RUN/p1.out")" = 200 ] && grep -q "Relatório trimestral" "$RUN/p1.out"'
check "the page is kept: one entry named by the storage id" '[ "$(entries "$S")" = 1 ]'
check "PageCacheDir is 0700, the entry 0600" '[ "$(stat -c %a "$PAGES")" = 700 ] && [ "$(stat -c %a "$PAGES/$(ls "$PAGES" | grep "^$S\.")")" = 600 ]'
check "no token in the entry's name" '! ls "$PAGES" | grep -q "$T"'
check "the entry is sealed: neither the subject nor a body line is in it" '! grep -rqa "Relatório trimestral" "$PAGES" && ! grep -rqa "números de novembro" "$PAGES"'
check "second GET answered by pullmail-web alone, byte-identical" 'alone "/m/$T" "$RUN/p2.out" && cmp -s "$RUN/p1.out" "$RUN/p2.out"'

# pullmail-web's own path under valgrind (the sanitizer build checks it
# above instead): the kept page, no error, no leak. valgrind cannot check a
# static program, so the same objects linked shared (make tests), next to
# a link to the renderer (which pullmail-web looks for beside itself).
if [ -z "${SANITIZE:-}" ]; then
	mkdir -p "$RUN/vg"
	cp "$B/tests/pullmail-web-shared" "$RUN/vg/pullmail-web"
	ln -s "$B/cgi/pullmail-web-render" "$RUN/vg/pullmail-web-render"
	before=$(snap)
	env -i PULLMAIL_CONFIG=$CONF REQUEST_METHOD=GET REQUEST_URI="/m/$T" \
	    /usr/bin/valgrind -q --leak-check=full --error-exitcode=99 \
	    --errors-for-leak-kinds=definite,indirect "$RUN/vg/pullmail-web" \
	    > "$RUN/vg.out" 2> "$RUN/vg.txt"
	vg_rc=$?
	check "valgrind: pullmail-web serves the kept page with no error or leak" '[ "$vg_rc" = 0 ] && cmp -s "$RUN/p1.out" "$RUN/vg.out" && [ "$(snap)" = "$before" ]' || cat "$RUN/vg.txt"
fi

# Every other request goes to the renderer.
cgi "$WEB" GET "/m/$T/" "$RUN/o.out"
check "trailing slash: another variant, rendered and kept on its own" '[ "$(status "$RUN/o.out")" = 200 ] && [ "$(entries "$S")" = 2 ]'
check "and then served alone" 'alone "/m/$T/" "$RUN/o2.out" && cmp -s "$RUN/o.out" "$RUN/o2.out"'
before=$(snap)
cgi "$WEB" GET "/m/$T?x=1" "$RUN/o.out"
check "another query: rendered, and not kept (only none or images=1 are)" '[ "$(status "$RUN/o.out")" = 200 ] && [ "$(snap)" = "$before" ] && [ "$(entries "$S")" = 2 ] && cmp -s "$RUN/p1.out" "$RUN/o.out"'
cgi "$WEB" GET "/m/$T" "$RUN/pt1.out" "pt-BR"
check "another Accept-Language: rendered and kept on its own" '[ "$(status "$RUN/pt1.out")" = 200 ] && [ "$(entries "$S")" = 3 ] && ! cmp -s "$RUN/p1.out" "$RUN/pt1.out"'
check "the pt-BR variant then served alone" 'alone "/m/$T" "$RUN/pt2.out" "pt-BR" && cmp -s "$RUN/pt1.out" "$RUN/pt2.out"'
cgi "$WEB" HEAD "/m/$T" "$RUN/o.out"
check "HEAD: answered by the renderer, headers only" '[ "$(status "$RUN/o.out")" = 200 ] && [ "$(tail -c 2 "$RUN/o.out" | od -An -c | tr -d " ")" = "\r\n" ]'
cgi "$WEB" GET "/m/$T/eml" "$RUN/o.out"
check "the .eml: answered by the renderer" 'grep -qi "^Content-Type: message/rfc822" "$RUN/o.out"'
cgi "$WEB" GET "/m/$T2" "$RUN/o.out"
check "another message: its own page and entry" '[ "$(status "$RUN/o.out")" = 200 ] && [ "$(entries "$S2")" = 1 ]'

# A damaged entry is a miss; the renderer writes a new one.
for f in "$PAGES/$S".*; do cp "$f" "$RUN/saved-entry"; break; done
python3 - "$PAGES" "$S" <<'EOP'
import os, sys
for n in os.listdir(sys.argv[1]):
    if n.startswith(sys.argv[2] + '.'):
        p = os.path.join(sys.argv[1], n)
        b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 1
        open(p, 'wb').write(bytes(b))
EOP
check "a damaged entry does not open: the renderer answers and replaces it" '! alone "/m/$T" "$RUN/o.out" && cmp -s "$RUN/p1.out" "$RUN/o.out"'
check "the new entry is served alone" 'alone "/m/$T" "$RUN/o2.out" && cmp -s "$RUN/p1.out" "$RUN/o2.out"'

# Another configuration (one comment more): no entry of the old one opens.
cp "$CONF" "$RUN/conf.saved"
echo "# edited" >> "$CONF"
check "a changed configuration file: the kept page does not open" '! alone "/m/$T" "$RUN/o.out" && [ "$(status "$RUN/o.out")" = 200 ]'
cp "$RUN/conf.saved" "$CONF"
cgi "$WEB" GET "/m/$T" "$RUN/o.out"
check "the original configuration again: served alone once kept" 'alone "/m/$T" "$RUN/o.out"'
# A rebuilt or reinstalled renderer: its pages are another program's.
touch "$B/cgi/pullmail-web-render"
check "a renderer installed since: the kept page does not open" '! alone "/m/$T" "$RUN/o.out" && [ "$(status "$RUN/o.out")" = 200 ]'
check "and is kept anew" 'alone "/m/$T" "$RUN/o.out"'
# The object changed on disk (one byte of its ciphertext): not served.
python3 - "$RUN/store" "$S2" <<'EOP'
import os, sys
p = os.path.join(sys.argv[1], sys.argv[2][:2], sys.argv[2] + '.pull')
b = bytearray(open(p, 'rb').read()); b[200] ^= 1
open(p, 'wb').write(bytes(b))
EOP
cgi "$WEB" GET "/m/$T2" "$RUN/o.out"
check "an object damaged since: its kept page is not served, the renderer answers 500" '[ "$(status "$RUN/o.out")" = 500 ]'

# keep moves the expiry: the kept page shows the old date and must not open.
cgi "$WEB" POST "/m/$T/keep" "$RUN/k.out" "" "http://127.0.0.1"
check "keep: 200" '[ "$(status "$RUN/k.out")" = 200 ]'
check "after keep the old page does not open" '! alone "/m/$T" "$RUN/n1.out" && ! cmp -s "$RUN/p1.out" "$RUN/n1.out"'
check "the page with the new date is kept and served alone" 'alone "/m/$T" "$RUN/n2.out" && cmp -s "$RUN/n1.out" "$RUN/n2.out"'

# Revocation: the header says 410 before any entry is looked at, even one
# that survived (put back here by hand), and pullmailctl removes them.
mkdir -p "$RUN/keep-aside"
cp "$PAGES/$S".* "$RUN/keep-aside/"
"$CTL" -c "$CONF" revoke "$S" > "$RUN/revoke.out" 2>&1
check "pullmailctl revoke removed the message's kept pages" '[ "$(entries "$S")" = 0 ] && grep -q revoked "$RUN/revoke.out"'
cgi "$WEB" GET "/m/$T" "$RUN/o.out"
check "revoked: 410" '[ "$(status "$RUN/o.out")" = 410 ]'
cp "$RUN/keep-aside/"* "$PAGES/"
cgi "$WEB" GET "/m/$T" "$RUN/o.out"
check "revoked, with its entries put back: 410, never served from them" '[ "$(status "$RUN/o.out")" = 410 ]'

# Expired: an entry for an object past its expiry is never served.
seal "$SAMPLE"; T3=$TOKEN; S3=$SID
cgi "$WEB" GET "/m/$T3" "$RUN/e1.out"
python3 - "$RUN/store" "$S3" <<'EOP'
import os, sys
# expires (big-endian, offset 48: ENVELOPE_EXPIRES_OFFSET, outside the
# authenticated data, where keep writes it) set to created (offset 16),
# which is already past.
p = os.path.join(sys.argv[1], sys.argv[2][:2], sys.argv[2] + '.pull')
with open(p, 'r+b') as f:
    f.seek(16); created = f.read(8)
    f.seek(48); f.write(created)
EOP
cgi "$WEB" GET "/m/$T3" "$RUN/o.out"
check "expired: 410, its kept page not served" '[ "$(status "$RUN/o.out")" = 410 ]'

# gc sweeps the pages of objects that can no longer be read.
cgi "$WEB" GET "/m/$T2" "$RUN/o.out"
"$CTL" -c "$CONF" gc > "$RUN/gc.out" 2>&1
check "gc removed the kept pages of the revoked and the expired message" '[ "$(entries "$S")" = 0 ] && [ "$(entries "$S3")" = 0 ] && grep -q "kept pages" "$RUN/gc.out"'
check "gc left the live message's kept page" '[ "$(entries "$S2")" = 1 ]'

# A bad token or URI never reaches an entry, and the renderer answers.
cgi "$WEB" GET "/m/not-a-token" "$RUN/o.out"
check "malformed token: 404" '[ "$(status "$RUN/o.out")" = 404 ]'
cgi "$WEB" GET "/m//$T" "$RUN/o.out"
check "/m//TOKEN: 404" '[ "$(status "$RUN/o.out")" = 404 ]'
check "nothing in PageCacheDir but entries" '! ls -A "$PAGES" | grep -vq "^[0-9a-f]\{32\}\.[0-9a-f]\{32\}$"'
check "no token in the programs' standard error" '! grep -q "$T" "$RUN/cgi.err" && ! grep -q "$T2" "$RUN/cgi.err"'
finish
