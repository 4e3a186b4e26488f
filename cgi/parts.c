/* Walking the decrypted message with GMime. */
#include <string.h>

#include "parts.h"

static void
collect(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct web_message *m = data;

	(void)parent;
	if (GMIME_IS_PART(part) || GMIME_IS_MESSAGE_PART(part))
		g_ptr_array_add(m->leaves, part);
}

static bool
is_attachment(GMimeObject *o)
{
	const char *d = g_mime_object_get_disposition(o);

	return d != NULL && g_ascii_strcasecmp(d, "attachment") == 0;
}

int
web_message_parse(const unsigned char *plain, size_t len,
    struct web_message *m)
{
	memset(m, 0, sizeof(*m));
	m->text_idx = m->html_idx = -1;
	if (len > G_MAXUINT)
		return -1;
	/* GMime reads the decrypted bytes where they are, in sodium_malloc
	 * memory: a mem stream over a borrowed array (not owned, never
	 * written to), instead of g_mime_stream_mem_new_with_buffer's copy
	 * into the ordinary heap. The parser keeps substreams of it for the
	 * parts' content, so it lives as long as the message (clear). */
	m->backing = g_byte_array_new_take((guint8 *)plain, len);
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(m->backing);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	m->msg = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	if (m->msg == NULL) {
		web_message_clear(m);
		return -1;
	}
	m->leaves = g_ptr_array_new();
	GMimeObject *top = g_mime_message_get_mime_part(m->msg);
	if (top != NULL && !GMIME_IS_MULTIPART(top))
		collect(NULL, top, m);
	else
		g_mime_message_foreach(m->msg, collect, m);
	for (guint i = 0; i < m->leaves->len; i++) {
		GMimeObject *o = m->leaves->pdata[i];
		GMimeContentType *ct = g_mime_object_get_content_type(o);
		if (!GMIME_IS_TEXT_PART(o) || is_attachment(o) || ct == NULL)
			continue;
		if (m->text_idx < 0 &&
		    g_mime_content_type_is_type(ct, "text", "plain"))
			m->text_idx = (int)i;
		else if (m->html_idx < 0 &&
		    g_mime_content_type_is_type(ct, "text", "html"))
			m->html_idx = (int)i;
	}
	return 0;
}

void
web_message_clear(struct web_message *m)
{
	if (m->leaves != NULL)
		g_ptr_array_free(m->leaves, TRUE);
	if (m->msg != NULL)
		g_object_unref(m->msg);
	/* Only the wrapper: the bytes are the caller's plain. */
	if (m->backing != NULL)
		g_byte_array_free(m->backing, FALSE);
	memset(m, 0, sizeof(*m));
}

/* The decoded content of leaf appended to out (a GByteArray the stream
 * borrows), without an intermediate copy. */
static void
decode_into(GMimeObject *leaf, GByteArray *out)
{
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(out);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_stream_seek(mem, 0, GMIME_STREAM_SEEK_END);
	if (GMIME_IS_PART(leaf)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(leaf));
		if (w != NULL)
			g_mime_data_wrapper_write_to_stream(w, mem);
	} else if (GMIME_IS_MESSAGE_PART(leaf)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(leaf));
		if (inner != NULL)
			g_mime_object_write_to_stream(GMIME_OBJECT(inner),
			    NULL, mem);
	}
	g_object_unref(mem);
}

GByteArray *
web_part_decoded(GMimeObject *leaf)
{
	GByteArray *out = g_byte_array_new();

	decode_into(leaf, out);
	return out;
}

void
web_part_append_decoded(GMimeObject *leaf, GByteArray *out)
{
	size_t size = web_part_size(leaf);

	/* One allocation of the right size (a hint: the decoder appends). */
	if (size < G_MAXUINT - out->len) {
		guint had = out->len;
		g_byte_array_set_size(out, had + (guint)size);
		g_byte_array_set_size(out, had);
	}
	decode_into(leaf, out);
}

/* Base64 characters as GMime's decoder counts them: the alphabet and '='
 * (which it decodes as zero and then takes back at the end). */
static const unsigned char base64_char[256] = {
	['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
	['+'] = 1, ['/'] = 1, ['='] = 1,
};

/* The decoded length of base64 content without decoding it: every four
 * characters make three bytes, and each of the last two characters that is
 * '=' takes one back. GMime's decoder gives the same for any content whose
 * '=' are at its end (what every encoder writes); content with '=' in the
 * middle may decode a byte or two differently, and is at worst shown with
 * a size off by that much. */
static size_t
base64_decoded_size(GMimeStream *s)
{
	unsigned char buf[4096];
	size_t count = 0;
	unsigned char last[2] = { 0, 0 };   /* the last two counted */
	ssize_t n;

	while ((n = g_mime_stream_read(s, (char *)buf, sizeof buf)) > 0) {
		size_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
		ssize_t i = 0;
		for (; i + 4 <= n; i += 4) {
			c0 += base64_char[buf[i]];
			c1 += base64_char[buf[i + 1]];
			c2 += base64_char[buf[i + 2]];
			c3 += base64_char[buf[i + 3]];
		}
		for (; i < n; i++)
			c0 += base64_char[buf[i]];
		count += c0 + c1 + c2 + c3;
		/* The last two counted characters of this block, if any. */
		unsigned char tail[2];
		int got = 0;
		for (ssize_t j = n - 1; j >= 0 && got < 2; j--)
			if (base64_char[buf[j]])
				tail[got++] = buf[j];
		if (got == 2) {
			last[0] = tail[1];
			last[1] = tail[0];
		} else if (got == 1) {
			last[0] = last[1];
			last[1] = tail[0];
		}
	}
	size_t size = count / 4 * 3;
	if (count % 4 == 0)
		for (int i = 0; i < 2 && size > 0; i++)
			if (last[i] == '=')
				size--;
	return size;
}

size_t
web_part_size(GMimeObject *leaf)
{
	if (GMIME_IS_PART(leaf)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(leaf));
		if (w == NULL)
			return 0;
		GMimeStream *s = g_mime_data_wrapper_get_stream(w);
		switch (g_mime_data_wrapper_get_encoding(w)) {
		case GMIME_CONTENT_ENCODING_DEFAULT:
		case GMIME_CONTENT_ENCODING_7BIT:
		case GMIME_CONTENT_ENCODING_8BIT:
		case GMIME_CONTENT_ENCODING_BINARY: {
			gint64 len = g_mime_stream_length(s);
			if (len >= 0)
				return (size_t)len;
			break;
		}
		case GMIME_CONTENT_ENCODING_BASE64:
			if (g_mime_stream_reset(s) == 0) {
				size_t size = base64_decoded_size(s);
				g_mime_stream_reset(s);
				return size;
			}
			break;
		default:
			break;
		}
	}
	/* Quoted-printable, uuencode, an attached message: decode into a
	 * stream that only counts. */
	GMimeStream *null = g_mime_stream_null_new();
	size_t size;
	if (GMIME_IS_PART(leaf)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(leaf));
		if (w != NULL)
			g_mime_data_wrapper_write_to_stream(w, null);
	} else if (GMIME_IS_MESSAGE_PART(leaf)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(leaf));
		if (inner != NULL)
			g_mime_object_write_to_stream(GMIME_OBJECT(inner),
			    NULL, null);
	}
	size = (size_t)GMIME_STREAM_NULL(null)->written;
	g_object_unref(null);
	return size;
}

char *
web_part_text(GMimeObject *leaf)
{
	if (!GMIME_IS_TEXT_PART(leaf))
		return NULL;
	/* A UTF-8 or ASCII body needs no conversion: GMime would still run
	 * it through iconv, a fifth of the page's cost. Its bytes are only
	 * decoded; invalid sequences are replaced when escaped (html.h). */
	const char *cs = g_mime_object_get_content_type_parameter(leaf,
	    "charset");
	if (cs != NULL && (g_ascii_strcasecmp(cs, "utf-8") == 0 ||
	    g_ascii_strcasecmp(cs, "utf8") == 0 ||
	    g_ascii_strcasecmp(cs, "us-ascii") == 0)) {
		if (g_mime_part_get_content(GMIME_PART(leaf)) == NULL)
			return NULL;
		GByteArray *b = g_byte_array_new();
		decode_into(leaf, b);
		g_byte_array_append(b, (const guint8 *)"", 1);
		return (char *)g_byte_array_free(b, FALSE);
	}
	return g_mime_text_part_get_text(GMIME_TEXT_PART(leaf));
}

const char *
web_part_filename(GMimeObject *leaf)
{
	if (GMIME_IS_PART(leaf))
		return g_mime_part_get_filename(GMIME_PART(leaf));
	return NULL;
}

char *
web_part_mime_type(GMimeObject *leaf)
{
	GMimeContentType *ct = g_mime_object_get_content_type(leaf);
	char *s;

	if (ct == NULL)
		return g_strdup("application/octet-stream");
	s = g_mime_content_type_get_mime_type(ct);
	if (s == NULL)
		return g_strdup("application/octet-stream");
	char *low = g_ascii_strdown(s, -1);
	g_free(s);
	return low;
}

bool
web_part_is_raster(GMimeObject *leaf)
{
	GMimeContentType *ct = g_mime_object_get_content_type(leaf);

	return GMIME_IS_PART(leaf) && ct != NULL &&
	    (g_mime_content_type_is_type(ct, "image", "png") ||
	    g_mime_content_type_is_type(ct, "image", "jpeg") ||
	    g_mime_content_type_is_type(ct, "image", "gif") ||
	    g_mime_content_type_is_type(ct, "image", "webp"));
}

int
web_message_find_cid(const struct web_message *m, const char *cid)
{
	for (guint i = 0; i < m->leaves->len; i++) {
		const char *c = g_mime_object_get_content_id(m->leaves->pdata[i]);
		if (c != NULL && strcmp(c, cid) == 0)
			return (int)i;
	}
	return -1;
}
