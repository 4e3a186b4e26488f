/* JSON output for pullmailctl --json. Hand-written: the documents are flat
 * objects and arrays of numbers and short strings, written as they stream
 * (a JSON library would build the whole tree in memory first). */
#include <stdio.h>

#include "tools/ctl.h"

/* RFC 8259 string: quotes, backslash and control characters escaped. */
void
ctl_json_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* "name": unix seconds, "name_utc": ISO 8601; both for every time field so
 * scripts can use either. */
void
ctl_json_time(FILE *out, const char *name, int64_t t, bool comma)
{
	char buf[32];

	ctl_format_time(t, buf);
	fprintf(out, "\"%s\": %lld, \"%s_utc\": ", name, (long long)t, name);
	ctl_json_string(out, buf);
	if (comma)
		fputs(", ", out);
}

static void
json_time_or_null(FILE *out, const char *name, int64_t t)
{
	if (t == 0)
		fprintf(out, "\"%s\": null, \"%s_utc\": null, ", name, name);
	else
		ctl_json_time(out, name, t, true);
}

void
ctl_json_readstate(FILE *out, const struct readstate *rs)
{
	int64_t first, last;
	uint64_t count;

	readstate_totals(rs, &first, &last, &count);
	fprintf(out, "\"read\": {\"count\": %llu, ", (unsigned long long)count);
	json_time_or_null(out, "first", first);
	json_time_or_null(out, "last", last);
	fputs("\"routes\": {", out);
	for (unsigned i = 0; i < READSTATE_ROUTES; i++) {
		const struct readstate_count *c = &rs->route[i];
		fprintf(out, "%s\"%s\": {\"count\": %llu, ", i > 0 ? ", " : "",
		    readstate_route_name(i), (unsigned long long)c->count);
		json_time_or_null(out, "first", c->count ? c->first : 0);
		if (c->count == 0)
			fputs("\"last\": null, \"last_utc\": null}", out);
		else
			ctl_json_time(out, "last", c->last, false), fputs("}", out);
	}
	fputs("}}, \"receipt\": ", out);
	ctl_json_string(out, readstate_receipt_name(rs->receipt));
	fputs(", ", out);
	json_time_or_null(out, "receipt_at", rs->receipt != READSTATE_RECEIPT_NONE ?
	    rs->receipt_at : 0);
}

void
ctl_print_readstate(FILE *out, const struct readstate *rs)
{
	char a[32], b[32];

	for (unsigned i = 0; i < READSTATE_ROUTES; i++) {
		const struct readstate_count *c = &rs->route[i];
		if (c->count == 0) {
			fprintf(out, "read %-5s never\n", readstate_route_name(i));
			continue;
		}
		ctl_format_time(c->first, a);
		ctl_format_time(c->last, b);
		fprintf(out, "read %-5s %llu time%s, first %s, last %s\n",
		    readstate_route_name(i), (unsigned long long)c->count,
		    c->count == 1 ? "" : "s", a, b);
	}
	if (rs->receipt == READSTATE_RECEIPT_NONE) {
		fputs("receipt    none\n", out);
	} else {
		ctl_format_time(rs->receipt_at, a);
		fprintf(out, "receipt    %s %s\n",
		    readstate_receipt_name(rs->receipt), a);
	}
}
