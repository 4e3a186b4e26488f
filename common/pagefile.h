/* Rendered pages kept on disk, sealed, for pullmail-web as a CGI program:
 * a process serves one request and keeps nothing in memory, so the page a
 * reader opens again is found in [web] PageCacheDir instead. The small
 * pullmail-web program answers from here without loading GMime and its
 * libraries (most of a CGI request's cost); everything else, a miss
 * included, goes to pullmail-web-render, which writes the entries.
 *
 * An entry is the page's body (pullmail-web writes the page's fixed head,
 * headers.h, in front of it, so an entry cannot carry headers) sealed with
 * XChaCha20-Poly1305 under the link token's page key (token_page_cache_key)
 * and a fresh nonce, like the FastCGI responder's cache in memory: the
 * directory holds nothing readable without the link. The additional data
 * binds the entry to the object (storage id, header, file status), its
 * effective expiry (a kept message misses), the request (what follows the token, the query string,
 * Accept-Language, byte for byte), the configuration file's digest and the
 * values the renderer read from it (the store's name: StoreDir, or the s3
 * endpoint, bucket and prefix; MaxRetention, PathPrefix),
 * and the renderer program's identity. A reader of an entry that disagrees with the
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
#include "envelope.h"
#include "store_version.h"
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
	/* pagefile_program_id of pullmail-web-render: a page rendered by
	 * another build (an upgrade, a fix) does not open. */
	unsigned char program_id[PAGEFILE_DIGEST_BYTES];
	/* The digest of the head the reader writes before the body (the
	 * renderer's and the reader's headers.c must agree). */
	unsigned char head_id[PAGEFILE_DIGEST_BYTES];
	const char *store_dir;         /* which store: StoreDir, or s3:... */
	int64_t max_retention;
	const char *path_prefix;
};

/* The stored object as the entry was made from it: its header and its
 * version (store_object_version, or store_fs_peek in the CGI front), so
 * that an object changed in any way since (kept, revoked, restored,
 * damaged by a writer) finds no entry. Zero-filled before it is set. */
struct pagefile_object {
	unsigned char head[ENVELOPE_META_SIZE];
	char version[STORE_VERSION_MAX];
};

/* What the response depends on besides the object's expiry. */
struct pagefile_request {
	const char *rest;             /* after the token: "" or "/" */
	const char *query;            /* without "?"; NULL as "" */
	const char *accept_language;  /* NULL as "" */
	const struct pagefile_object *object; /* NULL: not bound (tests) */
};

/* Identifies the program at path (device, inode, size, modification
 * time): a rebuilt or reinstalled program gets another. 0 or -1. */
int pagefile_program_id(const char *path,
    unsigned char out[PAGEFILE_DIGEST_BYTES]);

/* The digest of a configuration file's bytes, for pagefile_scope. */
void pagefile_config_digest(const void *data, size_t len,
    unsigned char out[PAGEFILE_DIGEST_BYTES]);

/* The entry's file name, NUL-terminated, into out. */
void pagefile_name(const struct token *t, const struct storage_id *id,
    const struct pagefile_request *rq, char out[PAGEFILE_NAME_LEN + 1]);

/* The page kept for this request, decrypted into sodium_malloc memory
 * (*resp, freed with pagefile_free). 0, or -1 when there is none that
 * opens (no file, another scope, object or expiry, damaged, older than
 * PAGEFILE_MAX_AGE, out of memory). Only a directory and entry of this
 * user that no one else may write are read. */
int pagefile_get(const struct pagefile_scope *sc, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, unsigned char **resp, size_t *len);
void pagefile_free(unsigned char *resp, size_t len);

/* Exactly len bytes from fd into buf, EINTR retried. 0, or -1 (an error,
 * or end of file first). */
int pagefile_read_all(int fd, void *buf, size_t len);
/* All of buf to fd, EINTR retried. 0, or -1 with errno set. */
int pagefile_write_all(int fd, const void *buf, size_t len);

/* Keeps resp for the request: a temporary file, then a rename, so a reader
 * sees a whole entry or none. Creates dir (0700) when its parent exists;
 * refuses (EPERM) a dir of another user or one that others may write.
 * 0, or -1 with errno set; a response over PAGEFILE_MAX_RESPONSE is not
 * kept (0). */
int pagefile_put(const struct pagefile_scope *sc, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, const void *resp, size_t len);

/* Removes the entries older than max_age, those whose object alive (when
 * not NULL) says may no longer be read, then the oldest until the rest fit
 * in three quarters of budget when they exceed it, and temporary files a
 * writer left behind. Files removed, or -1 with errno set (also when a
 * file due would not go). */
long pagefile_sweep(const char *dir, uint64_t budget, int64_t max_age,
    int64_t now, int (*alive)(void *ctx, const struct storage_id *id),
    void *ctx);

/* Removes every entry of one object (revoked or deleted). Entries
 * removed, or -1 with errno set (a missing dir is 0). */
long pagefile_forget(const char *dir, const struct storage_id *id);

#endif
