/* Sealed messages: the operations the programs use, built from token,
 * envelope and store. The milter creates; the retriever opens and keeps;
 * pullmailctl lists, keeps, revokes and shows. */
#ifndef PULLMAIL_SEALED_H
#define PULLMAIL_SEALED_H

#include <stddef.h>
#include <stdint.h>
#include "envelope.h"
#include "store.h"
#include "token.h"

enum sealed_status {
	SEALED_OK = 0,
	SEALED_NOT_FOUND,   /* no such object (never existed, revoked or gc'd) */
	SEALED_EXPIRED,     /* expires <= now */
	SEALED_REVOKED,     /* a tombstone (ENVELOPE_FLAG_REVOKED) */
	SEALED_DAMAGED,     /* any envelope error other than the above */
	SEALED_WRONG_KEY,
	SEALED_TOO_BIG,
	SEALED_IO,
	SEALED_NOMEM,
};

const char *sealed_strerror(enum sealed_status st);

struct sealed_writer;

/* Draws a token, derives id and key, begins a store write and the envelope.
 * *token is the caller's (token_free); *id names the object in logs. */
enum sealed_status sealed_create(struct store *st, int64_t created,
    int64_t expires, struct sealed_writer **w, struct token **token,
    struct storage_id *id);
enum sealed_status sealed_write(struct sealed_writer *w, const void *buf,
    size_t len);
/* Finishes the envelope and commits durably; frees w. */
enum sealed_status sealed_commit(struct sealed_writer *w);
/* Leaves nothing behind; frees w. */
void sealed_abort(struct sealed_writer *w);

/* Metadata without the key. */
enum sealed_status sealed_meta(struct store *st, const struct storage_id *id,
    struct envelope_meta *meta);

/* The effective expiry: min(expires, created + max_retention). */
int64_t sealed_effective_expiry(const struct envelope_meta *m,
    int64_t max_retention);

/* The part of sealed_state that reads nothing: SEALED_REVOKED for a
 * tombstone, SEALED_EXPIRED when past the effective expiry (unless now is
 * 0), else SEALED_OK. */
enum sealed_status sealed_meta_state(const struct envelope_meta *meta,
    int64_t max_retention, int64_t now);

/* The checks sealed_open makes before it reads the ciphertext: the object
 * exists (SEALED_NOT_FOUND), is not a tombstone (SEALED_REVOKED) and, unless
 * now is 0, has not expired (SEALED_EXPIRED); meta gets its header. Reads
 * the header only: nothing is decrypted or verified. */
enum sealed_status sealed_state(struct store *st, const struct token *t,
    int64_t max_retention, int64_t now, struct envelope_meta *meta);

/* Opens, decrypts and verifies the whole message into sodium_malloc memory
 * (envelope_plain_free). Refuses expired objects (SEALED_EXPIRED, relative
 * to now) unless now is 0. detail, if not NULL, gets the envelope status
 * behind SEALED_DAMAGED for the log. */
enum sealed_status sealed_open(struct store *st, const struct token *t,
    int64_t max_retention, int64_t now, size_t max_size,
    struct envelope_meta *meta, unsigned char **plain, size_t *plain_len,
    enum envelope_status *detail);

/* The same into r's buffer (envelope_reader_open): *plain stays valid until
 * envelope_reader_done(r), which wipes it. */
enum sealed_status sealed_open_with(struct envelope_reader *r,
    struct store *st, const struct token *t, int64_t max_retention,
    int64_t now, size_t max_size, struct envelope_meta *meta,
    const unsigned char **plain, size_t *plain_len,
    enum envelope_status *detail);

/* Sets expires to min(new_expires, created + max_retention); *set gets the
 * value written. */
enum sealed_status sealed_keep(struct store *st, const struct storage_id *id,
    int64_t new_expires, int64_t max_retention, int64_t *set);

/* Replaces the object by a tombstone, durably (the ciphertext is gone at
 * once; the retriever answers 410 until gc removes the tombstone). */
enum sealed_status sealed_revoke(struct store *st,
    const struct storage_id *id, int64_t now);

/* Whether gc may delete the object now: a live object once its effective
 * expiry has passed, a tombstone once created + max_retention has. */
int sealed_gc_due(const struct envelope_meta *m, int64_t max_retention,
    int64_t now);

#endif
