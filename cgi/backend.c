/* The handler's store access over common/sealed.h. */
#include "log.h"
#include "sealed.h"
#include "web.h"

static enum sealed_status
b_open(void *ctx, const struct token *t, int64_t now,
    struct envelope_meta *meta, const unsigned char **plain,
    size_t *plain_len, enum envelope_status *detail)
{
	struct web_sealed *ws = ctx;

	return sealed_open_with(ws->reader, ws->st, t, ws->max_retention, now,
	    WEB_MAX_MESSAGE, meta, plain, plain_len, detail);
}

static void
b_free(void *ctx, const unsigned char *plain, size_t len)
{
	struct web_sealed *ws = ctx;

	(void)plain;
	(void)len;
	envelope_reader_done(ws->reader);
}

static enum sealed_status
b_state(void *ctx, const struct token *t, int64_t now,
    struct envelope_meta *meta)
{
	struct web_sealed *ws = ctx;

	return sealed_state(ws->st, t, ws->max_retention, now, meta);
}

static enum sealed_status
b_keep(void *ctx, const struct storage_id *id, int64_t new_expires,
    int64_t *set)
{
	struct web_sealed *ws = ctx;

	return sealed_keep(ws->st, id, new_expires, ws->max_retention, set);
}

static void
b_record(void *ctx, const struct storage_id *id, enum readstate_route route,
    int64_t now)
{
	struct web_sealed *ws = ctx;

	/* A store the retriever may not write (group read access only)
	 * fails every time: said once, not per request. */
	if (store_readstate_record(ws->st, id, route, now) != STORE_OK &&
	    !ws->record_failed) {
		ws->record_failed = true;
		log_message(LOG_WARNING, NULL, id,
		    "cannot record the read state: %s (said once)",
		    store_error(ws->st));
	}
}

static enum store_status
b_receipt_claim(void *ctx, const struct storage_id *id,
    enum readstate_receipt decision, int64_t now,
    enum readstate_receipt *prior)
{
	struct web_sealed *ws = ctx;

	return store_readstate_receipt_claim(ws->st, id, decision, now, prior);
}

static void
b_receipt_undo(void *ctx, const struct storage_id *id)
{
	struct web_sealed *ws = ctx;

	if (store_readstate_receipt_undo(ws->st, id) != STORE_OK)
		log_message(LOG_ERR, NULL, id,
		    "cannot undo the receipt's claim: %s", store_error(ws->st));
}

#define RECEIPT_WINDOW 3600

static bool
b_receipt_rate_take(void *ctx, int64_t now)
{
	struct web_sealed *ws = ctx;
	bool allowed = false;

	if (store_readstate_rate_take(ws->st, now, RECEIPT_WINDOW,
	    ws->receipts_per_hour, &allowed) != STORE_OK)
		log_message(LOG_ERR, NULL, NULL,
		    "cannot read the receipts' rate: %s", store_error(ws->st));
	return allowed;
}

int
web_backend_sealed(struct web_sealed *ws, struct store *st,
    int64_t max_retention)
{
	ws->record_failed = false;
	ws->receipts_per_hour = 0;
	ws->reader = envelope_reader_new(WEB_KEEP_BUFFER);
	if (ws->reader == NULL)
		return -1;
	ws->st = st;
	ws->max_retention = max_retention;
	ws->backend.open = b_open;
	ws->backend.plain_free = b_free;
	ws->backend.keep = b_keep;
	ws->backend.state = b_state;
	ws->backend.ctx = ws;
	if (store_readstate_supported(st)) {
		ws->backend.record = b_record;
		ws->backend.receipt_claim = b_receipt_claim;
		ws->backend.receipt_undo = b_receipt_undo;
		ws->backend.receipt_rate_take = b_receipt_rate_take;
	}
	return 0;
}

void
web_backend_sealed_clear(struct web_sealed *ws)
{
	envelope_reader_free(ws->reader);
	ws->reader = NULL;
}
