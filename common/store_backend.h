/* The backend interface behind store.h: one struct store_ops per backend
 * (fs today; an S3 backend is a second implementation). Internal to
 * common/. */
#ifndef PULLMAIL_STORE_BACKEND_H
#define PULLMAIL_STORE_BACKEND_H

#include "store.h"

struct store_ops {
	const char *name;
	struct store *(*open)(const struct config *cfg, enum store_mode mode,
	    char **err);
	void (*close)(struct store *st);
	/* The calling thread's last error; st may be NULL. */
	const char *(*error)(const struct store *st);
	enum store_status (*write_begin)(struct store *st,
	    const struct storage_id *id, struct store_writer **w);
	enum store_status (*write)(struct store_writer *w, const void *buf,
	    size_t len);
	enum store_status (*write_at)(struct store_writer *w, uint64_t off,
	    const void *buf, size_t len);
	enum store_status (*commit)(struct store_writer *w);
	void (*abort)(struct store_writer *w);
	enum store_status (*read_open)(struct store *st,
	    const struct storage_id *id, struct store_reader **r);
	long (*read)(struct store_reader *r, void *buf, size_t len);
	void (*read_close)(struct store_reader *r);
	enum store_status (*read_head)(struct store *st,
	    const struct storage_id *id, void *buf, size_t len, size_t *got);
	enum store_status (*patch)(struct store *st,
	    const struct storage_id *id, uint64_t off, const void *buf,
	    size_t len);
	enum store_status (*remove)(struct store *st,
	    const struct storage_id *id);
	enum store_status (*cleanup_tmp)(struct store *st, int64_t max_age,
	    bool dry_run, unsigned long *removed);
	enum store_status (*scan)(struct store *st, unsigned part,
	    unsigned nparts, size_t head_max, store_scan_fn fn, void *ctx);
	enum store_status (*entry_size)(struct store_entry *e, uint64_t *size);
	enum store_status (*entry_delete)(struct store_entry *e);
	/* NULL: store_entry_delete_batched deletes at once. */
	enum store_status (*entry_delete_batched)(struct store_entry *e,
	    const struct storage_id *id, store_delete_done_fn done,
	    void *ctx);
	enum store_status (*object_version)(struct store *st,
	    const struct storage_id *id, unsigned char *head, size_t head_len,
	    char version[STORE_VERSION_MAX]);
	/* The read state beside each object (readstate.h). Optional: a
	 * backend that leaves them NULL records nothing (store.c answers an
	 * empty state and refuses receipts, which need the record to be sent
	 * once). s3 keeps a small separate object per message and updates it
	 * with a conditional PUT (If-Match on its ETag, see store_s3.c). */
	enum store_status (*readstate_get)(struct store *st,
	    const struct storage_id *id, struct readstate *rs, bool *found);
	/* Read, fn, write, atomically with respect to every other update of
	 * the same id; *declined gets fn's non-zero value (nothing written).
	 * durable: the write is on stable storage before it returns. */
	enum store_status (*readstate_update)(struct store *st,
	    const struct storage_id *id, readstate_update_fn fn, void *ctx,
	    bool durable, int *declined);
	enum store_status (*readstate_remove)(struct store *st,
	    const struct storage_id *id);
};

/* Every backend's struct store, writer, reader and entry begin with this. */
struct store {
	const struct store_ops *ops;
};
struct store_writer {
	const struct store_ops *ops;
};
struct store_reader {
	const struct store_ops *ops;
};
struct store_entry {
	const struct store_ops *ops;
};

extern const struct store_ops store_fs_ops;
extern const struct store_ops store_s3_ops;

#endif
