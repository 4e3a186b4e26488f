/* A fake MTA behind the smfi_* seam: records header changes and the
 * replacement body, can be told to fail a call. Included by the milter
 * tests only (one Check program each). */
#ifndef PULLMAIL_TEST_FAKE_MTA_H
#define PULLMAIL_TEST_FAKE_MTA_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "milter/seam.h"
#include "milter/callbacks.h"

struct fake_mta {
	void *priv;
	GHashTable *macros;       /* name -> value */
	GString *log;             /* "chg NAME IDX\n", "add NAME: VALUE\n" */
	GString *body;            /* replacement body, if any */
	bool replaced;
	int fail_call;            /* 1: chgheader, 2: addheader, 3: replacebody */
	unsigned long offer_f0, offer_f1;
	unsigned long agreed_f1;  /* what the milter asked for */
};

/* What fake_send returns when a step the milter said it would not answer
 * (SMFIP_NR_*) answered anyway: libmilter would log it and the dialogue
 * with a real MTA would go wrong. */
#define FAKE_ANSWERED_NR_STEP ((sfsistat)99)

static struct fake_mta *fake;

static void *fake_getpriv(SMFICTX *ctx) { (void)ctx; return fake->priv; }
static int fake_setpriv(SMFICTX *ctx, void *p) { (void)ctx; fake->priv = p; return MI_SUCCESS; }
static char *fake_getsymval(SMFICTX *ctx, char *n) { (void)ctx; return g_hash_table_lookup(fake->macros, n); }
static int
fake_chgheader(SMFICTX *ctx, char *n, int i, char *v)
{
	(void)ctx;
	if (fake->fail_call == 1)
		return MI_FAILURE;
	g_string_append_printf(fake->log, "chg %s %d%s%s\n", n, i,
	    v ? " " : "", v ? v : "");
	return MI_SUCCESS;
}
static int
fake_addheader(SMFICTX *ctx, char *n, char *v)
{
	(void)ctx;
	if (fake->fail_call == 2)
		return MI_FAILURE;
	g_string_append_printf(fake->log, "add %s:%s\n", n, v);
	return MI_SUCCESS;
}
static int
fake_replacebody(SMFICTX *ctx, unsigned char *b, int len)
{
	(void)ctx;
	if (fake->fail_call == 3)
		return MI_FAILURE;
	g_string_append_len(fake->body, (const char *)b, len);
	fake->replaced = true;
	return MI_SUCCESS;
}
static int fake_setreply(SMFICTX *c, char *a, char *b, char *d) { (void)c; (void)a; (void)b; (void)d; return MI_SUCCESS; }
static int fake_setsymlist(SMFICTX *c, int s, char *m) { (void)c; (void)s; (void)m; return MI_SUCCESS; }

static const struct milter_seam fake_seam = {
	fake_getpriv, fake_setpriv, fake_getsymval, fake_chgheader,
	fake_addheader, fake_replacebody, fake_setreply, fake_setsymlist,
};

#define FAKE_CTX ((SMFICTX *)fake)

static void
fake_new(void)
{
	fake = calloc(1, sizeof(*fake));
	fake->macros = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	fake->log = g_string_new(NULL);
	fake->body = g_string_new(NULL);
	fake->offer_f0 = SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS | SMFIF_SETSYMLIST;
	fake->offer_f1 = SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOUNKNOWN;
	milter_seam = &fake_seam;
}

static void
fake_free(void)
{
	g_hash_table_destroy(fake->macros);
	g_string_free(fake->log, TRUE);
	g_string_free(fake->body, TRUE);
	free(fake);
	fake = NULL;
}

static void
fake_macro(const char *n, const char *v)
{
	g_hash_table_replace(fake->macros, g_strdup(n), g_strdup(v));
}

/* A step's answer as the MTA sees it: SMFIS_CONTINUE for "go on", whether
 * it came as "continue" or, for an agreed SMFIP_NR_* step, as no answer. */
static sfsistat
fake_step(sfsistat rc, unsigned long nr_bit)
{
	if ((fake->agreed_f1 & nr_bit) == 0)
		return rc == SMFIS_NOREPLY ? FAKE_ANSWERED_NR_STEP : rc;
	if (rc == SMFIS_NOREPLY)
		return SMFIS_CONTINUE;
	return FAKE_ANSWERED_NR_STEP;
}

static sfsistat
fake_negotiate_connect(const char *ip)
{
	unsigned long p0, p1, p2, p3;
	sfsistat rc = cb_negotiate(FAKE_CTX, fake->offer_f0, fake->offer_f1,
	    0, 0, &p0, &p1, &p2, &p3);
	if (rc != SMFIS_CONTINUE)
		return rc;
	fake->agreed_f1 = p1;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return fake_step(cb_connect(FAKE_CTX, "client",
	    (struct sockaddr *)&sin), SMFIP_NR_CONN);
}

/* Sends a whole message "Name: value\r\n...\r\n\r\nbody" as Postfix would
 * (header values with their leading space, body in chunks of chunk bytes)
 * and returns the eom answer. */
static sfsistat
fake_send(const char *from, const char *const *rcpts, const char *msg,
    size_t len, size_t chunk)
{
	char *argv[2] = { (char *)from, NULL };
	sfsistat rc;

	fake->replaced = false;
	g_string_truncate(fake->log, 0);
	g_string_truncate(fake->body, 0);
	if ((rc = fake_step(cb_envfrom(FAKE_CTX, argv), SMFIP_NR_MAIL)) !=
	    SMFIS_CONTINUE)
		return rc;
	for (size_t i = 0; rcpts[i] != NULL; i++) {
		argv[0] = (char *)rcpts[i];
		if ((rc = fake_step(cb_envrcpt(FAKE_CTX, argv),
		    SMFIP_NR_RCPT)) != SMFIS_CONTINUE)
			return rc;
	}
	const char *p = msg, *end = msg + len;
	while (p < end) {
		const char *eol = memmem(p, end - p, "\r\n", 2);
		if (eol == NULL)
			break;
		if (eol == p) {        /* end of headers */
			p += 2;
			break;
		}
		/* unfold continuation lines into the value with "\n" */
		const char *fe = eol;
		while (fe + 2 < end && (fe[2] == ' ' || fe[2] == '\t'))
			fe = memmem(fe + 2, end - fe - 2, "\r\n", 2);
		const char *colon = memchr(p, ':', fe - p);
		char *name = g_strndup(p, colon - p);
		GString *val = g_string_new(NULL);
		/* Postfix passes folded lines joined by a bare LF. */
		for (const char *q = colon + 1; q < fe; q++)
			if (!(q[0] == '\r' && q + 1 < fe && q[1] == '\n'))
				g_string_append_c(val, *q);
		rc = fake_step(cb_header(FAKE_CTX, name, val->str),
		    SMFIP_NR_HDR);
		g_free(name);
		g_string_free(val, TRUE);
		if (rc != SMFIS_CONTINUE)
			return rc;
		p = fe + 2;
	}
	if ((rc = fake_step(cb_eoh(FAKE_CTX), SMFIP_NR_EOH)) != SMFIS_CONTINUE)
		return rc;
	while (p < end) {
		size_t n = (size_t)(end - p) < chunk ? (size_t)(end - p) : chunk;
		if ((rc = fake_step(cb_body(FAKE_CTX, (unsigned char *)p, n),
		    SMFIP_NR_BODY)) != SMFIS_CONTINUE)
			return rc;
		p += n;
	}
	return cb_eom(FAKE_CTX);
}

#endif
