/* The catalogue of languages and what every renderer asks of it: which
 * language a tag means, and dates and sizes in that language. Month names
 * and number formats are written in the catalogues rather than taken from
 * the C locale: the output must not depend on the process's locale. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lang.h"

extern const struct lang lang_en, lang_pt_br, lang_es;

/* The shipped languages, LANG_DEFAULT first. A new one is one line here. */
static const struct lang *const catalogues[] = {
	&lang_en,
	&lang_pt_br,
	&lang_es,
};

#define N_CATALOGUES (sizeof catalogues / sizeof catalogues[0])

size_t
lang_count(void)
{
	return N_CATALOGUES;
}

const struct lang *
lang_at(size_t i)
{
	return i < N_CATALOGUES ? catalogues[i] : NULL;
}

/* The length of tag's primary subtag ("pt" of "pt-BR"). */
static size_t
primary_len(const char *tag, size_t len)
{
	size_t n = 0;

	while (n < len && tag[n] != '-')
		n++;
	return n;
}

const struct lang *
lang_match(const char *tag, size_t len)
{
	size_t pl = primary_len(tag, len);

	if (pl == 0)
		return NULL;
	for (size_t i = 0; i < N_CATALOGUES; i++)
		if (strlen(catalogues[i]->tag) == len &&
		    strncasecmp(catalogues[i]->tag, tag, len) == 0)
			return catalogues[i];
	for (size_t i = 0; i < N_CATALOGUES; i++) {
		const char *c = catalogues[i]->tag;
		if (primary_len(c, strlen(c)) == pl &&
		    strncasecmp(c, tag, pl) == 0)
			return catalogues[i];
	}
	return NULL;
}

const struct lang *
lang_find(const char *tag)
{
	for (size_t i = 0; tag != NULL && i < N_CATALOGUES; i++)
		if (strcasecmp(catalogues[i]->tag, tag) == 0)
			return catalogues[i];
	return NULL;
}

const struct lang *
lang_get(const char *tag)
{
	const struct lang *l = tag != NULL ? lang_match(tag, strlen(tag)) :
	    NULL;

	return l != NULL ? l : catalogues[0];
}

void
lang_format_size(uint64_t n, const char *lang, char *buf, size_t len)
{
	static const char *const unit[] = { "kB", "MB", "GB", "TB", "PB",
	    "EB" };
	const struct lang *l = lang_get(lang);
	uint64_t div = 1000, tenths, whole;
	size_t u = 0;

	if (buf == NULL || len == 0)
		return;
	if (n < 1000) {
		snprintf(buf, len, "%u %s", (unsigned)n, n == 1 ? l->byte :
		    l->bytes);
		return;
	}
	/* Whole units rounded; move up while that reaches 1000. Below 100
	 * one decimal is shown ("2.4 MB"), above it none ("512 kB"). */
	for (;;) {
		whole = n / div + (n % div >= div / 2);
		if (whole < 1000 || u == sizeof(unit) / sizeof(unit[0]) - 1)
			break;
		div *= 1000;
		u++;
	}
	if (whole < 100) {
		tenths = n / (div / 10) + (n % (div / 10) >= div / 20);
		snprintf(buf, len, "%u%c%u %s", (unsigned)(tenths / 10),
		    l->decimal_point, (unsigned)(tenths % 10), unit[u]);
	} else {
		snprintf(buf, len, "%llu %s", (unsigned long long)whole,
		    unit[u]);
	}
}

/* Appends s to buf (of size len, holding *at bytes), cut at the end. */
static void
put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
	if (*at + 1 >= len)
		return;
	if (n > len - 1 - *at)
		n = len - 1 - *at;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
}

void
lang_format_date(int64_t t, const char *lang, char *buf, size_t len)
{
	const struct lang *l = lang_get(lang);
	time_t tt = (time_t)t;
	struct tm tm;
	size_t at = 0;

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return;
	for (const char *p = l->date_format; *p != '\0'; ) {
		static const char *const keys[] = { "{day}", "{month}",
		    "{year}", "{time}" };
		char v[32];
		size_t k = 0, kl = 0;
		if (*p == '{')
			for (k = 0; k < 4; k++)
				if (strncmp(p, keys[k], kl = strlen(keys[k])) == 0)
					break;
		if (*p != '{' || k == 4) {
			put(buf, len, &at, p++, 1);
			continue;
		}
		p += kl;
		switch (k) {
		case 0: snprintf(v, sizeof v, "%d", tm.tm_mday); break;
		case 1: snprintf(v, sizeof v, "%s", l->months[tm.tm_mon]);
			break;
		case 2: snprintf(v, sizeof v, "%lld",
			    (long long)tm.tm_year + 1900);
			break;
		default: snprintf(v, sizeof v, "%02d:%02d", tm.tm_hour,
			    tm.tm_min);
			break;
		}
		put(buf, len, &at, v, strlen(v));
	}
}
