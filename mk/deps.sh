#!/bin/sh
# Installs exactly the Debian 12 packages that pullmail needs to build and test
# and that are missing. As root it runs apt-get; otherwise it prints the line
# to run and fails. Services shipped by the packages (postfix, nginx, apache2,
# dovecot) are not started by the install: the tests start their own private
# instances on loopback. The tests of contrib/ use systemd-analyze (systemd),
# setpriv and unshare (util-linux), cgi-fcgi (libfcgi-bin) and Sendmail's m4
# macros (sendmail-cf, which needs no sendmail-bin; that one conflicts with
# Postfix, so its test unpacks the .deb from `apt-get download` instead).
set -eu

PKGS="build-essential pkg-config
libmilter-dev libgmime-3.0-dev libsodium-dev check libfcgi-dev libglib2.0-dev
libxml2-dev libcurl4-openssl-dev
postfix nginx-light fcgiwrap spawn-fcgi apache2 dovecot-core
chromium chromium-driver python3 openssl ca-certificates
clang libclang-rt-14-dev valgrind wrk hyperfine man-db groff-base procps
iproute2 curl file
systemd util-linux libfcgi-bin m4 sendmail-cf"

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

echo "pullmail: installing:$missing"
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
apt-get install -y --no-install-recommends $missing ||
	{ apt-get update && apt-get install -y --no-install-recommends $missing; }
