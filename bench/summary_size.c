/* Sizes of the summary body (both parts, as delivered) for 0 to 5
 * attachments, in every shipped language, with short names, with names
 * long enough to be shortened, and with long accented ones (as the 2 KB case
 * of tests/unit/test_summary.c); prints one line per case and the median
 * and largest. With -w DIR, also writes each case's parts, decoded, as
 * DIR/LANG-N-STYLE.txt and .html, to look at in a browser.
 *
 *   summary_size [-t TEMPLATEDIR] [-w DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "lang.h"
#include "mimescan.h"
#include "summary.h"

#define MAX_ATT 5

#define OOXML "application/vnd.openxmlformats-officedocument."
#define STYLES 3

/* Short names; long ones (shortened, types shown); long accented ones with
 * types their extensions imply (as tests/unit/test_summary.c's 2 KB case). */
static const struct { const char *name, *type; uint64_t size; } att[STYLES][MAX_ATT] = {
	{ { "report-2026-Q3.pdf", "application/pdf", 248000 },
	  { "site-photo.jpg", "image/jpeg", 2400000 },
	  { "budget.xlsx", "application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.sheet", 38500 },
	  { "notes.txt", "text/plain", 1200 },
	  { "slides.pptx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.presentation", 5100000 } },
	{ { "Quarterly-financial-report-2026-Q3-final-board-version-0.pdf",
	    "application/pdf", 248000 },
	  { "Quarterly-financial-report-2026-Q3-final-board-version-1.jpg",
	    "image/jpeg", 2400000 },
	  { "Quarterly-financial-report-2026-Q3-final-board-version-2.xlsx",
	    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	    38500 },
	  { "Quarterly-financial-report-2026-Q3-final-board-version-3.zip",
	    "application/zip", 12000000 },
	  { "Quarterly-financial-report-2026-Q3-final-board-version-4.pptx",
	    "application/vnd.openxmlformats-officedocument."
	    "presentationml.presentation", 5100000 } },
	{ { "Relatório-financeiro-trimestral-2026-T3-versão-final-0.docx",
	    OOXML "wordprocessingml.document", 248000 },
	  { "Relatório-financeiro-trimestral-2026-T3-versão-final-1.xlsx",
	    OOXML "spreadsheetml.sheet", 2400000 },
	  { "Relatório-financeiro-trimestral-2026-T3-versão-final-2.pptx",
	    OOXML "presentationml.presentation", 38500 },
	  { "Relatório-financeiro-trimestral-2026-T3-versão-final-3.docx",
	    OOXML "wordprocessingml.document", 12000000 },
	  { "Relatório-financeiro-trimestral-2026-T3-versão-final-4.xlsx",
	    OOXML "spreadsheetml.sheet", 5100000 } },
};
static const char *const style_name[STYLES] = { "short", "long", "accent" };

/* Part i of the summary (0 text/plain, 1 text/html), decoded. */
static char *
part_text(const struct summary *sum, int i)
{
	char *whole = g_strdup_printf("MIME-Version: 1.0\r\nContent-Type: %s"
	    "\r\n\r\n%s", sum->content_type, sum->body);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(whole,
	    strlen(whole));
	GMimeParser *p = g_mime_parser_new_with_stream(ms);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	char *text = NULL;

	if (msg != NULL) {
		GMimeObject *top = g_mime_message_get_mime_part(msg);
		GMimeObject *h = g_mime_multipart_get_part(
		    (GMimeMultipart *)top, i);
		text = g_mime_text_part_get_text((GMimeTextPart *)h);
		g_object_unref(msg);
	}
	g_object_unref(p);
	g_object_unref(ms);
	g_free(whole);
	return text;
}

static int
cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *tdir = "templates", *wdir = NULL;
	size_t sizes[128], n = 0;
	int c;

	while ((c = getopt(argc, argv, "t:w:")) != -1) {
		if (c == 't')
			tdir = optarg;
		else if (c == 'w')
			wdir = optarg;
		else
			return 2;
	}
	g_mime_init();
	printf("%-6s %3s %6s %6s %6s\n", "lang", "att", "short", "long",
	    "accent");
	for (size_t l = 0; l < lang_count(); l++) {
		const char *tag = lang_at(l)->tag;
		for (int k = 0; k <= MAX_ATT; k++) {
			printf("%-6s %3d", tag, k);
			for (int style = 0; style < STYLES; style++) {
				struct mimescan s;
				memset(&s, 0, sizeof s);
				s.from = style == 2 ? "João Magalhães <joao."
				    "magalhaes@financeiro.example.com.br>" :
				    "Alice Sender <alice.sender@finance."
				    "example.org>";
				s.subject = style == 2 ? "Relatórios "
				    "trimestrais para a reunião do conselho" :
				    style ? "Quarterly reports and "
				    "presentations for the board meeting" :
				    "Site report for March";
				s.date = "Sun, 22 Nov 2026 10:00:00 +0000";
				s.n_attachments = (size_t)k;
				for (int i = 0; i < k; i++) {
					s.v[i].name = (char *)att[style][i].name;
					s.v[i].type = (char *)att[style][i].type;
					s.v[i].size = att[style][i].size;
				}
				struct summary_input in = { .lang = tag,
				    .template_dir = tdir, .scan = &s,
				    .link = "https://mail.finance.example.org/m/"
				    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				    .expires = 1795000000 };
				struct summary sum;
				char *err = NULL;
				if (summary_build(&in, &sum, &err) != 0) {
					fprintf(stderr, "%s\n", err);
					return 1;
				}
				printf(" %6zu", sum.body_len);
				sizes[n++] = sum.body_len;
				if (wdir != NULL) {
					for (int i = 0; i < 2; i++) {
						char *h = part_text(&sum, i);
						char *path = g_strdup_printf(
						    "%s/%s-%d-%s.%s", wdir, tag,
						    k, style_name[style],
						    i ? "html" : "txt");
						if (h == NULL || !g_file_set_contents(
						    path, h, -1, NULL))
							return 1;
						g_free(path);
						g_free(h);
					}
				}
				summary_free(&sum);
			}
			printf("\n");
		}
	}
	qsort(sizes, n, sizeof sizes[0], cmp);
	printf("median %zu, largest %zu bytes (%zu summaries)\n",
	    n % 2 ? sizes[n / 2] : (sizes[n / 2 - 1] + sizes[n / 2]) / 2,
	    sizes[n - 1], n);
	return 0;
}
