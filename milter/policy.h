/* Whether a message is pulled, and why not (doc/ARCHITECTURE.md: the
 * milter's decisions). */
#ifndef PULLMAIL_MILTER_POLICY_H
#define PULLMAIL_MILTER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "token.h"

enum policy_decision {
	POLICY_PULL = 0,
	POLICY_SKIP_UNTRUSTED,     /* neither authenticated nor internal */
	POLICY_SKIP_NULL_SENDER,   /* a bounce */
	POLICY_SKIP_LOOP,          /* already pulled here: its X-Pull-URL
	                            * names an object of this store */
	POLICY_SKIP_ALL_LOCAL,     /* every recipient in LocalDomains */
	POLICY_SKIP_X_PULL_NO,     /* the authenticated sender said X-Pull: no */
	POLICY_SKIP_TOO_BIG,       /* over MaxMessageSize */
	POLICY_SKIP_TOO_SMALL,     /* under MinimumSize */
	POLICY_SKIP_NO_ATTACHMENT, /* OnlyWithAttachments */
};

/* What is known of a message when its headers end. */
struct policy_facts {
	bool authenticated;
	bool internal_client;
	bool null_sender;
	bool pulled_here;          /* one X-Pull-URL, ours, object stored */
	bool x_pull_no;            /* only honoured from authenticated senders */
	unsigned n_rcpt;
	unsigned n_rcpt_local;
};

const char *policy_reason(enum policy_decision d);
/* At end of headers. */
enum policy_decision policy_should_pull(const struct config *cfg,
    const struct policy_facts *f);
/* At end of message: size and attachments are known. */
enum policy_decision policy_should_keep(const struct config *cfg,
    uint64_t size, unsigned long n_attachments);
/* Whether rcpt ("<user@Example.org>" or "user@example.org") is in
 * LocalDomains (case-insensitive, exact domain). */
bool policy_rcpt_is_local(const struct config *cfg, const char *rcpt);
/* The start of this installation's links: BaseURL and PathPrefix with one
 * slash between them and one at the end ("https://mail.example.org/m/");
 * g_free(). */
char *policy_link_prefix(const struct config *cfg);
/* Whether an X-Pull-URL value (white space around it allowed) is a link
 * of this installation: the link prefix followed by a token and nothing
 * else. Then *id is the storage id the token names; whether that object
 * exists is the caller's question (the store). */
bool policy_link_is_ours(const struct config *cfg, const char *value,
    struct storage_id *id);
/* The message's expiry: now + DefaultExpiry, or the sender's X-Pull-Expires
 * duration when authenticated; capped at now + MaxRetention. A malformed
 * value is ignored (returns the default) and *ignored is set. */
int64_t policy_expiry(const struct config *cfg, bool authenticated,
    const char *x_pull_expires, int64_t now, bool *ignored);

#endif
