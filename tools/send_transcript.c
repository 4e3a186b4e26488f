/* The SMTP dialogue as C:/S: lines, made from libcurl's debug stream
 * (CURLOPT_DEBUGFUNCTION). The AUTH exchange is redacted before it is
 * stored or shown, the message content is summarised by its size, and the
 * server's replies are kept so that an error can quote them. */
#include <string.h>

#include "send.h"

enum pending { PENDING_NONE, PENDING_AUTH, PENDING_RCPT, PENDING_MAIL,
	PENDING_EHLO, PENDING_OTHER };

struct rcpt {
	char *addr;
	int code;
	char *reply;
};

struct send_transcript {
	FILE *out;
	GString *in_line;       /* partial server line */
	GString *out_line;      /* partial client line */
	GString *reply;         /* reply being assembled (multi-line) */
	GPtrArray *reply_lines; /* its lines without the code */
	int last_code;
	char *last_reply;
	int error_code;         /* the last reply of 400 or more */
	char *error_reply;
	int auth_code;
	char *auth_reply;
	int mail_code;
	GPtrArray *ehlo;        /* keywords of the last EHLO reply */
	GArray *rcpts;          /* struct rcpt */
	enum pending pending;   /* what the next reply answers */
	gboolean in_auth;       /* between AUTH and its final reply */
	gboolean in_data;       /* message content is being sent */
	size_t data_bytes;
	size_t message_size;
};

#define SEND_TEXT_PREFIXES_SHOWN { "Connected to ", "SSL connection using " }

struct send_transcript *
send_transcript_new(FILE *out)
{
	struct send_transcript *t = g_new0(struct send_transcript, 1);

	t->out = out;
	t->in_line = g_string_new(NULL);
	t->out_line = g_string_new(NULL);
	t->reply = g_string_new(NULL);
	t->reply_lines = g_ptr_array_new_with_free_func(g_free);
	t->ehlo = g_ptr_array_new_with_free_func(g_free);
	t->rcpts = g_array_new(FALSE, TRUE, sizeof(struct rcpt));
	return t;
}

void
send_transcript_free(struct send_transcript *t)
{
	guint i;

	if (t == NULL)
		return;
	g_string_free(t->in_line, TRUE);
	/* The client side may have held an AUTH line before redaction. */
	memset(t->out_line->str, 0, t->out_line->allocated_len);
	g_string_free(t->out_line, TRUE);
	g_string_free(t->reply, TRUE);
	g_ptr_array_free(t->reply_lines, TRUE);
	g_ptr_array_free(t->ehlo, TRUE);
	for (i = 0; i < t->rcpts->len; i++) {
		struct rcpt *r = &g_array_index(t->rcpts, struct rcpt, i);

		g_free(r->addr);
		g_free(r->reply);
	}
	g_array_free(t->rcpts, TRUE);
	g_free(t->last_reply);
	g_free(t->error_reply);
	g_free(t->auth_reply);
	g_free(t);
}

void
send_transcript_set_message_size(struct send_transcript *t, size_t n)
{
	t->message_size = n;
}

static void
show(struct send_transcript *t, const char *prefix, const char *line)
{
	GString *s;

	if (t->out == NULL)
		return;
	/* Server text is shown as it came, minus control characters. */
	s = g_string_new(prefix);
	for (; *line; line++)
		g_string_append_c(s, (unsigned char)*line < 0x20 &&
		    *line != '\t' ? '?' : *line);
	fprintf(t->out, "%s\n", s->str);
	fflush(t->out);
	g_string_free(s, TRUE);
}

static void
end_data(struct send_transcript *t)
{
	char buf[64];

	if (!t->in_data)
		return;
	t->in_data = FALSE;
	g_snprintf(buf, sizeof(buf), "<message, %zu bytes>",
	    t->message_size ? t->message_size : t->data_bytes);
	show(t, "C: ", buf);
}

/* A complete reply: remember it and hand it to the command it answers. */
static void
reply_done(struct send_transcript *t, int code)
{
	guint i;

	g_free(t->last_reply);
	t->last_reply = g_strdup(t->reply->str);
	t->last_code = code;
	if (code >= 400) {
		g_free(t->error_reply);
		t->error_reply = g_strdup(t->reply->str);
		t->error_code = code;
	}
	switch (t->pending) {
	case PENDING_AUTH:
		if (code != 334) {
			t->in_auth = FALSE;
			t->auth_code = code;
			g_free(t->auth_reply);
			t->auth_reply = g_strdup(t->reply->str);
		}
		break;
	case PENDING_RCPT: {
		struct rcpt *r = &g_array_index(t->rcpts, struct rcpt,
		    t->rcpts->len - 1);

		r->code = code;
		g_free(r->reply);
		r->reply = g_strdup(t->reply->str);
		break;
	}
	case PENDING_MAIL:
		t->mail_code = code;
		break;
	case PENDING_EHLO:
		g_ptr_array_set_size(t->ehlo, 0);
		/* The first line is the greeting, the rest are keywords. */
		for (i = 1; i < t->reply_lines->len; i++) {
			const char *l = g_ptr_array_index(t->reply_lines, i);
			size_t n = strcspn(l, " =");

			g_ptr_array_add(t->ehlo, g_ascii_strup(l, n));
		}
		break;
	default:
		break;
	}
	if (!(t->pending == PENDING_AUTH && code == 334))
		t->pending = PENDING_NONE;
	g_string_truncate(t->reply, 0);
	g_ptr_array_set_size(t->reply_lines, 0);
}

static void
server_line(struct send_transcript *t, const char *line)
{
	int code = 0;
	gboolean more = FALSE;
	const char *text = line;

	end_data(t);
	show(t, "S: ", line);
	if (g_ascii_isdigit(line[0]) && g_ascii_isdigit(line[1]) &&
	    g_ascii_isdigit(line[2])) {
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		more = line[3] == '-';
		text = line[3] ? line + 4 : line + 3;
	}
	if (t->reply->len)
		g_string_append_c(t->reply, ' ');
	g_string_append(t->reply, line);
	g_ptr_array_add(t->reply_lines, g_strdup(text));
	if (!more)
		reply_done(t, code);
}

/* The address inside "RCPT TO:<a@b> ..." */
static char *
rcpt_address(const char *line)
{
	const char *lt = strchr(line, '<'), *gt;

	if (lt == NULL)
		return g_strstrip(g_strdup(line + strlen("RCPT TO:")));
	gt = strchr(lt, '>');
	return gt ? g_strndup(lt + 1, gt - lt - 1) : g_strdup(lt + 1);
}

static void
client_line(struct send_transcript *t, char *line)
{
	if (t->in_auth) {
		/* A continuation of AUTH LOGIN/PLAIN: a secret. */
		show(t, "C: ", "<redacted>");
		t->pending = PENDING_AUTH;
		return;
	}
	if (g_ascii_strncasecmp(line, "AUTH ", 5) == 0) {
		size_t mech = strcspn(line + 5, " ");
		GString *s = g_string_new_len(line, 5 + mech);

		if (line[5 + mech] != '\0')
			g_string_append(s, " <redacted>");
		show(t, "C: ", s->str);
		g_string_free(s, TRUE);
		t->in_auth = TRUE;
		t->pending = PENDING_AUTH;
		return;
	}
	show(t, "C: ", line);
	if (g_ascii_strncasecmp(line, "RCPT TO:", 8) == 0) {
		struct rcpt r = { rcpt_address(line), 0, NULL };

		g_array_append_val(t->rcpts, r);
		t->pending = PENDING_RCPT;
	} else if (g_ascii_strncasecmp(line, "MAIL FROM:", 10) == 0) {
		t->pending = PENDING_MAIL;
	} else if (g_ascii_strncasecmp(line, "EHLO", 4) == 0) {
		t->pending = PENDING_EHLO;
	} else if (g_ascii_strncasecmp(line, "DATA", 4) == 0) {
		t->pending = PENDING_OTHER;
		t->data_bytes = 0;
	} else {
		t->pending = PENDING_OTHER;
	}
}

/* Split a chunk into lines (CRLF or LF); call fn on each complete one. */
static void
feed_lines(struct send_transcript *t, GString *buf, const char *data,
    size_t len, void (*fn)(struct send_transcript *, char *))
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n') {
			if (buf->len && buf->str[buf->len - 1] == '\r')
				g_string_truncate(buf, buf->len - 1);
			fn(t, buf->str);
			memset(buf->str, 0, buf->len);
			g_string_truncate(buf, 0);
		} else {
			g_string_append_c(buf, data[i]);
		}
	}
}

static void
server_line_cb(struct send_transcript *t, char *line)
{
	server_line(t, line);
}

static void
text_line(struct send_transcript *t, const char *data, size_t len)
{
	static const char *const shown[] = SEND_TEXT_PREFIXES_SHOWN;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(shown); i++) {
		size_t n = strlen(shown[i]);

		if (len > n && memcmp(data, shown[i], n) == 0) {
			char *s = g_strndup(data, len);

			g_strchomp(s);
			show(t, "* ", s);
			g_free(s);
			return;
		}
	}
}

void
send_transcript_feed(struct send_transcript *t, curl_infotype type,
    const char *data, size_t len)
{
	switch (type) {
	case CURLINFO_HEADER_IN:
		feed_lines(t, t->in_line, data, len, server_line_cb);
		break;
	case CURLINFO_HEADER_OUT:
		feed_lines(t, t->out_line, data, len, client_line);
		break;
	case CURLINFO_DATA_OUT:
		t->in_data = TRUE;
		t->data_bytes += len;
		break;
	case CURLINFO_TEXT:
		text_line(t, data, len);
		break;
	default:
		/* DATA_IN does not occur in SMTP; TLS records are not shown. */
		break;
	}
}

void
send_transcript_finish(struct send_transcript *t)
{
	end_data(t);
	if (t->in_line->len) {
		char *l = g_strdup(t->in_line->str);

		g_string_truncate(t->in_line, 0);
		server_line(t, l);
		g_free(l);
	}
	if (t->out_line->len) {
		char *l = g_strdup(t->out_line->str);

		memset(t->out_line->str, 0, t->out_line->len);
		g_string_truncate(t->out_line, 0);
		client_line(t, l);
		memset(l, 0, strlen(l));
		g_free(l);
	}
}

int
send_transcript_last_code(const struct send_transcript *t)
{
	return t->last_code;
}

const char *
send_transcript_last_reply(const struct send_transcript *t)
{
	return t->last_reply;
}

int
send_transcript_error_code(const struct send_transcript *t)
{
	return t->error_code;
}

const char *
send_transcript_error_reply(const struct send_transcript *t)
{
	return t->error_reply;
}

int
send_transcript_auth_code(const struct send_transcript *t)
{
	return t->auth_code;
}

const char *
send_transcript_auth_reply(const struct send_transcript *t)
{
	return t->auth_reply;
}

int
send_transcript_mail_code(const struct send_transcript *t)
{
	return t->mail_code;
}

gboolean
send_transcript_ehlo_has(const struct send_transcript *t,
    const char *keyword)
{
	guint i;

	for (i = 0; i < t->ehlo->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(t->ehlo, i),
		    keyword) == 0)
			return TRUE;
	return FALSE;
}

size_t
send_transcript_rcpt_count(const struct send_transcript *t)
{
	return t->rcpts->len;
}

const char *
send_transcript_rcpt(const struct send_transcript *t, size_t i, int *code,
    const char **reply)
{
	const struct rcpt *r;

	if (i >= t->rcpts->len)
		return NULL;
	r = &g_array_index(t->rcpts, struct rcpt, i);
	if (code)
		*code = r->code;
	if (reply)
		*reply = r->reply;
	return r->addr;
}
