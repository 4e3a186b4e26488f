# Shared by the web integration tests (sourced): build directory, run
# directory, the seal helper, a store and a configuration; counting and
# stopping come from tests/lib/harness.sh.
# Needs NAME set by the caller; defines RUN, WEB, SEAL, CONF.
O=${O:-.}
TOP=$(pwd)
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/web-it/$NAME
WEB=$B/cgi/pullmail-web
LIB=$B/common/libpullmail.a
. "$TOP/tests/lib/harness.sh"
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }
pid_of_file() { [ -s "$1" ] && cat "$1"; }
stop_pidfiles_on_exit "$RUN"

if [ ! -x "$WEB" ] || [ ! -f "$LIB" ]; then
	fail "pullmail-web is built ($WEB)"
	finish
fi
rm -rf "$RUN"
mkdir -p "$RUN/store" "$RUN/tmp"
chmod 750 "$RUN/store"
SEAL=$RUN/seal-fixture
if ! ${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
    $(pkg-config --cflags glib-2.0 libsodium) -o "$SEAL" \
    "$TOP/tests/integration/web/seal-fixture.c" "$LIB" \
    $(pkg-config --libs gmime-3.0 libsodium glib-2.0 libxml-2.0 libcurl) \
    2> "$RUN/seal-build.log"; then
	fail "the seal helper builds"
	cat "$RUN/seal-build.log"
	finish
fi
CONF=$RUN/pullmail.conf
cat > "$CONF" <<EOC
[store]
StoreDir = $RUN/store
MaxRetention = 90d

[web]
PathPrefix = /m/
KeepExtension = 14d
AllowRemoteImages = yes
DefaultLanguage = en
PageCacheDir = $RUN/pages
EOC

# seal FILE [mode] -> sets TOKEN and SID
seal() {
	set -- $("$SEAL" "$CONF" "$@")
	TOKEN=$1
	SID=$2
}

# The decoded bytes of leaf part N of FILE, with Python's email package (an
# implementation independent of GMime), into OUT.
decoded_part() {
	python3 - "$1" "$2" "$3" <<'EOP'
import sys, email, email.policy
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
leaves = [p for p in msg.walk() if not p.is_multipart()]
open(sys.argv[3], 'wb').write(leaves[int(sys.argv[2])].get_payload(decode=True))
EOP
}

# nginx.conf for a private instance on PORT whose server block includes the
# contrib snippet after substituting the socket / program paths; EXTRA, if
# given, goes into the server block before it.
write_nginx() {
	port=$1 snippet=$2 extra=${3:-}
	mkdir -p "$RUN/nginx/logs" "$RUN/nginx/tmp"
	cat > "$RUN/nginx/nginx.conf" <<EON
daemon on;
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
	access_log $RUN/nginx/logs/access.log;
	client_body_temp_path $RUN/nginx/tmp/body;
	fastcgi_temp_path $RUN/nginx/tmp/fastcgi;
	proxy_temp_path $RUN/nginx/tmp/proxy;
	uwsgi_temp_path $RUN/nginx/tmp/uwsgi;
	scgi_temp_path $RUN/nginx/tmp/scgi;
	limit_req_zone \$binary_remote_addr zone=pullmail:1m rate=1000r/s;
	server {
		listen 127.0.0.1:$port;
		server_name localhost;
		root $RUN/nginx/www;
		$extra
		include $snippet;
	}
}
EON
	mkdir -p "$RUN/nginx/www"
}
