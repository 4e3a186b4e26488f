/* Helper of test_milter_postfix.sh, linked with libpullmail:
 *   it_tool open CONFIG LINK OUT   writes the original the link opens
 *   it_tool gmime FILE             parses a delivered summary with GMime and
 *                                  prints "TYPE n_parts sub1 sub2 url"; exit 1
 *                                  if it is not the expected structure */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

#include "config.h"
#include "sealed.h"
#include "store.h"
#include "token.h"

static int
open_object(const char *conf, const char *link, const char *out)
{
	char *err = NULL;
	struct config *cfg = config_load(conf, &err);
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct store *st = store_open(cfg, STORE_READ_ONLY, &err);
	if (st == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct token *t = token_from_link(link);
	if (t == NULL) {
		fprintf(stderr, "no token in the link\n");
		return 1;
	}
	struct envelope_meta meta;
	unsigned char *plain;
	size_t len;
	enum envelope_status detail;
	enum sealed_status s = sealed_open(st, t, cfg->max_retention, 0, 0,
	    &meta, &plain, &len, &detail);
	if (s != SEALED_OK) {
		fprintf(stderr, "sealed_open: %s\n", sealed_strerror(s));
		return 1;
	}
	FILE *f = fopen(out, "wb");
	if (f == NULL || fwrite(plain, 1, len, f) != len || fclose(f) != 0) {
		perror(out);
		return 1;
	}
	envelope_plain_free(plain, len);
	token_free(t);
	store_close(st);
	config_unref(cfg);
	return 0;
}

static int
parse_summary(const char *path)
{
	GMimeStream *fs = g_mime_stream_file_open(path, "rb", NULL);
	if (fs == NULL)
		return 1;
	GMimeParser *p = g_mime_parser_new_with_stream(fs);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	if (m == NULL) {
		fprintf(stderr, "GMime: not a message\n");
		return 1;
	}
	GMimeObject *top = g_mime_message_get_mime_part(m);
	const char *url = g_mime_object_get_header(GMIME_OBJECT(m),
	    "X-Pull-URL");
	int rc = 0;
	if (!GMIME_IS_MULTIPART(top) || url == NULL) {
		fprintf(stderr, "GMime: not a multipart summary with X-Pull-URL\n");
		return 1;
	}
	GMimeMultipart *mp = GMIME_MULTIPART(top);
	GMimeContentType *ct = g_mime_object_get_content_type(top);
	printf("%s/%s %d", g_mime_content_type_get_media_type(ct),
	    g_mime_content_type_get_media_subtype(ct),
	    g_mime_multipart_get_count(mp));
	for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
		GMimeObject *part = g_mime_multipart_get_part(mp, i);
		GMimeContentType *pct = g_mime_object_get_content_type(part);
		printf(" %s/%s", g_mime_content_type_get_media_type(pct),
		    g_mime_content_type_get_media_subtype(pct));
		if (GMIME_IS_TEXT_PART(part)) {
			char *text = g_mime_text_part_get_text(
			    GMIME_TEXT_PART(part));
			if (text == NULL || strstr(text, url) == NULL)
				rc = 1;     /* every part carries the link */
			g_free(text);
		} else {
			rc = 1;
		}
	}
	printf(" %s\n", url);
	g_object_unref(m);
	g_object_unref(p);
	g_object_unref(fs);
	return rc;
}

int
main(int argc, char **argv)
{
	g_mime_init();
	token_init();
	if (argc == 5 && strcmp(argv[1], "open") == 0)
		return open_object(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "gmime") == 0)
		return parse_summary(argv[2]);
	fprintf(stderr, "usage: it_tool open CONFIG LINK OUT | gmime FILE\n");
	return 2;
}
