/* pullmailctl: expiry, revocation, keep, inspection and self-check of the
 * pullmail store (pullmailctl(8)). The command line is parsed in
 * tools/ctl_main.c, the commands live in tools/ctl_*.c. */
#include <stdio.h>

#include "tools/ctl.h"

int
main(int argc, char **argv)
{
	return ctl_main(argc, argv, stdout, stderr);
}
