#!/bin/sh
# Installs exactly the Debian 12 packages that pullmail needs to build and test
# and that are missing. As root it runs apt-get; otherwise it prints the line
# to run and fails. Services shipped by the packages (postfix, nginx, apache2,
# dovecot) are not started by the install: the tests start their own private
# instances on loopback. The tests of contrib/ use systemd-analyze (systemd),
# setpriv and unshare (util-linux), cgi-fcgi (libfcgi-bin) and Sendmail's m4
# macros (sendmail-cf, which needs no sendmail-bin; that one conflicts with
# Postfix, so its test unpacks the .deb from `apt-get download` instead).
#
#   sh mk/deps.sh [check]   everything make check needs (make deps)
#   sh mk/deps.sh demo      what make demo needs: the build, Postfix, nginx,
#                           spawn-fcgi, curl and python3 (no Chromium, no
#                           clang, no Apache: the demo takes its screenshot
#                           only where Chromium is already installed)
#   sh mk/deps.sh bench     what make bench needs: the build, Postfix
#                           (smtp-source, smtp-sink), nginx, fcgiwrap,
#                           spawn-fcgi, wrk
set -eu

BUILD="build-essential pkg-config
libmilter-dev libgmime-3.0-dev libsodium-dev check libfcgi-dev libglib2.0-dev
libxml2-dev libcurl4-openssl-dev"
DEMO="postfix nginx-light spawn-fcgi curl python3 ca-certificates procps"
BENCH="postfix nginx-light fcgiwrap spawn-fcgi wrk curl python3 procps iproute2
openssl ceph-mon ceph-osd radosgw ceph-common"
CHECK="postfix nginx-light fcgiwrap spawn-fcgi apache2 dovecot-core
chromium chromium-driver python3 openssl ca-certificates
clang libclang-rt-14-dev valgrind wrk hyperfine man-db groff-base procps
iproute2 curl file opendkim opendkim-tools
systemd util-linux libfcgi-bin m4 sendmail-cf
ceph-mon ceph-osd radosgw ceph-common"

case ${1:-check} in
check) PKGS="$BUILD $CHECK" ;;
demo) PKGS="$BUILD $DEMO" ;;
bench) PKGS="$BUILD $BENCH" ;;
*) echo "usage: deps.sh [check|demo|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "pullmail: missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi

n=$(echo $missing | wc -w)
echo "pullmail: installing $n Debian packages (apt-get, a few minutes on a new machine):$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix must not configure or start a system mail server.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Keep package scripts from starting system daemons on public ports.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
# Retry once after a fresh package list: a stale list is the usual failure.
# PULLMAIL_DEPS_LOG=FILE sends apt-get's own output there (make demo does).
install() {
	apt-get install -y --no-install-recommends $missing ||
		{ apt-get update && apt-get install -y --no-install-recommends $missing; }
}
if [ -n "${PULLMAIL_DEPS_LOG:-}" ]; then
	install > "$PULLMAIL_DEPS_LOG" 2>&1 || {
		tail -n 20 "$PULLMAIL_DEPS_LOG" >&2
		echo "pullmail: apt-get failed; its output is in $PULLMAIL_DEPS_LOG" >&2
		exit 1
	}
else
	install
fi
