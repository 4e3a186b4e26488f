# Sourced by the tests that run a private Postfix instance
# (tests/integration/test_milter_postfix.sh, tests/integration/send/): the
# pieces every such instance needs. Uses $RUN (the test's run directory);
# make_ca writes $RUN/tls, start_dovecot $RUN/dovecot and sets DOVECOT_PID
# (needs SASL_USER, SASL_PASS), start_master sets MASTER_PID.
PF_TOP=${PF_TOP:-$(pwd)}

wait_port() {
	# $1: port; up to 15 s until something accepts on 127.0.0.1:$1.
	python3 - "$1" <<'EOF'
import socket, sys, time
end = time.time() + 15
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# signed_cert NAME CN SAN: $t/NAME.key and $t/NAME.crt, a server
# certificate for SAN signed by the test CA of make_ca.
signed_cert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" \
		-keyout "$t/$1.key" -out "$t/$1.csr" >/dev/null 2>&1 || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" \
		> "$t/$1.cnf"
	openssl x509 -req -in "$t/$1.csr" -CA "$t/ca.crt" \
		-CAkey "$t/ca.key" -CAcreateserial -days 2 \
		-extfile "$t/$1.cnf" -out "$t/$1.crt" >/dev/null 2>&1
}
# A CA that exists only for this run, a server certificate for localhost
# and 127.0.0.1 signed by it, and a second CA that signed nothing.
make_ca() {
	t=$RUN/tls
	mkdir -p "$t"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj "/CN=pullmail-send test CA" \
		-keyout "$t/ca.key" -out "$t/ca.crt" >/dev/null 2>&1 || return 1
	signed_cert server localhost "DNS:localhost,IP:127.0.0.1" || return 1
	# Signed by the trusted CA, but for another name.
	signed_cert wrongname other.example "DNS:other.example" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj "/CN=pullmail-send other CA" \
		-keyout "$t/other.key" -out "$t/other.crt" >/dev/null 2>&1 ||
		return 1
	chmod 644 "$t"/*.crt
	chmod 600 "$t"/*.key
}

# Dovecot with nothing but its auth service: no mail protocols, no
# network listeners, one unix socket for Postfix ($RUN/dovecot/base/
# auth-postfix), users in a passwd-file.
start_dovecot() {
	d=$RUN/dovecot
	mkdir -p "$d/base" "$d/state"
	chmod 755 "$d"
	printf '%s:{PLAIN}%s::::::\n' "$SASL_USER" "$SASL_PASS" > "$d/passwd"
	chmod 640 "$d/passwd"
	chgrp dovecot "$d/passwd"
	cat > "$d/dovecot.conf" <<EOF
base_dir = $d/base
state_dir = $d/state
log_path = $d/dovecot.log
instance_name = pullmail-$(basename "$RUN")
protocols = none
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
	if ! dovecot -n -c "$d/dovecot.conf" > "$d/dovecot-n.out" 2>&1; then
		cat "$d/dovecot-n.out"
		return 1
	fi
	dovecot -F -c "$d/dovecot.conf" > "$d/stdout.log" 2>&1 &
	DOVECOT_PID=$!
	i=0
	while [ ! -S "$d/base/auth-postfix" ] && [ $i -lt 100 ]; do
		kill -0 "$DOVECOT_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	if [ ! -S "$d/base/auth-postfix" ]; then
		cat "$d/stdout.log" "$d/dovecot.log" 2>/dev/null
		return 1
	fi
}

# postfix_main_cf CONFIG_DIR QUEUE_DIR DATA_DIR DOMAIN MAIL_DOMAIN MAIL_DIR:
# the main.cf lines every private instance shares: its own directories, no
# chroot, loopback IPv4 only, nothing delivered outside, virtual mailboxes
# for MAIL_DOMAIN under MAIL_DIR (CONFIG_DIR/vmailbox, a texthash map),
# owned by 65534. The caller appends its own lines.
postfix_main_cf() {
	cat <<EOF
compatibility_level = 3.6
queue_directory = $2
data_directory = $3
mail_owner = postfix
setgid_group = postdrop
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
myhostname = mx.$4
mydomain = $4
myorigin = $4
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
default_transport = error:this test delivers nothing outside
relay_transport = error:this test delivers nothing outside
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
virtual_mailbox_domains = $5
virtual_mailbox_base = $6
virtual_mailbox_maps = texthash:$1/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
EOF
}

# The master.cf lines of Postfix's own services, no chroot.
postfix_daemons() {
	cat <<'EOF'
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# contrib_service NAME PORT SOCKET: the lines of service NAME in the shipped
# contrib/postfix/master.cf, with only the listening address (NAME becomes
# 127.0.0.1:PORT) and the milter's socket path replaced. Fails when the
# service or the socket is not there.
contrib_service() {
	python3 - "$PF_TOP/contrib/postfix/master.cf" "$@" <<'EOF'
import sys
path, name, port, sock = sys.argv[1:5]
shipped = "unix:/run/pullmail/milter.sock"
out, inside = [], False
for line in open(path, encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("#") or not line.strip():
        continue
    if not line[0].isspace():
        inside = line.split()[0] == name
        if inside:
            line = "127.0.0.1:%s%s" % (port, line[len(name):])
    if inside:
        out.append(line)
text = "\n".join(out)
if not out or shipped not in text:
    sys.exit("%s: no service %s with smtpd_milters=%s" % (path, name, shipped))
print(text.replace(shipped, "unix:" + sock))
EOF
}

# start_master CONFIG_DIR LOG PORT...: Postfix's master in the foreground
# (-d) so that its PID is ours to stop; waits for every PORT.
start_master() {
	c=$1 log=$2
	shift 2
	(cd / && exec "$(postconf -c "$c" -h daemon_directory)/master" -c "$c" -d) \
		> "$log" 2>&1 &
	MASTER_PID=$!
	for p in "$@"; do
		if ! wait_port "$p"; then
			echo "port $p not listening"
			return 1
		fi
	done
}

# The benches' Postfix: relay_postfix_start NAME HOSTNAME DOMAIN SINKPORT
# writes $RUN/pf/conf/main.cf for a private instance (directories
# $RUN/pf/{conf,queue,data}, made by the caller) that relays every message
# to 127.0.0.1:SINKPORT, tuned for throughput rather than for mail, takes
# the smtpd lines of master.cf on standard input, checks the result and
# starts master in the foreground; sets MASTER_PID. NAME prefixes its
# error messages.
relay_postfix_start() {
	rp_c=$RUN/pf/conf
	cat > "$rp_c/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $RUN/pf/queue
data_directory = $RUN/pf/data
mail_owner = postfix
setgid_group = postdrop
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
myhostname = $2
mydomain = $3
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$4
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
in_flow_delay = 0
message_size_limit = 40000000
milter_protocol = 6
milter_default_action = tempfail
smtp_destination_concurrency_limit = 20
default_process_limit = 100
EOF
	cat > "$rp_c/master.cf" || return 1
	postfix_daemons >> "$rp_c/master.cf"
	postfix -c "$rp_c" check > "$RUN/pf/check.log" 2>&1 ||
		{ echo "$1: postfix check failed" >&2; cat "$RUN/pf/check.log" >&2; return 1; }
	printf 'maillog_file = %s\nmaillog_file_prefixes = %s\n' \
		"$RUN/pf/maillog" "$RUN" >> "$rp_c/main.cf"
	(cd / && exec "$(postconf -c "$rp_c" -h daemon_directory)/master" \
		-c "$rp_c" -d) > "$RUN/pf/master.out" 2>&1 &
	MASTER_PID=$!
}

# queue_drain NAME: waits (up to 10 minutes) until the queue of
# relay_postfix_start's instance is empty, so that one run's deliveries do
# not compete with the next run's submissions.
queue_drain() {
	qd_i=0
	while [ $qd_i -lt 6000 ]; do
		qd_n=$(find "$RUN/pf/queue/incoming" "$RUN/pf/queue/active" \
			"$RUN/pf/queue/deferred" "$RUN/pf/queue/maildrop" \
			-type f 2>/dev/null | wc -l)
		[ "$qd_n" = 0 ] && return 0
		sleep 0.1; qd_i=$((qd_i + 1))
	done
	echo "$1: the queue did not drain" >&2
	return 1
}
