/* Parsing and printing of the units used in configuration, headers and
 * pages: sizes, durations, dates. */
#ifndef PULLMAIL_UNITS_H
#define PULLMAIL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "512", "512K", "25M", "1G" (powers of 1024). 0 or -1 on error. */
int units_parse_size(const char *s, uint64_t *out);

/* "90s", "15m", "12h", "30d", "2w"; a bare number is seconds. Positive,
 * at most 100 years. 0 or -1 on error. */
int units_parse_duration(const char *s, int64_t *out);

/* "2.4 MB", "512 bytes", "1 byte" (decimal units as mail clients show them);
 * lang "en" or "pt-BR" (decimal comma, "bytes"). Writes a NUL-terminated
 * string into buf of size len. */
void units_format_size(uint64_t n, const char *lang, char *buf, size_t len);

/* RFC 5322 date in UTC: "Sun, 22 Nov 2026 11:47:00 +0000". */
void units_format_rfc5322(int64_t t, char *buf, size_t len);

/* A date for people: "22 November 2026, 11:47 UTC" / "22 de novembro de
 * 2026, 11:47 UTC". */
void units_format_date_human(int64_t t, const char *lang, char *buf,
    size_t len);

#endif
