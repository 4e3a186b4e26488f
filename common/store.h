/* The store: where sealed objects live, named by storage id. A backend
 * interface with one implementation today (fs, store_fs.c); an S3 backend is
 * a second implementation of struct store_ops, not a rewrite. The store knows
 * nothing of the envelope format: it moves opaque bytes. */
#ifndef PULLMAIL_STORE_H
#define PULLMAIL_STORE_H

#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "store_version.h"
#include "readstate.h"
#include "token.h"

struct config;

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,
	STORE_EXISTS,
	STORE_IO,         /* see store_error() for the system's reason */
	STORE_NOMEM,
	STORE_BAD_CONFIG, /* missing, world-writable or unwritable StoreDir... */
	STORE_STOP,       /* an iteration callback asked to stop */
};

struct store;
struct store_writer;
struct store_reader;

enum store_mode { STORE_READ_ONLY, STORE_READ_WRITE };

/* A temporary file this old is a crashed writer's (gc and a writer's
 * store_open remove it). A younger one is removed too when no writer holds
 * it (fs: its writer's lock is gone with the writer) and it has not been
 * written for STORE_TMP_ORPHAN_AGE seconds. */
#define STORE_TMP_STALE_AGE 86400
#define STORE_TMP_ORPHAN_AGE 60

/* Opens the configured backend and checks it (fs: StoreDir exists, is a
 * directory, is not world-writable, is writable when mode is READ_WRITE;
 * tmp/ exists or is created). Opened for writing, it removes temporary files
 * older than STORE_TMP_STALE_AGE, left by a writer that crashed. On failure
 * returns NULL and *err (g_free(), log.h). */
struct store *store_open(const struct config *cfg, enum store_mode mode,
    char **err);
void store_close(struct store *st);

/* The text of the last error (errno-based) of a store call made by this
 * thread, for log lines. */
const char *store_error(const struct store *st);

/* A write is invisible until commit; commit is durable (fs: fsync of the
 * file, rename, fsync of the directory) before it returns. abort removes
 * every trace. commit and abort free w. */
enum store_status store_write_begin(struct store *st,
    const struct storage_id *id, struct store_writer **w);
enum store_status store_write(struct store_writer *w, const void *buf,
    size_t len);
enum store_status store_write_at(struct store_writer *w, uint64_t off,
    const void *buf, size_t len);
enum store_status store_write_commit(struct store_writer *w);
void store_write_abort(struct store_writer *w);

enum store_status store_read_open(struct store *st,
    const struct storage_id *id, struct store_reader **r);
/* Bytes read, 0 at end, -1 on error. */
long store_read(struct store_reader *r, void *buf, size_t len);
void store_read_close(struct store_reader *r);

/* Reads up to len bytes from the start of the object (metadata without the
 * whole object); *got is what was read. */
enum store_status store_read_head(struct store *st,
    const struct storage_id *id, void *buf, size_t len, size_t *got);

/* The first head_len bytes of the object, as store_read_head reads them,
 * and its version (store_version.h), for a cache that must miss once the
 * object changed (kept, revoked, replaced). STORE_NOT_FOUND, or STORE_IO
 * when shorter than head_len. */
enum store_status store_object_version(struct store *st,
    const struct storage_id *id, unsigned char *head, size_t head_len,
    char version[STORE_VERSION_MAX]);

/* Overwrites len bytes at off in a committed object, durably. */
enum store_status store_patch(struct store *st, const struct storage_id *id,
    uint64_t off, const void *buf, size_t len);

enum store_status store_delete(struct store *st, const struct storage_id *id);

/* Calls fn for every committed object, streaming (memory does not grow with
 * the number of objects). size is the object's size in bytes. fn returning
 * non-zero stops the walk (STORE_STOP). */
typedef int (*store_iter_fn)(const struct storage_id *id, uint64_t size,
    void *ctx);
enum store_status store_iterate(struct store *st, store_iter_fn fn,
    void *ctx);

/* A walk that also reads the head of each object, for the metadata
 * readers (gc, list, stats): store_iterate followed by store_read_head and
 * store_delete costs a path lookup, an allocation and more system calls per
 * object; this reads the first head_max bytes (at most STORE_SCAN_HEAD_MAX)
 * of each committed object as it meets it and lets the callback ask for
 * its size or delete it through the entry, which is valid only during the
 * callback. head_len is what was read (less than head_max: a short
 * object); head_status is STORE_OK, or STORE_IO if the object could not be
 * opened or read (head_len 0). An object removed meanwhile is skipped.
 * Streaming like store_iterate; fn returning non-zero stops the walk
 * (STORE_STOP). */
#define STORE_SCAN_HEAD_MAX 512

struct store_entry;
typedef int (*store_scan_fn)(struct store_entry *e,
    const struct storage_id *id, const unsigned char *head, size_t head_len,
    enum store_status head_status, void *ctx);
enum store_status store_scan(struct store *st, size_t head_max,
    store_scan_fn fn, void *ctx);
/* One of nparts disjoint parts of the same walk (together: every object
 * once), so that threads can share one store and walk it in parallel, each
 * with its own fn context. */
enum store_status store_scan_part(struct store *st, unsigned part,
    unsigned nparts, size_t head_max, store_scan_fn fn, void *ctx);
/* The object's size in bytes. */
enum store_status store_entry_size(struct store_entry *e, uint64_t *size);
/* Deletes the object the entry names, as store_delete does (not synced),
 * and with it what the backend keeps beside it for gc's sake (its read
 * state: gc removes a message wholly; a revoke keeps the read state);
 * STORE_NOT_FOUND if it is already gone. */
enum store_status store_entry_delete(struct store_entry *e);
/* A delete the backend may put off and send together with others (s3: up
 * to 1000 keys in one DeleteObjects request); fs deletes at once. done is
 * called exactly once per delete taken, in the walk's thread and before
 * store_scan returns (at once, or when a batch goes): status is what
 * store_entry_delete would have returned, error its reason for a log line
 * (NULL on success; store_error may have moved on by then), size the
 * object's size as store_entry_size gives it, id the walk's id of the
 * entry, which the caller passes. Deletes still waiting when fn
 * stops the walk, or the listing fails, are sent before the walk returns.
 * Returns STORE_OK when the delete was taken; otherwise done is not
 * called. */
typedef void (*store_delete_done_fn)(const struct storage_id *id,
    uint64_t size, enum store_status status, const char *error, void *ctx);
enum store_status store_entry_delete_batched(struct store_entry *e,
    const struct storage_id *id, store_delete_done_fn done, void *ctx);

/* Removes temporary files older than max_age seconds, and those a dead
 * writer left (see STORE_TMP_ORPHAN_AGE); *removed counts them.
 * store_open does it for writers, and gc, with STORE_TMP_STALE_AGE.
 * store_count_tmp counts what it would remove (gc --dry-run). */
enum store_status store_cleanup_tmp(struct store *st, int64_t max_age,
    unsigned long *removed);
enum store_status store_count_tmp(struct store *st, int64_t max_age,
    unsigned long *n);

/* The read state of a stored message (readstate.h), kept by the backend
 * beside the object. A backend may have none: then nothing is recorded,
 * store_readstate_get answers the empty state (*found false) and the
 * receipt calls answer STORE_BAD_CONFIG. A GET records a fetch and
 * nothing else; nothing recorded names the reader. */
bool store_readstate_supported(const struct store *st);
enum store_status store_readstate_get(struct store *st,
    const struct storage_id *id, struct readstate *rs, bool *found);
/* One fetch of route at now (not synced: a crash may lose the last few). */
enum store_status store_readstate_record(struct store *st,
    const struct storage_id *id, enum readstate_route route, int64_t now);
/* Records the reader's decision about a read receipt (SENT or REFUSED) if
 * none was recorded yet, durably: STORE_OK when this call recorded it,
 * STORE_EXISTS when one was already there (*prior gets it). A receipt is
 * claimed this way before it is sent, so that two requests at once send
 * one; store_readstate_receipt_undo gives the claim back after a failed
 * send. */
enum store_status store_readstate_receipt_claim(struct store *st,
    const struct storage_id *id, enum readstate_receipt decision,
    int64_t now, enum readstate_receipt *prior);
enum store_status store_readstate_receipt_undo(struct store *st,
    const struct storage_id *id);
/* A fixed-window rate limit shared by every process using the store: at
 * most max takes per window seconds. *allowed says whether this one may
 * go. Kept as the read state of STORE_RATE_ID, an id no object has (the
 * all-zero one). */
#define STORE_RATE_ID "00000000000000000000000000000000"
enum store_status store_readstate_rate_take(struct store *st, int64_t now,
    int64_t window, uint64_t max, bool *allowed);
/* Removes the state of id (gc, with the object); STORE_OK when there was
 * none. */
enum store_status store_readstate_remove(struct store *st,
    const struct storage_id *id);

#endif
