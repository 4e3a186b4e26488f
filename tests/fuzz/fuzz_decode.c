/* libFuzzer: the decoders behind /part/N and the page's sizes
 * (cgi/parts.c): web_part_append_decoded, whose fast base64 path
 * (base64_decode_plain, static, reached through this public function) takes
 * content as encoders write it and leaves the rest to GMime; web_part_size,
 * which counts without decoding; GMime's quoted-printable and uuencode
 * decoders, which those functions use for the other encodings; and
 * web_part_text for text parts.
 *
 * Input: a flags byte, then the part's content as it stands in the
 * message. flags bits 0-1: base64, quoted-printable, uuencode or 8bit;
 * bits 2-3: the content is the whole of a memory stream, a window of one
 * (as a part parsed from memory is, read in place), or behind a filter
 * stream (read block by block); bit 4: the output array already holds
 * bytes; bit 5: a text/plain part with the charset of bits 6-7.
 *
 * Checked: what web_part_append_decoded appends is exactly what GMime's
 * own decoding (web_part_decoded) gives, whichever path it took, and
 * web_part_size is its length. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "cgi/parts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mime_init();
	return 0;
}

static void
differ(const char *what, const GByteArray *want, const guint8 *got,
    size_t got_len)
{
	fprintf(stderr, "fuzz_decode: %s: GMime gives %u bytes, got %zu\n",
	    what, want->len, got_len);
	for (size_t i = 0; i < want->len || i < got_len; i++) {
		int a = i < want->len ? want->data[i] : -1;
		int b = i < got_len ? got[i] : -1;
		if (a != b) {
			fprintf(stderr, "first difference at %zu: %d, %d\n",
			    i, a, b);
			break;
		}
	}
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const GMimeContentEncoding encodings[] = {
		GMIME_CONTENT_ENCODING_BASE64,
		GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE,
		GMIME_CONTENT_ENCODING_UUENCODE,
		GMIME_CONTENT_ENCODING_8BIT,
	};
	static const char *const charsets[] = { "utf-8", "us-ascii",
	    "iso-8859-1", "x-unknown" };

	if (size == 0)
		return 0;
	unsigned flags = data[0];
	const uint8_t *content = data + 1;
	size_t len = size - 1;
	GMimeContentEncoding enc = encodings[flags & 3];
	unsigned how = (flags >> 2) & 3;
	bool text = (flags & 32) != 0;

	/* The content with a byte before and after it, so that a window
	 * stream has bounds to respect. */
	GByteArray *backing = g_byte_array_sized_new((guint)len + 2);
	g_byte_array_append(backing, (const guint8 *)"=", 1);
	g_byte_array_append(backing, content, (guint)len);
	g_byte_array_append(backing, (const guint8 *)"=", 1);
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(backing);
	GMimeStream *s;
	if (how == 0) {
		s = g_mime_stream_mem_new_with_buffer((const char *)content,
		    len);
	} else if (how == 1) {
		s = g_mime_stream_substream(mem, 1, 1 + (gint64)len);
	} else {
		GMimeStream *sub = g_mime_stream_substream(mem, 1,
		    1 + (gint64)len);
		s = g_mime_stream_filter_new(sub);
		g_object_unref(sub);
	}
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, enc);
	GMimePart *part;
	if (text) {
		part = GMIME_PART(g_mime_text_part_new_with_subtype("plain"));
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
		    "charset", charsets[(flags >> 6) & 3]);
	} else {
		part = g_mime_part_new_with_type("application", "octet-stream");
	}
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(s);
	g_object_unref(mem);
	GMimeObject *leaf = GMIME_OBJECT(part);

	GByteArray *want = web_part_decoded(leaf);
	GByteArray *got = g_byte_array_new();
	size_t had = (flags & 16) ? 5 : 0;
	if (had)
		g_byte_array_append(got, (const guint8 *)"head:", 5);
	web_part_append_decoded(leaf, got);
	if (got->len != had + want->len || (want->len > 0 &&
	    memcmp(got->data + had, want->data, want->len) != 0))
		differ("web_part_append_decoded", want, got->data + had,
		    got->len - had);
	if (had && memcmp(got->data, "head:", 5) != 0) {
		fprintf(stderr, "fuzz_decode: bytes before the output "
		    "changed\n");
		abort();
	}
	size_t n = web_part_size(leaf);
	if (n != want->len) {
		fprintf(stderr, "fuzz_decode: web_part_size %zu, decoded "
		    "%u bytes\n", n, want->len);
		abort();
	}
	/* The same again: the stream's position must not matter. */
	GByteArray *again = web_part_decoded(leaf);
	if (again->len != want->len || (want->len > 0 &&
	    memcmp(again->data, want->data, want->len) != 0))
		differ("a second decoding", want, again->data, again->len);
	if (text)
		g_free(web_part_text(leaf));

	g_byte_array_free(again, TRUE);
	g_byte_array_free(got, TRUE);
	g_byte_array_free(want, TRUE);
	g_object_unref(part);
	return 0;
}
