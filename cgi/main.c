/* pullmail-web: one binary, CGI when the web server starts it per request,
 * FastCGI responder when its standard input is a listening socket
 * (libfcgi's fcgiapp). Both fill a struct web_request and hand it to
 * web_handle(); nothing inside the loop exits the process. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <fcgiapp.h>
#include <sodium.h>

#include "config.h"
#include "log.h"
#include "headers.h"
#include "page.h"
#include "pagecache.h"
#include "pagefile.h"
#include "store.h"
#include "token.h"
#include "web.h"

#define WEB_IDENT "pullmail-web"
#define WEB_MAX_WORKERS 256

/* CGI: the body on standard input, read with read(2) (nothing else reads
 * it) after poll(2) says it has come. */
static long
read_stdin(void *ctx, void *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	ssize_t n;

	(void)ctx;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	do
		n = read(0, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : (long)n;
}

/* FastCGI: libfcgi reads the socket itself, so a receive timeout on it
 * bounds each of its reads; one that times out is an error of the
 * request's input (libfcgi then closes the connection at the end). The
 * timeout is taken off again: the connection may carry the next request. */
static long
read_fcgi(void *ctx, void *buf, size_t len, int timeout_ms)
{
	FCGX_Request *req = ctx;
	struct timeval tv = { timeout_ms / 1000, timeout_ms % 1000 * 1000 };
	static const struct timeval none = { 0, 0 };

	if (timeout_ms <= 0 || setsockopt(req->ipcFd, SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof tv) != 0)
		return -1;
	int n = FCGX_GetStr(buf, len > 65536 ? 65536 : (int)len, req->in);
	(void)setsockopt(req->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none,
	    sizeof none);
	return n > 0 ? n : FCGX_GetError(req->in) != 0 ? -1 : 0;
}

/* The request path: REQUEST_URI when the server passes it (borrowed: it
 * holds the token, and a copy would be one more to wipe), else
 * SCRIPT_NAME + PATH_INFO (mod_cgi without REQUEST_URI rewriting), built
 * into *owned for free_request. */
static const char *
request_uri(const char *uri, const char *script, const char *path_info,
    const char *query, char **owned)
{
	*owned = NULL;
	if (uri != NULL && uri[0] != '\0')
		return uri;
	*owned = g_strconcat(script != NULL ? script : "",
	    path_info != NULL ? path_info : "",
	    query != NULL && query[0] != '\0' ? "?" : "",
	    query != NULL ? query : "", NULL);
	return *owned;
}

static void
fill_request(struct web_request *rq, char **envp, char **owned)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = FCGX_GetParam("REQUEST_METHOD", envp);
	rq->uri = request_uri(FCGX_GetParam("REQUEST_URI", envp),
	    FCGX_GetParam("SCRIPT_NAME", envp), FCGX_GetParam("PATH_INFO", envp),
	    FCGX_GetParam("QUERY_STRING", envp), owned);
	rq->host = FCGX_GetParam("HTTP_HOST", envp);
	rq->origin = FCGX_GetParam("HTTP_ORIGIN", envp);
	rq->referer = FCGX_GetParam("HTTP_REFERER", envp);
	rq->accept_language = FCGX_GetParam("HTTP_ACCEPT_LANGUAGE", envp);
	rq->content_length = FCGX_GetParam("CONTENT_LENGTH", envp);
	rq->server_port = FCGX_GetParam("SERVER_PORT", envp);
	rq->now = (int64_t)time(NULL);
}

/* The URI fill_request built, if it built one, wiped and freed. */
static void
free_request(char *owned)
{
	if (owned != NULL)
		sodium_memzero(owned, strlen(owned));
	g_free(owned);
}

/* A response when the program cannot serve at all (no configuration, no
 * store): a 500 page, with the usual headers. */
static void
startup_failure_page(struct web_response *rs, const struct web_env *env)
{
	GString *html = g_string_new(NULL);

	page_error(html, 500, env->default_language);
	rs->status = 500;
	g_string_append(rs->headers, WEB_COMMON_HEADERS
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Security-Policy: default-src 'none'; style-src ");
	g_string_append(rs->headers, env->style_hash);
	g_string_append(rs->headers, "; frame-ancestors 'none'\r\n");
	g_byte_array_append(rs->body, (const guint8 *)html->str, html->len);
	g_string_free(html, TRUE);
}

/* The CGI response on standard output: head, then the body unless HEAD. */
static void
write_cgi_response(const struct web_response *rs, GString *head)
{
	web_response_head(rs, head);
	fwrite(head->str, 1, head->len, stdout);
	if (!rs->head_only)
		fwrite(rs->body->data, 1, rs->body->len, stdout);
	fflush(stdout);
}

/* One CGI request in this many also sweeps PageCacheDir after keeping a
 * page (pagefile_sweep): its size stays near PageCache without a daemon. */
#define DISK_SWEEP_ONE_IN 32
/* Longer Accept-Language values, and queries other than these, are
 * answered but not kept: each would be one more entry of the same page. */
#define DISK_MAX_ACCEPT_LANGUAGE 256

struct disk_pages {
	struct pagefile_scope scope;
	struct store *st;       /* the object's version comes from here */
	uint64_t budget;        /* [web] PageCache */
	bool written;           /* the response is out already */
};

static bool
worth_keeping(const struct pagefile_request *rq)
{
	const char *al = rq->accept_language;
	return (rq->query == NULL || rq->query[0] == '\0' ||
	    strcmp(rq->query, "images=1") == 0) &&
	    (al == NULL || strlen(al) <= DISK_MAX_ACCEPT_LANGUAGE);
}

/* As CGI: a page answered in full is written out, then kept in
 * PageCacheDir, sealed, for pullmail-web to answer next time without this
 * program (pagefile.h): the reader does not wait for the disk. Only the
 * body is kept; pullmail-web writes the head (web_page_head), so a page
 * whose head is not exactly that is not kept. Failing to keep it costs
 * the next reader time, nothing else. */
static void
keep_on_disk(const struct web_env *env, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, const struct web_response *rs)
{
	struct disk_pages *dp = env->page_rendered_ctx;
	GString *head = g_string_new(NULL);
	char fixed[WEB_PAGE_HEAD_MAX];
	struct pagefile_object obj;
	struct pagefile_request r = *rq;

	write_cgi_response(rs, head);
	/* The web server may finish the response: the pipe is closed, and
	 * descriptor 1 and stdout stay valid (/dev/null) for whatever might
	 * still write there. fcgiwrap ends the response only when standard
	 * error is closed too, so it goes the same way unless the log is
	 * there. Apache ends a CGI program that outlives its response with
	 * SIGTERM (and SIGKILL three seconds later): keeping the page takes
	 * milliseconds, let it finish. */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 1);
		if (!log_uses_stderr())
			dup2(null, 2);
		close(null);
	}
	signal(SIGTERM, SIG_IGN);
	dp->written = true;
	/* The program that renders is part of what a page depends on;
	 * /proc/self/exe is this file, as pullmail-web finds it (without
	 * /proc, nothing is kept). */
	web_page_head_id(env->style_hash, dp->scope.head_id);
	if (pagefile_program_id("/proc/self/exe", dp->scope.program_id) != 0)
		goto out;
	int n = web_page_head(fixed, sizeof fixed, env->style_hash,
	    rs->body->len);
	if (n < 0 || (size_t)n != head->len ||
	    memcmp(fixed, head->str, head->len) != 0) {
		log_msg(LOG_ERR, "a page's head differs from the one "
		    "pullmail-web writes: pages are not kept");
		goto out;
	}
	/* The object as it is now must still be the one rendered: readable,
	 * with the same expiry. */
	struct envelope_meta meta;
	memset(&obj, 0, sizeof obj);
	if (!worth_keeping(rq) ||
	    store_object_version(dp->st, id, obj.head, sizeof obj.head,
	    obj.version) != STORE_OK ||
	    envelope_parse_meta(obj.head, sizeof obj.head, &meta) !=
	    ENVELOPE_OK ||
	    sealed_meta_state(&meta, dp->scope.max_retention, 0) != SEALED_OK ||
	    sealed_effective_expiry(&meta, dp->scope.max_retention) != expires)
		goto out;
	r.object = &obj;
	if (pagefile_put(&dp->scope, t, id, expires, &r, rs->body->data,
	    rs->body->len) != 0) {
		log_message(LOG_WARNING, NULL, id, "cannot keep the page in "
		    "%s: %s", dp->scope.dir, strerror(errno));
	} else {
		/* A revoke between the read above and the write would have
		 * removed the entries before this one existed: look again. */
		struct pagefile_object now;
		memset(&now, 0, sizeof now);
		if (store_object_version(dp->st, id, now.head, sizeof now.head,
		    now.version) != STORE_OK ||
		    memcmp(&now, &obj, sizeof now) != 0)
			(void)pagefile_forget(dp->scope.dir, id);
	}
	/* Also after a failure: a full disk may be this directory's doing. */
	if (randombytes_uniform(DISK_SWEEP_ONE_IN) == 0 &&
	    pagefile_sweep(dp->scope.dir, dp->budget, PAGEFILE_MAX_AGE,
	    (int64_t)time(NULL), NULL, NULL) < 0)
		log_msg(LOG_WARNING, "cannot sweep %s: %s", dp->scope.dir,
		    strerror(errno));
out:
	g_string_free(head, TRUE);
}

_Static_assert(CONFIG_DIGEST_BYTES == PAGEFILE_DIGEST_BYTES,
    "cfg->digest is the page caches' configuration digest");

static void
serve_cgi(struct web_env *env, struct store *st, const struct config *cfg,
    bool broken)
{
	extern char **environ;
	struct web_request rq;
	struct web_response rs;
	char *uri = NULL;
	GString *head = g_string_new(NULL);

	struct disk_pages dp;
	/* Which store the pages come from: StoreDir, or the bucket. */
	char *store_name = cfg->store_backend != NULL &&
	    strcmp(cfg->store_backend, "s3") == 0 ?
	    g_strdup_printf("s3:%s/%s/%s", cfg->s3_endpoint ? cfg->s3_endpoint :
	    "", cfg->s3_bucket ? cfg->s3_bucket : "", cfg->s3_prefix ?
	    cfg->s3_prefix : "") : g_strdup(cfg->store_dir);

	fill_request(&rq, environ, &uri);
	rq.read_body = read_stdin;
	if (!broken && cfg->page_cache > 0 && cfg->page_cache_dir != NULL &&
	    cfg->page_cache_dir[0] != '\0') {
		dp.scope.dir = cfg->page_cache_dir;
		memcpy(dp.scope.config_digest, cfg->digest,
		    sizeof dp.scope.config_digest);
		dp.st = st;
		dp.scope.store_dir = store_name;
		dp.scope.max_retention = cfg->max_retention;
		dp.scope.path_prefix = cfg->path_prefix;
		dp.budget = cfg->page_cache;
		dp.written = false;
		env->page_rendered = keep_on_disk;
		env->page_rendered_ctx = &dp;
	}
	web_response_init(&rs);
	if (broken)
		startup_failure_page(&rs, env);
	else
		web_handle(env, &rq, &rs);
	if (env->page_rendered == NULL || !dp.written)
		write_cgi_response(&rs, head);
	g_string_free(head, TRUE);
	if (rs.body->len > 0)
		sodium_memzero(rs.body->data, rs.body->len);   /* decrypted */
	web_response_clear(&rs);
	free_request(uri);
	env->page_rendered = NULL;
	env->page_rendered_ctx = NULL;
	g_free(store_name);
}

/* Whether the request's standard input has been read to its end. A
 * request that announces no body is probed for the end (a GET's empty
 * standard input is already in libfcgi's buffer); one with a body is not:
 * a body the handler left unread, such as one refused, may be still on
 * its way, and the probe would wait for the client. */
static bool
input_at_end(FCGX_Request *req, bool body_announced)
{
	if (FCGX_HasSeenEOF(req->in) == EOF)
		return true;
	if (body_announced)
		return false;
	return FCGX_GetChar(req->in) == EOF;
}

/* The start of libfcgi's private state of a stream (FCGX_Stream_Data in
 * fcgiapp.c, the same from 2.4.0 to 2.4.7; fcgiapp.h only has a void
 * pointer to it): where its buffer is. */
struct fcgx_stream_buffer {
	unsigned char *buff;		/* malloc'd, aligned to 8 */
	int bufflen;			/* what buff holds */
	unsigned char *mBuff;		/* as malloc returned it */
	unsigned char *buffStop;	/* reader: the end of the last read */
};

static bool
within(const unsigned char *p, const unsigned char *lo,
    const unsigned char *hi)
{
	return p >= lo && p <= hi;
}

/* The whole buffer of libfcgi's reader, wiped before libfcgi frees it: it
 * holds the raw FCGI_PARAMS record (REQUEST_URI, SCRIPT_NAME and
 * SCRIPT_FILENAME spell the token). Each read(2) libfcgi does starts again
 * at the buffer's start, so the bytes of an earlier read outlive a shorter
 * later one: when the web server's empty record that ends the parameters
 * arrives in a read of its own (mod_proxy_fcgi writes it separately, and a
 * loaded machine lets the responder run in between), the record holding
 * the parameters stays whole behind it, out of reach of the stream fields
 * fcgiapp.h documents (stopUnget is then past rdNext). So the buffer is
 * found in the private state, checked against those fields; a layout that
 * does not fit is reported once, and the consumed part of the last read
 * is all that is wiped then. Nothing reads the stream afterwards. */
static void
wipe_fcgi_input(FCGX_Stream *in)
{
	static bool reported;
	const struct fcgx_stream_buffer *d = in->data;

	if (d != NULL && d->buff != NULL && d->mBuff != NULL &&
	    d->buff >= d->mBuff && d->buff - d->mBuff < 8 &&
	    d->bufflen >= 32 && d->bufflen <= 65536 &&
	    within(d->buffStop, d->buff, d->buff + d->bufflen) &&
	    within(in->rdNext, d->buff, d->buffStop) &&
	    within(in->stop, d->buff, d->buffStop) &&
	    within(in->stopUnget, d->buff, d->buff + d->bufflen)) {
		sodium_memzero(d->buff, (size_t)d->bufflen);
		return;
	}
	if (!reported) {
		log_msg(LOG_WARNING, "libfcgi's input buffer is not where "
		    "this program expects it: it is not wiped whole");
		reported = true;
	}
	if (in->stopUnget != NULL && in->rdNext >= in->stopUnget &&
	    in->rdNext - in->stopUnget <= 65536 + 16)
		sodium_memzero(in->stopUnget, (size_t)(in->rdNext - in->stopUnget));
}

/* Ends a FastCGI request. libfcgi's close shuts down the sending side and
 * then waits (up to two seconds) until the web server has closed its end,
 * reading whatever it still sends: data arriving at a closed TCP socket
 * would make the kernel answer with a reset that can cost the server the
 * response. That wait keeps a responder idle until the web server has
 * read the whole response. Once the request's standard input has been
 * read to its end and the connection is not kept, the web server sends
 * nothing more, so the responder closes at once; a body left unread, such
 * as one refused as too large, keeps libfcgi's careful close. */
static void
finish_fcgi(FCGX_Request *req, bool body_announced)
{
	if (req->in != NULL && !req->keepConnection &&
	    input_at_end(req, body_announced) && FCGX_GetError(req->in) == 0)
		FCGX_Detach(req);
	if (req->in != NULL)
		wipe_fcgi_input(req->in);
	FCGX_Finish_r(req);
}

/* What libfcgi keeps of a request after it ends, in memory it frees
 * without wiping: the parameters (REQUEST_URI, DOCUMENT_URI, SCRIPT_NAME
 * hold the token) and the last part of the response (the page links to
 * its parts by the token). Wiped here, once the response is out of the
 * output buffer; the raw records the parameters came in are wiped by
 * finish_fcgi, after its last read. A flushed writer's buffer is free
 * from wrNext to stop (fcgiapp.h). */
static void
wipe_fcgi(FCGX_Request *req)
{
	for (char **p = req->envp; p != NULL && *p != NULL; p++)
		sodium_memzero(*p, strlen(*p));
	FCGX_Stream *out = req->out;
	if (out != NULL && FCGX_FFlush(out) == 0 && out->wrNext <= out->stop &&
	    out->stop - out->wrNext <= 65536 + 16)
		sodium_memzero(out->wrNext, (size_t)(out->stop - out->wrNext));
}

static int
serve_fcgi(const struct web_env *env, bool broken)
{
	FCGX_Request req;
	/* One token at a time: its sodium_malloc memory is kept. */
	struct token *slot = sodium_malloc(sizeof(*slot));
	/* The response body is kept too (a large download does not map and
	 * fault in fresh memory every time), up to WEB_KEEP_BUFFER, and wiped
	 * after every request: it holds decrypted content. */
	GByteArray *body = g_byte_array_new();

	if (slot == NULL || FCGX_InitRequest(&req, 0, 0) != 0) {
		log_msg(LOG_ERR, "cannot initialise the FastCGI responder");
		sodium_free(slot);
		g_byte_array_free(body, TRUE);
		return EX_OSERR;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		struct web_request rq;
		struct web_response rs;
		char *uri = NULL;
		GString *head = g_string_new(NULL);

		fill_request(&rq, req.envp, &uri);
		bool body_announced = rq.content_length != NULL &&
		    rq.content_length[0] != '\0' &&
		    strcmp(rq.content_length, "0") != 0;
		rq.token_slot = slot;
		rq.read_body = read_fcgi;
		rq.body_ctx = &req;
		web_response_init_with(&rs, body);
		if (broken)
			startup_failure_page(&rs, env);
		else
			web_handle(env, &rq, &rs);
		web_response_head(&rs, head);
		FCGX_PutStr(head->str, (int)head->len, req.out);
		if (!rs.head_only && rs.body->len > 0)
			FCGX_PutStr((const char *)rs.body->data,
			    (int)rs.body->len, req.out);
		g_string_free(head, TRUE);
		bool big = body->len > WEB_KEEP_BUFFER;
		if (body->len > 0)
			sodium_memzero(body->data, body->len);
		g_byte_array_set_size(body, 0);
		rs.body = NULL;
		web_response_clear(&rs);
		if (big) {
			g_byte_array_free(body, TRUE);
			body = g_byte_array_new();
		}
		free_request(uri);
		wipe_fcgi(&req);
		finish_fcgi(&req, body_announced);
	}
	FCGX_Free(&req, 1);
	g_byte_array_free(body, TRUE);
	sodium_free(slot);
	return EX_OK;
}

/* One process's share of the work: the reader (sodium_malloc memory, and
 * locks are not inherited across fork, so each responder makes its own),
 * then the CGI request or the FastCGI loop. */
static int
serve(struct web_env *env, struct store *st, const struct config *cfg,
    bool broken, bool cgi)
{
	struct web_sealed ws;
	int rc = EX_OK;

	if (!broken) {
		if (web_backend_sealed(&ws, st, cfg->max_retention) != 0) {
			log_msg(LOG_ERR, "out of memory");
			broken = true;
		} else {
			ws.receipts_per_hour = (uint64_t)cfg->receipts_per_hour;
			if (!cfg->record_reads)
				ws.backend.record = NULL;
			env->backend = &ws.backend;
		}
	}
	/* A responder serves many requests: pages it rendered are kept,
	 * sealed (pagecache.h). Out of memory means no cache, nothing else. */
	if (!cgi && !broken && cfg->page_cache > 0 &&
	    (env->page_cache = page_cache_new((size_t)cfg->page_cache)) == NULL)
		log_msg(LOG_WARNING, "out of memory: no page cache");
	if (cgi)
		serve_cgi(env, st, cfg, broken);
	else
		rc = serve_fcgi(env, broken);
	page_cache_free(env->page_cache);
	env->page_cache = NULL;
	if (env->backend != NULL) {
		web_backend_sealed_clear(&ws);
		env->backend = NULL;
	}
	return rc;
}

/* Set by the supervisor's signal handlers (the only state a handler may
 * touch); never used by a responder. */
static volatile sig_atomic_t supervisor_stop;

static void
on_stop(int sig)
{
	supervisor_stop = sig;
}

static void
on_child(int sig)
{
	(void)sig;
}

/* -w N (auto: one per online processor): N responders accept on the same
 * listening socket (the kernel hands
 * each connection to one of them), so requests use every core instead of
 * queueing behind one process. The parent only forks them, restarts one
 * that dies (at most one a second), and stops them on SIGTERM or SIGINT. */
/* The supervisor's signals: SIGTERM and SIGINT stop it, SIGCHLD wakes it;
 * all three blocked but in sigsuspend (*orig: the mask before). */
static void
supervisor_signals(sigset_t *orig)
{
	sigset_t block;
	struct sigaction sa;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, orig);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
}

/* Reaps the responders that exited, freeing their slots; *alive counts
 * those left. */
static void
reap_responders(pid_t *pids, const time_t *started, long workers,
    long *alive)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (long i = 0; i < workers; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			(*alive)--;
			if (!supervisor_stop)
				log_msg(LOG_ERR, "responder %ld exited "
				    "(%s %d); starting another", (long)pid,
				    WIFSIGNALED(status) ? "signal" :
				    "status", WIFSIGNALED(status) ?
				    WTERMSIG(status) : WEXITSTATUS(status));
			if (time(NULL) - started[i] < 1)
				sleep(1);
		}
	}
}

/* -w N (auto: one per online processor): N responders accept on the same
 * listening socket (the kernel hands
 * each connection to one of them), so requests use every core instead of
 * queueing behind one process. The parent only forks them, restarts one
 * that dies (at most one a second), and stops them on SIGTERM or SIGINT. */
static int
supervise(long workers, struct web_env *env, struct store *st,
    const struct config *cfg, bool broken)
{
	pid_t *pids = calloc((size_t)workers, sizeof(*pids));
	time_t *started = calloc((size_t)workers, sizeof(*started));
	sigset_t orig;

	if (pids == NULL || started == NULL) {
		log_msg(LOG_ERR, "out of memory");
		free(pids);
		free(started);
		return EX_OSERR;
	}
	supervisor_signals(&orig);
	log_msg(LOG_INFO, "%ld FastCGI responders", workers);

	long alive = 0;
	for (;;) {
		reap_responders(pids, started, workers, &alive);
		if (supervisor_stop)
			break;
		for (long i = 0; i < workers; i++) {
			if (pids[i] != 0)
				continue;
			pid_t pid = fork();
			if (pid < 0) {
				log_msg(LOG_ERR, "fork: %s", strerror(errno));
				sleep(1);
				break;
			}
			if (pid == 0) {
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				signal(SIGCHLD, SIG_DFL);
				sigprocmask(SIG_SETMASK, &orig, NULL);
				free(pids);
				free(started);
				_exit(serve(env, st, cfg, broken, false));
			}
			pids[i] = pid;
			started[i] = time(NULL);
			alive++;
		}
		sigsuspend(&orig);
	}
	for (long i = 0; i < workers; i++)
		if (pids[i] != 0)
			kill(pids[i], SIGTERM);
	while (alive > 0 && waitpid(-1, NULL, 0) > 0)
		alive--;
	free(pids);
	free(started);
	return EX_OK;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pullmail-web [-w responders|auto]\n");
}

/* -w responders|auto into *workers: 0, or EX_USAGE (said on stderr). */
static int
parse_options(int argc, char **argv, long *workers)
{
	int c;

	while ((c = getopt(argc, argv, "w:")) != -1) {
		char *end;
		switch (c) {
		case 'w':
			errno = 0;
			if (strcmp(optarg, "auto") == 0) {
				*workers = sysconf(_SC_NPROCESSORS_ONLN);
				if (*workers < 1)
					*workers = 1;
				if (*workers > WEB_MAX_WORKERS)
					*workers = WEB_MAX_WORKERS;
				break;
			}
			*workers = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    *workers < 1 || *workers > WEB_MAX_WORKERS) {
				fprintf(stderr, "pullmail-web: -w takes auto or a "
				    "number from 1 to %d\n", WEB_MAX_WORKERS);
				return EX_USAGE;
			}
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EX_USAGE;
	}
	return 0;
}

/* The configuration into env, and the store (read-write for keep when it
 * may, else read-only); false when either cannot be had: the responder
 * then answers every request with an error page (serve's broken). */
static bool
load_config_and_store(struct web_env *env, struct config **cfgp,
    struct store **stp, bool to_stderr)
{
	char *err = NULL;
	struct config *cfg = config_load(config_path(NULL), &err);

	if (cfg == NULL) {
		log_msg(LOG_ERR, "%s", err != NULL ? err : "cannot read the configuration");
		g_free(err);
		return false;
	}
	*cfgp = cfg;
	log_init(WEB_IDENT, to_stderr, cfg->log_facility, cfg->log_level);
	env->path_prefix = cfg->path_prefix;
	env->keep_extension = cfg->keep_extension;
	env->max_retention = cfg->max_retention;
	env->allow_remote_images = cfg->allow_remote_images;
	env->default_language = cfg->default_language;
	env->receipts_per_hour = (uint64_t)cfg->receipts_per_hour;
	if (cfg->sendmail != NULL && cfg->sendmail[0] != '\0' &&
	    cfg->receipts_per_hour > 0 &&
	    !g_shell_parse_argv(cfg->sendmail, NULL, &env->sendmail_argv, NULL))
		env->sendmail_argv = NULL;
	*stp = store_open(cfg, STORE_READ_WRITE, &err);
	if (*stp == NULL) {
		g_free(err);
		err = NULL;
		*stp = store_open(cfg, STORE_READ_ONLY, &err);
	}
	if (*stp == NULL) {
		log_msg(LOG_ERR, "cannot open the store: %s",
		    err != NULL ? err : "unknown error");
		g_free(err);
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	struct web_env env = { 0 };
	struct config *cfg = NULL;
	struct store *st = NULL;
	long workers = 1;
	int rc;

	/* Tokens, decrypted messages and the pages made of them pass through
	 * this process: no core dump, and no other process of its user may
	 * read its memory (/proc/PID/mem, ptrace). pullmail-web did the same,
	 * but exec makes a process dumpable again. */
	struct rlimit nocore = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0);

	if ((rc = parse_options(argc, argv, &workers)) != 0)
		return rc;
	const char *to_stderr = getenv("PULLMAIL_LOG_STDERR");
	bool on_stderr = to_stderr != NULL && to_stderr[0] == '1';
	log_init(WEB_IDENT, on_stderr, LOG_MAIL, LOG_INFO);
	if (FCGX_Init() != 0 || token_init() != 0) {
		log_msg(LOG_ERR, "cannot initialise libfcgi or libsodium");
		return EX_OSERR;
	}
	web_env_init(&env);
	env.path_prefix = "/m/";
	env.default_language = "en";
	bool broken = !load_config_and_store(&env, &cfg, &st, on_stderr);
	bool cgi = FCGX_IsCGI();
	if (!cgi && workers > 1)
		rc = supervise(workers, &env, st, cfg, broken);
	else
		rc = serve(&env, st, cfg, broken, cgi);
	if (st != NULL)
		store_close(st);
	if (cfg != NULL)
		config_unref(cfg);
	g_strfreev(env.sendmail_argv);
	return rc;
}
