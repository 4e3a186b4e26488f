#include "seam.h"

const struct milter_seam milter_seam_libmilter = {
	.getpriv = smfi_getpriv,
	.setpriv = smfi_setpriv,
	.getsymval = smfi_getsymval,
	.chgheader = smfi_chgheader,
	.addheader = smfi_addheader,
	.replacebody = smfi_replacebody,
	.setreply = smfi_setreply,
	.setsymlist = smfi_setsymlist,
};

const struct milter_seam *milter_seam = &milter_seam_libmilter;
