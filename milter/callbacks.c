/* Milter callbacks: collect the envelope and headers, decide with policy.c,
 * seal the message into the store as it arrives (bounded memory), and at end
 * of message commit the object and rewrite the message into its summary. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <glib.h>
#include <sodium.h>

#include "callbacks.h"
#include "lang.h"
#include "log.h"
#include "mimescan.h"
#include "policy.h"
#include "sealed.h"
#include "seam.h"
#include "summary.h"
#include "token.h"
#include "units.h"

#define REQUIRED_ACTIONS (SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS)
/* Every step before the end of the message only ever says "go on", so the
 * MTA is told not to wait for its answer (SMFIP_NR_*): one round trip per
 * header, body chunk and envelope command less. A step that fails (out of
 * memory) cannot answer then; the message is answered tempfail at its end
 * (struct conn's failed). libmilter itself answers "continue" for an MTA
 * that does not offer these flags. One limit of libmilter: were an MTA to
 * send the last body chunk inside the end-of-body command, a silent body
 * step there would keep libmilter from calling cb_eom; Postfix and
 * Sendmail send the end of the body without data. */
#define NO_REPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *current_cfg;
static struct store *the_store;

struct msg {
	char *queue_id;
	bool authenticated;
	bool null_sender;
	unsigned n_rcpt, n_rcpt_local;
	GString *headers;           /* original header bytes until eoh */
	bool headers_overflow;
	/* Header fields to delete at eom: one entry per name (ASCII case
	 * ignored) with its count of occurrences, since smfi_chgheader's
	 * index counts the fields of one name. Only the names the rewrite
	 * deletes are kept (Content-*, MIME-Version, X-Pull*). */
	GHashTable *remove;         /* name -> struct removal (by_name) */
	GPtrArray *removals;        /* the same, in order of first sight */
	unsigned n_pull_url;        /* X-Pull-URL fields */
	char *pull_url;             /* the first one's value */
	bool x_pull_no;
	char *x_pull_expires;
	bool pulling;
	enum policy_decision decision;
	bool store_failed;
	struct sealed_writer *w;
	struct token *token;
	struct storage_id id;
	int64_t expires;
	int64_t received;           /* time of MAIL's end of headers */
	uint64_t size;
	struct mimescan *scan;
};

struct conn {
	struct config *cfg;        /* the snapshot of the current message */
	struct sockaddr_storage client;
	bool has_client;           /* client holds the connecting address */
	bool internal;
	bool leadspc;              /* header values come with their space */
	unsigned long no_reply;    /* the SMFIP_NR_* steps agreed on */
	bool failed;               /* a step of this message failed */
	struct msg *m;
};

void
callbacks_set_config(struct config *cfg)
{
	pthread_mutex_lock(&cfg_lock);
	if (current_cfg != NULL)
		config_unref(current_cfg);
	current_cfg = cfg != NULL ? config_ref(cfg) : NULL;
	pthread_mutex_unlock(&cfg_lock);
}

void
callbacks_set_store(struct store *st)
{
	the_store = st;
}

static struct config *
config_snapshot(void)
{
	struct config *c;

	pthread_mutex_lock(&cfg_lock);
	c = current_cfg != NULL ? config_ref(current_cfg) : NULL;
	pthread_mutex_unlock(&cfg_lock);
	return c;
}

static void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->w != NULL)
		sealed_abort(m->w);
	if (m->token != NULL)
		token_free(m->token);
	if (m->headers != NULL) {
		sodium_memzero(m->headers->str, m->headers->len);
		g_string_free(m->headers, TRUE);
	}
	if (m->remove != NULL)
		g_hash_table_destroy(m->remove);
	if (m->removals != NULL)
		g_ptr_array_free(m->removals, TRUE);
	if (m->scan != NULL) {
		mimescan_clear(m->scan);
		free(m->scan);
	}
	free(m->x_pull_expires);
	free(m->pull_url);
	free(m->queue_id);
	free(m);
}

/* What a step that has done its work answers: nothing where the MTA does
 * not wait for it, else "continue". */
static sfsistat
go_on(const struct conn *c, unsigned long step)
{
	return (c->no_reply & step) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* A step could not do its work: answered at once with tempfail when the
 * MTA waits for the answer, else at the end of the message. */
static sfsistat
fail_step(struct conn *c, unsigned long step)
{
	if ((c->no_reply & step) == 0)
		return SMFIS_TEMPFAIL;
	c->failed = true;
	return SMFIS_NOREPLY;
}

static struct conn *
get_conn(SMFICTX *ctx)
{
	return milter_seam->getpriv(ctx);
}

/* A header field the rewrite deletes: its name as first spelt and how many
 * fields of that name (ASCII case ignored, as the MTA matches them) the
 * message has, which is all smfi_chgheader needs to delete each of them,
 * from the last. */
enum removal_kind {
	REMOVE_CONTENT = 1,    /* Content-*, MIME-Version: by the rewrite */
	REMOVE_PULL = 2,       /* X-Pull, X-Pull-*: from every message, */
	REMOVE_PULL_LINK = 4,  /* but X-Pull-URL and X-Pull-Expires stay on
	                        * a message this installation pulled */
};

struct removal {
	unsigned count;
	enum removal_kind kind;
	char name[];
};

static unsigned char name_key[crypto_shorthash_KEYBYTES];
static pthread_once_t name_key_once = PTHREAD_ONCE_INIT;

static void
name_key_init(void)
{
	randombytes_buf(name_key, sizeof(name_key));
}

/* The names are the sender's, so the hash is keyed (SipHash-2-4 with a key
 * drawn at start): no message can choose names that share a bucket. ASCII
 * case is folded; a long name is hashed 256 bytes at a time, each block
 * with the hash of those before it. */
static guint
name_hash(gconstpointer p)
{
	const char *s = p;
	unsigned char buf[crypto_shorthash_BYTES + 256];
	unsigned char h[crypto_shorthash_BYTES] = { 0 };
	guint v;

	do {
		size_t n = 0;
		memcpy(buf, h, sizeof(h));
		for (; n < 256 && s[n] != '\0'; n++)
			buf[sizeof(h) + n] = (unsigned char)g_ascii_tolower(s[n]);
		crypto_shorthash(h, buf, sizeof(h) + n, name_key);
		s += n;
	} while (*s != '\0');
	memcpy(&v, h, sizeof(v));
	return v;
}

static gboolean
name_equal(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

static struct msg *
get_msg(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);

	if (c == NULL)
		return NULL;
	if (c->m == NULL) {
		struct msg *m = calloc(1, sizeof(*m));
		if (m == NULL)
			return NULL;
		pthread_once(&name_key_once, name_key_init);
		m->headers = g_string_new(NULL);
		m->remove = g_hash_table_new(name_hash, name_equal);
		m->removals = g_ptr_array_new_with_free_func(g_free);
		c->m = m;
	}
	return c->m;
}

static const char *
queue_id(SMFICTX *ctx, struct msg *m)
{
	if (m->queue_id == NULL) {
		char *q = milter_seam->getsymval(ctx, "i");
		if (q == NULL)
			q = milter_seam->getsymval(ctx, "{i}");
		if (q != NULL)
			m->queue_id = strdup(q);
	}
	return m->queue_id != NULL ? m->queue_id : "NOQUEUE";
}

sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c;
	unsigned long steps;

	if ((f0 & REQUIRED_ACTIONS) != REQUIRED_ACTIONS) {
		log_msg(LOG_ERR, "the MTA does not offer the actions pullmail "
		    "needs (change body, change and add headers): refusing");
		return SMFIS_REJECT;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->cfg = config_snapshot()) == NULL) {
		free(c);
		return SMFIS_TEMPFAIL;
	}
	if (milter_seam->setpriv(ctx, c) != MI_SUCCESS) {
		config_unref(c->cfg);
		free(c);
		return SMFIS_TEMPFAIL;
	}
	*pf0 = REQUIRED_ACTIONS | (f0 & SMFIF_SETSYMLIST);
	/* Steps pullmail does not use are switched off; header values are
	 * asked for with their leading space so the original is sealed
	 * byte for byte. */
	steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_HDR_LEADSPC | NO_REPLY_STEPS;
	*pf1 = steps & f1;
	c->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	c->no_reply = *pf1 & NO_REPLY_STEPS;
	log_msg(LOG_DEBUG, "negotiated: the MTA waits for no reply in %d of "
	    "the %d steps pullmail keeps silent",
	    __builtin_popcountl(c->no_reply),
	    __builtin_popcountl(NO_REPLY_STEPS));
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		if (milter_seam->setsymlist(ctx, SMFIM_CONNECT,
		    "{daemon_name} {client_addr}") != MI_SUCCESS ||
		    milter_seam->setsymlist(ctx, SMFIM_ENVFROM,
		    "i {auth_authen} {auth_type}") != MI_SUCCESS ||
		    milter_seam->setsymlist(ctx, SMFIM_EOH, "i") != MI_SUCCESS ||
		    milter_seam->setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
			log_msg(LOG_WARNING, "could not ask for milter macros");
	}
	return SMFIS_CONTINUE;
}

static bool
client_is_internal(const struct config *cfg,
    const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return config_cidr_match(&cfg->internal_hosts, AF_INET,
		    &((const struct sockaddr_in *)ss)->sin_addr);
	return config_cidr_match(&cfg->internal_hosts, AF_INET6,
	    &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

sfsistat
cb_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	struct conn *c = get_conn(ctx);

	if (c == NULL) {
		/* An MTA that does not negotiate (milter protocol 2). */
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->cfg = config_snapshot()) == NULL ||
		    milter_seam->setpriv(ctx, c) != MI_SUCCESS) {
			if (c != NULL && c->cfg != NULL)
				config_unref(c->cfg);
			free(c);
			return SMFIS_TEMPFAIL;
		}
	}
	if (addr != NULL && (addr->sa_family == AF_INET ||
	    addr->sa_family == AF_INET6)) {
		size_t len = addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memcpy(&c->client, addr, len);
		c->has_client = true;
		c->internal = client_is_internal(c->cfg, &c->client);
	} else {
		/* No address: a local submission; or a unix socket. */
		c->internal = addr == NULL || addr->sa_family == AF_UNIX;
	}
	return go_on(c, SMFIP_NR_CONN);
}

/* Each message takes the configuration in force when it starts (a reload
 * reaches the next message of a connection, never one in progress). */
static void
refresh_config(struct conn *c)
{
	struct config *now = config_snapshot();

	if (now == NULL)
		return;
	if (now == c->cfg) {
		config_unref(now);
		return;
	}
	config_unref(c->cfg);
	c->cfg = now;
	if (c->has_client)
		c->internal = client_is_internal(c->cfg, &c->client);
}

sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = get_conn(ctx);
	struct msg *m;
	char *auth;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_free(c->m);
	c->m = NULL;
	c->failed = false;
	refresh_config(c);
	if ((m = get_msg(ctx)) == NULL)
		return fail_step(c, SMFIP_NR_MAIL);
	auth = milter_seam->getsymval(ctx, "{auth_authen}");
	m->authenticated = auth != NULL && *auth != '\0';
	m->null_sender = argv[0] == NULL || strcmp(argv[0], "<>") == 0 ||
	    argv[0][0] == '\0';
	return go_on(c, SMFIP_NR_MAIL);
}

sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = get_conn(ctx);
	struct msg *m;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if ((m = get_msg(ctx)) == NULL)
		return fail_step(c, SMFIP_NR_RCPT);
	if (argv[0] != NULL) {
		m->n_rcpt++;
		if (policy_rcpt_is_local(c->cfg, argv[0]))
			m->n_rcpt_local++;
	}
	return go_on(c, SMFIP_NR_RCPT);
}

/* Notes one more field of a name the rewrite deletes: one lookup in a
 * hash table, whatever the number of names before it. */
static void
mark_remove(struct msg *m, const char *name, enum removal_kind kind)
{
	struct removal *r = g_hash_table_lookup(m->remove, name);

	if (r == NULL) {
		size_t len = strlen(name);
		r = g_malloc(sizeof(*r) + len + 1);
		r->count = 0;
		r->kind = kind;
		memcpy(r->name, name, len + 1);
		g_ptr_array_add(m->removals, r);
		g_hash_table_insert(m->remove, r->name, r);
	}
	r->count++;
}

static bool
is_content_field(const char *name)
{
	return g_ascii_strncasecmp(name, "Content-", 8) == 0 ||
	    g_ascii_strcasecmp(name, "MIME-Version") == 0;
}

sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = get_conn(ctx);
	struct msg *m;
	const char *v = value;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if ((m = get_msg(ctx)) == NULL)
		return fail_step(c, SMFIP_NR_HDR);
	while (*v == ' ' || *v == '\t')
		v++;
	/* X-Pull and every X-Pull-* field are the sender's: read where they
	 * may steer (X-Pull: no, X-Pull-Expires) or tell a loop (X-Pull-URL),
	 * never delivered as they came (doc/ARCHITECTURE.md: the milter's
	 * decisions). */
	if (g_ascii_strcasecmp(name, "X-Pull") == 0) {
		mark_remove(m, name, REMOVE_PULL);
		char *t = g_strstrip(g_strdup(v));
		if (g_ascii_strcasecmp(t, "no") == 0)
			m->x_pull_no = true;
		g_free(t);
	} else if (g_ascii_strcasecmp(name, "X-Pull-URL") == 0) {
		mark_remove(m, name, REMOVE_PULL_LINK);
		if (m->n_pull_url++ == 0)
			m->pull_url = strdup(v);
	} else if (g_ascii_strcasecmp(name, "X-Pull-Expires") == 0) {
		mark_remove(m, name, REMOVE_PULL_LINK);
		free(m->x_pull_expires);
		m->x_pull_expires = strdup(v);
	} else if (g_ascii_strncasecmp(name, "X-Pull-", 7) == 0) {
		mark_remove(m, name, REMOVE_PULL);
	}

	/* The original header bytes: "Name:" + value (with its own leading
	 * space when negotiated), folded lines and the end with CRLF. A
	 * message whose header does not fit is not pulled, so neither its
	 * bytes nor its Content-* fields are noted from there on. */
	if (m->headers_overflow)
		return go_on(c, SMFIP_NR_HDR);
	if (m->headers->len + strlen(name) + strlen(value) + 8 >
	    MILTER_HEADERS_MAX) {
		m->headers_overflow = true;
		return go_on(c, SMFIP_NR_HDR);
	}
	if (is_content_field(name))
		mark_remove(m, name, REMOVE_CONTENT);
	g_string_append(m->headers, name);
	g_string_append_c(m->headers, ':');
	if (!c->leadspc)
		g_string_append_c(m->headers, ' ');
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			g_string_append_c(m->headers, '\r');
		g_string_append_c(m->headers, *p);
	}
	g_string_append(m->headers, "\r\n");
	return go_on(c, SMFIP_NR_HDR);
}

static void
feed(struct msg *m, const void *buf, size_t len)
{
	m->size += len;
	mimescan_feed(m->scan, buf, len);
	if (m->w != NULL && !m->store_failed &&
	    sealed_write(m->w, buf, len) != SEALED_OK) {
		m->store_failed = true;
		sealed_abort(m->w);
		m->w = NULL;
	}
}

/* The only loop test: a message this installation already pulled carries
 * one X-Pull-URL, a link of this BaseURL and PathPrefix whose object is in
 * the store. Anything else (a foreign or forged link, one whose object does
 * not exist, several fields) is not obeyed: the fields are removed and
 * policy decides as for any message. */
static bool
pulled_here(const struct conn *c, const struct msg *m)
{
	struct storage_id id;
	unsigned char head[8];
	size_t got;

	if (m->n_pull_url != 1 || m->pull_url == NULL || the_store == NULL ||
	    !policy_link_is_ours(c->cfg, m->pull_url, &id))
		return false;
	return store_read_head(the_store, &id, head, sizeof(head), &got) ==
	    STORE_OK;
}

sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);
	struct msg *m;
	struct policy_facts f;
	bool ignored;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if ((m = get_msg(ctx)) == NULL)
		return fail_step(c, SMFIP_NR_EOH);
	memset(&f, 0, sizeof(f));
	f.authenticated = m->authenticated;
	f.internal_client = c->internal;
	f.null_sender = m->null_sender;
	f.pulled_here = pulled_here(c, m);
	f.x_pull_no = m->x_pull_no;
	f.n_rcpt = m->n_rcpt;
	f.n_rcpt_local = m->n_rcpt_local;
	if (m->n_pull_url > 0 && !f.pulled_here && c->cfg->log_why)
		log_message(LOG_INFO, queue_id(ctx, m), NULL, "X-Pull-URL that "
		    "names no object of this store: removed, policy applies");
	m->decision = policy_should_pull(c->cfg, &f);
	if (m->decision == POLICY_PULL && m->headers_overflow) {
		log_message(LOG_WARNING, queue_id(ctx, m), NULL,
		    "headers larger than %u bytes: not pulled",
		    MILTER_HEADERS_MAX);
		m->decision = POLICY_SKIP_TOO_BIG;
	}
	if (m->decision != POLICY_PULL)
		goto done;
	m->pulling = true;
	int64_t now = time(NULL);
	m->received = now;
	m->expires = policy_expiry(c->cfg, m->authenticated,
	    m->x_pull_expires, now, &ignored);
	if (ignored && c->cfg->log_why)
		log_message(LOG_INFO, queue_id(ctx, m), NULL,
		    "X-Pull-Expires ignored (%s)", m->authenticated ?
		    "not a duration" : "sender not authenticated");
	m->scan = calloc(1, sizeof(*m->scan));
	if (m->scan == NULL) {
		m->pulling = false;
		return fail_step(c, SMFIP_NR_EOH);
	}
	mimescan_init(m->scan);
	if (the_store == NULL || sealed_create(the_store, now, m->expires,
	    &m->w, &m->token, &m->id) != SEALED_OK) {
		m->store_failed = true;
		m->w = NULL;
	}
	feed(m, m->headers->str, m->headers->len);
	feed(m, "\r\n", 2);
done:
	sodium_memzero(m->headers->str, m->headers->len);
	g_string_truncate(m->headers, 0);
	return go_on(c, SMFIP_NR_EOH);
}

sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = get_conn(ctx);
	struct msg *m;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if ((m = get_msg(ctx)) == NULL)
		return fail_step(c, SMFIP_NR_BODY);
	if (!m->pulling)
		return go_on(c, SMFIP_NR_BODY);
	if (c->cfg->max_message_size > 0 &&
	    m->size + len > c->cfg->max_message_size) {
		/* Stop sealing at once: memory and disk stay bounded. */
		m->pulling = false;
		m->decision = POLICY_SKIP_TOO_BIG;
		if (m->w != NULL)
			sealed_abort(m->w);
		m->w = NULL;
		return go_on(c, SMFIP_NR_BODY);
	}
	feed(m, chunk, len);
	return go_on(c, SMFIP_NR_BODY);
}

/* Deletes every field of the kinds asked for (all occurrences of each
 * name, last index first). */
static int
remove_marked(SMFICTX *ctx, struct msg *m, unsigned kinds)
{
	for (guint i = 0; i < m->removals->len; i++) {
		const struct removal *r = m->removals->pdata[i];
		if ((r->kind & kinds) == 0)
			continue;
		for (unsigned k = r->count; k >= 1; k--)
			if (milter_seam->chgheader(ctx, (char *)r->name, (int)k,
			    NULL) != MI_SUCCESS)
				return -1;
	}
	return 0;
}

/* What OnError says when sealing or storing failed. */
static sfsistat
on_error(SMFICTX *ctx, struct conn *c, struct msg *m, const char *what)
{
	switch (c->cfg->on_error) {
	case ON_ERROR_TEMPFAIL:
		log_message(LOG_ERR, queue_id(ctx, m), NULL,
		    "%s: tempfail (OnError)", what);
		return SMFIS_TEMPFAIL;
	case ON_ERROR_REJECT:
		log_message(LOG_ERR, queue_id(ctx, m), NULL,
		    "%s: rejected (OnError)", what);
		milter_seam->setreply(ctx, "550", "5.3.0",
		    "message could not be stored");
		return SMFIS_REJECT;
	case ON_ERROR_ACCEPT:
	default:
		log_message(LOG_ERR, queue_id(ctx, m), NULL,
		    "%s: delivering the original unchanged (OnError)", what);
		if (remove_marked(ctx, m, REMOVE_PULL | REMOVE_PULL_LINK) != 0)
			return SMFIS_TEMPFAIL;
		return SMFIS_CONTINUE;
	}
}

static sfsistat
rewrite(SMFICTX *ctx, struct conn *c, struct msg *m)
{
	char tok[TOKEN_TEXT_LEN + 1], date[64];
	struct summary_input in;
	struct summary sum;
	char *err = NULL, *link, *prefix, *hv;
	sfsistat rc = SMFIS_TEMPFAIL;
	const char *sp = c->leadspc ? " " : "";

	token_encode(m->token, tok);
	prefix = policy_link_prefix(c->cfg);
	link = g_strconcat(prefix, tok, NULL);
	sodium_memzero(tok, sizeof(tok));
	g_free(prefix);
	memset(&in, 0, sizeof(in));
	in.lang = c->cfg->language != NULL ? c->cfg->language : LANG_DEFAULT;
	in.template_dir = c->cfg->template_dir;
	in.scan = m->scan;
	in.link = link;
	in.expires = m->expires;
	in.received = m->received;
	if (summary_build(&in, &sum, &err) != 0) {
		log_message(LOG_ERR, queue_id(ctx, m), &m->id, "%s", err);
		g_free(err);
		store_delete(the_store, &m->id);
		sodium_memzero(link, strlen(link));
		g_free(link);
		return on_error(ctx, c, m, "summary");
	}
	units_format_rfc5322(m->expires, date, sizeof(date));

	if (remove_marked(ctx, m,
	    REMOVE_PULL | REMOVE_PULL_LINK | REMOVE_CONTENT) != 0)
		goto fail;
	hv = g_strconcat(sp, "1.0", NULL);
	if (milter_seam->addheader(ctx, "MIME-Version", hv) != MI_SUCCESS) {
		g_free(hv);
		goto fail;
	}
	g_free(hv);
	hv = g_strconcat(sp, sum.content_type, NULL);
	if (milter_seam->addheader(ctx, "Content-Type", hv) != MI_SUCCESS) {
		g_free(hv);
		goto fail;
	}
	g_free(hv);
	hv = g_strconcat(sp, link, NULL);
	int r = milter_seam->addheader(ctx, "X-Pull-URL", hv);
	sodium_memzero(hv, strlen(hv));
	g_free(hv);
	if (r != MI_SUCCESS)
		goto fail;
	hv = g_strconcat(sp, date, NULL);
	r = milter_seam->addheader(ctx, "X-Pull-Expires", hv);
	g_free(hv);
	if (r != MI_SUCCESS)
		goto fail;
	if (milter_seam->replacebody(ctx, (unsigned char *)sum.body,
	    (int)sum.body_len) != MI_SUCCESS)
		goto fail;
	log_message(LOG_INFO, queue_id(ctx, m), &m->id,
	    "pulled: %llu bytes sealed, %zu attachment(s), %zu inline "
	    "image(s)%s, expires %s", (unsigned long long)m->size,
	    m->scan->n_attachments + m->scan->n_more,
	    m->scan->n_inline + m->scan->n_inline_more,
	    m->scan->incomplete ? " and parts it could not list" : "", date);
	rc = SMFIS_CONTINUE;
	goto out;
fail:
	log_message(LOG_ERR, queue_id(ctx, m), &m->id,
	    "the MTA refused a change to the message: tempfail");
	store_delete(the_store, &m->id);
out:
	summary_free(&sum);
	sodium_memzero(link, strlen(link));
	g_free(link);
	return rc;
}

sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);
	struct msg *m = get_msg(ctx);
	sfsistat rc;

	if (c == NULL || m == NULL)
		return SMFIS_TEMPFAIL;
	queue_id(ctx, m);
	if (c->failed) {
		/* A step before could not answer its failure (SMFIP_NR_*). */
		log_message(LOG_ERR, m->queue_id, NULL, "out of memory while "
		    "receiving the message: tempfail");
		c->failed = false;
		rc = SMFIS_TEMPFAIL;
		goto out;
	}
	if (m->pulling) {
		mimescan_finish(m->scan);
		enum policy_decision d = policy_should_keep(c->cfg, m->size,
		    m->scan->n_attachments + m->scan->n_more);
		if (d != POLICY_PULL) {
			m->decision = d;
			m->pulling = false;
		}
	}
	if (!m->pulling) {
		if (m->w != NULL)
			sealed_abort(m->w);
		m->w = NULL;
		/* Every decision is logged; LogWhy adds the reason. */
		if (c->cfg->log_why)
			log_message(LOG_INFO, m->queue_id, NULL,
			    "not pulled: %s", policy_reason(m->decision));
		else
			log_message(LOG_INFO, m->queue_id, NULL, "not pulled");
		/* A summary of ours keeps its link and expiry; every other
		 * message loses every X-Pull field it came with. */
		unsigned kinds = REMOVE_PULL | (m->decision == POLICY_SKIP_LOOP ?
		    0 : REMOVE_PULL_LINK);
		rc = remove_marked(ctx, m, kinds) == 0 ? SMFIS_CONTINUE :
		    SMFIS_TEMPFAIL;
		goto out;
	}
	if (m->store_failed || m->w == NULL) {
		if (m->w != NULL)
			sealed_abort(m->w);
		m->w = NULL;
		rc = on_error(ctx, c, m, the_store == NULL ? "no store" :
		    store_error(the_store));
		goto out;
	}
	enum sealed_status st = sealed_commit(m->w);
	m->w = NULL;
	if (st != SEALED_OK) {
		/* The store says why (for example "rename into place:
		 * Permission denied"), as on the write path above. */
		rc = on_error(ctx, c, m, st == SEALED_IO ?
		    store_error(the_store) : sealed_strerror(st));
		goto out;
	}
	rc = rewrite(ctx, c, m);
out:
	msg_free(m);
	c->m = NULL;
	return rc;
}

sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);

	if (c != NULL) {
		msg_free(c->m);            /* aborts the store write */
		c->m = NULL;
		c->failed = false;
	}
	return SMFIS_CONTINUE;
}

sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = get_conn(ctx);

	if (c != NULL) {
		msg_free(c->m);
		config_unref(c->cfg);
		free(c);
		milter_seam->setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc callbacks_desc = {
	.xxfi_name = "pullmail",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = REQUIRED_ACTIONS,
	.xxfi_connect = cb_connect,
	.xxfi_helo = NULL,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = cb_negotiate,
};
