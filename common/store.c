/* Dispatch from store.h to the configured backend. */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "config.h"
#include "store_backend.h"

static const struct store_ops *const backends[] = { &store_fs_ops, &store_s3_ops };

struct store *
store_open(const struct config *cfg, enum store_mode mode, char **err)
{
	const char *name = cfg->store_backend ? cfg->store_backend : "fs";
	for (size_t i = 0; i < G_N_ELEMENTS(backends); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i]->open(cfg, mode, err);
	*err = g_strdup_printf("unknown store backend \"%s\"", name);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

const char *
store_error(const struct store *st)
{
	return st->ops->error(st);
}

enum store_status
store_write_begin(struct store *st, const struct storage_id *id,
    struct store_writer **w)
{
	return st->ops->write_begin(st, id, w);
}

enum store_status
store_write(struct store_writer *w, const void *buf, size_t len)
{
	return w->ops->write(w, buf, len);
}

enum store_status
store_write_at(struct store_writer *w, uint64_t off, const void *buf,
    size_t len)
{
	return w->ops->write_at(w, off, buf, len);
}

enum store_status
store_write_commit(struct store_writer *w)
{
	return w->ops->commit(w);
}

void
store_write_abort(struct store_writer *w)
{
	if (w != NULL)
		w->ops->abort(w);
}

enum store_status
store_read_open(struct store *st, const struct storage_id *id,
    struct store_reader **r)
{
	return st->ops->read_open(st, id, r);
}

long
store_read(struct store_reader *r, void *buf, size_t len)
{
	return r->ops->read(r, buf, len);
}

void
store_read_close(struct store_reader *r)
{
	if (r != NULL)
		r->ops->read_close(r);
}

enum store_status
store_read_head(struct store *st, const struct storage_id *id, void *buf,
    size_t len, size_t *got)
{
	return st->ops->read_head(st, id, buf, len, got);
}

enum store_status
store_object_version(struct store *st, const struct storage_id *id,
    unsigned char *head, size_t head_len, char version[STORE_VERSION_MAX])
{
	memset(version, 0, STORE_VERSION_MAX);
	return st->ops->object_version(st, id, head, head_len, version);
}

enum store_status
store_patch(struct store *st, const struct storage_id *id, uint64_t off,
    const void *buf, size_t len)
{
	return st->ops->patch(st, id, off, buf, len);
}

enum store_status
store_delete(struct store *st, const struct storage_id *id)
{
	return st->ops->remove(st, id);
}

/* The plain walk is the scan without a head: one walk per backend. */
struct iterate_ctx {
	store_iter_fn fn;
	void *ctx;
};

static int
iterate_one(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t head_len, enum store_status head_status,
    void *ctx)
{
	struct iterate_ctx *ic = ctx;
	uint64_t size = 0;

	(void)head; (void)head_len; (void)head_status;
	if (store_entry_size(e, &size) != STORE_OK)
		size = 0;
	return ic->fn(id, size, ic->ctx);
}

enum store_status
store_iterate(struct store *st, store_iter_fn fn, void *ctx)
{
	struct iterate_ctx ic = { fn, ctx };
	return store_scan(st, 0, iterate_one, &ic);
}

enum store_status
store_cleanup_tmp(struct store *st, int64_t max_age, unsigned long *removed)
{
	return st->ops->cleanup_tmp(st, max_age, false, removed);
}

enum store_status
store_count_tmp(struct store *st, int64_t max_age, unsigned long *n)
{
	return st->ops->cleanup_tmp(st, max_age, true, n);
}

enum store_status
store_scan(struct store *st, size_t head_max, store_scan_fn fn, void *ctx)
{
	return store_scan_part(st, 0, 1, head_max, fn, ctx);
}

enum store_status
store_scan_part(struct store *st, unsigned part, unsigned nparts,
    size_t head_max, store_scan_fn fn, void *ctx)
{
	if (nparts == 0 || part >= nparts)
		return STORE_BAD_CONFIG;
	if (head_max > STORE_SCAN_HEAD_MAX)
		head_max = STORE_SCAN_HEAD_MAX;
	return st->ops->scan(st, part, nparts, head_max, fn, ctx);
}

enum store_status
store_entry_size(struct store_entry *e, uint64_t *size)
{
	return e->ops->entry_size(e, size);
}

enum store_status
store_entry_delete(struct store_entry *e)
{
	return e->ops->entry_delete(e);
}

bool
store_readstate_supported(const struct store *st)
{
	return st->ops->readstate_update != NULL &&
	    st->ops->readstate_get != NULL;
}

enum store_status
store_readstate_get(struct store *st, const struct storage_id *id,
    struct readstate *rs, bool *found)
{
	if (st->ops->readstate_get == NULL) {
		memset(rs, 0, sizeof *rs);
		*found = false;
		return STORE_OK;
	}
	return st->ops->readstate_get(st, id, rs, found);
}

struct fetch_ctx {
	enum readstate_route route;
	int64_t now;
};

static int
add_fetch(struct readstate *rs, void *ctx)
{
	struct fetch_ctx *f = ctx;
	readstate_add_fetch(rs, f->route, f->now);
	return 0;
}

enum store_status
store_readstate_record(struct store *st, const struct storage_id *id,
    enum readstate_route route, int64_t now)
{
	struct fetch_ctx f = { route, now };
	int declined = 0;

	if (st->ops->readstate_update == NULL || (unsigned)route >=
	    READSTATE_ROUTES)
		return STORE_OK;
	return st->ops->readstate_update(st, id, add_fetch, &f, false,
	    &declined);
}

struct receipt_ctx {
	enum readstate_receipt decision;
	int64_t now;
	enum readstate_receipt prior;
};

#define RECEIPT_DECIDED 1

static int
claim_receipt(struct readstate *rs, void *ctx)
{
	struct receipt_ctx *r = ctx;

	r->prior = rs->receipt;
	if (rs->receipt != READSTATE_RECEIPT_NONE)
		return RECEIPT_DECIDED;
	rs->receipt = (uint8_t)r->decision;
	rs->receipt_at = r->now;
	return 0;
}

enum store_status
store_readstate_receipt_claim(struct store *st, const struct storage_id *id,
    enum readstate_receipt decision, int64_t now,
    enum readstate_receipt *prior)
{
	struct receipt_ctx r = { decision, now, READSTATE_RECEIPT_NONE };
	int declined = 0;

	*prior = READSTATE_RECEIPT_NONE;
	if (!store_readstate_supported(st))
		return STORE_BAD_CONFIG;
	enum store_status rc = st->ops->readstate_update(st, id,
	    claim_receipt, &r, true, &declined);
	*prior = r.prior;
	if (rc == STORE_OK && declined != 0)
		return STORE_EXISTS;
	return rc;
}

static int
undo_receipt(struct readstate *rs, void *ctx)
{
	(void)ctx;
	rs->receipt = READSTATE_RECEIPT_NONE;
	rs->receipt_at = 0;
	return 0;
}

enum store_status
store_readstate_receipt_undo(struct store *st, const struct storage_id *id)
{
	int declined = 0;

	if (!store_readstate_supported(st))
		return STORE_BAD_CONFIG;
	return st->ops->readstate_update(st, id, undo_receipt, NULL, true,
	    &declined);
}

/* The window's start is route[0].first, its takes route[0].count. */
struct rate_ctx {
	int64_t now, window;
	uint64_t max;
};

#define RATE_EXCEEDED 1

static int
take_rate(struct readstate *rs, void *ctx)
{
	struct rate_ctx *r = ctx;
	struct readstate_count *c = &rs->route[0];

	if (c->count == 0 || r->now < c->first ||
	    r->now - c->first >= r->window) {
		c->first = r->now;
		c->count = 0;
	}
	if (c->count >= r->max)
		return RATE_EXCEEDED;
	c->count++;
	c->last = r->now;
	return 0;
}

enum store_status
store_readstate_rate_take(struct store *st, int64_t now, int64_t window,
    uint64_t max, bool *allowed)
{
	struct rate_ctx r = { now, window, max };
	struct storage_id id;
	int declined = 0;

	*allowed = false;
	if (!store_readstate_supported(st))
		return STORE_BAD_CONFIG;
	memcpy(id.hex, STORE_RATE_ID, sizeof id.hex);
	enum store_status rc = st->ops->readstate_update(st, &id, take_rate,
	    &r, false, &declined);
	*allowed = rc == STORE_OK && declined == 0;
	return rc;
}

enum store_status
store_readstate_remove(struct store *st, const struct storage_id *id)
{
	if (st->ops->readstate_remove == NULL)
		return STORE_OK;
	return st->ops->readstate_remove(st, id);
}

enum store_status
store_entry_delete_batched(struct store_entry *e, const struct storage_id *id,
    store_delete_done_fn done, void *ctx)
{
	if (e->ops->entry_delete_batched != NULL)
		return e->ops->entry_delete_batched(e, id, done, ctx);
	/* A backend without batches deletes now. */
	uint64_t size = 0;
	if (e->ops->entry_size(e, &size) != STORE_OK)
		size = 0;
	enum store_status s = e->ops->entry_delete(e);
	done(id, size, s, s == STORE_OK ? NULL : e->ops->error(NULL), ctx);
	return STORE_OK;
}
