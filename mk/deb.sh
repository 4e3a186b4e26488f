#!/bin/sh
# make deb: builds the Debian packages of debian/ with
# `dpkg-buildpackage -us -uc -b` and collects them in $O/deb/.
#
# dpkg-buildpackage builds in the source tree and writes the packages to its
# parent directory, so it runs on a copy, DIR/pullmail-VERSION/ in a new
# directory under $TMPDIR (/var/tmp), made of the checkout's tracked files
# (git ls-files: as they are in the work tree, without any build product);
# the packages are then moved to $O/deb/ and the copy removed (kept, and
# named, when the build fails). It is not under $O, where the Makefile reads
# every *.d it finds.
# As root, missing build dependencies are installed first (apt-get
# build-dep); otherwise dpkg-buildpackage names them. Then lintian, when it
# is installed, checks the packages at its default level; its report is
# $O/deb/lintian.txt and an error or a warning fails the build.
#
#   PULLMAIL_DEB_LINTIAN=0   skip lintian (the fresh-machine test does)
#   DEB_BUILD_OPTIONS=nocheck   skip the Check suites that the build runs
#                               (make unit-check)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-.}
mkdir -p "$O/deb"
out=$(cd "$O/deb" && pwd)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version 2>/dev/null ||
	sed -n '1s/.*(\(.*\)).*/\1/p' "$top/debian/changelog")
mkversion=$(sed -n 's/^VERSION = //p' "$top/Makefile")
case $version in
"$mkversion"|"$mkversion"-*) ;;
*) echo "deb: debian/changelog says $version, the Makefile VERSION $mkversion" >&2
   exit 1 ;;
esac

rm -f "$out"/*.deb "$out"/dbgsym/*.deb "$out"/*.changes "$out"/*.buildinfo \
	"$out"/lintian.txt "$out"/build.log "$out"/build-dep.log
work=$(mktemp -d "${TMPDIR:-/var/tmp}/pullmail-deb.XXXXXX")
src=$work/pullmail-$version
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z | xargs -0 tar -cf - --no-recursion) |
		(cd "$src" && tar -xf -)
else
	(cd "$top" && tar -cf - --exclude=./run --exclude=./deb .) |
		(cd "$src" && tar -xf -)
fi

if [ "$(id -u)" = 0 ] && ! (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
	echo "deb: installing the build dependencies (apt-get build-dep)"
	DEBIAN_FRONTEND=noninteractive apt-get build-dep -y \
		--no-install-recommends "$src" >"$out/build-dep.log" 2>&1 || {
		tail -n 20 "$out/build-dep.log" >&2
		echo "deb: apt-get build-dep failed; its output is in $out/build-dep.log" >&2
		exit 1
	}
fi

start=$(date +%s)
echo "deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed; its output is in $out/build.log, the tree in $src" >&2
	exit 1
fi
# dpkg-buildpackage wrote them next to the tree.
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
rm -rf "$work"
echo "deb: built in $(($(date +%s) - start)) s:"
ls "$out"/*.deb | sed 's/^/  /'

# The debug symbols go to dbgsym/ (after lintian, which finds them next to
# the .changes), so that `apt install ./deb/*.deb` installs the packages.
dbgsym() {
	mkdir -p "$out/dbgsym"
	rm -f "$out"/dbgsym/*.deb
	mv "$out"/*-dbgsym_*.deb "$out/dbgsym/"
}

if [ "${PULLMAIL_DEB_LINTIAN:-1}" = 0 ]; then
	dbgsym
	exit 0
fi
if ! command -v lintian >/dev/null 2>&1; then
	echo "deb: lintian is not installed (apt-get install lintian); packages not checked"
	dbgsym
	exit 0
fi
changes=$(ls "$out"/pullmail_*.changes)
lintian --fail-on error,warning "$changes" >"$out/lintian.txt" 2>&1 && rc=0 || rc=$?
if [ -s "$out/lintian.txt" ]; then
	cat "$out/lintian.txt"
fi
if [ $rc != 0 ]; then
	echo "deb: lintian found errors or warnings (exit $rc): $out/lintian.txt" >&2
	exit 1
fi
echo "deb: lintian: no error, no warning ($out/lintian.txt)"
dbgsym
