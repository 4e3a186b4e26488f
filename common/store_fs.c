/* The fs backend: StoreDir/ab/abcdef....pull, written through a temporary
 * file in StoreDir/tmp/ (O_EXCL, fsync, rename, fsync of the directory) so
 * an object is either wholly there or not there. */
#define _GNU_SOURCE     /* O_NOATIME */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>    /* flock */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <linux/fs.h>   /* FS_IOC_GETFLAGS, FS_TOPDIR_FL */
#include <unistd.h>
#include <pthread.h>
#include <glib.h>
#include <sodium.h>
#include "config.h"
#include "fileio.h"
#include "store_backend.h"
#include "store_fs_peek.h"

#define DIR_MODE 0750
#define OBJECT_SUFFIX STORE_FS_OBJECT_SUFFIX
#define FILE_MODE 0640
#define TMP_DIR "tmp"
#define FANOUT_DIRS 256

struct fs_store {
	struct store base;
	char *dir;
	int dirfd;
	/* Names temporary files: "pid.counter" is unique among live writers
	 * and O_EXCL catches a crashed writer's leftover; the random start
	 * only makes a collision with one unlikely. Atomic: the milter's
	 * threads share one store. */
	uint64_t tmp_seq;
	int no_noatime;         /* O_NOATIME refused (not the files' owner) */
	/* The read state records this process counts fetches in, kept open
	 * and mapped (readstate.h), made at the first fetch; the lock makes
	 * the cache safe for threads sharing the store. */
	pthread_mutex_t rs_lock;
	struct readstate_cache *rs_cache;
	bool rs_cache_failed;
};

/* Records kept open by one process: a FastCGI responder counts the pages
 * it serves again and again (its page cache's) at the cost of a lock. */
#define FS_READSTATE_CACHE 32

/* The last error of this thread's store calls: the milter's threads and
 * gc's workers share one store, and each logs its own failure. */
static __thread char fs_last_error[256];

struct fs_writer {
	struct store_writer base;
	struct fs_store *st;
	int fd;
	char tmpname[64];
	struct storage_id id;
};

struct fs_reader {
	struct store_reader base;
	int fd;
};

static enum store_status fs_cleanup_tmp(struct store *s, int64_t max_age,
    bool dry_run, unsigned long *removed);

static void
set_error(struct fs_store *st, const char *what, int err)
{
	(void)st;
	snprintf(fs_last_error, sizeof fs_last_error, "%s: %s", what,
	    strerror(err));
}

static const char *
fs_error(const struct store *s)
{
	(void)s;
	return fs_last_error;
}

static enum store_status
errno_status(int err)
{
	switch (err) {
	case ENOENT: return STORE_NOT_FOUND;
	case EEXIST: return STORE_EXISTS;
	case ENOMEM: return STORE_NOMEM;
	default: return STORE_IO;
	}
}

/* "00" to "ff" in StoreDir, 0750, then StoreDir synced so that they
 * survive a crash; existing ones are left as they are. 0 or -1 (errno). */
static int
create_fanout_dirs(int dirfd)
{
	for (unsigned i = 0; i < FANOUT_DIRS; i++) {
		char fan[3];
		snprintf(fan, sizeof fan, "%02x", i);
		if (mkdirat(dirfd, fan, DIR_MODE) != 0 && errno != EEXIST)
			return -1;
	}
	return fsync(dirfd);
}

/* Marks StoreDir as the top of a directory hierarchy (chattr +T) before
 * its subdirectories are made, so that ext2/3/4 places tmp/, where every
 * object's inode is allocated, in a block group of its own rather than in
 * its parent's, next to neighbours such as the MTA's queue. Without a
 * journal, ext4 skips each inode freed in the last 60 s (360 s while its
 * inode table block is unwritten) when it allocates one, so a create in
 * the block group of a busy queue, which frees hundreds of files a
 * second, scans past thousands of them. The 256 fan-out directories are
 * spread over block groups too, which costs nothing on the way an object
 * is found (by name). Best effort: other file systems refuse or lack the
 * flag, and a store works the same without it. */
static void
mark_top_directory(int dirfd)
{
	int flags;
	if (ioctl(dirfd, FS_IOC_GETFLAGS, &flags) != 0 ||
	    (flags & FS_TOPDIR_FL) != 0)
		return;
	flags |= FS_TOPDIR_FL;
	(void)ioctl(dirfd, FS_IOC_SETFLAGS, &flags);
}

static struct store *
fs_open(const struct config *cfg, enum store_mode mode, char **err)
{
	const char *dir = cfg->store_dir;
	struct stat sb;

	*err = NULL;
	if (dir == NULL || *dir == '\0') {
		*err = g_strdup("[store] StoreDir is not set");
		return NULL;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*err = g_strdup_printf("StoreDir %s: %s", dir, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		*err = g_strdup_printf("StoreDir %s: not a directory", dir);
		close(fd);
		return NULL;
	}
	if (sb.st_mode & S_IWOTH) {
		*err = g_strdup_printf("StoreDir %s is world-writable (mode %04o); "
		    "expected 0750", dir, (unsigned)(sb.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (mode == STORE_READ_WRITE) {
		if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
			*err = g_strdup_printf("StoreDir %s is not writable by "
			    "uid %u: %s", dir, (unsigned)geteuid(), strerror(errno));
			close(fd);
			return NULL;
		}
		if (faccessat(fd, TMP_DIR, F_OK, AT_EACCESS) != 0)
			mark_top_directory(fd);
		if (mkdirat(fd, TMP_DIR, DIR_MODE) == 0) {
			/* A new store: its fan-out directories are made now,
			 * once, rather than one by one by the first messages,
			 * each of which would pay an fsync of StoreDir. */
			if (create_fanout_dirs(fd) != 0) {
				*err = g_strdup_printf("StoreDir %s: cannot create "
				    "the fan-out directories: %s", dir,
				    strerror(errno));
				close(fd);
				return NULL;
			}
		} else if (errno != EEXIST) {
			*err = g_strdup_printf("StoreDir %s: cannot create %s/: %s",
			    dir, TMP_DIR, strerror(errno));
			close(fd);
			return NULL;
		}
	}
	struct fs_store *st = calloc(1, sizeof *st);
	if (st == NULL || (st->dir = strdup(dir)) == NULL) {
		free(st);
		close(fd);
		*err = g_strdup("out of memory");
		return NULL;
	}
	st->base.ops = &store_fs_ops;
	st->dirfd = fd;
	pthread_mutex_init(&st->rs_lock, NULL);
	randombytes_buf(&st->tmp_seq, sizeof st->tmp_seq);
	st->tmp_seq >>= 16;     /* room to count up without wrapping */
	if (mode == STORE_READ_WRITE) {
		unsigned long removed;
		fs_cleanup_tmp(&st->base, STORE_TMP_STALE_AGE, false,
		    &removed);
	}
	return &st->base;
}

static void
fs_close(struct store *s)
{
	struct fs_store *st = (struct fs_store *)s;
	readstate_cache_free(st->rs_cache);
	pthread_mutex_destroy(&st->rs_lock);
	close(st->dirfd);
	free(st->dir);
	free(st);
}

/* Opens the fan-out directory fan, creating it (and making its name in
 * StoreDir durable) if a store made before they were all created at once
 * lacks it. The descriptor or -1 (errno). */
static int
open_fanout_dir(struct fs_store *st, const char *fan)
{
	int fd = openat(st->dirfd, fan, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(st->dirfd, fan, DIR_MODE) != 0 && errno != EEXIST)
		return -1;
	if (fsync(st->dirfd) != 0)
		return -1;
	return openat(st->dirfd, fan, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
}

static enum store_status
fs_write_begin(struct store *s, const struct storage_id *id,
    struct store_writer **out)
{
	struct fs_store *st = (struct fs_store *)s;
	struct fs_writer *w = calloc(1, sizeof *w);

	*out = NULL;
	if (w == NULL)
		return STORE_NOMEM;
	w->base.ops = &store_fs_ops;
	w->st = st;
	w->id = *id;
	for (int tries = 0; tries < 10; tries++) {
		uint64_t seq = __atomic_fetch_add(&st->tmp_seq, 1,
		    __ATOMIC_RELAXED);
		/* The pid in the name lets an administrator see who wrote it. */
		snprintf(w->tmpname, sizeof w->tmpname, TMP_DIR "/%ld.%016llx",
		    (long)getpid(), (unsigned long long)seq);
		w->fd = openat(st->dirfd, w->tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	if (w->fd < 0) {
		int err = errno;
		set_error(st, "create temporary file", err);
		free(w);
		return errno_status(err);
	}
	/* Held until the file is closed (commit, abort, or the writer's
	 * death): a temporary file nobody holds is a dead writer's, which
	 * store_cleanup_tmp removes without waiting a day (see there). */
	if (flock(w->fd, LOCK_EX) != 0) {
		int err = errno;
		set_error(st, "lock temporary file", err);
		close(w->fd);
		unlinkat(st->dirfd, w->tmpname, 0);
		free(w);
		return STORE_IO;
	}
	*out = &w->base;
	return STORE_OK;
}

static enum store_status
fs_write(struct store_writer *ww, const void *buf, size_t len)
{
	struct fs_writer *w = (struct fs_writer *)ww;
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_error(w->st, "write", errno);
			return STORE_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return STORE_OK;
}

static enum store_status
pwrite_all(struct fs_store *st, int fd, uint64_t off, const void *buf,
    size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_error(st, "pwrite", errno);
			return STORE_IO;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return STORE_OK;
}

static enum store_status
fs_write_at(struct store_writer *ww, uint64_t off, const void *buf,
    size_t len)
{
	struct fs_writer *w = (struct fs_writer *)ww;
	return pwrite_all(w->st, w->fd, off, buf, len);
}

static void
fs_abort(struct store_writer *ww)
{
	struct fs_writer *w = (struct fs_writer *)ww;
	if (w->fd >= 0)
		close(w->fd);
	unlinkat(w->st->dirfd, w->tmpname, 0);
	free(w);
}

static enum store_status
fs_commit(struct store_writer *ww)
{
	struct fs_writer *w = (struct fs_writer *)ww;
	struct fs_store *st = w->st;
	char fan[3], name[STORAGE_ID_HEX_LEN + sizeof OBJECT_SUFFIX];
	enum store_status rc = STORE_OK;

	if (fsync(w->fd) != 0) {
		set_error(st, "fsync", errno);
		fs_abort(ww);
		return STORE_IO;
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		set_error(st, "close", errno);
		fs_abort(ww);
		return STORE_IO;
	}
	w->fd = -1;
	memcpy(fan, w->id.hex, 2);
	fan[2] = '\0';
	int fanfd = open_fanout_dir(st, fan);
	if (fanfd < 0) {
		set_error(st, "open fan-out directory", errno);
		fs_abort(ww);
		return STORE_IO;
	}
	snprintf(name, sizeof name, "%s" OBJECT_SUFFIX, w->id.hex);
	if (renameat(st->dirfd, w->tmpname, fanfd, name) != 0) {
		set_error(st, "rename into place", errno);
		close(fanfd);
		fs_abort(ww);
		return STORE_IO;
	}
	/* The destination directory makes the rename durable. tmp/ is not
	 * synced: after a crash it may still list the old name, a stray
	 * temporary file that store_cleanup_tmp removes. */
	if (fsync(fanfd) != 0) {
		set_error(st, "fsync directory", errno);
		rc = STORE_IO;
	}
	close(fanfd);
	free(w);
	return rc;
}

static enum store_status
fs_read_open(struct store *s, const struct storage_id *id,
    struct store_reader **out)
{
	struct fs_store *st = (struct fs_store *)s;
	char path[STORE_FS_PATH_MAX];
	struct stat sb;

	*out = NULL;
	store_fs_object_path(id, path);
	int fd = openat(st->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		set_error(st, "open object", errno);
		return errno_status(errno);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		set_error(st, "open object", errno ? errno : EINVAL);
		close(fd);
		return STORE_IO;
	}
	struct fs_reader *r = calloc(1, sizeof *r);
	if (r == NULL) {
		close(fd);
		return STORE_NOMEM;
	}
	r->base.ops = &store_fs_ops;
	r->fd = fd;
	*out = &r->base;
	return STORE_OK;
}

static long
fs_read(struct store_reader *rr, void *buf, size_t len)
{
	struct fs_reader *r = (struct fs_reader *)rr;
	for (;;) {
		ssize_t n = read(r->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		return (long)n;
	}
}

static void
fs_read_close(struct store_reader *rr)
{
	struct fs_reader *r = (struct fs_reader *)rr;
	close(r->fd);
	free(r);
}

/* Open, one pread, close: no reader to allocate. O_NONBLOCK: should a
 * FIFO take the name, open does not wait for a writer; pread then fails. */
static enum store_status
fs_object_version(struct store *s, const struct storage_id *id,
    unsigned char *head, size_t head_len, char version[STORE_VERSION_MAX])
{
	struct fs_store *st = (struct fs_store *)s;
	char path[STORE_FS_PATH_MAX];
	struct stat sb;

	store_fs_object_path(id, path);
	int fd = openat(st->dirfd, path,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		set_error(st, "open object", errno);
		return errno_status(errno);
	}
	enum store_status rc = STORE_IO;
	if (fstat(fd, &sb) != 0)
		set_error(st, "stat object", errno);
	else if (!S_ISREG(sb.st_mode))
		set_error(st, "object", EINVAL);
	else if (fileio_pread_head(fd, head, head_len) != (ssize_t)head_len)
		set_error(st, "read object", EIO);
	else {
		store_fs_version(&sb, version);
		rc = STORE_OK;
	}
	close(fd);
	return rc;
}

static enum store_status
fs_read_head(struct store *s, const struct storage_id *id, void *buf,
    size_t len, size_t *got)
{
	struct fs_store *st = (struct fs_store *)s;
	char path[STORE_FS_PATH_MAX];

	*got = 0;
	store_fs_object_path(id, path);
	int fd = openat(st->dirfd, path,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		set_error(st, "open object", errno);
		return errno_status(errno);
	}
	ssize_t n = fileio_pread_head(fd, buf, len);
	if (n < 0) {
		set_error(st, "read object", errno);
		close(fd);
		return STORE_IO;
	}
	close(fd);
	*got = (size_t)n;
	return STORE_OK;
}

static enum store_status
fs_patch(struct store *s, const struct storage_id *id, uint64_t off,
    const void *buf, size_t len)
{
	struct fs_store *st = (struct fs_store *)s;
	char path[STORE_FS_PATH_MAX];

	store_fs_object_path(id, path);
	int fd = openat(st->dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		set_error(st, "open object", errno);
		return errno_status(errno);
	}
	enum store_status rc = pwrite_all(st, fd, off, buf, len);
	if (rc == STORE_OK && fsync(fd) != 0) {
		set_error(st, "fsync", errno);
		rc = STORE_IO;
	}
	close(fd);
	return rc;
}

static enum store_status
fs_remove(struct store *s, const struct storage_id *id)
{
	struct fs_store *st = (struct fs_store *)s;
	char path[STORE_FS_PATH_MAX];

	store_fs_object_path(id, path);
	if (unlinkat(st->dirfd, path, 0) != 0) {
		set_error(st, "delete object", errno);
		return errno_status(errno);
	}
	/* Not synced: gc deletes an expired object again if a crash undoes
	 * this; revocation, which must be durable, writes a tombstone through
	 * commit instead. */
	return STORE_OK;
}

static int
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A directory stream over StoreDir itself (its fan-out directories), or
 * NULL with the store's error set. */
static DIR *
open_top(struct fs_store *st)
{
	int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		set_error(st, "open store directory", errno);
		return NULL;
	}
	DIR *top = fdopendir(fd);
	if (top == NULL) {
		set_error(st, "open store directory", errno);
		close(fd);
	}
	return top;
}

/* An object met by fs_scan: its fan-out directory, name and open file. */
struct fs_entry {
	struct store_entry base;
	struct fs_store *st;
	int dirfd;
	int fd;
	const char *name;
	int have_size;
	uint64_t size;
};

static enum store_status
fs_entry_size(struct store_entry *ee, uint64_t *size)
{
	struct fs_entry *e = (struct fs_entry *)ee;
	struct stat sb;

	if (!e->have_size) {
		if (fstat(e->fd, &sb) != 0) {
			set_error(e->st, "stat object", errno);
			return STORE_IO;
		}
		e->size = (uint64_t)sb.st_size;
		e->have_size = 1;
	}
	*size = e->size;
	return STORE_OK;
}

/* The object is closed first: unlinking a file still open makes file
 * systems such as ext4 put it on the orphan list (a journaled, store-wide
 * list) until the last close. Its size is kept for store_entry_size. */
static enum store_status
fs_entry_delete(struct store_entry *ee)
{
	struct fs_entry *e = (struct fs_entry *)ee;

	if (e->fd >= 0) {
		uint64_t size;
		if (fs_entry_size(ee, &size) != STORE_OK) {
			e->have_size = 1;
			e->size = 0;
		}
		close(e->fd);
		e->fd = -1;
	}
	if (unlinkat(e->dirfd, e->name, 0) != 0) {
		set_error(e->st, "delete object", errno);
		return errno_status(errno);
	}
	/* Its read state goes with it. The object is gone whatever happens
	 * here: a record left behind names nothing and is only a few bytes. */
	char hex[STORAGE_ID_HEX_LEN + 1];
	struct storage_id id;
	memcpy(hex, e->name, STORAGE_ID_HEX_LEN);
	hex[STORAGE_ID_HEX_LEN] = '\0';
	if (storage_id_parse(hex, &id) == 0)
		(void)readstate_fs_remove(e->st->dirfd, &id);
	return STORE_OK;   /* not synced: see fs_remove */
}

/* One fan-out directory of fs_scan. Everything is relative to the
 * directory's descriptor (one name to look up per object), d_type stands in
 * for a stat where the file system fills it in, and the head is one pread:
 * open, pread, close per object, and unlinkat for one that is deleted. */
static enum store_status
scan_fanout(struct fs_store *st, const char *fan, size_t head_max,
    store_scan_fn fn, void *ctx)
{
	unsigned char head[STORE_SCAN_HEAD_MAX];
	int sfd = openat(st->dirfd, fan,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sfd < 0)
		return STORE_OK;
	DIR *sub = fdopendir(sfd);
	if (sub == NULL) {
		close(sfd);
		return STORE_OK;
	}
	struct fs_entry e = { .base.ops = &store_fs_ops, .st = st,
	    .dirfd = sfd };
	enum store_status rc = STORE_OK;
	struct dirent *oe;
	while ((oe = readdir(sub)) != NULL) {
		const char *n = oe->d_name;
		if (strlen(n) != STORAGE_ID_HEX_LEN + strlen(OBJECT_SUFFIX) ||
		    strcmp(n + STORAGE_ID_HEX_LEN, OBJECT_SUFFIX) != 0 ||
		    !is_hex(n, STORAGE_ID_HEX_LEN) || memcmp(n, fan, 2) != 0)
			continue;
		e.have_size = 0;
		if (oe->d_type != DT_REG) {
			struct stat sb;
			if (oe->d_type != DT_UNKNOWN ||
			    fstatat(sfd, n, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(sb.st_mode))
				continue;   /* removed meanwhile, or not ours */
			e.size = (uint64_t)sb.st_size;
			e.have_size = 1;
		}
		/* O_NONBLOCK: should a FIFO take the name after the check,
		 * open does not wait for a writer. O_NOATIME: reading a
		 * header need not dirty the inode; only the files' owner
		 * may ask, so without it after the first refusal. */
		int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
		if (!__atomic_load_n(&st->no_noatime, __ATOMIC_RELAXED)) {
			e.fd = openat(sfd, n, flags | O_NOATIME);
			if (e.fd < 0 && errno == EPERM) {
				__atomic_store_n(&st->no_noatime, 1,
				    __ATOMIC_RELAXED);
				e.fd = openat(sfd, n, flags);
			}
		} else {
			e.fd = openat(sfd, n, flags);
		}
		if (e.fd < 0 && errno == ENOENT)
			continue;       /* removed meanwhile */
		ssize_t got = -1;
		if (e.fd < 0)
			set_error(st, "open object", errno);
		else if ((got = fileio_pread_head(e.fd, head, head_max)) < 0)
			set_error(st, "read object", errno);
		struct storage_id id;
		memcpy(id.hex, n, STORAGE_ID_HEX_LEN);
		id.hex[STORAGE_ID_HEX_LEN] = '\0';
		e.name = n;
		int stop;
		if (e.fd < 0) {
			/* No descriptor to ask the size through: a failed open
			 * reports size 0 rather than stat by name. */
			e.have_size = 1;
			e.size = 0;
		}
		stop = fn(&e.base, &id, head, got < 0 ? 0 : (size_t)got,
		    got < 0 ? STORE_IO : STORE_OK, ctx);
		if (e.fd >= 0)
			close(e.fd);
		if (stop != 0) {
			rc = STORE_STOP;
			break;
		}
	}
	closedir(sub);
	return rc;
}

static enum store_status
fs_scan(struct store *s, unsigned part, unsigned nparts, size_t head_max,
    store_scan_fn fn, void *ctx)
{
	struct fs_store *st = (struct fs_store *)s;
	DIR *top = open_top(st);
	if (top == NULL)
		return STORE_IO;
	enum store_status rc = STORE_OK;
	struct dirent *de;
	while (rc == STORE_OK && (de = readdir(top)) != NULL) {
		if (strlen(de->d_name) != 2 || !is_hex(de->d_name, 2))
			continue;
		if (strtoul(de->d_name, NULL, 16) % nparts != part)
			continue;
		rc = scan_fanout(st, de->d_name, head_max, fn, ctx);
	}
	closedir(top);
	return rc;
}

/* Whether the temporary file name in d, last written at mtime, is a dead
 * writer's: a writer holds its file's lock from the moment it is created
 * until it is closed, so a file whose lock can be taken has no writer. A
 * file written in the last STORE_TMP_ORPHAN_AGE seconds is left alone
 * whatever its lock: it covers the instant between a writer's create and
 * its lock, and between its close and its rename into place. The lock is
 * kept on *fd (-1 if none) so that the caller removes the file under it. */
static bool
tmp_is_orphan(int d, const char *name, time_t mtime, time_t now, int *fd)
{
	*fd = -1;
	if ((int64_t)(now - mtime) < STORE_TMP_ORPHAN_AGE)
		return false;
	*fd = openat(d, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd < 0)
		return false;
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		close(*fd);
		*fd = -1;
		return false;
	}
	return true;
}

/* Removes (or, dry_run, counts) the temporary files older than max_age,
 * and those no live writer holds (tmp_is_orphan): a writer killed in the
 * middle of a message leaves its file, which goes at the next cleanup
 * rather than a day later. */
static enum store_status
fs_cleanup_tmp(struct store *s, int64_t max_age, bool dry_run,
    unsigned long *removed)
{
	struct fs_store *st = (struct fs_store *)s;
	time_t now = time(NULL);

	*removed = 0;
	int fd = openat(st->dirfd, TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return STORE_OK;
		set_error(st, "open tmp directory", errno);
		return STORE_IO;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		set_error(st, "open tmp directory", errno);
		close(fd);
		return STORE_IO;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		int lockfd = -1;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if ((int64_t)(now - sb.st_mtime) < max_age &&
		    !tmp_is_orphan(dirfd(d), de->d_name, sb.st_mtime, now,
		    &lockfd))
			continue;
		if (dry_run || unlinkat(dirfd(d), de->d_name, 0) == 0)
			(*removed)++;
		if (lockfd >= 0)
			close(lockfd);
	}
	closedir(d);
	return STORE_OK;
}

/* The read state: a record file beside the object (readstate.c). */
static enum store_status
fs_readstate_get(struct store *s, const struct storage_id *id,
    struct readstate *rs, bool *found)
{
	struct fs_store *st = (struct fs_store *)s;

	if (readstate_fs_read(st->dirfd, id, rs, found) != 0) {
		set_error(st, "read the read state", errno);
		return errno_status(errno);
	}
	return STORE_OK;
}

static enum store_status
fs_readstate_update(struct store *s, const struct storage_id *id,
    readstate_update_fn fn, void *ctx, bool durable, int *declined)
{
	struct fs_store *st = (struct fs_store *)s;
	int rc;

	/* A count goes through the mapped records; a decision that must be
	 * durable (a receipt) is written and synced. Both lock the file. */
	if (!durable) {
		pthread_mutex_lock(&st->rs_lock);
		if (st->rs_cache == NULL && !st->rs_cache_failed &&
		    (st->rs_cache = readstate_cache_new(FS_READSTATE_CACHE)) ==
		    NULL)
			st->rs_cache_failed = true;
		if (st->rs_cache != NULL) {
			rc = readstate_cache_update(st->rs_cache, st->dirfd, id,
			    fn, ctx);
			pthread_mutex_unlock(&st->rs_lock);
			goto done;
		}
		pthread_mutex_unlock(&st->rs_lock);
	}
	rc = readstate_fs_update(st->dirfd, id, fn, ctx, durable);
done:
	*declined = 0;
	if (rc < 0) {
		set_error(st, "update the read state", errno);
		return errno_status(errno);
	}
	*declined = rc;
	return STORE_OK;
}

static enum store_status
fs_readstate_remove(struct store *s, const struct storage_id *id)
{
	struct fs_store *st = (struct fs_store *)s;

	if (readstate_fs_remove(st->dirfd, id) != 0) {
		set_error(st, "delete the read state", errno);
		return errno_status(errno);
	}
	return STORE_OK;
}

const struct store_ops store_fs_ops = {
	.name = "fs",
	.open = fs_open,
	.close = fs_close,
	.error = fs_error,
	.write_begin = fs_write_begin,
	.write = fs_write,
	.write_at = fs_write_at,
	.commit = fs_commit,
	.abort = fs_abort,
	.read_open = fs_read_open,
	.read = fs_read,
	.read_close = fs_read_close,
	.read_head = fs_read_head,
	.patch = fs_patch,
	.remove = fs_remove,
	.cleanup_tmp = fs_cleanup_tmp,
	.scan = fs_scan,
	.entry_size = fs_entry_size,
	.entry_delete = fs_entry_delete,
	.object_version = fs_object_version,
	.readstate_get = fs_readstate_get,
	.readstate_update = fs_readstate_update,
	.readstate_remove = fs_readstate_remove,
};
