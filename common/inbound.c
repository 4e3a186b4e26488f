/* Inbound decision: parsers for Authentication-Results (RFC 8601),
 * DKIM-Signature tag lists (RFC 6376 section 3.2), the X-Pull-URL link and
 * the trust list, and the rule that joins them (inbound.h). Hand-written:
 * GMime parses neither header field's grammar. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "inbound.h"

/* ---- Authentication-Results (RFC 8601 section 2.2) ---- */

struct lexer {
	const char *p;
};

/* Skips CFWS: white space (folding included) and comments, which nest and
 * may hold quoted pairs. -1 on an unterminated comment. */
static int
skip_cfws(struct lexer *lx)
{
	for (;;) {
		while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
		    *lx->p == '\n')
			lx->p++;
		if (*lx->p != '(')
			return 0;
		unsigned depth = 0;
		do {
			if (*lx->p == '\0')
				return -1;
			if (*lx->p == '\\' && lx->p[1] != '\0')
				lx->p++;
			else if (*lx->p == '(')
				depth++;
			else if (*lx->p == ')')
				depth--;
			lx->p++;
		} while (depth > 0);
	}
}

/* A value: a quoted-string (unquoted here) or a run of characters up to
 * CFWS, ";" or a quote; in key mode "=" and "/" end it too. NULL if
 * empty or malformed. */
static char *
lex_word(struct lexer *lx, bool key)
{
	GString *s;
	const char *start;

	if (skip_cfws(lx) != 0)
		return NULL;
	if (*lx->p == '"') {
		s = g_string_new(NULL);
		for (lx->p++; *lx->p != '"'; lx->p++) {
			if (*lx->p == '\0') {
				g_string_free(s, TRUE);
				return NULL;
			}
			if (*lx->p == '\\' && lx->p[1] != '\0')
				lx->p++;
			g_string_append_c(s, *lx->p);
		}
		lx->p++;
		return g_string_free(s, FALSE);
	}
	start = lx->p;
	while (*lx->p != '\0' && (unsigned char)*lx->p > ' ' &&
	    *lx->p != '(' && *lx->p != ')' && *lx->p != ';' &&
	    *lx->p != '"' && (unsigned char)*lx->p != 0x7f &&
	    !(key && (*lx->p == '=' || *lx->p == '/')))
		lx->p++;
	if (lx->p == start)
		return NULL;
	return g_strndup(start, (size_t)(lx->p - start));
}

static void
dkim_result_free(gpointer p)
{
	struct inbound_dkim_result *r = p;

	g_free(r->result);
	g_free(r->d);
	g_free(r->b);
	g_free(r);
}

GPtrArray *
inbound_dkim_results_new(void)
{
	return g_ptr_array_new_with_free_func(dkim_result_free);
}

/* Skips to the next ";" outside comments and quoted strings (the rest of a
 * resinfo this parser cannot read). */
static void
skip_resinfo(struct lexer *lx)
{
	while (*lx->p != '\0' && *lx->p != ';') {
		if (*lx->p == '(' ) {
			if (skip_cfws(lx) != 0) {
				lx->p += strlen(lx->p);
				return;
			}
			continue;
		}
		if (*lx->p == '"') {
			char *w = lex_word(lx, false);
			if (w == NULL) {
				lx->p += strlen(lx->p);
				return;
			}
			g_free(w);
			continue;
		}
		lx->p++;
	}
}

/* methodspec [reasonspec] *propspec, after the ";". Appends a dkim result;
 * returns 0, or -1 when the resinfo is malformed (the caller skips it). */
static int
parse_resinfo(struct lexer *lx, GPtrArray *results)
{
	char *method = NULL, *result = NULL, *key = NULL, *val = NULL;
	struct inbound_dkim_result *r = NULL;
	int rc = -1;

	if ((method = lex_word(lx, true)) == NULL)
		goto out;
	if (skip_cfws(lx) != 0)
		goto out;
	if (*lx->p == '/') {      /* method-version */
		lx->p++;
		char *ver = lex_word(lx, true);
		if (ver == NULL)
			goto out;
		g_free(ver);
		if (skip_cfws(lx) != 0)
			goto out;
	}
	if (*lx->p != '=')
		goto out;
	lx->p++;
	if ((result = lex_word(lx, true)) == NULL)
		goto out;
	if (g_ascii_strcasecmp(method, "dkim") == 0) {
		r = g_new0(struct inbound_dkim_result, 1);
		r->result = g_ascii_strdown(result, -1);
	}
	for (;;) {
		if (skip_cfws(lx) != 0)
			goto out;
		if (*lx->p == ';' || *lx->p == '\0')
			break;
		if ((key = lex_word(lx, true)) == NULL)
			goto out;
		if (skip_cfws(lx) != 0 || *lx->p != '=')
			goto out;
		lx->p++;
		if (skip_cfws(lx) != 0)
			goto out;
		/* "reason" and every ptype.property take a value; an empty
		 * quoted string is a value too. */
		if (lx->p[0] == '"' && lx->p[1] == '"') {
			lx->p += 2;
			val = g_strdup("");
		} else if ((val = lex_word(lx, false)) == NULL) {
			goto out;
		}
		if (r != NULL && g_ascii_strcasecmp(key, "header.d") == 0 &&
		    r->d == NULL)
			r->d = g_ascii_strdown(val, -1);
		else if (r != NULL && g_ascii_strcasecmp(key, "header.b") == 0 &&
		    r->b == NULL)
			r->b = g_strdup(val);
		else if (r != NULL && (g_ascii_strcasecmp(key, "header.d") == 0 ||
		    g_ascii_strcasecmp(key, "header.b") == 0))
			goto out;  /* twice in one result: not trusted */
		g_free(key);
		g_free(val);
		key = val = NULL;
	}
	if (r != NULL) {
		g_ptr_array_add(results, r);
		r = NULL;
	}
	rc = 0;
out:
	if (r != NULL)
		dkim_result_free(r);
	g_free(method);
	g_free(result);
	g_free(key);
	g_free(val);
	return rc;
}

int
inbound_ar_parse(const char *value, char **authserv_id, GPtrArray *results)
{
	struct lexer lx;
	char *id;

	*authserv_id = NULL;
	if (value == NULL || strlen(value) > INBOUND_MAX_FIELD)
		return -1;
	lx.p = value;
	if ((id = lex_word(&lx, false)) == NULL)
		return -1;
	if (skip_cfws(&lx) != 0) {
		g_free(id);
		return -1;
	}
	/* [CFWS authres-version] */
	if (g_ascii_isdigit(*lx.p)) {
		while (g_ascii_isdigit(*lx.p))
			lx.p++;
		if (skip_cfws(&lx) != 0) {
			g_free(id);
			return -1;
		}
	}
	if (*lx.p != ';' && *lx.p != '\0') {
		g_free(id);
		return -1;
	}
	while (*lx.p == ';') {
		lx.p++;
		if (parse_resinfo(&lx, results) != 0)
			skip_resinfo(&lx);
		if (skip_cfws(&lx) != 0)
			break;
	}
	*authserv_id = id;
	return 0;
}

/* ---- DKIM-Signature (RFC 6376 section 3.2, tag=value lists) ---- */

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A copy of [s, e) without any white space. */
static char *
strip_all_fws(const char *s, const char *e)
{
	GString *out = g_string_sized_new((gsize)(e - s));

	for (; s < e; s++)
		if (!is_fws(*s))
			g_string_append_c(out, *s);
	return g_string_free(out, FALSE);
}

void
inbound_sig_clear(struct inbound_sig *sig)
{
	g_free(sig->d);
	g_strfreev(sig->h);
	g_free(sig->b);
	memset(sig, 0, sizeof(*sig));
}

int
inbound_sig_parse(const char *value, struct inbound_sig *sig)
{
	const char *p = value;
	GHashTable *seen;
	int rc = -1;

	memset(sig, 0, sizeof(*sig));
	if (value == NULL || strlen(value) > INBOUND_MAX_FIELD)
		return -1;
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	while (*p != '\0') {
		const char *ns, *ne, *vs, *ve;
		char *name;

		while (is_fws(*p))
			p++;
		if (*p == '\0')
			break;            /* a final ";" then FWS */
		ns = p;
		if (!g_ascii_isalpha(*p))
			goto out;
		while (g_ascii_isalnum(*p) || *p == '_')
			p++;
		ne = p;
		while (is_fws(*p))
			p++;
		if (*p != '=')
			goto out;
		p++;
		vs = p;
		while (*p != '\0' && *p != ';')
			p++;
		ve = p;
		if (*p == ';')
			p++;
		name = g_strndup(ns, (size_t)(ne - ns));
		/* A tag twice makes the signature invalid (section 3.2). */
		if (g_hash_table_contains(seen, name)) {
			g_free(name);
			goto out;
		}
		g_hash_table_add(seen, name);
		if (strcmp(name, "d") == 0) {
			char *d = strip_all_fws(vs, ve);
			sig->d = g_ascii_strdown(d, -1);
			g_free(d);
		} else if (strcmp(name, "b") == 0) {
			sig->b = strip_all_fws(vs, ve);
		} else if (strcmp(name, "h") == 0) {
			char *h = strip_all_fws(vs, ve);
			char *lower = g_ascii_strdown(h, -1);

			g_free(h);
			sig->h = g_strsplit(lower, ":", -1);
			g_free(lower);
		}
	}
	if (sig->d == NULL || sig->d[0] == '\0' || sig->b == NULL ||
	    sig->b[0] == '\0' || sig->h == NULL)
		goto out;
	rc = 0;
out:
	g_hash_table_destroy(seen);
	if (rc != 0)
		inbound_sig_clear(sig);
	return rc;
}

/* ---- URLs and the trust list ---- */

void
inbound_url_clear(struct inbound_url *u)
{
	g_free(u->scheme);
	g_free(u->host);
	g_free(u->path);
	memset(u, 0, sizeof(*u));
}

static bool
path_char(char c)
{
	/* RFC 3986 unreserved, "/" and the sub-delims a link never needs
	 * left out: what a pullmail link holds, nothing that a shell, a log
	 * or a URL parser could read another way. */
	return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
	    c == '~' || c == '/';
}

int
inbound_url_parse(const char *text, bool origin_only, struct inbound_url *u)
{
	const char *p, *h, *he;
	unsigned char a[16];
	size_t len;

	memset(u, 0, sizeof(*u));
	if (text == NULL)
		return -1;
	len = strlen(text);
	while (len > 0 && is_fws(text[len - 1]))
		len--;
	while (len > 0 && is_fws(*text)) {
		text++;
		len--;
	}
	if (len == 0 || len > 2048)
		return -1;
	if (g_ascii_strncasecmp(text, "https://", 8) == 0) {
		u->scheme = g_strdup("https");
		u->port = 443;
		p = text + 8;
	} else if (g_ascii_strncasecmp(text, "http://", 7) == 0) {
		u->scheme = g_strdup("http");
		u->port = 80;
		p = text + 7;
	} else {
		return -1;
	}
	h = p;
	if (*h == '[') {
		he = memchr(h, ']', len - (size_t)(h - text));
		if (he == NULL)
			goto bad;
		char *inner = g_strndup(h + 1, (size_t)(he - h - 1));
		int ok = inet_pton(AF_INET6, inner, a);
		g_free(inner);
		if (ok != 1)
			goto bad;
		he++;
	} else {
		for (he = h; he < text + len && (g_ascii_isalnum(*he) ||
		    *he == '-' || *he == '.'); he++)
			;
		if (he == h || *h == '.' || *h == '-')
			goto bad;
	}
	u->host = g_ascii_strdown(h, he - h);
	p = he;
	if (p < text + len && *p == ':') {
		unsigned port = 0;
		const char *ps = ++p;

		while (p < text + len && g_ascii_isdigit(*p)) {
			port = port * 10 + (unsigned)(*p - '0');
			if (port > 65535)
				goto bad;
			p++;
		}
		if (p == ps || port == 0)
			goto bad;
		u->port = port;
	}
	if (origin_only) {
		/* An origin may end with one "/" and nothing else. */
		if (p < text + len && !(*p == '/' && p + 1 == text + len))
			goto bad;
		u->path = g_strdup("");
		return 0;
	}
	if (p < text + len && *p != '/')
		goto bad;
	for (const char *c = p; c < text + len; c++)
		if (!path_char(*c))
			goto bad;
	/* No dot segments: the link names one object, nowhere else. */
	u->path = g_strndup(p, (size_t)(text + len - p));
	if (strstr(u->path, "/./") != NULL || strstr(u->path, "/../") != NULL ||
	    g_str_has_suffix(u->path, "/..") || g_str_has_suffix(u->path, "/.") ||
	    strstr(u->path, "//") != NULL)
		goto bad;
	return 0;
bad:
	inbound_url_clear(u);
	return -1;
}

bool
inbound_url_same_origin(const struct inbound_url *a,
    const struct inbound_url *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port;
}

void
inbound_trust_clear(struct inbound_trust_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct inbound_trust *t = &l->v[i];

		g_free(t->domain);
		for (size_t j = 0; j < t->n_origins; j++)
			inbound_url_clear(&t->origins[j]);
		g_free(t->origins);
	}
	g_free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool
valid_domain(const char *d)
{
	size_t len = strlen(d);

	if (len == 0 || len > 253 || d[0] == '.' || d[0] == '-' ||
	    d[len - 1] == '.' || strstr(d, "..") != NULL)
		return false;
	for (; *d != '\0'; d++)
		if (!g_ascii_isalnum(*d) && *d != '-' && *d != '.')
			return false;
	return true;
}

static int
parse_trust_entry(const char *text, struct inbound_trust *t, char **err)
{
	char **words = g_strsplit_set(text, " \t", -1);
	GArray *origins = g_array_new(FALSE, TRUE, sizeof(struct inbound_url));
	size_t i;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	for (i = 0; words[i] != NULL; i++) {
		const char *w = words[i];
		struct inbound_url u;

		if (*w == '\0')
			continue;
		if (t->domain == NULL) {
			if (!valid_domain(w)) {
				*err = g_strdup_printf("\"%s\" is not a domain",
				    w);
				goto out;
			}
			t->domain = g_ascii_strdown(w, -1);
		} else if (strcmp(w, "allow-http") == 0) {
			t->allow_http = true;
		} else if (strcmp(w, "allow-private") == 0) {
			t->allow_private = true;
		} else if (inbound_url_parse(w, true, &u) == 0) {
			g_array_append_val(origins, u);
		} else {
			*err = g_strdup_printf("\"%s\" is neither an origin "
			    "(https://host[:port]) nor allow-http or "
			    "allow-private", w);
			goto out;
		}
	}
	if (t->domain == NULL || origins->len == 0) {
		*err = g_strdup("an entry needs a domain and at least one "
		    "origin");
		goto out;
	}
	for (i = 0; i < origins->len; i++)
		if (strcmp(g_array_index(origins, struct inbound_url, i).scheme,
		    "http") == 0 && !t->allow_http) {
			*err = g_strdup_printf("%s: an http:// origin needs "
			    "allow-http", t->domain);
			goto out;
		}
	rc = 0;
out:
	t->n_origins = origins->len;
	t->origins = (struct inbound_url *)(void *)g_array_free(origins, FALSE);
	g_strfreev(words);
	return rc;
}

int
inbound_trust_parse(const char *text, struct inbound_trust_list *out,
    char **err)
{
	char **entries = g_strsplit(text, ";", -1);
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct inbound_trust));
	int rc = 0;

	*err = NULL;
	out->n = 0;
	out->v = NULL;
	for (size_t i = 0; entries[i] != NULL; i++) {
		struct inbound_trust t;
		char *e = g_strstrip(entries[i]);

		if (*e == '\0')
			continue;
		rc = parse_trust_entry(e, &t, err);
		g_array_append_val(v, t);
		if (rc != 0)
			break;
		for (size_t j = 0; j + 1 < v->len && rc == 0; j++) {
			const struct inbound_trust *o = &g_array_index(v,
			    struct inbound_trust, j);

			if (strcmp(o->domain, t.domain) == 0) {
				*err = g_strdup_printf("%s: listed twice",
				    t.domain);
				rc = -1;
			}
			/* One origin, one allow-private: the fetcher reuses
			 * connections by origin (milter/fetch.c). */
			for (size_t a = 0; a < o->n_origins && rc == 0; a++)
				for (size_t b = 0; b < t.n_origins; b++)
					if (o->allow_private != t.allow_private &&
					    inbound_url_same_origin(
					    &o->origins[a], &t.origins[b])) {
						*err = g_strdup_printf("%s and "
						    "%s list one origin, one "
						    "with allow-private and "
						    "one without", o->domain,
						    t.domain);
						rc = -1;
						break;
					}
		}
		if (rc != 0)
			break;
	}
	g_strfreev(entries);
	out->n = v->len;
	out->v = (struct inbound_trust *)(void *)g_array_free(v, FALSE);
	if (rc != 0)
		inbound_trust_clear(out);
	return rc;
}

const struct inbound_trust *
inbound_trust_find(const struct inbound_trust_list *l, const char *domain)
{
	if (l == NULL || domain == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (g_ascii_strcasecmp(l->v[i].domain, domain) == 0)
			return &l->v[i];
	return NULL;
}

/* ---- Addresses ---- */

static bool
v4_is_private(const unsigned char *a)
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64) ||      /* 100.64/10 */
	    (a[0] == 169 && a[1] == 254) ||
	    (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 192 && a[1] == 0 && a[2] == 0) ||   /* 192.0.0/24 */
	    (a[0] == 192 && a[1] == 0 && a[2] == 2) ||   /* documentation */
	    (a[0] == 198 && (a[1] & 0xfe) == 18) ||      /* 198.18/15 */
	    (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
	    (a[0] == 203 && a[1] == 0 && a[2] == 113) ||
	    a[0] >= 224;                                  /* multicast, 240/4 */
}

bool
inbound_address_is_private(int family, const unsigned char *a)
{
	static const unsigned char zero[16];
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[12] = {
		0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
	/* ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765). */
	static const unsigned char v4translated[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	/* 64:ff9b:1::/48, NAT64 for local use (RFC 8215): a gateway on
	 * the site's own network, to addresses of any kind. */
	static const unsigned char nat64_local[6] = {
		0, 0x64, 0xff, 0x9b, 0, 1 };

	if (family == AF_INET)
		return v4_is_private(a);
	if (family != AF_INET6)
		return true;
	if (memcmp(a, v4mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 ||
	    memcmp(a, v4translated, 12) == 0)
		return v4_is_private(a + 12);
	if (memcmp(a, nat64_local, 6) == 0)
		return true;
	if (memcmp(a, zero, 12) == 0)          /* ::, ::1, IPv4-compatible */
		return true;
	return (a[0] & 0xfe) == 0xfc ||         /* fc00::/7 unique local */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||   /* fe80::/10 */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) ||   /* fec0::/10 */
	    a[0] == 0xff ||                              /* multicast */
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d &&
	    a[3] == 0xb8) ||                             /* 2001:db8::/32 */
	    (a[0] == 0x20 && a[1] == 0x02);              /* 6to4 */
}

/* ---- The decision ---- */

static bool
id_trusted(char *const *ids, const char *id)
{
	for (; ids != NULL && *ids != NULL; ids++)
		if (g_ascii_strcasecmp(*ids, id) == 0)
			return true;
	return false;
}

static unsigned
count_in_h(char *const *h, const char *name)
{
	unsigned n = 0;

	for (; h != NULL && *h != NULL; h++)
		n += strcmp(*h, name) == 0;
	return n;
}

void
inbound_decision_clear(struct inbound_decision *d)
{
	inbound_url_clear(&d->link);
	g_free(d->domain);
	memset(d, 0, sizeof(*d));
}

/* Stages a candidate reaches, so that the reason logged is the furthest
 * one: the most useful to whoever reads the log. */
enum stage {
	ST_NO_AR, ST_NO_PASS, ST_NO_SIG, ST_NOT_SIGNED, ST_NOT_OVERSIGNED,
	ST_ORIGIN, ST_OK,
};

static const char *const stage_why[] = {
	[ST_NO_AR] = "no Authentication-Results from a trusted authserv-id",
	[ST_NO_PASS] = "no dkim=pass for a domain on the trust list",
	[ST_NO_SIG] = "the passing signature is not identified (header.b= "
	    "missing, short, or matching no or several DKIM-Signature fields)",
	[ST_NOT_SIGNED] = "the passing signature does not sign X-Pull-URL",
	[ST_NOT_OVERSIGNED] = "the passing signature signs X-Pull-URL but "
	    "does not oversign it",
	[ST_ORIGIN] = "the link's origin is not listed for the signing "
	    "domain",
	[ST_OK] = "trusted",
};

/* The one DKIM-Signature whose d= is domain and whose b= begins with the
 * prefix; NULL if none or several. */
static const struct inbound_sig *
find_sig(const struct inbound_sig *sigs, size_t n, const char *domain,
    const char *b)
{
	const struct inbound_sig *found = NULL;
	size_t blen = strlen(b);

	for (size_t i = 0; i < n; i++) {
		if (sigs[i].d == NULL || strcmp(sigs[i].d, domain) != 0 ||
		    strncmp(sigs[i].b, b, blen) != 0)
			continue;
		if (found != NULL)
			return NULL;
		found = &sigs[i];
	}
	return found;
}

void
inbound_decide(const struct inbound_trust_list *trust,
    char *const *authserv_ids, const struct inbound_fields *f,
    struct inbound_decision *out)
{
	struct inbound_sig *sigs = NULL;
	struct inbound_url link;
	enum stage best = ST_NO_AR;
	size_t n_sigs = 0;

	memset(out, 0, sizeof(*out));
	if (f->pull_urls == NULL || f->pull_urls->len == 0) {
		out->why = "no X-Pull-URL";
		return;
	}
	if (f->pull_urls->len > 1) {
		out->why = "more than one X-Pull-URL";
		return;
	}
	if (inbound_url_parse(f->pull_urls->pdata[0], false, &link) != 0) {
		out->why = "X-Pull-URL is not a link this milter fetches";
		return;
	}
	if (f->dkim_sigs != NULL && f->dkim_sigs->len > 0) {
		sigs = g_new0(struct inbound_sig, f->dkim_sigs->len);
		for (guint i = 0; i < f->dkim_sigs->len; i++)
			if (inbound_sig_parse(f->dkim_sigs->pdata[i],
			    &sigs[n_sigs]) == 0)
				n_sigs++;
	}
	for (guint i = 0; f->auth_results != NULL &&
	    i < f->auth_results->len && best != ST_OK; i++) {
		GPtrArray *res = inbound_dkim_results_new();
		char *id = NULL;

		if (inbound_ar_parse(f->auth_results->pdata[i], &id, res) != 0 ||
		    !id_trusted(authserv_ids, id)) {
			g_free(id);
			g_ptr_array_unref(res);
			continue;
		}
		g_free(id);
		if (best < ST_NO_PASS)
			best = ST_NO_PASS;
		for (guint j = 0; j < res->len && best != ST_OK; j++) {
			const struct inbound_dkim_result *r = res->pdata[j];
			const struct inbound_trust *t;
			const struct inbound_sig *s;
			enum stage st;
			unsigned n;

			if (strcmp(r->result, "pass") != 0 || r->d == NULL ||
			    (t = inbound_trust_find(trust, r->d)) == NULL)
				continue;
			if (r->b == NULL ||
			    strlen(r->b) < INBOUND_MIN_B_PREFIX ||
			    (s = find_sig(sigs, n_sigs, r->d, r->b)) == NULL) {
				st = ST_NO_SIG;
			} else if ((n = count_in_h(s->h, "x-pull-url")) == 0) {
				st = ST_NOT_SIGNED;
			} else if (n < 2) {
				st = ST_NOT_OVERSIGNED;
			} else {
				st = ST_ORIGIN;
				for (size_t k = 0; k < t->n_origins; k++)
					if (inbound_url_same_origin(&link,
					    &t->origins[k]))
						st = ST_OK;
			}
			if (st > best) {
				best = st;
				g_free(out->domain);
				out->domain = g_strdup(r->d);
				out->entry = t;
			}
		}
		g_ptr_array_unref(res);
	}
	for (size_t i = 0; i < n_sigs; i++)
		inbound_sig_clear(&sigs[i]);
	g_free(sigs);
	out->why = stage_why[best];
	if (best == ST_OK) {
		out->fetch = true;
		out->link = link;
	} else {
		out->entry = NULL;
		inbound_url_clear(&link);
	}
}

/* ---- The fetched original ---- */

static void
field_free(gpointer p)
{
	struct inbound_field *f = p;

	g_free(f->name);
	g_free(f->value);
	g_free(f);
}

void
inbound_original_clear(struct inbound_original *o)
{
	if (o->fields != NULL)
		g_ptr_array_unref(o->fields);
	memset(o, 0, sizeof(*o));
}

/* The header section: field lines ("Name: value") and their folded
 * continuations, up to an empty line; LF or CRLF line ends. Anything else
 * (a line without a colon, a name with a space, a NUL byte, no From, a
 * field longer than Postfix's default header_size_limit, more fields than
 * ORIGINAL_FIELDS_MAX) is a damaged original. A field's continuations are
 * appended to one buffer: the work stays linear in the header's size. */
#define ORIGINAL_FIELD_MAX 102400
#define ORIGINAL_FIELDS_MAX 10000
int
inbound_original_parse(char *data, size_t len, struct inbound_original *o,
    const char **why)
{
	const char *p = data, *end = data + len;
	struct inbound_field *cur = NULL;
	GString *value = NULL;          /* cur's value as it is read */
	bool has_from = false;

	memset(o, 0, sizeof(*o));
	o->fields = g_ptr_array_new_with_free_func(field_free);
	if (len == 0 || memchr(data, '\0', len) != NULL) {
		*why = len == 0 ? "the original is empty" :
		    "the original holds a NUL byte";
		goto bad;
	}
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le;

		if (nl == NULL) {
			*why = "the original has no end of header";
			goto bad;
		}
		le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == p) {       /* the empty line */
			p = nl + 1;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			if (cur == NULL) {
				*why = "the original begins with a "
				    "continuation line";
				goto bad;
			}
			g_string_append_c(value, '\n');
			g_string_append_len(value, p, le - p);
		} else {
			if (cur != NULL)
				cur->value = g_string_free(value, FALSE);
			value = NULL;
			if (o->fields->len >= ORIGINAL_FIELDS_MAX) {
				*why = "the original has too many header fields";
				goto bad;
			}
			const char *colon = memchr(p, ':', (size_t)(le - p));

			if (colon == NULL || colon == p) {
				*why = "the original has a header line "
				    "without a field name";
				goto bad;
			}
			for (const char *c = p; c < colon; c++)
				if ((unsigned char)*c <= ' ' ||
				    (unsigned char)*c >= 0x7f) {
					*why = "the original has a malformed "
					    "field name";
					goto bad;
				}
			cur = g_new0(struct inbound_field, 1);
			cur->name = g_strndup(p, (size_t)(colon - p));
			const char *vs = colon + 1;
			if (vs < le && (*vs == ' ' || *vs == '\t'))
				vs++;
			value = g_string_new_len(vs, le - vs);
			g_ptr_array_add(o->fields, cur);
			has_from |= g_ascii_strcasecmp(cur->name, "From") == 0;
		}
		if (value != NULL && value->len > ORIGINAL_FIELD_MAX) {
			*why = "the original has a header field longer than "
			    "100 KiB";
			goto bad;
		}
		p = nl + 1;
		if (p >= end)      /* a header and no body */
			break;
	}
	if (cur != NULL)
		cur->value = g_string_free(value, FALSE);
	value = NULL;
	if (!has_from) {
		*why = "the original has no From field";
		goto bad;
	}
	o->body = p;
	o->body_len = (size_t)(end - p);
	return 0;
bad:
	if (value != NULL)
		g_string_free(value, TRUE);
	inbound_original_clear(o);
	return -1;
}

bool
inbound_is_kept_trace_field(const char *name)
{
	return g_ascii_strcasecmp(name, "Received") == 0 ||
	    g_ascii_strcasecmp(name, "Authentication-Results") == 0 ||
	    g_ascii_strcasecmp(name, "Return-Path") == 0;
}
