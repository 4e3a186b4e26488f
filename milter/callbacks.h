/* The milter callbacks: one context per connection, one per message. */
#ifndef PULLMAIL_MILTER_CALLBACKS_H
#define PULLMAIL_MILTER_CALLBACKS_H

#include <libmilter/mfapi.h>

#include "config.h"
#include "store.h"

#define MILTER_HEADERS_MAX (8u << 20)  /* header bytes kept until eoh */

/* The configuration new connections use (a reference is taken; a reload
 * calls it again, connections keep the snapshot they started with) and the
 * store every message is sealed into. */
void callbacks_set_config(struct config *cfg);
void callbacks_set_store(struct store *st);

/* The callback table for smfi_register. */
extern struct smfiDesc callbacks_desc;

sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3);
sfsistat cb_connect(SMFICTX *ctx, char *host, struct sockaddr *addr);
sfsistat cb_envfrom(SMFICTX *ctx, char **argv);
sfsistat cb_envrcpt(SMFICTX *ctx, char **argv);
sfsistat cb_header(SMFICTX *ctx, char *name, char *value);
sfsistat cb_eoh(SMFICTX *ctx);
sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len);
sfsistat cb_eom(SMFICTX *ctx);
sfsistat cb_abort(SMFICTX *ctx);
sfsistat cb_close(SMFICTX *ctx);

#endif
