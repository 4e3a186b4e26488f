/* gc: removes expired objects and stale temporary files.
 *
 * Safety while the milter writes: the walk sees committed objects only
 * (store_scan), and an object is removed only when its header was read in
 * full, parsed, and sealed_gc_due says so at the run's clock, fixed at the
 * start. A message committed during the run has created >= that clock and a
 * later expiry, so it is never due; a header that cannot be read or parsed
 * (damaged, or a file changing under us) is left alone and counted. Temporary
 * files go through store_cleanup_tmp with a day's age, far above the hour a
 * writer may hold one; one that no live writer holds (a writer killed in
 * the middle of a message) goes a minute after its last write
 * (STORE_TMP_ORPHAN_AGE).
 * Memory: one header at a time. Per object the fs
 * backend opens, reads the header with one pread and closes, relative to
 * the fan-out directory, and unlinks there what is due (store_scan). */
#define _GNU_SOURCE     /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "pagefile.h"
#include "tools/ctl.h"

#define GC_MAX_WORKERS 4

/* One worker's share of the walk: its own counts, summed at the end. */
struct gc_walk {
	struct ctl *c;
	struct store *st;
	bool dry_run;
	unsigned part, nparts;
	enum store_status rc;
	char error[256];        /* store_error() of a failed walk */
	struct ctl_gc_counts *n;
	struct ctl_gc_counts counts;
};

static void
gc_deleted(const struct storage_id *id, uint64_t size, enum store_status ss,
    const char *error, void *ctx)
{
	struct gc_walk *g = ctx;

	if (ss == STORE_OK) {
		/* The read state went with the object (store_entry_delete). */
		g->n->removed++;
		g->n->removed_bytes += size;
	} else if (ss != STORE_NOT_FOUND) {   /* else removed meanwhile */
		g->n->failed++;
		log_message(LOG_ERR, NULL, id, "gc: cannot delete: %s",
		    error != NULL ? error : "unknown error");
	}
}

static int
gc_one(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t got, enum store_status hs, void *ctx)
{
	struct gc_walk *g = ctx;
	struct envelope_meta meta;
	const char *why = NULL;
	enum store_status ss;
	uint64_t size = 0;

	g->n->examined++;
	if (ctl_parse_head(head, got, hs, &meta, &why) < 0) {
		g->n->unreadable++;
		log_message(LOG_WARNING, NULL, id,
		    "gc: header unreadable (%s), object left alone", why);
		return 0;
	}
	if (!sealed_gc_due(&meta, g->c->cfg->max_retention, g->c->now)) {
		g->n->kept++;
		return 0;
	}
	/* The size only of what goes: kept objects need no stat. */
	if (store_entry_size(e, &size) != STORE_OK)
		size = 0;
	if (g->dry_run) {
		g->n->removed++;
		g->n->removed_bytes += size;
		return 0;
	}
	/* The s3 backend sends deletes in batches; gc_deleted counts each
	 * one when its result is known. */
	ss = store_entry_delete_batched(e, id, gc_deleted, g);
	if (ss != STORE_OK) {
		g->n->failed++;
		log_message(LOG_ERR, NULL, id, "gc: cannot delete: %s",
		    store_error(g->st));
	}
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
		    "\"tmp_removed\": %lu, \"pages_removed\": %lu}\n",
		    n->examined, n->removed,
		    (unsigned long long)n->removed_bytes, n->kept,
		    n->unreadable, n->failed, n->tmp_removed, n->pages_removed);
		return;
	}
	fprintf(c->out, "%s%lu objects (%llu bytes) and %lu temporary files; "
	    "examined %lu objects, kept %lu, unreadable %lu, failed %lu\n",
	    dry_run ? "gc (dry run): would remove " : "gc: removed ",
	    n->removed, (unsigned long long)n->removed_bytes, n->tmp_removed,
	    n->examined, n->kept, n->unreadable, n->failed);
	if (n->pages_removed > 0)
		fprintf(c->out, "gc: removed %lu kept pages from PageCacheDir\n",
		    n->pages_removed);
}

struct gc_pages {
	struct store *st;
	int64_t max_retention;
	int64_t now;
};

/* A kept page stays only while its object may be read. */
static int
gc_page_alive(void *ctx, const struct storage_id *id)
{
	const struct gc_pages *gp = ctx;
	struct envelope_meta m;

	return sealed_meta(gp->st, id, &m) == SEALED_OK &&
	    sealed_meta_state(&m, gp->max_retention, gp->now) == SEALED_OK;
}

/* Sweeps [web] PageCacheDir: pages of objects gone, revoked or expired,
 * pages older than PAGEFILE_MAX_AGE, and the oldest past PageCache. */
static int
gc_pages(struct ctl *c, struct store *st, struct ctl_gc_counts *counts)
{
	const char *dir = c->cfg->page_cache_dir;
	struct gc_pages gp = { st, c->cfg->max_retention, c->now };

	if (dir == NULL || dir[0] == '\0')
		return 0;
	long n = pagefile_sweep(dir, c->cfg->page_cache, PAGEFILE_MAX_AGE,
	    c->now, gc_page_alive, &gp);
	int e = errno;  /* fprintf may change errno */
	if (n < 0 && (e == EACCES || e == EPERM || e == EROFS)) {
		/* The directory is the web user's (0700): pullmail-web's own
		 * sweeps and its age limit bound it then. */
		fprintf(c->err, "pullmailctl: gc: PageCacheDir %s not swept: "
		    "%s\n", dir, strerror(e));
		log_msg(LOG_WARNING, "gc: PageCacheDir %s not swept: %s", dir,
		    strerror(e));
		return 0;
	}
	if (n < 0) {
		fprintf(c->err, "pullmailctl: gc: cannot sweep PageCacheDir "
		    "%s: %s\n", dir, strerror(e));
		log_msg(LOG_ERR, "gc: cannot sweep PageCacheDir %s: %s", dir,
		    strerror(e));
		return -1;
	}
	counts->pages_removed = (unsigned long)n;
	return 0;
}

static void *
gc_worker(void *arg)
{
	struct gc_walk *g = arg;

	g->rc = store_scan_part(g->st, g->part, g->nparts, ENVELOPE_META_SIZE,
	    gc_one, g);
	if (g->rc != STORE_OK)
		snprintf(g->error, sizeof(g->error), "%s", store_error(g->st));
	return NULL;
}

/* Deleting an object is mostly the kernel's work (unlink, then freeing the
 * inode and its pages), so gc walks disjoint parts of the store in one
 * thread per CPU, up to GC_MAX_WORKERS: on a fan-out directory each, they
 * do not contend for a directory lock. Memory stays one header and one
 * directory stream per worker. */
static unsigned
gc_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > GC_MAX_WORKERS ? GC_MAX_WORKERS : (unsigned)n;
}

int
ctl_gc(struct ctl *c, bool dry_run, bool json, struct ctl_gc_counts *counts)
{
	struct ctl_gc_counts local;
	struct gc_walk g[GC_MAX_WORKERS];
	pthread_t th[GC_MAX_WORKERS];
	bool started[GC_MAX_WORKERS];
	unsigned nw = gc_workers();
	struct store *st;
	int rc;

	if (counts == NULL)
		counts = &local;
	memset(counts, 0, sizeof(*counts));
	st = ctl_store_open(c, dry_run ? STORE_READ_ONLY : STORE_READ_WRITE,
	    &rc);
	if (st == NULL)
		return rc;
	for (unsigned i = 0; i < nw; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].c = c;
		g[i].st = st;
		g[i].dry_run = dry_run;
		g[i].part = i;
		g[i].nparts = nw;
		g[i].n = &g[i].counts;
		/* Part 0 is walked here; a thread that cannot start has its
		 * part walked here too. */
		started[i] = i > 0 &&
		    pthread_create(&th[i], NULL, gc_worker, &g[i]) == 0;
	}
	for (unsigned i = 0; i < nw; i++) {
		if (!started[i])
			gc_worker(&g[i]);
	}
	for (unsigned i = 0; i < nw; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		counts->examined += g[i].counts.examined;
		counts->removed += g[i].counts.removed;
		counts->removed_bytes += g[i].counts.removed_bytes;
		counts->kept += g[i].counts.kept;
		counts->unreadable += g[i].counts.unreadable;
		counts->failed += g[i].counts.failed;
		if (g[i].rc != STORE_OK && rc == EX_OK) {
			fprintf(c->err, "pullmailctl: gc: walking the store "
			    "failed: %s\n", g[i].error);
			log_msg(LOG_ERR, "gc: walking the store failed: %s",
			    g[i].error);
			rc = EX_IOERR;
		}
	}
	if (dry_run) {
		if (store_count_tmp(st, CTL_TMP_MAX_AGE, &counts->tmp_removed)
		    != STORE_OK) {
			fprintf(c->err, "pullmailctl: gc: cannot read the "
			    "temporary directory: %s\n", store_error(st));
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
	if (!dry_run && gc_pages(c, st, counts) != 0)
		rc = EX_IOERR;
	if (counts->failed > 0) {
		fprintf(c->err, "pullmailctl: gc: %lu objects could not be "
		    "deleted (see the log)\n", counts->failed);
		rc = EX_IOERR;
	}
	gc_print(c, dry_run, json, counts);
	log_msg(LOG_INFO, "gc%s: %s %lu objects (%llu bytes) and %lu "
	    "temporary files; examined %lu, kept %lu, unreadable %lu, "
	    "failed %lu; kept pages removed %lu", dry_run ? " (dry run)" : "",
	    dry_run ? "would remove" : "removed", counts->removed,
	    (unsigned long long)counts->removed_bytes, counts->tmp_removed,
	    counts->examined, counts->kept, counts->unreadable,
	    counts->failed, counts->pages_removed);
	store_close(st);
	return rc;
}
