/* Inbound callbacks: collect the header fields that decide (inbound.h in
 * common/), ignore the summary's body (SMFIP_NOBODY), and at end of
 * message fetch the original (fetch.c) and put it in place of the
 * summary, keeping the receiving side's trace fields. Any doubt: the
 * summary goes on as it came; any failure of the fetch: OnError. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include <sodium.h>

#include "fetch.h"
#include "inbound_callbacks.h"
#include "log.h"
#include "seam.h"
#include "token.h"
#include "units.h"

#define INBOUND_ACTIONS (SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS)
/* More header fields than this in a summary: it is not one of ours. */
#define INBOUND_MAX_FIELDS 1000
/* The body goes to the MTA in pieces of this size. */
#define INBOUND_BODY_CHUNK 65536
/* Largest opt-out map read. */
#define INBOUND_MAX_OPT_OUT (4u * 1024 * 1024)

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *current_cfg;

struct name_count {
	char *name;       /* as first seen */
	unsigned count;   /* occurrences: smfi_chgheader's index counts them */
};

struct imsg {
	char *queue_id;
	GHashTable *names;          /* lower-case name -> struct name_count */
	GPtrArray *order;           /* struct name_count, first seen first */
	unsigned n_fields;
	bool overflow;
	struct inbound_fields f;
	GPtrArray *rcpts;           /* char *, without <> */
};

struct iconn {
	struct config *cfg;
	bool leadspc;
	struct imsg *m;
};

void
inbound_set_config(struct config *cfg)
{
	pthread_mutex_lock(&cfg_lock);
	if (current_cfg != NULL)
		config_unref(current_cfg);
	current_cfg = cfg != NULL ? config_ref(cfg) : NULL;
	pthread_mutex_unlock(&cfg_lock);
}

static struct config *
snapshot(void)
{
	struct config *c;

	pthread_mutex_lock(&cfg_lock);
	c = current_cfg != NULL ? config_ref(current_cfg) : NULL;
	pthread_mutex_unlock(&cfg_lock);
	return c;
}

static void
name_count_free(gpointer p)
{
	struct name_count *n = p;

	g_free(n->name);
	g_free(n);
}

static void
imsg_free(struct imsg *m)
{
	if (m == NULL)
		return;
	free(m->queue_id);
	g_hash_table_destroy(m->names);
	g_ptr_array_unref(m->order);
	g_ptr_array_unref(m->f.auth_results);
	g_ptr_array_unref(m->f.dkim_sigs);
	g_ptr_array_unref(m->f.pull_urls);
	g_ptr_array_unref(m->rcpts);
	g_free(m);
}

static struct imsg *
imsg_new(void)
{
	struct imsg *m = g_new0(struct imsg, 1);

	m->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	m->order = g_ptr_array_new_with_free_func(name_count_free);
	m->f.auth_results = g_ptr_array_new_with_free_func(g_free);
	m->f.dkim_sigs = g_ptr_array_new_with_free_func(g_free);
	m->f.pull_urls = g_ptr_array_new_with_free_func(g_free);
	m->rcpts = g_ptr_array_new_with_free_func(g_free);
	return m;
}

static struct iconn *
get_iconn(SMFICTX *ctx)
{
	return milter_seam->getpriv(ctx);
}

static const char *
queue_id(SMFICTX *ctx, struct imsg *m)
{
	if (m != NULL && m->queue_id == NULL) {
		char *q = milter_seam->getsymval(ctx, "i");
		if (q == NULL)
			q = milter_seam->getsymval(ctx, "{i}");
		if (q != NULL)
			m->queue_id = strdup(q);
	}
	return m != NULL && m->queue_id != NULL ? m->queue_id : "NOQUEUE";
}

sfsistat
inbound_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct iconn *c;

	if ((f0 & INBOUND_ACTIONS) != INBOUND_ACTIONS) {
		log_msg(LOG_ERR, "the MTA does not offer the actions inbound "
		    "needs (change body, change and add headers): refusing");
		return SMFIS_REJECT;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->cfg = snapshot()) == NULL) {
		free(c);
		return SMFIS_TEMPFAIL;
	}
	if (milter_seam->setpriv(ctx, c) != MI_SUCCESS) {
		config_unref(c->cfg);
		free(c);
		return SMFIS_TEMPFAIL;
	}
	*pf0 = INBOUND_ACTIONS | (f0 & SMFIF_SETSYMLIST);
	/* The summary's body is never read: it is replaced or left. */
	*pf1 = (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    SMFIP_NODATA | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_HDR_LEADSPC) & f1;
	c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	*pf2 = 0;
	*pf3 = 0;
	if ((f0 & SMFIF_SETSYMLIST) &&
	    milter_seam->setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
		log_msg(LOG_WARNING, "could not ask for milter macros");
	return SMFIS_CONTINUE;
}

/* An MTA that does not negotiate (milter protocol 2) comes here first. */
static struct iconn *
iconn_for(SMFICTX *ctx)
{
	struct iconn *c = get_iconn(ctx);

	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->cfg = snapshot()) == NULL ||
	    milter_seam->setpriv(ctx, c) != MI_SUCCESS) {
		if (c != NULL && c->cfg != NULL)
			config_unref(c->cfg);
		free(c);
		return NULL;
	}
	return c;
}

sfsistat
inbound_envfrom(SMFICTX *ctx, char **argv)
{
	struct iconn *c = iconn_for(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	imsg_free(c->m);
	c->m = imsg_new();
	return SMFIS_CONTINUE;
}

sfsistat
inbound_envrcpt(SMFICTX *ctx, char **argv)
{
	struct iconn *c = get_iconn(ctx);
	const char *a;
	size_t len;

	if (c == NULL || c->m == NULL || argv == NULL || argv[0] == NULL)
		return SMFIS_CONTINUE;
	a = argv[0];
	len = strlen(a);
	if (len >= 2 && a[0] == '<' && a[len - 1] == '>') {
		a++;
		len -= 2;
	}
	g_ptr_array_add(c->m->rcpts, g_strndup(a, len));
	return SMFIS_CONTINUE;
}

sfsistat
inbound_header(SMFICTX *ctx, char *name, char *value)
{
	struct iconn *c = get_iconn(ctx);
	struct imsg *m;
	struct name_count *nc;
	GPtrArray *keep = NULL;
	char *lower;

	if (c == NULL || (m = c->m) == NULL || name == NULL || value == NULL)
		return SMFIS_CONTINUE;
	if (++m->n_fields > INBOUND_MAX_FIELDS) {
		m->overflow = true;
		return SMFIS_CONTINUE;
	}
	lower = g_ascii_strdown(name, -1);
	nc = g_hash_table_lookup(m->names, lower);
	if (nc == NULL) {
		nc = g_new0(struct name_count, 1);
		nc->name = g_strdup(name);
		g_hash_table_insert(m->names, g_strdup(lower), nc);
		g_ptr_array_add(m->order, nc);
	}
	nc->count++;
	if (strcmp(lower, "authentication-results") == 0)
		keep = m->f.auth_results;
	else if (strcmp(lower, "dkim-signature") == 0)
		keep = m->f.dkim_sigs;
	else if (strcmp(lower, "x-pull-url") == 0)
		keep = m->f.pull_urls;
	g_free(lower);
	if (keep != NULL) {
		if (strlen(value) > INBOUND_MAX_FIELD)
			m->overflow = true;
		else
			g_ptr_array_add(keep, g_strdup(value));
	}
	return SMFIS_CONTINUE;
}

/* The opt-out map: one recipient a line, "user@domain" (that address) or
 * "@domain" (every address of the domain), compared without regard to
 * ASCII case; empty lines and lines beginning with "#" are ignored. */
bool
inbound_opted_out(const char *map, const char *rcpt)
{
	const char *at;
	char *r;
	bool found = false;
	char **lines;
	size_t len = strlen(rcpt);

	if (len >= 2 && rcpt[0] == '<' && rcpt[len - 1] == '>')
		r = g_strndup(rcpt + 1, len - 2);
	else
		r = g_strdup(rcpt);
	at = strrchr(r, '@');
	lines = g_strsplit(map, "\n", -1);
	for (size_t i = 0; lines[i] != NULL && !found; i++) {
		char *l = g_strstrip(lines[i]);

		if (*l == '\0' || *l == '#')
			continue;
		if (g_ascii_strcasecmp(l, r) == 0 ||
		    (l[0] == '@' && at != NULL &&
		    g_ascii_strcasecmp(l, at) == 0))
			found = true;
	}
	g_strfreev(lines);
	g_free(r);
	return found;
}

/* Whether a recipient of the message opted out; read at each use so that
 * an edit takes effect without a reload. -1 when the map cannot be read. */
static int
any_opted_out(const struct config *cfg, struct imsg *m, const char **who)
{
	gchar *map = NULL;
	gsize len = 0;
	int rc = 0;

	if (cfg->inbound_opt_out_file == NULL ||
	    cfg->inbound_opt_out_file[0] == '\0')
		return 0;
	if (!g_file_get_contents(cfg->inbound_opt_out_file, &map, &len,
	    NULL) || len > INBOUND_MAX_OPT_OUT || memchr(map, '\0', len)) {
		g_free(map);
		return -1;
	}
	for (guint i = 0; i < m->rcpts->len && rc == 0; i++)
		if (inbound_opted_out(map, m->rcpts->pdata[i])) {
			*who = m->rcpts->pdata[i];
			rc = 1;
		}
	g_free(map);
	return rc;
}

/* smfi_* values come with their leading space when it was negotiated. */
static char *
hvalue(const struct iconn *c, const char *v)
{
	return g_strconcat(c->leadspc ? " " : "", v, NULL);
}

/* Fields of the fetched original that are not delivered: only the
 * receiving side may speak of how the message reached it here. Its
 * Authentication-Results, written by anyone into the original, would
 * carry our own authserv-id past the verifier that removes forged ones;
 * its Return-Path would be a second one; X-Pull-Fetched is ours. Its
 * Received fields are delivered, below ours: the original's own trace. */
static bool
original_field_dropped(const char *name)
{
	return g_ascii_strcasecmp(name, "Authentication-Results") == 0 ||
	    g_ascii_strcasecmp(name, "Return-Path") == 0 ||
	    g_ascii_strcasecmp(name, "X-Pull-Fetched") == 0;
}

/* The summary's fields go, except the receiving side's trace fields;
 * then the trace field of the fetch, the original's fields in their order
 * (but those original_field_dropped names), and the original's body (CRLF
 * line ends, as SMTP has them). */
static int
replace(SMFICTX *ctx, struct iconn *c, struct imsg *m,
    const struct inbound_original *o, const char *origin)
{
	char date[64], *v;
	GString *chunk;
	int rc;

	for (guint i = 0; i < m->order->len; i++) {
		const struct name_count *nc = m->order->pdata[i];

		if (inbound_is_kept_trace_field(nc->name))
			continue;
		for (unsigned k = nc->count; k >= 1; k--)
			if (milter_seam->chgheader(ctx, nc->name, (int)k, NULL)
			    != MI_SUCCESS)
				return -1;
	}
	units_format_rfc5322(time(NULL), date, sizeof(date));
	v = g_strdup_printf("%sfrom %s; %s", c->leadspc ? " " : "", origin,
	    date);
	rc = milter_seam->addheader(ctx, "X-Pull-Fetched", v);
	g_free(v);
	if (rc != MI_SUCCESS)
		return -1;
	for (guint i = 0; i < o->fields->len; i++) {
		const struct inbound_field *f = o->fields->pdata[i];

		if (original_field_dropped(f->name))
			continue;
		v = hvalue(c, f->value);
		rc = milter_seam->addheader(ctx, f->name, v);
		sodium_memzero(v, strlen(v));
		g_free(v);
		if (rc != MI_SUCCESS)
			return -1;
	}
	chunk = g_string_sized_new(INBOUND_BODY_CHUNK + 2);
	rc = 0;
	for (size_t i = 0; i < o->body_len && rc == 0; i++) {
		char ch = o->body[i];

		if (ch == '\n' && (i == 0 || o->body[i - 1] != '\r'))
			g_string_append_c(chunk, '\r');
		g_string_append_c(chunk, ch);
		if (chunk->len >= INBOUND_BODY_CHUNK || i + 1 == o->body_len) {
			if (milter_seam->replacebody(ctx,
			    (unsigned char *)chunk->str, (int)chunk->len) !=
			    MI_SUCCESS)
				rc = -1;
			sodium_memzero(chunk->str, chunk->len);
			g_string_truncate(chunk, 0);
		}
	}
	if (o->body_len == 0 && milter_seam->replacebody(ctx,
	    (unsigned char *)"", 0) != MI_SUCCESS)
		rc = -1;
	g_string_free(chunk, TRUE);
	return rc;
}

static sfsistat
fetch_failed(SMFICTX *ctx, struct iconn *c, struct imsg *m,
    const struct storage_id *id, const char *why)
{
	if (c->cfg->inbound_on_error == ON_ERROR_TEMPFAIL) {
		log_message(LOG_WARNING, queue_id(ctx, m), id,
		    "fetch failed: %s: tempfail (OnError)", why);
		return SMFIS_TEMPFAIL;
	}
	log_message(LOG_WARNING, queue_id(ctx, m), id,
	    "fetch failed: %s: the summary is delivered (OnError)", why);
	return SMFIS_CONTINUE;
}

static sfsistat
decide_and_fetch(SMFICTX *ctx, struct iconn *c, struct imsg *m)
{
	const struct config *cfg = c->cfg;
	struct inbound_decision d;
	struct inbound_original o;
	struct fetch_request rq;
	struct storage_id id, *idp = NULL;
	struct token *tok;
	GByteArray *data = NULL;
	const char *who = NULL, *why;
	char *ferr = NULL, *origin;
	sfsistat rc;

	if (m->overflow) {
		log_message(LOG_INFO, queue_id(ctx, m), NULL, "left as it "
		    "came: too many or too large header fields");
		return SMFIS_CONTINUE;
	}
	inbound_decide(&cfg->inbound_trust, cfg->inbound_authserv_ids, &m->f,
	    &d);
	if (!d.fetch) {
		/* Mail without a link is the ordinary case: no line for it
		 * unless debugging. */
		log_message(m->f.pull_urls->len == 0 ? LOG_DEBUG : LOG_INFO,
		    queue_id(ctx, m), NULL, "summary left as it came: %s%s%s",
		    d.why, d.domain != NULL ? ", d=" : "",
		    d.domain != NULL ? d.domain : "");
		inbound_decision_clear(&d);
		return SMFIS_CONTINUE;
	}
	origin = g_strdup_printf("%s://%s:%u", d.link.scheme, d.link.host,
	    d.link.port);
	/* The storage id, from the link's token, names the message in the
	 * log lines of both sides; the token itself never appears. */
	if ((tok = token_from_link(d.link.path)) != NULL) {
		token_storage_id(tok, &id);
		token_free(tok);
		idp = &id;
	}
	switch (any_opted_out(cfg, m, &who)) {
	case 1:
		log_message(LOG_INFO, queue_id(ctx, m), idp, "summary left "
		    "as it came: recipient %s keeps summaries (OptOutFile)",
		    who);
		rc = SMFIS_CONTINUE;
		goto out;
	case -1:
		rc = fetch_failed(ctx, c, m, idp, "OptOutFile cannot be read");
		goto out;
	default:
		break;
	}
	memset(&rq, 0, sizeof(rq));
	rq.link = &d.link;
	rq.entry = d.entry;
	rq.ca_file = cfg->inbound_ca_file;
	rq.max_size = cfg->inbound_max_size;
	rq.connect_timeout = cfg->inbound_connect_timeout;
	rq.timeout = cfg->inbound_timeout;
	rq.max_fetches = cfg->inbound_max_fetches;
	if (fetch_original(&rq, &data, &ferr) != 0) {
		rc = fetch_failed(ctx, c, m, idp, ferr);
		g_free(ferr);
		goto out;
	}
	if (inbound_original_parse((char *)data->data, data->len, &o,
	    &why) != 0) {
		char *w = g_strdup_printf("%s: %s", origin, why);
		rc = fetch_failed(ctx, c, m, idp, w);
		g_free(w);
		goto out;
	}
	if (replace(ctx, c, m, &o, origin) != 0) {
		/* Part of the message is changed: it must not go on so. */
		log_message(LOG_ERR, queue_id(ctx, m), idp, "the MTA refused "
		    "a change to the message: tempfail");
		rc = SMFIS_TEMPFAIL;
	} else {
		log_message(LOG_INFO, queue_id(ctx, m), idp, "original "
		    "fetched from %s (d=%s): %u bytes delivered in place of "
		    "the summary", origin, d.domain, data->len);
		rc = SMFIS_CONTINUE;
	}
	inbound_original_clear(&o);
out:
	if (data != NULL) {
		sodium_memzero(data->data, data->len);
		g_byte_array_unref(data);
	}
	g_free(origin);
	inbound_decision_clear(&d);
	return rc;
}

sfsistat
inbound_eom(SMFICTX *ctx)
{
	struct iconn *c = get_iconn(ctx);
	sfsistat rc;

	if (c == NULL || c->m == NULL)
		return SMFIS_CONTINUE;
	rc = decide_and_fetch(ctx, c, c->m);
	imsg_free(c->m);
	c->m = NULL;
	return rc;
}

sfsistat
inbound_abort(SMFICTX *ctx)
{
	struct iconn *c = get_iconn(ctx);

	if (c != NULL) {
		imsg_free(c->m);
		c->m = NULL;
	}
	return SMFIS_CONTINUE;
}

sfsistat
inbound_close(SMFICTX *ctx)
{
	struct iconn *c = get_iconn(ctx);

	if (c != NULL) {
		imsg_free(c->m);
		config_unref(c->cfg);
		free(c);
		milter_seam->setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc inbound_desc = {
	.xxfi_name = "pullmail-inbound",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = INBOUND_ACTIONS,
	.xxfi_connect = NULL,
	.xxfi_helo = NULL,
	.xxfi_envfrom = inbound_envfrom,
	.xxfi_envrcpt = inbound_envrcpt,
	.xxfi_header = inbound_header,
	.xxfi_eoh = NULL,
	.xxfi_body = NULL,
	.xxfi_eom = inbound_eom,
	.xxfi_abort = inbound_abort,
	.xxfi_close = inbound_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = inbound_negotiate,
};
