/* The message pullmail-send submits, built with GMime: headers encoded per
 * RFC 2047, file names per RFC 2231, bodies in UTF-8 with a 7-bit transfer
 * encoding so no server needs 8BITMIME. */
#include <string.h>
#include <sysexits.h>

#include "send.h"

#define SEND_USER_AGENT "pullmail-send/" PULLMAIL_VERSION

GQuark
send_error_quark(void)
{
	return g_quark_from_static_string("pullmail-send-error");
}

static void
ensure_gmime(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

/* One mailbox "Name <a@b>" or "a@b"; groups and lists are refused. */
static InternetAddressMailbox *
parse_mailbox(const char *s, GError **error)
{
	InternetAddressList *list;
	InternetAddress *ia;
	InternetAddressMailbox *mb;
	const char *addr, *at;

	if (!g_utf8_validate(s, -1, NULL)) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "address is not valid UTF-8");
		return NULL;
	}
	list = internet_address_list_parse(NULL, s);
	if (list == NULL || internet_address_list_length(list) != 1) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "\"%s\" is not one e-mail address", s);
		if (list)
			g_object_unref(list);
		return NULL;
	}
	ia = internet_address_list_get_address(list, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "\"%s\" is a group, not one e-mail address", s);
		g_object_unref(list);
		return NULL;
	}
	mb = INTERNET_ADDRESS_MAILBOX(ia);
	addr = internet_address_mailbox_get_addr(mb);
	at = addr ? strrchr(addr, '@') : NULL;
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strpbrk(addr, " \t\r\n<>") != NULL) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "\"%s\" is not a valid e-mail address (local@domain)", s);
		g_object_unref(list);
		return NULL;
	}
	/* UTF-8 for encoded words, not the smallest charset that happens
	 * to fit (GMime would pick ISO-8859-1). */
	internet_address_set_charset(ia, "utf-8");
	g_object_ref(mb);
	g_object_unref(list);
	return mb;
}

char *
send_addr_spec(const char *mailbox, GError **error)
{
	InternetAddressMailbox *mb;
	char *out;

	ensure_gmime();
	mb = parse_mailbox(mailbox, error);
	if (mb == NULL)
		return NULL;
	out = g_strdup(internet_address_mailbox_get_addr(mb));
	g_object_unref(mb);
	return out;
}

/* Every element of a NULL-terminated list may itself be a comma-separated
 * list of mailboxes; each is checked. */
static int
add_addresses(InternetAddressList *dst, const char *const *list,
    GError **error)
{
	for (; list && *list; list++) {
		InternetAddressList *parsed;
		int i, n;

		if (!g_utf8_validate(*list, -1, NULL)) {
			g_set_error(error, SEND_ERROR, EX_DATAERR,
			    "address is not valid UTF-8");
			return -1;
		}
		parsed = internet_address_list_parse(NULL, *list);
		n = parsed ? internet_address_list_length(parsed) : 0;
		if (n == 0) {
			g_set_error(error, SEND_ERROR, EX_DATAERR,
			    "\"%s\" is not an e-mail address", *list);
			if (parsed)
				g_object_unref(parsed);
			return -1;
		}
		for (i = 0; i < n; i++) {
			InternetAddress *ia =
			    internet_address_list_get_address(parsed, i);
			char *one;
			InternetAddressMailbox *mb;

			if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) {
				g_set_error(error, SEND_ERROR, EX_DATAERR,
				    "\"%s\" holds a group; give each address",
				    *list);
				g_object_unref(parsed);
				return -1;
			}
			/* Re-parse each alone so the same checks apply. */
			one = internet_address_to_string(ia, NULL, FALSE);
			mb = parse_mailbox(one, error);
			g_free(one);
			if (mb == NULL) {
				g_object_unref(parsed);
				return -1;
			}
			internet_address_list_add(dst, INTERNET_ADDRESS(mb));
			g_object_unref(mb);
		}
		g_object_unref(parsed);
	}
	return 0;
}

char **
send_envelope_recipients(const struct send_spec *spec, GError **error)
{
	const char *const *lists[3] = { spec->to, spec->cc, spec->bcc };
	GPtrArray *out = g_ptr_array_new();
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, NULL);
	size_t k;

	ensure_gmime();
	for (k = 0; k < G_N_ELEMENTS(lists); k++) {
		InternetAddressList *l = internet_address_list_new();
		int i, n;

		if (add_addresses(l, lists[k], error) < 0) {
			g_object_unref(l);
			g_hash_table_destroy(seen);
			g_ptr_array_add(out, NULL);
			g_strfreev((char **)g_ptr_array_free(out, FALSE));
			return NULL;
		}
		n = internet_address_list_length(l);
		for (i = 0; i < n; i++) {
			InternetAddressMailbox *mb = INTERNET_ADDRESS_MAILBOX(
			    internet_address_list_get_address(l, i));
			const char *a = internet_address_mailbox_get_addr(mb);
			char *key = g_ascii_strdown(a, -1);

			if (g_hash_table_contains(seen, key)) {
				g_free(key);
				continue;
			}
			g_hash_table_add(seen, key);
			g_ptr_array_add(out, g_strdup(a));
		}
		g_object_unref(l);
	}
	g_hash_table_destroy(seen);
	if (out->len == 0) {
		g_set_error(error, SEND_ERROR, EX_USAGE,
		    "no recipient: give at least one --to, --cc or --bcc");
		g_ptr_array_free(out, TRUE);
		return NULL;
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

char *
send_guess_content_type(const char *name, const guint8 *data, size_t len)
{
	gboolean uncertain = TRUE;
	char *ct, *mime;

	ct = g_content_type_guess(NULL, data, len, &uncertain);
	if (uncertain || g_content_type_is_unknown(ct) ||
	    g_content_type_equals(ct, "text/plain")) {
		/* Content alone says little (plain text, empty, unknown
		 * binary): let the name refine it, but never turn bytes
		 * that do not look like text into a text type. */
		char *byname = g_content_type_guess(name, data, len, NULL);

		if (!g_content_type_is_unknown(byname) &&
		    (!g_content_type_is_a(byname, "text/plain") ||
		    g_content_type_is_a(ct, "text/plain"))) {
			g_free(ct);
			ct = byname;
		} else {
			g_free(byname);
		}
	}
	mime = g_content_type_get_mime_type(ct);
	g_free(ct);
	if (mime == NULL || strchr(mime, '/') == NULL) {
		g_free(mime);
		mime = g_strdup("application/octet-stream");
	}
	return mime;
}

/* A part whose content is the given bytes, with the best 7-bit transfer
 * encoding (quoted-printable for text, base64 for binary). */
static void
set_part_content(GMimePart *part, const void *data, size_t len)
{
	GMimeStream *stream;
	GMimeDataWrapper *wrapper;

	stream = g_mime_stream_mem_new_with_buffer(data, len);
	wrapper = g_mime_data_wrapper_new_with_stream(stream,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, wrapper);
	g_object_unref(wrapper);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(part,
	    g_mime_part_get_best_content_encoding(part,
	    GMIME_ENCODING_CONSTRAINT_7BIT));
}

static GMimeObject *
text_part(const char *subtype, const char *text, size_t len)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);

	set_part_content(GMIME_PART(part), text, len);
	g_mime_text_part_set_charset(part, "utf-8");
	return GMIME_OBJECT(part);
}

/* RFC 2231 parameters in UTF-8 rather than GMime's smallest fit. */
static void
utf8_param(GMimeParamList *list, const char *name)
{
	GMimeParam *p = list ? g_mime_param_list_get_parameter(list, name)
	    : NULL;

	if (p != NULL) {
		g_mime_param_set_charset(p, "utf-8");
		g_mime_param_set_encoding_method(p,
		    GMIME_PARAM_ENCODING_METHOD_RFC2231);
	}
}

static GMimeObject *
attachment_part(const struct send_attachment *a)
{
	char *mime = send_guess_content_type(a->name, a->data, a->len);
	char *slash = strchr(mime, '/');
	GMimePart *part;

	*slash = '\0';
	part = g_mime_part_new_with_type(mime, slash + 1);
	g_free(mime);
	set_part_content(part, a->data, a->len);
	g_mime_object_set_disposition(GMIME_OBJECT(part),
	    GMIME_DISPOSITION_ATTACHMENT);
	g_mime_part_set_filename(part, a->name);
	utf8_param(g_mime_content_type_get_parameters(
	    g_mime_object_get_content_type(GMIME_OBJECT(part))), "name");
	utf8_param(g_mime_content_disposition_get_parameters(
	    g_mime_object_get_content_disposition(GMIME_OBJECT(part))),
	    "filename");
	return GMIME_OBJECT(part);
}

static int
check_utf8(const char *what, const char *s, gssize len, GError **error)
{
	if (s != NULL && !g_utf8_validate(s, len, NULL)) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "%s is not valid UTF-8", what);
		return -1;
	}
	return 0;
}

static GMimeObject *
build_body(const struct send_spec *spec)
{
	GMimeObject *body;
	size_t i;

	if (spec->html != NULL && spec->text != NULL) {
		GMimeMultipart *alt =
		    g_mime_multipart_new_with_subtype("alternative");
		GMimeObject *p;

		p = text_part("plain", spec->text, spec->text_len);
		g_mime_multipart_add(alt, p);
		g_object_unref(p);
		p = text_part("html", spec->html, spec->html_len);
		g_mime_multipart_add(alt, p);
		g_object_unref(p);
		body = GMIME_OBJECT(alt);
	} else if (spec->html != NULL) {
		body = text_part("html", spec->html, spec->html_len);
	} else {
		body = text_part("plain", spec->text ? spec->text : "",
		    spec->text ? spec->text_len : 0);
	}
	if (spec->n_attachments > 0) {
		GMimeMultipart *mixed =
		    g_mime_multipart_new_with_subtype("mixed");

		g_mime_multipart_add(mixed, body);
		g_object_unref(body);
		for (i = 0; i < spec->n_attachments; i++) {
			GMimeObject *a = attachment_part(&spec->attachments[i]);

			g_mime_multipart_add(mixed, a);
			g_object_unref(a);
		}
		body = GMIME_OBJECT(mixed);
	}
	return body;
}

GMimeMessage *
send_build_message(const struct send_spec *spec, GError **error)
{
	GMimeMessage *msg;
	GMimeObject *body;
	InternetAddressMailbox *from;
	GDateTime *date;
	const char *domain;
	char *id;
	size_t i;

	ensure_gmime();
	if (check_utf8("the subject", spec->subject, -1, error) < 0 ||
	    check_utf8("the text", spec->text, spec->text_len, error) < 0 ||
	    check_utf8("the HTML", spec->html, spec->html_len, error) < 0)
		return NULL;
	for (i = 0; i < spec->n_attachments; i++) {
		const char *n = spec->attachments[i].name;

		if (n == NULL || *n == '\0' || !g_utf8_validate(n, -1, NULL)) {
			g_set_error(error, SEND_ERROR, EX_DATAERR,
			    "attachment %zu: its file name is empty or not "
			    "valid UTF-8", i + 1);
			return NULL;
		}
	}
	if (spec->expires && strpbrk(spec->expires, "\r\n")) {
		g_set_error(error, SEND_ERROR, EX_USAGE,
		    "--expires holds a line break");
		return NULL;
	}
	if (spec->subject && strpbrk(spec->subject, "\r\n")) {
		g_set_error(error, SEND_ERROR, EX_DATAERR,
		    "the subject holds a line break");
		return NULL;
	}
	from = parse_mailbox(spec->from ? spec->from : "", error);
	if (from == NULL)
		return NULL;

	msg = g_mime_message_new(TRUE);
	internet_address_list_add(g_mime_message_get_from(msg),
	    INTERNET_ADDRESS(from));
	if (add_addresses(g_mime_message_get_to(msg), spec->to, error) < 0 ||
	    add_addresses(g_mime_message_get_cc(msg), spec->cc, error) < 0) {
		g_object_unref(from);
		g_object_unref(msg);
		return NULL;
	}
	/* Blind copies are envelope recipients only: no Bcc header at all. */
	g_mime_message_set_subject(msg, spec->subject ? spec->subject : "",
	    "utf-8");

	date = spec->date ? g_date_time_new_from_unix_local(spec->date)
	    : g_date_time_new_now_local();
	g_mime_message_set_date(msg, date);
	g_date_time_unref(date);

	if (spec->message_id) {
		g_mime_message_set_message_id(msg, spec->message_id);
	} else {
		domain = strrchr(internet_address_mailbox_get_addr(from), '@');
		id = g_mime_utils_generate_message_id(domain + 1);
		g_mime_message_set_message_id(msg, id);
		g_free(id);
	}
	g_object_unref(from);

	g_mime_object_set_header(GMIME_OBJECT(msg), "User-Agent",
	    SEND_USER_AGENT, NULL);
	if (spec->expires)
		g_mime_object_set_header(GMIME_OBJECT(msg), "X-Pull-Expires",
		    spec->expires, NULL);
	if (spec->no_pull)
		g_mime_object_set_header(GMIME_OBJECT(msg), "X-Pull", "no",
		    NULL);

	body = build_body(spec);
	g_mime_message_set_mime_part(msg, body);
	g_object_unref(body);
	return msg;
}

GByteArray *
send_message_bytes(GMimeMessage *msg, int crlf)
{
	GMimeFormatOptions *fmt = g_mime_format_options_new();
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	GMimeFilter *f;
	GByteArray *out;

	g_mime_format_options_set_param_encoding_method(fmt,
	    GMIME_PARAM_ENCODING_METHOD_RFC2231);
	g_mime_format_options_set_newline_format(fmt,
	    crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
	/* Whatever GMime writes, SMTP wants CRLF and nothing bare. */
	f = crlf ? g_mime_filter_unix2dos_new(FALSE)
	    : g_mime_filter_dos2unix_new(FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
	g_object_unref(f);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), fmt, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(filtered);
	g_mime_format_options_free(fmt);

	out = g_byte_array_new();
	g_byte_array_append(out,
	    g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->data,
	    g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->len);
	g_object_unref(mem);
	return out;
}
