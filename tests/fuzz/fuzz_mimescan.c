/* libFuzzer: the milter's streaming MIME scan (common/mimescan.c) feeding
 * the summary builder (common/summary.c), over arbitrary message bytes fed
 * in arbitrary chunks, as the milter receives a body in pieces.
 *
 * Input: a flags byte; a byte k (0-15 used); k bytes giving the chunk
 * sizes in turn (each byte b is a chunk of b + 1 bytes, times 64 when
 * flags bit 1 is set; none: one byte at a time); then the message.
 *
 * Checked, besides memory errors and leaks: the scan in those chunks finds
 * exactly what the scan of the whole message in one piece finds (the scan
 * promises "any chunking"); the summary builds (language from flags bit
 * 0), parses back with GMime as a two-part multipart/alternative, and no
 * line of it is longer than RFC 5322's 998 characters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "mimescan.h"
#include "summary.h"

#ifndef PULLMAIL_FUZZ_SRCDIR
#define PULLMAIL_FUZZ_SRCDIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *template_dir;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *err = NULL;

	(void)argc;
	(void)argv;
	g_mime_init();
	template_dir = g_build_filename(PULLMAIL_FUZZ_SRCDIR, "templates",
	    NULL);
	if (summary_check_templates(template_dir, "en", &err) != 0 ||
	    summary_check_templates(template_dir, "pt-BR", &err) != 0) {
		fprintf(stderr, "fuzz_mimescan: %s\n", err);
		abort();
	}
	return 0;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_list(const struct mimescan_attachment *a,
    const struct mimescan_attachment *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!same_str(a[i].name, b[i].name) ||
		    !same_str(a[i].type, b[i].type) || a[i].size != b[i].size)
			return false;
	return true;
}

static void
dump(const char *label, const struct mimescan *s)
{
	fprintf(stderr, "%s: %zu attachments (+%zu), %zu inline (+%zu), "
	    "malformed %d, subject \"%s\", from \"%s\", date \"%s\"\n", label,
	    s->n_attachments, s->n_more, s->n_inline, s->n_inline_more,
	    s->malformed, s->subject ? s->subject : "(null)",
	    s->from ? s->from : "(null)", s->date ? s->date : "(null)");
	for (size_t i = 0; i < s->n_attachments; i++)
		fprintf(stderr, "  [%zu] \"%s\" %s %llu\n", i, s->v[i].name,
		    s->v[i].type, (unsigned long long)s->v[i].size);
	for (size_t i = 0; i < s->n_inline; i++)
		fprintf(stderr, "  inline [%zu] \"%s\" %s %llu\n", i,
		    s->inline_images[i].name, s->inline_images[i].type,
		    (unsigned long long)s->inline_images[i].size);
}

static void
compare(const struct mimescan *whole, const struct mimescan *cut)
{
	if (whole->n_attachments == cut->n_attachments &&
	    whole->n_more == cut->n_more &&
	    whole->n_inline == cut->n_inline &&
	    whole->n_inline_more == cut->n_inline_more &&
	    whole->malformed == cut->malformed &&
	    same_str(whole->subject, cut->subject) &&
	    same_str(whole->from, cut->from) &&
	    same_str(whole->date, cut->date) &&
	    same_list(whole->v, cut->v, whole->n_attachments) &&
	    same_list(whole->inline_images, cut->inline_images,
	    whole->n_inline))
		return;
	fprintf(stderr, "fuzz_mimescan: the chunked scan differs\n");
	dump("whole", whole);
	dump("chunked", cut);
	abort();
}

static void
check_summary(const struct summary *sum)
{
	/* No line over 998 characters. */
	size_t col = 0;
	for (size_t i = 0; i < sum->body_len; i++) {
		if (sum->body[i] == '\n')
			col = 0;
		else if (++col > 999) {     /* 998 and the CR */
			fprintf(stderr, "fuzz_mimescan: a summary line over "
			    "998 characters\n");
			abort();
		}
	}
	char *whole = g_strdup_printf("MIME-Version: 1.0\r\n"
	    "Content-Type: %s\r\n\r\n%.*s", sum->content_type,
	    (int)sum->body_len, sum->body);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(whole,
	    strlen(whole));
	GMimeParser *p = g_mime_parser_new_with_stream(ms);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	GMimeObject *top = msg != NULL ? g_mime_message_get_mime_part(msg) :
	    NULL;
	if (top == NULL || !GMIME_IS_MULTIPART(top) ||
	    g_mime_multipart_get_count(GMIME_MULTIPART(top)) != 2) {
		fprintf(stderr, "fuzz_mimescan: the summary does not parse "
		    "back as two parts:\n%s\n", whole);
		abort();
	}
	g_object_unref(msg);
	g_object_unref(p);
	g_object_unref(ms);
	g_free(whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned flags = data[0];
	size_t k = data[1] & 15;
	if (size < 2 + k)
		return 0;
	const uint8_t *sizes = data + 2;
	const uint8_t *msg = data + 2 + k;
	size_t len = size - 2 - k;
	/* Exact copies, so that ASan sees any read past a chunk. */
	struct mimescan whole, cut;

	mimescan_init(&whole);
	uint8_t *all = g_memdup2(msg, len);
	if (len > 0)    /* the milter never feeds nothing */
		mimescan_feed(&whole, all, len);
	mimescan_finish(&whole);
	g_free(all);

	mimescan_init(&cut);
	for (size_t off = 0, i = 0; off < len; i++) {
		size_t n = k == 0 ? 1 : (size_t)sizes[i % k] + 1;
		if (flags & 2)
			n *= 64;
		if (n > len - off)
			n = len - off;
		uint8_t *piece = g_memdup2(msg + off, n);
		mimescan_feed(&cut, piece, n);
		g_free(piece);
		off += n;
	}
	mimescan_finish(&cut);
	compare(&whole, &cut);

	struct summary_input in = { 0 };
	struct summary sum;
	char *err = NULL;
	in.lang = (flags & 1) ? "pt-BR" : "en";
	in.template_dir = template_dir;
	in.scan = &cut;
	in.link = "https://mail.example.org/m/"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	in.expires = 1800000000 + 29 * 86400;
	in.received = 1800000000;
	if (summary_build(&in, &sum, &err) != 0) {
		fprintf(stderr, "fuzz_mimescan: summary_build: %s\n", err);
		abort();
	}
	check_summary(&sum);
	summary_free(&sum);
	mimescan_clear(&whole);
	mimescan_clear(&cut);
	return 0;
}
