#!/bin/sh
# Accessibility and phone-size layout of the pages pullmail-web serves, in
# Debian's Chromium driven by playwright-core (tests/a11y/check.js), behind
# nginx on loopback port 18110 (FastCGI on a unix socket): the message page
# of tests/data/web_sample.eml (HTML, inline image, attachments) in English,
# Brazilian Portuguese and Spanish, a plain-text message, and the 404 and
# 410 pages.
# For each: no axe-core WCAG 2.0/2.1/2.2 A/AA violation at 360x800 and at
# desktop size; at 360 px no horizontal scrolling and no text wider than the
# screen; one h1; the right lang; the same content with JavaScript off in the
# browser (and the keep button works so); links and buttons have accessible
# names. Screenshots for a person go to $RUN/shots/. The npm packages are
# pinned by tests/a11y/package-lock.json and installed by `npm ci` when
# missing. Ends with "N passed, N failed".
NAME=a11y
# Run directly with SANITIZE (not through tests/run.sh): seal-fixture
# must be built with the sanitizers libpullmail.a was built with.
if [ -n "${SANITIZE:-}" ]; then
	case " ${CC:-cc} " in
	*" -fsanitize="*) ;;
	*) CC="${CC:-cc} -fsanitize=$SANITIZE"; export CC ;;
	esac
fi
. tests/integration/web/common.sh

PORT=18110
CHROMIUM=/usr/bin/chromium
A11Y=$TOP/tests/a11y

# Node.js and npm: Debian 12's packages when the machine lacks either (a
# machine with another Node.js that has npm built in installs nothing).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm \
		    > "$RUN/apt.log" 2>&1
	fi
fi
check "node and npm are installed" 'command -v node >/dev/null && command -v npm >/dev/null' ||
	{ cat "$RUN/apt.log" 2>/dev/null; echo "run: apt-get install -y nodejs npm"; finish; }
# playwright-core 1.61 is the newest that runs on Debian 12's Node.js 18.
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
check "Node.js is 18 or later (${NODE_MAJOR:-none})" '[ "${NODE_MAJOR:-0}" -ge 18 ]' || finish
check "Debian's Chromium is installed ($CHROMIUM)" '[ -x "$CHROMIUM" ]' ||
	{ echo "run: apt-get install -y chromium"; finish; }
# The pinned packages, from the lock file only (again when it changed);
# never a browser download.
if ! cmp -s "$A11Y/package-lock.json" "$A11Y/node_modules/.installed-lock.json"; then
	(cd "$A11Y" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit \
	    --no-fund && cp package-lock.json node_modules/.installed-lock.json) \
	    > "$RUN/npm.log" 2>&1
fi
check "playwright-core and axe-core installed from package-lock.json" \
    '[ -f "$A11Y/node_modules/playwright-core/package.json" ] && [ -f "$A11Y/node_modules/axe-core/axe.min.js" ]' ||
	{ cat "$RUN/npm.log"; finish; }

seal "$TOP/tests/data/web_sample.eml"; T_SAMPLE=$TOKEN
seal "$TOP/tests/data/web_sample.eml"; T_KEEP=$TOKEN
seal "$TOP/tests/data/web_plain.eml"; T_PLAIN=$TOKEN
seal "$TOP/tests/data/web_plain.eml" expired; T_EXP=$TOKEN
seal "$TOP/tests/data/web_plain.eml" revoked; T_REV=$TOKEN
# A well-formed token of no stored message.
T_NONE=$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')

sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/pullmail-fcgi.conf"
write_nginx $PORT "$RUN/pullmail-fcgi.conf"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$RUN/nginx/nginx.conf"
# Sanitizer reports go to files that the last check looks for.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$RUN/asan \
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$RUN/ubsan \
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web.sock" \
    -M 0660 -P "$RUN/web.pid" -- "$WEB" > "$RUN/spawn.log" 2>&1
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx-start.log"
i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "nginx and pullmail-web started" '[ -s "$RUN/nginx.pid" ] && [ -S "$RUN/web.sock" ]' ||
	{ cat "$RUN/nginx-start.log" "$RUN/spawn.log"; finish; }

U=http://127.0.0.1:$PORT/m
KEEP_EN='Keep it longer'
KEEP_PT='Guardar por mais tempo'
KEEP_ES='Conservarlo más tiempo'
cat > "$RUN/plan.json" <<EOJ
{ "chromium": "$CHROMIUM", "run": "$RUN", "pages": [
 { "name": "sample-en", "url": "$U/$T_SAMPLE", "acceptLanguage": "en",
   "lang": "en", "status": 200, "keep": "$KEEP_EN" },
 { "name": "sample-pt", "url": "$U/$T_SAMPLE", "acceptLanguage": "pt-BR,pt;q=0.9",
   "lang": "pt-BR", "status": 200, "keep": "$KEEP_PT" },
 { "name": "sample-es", "url": "$U/$T_SAMPLE", "acceptLanguage": "es-ES,es;q=0.9",
   "lang": "es", "status": 200, "keep": "$KEEP_ES" },
 { "name": "keep-en", "url": "$U/$T_KEEP", "acceptLanguage": "en",
   "lang": "en", "status": 200, "keep": "$KEEP_EN", "tryKeep": true },
 { "name": "plain-en", "url": "$U/$T_PLAIN", "acceptLanguage": "en-GB,en;q=0.8",
   "lang": "en", "status": 200, "keep": "$KEEP_EN" },
 { "name": "404-en", "url": "$U/$T_NONE", "acceptLanguage": "en",
   "lang": "en", "status": 404, "keep": null },
 { "name": "404-pt", "url": "$U/$T_NONE", "acceptLanguage": "pt-BR",
   "lang": "pt-BR", "status": 404, "keep": null },
 { "name": "404-es", "url": "$U/$T_NONE", "acceptLanguage": "es",
   "lang": "es", "status": 404, "keep": null },
 { "name": "410-expired-en", "url": "$U/$T_EXP", "acceptLanguage": "en",
   "lang": "en", "status": 410, "keep": null },
 { "name": "410-revoked-pt", "url": "$U/$T_REV", "acceptLanguage": "pt-BR",
   "lang": "pt-BR", "status": 410, "keep": null }
] }
EOJ

# check.js prints one "ok - " / "not ok - " line per assertion and "# "
# lines that explain a failure; it is bounded by timeout.
(cd "$A11Y" && timeout 300 node check.js "$RUN/plan.json") > "$RUN/check.out" 2>&1
rc=$?
relay_tap "$RUN/check.out"
check "the browser checks ended normally (exit $rc)" \
    '[ "$rc" = 0 ] || { [ "$rc" = 1 ] && grep -q "^not ok - " "$RUN/check.out"; }'
shots() {
	for p in sample-en sample-pt sample-es plain-en 404-en 410-expired-en; do
		[ -s "$RUN/shots/$p-360.png" ] && [ -s "$RUN/shots/$p-desktop.png" ] ||
			return 1
	done
}
check "every page has a 360 px and a desktop screenshot" shots
check "pullmail-web is still running" 'kill -0 "$(cat "$RUN/web.pid")" 2>/dev/null'
check "no sanitizer report from pullmail-web" '! ls "$RUN"/asan.* "$RUN"/ubsan.* >/dev/null 2>&1' ||
	cat "$RUN"/asan.* "$RUN"/ubsan.* 2>/dev/null
echo "screenshots: $RUN/shots/"
finish
