/* The summary that replaces a pulled message: multipart/alternative with a
 * text/plain and a text/html part, UTF-8, quoted-printable, CRLF, lines of
 * at most 78 characters, built with GMime from an administrator-replaceable
 * template directory (LANG/summary.txt, summary.html, item.txt, item.html,
 * none.txt, none.html, and the optional inline.txt, inline.html,
 * incomplete.txt, incomplete.html (the line that says the message has parts
 * the summary could not list; built-in words when absent);
 * placeholders {{from}} {{subject}} {{date}} {{attachments}} {{inline}}
 * {{link}} {{expires}} {{host}} (the link's host, the sender's own server),
 * {{name}} {{type}} {{size}} {{details}} in the item
 * templates, {{images}} in the inline ones). Inline images are listed apart
 * from the attachments; long names and header values are shortened so that
 * five attachments stay under 2 KB. */
#ifndef PULLMAIL_SUMMARY_H
#define PULLMAIL_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "mimescan.h"

#define SUMMARY_SHIPPED_DIR PULLMAIL_DATADIR "/templates"

struct summary_input {
	const char *lang;          /* a tag of lang.h; NULL: LANG_DEFAULT */
	const char *template_dir;  /* NULL or "": the shipped templates */
	const struct mimescan *scan;
	const char *link;          /* secret: never logged */
	int64_t expires;
	int64_t received;          /* shown when the message has no Date: */
};

struct summary {
	char *content_type;        /* header value, with the boundary */
	char *body;                /* CRLF lines */
	size_t body_len;
};

/* 0, or -1 with *err (g_free(), log.h) saying what is wrong (a template
 * missing). */
int summary_build(const struct summary_input *in, struct summary *out,
    char **err);
void summary_free(struct summary *s);

/* Whether every template of lang (NULL: LANG_DEFAULT) can be read from
 * template_dir (NULL or "": the shipped ones) as UTF-8: 0, or -1 with *err
 * (g_free(), log.h). */
int summary_check_templates(const char *template_dir, const char *lang,
    char **err);

#endif
