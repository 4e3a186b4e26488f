/* The smfi_* calls the callbacks make, behind a table so that tests run the
 * callbacks in-process against a fake MTA (OpenDMARC's test.c does the same).
 * milter_seam points at the libmilter table in the daemon. */
#ifndef PULLMAIL_MILTER_SEAM_H
#define PULLMAIL_MILTER_SEAM_H

#include <libmilter/mfapi.h>

struct milter_seam {
	void *(*getpriv)(SMFICTX *ctx);
	int (*setpriv)(SMFICTX *ctx, void *priv);
	char *(*getsymval)(SMFICTX *ctx, char *name);
	int (*chgheader)(SMFICTX *ctx, char *name, int index, char *value);
	int (*addheader)(SMFICTX *ctx, char *name, char *value);
	int (*replacebody)(SMFICTX *ctx, unsigned char *body, int len);
	int (*setreply)(SMFICTX *ctx, char *rcode, char *xcode, char *msg);
	int (*setsymlist)(SMFICTX *ctx, int stage, char *macros);
};

extern const struct milter_seam milter_seam_libmilter;
extern const struct milter_seam *milter_seam;

#endif
