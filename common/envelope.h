/* The sealed original, store format version 1 (doc/ARCHITECTURE.md: the
 * store format).
 *
 * Layout, integers big-endian:
 *   0  magic "PULLMAIL"                 8
 *   8  version (1)                      1
 *   9  flags (0)                        1
 *  10  reserved (0)                     2
 *  12  chunk size (65536)               4
 *  16  created (unix seconds)           8
 *  24  original size (bytes)            8
 *  32  key check                       16   BLAKE2b of the message key
 *  48  expires (unix seconds)           8   mutable (keep)
 *  56  secretstream header             24
 *  80  chunks: xchacha20poly1305 secretstream, CHUNK plaintext bytes each
 *      (+17 bytes of tag), the last one TAG_FINAL and 1..CHUNK bytes
 *      (0 only for an empty message).
 *
 * Additional data: the first chunk carries bytes 0..23 and 32..47 (every
 * immutable field known at the start); the final chunk carries the original
 * size (bytes 24..31), which is only known at the end of a stream. A message
 * of one chunk carries both, in that order. The key check lets a reader tell
 * "wrong key" from "damaged". expires is outside the additional data so that
 * keep can move it; readers refuse expires > created + MaxRetention. */
#ifndef PULLMAIL_ENVELOPE_H
#define PULLMAIL_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include "token.h"

#define ENVELOPE_MAGIC "PULLMAIL"
#define ENVELOPE_VERSION 1
#define ENVELOPE_CHUNK_SIZE 65536
#define ENVELOPE_HEADER_SIZE 80         /* fixed fields + secretstream header */
#define ENVELOPE_META_SIZE 56           /* what metadata readers need */
#define ENVELOPE_EXPIRES_OFFSET 48
#define ENVELOPE_SIZE_OFFSET 24
#define ENVELOPE_FLAGS_OFFSET 9
/* A revoked object is replaced by a tombstone: its first ENVELOPE_META_SIZE
 * bytes with this flag set and expires set to the revocation time, and
 * nothing else, so the retriever can answer 410 until gc removes it at
 * created + MaxRetention. The flag is outside the authenticated data on
 * purpose: a tombstone has no ciphertext left to authenticate. */
#define ENVELOPE_FLAG_REVOKED 0x01

enum envelope_status {
	ENVELOPE_OK = 0,
	ENVELOPE_ERR_IO,        /* the sink or source failed */
	ENVELOPE_ERR_NOMEM,
	ENVELOPE_ERR_MAGIC,     /* not a pullmail object */
	ENVELOPE_ERR_VERSION,   /* a version this reader does not know */
	ENVELOPE_ERR_FORMAT,    /* header fields out of range */
	ENVELOPE_ERR_WRONG_KEY, /* key check mismatch */
	ENVELOPE_ERR_DAMAGED,   /* authentication failed: damaged or tampered */
	ENVELOPE_ERR_TRUNCATED, /* ends without TAG_FINAL */
	ENVELOPE_ERR_TRAILING,  /* TAG_FINAL before the end of the object */
	ENVELOPE_ERR_RETENTION, /* expires beyond created + MaxRetention */
	ENVELOPE_ERR_TOO_BIG,   /* larger than the caller's limit */
	ENVELOPE_ERR_STATE,     /* API misuse */
};

const char *envelope_strerror(enum envelope_status st);

/* Metadata readable without the key. */
struct envelope_meta {
	unsigned version;
	unsigned flags;
	uint32_t chunk_size;
	int64_t created;
	int64_t expires;
	uint64_t original_size;
};

/* Where the sealer writes. write appends; write_at overwrites bytes already
 * written (used once, at finish, for the original size). 0 or -1. */
struct envelope_sink {
	int (*write)(void *ctx, const void *buf, size_t len);
	int (*write_at)(void *ctx, uint64_t offset, const void *buf, size_t len);
	void *ctx;
};

/* Where the opener reads: returns bytes read (0 at end) or -1. */
struct envelope_source {
	long (*read)(void *ctx, void *buf, size_t len);
	void *ctx;
};

struct envelope_sealer;

/* Prepares the header; it reaches the sink with the first chunk (a message
 * of one chunk is a single write and needs no write_at). Memory in flight:
 * one chunk. The chunk buffers come from a small pool shared by threads and
 * are wiped before reuse. */
enum envelope_status envelope_seal_begin(struct envelope_sealer **out,
    const struct message_key *key, int64_t created, int64_t expires,
    const struct envelope_sink *sink);
enum envelope_status envelope_seal_write(struct envelope_sealer *s,
    const void *buf, size_t len);
/* Writes the final chunk and the original size; frees s in every case. */
enum envelope_status envelope_seal_finish(struct envelope_sealer *s);
/* Frees s without finishing (the caller aborts the store write). */
void envelope_seal_abort(struct envelope_sealer *s);

/* Parses the first ENVELOPE_META_SIZE bytes (no key needed, nothing
 * authenticated yet). Checks magic, version and ranges. */
enum envelope_status envelope_parse_meta(const void *buf, size_t len,
    struct envelope_meta *meta);

/* The 8 bytes to write at ENVELOPE_EXPIRES_OFFSET for a new expiry. */
void envelope_encode_expires(int64_t expires, unsigned char out[8]);

/* Decrypts and verifies the whole object (header, key check, retention cap
 * expires <= created + max_retention, every chunk, final tag and end of
 * source) into one sodium_malloc buffer, which the caller frees with
 * envelope_plain_free. Nothing is returned unless all of it verified.
 * max_size 0 means no limit. */
enum envelope_status envelope_open_all(const struct message_key *key,
    int64_t max_retention, const struct envelope_source *src,
    size_t max_size, struct envelope_meta *meta, unsigned char **plain,
    size_t *plain_len);
void envelope_plain_free(unsigned char *plain, size_t len);

/* The same for a program that opens one message after another (the FastCGI
 * responder): the secretstream state and the plaintext buffer stay mapped
 * and locked between messages instead of being sodium_malloc'ed and freed
 * each time. *plain is valid until envelope_reader_done, the next open or
 * envelope_reader_free, each of which wipes it; a buffer larger than
 * keep_max is freed by envelope_reader_done rather than kept. */
struct envelope_reader;
struct envelope_reader *envelope_reader_new(size_t keep_max);
enum envelope_status envelope_reader_open(struct envelope_reader *r,
    const struct message_key *key, int64_t max_retention,
    const struct envelope_source *src, size_t max_size,
    struct envelope_meta *meta, const unsigned char **plain,
    size_t *plain_len);
/* A slot in r's sodium_malloc memory for the key of the next open, wiped
 * by envelope_reader_done. */
struct message_key *envelope_reader_key(struct envelope_reader *r);
void envelope_reader_done(struct envelope_reader *r);
void envelope_reader_free(struct envelope_reader *r);

#endif
