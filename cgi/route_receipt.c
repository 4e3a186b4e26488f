/* POST /m/TOKEN/receipt and /m/TOKEN/receipt/no: the reader's answer to
 * the sender's request for a read receipt (RFC 8098, common/mdn.h). Only
 * these POSTs, from this site's own page (routes.c checked the origin, the
 * body and the object's state: ROUTE_BODY), send or decline one; a GET
 * never does, and nothing is sent without the reader's click. The decision
 * is claimed in the message's read state before the receipt goes, so that
 * a message gets one receipt however many times, or at once, it is
 * asked; a failed send gives the claim back. */
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mdn.h"
#include "route.h"

/* The page again, with the answer where the offer was. */
static void
answer(struct route_ctx *c, enum page_receipt r, int status)
{
	struct page_view v;

	route_page_view(c, &v);
	v.receipt = r;
	route_page_free(route_page_answer(c, &v));
	c->rs->status = status;
}

/* Whether a receipt may be offered here at all; *t gets its addresses. */
static bool
receipt_allowed(struct route_ctx *c, struct mdn_target *t)
{
	const struct web_env *env = c->env;
	const char *why = NULL;

	memset(t, 0, sizeof *t);
	if (env->sendmail_argv == NULL || env->backend->receipt_claim == NULL) {
		route_error(c, 404);
		return false;
	}
	enum mdn_request q = mdn_check(c->m.msg, t, &why);
	if (q != MDN_OFFER) {
		if (q == MDN_DENIED)
			log_message(LOG_NOTICE, NULL, &c->id, "read receipt "
			    "refused: %s", why);
		route_error(c, 404);
		return false;
	}
	return true;
}

/* The reporting host for Reporting-UA and the receipt's Message-ID. */
static void
reporting_host(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0 || buf[0] == '\0')
		g_strlcpy(buf, "localhost", len);
	buf[len - 1] = '\0';
}

void
route_receipt(struct route_ctx *c)
{
	const struct web_env *env = c->env;
	const struct web_backend *b = env->backend;
	struct mdn_target t;
	enum readstate_receipt prior;
	char host[256], *err = NULL;

	if (!receipt_allowed(c, &t))
		return;
	enum store_status st = b->receipt_claim(b->ctx, &c->id,
	    READSTATE_RECEIPT_SENT, c->rq->now, &prior);
	if (st == STORE_EXISTS) {
		answer(c, PAGE_RECEIPT_DECIDED, 200);
		goto out;
	}
	if (st != STORE_OK) {
		log_message(LOG_ERR, NULL, &c->id, "read receipt not sent: "
		    "the read state cannot be written");
		answer(c, PAGE_RECEIPT_FAILED, 503);
		goto out;
	}
	if (!b->receipt_rate_take(b->ctx, c->rq->now)) {
		b->receipt_undo(b->ctx, &c->id);
		log_message(LOG_WARNING, NULL, &c->id, "read receipt not sent: "
		    "more than %llu this hour ([web] ReceiptsPerHour)",
		    (unsigned long long)env->receipts_per_hour);
		answer(c, PAGE_RECEIPT_FAILED, 503);
		goto out;
	}
	reporting_host(host, sizeof host);
	size_t len = 0;
	char *mdn = mdn_build(c->m.msg, &t, host, c->rq->now, &len);
	int rc = mdn_send(env->sendmail_argv, t.to, mdn, len, &err);
	g_free(mdn);
	if (rc == MDN_SEND_UNKNOWN) {
		/* It may be in the MTA's queue: the claim stays, so that a
		 * second click cannot send a second receipt. */
		log_message(LOG_ERR, NULL, &c->id, "read receipt perhaps sent "
		    "(not offered again): %s", err);
		g_free(err);
		answer(c, PAGE_RECEIPT_FAILED, 503);
		goto out;
	}
	if (rc != 0) {
		b->receipt_undo(b->ctx, &c->id);
		log_message(LOG_ERR, NULL, &c->id, "read receipt not sent: %s",
		    err);
		g_free(err);
		answer(c, PAGE_RECEIPT_FAILED, 503);
		goto out;
	}
	log_message(LOG_INFO, NULL, &c->id, "read receipt sent");
	answer(c, PAGE_RECEIPT_SENT, 200);
out:
	mdn_target_clear(&t);
}

void
route_no_receipt(struct route_ctx *c)
{
	const struct web_backend *b = c->env->backend;
	struct mdn_target t;
	enum readstate_receipt prior;

	if (!receipt_allowed(c, &t))
		return;
	enum store_status st = b->receipt_claim(b->ctx, &c->id,
	    READSTATE_RECEIPT_REFUSED, c->rq->now, &prior);
	if (st == STORE_EXISTS)
		answer(c, PAGE_RECEIPT_DECIDED, 200);
	else if (st != STORE_OK)
		answer(c, PAGE_RECEIPT_FAILED, 503);
	else
		answer(c, PAGE_RECEIPT_REFUSED, 200);
	mdn_target_clear(&t);
}
