/* A streaming scan of a message's MIME structure: attachment names, types and
 * decoded sizes, from bytes fed in any chunking, with memory bounded by a
 * small constant whatever the message size. GMime's parser keeps part
 * content in memory when its stream is not seekable, so the milter (which
 * sees the message once, as it arrives) cannot use it for this; header
 * values are still parsed with GMime's content-type, disposition and RFC
 * 2047 functions. */
#ifndef PULLMAIL_MIMESCAN_H
#define PULLMAIL_MIMESCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIMESCAN_MAX_DEPTH 32          /* nested multiparts followed */
#define MIMESCAN_MAX_ATTACHMENTS 64    /* listed; more are only counted */
#define MIMESCAN_MAX_INLINE 16         /* inline images listed */
#define MIMESCAN_LINE_MAX 998          /* RFC 5322 line; longer is cut */
#define MIMESCAN_HEADER_MAX 65536      /* a part's header block kept */

struct mimescan_attachment {
	char *name;       /* UTF-8, RFC 2047/2231 decoded; "" if none */
	char *type;       /* "image/png" */
	uint64_t size;    /* decoded size in bytes */
};

struct mimescan {
	/* results */
	size_t n_attachments;       /* listed in v */
	size_t n_more;              /* attachments beyond the list */
	struct mimescan_attachment v[MIMESCAN_MAX_ATTACHMENTS];
	/* Inline images: image parts of a multipart/related (RFC 2387) with a
	 * Content-ID and no "attachment" disposition, the pictures an HTML
	 * body shows through cid: links. A reader would not call them
	 * attachments, so they are kept apart from v and its counts. */
	size_t n_inline;            /* listed in inline_images */
	size_t n_inline_more;       /* beyond that list */
	struct mimescan_attachment inline_images[MIMESCAN_MAX_INLINE];
	bool malformed;             /* depth cut, unclosed, a line cut where it
	                             * mattered (headers, counted parts) */
	bool incomplete;            /* parts may be missing from the lists: a
	                             * multipart nested deeper than
	                             * MIMESCAN_MAX_DEPTH or without a usable
	                             * boundary (its parts are not read), a
	                             * Content-* field of a part's header
	                             * lost (cut line, header over
	                             * MIMESCAN_HEADER_MAX). The summary says
	                             * so. */
	char *subject;              /* top-level Subject, decoded, or NULL */
	char *from;                 /* top-level From, decoded, or NULL */
	char *date;                 /* top-level Date as written, or NULL */
	/* state */
	char line[MIMESCAN_LINE_MAX + 2];   /* the line and its CR */
	size_t line_len;
	bool line_cut;
	bool skip_line;             /* the rest of this line does not matter */
	uint64_t line_total;         /* the whole line's length, cut or not */
	char *hdr;                  /* header block of the current part */
	size_t hdr_len;
	bool hdr_content;           /* the header line being read belongs to a
	                             * Content-* field */
	bool in_headers;
	bool top;                   /* the current part is the message itself */
	int depth;                  /* boundaries on the stack */
	char *boundary[MIMESCAN_MAX_DEPTH];
	bool related[MIMESCAN_MAX_DEPTH];  /* that multipart is multipart/related */
	int skip_depth;             /* parts below a cut are not listed */
	enum { ENC_IDENTITY, ENC_BASE64, ENC_QP } enc;
	struct mimescan_attachment *cur;   /* the leaf being counted, or NULL */
	bool in_body_leaf;
	size_t pending_eol;         /* line end held back: it may belong to a boundary */
	uint64_t b64_chars;
};

void mimescan_init(struct mimescan *s);
void mimescan_feed(struct mimescan *s, const void *buf, size_t len);
/* Ends the scan (a last line without a line end is taken). */
void mimescan_finish(struct mimescan *s);
void mimescan_clear(struct mimescan *s);

#endif
