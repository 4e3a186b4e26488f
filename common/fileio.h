/* Reading the beginning of a file whole, for the fs backend and the read
 * state (readstate.c, which the static CGI front links too: plain C only
 * here). */
#ifndef PULLMAIL_FILEIO_H
#define PULLMAIL_FILEIO_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/* Reads up to len bytes from the start of fd, retrying short reads and
 * EINTR: what was read (less than len only at the end of the file), or -1
 * with errno set. */
static inline ssize_t
fileio_pread_head(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

#endif
