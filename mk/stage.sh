#!/bin/sh
# make check, make demo and make bench start servers that run as other users
# (postfix, www-data, pullmail, nobody) and read the programs, templates,
# configuration and data of the tree. A checkout those users cannot enter
# (under /root, mode 0700), one whose path has characters that configuration
# files and shell scripts cannot carry (a space), or one whose files only
# their owner may read (umask 077) cannot serve them. Such a checkout runs
# from a copy, the stage, kept up to date on each run:
#
#   sh mk/stage.sh where       prints the stage's directory when this
#                              checkout needs one, nothing when it does not
#   sh mk/stage.sh sync DIR    copies the checkout's sources into DIR: new
#                              and changed files (with their times, so make
#                              rebuilds only what changed), and removes the
#                              files a previous sync copied that are gone
#
# The stage is /var/tmp/pullmail-UID-HASH (HASH from the checkout's full
# path): one per checkout, kept between runs so that builds and installed
# test packages are kept too. Its name is short: the tests' unix sockets
# live deep inside it, and a socket's path has at most 107 bytes.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

# why: prints the reason this checkout cannot be used in place, or nothing.
why() {
	case $top in
	*[!A-Za-z0-9._/+@-]*)
		echo "its path has characters (such as a space) that the tests' configuration files cannot carry"
		return ;;
	esac
	d=$top
	while [ "$d" != / ] && [ -n "$d" ]; do
		# Every directory on the way must let others pass (o+x).
		if [ "$(stat -c %A "$d" | cut -c10)" != x ] &&
		    [ "$(stat -c %A "$d" | cut -c10)" != t ]; then
			echo "$d (mode $(stat -c %a "$d")) cannot be entered by the users the servers run as (postfix, www-data, pullmail)"
			return
		fi
		d=$(dirname "$d")
	done
	for f in "$top/Makefile" "$top/templates"; do
		if [ "$(stat -c %A "$f" | cut -c8)" != r ]; then
			echo "its files are readable by their owner only (umask $(umask))"
			return
		fi
	done
	if ! [ -w "$top" ]; then
		echo "it is not writable"
		return
	fi
}

where() {
	reason=$(why)
	[ -n "$reason" ] || return 0
	hash=$(printf '%s' "$top" | cksum | cut -d' ' -f1)
	echo "/var/tmp/pullmail-$(id -u)-$hash"
}

# The checkout's source files, one per line, relative: what git tracks and
# what it would track (new files not ignored), or, outside git, every file
# but build products and run directories.
sources() {
	if [ -e "$top/.git" ] && command -v git >/dev/null 2>&1 &&
	    files=$(cd "$top" && git ls-files --cached --others --exclude-standard) &&
	    [ -n "$files" ]; then
		printf '%s\n' "$files" |
		while IFS= read -r f; do
			if [ -f "$top/$f" ]; then printf '%s\n' "$f"; fi
		done
	else
		(cd "$top" && find . -path ./run -prune -o -path ./.git -prune -o \
		    -path ./tests/a11y/node_modules -prune -o -type f \
		    ! -name '*.o' ! -name '*.d' ! -name '*.a' -print | sed 's|^\./||')
	fi
}

sync() {
	dir=$1
	umask 022
	# Created by this user and kept its own: /var/tmp is writable by all.
	mkdir -p "$dir"
	if [ -L "$dir" ] || [ ! -O "$dir" ]; then
		echo "pullmail: $dir is not a directory of $(id -un); remove it" >&2
		exit 1
	fi
	chmod 755 "$dir"
	reason=$(why)
	echo "pullmail: this checkout cannot be used in place: $reason."
	echo "pullmail: running from a copy kept up to date on each run: $dir"
	list=$(mktemp)
	trap 'rm -f "$list"' EXIT
	sources | LC_ALL=C sort > "$list"
	if [ -f "$dir/.stage-files" ]; then
		LC_ALL=C comm -23 "$dir/.stage-files" "$list" |
		while IFS= read -r f; do rm -f "$dir/$f"; done
	fi
	# Others must read the copy whatever the checkout's modes.
	(cd "$top" && tar -cf - --no-recursion --mode='u+rwX,go+rX,go-w' \
	    --owner=0 --group=0 --verbatim-files-from -T "$list") |
	    (cd "$dir" && tar -xpf - --no-same-owner)
	cp "$list" "$dir/.stage-files"
	chmod -R go+rX "$dir" 2>/dev/null || true
}

case ${1:-} in
where) where ;;
sync) [ $# = 2 ] || { echo "usage: stage.sh sync DIR" >&2; exit 2; }; sync "$2" ;;
*) echo "usage: stage.sh where | sync DIR" >&2; exit 2 ;;
esac
