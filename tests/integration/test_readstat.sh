#!/bin/sh
# The read state and the read receipt end to end: pullmail-web as a
# FastCGI responder behind nginx (127.0.0.1:19401), driven by headless
# Chromium through chromedriver (127.0.0.1:19402, its W3C WebDriver API
# from Python's standard library), a page of another origin
# (127.0.0.1:19403) that posts to the receipt, and a private Postfix whose
# sendmail (-C its configuration) is pullmail-web's [web] Sendmail and
# which delivers into a Maildir under the run directory.
#   - the offer is shown only for a message that asks for a receipt;
#   - a GET of the receipt's address and a cross-origin POST send nothing;
#   - the reader's click sends one receipt; a second click sends none;
#   - Postfix delivers it, with a null return path, and Python's email
#     package parses it as an RFC 8098 report;
#   - pullmailctl list --json, show and stats report the fetches and the
#     receipt; the CGI front counts a page it answers from PageCacheDir.
NAME=readstat
. tests/integration/web/common.sh
PF_TOP=$TOP
. "$TOP/tests/lib/postfix.sh"

P_WEB=19401
P_DRIVER=19402
P_OTHER=19403
P_SMTP=19404
DOMAIN=example.test
CTL=$B/tools/pullmailctl
MAILDIR=$RUN/mail/$DOMAIN/joao

for prog in chromium chromedriver nginx spawn-fcgi postfix python3; do
	if ! command -v $prog >/dev/null 2>&1; then
		fail "$prog is installed (make deps)"
		finish
	fi
done
if [ "$(id -u)" != 0 ]; then
	fail "runs as root (Postfix's master starts as root)"
	finish
fi

# The private Postfix: local submission through its sendmail and pickup,
# virtual delivery for $DOMAIN into $RUN/mail.
PF=$RUN/postfix
mkdir -p "$PF/conf" "$PF/queue" "$PF/data" "$RUN/mail"
chmod 755 "$RUN" "$PF"
{
	postfix_main_cf "$PF/conf" "$PF/queue" "$PF/data" "$DOMAIN" "$DOMAIN" \
	    "$RUN/mail"
	echo "authorized_submit_users = static:anyone"
} > "$PF/conf/main.cf"
echo "joao@$DOMAIN $DOMAIN/joao/" > "$PF/conf/vmailbox"
{
	echo "127.0.0.1:$P_SMTP inet n - n - - smtpd"
	echo "pickup    unix  n       -       n       60      1       pickup"
	postfix_daemons
} > "$PF/conf/master.cf"
chown 65534:65534 "$RUN/mail"
chown postfix "$PF/data"
if ! postfix -c "$PF/conf" check > "$PF/check.log" 2>&1; then
	cat "$PF/check.log"
	fail "the private Postfix's configuration checks"
	finish
fi
printf 'maillog_file = %s\nmaillog_file_prefixes = %s\n' "$PF/maillog" \
    "$RUN" >> "$PF/conf/main.cf"
stop_on_exit MASTER_PID
if start_master "$PF/conf" "$PF/master.out" $P_SMTP; then
	ok "private Postfix started"
else
	cat "$PF/master.out" "$PF/maillog" 2>/dev/null
	fail "private Postfix started"
	finish
fi

cat >> "$CONF" <<EOC
Sendmail = /usr/sbin/sendmail -C $PF/conf
ReceiptsPerHour = 10
EOC

cat > "$RUN/asks.eml" <<EOM
From: Joao <joao@$DOMAIN>
To: Ana <ana@example.org>
Subject: Contract for signature
Date: Mon, 07 Dec 2026 09:00:00 +0000
Message-ID: <contract-7@$DOMAIN>
Disposition-Notification-To: Joao <joao@$DOMAIN>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Please sign and send it back.
EOM
sed -e '/^Disposition-Notification-To:/d' -e 's/contract-7/plain-8/' \
    "$RUN/asks.eml" > "$RUN/plain.eml"
seal "$RUN/asks.eml"; T_ASKS=$TOKEN; S_ASKS=$SID
seal "$RUN/plain.eml"; T_PLAIN=$TOKEN; S_PLAIN=$SID
seal "$RUN/plain.eml"; T_NEVER=$TOKEN; S_NEVER=$SID

sed -e "s|unix:/run/pullmail/web.sock|unix:$RUN/web.sock|" \
    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
    "$TOP/contrib/nginx/pullmail.conf" > "$RUN/pullmail-fcgi.conf"
write_nginx $P_WEB "$RUN/pullmail-fcgi.conf"
# Another origin: a page whose form posts to the receipt.
sed -i "s|^http {|http {\n\tserver { listen 127.0.0.1:$P_OTHER; root $RUN/other; }|" \
    "$RUN/nginx/nginx.conf"
mkdir -p "$RUN/other"
cat > "$RUN/other/post.html" <<EOH
<html><body><form method="post" action="http://127.0.0.1:$P_WEB/m/$T_ASKS/receipt">
<button id="go" type="submit">go</button></form></body></html>
EOH
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$RUN/nginx/nginx.conf"
PULLMAIL_CONFIG=$CONF PULLMAIL_LOG_STDERR=1 spawn-fcgi -s "$RUN/web.sock" \
    -M 0660 -P "$RUN/web.pid" -- "$B/cgi/pullmail-web-render" \
    > "$RUN/spawn.log" 2>&1
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2> "$RUN/nginx-start.log"
i=0; while ! [ -s "$RUN/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "nginx and pullmail-web started" '[ -s "$RUN/nginx.pid" ] && [ -S "$RUN/web.sock" ]'

chromedriver --port=$P_DRIVER > "$RUN/chromedriver.log" 2>&1 &
PIDS="$PIDS $!"
wait_port $P_DRIVER || { fail "chromedriver started"; finish; }

# The browser's steps; each prints "ok - ..." or "not ok - ...".
python3 - "$P_DRIVER" "$P_WEB" "$P_OTHER" "$T_ASKS" "$T_PLAIN" "$RUN" "$PF" \
    > "$RUN/browser.out" 2> "$RUN/browser.err" <<'EOP'
import glob, json, os, sys, time, urllib.request
drv, web, other, t_asks, t_plain, run, pf = sys.argv[1:8]
base = "http://127.0.0.1:%s" % drv

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    rq = urllib.request.Request(base + path, data=data, method=method,
                                headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(rq, timeout=60) as r:
        return json.load(r)["value"]

def check(name, cond):
    print(("ok - " if cond else "not ok - ") + name, flush=True)

caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
        "goog:chromeOptions": {"args": ["--headless", "--no-sandbox",
        "--disable-gpu", "--disable-background-networking",
        "--disable-sync", "--no-first-run",
        "--user-data-dir=%s/profile" % run]}}}}
sid = call("POST", "/session", caps)["sessionId"]
s = "/session/" + sid
def go(url):
    call("POST", s + "/url", {"url": url})
def source():
    return call("GET", s + "/source")
def click(css):
    el = call("POST", s + "/element", {"using": "css selector", "value": css})
    eid = list(el.values())[0]
    call("POST", s + "/element/%s/click" % eid, {})
    time.sleep(0.5)
ask = "The sender asked to be told when you read this message."
page = "http://127.0.0.1:%s/m/" % web
try:
    go(page + t_plain)
    src = source()
    check("a message without Disposition-Notification-To: its page",
          "Please sign" in src)
    check("... and no receipt offered", ask not in src and "receipt" not in src)
    go(page + t_asks)
    src = source()
    check("a message that asks: the offer is shown", ask in src)
    check("... with both buttons", "Send a read receipt</button>" in src
          and ">No</button>" in src)
    go(page + t_asks + "/receipt")
    src = source()
    check("a GET of the receipt's address: refused (405)",
          "Method not allowed" in src)
    go("http://127.0.0.1:%s/post.html" % other)
    click("#go")
    src = source()
    check("a POST from another origin: refused (403)", "Forbidden" in src)
    # Nothing went to Postfix: no submission picked up, nothing queued
    # or delivered (sendmail has returned before the page is answered).
    time.sleep(1)
    log = open(pf + "/maillog").read() if os.path.exists(pf + "/maillog") else ""
    check("nothing sent by the GET or the foreign POST",
          "postfix/pickup" not in log and
          not glob.glob(pf + "/queue/maildrop/*") and
          not glob.glob(run + "/mail/*/joao/new/*"))
    go(page + t_asks)
    click("form[action$='/receipt'] button")
    src = source()
    check("the reader's click: the receipt is sent",
          "Done: a read receipt was sent to the sender." in src)
    go(page + t_asks)
    click("form[action$='/receipt'] button")
    src = source()
    check("a second click: told it was already sent",
          "already sent or declined" in src)
    go(page + t_asks)
    click("form[action$='/receipt/no'] button")
    check("\"No\" after it: told it was already sent",
          "already sent or declined" in source())
finally:
    call("DELETE", s)
EOP
relay_tap "$RUN/browser.out"
[ -s "$RUN/browser.err" ] && { fail "the browser script ran without error"; cat "$RUN/browser.err"; }

check "Postfix picked up one submission in all" \
    '[ "$(grep -c "postfix/pickup.*from=<>" "$PF/maillog")" = 1 ]'

# Postfix delivers the one receipt (bounded wait), and nothing more.
i=0
while [ "$(ls "$MAILDIR/new" 2>/dev/null | wc -l)" -lt 1 ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 2
check "Postfix delivered exactly one receipt" \
    '[ "$(ls "$MAILDIR/new" 2>/dev/null | wc -l)" = 1 ]' || \
    tail -20 "$PF/maillog"
python3 - "$MAILDIR/new" "$DOMAIN" > "$RUN/mdn.out" 2>&1 <<'EOP'
import email, email.policy, os, sys
d, domain = sys.argv[1:3]
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + name)
files = os.listdir(d)
m = email.message_from_binary_file(open(os.path.join(d, files[0]), "rb"),
                                   policy=email.policy.default)
check("the receipt came with a null return path (Return-Path: <>)",
      m["Return-Path"] == "<>")
check("to the address the original asked", m["To"] == "joao@" + domain)
check("Content-Type multipart/report", m.get_content_type() == "multipart/report")
check("report-type=disposition-notification",
      m.get_param("report-type") == "disposition-notification")
parts = list(m.iter_parts())
check("two parts: human-readable, then the notification",
      len(parts) == 2 and parts[0].get_content_type() == "text/plain" and
      parts[1].get_content_type() == "message/disposition-notification")
# The fields of the notification (RFC 8098 section 3.1) as a header block.
body = parts[1].get_payload()
if isinstance(body, list):
    fields = {k.lower(): str(v) for p in body for k, v in p.items()}
else:
    fields = {k.lower(): v for k, v in
              email.message_from_string(body if isinstance(body, str) else
                                        body.decode()).items()}
check("Disposition: manual-action/MDN-sent-manually; displayed",
      fields.get("disposition", "").split() ==
      ["manual-action/MDN-sent-manually;", "displayed"])
check("Final-Recipient names the recipient",
      fields.get("final-recipient", "").replace(" ", "") ==
      "rfc822;ana@example.org")
check("Original-Message-ID is the original's",
      fields.get("original-message-id") == "<contract-7@%s>" % domain)
check("Reporting-UA names pullmail-web",
      "pullmail-web" in fields.get("reporting-ua", ""))
check("the human-readable part says what a receipt does not prove",
      "does not say that it" in parts[0].get_content())
EOP
relay_tap "$RUN/mdn.out"

# The CGI front counts a page it answers from PageCacheDir: the renderer
# keeps the page; the next GET is answered by pullmail-web alone (the kept
# entries' bytes unchanged: the renderer rewrites the entry of a page it
# answers) and counted all the same.
cgi_get() {
	env -i PULLMAIL_CONFIG="$CONF" REQUEST_METHOD=GET \
	    REQUEST_URI="/m/$1" SERVER_PROTOCOL=HTTP/1.1 "$WEB" > "$RUN/cgi.out" \
	    2> "$RUN/cgi.err" < /dev/null
	sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$RUN/cgi.out"
}
snap() { cat "$RUN/pages"/* 2>/dev/null | sha256sum; }
reads() {
	"$CTL" -c "$CONF" list --json | python3 -c '
import json, sys
for o in json.load(sys.stdin)["objects"]:
    if o["id"] == sys.argv[1]:
        print(o["read"]["routes"]["page"]["count"])' "$1"
}
n0=$(reads "$S_PLAIN")
st1=$(cgi_get "$T_PLAIN")
before=$(snap)
st2=$(cgi_get "$T_PLAIN")
check "CGI: the renderer answered, then pullmail-web from PageCacheDir" \
    '[ "$st1" = 200 ] && [ "$st2" = 200 ] && [ -n "$(ls "$RUN/pages")" ] && [ "$(snap)" = "$before" ]'
check "... and both pages were counted" '[ "$(reads "$S_PLAIN")" = $((n0 + 2)) ]'

# pullmailctl.
"$CTL" -c "$CONF" list --json > "$RUN/list.json"
python3 - "$RUN/list.json" "$S_ASKS" "$S_PLAIN" "$S_NEVER" > "$RUN/ctl.out" <<'EOP'
import json, sys, time
doc = json.load(open(sys.argv[1]))
objs = {o["id"]: o for o in doc["objects"]}
asks, plain, never = (objs[i] for i in sys.argv[2:5])
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + name)
now = time.time()
# Four views of its page: the offer, and before each of three clicks.
check("list --json: the asking message is read",
      asks["state"] == "read" and asks["read"]["count"] == 4)
check("... its four page fetches counted with their times",
      asks["read"]["routes"]["page"]["count"] == 4 and
      now - 300 < asks["read"]["first"] <= asks["read"]["last"] <= now + 1)
check("... no .eml or part fetched",
      asks["read"]["routes"]["eml"]["count"] == 0 and
      asks["read"]["routes"]["part"]["count"] == 0 and
      asks["read"]["routes"]["eml"]["first"] is None)
check("... its receipt: sent", asks["receipt"] == "sent" and
      now - 300 < asks["receipt_at"] <= now + 1)
check("... sent and expires", asks["sent"] == asks["created"] and
      asks["expires"] > now)
check("list --json: a message never fetched is sent, not read",
      never["state"] == "sent" and never["read"]["count"] == 0 and
      never["receipt"] == "none")
check("list --json: the plain message is read",
      plain["state"] == "read" and plain["receipt"] == "none")
EOP
relay_tap "$RUN/ctl.out"
"$CTL" -c "$CONF" stats --json > "$RUN/stats.json"
check "stats --json: 2 read, 1 never read, fraction 0.667, 1 receipt" \
    'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d[\"read\"]==2 and d[\"never_read\"]==1 and d[\"read_fraction\"]==0.667 and d[\"receipts_sent\"]==1))" "$RUN/stats.json"'
"$CTL" -c "$CONF" show "http://127.0.0.1:$P_WEB/m/$T_ASKS" > "$RUN/show.out"
check "show: read, four page fetches, the receipt sent" \
    'grep -q "^state      read$" "$RUN/show.out" && grep -q "^read page  4 times, first " "$RUN/show.out" && grep -q "^receipt    sent " "$RUN/show.out"'
finish
