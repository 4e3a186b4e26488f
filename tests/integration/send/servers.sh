# Sourced by tests/integration/test_send.sh: the throw-away CA, the Dovecot
# auth service and the private Postfix instance. Uses $RUN, $DOMAIN, the
# port variables and sets DOVECOT_PID, POSTFIX_PID.

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

# A CA that exists only for this run, a server certificate for localhost
# and 127.0.0.1 signed by it, and a second CA that signed nothing.
make_ca() {
	t=$RUN/tls
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj "/CN=pullmail-send test CA" \
		-keyout "$t/ca.key" -out "$t/ca.crt" >/dev/null 2>&1 || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$t/server.key" -out "$t/server.csr" >/dev/null 2>&1 ||
		return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
		> "$t/ext.cnf"
	openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" \
		-CAkey "$t/ca.key" -CAcreateserial -days 2 \
		-extfile "$t/ext.cnf" -out "$t/server.crt" >/dev/null 2>&1 ||
		return 1
	# Signed by the trusted CA, but for another name.
	openssl req -newkey rsa:2048 -nodes -subj "/CN=other.example" \
		-keyout "$t/wrongname.key" -out "$t/wrongname.csr" >/dev/null 2>&1 ||
		return 1
	printf 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n' \
		> "$t/ext2.cnf"
	openssl x509 -req -in "$t/wrongname.csr" -CA "$t/ca.crt" \
		-CAkey "$t/ca.key" -CAcreateserial -days 2 \
		-extfile "$t/ext2.cnf" -out "$t/wrongname.crt" >/dev/null 2>&1 ||
		return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj "/CN=pullmail-send other CA" \
		-keyout "$t/other.key" -out "$t/other.crt" >/dev/null 2>&1 ||
		return 1
	chmod 644 "$t"/*.crt
	chmod 600 "$t"/*.key
}

# Dovecot with nothing but its auth service: no mail protocols, no
# network listeners, one unix socket for Postfix, users in a passwd-file.
start_dovecot() {
	d=$RUN/dovecot
	printf '%s:{PLAIN}%s::::::\n' "$SASL_USER" "$SASL_PASS" > "$d/passwd"
	chmod 640 "$d/passwd"
	chgrp dovecot "$d/passwd"
	cat > "$d/dovecot.conf" <<EOF
base_dir = $d/base
state_dir = $d/state
log_path = $d/dovecot.log
instance_name = pullmail-send-test
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

# $1: extra smtpd options for the milter port ("" when there is none).
write_postfix_config() {
	c=$RUN/postfix/conf
	cat > "$c/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $RUN/postfix/queue
data_directory = $RUN/postfix/data
mail_owner = postfix
setgid_group = postdrop
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
myhostname = mx.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
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
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $RUN/mail
virtual_mailbox_maps = texthash:$c/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_tls_cert_file = $RUN/tls/server.crt
smtpd_tls_key_file = $RUN/tls/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/dovecot/base/auth-postfix
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_helo_required = yes
message_size_limit = 20480000
EOF
	for u in a b c d e f g h bob; do
		echo "$u@$DOMAIN $DOMAIN/$u/"
	done > "$c/vmailbox"
	echo "$SASL_USER@$DOMAIN $DOMAIN/$SASL_USER/" >> "$c/vmailbox"
	cat > "$c/master.cf" <<EOF
127.0.0.1:$P_IMPLICIT inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
127.0.0.1:$P_STARTTLS inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
127.0.0.1:$P_PLAIN inet n - n - - smtpd
  -o smtpd_tls_security_level=none
127.0.0.1:$P_SMALL inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o message_size_limit=$SIZE_LIMIT
127.0.0.1:$P_LOGIN inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_mechanism_filter=login
127.0.0.1:$P_WRONGNAME inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_cert_file=$RUN/tls/wrongname.crt
  -o smtpd_tls_key_file=$RUN/tls/wrongname.key
EOF
	if [ -n "$1" ]; then
		printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n  -o smtpd_tls_security_level=encrypt\n%s\n' \
			"$P_MILTER" "$1" >> "$c/master.cf"
	fi
	cat >> "$c/master.cf" <<'EOF'
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

start_postfix() {
	write_postfix_config "${1:-}"
	chown 65534:65534 "$RUN/mail"
	chown postfix "$RUN/postfix/data"
	# check creates the queue's subdirectories with their owners; it runs
	# before maillog_file is set because it cannot log there yet.
	if ! postfix -c "$RUN/postfix/conf" check > "$RUN/postfix/check.log" 2>&1; then
		cat "$RUN/postfix/check.log"
		return 1
	fi
	printf 'maillog_file = %s\nmaillog_file_prefixes = %s\n' \
		"$RUN/postfix/maillog" "$RUN" >> "$RUN/postfix/conf/main.cf"
	# The master in the foreground (-d) so that its PID is ours to stop.
	(cd / && exec "$(postconf -c "$RUN/postfix/conf" -h daemon_directory)/master" \
		-c "$RUN/postfix/conf" -d) > "$RUN/postfix/master.out" 2>&1 &
	POSTFIX_PID=$!
	for p in $P_IMPLICIT $P_STARTTLS $P_PLAIN $P_SMALL $P_LOGIN $P_WRONGNAME ${1:+$P_MILTER}; do
		if ! wait_port $p; then
			echo "port $p not listening"
			cat "$RUN/postfix/master.out" "$RUN/postfix/maillog" 2>/dev/null
			return 1
		fi
	done
}
