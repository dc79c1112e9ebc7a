/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tpmcrb state import-swtpm / export-swtpm: the same TPM (libtpms's NV
 * and volatile blobs) moved between swtpm's state directory and tpmcrb's.
 * Nothing is written until everything was read and checked; an import is
 * started once in a scratch directory (libtpms must accept it) before it
 * is moved into place.
 */
#include "tools/state/cmd_state.h"
#include "backend/libtpms_files.h"
#include "tools/tool.h"
#include "tools/setup/tpm_client.h"
#include "tools/state/swtpm_files.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define SWTPM_FILE_MAX (32u << 20)

struct xfer_opts {
    const char *swtpm_dir, *state_dir;
    const char *key, *swtpm_key;
    bool overwrite;
    struct state_key k, swk;
    bool have_k, have_swk;
};

static int parse(int argc, char **argv, bool import, struct xfer_opts *o)
{
    static const struct option longopts[] = {
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "state", required_argument, NULL, 's' },
        { "key", required_argument, NULL, 'k' },
        { "swtpm-key", required_argument, NULL, 'K' },
        { "overwrite", no_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
        case 't':
            if ((c == 'f') != import) {
                LOG_ERROR("%s takes --%s SWTPMDIR", argv[0],
                          import ? "from" : "to");
                return -1;
            }
            o->swtpm_dir = optarg;
            break;
        case 's': o->state_dir = optarg; break;
        case 'k': o->key = optarg; break;
        case 'K': o->swtpm_key = optarg; break;
        case 'o': o->overwrite = true; break;
        default: return -1;
        }
    }
    if (optind < argc || !o->swtpm_dir || !o->state_dir) {
        LOG_ERROR("%s needs --%s SWTPMDIR and --state DIR", argv[0],
                  import ? "from" : "to");
        return -1;
    }
    return 0;
}

/* Load the keys: --key seals tpmcrb's files; swtpm's files use
 * --swtpm-key, or the same key when only --key was given. */
static int load_keys(struct xfer_opts *o)
{
    int err;

    if (o->key) {
        if ((err = state_key_load(o->key, &o->k)) < 0 ||
            (err = state_key_install(&o->k)) < 0)
            return err;
        o->have_k = true;
    }
    if (o->swtpm_key) {
        if ((err = state_key_load(o->swtpm_key, &o->swk)) < 0)
            return err;
        o->have_swk = true;
    } else if (o->have_k) {
        o->swk = o->k;
        o->have_swk = true;
    }
    return 0;
}

static int path_in(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The blob in swtpm file @name of @dir; -ENOENT (quiet) when absent. */
static int read_swtpm(const struct xfer_opts *o, const char *name,
                      uint8_t **blob, uint32_t *len)
{
    char path[PATH_MAX];
    uint8_t *raw;
    size_t n;
    int err;

    if ((err = path_in(path, o->swtpm_dir, name)) < 0 ||
        (err = file_read_all(path, SWTPM_FILE_MAX, true, &raw, &n)) < 0)
        return err;
    err = swtpm_blob_decode(path, raw, n, o->have_swk ? &o->swk : NULL, blob,
                            len);
    OPENSSL_cleanse(raw, n);
    free(raw);
    return err;
}

/* Start the TPM in @dir once: libtpms must take the state. Without
 * volatile state that start was a boot (TPM2_Startup): its volatile state
 * is dropped again, so that the TPM comes up as swtpm's would. */
static int check_starts(const char *dir, bool had_volatile)
{
    static const char *const slots[] = { STATE_VOL_FILE ".0",
                                         STATE_VOL_FILE ".1" };
    char path[PATH_MAX];
    struct tpm_client c;
    int err = tpm_client_open(&c, dir, false);

    if (err < 0)
        return err;
    tpm_client_close(&c);
    for (int k = 0; k < 2 && !had_volatile; k++)
        if (path_in(path, dir, slots[k]) == 0 && unlink(path) < 0 &&
            errno != ENOENT)
            return -errno;
    return 0;
}

/* The swtpm TPM's blobs as a tpmcrb TPM in tpm_dir_make()'s scratch
 * directory, checked to start there. */
struct import_job {
    const struct xfer_opts *o;
    const struct libtpms_blobs *b;
};

static int write_imported(const char *tmp, void *opaque)
{
    const struct import_job *j = opaque;
    int err = libtpms_blobs_write(tmp, j->b);

    if (err == 0 && (err = check_starts(tmp, j->b->vol != NULL)) < 0)
        LOG_ERROR("libtpms did not accept the state from %s",
                  j->o->swtpm_dir);
    return err;
}

static int import_swtpm(struct xfer_opts *o)
{
    struct libtpms_blobs b = { 0 };
    struct import_job job;
    char what[256];
    enum state_dir_kind kind;
    int err;

    kind = state_dir_probe(o->state_dir, what, sizeof(what));
    if (kind == STATE_DIR_TPMCRB && !o->overwrite) {
        LOG_ERROR("%s already holds a TPM (%s/%s): --overwrite replaces it",
                  o->state_dir, o->state_dir, what);
        return -EEXIST;
    }
    if (kind == STATE_DIR_SWTPM || kind == STATE_DIR_FOREIGN ||
        kind == STATE_DIR_ERROR) {
        if (kind == STATE_DIR_SWTPM)
            LOG_ERROR("--state %s holds swtpm state itself: import into a "
                      "new directory", o->state_dir);
        else
            state_dir_refuse(o->state_dir, kind, what);
        return -EEXIST;
    }
    err = read_swtpm(o, SWTPM_PERMALL, &b.nv, &b.nv_len);
    if (err == -ENOENT)
        LOG_ERROR("%s holds no swtpm TPM 2.0 state (%s is missing)",
                  o->swtpm_dir, SWTPM_PERMALL);
    if (err < 0)
        return err;
    err = read_swtpm(o, SWTPM_VOLATILE, &b.vol, &b.vol_len);
    if (err < 0 && err != -ENOENT)
        goto out;
    job = (struct import_job){ o, &b };
    err = tpm_dir_make(o->state_dir, write_imported, &job);
    if (err == 0)
        printf("tpmcrb state: imported the swtpm TPM of %s into %s (NV %u "
               "bytes%s%s)\n", o->swtpm_dir, o->state_dir, b.nv_len,
               b.vol ? ", volatile state " : ", no volatile state: the TPM "
               "starts with TPM2_Startup", b.vol ? "carried" : "");
out:
    libtpms_blobs_free(&b);
    return err;
}

static int write_swtpm(const struct xfer_opts *o, const char *name,
                       const uint8_t *blob, uint32_t len)
{
    char path[PATH_MAX];
    uint8_t *file;
    size_t n;
    int err;

    if ((err = path_in(path, o->swtpm_dir, name)) < 0 ||
        (err = swtpm_blob_encode(blob, len, o->have_swk ? &o->swk : NULL,
                                 &file, &n)) < 0)
        return err;
    err = file_write_atomic(path, file, n, 0600);
    free(file);
    return err;
}

static int export_swtpm(struct xfer_opts *o)
{
    struct libtpms_blobs b = { 0 };
    char what[256], path[PATH_MAX];
    enum state_dir_kind kind;
    int err;

    kind = state_dir_probe(o->swtpm_dir, what, sizeof(what));
    if ((kind == STATE_DIR_SWTPM && !o->overwrite) ||
        kind == STATE_DIR_TPMCRB || kind == STATE_DIR_FOREIGN ||
        kind == STATE_DIR_ERROR) {
        LOG_ERROR("--to %s is not empty (found %s)%s", o->swtpm_dir, what,
                  kind == STATE_DIR_SWTPM ? ": --overwrite replaces the swtpm "
                  "TPM there" : "");
        return -EEXIST;
    }
    if (kind != STATE_DIR_MISSING && kind != STATE_DIR_EMPTY &&
        kind != STATE_DIR_SWTPM)
        return -EEXIST;
    if ((err = libtpms_blobs_read(o->state_dir, &b)) < 0)
        return err;
    if ((err = dir_make(o->swtpm_dir, false)) < 0)
        goto out;
    /* A crash on the way must not pair one TPM's NV with another's
     * volatile state: the old volatile state goes first, the new one comes
     * last (a permall alone is a TPM after a power loss). */
    if ((err = path_in(path, o->swtpm_dir, SWTPM_VOLATILE)) == 0 &&
        unlink(path) < 0 && errno != ENOENT)
        err = -errno;
    if (err == 0)
        err = write_swtpm(o, SWTPM_PERMALL, b.nv, b.nv_len);
    if (err == 0 && b.vol)
        err = write_swtpm(o, SWTPM_VOLATILE, b.vol, b.vol_len);
    if (err == 0)
        printf("tpmcrb state: exported the TPM of %s to %s for swtpm (NV %u "
               "bytes%s)\n", o->state_dir, o->swtpm_dir, b.nv_len,
               b.vol ? ", volatile state carried" : ", no volatile state");
out:
    libtpms_blobs_free(&b);
    return err;
}

int state_swtpm(int argc, char **argv, bool import)
{
    struct xfer_opts o;
    int err;

    if (parse(argc, argv, import, &o) < 0)
        return EXIT_USAGE;
    if ((err = load_keys(&o)) == 0)
        err = import ? import_swtpm(&o) : export_swtpm(&o);
    OPENSSL_cleanse(&o.k, sizeof(o.k));
    OPENSSL_cleanse(&o.swk, sizeof(o.swk));
    return err < 0 ? EXIT_RUNTIME : EXIT_OK;
}
