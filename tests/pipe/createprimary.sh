#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Like /dev/tpmrm0, the pipe flushes at exit what its client left loaded:
# more createprimary calls than the TPM has object slots all succeed. With
# --no-flush (a raw TPM) the same sequence runs out of object memory, which
# shows that the flush is what makes it work.
. "$(dirname "$0")/lib.sh"

for i in 1 2 3 4 5; do
    t2 createprimary -C o -c "p$i.ctx" >/dev/null || fail "createprimary #$i"
done

RAW="cmd:$TPMCRB pipe --state $WORK/raw --no-flush"
for i in 1 2 3 4; do
    if ! timeout "$LIMIT" tpm2 createprimary -T "$RAW" -C o -c "r$i.ctx" \
            >/dev/null 2> raw.err; then
        grep -q "out of memory for object" raw.err ||
            fail "--no-flush failed for another reason: $(cat raw.err)"
        echo "ok (--no-flush ran out of objects at #$i)"
        exit 0
    fi
done
fail "--no-flush never ran out of object slots: the flush test proves nothing"
