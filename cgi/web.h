/* The retriever's request handler, independent of CGI and FastCGI: main.c
 * fills a struct web_request from the server's parameters and writes the
 * struct web_response back; tests call web_handle() directly. */
#ifndef PULLMAIL_WEB_H
#define PULLMAIL_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "headers.h"
#include "readstate.h"
#include "sealed.h"
#include "store.h"
#include "token.h"

#define WEB_MAX_BODY 4096            /* POST /keep carries no data */
/* How long the body of a POST /keep may take to arrive, in all. */
#define WEB_BODY_TIMEOUT_MS 5000
#define WEB_MAX_MESSAGE (256u << 20) /* largest object opened */

/* The store behind the handler: the real one in backend.c (sealed_open,
 * sealed_keep); tests may supply their own. */
struct web_backend {
	/* *plain stays valid until plain_free. */
	enum sealed_status (*open)(void *ctx, const struct token *t,
	    int64_t now, struct envelope_meta *meta,
	    const unsigned char **plain, size_t *plain_len,
	    enum envelope_status *detail);
	void (*plain_free)(void *ctx, const unsigned char *plain, size_t len);
	/* The header checks of open without the decryption (sealed_state). */
	enum sealed_status (*state)(void *ctx, const struct token *t,
	    int64_t now, struct envelope_meta *meta);
	enum sealed_status (*keep)(void *ctx, const struct storage_id *id,
	    int64_t new_expires, int64_t *set);
	void *ctx;
	/* The read state (store.h, readstate.h); NULL: none is kept (a
	 * test's backend, or a store without it). record counts one fetch;
	 * a failure is logged (once per process), never shown to the
	 * reader. */
	void (*record)(void *ctx, const struct storage_id *id,
	    enum readstate_route route, int64_t now);
	/* store_readstate_receipt_claim / _undo / _rate_take. */
	enum store_status (*receipt_claim)(void *ctx,
	    const struct storage_id *id, enum readstate_receipt decision,
	    int64_t now, enum readstate_receipt *prior);
	void (*receipt_undo)(void *ctx, const struct storage_id *id);
	bool (*receipt_rate_take)(void *ctx, int64_t now);
};

struct page_cache;
struct pagefile_request;
struct web_response;

/* Read-only after start-up (but for the cache it points to); shared by
 * every request. */
struct web_env {
	const char *path_prefix;       /* "/m/" */
	int64_t keep_extension;        /* seconds */
	int64_t max_retention;         /* seconds */
	bool allow_remote_images;
	const char *default_language;  /* "en" or "pt-BR" */
	const struct web_backend *backend;
	/* The responder's cache of rendered pages (pagecache.h); NULL: none
	 * (CGI, or [web] PageCache = 0). */
	struct page_cache *page_cache;
	/* Called with each page answered in full to a GET (status 200) and
	 * what it depends on: as CGI, main.c keeps it in PageCacheDir for
	 * pullmail-web (pagefile.h). NULL: nothing is kept. */
	void (*page_rendered)(const struct web_env *env, const struct token *t,
	    const struct storage_id *id, int64_t expires,
	    const struct pagefile_request *rq, const struct web_response *rs);
	void *page_rendered_ctx;
	char style_hash[WEB_STYLE_HASH_MAX];           /* "'sha256-...'" of the page CSS */
	/* Read receipts (RFC 8098, common/mdn.h): the sendmail command
	 * ([web] Sendmail, split like a shell's words; NULL or empty: none
	 * offered) and how many may go per hour from this site. */
	char **sendmail_argv;
	uint64_t receipts_per_hour;
};

/* Borrowed strings (CGI parameters); NULL when absent. */
struct web_request {
	const char *method;
	const char *uri;             /* REQUEST_URI, query included */
	const char *host;            /* HTTP_HOST */
	const char *origin;          /* HTTP_ORIGIN */
	const char *referer;         /* HTTP_REFERER */
	const char *accept_language; /* HTTP_ACCEPT_LANGUAGE */
	const char *content_length;  /* CONTENT_LENGTH */
	const char *server_port;     /* SERVER_PORT */
	/* Reads the request body, waiting at most timeout_ms (> 0) for it:
	 * bytes read, 0 at its end, -1 on error or when nothing came in
	 * time. Called only for a POST that passed every other check. */
	long (*read_body)(void *ctx, void *buf, size_t len, int timeout_ms);
	void *body_ctx;
	int64_t now;                 /* unix seconds */
	/* sodium_malloc memory for the decoded token, kept by the caller
	 * from one request to the next and wiped by web_handle; NULL to
	 * have web_handle allocate it. */
	struct token *token_slot;
};

struct web_response {
	int status;
	GString *headers;   /* "Name: value\r\n" lines, Status excluded */
	GByteArray *body;
	bool head_only;     /* HEAD: headers only */
};

void web_env_init(struct web_env *env);
void web_response_init(struct web_response *rs);
/* The same with an empty body array the caller keeps (set rs->body to
 * NULL before web_response_clear to keep it). */
void web_response_init_with(struct web_response *rs, GByteArray *body);
void web_response_clear(struct web_response *rs);
/* "Status: 200 OK\r\n" + headers + "\r\n". */
void web_response_head(const struct web_response *rs, GString *out);

void web_handle(const struct web_env *env, const struct web_request *rq,
    struct web_response *rs);

/* The backend over a real store (backend.c); ws->backend is ready to use
 * for as long as ws and st live. One request at a time: the decrypted
 * message lives in ws's reader, whose sodium_malloc memory is kept from one
 * request to the next (messages up to WEB_KEEP_BUFFER, so a large
 * download does not map, lock, fault in and unmap its buffer every time)
 * and wiped after each. 0, or -1 when out of memory. */
#define WEB_KEEP_BUFFER (16u << 20)
struct store;
struct web_sealed {
	struct web_backend backend;
	struct store *st;
	int64_t max_retention;
	uint64_t receipts_per_hour;
	bool record_failed;         /* logged once */
	struct envelope_reader *reader;
};
int web_backend_sealed(struct web_sealed *ws, struct store *st,
    int64_t max_retention);
void web_backend_sealed_clear(struct web_sealed *ws);

#endif
