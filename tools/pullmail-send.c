/* pullmail-send: submit one message to a mail server over TLS with SMTP
 * AUTH, the way providers require (465 implicit TLS, 587 STARTTLS), and
 * optionally show the SMTP dialogue. Options and the password live here;
 * the message, the dialogue and the transcript are in tools/send_*.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "send.h"
#include "units.h"

#define PASSWORD_MAX 1024
#define CONNECT_TIMEOUT_DEFAULT 30
#define IDLE_TIMEOUT_DEFAULT 60
#define PASSWORD_ENV "PULLMAIL_PASSWORD"

static const char *progname = "pullmail-send";

struct options {
	const char *server;
	const char *tls;
	const char *user;
	const char *password_file;
	const char *from;
	GPtrArray *to, *cc, *bcc, *attach;
	const char *subject;
	const char *text;
	const char *html;
	const char *expires;
	const char *ca_file;
	long timeout;
	int no_pull, transcript, dry_run;
};

enum { OPT_SERVER = 256, OPT_TLS, OPT_USER, OPT_PASSWORD_FILE, OPT_FROM,
	OPT_TO, OPT_CC, OPT_BCC, OPT_SUBJECT, OPT_TEXT, OPT_HTML, OPT_ATTACH,
	OPT_EXPIRES, OPT_NO_PULL, OPT_CA_FILE, OPT_TRANSCRIPT, OPT_DRY_RUN,
	OPT_TIMEOUT, OPT_HELP, OPT_VERSION, OPT_PASSWORD };

static const struct option long_options[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "cc", required_argument, NULL, OPT_CC },
	{ "bcc", required_argument, NULL, OPT_BCC },
	{ "subject", required_argument, NULL, OPT_SUBJECT },
	{ "text", required_argument, NULL, OPT_TEXT },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "no-pull", no_argument, NULL, OPT_NO_PULL },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "transcript", no_argument, NULL, OPT_TRANSCRIPT },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	/* Only so that the refusal can say why. */
	{ "password", optional_argument, NULL, OPT_PASSWORD },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: %s --server HOST[:PORT] [--tls implicit|starttls|none]\n"
"       [--user NAME] [--password-file FILE] --from ADDR --to ADDR...\n"
"       [--cc ADDR...] [--bcc ADDR...] --subject TEXT [--text FILE|-]\n"
"       [--html FILE] [--attach FILE...] [--expires DURATION] [--no-pull]\n"
"       [--ca-file FILE] [--timeout SECONDS] [--transcript] [--dry-run]\n"
"The password comes from --password-file, $" PASSWORD_ENV " or a prompt.\n",
	    progname);
}

static void
die(int status, const char *fmt, ...) G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN;

static void
die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Non-option words after --to/--cc/--bcc/--attach belong to that list, so
 * "--to a@x b@y --attach f1 f2" works as the synopsis reads. */
static void
parse_options(int argc, char **argv, struct options *o)
{
	GPtrArray *last = NULL;
	int c;

	o->to = g_ptr_array_new();
	o->cc = g_ptr_array_new();
	o->bcc = g_ptr_array_new();
	o->attach = g_ptr_array_new();
	o->timeout = IDLE_TIMEOUT_DEFAULT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-", long_options, NULL)) != -1) {
		GPtrArray *list = NULL;

		switch (c) {
		case 1:
			if (last == NULL) {
				fprintf(stderr, "%s: unexpected argument "
				    "\"%s\"\n", progname, optarg);
				usage(stderr);
				exit(EX_USAGE);
			}
			g_ptr_array_add(last, optarg);
			continue;
		case OPT_SERVER: o->server = optarg; break;
		case OPT_TLS: o->tls = optarg; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_PASSWORD_FILE: o->password_file = optarg; break;
		case OPT_FROM: o->from = optarg; break;
		case OPT_TO: list = o->to; break;
		case OPT_CC: list = o->cc; break;
		case OPT_BCC: list = o->bcc; break;
		case OPT_ATTACH: list = o->attach; break;
		case OPT_SUBJECT: o->subject = optarg; break;
		case OPT_TEXT: o->text = optarg; break;
		case OPT_HTML: o->html = optarg; break;
		case OPT_EXPIRES: o->expires = optarg; break;
		case OPT_NO_PULL: o->no_pull = 1; break;
		case OPT_CA_FILE: o->ca_file = optarg; break;
		case OPT_TRANSCRIPT: o->transcript = 1; break;
		case OPT_DRY_RUN: o->dry_run = 1; break;
		case OPT_TIMEOUT: {
			char *end;

			errno = 0;
			o->timeout = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->timeout < 1 ||
			    o->timeout > 3600)
				die(EX_USAGE, "--timeout %s: give seconds from "
				    "1 to 3600", optarg);
			break;
		}
		case OPT_HELP:
			usage(stdout);
			exit(EX_OK);
		case OPT_VERSION:
			printf("pullmail-send %s\n", PULLMAIL_VERSION);
			exit(EX_OK);
		case OPT_PASSWORD:
			die(EX_USAGE, "a password is never taken from the "
			    "command line (other users can see it): use "
			    "--password-file FILE, $%s or the prompt",
			    PASSWORD_ENV);
		default:
			fprintf(stderr, "%s: unknown option or missing value: "
			    "%s\n", progname, argv[optind - 1]);
			usage(stderr);
			exit(EX_USAGE);
		}
		last = list;
		if (list)
			g_ptr_array_add(list, optarg);
	}
	g_ptr_array_add(o->to, NULL);
	g_ptr_array_add(o->cc, NULL);
	g_ptr_array_add(o->bcc, NULL);
	if (o->from == NULL)
		die(EX_USAGE, "--from is required");
	if (o->subject == NULL)
		die(EX_USAGE, "--subject is required");
	if (o->to->len == 1 && o->cc->len == 1 && o->bcc->len == 1)
		die(EX_USAGE, "no recipient: give at least one --to, --cc or "
		    "--bcc");
	if (o->server == NULL && !o->dry_run)
		die(EX_USAGE, "--server is required (or --dry-run)");
}

static char *
read_file_or_die(const char *what, const char *path, size_t *len)
{
	GError *err = NULL;
	char *data = NULL;
	gsize n = 0;

	if (strcmp(path, "-") == 0) {
		GIOChannel *ch = g_io_channel_unix_new(STDIN_FILENO);

		g_io_channel_set_encoding(ch, NULL, NULL);
		if (g_io_channel_read_to_end(ch, &data, &n, &err) !=
		    G_IO_STATUS_NORMAL) {
			g_io_channel_unref(ch);
			die(EX_IOERR, "%s: cannot read standard input: %s",
			    what, err->message);
		}
		g_io_channel_unref(ch);
	} else if (!g_file_get_contents(path, &data, &n, &err)) {
		die(err->code == G_FILE_ERROR_NOENT ? EX_NOINPUT : EX_IOERR,
		    "%s %s: %s", what, path, err->message);
	}
	*len = n;
	return data;
}

/* The first line of the file; a warning when others may read it. */
static char *
password_from_file(const char *path)
{
	struct stat st;
	char *pw;
	size_t len;
	int fd;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(errno == ENOENT ? EX_NOINPUT : EX_NOPERM,
		    "--password-file %s: %s", path, g_strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr, "%s: warning: %s can be read by other users "
		    "(chmod 600 it)\n", progname, path);
	pw = sodium_malloc(PASSWORD_MAX + 1);
	if (pw == NULL)
		die(EX_OSERR, "out of memory");
	n = read(fd, pw, PASSWORD_MAX);
	close(fd);
	if (n < 0)
		die(EX_IOERR, "--password-file %s: %s", path,
		    g_strerror(errno));
	pw[n] = '\0';
	len = strcspn(pw, "\r\n");
	if (len == (size_t)PASSWORD_MAX)
		die(EX_DATAERR, "--password-file %s: the password is longer "
		    "than %d bytes", path, PASSWORD_MAX - 1);
	sodium_memzero(pw + len, PASSWORD_MAX + 1 - len);
	if (len == 0)
		die(EX_DATAERR, "--password-file %s: the first line is empty",
		    path);
	return pw;
}

/* Ask on the terminal (not stdin: the text may come from there). */
static char *
password_from_tty(const char *user, const char *host)
{
	struct termios old, quiet;
	char *pw;
	FILE *tty;
	int ok;

	tty = fopen("/dev/tty", "r+e");
	if (tty == NULL)
		die(EX_USAGE, "no password: give --password-file FILE or set "
		    "$%s (there is no terminal to ask on)", PASSWORD_ENV);
	pw = sodium_malloc(PASSWORD_MAX + 1);
	if (pw == NULL)
		die(EX_OSERR, "out of memory");
	fprintf(tty, "Password for %s at %s: ", user, host);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) < 0)
		die(EX_IOERR, "cannot turn off echo on the terminal: %s",
		    g_strerror(errno));
	quiet = old;
	quiet.c_lflag &= ~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	setvbuf(tty, NULL, _IONBF, 0);
	ok = fgets(pw, PASSWORD_MAX + 1, tty) != NULL;
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (!ok)
		die(EX_NOINPUT, "no password given");
	pw[strcspn(pw, "\r\n")] = '\0';
	return pw;
}

static char *
get_password(const struct options *o, const char *host)
{
	const char *env = getenv(PASSWORD_ENV);
	char *pw;

	if (o->password_file)
		return password_from_file(o->password_file);
	if (env && *env) {
		size_t n = strlen(env);

		if (n > PASSWORD_MAX)
			die(EX_DATAERR, "$%s is too long", PASSWORD_ENV);
		pw = sodium_malloc(PASSWORD_MAX + 1);
		if (pw == NULL)
			die(EX_OSERR, "out of memory");
		memcpy(pw, env, n + 1);
		return pw;
	}
	return password_from_tty(o->user, host);
}

static enum send_tls
parse_tls(const char *s)
{
	if (s == NULL)
		return SEND_TLS_DEFAULT;
	if (strcmp(s, "implicit") == 0)
		return SEND_TLS_IMPLICIT;
	if (strcmp(s, "starttls") == 0)
		return SEND_TLS_STARTTLS;
	if (strcmp(s, "none") == 0)
		return SEND_TLS_NONE;
	die(EX_USAGE, "--tls %s: give implicit, starttls or none", s);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct send_spec spec = { 0 };
	struct send_attachment *atts;
	GMimeMessage *msg;
	GByteArray *bytes;
	GError *err = NULL;
	char **rcpts, *env_from, *host = NULL, *password = NULL;
	char *text = NULL, *html = NULL;
	unsigned port = 0;
	enum send_tls tls;
	guint i;
	int status;

	if (argv[0] && *argv[0])
		progname = g_path_get_basename(argv[0]);
	if (sodium_init() < 0)
		die(EX_SOFTWARE, "libsodium failed to initialise");
	parse_options(argc, argv, &o);
	tls = parse_tls(o.tls);

	if (o.expires) {
		int64_t secs;

		if (units_parse_duration(o.expires, &secs) < 0)
			die(EX_USAGE, "--expires %s: give a duration such as "
			    "90s, 15m, 12h, 30d or 2w", o.expires);
	}
	if (o.server && send_parse_server(o.server, &host, &port, &err) < 0)
		die(err->code, "%s", err->message);
	send_resolve_defaults(&tls, &port);
	if (o.user && tls == SEND_TLS_NONE)
		die(EX_USAGE, "refusing to authenticate without TLS: drop "
		    "--tls none, or --user");
	if (tls == SEND_TLS_NONE && !o.dry_run)
		fprintf(stderr, "%s: warning: --tls none: the message crosses "
		    "the network in clear text\n", progname);
	if (o.ca_file && access(o.ca_file, R_OK) < 0)
		die(EX_NOINPUT, "--ca-file %s: %s", o.ca_file,
		    g_strerror(errno));

	if (o.text)
		text = read_file_or_die("--text", o.text, &spec.text_len);
	if (o.html)
		html = read_file_or_die("--html", o.html, &spec.html_len);
	atts = g_new0(struct send_attachment, o.attach->len + 1);
	for (i = 0; i < o.attach->len; i++) {
		const char *path = g_ptr_array_index(o.attach, i);
		char *base = g_path_get_basename(path);
		char *name = g_filename_display_name(base);

		g_free(base);
		if (strcmp(path, "-") == 0)
			die(EX_USAGE, "--attach needs a file, not \"-\"");
		atts[i].name = name;
		atts[i].data = (guint8 *)read_file_or_die("--attach", path,
		    &atts[i].len);
	}

	spec.from = o.from;
	spec.to = (const char *const *)o.to->pdata;
	spec.cc = (const char *const *)o.cc->pdata;
	spec.bcc = (const char *const *)o.bcc->pdata;
	spec.subject = o.subject;
	spec.text = text;
	spec.html = html;
	spec.attachments = atts;
	spec.n_attachments = o.attach->len;
	spec.expires = o.expires;
	spec.no_pull = o.no_pull;

	msg = send_build_message(&spec, &err);
	if (msg == NULL)
		die(err->code, "%s", err->message);
	rcpts = send_envelope_recipients(&spec, &err);
	if (rcpts == NULL)
		die(err->code, "%s", err->message);
	env_from = send_addr_spec(o.from, &err);
	if (env_from == NULL)
		die(err->code, "%s", err->message);

	if (o.dry_run) {
		bytes = send_message_bytes(msg, 0);
		fprintf(stderr, "%s: dry run: MAIL FROM:<%s>", progname,
		    env_from);
		for (i = 0; rcpts[i]; i++)
			fprintf(stderr, " RCPT TO:<%s>", rcpts[i]);
		fputc('\n', stderr);
		if (fwrite(bytes->data, 1, bytes->len, stdout) != bytes->len ||
		    fflush(stdout) != 0)
			die(EX_IOERR, "cannot write the message: %s",
			    g_strerror(errno));
		status = EX_OK;
	} else {
		struct send_smtp_opts so = { 0 };

		if (o.user)
			password = get_password(&o, host);
		bytes = send_message_bytes(msg, 1);
		so.host = host;
		so.port = port;
		so.tls = tls;
		so.user = o.user;
		so.password = password;
		so.ca_file = o.ca_file;
		so.connect_timeout = o.timeout < CONNECT_TIMEOUT_DEFAULT ?
		    o.timeout : CONNECT_TIMEOUT_DEFAULT;
		so.idle_timeout = o.timeout;
		so.envelope_from = env_from;
		so.recipients = (const char *const *)rcpts;
		so.data = bytes->data;
		so.len = bytes->len;
		so.transcript = o.transcript ? stdout : NULL;
		status = send_smtp(&so, &err);
		if (password)
			sodium_free(password);
		if (status != EX_OK) {
			fprintf(stderr, "%s: %s\n", progname, err->message);
			g_error_free(err);
		}
	}

	g_byte_array_free(bytes, TRUE);
	g_object_unref(msg);
	g_strfreev(rcpts);
	g_free(env_from);
	g_free(host);
	g_free(text);
	g_free(html);
	for (i = 0; i < o.attach->len; i++) {
		g_free((char *)atts[i].name);
		g_free((guint8 *)atts[i].data);
	}
	g_free(atts);
	g_ptr_array_free(o.to, TRUE);
	g_ptr_array_free(o.cc, TRUE);
	g_ptr_array_free(o.bcc, TRUE);
	g_ptr_array_free(o.attach, TRUE);
	return status;
}
