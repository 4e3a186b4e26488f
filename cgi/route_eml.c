/* GET /m/TOKEN/eml: the original message as a file to import into a mail
 * client, byte for byte as it was sealed. */
#include "route.h"

void
route_eml(struct route_ctx *c)
{
	struct web_response *rs = c->rs;

	rs->status = 200;
	route_common_headers(rs, WEB_CSP_DOWNLOAD);
	g_string_append(rs->headers, "Content-Type: message/rfc822\r\n"
	    "Content-Disposition: attachment; filename=\"message.eml\"\r\n");
	g_byte_array_append(rs->body, c->plain, c->plain_len);
}
