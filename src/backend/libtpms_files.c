/* SPDX-License-Identifier: BSD-3-Clause */
/* The libtpms backend's files as blobs, for state import and export. */
#include "backend/libtpms_files.h"
#include "backend/state_probe.h"
#include "backend/state_store.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void libtpms_blobs_free(struct libtpms_blobs *b)
{
    free(b->nv);
    free(b->vol);
    memset(b, 0, sizeof(*b));
}

int libtpms_blobs_read(const char *dir, struct libtpms_blobs *b)
{
    struct state_info nvi, voli;
    struct state_store *st;
    int err;

    memset(b, 0, sizeof(*b));
    if ((err = state_store_open_locked(dir, STATE_STORE_INSPECT, &st)) < 0)
        return err;
    err = state_store_read(st, STATE_NV_FILE, STATE_TYPE_NV, &b->nv, &nvi);
    if (err == -ENOENT)
        LOG_ERROR("%s holds no tpmcrb TPM (no %s)", dir, STATE_NV_FILE);
    if (err < 0)
        goto unlock;
    b->nv_len = nvi.len;
    err = state_store_read_slots(st, STATE_VOL_FILE, STATE_TYPE_VOL, &b->vol,
                                 &voli);
    if (err == 0 && voli.link != nvi.generation) {
        /* Left by a process that died between its two writes. */
        free(b->vol);
        b->vol = NULL;
    } else if (err == 0) {
        b->vol_len = voli.len;
    } else if (err != -ENOENT) {
        goto unlock;
    }
    err = 0;
unlock:
    state_store_release(st);
    if (err < 0)
        libtpms_blobs_free(b);
    return err;
}

int libtpms_blobs_write(const char *dir, const struct libtpms_blobs *b)
{
    struct state_info nvi = { .type = STATE_TYPE_NV, .generation = 1,
                              .len = b->nv_len };
    struct state_info voli = { .type = STATE_TYPE_VOL, .generation = 1,
                               .link = 1, .len = b->vol_len };
    struct state_store *st;
    int err;

    /* As an owner: never under a running VM or pipe. */
    if ((err = state_store_open_locked(dir, STATE_STORE_OWNER, &st)) < 0)
        return err;
    err = state_store_write(st, STATE_NV_FILE, &nvi, b->nv, true);
    if (err == 0 && b->vol)
        err = state_store_write_slots(st, STATE_VOL_FILE, &voli, b->vol, true);
    state_store_release(st);
    return err;
}
