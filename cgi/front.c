/* pullmail-web: the program the web server runs, CGI or FastCGI.
 *
 * Started per request (CGI), most of the time goes to loading GMime, GLib,
 * libxml2 and their two dozen libraries before the first line of main().
 * So this program links only libc and libsodium: when the request is a
 * page read again (GET /m/TOKEN, kept in [web] PageCacheDir by an earlier
 * request, pagefile.h) and the object's header says it may still be read,
 * it answers from there: the page's fixed head (headers.h), then the body
 * kept. Everything else (a FastCGI socket, options, any
 * other request, a miss, an error, any doubt) goes by exec, with the same
 * arguments, environment and descriptors, to pullmail-web-render, which
 * answers it and keeps the page for next time.
 *
 * A page answered here counts as a fetch in the message's read state
 * (readstate.h, [web] RecordReads), as the renderer counts the pages it
 * answers.
 *
 * The configuration is read here by hand, not with GKeyFile (that would
 * load GLib, the cost this program exists to avoid): only the six keys it
 * needs, with GKeyFile's rules for lines, groups and white space. Nothing
 * read wrongly can serve a wrong page: the renderer's own values of those
 * keys and the file's digest are in each entry's additional data, so an
 * entry opens only when both read the same file the same way. */
#define _GNU_SOURCE     /* O_NOFOLLOW */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "config.h"
#include "envelope.h"
#include "headers.h"
#include "pagefile.h"
#include "store_fs_peek.h"
#include "readstate.h"
#include "sealed.h"
#include "token.h"
#include "units.h"

#define RENDERER "pullmail-web-render"
/* A larger configuration file is left to the renderer. */
#define FRONT_MAX_CONFIG (1u << 20)

/* The keys this program reads; values point into the file's buffer. */
struct front_config {
	const char *backend;
	const char *store_dir;
	const char *max_retention;
	const char *path_prefix;
	const char *page_cache_dir;
	const char *record_reads;
};

/* libfcgi's test (FCGX_IsCGI): a listening socket on standard input is
 * FastCGI; anything else is CGI. */
static bool
stdin_is_listening_socket(void)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;

	errno = 0;
	return getpeername(0, (struct sockaddr *)&sa, &len) != 0 &&
	    errno == ENOTCONN;
}

/* The file, NUL-terminated, in malloc memory; NULL when it cannot be read
 * or is larger than FRONT_MAX_CONFIG. */
static char *
read_config(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > FRONT_MAX_CONFIG)
		goto out;
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL)
		goto out;
	if (pagefile_read_all(fd, buf, (size_t)sb.st_size) != 0) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[sb.st_size] = '\0';
	*len = (size_t)sb.st_size;
out:
	close(fd);
	return buf;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* Trims s in place. */
static char *
strip(char *s)
{
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Sets *slot once; a key given twice is a doubt (-1). */
static int
take(const char **slot, const char *v)
{
	if (*slot != NULL)
		return -1;
	*slot = v;
	return 0;
}

/* GKeyFile's line rules: leading white space ignored, "#" comments, blank
 * lines, "[group]", "key = value". Cuts buf in place. 0, or -1 on a line
 * it does not understand or a key given twice. */
static int
parse_config(char *buf, struct front_config *fc)
{
	const char *group = NULL;
	char *line = buf;

	memset(fc, 0, sizeof *fc);
	while (line != NULL) {
		char *next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		char *l = strip(line);
		line = next;
		if (l[0] == '\0' || l[0] == '#')
			continue;
		if (l[0] == '[') {
			char *end = strrchr(l, ']');
			if (end == NULL || end[1] != '\0')
				return -1;
			*end = '\0';
			group = l + 1;
			continue;
		}
		char *eq = strchr(l, '=');
		if (eq == NULL || group == NULL)
			return -1;
		*eq = '\0';
		const char *key = strip(l);
		const char *v = strip(eq + 1);
		int rc = 0;
		if (strcmp(group, "store") == 0) {
			if (strcmp(key, "Backend") == 0)
				rc = take(&fc->backend, v);
			else if (strcmp(key, "StoreDir") == 0)
				rc = take(&fc->store_dir, v);
			else if (strcmp(key, "MaxRetention") == 0)
				rc = take(&fc->max_retention, v);
		} else if (strcmp(group, "web") == 0) {
			if (strcmp(key, "PathPrefix") == 0)
				rc = take(&fc->path_prefix, v);
			else if (strcmp(key, "PageCacheDir") == 0)
				rc = take(&fc->page_cache_dir, v);
			else if (strcmp(key, "RecordReads") == 0)
				rc = take(&fc->record_reads, v);
		}
		if (rc != 0)
			return -1;
	}
	if (fc->backend == NULL)
		fc->backend = CONFIG_DEFAULT_BACKEND;
	if (fc->store_dir == NULL)
		fc->store_dir = CONFIG_DEFAULT_STORE_DIR;
	if (fc->max_retention == NULL)
		fc->max_retention = CONFIG_DEFAULT_MAX_RETENTION;
	if (fc->path_prefix == NULL)
		fc->path_prefix = CONFIG_DEFAULT_PATH_PREFIX;
	return 0;
}

/* [web] RecordReads as the configuration reads it (config.c's yes/no
 * words, ASCII case ignored); -1 for anything else (a doubt). */
static int
record_reads(const char *v, bool *on)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (v == NULL) {
		*on = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*on = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*on = false;
			return 0;
		}
	}
	return -1;
}

static int
add_page_fetch(struct readstate *rs, void *ctx)
{
	readstate_add_fetch(rs, READSTATE_PAGE, *(const int64_t *)ctx);
	return 0;
}

/* Counts the page answered here, as the renderer's fs store would. A
 * failure changes nothing of the answer already sent. */
static void
record_page_fetch(const char *store_dir, const struct storage_id *id,
    int64_t now)
{
	int dfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return;
	if (readstate_fs_update(dfd, id, add_page_fetch, &now, false) < 0)
		fprintf(stderr, "pullmail-web: %.8s: cannot record the read "
		    "state: %s\n", id->hex, strerror(errno));
	close(dfd);
}

/* The object's header, checked as sealed_state checks it; o gets what the
 * entry is bound to. */
static bool
readable(const char *store_dir, const struct storage_id *id,
    int64_t max_retention, int64_t now, struct pagefile_object *o,
    int64_t *expires)
{
	struct envelope_meta meta;

	memset(o, 0, sizeof *o);
	if (store_fs_peek(store_dir, id, o->head, sizeof o->head,
	    o->version) != 0 ||
	    envelope_parse_meta(o->head, sizeof o->head, &meta) != ENVELOPE_OK ||
	    sealed_meta_state(&meta, max_retention, now) != SEALED_OK)
		return false;
	*expires = sealed_effective_expiry(&meta, max_retention);
	return true;
}

/* Answers the request from PageCacheDir: 0 when it did, -1 when the
 * renderer must. */
static int
serve_kept_page(struct token *tok, const char *renderer)
{
	const char *method = getenv("REQUEST_METHOD");
	const char *uri = getenv("REQUEST_URI");
	struct front_config fc;
	struct pagefile_scope sc;
	struct pagefile_request rq;
	struct storage_id id;
	struct pagefile_object obj;
	int64_t max_retention, expires, now = (int64_t)time(NULL);
	size_t clen = 0;
	int rc = -1;
	bool record = true;

	if (method == NULL || strcmp(method, "GET") != 0 || uri == NULL)
		return -1;
	const char *path = getenv(CONFIG_ENV);
	char *conf = read_config(path != NULL && path[0] != '\0' ? path :
	    CONFIG_DEFAULT_PATH, &clen);
	if (conf == NULL)
		return -1;
	pagefile_config_digest(conf, clen, sc.config_digest);
	if (parse_config(conf, &fc) != 0 || strcmp(fc.backend, "fs") != 0 ||
	    fc.page_cache_dir == NULL || fc.page_cache_dir[0] != '/' ||
	    units_parse_duration(fc.max_retention, &max_retention) != 0 ||
	    record_reads(fc.record_reads, &record) != 0)
		goto out;

	/* PathPrefix, the token, then nothing or "/", then the query. */
	size_t pl = strlen(fc.path_prefix);
	size_t qa = strcspn(uri, "?");
	if (qa < pl || strncmp(uri, fc.path_prefix, pl) != 0 ||
	    qa - pl < TOKEN_TEXT_LEN)
		goto out;
	size_t rest_len = qa - pl - TOKEN_TEXT_LEN;
	if (rest_len > 1 || (rest_len == 1 && uri[pl + TOKEN_TEXT_LEN] != '/'))
		goto out;
	if (token_decode_into(uri + pl, TOKEN_TEXT_LEN, tok) != 0)
		goto out;
	token_storage_id(tok, &id);
	if (!readable(fc.store_dir, &id, max_retention, now, &obj, &expires) ||
	    pagefile_program_id(renderer, sc.program_id) != 0)
		goto out;
	char style[WEB_STYLE_HASH_MAX], head[WEB_PAGE_HEAD_MAX];
	web_style_hash(style);
	web_page_head_id(style, sc.head_id);

	sc.dir = fc.page_cache_dir;
	sc.store_dir = fc.store_dir;
	sc.max_retention = max_retention;
	sc.path_prefix = fc.path_prefix;
	rq.rest = rest_len == 1 ? "/" : "";
	rq.query = uri[qa] == '?' ? uri + qa + 1 : "";
	rq.accept_language = getenv("HTTP_ACCEPT_LANGUAGE");
	rq.object = &obj;
	unsigned char *body;
	size_t len;
	if (pagefile_get(&sc, tok, &id, expires, &rq, &body, &len) != 0)
		goto out;
	int hl = web_page_head(head, sizeof head, style, len);
	/* Once a byte is out the renderer cannot take over: a write error
	 * ends the request (the reader went away). */
	if (hl > 0 && pagefile_write_all(1, head, (size_t)hl) == 0)
		(void)pagefile_write_all(1, body, len);
	pagefile_free(body, len);
	rc = hl > 0 ? 0 : -1;
	if (rc == 0 && record)
		record_page_fetch(fc.store_dir, &id, now);
out:
	free(conf);
	return rc;
}

/* pullmail-web-render next to this program (the build tree, or where make
 * install put both), else in SBINDIR (no /proc, or a copy of this program
 * alone, as in a cgi-bin directory). */
static void
renderer_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self);

	if (n > 0 && (size_t)n < sizeof self) {
		self[n] = '\0';
		snprintf(buf, len, "%s/" RENDERER, dirname(self));
		if (access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, PULLMAIL_SBINDIR "/" RENDERER);
}

int
main(int argc, char **argv)
{
	char renderer[PATH_MAX + sizeof RENDERER + 1];
	char *fallback[] = { RENDERER, NULL };
	struct rlimit nocore = { 0, 0 };

	/* The token, and the page it opens, pass through this process: no
	 * core dump (the limit holds across exec, for the renderer too), and
	 * no other process of its user may read its memory. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0);
	renderer_path(renderer, sizeof renderer);
	if (argc == 1 && !stdin_is_listening_socket() && token_init() == 0) {
		struct token *tok = sodium_malloc(sizeof *tok);
		int served = tok != NULL && serve_kept_page(tok, renderer) == 0;
		sodium_free(tok);       /* wipes the token */
		if (served)
			return 0;
	}
	execv(renderer, argc > 0 ? argv : fallback);
	/* Nothing else to do: a 500 with the usual headers, and the reason
	 * where the web server logs standard error. */
	fprintf(stderr, "pullmail-web: cannot run %s: %s\n", renderer,
	    strerror(errno));
	fputs("Status: 500 Internal Server Error\r\n" WEB_COMMON_HEADERS
	    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "The message cannot be shown now. Please try again later.\n",
	    stdout);
	return 1;
}
