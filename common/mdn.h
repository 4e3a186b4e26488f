/* Read receipts: message disposition notifications (RFC 8098) that the
 * reader of a message chooses to send, never automatically.
 *
 * The rules this file applies before a receipt is offered (mdn_check), in
 * this order; any failing one denies it:
 *   1. the original has exactly one Disposition-Notification-To field, and
 *      it holds exactly one mailbox (no group, no list of several: RFC 8098
 *      section 2.1 leaves several addresses to confirmation we cannot give
 *      per address, so we send to none);
 *   2. that address is a plain ASCII addr-spec (no quoted local part, no
 *      white space or control character, not starting with "-"), at most
 *      254 characters;
 *   3. if the original has a Return-Path, its address is the same (ASCII
 *      case ignored): RFC 8098 section 2.1 says a receipt must not go
 *      without the user's confirmation when they differ, and we deny it
 *      outright; a message as submitted usually has none, and then
 *   4. the address is the one mailbox in From (a submitted message's
 *      sender asks for its own receipt, never a third party's);
 *   5. the original has exactly one recipient mailbox in To and Cc
 *      together: the receipt's Final-Recipient must name who displayed
 *      it, and a link does not say which of several recipients clicked;
 *   6. no Disposition-Notification-Options parameter is marked
 *      "required" (section 2.2: we support none, so we must not send).
 * Sent once per message (the store's read state holds the decision),
 * rate-limited, only on the reader's POST. */
#ifndef PULLMAIL_MDN_H
#define PULLMAIL_MDN_H

#include <stddef.h>
#include <stdint.h>
#include <gmime/gmime.h>

enum mdn_request {
	MDN_NOT_ASKED = 0,  /* no Disposition-Notification-To */
	MDN_OFFER,          /* asked, and allowed by the rules above */
	MDN_DENIED,         /* asked, but a rule above forbids it */
};

struct mdn_target {
	char *to;           /* the Disposition-Notification-To address */
	char *recipient;    /* the original's one recipient */
};

/* Whether the original asks for a receipt and may get one; on MDN_OFFER
 * *t holds the addresses (mdn_target_clear), on MDN_DENIED *why says which
 * rule (a static string, for the log). */
enum mdn_request mdn_check(GMimeMessage *msg, struct mdn_target *t,
    const char **why);
void mdn_target_clear(struct mdn_target *t);

/* The receipt as a message (multipart/report;
 * report-type=disposition-notification: a human-readable part and a
 * message/disposition-notification part with Reporting-UA, Final-Recipient,
 * Original-Message-ID when the original has one, and Disposition:
 * manual-action/MDN-sent-manually; displayed). reporting_host names the
 * reporting host. g_free() the result; *len gets its length. */
char *mdn_build(GMimeMessage *orig, const struct mdn_target *t,
    const char *reporting_host, int64_t now, size_t *len);

/* Runs argv (the sendmail command) with "-i", "-f", "<>" (a null return
 * path: RFC 8098 section 2.1, no notification about a notification), "--"
 * and the address, and writes msg to its standard input, each at most
 * MDN_SENDMAIL_TIMEOUT seconds. 0 when it exited 0; -1 with *err
 * (g_free()) when the receipt was not sent; MDN_SEND_UNKNOWN with *err
 * when sendmail had read all of it and was then killed for taking too
 * long (it may have queued the receipt: the caller must not offer to send
 * it again). */
#define MDN_SENDMAIL_TIMEOUT 30
#define MDN_SEND_UNKNOWN 1
int mdn_send(char *const *argv, const char *to, const char *msg, size_t len,
    char **err);

#endif
