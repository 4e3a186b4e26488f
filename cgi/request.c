/* What the retriever reads of a request besides its path: the query, the
 * origin of a POST, and a POST's body, which is read last, bounded and
 * with a deadline. The URI is read in place: it holds the token, and every
 * copy would be one more to wipe. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "web.h"

size_t
request_split_uri(const char *uri, const char **query)
{
	size_t n = strcspn(uri, "?");

	*query = uri[n] == '?' ? uri + n + 1 : "";
	return n;
}

bool
request_query_has(const char *query, const char *pair)
{
	char **items = g_strsplit(query, "&", 16);
	bool found = false;

	for (size_t i = 0; items[i] != NULL; i++)
		if (strcmp(items[i], pair) == 0)
			found = true;
	g_strfreev(items);
	return found;
}

/* Whether the POST came from a page of this host: Origin, or failing that
 * Referer, must name scheme://Host exactly. */
bool
request_same_origin(const struct web_request *rq)
{
	const char *src = rq->origin != NULL && rq->origin[0] != '\0' &&
	    strcmp(rq->origin, "null") != 0 ? rq->origin : rq->referer;

	if (rq->host == NULL || rq->host[0] == '\0' || src == NULL)
		return false;
	const char *p = strstr(src, "://");
	if (p == NULL)
		return false;
	if (g_ascii_strncasecmp(src, "http://", 7) != 0 &&
	    g_ascii_strncasecmp(src, "https://", 8) != 0)
		return false;
	p += 3;
	size_t hl = strlen(rq->host);
	if (g_ascii_strncasecmp(p, rq->host, hl) != 0)
		return false;
	if (p[hl] == '\0' || p[hl] == '/')
		return true;
	/* Some servers pass Host without its port (nginx's fastcgi_params
	 * sends $host): then the port must be the one this request came to. */
	if (p[hl] != ':' || strchr(rq->host, ':') != NULL ||
	    rq->server_port == NULL || rq->server_port[0] == '\0')
		return false;
	size_t pl = strlen(rq->server_port);
	return strncmp(p + hl + 1, rq->server_port, pl) == 0 &&
	    (p[hl + 1 + pl] == '\0' || p[hl + 1 + pl] == '/');
}

/* The announced body of a POST: 0, or 413 when it is larger than
 * WEB_MAX_BODY (or Content-Length is not a number). Nothing is read. */
int
request_check_body_length(const struct web_request *rq)
{
	if (rq->content_length == NULL || rq->content_length[0] == '\0')
		return 0;
	if (rq->content_length[0] < '0' || rq->content_length[0] > '9')
		return 413;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(rq->content_length, &end, 10);
	return errno != 0 || *end != '\0' || n > WEB_MAX_BODY ? 413 : 0;
}

/* Reads and discards the body of a POST that passed every other check:
 * at most WEB_MAX_BODY bytes, within WEB_BODY_TIMEOUT_MS in all. 0, 413
 * when there is more, or 408 when it did not arrive in time (or could not
 * be read). Read to its end, the FastCGI connection closes at once (see
 * main.c). */
int
request_drain_body(const struct web_request *rq)
{
	char buf[1024];
	size_t total = 0;
	gint64 deadline = g_get_monotonic_time() +
	    (gint64)WEB_BODY_TIMEOUT_MS * 1000;

	if (rq->read_body == NULL)
		return 0;
	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			return 408;
		long got = rq->read_body(rq->body_ctx, buf, sizeof(buf),
		    (int)left);
		if (got < 0)
			return 408;
		if (got == 0)
			return 0;
		total += (size_t)got;
		if (total > WEB_MAX_BODY)
			return 413;
	}
}
