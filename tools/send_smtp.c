/* Submission over SMTP with libcurl: implicit TLS (smtps://) or STARTTLS
 * required (CURLUSESSL_ALL), the certificate verified, AUTH only inside
 * TLS, and every failure turned into a sentence and a sysexits.h code. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "send.h"

int
send_parse_server(const char *arg, char **host, unsigned *port,
    GError **error)
{
	const char *end, *colon;
	char *h;

	*host = NULL;
	*port = 0;
	if (arg == NULL || *arg == '\0')
		goto bad;
	if (arg[0] == '[') {
		end = strchr(arg, ']');
		if (end == NULL || end == arg + 1)
			goto bad;
		h = g_strndup(arg + 1, end - arg - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			g_free(h);
			goto bad;
		}
	} else {
		colon = strchr(arg, ':');
		if (colon && strchr(colon + 1, ':')) {
			g_set_error(error, SEND_ERROR, EX_USAGE,
			    "--server %s: write an IPv6 address as [addr]:port",
			    arg);
			return -1;
		}
		h = colon ? g_strndup(arg, colon - arg) : g_strdup(arg);
		if (*h == '\0') {
			g_free(h);
			goto bad;
		}
	}
	if (strpbrk(h, " \t\r\n/@?#") != NULL) {
		g_free(h);
		goto bad;
	}
	if (colon) {
		char *e;
		unsigned long p;

		errno = 0;
		p = strtoul(colon + 1, &e, 10);
		if (colon[1] == '\0' || *e != '\0' || errno || p == 0 ||
		    p > 65535 || !g_ascii_isdigit(colon[1])) {
			g_free(h);
			g_set_error(error, SEND_ERROR, EX_USAGE,
			    "--server %s: the port must be a number from 1 to "
			    "65535", arg);
			return -1;
		}
		*port = p;
	}
	*host = h;
	return 0;
bad:
	g_set_error(error, SEND_ERROR, EX_USAGE,
	    "--server \"%s\" is not HOST or HOST:PORT", arg ? arg : "");
	return -1;
}

void
send_resolve_defaults(enum send_tls *tls, unsigned *port)
{
	if (*tls == SEND_TLS_DEFAULT)
		*tls = *port == SEND_PORT_SUBMISSIONS ? SEND_TLS_IMPLICIT
		    : SEND_TLS_STARTTLS;
	if (*port == 0)
		*port = *tls == SEND_TLS_IMPLICIT ? SEND_PORT_SUBMISSIONS
		    : *tls == SEND_TLS_STARTTLS ? SEND_PORT_SUBMISSION
		    : SEND_PORT_SMTP;
}

struct upload {
	const struct send_smtp_opts *opts;
	struct send_transcript *t;
	size_t off;
	gboolean auth_missing;
};

/* The message is handed over only after MAIL and RCPT; if AUTH was asked
 * for but never happened (the server offered none), libcurl would carry
 * on unauthenticated: abort instead, so the server discards it. */
static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems, left = u->opts->len - u->off;

	if (u->off == 0 && u->opts->user &&
	    send_transcript_auth_code(u->t) != 235) {
		u->auth_missing = TRUE;
		return CURL_READFUNC_ABORT;
	}
	if (n > left)
		n = left;
	memcpy(buf, u->opts->data + u->off, n);
	u->off += n;
	return n;
}

static int
debug_cb(CURL *curl, curl_infotype type, char *data, size_t len, void *arg)
{
	send_transcript_feed(arg, type, data, len);
	return 0;
}

static const char *
reply_or(const char *reply, const char *fallback)
{
	return reply && *reply ? reply : fallback;
}

/* Rejected recipients after a transaction that otherwise went through. */
static int
classify_recipients(const struct send_smtp_opts *opts,
    const struct send_transcript *t, GError **error)
{
	GString *msg = g_string_new(NULL);
	size_t i, n = send_transcript_rcpt_count(t), bad = 0;
	int temp_only = 1;

	for (i = 0; i < n; i++) {
		int code;
		const char *reply;
		const char *addr = send_transcript_rcpt(t, i, &code, &reply);

		if (code >= 200 && code < 300)
			continue;
		bad++;
		if (code < 400 || code >= 500)
			temp_only = 0;
		g_string_append_printf(msg, "%srecipient <%s> rejected by %s: "
		    "%s", msg->len ? "; " : "", addr, opts->host,
		    reply_or(reply, "no reply"));
	}
	if (bad == 0) {
		g_string_free(msg, TRUE);
		return EX_OK;
	}
	if (n == bad)
		g_string_append(msg, " (nothing was sent)");
	else
		g_string_append_printf(msg, " (sent to the other %zu "
		    "recipient%s)", n - bad, n - bad == 1 ? "" : "s");
	g_set_error_literal(error, SEND_ERROR, temp_only ? EX_TEMPFAIL
	    : EX_NOUSER, msg->str);
	g_string_free(msg, TRUE);
	return temp_only ? EX_TEMPFAIL : EX_NOUSER;
}

/* An error after the connection was made: the server's own reply decides. */
static int
classify_reply(const struct send_smtp_opts *opts, const char *curl_error,
    const struct send_transcript *t, GError **error)
{
	int code = send_transcript_error_code(t);
	const char *reply = reply_or(send_transcript_error_reply(t),
	    curl_error);
	size_t i, n = send_transcript_rcpt_count(t), accepted = 0;

	for (i = 0; i < n; i++) {
		int c;

		send_transcript_rcpt(t, i, &c, NULL);
		if (c >= 200 && c < 300)
			accepted++;
	}
	if (code == 552 || code == 523 ||
	    (code == 452 && send_transcript_mail_code(t) == 452)) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "the message (%zu bytes) is too large for %s: %s",
		    opts->len, opts->host, reply);
		return EX_DATAERR;
	}
	if (n > 0 && accepted == 0 && send_transcript_mail_code(t) / 100 == 2
	    && code >= 400) {
		/* Every RCPT refused: name each one. */
		int rc = classify_recipients(opts, t, error);

		if (rc != EX_OK)
			return rc;
	}
	if (code >= 400 && code < 500) {
		g_set_error(error, SEND_ERROR, EX_TEMPFAIL,
		    "%s refused the message for now (try again later): %s",
		    opts->host, reply);
		return EX_TEMPFAIL;
	}
	if (code >= 500) {
		g_set_error(error, SEND_ERROR, EX_UNAVAILABLE,
		    "%s refused the message: %s", opts->host, reply);
		return EX_UNAVAILABLE;
	}
	g_set_error(error, SEND_ERROR, EX_PROTOCOL,
	    "SMTP dialogue with %s failed: %s", opts->host,
	    reply_or(curl_error, "unexpected reply"));
	return EX_PROTOCOL;
}

int
send_smtp_classify(const struct send_smtp_opts *opts, CURLcode rc,
    const char *curl_error, const struct send_transcript *t,
    gboolean auth_missing, GError **error)
{
	const char *why = reply_or(curl_error, curl_easy_strerror(rc));

	if (auth_missing) {
		g_set_error(error, SEND_ERROR, EX_PROTOCOL,
		    "%s did not offer authentication (no AUTH PLAIN or LOGIN "
		    "after EHLO); nothing was sent", opts->host);
		return EX_PROTOCOL;
	}
	switch (rc) {
	case CURLE_OK:
		return classify_recipients(opts, t, error);
	case CURLE_COULDNT_RESOLVE_HOST:
		g_set_error(error, SEND_ERROR, EX_NOHOST,
		    "host not found: %s", opts->host);
		return EX_NOHOST;
	case CURLE_COULDNT_CONNECT:
		g_set_error(error, SEND_ERROR, EX_UNAVAILABLE,
		    "cannot connect to %s port %u: %s", opts->host, opts->port,
		    why);
		return EX_UNAVAILABLE;
	case CURLE_OPERATION_TIMEDOUT:
		g_set_error(error, SEND_ERROR, EX_TEMPFAIL,
		    "timed out talking to %s port %u: %s%s", opts->host,
		    opts->port, why, send_transcript_last_code(t) == 0 &&
		    opts->tls != SEND_TLS_IMPLICIT ? " (no greeting from the "
		    "server: does the port expect implicit TLS? try --tls "
		    "implicit)" : "");
		return EX_TEMPFAIL;
	case CURLE_PEER_FAILED_VERIFICATION:
		g_set_error(error, SEND_ERROR, EX_PROTOCOL,
		    "TLS: the certificate of %s was not accepted: %s%s",
		    opts->host, why, opts->ca_file ? "" :
		    " (verified against the system CAs; see --ca-file)");
		return EX_PROTOCOL;
	case CURLE_SSL_CACERT_BADFILE:
		g_set_error(error, SEND_ERROR, EX_NOINPUT,
		    "TLS: cannot use the CA file %s: %s",
		    opts->ca_file ? opts->ca_file : "(system)", why);
		return EX_NOINPUT;
	case CURLE_SSL_CONNECT_ERROR:
		g_set_error(error, SEND_ERROR, EX_PROTOCOL,
		    "TLS handshake with %s port %u failed: %s%s", opts->host,
		    opts->port, why, opts->tls == SEND_TLS_IMPLICIT ?
		    " (does the port speak implicit TLS? try --tls starttls)"
		    : "");
		return EX_PROTOCOL;
	case CURLE_USE_SSL_FAILED:
		g_set_error(error, SEND_ERROR, EX_PROTOCOL,
		    "%s port %u does not offer STARTTLS; refusing to send "
		    "without TLS", opts->host, opts->port);
		return EX_PROTOCOL;
	case CURLE_LOGIN_DENIED:
		if (send_transcript_auth_code(t) == 0) {
			g_set_error(error, SEND_ERROR, EX_PROTOCOL,
			    "%s offers no authentication method this client "
			    "speaks (PLAIN, LOGIN): %s", opts->host, why);
			return EX_PROTOCOL;
		}
		g_set_error(error, SEND_ERROR, EX_NOPERM,
		    "authentication as %s rejected by %s: %s",
		    opts->user ? opts->user : "?", opts->host,
		    reply_or(send_transcript_auth_reply(t), why));
		return EX_NOPERM;
	case CURLE_OUT_OF_MEMORY:
		g_set_error(error, SEND_ERROR, EX_OSERR, "out of memory");
		return EX_OSERR;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		if (send_transcript_error_code(t) >= 400)
			return classify_reply(opts, curl_error, t, error);
		g_set_error(error, SEND_ERROR, EX_IOERR,
		    "connection to %s broken: %s", opts->host, why);
		return EX_IOERR;
	case CURLE_GOT_NOTHING:
		g_set_error(error, SEND_ERROR, EX_PROTOCOL,
		    "%s port %u closed the connection without a reply%s",
		    opts->host, opts->port, opts->tls != SEND_TLS_IMPLICIT ?
		    " (does it expect implicit TLS? try --tls implicit)" : "");
		return EX_PROTOCOL;
	default:
		return classify_reply(opts, why, t, error);
	}
}

static char *
smtp_url(const struct send_smtp_opts *opts)
{
	const char *scheme = opts->tls == SEND_TLS_IMPLICIT ? "smtps" : "smtp";

	if (strchr(opts->host, ':'))
		return g_strdup_printf("%s://[%s]:%u", scheme, opts->host,
		    opts->port);
	return g_strdup_printf("%s://%s:%u", scheme, opts->host, opts->port);
}

int
send_smtp(const struct send_smtp_opts *opts, GError **error)
{
	static gsize curl_ready;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpts = NULL;
	const char *const *r;
	struct upload up = { opts, NULL, 0, FALSE };
	CURL *curl;
	CURLcode rc;
	char *url;
	int status;

	if (opts->user && opts->tls == SEND_TLS_NONE) {
		g_set_error(error, SEND_ERROR, EX_USAGE,
		    "refusing to send a password without TLS (--tls none "
		    "with --user)");
		return EX_USAGE;
	}
	if (g_once_init_enter(&curl_ready)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&curl_ready, 1);
	}
	curl = curl_easy_init();
	if (curl == NULL) {
		g_set_error(error, SEND_ERROR, EX_OSERR,
		    "cannot initialise libcurl");
		return EX_OSERR;
	}
	up.t = send_transcript_new(opts->transcript);
	send_transcript_set_message_size(up.t, opts->len);
	for (r = opts->recipients; r && *r; r++)
		rcpts = curl_slist_append(rcpts, *r);

	url = smtp_url(opts);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/* Close (QUIT) inside curl_easy_perform, where the transcript sees
	 * it, rather than in curl_easy_cleanup. */
	curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, opts->connect_timeout);
	/* A stalled server: less than one byte a second for idle_timeout. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, opts->idle_timeout);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, opts->ca_file);
	if (opts->tls == SEND_TLS_STARTTLS)
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	else if (opts->tls == SEND_TLS_NONE)
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
	if (opts->user) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, opts->user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, opts->password);
		curl_easy_setopt(curl, CURLOPT_LOGIN_OPTIONS,
		    "AUTH=PLAIN;AUTH=LOGIN");
		/* One round trip less: AUTH PLAIN <initial response>. */
		curl_easy_setopt(curl, CURLOPT_SASL_IR, 1L);
	}
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, opts->envelope_from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
	/* Option 290: curl 7.69 to 8.1 (Debian 12 has 7.88) spell it with
	 * three Ls; 8.2 renamed it and kept the old name as an alias. */
#if LIBCURL_VERSION_NUM >= 0x080200
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
#endif
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)opts->len);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, up.t);

	rc = curl_easy_perform(curl);
	send_transcript_finish(up.t);
	status = send_smtp_classify(opts, rc, errbuf, up.t, up.auth_missing,
	    error);

	curl_easy_cleanup(curl);
	curl_slist_free_all(rcpts);
	send_transcript_free(up.t);
	g_free(url);
	return status;
}
