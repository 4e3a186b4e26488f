/* A FastCGI responder's cache of the pages it has rendered. A message sent
 * to a list is one object behind one link for every recipient, and readers
 * reload: a page read again costs a header read and a decryption instead of
 * a parse and a render.
 *
 * Each page is sealed (XChaCha20-Poly1305) with a key derived from the
 * link's token (token_page_cache_key) and a fresh nonce, with the storage
 * id, the variant and the expiry as additional data. Like the store, the
 * cache holds nothing readable without the token; a page whose object was
 * kept since (a new expiry) does not open and counts as a miss. The caller
 * checks the object's header first (sealed_state), so a revoked, expired or
 * deleted message is never answered from here.
 *
 * Entries leave least recently used first once their sizes pass the budget.
 * One responder is one thread: no locking. A CGI process serves one request
 * and has no use for it. */
#ifndef PULLMAIL_PAGECACHE_H
#define PULLMAIL_PAGECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "token.h"

struct page_cache;

/* NULL when out of memory. */
struct page_cache *page_cache_new(size_t budget);
void page_cache_free(struct page_cache *pc);

/* Whether an entry is held for this object and variant (no decryption, no
 * I/O): the caller reads the object's header only then. */
bool page_cache_holds(struct page_cache *pc, const struct storage_id *id,
    const char *variant);

/* variant names what the page depends on besides the object and its expiry
 * (language, link form, remote images). On a hit appends the page to out
 * (the response body: no copy in between) and returns true. */
bool page_cache_get(struct page_cache *pc, const struct token *t,
    const struct storage_id *id, const char *variant, int64_t expires,
    GByteArray *out);
/* Keeps a copy of page, sealed; a page over a quarter of the budget is not
 * kept. Out of memory loses the copy, nothing else. */
void page_cache_put(struct page_cache *pc, const struct token *t,
    const struct storage_id *id, const char *variant, int64_t expires,
    const char *page, size_t len);
/* For tests: entries and bytes held. */
void page_cache_usage(const struct page_cache *pc, size_t *entries,
    size_t *bytes);

#endif
