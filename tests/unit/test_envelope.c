/* Store format v1: round trips, every byte flip, truncation, retention. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "envelope.h"
#include "token.h"
#include "tests/lib/check_main.h"

struct membuf {
	unsigned char *data;
	size_t len, cap, pos;
};

static int
mem_write(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->data = realloc(m->data, m->cap);
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

static int
mem_write_at(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (off + len > m->len)
		return -1;
	memcpy(m->data + off, buf, len);
	return 0;
}

static long
mem_read(void *ctx, void *buf, size_t len)
{
	struct membuf *m = ctx;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	/* Short reads on purpose: the opener must not depend on read sizes. */
	if (n > 7000)
		n = 7000;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (long)n;
}

#define CREATED 1700000000
#define EXPIRES (CREATED + 30 * 86400)
#define RETENTION (90 * 86400)

static struct token *tok;
static struct message_key *key;

static void
setup(void)
{
	ck_assert_int_eq(token_init(), 0);
	tok = token_new();
	key = token_message_key(tok);
}

static void
teardown(void)
{
	message_key_free(key);
	token_free(tok);
}

static struct membuf
seal(const unsigned char *msg, size_t len, size_t step)
{
	struct membuf m = {0};
	struct envelope_sealer *s;
	struct envelope_sink sink = { mem_write, mem_write_at, &m };
	ck_assert_int_eq(envelope_seal_begin(&s, key, CREATED, EXPIRES, &sink),
	    ENVELOPE_OK);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		ck_assert_int_eq(envelope_seal_write(s, msg + off, n), ENVELOPE_OK);
	}
	ck_assert_int_eq(envelope_seal_finish(s), ENVELOPE_OK);
	return m;
}

static enum envelope_status
open_mem(struct membuf *m, const struct message_key *k, unsigned char **out,
    size_t *outlen)
{
	struct envelope_meta meta;
	struct envelope_source src = { mem_read, m };
	m->pos = 0;
	return envelope_open_all(k, RETENTION, &src, 0, &meta, out, outlen);
}

static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 10 * 1024 * 1024 };

START_TEST(round_trip)
{
	size_t len = sizes[_i];
	unsigned char *msg = malloc(len ? len : 1);
	randombytes_buf(msg, len);
	struct membuf m = seal(msg, len, 4099);
	unsigned char *out;
	size_t outlen;
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen), ENVELOPE_OK);
	ck_assert_uint_eq(outlen, len);
	ck_assert(memcmp(out, msg, len) == 0);
	struct envelope_meta meta;
	ck_assert_int_eq(envelope_parse_meta(m.data, m.len, &meta), ENVELOPE_OK);
	ck_assert_uint_eq(meta.original_size, len);
	ck_assert_int_eq(meta.created, CREATED);
	ck_assert_int_eq(meta.expires, EXPIRES);
	/* No plaintext in the sealed bytes (for a message long enough to
	 * find by chance: 16 bytes). */
	if (len >= 16)
		ck_assert(memmem(m.data, m.len, msg, 16) == NULL);
	envelope_plain_free(out, outlen);
	free(m.data);
	free(msg);
}
END_TEST

START_TEST(every_byte_flip_fails)
{
	/* Every byte of a small object (one chunk, first and final), and
	 * every 61st byte of a two-chunk one. */
	size_t len = _i == 0 ? 300 : 65536 + 100;
	size_t stride = _i == 0 ? 1 : 61;
	unsigned char *msg = malloc(len);
	randombytes_buf(msg, len);
	struct membuf m = seal(msg, len, len);
	for (size_t i = 0; i < m.len; i += stride) {
		if (i >= ENVELOPE_EXPIRES_OFFSET && i < ENVELOPE_EXPIRES_OFFSET + 8)
			continue;   /* mutable: tested below */
		unsigned char *out = NULL;
		size_t outlen;
		m.data[i] ^= 0x01;
		enum envelope_status st = open_mem(&m, key, &out, &outlen);
		m.data[i] ^= 0x01;
		ck_assert_msg(st != ENVELOPE_OK, "flip at %zu opened", i);
		ck_assert(out == NULL);
	}
	free(m.data);
	free(msg);
}
END_TEST

START_TEST(expires_is_mutable_but_capped)
{
	const unsigned char msg[] = "Subject: hi\r\n\r\nbody\r\n";
	struct membuf m = seal(msg, sizeof msg - 1, 5);
	unsigned char *out;
	size_t outlen;
	envelope_encode_expires(CREATED + 60 * 86400,
	    m.data + ENVELOPE_EXPIRES_OFFSET);
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen), ENVELOPE_OK);
	envelope_plain_free(out, outlen);
	envelope_encode_expires(CREATED + RETENTION + 1,
	    m.data + ENVELOPE_EXPIRES_OFFSET);
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen),
	    ENVELOPE_ERR_RETENTION);
	free(m.data);
}
END_TEST

START_TEST(truncation_fails)
{
	size_t len = 3 * 65536 + 10;
	unsigned char *msg = malloc(len);
	randombytes_buf(msg, len);
	struct membuf m = seal(msg, len, 65536);
	size_t full = m.len;
	size_t cchunk = 65536 + crypto_secretstream_xchacha20poly1305_ABYTES;
	size_t cuts[] = { 0, 7, 55, 79, ENVELOPE_HEADER_SIZE,
	    ENVELOPE_HEADER_SIZE + cchunk, ENVELOPE_HEADER_SIZE + 2 * cchunk,
	    ENVELOPE_HEADER_SIZE + 3 * cchunk, ENVELOPE_HEADER_SIZE + 100,
	    ENVELOPE_HEADER_SIZE + cchunk + 30000, full - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		unsigned char *out = NULL;
		size_t outlen;
		m.len = cuts[i];
		enum envelope_status st = open_mem(&m, key, &out, &outlen);
		ck_assert_msg(st != ENVELOPE_OK, "cut at %zu opened", cuts[i]);
		ck_assert(out == NULL);
	}
	/* At a chunk boundary the error says what happened. */
	m.len = ENVELOPE_HEADER_SIZE + 2 * cchunk;
	unsigned char *out;
	size_t outlen;
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen), ENVELOPE_ERR_TRUNCATED);
	m.len = full;
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen), ENVELOPE_OK);
	envelope_plain_free(out, outlen);
	/* Anything after the final chunk is refused too. */
	mem_write(&m, "x", 1);
	ck_assert_int_ne(open_mem(&m, key, &out, &outlen), ENVELOPE_OK);
	free(m.data);
	free(msg);
}
END_TEST

START_TEST(wrong_key_magic_version)
{
	const unsigned char msg[] = "hello";
	struct membuf m = seal(msg, 5, 5);
	unsigned char *out;
	size_t outlen;
	struct token *other = token_new();
	struct message_key *k2 = token_message_key(other);
	ck_assert_int_eq(open_mem(&m, k2, &out, &outlen), ENVELOPE_ERR_WRONG_KEY);
	message_key_free(k2);
	token_free(other);
	m.data[8] = 2;
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen), ENVELOPE_ERR_VERSION);
	m.data[8] = 1;
	m.data[0] = 'X';
	ck_assert_int_eq(open_mem(&m, key, &out, &outlen), ENVELOPE_ERR_MAGIC);
	ck_assert_str_ne(envelope_strerror(ENVELOPE_ERR_MAGIC),
	    envelope_strerror(ENVELOPE_ERR_VERSION));
	free(m.data);
}
END_TEST

/* Counts the sink's calls on top of a membuf. */
struct counting {
	struct membuf m;
	int writes, writes_at;
	size_t first_len;
};

static int
count_write(void *ctx, const void *buf, size_t len)
{
	struct counting *c = ctx;
	if (c->writes++ == 0)
		c->first_len = len;
	return mem_write(&c->m, buf, len);
}

static int
count_write_at(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct counting *c = ctx;
	c->writes_at++;
	return mem_write_at(&c->m, off, buf, len);
}

/* The header travels with the first chunk: a one-chunk message is a single
 * write of header and ciphertext with its size already in place (no
 * write_at); a longer one writes one chunk per call and patches the size
 * once at the end. Both open to what was sealed. */
START_TEST(header_goes_with_first_chunk)
{
	const size_t lens[] = { 0, 10 * 1024, ENVELOPE_CHUNK_SIZE,
	    3 * ENVELOPE_CHUNK_SIZE + 3392 };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t len = lens[i];
		unsigned char *msg = malloc(len + 1);
		randombytes_buf(msg, len);
		struct counting c = {0};
		struct envelope_sealer *s;
		struct envelope_sink sink = { count_write, count_write_at, &c };
		ck_assert_int_eq(envelope_seal_begin(&s, key, CREATED, EXPIRES,
		    &sink), ENVELOPE_OK);
		ck_assert_int_eq(c.writes, 0);
		ck_assert_int_eq(envelope_seal_write(s, msg, len), ENVELOPE_OK);
		ck_assert_int_eq(envelope_seal_finish(s), ENVELOPE_OK);
		size_t chunks = len == 0 ? 1 :
		    (len + ENVELOPE_CHUNK_SIZE - 1) / ENVELOPE_CHUNK_SIZE;
		ck_assert_int_eq(c.writes, (int)chunks);
		ck_assert_int_eq(c.writes_at, chunks == 1 ? 0 : 1);
		ck_assert_uint_eq(c.first_len, ENVELOPE_HEADER_SIZE +
		    (chunks == 1 ? len : ENVELOPE_CHUNK_SIZE) + 17);
		ck_assert_uint_eq(c.m.len, ENVELOPE_HEADER_SIZE + len + 17 * chunks);
		unsigned char *out;
		size_t outlen;
		ck_assert_int_eq(open_mem(&c.m, key, &out, &outlen), ENVELOPE_OK);
		ck_assert_uint_eq(outlen, len);
		ck_assert(len == 0 || memcmp(out, msg, len) == 0);
		envelope_plain_free(out, outlen);
		free(c.m.data);
		free(msg);
	}
}
END_TEST

/* Sealers reuse pooled buffers: many alive at once (more than the pool
 * keeps), some aborted half-way, then more sealed after them; every one
 * opens to exactly its own message. */
START_TEST(pooled_buffers_reused_cleanly)
{
	enum { N = 12 };
	struct envelope_sealer *s[N];
	struct membuf m[N];
	unsigned char *msg[N];
	size_t len[N];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			len[i] = (size_t)(i * 37 + round) * 1000 + (size_t)i;
			msg[i] = malloc(len[i] + 1);
			randombytes_buf(msg[i], len[i]);
			memset(&m[i], 0, sizeof m[i]);
			struct envelope_sink sink = { mem_write, mem_write_at, &m[i] };
			ck_assert_int_eq(envelope_seal_begin(&s[i], key, CREATED,
			    EXPIRES, &sink), ENVELOPE_OK);
		}
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(envelope_seal_write(s[i], msg[i], len[i]),
			    ENVELOPE_OK);
		for (int i = 0; i < N; i++) {
			if (i % 3 == 1) {
				envelope_seal_abort(s[i]);
				continue;
			}
			ck_assert_int_eq(envelope_seal_finish(s[i]), ENVELOPE_OK);
		}
		for (int i = 0; i < N; i++) {
			if (i % 3 != 1) {
				unsigned char *out;
				size_t outlen;
				ck_assert_int_eq(open_mem(&m[i], key, &out, &outlen),
				    ENVELOPE_OK);
				ck_assert_uint_eq(outlen, len[i]);
				ck_assert(outlen == 0 || memcmp(out, msg[i], outlen) == 0);
				envelope_plain_free(out, outlen);
			}
			free(m[i].data);
			free(msg[i]);
		}
	}
}
END_TEST

static void *
seal_open_loop(void *arg)
{
	long *bad = arg;
	for (int i = 0; i < 40; i++) {
		size_t len = (size_t)(i % 5) * 30000 + (size_t)i;
		unsigned char *msg = malloc(len + 1);
		randombytes_buf(msg, len);
		struct membuf m = {0};
		struct envelope_sealer *s;
		struct envelope_sink sink = { mem_write, mem_write_at, &m };
		unsigned char *out = NULL;
		size_t outlen = 0;
		if (envelope_seal_begin(&s, key, CREATED, EXPIRES, &sink) ||
		    envelope_seal_write(s, msg, len) ||
		    envelope_seal_finish(s) ||
		    open_mem(&m, key, &out, &outlen) || outlen != len ||
		    (len > 0 && memcmp(out, msg, len) != 0))
			(*bad)++;
		envelope_plain_free(out, outlen);
		free(m.data);
		free(msg);
	}
	return NULL;
}

/* The pool is shared by threads (the milter seals one message per
 * connection thread). */
START_TEST(threads_seal_at_once)
{
	pthread_t th[4];
	long bad[4] = {0};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, seal_open_loop,
		    &bad[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(bad[i], 0);
	}
}
END_TEST

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static enum envelope_status
reader_open_mem(struct envelope_reader *r, struct membuf *m,
    const unsigned char **out, size_t *outlen)
{
	struct envelope_meta meta;
	struct envelope_source src = { mem_read, m };
	m->pos = 0;
	return envelope_reader_open(r, key, RETENTION, &src, 0, &meta, out,
	    outlen);
}

/* A reader kept from one message to the next (the FastCGI responder):
 * each message comes out whole and exact whatever came before it, and
 * what it leaves (done, a failed open, the next open) is wiped. Reading the
 * kept buffer after done is white-box: it is still mapped (under
 * keep_max), and must hold zeros. */
START_TEST(reader_reuses_and_wipes)
{
	size_t la = 100000, lc = 300000;
	unsigned char *a = malloc(la), *c = malloc(lc);
	const unsigned char b[] = "small message";
	randombytes_buf(a, la);
	randombytes_buf(c, lc);
	struct membuf ma = seal(a, la, 4099), mb = seal(b, sizeof b - 1, 3);
	struct membuf mc = seal(c, lc, 65536);
	struct envelope_reader *r = envelope_reader_new(1 << 20);
	const unsigned char *pa, *pb, *pc;
	size_t na, nb, nc;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(reader_open_mem(r, &ma, &pa, &na), ENVELOPE_OK);
	ck_assert_uint_eq(na, la);
	ck_assert(memcmp(pa, a, la) == 0);
	envelope_reader_done(r);
	ck_assert(all_zero(pa, la));

	ck_assert_int_eq(reader_open_mem(r, &mb, &pb, &nb), ENVELOPE_OK);
	ck_assert_uint_eq(nb, sizeof b - 1);
	ck_assert(memcmp(pb, b, nb) == 0);
	ck_assert_ptr_eq(pb, pa);             /* the same memory, kept */
	ck_assert(all_zero(pb + nb, la - nb)); /* nothing left of a */

	/* The next open wipes the last message even without done, and a
	 * failed open (damage in the second chunk, after the first was
	 * decrypted into the buffer) hands out nothing and leaves nothing. */
	ma.data[ENVELOPE_HEADER_SIZE + 70000] ^= 1;
	ck_assert_int_eq(reader_open_mem(r, &ma, &pc, &nc),
	    ENVELOPE_ERR_DAMAGED);
	ck_assert_ptr_null(pc);
	ck_assert_uint_eq(nc, 0);
	ck_assert(all_zero(pb, la));
	ma.data[ENVELOPE_HEADER_SIZE + 70000] ^= 1;

	/* Larger than anything before: the buffer grows. */
	ck_assert_int_eq(reader_open_mem(r, &mc, &pc, &nc), ENVELOPE_OK);
	ck_assert_uint_eq(nc, lc);
	ck_assert(memcmp(pc, c, lc) == 0);
	envelope_reader_done(r);
	ck_assert(all_zero(pc, lc));
	envelope_reader_free(r);

	/* keep_max 0: every buffer is freed by done, opens still exact. */
	r = envelope_reader_new(0);
	ck_assert_int_eq(reader_open_mem(r, &ma, &pa, &na), ENVELOPE_OK);
	ck_assert(na == la && memcmp(pa, a, la) == 0);
	envelope_reader_done(r);
	ck_assert_int_eq(reader_open_mem(r, &mb, &pb, &nb), ENVELOPE_OK);
	ck_assert(nb == sizeof b - 1 && memcmp(pb, b, nb) == 0);
	envelope_reader_free(r);
	free(ma.data);
	free(mb.data);
	free(mc.data);
	free(a);
	free(c);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, round_trip, 0, sizeof sizes / sizeof sizes[0]);
	tcase_add_loop_test(tc, every_byte_flip_fails, 0, 2);
	tcase_add_test(tc, expires_is_mutable_but_capped);
	tcase_add_test(tc, truncation_fails);
	tcase_add_test(tc, wrong_key_magic_version);
	tcase_add_test(tc, header_goes_with_first_chunk);
	tcase_add_test(tc, pooled_buffers_reused_cleanly);
	tcase_add_test(tc, threads_seal_at_once);
	tcase_add_test(tc, reader_reuses_and_wipes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(envelope_suite());
}
