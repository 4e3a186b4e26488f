/* The null milter of bench_milter.sh: negotiates like pullmail-milter (the
 * same actions, the same protocol steps switched off, the same steps
 * without an answer, SMFIP_NR_*), receives the same commands and accepts
 * every message unchanged, so the benchmark separates the milter
 * protocol's cost from pullmail's work.
 * usage: null_milter SOCKET */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <libmilter/mfapi.h>

/* The steps pullmail-milter does not answer (milter/callbacks.c). Every
 * connection negotiates the same flags with the same MTA, so one global
 * copy is enough here. */
#define NO_REPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
static _Atomic unsigned long agreed;   /* written by every connection */

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx; (void)f2; (void)f3;
	*pf0 = f0 & (SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS);
	*pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_HDR_LEADSPC | NO_REPLY_STEPS);
	agreed = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* Each step answers as pullmail's does: nothing where agreed. */
static sfsistat
go_on(unsigned long step)
{
	return (agreed & step) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	(void)ctx; (void)host; (void)addr;
	return go_on(SMFIP_NR_CONN);
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return go_on(SMFIP_NR_MAIL);
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return go_on(SMFIP_NR_RCPT);
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx; (void)name; (void)value;
	return go_on(SMFIP_NR_HDR);
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return go_on(SMFIP_NR_EOH);
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *b, size_t len)
{
	(void)ctx; (void)b; (void)len;
	return go_on(SMFIP_NR_BODY);
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;

	if (argc != 2) {
		fprintf(stderr, "usage: null_milter SOCKET\n");
		return 64;
	}
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = "null";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS;
	desc.xxfi_connect = null_connect;
	desc.xxfi_envfrom = null_envfrom;
	desc.xxfi_envrcpt = null_envrcpt;
	desc.xxfi_header = null_header;
	desc.xxfi_eoh = null_eoh;
	desc.xxfi_body = null_body;
	desc.xxfi_eom = null_eom;
	desc.xxfi_negotiate = null_negotiate;
	if (smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "null_milter: cannot listen on %s\n", argv[1]);
		return 69;
	}
	if (strncmp(argv[1], "unix:", 5) == 0)
		chmod(argv[1] + 5, 0666);
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
