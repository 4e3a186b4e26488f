/* Parsing and printing of the units used in configuration and headers:
 * sizes, durations, RFC 5322 dates. Sizes and dates for people, in a
 * language, are lang.h's (lang_format_size, lang_format_date). */
#ifndef PULLMAIL_UNITS_H
#define PULLMAIL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "512", "512K", "25M", "1G" (powers of 1024). 0 or -1 on error. */
int units_parse_size(const char *s, uint64_t *out);

/* "90s", "15m", "12h", "30d", "2w"; a bare number is seconds. Positive,
 * at most 100 years. 0 or -1 on error. */
int units_parse_duration(const char *s, int64_t *out);

/* RFC 5322 date in UTC: "Sun, 22 Nov 2026 11:47:00 +0000". */
void units_format_rfc5322(int64_t t, char *buf, size_t len);

#endif
