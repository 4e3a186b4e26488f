/* Languages: one catalogue per language (common/lang_TAG.c), read by the
 * summary (its built-in lines, dates and sizes), the retriever's pages
 * (every word), and the configuration (the list of valid Language and
 * DefaultLanguage values). The summary's own wording is in its templates,
 * templates/TAG/, which an administrator may replace.
 *
 * Adding a language: common/lang_TAG.c with one struct lang, its line in
 * the list of common/lang.c, and templates/TAG/ (see doc/ARCHITECTURE.md).
 * No renderer changes. Plain C: no GLib. */
#ifndef PULLMAIL_LANG_H
#define PULLMAIL_LANG_H

#include <stddef.h>
#include <stdint.h>

/* The language used when nothing else is configured or asked for. */
#define LANG_DEFAULT "en"

/* The error pages, in the order of struct lang_page's err_title/err_text. */
enum lang_error {
	LANG_E404, LANG_E410, LANG_E500, LANG_E405, LANG_E413, LANG_E403,
	LANG_E408, LANG_ERRORS
};

/* Every word of the retriever's pages. A "%s" is replaced by the one
 * argument the page gives (a date, a number); nothing else is a format. */
struct lang_page {
	const char *from, *to, *cc, *date, *subject, *no_subject;
	const char *message, *formatted, *images, *attachments;
	const char *eml;            /* link to the .eml */
	const char *expires;        /* %s: the expiry date */
	const char *keep;           /* %s: days */
	const char *kept, *capped, *show_remote;
	const char *html_title, *no_body, *download, *headers;
	const char *left_out;       /* %s: how many parts */
	const char *left_out_some;
	/* Read receipts (RFC 8098): the offer, its two buttons, and the
	 * answers to them. */
	const char *receipt_ask, *receipt_send, *receipt_no;
	const char *receipt_sent, *receipt_refused, *receipt_decided;
	const char *receipt_failed;
	const char *err_title[LANG_ERRORS], *err_text[LANG_ERRORS];
};

struct lang {
	const char *tag;            /* BCP 47, as configured: "pt-BR" */
	const char *months[12];     /* January..December, as in a date */
	/* A date: {day} {month} {year} {time} (HH:MM), UTC. */
	const char *date_format;
	char decimal_point;         /* "2.4 MB" or "2,4 MB" */
	const char *byte, *bytes;   /* "1 byte", "512 bytes" */
	/* The summary's line for a message with parts it could not list,
	 * [0] text/plain and [1] text/html, used when a template directory
	 * made before incomplete.txt/.html existed lacks them. */
	const char *summary_incomplete[2];
	struct lang_page page;
};

/* The shipped catalogues, LANG_DEFAULT first. */
size_t lang_count(void);
const struct lang *lang_at(size_t i);

/* The catalogue whose tag is exactly tag (ASCII case ignored), or NULL. */
const struct lang *lang_find(const char *tag);

/* A language tag of a request (tag_len bytes, not NUL-terminated): the
 * catalogue with that tag, else the first with the same primary subtag
 * ("pt-PT" and "pt" give pt-BR, "es-MX" gives es), else NULL. */
const struct lang *lang_match(const char *tag, size_t tag_len);

/* lang_match of the whole tag, else the LANG_DEFAULT catalogue; NULL
 * gives the default. Never NULL. */
const struct lang *lang_get(const char *tag);

/* "2.4 MB", "512 bytes", "1 byte" (decimal units, as mail clients show
 * them) in lang's words and decimal point; NUL-terminated in buf. */
void lang_format_size(uint64_t n, const char *lang, char *buf, size_t len);

/* A date for people, in UTC: "22 November 2026, 11:47 UTC", "22 de
 * noviembre de 2026, 11:47 UTC"; "" for a time gmtime cannot show. */
void lang_format_date(int64_t t, const char *lang, char *buf, size_t len);

#endif
