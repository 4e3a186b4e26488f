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

/* The scan behind web_message_scan: one pass over the lines, as GMime's
 * parser reads them. An entity is a header block and what follows it; a
 * multipart's body is read up to the lines that carry its boundary, or the
 * boundary of a multipart around it ("--B" opens the next part, "--B--"
 * closes the multipart, blanks after either); an attached message's body
 * is a header block again. */
#define SCAN_MAX_CONTENT_TYPE 4096   /* longer: read as a leaf's */

struct scan_level {
	char *boundary;         /* without the leading "--" */
	size_t len;
	unsigned msgdepth;      /* attached messages around the multipart */
	bool digest;            /* parts are messages unless they say */
};

struct scan {
	const unsigned char *plain;
	struct scan_level lv[WEB_SCAN_MAX_DEPTH];
	int depth;
	unsigned msgdepth;      /* attached messages around the entity */
	unsigned entities, max;
	bool cut_set, stop;
	size_t cut, left_out;
	/* The entity whose header block is being read. */
	size_t entity_cut;      /* where to cut to leave it out */
	bool after_cut;         /* it is left out */
	bool default_message;   /* in a digest: message/rfc822 by default */
	bool have_ct, in_ct;
	char ct[SCAN_MAX_CONTENT_TYPE + 1];
	size_t ct_len;
	bool ct_long;
};

static void
scan_pop_to(struct scan *sc, int depth)
{
	while (sc->depth > depth)
		g_free(sc->lv[--sc->depth].boundary);
}

/* A new entity whose first line (its boundary, or its first header line
 * for an attached message) starts at offset at. */
static void
scan_entity(struct scan *sc, size_t at, bool default_message)
{
	size_t c = at;

	if (c >= 1 && sc->plain[c - 1] == '\n') {
		c--;
		if (c >= 1 && sc->plain[c - 1] == '\r')
			c--;
	}
	sc->entity_cut = c;
	if (++sc->entities > sc->max && !sc->cut_set) {
		sc->cut_set = true;
		sc->cut = c;
	}
	sc->after_cut = sc->cut_set;
	sc->default_message = default_message;
	sc->have_ct = sc->in_ct = sc->ct_long = false;
	sc->ct_len = 0;
}

static void
scan_ct_append(struct scan *sc, const char *p, size_t n)
{
	if (sc->ct_len + n > SCAN_MAX_CONTENT_TYPE) {
		sc->ct_long = true;
		return;
	}
	memcpy(sc->ct + sc->ct_len, p, n);
	sc->ct_len += n;
}

/* The level of the boundary on the line (after its "--"), innermost
 * first, or -1; *close for "--B--". */
static int
scan_boundary(const struct scan *sc, const char *p, size_t n, bool *close)
{
	for (int i = sc->depth - 1; i >= 0; i--) {
		const struct scan_level *l = &sc->lv[i];
		if (n < l->len || memcmp(p, l->boundary, l->len) != 0)
			continue;
		size_t at = l->len;
		*close = n - at >= 2 && p[at] == '-' && p[at + 1] == '-';
		if (*close)
			at += 2;
		while (at < n && (p[at] == ' ' || p[at] == '\t'))
			at++;
		if (at == n)
			return i;
	}
	return -1;
}

static bool
scan_is_type(const char *v, const char *type)
{
	size_t n = strlen(type);

	return g_ascii_strncasecmp(v, type, n) == 0 &&
	    (v[n] == '\0' || v[n] == ';' || v[n] == ' ' || v[n] == '\t' ||
	    v[n] == '(');
}

/* The end of an entity's header block: true when an attached message's
 * header block follows (at offset next). */
static bool
scan_headers_end(struct scan *sc, size_t next, bool blank)
{
	char *v = sc->ct;

	sc->ct[sc->ct_len] = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	bool known = sc->have_ct && !sc->ct_long;
	if (known && g_ascii_strncasecmp(v, "multipart/", 10) == 0) {
		GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
		const char *b = ct != NULL ?
		    g_mime_content_type_get_parameter(ct, "boundary") : NULL;
		if (b != NULL && b[0] != '\0') {
			if (sc->depth == WEB_SCAN_MAX_DEPTH) {
				/* Deeper than the scan follows: cut here, and
				 * count no further. */
				if (!sc->cut_set) {
					sc->cut_set = true;
					sc->cut = sc->entity_cut;
					sc->left_out = 0;
				}
				sc->stop = true;
			} else {
				struct scan_level *l = &sc->lv[sc->depth++];
				l->boundary = g_strdup(b);
				l->len = strlen(b);
				l->msgdepth = sc->msgdepth;
				l->digest = g_mime_content_type_is_type(ct,
				    "multipart", "digest");
			}
		}
		if (ct != NULL)
			g_object_unref(ct);
		return false;       /* a multipart is not a leaf */
	}
	bool message = known ? scan_is_type(v, "message/rfc822") ||
	    scan_is_type(v, "message/news") || scan_is_type(v, "message/global") :
	    !sc->have_ct && sc->default_message;
	if (sc->after_cut && sc->msgdepth == 0)
		sc->left_out++;
	/* An attached message's own header block follows the blank line. */
	if (message && blank) {
		sc->msgdepth++;
		scan_entity(sc, next, false);
		return true;
	}
	return false;
}

void
web_message_scan(const unsigned char *plain, size_t len,
    unsigned max_entities, size_t *cut, size_t *left_out)
{
	struct scan *sc = g_new0(struct scan, 1);
	/* An empty message may come as NULL, and NULL + 0 is undefined. */
	const char *start = (const char *)plain, *p = start,
	    *end = len > 0 ? p + len : p;
	bool headers = true;

	sc->plain = plain;
	sc->max = max_entities;
	scan_entity(sc, 0, false);
	while (p < end && !sc->stop) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end;
		size_t n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		bool close;
		int k = n >= 2 && p[0] == '-' && p[1] == '-' ?
		    scan_boundary(sc, p + 2, n - 2, &close) : -1;
		if (k >= 0) {
			if (headers)
				(void)scan_headers_end(sc, 0, false);
			unsigned md = sc->lv[k].msgdepth;
			bool digest = sc->lv[k].digest;
			sc->msgdepth = md;
			if (close) {
				scan_pop_to(sc, k);
				headers = false;
			} else {
				scan_pop_to(sc, k + 1);
				scan_entity(sc, (size_t)(p - start), digest);
				headers = true;
			}
		} else if (headers) {
			const char *colon = memchr(p, ':', n);
			if (n == 0) {
				headers = scan_headers_end(sc,
				    (size_t)(next - start), true);
			} else if (p[0] == ' ' || p[0] == '\t') {
				if (sc->in_ct)
					scan_ct_append(sc, p, n);
			} else if (colon != NULL && colon > p) {
				size_t nl2 = (size_t)(colon - p);
				while (nl2 > 0 && (p[nl2 - 1] == ' ' ||
				    p[nl2 - 1] == '\t'))
					nl2--;
				sc->in_ct = !sc->have_ct && nl2 == 12 &&
				    g_ascii_strncasecmp(p, "Content-Type", 12) == 0;
				if (sc->in_ct) {
					sc->have_ct = true;
					scan_ct_append(sc, colon + 1,
					    n - (size_t)(colon + 1 - p));
				}
			} else {
				/* Not a header: the content starts here. */
				(void)scan_headers_end(sc, 0, false);
				headers = false;
			}
		}
		p = next;
	}
	if (headers && !sc->stop)
		(void)scan_headers_end(sc, 0, false);
	*cut = sc->cut_set ? sc->cut : len;
	*left_out = sc->cut_set ? sc->left_out : 0;
	scan_pop_to(sc, 0);
	g_free(sc);
}

int
web_message_parse(const unsigned char *plain, size_t len,
    struct web_message *m)
{
	size_t cut, left_out;

	memset(m, 0, sizeof(*m));
	m->text_idx = m->html_idx = -1;
	if (len > G_MAXUINT)
		return -1;
	/* GMime builds an object for every entity of the message: past
	 * WEB_MAX_PARTS of them it is given the message cut short. */
	web_message_scan(plain, len, WEB_MAX_PARTS, &cut, &left_out);
	m->cut = cut < len;
	m->left_out = left_out;
	len = cut;
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

/* Base64 digit values plus one (0 for a byte that has no place in base64
 * as encoders write it); B64_SPACE for what they put between lines. */
enum { B64_OTHER = 0, B64_SPACE = 65, B64_PAD = 66 };

static const unsigned char base64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
	['='] = B64_PAD, [' '] = B64_SPACE, ['\t'] = B64_SPACE,
	['\r'] = B64_SPACE, ['\n'] = B64_SPACE,
};

/* The same values shifted to their place in a group of four, with the top
 * bit set for anything that is not a digit: one OR of four lookups decodes
 * (and checks) a whole group. */
#define B64_DIGIT(c) ((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' : \
	(c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 : \
	(c) >= '0' && (c) <= '9' ? (c) - '0' + 52 : \
	(c) == '+' ? 62 : (c) == '/' ? 63 : -1)
#define B64_AT(c, sh) (B64_DIGIT(c) < 0 ? 0x80000000u : \
	(guint32)B64_DIGIT(c) << (sh))
#define B64_R4(c, sh) B64_AT(c, sh), B64_AT((c) + 1, sh), \
	B64_AT((c) + 2, sh), B64_AT((c) + 3, sh)
#define B64_R16(c, sh) B64_R4(c, sh), B64_R4((c) + 4, sh), \
	B64_R4((c) + 8, sh), B64_R4((c) + 12, sh)
#define B64_R64(c, sh) B64_R16(c, sh), B64_R16((c) + 16, sh), \
	B64_R16((c) + 32, sh), B64_R16((c) + 48, sh)
#define B64_TABLE(sh) { B64_R64(0, sh), B64_R64(64, sh), B64_R64(128, sh), \
	B64_R64(192, sh) }
static const guint32 b64_at18[256] = B64_TABLE(18);
static const guint32 b64_at12[256] = B64_TABLE(12);
static const guint32 b64_at6[256] = B64_TABLE(6);
static const guint32 b64_at0[256] = B64_TABLE(0);

/* Where base64_decode_block is between two blocks: the digits of the
 * group begun (acc, n), the padding seen and whether the padded last
 * group is complete. */
struct b64_state {
	guint32 acc;
	int n, pads;
	bool done;
};

/* The memory a part of a message parsed from memory is a window on
 * (GMime's substreams of a mem stream share its array), read in place
 * rather than copied block by block; NULL for any other stream. */
static const unsigned char *
b64_direct_window(GMimeStream *s, size_t *len)
{
	if (!GMIME_IS_STREAM_MEM(s) || GMIME_STREAM_MEM(s)->buffer == NULL)
		return NULL;
	GByteArray *a = GMIME_STREAM_MEM(s)->buffer;
	/* An empty array has no data at all: nothing to read in place (and
	 * NULL + 0 is undefined). */
	if (a->data == NULL)
		return NULL;
	gint64 from = s->bound_start, to = s->bound_end;
	if (to < 0 || to > (gint64)a->len)
		to = a->len;
	if (from < 0 || from > to)
		return NULL;
	*len = (size_t)(to - from);
	return a->data + from;
}

/* Decodes [p, end) to o (only counting when counting is set: o then
 * advances over scratch it never writes): the end of what it wrote, or
 * NULL for content an encoder would not write. The state is kept in
 * locals while the block runs, written back at its end. */
static unsigned char *
b64_decode_block(struct b64_state *st, const unsigned char *p,
    const unsigned char *end, unsigned char *o, bool counting)
{
	guint32 acc = st->acc;
	int n = st->n, pads = st->pads;
	bool done = st->done;

	while (p < end) {
		/* Whole groups of four digits, the bulk of a line. */
		if (n == 0 && !done && counting) {
			/* Counting: only check the digits. */
			const unsigned char *stop = p + ((end - p) & ~3);
			while (p < stop && !((b64_at18[p[0]] |
			    b64_at12[p[1]] | b64_at6[p[2]] |
			    b64_at0[p[3]]) & 0x80000000u)) {
				o += 3;
				p += 4;
			}
		} else if (n == 0 && !done) {
			const unsigned char *stop = p + ((end - p) & ~3);
			while (p < stop) {
				guint32 v = b64_at18[p[0]] | b64_at12[p[1]] |
				    b64_at6[p[2]] | b64_at0[p[3]];
				if (v & 0x80000000u)
					break;
				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				o += 3;
				p += 4;
			}
		}
		if (p == end)
			break;
		unsigned v = base64_value[*p++];
		if (v == B64_SPACE)
			continue;
		if (v == B64_OTHER)
			return NULL;
		if (v == B64_PAD) {
			/* "xx==" or "xxx=": padding completes a group of
			 * at least two digits; only blanks follow. */
			if (done || n < 2 || n + ++pads > 4)
				return NULL;
			if (n + pads == 4) {
				acc <<= 6 * pads;
				*o++ = (unsigned char)(acc >> 16);
				if (pads == 1)
					*o++ = (unsigned char)(acc >> 8);
				done = true;
			}
			continue;
		}
		if (done || pads != 0)
			return NULL;
		acc = acc << 6 | (v - 1);
		if (++n == 4) {
			*o++ = (unsigned char)(acc >> 16);
			*o++ = (unsigned char)(acc >> 8);
			*o++ = (unsigned char)acc;
			n = 0;
		}
	}
	st->acc = acc;
	st->n = n;
	st->pads = pads;
	st->done = done;
	return o;
}

/* Decodes base64 content as an encoder writes it (the alphabet, line
 * breaks and blanks, '=' padding only in the last group, nothing after it)
 * four characters at a time, appending to out, or only counting the bytes
 * into *count when out is NULL. GMime's decoder is a fifth of the cost of
 * a large download and gives the same bytes for such content (a test
 * compares them); anything else returns -1 with out as it was, and GMime
 * decodes it. Hand-written because GLib's and libsodium's decoders are no
 * faster (libsodium's is constant-time, for secrets). */
static int
base64_decode_plain(GMimeStream *s, GByteArray *out, size_t *count)
{
	unsigned char in[16384];
	unsigned char scratch[16384 / 4 * 3 + 3];
	guint had = out != NULL ? out->len : 0;
	size_t total = 0;
	struct b64_state st = { 0, 0, 0, false };
	ssize_t got;
	size_t direct_len = 0;
	const unsigned char *direct = b64_direct_window(s, &direct_len);

	for (;;) {
		const unsigned char *blk = in;
		if (direct != NULL) {
			got = (ssize_t)(direct_len < sizeof in ? direct_len :
			    sizeof in);
			blk = direct;
			direct += got;
			direct_len -= (size_t)got;
		} else {
			got = g_mime_stream_read(s, (char *)in, sizeof in);
		}
		if (got <= 0)
			break;
		size_t room = (size_t)got / 4 * 3 + 3;
		unsigned char *o0 = scratch;
		if (out != NULL) {
			if (room > G_MAXUINT - out->len)
				goto unusual;
			guint at = out->len;
			g_byte_array_set_size(out, at + (guint)room);
			o0 = out->data + at;
		}
		unsigned char *o = b64_decode_block(&st, blk, blk + got, o0,
		    out == NULL);
		if (o == NULL)
			goto unusual;
		total += (size_t)(o - o0);
		if (out != NULL)
			g_byte_array_set_size(out, (guint)(o - out->data));
	}
	/* A group cut short (no padding, or padding not finished) is left
	 * to GMime. */
	if (got < 0 || (st.n != 0 && !st.done))
		goto unusual;
	if (count != NULL)
		*count = total;
	return 0;
unusual:
	if (out != NULL)
		g_byte_array_set_size(out, had);
	return -1;
}

void
web_part_append_decoded(GMimeObject *leaf, GByteArray *out)
{
	if (GMIME_IS_PART(leaf)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(leaf));
		GMimeStream *s = w != NULL ? g_mime_data_wrapper_get_stream(w) :
		    NULL;
		if (s != NULL && g_mime_data_wrapper_get_encoding(w) ==
		    GMIME_CONTENT_ENCODING_BASE64) {
			gint64 len = g_mime_stream_length(s);
			/* Room for all of it at once (a hint). */
			if (len > 0 && (guint64)len / 4 * 3 < G_MAXUINT - out->len) {
				guint had = out->len;
				g_byte_array_set_size(out, had + (guint)(len / 4 * 3));
				g_byte_array_set_size(out, had);
			}
			if (g_mime_stream_reset(s) == 0 &&
			    base64_decode_plain(s, out, NULL) == 0)
				return;
		}
	}
	decode_into(leaf, out);
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
		case GMIME_CONTENT_ENCODING_BASE64: {
			/* Counted as web_part_append_decoded decodes it. */
			size_t size;
			int plain = g_mime_stream_reset(s) == 0 ?
			    base64_decode_plain(s, NULL, &size) : -1;
			g_mime_stream_reset(s);
			if (plain == 0)
				return size;
			break;
		}
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
		web_part_append_decoded(leaf, b);
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
