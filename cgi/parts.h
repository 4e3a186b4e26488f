/* The decrypted message as the retriever shows it: GMime's tree, its leaf
 * parts numbered depth-first (the N of /part/N), and which of them are the
 * text and HTML bodies. */
#ifndef PULLMAIL_WEB_PARTS_H
#define PULLMAIL_WEB_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <gmime/gmime.h>

struct web_message {
	GMimeMessage *msg;
	GPtrArray *leaves;     /* GMimeObject*: GMimePart or GMimeMessagePart */
	int text_idx;          /* leaf index of the text body, or -1 */
	int html_idx;          /* leaf index of the HTML body, or -1 */
	GByteArray *backing;   /* borrows the caller's plain bytes */
};

/* Parses plain, which must stay valid and unchanged until
 * web_message_clear (GMime reads the parts' content from it); 0 or -1 if
 * GMime finds no message. */
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
