/* pullmail-web: one binary, CGI when the web server starts it per request,
 * FastCGI responder when its standard input is a listening socket
 * (libfcgi's fcgiapp). Both fill a struct web_request and hand it to
 * web_handle(); nothing inside the loop exits the process. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <fcgiapp.h>
#include <sodium.h>

#include "config.h"
#include "log.h"
#include "page.h"
#include "store.h"
#include "token.h"
#include "web.h"

#define WEB_IDENT "pullmail-web"

static long
read_stdin(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	size_t n = fread(buf, 1, len, stdin);
	return n > 0 ? (long)n : (ferror(stdin) ? -1 : 0);
}

static long
read_fcgi(void *ctx, void *buf, size_t len)
{
	int n = FCGX_GetStr(buf, len > 65536 ? 65536 : (int)len, ctx);
	return n;
}

/* The request path: REQUEST_URI when the server passes it, else
 * SCRIPT_NAME + PATH_INFO (mod_cgi without REQUEST_URI rewriting). */
static char *
request_uri(const char *uri, const char *script, const char *path_info,
    const char *query)
{
	if (uri != NULL && uri[0] != '\0')
		return g_strdup(uri);
	return g_strconcat(script != NULL ? script : "",
	    path_info != NULL ? path_info : "",
	    query != NULL && query[0] != '\0' ? "?" : "",
	    query != NULL ? query : "", NULL);
}

static void
fill_request(struct web_request *rq, char **envp, char **uri_out)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = FCGX_GetParam("REQUEST_METHOD", envp);
	*uri_out = request_uri(FCGX_GetParam("REQUEST_URI", envp),
	    FCGX_GetParam("SCRIPT_NAME", envp), FCGX_GetParam("PATH_INFO", envp),
	    FCGX_GetParam("QUERY_STRING", envp));
	rq->uri = *uri_out;
	rq->host = FCGX_GetParam("HTTP_HOST", envp);
	rq->origin = FCGX_GetParam("HTTP_ORIGIN", envp);
	rq->referer = FCGX_GetParam("HTTP_REFERER", envp);
	rq->accept_language = FCGX_GetParam("HTTP_ACCEPT_LANGUAGE", envp);
	rq->content_length = FCGX_GetParam("CONTENT_LENGTH", envp);
	rq->server_port = FCGX_GetParam("SERVER_PORT", envp);
	rq->now = (int64_t)time(NULL);
}

/* A response when the program cannot serve at all (no configuration, no
 * store): a 500 page, with the usual headers. */
static void
startup_failure_page(struct web_response *rs, const struct web_env *env)
{
	GString *html = g_string_new(NULL);

	page_error(html, 500, env->default_language);
	rs->status = 500;
	g_string_append(rs->headers, "Cache-Control: no-store\r\n"
	    "Referrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\n"
	    "X-Robots-Tag: noindex\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Security-Policy: default-src 'none'; style-src ");
	g_string_append(rs->headers, env->style_hash);
	g_string_append(rs->headers, "; frame-ancestors 'none'\r\n");
	g_byte_array_append(rs->body, (const guint8 *)html->str, html->len);
	g_string_free(html, TRUE);
}

static void
serve_cgi(const struct web_env *env, bool broken)
{
	extern char **environ;
	struct web_request rq;
	struct web_response rs;
	char *uri = NULL;
	GString *head = g_string_new(NULL);

	fill_request(&rq, environ, &uri);
	rq.read_body = read_stdin;
	web_response_init(&rs);
	if (broken)
		startup_failure_page(&rs, env);
	else
		web_handle(env, &rq, &rs);
	web_response_head(&rs, head);
	fwrite(head->str, 1, head->len, stdout);
	if (!rs.head_only)
		fwrite(rs.body->data, 1, rs.body->len, stdout);
	fflush(stdout);
	g_string_free(head, TRUE);
	web_response_clear(&rs);
	g_free(uri);
}

static int
serve_fcgi(const struct web_env *env, bool broken)
{
	FCGX_Request req;
	/* One token at a time: its sodium_malloc memory is kept. */
	struct token *slot = sodium_malloc(sizeof(*slot));

	if (slot == NULL || FCGX_InitRequest(&req, 0, 0) != 0) {
		log_msg(LOG_ERR, "cannot initialise the FastCGI responder");
		sodium_free(slot);
		return EX_OSERR;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		struct web_request rq;
		struct web_response rs;
		char *uri = NULL;
		GString *head = g_string_new(NULL);

		fill_request(&rq, req.envp, &uri);
		rq.token_slot = slot;
		rq.read_body = read_fcgi;
		rq.body_ctx = req.in;
		web_response_init(&rs);
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
		web_response_clear(&rs);
		g_free(uri);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	sodium_free(slot);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct web_env env = { 0 };
	struct web_sealed ws;
	struct config *cfg = NULL;
	struct store *st = NULL;
	char *err = NULL;
	bool broken = false;
	int rc = EX_OK;

	(void)argc;
	(void)argv;
	const char *to_stderr = getenv("PULLMAIL_LOG_STDERR");
	log_init(WEB_IDENT, to_stderr != NULL && to_stderr[0] == '1', LOG_MAIL,
	    LOG_INFO);
	if (FCGX_Init() != 0 || token_init() != 0) {
		log_msg(LOG_ERR, "cannot initialise libfcgi or libsodium");
		return EX_OSERR;
	}
	web_env_init(&env);
	env.path_prefix = "/m/";
	env.default_language = "en";
	cfg = config_load(config_path(NULL), &err);
	if (cfg == NULL) {
		log_msg(LOG_ERR, "%s", err != NULL ? err : "cannot read the configuration");
		free(err);
		err = NULL;
		broken = true;
	} else {
		log_init(WEB_IDENT, to_stderr != NULL && to_stderr[0] == '1',
		    cfg->log_facility, cfg->log_level);
		env.path_prefix = cfg->path_prefix;
		env.keep_extension = cfg->keep_extension;
		env.max_retention = cfg->max_retention;
		env.allow_remote_images = cfg->allow_remote_images;
		env.default_language = cfg->default_language;
		st = store_open(cfg, STORE_READ_WRITE, &err);
		if (st == NULL) {
			free(err);
			err = NULL;
			st = store_open(cfg, STORE_READ_ONLY, &err);
		}
		if (st == NULL) {
			log_msg(LOG_ERR, "cannot open the store: %s",
			    err != NULL ? err : "unknown error");
			free(err);
			broken = true;
		} else if (web_backend_sealed(&ws, st, cfg->max_retention) != 0) {
			log_msg(LOG_ERR, "out of memory");
			broken = true;
		} else {
			env.backend = &ws.backend;
		}
	}
	if (FCGX_IsCGI())
		serve_cgi(&env, broken);
	else
		rc = serve_fcgi(&env, broken);
	if (env.backend != NULL)
		web_backend_sealed_clear(&ws);
	if (st != NULL)
		store_close(st);
	if (cfg != NULL)
		config_unref(cfg);
	return rc;
}
