/* English: the catalogue (lang.h). The summary's words are in
 * templates/en/. */
#include "lang.h"

const struct lang lang_en = {
	.tag = "en",
	.months = { "January", "February", "March", "April", "May", "June",
	    "July", "August", "September", "October", "November",
	    "December" },
	.date_format = "{day} {month} {year}, {time} UTC",
	.decimal_point = '.',
	.byte = "byte", .bytes = "bytes",
	.summary_incomplete = {
	    "  This message has parts the summary could not list: open it\n"
	    "  to see everything.\n",
	    "<li>This message has parts the summary could not list: open it "
	    "to see everything.</li>\n" },
	.page = {
		.from = "From", .to = "To", .cc = "Cc", .date = "Date",
		.subject = "Subject", .no_subject = "(no subject)",
		.message = "Message", .formatted = "Formatted message",
		.images = "Images", .attachments = "Attachments",
		.eml = "Download the original (.eml) to import it into your "
		    "mail program",
		.expires = "This message can be read until %s.",
		.keep = "Keep it longer (%s more days)",
		.kept = "Done: the message is now kept longer.",
		.capped = "This is the longest the sender keeps messages.",
		.show_remote = "Show remote images in this view",
		.html_title = "Formatted message (sandboxed)",
		.no_body = "This message has no text.",
		.download = "download",
		.headers = "Message headers",
		.left_out = "This message has too many parts to show them all: "
		    "%s more are not listed here. Download the original (.eml) "
		    "to see everything.",
		.left_out_some = "This message has too many parts to show them "
		    "all: some are not listed here. Download the original "
		    "(.eml) to see everything.",
		.receipt_ask = "The sender asked to be told when you read this message.",
		.receipt_send = "Send a read receipt",
		.receipt_no = "No",
		.receipt_sent = "Done: a read receipt was sent to the sender.",
		.receipt_refused = "Done: no read receipt will be sent.",
		.receipt_decided = "A read receipt was already sent or declined for this message.",
		.receipt_failed = "The read receipt could not be sent now. Please try again later.",
		.err_title = {
			[LANG_E404] = "Not found",
			[LANG_E410] = "Gone",
			[LANG_E500] = "Server error",
			[LANG_E405] = "Method not allowed",
			[LANG_E413] = "Request too large",
			[LANG_E403] = "Forbidden",
			[LANG_E408] = "Request timeout" },
		.err_text = {
			[LANG_E404] = "There is no message at this link. Check "
			    "that the whole link was copied.",
			[LANG_E410] = "This message has expired or was "
			    "withdrawn by its sender.",
			[LANG_E500] = "The message could not be read because "
			    "it is damaged. The sender's administrator has "
			    "been told.",
			[LANG_E405] = "This address does not accept that kind "
			    "of request.",
			[LANG_E413] = "The request was too large.",
			[LANG_E403] = "The request did not come from this "
			    "site's own page.",
			[LANG_E408] = "The request took too long to arrive. "
			    "Please try again." },
	},
};
