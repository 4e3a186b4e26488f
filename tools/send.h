/* pullmail-send: the pieces behind the command line. send_build.c makes
 * the message with GMime, send_smtp.c hands it to a server with libcurl,
 * send_transcript.c turns libcurl's debug stream into C:/S: lines and
 * remembers the server's replies for error messages. Errors are GErrors in
 * SEND_ERROR whose code is the sysexits.h exit status. */
#ifndef PULLMAIL_SEND_H
#define PULLMAIL_SEND_H

#include <stdio.h>
#include <glib.h>
#include <gmime/gmime.h>
#include <curl/curl.h>

#define SEND_ERROR (send_error_quark())
GQuark send_error_quark(void);

/* One attachment: name is what the recipient sees (a base name, UTF-8). */
struct send_attachment {
	const char *name;
	const guint8 *data;
	size_t len;
};

struct send_spec {
	const char *from;               /* "Name <addr>" or "addr" */
	const char *const *to;          /* NULL-terminated; may be NULL */
	const char *const *cc;
	const char *const *bcc;         /* envelope only, never a header */
	const char *subject;            /* UTF-8 */
	const char *text;               /* UTF-8 or NULL */
	size_t text_len;
	const char *html;               /* UTF-8 or NULL */
	size_t html_len;
	const struct send_attachment *attachments;
	size_t n_attachments;
	const char *expires;            /* X-Pull-Expires value, or NULL */
	int no_pull;                    /* X-Pull: no */
	gint64 date;                    /* unix seconds; 0 = now */
	const char *message_id;         /* without <>; NULL = generated */
};

/* The message for spec, or NULL with error (EX_DATAERR: bad address or
 * invalid UTF-8). Caller unrefs. */
GMimeMessage *send_build_message(const struct send_spec *spec,
    GError **error);

/* The message as bytes, with CRLF line ends when crlf is set (what goes
 * over SMTP) or LF (what --dry-run prints). */
GByteArray *send_message_bytes(GMimeMessage *msg, int crlf);

/* The bare address (addr-spec) of a single mailbox "Name <a@b>" / "a@b",
 * or NULL with error. */
char *send_addr_spec(const char *mailbox, GError **error);

/* Every envelope recipient (To, Cc, Bcc) as bare addresses, duplicates
 * removed, NULL-terminated; NULL with error. g_strfreev. */
char **send_envelope_recipients(const struct send_spec *spec,
    GError **error);

/* MIME type of an attachment, guessed from its content with GLib's
 * g_content_type_guess (shared-mime-info magic); the file name only breaks
 * ties when the content alone is uncertain. g_free. */
char *send_guess_content_type(const char *name, const guint8 *data,
    size_t len);

/* ---- transcript ---- */

struct send_transcript;

/* out: where C:/S: lines go as they happen, or NULL to only record. */
struct send_transcript *send_transcript_new(FILE *out);
void send_transcript_free(struct send_transcript *t);
/* The size shown in "C: <message, N bytes>". */
void send_transcript_set_message_size(struct send_transcript *t, size_t n);
/* Feed one chunk of libcurl's debug stream. */
void send_transcript_feed(struct send_transcript *t, curl_infotype type,
    const char *data, size_t len);
/* Flush a partial line at the end of the dialogue. */
void send_transcript_finish(struct send_transcript *t);

/* The last complete server reply: its code (0 if none) and its text, the
 * lines of a multi-line reply joined by a space. */
int send_transcript_last_code(const struct send_transcript *t);
const char *send_transcript_last_reply(const struct send_transcript *t);
/* The last reply with a code of 400 or more (0 / NULL if none): what a
 * failure is about, even when QUIT and its 221 came after it. */
int send_transcript_error_code(const struct send_transcript *t);
const char *send_transcript_error_reply(const struct send_transcript *t);
/* The reply that ended the AUTH exchange (NULL if there was no AUTH). */
int send_transcript_auth_code(const struct send_transcript *t);
const char *send_transcript_auth_reply(const struct send_transcript *t);
/* Did the server's EHLO reply (the last one) offer this keyword? */
gboolean send_transcript_ehlo_has(const struct send_transcript *t,
    const char *keyword);
/* RCPT TO commands in order, with the server's answer (code 0 if none). */
size_t send_transcript_rcpt_count(const struct send_transcript *t);
const char *send_transcript_rcpt(const struct send_transcript *t, size_t i,
    int *code, const char **reply);
/* Was a MAIL command answered by the server with reply code? (0 if none) */
int send_transcript_mail_code(const struct send_transcript *t);

/* ---- SMTP ---- */

enum send_tls { SEND_TLS_DEFAULT, SEND_TLS_IMPLICIT, SEND_TLS_STARTTLS,
	SEND_TLS_NONE };

#define SEND_PORT_SUBMISSIONS 465
#define SEND_PORT_SUBMISSION 587
#define SEND_PORT_SMTP 25

/* "host", "host:port", "[v6]", "[v6]:port". *port is 0 when absent.
 * 0, or -1 with error (EX_USAGE). *host g_free. */
int send_parse_server(const char *arg, char **host, unsigned *port,
    GError **error);
/* Fill in the defaults: TLS implicit on 465 and starttls elsewhere; port
 * 465 for implicit, 587 for starttls, 25 for none. */
void send_resolve_defaults(enum send_tls *tls, unsigned *port);

struct send_smtp_opts {
	const char *host;
	unsigned port;
	enum send_tls tls;              /* resolved: not SEND_TLS_DEFAULT */
	const char *user;               /* NULL: no AUTH */
	const char *password;
	const char *ca_file;            /* NULL: system CAs */
	long connect_timeout;           /* seconds */
	long idle_timeout;              /* seconds without progress */
	const char *envelope_from;
	const char *const *recipients;
	const guint8 *data;
	size_t len;
	FILE *transcript;               /* NULL: not shown */
};

/* Sends the message. Returns 0 (EX_OK) when every recipient was accepted;
 * otherwise the sysexits.h status with error set to a sentence naming the
 * host, the recipient or the server's reply. EX_NOUSER with some
 * recipients rejected still means the message went to the others. */
int send_smtp(const struct send_smtp_opts *opts, GError **error);

/* The decision behind send_smtp's result, apart from libcurl: what a
 * finished dialogue (rc, curl's error text, the transcript) means. */
int send_smtp_classify(const struct send_smtp_opts *opts, CURLcode rc,
    const char *curl_error, const struct send_transcript *t,
    gboolean auth_missing, GError **error);

#endif
