/* Tokens, storage ids and message keys (doc/ARCHITECTURE.md: the link, the
 * token and the keys). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sodium.h>
#include "token.h"

#define KDF_CONTEXT "pullmail"
#define KDF_ID_STORAGE 1
#define KDF_ID_MESSAGE_KEY 2
#define KDF_ID_PAGE_CACHE 3

/* Tokens and message keys come from one sodium_malloc slab of fixed
 * 32-byte slots rather than a sodium_malloc each: that call maps four pages,
 * changes their protection and locks one, and its free undoes it all, which
 * costs more than the rest of sealing a small message. The slab is locked,
 * kept out of core dumps and guarded at both ends like any sodium_malloc
 * region; what it gives up is a guard page between two secrets, which
 * protects variable-length buffers: these are fixed-size and written only
 * by code that writes exactly their size. A slot is wiped when freed. When
 * every slot is taken (more secrets alive at once than SECRET_SLOTS), or the
 * slab cannot be had, secrets fall back to sodium_malloc. Shared by threads
 * (the milter), hence the lock. */
#define SECRET_SIZE 32
#define SECRET_SLOTS 128
#define SLOT_WORDS (SECRET_SLOTS / 64)

_Static_assert(sizeof(struct token) == SECRET_SIZE, "token slot size");
_Static_assert(sizeof(struct message_key) == SECRET_SIZE, "key slot size");

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *slab;                /* set once, never freed */
static uint64_t slab_free[SLOT_WORDS];     /* set bit: free slot */
static int slab_failed;

static void *
secret_alloc(void)
{
	void *p = NULL;

	pthread_mutex_lock(&slab_lock);
	if (slab == NULL && !slab_failed) {
		unsigned char *s = sodium_malloc(SECRET_SLOTS * SECRET_SIZE);
		if (s == NULL) {
			slab_failed = 1;
		} else {
			for (int i = 0; i < SLOT_WORDS; i++)
				slab_free[i] = UINT64_MAX;
			__atomic_store_n(&slab, s, __ATOMIC_RELEASE);
		}
	}
	for (int i = 0; slab != NULL && i < SLOT_WORDS; i++) {
		if (slab_free[i] == 0)
			continue;
		int bit = __builtin_ctzll(slab_free[i]);
		slab_free[i] &= ~((uint64_t)1 << bit);
		p = slab + ((size_t)i * 64 + (size_t)bit) * SECRET_SIZE;
		break;
	}
	pthread_mutex_unlock(&slab_lock);
	return p != NULL ? p : sodium_malloc(SECRET_SIZE);
}

static void
secret_free(void *p)
{
	unsigned char *s = __atomic_load_n(&slab, __ATOMIC_ACQUIRE);
	unsigned char *c = p;

	if (p == NULL)
		return;
	if (s == NULL || c < s || c >= s + SECRET_SLOTS * SECRET_SIZE) {
		sodium_free(p);
		return;
	}
	size_t slot = (size_t)(c - s) / SECRET_SIZE;
	sodium_memzero(p, SECRET_SIZE);
	pthread_mutex_lock(&slab_lock);
	slab_free[slot / 64] |= (uint64_t)1 << (slot % 64);
	pthread_mutex_unlock(&slab_lock);
}

int
token_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

struct token *
token_new(void)
{
	struct token *t = secret_alloc();
	if (t == NULL)
		return NULL;
	randombytes_buf(t->bytes, sizeof t->bytes);
	return t;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Hand-written rather than sodium_base642bin so that every rule is explicit:
 * exactly 43 characters of the URL-safe alphabet and zero padding bits in the
 * last one (one canonical text per token). */
int
token_decode_into(const char *text, size_t len, struct token *t)
{
	if (text == NULL || len != TOKEN_TEXT_LEN)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (b64url_value((unsigned char)text[i]) < 0)
			return -1;
	/* 43 chars = 258 bits: the last character carries 2 padding bits. */
	if (b64url_value((unsigned char)text[42]) & 0x3)
		return -1;

	uint32_t acc = 0;
	int bits = 0;
	size_t out = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 6) | (uint32_t)b64url_value((unsigned char)text[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out < TOKEN_BYTES)
				t->bytes[out++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (out != TOKEN_BYTES) {
		sodium_memzero(t, sizeof *t);
		return -1;
	}
	return 0;
}

struct token *
token_decode(const char *text, size_t len)
{
	struct token *t = secret_alloc();
	if (t == NULL)
		return NULL;
	if (token_decode_into(text, len, t) != 0) {
		token_free(t);
		return NULL;
	}
	return t;
}

void
token_encode(const struct token *t, char out[TOKEN_TEXT_LEN + 1])
{
	sodium_bin2base64(out, TOKEN_TEXT_LEN + 1, t->bytes, TOKEN_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
token_free(struct token *t)
{
	secret_free(t);
}

void
token_storage_id(const struct token *t, struct storage_id *id)
{
	unsigned char raw[STORAGE_ID_BYTES];

	crypto_kdf_derive_from_key(raw, sizeof raw, KDF_ID_STORAGE,
	    KDF_CONTEXT, t->bytes);
	sodium_bin2hex(id->hex, sizeof id->hex, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

void
token_message_key_into(const struct token *t, struct message_key *k)
{
	crypto_kdf_derive_from_key(k->bytes, sizeof k->bytes,
	    KDF_ID_MESSAGE_KEY, KDF_CONTEXT, t->bytes);
}

void
token_page_cache_key(const struct token *t,
    unsigned char k[TOKEN_PAGE_CACHE_KEY_BYTES])
{
	crypto_kdf_derive_from_key(k, TOKEN_PAGE_CACHE_KEY_BYTES,
	    KDF_ID_PAGE_CACHE, KDF_CONTEXT, t->bytes);
}

struct message_key *
token_message_key(const struct token *t)
{
	struct message_key *k = secret_alloc();
	if (k == NULL)
		return NULL;
	token_message_key_into(t, k);
	return k;
}

void
message_key_free(struct message_key *k)
{
	secret_free(k);
}

int
storage_id_parse(const char *hex, struct storage_id *id)
{
	if (hex == NULL || strlen(hex) != STORAGE_ID_HEX_LEN)
		return -1;
	for (size_t i = 0; i < STORAGE_ID_HEX_LEN; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	memcpy(id->hex, hex, STORAGE_ID_HEX_LEN + 1);
	return 0;
}

struct token *
token_from_link(const char *link)
{
	if (link == NULL)
		return NULL;
	/* Ignore a query or fragment; then try each path segment. */
	size_t end = strcspn(link, "?#");
	const char *p = link;
	while (p < link + end) {
		size_t seg = strcspn(p, "/");
		if (p + seg > link + end)
			seg = (size_t)(link + end - p);
		if (seg == TOKEN_TEXT_LEN) {
			struct token *t = token_decode(p, seg);
			if (t != NULL)
				return t;
		}
		p += seg;
		if (*p == '/')
			p++;
		else
			break;
	}
	return NULL;
}
