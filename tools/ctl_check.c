/* check: the installation self-test. Validates the configuration (already
 * loaded by the caller), the store directory's owner, group and mode, then
 * seals a test object, reads it back, compares and deletes it. Every problem
 * is one "error:" or "warning:" line that says what is wrong and what was
 * expected. */
#define _GNU_SOURCE     /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <glib.h>

#include "tools/ctl.h"

#define CHECK_DIR_MODE 0750
#define CHECK_TEST_BYTES 4096

struct check_run {
	struct ctl *c;
	unsigned errors;
	unsigned warnings;
	int rc;             /* the first failure's exit status */
};

static void __attribute__((format(printf, 3, 4)))
check_say(struct check_run *r, int rc, const char *fmt, ...)
{
	va_list ap;

	if (rc == EX_OK)
		fputs("ok: ", r->c->out);
	else if (rc < 0) {
		fputs("warning: ", r->c->out);
		r->warnings++;
	} else {
		fputs("error: ", r->c->out);
		r->errors++;
		if (r->rc == EX_OK)
			r->rc = rc;
	}
	va_start(ap, fmt);
	vfprintf(r->c->out, fmt, ap);
	va_end(ap);
	fputc('\n', r->c->out);
}

/* The owner and group the milter runs as, from UserID "user[:group]". */
static void
check_owner(struct check_run *r, const char *path, const struct stat *sb)
{
	const char *uid = r->c->cfg->user_id;
	char *user, *colon;
	struct passwd *pw;
	struct group *gr = NULL;
	gid_t want_gid;

	if (uid == NULL || *uid == '\0') {
		check_say(r, -1, "%s: no UserID configured; owner not checked",
		    path);
		return;
	}
	user = strdup(uid);
	if (user == NULL)
		return;
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	pw = getpwnam(user);
	if (pw == NULL) {
		check_say(r, -1, "%s: UserID %s: no such user on this system; "
		    "owner not checked", path, user);
		free(user);
		return;
	}
	want_gid = pw->pw_gid;
	if (colon != NULL && *colon != '\0') {
		gr = getgrnam(colon);
		if (gr == NULL) {
			check_say(r, EX_CONFIG, "UserID %s: no such group %s",
			    uid, colon);
			free(user);
			return;
		}
		want_gid = gr->gr_gid;
	}
	if (sb->st_uid != pw->pw_uid)
		check_say(r, EX_CONFIG, "%s: owned by uid %lu, expected %s "
		    "(uid %lu, from UserID): the milter must own the store",
		    path, (unsigned long)sb->st_uid, user,
		    (unsigned long)pw->pw_uid);
	if (sb->st_gid != want_gid)
		check_say(r, EX_CONFIG, "%s: group is gid %lu, expected gid "
		    "%lu (the group the retriever reads through)", path,
		    (unsigned long)sb->st_gid, (unsigned long)want_gid);
	if (sb->st_uid == pw->pw_uid && sb->st_gid == want_gid)
		check_say(r, EX_OK, "%s: owner %s, gid %lu", path, user,
		    (unsigned long)want_gid);
	free(user);
}

/* Mode of a store directory: 0750 expected; what else is wrong, named. */
static void
check_dir_mode(struct check_run *r, const char *path, const struct stat *sb)
{
	mode_t m = sb->st_mode & 07777;
	bool bad = false;

	if (m & S_IWOTH) {
		check_say(r, EX_CONFIG, "%s: mode %04o is world-writable "
		    "(expected %04o): anyone could plant or delete objects",
		    path, (unsigned)m, CHECK_DIR_MODE);
		bad = true;
	} else if (m & (S_IROTH | S_IXOTH)) {
		check_say(r, EX_CONFIG, "%s: mode %04o lets others %s "
		    "(expected %04o): any local user could copy sealed objects",
		    path, (unsigned)m, (m & S_IROTH) ? "list it" : "enter it",
		    CHECK_DIR_MODE);
		bad = true;
	}
	if ((m & S_IRWXU) != S_IRWXU) {
		check_say(r, EX_CONFIG, "%s: mode %04o: the owner needs rwx "
		    "(expected %04o)", path, (unsigned)m, CHECK_DIR_MODE);
		bad = true;
	}
	if (m & S_IWGRP) {
		check_say(r, -1, "%s: mode %04o is group-writable (expected "
		    "%04o): the retriever's group could modify objects", path,
		    (unsigned)m, CHECK_DIR_MODE);
		bad = true;
	}
	if (!bad)
		check_say(r, EX_OK, "%s: mode %04o", path, (unsigned)m);
}

static void
check_store_dir(struct check_run *r)
{
	const char *dir = r->c->cfg->store_dir;
	struct stat sb;
	char *sub;
	DIR *d;
	struct dirent *e;
	unsigned bad_subdirs = 0;

	if (dir == NULL || *dir == '\0') {
		check_say(r, EX_CONFIG, "[store] StoreDir is empty");
		return;
	}
	if (stat(dir, &sb) < 0) {
		check_say(r, EX_CONFIG, "StoreDir %s: %s", dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		check_say(r, EX_CONFIG, "StoreDir %s: not a directory", dir);
		return;
	}
	check_owner(r, dir, &sb);
	check_dir_mode(r, dir, &sb);
	if (asprintf(&sub, "%s/tmp", dir) >= 0) {
		if (stat(sub, &sb) == 0) {
			check_owner(r, sub, &sb);
			check_dir_mode(r, sub, &sb);
		}
		free(sub);
	}
	/* The fan-out directories: only world-writable ones are named. */
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != 2 ||
		    fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(sb.st_mode) || !(sb.st_mode & S_IWOTH))
			continue;
		if (bad_subdirs++ < 3)
			check_say(r, EX_CONFIG, "%s/%s: mode %04o is "
			    "world-writable (expected %04o)", dir, e->d_name,
			    (unsigned)(sb.st_mode & 07777), CHECK_DIR_MODE);
	}
	closedir(d);
	if (bad_subdirs > 3)
		check_say(r, EX_CONFIG, "%u more world-writable directories "
		    "in %s", bad_subdirs - 3, dir);
}

/* The s3 backend never overwrites an object: it sends If-None-Match: *,
 * which not every S3-compatible server honours. A second write of the test
 * object must be refused. */
static void
check_no_overwrite(struct check_run *r, struct store *st,
    const struct storage_id *id)
{
	struct store_writer *w;
	enum store_status s = store_write_begin(st, id, &w);

	if (s == STORE_OK && (s = store_write(w, "x", 1)) != STORE_OK)
		store_write_abort(w);
	else if (s == STORE_OK)
		s = store_write_commit(w);
	if (s == STORE_EXISTS)
		check_say(r, EX_OK, "the endpoint refuses to overwrite an "
		    "object (If-None-Match)");
	else if (s == STORE_OK)
		check_say(r, EX_SOFTWARE, "the endpoint overwrote the test "
		    "object despite If-None-Match: *: a second writer of an "
		    "id would not be refused");
	else
		check_say(r, EX_IOERR, "writing the test object again failed: "
		    "%s", store_error(st));
}

/* Seals a test object, reads it back through its token, compares, deletes. */
static void
check_round_trip(struct check_run *r)
{
	struct ctl *c = r->c;
	struct store *st;
	struct sealed_writer *w = NULL;
	struct token *tok = NULL;
	struct storage_id id;
	struct envelope_meta m;
	unsigned char *sent, *plain = NULL;
	size_t plain_len = 0;
	enum sealed_status ss;
	enum envelope_status detail = ENVELOPE_OK;
	char *err = NULL;

	st = store_open(c->cfg, STORE_READ_WRITE, &err);
	if (st == NULL) {
		check_say(r, EX_CONFIG, "store: %s", err != NULL ? err :
		    "cannot open");
		g_free(err);
		return;
	}
	check_say(r, EX_OK, "store opened for writing (backend %s)",
	    c->cfg->store_backend != NULL ? c->cfg->store_backend : "fs");
	sent = malloc(CHECK_TEST_BYTES);
	if (sent == NULL) {
		check_say(r, EX_OSERR, "out of memory");
		store_close(st);
		return;
	}
	memset(sent, 0, CHECK_TEST_BYTES);
	snprintf((char *)sent, CHECK_TEST_BYTES, "Subject: pullmailctl check "
	    "test object\r\n\r\n");
	randombytes_buf(sent + 64, CHECK_TEST_BYTES - 64);
	ss = sealed_create(st, c->now, c->now + 3600, &w, &tok, &id);
	if (ss == SEALED_OK)
		ss = sealed_write(w, sent, CHECK_TEST_BYTES);
	else
		w = NULL;
	if (ss == SEALED_OK) {
		ss = sealed_commit(w);
		w = NULL;
	}
	if (ss != SEALED_OK) {
		if (w != NULL)
			sealed_abort(w);
		check_say(r, EX_IOERR, "sealing a test object failed: %s (%s)",
		    sealed_strerror(ss), store_error(st));
		goto out;
	}
	ss = sealed_open(st, tok, c->cfg->max_retention, c->now, 0, &m,
	    &plain, &plain_len, &detail);
	if (ss != SEALED_OK)
		check_say(r, EX_IOERR, "reading the test object %s back "
		    "failed: %s%s%s", id.hex, sealed_strerror(ss),
		    ss == SEALED_DAMAGED ? ": " : "",
		    ss == SEALED_DAMAGED ? envelope_strerror(detail) : "");
	else if (plain_len != CHECK_TEST_BYTES ||
	    memcmp(plain, sent, plain_len) != 0)
		check_say(r, EX_SOFTWARE, "the test object %s read back "
		    "differs from what was sealed", id.hex);
	else
		check_say(r, EX_OK, "sealed, read back and verified a test "
		    "object (%d bytes, id %s)", CHECK_TEST_BYTES, id.hex);
	if (plain != NULL)
		envelope_plain_free(plain, plain_len);
	if (c->cfg->store_backend != NULL &&
	    strcmp(c->cfg->store_backend, "s3") == 0)
		check_no_overwrite(r, st, &id);
	if (store_delete(st, &id) != STORE_OK)
		check_say(r, EX_IOERR, "deleting the test object %s failed: "
		    "%s", id.hex, store_error(st));
	else if (sealed_meta(st, &id, &m) != SEALED_NOT_FOUND)
		check_say(r, EX_IOERR, "the test object %s is still there "
		    "after deleting it", id.hex);
	else
		check_say(r, EX_OK, "deleted the test object");
out:
	if (tok != NULL)
		token_free(tok);
	free(sent);
	store_close(st);
}

int
ctl_check(struct ctl *c)
{
	struct check_run r;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.rc = EX_OK;
	check_say(&r, EX_OK, "configuration %s", c->config_path != NULL ?
	    c->config_path : "(defaults)");
	if (c->cfg->max_retention <= 0)
		check_say(&r, EX_CONFIG, "[store] MaxRetention must be "
		    "positive");
	if (c->cfg->default_expiry > c->cfg->max_retention)
		check_say(&r, -1, "[milter] DefaultExpiry (%lld s) is longer "
		    "than [store] MaxRetention (%lld s): every message will "
		    "be capped", (long long)c->cfg->default_expiry,
		    (long long)c->cfg->max_retention);
	if (c->cfg->store_backend == NULL ||
	    strcmp(c->cfg->store_backend, "fs") == 0)
		check_store_dir(&r);
	else if (strcmp(c->cfg->store_backend, "s3") == 0)
		check_say(&r, EX_OK, "backend s3: endpoint %s, bucket %s, "
		    "prefix \"%s\", credentials %s",
		    c->cfg->s3_endpoint ? c->cfg->s3_endpoint : "(none)",
		    c->cfg->s3_bucket ? c->cfg->s3_bucket : "(none)",
		    c->cfg->s3_prefix ? c->cfg->s3_prefix : "",
		    c->cfg->s3_credentials_file ? c->cfg->s3_credentials_file :
		    "(none)");
	else
		check_say(&r, -1, "backend %s: owner and mode checks apply to "
		    "the fs backend only", c->cfg->store_backend);
	if (geteuid() == 0)
		check_say(&r, -1, "running as root: the test object is "
		    "written as root; run check as the milter's user to test "
		    "its permissions");
	check_round_trip(&r);
	fprintf(c->out, "check: %u errors, %u warnings\n", r.errors,
	    r.warnings);
	return r.rc;
}
