/* revoke, keep and show: the commands that act on one message named by its
 * storage id or its link. A link or token given on the command line is the
 * administrator's own and is never printed back. */
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "tools/ctl.h"

int
ctl_revoke(struct ctl *c, const char *target)
{
	struct storage_id id;
	struct envelope_meta m;
	struct store *st;
	enum sealed_status ss;
	int rc;

	if (ctl_parse_target(c, target, &id) < 0)
		return EX_USAGE;
	st = ctl_store_open(c, STORE_READ_WRITE, &rc);
	if (st == NULL)
		return rc;
	ss = sealed_meta(st, &id, &m);
	if (ss == SEALED_OK && (m.flags & ENVELOPE_FLAG_REVOKED))
		ss = SEALED_REVOKED;
	else if (ss == SEALED_OK)
		ss = sealed_revoke(st, &id, c->now);
	store_close(st);
	if (ss == SEALED_REVOKED) {
		fprintf(c->out, "%s: already revoked\n", id.hex);
		ctl_forget_pages(c, &id);       /* a first revoke may have failed to */
		return EX_OK;
	}
	if (ss != SEALED_OK) {
		fprintf(c->err, "pullmailctl: revoke %s: %s\n", id.hex,
		    ss == SEALED_NOT_FOUND ? "no such object in the store" :
		    sealed_strerror(ss));
		return ctl_sealed_exit(ss);
	}
	log_message(LOG_NOTICE, NULL, &id, "revoked by the administrator");
	fprintf(c->out, "%s: revoked (the link now answers 410 Gone)\n",
	    id.hex);
	ctl_forget_pages(c, &id);
	return EX_OK;
}

int
ctl_keep(struct ctl *c, const char *target, long days)
{
	struct storage_id id;
	struct envelope_meta m;
	struct store *st;
	enum sealed_status ss;
	int64_t want = 0, set = 0;
	char when[32];
	int rc;

	if (days < 1 || days > CTL_KEEP_MAX_DAYS) {
		fprintf(c->err, "pullmailctl: keep: --days must be between 1 "
		    "and %d\n", CTL_KEEP_MAX_DAYS);
		return EX_USAGE;
	}
	if (ctl_parse_target(c, target, &id) < 0)
		return EX_USAGE;
	st = ctl_store_open(c, STORE_READ_WRITE, &rc);
	if (st == NULL)
		return rc;
	ss = sealed_meta(st, &id, &m);
	if (ss == SEALED_OK && (m.flags & ENVELOPE_FLAG_REVOKED))
		ss = SEALED_REVOKED;
	if (ss == SEALED_OK) {
		want = c->now + (int64_t)days * CTL_DAY;
		ss = sealed_keep(st, &id, want, c->cfg->max_retention, &set);
	}
	store_close(st);
	if (ss != SEALED_OK) {
		fprintf(c->err, "pullmailctl: keep %s: %s\n", id.hex,
		    ss == SEALED_NOT_FOUND ? "no such object in the store" :
		    ss == SEALED_REVOKED ? "revoked; a revoked message cannot "
		    "be kept" : sealed_strerror(ss));
		return ctl_sealed_exit(ss);
	}
	ctl_format_time(set, when);
	log_message(LOG_NOTICE, NULL, &id, "expiry set to %s by the "
	    "administrator", when);
	fprintf(c->out, "%s: expires %s\n", id.hex, when);
	if (set < want)
		fprintf(c->out, "%s: capped at creation + MaxRetention (%lld "
		    "days); %ld days were asked for\n", id.hex,
		    (long long)(c->cfg->max_retention / CTL_DAY), days);
	if (set <= c->now)
		fprintf(c->out, "%s: note: that is not in the future (its "
		    "MaxRetention ended at %s): the message stays expired\n",
		    id.hex, when);
	return EX_OK;
}

/* Header bytes go to a terminal: control characters other than tab and
 * newline are shown as \xNN so a message cannot drive the terminal. */
static void
show_safe(FILE *out, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') ||
		    p[i] == 0x7f)
			fprintf(out, "\\x%02x", p[i]);
		else
			fputc(p[i], out);
	}
}

/* Length of the header block: up to and including the empty line. */
static size_t
show_header_len(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 1;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 1;
	}
	return len;
}

int
ctl_show(struct ctl *c, const char *link, enum ctl_show_mode mode)
{
	struct storage_id id;
	struct envelope_meta m;
	struct token *t;
	struct store *st;
	enum sealed_status ss;
	enum envelope_status detail = ENVELOPE_OK;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	int rc;

	t = token_from_link(link);
	if (t == NULL) {
		if (storage_id_parse(link, &id) == 0)
			fprintf(c->err, "pullmailctl: show needs the link: a "
			    "storage id names the object but cannot decrypt "
			    "it\n");
		else
			fprintf(c->err, "pullmailctl: show: not a pullmail "
			    "link (expected .../m/ followed by %d base64url "
			    "characters)\n", TOKEN_TEXT_LEN);
		return EX_USAGE;
	}
	token_storage_id(t, &id);
	st = ctl_store_open(c, STORE_READ_ONLY, &rc);
	if (st == NULL) {
		token_free(t);
		return rc;
	}
	ss = sealed_open(st, t, c->cfg->max_retention, c->now, 0, &m, &plain,
	    &plain_len, &detail);
	token_free(t);
	struct readstate rs;
	bool rs_found;
	if (ss != SEALED_OK ||
	    store_readstate_get(st, &id, &rs, &rs_found) != STORE_OK)
		memset(&rs, 0, sizeof rs);
	store_close(st);
	if (ss != SEALED_OK) {
		const char *what;

		switch (ss) {
		case SEALED_NOT_FOUND:
			what = "no message for this link (never stored, or "
			    "removed by gc)";
			break;
		case SEALED_EXPIRED: what = "expired"; break;
		case SEALED_REVOKED: what = "revoked"; break;
		case SEALED_DAMAGED: what = envelope_strerror(detail); break;
		default: what = sealed_strerror(ss); break;
		}
		fprintf(c->err, "pullmailctl: show %s: %s%s\n", id.hex,
		    ss == SEALED_DAMAGED ? "damaged object: " : "", what);
		return ctl_sealed_exit(ss);
	}
	if (mode == CTL_SHOW_RAW)
		fwrite(plain, 1, plain_len, c->out);
	else {
		char sent[32], expires[32];
		int64_t first, last;
		uint64_t count;
		show_safe(c->out, plain, show_header_len(plain, plain_len));
		/* The message's life after its header: sent, read, expires. */
		ctl_format_time(m.created, sent);
		ctl_format_time(sealed_effective_expiry(&m,
		    c->cfg->max_retention), expires);
		readstate_totals(&rs, &first, &last, &count);
		fprintf(c->out, "\n-- pullmail state\nstate      %s\n"
		    "sent       %s\nexpires    %s\n",
		    count > 0 ? "read" : "sent", sent, expires);
		ctl_print_readstate(c->out, &rs);
	}
	envelope_plain_free(plain, plain_len);
	if (fflush(c->out) != 0 || ferror(c->out)) {
		fprintf(c->err, "pullmailctl: show: writing the output "
		    "failed\n");
		return EX_IOERR;
	}
	return EX_OK;
}
