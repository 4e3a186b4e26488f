#include <string.h>
#include <strings.h>
#include <glib.h>

#include "policy.h"
#include "units.h"

const char *
policy_reason(enum policy_decision d)
{
	switch (d) {
	case POLICY_PULL: return "pulled";
	case POLICY_SKIP_UNTRUSTED:
		return "sender not authenticated and client not in InternalHosts";
	case POLICY_SKIP_NULL_SENDER: return "null sender (bounce)";
	case POLICY_SKIP_LOOP: return "already carries X-Pull-URL";
	case POLICY_SKIP_ALL_LOCAL: return "every recipient is in LocalDomains";
	case POLICY_SKIP_X_PULL_NO: return "sender asked X-Pull: no";
	case POLICY_SKIP_TOO_BIG: return "larger than MaxMessageSize";
	case POLICY_SKIP_TOO_SMALL: return "smaller than MinimumSize";
	case POLICY_SKIP_NO_ATTACHMENT:
		return "no attachment and OnlyWithAttachments is set";
	}
	return "unknown";
}

enum policy_decision
policy_should_pull(const struct config *cfg, const struct policy_facts *f)
{
	if (f->null_sender)
		return POLICY_SKIP_NULL_SENDER;
	if (!(f->authenticated && cfg->pull_authenticated) &&
	    !f->internal_client)
		return POLICY_SKIP_UNTRUSTED;
	if (f->has_pull_url)
		return POLICY_SKIP_LOOP;
	if (f->n_rcpt > 0 && f->n_rcpt_local == f->n_rcpt)
		return POLICY_SKIP_ALL_LOCAL;
	if (f->authenticated && f->x_pull_no)
		return POLICY_SKIP_X_PULL_NO;
	return POLICY_PULL;
}

enum policy_decision
policy_should_keep(const struct config *cfg, uint64_t size,
    unsigned long n_attachments)
{
	if (cfg->max_message_size > 0 && size > cfg->max_message_size)
		return POLICY_SKIP_TOO_BIG;
	if (size < cfg->minimum_size)
		return POLICY_SKIP_TOO_SMALL;
	if (cfg->only_with_attachments && n_attachments == 0)
		return POLICY_SKIP_NO_ATTACHMENT;
	return POLICY_PULL;
}

bool
policy_rcpt_is_local(const struct config *cfg, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t len;

	if (at == NULL || cfg->local_domains == NULL)
		return false;
	at++;
	len = strcspn(at, ">");
	for (char **d = cfg->local_domains; *d != NULL; d++)
		if (strlen(*d) == len && g_ascii_strncasecmp(*d, at, len) == 0)
			return true;
	return false;
}

int64_t
policy_expiry(const struct config *cfg, bool authenticated,
    const char *x_pull_expires, int64_t now, bool *ignored)
{
	int64_t d = cfg->default_expiry;

	*ignored = false;
	if (x_pull_expires != NULL) {
		int64_t asked;
		char *v = g_strstrip(g_strdup(x_pull_expires));
		if (authenticated && units_parse_duration(v, &asked) == 0)
			d = asked;
		else
			*ignored = true;
		g_free(v);
	}
	if (cfg->max_retention > 0 && d > cfg->max_retention)
		d = cfg->max_retention;
	return now + d;
}
