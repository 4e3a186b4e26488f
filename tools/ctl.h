/* pullmailctl: the commands behind the command line: ctl_gc.c (gc),
 * ctl_list.c (list, stats), ctl_admin.c (revoke, keep, show), ctl_check.c
 * (check), ctl_util.c (the shared pieces), ctl_json.c (JSON output) and
 * ctl_main.c (options and dispatch; pullmailctl.c only calls it). Every command returns a
 * sysexits.h status, writes its results to c->out and its errors to c->err,
 * so tests call them in-process. */
#ifndef PULLMAIL_CTL_H
#define PULLMAIL_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "envelope.h"
#include "sealed.h"
#include "store.h"
#include "token.h"

#define CTL_DAY 86400
#define CTL_WEEK (7 * CTL_DAY)
/* gc removes temporary files older than this (a crashed writer's), never
 * one younger than CTL_TMP_MIN_AGE (a writer may still be filling it). */
#define CTL_TMP_MAX_AGE CTL_DAY
#define CTL_TMP_MIN_AGE 3600
#define CTL_KEEP_MAX_DAYS 36500

/* Removes the pages pullmail-web kept of this object in [web]
 * PageCacheDir (pagefile.h); says so on c->err when it cannot. */
struct storage_id;
struct ctl;
void ctl_forget_pages(struct ctl *c, const struct storage_id *id);

struct ctl {
	struct config *cfg;     /* borrowed */
	const char *config_path; /* the file cfg was read from (check) */
	FILE *out;
	FILE *err;
	int64_t now;            /* the run's clock: fixed at start */
};

/* What gc found and removed (or would remove, with dry_run). */
struct ctl_gc_counts {
	unsigned long examined;   /* objects whose header was read */
	unsigned long removed;    /* objects removed (dry run: due) */
	uint64_t removed_bytes;
	unsigned long kept;       /* not yet due */
	unsigned long unreadable; /* header could not be parsed: left alone */
	unsigned long failed;     /* due, but the delete failed */
	unsigned long tmp_removed; /* temporary files (dry run: due) */
	unsigned long pages_removed; /* kept pages swept from PageCacheDir
	                              * (not in a dry run) */
};

struct ctl_stats {
	unsigned long count;
	uint64_t bytes;
	int64_t oldest;           /* created, 0 if no object */
	int64_t newest;
	unsigned long expiring_day;  /* effective expiry in (now, now+1d] */
	unsigned long expiring_week; /* effective expiry in (now, now+7d] */
	unsigned long expired;    /* effective expiry <= now (incl. revoked) */
	unsigned long revoked;
	unsigned long unreadable;
	/* The read state (readstate.h), over the readable live objects
	 * (neither expired nor revoked): fetched at least once, never. */
	unsigned long read;
	unsigned long never_read;
	unsigned long receipts_sent;
};

enum ctl_show_mode { CTL_SHOW_HEADERS, CTL_SHOW_RAW };

/* The read state of one object as a JSON member ("read": {...},
 * "receipt": ...), followed by ", ". */
void ctl_json_readstate(FILE *out, const struct readstate *rs);
/* The read state as text lines, for show. */
void ctl_print_readstate(FILE *out, const struct readstate *rs);

/* ctl_main.c: the whole command line (argv[0] is the program); returns the
 * exit status. Results go to out, errors and usage to err. */
int ctl_main(int argc, char **argv, FILE *out, FILE *err);

int ctl_gc(struct ctl *c, bool dry_run, bool json,
    struct ctl_gc_counts *counts);
int ctl_list(struct ctl *c, bool json, bool expired_only);
int ctl_stats(struct ctl *c, bool json, struct ctl_stats *stats);
int ctl_revoke(struct ctl *c, const char *target);
int ctl_keep(struct ctl *c, const char *target, long days);
int ctl_show(struct ctl *c, const char *link, enum ctl_show_mode mode);
int ctl_check(struct ctl *c);

/* ctl_util.c */

/* Opens the store or prints why not; NULL and *rc set on failure. */
struct store *ctl_store_open(struct ctl *c, enum store_mode mode, int *rc);

/* "ID|URL": a storage id (32 lowercase hex) or a link / bare token, from
 * which the id is derived. 0, or -1 after printing an error. The token is
 * never printed. */
int ctl_parse_target(struct ctl *c, const char *target,
    struct storage_id *id);

/* The exit status and message for a sealed status. */
int ctl_sealed_exit(enum sealed_status st);

/* Metadata of one object from its first bytes, read by store_scan; only a
 * fully read and parsed header counts. ss is how the read went
 * (STORE_NOT_FOUND gives *why "gone"). 0 or -1 (*why says what failed). */
int ctl_parse_head(const unsigned char *head, size_t got,
    enum store_status ss, struct envelope_meta *meta, const char **why);

/* "2026-11-22T11:47:00Z" */
void ctl_format_time(int64_t t, char buf[32]);

/* ctl_json.c: JSON output with names and strings the program chose; any
 * string value is escaped per RFC 8259. */
void ctl_json_string(FILE *out, const char *s);
void ctl_json_time(FILE *out, const char *name, int64_t t, bool comma);

#endif
