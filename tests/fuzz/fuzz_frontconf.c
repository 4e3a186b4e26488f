/* libFuzzer: the CGI front's own configuration reader (cgi/front.c,
 * parse_config: GKeyFile's line rules by hand, without GLib) and the path
 * of a kept page that follows it (serve_kept_page: the file read, the
 * duration, PathPrefix, the token and the query cut from REQUEST_URI).
 *
 * front.c is a program of its own (its main() would clash with
 * libFuzzer's, and the whole file is static functions), so this target
 * includes the .c file, with main renamed, rather than expose its parser
 * in a header for the fuzzer alone.
 *
 * Input: the configuration file's bytes, then a NUL and REQUEST_URI.
 * Checked, besides memory errors: a file parse_config accepts gives every
 * key a value (the defaults for those left out) with no white space around
 * it; serve_kept_page never answers (there is no kept page to find). */
#define main pullmail_web_front_main
#include "cgi/front.c"
#undef main

#include <stdint.h>
#include <sys/mman.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int conf_fd = -1;
static struct token *slot;
/* REQUEST_URI, put into the environment once and rewritten in place:
 * setenv for every input would leak its strings (glibc keeps them). */
#define URI_MAX 8192
static char uri_env[sizeof "REQUEST_URI=" + URI_MAX] = "REQUEST_URI=";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];

	(void)argc;
	(void)argv;
	if (token_init() != 0)
		abort();
	slot = sodium_malloc(sizeof *slot);
	conf_fd = memfd_create("pullmail.conf", MFD_CLOEXEC);
	if (slot == NULL || conf_fd < 0)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", conf_fd);
	setenv(CONFIG_ENV, path, 1);
	setenv("REQUEST_METHOD", "GET", 1);
	putenv(uri_env);
	return 0;
}

static bool
trimmed(const char *v)
{
	size_t n = strlen(v);

	return n == 0 || (!is_space(v[0]) && !is_space(v[n - 1]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t clen = nul != NULL ? (size_t)(nul - data) : size;
	char *uri = nul != NULL ? strndup((const char *)nul + 1,
	    size - clen - 1) : strdup("/m/");

	/* parse_config on the bytes as read_config hands them over. */
	char *conf = malloc(clen + 1);
	memcpy(conf, data, clen);
	conf[clen] = '\0';
	struct front_config fc;
	if (parse_config(conf, &fc) == 0) {
		if (fc.backend == NULL || fc.store_dir == NULL ||
		    fc.max_retention == NULL || fc.path_prefix == NULL ||
		    !trimmed(fc.backend) || !trimmed(fc.store_dir) ||
		    !trimmed(fc.max_retention) || !trimmed(fc.path_prefix) ||
		    (fc.page_cache_dir != NULL && !trimmed(fc.page_cache_dir)) ||
		    (fc.record_reads != NULL && !trimmed(fc.record_reads))) {
			fprintf(stderr, "fuzz_frontconf: a value missing or "
			    "not trimmed\n");
			abort();
		}
		int64_t secs;
		(void)units_parse_duration(fc.max_retention, &secs);
	}
	free(conf);

	/* The whole path, through a file, as the front reads it. */
	if (ftruncate(conf_fd, 0) != 0 || pwrite(conf_fd, data, clen, 0) !=
	    (ssize_t)clen)
		abort();
	snprintf(uri_env + sizeof "REQUEST_URI=" - 1, URI_MAX + 1, "%s", uri);
	if (serve_kept_page(slot, "/nonexistent/pullmail-web-render") == 0) {
		fprintf(stderr, "fuzz_frontconf: a page answered from "
		    "nowhere\n");
		abort();
	}
	free(uri);
	return 0;
}
