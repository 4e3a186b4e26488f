/* Configuration: one typed option table read from an INI file with GKeyFile.
 * The whole file is validated whatever the program; each program then uses
 * the fields of the sections it needs. */
#ifndef PULLMAIL_CONFIG_H
#define PULLMAIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "inbound.h"

#define CONFIG_DEFAULT_PATH "/etc/pullmail/pullmail.conf"
#define CONFIG_ENV "PULLMAIL_CONFIG"
/* Defaults that pullmail-web's CGI front reads the file with too. */
#define CONFIG_DEFAULT_BACKEND "fs"
#define CONFIG_DEFAULT_STORE_DIR "/var/lib/pullmail/store"
#define CONFIG_DEFAULT_MAX_RETENTION "90d"
#define CONFIG_DEFAULT_PATH_PREFIX "/m/"
/* The digest of the file's bytes (pagefile_config_digest). */
#define CONFIG_DIGEST_BYTES 32

enum config_on_error { ON_ERROR_ACCEPT, ON_ERROR_TEMPFAIL, ON_ERROR_REJECT };
enum config_s3_addressing { CONFIG_S3_PATH, CONFIG_S3_VIRTUAL };

struct cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* network address, host bits cleared */
	unsigned prefix;         /* 0..32 or 0..128 */
};

struct cidr_list {
	size_t n;
	struct cidr *v;
};

/* A NULL-terminated array of strings, as GLib's g_strfreev frees it. */
typedef char **config_list;

struct config {
	int refs;           /* config_ref / config_unref */
	char *path;         /* the file it was read from, or NULL for defaults */
	/* Of the bytes read (zero for defaults): a page kept on disk by one
	 * configuration does not open under another (pagefile.h). */
	unsigned char digest[CONFIG_DIGEST_BYTES];

	/* [store] */
	char *store_backend;      /* Backend = fs */
	char *store_dir;          /* StoreDir = /var/lib/pullmail/store */
	/* Backend = s3 (store_s3.c) */
	char *s3_endpoint;        /* Endpoint (URL, no path) */
	char *s3_bucket;          /* Bucket */
	char *s3_region;          /* Region = us-east-1 */
	char *s3_prefix;          /* Prefix (empty: none) */
	int s3_addressing;        /* Addressing = path (CONFIG_S3_PATH...) */
	char *s3_credentials_file; /* CredentialsFile */
	char *s3_ca_file;         /* CAFile (empty: the system's) */
	int64_t s3_connect_timeout; /* ConnectTimeout = 10s */
	int64_t s3_request_timeout; /* RequestTimeout = 120s */
	int s3_retries;           /* Retries = 3 */
	char *s3_spool_dir;       /* SpoolDir = /var/tmp */
	int64_t max_retention;    /* MaxRetention = 90d (seconds); every reader
	                           * caps expires at created + this */

	/* [log] */
	int log_facility;         /* Facility = mail (LOG_MAIL etc.) */
	int log_level;            /* Level = info (LOG_INFO etc.) */

	/* [milter] */
	char *milter_socket;      /* Socket = unix:/run/pullmail/milter.sock */
	mode_t socket_mode;       /* SocketMode = 0660 */
	char *socket_group;       /* SocketGroup (empty: unchanged) */
	char *user_id;            /* UserID = pullmail (user[:group]) */
	char *pid_file;           /* PidFile (empty: none) */
	struct cidr_list internal_hosts; /* InternalHosts = 127.0.0.1, ::1 */
	config_list local_domains;       /* LocalDomains (empty) */
	bool pull_authenticated;  /* PullAuthenticated = yes */
	uint64_t minimum_size;    /* MinimumSize = 0 */
	bool only_with_attachments; /* OnlyWithAttachments = no */
	uint64_t max_message_size;  /* MaxMessageSize = 0 (no limit) */
	enum config_on_error on_error; /* OnError = accept */
	int64_t default_expiry;   /* DefaultExpiry = 30d */
	char *base_url;           /* BaseURL (required by the milter) */
	bool log_why;             /* LogWhy = no */

	/* [web] */
	char *path_prefix;        /* PathPrefix = /m/ */
	int64_t keep_extension;   /* KeepExtension = 14d */
	bool allow_remote_images; /* AllowRemoteImages = yes */
	char *default_language;   /* DefaultLanguage = en */
	uint64_t page_cache;      /* PageCache = 16M (0: none) */
	char *page_cache_dir;     /* PageCacheDir (empty: none) */
	bool record_reads;        /* RecordReads = yes */
	char *sendmail;           /* Sendmail = /usr/sbin/sendmail (empty:
	                           * no read receipts) */
	int receipts_per_hour;    /* ReceiptsPerHour = 60 */

	/* [summary] */
	char *language;           /* Language = en (a tag of lang.h) */
	char *template_dir;       /* TemplateDir (empty: shipped templates) */

	/* [inbound] (pullmail-milter -i: fetch the originals of summaries
	 * from trusted senders) */
	char *inbound_socket;     /* Socket = unix:/run/pullmail/inbound.sock */
	struct inbound_trust_list inbound_trust; /* Trust (empty: none) */
	config_list inbound_authserv_ids; /* AuthservID (empty: none) */
	char *inbound_ca_file;    /* CAFile (empty: the system's CAs) */
	uint64_t inbound_max_size;  /* MaxSize = 10240000 */
	int64_t inbound_connect_timeout; /* ConnectTimeout = 10s */
	int64_t inbound_timeout;  /* Timeout = 60s */
	int inbound_max_fetches;  /* MaxFetches = 8 */
	char *inbound_opt_out_file; /* OptOutFile (empty: none) */
	enum config_on_error inbound_on_error; /* OnError = accept */
};

/* Reads and validates the whole file. path NULL means CONFIG_DEFAULT_PATH.
 * On failure returns NULL and sets *err to a message naming the file, the
 * section, the key and what was expected (g_free(), log.h). */
struct config *config_load(const char *path, char **err);

/* The path a program should read: explicit (-c) if not NULL, else
 * $PULLMAIL_CONFIG if set and not empty, else CONFIG_DEFAULT_PATH. */
const char *config_path(const char *explicit_path);

/* All defaults, no file; for tests and for -n checks. */
struct config *config_defaults(void);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

/* Whether addr (AF_INET/AF_INET6 bytes) is in the list. */
bool config_cidr_match(const struct cidr_list *list, int family,
    const void *addr);

/* Prints every option with section, type, default and help (for the man
 * page and `pullmailctl check`). */
void config_dump_table(FILE *out);

#endif
