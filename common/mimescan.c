/* Streaming MIME structure scan (see mimescan.h for why it is hand-written).
 * Lines are assembled from the fed bytes; a line that starts with "--" and
 * one of the open boundaries opens or closes a part; part headers are kept
 * (bounded) until the blank line and then parsed with GMime. Leaf parts that
 * are attachments get their decoded size counted as their lines pass. */
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

#include "mimescan.h"

void
mimescan_init(struct mimescan *s)
{
	memset(s, 0, sizeof(*s));
	s->in_headers = true;
	s->top = true;
}

static void
drop_boundaries(struct mimescan *s, int keep)
{
	while (s->depth > keep) {
		s->depth--;
		free(s->boundary[s->depth]);
		s->boundary[s->depth] = NULL;
	}
}

void
mimescan_clear(struct mimescan *s)
{
	for (size_t i = 0; i < s->n_attachments; i++) {
		free(s->v[i].name);
		free(s->v[i].type);
	}
	for (size_t i = 0; i < s->n_inline; i++) {
		free(s->inline_images[i].name);
		free(s->inline_images[i].type);
	}
	drop_boundaries(s, 0);
	free(s->hdr);
	free(s->subject);
	free(s->from);
	free(s->date);
	memset(s, 0, sizeof(*s));
}

/* Header text as UTF-8: RFC 2047 words decoded; raw 8-bit bytes that are
 * not UTF-8 are taken as ISO-8859-1, the common legacy case. */
static char *
decode_header_text(const char *raw)
{
	char *text = g_mime_utils_header_decode_text(NULL, raw);
	char *out;

	if (text == NULL)
		return strdup("");
	if (g_utf8_validate(text, -1, NULL)) {
		out = strdup(text);
	} else {
		char *conv = g_convert(text, -1, "UTF-8", "ISO-8859-1", NULL,
		    NULL, NULL);
		out = strdup(conv != NULL ? conv : "");
		g_free(conv);
	}
	g_free(text);
	return out;
}

static void
finish_leaf(struct mimescan *s)
{
	if (s->cur != NULL && s->enc == ENC_BASE64)
		s->cur->size = s->b64_chars * 3 / 4;
	s->cur = NULL;
	s->in_body_leaf = false;
	s->pending_eol = 0;
	s->b64_chars = 0;
}

static bool
is_field(const char *line, size_t len, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (len <= n || g_ascii_strncasecmp(line, name, n) != 0 ||
	    line[n] != ':')
		return false;
	*value = line + n + 1;
	while (**value == ' ' || **value == '\t')
		(*value)++;
	return true;
}

static void
end_headers(struct mimescan *s)
{
	char *ct_text = NULL, *cd_text = NULL, *cte_text = NULL;
	bool has_cid = false;
	GMimeContentType *ct = NULL;
	GMimeContentDisposition *cd = NULL;
	char **fields;
	bool top = s->top;

	s->in_headers = false;
	s->top = false;
	if (s->hdr == NULL)
		s->hdr = calloc(1, 1);
	if (s->hdr == NULL)
		return;
	s->hdr[s->hdr_len] = '\0';
	/* Unfold: a line that begins with white space continues the field. */
	fields = g_strsplit(s->hdr, "\n", -1);
	GString *field = g_string_new(NULL);
	for (size_t i = 0; ; i++) {
		const char *l = fields[i];
		if (l != NULL && (l[0] == ' ' || l[0] == '\t') && field->len) {
			g_string_append(field, l);
			continue;
		}
		if (field->len > 0) {
			const char *v;
			if (is_field(field->str, field->len, "Content-Type", &v))
				g_free(ct_text), ct_text = g_strdup(v);
			else if (is_field(field->str, field->len,
			    "Content-Disposition", &v))
				g_free(cd_text), cd_text = g_strdup(v);
			else if (is_field(field->str, field->len,
			    "Content-ID", &v))
				has_cid = has_cid || *v != '\0';
			else if (is_field(field->str, field->len,
			    "Content-Transfer-Encoding", &v))
				g_free(cte_text), cte_text = g_strstrip(g_strdup(v));
			else if (top && s->subject == NULL &&
			    is_field(field->str, field->len, "Subject", &v))
				s->subject = decode_header_text(v);
			else if (top && s->from == NULL &&
			    is_field(field->str, field->len, "From", &v))
				s->from = decode_header_text(v);
			else if (top && s->date == NULL &&
			    is_field(field->str, field->len, "Date", &v))
				s->date = decode_header_text(v);
		}
		if (l == NULL)
			break;
		g_string_assign(field, l);
	}
	g_string_free(field, TRUE);
	g_strfreev(fields);
	s->hdr_len = 0;

	ct = g_mime_content_type_parse(NULL,
	    ct_text != NULL ? ct_text : "text/plain");
	if (cd_text != NULL)
		cd = g_mime_content_disposition_parse(NULL, cd_text);

	if (ct != NULL && g_mime_content_type_is_type(ct, "multipart", "*")) {
		const char *b = g_mime_content_type_get_parameter(ct,
		    "boundary");
		if (b == NULL || *b == '\0' || strlen(b) > 200 ||
		    s->depth >= MIMESCAN_MAX_DEPTH) {
			/* Its body is not followed: whatever parts it holds
			 * are not listed, and the summary must say so. */
			s->malformed = true;
			s->incomplete = true;
		} else {
			s->related[s->depth] = g_mime_content_type_is_type(ct,
			    "multipart", "related");
			s->boundary[s->depth++] = strdup(b);
		}
		goto out;
	}

	const char *name = NULL;
	if (cd != NULL)
		name = g_mime_content_disposition_get_parameter(cd, "filename");
	if (name == NULL && ct != NULL)
		name = g_mime_content_type_get_parameter(ct, "name");
	bool attachment = name != NULL ||
	    (cd != NULL && g_mime_content_disposition_is_attachment(cd)) ||
	    (ct != NULL && !g_mime_content_type_is_type(ct, "text", "*"));
	s->in_body_leaf = true;
	s->pending_eol = 0;
	s->b64_chars = 0;
	s->enc = ENC_IDENTITY;
	if (cte_text != NULL) {
		if (g_ascii_strcasecmp(cte_text, "base64") == 0)
			s->enc = ENC_BASE64;
		else if (g_ascii_strcasecmp(cte_text, "quoted-printable") == 0)
			s->enc = ENC_QP;
	}
	bool inline_image = attachment && has_cid && s->depth > 0 &&
	    s->related[s->depth - 1] && ct != NULL &&
	    g_mime_content_type_is_type(ct, "image", "*") &&
	    (cd == NULL || !g_mime_content_disposition_is_attachment(cd));
	struct mimescan_attachment *a = NULL;
	if (!attachment) {
		;
	} else if (inline_image) {
		if (s->n_inline < MIMESCAN_MAX_INLINE)
			a = &s->inline_images[s->n_inline++];
		else
			s->n_inline_more++;
	} else {
		if (s->n_attachments < MIMESCAN_MAX_ATTACHMENTS)
			a = &s->v[s->n_attachments++];
		else
			s->n_more++;
	}
	if (a != NULL) {
		char *type = ct != NULL ? g_mime_content_type_get_mime_type(ct)
		    : g_strdup("application/octet-stream");
		a->type = strdup(type);
		g_free(type);
		a->name = name != NULL ? decode_header_text(name) : strdup("");
		a->size = 0;
		if (a->type == NULL || a->name == NULL) {
			/* Out of memory: counted among those not listed, so
			 * that every listed one has a name and a type. */
			free(a->type);
			free(a->name);
			a->type = a->name = NULL;
			if (inline_image) {
				s->n_inline--;
				s->n_inline_more++;
			} else {
				s->n_attachments--;
				s->n_more++;
			}
			a = NULL;
		}
	}
	s->cur = a;
out:
	if (ct != NULL)
		g_object_unref(ct);
	if (cd != NULL)
		g_object_unref(cd);
	g_free(ct_text);
	g_free(cd_text);
	g_free(cte_text);
}

/* 1 for the 64 characters of the base64 alphabet (RFC 2045), else 0. */
static const unsigned char b64_alphabet[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
};

static int
hexval(int c)
{
	return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

static void
count_line(struct mimescan *s, const char *l, size_t kept, size_t eol)
{
	struct mimescan_attachment *a = s->cur;

	if (a == NULL)
		return;
	switch (s->enc) {
	case ENC_BASE64: {
		uint64_t n = 0;
		for (size_t i = 0; i < kept; i++)
			n += b64_alphabet[(unsigned char)l[i]];
		s->b64_chars += n;
		break;
	}
	case ENC_QP: {
		size_t n = kept, dec = 0;
		bool soft = false;
		while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
			n--;
		if (n > 0 && l[n - 1] == '=') {
			soft = true;
			n--;
		}
		for (size_t i = 0; i < n; i++) {
			if (l[i] == '=' && i + 2 < n && hexval(l[i + 1]) >= 0 &&
			    hexval(l[i + 2]) >= 0)
				i += 2;
			dec++;
		}
		a->size += s->pending_eol + dec;
		s->pending_eol = soft ? 0 : eol;
		break;
	}
	default:
		a->size += s->pending_eol + s->line_total;
		s->pending_eol = eol;
		break;
	}
}

/* Whether the line opens (1) or closes (2) a part of an open multipart; *level
 * gets that multipart's index on the stack. */
static int
boundary_line(const struct mimescan *s, const char *l, size_t len, int *level)
{
	if (len < 3 || l[0] != '-' || l[1] != '-')
		return 0;
	for (int d = s->depth - 1; d >= 0; d--) {
		size_t bl = strlen(s->boundary[d]);
		if (len < 2 + bl || memcmp(l + 2, s->boundary[d], bl) != 0)
			continue;
		const char *rest = l + 2 + bl;
		size_t rn = len - 2 - bl;
		int kind = 1;
		if (rn >= 2 && rest[0] == '-' && rest[1] == '-') {
			kind = 2;
			rest += 2;
			rn -= 2;
		}
		for (size_t i = 0; i < rn; i++)
			if (rest[i] != ' ' && rest[i] != '\t')
				goto next;
		*level = d;
		return kind;
next:		;
	}
	return 0;
}

static void
process_line(struct mimescan *s, size_t eol)
{
	const char *l = s->line;
	size_t kept = s->line_len;
	int level, kind;

	kind = boundary_line(s, l, kept, &level);
	if (kind != 0) {
		if (s->in_headers)
			end_headers(s);
		finish_leaf(s);
		if (kind == 1) {
			drop_boundaries(s, level + 1);
			s->in_headers = true;
			s->hdr_len = 0;
			s->hdr_content = false;
		} else {
			drop_boundaries(s, level);
		}
		return;
	}
	if (s->in_headers) {
		if (s->line_total == 0) {
			end_headers(s);
			return;
		}
		if (s->hdr == NULL)
			s->hdr = malloc(MIMESCAN_HEADER_MAX + 1);
		if (s->hdr == NULL)
			return;
		if (kept > 0 && l[0] != ' ' && l[0] != '\t')
			s->hdr_content = kept >= 8 &&
			    g_ascii_strncasecmp(l, "Content-", 8) == 0;
		if (s->line_cut || s->hdr_len + kept + 1 > MIMESCAN_HEADER_MAX) {
			/* Lost; if it is part of a Content-* field, it may be
			 * what makes the part an attachment or a multipart. */
			s->malformed = true;
			if (s->hdr_content)
				s->incomplete = true;
			return;
		}
		memcpy(s->hdr + s->hdr_len, l, kept);
		s->hdr_len += kept;
		s->hdr[s->hdr_len++] = '\n';
		return;
	}
	if (s->in_body_leaf)
		count_line(s, l, kept, eol);
}

/* Ends the line assembled in s->line (its '\n' seen, not stored). */
static void
end_line(struct mimescan *s)
{
	size_t eol = 1;

	if (s->line_len > 0 && !s->line_cut &&
	    s->line[s->line_len - 1] == '\r') {
		s->line_len--;
		s->line_total--;
		eol = 2;
	}
	if (s->line_len > MIMESCAN_LINE_MAX) {
		/* Room was kept for the CR only. */
		s->line_len = MIMESCAN_LINE_MAX;
		s->line_cut = true;
		s->malformed = true;
	}
	process_line(s, eol);
	s->line_len = 0;
	s->line_total = 0;
	s->line_cut = false;
}

/* Line by line with memchr and memcpy rather than byte by byte: the scan
 * sees every byte of every message the milter pulls. */
void
mimescan_feed(struct mimescan *s, const void *buf, size_t len)
{
	const char *p = buf, *end = p + len;

	while (p < end) {
		/* Past the headers, with no multipart open and no attachment
		 * being counted (a single-part text message, an epilogue),
		 * nothing that follows can change the result. */
		if (!s->in_headers && s->depth == 0 && s->cur == NULL) {
			s->line_len = 0;
			s->line_total = 0;
			s->skip_line = false;
			return;
		}
		/* In a part that is not counted only a line that starts
		 * with "--" can matter (a boundary): others are passed over
		 * without being copied. */
		if (s->skip_line || (!s->in_headers && s->cur == NULL &&
		    s->line_total == 0 && *p != '-')) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			s->skip_line = nl == NULL;
			if (nl == NULL)
				return;
			p = nl + 1;
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);
		/* One byte more than a line may hold: its CR. */
		size_t room = MIMESCAN_LINE_MAX + 1 - s->line_len;
		size_t take = n < room ? n : room;

		memcpy(s->line + s->line_len, p, take);
		s->line_len += take;
		s->line_total += n;
		if (take < n && !s->line_cut) {
			s->line_cut = true;
			s->malformed = true;
		}
		if (nl == NULL)
			return;
		end_line(s);
		p = nl + 1;
	}
}

void
mimescan_finish(struct mimescan *s)
{
	if (s->line_len > MIMESCAN_LINE_MAX) {
		s->line_len = MIMESCAN_LINE_MAX;
		s->line_cut = true;
		s->malformed = true;
	}
	if (s->line_total > 0)
		process_line(s, 0);
	s->line_len = 0;
	s->line_total = 0;
	if (s->in_headers)
		end_headers(s);
	if (s->depth > 0)
		s->malformed = true;       /* a closing boundary is missing */
	finish_leaf(s);
	drop_boundaries(s, 0);
}
