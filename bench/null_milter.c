/* The null milter of bench_milter.sh: negotiates like a rewriting milter
 * (same actions asked for) and accepts every message unchanged, so the
 * benchmark separates the milter protocol's cost from pullmail's work.
 * usage: null_milter SOCKET */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <libmilter/mfapi.h>

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx; (void)f2; (void)f3;
	*pf0 = f0 & (SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS);
	*pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_HDR_LEADSPC);
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *b, size_t len)
{
	(void)ctx; (void)b; (void)len;
	return SMFIS_CONTINUE;
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
