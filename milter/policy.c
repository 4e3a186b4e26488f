#include <string.h>
#include <strings.h>
#include <glib.h>

#include "policy.h"
#include "token.h"
#include "units.h"

const char *
policy_reason(enum policy_decision d)
{
	switch (d) {
	case POLICY_PULL: return "pulled";
	case POLICY_SKIP_UNTRUSTED:
		return "sender not authenticated and client not in InternalHosts";
	case POLICY_SKIP_NULL_SENDER: return "null sender (bounce)";
	case POLICY_SKIP_LOOP:
		return "already pulled here (its X-Pull-URL names an object "
		    "of this store)";
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
	if (f->pulled_here)
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

char *
policy_link_prefix(const struct config *cfg)
{
	const char *base = cfg->base_url != NULL ? cfg->base_url : "";
	const char *prefix = cfg->path_prefix != NULL && *cfg->path_prefix ?
	    cfg->path_prefix : CONFIG_DEFAULT_PATH_PREFIX;
	size_t bl = strlen(base), pl = strlen(prefix);

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	return g_strdup_printf("%.*s%s%s%s", (int)bl, base,
	    prefix[0] == '/' ? "" : "/", prefix,
	    prefix[pl - 1] == '/' ? "" : "/");
}

bool
policy_link_is_ours(const struct config *cfg, const char *value,
    struct storage_id *id)
{
	char *prefix;
	size_t len, pl;
	struct token *t;

	if (value == NULL)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	len = strlen(value);
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
	    value[len - 1] == '\r' || value[len - 1] == '\n'))
		len--;
	prefix = policy_link_prefix(cfg);
	pl = strlen(prefix);
	bool match = len == pl + TOKEN_TEXT_LEN &&
	    memcmp(value, prefix, pl) == 0;
	g_free(prefix);
	if (!match || (t = token_decode(value + pl, TOKEN_TEXT_LEN)) == NULL)
		return false;
	token_storage_id(t, id);
	token_free(t);
	return true;
}
