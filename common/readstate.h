/* The read state of a stored message: when it was first and last fetched
 * and how often, per route (the page, the .eml, a part), and whether the
 * reader sent or refused a read receipt. Nothing in it names the reader
 * (no address, no user agent).
 *
 * This file and readstate.c use plain C and libsodium only: the CGI front
 * (cgi/front.c, linked without GLib) records a page it answers itself.
 *
 * The fs backend keeps one small file beside each object,
 * StoreDir/ab/abcdef....read, of READSTATE_FILE_SIZE bytes: two slots of
 * READSTATE_SLOT_SIZE, each a whole record with a sequence number and a
 * BLAKE2b checksum. An update takes the file's flock, reads both slots,
 * applies the change to the newer valid one and writes it, with the next
 * sequence number, over the older one: a write torn by a crash spoils only
 * the slot being written, and the reader falls back on the other (the
 * last update is lost, never the state). Counts are not synced per fetch
 * (a power cut may lose the last few); a receipt's decision is. */
#ifndef PULLMAIL_READSTATE_H
#define PULLMAIL_READSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "token.h"

enum readstate_route {
	READSTATE_PAGE = 0,     /* GET /m/TOKEN (and /m/TOKEN/) */
	READSTATE_EML,          /* GET /m/TOKEN/eml */
	READSTATE_PART,         /* GET /m/TOKEN/part/N */
	READSTATE_ROUTES
};

enum readstate_receipt {
	READSTATE_RECEIPT_NONE = 0,
	READSTATE_RECEIPT_SENT,     /* a read receipt went to the sender */
	READSTATE_RECEIPT_REFUSED,  /* the reader answered "No" */
};

struct readstate_count {
	int64_t first;          /* unix seconds; 0: never */
	int64_t last;
	uint64_t count;
};

struct readstate {
	struct readstate_count route[READSTATE_ROUTES];
	uint8_t receipt;        /* enum readstate_receipt */
	int64_t receipt_at;     /* when it was sent or refused */
};

/* Names of the routes, as pullmailctl prints them: "page", "eml", "part". */
const char *readstate_route_name(enum readstate_route r);
const char *readstate_receipt_name(enum readstate_receipt r);

/* Whether any route was fetched; the earliest first fetch, latest last
 * fetch and total count over the routes. */
bool readstate_was_read(const struct readstate *rs);
void readstate_totals(const struct readstate *rs, int64_t *first,
    int64_t *last, uint64_t *count);

/* One fetch of route at now. */
void readstate_add_fetch(struct readstate *rs, enum readstate_route r,
    int64_t now);

/* An update: changes *rs in place; returns 0 to write it, non-zero to
 * leave the stored state as it was (that value is passed back). */
typedef int (*readstate_update_fn)(struct readstate *rs, void *ctx);

/* The record on disk. */
#define READSTATE_SLOT_SIZE 128
#define READSTATE_FILE_SIZE (2 * READSTATE_SLOT_SIZE)
#define READSTATE_SUFFIX ".read"
#define READSTATE_FS_PATH_MAX 64

/* "ab/abcdef....read", relative to StoreDir. */
static inline void
readstate_fs_path(const struct storage_id *id,
    char buf[READSTATE_FS_PATH_MAX])
{
	snprintf(buf, READSTATE_FS_PATH_MAX, "%.2s/%s" READSTATE_SUFFIX,
	    id->hex, id->hex);
}

/* The slot's bytes for rs with sequence number seq (the checksum
 * included); 0 or -1 when the slot is not a valid record. */
void readstate_encode(const struct readstate *rs, uint64_t seq,
    unsigned char slot[READSTATE_SLOT_SIZE]);
int readstate_decode(const unsigned char slot[READSTATE_SLOT_SIZE],
    struct readstate *rs, uint64_t *seq);
/* The state a file's bytes hold: the valid slot with the higher sequence
 * number, or the empty state (*seq 0) when neither is valid. *slot gets
 * the index of the slot the next write goes to. */
void readstate_pick(const unsigned char *buf, size_t len,
    struct readstate *rs, uint64_t *seq, unsigned *slot);

/* The fs record of id, relative to dirfd (StoreDir): 0 with *rs (the empty
 * state when the file is absent: *found false), -1 with errno. */
int readstate_fs_read(int dirfd, const struct storage_id *id,
    struct readstate *rs, bool *found);
/* Creates the file if needed (mode 0640), takes its lock, and applies fn:
 * 0 when written, fn's non-zero value when it declined, -1 with errno on a
 * system error. sync: fsync the file after the write. */
int readstate_fs_update(int dirfd, const struct storage_id *id,
    readstate_update_fn fn, void *ctx, bool sync);
/* Removes the file; 0 also when it was not there, -1 with errno. */
int readstate_fs_remove(int dirfd, const struct storage_id *id);

/* The records a long-lived process (a FastCGI responder) updates again
 * and again, kept open and mapped: an update of a cached record is the
 * lock, the change in the shared mapping and the unlock, without the
 * open, read, write and close of readstate_fs_update (and without the
 * journaled time stamp update each write(2) makes on ext4). Other
 * processes' updates through readstate_fs_update see the same bytes (one
 * page cache). At most max records, the least recently used closed
 * first. Not for several threads at once (the caller locks). A cached
 * record whose file was removed (gc) or cut short is reopened. */
struct readstate_cache;
struct readstate_cache *readstate_cache_new(unsigned max);
void readstate_cache_free(struct readstate_cache *c);
/* readstate_fs_update through the cache (never synced). */
int readstate_cache_update(struct readstate_cache *c, int dirfd,
    const struct storage_id *id, readstate_update_fn fn, void *ctx);

#endif
