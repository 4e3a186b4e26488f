/* GET /m/TOKEN/part/N: one leaf part of the message, always as a download
 * (Content-Disposition: attachment, RFC 6266 filename*) unless it is a
 * raster image shown inline by the page; never as HTML on this origin. */
#include <string.h>

#include "html.h"
#include "route.h"

void
route_part(struct route_ctx *c)
{
	struct web_response *rs = c->rs;

	if (c->part >= c->m.leaves->len) {
		route_error(c, 404);
		return;
	}
	GMimeObject *o = c->m.leaves->pdata[c->part];
	bool download = request_query_has(c->query, "download=1");
	bool raster = web_part_is_raster(o);
	const char *name = web_part_filename(o);
	char fallback[32];

	if (name == NULL || name[0] == '\0') {
		g_snprintf(fallback, sizeof(fallback), "part-%u", c->part);
		name = fallback;
	}
	rs->status = 200;
	route_common_headers(rs, WEB_CSP_DOWNLOAD);
	if (raster) {
		char *type = web_part_mime_type(o);
		g_string_append_printf(rs->headers, "Content-Type: %s\r\n", type);
		g_free(type);
	} else {
		g_string_append(rs->headers,
		    "Content-Type: application/octet-stream\r\n");
	}
	g_string_append(rs->headers, raster && !download ?
	    "Content-Disposition: inline; filename=\"" :
	    "Content-Disposition: attachment; filename=\"");
	html_header_quoted(rs->headers, name, -1);
	g_string_append(rs->headers, "\"; filename*=");
	html_header_ext_value(rs->headers, name, -1);
	g_string_append(rs->headers, "\r\n");
	web_part_append_decoded(o, rs->body);
}
