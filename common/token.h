/* The link token and what is derived from it (doc/ARCHITECTURE.md: the
 * link, the token and the keys). A token and a message key are secrets: they live in
 * sodium_malloc memory and are wiped when freed. */
#ifndef PULLMAIL_TOKEN_H
#define PULLMAIL_TOKEN_H

#include <stddef.h>
#include <sodium.h>

#define TOKEN_BYTES 32
#define TOKEN_TEXT_LEN 43               /* base64url, no padding */
#define STORAGE_ID_BYTES 16
#define STORAGE_ID_HEX_LEN 32
#define MESSAGE_KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES

struct token {
	unsigned char bytes[TOKEN_BYTES];
};

struct message_key {
	unsigned char bytes[MESSAGE_KEY_BYTES];
};

/* Not secret: the object's name in the store. */
struct storage_id {
	char hex[STORAGE_ID_HEX_LEN + 1];
};

/* Calls sodium_init(); 0 or -1. Every program calls it once at start. */
int token_init(void);

/* A fresh random token in sodium_malloc memory; NULL if out of memory. */
struct token *token_new(void);

/* Strict decoding of exactly TOKEN_TEXT_LEN base64url characters (len is the
 * length of text, which need not be NUL-terminated). Returns NULL on any
 * malformed input (wrong length, any other character, non-canonical last
 * character); never a partial decode. */
struct token *token_decode(const char *text, size_t len);
/* The same into memory the caller provides (sodium_malloc'ed, kept from
 * one request to the next by a long-running reader); 0 or -1. */
int token_decode_into(const char *text, size_t len, struct token *t);

/* Writes TOKEN_TEXT_LEN characters and a NUL. */
void token_encode(const struct token *t, char out[TOKEN_TEXT_LEN + 1]);

void token_free(struct token *t);

void token_storage_id(const struct token *t, struct storage_id *id);

/* The message key in sodium_malloc memory; NULL if out of memory. */
struct message_key *token_message_key(const struct token *t);
void message_key_free(struct message_key *k);
/* The same into memory the caller provides and wipes. */
void token_message_key_into(const struct token *t, struct message_key *k);

/* Subkey 3: the key of the retriever's cache of rendered pages (pagecache.h),
 * so that a cached page, like the object, opens only with the link's token.
 * The caller wipes k. */
#define TOKEN_PAGE_CACHE_KEY_BYTES \
	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
void token_page_cache_key(const struct token *t,
    unsigned char k[TOKEN_PAGE_CACHE_KEY_BYTES]);
/* Validates 32 lowercase hex characters; 0 or -1. */
int storage_id_parse(const char *hex, struct storage_id *id);

/* Extracts a token from a link ("https://host/m/TOKEN", "/m/TOKEN/eml") or a
 * bare token: the first path segment after the last "/m/"-style prefix that
 * is exactly TOKEN_TEXT_LEN long. NULL if none. */
struct token *token_from_link(const char *link);

#endif
