/* Store format version 1: see envelope.h for the layout. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "envelope.h"

#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HEADERBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define CIPHER_CHUNK (ENVELOPE_CHUNK_SIZE + SS_ABYTES)
#define KEY_CHECK_LEN 16
#define KEY_CHECK_OFFSET 32
#define FIRST_AD_LEN (ENVELOPE_SIZE_OFFSET + KEY_CHECK_LEN)
#define KEY_CHECK_DOMAIN "pullmail key check v1"

typedef crypto_secretstream_xchacha20poly1305_state ss_state;

const char *
envelope_strerror(enum envelope_status st)
{
	switch (st) {
	case ENVELOPE_OK: return "success";
	case ENVELOPE_ERR_IO: return "read or write error";
	case ENVELOPE_ERR_NOMEM: return "out of memory";
	case ENVELOPE_ERR_MAGIC: return "not a pullmail object (wrong magic)";
	case ENVELOPE_ERR_VERSION: return "unknown store format version";
	case ENVELOPE_ERR_FORMAT: return "malformed header";
	case ENVELOPE_ERR_WRONG_KEY: return "wrong key";
	case ENVELOPE_ERR_DAMAGED: return "damaged or tampered data";
	case ENVELOPE_ERR_TRUNCATED: return "truncated object";
	case ENVELOPE_ERR_TRAILING: return "data after the final chunk";
	case ENVELOPE_ERR_RETENTION: return "expiry beyond the maximum retention";
	case ENVELOPE_ERR_TOO_BIG: return "message too large";
	case ENVELOPE_ERR_STATE: return "invalid use";
	}
	return "unknown error";
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
key_check(const struct message_key *key, unsigned char out[KEY_CHECK_LEN])
{
	crypto_generichash(out, KEY_CHECK_LEN,
	    (const unsigned char *)KEY_CHECK_DOMAIN, strlen(KEY_CHECK_DOMAIN),
	    key->bytes, sizeof key->bytes);
}

void
envelope_encode_expires(int64_t expires, unsigned char out[8])
{
	put_be64(out, (uint64_t)expires);
}

/* Additional data of a chunk: the immutable fields for the first, the
 * original size for the last (envelope.h). */
static size_t
chunk_ad(const unsigned char *hdr, int first, int last, unsigned char *ad)
{
	size_t n = 0;
	if (first) {
		memcpy(ad, hdr, ENVELOPE_SIZE_OFFSET);
		memcpy(ad + ENVELOPE_SIZE_OFFSET, hdr + KEY_CHECK_OFFSET,
		    KEY_CHECK_LEN);
		n = FIRST_AD_LEN;
	}
	if (last) {
		memcpy(ad + n, hdr + ENVELOPE_SIZE_OFFSET, 8);
		n += 8;
	}
	return n;
}

/* What a sealer needs beyond its small state: the secretstream state and
 * one plaintext chunk (secret: sodium_malloc, wiped before reuse) and the
 * output buffer (ciphertext, with room for the header in front of the first
 * chunk). sodium_malloc maps, guards and locks fresh pages on every call and
 * unmaps them on free, which costs more than sealing a small message, so a
 * few idle sets are kept for the next message: wiped (the state holds the
 * key) when given back, still locked and guarded. The milter's threads
 * share the pool, hence the lock; it is bounded, so a burst of concurrent
 * messages leaves at most SEAL_POOL_MAX sets behind. */
#define SEAL_POOL_MAX 8
#define SEAL_OUT_SIZE (ENVELOPE_HEADER_SIZE + CIPHER_CHUNK)

struct seal_secret {
	ss_state state;
	unsigned char plain[ENVELOPE_CHUNK_SIZE];
};

struct seal_buffers {
	struct seal_secret *secret;  /* sodium_malloc */
	unsigned char *out;          /* malloc, SEAL_OUT_SIZE */
};

static pthread_mutex_t seal_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seal_buffers seal_pool[SEAL_POOL_MAX];
static unsigned seal_pool_idle;

static int
seal_buffers_get(struct seal_buffers *b)
{
	pthread_mutex_lock(&seal_pool_lock);
	if (seal_pool_idle > 0) {
		*b = seal_pool[--seal_pool_idle];
		pthread_mutex_unlock(&seal_pool_lock);
		return 0;
	}
	pthread_mutex_unlock(&seal_pool_lock);
	b->secret = sodium_malloc(sizeof *b->secret);
	b->out = malloc(SEAL_OUT_SIZE);
	if (b->secret == NULL || b->out == NULL) {
		sodium_free(b->secret);
		free(b->out);
		return -1;
	}
	return 0;
}

/* plain_used: how much of the plaintext chunk may hold message bytes. */
static void
seal_buffers_put(struct seal_buffers *b, size_t plain_used)
{
	sodium_memzero(&b->secret->state, sizeof b->secret->state);
	sodium_memzero(b->secret->plain, plain_used);
	pthread_mutex_lock(&seal_pool_lock);
	if (seal_pool_idle < SEAL_POOL_MAX) {
		seal_pool[seal_pool_idle++] = *b;
		pthread_mutex_unlock(&seal_pool_lock);
		return;
	}
	pthread_mutex_unlock(&seal_pool_lock);
	sodium_free(b->secret);
	free(b->out);
}

/* The header is held back and written with the first chunk, so a message
 * of one chunk is one write, with its original size already filled in. */
struct envelope_sealer {
	struct seal_buffers buf;
	size_t fill;
	size_t plain_used;           /* high-water mark of fill, for the wipe */
	uint64_t total;
	int first;
	unsigned char hdr[ENVELOPE_HEADER_SIZE];
	struct envelope_sink sink;
};

void
envelope_seal_abort(struct envelope_sealer *s)
{
	if (s == NULL)
		return;
	seal_buffers_put(&s->buf, s->plain_used > s->fill ? s->plain_used :
	    s->fill);
	free(s);
}

enum envelope_status
envelope_seal_begin(struct envelope_sealer **out,
    const struct message_key *key, int64_t created, int64_t expires,
    const struct envelope_sink *sink)
{
	*out = NULL;
	if (created < 0 || expires < created)
		return ENVELOPE_ERR_STATE;
	struct envelope_sealer *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ENVELOPE_ERR_NOMEM;
	if (seal_buffers_get(&s->buf) != 0) {
		free(s);
		return ENVELOPE_ERR_NOMEM;
	}
	s->sink = *sink;
	s->first = 1;

	unsigned char *h = s->hdr;
	memcpy(h, ENVELOPE_MAGIC, 8);
	h[8] = ENVELOPE_VERSION;
	h[9] = 0;
	h[10] = h[11] = 0;
	h[12] = (ENVELOPE_CHUNK_SIZE >> 24) & 0xff;
	h[13] = (ENVELOPE_CHUNK_SIZE >> 16) & 0xff;
	h[14] = (ENVELOPE_CHUNK_SIZE >> 8) & 0xff;
	h[15] = ENVELOPE_CHUNK_SIZE & 0xff;
	put_be64(h + 16, (uint64_t)created);
	put_be64(h + ENVELOPE_SIZE_OFFSET, 0);
	key_check(key, h + KEY_CHECK_OFFSET);
	put_be64(h + ENVELOPE_EXPIRES_OFFSET, (uint64_t)expires);
	crypto_secretstream_xchacha20poly1305_init_push(&s->buf.secret->state,
	    h + ENVELOPE_META_SIZE, key->bytes);
	*out = s;
	return ENVELOPE_OK;
}

/* The plaintext chunk is not wiped after each chunk: the next one
 * overwrites it, and seal_buffers_put wipes what is left at the end. */
static enum envelope_status
seal_flush(struct envelope_sealer *s, int last)
{
	unsigned char ad[FIRST_AD_LEN + 8];
	unsigned long long clen;
	unsigned char *dst = s->buf.out;
	size_t pre = 0;

	if (last)
		put_be64(s->hdr + ENVELOPE_SIZE_OFFSET, s->total);
	if (s->first) {
		memcpy(dst, s->hdr, ENVELOPE_HEADER_SIZE);
		pre = ENVELOPE_HEADER_SIZE;
	}
	size_t adlen = chunk_ad(s->hdr, s->first, last, ad);
	crypto_secretstream_xchacha20poly1305_push(&s->buf.secret->state,
	    dst + pre, &clen, s->buf.secret->plain, s->fill,
	    adlen ? ad : NULL, adlen,
	    last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
	if (s->fill > s->plain_used)
		s->plain_used = s->fill;
	s->fill = 0;
	s->first = 0;
	if (s->sink.write(s->sink.ctx, dst, pre + (size_t)clen) != 0)
		return ENVELOPE_ERR_IO;
	return ENVELOPE_OK;
}

enum envelope_status
envelope_seal_write(struct envelope_sealer *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (s == NULL)
		return ENVELOPE_ERR_STATE;
	while (len > 0) {
		/* A full chunk is flushed only when more data follows, so the
		 * final chunk is never empty unless the message is. */
		if (s->fill == ENVELOPE_CHUNK_SIZE) {
			enum envelope_status st = seal_flush(s, 0);
			if (st != ENVELOPE_OK)
				return st;
		}
		size_t n = ENVELOPE_CHUNK_SIZE - s->fill;
		if (n > len)
			n = len;
		memcpy(s->buf.secret->plain + s->fill, p, n);
		s->fill += n;
		s->total += n;
		p += n;
		len -= n;
	}
	return ENVELOPE_OK;
}

enum envelope_status
envelope_seal_finish(struct envelope_sealer *s)
{
	if (s == NULL)
		return ENVELOPE_ERR_STATE;
	int single = s->first;
	enum envelope_status st = seal_flush(s, 1);
	/* Only a message of several chunks wrote its header before the
	 * original size was known. */
	if (st == ENVELOPE_OK && !single &&
	    s->sink.write_at(s->sink.ctx, ENVELOPE_SIZE_OFFSET,
	    s->hdr + ENVELOPE_SIZE_OFFSET, 8) != 0)
		st = ENVELOPE_ERR_IO;
	envelope_seal_abort(s);
	return st;
}

enum envelope_status
envelope_parse_meta(const void *buf, size_t len, struct envelope_meta *meta)
{
	const unsigned char *h = buf;

	if (len < 8 || memcmp(h, ENVELOPE_MAGIC, 8) != 0)
		return len < 8 && memcmp(h, ENVELOPE_MAGIC, len) == 0 ?
		    ENVELOPE_ERR_TRUNCATED : ENVELOPE_ERR_MAGIC;
	if (len < 9)
		return ENVELOPE_ERR_TRUNCATED;
	if (h[8] != ENVELOPE_VERSION)
		return ENVELOPE_ERR_VERSION;
	if (len < ENVELOPE_META_SIZE)
		return ENVELOPE_ERR_TRUNCATED;
	uint32_t chunk = ((uint32_t)h[12] << 24) | ((uint32_t)h[13] << 16) |
	    ((uint32_t)h[14] << 8) | h[15];
	uint64_t created = get_be64(h + 16);
	uint64_t expires = get_be64(h + ENVELOPE_EXPIRES_OFFSET);
	if ((h[9] & ~ENVELOPE_FLAG_REVOKED) != 0 || h[10] != 0 || h[11] != 0 ||
	    chunk != ENVELOPE_CHUNK_SIZE || created > INT64_MAX ||
	    expires > INT64_MAX || expires < created)
		return ENVELOPE_ERR_FORMAT;
	meta->version = h[8];
	meta->flags = h[9];
	meta->chunk_size = chunk;
	meta->created = (int64_t)created;
	meta->expires = (int64_t)expires;
	meta->original_size = get_be64(h + ENVELOPE_SIZE_OFFSET);
	return ENVELOPE_OK;
}

/* expires as every reader must enforce it. */
static enum envelope_status
envelope_check_retention(const struct envelope_meta *m, int64_t max_retention)
{
	if (max_retention > 0 && m->expires - m->created > max_retention)
		return ENVELOPE_ERR_RETENTION;
	return ENVELOPE_OK;
}

/* Opening: the header, the key check and the retention cap first, then
 * every chunk decrypted and verified straight into the caller's
 * sodium_malloc buffer (libsodium checks a chunk's tag before it writes any
 * plaintext), the final tag and the end of the source last. Nothing is
 * handed out before all of it verified. */
struct reader_secrets {
	ss_state state;
	struct message_key key;      /* envelope_reader_key */
};

struct envelope_reader {
	struct reader_secrets *sec;  /* sodium_malloc */
	ss_state *state;             /* &sec->state */
	unsigned char *cipher;       /* CIPHER_CHUNK + 1 bytes of lookahead */
	unsigned char *buf;          /* sodium_malloc, buf_cap bytes */
	size_t buf_cap;
	size_t used;                 /* plaintext in buf to wipe */
	size_t keep_max;             /* largest buffer kept between opens */
};

/* Reads until buf holds want bytes or the source ends; -1 on error. */
static long
read_full(const struct envelope_source *src, unsigned char *buf, size_t have,
    size_t want)
{
	while (have < want) {
		long n = src->read(src->ctx, buf + have, want - have);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	return (long)have;
}

static enum envelope_status
open_header(ss_state *state, const struct message_key *key,
    int64_t max_retention, const struct envelope_source *src,
    struct envelope_meta *meta, unsigned char hdr[ENVELOPE_META_SIZE])
{
	unsigned char head[ENVELOPE_HEADER_SIZE];
	unsigned char check[KEY_CHECK_LEN];
	enum envelope_status st;

	long n = read_full(src, head, 0, sizeof head);
	if (n < 0)
		return ENVELOPE_ERR_IO;
	st = envelope_parse_meta(head, (size_t)n, meta);
	if (st != ENVELOPE_OK)
		return st;
	if (meta->flags & ENVELOPE_FLAG_REVOKED)
		return ENVELOPE_ERR_FORMAT;   /* a tombstone has no content */
	if ((size_t)n < sizeof head)
		return ENVELOPE_ERR_TRUNCATED;
	key_check(key, check);
	if (sodium_memcmp(check, head + KEY_CHECK_OFFSET, KEY_CHECK_LEN) != 0)
		return ENVELOPE_ERR_WRONG_KEY;
	st = envelope_check_retention(meta, max_retention);
	if (st != ENVELOPE_OK)
		return st;
	memcpy(hdr, head, ENVELOPE_META_SIZE);
	if (crypto_secretstream_xchacha20poly1305_init_pull(state,
	    head + ENVELOPE_META_SIZE, key->bytes) != 0)
		return ENVELOPE_ERR_DAMAGED;
	return ENVELOPE_OK;
}

/* Decrypts every chunk after the header into out (cap bytes, the announced
 * original size); *used gets the bytes written, all of which the caller
 * wipes whatever the outcome. */
static enum envelope_status
open_chunks(ss_state *state, unsigned char *cipher,
    const struct envelope_source *src, const unsigned char *hdr,
    unsigned char *out, size_t cap, size_t *used)
{
	unsigned char ad[FIRST_AD_LEN + 8];
	unsigned long long plen;
	unsigned char tag;
	size_t have = 0;
	int first = 1;

	*used = 0;
	for (;;) {
		/* One byte of lookahead tells whether this chunk is the last. */
		long n = read_full(src, cipher, have, CIPHER_CHUNK + 1);
		if (n < 0)
			return ENVELOPE_ERR_IO;
		have = (size_t)n;
		if (have == 0)
			return ENVELOPE_ERR_TRUNCATED;
		int last = have <= CIPHER_CHUNK;
		size_t clen = last ? have : CIPHER_CHUNK;
		if (clen < SS_ABYTES)
			return ENVELOPE_ERR_TRUNCATED;
		/* More plaintext than the header announced: the size field
		 * (authenticated with the final chunk) cannot be right. */
		if (clen - SS_ABYTES > cap - *used)
			return ENVELOPE_ERR_DAMAGED;
		unsigned char *dst = out + *used;

		ss_state saved;
		memcpy(&saved, state, sizeof saved);
		size_t adlen = chunk_ad(hdr, first, last, ad);
		if (crypto_secretstream_xchacha20poly1305_pull(state, dst,
		    &plen, &tag, cipher, clen, adlen ? ad : NULL, adlen) != 0) {
			/* The object may end early: a chunk that verifies as a
			 * middle chunk means truncation rather than damage. */
			memcpy(state, &saved, sizeof saved);
			adlen = chunk_ad(hdr, first, 0, ad);
			int mid = last &&
			    crypto_secretstream_xchacha20poly1305_pull(state,
			    dst, &plen, &tag, cipher, clen, adlen ? ad : NULL,
			    adlen) == 0;
			sodium_memzero(&saved, sizeof saved);
			if (mid) {
				*used += (size_t)plen;
				return tag ==
				    crypto_secretstream_xchacha20poly1305_TAG_FINAL ?
				    ENVELOPE_ERR_DAMAGED : ENVELOPE_ERR_TRUNCATED;
			}
			return ENVELOPE_ERR_DAMAGED;
		}
		sodium_memzero(&saved, sizeof saved);
		*used += (size_t)plen;
		int is_final =
		    tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
		if (is_final && !last)
			return ENVELOPE_ERR_TRAILING;
		if (!is_final && last)
			return ENVELOPE_ERR_TRUNCATED;
		if (is_final) {
			/* The final chunk was the whole rest of the source
			 * (last), so nothing follows it. */
			return *used == cap ? ENVELOPE_OK : ENVELOPE_ERR_DAMAGED;
		}
		memmove(cipher, cipher + clen, have - clen);
		have -= clen;
		first = 0;
	}
}

void
envelope_plain_free(unsigned char *plain, size_t len)
{
	(void)len;
	if (plain != NULL)
		sodium_free(plain);
}

struct envelope_reader *
envelope_reader_new(size_t keep_max)
{
	struct envelope_reader *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->sec = sodium_malloc(sizeof *r->sec);
	r->cipher = malloc(CIPHER_CHUNK + 1);
	if (r->sec == NULL || r->cipher == NULL) {
		envelope_reader_free(r);
		return NULL;
	}
	r->state = &r->sec->state;
	r->keep_max = keep_max;
	return r;
}

struct message_key *
envelope_reader_key(struct envelope_reader *r)
{
	return &r->sec->key;
}

void
envelope_reader_done(struct envelope_reader *r)
{
	if (r == NULL)
		return;
	sodium_memzero(r->sec, sizeof *r->sec);
	if (r->buf == NULL)
		return;
	if (r->buf_cap > r->keep_max) {
		sodium_free(r->buf);   /* wipes all of it */
		r->buf = NULL;
		r->buf_cap = 0;
	} else {
		sodium_memzero(r->buf, r->used);
	}
	r->used = 0;
}

void
envelope_reader_free(struct envelope_reader *r)
{
	if (r == NULL)
		return;
	sodium_free(r->buf);   /* wipes it */
	sodium_free(r->sec);
	free(r->cipher);
	free(r);
}

/* The reader's buffer made at least size bytes (at least 1). A kept buffer
 * is wiped already (envelope_reader_done). */
static int
reader_reserve(struct envelope_reader *r, size_t size)
{
	if (size == 0)
		size = 1;
	if (r->buf != NULL && r->buf_cap >= size)
		return 0;
	sodium_free(r->buf);
	r->buf_cap = 0;
	r->buf = sodium_malloc(size);
	if (r->buf == NULL)
		return -1;
	r->buf_cap = size;
	return 0;
}

enum envelope_status
envelope_reader_open(struct envelope_reader *r, const struct message_key *key,
    int64_t max_retention, const struct envelope_source *src,
    size_t max_size, struct envelope_meta *meta, const unsigned char **plain,
    size_t *plain_len)
{
	unsigned char hdr[ENVELOPE_META_SIZE];
	enum envelope_status st;

	*plain = NULL;
	*plain_len = 0;
	if (r->buf != NULL) {
		/* What the last open left (the key slot is the caller's). */
		sodium_memzero(r->buf, r->used);
		r->used = 0;
	}
	st = open_header(r->state, key, max_retention, src, meta, hdr);
	if (st == ENVELOPE_OK && (meta->original_size > SIZE_MAX - 1 ||
	    (max_size != 0 && meta->original_size > max_size)))
		st = ENVELOPE_ERR_TOO_BIG;
	/* The size is authenticated only with the final chunk: it bounds the
	 * buffer, and any disagreement fails in open_chunks. */
	size_t cap = (size_t)meta->original_size;
	if (st == ENVELOPE_OK && reader_reserve(r, cap) != 0)
		st = ENVELOPE_ERR_NOMEM;
	if (st != ENVELOPE_OK) {
		/* The stream state came from the key: it does not outlive a
		 * refusal either. */
		sodium_memzero(r->state, sizeof *r->state);
		return st;
	}
	st = open_chunks(r->state, r->cipher, src, hdr, r->buf, cap, &r->used);
	sodium_memzero(r->state, sizeof *r->state);
	if (st != ENVELOPE_OK) {
		envelope_reader_done(r);
		return st;
	}
	*plain = r->buf;
	*plain_len = r->used;
	return ENVELOPE_OK;
}

enum envelope_status
envelope_open_all(const struct message_key *key, int64_t max_retention,
    const struct envelope_source *src, size_t max_size,
    struct envelope_meta *meta, unsigned char **plain, size_t *plain_len)
{
	const unsigned char *p;
	enum envelope_status st;

	*plain = NULL;
	*plain_len = 0;
	struct envelope_reader *r = envelope_reader_new(0);
	if (r == NULL)
		return ENVELOPE_ERR_NOMEM;
	st = envelope_reader_open(r, key, max_retention, src, max_size, meta,
	    &p, plain_len);
	if (st == ENVELOPE_OK) {
		/* The caller's now: envelope_plain_free. */
		*plain = r->buf;
		r->buf = NULL;
		r->buf_cap = 0;
		r->used = 0;
	}
	envelope_reader_free(r);
	return st;
}
