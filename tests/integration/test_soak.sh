#!/bin/sh
# The short soak of make check: tests/soak/soak.sh (make soak) with 500
# messages in each OnError mode (tempfail, then accept: 1,000 in all), up
# to 1 MiB each, a new SMTP session every 5 messages, every fault kind
# once per mode (the store unwritable for 8 s after a commit has failed
# on it), the load over about 100 s a mode. Ports 10530, 10531 (Postfix)
# and 18130 (nginx), as soak.sh. About five minutes on a 2-processor
# machine. Ends with "N passed, N failed".
O=${O:-.}
SOAK_MESSAGES=${SOAK_MESSAGES:-500} \
SOAK_MAX_SIZE=${SOAK_MAX_SIZE:-1048576} \
SOAK_LOAD_SECONDS=${SOAK_LOAD_SECONDS:-100} \
SOAK_FAULT_ROUNDS=${SOAK_FAULT_ROUNDS:-1} \
SOAK_HOLD_UNWRITABLE=${SOAK_HOLD_UNWRITABLE:-8} \
O=$O exec sh tests/soak/soak.sh
