#include <string.h>

#include "protocol.h"

bool
milter_macros_wellformed(const char *buf, size_t len)
{
	const char *p, *end;
	size_t strings = 0;

	if (buf == NULL || len < 1)
		return false;
	p = buf + 1;
	end = buf + len;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			return false;          /* a last string without its NUL */
		strings++;
		p = nul + 1;
	}
	return strings % 2 == 0;
}
