/* libFuzzer: token decoding and link parsing never crash, and whatever
 * decodes re-encodes to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "token.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (token_init() != 0)
			abort();
		ready = 1;
	}
	struct token *t = token_decode((const char *)data, size);
	if (t != NULL) {
		char text[TOKEN_TEXT_LEN + 1];
		token_encode(t, text);
		if (size != TOKEN_TEXT_LEN || memcmp(text, data, size) != 0)
			abort();   /* two texts for one token */
		token_free(t);
	}
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	token_free(token_from_link(s));
	free(s);
	return 0;
}
