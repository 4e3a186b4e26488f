/* POST /m/TOKEN/keep: moves the expiry to KeepExtension past the later of
 * now and the current expiry (the store caps it at created + MaxRetention)
 * and answers the page saying so.
 * routes.c has already checked the origin, the body and the object's
 * state (ROUTE_BODY). */
#include "log.h"
#include "route.h"

void
route_keep(struct route_ctx *c)
{
	const struct web_env *env = c->env;
	struct page_view v;
	int64_t set = 0;

	route_page_view(c, &v);
	int64_t from = v.expires > c->rq->now ? v.expires : c->rq->now;
	enum sealed_status st = env->backend->keep(env->backend->ctx, &c->id,
	    from + env->keep_extension, &set);
	if (st != SEALED_OK) {
		log_message(LOG_ERR, NULL, &c->id, "keep failed: %s",
		    sealed_strerror(st));
		route_error(c, route_status_for(st) == 200 ? 500 :
		    route_status_for(st));
		return;
	}
	log_message(LOG_INFO, NULL, &c->id, "kept until %lld", (long long)set);
	v.expires = set;
	v.kept = true;
	route_page_free(route_page_answer(c, &v));
}
