#!/bin/sh
# The Makefile's first run on a new machine, cheaply (the acceptance is CI's
# make check through ../shared/fresh-machine/run.sh):
# - reading the Makefile never runs pkg-config (a new machine has it only
#   after mk/deps.sh), and make bench installs before it builds;
# - mk/stage.sh: a checkout under a directory others cannot enter, or with
#   a space in its path, is named a stage; one anyone can enter is not; a
#   sync copies the sources readable by all, carries changes, removes the
#   files removed from the checkout and keeps the build products.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-.}
O=$(cd "$TOP" && mkdir -p "$O" && cd "$O" && pwd)
RUN=$O/run/first-run
. "$TOP/tests/lib/harness.sh"
rm -rf "$RUN"
mkdir -p "$RUN"
chmod 755 "$RUN"

# --- pkg-config is not run while the Makefile is read -------------------
fake=$RUN/pkg-config
cat > "$fake" <<EOF
#!/bin/sh
echo "\$*" >> "$RUN/pkg-config.calls"
EOF
chmod 755 "$fake"
# Target-specific and simple (:=) variables are expanded as the Makefile is
# read, whatever the goal: make -n of goals whose recipes call no
# pkg-config shows any such call.
for goal in demo deps demo-stop; do
	rm -f "$RUN/pkg-config.calls"
	make -C "$TOP" -n --no-print-directory PKG_CONFIG="$fake" \
		PULLMAIL_IN_STAGE=1 "$goal" > "$RUN/make-$goal.out" 2>&1
	calls=$(cat "$RUN/pkg-config.calls" 2>/dev/null | wc -l)
	if [ "$calls" = 0 ]; then
		ok "reading the Makefile for make $goal runs no pkg-config"
	else
		fail "make $goal ran pkg-config $calls times while reading the Makefile: $(head -n 3 "$RUN/pkg-config.calls" | tr '\n' ';')"
	fi
done
if grep -q '^	@sh mk/deps.sh bench$' "$TOP/Makefile" &&
    awk '/^bench:/{b=1;next} b&&/^\t/{print;exit}' "$TOP/Makefile" | grep -q 'deps.sh bench'; then
	ok "make bench installs its packages before it builds"
else
	fail "make bench's first step is not mk/deps.sh bench"
fi

# --- mk/stage.sh ---------------------------------------------------------
tree() {
	mkdir -p "$1/mk" "$1/templates"
	cp "$TOP/mk/stage.sh" "$1/mk/"
	echo "all:" > "$1/Makefile"
	echo "a" > "$1/templates/a.txt"
	echo "b" > "$1/templates/b.txt"
	chmod 644 "$1/Makefile" "$1/templates/"*.txt
}
open=$RUN/open/pm
tree "$open"
w=$(sh "$open/mk/stage.sh" where)
[ -z "$w" ] && ok "a checkout anyone can enter runs in place" ||
	fail "a checkout anyone can enter was given a stage: $w"

mkdir -p "$RUN/closed"
chmod 700 "$RUN/closed"
closed=$RUN/closed/pm
tree "$closed"
w=$(sh "$closed/mk/stage.sh" where)
case $w in
/var/tmp/pullmail-[0-9]*-[0-9]*) ok "a checkout under a mode 0700 directory runs from $w" ;;
*) fail "a checkout under a mode 0700 directory: stage '$w'" ;;
esac

spaced="$RUN/with space/pm"
tree "$spaced"
ws=$(sh "$spaced/mk/stage.sh" where)
[ -n "$ws" ] && [ "$ws" != "$w" ] && ok "a path with a space runs from its own stage" ||
	fail "a path with a space: stage '$ws' (the other: '$w')"

if [ -n "$w" ]; then
	rm -rf "$w"
	chmod 600 "$closed/templates/a.txt"
	sh "$closed/mk/stage.sh" sync "$w" > "$RUN/sync1.out" 2>&1
	grep -q 'cannot be used in place: .*closed (mode 700)' "$RUN/sync1.out" &&
		ok "the sync says why, in one line" || fail "sync said: $(head -n 2 "$RUN/sync1.out")"
	[ "$(cat "$w/templates/a.txt" 2>/dev/null)" = a ] &&
		[ "$(stat -c %a "$w/templates/a.txt")" = 644 ] &&
		ok "the copy is readable by all (mode 644 from 600)" ||
		fail "the copy of templates/a.txt: $(stat -c %a "$w/templates/a.txt" 2>&1)"
	echo "b2" > "$closed/templates/b.txt"
	rm "$closed/templates/a.txt"
	echo "built" > "$w/product.o"
	sh "$closed/mk/stage.sh" sync "$w" > "$RUN/sync2.out" 2>&1
	[ ! -e "$w/templates/a.txt" ] && ok "a removed file is removed from the copy" ||
		fail "templates/a.txt is still in the copy"
	[ "$(cat "$w/templates/b.txt")" = b2 ] && ok "a changed file is changed in the copy" ||
		fail "templates/b.txt in the copy: $(cat "$w/templates/b.txt")"
	[ -f "$w/product.o" ] && ok "the build products in the copy are kept" ||
		fail "product.o was removed from the copy"
	rm -rf "$w"
fi
[ -n "$ws" ] && rm -rf "$ws"
rm -rf "$RUN/closed" "$RUN/with space"
finish
