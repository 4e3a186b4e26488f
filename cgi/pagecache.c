/* The responder's cache of sealed rendered pages (pagecache.h). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "pagecache.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

struct entry {
	char *key;                  /* "storage id/variant" */
	int64_t expires;
	unsigned char nonce[NONCE_BYTES];
	unsigned char *sealed;      /* ciphertext and tag */
	size_t sealed_len;
	struct entry *prev, *next;  /* most recently used first */
};

struct page_cache {
	GHashTable *by_key;         /* key -> entry (owns neither) */
	struct entry *head, *tail;
	size_t budget, bytes;
};

static size_t
entry_bytes(const struct entry *e)
{
	return sizeof(*e) + strlen(e->key) + 1 + e->sealed_len;
}

static void
unlink_entry(struct page_cache *pc, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		pc->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		pc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
push_front(struct page_cache *pc, struct entry *e)
{
	e->prev = NULL;
	e->next = pc->head;
	if (pc->head != NULL)
		pc->head->prev = e;
	pc->head = e;
	if (pc->tail == NULL)
		pc->tail = e;
}

static void
drop(struct page_cache *pc, struct entry *e)
{
	g_hash_table_remove(pc->by_key, e->key);
	unlink_entry(pc, e);
	pc->bytes -= entry_bytes(e);
	free(e->sealed);
	g_free(e->key);
	free(e);
}

struct page_cache *
page_cache_new(size_t budget)
{
	struct page_cache *pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return NULL;
	pc->by_key = g_hash_table_new(g_str_hash, g_str_equal);
	pc->budget = budget;
	return pc;
}

void
page_cache_free(struct page_cache *pc)
{
	if (pc == NULL)
		return;
	while (pc->head != NULL)
		drop(pc, pc->head);
	g_hash_table_destroy(pc->by_key);
	free(pc);
}

/* "STORAGEID/variant" into out; false when the variant does not fit. */
#define KEY_MAX (STORAGE_ID_HEX_LEN + 1 + 64)
static bool
make_key(char out[KEY_MAX], const struct storage_id *id, const char *variant)
{
	int n = snprintf(out, KEY_MAX, "%s/%s", id->hex, variant);
	return n > 0 && n < KEY_MAX;
}

/* The additional data: the key string and the expiry, so that an entry
 * opens only for the object, variant and expiry it was sealed for. Its
 * length. */
static size_t
additional_data(const char *key, int64_t expires,
    unsigned char ad[KEY_MAX + 8])
{
	size_t n = strlen(key);
	memcpy(ad, key, n);
	for (int i = 0; i < 8; i++)
		ad[n + (size_t)i] = (unsigned char)((uint64_t)expires >> (8 * i));
	return n + 8;
}

bool
page_cache_holds(struct page_cache *pc, const struct storage_id *id,
    const char *variant)
{
	char key[KEY_MAX];
	return make_key(key, id, variant) &&
	    g_hash_table_lookup(pc->by_key, key) != NULL;
}

bool
page_cache_get(struct page_cache *pc, const struct token *t,
    const struct storage_id *id, const char *variant, int64_t expires,
    GByteArray *out)
{
	char key[KEY_MAX];
	struct entry *e = make_key(key, id, variant) ?
	    g_hash_table_lookup(pc->by_key, key) : NULL;
	if (e == NULL)
		return false;
	if (e->expires != expires) {
		/* Kept since it was sealed: the page shows the old date. */
		drop(pc, e);
		return false;
	}
	size_t had = out->len, len = e->sealed_len - TAG_BYTES;
	if (len > G_MAXUINT - had)
		return false;
	unsigned char k[TOKEN_PAGE_CACHE_KEY_BYTES];
	unsigned char ad[KEY_MAX + 8];
	size_t adlen = additional_data(e->key, e->expires, ad);
	unsigned long long got;
	g_byte_array_set_size(out, (guint)(had + len));
	token_page_cache_key(t, k);
	int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
	    out->data + had, &got, NULL, e->sealed,
	    e->sealed_len, ad, adlen, e->nonce, k);
	sodium_memzero(k, sizeof k);
	if (rc != 0) {
		/* Not this token's page (cannot happen: the storage id comes
		 * from the token), or damaged memory: render it again. */
		g_byte_array_set_size(out, (guint)had);
		drop(pc, e);
		return false;
	}
	unlink_entry(pc, e);
	push_front(pc, e);
	return true;
}

void
page_cache_put(struct page_cache *pc, const struct token *t,
    const struct storage_id *id, const char *variant, int64_t expires,
    const char *page, size_t len)
{
	if (len > pc->budget / 4)
		return;
	char key[KEY_MAX];
	if (!make_key(key, id, variant))
		return;
	struct entry *old = g_hash_table_lookup(pc->by_key, key);
	if (old != NULL)
		drop(pc, old);
	struct entry *e = calloc(1, sizeof(*e));
	if (e == NULL || (e->sealed = malloc(len + TAG_BYTES)) == NULL) {
		free(e);
		return;
	}
	e->key = g_strdup(key);         /* aborts rather than fail */
	e->expires = expires;
	e->sealed_len = len + TAG_BYTES;
	randombytes_buf(e->nonce, sizeof e->nonce);
	unsigned char k[TOKEN_PAGE_CACHE_KEY_BYTES];
	unsigned char ad[KEY_MAX + 8];
	size_t adlen = additional_data(e->key, expires, ad);
	token_page_cache_key(t, k);
	crypto_aead_xchacha20poly1305_ietf_encrypt(e->sealed, NULL,
	    (const unsigned char *)page, len, ad, adlen, NULL, e->nonce, k);
	sodium_memzero(k, sizeof k);
	while (pc->tail != NULL && pc->bytes + entry_bytes(e) > pc->budget)
		drop(pc, pc->tail);
	g_hash_table_insert(pc->by_key, e->key, e);
	push_front(pc, e);
	pc->bytes += entry_bytes(e);
}

void
page_cache_usage(const struct page_cache *pc, size_t *entries, size_t *bytes)
{
	*entries = g_hash_table_size(pc->by_key);
	*bytes = pc->bytes;
}
