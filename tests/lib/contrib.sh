# Sourced by the tests of contrib/ (test_contrib_*.sh). Needs NAME set by the
# caller. Installs pullmail with `make install DESTDIR=$ROOT` (the default
# PREFIX, /usr/local, the one the shipped files name), writes a test
# configuration at the installed path $ROOT/etc/pullmail/pullmail.conf
# (keeping the mode and owner make install gave it) whose paths all lie
# under $ROOT, and builds the sealing program of the web tests.
# Defines TOP, B, RUN, ROOT, CONF, STORE, SEAL, SVC_USER, SVC_GROUP,
# ok/fail/finish, stop_pid (PIDs in $PIDS are stopped on exit).
TOP=$(pwd)
O=${O:-.}
case $O in /*) B=$O ;; *) B=$TOP/$O ;; esac
RUN=$B/run/contrib-it/$NAME
ROOT=$RUN/root
CONF=$ROOT/etc/pullmail/pullmail.conf
STORE=$ROOT/var/lib/pullmail/store
UNIT_EXEC="python3 $TOP/tests/lib/unit_exec.py"
. "$TOP/tests/lib/harness.sh"

if [ "$(id -u)" != 0 ]; then
	fail "$NAME needs root (services that start as root and change user)"
	finish
fi

# The shipped files run as the account "pullmail" (contrib/postfix/README
# creates it). A test machine without it runs them as nobody:nogroup; every
# test says so rather than creating accounts on the machine.
SVC_USER=pullmail
SVC_GROUP=pullmail
USER_MAP=
if ! id pullmail >/dev/null 2>&1; then
	SVC_USER=nobody
	SVC_GROUP=nogroup
	USER_MAP="--user-map pullmail=nobody --group-map pullmail=nogroup"
	echo "# no account pullmail here: the units' User=pullmail runs as nobody:nogroup"
fi

rm -rf "$RUN"
mkdir -p "$RUN"
if ! make -s -C "$TOP" O="$B" DESTDIR="$ROOT" install > "$RUN/install.log" 2>&1; then
	fail "make install DESTDIR=$ROOT"
	tail -20 "$RUN/install.log"
	finish
fi
ok "make install DESTDIR=$ROOT"
if [ ! -f "$CONF" ]; then
	fail "make install put a configuration at /etc/pullmail/pullmail.conf"
	finish
fi
# As contrib/postfix/README says: the store owned by the account, mode 0750,
# and the configuration readable by its group.
for step in "install -d -o pullmail -g pullmail -m 0750 /var/lib/pullmail/store" \
    "chgrp pullmail /etc/pullmail/pullmail.conf"; do
	grep -qF "$step" "$TOP/contrib/postfix/README" ||
		fail "contrib/postfix/README no longer says: $step"
done
mkdir -p "$STORE"
chown "$SVC_USER:$SVC_GROUP" "$STORE"
chmod 0750 "$STORE"
chmod 755 "$RUN" "$ROOT" "$ROOT/var" "$ROOT/var/lib"
chmod 755 "$ROOT/var/lib/pullmail"
chgrp "$SVC_GROUP" "$CONF"
cat > "$CONF" <<EOF
# Written by tests/integration/$NAME.sh: the installed tree under $ROOT.
[store]
StoreDir = $STORE

[milter]
Socket = unix:$ROOT/run/pullmail/milter.sock
SocketMode = 0660
SocketGroup = postfix
UserID = $SVC_USER
BaseURL = https://pull.example.org/

[summary]
TemplateDir = $ROOT/usr/local/share/pullmail/templates
EOF

# The sealing program of the web tests: seals a file into the store as the
# milter does and prints the token and the storage id.
SEAL=$RUN/seal-fixture
if ! ${CC:-cc} -std=gnu11 -I"$TOP" -I"$TOP/common" \
    $(pkg-config --cflags glib-2.0 libsodium) -o "$SEAL" \
    "$TOP/tests/integration/web/seal-fixture.c" "$B/common/libpullmail.a" \
    $(pkg-config --libs gmime-3.0 libsodium glib-2.0 libxml-2.0 libcurl) \
    2> "$RUN/seal-build.log"; then
	fail "the sealing program (tests/integration/web/seal-fixture.c) builds"
	cat "$RUN/seal-build.log"
	finish
fi

# seal FILE [live|expired] -> sets TOKEN, SID and OBJ (the object's path),
# as the service account so that the object has the store's owner.
seal() {
	set -- $(setpriv --reuid="$SVC_USER" --regid="$SVC_GROUP" --init-groups \
		"$SEAL" "$CONF" "$@")
	TOKEN=$1
	SID=$2
	OBJ=$(find "$STORE" -name "$SID*" -type f)
}
