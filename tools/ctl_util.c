/* Pieces every pullmailctl command uses: opening the store, reading an
 * object's metadata, turning "ID|URL" into a storage id, exit statuses. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sysexits.h>
#include <time.h>
#include <glib.h>

#include "log.h"
#include "pagefile.h"
#include "tools/ctl.h"

struct store *
ctl_store_open(struct ctl *c, enum store_mode mode, int *rc)
{
	struct store *st;
	char *err = NULL;

	errno = 0;
	st = store_open(c->cfg, mode, &err);
	if (st == NULL) {
		int e = errno;

		fprintf(c->err, "pullmailctl: store %s: %s\n",
		    c->cfg->store_dir != NULL ? c->cfg->store_dir : "(none)",
		    err != NULL ? err : "cannot open");
		g_free(err);
		*rc = (e == EACCES || e == EPERM) ? EX_NOPERM : EX_CONFIG;
		return NULL;
	}
	*rc = EX_OK;
	return st;
}

int
ctl_parse_target(struct ctl *c, const char *target, struct storage_id *id)
{
	struct token *t;

	if (storage_id_parse(target, id) == 0)
		return 0;
	t = token_from_link(target);
	if (t == NULL) {
		/* The argument may be a mistyped link: never echo it. */
		fprintf(c->err, "pullmailctl: the argument is neither a storage "
		    "id (32 lowercase hex characters) nor a pullmail link or "
		    "token (%d base64url characters after /m/)\n",
		    TOKEN_TEXT_LEN);
		return -1;
	}
	token_storage_id(t, id);
	token_free(t);
	return 0;
}

int
ctl_sealed_exit(enum sealed_status st)
{
	switch (st) {
	case SEALED_OK: return EX_OK;
	case SEALED_NOT_FOUND: return EX_NOINPUT;
	case SEALED_EXPIRED:
	case SEALED_REVOKED: return EX_UNAVAILABLE;
	case SEALED_DAMAGED:
	case SEALED_WRONG_KEY:
	case SEALED_TOO_BIG: return EX_DATAERR;
	case SEALED_IO: return EX_IOERR;
	case SEALED_NOMEM: return EX_OSERR;
	}
	return EX_SOFTWARE;
}

int
ctl_parse_head(const unsigned char *head, size_t got, enum store_status ss,
    struct envelope_meta *meta, const char **why)
{
	enum envelope_status es;

	if (ss == STORE_NOT_FOUND) {
		*why = "gone";
		return -1;
	}
	if (ss != STORE_OK) {
		*why = "read error";
		return -1;
	}
	/* A short header is a file being written or damaged: never guess. */
	if (got < ENVELOPE_META_SIZE) {
		*why = "short header";
		return -1;
	}
	es = envelope_parse_meta(head, got, meta);
	if (es != ENVELOPE_OK) {
		*why = envelope_strerror(es);
		return -1;
	}
	return 0;
}

void
ctl_format_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
}

void
ctl_forget_pages(struct ctl *c, const struct storage_id *id)
{
	const char *dir = c->cfg->page_cache_dir;

	if (dir == NULL || dir[0] == '\0')
		return;
	if (pagefile_forget(dir, id) < 0) {
		fprintf(c->err, "pullmailctl: %s: cannot remove its kept pages "
		    "from %s: %s (they stay sealed; the link answers 410 "
		    "all the same)\n", id->hex, dir, strerror(errno));
		log_message(LOG_WARNING, NULL, id, "cannot remove its kept "
		    "pages from %s: %s", dir, strerror(errno));
	}
}
