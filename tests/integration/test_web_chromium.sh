#!/bin/sh
# Headless Chromium against pullmail-web (FastCGI) behind nginx on loopback
# port 18083: a screenshot of a message with HTML, an inline image and
# attachments ($RUN/sample.png, for a person to look at); a hostile HTML
# message whose scripts, styles, frames and images would call a listener on
# 127.0.0.1:18098 if anything ran or loaded: the listener must receive
# nothing, and the remote <img> only after the reader opts in (?images=1;
# https only, so an http image stays blocked by the CSP even then). A
# positive control proves the listener and the browser can reach each other.
NAME=chromium
. tests/integration/web/common.sh

PORT=18083
LPORT=18098
seal "$TOP/tests/data/web_sample.eml"; T_SAMPLE=$TOKEN
seal "$TOP/tests/data/web_hostile.eml"; T_HOSTILE=$TOKEN

sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/pullmail-fcgi.conf"
write_nginx $PORT "$RUN/pullmail-fcgi.conf"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$RUN/nginx/nginx.conf"
echo '<html><body><img src="http://127.0.0.1:'$LPORT'/control.png"></body></html>' \
    > "$RUN/nginx/www/control.html"
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web.sock" \
    -M 0660 -P "$RUN/web.pid" -- "$WEB" > "$RUN/spawn.log" 2>&1
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx-start.log"
i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "nginx and pullmail-web started" '[ -s "$RUN/nginx.pid" ] && [ -S "$RUN/web.sock" ]'

cat > "$RUN/listener.py" <<'EOP'
import http.server, sys
log = open(sys.argv[2], 'a')
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(self.command + ' ' + self.path + '\n'); log.flush()
        self.send_response(204); self.end_headers()
    do_POST = do_GET
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
EOP
: > "$RUN/hits"
python3 "$RUN/listener.py" $LPORT "$RUN/hits" & PIDS="$PIDS $!"
sleep 0.5

# browse URL SHOT [WIDTH,HEIGHT]: a fresh profile each time.
n=0
browse() {
	n=$((n + 1))
	timeout 90 chromium --headless --no-sandbox --disable-gpu \
	    --disable-background-networking --disable-component-update \
	    --disable-sync --no-first-run --user-data-dir="$RUN/profile$n" \
	    --hide-scrollbars --virtual-time-budget=3000 \
	    --window-size="${3:-1000,1400}" --screenshot="$2" "$1" \
	    > "$RUN/chromium$n.log" 2>&1
}

browse "http://127.0.0.1:$PORT/m/$T_SAMPLE" "$RUN/sample.png"
check "screenshot of the sample message" '[ -s "$RUN/sample.png" ]'
browse "http://127.0.0.1:$PORT/m/$T_SAMPLE" "$RUN/sample-360.png" 360,1600
check "screenshot at 360 px" '[ -s "$RUN/sample-360.png" ]'
browse "http://127.0.0.1:$PORT/m/$T_HOSTILE" "$RUN/hostile.png"
check "hostile message rendered" '[ -s "$RUN/hostile.png" ]'
check "the listener received nothing from the hostile message" '[ ! -s "$RUN/hits" ]' || cat "$RUN/hits"
browse "http://127.0.0.1:$PORT/m/$T_HOSTILE/?images=1" "$RUN/hostile-optin.png"
check "opted in: http images still blocked (img-src https: only)" '[ ! -s "$RUN/hits" ]' || cat "$RUN/hits"
browse "http://127.0.0.1:$PORT/control.html" "$RUN/control.png"
check "control: a plain page does reach the listener" 'grep -q "GET /control.png" "$RUN/hits"'
finish
