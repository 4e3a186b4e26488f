/* Sizes, durations and dates as configuration, headers and pages use them.
 * Month and day names are written out here rather than taken from the C
 * locale: the output must not depend on the process's locale. */
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
static const char *const month_en[12] = {
	"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December",
};
static const char *const month_pt[12] = {
	"janeiro", "fevereiro", "março", "abril", "maio", "junho",
	"julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
};
static const char *const day_abbr[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

static bool
is_pt(const char *lang)
{
	return lang != NULL && (strncmp(lang, "pt", 2) == 0);
}

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

void
units_format_size(uint64_t n, const char *lang, char *buf, size_t len)
{
	static const char *const unit[] = { "kB", "MB", "GB", "TB", "PB",
	    "EB" };
	uint64_t div = 1000, tenths, whole;
	size_t u = 0;

	if (buf == NULL || len == 0)
		return;
	if (n < 1000) {
		snprintf(buf, len, "%u %s", (unsigned)n, n == 1 ? "byte" :
		    "bytes");
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
		    is_pt(lang) ? ',' : '.', (unsigned)(tenths % 10), unit[u]);
	} else {
		snprintf(buf, len, "%llu %s", (unsigned long long)whole,
		    unit[u]);
	}
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

void
units_format_date_human(int64_t t, const char *lang, char *buf, size_t len)
{
	struct tm tm;

	if (buf == NULL || len == 0)
		return;
	if (!utc(t, &tm)) {
		buf[0] = '\0';
		return;
	}
	if (is_pt(lang))
		snprintf(buf, len, "%d de %s de %lld, %02d:%02d UTC",
		    tm.tm_mday, month_pt[tm.tm_mon],
		    (long long)tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
	else
		snprintf(buf, len, "%d %s %lld, %02d:%02d UTC", tm.tm_mday,
		    month_en[tm.tm_mon], (long long)tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min);
}
