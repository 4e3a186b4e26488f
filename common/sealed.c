/* Sealed messages: token + envelope + store (sealed.h). */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "sealed.h"

const char *
sealed_strerror(enum sealed_status st)
{
	switch (st) {
	case SEALED_OK: return "success";
	case SEALED_NOT_FOUND: return "no such message";
	case SEALED_EXPIRED: return "message expired";
	case SEALED_REVOKED: return "message revoked";
	case SEALED_DAMAGED: return "stored object damaged";
	case SEALED_WRONG_KEY: return "wrong key for this object";
	case SEALED_TOO_BIG: return "message too large";
	case SEALED_IO: return "store input/output error";
	case SEALED_NOMEM: return "out of memory";
	}
	return "unknown error";
}

static enum sealed_status
from_store(enum store_status st)
{
	switch (st) {
	case STORE_OK: return SEALED_OK;
	case STORE_NOT_FOUND: return SEALED_NOT_FOUND;
	case STORE_NOMEM: return SEALED_NOMEM;
	default: return SEALED_IO;
	}
}

static enum sealed_status
from_envelope(enum envelope_status st)
{
	switch (st) {
	case ENVELOPE_OK: return SEALED_OK;
	case ENVELOPE_ERR_IO: return SEALED_IO;
	case ENVELOPE_ERR_NOMEM: return SEALED_NOMEM;
	case ENVELOPE_ERR_WRONG_KEY: return SEALED_WRONG_KEY;
	case ENVELOPE_ERR_TOO_BIG: return SEALED_TOO_BIG;
	default: return SEALED_DAMAGED;
	}
}

struct sealed_writer {
	struct store_writer *sw;
	struct envelope_sealer *env;
};

static int
sink_write(void *ctx, const void *buf, size_t len)
{
	return store_write(ctx, buf, len) == STORE_OK ? 0 : -1;
}

static int
sink_write_at(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return store_write_at(ctx, off, buf, len) == STORE_OK ? 0 : -1;
}

enum sealed_status
sealed_create(struct store *st, int64_t created, int64_t expires,
    struct sealed_writer **out, struct token **token, struct storage_id *id)
{
	*out = NULL;
	*token = NULL;
	struct token *t = token_new();
	if (t == NULL)
		return SEALED_NOMEM;
	struct message_key *key = token_message_key(t);
	struct sealed_writer *w = calloc(1, sizeof *w);
	if (key == NULL || w == NULL) {
		message_key_free(key);
		token_free(t);
		free(w);
		return SEALED_NOMEM;
	}
	token_storage_id(t, id);
	enum store_status ss = store_write_begin(st, id, &w->sw);
	if (ss != STORE_OK) {
		message_key_free(key);
		token_free(t);
		free(w);
		return from_store(ss);
	}
	struct envelope_sink sink = { sink_write, sink_write_at, w->sw };
	enum envelope_status es = envelope_seal_begin(&w->env, key, created,
	    expires, &sink);
	message_key_free(key);
	if (es != ENVELOPE_OK) {
		store_write_abort(w->sw);
		token_free(t);
		free(w);
		return from_envelope(es);
	}
	*out = w;
	*token = t;
	return SEALED_OK;
}

enum sealed_status
sealed_write(struct sealed_writer *w, const void *buf, size_t len)
{
	return from_envelope(envelope_seal_write(w->env, buf, len));
}

enum sealed_status
sealed_commit(struct sealed_writer *w)
{
	enum envelope_status es = envelope_seal_finish(w->env);
	w->env = NULL;
	if (es != ENVELOPE_OK) {
		store_write_abort(w->sw);
		free(w);
		return from_envelope(es);
	}
	enum store_status ss = store_write_commit(w->sw);
	free(w);
	return from_store(ss);
}

void
sealed_abort(struct sealed_writer *w)
{
	if (w == NULL)
		return;
	envelope_seal_abort(w->env);
	store_write_abort(w->sw);
	free(w);
}

enum sealed_status
sealed_meta(struct store *st, const struct storage_id *id,
    struct envelope_meta *meta)
{
	unsigned char head[ENVELOPE_META_SIZE];
	size_t got;
	enum store_status ss = store_read_head(st, id, head, sizeof head, &got);
	if (ss != STORE_OK)
		return from_store(ss);
	return from_envelope(envelope_parse_meta(head, got, meta));
}

static long
source_read(void *ctx, void *buf, size_t len)
{
	return store_read(ctx, buf, len);
}

/* sealed_state for an id already derived. */
static enum sealed_status
state_of(struct store *st, const struct storage_id *id,
    int64_t max_retention, int64_t now, struct envelope_meta *meta)
{
	enum sealed_status s = sealed_meta(st, id, meta);
	if (s != SEALED_OK)
		return s;
	return sealed_meta_state(meta, max_retention, now);
}

enum sealed_status
sealed_state(struct store *st, const struct token *t, int64_t max_retention,
    int64_t now, struct envelope_meta *meta)
{
	struct storage_id id;

	token_storage_id(t, &id);
	return state_of(st, &id, max_retention, now, meta);
}

/* sealed_open and sealed_open_with: the reader r, or a fresh buffer when r
 * is NULL (*owned). */
static enum sealed_status
open_message(struct envelope_reader *r, struct store *st,
    const struct token *t, int64_t max_retention, int64_t now,
    size_t max_size, struct envelope_meta *meta, unsigned char **owned,
    const unsigned char **plain, size_t *plain_len,
    enum envelope_status *detail)
{
	struct storage_id id;
	struct store_reader *sr;

	*plain = NULL;
	*plain_len = 0;
	if (detail != NULL)
		*detail = ENVELOPE_OK;
	token_storage_id(t, &id);
	enum sealed_status s = state_of(st, &id, max_retention, now, meta);
	if (s != SEALED_OK) {
		if (detail != NULL && s == SEALED_DAMAGED)
			*detail = ENVELOPE_ERR_FORMAT;
		return s;
	}
	enum store_status ss = store_read_open(st, &id, &sr);
	if (ss != STORE_OK)
		return from_store(ss);
	struct message_key *key;
	if (r != NULL) {
		key = envelope_reader_key(r);
		token_message_key_into(t, key);
	} else if ((key = token_message_key(t)) == NULL) {
		store_read_close(sr);
		return SEALED_NOMEM;
	}
	struct envelope_source src = { source_read, sr };
	enum envelope_status es;
	if (r != NULL) {
		es = envelope_reader_open(r, key, max_retention, &src, max_size,
		    meta, plain, plain_len);
		sodium_memzero(key, sizeof *key);
	} else {
		es = envelope_open_all(key, max_retention, &src, max_size, meta,
		    owned, plain_len);
		*plain = *owned;
		message_key_free(key);
	}
	store_read_close(sr);
	if (detail != NULL)
		*detail = es;
	return from_envelope(es);
}

enum sealed_status
sealed_open(struct store *st, const struct token *t, int64_t max_retention,
    int64_t now, size_t max_size, struct envelope_meta *meta,
    unsigned char **plain, size_t *plain_len, enum envelope_status *detail)
{
	const unsigned char *p;

	*plain = NULL;
	return open_message(NULL, st, t, max_retention, now, max_size, meta,
	    plain, &p, plain_len, detail);
}

enum sealed_status
sealed_open_with(struct envelope_reader *r, struct store *st,
    const struct token *t, int64_t max_retention, int64_t now,
    size_t max_size, struct envelope_meta *meta, const unsigned char **plain,
    size_t *plain_len, enum envelope_status *detail)
{
	return open_message(r, st, t, max_retention, now, max_size, meta, NULL,
	    plain, plain_len, detail);
}

enum sealed_status
sealed_keep(struct store *st, const struct storage_id *id,
    int64_t new_expires, int64_t max_retention, int64_t *set)
{
	struct envelope_meta meta;
	unsigned char buf[8];

	enum sealed_status s = sealed_meta(st, id, &meta);
	if (s != SEALED_OK)
		return s;
	if (meta.flags & ENVELOPE_FLAG_REVOKED)
		return SEALED_REVOKED;
	if (max_retention > 0 && new_expires > meta.created + max_retention)
		new_expires = meta.created + max_retention;
	if (new_expires < meta.created)
		new_expires = meta.created;
	envelope_encode_expires(new_expires, buf);
	s = from_store(store_patch(st, id, ENVELOPE_EXPIRES_OFFSET, buf,
	    sizeof buf));
	if (s == SEALED_OK && set != NULL)
		*set = new_expires;
	return s;
}

static enum store_status
write_tombstone(struct store *st, const struct storage_id *id,
    const unsigned char head[ENVELOPE_META_SIZE])
{
	struct store_writer *w;
	enum store_status ss = store_write_begin(st, id, &w);
	if (ss != STORE_OK)
		return ss;
	ss = store_write(w, head, ENVELOPE_META_SIZE);
	if (ss != STORE_OK) {
		store_write_abort(w);
		return ss;
	}
	return store_write_commit(w);
}

enum sealed_status
sealed_revoke(struct store *st, const struct storage_id *id, int64_t now)
{
	unsigned char head[ENVELOPE_META_SIZE];
	struct envelope_meta meta;
	size_t got;

	enum store_status ss = store_read_head(st, id, head, sizeof head, &got);
	if (ss != STORE_OK)
		return from_store(ss);
	enum envelope_status es = envelope_parse_meta(head, got, &meta);
	if (es != ENVELOPE_OK)
		return from_envelope(es);
	if (meta.flags & ENVELOPE_FLAG_REVOKED)
		return SEALED_OK;
	/* The tombstone: the metadata only, flagged, expiring now. It
	 * replaces the object atomically, so the ciphertext is gone at once. */
	head[ENVELOPE_FLAGS_OFFSET] |= ENVELOPE_FLAG_REVOKED;
	if (now < meta.created)
		now = meta.created;
	envelope_encode_expires(now, head + ENVELOPE_EXPIRES_OFFSET);
	ss = write_tombstone(st, id, head);
	if (ss != STORE_EXISTS)
		return from_store(ss);
	/* A backend that never overwrites (s3): the tombstone's header is
	 * laid over the object first, so that every reader answers "revoked"
	 * at once; then the object goes and the tombstone takes its place.
	 * A crash in between leaves no object (not found), never the
	 * ciphertext readable. */
	ss = store_patch(st, id, 0, head, sizeof head);
	if (ss != STORE_OK)
		return from_store(ss);
	ss = store_delete(st, id);
	if (ss != STORE_OK && ss != STORE_NOT_FOUND)
		return from_store(ss);
	return from_store(write_tombstone(st, id, head));
}
