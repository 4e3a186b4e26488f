/* A stored message's lifetime from its header alone: no store, no key.
 * Plain C: pullmail-web's small CGI front links it without GLib. */
#include "sealed.h"

int64_t
sealed_effective_expiry(const struct envelope_meta *m, int64_t max_retention)
{
	if (max_retention > 0 && m->expires - m->created > max_retention)
		return m->created + max_retention;
	return m->expires;
}

int
sealed_gc_due(const struct envelope_meta *m, int64_t max_retention,
    int64_t now)
{
	if (m->flags & ENVELOPE_FLAG_REVOKED)
		return max_retention <= 0 || m->created + max_retention <= now;
	return sealed_effective_expiry(m, max_retention) <= now;
}

enum sealed_status
sealed_meta_state(const struct envelope_meta *meta, int64_t max_retention,
    int64_t now)
{
	if (meta->flags & ENVELOPE_FLAG_REVOKED)
		return SEALED_REVOKED;
	if (now != 0 && sealed_effective_expiry(meta, max_retention) <= now)
		return SEALED_EXPIRED;
	return SEALED_OK;
}
