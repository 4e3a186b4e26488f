/* The inbound fetch of an original: GET <link>/eml with libcurl, verified
 * TLS, no redirects at all, a size cap, timeouts, no private address
 * unless the trust entry allows it, and at most MaxFetches at once. */
#ifndef PULLMAIL_MILTER_FETCH_H
#define PULLMAIL_MILTER_FETCH_H

#include <stdint.h>
#include <glib.h>

#include "inbound.h"

struct fetch_request {
	const struct inbound_url *link;     /* decided trusted */
	const struct inbound_trust *entry;  /* its trust entry */
	const char *ca_file;                /* NULL: the system's CAs */
	uint64_t max_size;
	int64_t connect_timeout;            /* seconds */
	int64_t timeout;                    /* seconds, the whole fetch */
	int max_fetches;
};

/* 0 with *out (g_byte_array_unref; wipe first: it is a message) holding
 * the original, or -1 with *why (g_free) saying why, which names at most
 * the origin and never the link's path. */
int fetch_original(const struct fetch_request *rq, GByteArray **out,
    char **why);

/* curl_global_init, once, before any thread fetches. */
int fetch_init(void);

#endif
