/* Logging to syslog or, in the foreground, to stderr as
 * "ident[pid]: level: text". Control characters in the text (which may carry
 * an address or a queue id from the MTA) are replaced by '?' so that one call
 * is always one line. No function here takes a token or a key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "token.h"

#define LOG_LINE_MAX 2048
#define LOG_IDENT_MAX 64

static char log_ident[LOG_IDENT_MAX] = "pullmail";
static int log_to_stderr = 1;
static int log_threshold = LOG_INFO;

static const char *
level_name(int priority)
{
	switch (LOG_PRI(priority)) {
	case LOG_EMERG: return "emerg";
	case LOG_ALERT: return "alert";
	case LOG_CRIT: return "crit";
	case LOG_ERR: return "err";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

/* Called at start-up and on reload, before threads log concurrently. */
void
log_init(const char *ident, int to_stderr, int facility, int level)
{
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_stderr = to_stderr;
	log_set_level(level);
	if (!to_stderr) {
		closelog();
		openlog(log_ident, LOG_PID, facility);
	}
}

int
log_uses_stderr(void)
{
	return log_to_stderr;
}

void
log_set_level(int level)
{
	__atomic_store_n(&log_threshold, LOG_PRI(level), __ATOMIC_RELAXED);
}

static void
sanitise(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
emit(int priority, char *text)
{
	char line[LOG_LINE_MAX + LOG_IDENT_MAX + 48];
	int n;
	size_t off = 0;

	sanitise(text);
	if (!log_to_stderr) {
		syslog(LOG_PRI(priority), "%s", text);
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s\n", log_ident,
	    (long)getpid(), level_name(priority), text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line, so lines from several threads do not mix. */
	while (off < (size_t)n) {
		ssize_t w = write(STDERR_FILENO, line + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static int
enabled(int priority)
{
	return LOG_PRI(priority) <=
	    __atomic_load_n(&log_threshold, __ATOMIC_RELAXED);
}

void
log_vmsg(int priority, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX];

	if (!enabled(priority))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	emit(priority, text);
}

void
log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, fmt, ap);
	va_end(ap);
}

void
log_message(int priority, const char *queue_id, const struct storage_id *id,
    const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	size_t off = 0;
	va_list ap;
	int n;

	if (!enabled(priority))
		return;
	if (queue_id != NULL) {
		n = snprintf(text, sizeof(text), "%.64s: ", queue_id);
		off = n > 0 ? (size_t)n : 0;
	}
	if (id != NULL) {
		/* Only the first 8 hex characters: enough to find the
		 * object, and the id is not secret anyway. */
		n = snprintf(text + off, sizeof(text) - off, "id=%.8s: ",
		    id->hex);
		off += n > 0 ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	vsnprintf(text + off, sizeof(text) - off, fmt, ap);
	va_end(ap);
	emit(priority, text);
}
