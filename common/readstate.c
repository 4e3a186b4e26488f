/* The read state's record and its fs file (readstate.h). Plain C and
 * libsodium only: the CGI front links this file without GLib.
 *
 * Why a fixed record updated in place rather than an append-only log: a
 * fetch costs one open, one lock, one 256-byte read and one 128-byte write,
 * whatever the number of fetches before it; a log would grow with every
 * fetch (a link scanner in a loop would grow it without bound), would need
 * compaction by gc, and every reader (list, stats) would have to sum it.
 * Two slots with a checksum make a torn write lose one update, not the
 * state. The lock is flock on the file itself: it serialises the FastCGI
 * responders, the CGI processes and the threads of one process (each
 * update opens the file, so each has its own open file description). */
#define _GNU_SOURCE     /* O_NOFOLLOW */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "fileio.h"
#include "readstate.h"

#define RS_MAGIC "PMRS"
#define RS_VERSION 1
#define RS_OFF_VERSION 4
#define RS_OFF_RECEIPT 5
#define RS_OFF_SEQ 8
#define RS_OFF_ROUTES 16
#define RS_ROUTE_SIZE 24
#define RS_OFF_RECEIPT_AT (RS_OFF_ROUTES + READSTATE_ROUTES * RS_ROUTE_SIZE)
#define RS_CHECKSUM_SIZE 16
#define RS_OFF_CHECKSUM (READSTATE_SLOT_SIZE - RS_CHECKSUM_SIZE)
#define RS_FILE_MODE 0640

_Static_assert(RS_OFF_RECEIPT_AT + 8 <= RS_OFF_CHECKSUM,
    "the read state record does not fit its slot");

static const char *const route_names[READSTATE_ROUTES] = {
	"page", "eml", "part"
};

const char *
readstate_route_name(enum readstate_route r)
{
	return (unsigned)r < READSTATE_ROUTES ? route_names[r] : "?";
}

const char *
readstate_receipt_name(enum readstate_receipt r)
{
	switch (r) {
	case READSTATE_RECEIPT_NONE: return "none";
	case READSTATE_RECEIPT_SENT: return "sent";
	case READSTATE_RECEIPT_REFUSED: return "refused";
	}
	return "?";
}

void
readstate_totals(const struct readstate *rs, int64_t *first, int64_t *last,
    uint64_t *count)
{
	*first = 0;
	*last = 0;
	*count = 0;
	for (unsigned i = 0; i < READSTATE_ROUTES; i++) {
		const struct readstate_count *c = &rs->route[i];
		if (c->count == 0)
			continue;
		if (*first == 0 || c->first < *first)
			*first = c->first;
		if (c->last > *last)
			*last = c->last;
		*count += c->count;
	}
}

bool
readstate_was_read(const struct readstate *rs)
{
	for (unsigned i = 0; i < READSTATE_ROUTES; i++)
		if (rs->route[i].count > 0)
			return true;
	return false;
}

void
readstate_add_fetch(struct readstate *rs, enum readstate_route r,
    int64_t now)
{
	struct readstate_count *c = &rs->route[r];

	if (c->count == 0 || now < c->first)
		c->first = now;
	if (now > c->last)
		c->last = now;
	c->count++;
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void
readstate_encode(const struct readstate *rs, uint64_t seq,
    unsigned char slot[READSTATE_SLOT_SIZE])
{
	memset(slot, 0, READSTATE_SLOT_SIZE);
	memcpy(slot, RS_MAGIC, 4);
	slot[RS_OFF_VERSION] = RS_VERSION;
	slot[RS_OFF_RECEIPT] = rs->receipt;
	put64(slot + RS_OFF_SEQ, seq);
	for (unsigned i = 0; i < READSTATE_ROUTES; i++) {
		unsigned char *p = slot + RS_OFF_ROUTES + i * RS_ROUTE_SIZE;
		put64(p, (uint64_t)rs->route[i].first);
		put64(p + 8, (uint64_t)rs->route[i].last);
		put64(p + 16, rs->route[i].count);
	}
	put64(slot + RS_OFF_RECEIPT_AT, (uint64_t)rs->receipt_at);
	crypto_generichash(slot + RS_OFF_CHECKSUM, RS_CHECKSUM_SIZE, slot,
	    RS_OFF_CHECKSUM, NULL, 0);
}

int
readstate_decode(const unsigned char slot[READSTATE_SLOT_SIZE],
    struct readstate *rs, uint64_t *seq)
{
	unsigned char sum[RS_CHECKSUM_SIZE];

	if (memcmp(slot, RS_MAGIC, 4) != 0 || slot[RS_OFF_VERSION] !=
	    RS_VERSION)
		return -1;
	crypto_generichash(sum, sizeof sum, slot, RS_OFF_CHECKSUM, NULL, 0);
	if (sodium_memcmp(sum, slot + RS_OFF_CHECKSUM, sizeof sum) != 0)
		return -1;
	memset(rs, 0, sizeof *rs);
	rs->receipt = slot[RS_OFF_RECEIPT];
	for (unsigned i = 0; i < READSTATE_ROUTES; i++) {
		const unsigned char *p = slot + RS_OFF_ROUTES +
		    i * RS_ROUTE_SIZE;
		rs->route[i].first = (int64_t)get64(p);
		rs->route[i].last = (int64_t)get64(p + 8);
		rs->route[i].count = get64(p + 16);
	}
	rs->receipt_at = (int64_t)get64(slot + RS_OFF_RECEIPT_AT);
	*seq = get64(slot + RS_OFF_SEQ);
	return 0;
}

void
readstate_pick(const unsigned char *buf, size_t len, struct readstate *rs,
    uint64_t *seq, unsigned *slot)
{
	struct readstate s[2];
	uint64_t q[2];
	bool ok[2];

	for (unsigned i = 0; i < 2; i++)
		ok[i] = len >= (i + 1) * READSTATE_SLOT_SIZE &&
		    readstate_decode(buf + i * READSTATE_SLOT_SIZE, &s[i],
		    &q[i]) == 0;
	memset(rs, 0, sizeof *rs);
	*seq = 0;
	*slot = 0;
	unsigned best;
	if (ok[0] && ok[1])
		best = q[1] > q[0] ? 1 : 0;
	else if (ok[0] || ok[1])
		best = ok[1] ? 1 : 0;
	else
		return;
	*rs = s[best];
	*seq = q[best];
	*slot = 1 - best;
}

int
readstate_fs_read(int dirfd, const struct storage_id *id,
    struct readstate *rs, bool *found)
{
	char path[READSTATE_FS_PATH_MAX];
	unsigned char buf[READSTATE_FILE_SIZE];
	uint64_t seq;
	unsigned slot;

	memset(rs, 0, sizeof *rs);
	*found = false;
	readstate_fs_path(id, path);
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* A shared lock: the reader sees a whole update, not one being
	 * written (the slots would also tell, by their checksums). */
	(void)flock(fd, LOCK_SH);
	ssize_t n = fileio_pread_head(fd, buf, sizeof buf);
	int err = errno;
	close(fd);
	if (n < 0) {
		errno = err;
		return -1;
	}
	readstate_pick(buf, (size_t)n, rs, &seq, &slot);
	*found = true;
	return 0;
}

int
readstate_fs_update(int dirfd, const struct storage_id *id,
    readstate_update_fn fn, void *ctx, bool sync)
{
	char path[READSTATE_FS_PATH_MAX];
	unsigned char buf[READSTATE_FILE_SIZE];
	struct readstate rs;
	uint64_t seq;
	unsigned slot;
	int rc = -1, err = 0;

	readstate_fs_path(id, path);
	int fd = openat(dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, RS_FILE_MODE);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			err = errno;
			goto out;
		}
	}
	ssize_t n = fileio_pread_head(fd, buf, sizeof buf);
	if (n < 0) {
		err = errno;
		goto out;
	}
	readstate_pick(buf, (size_t)n, &rs, &seq, &slot);
	int declined = fn(&rs, ctx);
	if (declined != 0) {
		rc = declined;
		goto out;
	}
	readstate_encode(&rs, seq + 1, buf);
	off_t off = (off_t)slot * READSTATE_SLOT_SIZE;
	size_t done = 0;
	while (done < READSTATE_SLOT_SIZE) {
		ssize_t w = pwrite(fd, buf + done, READSTATE_SLOT_SIZE - done,
		    off + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : EIO;
			goto out;
		}
		done += (size_t)w;
	}
	if (sync && fsync(fd) != 0) {
		err = errno;
		goto out;
	}
	rc = 0;
out:
	close(fd);      /* releases the lock */
	if (rc < 0)
		errno = err;
	return rc;
}

int
readstate_fs_remove(int dirfd, const struct storage_id *id)
{
	char path[READSTATE_FS_PATH_MAX];

	readstate_fs_path(id, path);
	if (unlinkat(dirfd, path, 0) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

struct cache_entry {
	struct storage_id id;
	int fd;                 /* -1: free */
	unsigned char *map;     /* READSTATE_FILE_SIZE bytes, shared */
	uint64_t used;          /* for least recently used */
};

struct readstate_cache {
	unsigned max;
	uint64_t clock;
	struct cache_entry e[];
};

struct readstate_cache *
readstate_cache_new(unsigned max)
{
	struct readstate_cache *c = calloc(1, sizeof *c +
	    (size_t)max * sizeof c->e[0]);

	if (c == NULL)
		return NULL;
	c->max = max;
	for (unsigned i = 0; i < max; i++)
		c->e[i].fd = -1;
	return c;
}

static void
entry_drop(struct cache_entry *e)
{
	if (e->fd < 0)
		return;
	munmap(e->map, READSTATE_FILE_SIZE);
	close(e->fd);
	e->fd = -1;
	e->map = NULL;
}

void
readstate_cache_free(struct readstate_cache *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->max; i++)
		entry_drop(&c->e[i]);
	free(c);
}

/* Opens and maps id's record into e (the file made whole first: a record
 * is never cut short by its writers, only extended). 0 or -1 (errno). */
static int
entry_open(struct cache_entry *e, int dirfd, const struct storage_id *id)
{
	char path[READSTATE_FS_PATH_MAX];
	struct stat sb;

	readstate_fs_path(id, path);
	int fd = openat(dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, RS_FILE_MODE);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto fail;
	/* The record's blocks are allocated before it is mapped: a store of
	 * its own that is full (a size-limited tmpfs, a quota) would
	 * otherwise answer the first write into the mapping with SIGBUS, and
	 * the responder would die instead of leaving the fetch uncounted.
	 * posix_fallocate also extends a short file, and changes no byte
	 * that is there, so it needs the lock only to make it whole. */
	if (sb.st_size < READSTATE_FILE_SIZE) {
		if (flock(fd, LOCK_EX) != 0)
			goto fail;
	}
	int rc = posix_fallocate(fd, 0, READSTATE_FILE_SIZE);
	if (sb.st_size < READSTATE_FILE_SIZE)
		flock(fd, LOCK_UN);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	void *m = mmap(NULL, READSTATE_FILE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail;
	e->id = *id;
	e->fd = fd;
	e->map = m;
	return 0;
fail:
	{
		int err = errno;
		close(fd);
		errno = err;
	}
	return -1;
}

/* The entry of id, opened if need be (the least recently used one given
 * up for it); NULL with errno. */
static struct cache_entry *
cache_get(struct readstate_cache *c, int dirfd, const struct storage_id *id)
{
	struct cache_entry *victim = NULL;

	for (unsigned i = 0; i < c->max; i++) {
		struct cache_entry *e = &c->e[i];
		if (e->fd >= 0 && memcmp(e->id.hex, id->hex,
		    sizeof id->hex) == 0)
			return e;
		if (victim == NULL || e->fd < 0 ||
		    (victim->fd >= 0 && e->used < victim->used))
			victim = e;
	}
	if (victim == NULL) {
		errno = EINVAL;
		return NULL;
	}
	entry_drop(victim);
	if (entry_open(victim, dirfd, id) != 0)
		return NULL;
	return victim;
}

int
readstate_cache_update(struct readstate_cache *c, int dirfd,
    const struct storage_id *id, readstate_update_fn fn, void *ctx)
{
	unsigned char slot[READSTATE_SLOT_SIZE];
	struct readstate rs;
	struct stat sb;
	uint64_t seq;
	unsigned which;
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct cache_entry *e = cache_get(c, dirfd, id);
		if (e == NULL)
			return -1;
		e->used = ++c->clock;
		while (flock(e->fd, LOCK_EX) != 0)
			if (errno != EINTR)
				return -1;
		/* Removed (gc) or cut short since it was mapped: a mapping
		 * past the end of the file would fault. Reopen it once. */
		if (fstat(e->fd, &sb) != 0 || sb.st_nlink == 0 ||
		    sb.st_size < READSTATE_FILE_SIZE) {
			flock(e->fd, LOCK_UN);
			entry_drop(e);
			continue;
		}
		readstate_pick(e->map, READSTATE_FILE_SIZE, &rs, &seq, &which);
		rc = fn(&rs, ctx);
		if (rc == 0) {
			readstate_encode(&rs, seq + 1, slot);
			memcpy(e->map + which * READSTATE_SLOT_SIZE, slot,
			    sizeof slot);
		}
		flock(e->fd, LOCK_UN);
		return rc;
	}
	errno = ESTALE;
	return -1;
}
