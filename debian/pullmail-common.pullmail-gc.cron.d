# /etc/cron.d/pullmail-gc: removes expired pullmail messages daily at 04:17
# where systemd does not run; under systemd pullmail-gc.timer does it and
# this line does nothing. Errors go to syslog and to cron's mail. See
# pullmailctl(8).
17 4 * * * pullmail if [ ! -d /run/systemd/system ] && [ -x /usr/sbin/pullmailctl ]; then /usr/sbin/pullmailctl gc >/dev/null; fi
