/* Checks of milter protocol packets that libmilter does not make itself
 * (milter/main.c applies them to every command libmilter reads). */
#ifndef PULLMAIL_MILTER_PROTOCOL_H
#define PULLMAIL_MILTER_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the data of a macro command (SMFIC_MACRO: the letter of the
 * command the macros belong to, then name and value strings, each ending
 * in NUL) is a whole list of name/value pairs. libmilter's smfi_getsymval
 * steps through the list two strings at a time and reads past its end
 * when the number of strings is odd. */
bool milter_macros_wellformed(const char *buf, size_t len);

#endif
