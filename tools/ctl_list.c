/* list and stats: metadata only (the first bytes of each object), never
 * content, never a token. Both stream over the store. */
#include <string.h>
#include <sysexits.h>

#include "tools/ctl.h"

struct list_walk {
	struct ctl *c;
	struct store *st;
	bool json;
	bool expired_only;
	unsigned long printed;
	struct ctl_stats *s;
};

/* The state of a message in its life: sent, read, expired (or revoked). */
static const char *
life_state(const struct envelope_meta *m, int64_t eff, int64_t now,
    const struct readstate *rs)
{
	if ((m->flags & ENVELOPE_FLAG_REVOKED) != 0)
		return "revoked";
	if (eff <= now)
		return "expired";
	return readstate_was_read(rs) ? "read" : "sent";
}

static void
list_print(struct list_walk *w, const struct storage_id *id, uint64_t size,
    const struct envelope_meta *m, const char *why)
{
	struct ctl *c = w->c;
	struct readstate rs;
	bool found;
	int64_t rfirst, rlast;
	uint64_t rcount = 0;

	if (store_readstate_get(w->st, id, &rs, &found) != STORE_OK)
		memset(&rs, 0, sizeof rs);
	readstate_totals(&rs, &rfirst, &rlast, &rcount);
	char created[32], expires[32];
	int64_t eff = 0;
	bool revoked = false, due = false;

	if (m != NULL) {
		eff = sealed_effective_expiry(m, c->cfg->max_retention);
		revoked = (m->flags & ENVELOPE_FLAG_REVOKED) != 0;
		due = sealed_gc_due(m, c->cfg->max_retention, c->now) != 0;
	}
	if (w->json) {
		fputs(w->printed > 0 ? ",\n  " : "\n  ", c->out);
		fprintf(c->out, "{\"id\": \"%s\", \"size\": %llu, ", id->hex,
		    (unsigned long long)size);
		if (m == NULL) {
			fputs("\"error\": ", c->out);
			ctl_json_string(c->out, why);
			fputs("}", c->out);
		} else {
			fputs("\"state\": ", c->out);
			ctl_json_string(c->out, life_state(m, eff, c->now, &rs));
			fputs(", ", c->out);
			ctl_json_time(c->out, "created", m->created, true);
			ctl_json_time(c->out, "sent", m->created, true);
			ctl_json_time(c->out, "expires", eff, true);
			ctl_json_readstate(c->out, &rs);
			fprintf(c->out, "\"original_size\": %llu, "
			    "\"expired\": %s, \"revoked\": %s, "
			    "\"gc_due\": %s}",
			    (unsigned long long)m->original_size,
			    eff <= c->now ? "true" : "false",
			    revoked ? "true" : "false", due ? "true" : "false");
		}
	} else if (m == NULL) {
		fprintf(c->out, "%s  %-20s  %-20s  %12llu       -  unreadable: %s\n",
		    id->hex, "-", "-", (unsigned long long)size, why);
	} else {
		ctl_format_time(m->created, created);
		ctl_format_time(eff, expires);
		fprintf(c->out, "%s  %-20s  %-20s  %12llu  %6llu  %-7s%s%s\n",
		    id->hex, created, expires, (unsigned long long)size,
		    (unsigned long long)rcount,
		    life_state(m, eff, c->now, &rs), due ? " gc-due" : "",
		    rs.receipt == READSTATE_RECEIPT_SENT ? " receipt-sent" : "");
	}
	w->printed++;
}

static int
list_one(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t got, enum store_status hs, void *ctx)
{
	struct list_walk *w = ctx;
	struct envelope_meta m;
	const char *why = NULL;
	uint64_t size = 0;

	if (store_entry_size(e, &size) != STORE_OK)
		size = 0;
	if (ctl_parse_head(head, got, hs, &m, &why) < 0) {
		if (strcmp(why, "gone") == 0)
			return 0;
		if (!w->expired_only)
			list_print(w, id, size, NULL, why);
		return 0;
	}
	if (w->expired_only &&
	    sealed_effective_expiry(&m, w->c->cfg->max_retention) > w->c->now)
		return 0;
	list_print(w, id, size, &m, NULL);
	return 0;
}

int
ctl_list(struct ctl *c, bool json, bool expired_only)
{
	struct list_walk w;
	struct store *st;
	int rc;

	st = ctl_store_open(c, STORE_READ_ONLY, &rc);
	if (st == NULL)
		return rc;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.st = st;
	w.json = json;
	w.expired_only = expired_only;
	if (json) {
		fputs("{", c->out);
		ctl_json_time(c->out, "now", c->now, true);
		fputs("\"objects\": [", c->out);
	} else {
		fprintf(c->out, "%-32s  %-20s  %-20s  %12s  %6s  %s\n", "ID",
		    "CREATED", "EXPIRES", "SIZE", "READS", "STATE");
	}
	if (store_scan(st, ENVELOPE_META_SIZE, list_one, &w) != STORE_OK) {
		fprintf(c->err, "pullmailctl: list: walking the store failed: "
		    "%s\n", store_error(st));
		rc = EX_IOERR;
	}
	if (json)
		fprintf(c->out, "%s], \"count\": %lu}\n",
		    w.printed > 0 ? "\n" : "", w.printed);
	store_close(st);
	return rc;
}

static int
stats_one(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t got, enum store_status hs, void *ctx)
{
	struct list_walk *w = ctx;
	struct ctl_stats *s = w->s;
	struct envelope_meta m;
	const char *why = NULL;
	int64_t eff, now = w->c->now;
	uint64_t size = 0;

	if (store_entry_size(e, &size) != STORE_OK)
		size = 0;
	if (ctl_parse_head(head, got, hs, &m, &why) < 0) {
		if (strcmp(why, "gone") == 0)
			return 0;
		s->count++;
		s->bytes += size;
		s->unreadable++;
		return 0;
	}
	s->count++;
	s->bytes += size;
	if (s->oldest == 0 || m.created < s->oldest)
		s->oldest = m.created;
	if (m.created > s->newest)
		s->newest = m.created;
	if (m.flags & ENVELOPE_FLAG_REVOKED)
		s->revoked++;
	eff = sealed_effective_expiry(&m, w->c->cfg->max_retention);
	if (eff <= now)
		s->expired++;
	else {
		struct readstate rs;
		bool found;
		if (store_readstate_get(w->st, id, &rs, &found) != STORE_OK)
			memset(&rs, 0, sizeof rs);
		if (readstate_was_read(&rs))
			s->read++;
		else
			s->never_read++;
		if (rs.receipt == READSTATE_RECEIPT_SENT)
			s->receipts_sent++;
		if (eff <= now + CTL_DAY)
			s->expiring_day++;
		if (eff <= now + CTL_WEEK)
			s->expiring_week++;
	}
	return 0;
}

int
ctl_stats(struct ctl *c, bool json, struct ctl_stats *stats)
{
	struct ctl_stats local;
	struct list_walk w;
	struct store *st;
	int rc;
	char oldest[32], newest[32];

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	st = ctl_store_open(c, STORE_READ_ONLY, &rc);
	if (st == NULL)
		return rc;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.st = st;
	w.s = stats;
	if (store_scan(st, ENVELOPE_META_SIZE, stats_one, &w) != STORE_OK) {
		fprintf(c->err, "pullmailctl: stats: walking the store failed: "
		    "%s\n", store_error(st));
		rc = EX_IOERR;
	}
	store_close(st);
	/* The pull model's central figure: how much of what is stored (and
	 * still readable) was ever fetched. */
	char fraction[16];
	unsigned long live = stats->read + stats->never_read;
	if (live == 0)
		strcpy(fraction, json ? "null" : "-");
	else
		snprintf(fraction, sizeof fraction, "%.3f",
		    (double)stats->read / (double)live);
	if (json) {
		fputs("{", c->out);
		ctl_json_time(c->out, "now", c->now, true);
		fprintf(c->out, "\"count\": %lu, \"bytes\": %llu, ",
		    stats->count, (unsigned long long)stats->bytes);
		if (stats->count > stats->unreadable) {
			ctl_json_time(c->out, "oldest", stats->oldest, true);
			ctl_json_time(c->out, "newest", stats->newest, true);
		} else {
			fputs("\"oldest\": null, \"oldest_utc\": null, "
			    "\"newest\": null, \"newest_utc\": null, ", c->out);
		}
		fprintf(c->out, "\"expiring_day\": %lu, \"expiring_week\": %lu, "
		    "\"expired\": %lu, \"revoked\": %lu, \"unreadable\": %lu, "
		    "\"read\": %lu, \"never_read\": %lu, "
		    "\"read_fraction\": %s, \"receipts_sent\": %lu}\n",
		    stats->expiring_day, stats->expiring_week, stats->expired,
		    stats->revoked, stats->unreadable, stats->read,
		    stats->never_read, fraction, stats->receipts_sent);
		return rc;
	}
	if (stats->count > stats->unreadable) {
		ctl_format_time(stats->oldest, oldest);
		ctl_format_time(stats->newest, newest);
	} else {
		strcpy(oldest, "-");
		strcpy(newest, "-");
	}
	fprintf(c->out,
	    "objects:            %lu\n"
	    "bytes:              %llu\n"
	    "oldest:             %s\n"
	    "newest:             %s\n"
	    "expiring in 1 day:  %lu\n"
	    "expiring in 7 days: %lu\n"
	    "expired (not yet removed by gc): %lu\n"
	    "revoked:            %lu\n"
	    "unreadable:         %lu\n"
	    "read (live):        %lu\n"
	    "never read (live):  %lu\n"
	    "read fraction:      %s\n"
	    "receipts sent:      %lu\n",
	    stats->count, (unsigned long long)stats->bytes, oldest, newest,
	    stats->expiring_day, stats->expiring_week, stats->expired,
	    stats->revoked, stats->unreadable, stats->read, stats->never_read,
	    fraction, stats->receipts_sent);
	return rc;
}
