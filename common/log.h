/* Logging to syslog (LOG_MAIL unless configured) or to stderr in the
 * foreground. No function here takes a token or a key: a message is named by
 * its MTA queue id and its storage id only.
 *
 * Error strings, everywhere in pullmail: a function that explains its
 * failures takes `char **err`. On failure it sets *err to a message made
 * with GLib (g_strdup, g_strdup_printf), which the caller owns and frees
 * with g_free(); on success *err is NULL. The message names what failed
 * (a file, a section and key, a directory) and never holds a token, a key
 * or message content, so the caller may log it as it is. */
#ifndef PULLMAIL_LOG_H
#define PULLMAIL_LOG_H

#include <stdarg.h>
#include <syslog.h>

struct storage_id;

/* ident: program name; to_stderr: foreground mode; facility/level from the
 * configuration ([log] Facility, Level). May be called again (reload). */
void log_init(const char *ident, int to_stderr, int facility, int level);
/* Whether log lines go to stderr (log_init's to_stderr). */
int log_uses_stderr(void);
void log_set_level(int level);

void log_msg(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* "QUEUEID: id=0123abcd: <text>". queue_id or id may be NULL. */
void log_message(int priority, const char *queue_id,
    const struct storage_id *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
