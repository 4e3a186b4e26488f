/* Configuration: one typed option table, read with GLib's GKeyFile.
 *
 * Every option is one row of options[] below: section, name, type, default
 * (as text, parsed by the same code as the file), help and the offset of its
 * field in struct config. config_defaults() and config_load() both run every
 * default through the parsers, so a default cannot disagree with its type.
 * Values are taken literally (g_key_file_get_value: no escape processing),
 * with surrounding white space removed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>
#include "config.h"
#include "lang.h"
#include "units.h"


/* A configuration file larger than this is refused before parsing. */
#define CONFIG_MAX_FILE_SIZE (16u * 1024 * 1024)
/* Longest value quoted back in an error message. */
#define CONFIG_ERR_VALUE_MAX 64

enum opt_type {
	OPT_STRING,     /* any text */
	OPT_PATH,       /* absolute path */
	OPT_BOOL,       /* yes/no */
	OPT_INTEGER,    /* decimal integer */
	OPT_SIZE,       /* 512K, 25M */
	OPT_DURATION,   /* 90s, 12h, 30d, 2w */
	OPT_LIST,       /* comma-separated */
	OPT_CIDR_LIST,  /* comma-separated addresses or networks */
	OPT_URL,        /* https://host[:port][/path] */
	OPT_MODE,       /* octal file mode */
	OPT_ENUM,       /* one of choices, stored as int */
	OPT_CHOICE,     /* one of choices, stored as char * */
	OPT_LANGUAGE,   /* a shipped language's tag (lang.h), as char * */
	OPT_SOCKET,     /* milter socket specification */
	OPT_PREFIX,     /* URL path beginning and ending with / */
	OPT_USER,       /* user[:group] */
	OPT_TRUST,      /* [inbound] Trust entries (inbound.h) */
};

#define OPT_EMPTY_OK 0x1u    /* an empty value means "not set" */

struct choice {
	const char *name;
	int value;
};

struct option {
	const char *section;
	const char *name;
	enum opt_type type;
	const char *def;
	const char *help;
	size_t offset;
	unsigned flags;
	const struct choice *choices;   /* OPT_ENUM, OPT_CHOICE; NULL-ended */
};

static const struct choice on_error_choices[] = {
	{ "accept", ON_ERROR_ACCEPT },
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ "reject", ON_ERROR_REJECT },
	{ NULL, 0 },
};

static const struct choice inbound_on_error_choices[] = {
	{ "accept", ON_ERROR_ACCEPT },
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ NULL, 0 },
};

static const struct choice backend_choices[] = {
	{ "fs", 0 },
	{ "s3", 0 },
	{ NULL, 0 },
};

static const struct choice addressing_choices[] = {
	{ "path", CONFIG_S3_PATH },
	{ "virtual", CONFIG_S3_VIRTUAL },
	{ NULL, 0 },
};

static const struct choice facility_choices[] = {
	{ "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

static const struct choice level_choices[] = {
	{ "debug", LOG_DEBUG },
	{ "info", LOG_INFO },
	{ "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING },
	{ "err", LOG_ERR },
	{ NULL, 0 },
};

#define F(field) offsetof(struct config, field)

static const struct option options[] = {
	{ "store", "Backend", OPT_CHOICE, CONFIG_DEFAULT_BACKEND,
	  "storage backend for sealed originals", F(store_backend), 0,
	  backend_choices },
	{ "store", "StoreDir", OPT_PATH, CONFIG_DEFAULT_STORE_DIR,
	  "directory of the fs backend", F(store_dir), 0, NULL },
	{ "store", "Endpoint", OPT_URL, "",
	  "URL of the S3 service, without a path (s3 backend)",
	  F(s3_endpoint), OPT_EMPTY_OK, NULL },
	{ "store", "Bucket", OPT_STRING, "",
	  "bucket that holds the objects (s3 backend)", F(s3_bucket),
	  OPT_EMPTY_OK, NULL },
	{ "store", "Region", OPT_STRING, "us-east-1",
	  "region in the request signature (s3 backend)", F(s3_region), 0,
	  NULL },
	{ "store", "Prefix", OPT_STRING, "",
	  "beginning of every key, such as pullmail/ (s3 backend)",
	  F(s3_prefix), OPT_EMPTY_OK, NULL },
	{ "store", "Addressing", OPT_ENUM, "path",
	  "path (endpoint/bucket/key) or virtual (bucket.endpoint/key)",
	  F(s3_addressing), 0, addressing_choices },
	{ "store", "CredentialsFile", OPT_PATH, "",
	  "file with AccessKey and SecretKey, readable by its owner only "
	  "(s3 backend)", F(s3_credentials_file), OPT_EMPTY_OK, NULL },
	{ "store", "CAFile", OPT_PATH, "",
	  "certificate authorities for an https endpoint (empty: the "
	  "system's)", F(s3_ca_file), OPT_EMPTY_OK, NULL },
	{ "store", "ConnectTimeout", OPT_DURATION, "10s",
	  "longest wait for a connection to the endpoint", F(s3_connect_timeout),
	  0, NULL },
	{ "store", "RequestTimeout", OPT_DURATION, "120s",
	  "longest time one request may take", F(s3_request_timeout), 0, NULL },
	{ "store", "Retries", OPT_INTEGER, "3",
	  "times a failed request (5xx, SlowDown, connection) is tried again",
	  F(s3_retries), 0, NULL },
	{ "store", "SpoolDir", OPT_PATH, "/var/tmp",
	  "where a writer keeps an object's ciphertext until commit "
	  "(s3 backend)", F(s3_spool_dir), 0, NULL },
	{ "store", "MaxRetention", OPT_DURATION, CONFIG_DEFAULT_MAX_RETENTION,
	  "longest time any message may be kept; every reader enforces it",
	  F(max_retention), 0, NULL },

	{ "log", "Facility", OPT_ENUM, "mail",
	  "syslog facility", F(log_facility), 0, facility_choices },
	{ "log", "Level", OPT_ENUM, "info",
	  "least important level logged", F(log_level), 0, level_choices },

	{ "milter", "Socket", OPT_SOCKET, "unix:/run/pullmail/milter.sock",
	  "socket the milter listens on (unix:, inet:PORT@HOST, inet6:)",
	  F(milter_socket), 0, NULL },
	{ "milter", "SocketMode", OPT_MODE, "0660",
	  "permissions of a unix socket", F(socket_mode), 0, NULL },
	{ "milter", "SocketGroup", OPT_STRING, "",
	  "group of a unix socket (empty: unchanged)", F(socket_group),
	  OPT_EMPTY_OK, NULL },
	{ "milter", "UserID", OPT_USER, "pullmail",
	  "user[:group] the milter runs as", F(user_id), 0, NULL },
	{ "milter", "PidFile", OPT_PATH, "",
	  "file for the process id (empty: none)", F(pid_file),
	  OPT_EMPTY_OK, NULL },
	{ "milter", "InternalHosts", OPT_CIDR_LIST, "127.0.0.1, ::1",
	  "clients whose mail is pulled without authentication",
	  F(internal_hosts), OPT_EMPTY_OK, NULL },
	{ "milter", "LocalDomains", OPT_LIST, "",
	  "recipient domains that are never pulled", F(local_domains),
	  OPT_EMPTY_OK, NULL },
	{ "milter", "PullAuthenticated", OPT_BOOL, "yes",
	  "pull mail from authenticated senders", F(pull_authenticated), 0,
	  NULL },
	{ "milter", "MinimumSize", OPT_SIZE, "0",
	  "messages smaller than this are not pulled", F(minimum_size), 0,
	  NULL },
	{ "milter", "OnlyWithAttachments", OPT_BOOL, "no",
	  "pull only messages with attachments", F(only_with_attachments), 0,
	  NULL },
	{ "milter", "MaxMessageSize", OPT_SIZE, "0",
	  "messages larger than this are not pulled (0: no limit)",
	  F(max_message_size), 0, NULL },
	{ "milter", "OnError", OPT_ENUM, "accept",
	  "what to do when sealing or storing fails", F(on_error), 0,
	  on_error_choices },
	{ "milter", "DefaultExpiry", OPT_DURATION, "30d",
	  "how long a message can be read", F(default_expiry), 0, NULL },
	{ "milter", "BaseURL", OPT_URL, "",
	  "start of every link (required by the milter)", F(base_url),
	  OPT_EMPTY_OK, NULL },
	{ "milter", "LogWhy", OPT_BOOL, "no",
	  "log the reason of every decision", F(log_why), 0, NULL },

	{ "web", "PathPrefix", OPT_PREFIX, CONFIG_DEFAULT_PATH_PREFIX,
	  "URL path under which messages are served", F(path_prefix), 0,
	  NULL },
	{ "web", "KeepExtension", OPT_DURATION, "14d",
	  "how much longer \"keep\" lets a message be read",
	  F(keep_extension), 0, NULL },
	{ "web", "AllowRemoteImages", OPT_BOOL, "yes",
	  "the reader may opt in to remote images", F(allow_remote_images), 0,
	  NULL },
	{ "web", "PageCache", OPT_SIZE, "16M",
	  "memory each FastCGI responder keeps for rendered pages, sealed, "
	  "and the most PageCacheDir holds (0: no page is kept)",
	  F(page_cache), 0, NULL },
	{ "web", "PageCacheDir", OPT_PATH, "",
	  "directory where CGI keeps rendered pages, sealed (empty: none)",
	  F(page_cache_dir), OPT_EMPTY_OK, NULL },
	{ "web", "DefaultLanguage", OPT_LANGUAGE, LANG_DEFAULT,
	  "page language when Accept-Language names none shipped",
	  F(default_language), 0, NULL },
	{ "web", "RecordReads", OPT_BOOL, "yes",
	  "record when and how often each message is fetched (no reader's "
	  "address or user agent)", F(record_reads), 0, NULL },
	{ "web", "Sendmail", OPT_STRING, "/usr/sbin/sendmail",
	  "command that sends a read receipt the reader asked to send, "
	  "split into words like a shell's (empty: no receipts offered)",
	  F(sendmail), OPT_EMPTY_OK, NULL },
	{ "web", "ReceiptsPerHour", OPT_INTEGER, "60",
	  "most read receipts sent per hour from this store (0: none)",
	  F(receipts_per_hour), 0, NULL },

	{ "summary", "Language", OPT_LANGUAGE, LANG_DEFAULT,
	  "language of the summary", F(language), 0, NULL },
	{ "summary", "TemplateDir", OPT_PATH, "",
	  "directory of replacement templates (empty: shipped ones)",
	  F(template_dir), OPT_EMPTY_OK, NULL },

	{ "inbound", "Socket", OPT_SOCKET, "unix:/run/pullmail/inbound.sock",
	  "socket pullmail-milter -i listens on", F(inbound_socket), 0,
	  NULL },
	{ "inbound", "Trust", OPT_TRUST, "",
	  "signing domains whose summaries are fetched: \"DOMAIN ORIGIN... "
	  "[allow-http] [allow-private]\" entries separated by ;",
	  F(inbound_trust), OPT_EMPTY_OK, NULL },
	{ "inbound", "AuthservID", OPT_LIST, "",
	  "authserv-ids whose Authentication-Results are believed",
	  F(inbound_authserv_ids), OPT_EMPTY_OK, NULL },
	{ "inbound", "CAFile", OPT_PATH, "",
	  "CA certificates for the senders' servers (empty: the system's)",
	  F(inbound_ca_file), OPT_EMPTY_OK, NULL },
	{ "inbound", "MaxSize", OPT_SIZE, "10240000",
	  "largest original fetched (Postfix's message_size_limit default)",
	  F(inbound_max_size), 0, NULL },
	{ "inbound", "ConnectTimeout", OPT_DURATION, "10s",
	  "time to connect to a sender's server", F(inbound_connect_timeout),
	  0, NULL },
	{ "inbound", "Timeout", OPT_DURATION, "60s",
	  "time for a whole fetch", F(inbound_timeout), 0, NULL },
	{ "inbound", "MaxFetches", OPT_INTEGER, "8",
	  "fetches at the same time", F(inbound_max_fetches), 0, NULL },
	{ "inbound", "OptOutFile", OPT_PATH, "",
	  "recipients who keep summaries, one address or @domain a line "
	  "(empty: none)", F(inbound_opt_out_file), OPT_EMPTY_OK, NULL },
	{ "inbound", "OnError", OPT_ENUM, "accept",
	  "when a fetch fails: deliver the summary, or tempfail",
	  F(inbound_on_error), 0, inbound_on_error_choices },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const char *
type_name(enum opt_type t)
{
	switch (t) {
	case OPT_STRING: return "string";
	case OPT_PATH: return "path";
	case OPT_BOOL: return "boolean";
	case OPT_INTEGER: return "integer";
	case OPT_SIZE: return "size";
	case OPT_DURATION: return "duration";
	case OPT_LIST: return "list";
	case OPT_CIDR_LIST: return "CIDR list";
	case OPT_URL: return "URL";
	case OPT_MODE: return "octal mode";
	case OPT_ENUM: case OPT_CHOICE: return "choice";
	case OPT_LANGUAGE: return "language";
	case OPT_SOCKET: return "socket";
	case OPT_PREFIX: return "URL path";
	case OPT_USER: return "user[:group]";
	case OPT_TRUST: return "trust list";
	}
	return "?";
}

/* What a value of this option should look like, for error messages. */
static char *
expected_text(const struct option *o)
{
	GString *s;
	size_t i;

	switch (o->type) {
	case OPT_STRING: return g_strdup("a non-empty string");
	case OPT_PATH: return g_strdup("an absolute path such as "
		    "/var/lib/pullmail/store");
	case OPT_BOOL: return g_strdup("yes or no");
	case OPT_INTEGER: return g_strdup("an integer");
	case OPT_SIZE: return g_strdup("a size such as 512K or 25M");
	case OPT_DURATION: return g_strdup("a duration such as 30d or 12h");
	case OPT_LIST: return g_strdup("a comma-separated list of "
		    "non-empty items");
	case OPT_CIDR_LIST: return g_strdup("a comma-separated list of "
		    "addresses or networks such as 127.0.0.1, ::1, 10.0.0.0/8");
	case OPT_URL: return g_strdup("an https:// URL such as "
		    "https://mail.example.org (http:// only for a loopback "
		    "host)");
	case OPT_MODE: return g_strdup("an octal mode such as 0660");
	case OPT_SOCKET: return g_strdup("a socket such as "
		    "unix:/run/pullmail/milter.sock or inet:8891@127.0.0.1");
	case OPT_PREFIX: return g_strdup("a path that begins and ends "
		    "with /, such as /m/");
	case OPT_USER: return g_strdup("a user name, optionally with "
		    ":group, such as pullmail");
	case OPT_TRUST: return g_strdup("entries \"DOMAIN ORIGIN... "
		    "[allow-http] [allow-private]\" separated by ;, such as "
		    "\"a.example https://pull.a.example; b.example "
		    "https://b.example:8443\" (origins without a path, http:// "
		    "only with allow-http, each domain once, an origin not "
		    "both with and without allow-private)");
	case OPT_LANGUAGE:
		s = g_string_new("one of ");
		for (i = 0; i < lang_count(); i++) {
			if (i > 0)
				g_string_append(s, i + 1 == lang_count() ?
				    " or " : ", ");
			g_string_append(s, lang_at(i)->tag);
		}
		return g_string_free(s, FALSE);
	case OPT_ENUM:
	case OPT_CHOICE:
		s = g_string_new("one of ");
		for (i = 0; o->choices[i].name != NULL; i++) {
			if (i > 0)
				g_string_append(s, o->choices[i + 1].name ==
				    NULL ? " or " : ", ");
			g_string_append(s, o->choices[i].name);
		}
		return g_string_free(s, FALSE);
	}
	return g_strdup("?");
}

static void *
field(struct config *cfg, const struct option *o)
{
	return (char *)cfg + o->offset;
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (g_ascii_strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
parse_integer(const char *v, int64_t *out)
{
	const char *p = v;
	int64_t n = 0;
	bool neg = false;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (!g_ascii_isdigit(*p))
		return -1;
	for (; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p))
			return -1;
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*out = neg ? -n : n;
	return 0;
}

static int
parse_mode(const char *v, mode_t *out)
{
	unsigned m = 0;
	size_t len = strlen(v);

	if (len == 0 || len > 4)
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '7')
			return -1;
		m = m * 8 + (unsigned)(*v - '0');
	}
	if (m > 0777)
		return -1;
	*out = (mode_t)m;
	return 0;
}

static int
parse_choice(const struct option *o, const char *v, int *out)
{
	size_t i;

	for (i = 0; o->choices[i].name != NULL; i++) {
		if (strcmp(v, o->choices[i].name) == 0) {
			*out = o->choices[i].value;
			return (int)i;
		}
	}
	return -1;
}

/* Splits on commas, strips white space; an empty item is an error. An
 * empty value gives an empty (but non-NULL) list. */
static char **
split_list(const char *v)
{
	char **items;
	size_t i;

	if (*v == '\0')
		return g_new0(char *, 1);
	items = g_strsplit(v, ",", -1);
	for (i = 0; items[i] != NULL; i++) {
		g_strstrip(items[i]);
		if (items[i][0] == '\0') {
			g_strfreev(items);
			return NULL;
		}
	}
	return items;
}

static int
parse_cidr(const char *text, struct cidr *c)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned max, prefix, i;
	int64_t n;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	prefix = max;
	if (slash != NULL) {
		if (slash[1] == '-' || strlen(slash + 1) > 3 ||
		    parse_integer(slash + 1, &n) != 0 || n < 0 ||
		    (unsigned)n > max)
			return -1;
		prefix = (unsigned)n;
	}
	c->prefix = prefix;
	/* Host bits are cleared, so 10.1.2.3/8 means 10.0.0.0/8. */
	for (i = 0; i < max / 8; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;

		if (keep < 8)
			c->addr[i] &= (unsigned char)(0xff00u >> keep);
	}
	return 0;
}

static int
parse_cidr_list(const char *v, struct cidr_list *out)
{
	char **items = split_list(v);
	size_t n, i;

	if (items == NULL)
		return -1;
	n = g_strv_length(items);
	out->n = 0;
	out->v = n > 0 ? g_new0(struct cidr, n) : NULL;
	for (i = 0; i < n; i++) {
		if (parse_cidr(items[i], &out->v[i]) != 0) {
			g_free(out->v);
			out->v = NULL;
			g_strfreev(items);
			return -1;
		}
	}
	out->n = n;
	g_strfreev(items);
	return 0;
}

/* A TCP port written as len decimal digits: 1..65535. */
static bool
valid_port(const char *s, size_t len)
{
	char *digits = g_strndup(s, len);
	int64_t port;
	bool ok = digits[0] != '-' && parse_integer(digits, &port) == 0 &&
	    port >= 1 && port <= 65535;

	g_free(digits);
	return ok;
}

static bool
host_is_loopback(const char *host)
{
	unsigned char a[16];

	if (g_ascii_strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (host[0] == '[') {
		char inner[INET6_ADDRSTRLEN + 1];
		size_t len = strlen(host);

		if (len < 3 || host[len - 1] != ']' ||
		    len - 2 >= sizeof(inner))
			return false;
		memcpy(inner, host + 1, len - 2);
		inner[len - 2] = '\0';
		return inet_pton(AF_INET6, inner, a) == 1 &&
		    memcmp(a, &in6addr_loopback, 16) == 0;
	}
	return false;
}

/* http(s)://host[:port][/path], no user, query or fragment; http only for a
 * loopback host (a local demo or test). Trailing slashes are removed so that
 * BaseURL + PathPrefix + token is the link. */
static char *
parse_url(const char *v)
{
	const char *p, *host, *end;
	char *h, *res;
	size_t len;
	bool https;

	if (g_ascii_strncasecmp(v, "https://", 8) == 0) {
		https = true;
		p = v + 8;
	} else if (g_ascii_strncasecmp(v, "http://", 7) == 0) {
		https = false;
		p = v + 7;
	} else {
		return NULL;
	}
	for (end = v; *end != '\0'; end++)
		if ((unsigned char)*end <= ' ' || *end == '?' || *end == '#' ||
		    *end == '@' || *end == '"' || *end == '<' || *end == '>' ||
		    *end == '\\' || (unsigned char)*end >= 0x7f)
			return NULL;
	host = p;
	if (*host == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return NULL;
		end++;
	} else {
		end = host + strcspn(host, ":/");
	}
	if (end == host)
		return NULL;
	h = g_strndup(host, (size_t)(end - host));
	if (h[0] != '[') {
		const char *c;

		for (c = h; *c != '\0'; c++)
			if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.')
				break;
		if (*c != '\0') {
			g_free(h);
			return NULL;
		}
	} else {
		unsigned char a[16];
		char *inner = g_strndup(h + 1, strlen(h) - 2);
		int ok = inet_pton(AF_INET6, inner, a);

		g_free(inner);
		if (ok != 1) {
			g_free(h);
			return NULL;
		}
	}
	if (!https && !host_is_loopback(h)) {
		g_free(h);
		return NULL;
	}
	g_free(h);
	if (*end == ':') {
		const char *q = end + 1;

		end = q + strcspn(q, "/");
		if (!valid_port(q, (size_t)(end - q)))
			return NULL;
	}
	if (*end != '\0' && *end != '/')
		return NULL;
	res = g_strdup(v);
	len = strlen(res);
	while (len > (size_t)(end - v) && res[len - 1] == '/')
		res[--len] = '\0';
	return res;
}

static bool
valid_socket(const char *v)
{
	const char *rest;

	if (g_str_has_prefix(v, "unix:") || g_str_has_prefix(v, "local:")) {
		rest = strchr(v, ':') + 1;
		return rest[0] == '/';
	}
	if (g_str_has_prefix(v, "inet:") || g_str_has_prefix(v, "inet6:")) {
		const char *at;

		rest = strchr(v, ':') + 1;
		at = strchr(rest, '@');
		return valid_port(rest, at != NULL ? (size_t)(at - rest) :
		    strlen(rest)) && (at == NULL || at[1] != '\0');
	}
	return v[0] == '/';
}

static bool
valid_user(const char *v)
{
	const char *colon = strchr(v, ':');
	const char *c;

	if (v[0] == '\0' || v[0] == ':' || (colon != NULL &&
	    (colon[1] == '\0' || strchr(colon + 1, ':') != NULL)))
		return false;
	for (c = v; *c != '\0'; c++)
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-' &&
		    *c != '.' && *c != ':' && *c != '$')
			return false;
	return true;
}

static void
free_field(struct config *cfg, const struct option *o)
{
	void *f = field(cfg, o);

	switch (o->type) {
	case OPT_STRING: case OPT_PATH: case OPT_URL: case OPT_CHOICE:
	case OPT_LANGUAGE:
	case OPT_SOCKET: case OPT_PREFIX: case OPT_USER:
		g_free(*(char **)f);
		*(char **)f = NULL;
		break;
	case OPT_LIST:
		g_strfreev(*(char ***)f);
		*(char ***)f = NULL;
		break;
	case OPT_CIDR_LIST:
		g_free(((struct cidr_list *)f)->v);
		((struct cidr_list *)f)->v = NULL;
		((struct cidr_list *)f)->n = 0;
		break;
	case OPT_TRUST:
		inbound_trust_clear(f);
		break;
	default:
		break;
	}
}

/* Parses v (already stripped) into the option's field; 0 or -1. On failure
 * the field keeps its previous value. */
static int
set_option(struct config *cfg, const struct option *o, const char *v)
{
	void *f = field(cfg, o);
	int64_t i64;
	uint64_t u64;
	bool b;
	mode_t mode;
	int e, idx;
	char *s;
	char **list;
	struct cidr_list cl;
	struct inbound_trust_list tl;

	if (v[0] == '\0' && (o->flags & OPT_EMPTY_OK) == 0)
		return -1;
	switch (o->type) {
	case OPT_STRING:
		break;
	case OPT_PATH:
		if (v[0] != '\0' && v[0] != '/')
			return -1;
		break;
	case OPT_SOCKET:
		if (!valid_socket(v))
			return -1;
		break;
	case OPT_PREFIX:
		if (v[0] != '/' || v[strlen(v) - 1] != '/' ||
		    strpbrk(v, " \t?#%\"<>\\") != NULL)
			return -1;
		break;
	case OPT_USER:
		if (!valid_user(v))
			return -1;
		break;
	case OPT_CHOICE:
		idx = parse_choice(o, v, &e);
		if (idx < 0)
			return -1;
		free_field(cfg, o);
		*(char **)f = g_strdup(o->choices[idx].name);
		return 0;
	case OPT_LANGUAGE:
		/* Exactly as the catalogue spells it: it names templates/TAG. */
		if (lang_find(v) == NULL || strcmp(lang_find(v)->tag, v) != 0)
			return -1;
		free_field(cfg, o);
		*(char **)f = g_strdup(v);
		return 0;
	case OPT_URL:
		if (v[0] == '\0') {
			free_field(cfg, o);
			return 0;
		}
		s = parse_url(v);
		if (s == NULL)
			return -1;
		free_field(cfg, o);
		*(char **)f = s;
		return 0;
	case OPT_BOOL:
		if (parse_bool(v, &b) != 0)
			return -1;
		*(bool *)f = b;
		return 0;
	case OPT_INTEGER:
		if (parse_integer(v, &i64) != 0 || i64 < INT_MIN ||
		    i64 > INT_MAX)
			return -1;
		*(int *)f = (int)i64;
		return 0;
	case OPT_SIZE:
		if (units_parse_size(v, &u64) != 0)
			return -1;
		*(uint64_t *)f = u64;
		return 0;
	case OPT_DURATION:
		if (units_parse_duration(v, &i64) != 0)
			return -1;
		*(int64_t *)f = i64;
		return 0;
	case OPT_MODE:
		if (parse_mode(v, &mode) != 0)
			return -1;
		*(mode_t *)f = mode;
		return 0;
	case OPT_ENUM:
		if (parse_choice(o, v, &e) < 0)
			return -1;
		*(int *)f = e;
		return 0;
	case OPT_LIST:
		list = split_list(v);
		if (list == NULL)
			return -1;
		free_field(cfg, o);
		*(char ***)f = list;
		return 0;
	case OPT_CIDR_LIST:
		if (parse_cidr_list(v, &cl) != 0)
			return -1;
		free_field(cfg, o);
		*(struct cidr_list *)f = cl;
		return 0;
	case OPT_TRUST:
		if (inbound_trust_parse(v, &tl, &s) != 0) {
			g_free(s);
			return -1;
		}
		free_field(cfg, o);
		*(struct inbound_trust_list *)f = tl;
		return 0;
	}
	/* The string-valued types that only needed validation. */
	free_field(cfg, o);
	*(char **)f = v[0] != '\0' ? g_strdup(v) : NULL;
	return 0;
}

static void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		free_field(cfg, &options[i]);
	g_free(cfg->path);
	g_free(cfg);
}

struct config *
config_defaults(void)
{
	struct config *cfg = g_new0(struct config, 1);
	size_t i;

	cfg->refs = 1;
	for (i = 0; i < N_OPTIONS; i++) {
		if (set_option(cfg, &options[i], options[i].def) != 0) {
			/* A default that does not parse is a bug in the
			 * table above; the unit tests load every default. */
			g_warning("pullmail: bad default for [%s] %s",
			    options[i].section, options[i].name);
		}
	}
	return cfg;
}

struct config *
config_ref(struct config *cfg)
{
	if (cfg != NULL)
		g_atomic_int_inc(&cfg->refs);
	return cfg;
}

void
config_unref(struct config *cfg)
{
	if (cfg != NULL && g_atomic_int_dec_and_test(&cfg->refs))
		config_free(cfg);
}

const char *
config_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL)
		return explicit_path;
	env = getenv(CONFIG_ENV);
	if (env != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

/* err is plain malloc memory (GLib >= 2.46 allocates with malloc), so the
 * caller frees it with free() as config.h says. */
static char *
errorf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* A value quoted back in an error: at most CONFIG_ERR_VALUE_MAX bytes, cut
 * at a character boundary. */
static char *
quote_value(const char *v)
{
	const char *end;
	char *q, *c;

	if (strlen(v) <= CONFIG_ERR_VALUE_MAX) {
		q = g_strdup(v);
	} else {
		end = g_utf8_find_prev_char(v, v + CONFIG_ERR_VALUE_MAX + 1);
		q = g_strdup_printf("%.*s...", (int)(end - v), v);
	}
	/* Control characters would reach a terminal or a log as they are. */
	for (c = q; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return q;
}

static const struct option *
find_option(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].section, section) == 0 &&
		    strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* The sections are those the option table names, in its order. */
static bool
known_section(const char *section)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].section, section) == 0)
			return true;
	return false;
}

/* "store, log, milter, web or summary": each section once, in table order
 * (the table keeps a section's options together). */
static char *
section_names(void)
{
	GString *s = g_string_new(NULL);
	size_t i, n = 0, total = 0;

	for (i = 0; i < N_OPTIONS; i++)
		total += i == 0 || strcmp(options[i - 1].section,
		    options[i].section) != 0;
	for (i = 0; i < N_OPTIONS; i++) {
		if (i > 0 && strcmp(options[i - 1].section,
		    options[i].section) == 0)
			continue;
		if (n > 0)
			g_string_append(s, n + 1 == total ? " or " : ", ");
		g_string_append(s, options[i].section);
		n++;
	}
	return g_string_free(s, FALSE);
}

/* Checks the text before GKeyFile sees it, so that the error can say where:
 * no NUL byte, valid UTF-8. */
static size_t
line_of(const char *data, const char *at)
{
	size_t line = 1;

	for (const char *p = data; p < at; p++)
		line += *p == '\n';
	return line;
}

static char *
check_text(const char *path, const char *data, size_t len)
{
	const char *bad = memchr(data, '\0', len);

	if (bad != NULL)
		return errorf("%s: line %zu: contains a NUL byte", path,
		    line_of(data, bad));
	if (!g_utf8_validate(data, (gssize)len, &bad))
		return errorf("%s: line %zu: not valid UTF-8", path,
		    line_of(data, bad));
	return NULL;
}

static char *
apply_keyfile(struct config *cfg, const char *path, GKeyFile *kf)
{
	char **groups, **keys;
	char *err = NULL;
	size_t i, j;

	groups = g_key_file_get_groups(kf, NULL);
	for (i = 0; groups[i] != NULL && err == NULL; i++) {
		if (!known_section(groups[i])) {
			char *names = section_names();

			err = errorf("%s: [%s]: unknown section (expected "
			    "%s)", path, groups[i], names);
			g_free(names);
			break;
		}
		keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (j = 0; keys != NULL && keys[j] != NULL; j++) {
			const struct option *o = find_option(groups[i],
			    keys[j]);
			char *raw, *v, *q, *exp;

			if (o == NULL) {
				err = errorf("%s: [%s] %s: unknown key", path,
				    groups[i], keys[j]);
				break;
			}
			raw = g_key_file_get_value(kf, groups[i], keys[j],
			    NULL);
			v = g_strstrip(raw != NULL ? raw : g_strdup(""));
			if (set_option(cfg, o, v) != 0) {
				q = quote_value(v);
				exp = expected_text(o);
				err = errorf("%s: [%s] %s = %s: expected %s",
				    path, groups[i], keys[j], q, exp);
				g_free(q);
				g_free(exp);
			}
			g_free(v);
			if (err != NULL)
				break;
		}
		g_strfreev(keys);
	}
	g_strfreev(groups);
	return err;
}

/* Relations between options that no single value can break. */
static char *
check_relations(const struct config *cfg, const char *path)
{
	if (cfg->default_expiry > cfg->max_retention)
		return errorf("%s: [milter] DefaultExpiry: expected at most "
		    "[store] MaxRetention (%" G_GINT64_FORMAT " s), got %"
		    G_GINT64_FORMAT " s", path, cfg->max_retention,
		    cfg->default_expiry);
	if (cfg->keep_extension > cfg->max_retention)
		return errorf("%s: [web] KeepExtension: expected at most "
		    "[store] MaxRetention (%" G_GINT64_FORMAT " s), got %"
		    G_GINT64_FORMAT " s", path, cfg->max_retention,
		    cfg->keep_extension);
	if (cfg->receipts_per_hour < 0)
		return errorf("%s: [web] ReceiptsPerHour: expected 0 or more, "
		    "got %d", path, cfg->receipts_per_hour);
	if (cfg->sendmail != NULL && cfg->sendmail[0] != '\0') {
		gchar **argv = NULL;
		if (!g_shell_parse_argv(cfg->sendmail, NULL, &argv, NULL) ||
		    argv[0][0] != '/') {
			g_strfreev(argv);
			return errorf("%s: [web] Sendmail: expected an absolute "
			    "path, then arguments, got \"%s\"", path,
			    cfg->sendmail);
		}
		g_strfreev(argv);
	}
	return NULL;
}

/* Reads at most CONFIG_MAX_FILE_SIZE bytes, so that a device such as
 * /dev/zero or an endless pipe given as the file is an error, not an
 * exhausted memory. Returns an error message or NULL. */
static char *
read_bounded(const char *path, gchar **data, gsize *len)
{
	GString *buf;
	char chunk[65536];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errorf("%s: cannot read: %s", path, g_strerror(errno));
	buf = g_string_new(NULL);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			g_string_free(buf, TRUE);
			return errorf("%s: cannot read: %s", path,
			    g_strerror(e));
		}
		if (n == 0)
			break;
		if (buf->len + (size_t)n > CONFIG_MAX_FILE_SIZE) {
			close(fd);
			g_string_free(buf, TRUE);
			return errorf("%s: larger than %u bytes", path,
			    CONFIG_MAX_FILE_SIZE);
		}
		g_string_append_len(buf, chunk, n);
	}
	close(fd);
	*len = buf->len;
	*data = g_string_free(buf, FALSE);
	return NULL;
}

struct config *
config_load(const char *path, char **err)
{
	struct config *cfg;
	GKeyFile *kf;
	GError *gerr = NULL;
	gchar *data = NULL;
	gsize len = 0;
	char *msg;

	if (path == NULL)
		path = CONFIG_DEFAULT_PATH;
	if (err != NULL)
		*err = NULL;
	msg = read_bounded(path, &data, &len);
	if (msg != NULL)
		goto fail;
	msg = check_text(path, data, len);
	if (msg != NULL) {
		g_free(data);
		goto fail;
	}
	kf = g_key_file_new();
	/* KEEP_TRANSLATIONS: a "Key[pt]" line must reach the unknown-key
	 * check instead of being dropped silently. */
	if (!g_key_file_load_from_data(kf, data, len,
	    G_KEY_FILE_KEEP_TRANSLATIONS, &gerr)) {
		msg = errorf("%s: %s", path, gerr->message);
		g_error_free(gerr);
		g_key_file_free(kf);
		g_free(data);
		goto fail;
	}
	cfg = config_defaults();
	/* As pagefile_config_digest computes it (pagefile.h): config does not
	 * depend on the page cache. */
	crypto_generichash(cfg->digest, CONFIG_DIGEST_BYTES,
	    (const unsigned char *)data, len, NULL, 0);
	g_free(data);
	cfg->path = g_strdup(path);
	msg = apply_keyfile(cfg, path, kf);
	g_key_file_free(kf);
	if (msg == NULL)
		msg = check_relations(cfg, path);
	if (msg != NULL) {
		config_unref(cfg);
		goto fail;
	}
	return cfg;
fail:
	if (err != NULL)
		*err = msg;
	else
		g_free(msg);
	return NULL;
}

static bool
prefix_match(const unsigned char *net, const unsigned char *addr,
    unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net[full] ^ addr[full]) & (0xff00u >> rest)) == 0;
}

bool
config_cidr_match(const struct cidr_list *list, int family, const void *addr)
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};
	const unsigned char *a = addr;
	const unsigned char *a4 = NULL;
	size_t i;

	if (list == NULL || addr == NULL)
		return false;
	if (family == AF_INET)
		a4 = a;
	else if (family == AF_INET6 && memcmp(a, v4mapped, 12) == 0)
		a4 = a + 12;   /* ::ffff:a.b.c.d matches IPv4 entries too */
	else if (family != AF_INET6)
		return false;
	for (i = 0; i < list->n; i++) {
		const struct cidr *c = &list->v[i];

		if (c->family == AF_INET && a4 != NULL &&
		    prefix_match(c->addr, a4, c->prefix))
			return true;
		if (c->family == AF_INET6 && family == AF_INET6 &&
		    prefix_match(c->addr, a, c->prefix))
			return true;
	}
	return false;
}

void
config_dump_table(FILE *out)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++) {
		const struct option *o = &options[i];
		char *exp = expected_text(o);

		fprintf(out, "[%s] %s = %s\n\ttype: %s (%s)\n\t%s\n",
		    o->section, o->name, o->def, type_name(o->type), exp,
		    o->help);
		g_free(exp);
	}
}
