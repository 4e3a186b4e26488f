/* libFuzzer: arbitrary bytes opened as a store object with a fixed key never
 * crash and never yield plaintext unless they authenticate. The first
 * byte chooses whether the input is used as is or spliced after a valid
 * header and secretstream header (so the fuzzer reaches the chunk code). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "envelope.h"

struct src {
	const uint8_t *p;
	size_t n, pos;
};

static long
src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->n - s->pos;
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

static unsigned char valid[4096];
static size_t valid_len;

static int
mem_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	if (valid_len + len > sizeof valid)
		return -1;
	memcpy(valid + valid_len, buf, len);
	valid_len += len;
	return 0;
}

static int
mem_write_at(void *ctx, uint64_t off, const void *buf, size_t len)
{
	(void)ctx;
	memcpy(valid + off, buf, len);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct message_key *key;
	if (key == NULL) {
		if (sodium_init() < 0)
			abort();
		key = sodium_malloc(sizeof *key);
		memset(key->bytes, 7, sizeof key->bytes);
		struct envelope_sealer *s;
		struct envelope_sink sink = { mem_write, mem_write_at, NULL };
		if (envelope_seal_begin(&s, key, 1000, 2000, &sink) != ENVELOPE_OK ||
		    envelope_seal_write(s, "hello", 5) != ENVELOPE_OK ||
		    envelope_seal_finish(s) != ENVELOPE_OK)
			abort();
	}
	uint8_t *buf = NULL;
	struct src src = { data, size, 0 };
	if (size > 0 && (data[0] & 1)) {
		buf = malloc(ENVELOPE_HEADER_SIZE + size);
		memcpy(buf, valid, ENVELOPE_HEADER_SIZE);
		memcpy(buf + ENVELOPE_HEADER_SIZE, data + 1, size - 1);
		src.p = buf;
		src.n = ENVELOPE_HEADER_SIZE + size - 1;
	}
	struct envelope_meta meta;
	struct envelope_source es = { src_read, &src };
	unsigned char *plain;
	size_t len;
	enum envelope_status st = envelope_open_all(key, 86400 * 90, &es,
	    1 << 20, &meta, &plain, &len);
	if (st == ENVELOPE_OK) {
		/* Only the genuine object can authenticate. */
		if (len != 5 || memcmp(plain, "hello", 5) != 0)
			abort();
		envelope_plain_free(plain, len);
	} else if (plain != NULL) {
		abort();
	}
	envelope_parse_meta(src.p, src.n, &meta);
	free(buf);
	return 0;
}
