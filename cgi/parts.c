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
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)plain,
	    len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);

	memset(m, 0, sizeof(*m));
	m->text_idx = m->html_idx = -1;
	m->msg = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	if (m->msg == NULL)
		return -1;
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
	memset(m, 0, sizeof(*m));
}

GByteArray *
web_part_decoded(GMimeObject *leaf)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *out;

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
	GByteArray *arr = g_mime_stream_mem_get_byte_array(
	    GMIME_STREAM_MEM(mem));
	out = g_byte_array_sized_new(arr->len);
	g_byte_array_append(out, arr->data, arr->len);
	g_object_unref(mem);
	return out;
}

char *
web_part_text(GMimeObject *leaf)
{
	if (!GMIME_IS_TEXT_PART(leaf))
		return NULL;
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
