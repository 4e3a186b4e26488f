/* libFuzzer target: config_load on arbitrary bytes. The input goes into a
 * memfd so that config_load reads it through the same path as a real file;
 * whatever happens, everything is freed (LeakSanitizer checks). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char v4[4] = { 10, 1, 2, 3 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	char path[64];
	struct config *cfg;
	char *err = NULL;
	size_t off = 0;
	int fd;

	fd = memfd_create("pullmail.conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cfg = config_load(path, &err);
	if (cfg != NULL) {
		/* Exercise what a program reads after loading. */
		(void)config_cidr_match(&cfg->internal_hosts, AF_INET, v4);
		(void)config_cidr_match(&cfg->internal_hosts, AF_INET6, v6);
		if (err != NULL)
			abort();   /* success must not leave a message */
		config_unref(config_ref(cfg));
		config_unref(cfg);
	} else {
		/* Every failure says which file it is about. */
		if (err == NULL || strncmp(err, path, strlen(path)) != 0)
			abort();
		g_free(err);
	}
	close(fd);
	return 0;
}
