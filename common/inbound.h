/* Inbound mode: the decision whether a received summary's original is
 * fetched from its sender. Parsers for the header fields that decide it
 * (RFC 8601 Authentication-Results, RFC 6376 DKIM-Signature tag lists, the
 * X-Pull-URL link), the trust list of [inbound] Trust, and the decision
 * itself. No libmilter, no libcurl here: the milter's inbound callbacks
 * (milter/inbound.c) and its fetcher (milter/fetch.c) use these. Every
 * input is hostile: parsers return -1 on anything they do not understand,
 * never crash, and allocate with GLib. */
#ifndef PULLMAIL_INBOUND_H
#define PULLMAIL_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Longest header field value these parsers look at; longer is refused. */
#define INBOUND_MAX_FIELD 65536
/* Shortest header.b= prefix accepted to find the signature it names
 * (OpenDKIM writes 8 characters). */
#define INBOUND_MIN_B_PREFIX 8

/* scheme://host[:port][/path]. scheme and host are lower case; port is
 * the explicit one or the scheme's default; path is "" or begins with /. */
struct inbound_url {
	char *scheme;
	char *host;      /* a name, an IPv4 address or [IPv6] */
	unsigned port;
	char *path;
};

/* One Trust entry: the signing domain, its origins and what it allows. */
struct inbound_trust {
	char *domain;                 /* lower case */
	size_t n_origins;
	struct inbound_url *origins;  /* path "" */
	bool allow_http;
	bool allow_private;
};

struct inbound_trust_list {
	size_t n;
	struct inbound_trust *v;
};

/* A dkim=pass result of one Authentication-Results field. */
struct inbound_dkim_result {
	char *result;    /* lower case */
	char *d;         /* header.d, lower case, or NULL */
	char *b;         /* header.b, or NULL */
};

/* Parses one Authentication-Results value. *authserv_id (g_free) is set
 * to its authserv-id; each dkim result is appended to results (elements
 * freed by the array: see inbound_dkim_results_new). 0 or -1. */
GPtrArray *inbound_dkim_results_new(void);
int inbound_ar_parse(const char *value, char **authserv_id,
    GPtrArray *results);

/* The tags of one DKIM-Signature value that the decision needs. */
struct inbound_sig {
	char *d;          /* lower case */
	char **h;         /* lower case field names, NULL-terminated */
	char *b;          /* the signature, white space removed */
};

int inbound_sig_parse(const char *value, struct inbound_sig *sig);
void inbound_sig_clear(struct inbound_sig *sig);

/* Parses a URL (a link, or an origin if origin_only: no path at all).
 * 0 or -1; on success free with inbound_url_clear. */
int inbound_url_parse(const char *text, bool origin_only,
    struct inbound_url *u);
void inbound_url_clear(struct inbound_url *u);
bool inbound_url_same_origin(const struct inbound_url *a,
    const struct inbound_url *b);

/* The [inbound] Trust value: entries separated by ";", each
 * "DOMAIN ORIGIN... [allow-http] [allow-private]". 0 or -1 (*err says why,
 * g_free). */
int inbound_trust_parse(const char *text, struct inbound_trust_list *out,
    char **err);
void inbound_trust_clear(struct inbound_trust_list *l);
const struct inbound_trust *inbound_trust_find(
    const struct inbound_trust_list *l, const char *domain);

/* Whether an address (4 or 16 bytes of family AF_INET/AF_INET6) is
 * loopback, private, link-local, unique-local, multicast, unspecified or
 * otherwise not a public unicast address. */
bool inbound_address_is_private(int family, const unsigned char *addr);

/* The fields of a received message that the decision reads, values as
 * the MTA gave them (unfolded or not). */
struct inbound_fields {
	GPtrArray *auth_results;   /* char * values */
	GPtrArray *dkim_sigs;      /* char * values */
	GPtrArray *pull_urls;      /* char * values */
};

struct inbound_decision {
	bool fetch;
	const char *why;                  /* static text: the reason */
	const struct inbound_trust *entry; /* when fetch */
	struct inbound_url link;          /* when fetch; inbound_decision_clear */
	char *domain;                     /* the trusted d=, when known */
};

void inbound_decide(const struct inbound_trust_list *trust,
    char *const *authserv_ids, const struct inbound_fields *f,
    struct inbound_decision *out);
void inbound_decision_clear(struct inbound_decision *d);

/* An original received from a sender: its header fields in order and its
 * body, line ends made LF. 0 or -1 (*why, static text). */
struct inbound_field {
	char *name;
	char *value;   /* folded lines joined with "\n", no leading space */
};

struct inbound_original {
	GPtrArray *fields;   /* struct inbound_field */
	const char *body;    /* into the caller's buffer */
	size_t body_len;
};

int inbound_original_parse(char *data, size_t len,
    struct inbound_original *o, const char **why);
void inbound_original_clear(struct inbound_original *o);

/* Whether a header field of the summary is one of the receiving side's
 * trace fields that stay (Received, Authentication-Results, Return-Path). */
bool inbound_is_kept_trace_field(const char *name);

#endif
