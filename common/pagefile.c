/* Sealed pages on disk (pagefile.h). An entry: PAGEFILE_MAGIC, the nonce,
 * then the response encrypted and authenticated, with the hash of the
 * scope and request as additional data. */
#define _GNU_SOURCE     /* O_NOFOLLOW with openat */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "pagefile.h"

#define PAGEFILE_MAGIC "PMPAGE1\n"
#define MAGIC_LEN 8
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define HEAD_LEN (MAGIC_LEN + NONCE_LEN)
#define TMP_PREFIX ".tmp-"
/* A temporary file this old is a writer's leftover (seconds). */
#define TMP_STALE_AGE 300
/* The sweep looks at no more entries than this in one pass. */
#define SWEEP_MAX_ENTRIES 100000

void
pagefile_config_digest(const void *data, size_t len,
    unsigned char out[PAGEFILE_DIGEST_BYTES])
{
	crypto_generichash(out, PAGEFILE_DIGEST_BYTES, data, len, NULL, 0);
}

/* Each field with its length in front, so that no two different lists of
 * fields hash alike. */
static void
hash_field(crypto_generichash_state *h, const void *p, size_t len)
{
	unsigned char n[8];
	for (int i = 0; i < 8; i++)
		n[i] = (unsigned char)((uint64_t)len >> (8 * i));
	crypto_generichash_update(h, n, sizeof n);
	crypto_generichash_update(h, p, len);
}

static void
hash_string(crypto_generichash_state *h, const char *s)
{
	s = s != NULL ? s : "";
	hash_field(h, s, strlen(s));
}

static void
hash_int(crypto_generichash_state *h, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	hash_field(h, b, sizeof b);
}

/* What names the entry (the request proper). */
static void
hash_request(crypto_generichash_state *h, const struct pagefile_request *rq)
{
	hash_string(h, rq->rest);
	hash_string(h, rq->query);
	hash_string(h, rq->accept_language);
}

static void
hash_object(crypto_generichash_state *h, const struct pagefile_object *o)
{
	if (o == NULL) {
		hash_string(h, "");
		return;
	}
	hash_field(h, o->head, sizeof o->head);
	hash_field(h, o->version, strnlen(o->version, sizeof o->version));
}

int
pagefile_program_id(const char *path, unsigned char out[PAGEFILE_DIGEST_BYTES])
{
	struct stat sb;
	crypto_generichash_state h;

	if (stat(path, &sb) != 0)
		return -1;
	crypto_generichash_init(&h, NULL, 0, PAGEFILE_DIGEST_BYTES);
	hash_string(&h, PULLMAIL_VERSION);
	hash_int(&h, (int64_t)sb.st_dev);
	hash_int(&h, (int64_t)sb.st_ino);
	hash_int(&h, (int64_t)sb.st_size);
	hash_int(&h, (int64_t)sb.st_mtim.tv_sec);
	hash_int(&h, (int64_t)sb.st_mtim.tv_nsec);
	crypto_generichash_final(&h, out, PAGEFILE_DIGEST_BYTES);
	return 0;
}

/* The additional data: everything the entry must agree with. */
static void
additional_data(const struct pagefile_scope *sc, const struct storage_id *id,
    int64_t expires, const struct pagefile_request *rq,
    unsigned char ad[crypto_generichash_BYTES])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, crypto_generichash_BYTES);
	hash_string(&h, PAGEFILE_MAGIC);
	hash_field(&h, sc->program_id, PAGEFILE_DIGEST_BYTES);
	hash_field(&h, sc->head_id, PAGEFILE_DIGEST_BYTES);
	hash_field(&h, sc->config_digest, PAGEFILE_DIGEST_BYTES);
	hash_string(&h, sc->store_dir);
	hash_int(&h, sc->max_retention);
	hash_string(&h, sc->path_prefix);
	hash_string(&h, id->hex);
	hash_int(&h, expires);
	hash_request(&h, rq);
	hash_object(&h, rq->object);
	crypto_generichash_final(&h, ad, crypto_generichash_BYTES);
}

/* The name under the page key the caller has derived. Keyed: the name
 * says nothing of the request to whoever lists the directory without the
 * link. */
static void
name_with_key(const unsigned char key[TOKEN_PAGE_CACHE_KEY_BYTES],
    const struct storage_id *id, const struct pagefile_request *rq,
    char out[PAGEFILE_NAME_LEN + 1])
{
	unsigned char v[16];
	crypto_generichash_state h;

	crypto_generichash_init(&h, key, TOKEN_PAGE_CACHE_KEY_BYTES, sizeof v);
	hash_request(&h, rq);
	crypto_generichash_final(&h, v, sizeof v);
	memcpy(out, id->hex, STORAGE_ID_HEX_LEN);
	out[STORAGE_ID_HEX_LEN] = '.';
	sodium_bin2hex(out + STORAGE_ID_HEX_LEN + 1, 33, v, sizeof v);
}

void
pagefile_name(const struct token *t, const struct storage_id *id,
    const struct pagefile_request *rq, char out[PAGEFILE_NAME_LEN + 1])
{
	unsigned char key[TOKEN_PAGE_CACHE_KEY_BYTES];

	token_page_cache_key(t, key);
	name_with_key(key, id, rq, out);
	sodium_memzero(key, sizeof key);
}

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

/* dir itself, not a symbolic link; made (0700) when missing if create.
 * Refused (EPERM) unless this user owns it and no one else may write. */
static int
open_own_dir(const char *dir, bool create)
{
	struct stat sb;
	int fd = open(dir, DIR_FLAGS);

	/* EEXIST: another request made it meanwhile. */
	if (fd < 0 && errno == ENOENT && create &&
	    (mkdir(dir, 0700) == 0 || errno == EEXIST))
		fd = open(dir, DIR_FLAGS);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* The whole of a regular file of at most max bytes into malloc memory. */
static unsigned char *
read_entry(int dirfd, const char *name, size_t max, size_t *len)
{
	struct stat sb;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	unsigned char *buf = NULL;

	if (fd < 0)
		return NULL;
	/* Only what this user wrote, in one piece, and not too old. */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)) ||
	    sb.st_nlink != 1 ||
	    sb.st_mtime + PAGEFILE_MAX_AGE <= time(NULL) ||
	    (uint64_t)sb.st_size > max || sb.st_size < (off_t)(HEAD_LEN + TAG_LEN))
		goto out;
	buf = malloc((size_t)sb.st_size);
	if (buf != NULL && pagefile_read_all(fd, buf, (size_t)sb.st_size) != 0) {
		free(buf);
		buf = NULL;
	}
	*len = (size_t)sb.st_size;
out:
	close(fd);
	return buf;
}

int
pagefile_get(const struct pagefile_scope *sc, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, unsigned char **resp, size_t *len)
{
	char name[PAGEFILE_NAME_LEN + 1];
	unsigned char ad[crypto_generichash_BYTES];
	unsigned char key[TOKEN_PAGE_CACHE_KEY_BYTES];
	size_t flen = 0;
	int rc = -1;

	*resp = NULL;
	*len = 0;
	if (sc->dir == NULL || sc->dir[0] == '\0')
		return -1;
	int dirfd = open_own_dir(sc->dir, false);
	if (dirfd < 0)
		return -1;
	token_page_cache_key(t, key);
	name_with_key(key, id, rq, name);
	unsigned char *f = read_entry(dirfd, name,
	    HEAD_LEN + PAGEFILE_MAX_RESPONSE + TAG_LEN, &flen);
	close(dirfd);
	if (f == NULL)
		goto out;
	if (memcmp(f, PAGEFILE_MAGIC, MAGIC_LEN) != 0)
		goto out;
	size_t clen = flen - HEAD_LEN;
	unsigned char *plain = sodium_malloc(clen - TAG_LEN + 1);
	if (plain == NULL)
		goto out;
	additional_data(sc, id, expires, rq, ad);
	unsigned long long plen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL,
	    f + HEAD_LEN, clen, ad, sizeof ad, f + MAGIC_LEN, key) != 0) {
		sodium_free(plain);
		goto out;
	}
	*resp = plain;
	*len = (size_t)plen;
	rc = 0;
out:
	sodium_memzero(key, sizeof key);
	free(f);
	return rc;
}

void
pagefile_free(unsigned char *resp, size_t len)
{
	(void)len;      /* sodium_free wipes the whole allocation */
	sodium_free(resp);
}

int
pagefile_read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;      /* an error, or shorter than said */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pagefile_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;    /* nothing written: say so */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}


int
pagefile_put(const struct pagefile_scope *sc, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, const void *resp, size_t len)
{
	char name[PAGEFILE_NAME_LEN + 1];
	char tmp[64];
	unsigned char ad[crypto_generichash_BYTES];
	unsigned char key[TOKEN_PAGE_CACHE_KEY_BYTES];
	unsigned char rnd[8];
	int e = 0;

	if (len > PAGEFILE_MAX_RESPONSE)
		return 0;
	int dirfd = open_own_dir(sc->dir, true);
	if (dirfd < 0)
		return -1;
	unsigned char *f = malloc(HEAD_LEN + len + TAG_LEN);
	if (f == NULL) {
		close(dirfd);
		errno = ENOMEM;
		return -1;
	}
	memcpy(f, PAGEFILE_MAGIC, MAGIC_LEN);
	randombytes_buf(f + MAGIC_LEN, NONCE_LEN);
	additional_data(sc, id, expires, rq, ad);
	token_page_cache_key(t, key);
	crypto_aead_xchacha20poly1305_ietf_encrypt(f + HEAD_LEN, NULL, resp, len,
	    ad, sizeof ad, NULL, f + MAGIC_LEN, key);
	name_with_key(key, id, rq, name);
	sodium_memzero(key, sizeof key);

	randombytes_buf(rnd, sizeof rnd);
	snprintf(tmp, sizeof tmp, TMP_PREFIX "%ld-%02x%02x%02x%02x%02x%02x%02x%02x",
	    (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	    rnd[6], rnd[7]);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	if (pagefile_write_all(fd, f, HEAD_LEN + len + TAG_LEN) != 0) {
		e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	if (close(fd) != 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
	}
out:
	free(f);
	close(dirfd);
	errno = e;
	return e == 0 ? 0 : -1;
}

/* dir (not a symbolic link) to read; NULL with errno set. */
static DIR *
open_stream(const char *dir, int *fd)
{
	*fd = open(dir, DIR_FLAGS);
	DIR *d = *fd >= 0 ? fdopendir(*fd) : NULL;

	if (d == NULL && *fd >= 0) {
		int e = errno;
		close(*fd);
		errno = e;
	}
	return d;
}

/* "32 hex.32 hex": an entry's name. */
static int
is_entry_name(const char *s)
{
	if (strlen(s) != PAGEFILE_NAME_LEN || s[STORAGE_ID_HEX_LEN] != '.')
		return 0;
	for (size_t i = 0; i < PAGEFILE_NAME_LEN; i++) {
		if (i == STORAGE_ID_HEX_LEN)
			continue;
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

struct sweep_entry {
	int64_t mtime;
	uint64_t size;
	char name[PAGEFILE_NAME_LEN + 1];
};

static int
oldest_first(const void *a, const void *b)
{
	const struct sweep_entry *x = a, *y = b;
	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* The storage id an entry's name begins with. */
static void
entry_id(const char *name, struct storage_id *id)
{
	memcpy(id->hex, name, STORAGE_ID_HEX_LEN);
	id->hex[STORAGE_ID_HEX_LEN] = '\0';
}

long
pagefile_sweep(const char *dir, uint64_t budget, int64_t max_age,
    int64_t now, int (*alive)(void *ctx, const struct storage_id *id),
    void *ctx)
{
	struct sweep_entry *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	long removed = 0;
	struct dirent *de;
	int fd, e = 0;
	DIR *d = open_stream(dir, &fd);

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL && n < SWEEP_MAX_ENTRIES) {
		struct stat sb;
		int tmp = strncmp(de->d_name, TMP_PREFIX,
		    strlen(TMP_PREFIX)) == 0;
		if (!tmp && !is_entry_name(de->d_name))
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		struct storage_id id;
		if (!tmp)
			entry_id(de->d_name, &id);
		if ((tmp && sb.st_mtime + TMP_STALE_AGE <= now) ||
		    (!tmp && sb.st_mtime + max_age <= now) ||
		    (!tmp && alive != NULL && !alive(ctx, &id))) {
			if (unlinkat(fd, de->d_name, 0) == 0)
				removed++;
			else if (errno != ENOENT)
				e = errno;
			continue;
		}
		if (tmp)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct sweep_entry *nv = realloc(v, nc * sizeof *v);
			if (nv == NULL)
				break;
			v = nv;
			cap = nc;
		}
		v[n].mtime = sb.st_mtime;
		v[n].size = (uint64_t)sb.st_size;
		memcpy(v[n].name, de->d_name, PAGEFILE_NAME_LEN + 1);
		total += v[n].size;
		n++;
	}
	if (total > budget) {
		qsort(v, n, sizeof *v, oldest_first);
		for (size_t i = 0; i < n && total > budget / 4 * 3; i++) {
			if (unlinkat(fd, v[i].name, 0) == 0)
				removed++;
			else if (errno != ENOENT)
				e = errno;
			total -= v[i].size;
		}
	}
	free(v);
	closedir(d);
	/* A file that would not go (a directory this user may read but not
	 * write) is a failure, not a clean sweep. */
	errno = e;
	return e == 0 ? removed : -1;
}

long
pagefile_forget(const char *dir, const struct storage_id *id)
{
	struct dirent *de;
	long removed = 0;
	int fd;
	DIR *d = open_stream(dir, &fd);

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	int e = 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_entry_name(de->d_name) ||
		    memcmp(de->d_name, id->hex, STORAGE_ID_HEX_LEN) != 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			removed++;
		else if (errno != ENOENT && errno != EISDIR)
			e = errno;      /* EISDIR: not an entry, left alone */
	}
	closedir(d);
	errno = e;
	return e == 0 ? removed : -1;
}
