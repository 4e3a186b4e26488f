/* What a cache of something made from a stored object binds to: a short
 * text that changes whenever the object's bytes may have (fs: the file's
 * inode, size and modification time; s3: the ETags of the object and of
 * its patched header). Two reads with equal versions saw the same bytes.
 * Plain C: the page caches and the CGI front include it. */
#ifndef PULLMAIL_STORE_VERSION_H
#define PULLMAIL_STORE_VERSION_H

/* With its NUL; the rest of the buffer is zero (comparable with memcmp). */
#define STORE_VERSION_MAX 160

#endif
