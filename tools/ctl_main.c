/* pullmailctl's command line: options, the command, dispatch to
 * tools/ctl_*.c. In the archive (not in pullmailctl.c) so that tests run
 * whole command lines in-process. Exit statuses are from sysexits.h. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <glib.h>

#include <sodium.h>
#include "log.h"
#include "token.h"
#include "tools/ctl.h"

static const char usage_text[] =
    "usage: pullmailctl [-c FILE] COMMAND [ARGS]\n"
    "  gc [--dry-run] [--json]     remove expired objects and stale "
    "temporary files\n"
    "  list [--json] [--expired]   one line per object (metadata only)\n"
    "  stats [--json]              counts, bytes, oldest, newest, expiring "
    "soon\n"
    "  revoke ID|URL               replace a message by a tombstone (410)\n"
    "  keep ID|URL --days N        expire N days from now (capped by "
    "MaxRetention)\n"
    "  show URL [--headers|--raw]  decrypt: the header block (default) or "
    "the original\n"
    "  check                       check configuration and store, seal a "
    "test object\n"
    "options: -c FILE (default $PULLMAIL_CONFIG or "
    CONFIG_DEFAULT_PATH "), -h, -V\n"
    "see pullmailctl(8)\n";

static int __attribute__((format(printf, 2, 3)))
usage(FILE *err, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("pullmailctl: ", err);
		va_start(ap, fmt);
		vfprintf(err, fmt, ap);
		va_end(ap);
		fputc('\n', err);
	}
	fputs(usage_text, err);
	return EX_USAGE;
}

enum cmd { CMD_GC, CMD_LIST, CMD_STATS, CMD_REVOKE, CMD_KEEP, CMD_SHOW,
	CMD_CHECK };

static const struct {
	const char *name;
	enum cmd cmd;
	int args;           /* positional arguments required */
} commands[] = {
	{ "gc", CMD_GC, 0 }, { "list", CMD_LIST, 0 },
	{ "stats", CMD_STATS, 0 }, { "revoke", CMD_REVOKE, 1 },
	{ "keep", CMD_KEEP, 1 }, { "show", CMD_SHOW, 1 },
	{ "check", CMD_CHECK, 0 },
};

enum { OPT_DRY_RUN = 256, OPT_JSON, OPT_EXPIRED, OPT_HEADERS, OPT_RAW };

static const struct option cmd_options[] = {
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "expired", no_argument, NULL, OPT_EXPIRED },
	{ "days", required_argument, NULL, 'd' },
	{ "headers", no_argument, NULL, OPT_HEADERS },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Which options each command takes. */
static bool
option_allowed(enum cmd cmd, int opt)
{
	switch (opt) {
	case OPT_DRY_RUN: return cmd == CMD_GC;
	case OPT_JSON: return cmd == CMD_GC || cmd == CMD_LIST ||
	    cmd == CMD_STATS;
	case OPT_EXPIRED: return cmd == CMD_LIST;
	case 'd': return cmd == CMD_KEEP;
	case OPT_HEADERS: case OPT_RAW: return cmd == CMD_SHOW;
	}
	return false;
}

int
ctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *cfg_arg = NULL, *name, *target = NULL;
	bool dry_run = false, json = false, expired = false;
	enum ctl_show_mode show_mode = CTL_SHOW_HEADERS;
	int show_modes = 0;
	long days = -1;
	struct ctl c;
	char *cfg_err = NULL, *end;
	size_t i;
	enum cmd cmd;
	int opt, rc;

	opterr = 0;         /* our own messages, on err */
	optind = 0;         /* a fresh scan, also when called again */
	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c': cfg_arg = optarg; break;
		case 'h': fputs(usage_text, out); return EX_OK;
		case 'V': fputs("pullmailctl " PULLMAIL_VERSION "\n", out); return EX_OK;
		default:
			return usage(err, "unknown option or missing value: "
			    "%s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage(err, "no command given");
	name = argv[optind];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return usage(err, "unknown command \"%s\"", name);
	cmd = commands[i].cmd;

	/* The command's own options, after its name. */
	argc -= optind;
	argv += optind;
	/* A bare token may begin with '-' (base64url): it is taken out before
	 * the option scan, which would read it as options. */
	const char *dash_token = NULL;
	for (int k = 1; k < argc && strcmp(argv[k], "--") != 0; k++) {
		struct token t;
		if (argv[k][0] == '-' &&
		    token_decode_into(argv[k], strlen(argv[k]), &t) == 0) {
			sodium_memzero(&t, sizeof t);
			dash_token = argv[k];
			/* argv[argc] is NULL: it moves down with the rest. */
			memmove(&argv[k], &argv[k + 1],
			    (size_t)(argc - k) * sizeof(*argv));
			argc--;
			break;
		}
	}
	optind = 0;         /* glibc: rescan, permuting again (the global scan used "+") */
	while ((opt = getopt_long(argc, argv, "d:h", cmd_options, NULL)) !=
	    -1) {
		if (opt == 'h') {
			fputs(usage_text, out);
			return EX_OK;
		}
		if (opt == '?' || opt == ':')
			return usage(err, "%s: unknown option or missing "
			    "value: %s", name, argv[optind - 1]);
		if (!option_allowed(cmd, opt))
			return usage(err, "%s does not take this option", name);
		switch (opt) {
		case OPT_DRY_RUN: dry_run = true; break;
		case OPT_JSON: json = true; break;
		case OPT_EXPIRED: expired = true; break;
		case OPT_HEADERS: show_mode = CTL_SHOW_HEADERS; show_modes++;
			break;
		case OPT_RAW: show_mode = CTL_SHOW_RAW; show_modes++; break;
		case 'd':
			days = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || days < 1 ||
			    days > CTL_KEEP_MAX_DAYS)
				return usage(err, "--days needs a whole number of "
				    "days from 1 to 36500, not \"%s\"", optarg);
			break;
		}
	}
	if (argc - optind + (dash_token != NULL) != commands[i].args)
		return usage(err, "%s %s", name, commands[i].args == 0 ?
		    "takes no arguments" : "needs exactly one argument");
	if (commands[i].args == 1)
		target = dash_token != NULL ? dash_token : argv[optind];
	if (cmd == CMD_KEEP && days < 0)
		return usage(err, "keep needs --days N");
	if (show_modes > 1)
		return usage(err, "show takes either --headers or --raw");

	if (token_init() < 0) {
		fputs("pullmailctl: libsodium cannot be initialised\n", err);
		return EX_SOFTWARE;
	}
	memset(&c, 0, sizeof(c));
	c.config_path = config_path(cfg_arg);
	c.cfg = config_load(c.config_path, &cfg_err);
	if (c.cfg == NULL) {
		fprintf(err, "pullmailctl: %s\n", cfg_err != NULL ? cfg_err :
		    "cannot read the configuration");
		g_free(cfg_err);
		return EX_CONFIG;
	}
	log_init("pullmailctl", 0, c.cfg->log_facility, c.cfg->log_level);
	c.out = out;
	c.err = err;
	c.now = (int64_t)time(NULL);

	switch (cmd) {
	case CMD_GC: rc = ctl_gc(&c, dry_run, json, NULL); break;
	case CMD_LIST: rc = ctl_list(&c, json, expired); break;
	case CMD_STATS: rc = ctl_stats(&c, json, NULL); break;
	case CMD_REVOKE: rc = ctl_revoke(&c, target); break;
	case CMD_KEEP: rc = ctl_keep(&c, target, days); break;
	case CMD_SHOW: rc = ctl_show(&c, target, show_mode); break;
	case CMD_CHECK: rc = ctl_check(&c); break;
	default: rc = EX_SOFTWARE; break;
	}
	if (fflush(out) != 0 && rc == EX_OK) {
		fputs("pullmailctl: writing the output failed\n", err);
		rc = EX_IOERR;
	}
	config_unref(c.cfg);
	return rc;
}
