/* Tokens: strict decoding, uniqueness, derivation. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "token.h"
#include "tests/lib/check_main.h"

static void
setup(void)
{
	ck_assert_int_eq(token_init(), 0);
}

START_TEST(encode_decode_round_trip)
{
	for (int i = 0; i < 1000; i++) {
		struct token *t = token_new();
		char text[TOKEN_TEXT_LEN + 1];
		token_encode(t, text);
		ck_assert_uint_eq(strlen(text), TOKEN_TEXT_LEN);
		struct token *u = token_decode(text, strlen(text));
		ck_assert_ptr_nonnull(u);
		ck_assert(memcmp(t->bytes, u->bytes, TOKEN_BYTES) == 0);
		token_free(t);
		token_free(u);
	}
}
END_TEST

START_TEST(decode_rejects_malformed)
{
	struct token *t = token_new();
	char good[TOKEN_TEXT_LEN + 2];
	token_encode(t, good);
	token_free(t);
	char buf[64];

	ck_assert_ptr_null(token_decode(good, 42));
	memcpy(buf, good, 43);
	buf[43] = 'A';
	ck_assert_ptr_null(token_decode(buf, 44));
	ck_assert_ptr_null(token_decode("", 0));
	ck_assert_ptr_null(token_decode(NULL, 43));
	const char bad[] = { '+', '/', '=', '\0', ' ', '\n', '.', '%', (char)0xc3,
	    (char)0x80, (char)0xff };
	for (size_t pos = 0; pos < 43; pos += 6) {
		for (size_t b = 0; b < sizeof bad; b++) {
			memcpy(buf, good, 43);
			buf[pos] = bad[b];
			ck_assert_msg(token_decode(buf, 43) == NULL,
			    "byte %02x at %zu accepted", (unsigned char)bad[b], pos);
		}
	}
	/* Non-canonical: the last character's two padding bits set. */
	memcpy(buf, good, 43);
	buf[42] = 'B';   /* value 1: a padding bit */
	ck_assert_ptr_null(token_decode(buf, 43));
}
END_TEST

START_TEST(no_collisions_in_100000_draws)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, NULL);
	for (int i = 0; i < 100000; i++) {
		struct token *t = token_new();
		char text[TOKEN_TEXT_LEN + 1];
		token_encode(t, text);
		token_free(t);
		ck_assert(g_hash_table_add(seen, g_strdup(text)));
	}
	ck_assert_uint_eq(g_hash_table_size(seen), 100000);
	g_hash_table_destroy(seen);
}
END_TEST

START_TEST(derivation)
{
	struct token *a = token_new(), *b = token_new();
	struct storage_id ia, ia2, ib;
	token_storage_id(a, &ia);
	token_storage_id(a, &ia2);
	token_storage_id(b, &ib);
	ck_assert_str_eq(ia.hex, ia2.hex);
	ck_assert_str_ne(ia.hex, ib.hex);
	ck_assert_uint_eq(strlen(ia.hex), STORAGE_ID_HEX_LEN);
	struct storage_id parsed;
	ck_assert_int_eq(storage_id_parse(ia.hex, &parsed), 0);
	ck_assert_int_eq(storage_id_parse("ABCDEF0123456789abcdef0123456789", &parsed), -1);
	ck_assert_int_eq(storage_id_parse("abc", &parsed), -1);
	struct message_key *ka = token_message_key(a), *kb = token_message_key(b);
	ck_assert(memcmp(ka->bytes, kb->bytes, MESSAGE_KEY_BYTES) != 0);
	/* The key is not the token, and the id is not a prefix of the key. */
	ck_assert(memcmp(ka->bytes, a->bytes, TOKEN_BYTES) != 0);
	char keyhex[2 * MESSAGE_KEY_BYTES + 1];
	sodium_bin2hex(keyhex, sizeof keyhex, ka->bytes, MESSAGE_KEY_BYTES);
	ck_assert(strstr(keyhex, ia.hex) == NULL);
	message_key_free(ka);
	message_key_free(kb);
	token_free(a);
	token_free(b);
}
END_TEST

START_TEST(from_link)
{
	struct token *t = token_new();
	char text[TOKEN_TEXT_LEN + 1], link[200];
	token_encode(t, text);
	const char *forms[][2] = { { "https://mail.example.com/m/", "" },
	    { "https://mail.example.com/m/", "/eml" }, { "/pull/m/", "/part/2" },
	    { "", "" }, { "http://127.0.0.1:8080/m/", "?x=1" } };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		snprintf(link, sizeof link, "%s%s%s", forms[i][0], text,
		    forms[i][1]);
		struct token *u = token_from_link(link);
		ck_assert_msg(u != NULL, "%s", link);
		ck_assert(memcmp(u->bytes, t->bytes, TOKEN_BYTES) == 0);
		token_free(u);
	}
	ck_assert_ptr_null(token_from_link("https://mail.example.com/m/short"));
	ck_assert_ptr_null(token_from_link(""));
	token_free(t);
}
END_TEST

/* Tokens and keys share a slab of fixed slots with a fallback to
 * sodium_malloc: more secrets alive at once than it holds, freed in an
 * interleaved order, must stay distinct and intact, and derivation must not
 * depend on where a secret lives. */
START_TEST(many_secrets_alive)
{
	enum { N = 300 };
	struct token *t[N];
	struct message_key *k[N];
	unsigned char copy[N][TOKEN_BYTES];

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			t[i] = token_new();
			k[i] = token_message_key(t[i]);
			ck_assert_ptr_nonnull(t[i]);
			ck_assert_ptr_nonnull(k[i]);
			memcpy(copy[i], t[i]->bytes, TOKEN_BYTES);
		}
		for (int i = 0; i < N; i++) {
			ck_assert(memcmp(t[i]->bytes, copy[i], TOKEN_BYTES) == 0);
			struct message_key *again = token_message_key(t[i]);
			ck_assert(memcmp(again->bytes, k[i]->bytes,
			    sizeof again->bytes) == 0);
			message_key_free(again);
			for (int j = 0; j < i; j++) {
				ck_assert_ptr_ne(t[i], t[j]);
				ck_assert(memcmp(copy[i], copy[j], TOKEN_BYTES) != 0);
			}
		}
		/* Every other one first, then the rest. */
		for (int i = 0; i < N; i += 2) {
			token_free(t[i]);
			message_key_free(k[i]);
		}
		for (int i = 1; i < N; i += 2) {
			ck_assert(memcmp(t[i]->bytes, copy[i], TOKEN_BYTES) == 0);
			token_free(t[i]);
			message_key_free(k[i]);
		}
	}
}
END_TEST

/* Threads drawing and freeing at once never share a secret: a token's
 * bytes do not change while it is alive. */
static void *
draw_many(void *arg)
{
	long *bad = arg;
	for (int i = 0; i < 20000; i++) {
		struct token *a = token_new(), *b = token_new();
		unsigned char ca[TOKEN_BYTES], cb[TOKEN_BYTES];
		memcpy(ca, a->bytes, TOKEN_BYTES);
		memcpy(cb, b->bytes, TOKEN_BYTES);
		struct message_key *k = token_message_key(a);
		message_key_free(k);
		int same = a == b;
		token_free(b);
		if (memcmp(a->bytes, ca, TOKEN_BYTES) != 0 || same ||
		    memcmp(ca, cb, TOKEN_BYTES) == 0)
			(*bad)++;
		token_free(a);
	}
	return NULL;
}

START_TEST(threads_never_share_a_secret)
{
	pthread_t th[4];
	long bad[4] = {0};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, draw_many, &bad[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(bad[i], 0);
	}
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("token", "core", &tc);

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, encode_decode_round_trip);
	tcase_add_test(tc, decode_rejects_malformed);
	tcase_add_test(tc, no_collisions_in_100000_draws);
	tcase_add_test(tc, derivation);
	tcase_add_test(tc, from_link);
	tcase_add_test(tc, many_secrets_alive);
	tcase_add_test(tc, threads_never_share_a_secret);
	return check_run(s);
}
