/* The s3 backend: objects in a bucket of an S3-compatible service (AWS S3,
 * Ceph RGW, ...), through libcurl, which signs every request (AWS
 * Signature V4, CURLOPT_AWS_SIGV4). Nothing here is an S3 client beyond
 * the request shapes and the few XML elements read from the answers.
 *
 * Keys: PREFIX + storage id + ".pull" (the object, written once, never
 * overwritten) and PREFIX + storage id + ".head" (its header as patched by
 * keep and revoke, see s3_patch).
 *
 * Payload hash: every request carries x-amz-content-sha256 with the
 * SHA-256 of its body (libsodium), never UNSIGNED-PAYLOAD: the body is
 * then covered by the signature over plain http to a gateway on the same
 * host as well as over https, and radosgw requires the header anyway. It
 * costs one read of the spooled ciphertext, which is in the page cache.
 *
 * Writes: the writer's bytes (ciphertext only: the envelope writer seals
 * before it writes) go to an unlinked temporary file in SpoolDir
 * (O_TMPFILE), so that write_at can patch what was written before and
 * memory does not grow with the message; commit sends the file, as one
 * PUT with If-None-Match: * up to S3_MULTIPART_MIN bytes, else as a
 * multipart upload (parts of S3_PART_SIZE) completed only then and
 * aborted on any failure. A crashed writer's spool file goes with its
 * process; its multipart upload is aborted by gc (cleanup_tmp).
 *
 * Threads: the milter's threads share one store; each request takes a
 * curl handle from a small pool under a mutex and gives it back, so
 * connections are kept alive and reused rather than one TLS handshake per
 * object. */
#define _GNU_SOURCE     /* O_TMPFILE, timegm */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <glib.h>
#include <sodium.h>
#include "config.h"
#include "store_backend.h"

#define S3_OBJECT_SUFFIX ".pull"
#define S3_HEAD_SUFFIX ".head"
/* An object up to this size goes up in one PUT. */
#define S3_MULTIPART_MIN (16u << 20)
#define S3_PART_SIZE (8u << 20)
/* What a reader fetches per ranged GET: its memory. */
#define S3_READ_CHUNK (1u << 20)
/* The most of an object's beginning a patch may change. */
#define S3_PATCH_MAX 4096
/* The most of a listing or error answer kept. */
#define S3_ANSWER_MAX (4u << 20)
#define S3_POOL_MAX 16
#define S3_RETRIES_MAX 10
#define S3_KEY_MAX 512
/* Keys in one DeleteObjects request: S3's limit. */
#define S3_BATCH_MAX 1000

struct s3_store {
	struct store base;
	char *endpoint;         /* scheme://host[:port] with the bucket for
	                         * virtual addressing, without a trailing / */
	char *bucket_path;      /* "/bucket" (path) or "" (virtual) */
	char *bucket;
	char *prefix;
	char *sigv4;            /* "aws:amz:REGION:s3" */
	char *userpwd;          /* "access:secret", wiped at close */
	char *ca_file;
	char *spool_dir;
	long connect_timeout;
	long request_timeout;
	int retries;
	pthread_mutex_t lock;
	CURL *pool[S3_POOL_MAX];
	int npool;
};

struct s3_writer {
	struct store_writer base;
	struct s3_store *st;
	int fd;
	uint64_t size;
	struct storage_id id;
};

struct s3_reader {
	struct store_reader base;
	struct s3_store *st;
	char key[S3_KEY_MAX];
	unsigned char *buf;
	size_t blen, bpos;
	uint64_t pos;           /* offset of buf[0] in the object */
	uint64_t size;
	unsigned char head[S3_PATCH_MAX];
	size_t head_len;        /* bytes of the patched header (0: none) */
};

struct s3_batch;

struct s3_entry {
	struct store_entry base;
	struct s3_store *st;
	const struct storage_id *id;
	uint64_t size;
	bool has_head;          /* the listing showed its header object */
	struct s3_batch **batch;        /* the walk's, made at its first use */
};

/* A key waiting in a batch of deletes: an object, whose result goes to
 * done, or a companion of one already deleted (its header object, its read
 * state). */
enum s3_delete_kind { S3_DEL_OBJECT, S3_DEL_HEAD, S3_DEL_READ };
struct s3_delete {
	struct storage_id id;
	uint64_t size;
	enum s3_delete_kind kind;
	bool has_head;
	store_delete_done_fn done;
	void *ctx;
};

struct s3_batch {
	struct s3_store *st;
	size_t n;
	struct s3_delete d[S3_BATCH_MAX];
};

static __thread char s3_last_error[512];

static void
set_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s3_last_error, sizeof s3_last_error, fmt, ap);
	va_end(ap);
}

static const char *
s3_error(const struct store *s)
{
	(void)s;
	return s3_last_error;
}

/* ---- requests ---- */

/* Where an answer's body goes: a caller's buffer (a ranged GET), or a
 * string of at most S3_ANSWER_MAX bytes (listings, errors). */
struct answer {
	unsigned char *buf;
	size_t cap, len;
	GString *text;
	GString *err;           /* the body of a non-2xx answer */
	CURL *c;
	bool overflow;
	char etag[128];
	uint64_t total;         /* from Content-Range, or Content-Length */
	bool have_total;
};

struct request {
	const char *method;     /* GET HEAD PUT POST DELETE */
	const char *key;        /* NULL: the bucket */
	const char *query;      /* canonical (sorted, encoded), or NULL */
	const char *range;      /* "0-99", or NULL */
	const char *content_md5;        /* base64, or NULL */
	bool if_none_match;
	const char *if_match;   /* an ETag as sent, or NULL */
	/* The body: from memory, or len bytes of fd at off. */
	const void *body;
	size_t body_len;
	int fd;
	uint64_t off, len;
	/* Read position in the body during a transfer. */
	uint64_t done;
	char sha256[65];
	long status;
	char curl_error[CURL_ERROR_SIZE];
	CURLcode cc;
};

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(a->c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		if (a->err == NULL)
			a->err = g_string_new(NULL);
		if (a->err->len < 8192)
			g_string_append_len(a->err, p, (gssize)len);
		return len;
	}
	if (a->buf != NULL) {
		if (len > a->cap - a->len) {
			a->overflow = true;
			return 0;
		}
		memcpy(a->buf + a->len, p, len);
		a->len += len;
		return len;
	}
	if (a->text->len + len > S3_ANSWER_MAX) {
		a->overflow = true;
		return 0;
	}
	g_string_append_len(a->text, p, (gssize)len);
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;
	char line[256];

	if (len >= sizeof line)
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	g_strchomp(line);
	if (g_ascii_strncasecmp(line, "ETag:", 5) == 0) {
		const char *v = line + 5;
		while (*v == ' ')
			v++;
		g_strlcpy(a->etag, v, sizeof a->etag);
	} else if (g_ascii_strncasecmp(line, "Content-Range:", 14) == 0) {
		const char *slash = strrchr(line, '/');
		if (slash != NULL && slash[1] != '*') {
			a->total = g_ascii_strtoull(slash + 1, NULL, 10);
			a->have_total = true;
		}
	} else if (g_ascii_strncasecmp(line, "Content-Length:", 15) == 0 &&
	    !a->have_total) {
		a->total = g_ascii_strtoull(line + 15, NULL, 10);
	}
	return len;
}

static size_t
on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct request *rq = ctx;
	size_t want = size * n;

	if (rq->done >= rq->len)
		return 0;
	if (want > rq->len - rq->done)
		want = (size_t)(rq->len - rq->done);
	ssize_t got;
	do
		got = pread(rq->fd, p, want, (off_t)(rq->off + rq->done));
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	rq->done += (uint64_t)got;
	return (size_t)got;
}

static void
hex_sha256(const unsigned char d[crypto_hash_sha256_BYTES], char out[65])
{
	sodium_bin2hex(out, 65, d, crypto_hash_sha256_BYTES);
}

/* The SHA-256 of the request's body. 0 or -1. */
static int
body_hash(struct request *rq)
{
	unsigned char d[crypto_hash_sha256_BYTES];

	if (rq->fd < 0) {
		crypto_hash_sha256(d, rq->body, rq->body_len);
		hex_sha256(d, rq->sha256);
		return 0;
	}
	crypto_hash_sha256_state h;
	unsigned char *buf = malloc(1u << 16);
	if (buf == NULL)
		return -1;
	crypto_hash_sha256_init(&h);
	for (uint64_t at = 0; at < rq->len;) {
		size_t want = rq->len - at < (1u << 16) ? (size_t)(rq->len - at) :
		    (1u << 16);
		ssize_t got = pread(rq->fd, buf, want, (off_t)(rq->off + at));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			free(buf);
			return -1;
		}
		crypto_hash_sha256_update(&h, buf, (size_t)got);
		at += (uint64_t)got;
	}
	free(buf);
	crypto_hash_sha256_final(&h, d);
	hex_sha256(d, rq->sha256);
	return 0;
}

static CURL *
take_handle(struct s3_store *st)
{
	CURL *c = NULL;

	pthread_mutex_lock(&st->lock);
	if (st->npool > 0)
		c = st->pool[--st->npool];
	pthread_mutex_unlock(&st->lock);
	return c != NULL ? c : curl_easy_init();
}

static void
give_handle(struct s3_store *st, CURL *c)
{
	pthread_mutex_lock(&st->lock);
	if (st->npool < S3_POOL_MAX) {
		st->pool[st->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	if (c != NULL)
		curl_easy_cleanup(c);
}

static void
full_key(const struct s3_store *st, const struct storage_id *id,
    const char *suffix, char out[S3_KEY_MAX])
{
	snprintf(out, S3_KEY_MAX, "%s%s%s", st->prefix, id->hex, suffix);
}

/* One attempt. */
static void
perform(struct s3_store *st, CURL *c, struct request *rq, struct answer *a)
{
	struct curl_slist *h = NULL;
	char line[128];

	curl_easy_reset(c);
	GString *url = g_string_new(st->endpoint);
	g_string_append(url, st->bucket_path);
	g_string_append_c(url, '/');
	if (rq->key != NULL)
		g_string_append(url, rq->key);  /* [A-Za-z0-9/._-] only */
	if (rq->query != NULL) {
		g_string_append_c(url, '?');
		g_string_append(url, rq->query);
	}
	curl_easy_setopt(c, CURLOPT_URL, url->str);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, st->sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, st->userpwd);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, st->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, st->request_timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, rq->curl_error);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (st->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, st->ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	snprintf(line, sizeof line, "x-amz-content-sha256: %s", rq->sha256);
	h = curl_slist_append(h, line);
	if (rq->if_none_match)
		h = curl_slist_append(h, "If-None-Match: *");
	if (rq->if_match != NULL) {
		snprintf(line, sizeof line, "If-Match: %s", rq->if_match);
		h = curl_slist_append(h, line);
	}
	if (rq->range != NULL) {
		snprintf(line, sizeof line, "Range: bytes=%s", rq->range);
		h = curl_slist_append(h, line);
	}
	if (rq->content_md5 != NULL) {
		snprintf(line, sizeof line, "Content-MD5: %s", rq->content_md5);
		h = curl_slist_append(h, line);
	}
	rq->done = 0;
	if (strcmp(rq->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		/* A PUT's body is always a file (the spool, or a
		 * header written to an anonymous file). */
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, rq);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)rq->len);
	} else if (strcmp(rq->method, "POST") == 0) {
		h = curl_slist_append(h, "Content-Type: application/xml");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    rq->body != NULL ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
	} else if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rq->curl_error[0] = '\0';
	rq->status = 0;
	rq->cc = curl_easy_perform(c);
	if (rq->cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rq->status);
	curl_slist_free_all(h);
	g_string_free(url, TRUE);
}

/* A memory body goes through on_read too: a pipe would do, but a body in
 * memory is only sent by PUT of a header (small); it is written to an
 * anonymous file first. Returns the fd or -1. */
static int
memory_file(const struct s3_store *st, const void *buf, size_t len)
{
	int fd = open(st->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	const unsigned char *p = buf;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return fd;
}

/* The text of <tag>...</tag> in xml from *from on (moved past it), into a
 * new string, with the five XML entities replaced; NULL if none. */
static char *
xml_take(const char *xml, const char **from, const char *tag)
{
	char open_tag[64], close_tag[64];
	snprintf(open_tag, sizeof open_tag, "<%s>", tag);
	snprintf(close_tag, sizeof close_tag, "</%s>", tag);
	const char *p = strstr(from != NULL ? *from : xml, open_tag);
	if (p == NULL)
		return NULL;
	p += strlen(open_tag);
	const char *e = strstr(p, close_tag);
	if (e == NULL)
		return NULL;
	if (from != NULL)
		*from = e + strlen(close_tag);
	GString *s = g_string_sized_new((gsize)(e - p));
	while (p < e) {
		static const struct { const char *ent; char c; } ents[] = {
			{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
			{ "&quot;", '"' }, { "&apos;", '\'' },
		};
		bool done = false;
		if (*p == '&')
			for (size_t i = 0; i < G_N_ELEMENTS(ents); i++) {
				size_t n = strlen(ents[i].ent);
				if ((size_t)(e - p) >= n &&
				    strncmp(p, ents[i].ent, n) == 0) {
					g_string_append_c(s, ents[i].c);
					p += n;
					done = true;
					break;
				}
			}
		if (!done)
			g_string_append_c(s, *p++);
	}
	return g_string_free(s, FALSE);
}

static bool
retryable(const struct request *rq)
{
	if (rq->cc != CURLE_OK)
		return rq->cc == CURLE_COULDNT_CONNECT ||
		    rq->cc == CURLE_OPERATION_TIMEDOUT ||
		    rq->cc == CURLE_SEND_ERROR || rq->cc == CURLE_RECV_ERROR ||
		    rq->cc == CURLE_GOT_NOTHING ||
		    rq->cc == CURLE_PARTIAL_FILE ||
		    rq->cc == CURLE_COULDNT_RESOLVE_HOST ||
		    rq->cc == CURLE_SSL_CONNECT_ERROR;
	return rq->status >= 500 || rq->status == 429;
}

/* Sends rq, again after a failure that may pass (connection errors,
 * timeouts, 5xx including 503 SlowDown), up to Retries times with an
 * exponential backoff from 100 ms, capped at 3.2 s, with jitter. The
 * answer's body is in a (a->text when a->buf is NULL). Returns the
 * status mapped: STORE_OK for 2xx, else the error is set. what names
 * the operation for the message. */
static enum store_status
send_request(struct s3_store *st, struct request *rq, struct answer *a,
    const char *what)
{
	CURL *c = take_handle(st);
	bool own_text = false;

	if (c == NULL) {
		set_error("%s: out of memory", what);
		return STORE_NOMEM;
	}
	if (a->buf == NULL && a->text == NULL) {
		a->text = g_string_new(NULL);
		own_text = true;
	}
	if (body_hash(rq) != 0) {
		give_handle(st, c);
		set_error("%s: reading the spool file: %s", what,
		    strerror(errno));
		if (own_text) {
			g_string_free(a->text, TRUE);
			a->text = NULL;
		}
		return STORE_IO;
	}
	for (int attempt = 0;; attempt++) {
		a->len = 0;
		a->overflow = false;
		a->etag[0] = '\0';
		a->have_total = false;
		a->total = 0;
		if (a->text != NULL)
			g_string_truncate(a->text, 0);
		if (a->err != NULL)
			g_string_truncate(a->err, 0);
		a->c = c;
		perform(st, c, rq, a);
		if (!retryable(rq) || attempt >= st->retries)
			break;
		unsigned ms = 100u << (attempt < 5 ? attempt : 5);
		ms += randombytes_uniform(ms / 2 + 1);
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	give_handle(st, c);

	enum store_status s = STORE_OK;
	if (rq->cc != CURLE_OK) {
		if (rq->cc == CURLE_WRITE_ERROR && a->overflow)
			set_error("%s: answer larger than expected", what);
		else
			set_error("%s: %s", what, rq->curl_error[0] ?
			    rq->curl_error : curl_easy_strerror(rq->cc));
		s = STORE_IO;
	} else if (rq->status < 200 || rq->status > 299) {
		char *code = a->err != NULL ? xml_take(a->err->str, NULL,
		    "Code") : NULL;
		const char *cs = code != NULL ? code : "";
		if (rq->status == 404 && strcmp(cs, "NoSuchBucket") == 0) {
			set_error("%s: bucket \"%s\" does not exist", what,
			    st->bucket);
			s = STORE_BAD_CONFIG;
		} else if (rq->status == 404) {
			set_error("%s: no such object", what);
			s = STORE_NOT_FOUND;
		} else if (rq->status == 412) {
			set_error("%s: the object exists", what);
			s = STORE_EXISTS;
		} else if (rq->status == 403) {
			set_error("%s: access denied (HTTP 403 %s): check "
			    "CredentialsFile and the bucket's policy", what, cs);
			s = STORE_BAD_CONFIG;
		} else {
			set_error("%s: HTTP %ld %s", what, rq->status, cs);
			s = STORE_IO;
		}
		g_free(code);
	}
	if (own_text && s != STORE_OK) {
		g_string_free(a->text, TRUE);
		a->text = NULL;
	}
	return s;
}

static void
answer_done(struct answer *a)
{
	if (a->text != NULL)
		g_string_free(a->text, TRUE);
	if (a->err != NULL)
		g_string_free(a->err, TRUE);
	a->text = a->err = NULL;
}

static void
request_init(struct request *rq, const char *method, const char *key)
{
	memset(rq, 0, sizeof *rq);
	rq->method = method;
	rq->key = key;
	rq->fd = -1;
}

/* A ranged GET of [off, off + len) into buf: *got bytes. */
static enum store_status
get_range(struct s3_store *st, const char *key, uint64_t off, size_t len,
    unsigned char *buf, size_t *got, uint64_t *total, const char *what)
{
	struct request rq;
	struct answer a = { .buf = buf, .cap = len };
	char range[64];

	*got = 0;
	if (len == 0)
		return STORE_OK;
	request_init(&rq, "GET", key);
	snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
	    (unsigned long long)(off + len - 1));
	rq.range = range;
	enum store_status s = send_request(st, &rq, &a, what);
	if (s == STORE_OK && rq.status == 200 && off > 0) {
		/* A server that ignored Range gave the object from 0. */
		set_error("%s: the endpoint ignored a Range request", what);
		s = STORE_IO;
	}
	answer_done(&a);
	if (s == STORE_OK) {
		*got = a.len;
		if (total != NULL)
			*total = a.have_total ? a.total : a.len;
	} else if (rq.status == 416) {
		/* Past the end (an empty object): nothing. */
		if (total != NULL)
			*total = 0;
		return STORE_OK;
	}
	return s;
}

/* The patched header of id (see s3_patch) into head: *len bytes, 0 if it
 * has none. */
static enum store_status
get_head_overlay(struct s3_store *st, const struct storage_id *id,
    unsigned char head[S3_PATCH_MAX], size_t *len)
{
	char key[S3_KEY_MAX];
	struct request rq;
	struct answer a = { .buf = head, .cap = S3_PATCH_MAX };

	*len = 0;
	full_key(st, id, S3_HEAD_SUFFIX, key);
	request_init(&rq, "GET", key);
	enum store_status s = send_request(st, &rq, &a, "read header");
	answer_done(&a);
	if (s == STORE_NOT_FOUND)
		return STORE_OK;
	if (s == STORE_OK)
		*len = a.len;
	return s;
}

/* The bytes of the patched header over buf, which holds len bytes from
 * offset off of the object. */
static void
overlay(const unsigned char *head, size_t head_len, uint64_t off,
    unsigned char *buf, size_t len)
{
	if (off >= head_len)
		return;
	size_t n = head_len - (size_t)off;
	if (n > len)
		n = len;
	memcpy(buf, head + off, n);
}

static enum store_status
delete_key(struct s3_store *st, const char *key, const char *what)
{
	struct request rq;
	struct answer a = { 0 };

	request_init(&rq, "DELETE", key);
	enum store_status s = send_request(st, &rq, &a, what);
	answer_done(&a);
	return s;
}

/* ---- open and close ---- */

static bool
valid_bucket(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_islower(b[i]) && !g_ascii_isdigit(b[i]) &&
		    b[i] != '-' && b[i] != '.')
			return false;
	return true;
}

static bool
valid_prefix(const char *p)
{
	if (strlen(p) > 200)
		return false;
	for (; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '/' && *p != '-' &&
		    *p != '_' && *p != '.')
			return false;
	return true;
}

/* "AccessKey = ..." and "SecretKey = ..." lines ('#' comments) from a
 * regular file no one but its owner may read. The secret never goes into
 * a message. */
static int
read_credentials(const char *path, char **access, char **secret, char **err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		*err = g_strdup_printf("CredentialsFile %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		*err = g_strdup_printf("CredentialsFile %s: not a regular file",
		    path);
		close(fd);
		return -1;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		*err = g_strdup_printf("CredentialsFile %s: group or others may "
		    "read or write it (mode %04o); chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
		close(fd);
		return -1;
	}
	if (sb.st_size > 4096) {
		*err = g_strdup_printf("CredentialsFile %s: too large", path);
		close(fd);
		return -1;
	}
	char buf[4097];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		*err = g_strdup_printf("CredentialsFile %s: %s", path,
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	*access = *secret = NULL;
	int line_no = 0, rc = 0;
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l != NULL && rc == 0;
	    l = strtok_r(NULL, "\n", &save)) {
		line_no++;
		g_strstrip(l);
		if (l[0] == '\0' || l[0] == '#')
			continue;
		char *eq = strchr(l, '=');
		if (eq == NULL) {
			*err = g_strdup_printf("CredentialsFile %s line %d: "
			    "expected Name = value", path, line_no);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *name = g_strstrip(l), *v = g_strstrip(eq + 1);
		char **to = g_ascii_strcasecmp(name, "AccessKey") == 0 ? access :
		    g_ascii_strcasecmp(name, "SecretKey") == 0 ? secret : NULL;
		bool bad = v[0] == '\0' || (strchr(v, ':') != NULL && to == access);
		for (const char *q = v; *q != '\0'; q++)
			if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
				bad = true;
		if (to == NULL || *to != NULL || bad) {
			*err = g_strdup_printf("CredentialsFile %s line %d: %s",
			    path, line_no, to == NULL ? "unknown name (AccessKey "
			    "or SecretKey)" : *to != NULL ? "given twice" :
			    "empty or invalid value");
			rc = -1;
			break;
		}
		*to = g_strdup(v);
	}
	sodium_memzero(buf, sizeof buf);
	if (rc == 0 && (*access == NULL || *secret == NULL)) {
		*err = g_strdup_printf("CredentialsFile %s: needs AccessKey and "
		    "SecretKey", path);
		rc = -1;
	}
	if (rc != 0) {
		g_free(*access);
		if (*secret != NULL) {
			sodium_memzero(*secret, strlen(*secret));
			g_free(*secret);
		}
		*access = *secret = NULL;
	}
	return rc;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void s3_close(struct store *s);

static struct store *
s3_open(const struct config *cfg, enum store_mode mode, char **err)
{
	char *access_key = NULL, *secret = NULL;

	(void)mode;
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK || sodium_init() < 0) {
		*err = g_strdup("s3 store: cannot initialise libcurl");
		return NULL;
	}
	if (cfg->s3_endpoint == NULL || cfg->s3_bucket == NULL ||
	    cfg->s3_credentials_file == NULL) {
		*err = g_strdup("[store] Backend = s3 needs Endpoint, Bucket and "
		    "CredentialsFile");
		return NULL;
	}
	if (!valid_bucket(cfg->s3_bucket)) {
		*err = g_strdup_printf("[store] Bucket \"%s\": expected 3 to 63 "
		    "lower-case letters, digits, '-' or '.'", cfg->s3_bucket);
		return NULL;
	}
	const char *prefix = cfg->s3_prefix != NULL ? cfg->s3_prefix : "";
	if (!valid_prefix(prefix)) {
		*err = g_strdup_printf("[store] Prefix \"%s\": expected at most "
		    "200 letters, digits, '/', '-', '_' or '.'", prefix);
		return NULL;
	}
	const char *region = cfg->s3_region != NULL ? cfg->s3_region :
	    "us-east-1";
	for (const char *q = region; *q != '\0'; q++)
		if (!g_ascii_isalnum(*q) && *q != '-') {
			*err = g_strdup_printf("[store] Region \"%s\": expected "
			    "letters, digits and '-'", region);
			return NULL;
		}
	if (cfg->s3_retries < 0 || cfg->s3_retries > S3_RETRIES_MAX) {
		*err = g_strdup_printf("[store] Retries = %d: expected 0 to %d",
		    cfg->s3_retries, S3_RETRIES_MAX);
		return NULL;
	}
	if (cfg->s3_connect_timeout < 1 || cfg->s3_request_timeout < 1) {
		*err = g_strdup("[store] ConnectTimeout and RequestTimeout must "
		    "be at least 1s");
		return NULL;
	}
	const char *ep = cfg->s3_endpoint;
	const char *hostp = strstr(ep, "://");
	if (hostp == NULL || (strchr(hostp + 3, '/') != NULL &&
	    strchr(hostp + 3, '/')[1] != '\0')) {
		*err = g_strdup_printf("[store] Endpoint %s: expected a URL "
		    "without a path", ep);
		return NULL;
	}
	if (read_credentials(cfg->s3_credentials_file, &access_key, &secret,
	    err) != 0)
		return NULL;

	struct s3_store *st = g_new0(struct s3_store, 1);
	st->base.ops = &store_s3_ops;
	pthread_mutex_init(&st->lock, NULL);
	size_t eplen = strlen(ep);
	while (eplen > 0 && ep[eplen - 1] == '/')
		eplen--;
	if (cfg->s3_addressing == CONFIG_S3_VIRTUAL) {
		st->endpoint = g_strdup_printf("%.*s%s.%.*s",
		    (int)(hostp + 3 - ep), ep, cfg->s3_bucket,
		    (int)(ep + eplen - (hostp + 3)), hostp + 3);
		st->bucket_path = g_strdup("");
	} else {
		st->endpoint = g_strndup(ep, eplen);
		st->bucket_path = g_strdup_printf("/%s", cfg->s3_bucket);
	}
	st->bucket = g_strdup(cfg->s3_bucket);
	st->prefix = g_strdup(prefix);
	st->sigv4 = g_strdup_printf("aws:amz:%s:s3", region);
	st->userpwd = g_strdup_printf("%s:%s", access_key, secret);
	sodium_memzero(secret, strlen(secret));
	g_free(secret);
	g_free(access_key);
	st->ca_file = g_strdup(cfg->s3_ca_file);
	st->spool_dir = g_strdup(cfg->s3_spool_dir != NULL ?
	    cfg->s3_spool_dir : "/var/tmp");
	st->connect_timeout = (long)cfg->s3_connect_timeout;
	st->request_timeout = (long)cfg->s3_request_timeout;
	st->retries = cfg->s3_retries;

	struct stat sb;
	if (mode == STORE_READ_WRITE && (stat(st->spool_dir, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode) || access(st->spool_dir, W_OK | X_OK) != 0)) {
		*err = g_strdup_printf("[store] SpoolDir %s: not a writable "
		    "directory", st->spool_dir);
		s3_close(&st->base);
		return NULL;
	}
	return &st->base;
}

static void
s3_close(struct store *s)
{
	struct s3_store *st = (struct s3_store *)s;

	for (int i = 0; i < st->npool; i++)
		curl_easy_cleanup(st->pool[i]);
	pthread_mutex_destroy(&st->lock);
	sodium_memzero(st->userpwd, strlen(st->userpwd));
	g_free(st->userpwd);
	g_free(st->endpoint);
	g_free(st->bucket_path);
	g_free(st->bucket);
	g_free(st->prefix);
	g_free(st->sigv4);
	g_free(st->ca_file);
	g_free(st->spool_dir);
	g_free(st);
}

/* ---- writing ---- */

static enum store_status
s3_write_begin(struct store *s, const struct storage_id *id,
    struct store_writer **out)
{
	struct s3_store *st = (struct s3_store *)s;
	int fd = open(st->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	*out = NULL;
	if (fd < 0) {
		set_error("spool file in %s: %s", st->spool_dir,
		    strerror(errno));
		return errno == ENOMEM ? STORE_NOMEM : STORE_IO;
	}
	struct s3_writer *w = calloc(1, sizeof *w);
	if (w == NULL) {
		close(fd);
		set_error("out of memory");
		return STORE_NOMEM;
	}
	w->base.ops = &store_s3_ops;
	w->st = st;
	w->fd = fd;
	w->id = *id;
	*out = &w->base;
	return STORE_OK;
}

static enum store_status
spool_write(struct s3_writer *w, uint64_t off, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t left = len;

	while (left > 0) {
		ssize_t n = pwrite(w->fd, p, left, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			set_error("write spool file: %s", n == 0 ? "no space" :
			    strerror(errno));
			return STORE_IO;
		}
		p += n;
		off += (uint64_t)n;
		left -= (size_t)n;
	}
	if (off > w->size)
		w->size = off;
	return STORE_OK;
}

static enum store_status
s3_write(struct store_writer *ww, const void *buf, size_t len)
{
	struct s3_writer *w = (struct s3_writer *)ww;
	return spool_write(w, w->size, buf, len);
}

static enum store_status
s3_write_at(struct store_writer *ww, uint64_t off, const void *buf,
    size_t len)
{
	struct s3_writer *w = (struct s3_writer *)ww;
	if (off > w->size || len > w->size - off) {
		set_error("write_at beyond what was written");
		return STORE_IO;
	}
	return spool_write(w, off, buf, len);
}

static void
s3_abort(struct store_writer *ww)
{
	struct s3_writer *w = (struct s3_writer *)ww;
	close(w->fd);
	free(w);
}

static enum store_status
abort_upload(struct s3_store *st, const char *key, const char *upload_id)
{
	char *e = curl_easy_escape(NULL, upload_id, 0);
	char *q = g_strdup_printf("uploadId=%s", e);
	struct request rq;
	struct answer a = { 0 };

	curl_free(e);
	request_init(&rq, "DELETE", key);
	rq.query = q;
	enum store_status s = send_request(st, &rq, &a, "abort upload");
	answer_done(&a);
	g_free(q);
	return s;
}

static enum store_status
commit_multipart(struct s3_writer *w, const char *key)
{
	struct s3_store *st = w->st;
	struct request rq;
	struct answer a = { 0 };

	/* If-None-Match on the completion is not honoured by every server:
	 * look first (a racing writer of the same random id is a bug). */
	request_init(&rq, "HEAD", key);
	enum store_status s = send_request(st, &rq, &a, "look for object");
	answer_done(&a);
	if (s == STORE_OK) {
		set_error("store object: the object exists");
		return STORE_EXISTS;
	}
	if (s != STORE_NOT_FOUND)
		return s;

	request_init(&rq, "POST", key);
	rq.query = "uploads=";
	s = send_request(st, &rq, &a, "start multipart upload");
	if (s != STORE_OK) {
		answer_done(&a);
		return s;
	}
	char *upload_id = xml_take(a.text->str, NULL, "UploadId");
	answer_done(&a);
	if (upload_id == NULL) {
		set_error("start multipart upload: no UploadId in the answer");
		return STORE_IO;
	}
	char *eid = curl_easy_escape(NULL, upload_id, 0);
	GString *done = g_string_new("<CompleteMultipartUpload>");
	unsigned part = 0;
	for (uint64_t off = 0; off < w->size && s == STORE_OK; off += S3_PART_SIZE) {
		char q[512];
		part++;
		snprintf(q, sizeof q, "partNumber=%u&uploadId=%s", part, eid);
		request_init(&rq, "PUT", key);
		rq.query = q;
		rq.fd = w->fd;
		rq.off = off;
		rq.len = w->size - off < S3_PART_SIZE ? w->size - off :
		    S3_PART_SIZE;
		s = send_request(st, &rq, &a, "upload part");
		if (s == STORE_OK && a.etag[0] == '\0') {
			set_error("upload part: no ETag in the answer");
			s = STORE_IO;
		}
		if (s == STORE_OK)
			g_string_append_printf(done, "<Part><PartNumber>%u"
			    "</PartNumber><ETag>%s</ETag></Part>", part, a.etag);
		answer_done(&a);
	}
	g_string_append(done, "</CompleteMultipartUpload>");
	if (s == STORE_OK) {
		char q[512];
		snprintf(q, sizeof q, "uploadId=%s", eid);
		request_init(&rq, "POST", key);
		rq.query = q;
		rq.body = done->str;
		rq.body_len = done->len;
		rq.if_none_match = true;
		s = send_request(st, &rq, &a, "complete multipart upload");
		/* A 200 may still carry an error (S3 sends it late). */
		if (s == STORE_OK && a.text != NULL &&
		    strstr(a.text->str, "<Error>") != NULL) {
			char *code = xml_take(a.text->str, NULL, "Code");
			set_error("complete multipart upload: %s",
			    code != NULL ? code : "error");
			g_free(code);
			s = STORE_IO;
		}
		answer_done(&a);
	}
	if (s != STORE_OK) {
		char saved[sizeof s3_last_error];
		memcpy(saved, s3_last_error, sizeof saved);
		(void)abort_upload(st, key, upload_id);
		memcpy(s3_last_error, saved, sizeof saved);
	}
	curl_free(eid);
	g_free(upload_id);
	g_string_free(done, TRUE);
	return s;
}

static enum store_status
s3_commit(struct store_writer *ww)
{
	struct s3_writer *w = (struct s3_writer *)ww;
	char key[S3_KEY_MAX];
	enum store_status s;

	full_key(w->st, &w->id, S3_OBJECT_SUFFIX, key);
	if (w->size > S3_MULTIPART_MIN) {
		s = commit_multipart(w, key);
	} else {
		struct request rq;
		struct answer a = { 0 };
		request_init(&rq, "PUT", key);
		rq.fd = w->fd;
		rq.len = w->size;
		rq.if_none_match = true;
		s = send_request(w->st, &rq, &a, "store object");
		answer_done(&a);
	}
	s3_abort(ww);
	return s;
}

/* ---- reading ---- */

static enum store_status
s3_read_open(struct store *s, const struct storage_id *id,
    struct store_reader **out)
{
	struct s3_store *st = (struct s3_store *)s;
	struct s3_reader *r = calloc(1, sizeof *r);

	*out = NULL;
	if (r == NULL || (r->buf = malloc(S3_READ_CHUNK)) == NULL) {
		free(r);
		set_error("out of memory");
		return STORE_NOMEM;
	}
	r->base.ops = &store_s3_ops;
	r->st = st;
	full_key(st, id, S3_OBJECT_SUFFIX, r->key);
	enum store_status rc = get_range(st, r->key, 0, S3_READ_CHUNK, r->buf,
	    &r->blen, &r->size, "read object");
	if (rc == STORE_OK)
		rc = get_head_overlay(st, id, r->head, &r->head_len);
	if (rc != STORE_OK) {
		free(r->buf);
		free(r);
		return rc;
	}
	overlay(r->head, r->head_len, 0, r->buf, r->blen);
	*out = &r->base;
	return STORE_OK;
}

static long
s3_read(struct store_reader *rr, void *buf, size_t len)
{
	struct s3_reader *r = (struct s3_reader *)rr;

	if (r->bpos == r->blen) {
		uint64_t next = r->pos + r->blen;
		if (next >= r->size)
			return 0;
		uint64_t total = 0;
		size_t want = r->size - next < S3_READ_CHUNK ?
		    (size_t)(r->size - next) : S3_READ_CHUNK;
		r->pos = next;
		r->bpos = r->blen = 0;
		if (get_range(r->st, r->key, next, want, r->buf, &r->blen,
		    &total, "read object") != STORE_OK)
			return -1;
		if (total != r->size || r->blen == 0) {
			set_error("read object: the object changed while read");
			return -1;
		}
		overlay(r->head, r->head_len, r->pos, r->buf, r->blen);
	}
	size_t n = r->blen - r->bpos;
	if (n > len)
		n = len;
	if (n > LONG_MAX)
		n = LONG_MAX;
	memcpy(buf, r->buf + r->bpos, n);
	r->bpos += n;
	return (long)n;
}

static void
s3_read_close(struct store_reader *rr)
{
	struct s3_reader *r = (struct s3_reader *)rr;
	free(r->buf);
	free(r);
}

/* The ETag of the object (from the ranged GET of its head) and of its
 * patched header ("-" when it has none). */
static enum store_status
s3_object_version(struct store *s, const struct storage_id *id,
    unsigned char *buf, size_t len, char version[STORE_VERSION_MAX])
{
	struct s3_store *st = (struct s3_store *)s;
	char key[S3_KEY_MAX];
	unsigned char head[S3_PATCH_MAX];
	struct request rq;
	struct answer a = { .buf = buf, .cap = len };
	char range[64];

	if (len == 0 || len > S3_PATCH_MAX) {
		set_error("version: header length out of range");
		return STORE_IO;
	}
	full_key(st, id, S3_OBJECT_SUFFIX, key);
	request_init(&rq, "GET", key);
	snprintf(range, sizeof range, "0-%zu", len - 1);
	rq.range = range;
	enum store_status rc = send_request(st, &rq, &a, "read object");
	answer_done(&a);
	if (rc != STORE_OK)
		return rc;
	if (a.len != len || a.etag[0] == '\0') {
		set_error("read object: shorter than its header, or no ETag");
		return STORE_IO;
	}
	char obj_etag[sizeof a.etag];
	memcpy(obj_etag, a.etag, sizeof obj_etag);

	struct answer h = { .buf = head, .cap = S3_PATCH_MAX };
	full_key(st, id, S3_HEAD_SUFFIX, key);
	request_init(&rq, "GET", key);
	rc = send_request(st, &rq, &h, "read header");
	answer_done(&h);
	if (rc == STORE_NOT_FOUND) {
		h.len = 0;
		strcpy(h.etag, "-");
	} else if (rc != STORE_OK) {
		return rc;
	}
	overlay(head, h.len, 0, buf, len);
	snprintf(version, STORE_VERSION_MAX, "s3:%s:%s", obj_etag, h.etag);
	return STORE_OK;
}

static enum store_status
s3_read_head(struct store *s, const struct storage_id *id, void *buf,
    size_t len, size_t *got)
{
	struct s3_store *st = (struct s3_store *)s;
	char key[S3_KEY_MAX];
	unsigned char head[S3_PATCH_MAX];
	size_t head_len;

	full_key(st, id, S3_OBJECT_SUFFIX, key);
	enum store_status rc = get_range(st, key, 0, len, buf, got, NULL,
	    "read object");
	if (rc == STORE_OK)
		rc = get_head_overlay(st, id, head, &head_len);
	if (rc == STORE_OK)
		overlay(head, head_len, 0, buf, *got);
	return rc;
}

/* Objects are immutable; keep and revoke change the header. The patched
 * beginning of the object (at most S3_PATCH_MAX bytes) is kept in a small
 * second object, ID.head, that every reader lays over the object's first
 * bytes. Overwriting it is the only overwrite this backend does; a reader
 * sees the old or the new one whole. A server-side copy with the header
 * replaced is not possible in S3 (a copy replaces metadata, not bytes),
 * and rewriting the whole object to change 8 bytes costs its size. The
 * readers' checks are unchanged: the expiry read from the patched header
 * is still capped at created + MaxRetention, created coming from the same
 * header, exactly as with a patched file of the fs backend. */
static enum store_status
s3_patch(struct store *s, const struct storage_id *id, uint64_t off,
    const void *buf, size_t len)
{
	struct s3_store *st = (struct s3_store *)s;
	unsigned char head[S3_PATCH_MAX];
	size_t head_len = 0, got = 0;
	char key[S3_KEY_MAX];
	uint64_t size = 0;

	if (off > S3_PATCH_MAX || len > S3_PATCH_MAX - off) {
		set_error("patch: only the first %u bytes of an object may "
		    "change", S3_PATCH_MAX);
		return STORE_IO;
	}
	full_key(st, id, S3_OBJECT_SUFFIX, key);
	size_t want = (size_t)(off + len);
	enum store_status rc = get_range(st, key, 0, want, head, &got, &size,
	    "read object");
	if (rc != STORE_OK)
		return rc;
	if (got < want) {
		set_error("patch: beyond the end of the object");
		return STORE_IO;
	}
	unsigned char old[S3_PATCH_MAX];
	size_t old_len = 0;
	rc = get_head_overlay(st, id, old, &old_len);
	if (rc != STORE_OK)
		return rc;
	if (old_len > want) {
		/* Keep what an earlier patch changed further on. */
		memcpy(head + want, old + want, old_len - want);
		memcpy(head, old, want);
		head_len = old_len;
	} else {
		overlay(old, old_len, 0, head, want);
		head_len = want;
	}
	memcpy(head + off, buf, len);

	int fd = memory_file(st, head, head_len);
	if (fd < 0) {
		set_error("patch: spool file in %s: %s", st->spool_dir,
		    strerror(errno));
		return STORE_IO;
	}
	struct request rq;
	struct answer a = { 0 };
	full_key(st, id, S3_HEAD_SUFFIX, key);
	request_init(&rq, "PUT", key);
	rq.fd = fd;
	rq.len = head_len;
	rc = send_request(st, &rq, &a, "store header");
	answer_done(&a);
	close(fd);
	return rc;
}

static enum store_status
remove_id(struct s3_store *st, const struct storage_id *id, bool check,
    bool head)
{
	char key[S3_KEY_MAX];
	enum store_status rc;

	if (check) {
		struct request rq;
		struct answer a = { 0 };
		full_key(st, id, S3_OBJECT_SUFFIX, key);
		request_init(&rq, "HEAD", key);
		rc = send_request(st, &rq, &a, "delete object");
		answer_done(&a);
		if (rc != STORE_OK)
			return rc;
	}
	/* The header first: an object without its patched header would be
	 * read with its original expiry. */
	if (head) {
		full_key(st, id, S3_HEAD_SUFFIX, key);
		rc = delete_key(st, key, "delete header");
		if (rc != STORE_OK && rc != STORE_NOT_FOUND)
			return rc;
	}
	full_key(st, id, S3_OBJECT_SUFFIX, key);
	return delete_key(st, key, "delete object");
}

static enum store_status
s3_remove(struct store *s, const struct storage_id *id)
{
	/* S3 answers 204 to the DELETE of a missing key: look first, so
	 * that a missing object is STORE_NOT_FOUND as with fs. */
	return remove_id((struct s3_store *)s, id, true, true);
}

/* ---- listing ---- */

static enum store_status
s3_entry_size(struct store_entry *ee, uint64_t *size)
{
	*size = ((struct s3_entry *)ee)->size;
	return STORE_OK;
}

/* Sends the batch as one DeleteObjects request and gives each object's
 * result to its done. The answer names every key, under <Deleted> or
 * under <Error> with S3's code; a key it does not name failed. Headers go
 * one batch after their objects, and only those whose object went: S3
 * does not order the deletes of one request, and an object left without
 * its patched header (revoked, kept) would be read with its original
 * expiry. So does the read state (the listing shows it only after its
 * object, so it is always asked for: S3 reports a key that is not there
 * as deleted). A companion whose delete fails is left to the lifecycle
 * rule, as a header written by a keep after the listing. Content-MD5 is required by
 * S3 for this request; MD5 is GLib's, only for that header. */
static void
batch_send(struct s3_batch *b)
{
	struct s3_store *st = b->st;
	enum store_status res[S3_BATCH_MAX];
	char *why[S3_BATCH_MAX];
	char key[S3_KEY_MAX];
	GString *body = g_string_sized_new(64 + b->n * 96);
	GHashTable *index = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, NULL);

	g_string_append(body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete><Quiet>false</Quiet>");
	for (size_t i = 0; i < b->n; i++) {
		full_key(st, &b->d[i].id, b->d[i].kind == S3_DEL_HEAD ?
		    S3_HEAD_SUFFIX : b->d[i].kind == S3_DEL_READ ?
		    READSTATE_SUFFIX : S3_OBJECT_SUFFIX, key);
		/* Keys are [A-Za-z0-9/._-]: nothing to escape. */
		g_string_append_printf(body, "<Object><Key>%s</Key></Object>",
		    key);
		g_hash_table_insert(index, g_strdup(key), GSIZE_TO_POINTER(i + 1));
		res[i] = STORE_IO;
		why[i] = NULL;
	}
	g_string_append(body, "</Delete>");

	guint8 md5[16];
	gsize md5_len = sizeof md5;
	GChecksum *ck = g_checksum_new(G_CHECKSUM_MD5);
	g_checksum_update(ck, (const guchar *)body->str, (gssize)body->len);
	g_checksum_get_digest(ck, md5, &md5_len);
	g_checksum_free(ck);
	char *md5_b64 = g_base64_encode(md5, md5_len);

	struct request rq;
	struct answer a = { 0 };
	request_init(&rq, "POST", NULL);
	rq.query = "delete=";
	rq.body = body->str;
	rq.body_len = body->len;
	rq.content_md5 = md5_b64;
	enum store_status rc = send_request(st, &rq, &a, "delete objects");
	if (rc != STORE_OK) {
		for (size_t i = 0; i < b->n; i++) {
			res[i] = rc;
			why[i] = g_strdup(s3_last_error);
		}
	} else {
		const char *p = a.text->str;
		char *d;
		while ((d = xml_take(a.text->str, &p, "Deleted")) != NULL) {
			char *k = xml_take(d, NULL, "Key");
			size_t i = k != NULL ? GPOINTER_TO_SIZE(
			    g_hash_table_lookup(index, k)) : 0;
			if (i > 0)
				res[i - 1] = STORE_OK;
			g_free(k);
			g_free(d);
		}
		p = a.text->str;
		while ((d = xml_take(a.text->str, &p, "Error")) != NULL) {
			char *k = xml_take(d, NULL, "Key");
			char *code = xml_take(d, NULL, "Code");
			char *msg = xml_take(d, NULL, "Message");
			size_t i = k != NULL ? GPOINTER_TO_SIZE(
			    g_hash_table_lookup(index, k)) : 0;
			if (i > 0) {
				res[i - 1] = STORE_IO;
				g_free(why[i - 1]);
				why[i - 1] = g_strdup_printf("delete object: %s%s%s",
				    code != NULL ? code : "error",
				    msg != NULL && msg[0] != '\0' ? ": " : "",
				    msg != NULL ? msg : "");
			}
			g_free(k);
			g_free(code);
			g_free(msg);
			g_free(d);
		}
		for (size_t i = 0; i < b->n; i++)
			if (res[i] != STORE_OK && why[i] == NULL)
				why[i] = g_strdup("delete object: not named in "
				    "the DeleteObjects answer");
	}
	answer_done(&a);
	g_free(md5_b64);
	g_string_free(body, TRUE);
	g_hash_table_destroy(index);

	size_t n = b->n;
	struct s3_delete *sent = g_memdup2(b->d, n * sizeof b->d[0]);
	b->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (sent[i].kind != S3_DEL_OBJECT) {
			g_free(why[i]);
			continue;
		}
		if (res[i] == STORE_OK) {
			/* Up to two companions per object: the batch may fill. */
			if (b->n + 2 > S3_BATCH_MAX)
				batch_send(b);
			if (sent[i].has_head)
				b->d[b->n++] = (struct s3_delete){ sent[i].id,
				    0, S3_DEL_HEAD, false, NULL, NULL };
			b->d[b->n++] = (struct s3_delete){ sent[i].id, 0,
			    S3_DEL_READ, false, NULL, NULL };
		}
		if (why[i] != NULL)
			set_error("%s", why[i]);
		sent[i].done(&sent[i].id, sent[i].size, res[i], why[i],
		    sent[i].ctx);
		g_free(why[i]);
	}
	g_free(sent);
}

/* What is left in the walk's batch goes, then the batch. The walk's own
 * error stays the one store_error gives. */
static void
batch_finish(struct s3_batch *b)
{
	char saved[sizeof s3_last_error];

	if (b == NULL)
		return;
	memcpy(saved, s3_last_error, sizeof saved);
	while (b->n > 0)
		batch_send(b);
	memcpy(s3_last_error, saved, sizeof saved);
	free(b);
}

static enum store_status
s3_entry_delete_batched(struct store_entry *ee, const struct storage_id *id,
    store_delete_done_fn done, void *ctx)
{
	struct s3_entry *e = (struct s3_entry *)ee;

	(void)id;
	if (*e->batch == NULL) {
		*e->batch = calloc(1, sizeof **e->batch);
		if (*e->batch == NULL) {
			set_error("delete object: out of memory");
			return STORE_NOMEM;
		}
		(*e->batch)->st = e->st;
	}
	struct s3_batch *b = *e->batch;
	if (b->n == S3_BATCH_MAX)
		batch_send(b);
	b->d[b->n++] = (struct s3_delete){ *e->id, e->size, S3_DEL_OBJECT,
	    e->has_head, done, ctx };
	if (b->n == S3_BATCH_MAX)
		batch_send(b);
	return STORE_OK;
}

static enum store_status
s3_entry_delete(struct store_entry *ee)
{
	struct s3_entry *e = (struct s3_entry *)ee;
	/* One request per object unless the listing showed a header object
	 * (kept or revoked): a header written by a keep after the listing is
	 * left, and the lifecycle rule's backstop removes it. */
	return remove_id(e->st, e->id, false, e->has_head);
}

/* The storage id a listed key names, with its kind: 1 object, 2 header,
 * 0 neither (not ours). */
static int
key_id(const struct s3_store *st, const char *key, struct storage_id *id)
{
	size_t pl = strlen(st->prefix);
	if (strncmp(key, st->prefix, pl) != 0)
		return 0;
	key += pl;
	if (strlen(key) != STORAGE_ID_HEX_LEN + 5)
		return 0;
	char hex[STORAGE_ID_HEX_LEN + 1];
	memcpy(hex, key, STORAGE_ID_HEX_LEN);
	hex[STORAGE_ID_HEX_LEN] = '\0';
	if (storage_id_parse(hex, id) != 0)
		return 0;
	if (strcmp(key + STORAGE_ID_HEX_LEN, S3_OBJECT_SUFFIX) == 0)
		return 1;
	if (strcmp(key + STORAGE_ID_HEX_LEN, S3_HEAD_SUFFIX) == 0)
		return 2;
	return 0;
}

/* ListObjectsV2 a thousand keys a page (memory: one page), with a ranged
 * GET of each object's head. Each of nparts parts lists the whole prefix
 * and keeps the ids whose first byte falls to it (gc's workers then fetch
 * heads and delete in parallel); a listing costs one request per thousand
 * keys, small beside the per-object requests. store_entry_delete is one
 * request per object (two with a header object); store_entry_delete_batched
 * gathers up to a thousand keys per DeleteObjects request (memory: one
 * batch per walk), sent when full and at the end of the walk. */
static enum store_status
s3_scan(struct store *s, unsigned part, unsigned nparts, size_t head_max,
    store_scan_fn fn, void *ctx)
{
	struct s3_store *st = (struct s3_store *)s;
	char *token = NULL;
	/* The last header key listed: it comes just before its object. */
	struct storage_id with_head = { { 0 } };
	struct s3_batch *batch = NULL;
	enum store_status rc = STORE_OK;
	unsigned char head[STORE_SCAN_HEAD_MAX];
	char *eprefix = curl_easy_escape(NULL, st->prefix, 0);

	do {
		GString *q = g_string_new(NULL);
		if (token != NULL) {
			char *et = curl_easy_escape(NULL, token, 0);
			g_string_append_printf(q, "continuation-token=%s&", et);
			curl_free(et);
		}
		g_string_append_printf(q, "list-type=2&max-keys=1000&prefix=%s",
		    eprefix);
		struct request rq;
		struct answer a = { 0 };
		request_init(&rq, "GET", NULL);
		rq.query = q->str;
		rc = send_request(st, &rq, &a, "list objects");
		g_string_free(q, TRUE);
		g_free(token);
		token = NULL;
		if (rc != STORE_OK) {
			answer_done(&a);
			break;
		}
		const char *p = a.text->str;
		char *c;
		while (rc == STORE_OK &&
		    (c = xml_take(a.text->str, &p, "Contents")) != NULL) {
			char *key = xml_take(c, NULL, "Key");
			char *sz = xml_take(c, NULL, "Size");
			struct storage_id id;
			int kind = key != NULL ? key_id(st, key, &id) : 0;
			if (kind == 2)
				with_head = id;
			if (kind == 1 && strtoul((char[3]){ id.hex[0], id.hex[1],
			    0 }, NULL, 16) % nparts == part) {
				struct s3_entry e = { { &store_s3_ops }, st, &id,
				    sz != NULL ? g_ascii_strtoull(sz, NULL, 10) : 0,
				    strcmp(with_head.hex, id.hex) == 0, &batch };
				size_t hl = 0;
				enum store_status hs = STORE_OK;
				if (head_max > 0) {
					hs = get_range(st, key, 0, head_max, head,
					    &hl, NULL, "read object");
					if (hs == STORE_OK &&
					    strcmp(with_head.hex, id.hex) == 0) {
						unsigned char o[S3_PATCH_MAX];
						size_t ol;
						hs = get_head_overlay(st, &id, o, &ol);
						if (hs == STORE_OK)
							overlay(o, ol, 0, head, hl);
					}
					if (hs == STORE_NOT_FOUND) {
						/* Removed meanwhile. */
						g_free(key);
						g_free(sz);
						g_free(c);
						continue;
					}
					if (hs != STORE_OK) {
						hs = STORE_IO;
						hl = 0;
					}
				}
				if (fn(&e.base, &id, head, hl, hs, ctx) != 0)
					rc = STORE_STOP;
			}
			g_free(key);
			g_free(sz);
			g_free(c);
		}
		char *trunc = xml_take(a.text->str, NULL, "IsTruncated");
		if (rc == STORE_OK && trunc != NULL && strcmp(trunc, "true") == 0)
			token = xml_take(a.text->str, NULL,
			    "NextContinuationToken");
		g_free(trunc);
		answer_done(&a);
	} while (token != NULL);
	g_free(token);
	curl_free(eprefix);
	batch_finish(batch);
	return rc;
}

/* Multipart uploads left by a crashed writer (started more than max_age
 * seconds ago) are aborted; their parts cost storage until then. */
static enum store_status
s3_cleanup_tmp(struct store *s, int64_t max_age, bool dry_run,
    unsigned long *removed)
{
	struct s3_store *st = (struct s3_store *)s;
	char *key_marker = NULL, *id_marker = NULL;
	char *eprefix = curl_easy_escape(NULL, st->prefix, 0);
	enum store_status rc = STORE_OK;
	time_t now = time(NULL);

	*removed = 0;
	do {
		GString *q = g_string_new(NULL);
		if (key_marker != NULL) {
			char *e = curl_easy_escape(NULL, key_marker, 0);
			g_string_append_printf(q, "key-marker=%s&", e);
			curl_free(e);
		}
		g_string_append_printf(q, "prefix=%s&", eprefix);
		if (id_marker != NULL) {
			char *e = curl_easy_escape(NULL, id_marker, 0);
			g_string_append_printf(q, "upload-id-marker=%s&", e);
			curl_free(e);
		}
		g_string_append(q, "uploads=");
		g_free(key_marker);
		g_free(id_marker);
		key_marker = id_marker = NULL;
		struct request rq;
		struct answer a = { 0 };
		request_init(&rq, "GET", NULL);
		rq.query = q->str;
		rc = send_request(st, &rq, &a, "list uploads");
		g_string_free(q, TRUE);
		if (rc != STORE_OK) {
			answer_done(&a);
			break;
		}
		const char *p = a.text->str;
		char *u;
		while (rc == STORE_OK &&
		    (u = xml_take(a.text->str, &p, "Upload")) != NULL) {
			char *key = xml_take(u, NULL, "Key");
			char *uid = xml_take(u, NULL, "UploadId");
			char *when = xml_take(u, NULL, "Initiated");
			struct tm tm = { 0 };
			struct storage_id id;
			if (key != NULL && uid != NULL && when != NULL &&
			    key_id(st, key, &id) == 1 &&
			    strptime(when, "%Y-%m-%dT%H:%M:%S", &tm) != NULL &&
			    (int64_t)(now - timegm(&tm)) >= max_age) {
				if (dry_run)
					(*removed)++;
				else if (abort_upload(st, key, uid) == STORE_OK)
					(*removed)++;
			}
			g_free(key);
			g_free(uid);
			g_free(when);
			g_free(u);
		}
		char *trunc = xml_take(a.text->str, NULL, "IsTruncated");
		if (trunc != NULL && strcmp(trunc, "true") == 0) {
			key_marker = xml_take(a.text->str, NULL, "NextKeyMarker");
			id_marker = xml_take(a.text->str, NULL,
			    "NextUploadIdMarker");
		}
		g_free(trunc);
		answer_done(&a);
	} while (key_marker != NULL && id_marker != NULL);
	g_free(key_marker);
	g_free(id_marker);
	curl_free(eprefix);
	return rc;
}

/* ---- read state ----
 *
 * One small object per message, PREFIX + storage id + ".read", holding the
 * bytes of the fs record file (readstate.h: two checksummed slots, the
 * newer valid one is the state). A PUT replaces an object whole, so a
 * crash cannot tear it; the two slots are kept only so that the bytes are
 * those of the fs file (the older slot is the state before the last
 * update). It is not listed by scan (key_id ignores it); gc removes it
 * with its object (the batch's companions, batch_send), as fs does.
 *
 * An update is an optimistic read, change and conditional write: the PUT
 * carries If-Match with the ETag read (If-None-Match: * when there was no
 * record), and a 412 (another responder, maybe on another machine, wrote
 * in between) starts over from a fresh read, up to S3_READSTATE_TRIES
 * times, with a random pause of up to 4 ms doubling with each try (to
 * 512 ms). Two updates cannot both be written from the same state, so a
 * count is not lost and a receipt is claimed at most once (tested on
 * radosgw: 6 processes of 15 updates each give exactly 90). An update
 * still refused after the last try fails (the fetch is not counted, a
 * receipt not sent).
 *
 * radosgw 16.2 compares If-Match with the ETag it stores, which is
 * unquoted: the quoted form of RFC 9110 (what AWS S3 documents) never
 * matches there and always answers 412. The quoted form is sent first;
 * a 412 after which the record's ETag is still the one sent shows the
 * server wants the other form, and the process switches to it (both ways,
 * for every later update). The ETag of a record is the MD5 of its bytes,
 * which carry an increasing sequence number, so an ETag does not come
 * back after a change.
 *
 * What is not exact: when the answer to a PUT that the server did apply
 * is lost (a timeout, a dropped connection) send_request sends it again,
 * which gets 412, and the update is applied once more on the new state: a
 * count may be one too high; a receipt claim then finds itself already
 * decided and answers so (the receipt is not sent, never sent twice). */
#define S3_READSTATE_TRIES 32

static int s3_if_match_bare;    /* 0: "etag", 1: etag (radosgw) */

/* The record of id: its bytes into buf (*len, at most a whole fs file),
 * its ETag unquoted; *found false (and STORE_OK) when there is none. */
static enum store_status
readstate_fetch(struct s3_store *st, const char *key,
    unsigned char buf[READSTATE_FILE_SIZE], size_t *len,
    char etag[128], bool *found)
{
	struct request rq;
	struct answer a = { .buf = buf, .cap = READSTATE_FILE_SIZE };

	*len = 0;
	*found = false;
	etag[0] = '\0';
	request_init(&rq, "GET", key);
	enum store_status s = send_request(st, &rq, &a, "read the read state");
	answer_done(&a);
	if (s == STORE_NOT_FOUND)
		return STORE_OK;
	if (s != STORE_OK)
		return s;
	*len = a.len;
	*found = true;
	const char *e = a.etag;
	size_t n = strlen(e);
	if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
		e++;
		n -= 2;
	}
	if (n == 0 || n >= 128 || strcspn(e, "\"\r\n") < n) {
		set_error("read the read state: no usable ETag in the answer");
		return STORE_IO;
	}
	memcpy(etag, e, n);
	etag[n] = '\0';
	return STORE_OK;
}

static enum store_status
s3_readstate_get(struct store *s, const struct storage_id *id,
    struct readstate *rs, bool *found)
{
	struct s3_store *st = (struct s3_store *)s;
	char key[S3_KEY_MAX], etag[128];
	unsigned char buf[READSTATE_FILE_SIZE];
	size_t len;
	uint64_t seq;
	unsigned slot;

	memset(rs, 0, sizeof *rs);
	full_key(st, id, READSTATE_SUFFIX, key);
	enum store_status rc = readstate_fetch(st, key, buf, &len, etag,
	    found);
	if (rc == STORE_OK && *found)
		readstate_pick(buf, len, rs, &seq, &slot);
	return rc;
}

static enum store_status
s3_readstate_update(struct store *s, const struct storage_id *id,
    readstate_update_fn fn, void *ctx, bool durable, int *declined)
{
	struct s3_store *st = (struct s3_store *)s;
	char key[S3_KEY_MAX], etag[128], sent[132];
	unsigned char buf[READSTATE_FILE_SIZE];

	/* A PUT is answered once the gateway has stored it. */
	(void)durable;
	*declined = 0;
	full_key(st, id, READSTATE_SUFFIX, key);
	sent[0] = '\0';
	for (unsigned t = 0; t < S3_READSTATE_TRIES; t++) {
		size_t len;
		bool found;
		struct readstate rs;
		uint64_t seq;
		unsigned slot;

		memset(buf, 0, sizeof buf);
		enum store_status rc = readstate_fetch(st, key, buf, &len, etag,
		    &found);
		if (rc != STORE_OK)
			return rc;
		if (found && sent[0] != '\0' && strcmp(etag, sent) == 0) {
			/* Refused although nothing changed: the other
			 * form of ETag (see above). */
			__atomic_store_n(&s3_if_match_bare,
			    !__atomic_load_n(&s3_if_match_bare,
			    __ATOMIC_RELAXED), __ATOMIC_RELAXED);
		}
		readstate_pick(buf, len, &rs, &seq, &slot);
		int d = fn(&rs, ctx);
		if (d != 0) {
			*declined = d;
			return STORE_OK;
		}
		if (len < sizeof buf)   /* a short or foreign record */
			memset(buf + len, 0, sizeof buf - len);
		readstate_encode(&rs, seq + 1, buf + slot * READSTATE_SLOT_SIZE);

		int fd = memory_file(st, buf, sizeof buf);
		if (fd < 0) {
			set_error("update the read state: spool file: %s",
			    strerror(errno));
			return STORE_IO;
		}
		struct request rq;
		struct answer a = { 0 };
		char cond[132];
		request_init(&rq, "PUT", key);
		rq.fd = fd;
		rq.len = sizeof buf;
		if (found) {
			snprintf(cond, sizeof cond, __atomic_load_n(
			    &s3_if_match_bare, __ATOMIC_RELAXED) ? "%s" :
			    "\"%s\"", etag);
			rq.if_match = cond;
			g_strlcpy(sent, etag, sizeof sent);
		} else {
			rq.if_none_match = true;
			sent[0] = '\0';
		}
		rc = send_request(st, &rq, &a, "update the read state");
		answer_done(&a);
		close(fd);
		if (rc == STORE_OK)
			return STORE_OK;
		/* 412: written by another meanwhile; 404: If-Match on a
		 * record removed meanwhile (AWS). Read again. */
		if (rc != STORE_EXISTS && rc != STORE_NOT_FOUND)
			return rc;
		unsigned ms = 1 + randombytes_uniform(4u << (t < 7 ? t : 7));
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	set_error("update the read state: still changed by others after %u "
	    "tries", S3_READSTATE_TRIES);
	return STORE_IO;
}

static enum store_status
s3_readstate_remove(struct store *s, const struct storage_id *id)
{
	struct s3_store *st = (struct s3_store *)s;
	char key[S3_KEY_MAX];

	full_key(st, id, READSTATE_SUFFIX, key);
	enum store_status rc = delete_key(st, key, "delete the read state");
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

const struct store_ops store_s3_ops = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.error = s3_error,
	.write_begin = s3_write_begin,
	.write = s3_write,
	.write_at = s3_write_at,
	.commit = s3_commit,
	.abort = s3_abort,
	.read_open = s3_read_open,
	.read = s3_read,
	.read_close = s3_read_close,
	.read_head = s3_read_head,
	.patch = s3_patch,
	.remove = s3_remove,
	.cleanup_tmp = s3_cleanup_tmp,
	.scan = s3_scan,
	.entry_size = s3_entry_size,
	.entry_delete = s3_entry_delete,
	.entry_delete_batched = s3_entry_delete_batched,
	.object_version = s3_object_version,
	.readstate_get = s3_readstate_get,
	.readstate_update = s3_readstate_update,
	.readstate_remove = s3_readstate_remove,
};
