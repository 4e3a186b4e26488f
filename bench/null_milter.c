/* The reference milters of bench_milter.sh. Both negotiate like
 * pullmail-milter (the same actions, the same protocol steps switched off,
 * the same steps without an answer, SMFIP_NR_*) and receive the same
 * commands.
 *
 * null_milter SOCKET: the null milter. It accepts every message unchanged,
 * so the benchmark separates the milter protocol's cost from pullmail's
 * work.
 *
 * null_milter SOCKET DIR: the durable floor, the least a milter must do
 * that keeps each message durably before it rewrites it, as the issue asks
 * of pullmail-milter. It writes each message's header fields and body, as
 * received, to a new file in DIR/tmp/ (in 64 KiB writes, as pullmail's
 * sealed chunks go), and at end of message commits it as
 * common/store_fs.c does (fsync, rename into one of 256 fan-out
 * directories, fsync of that directory), then adds pullmail's four header
 * fields and replaces the body with a fixed text of the size of
 * pullmail's summary of the benchmark's messages (1,013 bytes). Nothing is
 * sealed, scanned or built, so pullmail-milter against this floor is the
 * cost of pullmail's own work, and this floor against the null milter the
 * cost of the durable file on this machine's disk.
 *
 * null_milter SOCKET DIR file|none: the floor with only the file's fsync,
 * or with neither, to tell what each fsync costs (not durable). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libmilter/mfapi.h>

/* The steps pullmail-milter does not answer (milter/callbacks.c). Every
 * connection negotiates the same flags with the same MTA, so one global
 * copy is enough here. */
#define NO_REPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
static _Atomic unsigned long agreed;   /* written by every connection */

/* The durable floor's state; dir_fd < 0 for the null milter. The modes
 * and the fan-out are common/store_fs.c's, the write size
 * ENVELOPE_CHUNK_SIZE. */
#define FANOUT_DIRS 256
#define DIR_MODE 0750
#define FILE_MODE 0640
#define COPY_BUF 65536
static int dir_fd = -1;
static int fan_fd[FANOUT_DIRS];
static _Atomic unsigned long serial;
static char summary[1013];
static bool sync_file = true, sync_dir = true;

struct copy {
	int fd;                     /* DIR/tmp/N, or -1 */
	unsigned long n;
	bool failed;                /* a write failed: tempfail at the end */
	size_t used;                /* bytes waiting in buf */
	char buf[COPY_BUF];
};

/* The copy's name while it is written: DIR/tmp/N. */
#define TMP_NAME_MAX 32
static void
tmp_name(const struct copy *c, char name[TMP_NAME_MAX])
{
	snprintf(name, TMP_NAME_MAX, "tmp/%lu", c->n);
}

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx; (void)f2; (void)f3;
	*pf0 = f0 & (SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS);
	*pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_HDR_LEADSPC | NO_REPLY_STEPS);
	agreed = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* Each step answers as pullmail's does: nothing where agreed. */
static sfsistat
go_on(unsigned long step)
{
	return (agreed & step) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The current message's copy, its file created on first use; NULL for the
 * null milter or when out of memory. */
static struct copy *
copy_of(SMFICTX *ctx)
{
	struct copy *c;
	char name[TMP_NAME_MAX];

	if (dir_fd < 0)
		return NULL;
	if ((c = smfi_getpriv(ctx)) == NULL) {
		if ((c = malloc(sizeof(*c))) == NULL)
			return NULL;
		c->fd = -1;
		c->failed = false;
		c->used = 0;
		if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
			free(c);
			return NULL;
		}
	}
	if (c->fd < 0 && !c->failed) {
		c->n = serial++;
		c->used = 0;
		tmp_name(c, name);
		c->fd = openat(dir_fd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
		if (c->fd < 0) {
			fprintf(stderr, "null_milter: %s: %s\n", name,
			    strerror(errno));
			c->failed = true;
		}
	}
	return c;
}

/* Writes out what buf holds. */
static void
copy_flush(struct copy *c)
{
	const char *p = c->buf;

	while (!c->failed && c->used > 0) {
		ssize_t n = write(c->fd, p, c->used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "null_milter: write: %s\n",
			    strerror(errno));
			c->failed = true;
			break;
		}
		p += n;
		c->used -= (size_t)n;
	}
	c->used = 0;
}

static void
copy_write(struct copy *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (c != NULL && !c->failed && len > 0) {
		size_t n = len < COPY_BUF - c->used ? len : COPY_BUF - c->used;
		memcpy(c->buf + c->used, p, n);
		c->used += n;
		p += n;
		len -= n;
		if (c->used == COPY_BUF)
			copy_flush(c);
	}
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	(void)ctx; (void)host; (void)addr;
	return go_on(SMFIP_NR_CONN);
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return go_on(SMFIP_NR_MAIL);
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return go_on(SMFIP_NR_RCPT);
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	struct copy *c = copy_of(ctx);

	if (c != NULL) {
		copy_write(c, name, strlen(name));
		copy_write(c, ":", 1);
		copy_write(c, value, strlen(value));
		copy_write(c, "\r\n", 2);
	}
	return go_on(SMFIP_NR_HDR);
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
	copy_write(copy_of(ctx), "\r\n", 2);
	return go_on(SMFIP_NR_EOH);
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *b, size_t len)
{
	copy_write(copy_of(ctx), b, len);
	return go_on(SMFIP_NR_BODY);
}

/* The commit of common/store_fs.c, then the rewrite of milter/callbacks.c
 * with a fixed body. */
static sfsistat
floor_eom(SMFICTX *ctx, struct copy *c)
{
	char from[TMP_NAME_MAX], to[TMP_NAME_MAX];
	unsigned fan = c->n % FANOUT_DIRS;
	const char *step = NULL;
	int e = 0;

	tmp_name(c, from);
	snprintf(to, sizeof(to), "%02x/%lu", fan, c->n);
	if (c->fd >= 0)
		copy_flush(c);
	if (c->failed)
		step = "write";         /* said by copy_of or copy_flush */
	else if (sync_file && fsync(c->fd) != 0)
		step = "fsync", e = errno;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (step == NULL && renameat(dir_fd, from, dir_fd, to) != 0)
		step = "rename", e = errno;
	else if (step == NULL && sync_dir && fsync(fan_fd[fan]) != 0)
		step = "fsync of the directory", e = errno;
	if (step != NULL) {
		if (e != 0)
			fprintf(stderr, "null_milter: %s of %lu: %s\n", step,
			    c->n, strerror(e));
		/* Neither name is left, as a failed commit leaves none. */
		(void)unlinkat(dir_fd, from, 0);
		(void)unlinkat(dir_fd, to, 0);
		c->failed = false;
		return SMFIS_TEMPFAIL;
	}
	if (smfi_addheader(ctx, "MIME-Version", " 1.0") != MI_SUCCESS ||
	    smfi_addheader(ctx, "Content-Type", " multipart/alternative; "
	    "boundary=\"=_pullmail_0123456789abcdef\"") != MI_SUCCESS ||
	    smfi_addheader(ctx, "X-Pull-URL", " https://pull.example.org/m/"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") != MI_SUCCESS ||
	    smfi_addheader(ctx, "X-Pull-Expires",
	    " Thu, 31 Dec 2026 20:00:00 +0000") != MI_SUCCESS ||
	    smfi_replacebody(ctx, (unsigned char *)summary,
	    (int)sizeof(summary)) != MI_SUCCESS) {
		/* As pullmail's rewrite deletes the object then. */
		(void)unlinkat(dir_fd, to, 0);
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	struct copy *c = copy_of(ctx);

	return c != NULL ? floor_eom(ctx, c) :
	    dir_fd < 0 ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
}

/* A message's end without commit (abort) or the connection's: the
 * uncommitted copy is removed. */
static void
drop_copy(SMFICTX *ctx, bool free_it)
{
	struct copy *c = dir_fd >= 0 ? smfi_getpriv(ctx) : NULL;
	char name[TMP_NAME_MAX];

	if (c == NULL)
		return;
	if (c->fd >= 0) {
		close(c->fd);
		tmp_name(c, name);
		unlinkat(dir_fd, name, 0);
	}
	c->fd = -1;
	c->failed = false;
	c->used = 0;
	if (free_it) {
		free(c);
		smfi_setpriv(ctx, NULL);
	}
}

static sfsistat
null_abort(SMFICTX *ctx)
{
	drop_copy(ctx, false);
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	drop_copy(ctx, true);
	return SMFIS_CONTINUE;
}

/* DIR/tmp/ and DIR/00/ .. DIR/ff/, the layout of a store. */
static int
open_floor(const char *dir)
{
	char name[4];

	if ((dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (mkdirat(dir_fd, "tmp", DIR_MODE) != 0 && errno != EEXIST))
		return -1;
	for (unsigned i = 0; i < FANOUT_DIRS; i++) {
		snprintf(name, sizeof(name), "%02x", i);
		if ((mkdirat(dir_fd, name, DIR_MODE) != 0 && errno != EEXIST) ||
		    (fan_fd[i] = openat(dir_fd, name,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -1;
	}
	/* Lines of 76 characters and CRLF, like a quoted-printable part. */
	for (size_t i = 0; i < sizeof(summary); i++)
		summary[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' :
		    (char)('a' + i % 26);
	return 0;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;

	if (argc == 4 && strcmp(argv[3], "file") == 0)
		sync_dir = false;
	else if (argc == 4 && strcmp(argv[3], "none") == 0)
		sync_file = sync_dir = false;
	else if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: null_milter SOCKET [DIR [file|none]]\n");
		return 64;
	}
	if (argc >= 3 && open_floor(argv[2]) != 0) {
		fprintf(stderr, "null_milter: %s: %s\n", argv[2],
		    strerror(errno));
		return 73;
	}
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = argc >= 3 ? "floor" : "null";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS;
	desc.xxfi_connect = null_connect;
	desc.xxfi_envfrom = null_envfrom;
	desc.xxfi_envrcpt = null_envrcpt;
	desc.xxfi_header = null_header;
	desc.xxfi_eoh = null_eoh;
	desc.xxfi_body = null_body;
	desc.xxfi_eom = null_eom;
	desc.xxfi_abort = null_abort;
	desc.xxfi_close = null_close;
	desc.xxfi_negotiate = null_negotiate;
	if (smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "null_milter: cannot listen on %s\n", argv[1]);
		return 69;
	}
	if (strncmp(argv[1], "unix:", 5) == 0)
		chmod(argv[1] + 5, 0666);
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
