/* Sizes, durations and dates as configuration and headers use them (the
 * CGI front links this file: plain C). Day and month abbreviations are
 * written out here rather than taken from the C locale: the output must
 * not depend on the process's locale. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "units.h"

#define UNITS_KIB 1024ull
#define DURATION_MAX_SECONDS (36525ll * 86400)  /* 100 years */

static const char *const month_abbr[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_abbr[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

/* Digits followed by an optional single suffix; the digits fit in uint64_t. */
static int
split_number(const char *s, uint64_t *n, char *suffix)
{
	uint64_t v = 0;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*suffix = *s;
	if (*s != '\0' && s[1] != '\0')
		return -1;
	*n = v;
	return 0;
}

int
units_parse_size(const char *s, uint64_t *out)
{
	uint64_t n, mult;
	char suffix;

	if (split_number(s, &n, &suffix) != 0)
		return -1;
	switch (suffix) {
	case '\0': mult = 1; break;
	case 'k': case 'K': mult = UNITS_KIB; break;
	case 'm': case 'M': mult = UNITS_KIB * UNITS_KIB; break;
	case 'g': case 'G': mult = UNITS_KIB * UNITS_KIB * UNITS_KIB; break;
	case 't': case 'T':
		mult = UNITS_KIB * UNITS_KIB * UNITS_KIB * UNITS_KIB;
		break;
	default: return -1;
	}
	if (n > UINT64_MAX / mult)
		return -1;
	*out = n * mult;
	return 0;
}

int
units_parse_duration(const char *s, int64_t *out)
{
	uint64_t n, mult;
	char suffix;

	if (split_number(s, &n, &suffix) != 0)
		return -1;
	switch (suffix) {
	case '\0': case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default: return -1;
	}
	if (n == 0 || n > (uint64_t)DURATION_MAX_SECONDS / mult)
		return -1;
	*out = (int64_t)(n * mult);
	return 0;
}

static bool
utc(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	return (int64_t)tt == t && gmtime_r(&tt, tm) != NULL &&
	    tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_wday >= 0 &&
	    tm->tm_wday < 7;
}

void
units_format_rfc5322(int64_t t, char *buf, size_t len)
{
	struct tm tm;

	if (buf == NULL || len == 0)
		return;
	if (!utc(t, &tm)) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s, %d %s %lld %02d:%02d:%02d +0000",
	    day_abbr[tm.tm_wday], tm.tm_mday, month_abbr[tm.tm_mon],
	    (long long)tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
