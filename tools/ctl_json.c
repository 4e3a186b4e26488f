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
