/* Inbound mode of pullmail-milter (-i): on a receiving MTA, after a DKIM
 * verifier, replaces a trusted sender's summary by its original. */
#ifndef PULLMAIL_MILTER_INBOUND_CALLBACKS_H
#define PULLMAIL_MILTER_INBOUND_CALLBACKS_H

#include <libmilter/mfapi.h>

#include "config.h"

extern struct smfiDesc inbound_desc;

/* The configuration new connections take (a reference is kept). */
void inbound_set_config(struct config *cfg);

/* Whether a recipient address (with or without <>) is in the opt-out map
 * text (inbound.c documents its format). */
bool inbound_opted_out(const char *map, const char *rcpt);

sfsistat inbound_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3);
sfsistat inbound_envfrom(SMFICTX *ctx, char **argv);
sfsistat inbound_envrcpt(SMFICTX *ctx, char **argv);
sfsistat inbound_header(SMFICTX *ctx, char *name, char *value);
sfsistat inbound_eom(SMFICTX *ctx);
sfsistat inbound_abort(SMFICTX *ctx);
sfsistat inbound_close(SMFICTX *ctx);

#endif
