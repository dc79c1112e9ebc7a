/* SPDX-License-Identifier: BSD-3-Clause */
/* A "guest" in another process: maps the file `tpmcrb serve` serves and
 * drives the CRB protocol with plain loads and stores.
 * usage: serve-client FILE OFFSET EXPECTED_STARTUP_RC COUNT */
#include "util/tpm_cmd.h"
#include "shared_window.h"

#include <stdio.h>
#include <stdlib.h>

static int send(struct crb_driver *d, uint32_t code, const char *p, uint32_t n,
                uint8_t *rsp)
{
    uint8_t cmd[64];
    uint32_t len = tpm_build_command(cmd, sizeof(cmd), code, (const uint8_t *)p, n);
    uint32_t rlen;
    int err = crb_driver_transmit(d, cmd, len, rsp, 4096, &rlen);

    if (err < 0) {
        fprintf(stderr, "serve-client: transmit failed: %d\n", err);
        exit(1);
    }
    return (int)tpm_hdr_code(rsp);
}

int main(int argc, char **argv)
{
    struct crb_driver d;
    uint8_t rsp[4096];
    int rc, count;

    if (argc != 5)
        return 2;
    if (shared_window_driver(argv[1], argv[2], &d) < 0)
        return 1;
    rc = send(&d, TPM_CC_Startup, "\0\0", 2, rsp);
    if (rc != (int)strtol(argv[3], NULL, 0)) {
        fprintf(stderr, "serve-client: TPM2_Startup rc %#x, expected %s\n", rc, argv[3]);
        return 1;
    }
    count = atoi(argv[4]);
    for (int i = 0; i < count; i++) {
        rc = send(&d, TPM_CC_GetRandom, "\0\x10", 2, rsp);
        if (rc != 0 || tpm_hdr_size(rsp) != 28) {
            fprintf(stderr, "serve-client: GetRandom rc %#x size %u\n", rc,
                    tpm_hdr_size(rsp));
            return 1;
        }
    }
    printf("serve-client: %d commands, %llu of %llu ready at the first read\n",
           count, (unsigned long long)d.ready_at_first_read,
           (unsigned long long)d.sent);
    return 0;
}
