/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Embedded libtpms backend.
 *
 * libtpms keeps one TPM in global state and calls its NVRAM and I/O
 * callbacks without a context, so there is at most one instance per
 * process (`active`). State lives in memory and, with a state directory,
 * in two files written through state_store:
 *   tpm2-nv.state        permanent (NV) state, fsynced whenever libtpms
 *                        stores it, before the command's response returns;
 *   tpm2-volatile.state.0/.1  volatile state in two slots rewritten in
 *                        place (state_store's slotted files: cheap enough
 *                        to save after every command); its header's link
 *                        field is the generation of the NV file it belongs
 *                        to, so volatile state older or newer than the NV
 *                        file (a process died between the two writes) is
 *                        detected and treated as a power loss.
 * Every save bumps a generation number; in PER_COMMAND mode a process
 * compares the generations on disk with its own before each command and
 * reloads libtpms when another process has moved the state on.
 */
#include "backend/backends.h"
#include "backend/state_probe.h"
#include "backend/state_store.h"
#include "util/byteorder.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>
#include <libtpms/tpm_tis.h>

#define NV_FILE   STATE_NV_FILE
#define VOL_FILE  STATE_VOL_FILE
#define TYPE_NV   STATE_TYPE_NV
#define TYPE_VOL  STATE_TYPE_VOL

#define BLOB_MAGIC   0x4c54504du /* snapshot blob: "MPTL" */
#define BLOB_VERSION 1u
#define BLOB_HEADER  16u

struct blob {
    uint8_t *data;
    uint32_t len;
};

struct libtpms_be {
    struct tpmcrb_backend base;
    enum tpmcrb_state_sync sync;
    struct state_store *store;  /* NULL: state in memory only */
    bool power_cycle;           /* the next power_on ignores volatile state */
    bool on;                    /* between power_on() and power_off() */
    bool powered;               /* libtpms is initialised */
    bool locked;                /* we hold the state directory lock */
    bool stale;                 /* memory may differ from disk: reload */
    bool nv_dirty;              /* libtpms stored NV that is not on disk */
    bool may_manufacture;       /* the directory was empty or missing */
    unsigned locality;          /* of the command being executed */
    uint32_t buffer_size;
    struct blob nv, vol;        /* last NV stored; volatile to resume from */
    uint64_t gen;               /* generation of the state we hold */
    uint64_t nv_gen;            /* generation of the NV file we hold */
    uint8_t *cmd;               /* private copy: libtpms decrypts in place */
    uint8_t *rsp;
    uint32_t rsp_size;
    /* cancel() since the command in execute() began (process()). */
    bool cancel_requested;
};

static struct libtpms_be *active;
static bool in_use;

static struct libtpms_be *to_be(struct tpmcrb_backend *be)
{
    return (struct libtpms_be *)be;
}

static void blob_free(struct blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* Takes ownership of @data. */
static void blob_set(struct blob *b, uint8_t *data, uint32_t len)
{
    free(b->data);
    b->data = data;
    b->len = len;
}

static int blob_copy(struct blob *b, const uint8_t *data, uint32_t len)
{
    uint8_t *p = malloc(len ? len : 1);

    if (!p)
        return -ENOMEM;
    memcpy(p, data, len);
    blob_set(b, p, len);
    return 0;
}

static const char *store_dir(struct libtpms_be *be)
{
    return be->store ? state_store_dir(be->store) : "(memory)";
}

/* ------------------------------------------------------------ callbacks */

static TPM_RESULT cb_nvram_init(void)
{
    return TPM_SUCCESS;
}

/* Only NV is served here; volatile state reaches libtpms through
 * TPMLIB_SetState() so that a rejected blob is reported against its file.
 * TPM_RETRY tells libtpms that no state exists yet (it then manufactures a
 * new TPM, or starts without volatile state). */
static TPM_RESULT cb_nvram_load(unsigned char **data, uint32_t *length,
                                uint32_t tpm_number, const char *name)
{
    (void)tpm_number;
    if (!active || strcmp(name, TPM_PERMANENT_ALL_NAME) || !active->nv.data)
        return TPM_RETRY;
    *data = malloc(active->nv.len);
    if (!*data)
        return TPM_FAIL;
    memcpy(*data, active->nv.data, active->nv.len);
    *length = active->nv.len;
    return TPM_SUCCESS;
}

/* libtpms stores its whole NV image after every command that changed it
 * (and once per MainInit); only a real change is written out. */
static TPM_RESULT cb_nvram_store(const unsigned char *data, uint32_t length,
                                 uint32_t tpm_number, const char *name)
{
    struct libtpms_be *be = active;

    (void)tpm_number;
    if (!be)
        return TPM_FAIL;
    if (strcmp(name, TPM_PERMANENT_ALL_NAME)) {
        LOG_DEBUG("libtpms: ignoring store of '%s'", name);
        return TPM_SUCCESS;
    }
    if (be->nv.data && be->nv.len == length &&
        !memcmp(be->nv.data, data, length))
        return TPM_SUCCESS;
    if (blob_copy(&be->nv, data, length) < 0)
        return TPM_FAIL;
    be->nv_dirty = true;
    return TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_delete(uint32_t tpm_number, const char *name,
                                  TPM_BOOL must_exist)
{
    (void)tpm_number; (void)name; (void)must_exist;
    return TPM_SUCCESS;
}

static TPM_RESULT cb_io_init(void)
{
    return TPM_SUCCESS;
}

static TPM_RESULT cb_get_locality(TPM_MODIFIER_INDICATOR *loc,
                                  uint32_t tpm_number)
{
    (void)tpm_number;
    *loc = active ? (TPM_MODIFIER_INDICATOR)active->locality : 0;
    return TPM_SUCCESS;
}

static struct libtpms_callbacks callbacks = {
    .sizeOfStruct = sizeof(struct libtpms_callbacks),
    .tpm_nvram_init = cb_nvram_init,
    .tpm_nvram_loaddata = cb_nvram_load,
    .tpm_nvram_storedata = cb_nvram_store,
    .tpm_nvram_deletename = cb_nvram_delete,
    .tpm_io_init = cb_io_init,
    .tpm_io_getlocality = cb_get_locality,
};

/* ---------------------------------------------------------- TPM control */

/* Start libtpms on be->nv (none: manufacture a new TPM) and, when @vol,
 * resume be->vol. @nv_src/@vol_src name where the blobs came from. */
static int tpm_start(struct libtpms_be *be, bool vol, const char *nv_src,
                     const char *vol_src)
{
    uint32_t min, max, size;
    TPM_RESULT rc;

    if ((rc = TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2)) ||
        (rc = TPMLIB_RegisterCallbacks(&callbacks))) {
        LOG_ERROR("libtpms: cannot select TPM 2.0 (0x%x)", rc);
        return -EIO;
    }
    size = TPMLIB_SetBufferSize(be->buffer_size, &min, &max);
    if (size != be->buffer_size)
        LOG_WARN("libtpms: buffer size %u instead of %u (range %u-%u)", size,
                 be->buffer_size, min, max);
    if (be->nv.data &&
        (rc = TPMLIB_SetState(TPMLIB_STATE_PERMANENT, be->nv.data, be->nv.len))) {
        LOG_ERROR("libtpms rejected the NV state from %s (0x%x); it was left "
                  "untouched", nv_src, rc);
        return -EBADMSG;
    }
    if (vol &&
        (rc = TPMLIB_SetState(TPMLIB_STATE_VOLATILE, be->vol.data, be->vol.len))) {
        LOG_ERROR("libtpms rejected the volatile state from %s (0x%x); it was "
                  "left untouched", vol_src, rc);
        return -EBADMSG;
    }
    if ((rc = TPMLIB_MainInit())) {
        TPMLIB_Terminate();
        LOG_ERROR("libtpms failed to initialise (0x%x) with the state from %s",
                  rc, nv_src);
        return -EIO;
    }
    __atomic_store_n(&be->powered, true, __ATOMIC_RELEASE);
    return 0;
}

static void tpm_stop(struct libtpms_be *be)
{
    if (!be->powered)
        return;
    __atomic_store_n(&be->powered, false, __ATOMIC_RELEASE);
    TPMLIB_Terminate();
}

static int tpm_process(struct libtpms_be *be, const uint8_t *cmd,
                       uint32_t len, uint32_t *rsp_len)
{
    TPM_RESULT rc;

    memcpy(be->cmd, cmd, len);
    rc = TPMLIB_Process(&be->rsp, rsp_len, &be->rsp_size, be->cmd, len);
    if (rc) {
        LOG_ERROR("libtpms could not process a command (0x%x)", rc);
        return -EIO;
    }
    return 0;
}

static int get_state(enum TPMLIB_StateType type, struct blob *b)
{
    unsigned char *data = NULL;
    uint32_t len = 0;
    TPM_RESULT rc = TPMLIB_GetState(type, &data, &len);

    if (rc || !data) {
        LOG_ERROR("libtpms: cannot get its %s state (0x%x)",
                  type == TPMLIB_STATE_VOLATILE ? "volatile" : "permanent", rc);
        free(data);
        return -EIO;
    }
    blob_set(b, data, len);
    return 0;
}

/* ----------------------------------------------------------- disk state */

static int lock_store(struct libtpms_be *be)
{
    int err;

    if (!be->store || be->locked)
        return 0;
    if ((err = state_store_lock(be->store)) < 0)
        return err;
    be->locked = true;
    return 0;
}

static void unlock_store(struct libtpms_be *be)
{
    if (be->locked)
        state_store_unlock(be->store);
    be->locked = false;
}

/* The newest generation on disk, from the headers only. */
static int disk_generation(struct libtpms_be *be, uint64_t *gen)
{
    struct state_info nvi = { 0 }, voli = { 0 };
    int err;

    err = state_store_peek(be->store, NV_FILE, TYPE_NV, &nvi);
    if (err < 0 && err != -ENOENT)
        return err;
    err = state_store_peek_slots(be->store, VOL_FILE, TYPE_VOL, &voli);
    if (err < 0 && err != -ENOENT)
        return err;
    *gen = nvi.generation > voli.generation ? nvi.generation : voli.generation;
    return 0;
}

/* Read the state into be->nv and, @with_vol, be->vol. Volatile state that
 * does not pair with the NV file is dropped: some process died between the
 * two writes, which for the TPM is a power loss. */
static int load_files(struct libtpms_be *be, bool with_vol)
{
    struct state_info nvi = { 0 }, voli = { 0 };
    uint8_t *data;
    int err;

    blob_free(&be->nv);
    blob_free(&be->vol);
    be->nv_dirty = false;
    err = state_store_read(be->store, NV_FILE, TYPE_NV, &data, &nvi);
    if (err == 0)
        blob_set(&be->nv, data, nvi.len);
    else if (err != -ENOENT)
        return err;
    err = with_vol ? state_store_read_slots(be->store, VOL_FILE, TYPE_VOL,
                                            &data, &voli) : -ENOENT;
    if (err == 0)
        blob_set(&be->vol, data, voli.len);
    else if (err != -ENOENT)
        return err;
    if (!be->nv.data && !be->may_manufacture) {
        /* The NV file went away after open: never silently replace it. */
        LOG_ERROR("%s/%s is missing: refusing to create a new TPM in a "
                  "directory that held one", store_dir(be), NV_FILE);
        return -ENOENT;
    }
    if (!be->nv.data && be->vol.data) {
        /* Never manufacture a new TPM over the remains of an old one. */
        LOG_ERROR("%s/%s is missing but volatile state exists: refusing to "
                  "create a new TPM there (move the directory away to start "
                  "afresh)", store_dir(be), NV_FILE);
        return -ENOENT;
    }
    be->nv_gen = nvi.generation;
    if (!with_vol) {
        /* Unreadable volatile state does not matter here, but the
         * generation never goes back: other processes compare it. */
        if (disk_generation(be, &be->gen) < 0)
            be->gen = nvi.generation;
        return 0;
    }
    if ((err = disk_generation(be, &be->gen)) < 0)
        return err;
    if (be->vol.data && voli.link != nvi.generation) {
        LOG_WARN("the volatile state in %s/%s.* does not belong to %s/%s (a "
                 "command was interrupted): the TPM restarts as after a power "
                 "loss", store_dir(be), VOL_FILE, store_dir(be), NV_FILE);
        blob_free(&be->vol);
    }
    return 0;
}

static int write_nv(struct libtpms_be *be, uint64_t gen)
{
    struct state_info info = { .type = TYPE_NV, .generation = gen,
                               .len = be->nv.len };
    int err = state_store_write(be->store, NV_FILE, &info, be->nv.data, true);

    if (err == 0) {
        be->nv_gen = gen;
        be->nv_dirty = false;
    }
    return err;
}

static int write_vol(struct libtpms_be *be, uint64_t gen, bool durable)
{
    struct state_info info = { .type = TYPE_VOL, .generation = gen,
                               .link = be->nv_gen, .len = be->vol.len };

    return state_store_write_slots(be->store, VOL_FILE, &info, be->vol.data,
                                   durable);
}

/* After a command (lock held in PER_COMMAND mode): NV, durable, if libtpms
 * stored any; in PER_COMMAND mode also the volatile state, so that the
 * next process (or this one after SIGKILL) resumes right here. */
static int commit(struct libtpms_be *be)
{
    bool per_cmd = be->sync == TPMCRB_STATE_SYNC_PER_COMMAND;
    uint64_t gen = be->gen + 1;
    int err;

    if (!be->store || (!per_cmd && !be->nv_dirty))
        return 0;
    if ((err = lock_store(be)) < 0)
        return err;
    if (be->nv_dirty && (err = write_nv(be, gen)) < 0)
        goto out;
    if (per_cmd) {
        if ((err = get_state(TPMLIB_STATE_VOLATILE, &be->vol)) < 0 ||
            (err = write_vol(be, gen, false)) < 0)
            goto out;
        blob_free(&be->vol);
    }
    be->gen = gen;
out:
    if (err < 0 && per_cmd)
        be->stale = true; /* memory is ahead of disk: reload next time */
    if (!per_cmd)
        unlock_store(be);
    return err;
}

static const char *file_name(struct libtpms_be *be, const char *name,
                             char *buf, size_t cap)
{
    if (!be->store)
        return "memory";
    snprintf(buf, cap, "%s/%s", store_dir(be), name);
    return buf;
}

/* Restart libtpms from the files (lock held). Without volatile state the
 * TPM needs TPM2_Startup; another process's client is mid-session, so the
 * backend sends it itself, as firmware does after a power loss. */
static int reload(struct libtpms_be *be)
{
    char nvp[512], volp[512];
    uint32_t len;
    int err;

    LOG_DEBUG("libtpms: state in %s changed, reloading", store_dir(be));
    tpm_stop(be);
    if ((err = load_files(be, true)) < 0)
        return err;
    err = tpm_start(be, be->vol.data != NULL,
                    file_name(be, NV_FILE, nvp, sizeof(nvp)),
                    file_name(be, VOL_FILE ".*", volp, sizeof(volp)));
    if (err < 0)
        return err;
    if (!be->vol.data) {
        static const uint8_t startup[] = { 0x80, 0x01, 0, 0, 0, 12,
                                           0, 0, 0x01, 0x44, 0, 0 };
        char rc[CRB_RC_TEXT_MAX];

        be->locality = 0;
        if ((err = tpm_process(be, startup, sizeof(startup), &len)) < 0)
            return err;
        LOG_WARN("libtpms: sent TPM2_Startup(CLEAR) after a power loss "
                 "(rc %s)", crb_rc_text(tpm_hdr_code(be->rsp), rc, sizeof(rc)));
    }
    blob_free(&be->vol);
    be->stale = false;
    return 0;
}

/* Before a command in PER_COMMAND mode: lock, and reload if the state on
 * disk is not the one we hold. Two header reads in the common case. */
static int sync_begin(struct libtpms_be *be)
{
    uint64_t disk_gen;
    int err;

    if (!be->store || be->sync != TPMCRB_STATE_SYNC_PER_COMMAND)
        return 0;
    if ((err = lock_store(be)) < 0)
        return err;
    if ((err = disk_generation(be, &disk_gen)) < 0)
        goto fail;
    if (disk_gen == be->gen && !be->stale && be->powered)
        return 0;
    if ((err = reload(be)) == 0)
        return 0;
fail:
    be->stale = true;
    unlock_store(be);
    return err;
}

static int sync_end(struct libtpms_be *be)
{
    int err = commit(be);

    unlock_store(be);
    return err;
}

/* ------------------------------------------------------------------ ops */

static int lt_power_on(struct tpmcrb_backend *base, uint32_t buffer_size,
                       bool *resumed)
{
    struct libtpms_be *be = to_be(base);
    char nvp[512], volp[512];
    uint8_t *cmd;
    bool vol;
    int err;

    if (be->on) {
        LOG_ERROR("libtpms: power_on while already powered on");
        return -EBUSY;
    }
    cmd = realloc(be->cmd, buffer_size);
    if (!cmd)
        return -ENOMEM;
    be->cmd = cmd;
    be->buffer_size = buffer_size;
    if (be->store) {
        if ((err = lock_store(be)) < 0)
            return err;
        if ((err = load_files(be, !be->power_cycle)) < 0)
            goto out;
        /* A fresh boot was asked for: the volatile state (even a corrupt
         * one) is discarded, so no later start resumes it. */
        if (be->power_cycle &&
            (err = state_store_remove_slots(be->store, VOL_FILE, true)) < 0)
            goto out;
        /* Without the volatile files the newest generation on disk would
         * be the NV file's, older than theirs: the NV file takes a newer
         * one, so that generations never go back (processes sharing the
         * directory tell a change by a generation they have not seen). */
        if (be->power_cycle && be->nv.data && be->gen > be->nv_gen &&
            (err = write_nv(be, be->gen + 1)) < 0)
            goto out;
    }
    vol = be->vol.data && !be->power_cycle;
    be->power_cycle = false;
    err = tpm_start(be, vol, file_name(be, NV_FILE, nvp, sizeof(nvp)),
                    file_name(be, VOL_FILE ".*", volp, sizeof(volp)));
    if (err < 0)
        goto out;
    /* A new TPM was manufactured: its NV must exist before it is used. */
    if (be->store && be->nv_dirty && !be->nv_gen) {
        if ((err = write_nv(be, be->gen + 1)) < 0)
            goto fail;
        be->may_manufacture = false;
        LOG_WARN("created a new TPM in %s (no EK certificates: `tpmcrb setup "
                 "--state %s` adds them)", store_dir(be), store_dir(be));
    }
    /* Otherwise NV that libtpms stored at its start (an image it marshals
     * differently from the file, e.g. one of an older libtpms) stays dirty
     * in memory: the next commit writes it together with the volatile state
     * that pairs with it. Writing it here alone would leave the volatile
     * file on disk linked to the NV file it replaced, and the next process
     * would take a resumable state for a power loss. */
    if (be->store && be->nv_gen > be->gen)
        be->gen = be->nv_gen;
    /* An owner that resumed consumes the volatile file: after a crash the
     * next start must be a power loss, not a second resume of old state. */
    if (be->store && vol && be->sync == TPMCRB_STATE_SYNC_OWNER &&
        (err = state_store_remove_slots(be->store, VOL_FILE, true)) < 0)
        goto fail;
    blob_free(&be->vol);
    be->stale = false;
    be->on = true;
    *resumed = vol;
    LOG_DEBUG("libtpms: powered on (%s, %s)", store_dir(be),
              vol ? "resumed" : "needs TPM2_Startup");
    goto out;
fail:
    tpm_stop(be);
out:
    unlock_store(be);
    return err;
}

/* A command begins: a cancel() from before it was meant for an earlier
 * one (the device calls cancel() only for a command it gave the backend,
 * but it may come just after that command's execute() returned). */
static void cancel_clear(struct libtpms_be *be)
{
    __atomic_store_n(&be->cancel_requested, false, __ATOMIC_SEQ_CST);
}

/* The command through libtpms, its response in @rsp and *@len; on a
 * failure libtpms may have changed state nobody saved: stale.
 *
 * libtpms forgets a cancel when a command begins (TPMLIB_Process() clears
 * its cancel signal before it runs the command), so a cancel() that comes
 * after the device gave us the command but before libtpms began it would
 * be lost: the reload in PER_COMMAND mode lies in that stretch. It is
 * answered here instead, without libtpms. Two short stretches are left:
 * from the device's own check (a command cancelled before the device gave
 * it to us never gets here) to cancel_clear() at the top of execute(), and
 * from this check to libtpms clearing its signal, a few calls inside
 * TPMLIB_Process() with no callback of ours after the clearing. A cancel
 * landing in either is lost, and the command completes as if none came. */
static int process(struct libtpms_be *be, unsigned locality,
                   const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                   uint32_t rsp_cap, uint32_t *len)
{
    int err;

    if (__atomic_load_n(&be->cancel_requested, __ATOMIC_SEQ_CST)) {
        LOG_DEBUG("libtpms: command cancelled before libtpms began it");
        *len = tpm_error_response(rsp, TPM_RC_CANCELED);
        return 0;
    }
    be->locality = locality;
    if ((err = tpm_process(be, cmd, cmd_len, len)) == 0 && *len > rsp_cap) {
        LOG_ERROR("libtpms: response of %u bytes exceeds %u", *len, rsp_cap);
        err = -EMSGSIZE;
    }
    if (err < 0)
        be->stale = true;
    else
        memcpy(rsp, be->rsp, *len);
    return err;
}

static int lt_execute(struct tpmcrb_backend *base, unsigned locality,
                      const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                      uint32_t rsp_cap, uint32_t *rsp_len)
{
    struct libtpms_be *be = to_be(base);
    uint32_t len;
    int err;

    cancel_clear(be);
    if (!be->on) {
        LOG_ERROR("libtpms: command while powered off");
        return -EIO;
    }
    if (cmd_len > be->buffer_size) {
        LOG_ERROR("libtpms: command of %u bytes exceeds the buffer (%u)",
                  cmd_len, be->buffer_size);
        return -EMSGSIZE;
    }
    if ((err = sync_begin(be)) < 0)
        return err;
    if ((err = process(be, locality, cmd, cmd_len, rsp, rsp_cap, &len)) == 0)
        err = sync_end(be);
    else
        unlock_store(be);
    if (err < 0)
        return err;
    *rsp_len = len;
    return 0;
}

/* Commands libtpms answers in microseconds whatever their arguments: no
 * key generation, no private-key operation, no prime search. They may
 * still change NV now and then (libtpms' clock, the orderly flag); the
 * write to disk is left to commit(). */
static bool is_quick(uint32_t code)
{
    static const uint16_t quick[] = {
        0x13C, /* PCR_Event */
        0x13E, /* SequenceComplete */
        0x146, /* StirRandom */
        0x14E, /* NV_Read */
        0x155, /* HMAC */
        0x15C, /* SequenceUpdate */
        0x161, /* ContextLoad */
        0x162, /* ContextSave */
        0x165, /* FlushContext */
        0x169, /* NV_ReadPublic */
        0x16B, /* PolicyAuthValue */
        0x16C, /* PolicyCommandCode */
        0x173, /* ReadPublic */
        0x17A, /* GetCapability */
        0x17B, /* GetRandom */
        0x17C, /* GetTestResult */
        0x17D, /* Hash */
        0x17E, /* PCR_Read */
        0x17F, /* PolicyPCR */
        0x180, /* PolicyRestart */
        0x181, /* ReadClock */
        0x182, /* PCR_Extend */
        0x185, /* EventSequenceComplete */
        0x186, /* HashSequenceStart */
        0x189, /* PolicyGetDigest */
        0x18A, /* TestParms */
        0x18C, /* PolicyPassword */
    };

    for (size_t i = 0; i < sizeof(quick) / sizeof(quick[0]); i++)
        if (quick[i] == code)
            return true;
    return false;
}

/* The fast path: a quick command, run in memory on the caller's thread.
 * Files are the worker's: PER_COMMAND mode (locks and reloads around every
 * command) declines everything, and NV that libtpms stored is written by
 * lt_commit() before the response is returned. */
static int lt_execute_quick(struct tpmcrb_backend *base, unsigned locality,
                            const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                            uint32_t rsp_cap, uint32_t *rsp_len)
{
    struct libtpms_be *be = to_be(base);
    uint32_t len;
    int err;

    cancel_clear(be);
    if (!be->on || be->stale || be->sync == TPMCRB_STATE_SYNC_PER_COMMAND ||
        cmd_len < TPM_HEADER_SIZE || cmd_len > be->buffer_size ||
        !is_quick(tpm_hdr_code(cmd)))
        return TPMCRB_QUICK_DECLINED;
    if ((err = process(be, locality, cmd, cmd_len, rsp, rsp_cap, &len)) < 0)
        return err;
    *rsp_len = len;
    return be->store && be->nv_dirty ? TPMCRB_QUICK_COMMIT : TPMCRB_QUICK_DONE;
}

static int lt_commit(struct tpmcrb_backend *base)
{
    return commit(to_be(base));
}

static void lt_cancel(struct tpmcrb_backend *base)
{
    struct libtpms_be *be = to_be(base);

    __atomic_store_n(&be->cancel_requested, true, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&be->powered, __ATOMIC_ACQUIRE))
        TPMLIB_CancelCommand();
}

static bool lt_get_established(struct tpmcrb_backend *base)
{
    TPM_BOOL established = 1;

    if (to_be(base)->powered && TPM_IO_TpmEstablished_Get(&established))
        return true;
    return established != 0;
}

static int lt_reset_established(struct tpmcrb_backend *base,
                                unsigned locality)
{
    struct libtpms_be *be = to_be(base);
    TPM_RESULT rc;
    int err;

    if (!be->on)
        return -EIO;
    if ((err = sync_begin(be)) < 0)
        return err;
    be->locality = locality;
    rc = TPM_IO_TpmEstablished_Reset();
    if (rc) {
        unlock_store(be);
        LOG_DEBUG("libtpms: tpmEstablished not reset from locality %u (0x%x)",
                  locality, rc);
        return -EPERM;
    }
    return be->sync == TPMCRB_STATE_SYNC_PER_COMMAND ? sync_end(be) : 0;
}

/* _TPM_Init after a platform reset: libtpms restarts from its permanent
 * state alone, so PCRs and sessions are gone and TPM2_Startup is due. */
static int lt_platform_reset(struct tpmcrb_backend *base)
{
    struct libtpms_be *be = to_be(base);
    int err;

    if (!be->on || !be->powered)
        return -EIO;
    if ((err = get_state(TPMLIB_STATE_PERMANENT, &be->nv)) < 0)
        return err;
    tpm_stop(be);
    return tpm_start(be, false, "memory", "memory");
}

/* Owner and memory modes keep the volatile state for the next power_on;
 * PER_COMMAND mode wrote it after each command (writing it again could
 * overwrite a newer state of another process). */
static int lt_power_off(struct tpmcrb_backend *base)
{
    struct libtpms_be *be = to_be(base);
    int err = 0;

    if (!be->on)
        return 0;
    be->on = false;
    if (!be->powered)
        return 0; /* a failed reload left libtpms stopped */
    if (!be->store || be->sync == TPMCRB_STATE_SYNC_OWNER) {
        err = get_state(TPMLIB_STATE_VOLATILE, &be->vol);
        if (err == 0 && be->store && (err = lock_store(be)) == 0) {
            if (be->nv_dirty)
                err = write_nv(be, be->gen + 1);
            if (err == 0 && (err = write_vol(be, be->gen + 1, true)) == 0)
                be->gen++;
            unlock_store(be);
        }
    }
    tpm_stop(be);
    return err;
}

/* Snapshot blob: u32 magic, u32 version, u32 NV length, u32 volatile
 * length (little-endian), then both libtpms state blobs. */
static int lt_save_state(struct tpmcrb_backend *base, uint8_t **out,
                         size_t *out_len)
{
    struct libtpms_be *be = to_be(base);
    struct blob nv = { 0 }, vol = { 0 };
    uint8_t *p;
    int err = 0;

    if (!be->on) {
        LOG_ERROR("libtpms: cannot save the state of a TPM that is off");
        return -EIO;
    }
    if ((err = sync_begin(be)) < 0)
        return err;
    if ((err = get_state(TPMLIB_STATE_PERMANENT, &nv)) < 0 ||
        (err = get_state(TPMLIB_STATE_VOLATILE, &vol)) < 0)
        goto out;
    p = malloc(BLOB_HEADER + (size_t)nv.len + vol.len);
    if (!p) {
        err = -ENOMEM;
        goto out;
    }
    put_le32(p, BLOB_MAGIC);
    put_le32(p + 4, BLOB_VERSION);
    put_le32(p + 8, nv.len);
    put_le32(p + 12, vol.len);
    memcpy(p + BLOB_HEADER, nv.data, nv.len);
    memcpy(p + BLOB_HEADER + nv.len, vol.data, vol.len);
    *out = p;
    *out_len = BLOB_HEADER + (size_t)nv.len + vol.len;
out:
    unlock_store(be);
    blob_free(&nv);
    blob_free(&vol);
    return err;
}

/* Replace the running TPM with a snapshot; on failure the previous state
 * is started again. With a state directory the snapshot becomes the
 * durable state. */
static int lt_load_state(struct tpmcrb_backend *base, const uint8_t *blob,
                         size_t len)
{
    struct libtpms_be *be = to_be(base);
    struct blob old_nv = { 0 }, old_vol = { 0 };
    uint32_t nv_len, vol_len;
    int err;

    if (len < BLOB_HEADER || get_le32(blob) != BLOB_MAGIC ||
        get_le32(blob + 4) != BLOB_VERSION)
        goto bad;
    nv_len = get_le32(blob + 8);
    vol_len = get_le32(blob + 12);
    if (nv_len == 0 || (uint64_t)nv_len + vol_len != len - BLOB_HEADER)
        goto bad;
    if (!be->on) {
        LOG_ERROR("libtpms: load the state after powering on");
        return -EIO;
    }
    if ((err = sync_begin(be)) < 0 || (err = lock_store(be)) < 0)
        return err;
    if ((err = get_state(TPMLIB_STATE_PERMANENT, &old_nv)) < 0 ||
        (err = get_state(TPMLIB_STATE_VOLATILE, &old_vol)) < 0)
        goto out;
    tpm_stop(be);
    if ((err = blob_copy(&be->nv, blob + BLOB_HEADER, nv_len)) == 0 &&
        (err = blob_copy(&be->vol, blob + BLOB_HEADER + nv_len, vol_len)) == 0)
        err = tpm_start(be, vol_len > 0, "the snapshot", "the snapshot");
    if (err < 0) {
        blob_set(&be->nv, old_nv.data, old_nv.len);
        blob_set(&be->vol, old_vol.data, old_vol.len);
        old_nv.data = old_vol.data = NULL;
        if (tpm_start(be, true, "the previous state", "the previous state") < 0)
            LOG_ERROR("libtpms: could not restart the previous state either");
        goto out;
    }
    be->nv_dirty = true;
    err = commit(be);
out:
    blob_free(&be->vol);
    blob_free(&old_nv);
    blob_free(&old_vol);
    unlock_store(be);
    return err;
bad:
    LOG_ERROR("libtpms: snapshot blob of %zu bytes is malformed", len);
    return -EINVAL;
}

static void lt_destroy(struct tpmcrb_backend *base)
{
    struct libtpms_be *be = to_be(base);

    if (be->on && lt_power_off(base) < 0)
        LOG_ERROR("libtpms: state in %s may be incomplete", store_dir(be));
    state_store_close(be->store);
    blob_free(&be->nv);
    blob_free(&be->vol);
    free(be->cmd);
    free(be->rsp);
    free(be);
    active = NULL;
    __atomic_store_n(&in_use, false, __ATOMIC_RELEASE);
}

static const struct tpmcrb_backend_ops libtpms_ops = {
    .size = sizeof(struct tpmcrb_backend_ops),
    .name = "libtpms",
    .power_on = lt_power_on,
    .execute = lt_execute,
    .cancel = lt_cancel,
    .get_established = lt_get_established,
    .reset_established = lt_reset_established,
    .platform_reset = lt_platform_reset,
    .power_off = lt_power_off,
    .save_state = lt_save_state,
    .load_state = lt_load_state,
    .destroy = lt_destroy,
    .execute_quick = lt_execute_quick,
    .commit = lt_commit,
};

int crb_libtpms_open(const struct tpmcrb_backend_options *opts,
                     struct tpmcrb_backend **out)
{
    struct libtpms_be *be;
    int err;

    if (__atomic_exchange_n(&in_use, true, __ATOMIC_ACQ_REL)) {
        LOG_ERROR("libtpms runs one TPM per process and a libtpms backend is "
                  "already open");
        return -EBUSY;
    }
    be = calloc(1, sizeof(*be));
    if (!be) {
        err = -ENOMEM;
        goto fail;
    }
    be->base.ops = &libtpms_ops;
    be->sync = opts->sync;
    be->power_cycle = opts->power_cycle;
    if (opts->state_dir) {
        char what[256];
        enum state_dir_kind kind = state_dir_probe(opts->state_dir, what,
                                                   sizeof(what));

        if (kind != STATE_DIR_TPMCRB && kind != STATE_DIR_EMPTY &&
            kind != STATE_DIR_MISSING) {
            state_dir_refuse(opts->state_dir, kind, what);
            free(be);
            err = -EEXIST;
            goto fail;
        }
        be->may_manufacture = kind != STATE_DIR_TPMCRB;
        if ((err = state_store_open_as(opts->state_dir,
                                       opts->sync == TPMCRB_STATE_SYNC_OWNER
                                           ? STATE_STORE_OWNER
                                           : STATE_STORE_SHARED,
                                       &be->store)) < 0) {
            free(be);
            goto fail;
        }
    }
    active = be;
    *out = &be->base;
    return 0;
fail:
    __atomic_store_n(&in_use, false, __ATOMIC_RELEASE);
    return err;
}
