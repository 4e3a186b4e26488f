/* store_fs_peek.h */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "store_fs_peek.h"

void
store_fs_version(const struct stat *sb, char version[STORE_VERSION_MAX])
{
	memset(version, 0, STORE_VERSION_MAX);
	snprintf(version, STORE_VERSION_MAX, "fs:%llu:%llu:%lld.%09ld",
	    (unsigned long long)sb->st_ino, (unsigned long long)sb->st_size,
	    (long long)sb->st_mtim.tv_sec, (long)sb->st_mtim.tv_nsec);
}

int
store_fs_peek(const char *store_dir, const struct storage_id *id,
    unsigned char *head, size_t head_len, char version[STORE_VERSION_MAX])
{
	char rel[STORE_FS_PATH_MAX];
	struct stat sb;
	int rc = -1;

	memset(version, 0, STORE_VERSION_MAX);
	int dirfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	if (fstat(dirfd, &sb) != 0 || (sb.st_mode & S_IWOTH)) {
		close(dirfd);
		return -1;
	}
	store_fs_object_path(id, rel);
	int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	close(dirfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    pread(fd, head, head_len, 0) == (ssize_t)head_len) {
		store_fs_version(&sb, version);
		rc = 0;
	}
	close(fd);
	return rc;
}
