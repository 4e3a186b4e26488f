/* The floors of the page benchmarks: a program that does no work but
 * answers every request with a fixed page of the size given on the command
 * line (default 20 KiB, about the size of the message page), so
 * bench_web.sh can show what nginx + wrk + libfcgi alone reach on this
 * machine. As a FastCGI responder it is started by spawn-fcgi like
 * pullmail-web; as a CGI program (standard input not a socket), linked
 * with the same libraries as pullmail-web, it shows what starting such a
 * program costs before it does anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcgiapp.h>

int
main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 20 * 1024;
	char *body = malloc(size + 1);
	char head[256];
	FCGX_Request req;

	if (body == NULL || FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	memset(body, 'x', size);
	int hl = snprintf(head, sizeof head, "Status: 200 OK\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n", size);
	if (FCGX_IsCGI()) {
		fwrite(head, 1, (size_t)hl, stdout);
		fwrite(body, 1, size, stdout);
		free(body);
		return 0;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(head, hl, req.out);
		FCGX_PutStr(body, (int)size, req.out);
		/* Closes as pullmail-web does (cgi/main.c, finish_fcgi). */
		if (FCGX_GetChar(req.in) == EOF && FCGX_GetError(req.in) == 0 &&
		    !req.keepConnection)
			FCGX_Detach(&req);
		FCGX_Finish_r(&req);
	}
	free(body);
	return 0;
}
