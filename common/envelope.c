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

/* Opening as a stream: begin reads and checks the header, the key check and
 * the retention cap; next yields verified chunks, then length 0 once the
 * final chunk was verified and the source is at its end. Internal: callers
 * use envelope_open_all, so none acts on a message not yet known whole. */
struct envelope_opener {
	ss_state *state;             /* sodium_malloc */
	unsigned char *plain;        /* sodium_malloc, one chunk */
	unsigned char *cipher;       /* CIPHER_CHUNK + 1 bytes of lookahead */
	size_t have;
	int first;
	int final_seen;
	unsigned char hdr[ENVELOPE_META_SIZE];
	struct envelope_source src;
};

static void
envelope_open_free(struct envelope_opener *o)
{
	if (o == NULL)
		return;
	sodium_free(o->state);
	sodium_free(o->plain);
	free(o->cipher);
	free(o);
}

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
envelope_open_begin(struct envelope_opener **out,
    const struct message_key *key, int64_t max_retention,
    const struct envelope_source *src, struct envelope_meta *meta)
{
	unsigned char head[ENVELOPE_HEADER_SIZE];
	unsigned char check[KEY_CHECK_LEN];
	enum envelope_status st;

	*out = NULL;
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

	struct envelope_opener *o = calloc(1, sizeof *o);
	if (o == NULL)
		return ENVELOPE_ERR_NOMEM;
	o->state = sodium_malloc(sizeof *o->state);
	o->plain = sodium_malloc(ENVELOPE_CHUNK_SIZE);
	o->cipher = malloc(CIPHER_CHUNK + 1);
	if (o->state == NULL || o->plain == NULL || o->cipher == NULL) {
		envelope_open_free(o);
		return ENVELOPE_ERR_NOMEM;
	}
	memcpy(o->hdr, head, ENVELOPE_META_SIZE);
	o->src = *src;
	o->first = 1;
	if (crypto_secretstream_xchacha20poly1305_init_pull(o->state,
	    head + ENVELOPE_META_SIZE, key->bytes) != 0) {
		envelope_open_free(o);
		return ENVELOPE_ERR_DAMAGED;
	}
	*out = o;
	return ENVELOPE_OK;
}

static enum envelope_status
envelope_open_next(struct envelope_opener *o, const unsigned char **out,
    size_t *len)
{
	unsigned char ad[FIRST_AD_LEN + 8];
	unsigned long long plen;
	unsigned char tag;

	*out = NULL;
	*len = 0;
	/* One byte of lookahead tells whether this chunk is the last. */
	long n = read_full(&o->src, o->cipher, o->have, CIPHER_CHUNK + 1);
	if (n < 0)
		return ENVELOPE_ERR_IO;
	o->have = (size_t)n;
	if (o->final_seen)
		return o->have == 0 ? ENVELOPE_OK : ENVELOPE_ERR_TRAILING;
	if (o->have == 0)
		return ENVELOPE_ERR_TRUNCATED;
	int last = o->have <= CIPHER_CHUNK;
	size_t clen = last ? o->have : CIPHER_CHUNK;
	if (clen < SS_ABYTES)
		return ENVELOPE_ERR_TRUNCATED;

	ss_state saved;
	memcpy(&saved, o->state, sizeof saved);
	size_t adlen = chunk_ad(o->hdr, o->first, last, ad);
	if (crypto_secretstream_xchacha20poly1305_pull(o->state, o->plain,
	    &plen, &tag, o->cipher, clen, adlen ? ad : NULL, adlen) != 0) {
		/* The object may end early: a chunk that verifies as a middle
		 * chunk means truncation rather than damage. */
		memcpy(o->state, &saved, sizeof saved);
		adlen = chunk_ad(o->hdr, o->first, 0, ad);
		int mid = last && crypto_secretstream_xchacha20poly1305_pull(
		    o->state, o->plain, &plen, &tag, o->cipher, clen,
		    adlen ? ad : NULL, adlen) == 0;
		sodium_memzero(&saved, sizeof saved);
		if (mid) {
			sodium_memzero(o->plain, (size_t)plen);
			return tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL ?
			    ENVELOPE_ERR_DAMAGED : ENVELOPE_ERR_TRUNCATED;
		}
		return ENVELOPE_ERR_DAMAGED;
	}
	sodium_memzero(&saved, sizeof saved);
	int is_final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	if (is_final && !last) {
		sodium_memzero(o->plain, (size_t)plen);
		return ENVELOPE_ERR_TRAILING;
	}
	if (!is_final && last) {
		sodium_memzero(o->plain, (size_t)plen);
		return ENVELOPE_ERR_TRUNCATED;
	}
	if (!last)
		memmove(o->cipher, o->cipher + clen, o->have - clen);
	o->have -= clen;
	o->first = 0;
	o->final_seen = is_final;
	*out = o->plain;
	*len = (size_t)plen;
	if (is_final && plen == 0) {
		/* An empty final chunk: report end of stream after checking
		 * nothing follows. */
		return envelope_open_next(o, out, len);
	}
	return ENVELOPE_OK;
}

void
envelope_plain_free(unsigned char *plain, size_t len)
{
	(void)len;
	if (plain != NULL)
		sodium_free(plain);
}

enum envelope_status
envelope_open_all(const struct message_key *key, int64_t max_retention,
    const struct envelope_source *src, size_t max_size,
    struct envelope_meta *meta, unsigned char **plain, size_t *plain_len)
{
	struct envelope_opener *o;
	enum envelope_status st;

	*plain = NULL;
	*plain_len = 0;
	st = envelope_open_begin(&o, key, max_retention, src, meta);
	if (st != ENVELOPE_OK)
		return st;
	if (meta->original_size > SIZE_MAX - 1 ||
	    (max_size != 0 && meta->original_size > max_size)) {
		envelope_open_free(o);
		return ENVELOPE_ERR_TOO_BIG;
	}
	/* The size is authenticated only with the final chunk: it bounds the
	 * buffer, and any disagreement fails below. */
	size_t cap = (size_t)meta->original_size;
	unsigned char *buf = sodium_malloc(cap ? cap : 1);
	if (buf == NULL) {
		envelope_open_free(o);
		return ENVELOPE_ERR_NOMEM;
	}
	size_t used = 0;
	for (;;) {
		const unsigned char *chunk;
		size_t n;
		st = envelope_open_next(o, &chunk, &n);
		if (st != ENVELOPE_OK)
			break;
		if (n == 0) {
			if (!o->final_seen)
				st = ENVELOPE_ERR_TRUNCATED;
			break;
		}
		if (n > cap - used) {
			st = ENVELOPE_ERR_DAMAGED;
			break;
		}
		memcpy(buf + used, chunk, n);
		used += n;
	}
	envelope_open_free(o);
	if (st == ENVELOPE_OK && used != cap)
		st = ENVELOPE_ERR_DAMAGED;
	if (st != ENVELOPE_OK) {
		sodium_free(buf);
		return st;
	}
	*plain = buf;
	*plain_len = used;
	return ENVELOPE_OK;
}
