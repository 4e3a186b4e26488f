/* gc: removes expired objects and stale temporary files.
 *
 * Safety while the milter writes: the walk sees committed objects only
 * (store_iterate), and an object is removed only when its header was read in
 * full, parsed, and sealed_gc_due says so at the run's clock, fixed at the
 * start. A message committed during the run has created >= that clock and a
 * later expiry, so it is never due; a header that cannot be read or parsed
 * (damaged, or a file changing under us) is left alone and counted. Temporary
 * files go through store_cleanup_tmp with a day's age, far above the hour a
 * writer may hold one. Memory: one header at a time. */
#define _GNU_SOURCE     /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "tools/ctl.h"

struct gc_walk {
	struct ctl *c;
	struct store *st;
	bool dry_run;
	struct ctl_gc_counts *n;
};

static int
gc_one(const struct storage_id *id, uint64_t size, void *ctx)
{
	struct gc_walk *g = ctx;
	struct envelope_meta meta;
	const char *why = NULL;
	enum store_status ss;

	if (ctl_read_meta(g->st, id, &meta, &why) < 0) {
		if (strcmp(why, "gone") == 0)
			return 0;       /* removed by someone else meanwhile */
		g->n->examined++;
		g->n->unreadable++;
		log_message(LOG_WARNING, NULL, id,
		    "gc: header unreadable (%s), object left alone", why);
		return 0;
	}
	g->n->examined++;
	if (!sealed_gc_due(&meta, g->c->cfg->max_retention, g->c->now)) {
		g->n->kept++;
		return 0;
	}
	if (g->dry_run) {
		g->n->removed++;
		g->n->removed_bytes += size;
		return 0;
	}
	ss = store_delete(g->st, id);
	if (ss == STORE_OK) {
		g->n->removed++;
		g->n->removed_bytes += size;
	} else if (ss != STORE_NOT_FOUND) {
		g->n->failed++;
		log_message(LOG_ERR, NULL, id, "gc: cannot delete: %s",
		    store_error(g->st));
	}
	return 0;
}

/* Dry run of store_cleanup_tmp for the fs backend: counts the files in
 * StoreDir/tmp older than max_age without touching them. */
static int
gc_count_tmp(struct ctl *c, int64_t max_age, unsigned long *n)
{
	char *dir;
	DIR *d;
	struct dirent *e;
	int dfd;

	*n = 0;
	if (c->cfg->store_backend != NULL &&
	    strcmp(c->cfg->store_backend, "fs") != 0)
		return 0;
	if (asprintf(&dir, "%s/tmp", c->cfg->store_dir) < 0)
		return -1;
	d = opendir(dir);
	free(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	dfd = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		struct stat sb;

		if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if ((int64_t)sb.st_mtime < c->now - max_age)
			(*n)++;
	}
	closedir(d);
	return 0;
}

static void
gc_print(struct ctl *c, bool dry_run, bool json,
    const struct ctl_gc_counts *n)
{
	if (json) {
		fprintf(c->out, "{\"dry_run\": %s, ", dry_run ? "true" : "false");
		ctl_json_time(c->out, "now", c->now, true);
		fprintf(c->out, "\"examined\": %lu, \"removed\": %lu, "
		    "\"removed_bytes\": %llu, \"kept\": %lu, "
		    "\"unreadable\": %lu, \"failed\": %lu, "
		    "\"tmp_removed\": %lu}\n", n->examined, n->removed,
		    (unsigned long long)n->removed_bytes, n->kept,
		    n->unreadable, n->failed, n->tmp_removed);
		return;
	}
	fprintf(c->out, "%s%lu objects (%llu bytes) and %lu temporary files; "
	    "examined %lu objects, kept %lu, unreadable %lu, failed %lu\n",
	    dry_run ? "gc (dry run): would remove " : "gc: removed ",
	    n->removed, (unsigned long long)n->removed_bytes, n->tmp_removed,
	    n->examined, n->kept, n->unreadable, n->failed);
}

int
ctl_gc(struct ctl *c, bool dry_run, bool json, struct ctl_gc_counts *counts)
{
	struct ctl_gc_counts local;
	struct gc_walk g;
	struct store *st;
	enum store_status ss;
	int rc;

	if (counts == NULL)
		counts = &local;
	memset(counts, 0, sizeof(*counts));
	st = ctl_store_open(c, dry_run ? STORE_READ_ONLY : STORE_READ_WRITE,
	    &rc);
	if (st == NULL)
		return rc;
	g.c = c;
	g.st = st;
	g.dry_run = dry_run;
	g.n = counts;
	ss = store_iterate(st, gc_one, &g);
	if (ss != STORE_OK) {
		fprintf(c->err, "pullmailctl: gc: walking the store failed: "
		    "%s\n", store_error(st));
		log_msg(LOG_ERR, "gc: walking the store failed: %s",
		    store_error(st));
		rc = EX_IOERR;
	}
	if (dry_run) {
		if (gc_count_tmp(c, CTL_TMP_MAX_AGE, &counts->tmp_removed) < 0) {
			fprintf(c->err, "pullmailctl: gc: cannot read the "
			    "temporary directory: %s\n", strerror(errno));
			rc = EX_IOERR;
		}
	} else if (store_cleanup_tmp(st, CTL_TMP_MAX_AGE,
	    &counts->tmp_removed) != STORE_OK) {
		fprintf(c->err, "pullmailctl: gc: removing temporary files "
		    "failed: %s\n", store_error(st));
		log_msg(LOG_ERR, "gc: removing temporary files failed: %s",
		    store_error(st));
		rc = EX_IOERR;
	}
	if (counts->failed > 0) {
		fprintf(c->err, "pullmailctl: gc: %lu objects could not be "
		    "deleted (see the log)\n", counts->failed);
		rc = EX_IOERR;
	}
	gc_print(c, dry_run, json, counts);
	log_msg(LOG_INFO, "gc%s: %s %lu objects (%llu bytes) and %lu "
	    "temporary files; examined %lu, kept %lu, unreadable %lu, "
	    "failed %lu", dry_run ? " (dry run)" : "",
	    dry_run ? "would remove" : "removed", counts->removed,
	    (unsigned long long)counts->removed_bytes, counts->tmp_removed,
	    counts->examined, counts->kept, counts->unreadable,
	    counts->failed);
	store_close(st);
	return rc;
}
