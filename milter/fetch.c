/* Fetches an original from a trusted sender's retriever (fetch.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <curl/curl.h>
#include <sodium.h>

#include "fetch.h"

/* Fetches under way, across every connection of the milter. A counter
 * under a mutex rather than a sem_t: MaxFetches may change on reload. */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cond = PTHREAD_COND_INITIALIZER;
static int slots_used;

/* Connections, TLS sessions and name lookups are shared between fetches,
 * so that a busy partner's originals come over connections already open
 * and verified. A connection is only ever opened through on_open_socket's
 * check, and an origin is listed with one allow-private setting only
 * (inbound_trust_parse), so a reused connection is one the fetch would
 * have been allowed to open. */
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	pthread_mutex_lock(&share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	pthread_mutex_unlock(&share_locks[data]);
}

int
fetch_init(void)
{
	if (share != NULL)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	if ((share = curl_share_init()) == NULL ||
	    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
	    CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	    CURLSHE_OK) {
		if (share != NULL)
			curl_share_cleanup(share);
		share = NULL;
		return -1;
	}
	return 0;
}

/* Waits for a slot until the deadline; 0 or -1 (none came). */
static int
slot_take(int max, const struct timespec *deadline)
{
	int rc = 0;

	pthread_mutex_lock(&slots_lock);
	while (slots_used >= max && rc == 0)
		rc = pthread_cond_timedwait(&slots_cond, &slots_lock,
		    deadline);
	if (slots_used < max) {
		slots_used++;
		rc = 0;
	} else {
		rc = -1;
	}
	pthread_mutex_unlock(&slots_lock);
	return rc;
}

static void
slot_give(void)
{
	pthread_mutex_lock(&slots_lock);
	slots_used--;
	pthread_cond_signal(&slots_cond);
	pthread_mutex_unlock(&slots_lock);
}

struct fetch_state {
	GByteArray *buf;
	uint64_t max_size;
	bool too_big;
	bool allow_private;
	bool refused_address;
	char refused[INET6_ADDRSTRLEN];
};

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_state *st = arg;
	size_t len = size * n;

	/* The write callback caps what CURLOPT_MAXFILESIZE_LARGE cannot:
	 * a response without Content-Length. */
	if ((uint64_t)st->buf->len + len > st->max_size) {
		st->too_big = true;
		return 0;
	}
	g_byte_array_append(st->buf, (const guint8 *)data, (guint)len);
	return len;
}

/* Every socket libcurl opens for the fetch passes here with the address
 * it will connect to: the check sees the very address used, so a name
 * that resolves to a public address once and to a private one later
 * (DNS rebinding) is refused too. */
static curl_socket_t
on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct fetch_state *st = arg;
	const unsigned char *bytes = NULL;

	if (a->family == AF_INET)
		bytes = (const unsigned char *)
		    &((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
	else if (a->family == AF_INET6)
		bytes = (const unsigned char *)
		    &((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
	if (purpose != CURLSOCKTYPE_IPCXN || bytes == NULL ||
	    (!st->allow_private &&
	    inbound_address_is_private(a->family, bytes))) {
		st->refused_address = true;
		if (bytes != NULL)
			inet_ntop(a->family, bytes, st->refused,
			    sizeof(st->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static char *
origin_text(const struct inbound_url *u)
{
	return g_strdup_printf("%s://%s:%u", u->scheme, u->host, u->port);
}

int
fetch_original(const struct fetch_request *rq, GByteArray **out, char **why)
{
	struct fetch_state st;
	struct timespec deadline;
	char errbuf[CURL_ERROR_SIZE];
	char *url, *origin = origin_text(rq->link);
	CURL *h;
	CURLcode rc;
	long status = 0;
	int result = -1;

	*out = NULL;
	*why = NULL;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += rq->timeout;
	if (slot_take(rq->max_fetches > 0 ? rq->max_fetches : 1,
	    &deadline) != 0) {
		*why = g_strdup_printf("%s: MaxFetches (%d) fetches were "
		    "under way for the whole Timeout", origin,
		    rq->max_fetches);
		g_free(origin);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.buf = g_byte_array_new();
	st.max_size = rq->max_size;
	st.allow_private = rq->entry->allow_private;
	/* A link written with a final "/" names the same message. */
	url = g_strdup_printf("%s://%s:%u%s%seml", rq->link->scheme,
	    rq->link->host, rq->link->port, rq->link->path,
	    g_str_has_suffix(rq->link->path, "/") ? "" : "/");
	errbuf[0] = '\0';
	if ((h = curl_easy_init()) == NULL) {
		*why = g_strdup_printf("%s: libcurl did not start", origin);
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_SHARE, share);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	    rq->entry->allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	/* No proxy from the environment: it would connect for us, to an
	 * address this code never sees. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->ca_file != NULL && rq->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, rq->ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)rq->connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)rq->timeout);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)rq->max_size);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &st);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pullmail-milter/"
	    PULLMAIL_VERSION " (inbound)");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (st.refused_address) {
		*why = g_strdup_printf("%s: refused to connect to %s, a "
		    "private, loopback or link-local address (the entry "
		    "does not say allow-private)", origin,
		    st.refused[0] != '\0' ? st.refused : "an address");
	} else if (rc == CURLE_FILESIZE_EXCEEDED || st.too_big) {
		*why = g_strdup_printf("%s: the original is larger than "
		    "MaxSize (%llu bytes)", origin,
		    (unsigned long long)rq->max_size);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		*why = g_strdup_printf("%s: timed out (%s)", origin,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	} else if (rc != CURLE_OK) {
		/* errbuf may name the URL (libcurl's messages about a
		 * malformed URL do): the path holds the token. */
		*why = g_strdup_printf("%s: %s", origin,
		    curl_easy_strerror(rc));
	} else if (status >= 300 && status < 400) {
		*why = g_strdup_printf("%s: answered %ld, a redirect (never "
		    "followed)", origin, status);
	} else if (status != 200) {
		*why = g_strdup_printf("%s: answered %ld", origin, status);
	} else {
		result = 0;
	}
	curl_easy_cleanup(h);
out:
	sodium_memzero(url, strlen(url));
	g_free(url);
	g_free(origin);
	slot_give();
	if (result == 0) {
		*out = st.buf;
	} else {
		sodium_memzero(st.buf->data, st.buf->len);
		g_byte_array_unref(st.buf);
	}
	return result;
}
