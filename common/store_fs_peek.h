/* The fs backend's object files seen without opening a store: their path
 * under StoreDir, and a look at one object's header and version. Plain C
 * without GLib: pullmail-web's small CGI front (cgi/front.c) answers kept
 * pages of an fs store with it; the s3 backend has no such short cut (the
 * front passes those requests to pullmail-web-render). */
#ifndef PULLMAIL_STORE_FS_PEEK_H
#define PULLMAIL_STORE_FS_PEEK_H

#include <stddef.h>
#include <stdio.h>
#include "store_version.h"
#include "token.h"

/* Where the fs backend keeps an object under StoreDir ("ab/abcdef....pull"). */
#define STORE_FS_PATH_MAX 64
#define STORE_FS_OBJECT_SUFFIX ".pull"
static inline void
store_fs_object_path(const struct storage_id *id, char buf[STORE_FS_PATH_MAX])
{
	snprintf(buf, STORE_FS_PATH_MAX, "%.2s/%s" STORE_FS_OBJECT_SUFFIX, id->hex, id->hex);
}

struct stat;
/* The version of an object file with this status. */
void store_fs_version(const struct stat *sb, char version[STORE_VERSION_MAX]);

/* The first head_len bytes of the object and its version (the file's
 * inode, size and modification time, store_version.h), refusing a
 * world-writable store_dir as the store does. 0, or -1 (no such object,
 * shorter than head_len, not a regular file). */
int store_fs_peek(const char *store_dir, const struct storage_id *id,
    unsigned char *head, size_t head_len, char version[STORE_VERSION_MAX]);

#endif
