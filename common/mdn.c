/* Read receipts (mdn.h): the rules, the report and its delivery through
 * the local MTA's sendmail command. The report is built with GMime; the
 * only hand-written part is the small block of fields of the
 * message/disposition-notification part, which GMime has no type for. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "mdn.h"

#define ADDR_MAX 254

/* Rule 2: a plain ASCII addr-spec, safe on a command line and in a
 * header. */
static bool
plain_address(const char *a)
{
	size_t n = strlen(a);
	const char *at = strchr(a, '@');

	if (n < 3 || n > ADDR_MAX || a[0] == '-' || at == NULL || at == a ||
	    at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),:;<>[\\]", *p))
			return false;
	return true;
}

/* The fields named name: how many, and the raw value of the first. */
static int
count_fields(GMimeMessage *msg, const char *name, const char **first)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = 0, count = g_mime_header_list_get_count(hl);

	*first = NULL;
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		if (n++ == 0)
			*first = g_mime_header_get_raw_value(h);
	}
	return n;
}

/* The one mailbox the list holds, or NULL (none, several, a group). */
static const char *
only_mailbox(InternetAddressList *l)
{
	if (l == NULL || internet_address_list_length(l) != 1)
		return NULL;
	InternetAddress *a = internet_address_list_get_address(l, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(a))
		return NULL;
	return internet_address_mailbox_get_idn_addr(
	    INTERNET_ADDRESS_MAILBOX(a));
}

/* The one mailbox of a raw field value, copied, or NULL. */
static char *
field_mailbox(const char *raw)
{
	InternetAddressList *l = raw != NULL ?
	    internet_address_list_parse(NULL, raw) : NULL;
	const char *a = only_mailbox(l);
	char *r = a != NULL ? g_strdup(a) : NULL;

	if (l != NULL)
		g_object_unref(l);
	return r;
}

/* Rule 5: the recipient mailboxes of To and Cc; several, a group or none
 * give NULL. */
static char *
sole_recipient(GMimeMessage *msg)
{
	InternetAddressList *to = g_mime_message_get_addresses(msg,
	    GMIME_ADDRESS_TYPE_TO);
	InternetAddressList *cc = g_mime_message_get_addresses(msg,
	    GMIME_ADDRESS_TYPE_CC);
	int nto = to != NULL ? internet_address_list_length(to) : 0;
	int ncc = cc != NULL ? internet_address_list_length(cc) : 0;

	if (nto + ncc != 1)
		return NULL;
	const char *a = only_mailbox(nto == 1 ? to : cc);
	return a != NULL && plain_address(a) ? g_strdup(a) : NULL;
}

/* Rule 6: a parameter "name=required,value" (RFC 8098 section 2.2). */
static bool
requires_options(const char *raw)
{
	if (raw == NULL)
		return false;
	char *low = g_ascii_strdown(raw, -1);
	bool req = strstr(low, "required") != NULL;
	g_free(low);
	return req;
}

void
mdn_target_clear(struct mdn_target *t)
{
	g_free(t->to);
	g_free(t->recipient);
	t->to = NULL;
	t->recipient = NULL;
}

enum mdn_request
mdn_check(GMimeMessage *msg, struct mdn_target *t, const char **why)
{
	const char *dnt, *rp, *opts, *from;
	char *addr = NULL, *other = NULL;

	memset(t, 0, sizeof *t);
	*why = NULL;
	int n = count_fields(msg, "Disposition-Notification-To", &dnt);
	if (n == 0)
		return MDN_NOT_ASKED;
	if (n > 1) {
		*why = "several Disposition-Notification-To fields";
		return MDN_DENIED;
	}
	if ((addr = field_mailbox(dnt)) == NULL) {
		*why = "Disposition-Notification-To holds other than one "
		    "mailbox";
		return MDN_DENIED;
	}
	if (!plain_address(addr)) {
		*why = "Disposition-Notification-To is not a plain address";
		goto denied;
	}
	if (count_fields(msg, "Return-Path", &rp) > 0) {
		other = field_mailbox(rp);
		if (other == NULL || g_ascii_strcasecmp(other, addr) != 0) {
			*why = "Disposition-Notification-To differs from "
			    "Return-Path";
			goto denied;
		}
	} else {
		count_fields(msg, "From", &from);
		other = field_mailbox(from);
		if (other == NULL || g_ascii_strcasecmp(other, addr) != 0) {
			*why = "Disposition-Notification-To differs from From";
			goto denied;
		}
	}
	count_fields(msg, "Disposition-Notification-Options", &opts);
	if (requires_options(opts)) {
		*why = "Disposition-Notification-Options requires a parameter";
		goto denied;
	}
	if ((t->recipient = sole_recipient(msg)) == NULL) {
		*why = "not exactly one recipient in To and Cc";
		goto denied;
	}
	t->to = addr;
	g_free(other);
	return MDN_OFFER;
denied:
	g_free(addr);
	g_free(other);
	mdn_target_clear(t);
	return MDN_DENIED;
}

char *
mdn_build(GMimeMessage *orig, const struct mdn_target *t,
    const char *reporting_host, int64_t now, size_t *len)
{
	GMimeMessage *m = g_mime_message_new(TRUE);
	const char *subject = g_mime_message_get_subject(orig);
	const char *omid = g_mime_message_get_message_id(orig);
	GDateTime *date = g_date_time_new_from_unix_utc(now);
	GDateTime *odate = g_mime_message_get_date(orig);

	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, NULL,
	    t->recipient);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, t->to);
	char *subj = g_strdup_printf("Read: %s", subject != NULL ? subject :
	    "(no subject)");
	g_mime_message_set_subject(m, subj, "utf-8");
	g_free(subj);
	g_mime_message_set_date(m, date);
	char *mid = g_mime_utils_generate_message_id(reporting_host);
	g_mime_message_set_message_id(m, mid);
	g_free(mid);
	if (omid != NULL) {
		char *ref = g_strdup_printf("<%s>", omid);
		g_mime_object_set_header(GMIME_OBJECT(m), "In-Reply-To", ref,
		    NULL);
		g_mime_object_set_header(GMIME_OBJECT(m), "References", ref,
		    NULL);
		g_free(ref);
	}

	GMimeMultipart *report = g_mime_multipart_new_with_subtype("report");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(report),
	    "report-type", "disposition-notification");

	/* The human-readable part says what a receipt does not prove. */
	char *when = odate != NULL ? g_date_time_format(odate,
	    "%a, %d %b %Y %H:%M:%S %z") : g_strdup("(no date)");
	char *text = g_strdup_printf(
	    "This is a read receipt for the message sent to %s\n"
	    "on %s with the subject:\n\n  %s\n\n"
	    "The recipient opened the message and chose to send this "
	    "receipt.\nIt says that the message was displayed; it does not "
	    "say that it\nwas read or understood, or that its content is "
	    "agreed to.\n", t->recipient, when,
	    subject != NULL ? subject : "(no subject)");
	g_free(when);
	GMimeTextPart *human = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(human, text);
	g_free(text);
	g_mime_multipart_add(report, GMIME_OBJECT(human));
	g_object_unref(human);

	GString *f = g_string_new(NULL);
	g_string_append_printf(f, "Reporting-UA: %s; pullmail-web "
	    PULLMAIL_VERSION "\n", reporting_host);
	g_string_append_printf(f, "Final-Recipient: rfc822; %s\n",
	    t->recipient);
	if (omid != NULL)
		g_string_append_printf(f, "Original-Message-ID: <%s>\n", omid);
	g_string_append(f, "Disposition: manual-action/MDN-sent-manually; "
	    "displayed\n");
	GMimePart *dn = g_mime_part_new_with_type("message",
	    "disposition-notification");
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(f->str, f->len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(dn, w);
	g_mime_part_set_content_encoding(dn, GMIME_CONTENT_ENCODING_7BIT);
	g_object_unref(w);
	g_object_unref(s);
	g_string_free(f, TRUE);
	g_mime_multipart_add(report, GMIME_OBJECT(dn));
	g_object_unref(dn);

	g_mime_message_set_mime_part(m, GMIME_OBJECT(report));
	g_object_unref(report);
	/* 7-bit on the wire: a subject or a name outside ASCII in the human
	 * part becomes quoted-printable, whatever the relay accepts. */
	g_mime_object_encode(GMIME_OBJECT(m), GMIME_ENCODING_CONSTRAINT_7BIT);
	char *out = g_mime_object_to_string(GMIME_OBJECT(m), NULL);
	*len = strlen(out);
	g_object_unref(m);
	g_date_time_unref(date);
	return out;
}

/* Writes all of buf to fd; MSG_NOSIGNAL: a sendmail that exits early
 * gives an error, not SIGPIPE. */
static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
mdn_send(char *const *argv, const char *to, const char *msg, size_t len,
    char **err)
{
	int sv[2];
	size_t argc = 0;

	while (argv[argc] != NULL)
		argc++;
	if (argc == 0) {
		*err = g_strdup("no sendmail command");
		return -1;
	}
	/* argv, then -i -f <> -- address. */
	const char **args = g_new0(const char *, argc + 6);
	memcpy(args, argv, argc * sizeof *args);
	args[argc] = "-i";
	args[argc + 1] = "-f";
	args[argc + 2] = "<>";
	args[argc + 3] = "--";
	args[argc + 4] = to;
	/* ep: the child writes exec's errno there; closed by a successful
	 * exec (O_CLOEXEC), so that "cannot run" is told from "failed". */
	int ep[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		*err = g_strdup_printf("socketpair: %s", g_strerror(errno));
		g_free(args);
		return -1;
	}
	if (pipe2(ep, O_CLOEXEC) != 0) {
		*err = g_strdup_printf("pipe: %s", g_strerror(errno));
		close(sv[0]);
		close(sv[1]);
		g_free(args);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		*err = g_strdup_printf("fork: %s", g_strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		g_free(args);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (dup2(sv[1], 0) >= 0 && null >= 0 && dup2(null, 1) >= 0)
			execv(args[0], (char *const *)args);
		int e = errno;
		(void)!write(ep[1], &e, sizeof e);
		_exit(127);
	}
	close(sv[1]);
	close(ep[1]);
	g_free(args);
	int exec_errno = 0;
	ssize_t en;
	while ((en = read(ep[0], &exec_errno, sizeof exec_errno)) < 0 &&
	    errno == EINTR)
		;
	close(ep[0]);
	if (en == (ssize_t)sizeof exec_errno) {
		close(sv[0]);
		(void)waitpid(pid, NULL, 0);
		*err = g_strdup_printf("cannot run %s: %s", argv[0],
		    g_strerror(exec_errno));
		return -1;
	}
	/* A sendmail that stops reading must not hold the responder. */
	struct timeval tv = { MDN_SENDMAIL_TIMEOUT, 0 };
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int wrote = send_all(sv[0], msg, len);
	shutdown(sv[0], SHUT_WR);
	close(sv[0]);
	int status = 0;
	pid_t r = 0;
	for (int waited = 0; waited < MDN_SENDMAIL_TIMEOUT * 10; waited++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r != 0 && !(r < 0 && errno == EINTR))
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		*err = g_strdup_printf("%s took more than %d s", argv[0],
		    MDN_SENDMAIL_TIMEOUT);
		return wrote == 0 ? MDN_SEND_UNKNOWN : -1;
	}
	if (r < 0) {
		*err = g_strdup_printf("waitpid: %s", g_strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*err = WIFEXITED(status) ? g_strdup_printf("%s exited with "
		    "status %d", argv[0], WEXITSTATUS(status)) :
		    g_strdup_printf("%s was killed by signal %d", argv[0],
		    WTERMSIG(status));
		return -1;
	}
	if (wrote != 0) {
		*err = g_strdup_printf("%s did not read the whole receipt",
		    argv[0]);
		return -1;
	}
	return 0;
}
