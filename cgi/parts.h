/* The decrypted message as the retriever shows it: GMime's tree, its leaf
 * parts numbered depth-first (the N of /part/N), and which of them are the
 * text and HTML bodies. */
#ifndef PULLMAIL_WEB_PARTS_H
#define PULLMAIL_WEB_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <gmime/gmime.h>

/* The most entities (the message, each part, multipart and attached
 * message's part, as GMime builds an object for each) parsed for one
 * request: a message of 200,000 tiny parts would cost seconds of CPU and
 * hundreds of megabytes in GMime's tree on every request. */
#define WEB_MAX_PARTS 1000
/* The most nested multiparts the scan that enforces it follows. */
#define WEB_SCAN_MAX_DEPTH 64

struct web_message {
	GMimeMessage *msg;
	GPtrArray *leaves;     /* GMimeObject*: GMimePart or GMimeMessagePart */
	int text_idx;          /* leaf index of the text body, or -1 */
	int html_idx;          /* leaf index of the HTML body, or -1 */
	GByteArray *backing;   /* borrows the caller's plain bytes */
	bool cut;              /* parts past WEB_MAX_PARTS are left out */
	size_t left_out;       /* leaf parts left out (0 when cut is false;
	                        * may be 0 when it is true) */
};

/* Where a message would be cut to keep GMime's tree within max_entities,
 * found by scanning its MIME structure (boundaries, Content-Type) as GMime
 * will read it: *cut is the length to parse (len when nothing is cut), at
 * the end of the line before the boundary that opens the first entity left
 * out, and *left_out the leaf parts from there on (counted as
 * web_message_parse lists leaves). Linear in len, allocation-free but for
 * the boundaries of WEB_SCAN_MAX_DEPTH multiparts. */
void web_message_scan(const unsigned char *plain, size_t len,
    unsigned max_entities, size_t *cut, size_t *left_out);

/* Parses plain, which must stay valid and unchanged until
 * web_message_clear (GMime reads the parts' content from it), cut after
 * WEB_MAX_PARTS entities (m->cut, m->left_out); 0 or -1 if GMime finds no
 * message. */
int web_message_parse(const unsigned char *plain, size_t len,
    struct web_message *m);
void web_message_clear(struct web_message *m);

/* The decoded content of leaf i (transfer encoding undone); caller frees. */
GByteArray *web_part_decoded(GMimeObject *leaf);
/* The same appended to out. */
void web_part_append_decoded(GMimeObject *leaf, GByteArray *out);
/* The length of that content, exactly, mostly without decoding it: base64
 * as encoders write it is counted, identity encodings are measured, the
 * rest is decoded into a stream that only counts. */
size_t web_part_size(GMimeObject *leaf);
/* The body text of leaf i converted to UTF-8, or NULL; caller g_free()s. */
char *web_part_text(GMimeObject *leaf);
/* The file name (RFC 2231/2047 decoded) or NULL. */
const char *web_part_filename(GMimeObject *leaf);
/* "type/subtype" lower-case; caller g_free()s. */
char *web_part_mime_type(GMimeObject *leaf);
/* png, jpeg, gif or webp: the only types ever served inline. */
bool web_part_is_raster(GMimeObject *leaf);
/* The leaf whose Content-ID is cid (without brackets), or -1. */
int web_message_find_cid(const struct web_message *m, const char *cid);

#endif
