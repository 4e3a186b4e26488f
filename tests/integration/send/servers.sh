# Sourced by tests/integration/test_send.sh: the private Postfix instance;
# the throw-away CA, the Dovecot auth service and Postfix's own services come
# from tests/lib/postfix.sh. Uses $RUN, $DOMAIN, the port variables and sets
# DOVECOT_PID, POSTFIX_PID.

PF_TOP=$SRC
. "$SRC/tests/lib/postfix.sh"

# $1: the master.cf lines of the milter port, $P_MILTER ("" for none).
write_postfix_config() {
	c=$RUN/postfix/conf
	{
		postfix_main_cf "$c" "$RUN/postfix/queue" "$RUN/postfix/data" \
			"$DOMAIN" "$DOMAIN" "$RUN/mail"
		cat <<EOF
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
	} > "$c/main.cf"
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
		printf '%s\n' "$1" >> "$c/master.cf"
	fi
	postfix_daemons >> "$c/master.cf"
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
	if ! start_master "$RUN/postfix/conf" "$RUN/postfix/master.out" \
	    $P_IMPLICIT $P_STARTTLS $P_PLAIN $P_SMALL $P_LOGIN $P_WRONGNAME \
	    ${1:+$P_MILTER}; then
		POSTFIX_PID=$MASTER_PID
		cat "$RUN/postfix/master.out" "$RUN/postfix/maillog" 2>/dev/null
		return 1
	fi
	POSTFIX_PID=$MASTER_PID
}
