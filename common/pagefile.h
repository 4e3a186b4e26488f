/* Rendered pages kept on disk, sealed, for pullmail-web as a CGI program:
 * a process serves one request and keeps nothing in memory, so the page a
 * reader opens again is found in [web] PageCacheDir instead. The small
 * pullmail-web program answers from here without loading GMime and its
 * libraries (most of a CGI request's cost); everything else, a miss
 * included, goes to pullmail-web-render, which writes the entries.
 *
 * An entry is the whole CGI response (status, headers, body) sealed with
 * XChaCha20-Poly1305 under the link token's page key (token_page_cache_key)
 * and a fresh nonce, like the FastCGI responder's cache in memory: the
 * directory holds nothing readable without the link. The additional data
 * binds the entry to the object (storage id), its effective expiry (a kept
 * message misses), the request (what follows the token, the query string,
 * Accept-Language, byte for byte), the configuration file's digest and the
 * values the renderer read from it (StoreDir, MaxRetention, PathPrefix),
 * and the program's version. A reader of an entry that disagrees with the
 * renderer on any of them finds no entry. The caller checks the object's
 * header (revoked, expired, gone) before every lookup.
 *
 * Names are "STORAGEID.VARIANT" (VARIANT a keyed hash of the request):
 * pullmailctl removes a revoked message's entries by its storage id. Plain
 * C and libsodium only: pullmail-web links this without GLib. */
#ifndef PULLMAIL_PAGEFILE_H
#define PULLMAIL_PAGEFILE_H

#include <stddef.h>
#include <stdint.h>
#include "token.h"

#define PAGEFILE_DIGEST_BYTES 32
#define PAGEFILE_NAME_LEN (STORAGE_ID_HEX_LEN + 1 + 32)
/* Larger responses are not kept. */
#define PAGEFILE_MAX_RESPONSE (8u << 20)
/* An entry not written again for this long is swept (seconds). */
#define PAGEFILE_MAX_AGE (24 * 3600)

/* What the renderer was configured with; the reader must agree. */
struct pagefile_scope {
	const char *dir;               /* [web] PageCacheDir */
	unsigned char config_digest[PAGEFILE_DIGEST_BYTES];
	const char *store_dir;
	int64_t max_retention;
	const char *path_prefix;
};

/* What the response depends on besides the object and its expiry. */
struct pagefile_request {
	const char *rest;             /* after the token: "" or "/" */
	const char *query;            /* without "?"; NULL as "" */
	const char *accept_language;  /* NULL as "" */
};

/* The digest of a configuration file's bytes, for pagefile_scope. */
void pagefile_config_digest(const void *data, size_t len,
    unsigned char out[PAGEFILE_DIGEST_BYTES]);

/* The entry's file name, NUL-terminated, into out. */
void pagefile_name(const struct token *t, const struct storage_id *id,
    const struct pagefile_request *rq, char out[PAGEFILE_NAME_LEN + 1]);

/* The response kept for this request, decrypted into sodium_malloc memory
 * (*resp, freed with pagefile_free). 0, or -1 when there is none that
 * opens (no file, another scope or expiry, damaged, out of memory). */
int pagefile_get(const struct pagefile_scope *sc, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, unsigned char **resp, size_t *len);
void pagefile_free(unsigned char *resp, size_t len);

/* Keeps resp for the request: a temporary file, then a rename, so a reader
 * sees a whole entry or none. Creates dir (0700) when its parent exists.
 * 0, or -1 with errno set; a response over PAGEFILE_MAX_RESPONSE is not
 * kept (0). */
int pagefile_put(const struct pagefile_scope *sc, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, const void *resp, size_t len);

/* Removes the entries older than max_age, those whose object alive (when
 * not NULL) says may no longer be read, then the oldest until the rest fit
 * in three quarters of budget when they exceed it, and temporary files a
 * writer left behind. Entries removed, or -1 with errno set. */
long pagefile_sweep(const char *dir, uint64_t budget, int64_t max_age,
    int64_t now, int (*alive)(void *ctx, const struct storage_id *id),
    void *ctx);

/* Removes every entry of one object (revoked or deleted). Entries
 * removed, or -1 with errno set (a missing dir is 0). */
long pagefile_forget(const char *dir, const struct storage_id *id);

#endif
