/* Helper of the web integration tests, linked with libpullmail: seals a
 * file into the configured store as the milter would and prints the token.
 *   seal-fixture CONFIG FILE [live|expired|revoked]
 * live expires in 30 days; expired expired a second ago; revoked is sealed
 * then revoked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "sealed.h"
#include "store.h"
#include "token.h"

int
main(int argc, char **argv)
{
	char *err = NULL;
	const char *mode = argc > 3 ? argv[3] : "live";
	int64_t now = (int64_t)time(NULL);

	if (argc < 3 || token_init() != 0) {
		fprintf(stderr, "usage: seal-fixture CONFIG FILE [live|expired|revoked]\n");
		return 2;
	}
	struct config *cfg = config_load(argv[1], &err);
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	if (st == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	FILE *f = fopen(argv[2], "rb");
	if (f == NULL) {
		perror(argv[2]);
		return 1;
	}
	struct sealed_writer *w;
	struct token *t;
	struct storage_id id;
	int64_t created = strcmp(mode, "expired") == 0 ? now - 86400 : now;
	int64_t expires = strcmp(mode, "expired") == 0 ? now - 1 : now + 30 * 86400;
	if (sealed_create(st, created, expires, &w, &t, &id) != SEALED_OK) {
		fprintf(stderr, "sealed_create failed\n");
		return 1;
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sealed_write(w, buf, n) != SEALED_OK) {
			sealed_abort(w);
			fprintf(stderr, "sealed_write failed\n");
			return 1;
		}
	fclose(f);
	if (sealed_commit(w) != SEALED_OK) {
		fprintf(stderr, "sealed_commit failed\n");
		return 1;
	}
	if (strcmp(mode, "revoked") == 0 &&
	    sealed_revoke(st, &id, now) != SEALED_OK) {
		fprintf(stderr, "sealed_revoke failed\n");
		return 1;
	}
	char text[TOKEN_TEXT_LEN + 1];
	token_encode(t, text);
	printf("%s %s\n", text, id.hex);
	token_free(t);
	store_close(st);
	config_unref(cfg);
	return 0;
}
