/* pullmail-milter start-up: options, configuration, store, privileges,
 * socket, then smfi_main (doc/ARCHITECTURE.md: how the code is written). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>
#include <gmime/gmime.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "callbacks.h"
#include "config.h"
#include "fetch.h"
#include "inbound_callbacks.h"
#include "log.h"
#include "protocol.h"
#include "store.h"
#include "summary.h"
#include "token.h"

static const char *opt_config, *opt_socket, *opt_user, *opt_pidfile;
static int opt_foreground, opt_check, opt_inbound;

static void
usage(FILE *out)
{
	fprintf(out, "usage: pullmail-milter [-c FILE] [-f] [-i] [-n] "
	    "[-p SOCKET] [-u USER[:GROUP]] [-P PIDFILE] [-V]\n");
}

static void
override(char **field, const char *value)
{
	if (value != NULL) {
		g_free(*field);
		*field = g_strdup(value);
	}
}

/* Loads the file and applies the command line on top of it. */
static struct config *
load_config(char **err)
{
	struct config *cfg = config_load(opt_config, err);

	if (cfg == NULL)
		return NULL;
	/* Inbound listens on its own socket: the outbound rewrite and the
	 * inbound fetch never see the same message. */
	if (opt_inbound)
		override(&cfg->milter_socket, cfg->inbound_socket);
	override(&cfg->milter_socket, opt_socket);
	override(&cfg->user_id, opt_user);
	override(&cfg->pid_file, opt_pidfile);
	return cfg;
}

/* What start-up, -n and a reload check beyond the file's own syntax;
 * *err (g_free(), log.h) says what is wrong. */
static int
check_config(const struct config *cfg, char **err)
{
	const char *path = cfg->path != NULL ? cfg->path : "-";

	if (opt_inbound) {
		if (cfg->inbound_trust.n == 0 ||
		    cfg->inbound_authserv_ids == NULL ||
		    cfg->inbound_authserv_ids[0] == NULL) {
			*err = g_strdup_printf("%s: [inbound] Trust and "
			    "AuthservID are required by pullmail-milter -i",
			    path);
			return EX_CONFIG;
		}
		if (cfg->inbound_max_fetches < 1 ||
		    cfg->inbound_max_fetches > 1000) {
			*err = g_strdup_printf("%s: [inbound] MaxFetches: "
			    "expected 1 to 1000", path);
			return EX_CONFIG;
		}
		return 0;
	}
	/* config_load has checked the form (https, or http on loopback only,
	 * for a local test); the milter needs one to build links. */
	if (cfg->base_url == NULL || cfg->base_url[0] == '\0') {
		*err = g_strdup_printf("%s: [milter] BaseURL is required (the "
		    "https:// URL the links point to)",
		    cfg->path != NULL ? cfg->path : "-");
		return EX_CONFIG;
	}
	/* Templates that cannot be read would send every message to
	 * OnError: refuse them now. */
	if (summary_check_templates(cfg->template_dir, cfg->language, err)
	    != 0)
		return EX_CONFIG;
	return 0;
}

static int
drop_privileges(const char *spec)
{
	char *user, *group;
	struct passwd *pw;
	gid_t gid;

	if (spec == NULL || *spec == '\0' || geteuid() != 0)
		return 0;
	user = g_strdup(spec);
	group = strchr(user, ':');
	if (group != NULL)
		*group++ = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		log_msg(LOG_ERR, "UserID: no user %s", user);
		g_free(user);
		return -1;
	}
	gid = pw->pw_gid;
	if (group != NULL) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			log_msg(LOG_ERR, "UserID: no group %s", group);
			g_free(user);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		log_msg(LOG_ERR, "UserID %s: %s", spec, strerror(errno));
		g_free(user);
		return -1;
	}
	g_free(user);
	return 0;
}

/* Reads the file again and hands the result to new messages; a file with
 * an error is refused with a log line and the running configuration kept.
 * Settings used only at start-up (Socket, UserID, PidFile, StoreDir) are
 * read but take effect at the next start. */
static void
reload(void)
{
	char *err = NULL;
	struct config *cfg = load_config(&err);

	if (cfg == NULL || check_config(cfg, &err) != 0) {
		log_msg(LOG_ERR, "reload refused, the running configuration "
		    "stays: %s", err != NULL ? err : "invalid");
		g_free(err);
		if (cfg != NULL)
			config_unref(cfg);
		return;
	}
	log_set_level(cfg->log_level);
	callbacks_set_config(cfg);
	inbound_set_config(cfg);
	config_unref(cfg);
	log_msg(LOG_INFO, "configuration reloaded from %s",
	    opt_config);
}

/* SIGHUP reloads. libmilter's own signal thread sigwait()s SIGHUP, SIGTERM
 * and SIGINT and stops the filter on SIGHUP. pullmail-milter is linked with
 * libmilter's static archive and -Wl,--wrap=sigwait (Makefile), so that
 * thread's sigwait() is this function: it also waits for SIGUSR1 (the older
 * reload signal, kept as an alias), reloads on either and waits again, and
 * returns every other signal (SIGTERM, SIGINT) to libmilter, which stops as
 * before. Both signals are blocked in every thread from the start of main,
 * so a reload signal can never take its default action (termination). */
int __real_sigwait(const sigset_t *set, int *sig);
int __wrap_sigwait(const sigset_t *set, int *sig);

int
__wrap_sigwait(const sigset_t *set, int *sig)
{
	sigset_t wait_set = *set;
	bool reloads = sigismember(set, SIGHUP) == 1;
	int rc;

	if (reloads)
		sigaddset(&wait_set, SIGUSR1);
	for (;;) {
		if ((rc = __real_sigwait(&wait_set, sig)) != 0)
			return rc;
		if (!reloads || (*sig != SIGHUP && *sig != SIGUSR1))
			return 0;
		reload();
	}
}

/* A peer of the milter socket must not be able to crash the milter, even
 * through a bug of libmilter: smfi_getsymval walks a macro list two
 * strings at a time and reads past the end of one with an odd number of
 * strings, so a single malformed SMFIC_MACRO packet took every message in
 * flight down with the process. libmilter reads every command with
 * mi_rd_cmd (libmilter/comm.c, an external symbol of libmilter.a called
 * from engine.c); pullmail-milter is linked with -Wl,--wrap=mi_rd_cmd
 * (Makefile), so each command passes through this function first. A macro
 * command that is not a whole list of name/value pairs is logged and
 * answered as libmilter answers a read error: the connection is closed
 * (the message in it aborted, xxfi_abort and xxfi_close called) and no
 * other connection notices. The arguments and the error code are
 * libmilter's own (libmilter.h: SMFIC_RECVERR, 4; stable since 8.12). */
#define LIBMILTER_SMFIC_RECVERR ((char)4)

char *__real_mi_rd_cmd(int sd, struct timeval *timeout, char *cmd,
    size_t *rlen, char *name);
char *__wrap_mi_rd_cmd(int sd, struct timeval *timeout, char *cmd,
    size_t *rlen, char *name);

char *
__wrap_mi_rd_cmd(int sd, struct timeval *timeout, char *cmd, size_t *rlen,
    char *name)
{
	char *buf = __real_mi_rd_cmd(sd, timeout, cmd, rlen, name);

	if (buf != NULL && *cmd == SMFIC_MACRO &&
	    !milter_macros_wellformed(buf, *rlen)) {
		log_msg(LOG_ERR, "the MTA sent a malformed macro list (%zu "
		    "bytes, not name/value pairs): connection closed", *rlen);
		free(buf);
		*rlen = 0;
		*cmd = LIBMILTER_SMFIC_RECVERR;
		return NULL;
	}
	return buf;
}

static int
setup_socket(const struct config *cfg)
{
	const char *sock = cfg->milter_socket;
	const char *path = NULL;

	if (strncmp(sock, "unix:", 5) == 0)
		path = sock + 5;
	else if (strncmp(sock, "local:", 6) == 0)
		path = sock + 6;
	else if (sock[0] == '/')
		path = sock;
	if (smfi_setconn((char *)sock) == MI_FAILURE) {
		log_msg(LOG_ERR, "Socket %s: not a valid milter socket", sock);
		return -1;
	}
	mode_t old = umask(0177);
	int rc = smfi_opensocket(1);
	umask(old);
	if (rc == MI_FAILURE) {
		log_msg(LOG_ERR, "Socket %s: could not listen", sock);
		return -1;
	}
	if (path != NULL) {
		if (chmod(path, cfg->socket_mode) != 0) {
			log_msg(LOG_ERR, "Socket %s: chmod: %s", sock,
			    strerror(errno));
			return -1;
		}
		if (cfg->socket_group != NULL && *cfg->socket_group) {
			struct group *gr = getgrnam(cfg->socket_group);
			if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid)) {
				log_msg(LOG_ERR, "SocketGroup %s: %s",
				    cfg->socket_group, gr == NULL ?
				    "no such group" : strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct config *cfg;
	struct store *st = NULL;
	char *err = NULL;
	int c, rc;

	while ((c = getopt(argc, argv, "c:finp:u:P:Vh")) != -1) {
		switch (c) {
		case 'c': opt_config = optarg; break;
		case 'f': opt_foreground = 1; break;
		case 'i': opt_inbound = 1; break;
		case 'n': opt_check = 1; break;
		case 'p': opt_socket = optarg; break;
		case 'u': opt_user = optarg; break;
		case 'P': opt_pidfile = optarg; break;
		case 'V':
			printf("pullmail-milter %s (libmilter %d)\n",
			    PULLMAIL_VERSION, SMFI_VERSION);
			return EX_OK;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	/* Absolute, however it was named (-c, PULLMAIL_CONFIG or the
	 * default): daemon() changes to /, and SIGHUP reads it again. */
	opt_config = g_canonicalize_filename(config_path(opt_config), NULL);
	/* Before any thread exists, so that every thread inherits the mask:
	 * the reload signals are only ever taken by sigwait (see above). */
	sigset_t reload_set;
	sigemptyset(&reload_set);
	sigaddset(&reload_set, SIGHUP);
	sigaddset(&reload_set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &reload_set, NULL);
	if (token_init() != 0) {
		fprintf(stderr, "pullmail-milter: libsodium did not start\n");
		return EX_SOFTWARE;
	}
	if ((cfg = load_config(&err)) == NULL) {
		fprintf(stderr, "pullmail-milter: %s\n", err);
		g_free(err);
		return EX_CONFIG;
	}
	if ((rc = check_config(cfg, &err)) != 0) {
		fprintf(stderr, "pullmail-milter: %s\n", err);
		g_free(err);
		goto out;
	}
	g_mime_init();
	log_init("pullmail-milter", opt_foreground || opt_check,
	    cfg->log_facility, cfg->log_level);

	/* No plaintext in a core dump. */
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);

	/* libmilter opens the socket only for a registered filter. */
	if (opt_inbound && fetch_init() != 0) {
		log_msg(LOG_ERR, "libcurl did not start");
		rc = EX_SOFTWARE;
		goto out;
	}
	if (!opt_check && smfi_register(opt_inbound ? inbound_desc :
	    callbacks_desc) == MI_FAILURE) {
		log_msg(LOG_ERR, "smfi_register failed");
		rc = EX_SOFTWARE;
		goto out;
	}
	if (!opt_check && setup_socket(cfg) != 0) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	/* -n checks the store as the daemon will use it: as UserID. */
	if (drop_privileges(cfg->user_id) != 0) {
		rc = EX_NOUSER;
		goto out;
	}
	prctl(PR_SET_DUMPABLE, 0);
	/* Start-up read the file before dropping privileges; a reload reads it
	 * as UserID, so say now if that will be refused. */
	if (access(opt_config, R_OK) != 0)
		log_msg(LOG_WARNING, "%s is not readable as UserID: SIGHUP "
		    "could not reload it (chgrp the file to UserID's group)",
		    opt_config);
	/* Inbound writes no store. */
	if (!opt_inbound &&
	    (st = store_open(cfg, STORE_READ_WRITE, &err)) == NULL) {
		fprintf(stderr, "pullmail-milter: store: %s\n", err);
		g_free(err);
		rc = EX_CANTCREAT;
		goto out;
	}
	if (opt_check) {
		printf(opt_inbound ? "pullmail-milter: %s: configuration is "
		    "usable for inbound\n" : "pullmail-milter: %s: "
		    "configuration and store are usable\n", opt_config);
		rc = EX_OK;
		goto out;
	}
	if (!opt_foreground && daemon(0, 0) != 0) {
		log_msg(LOG_ERR, "daemon: %s", strerror(errno));
		rc = EX_OSERR;
		goto out;
	}
	if (cfg->pid_file != NULL && *cfg->pid_file) {
		FILE *pf = fopen(cfg->pid_file, "w");
		if (pf == NULL) {
			log_msg(LOG_ERR, "PidFile %s: %s", cfg->pid_file,
			    strerror(errno));
			rc = EX_CANTCREAT;
			goto out;
		}
		fprintf(pf, "%ld\n", (long)getpid());
		fclose(pf);
	}

	callbacks_set_config(cfg);
	callbacks_set_store(st);
	inbound_set_config(cfg);
	log_msg(LOG_INFO, "starting%s on %s", opt_inbound ? " inbound" : "",
	    cfg->milter_socket);
	rc = smfi_main();
	log_msg(LOG_INFO, "stopping");
	if (cfg->pid_file != NULL && *cfg->pid_file)
		unlink(cfg->pid_file);
	rc = rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
	st = NULL;	/* the callbacks' store, as before: not closed here */
out:
	/* Every exit after the configuration was loaded frees it: a start
	 * refused for an unwritable store is an ordinary event under a
	 * supervisor that restarts the milter. */
	if (st != NULL)
		store_close(st);
	config_unref(cfg);
	return rc;
}
