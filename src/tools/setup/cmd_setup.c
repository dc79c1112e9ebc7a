/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tpmcrb setup`: make a TPM ready for a guest, like swtpm_setup does for
 * swtpm. A new TPM is manufactured in a temporary directory beside the
 * state directory and moved in only when it is complete, so a failure
 * leaves the directory as it was. An existing TPM is kept (its identity
 * is what the guest's sealed data depends on); only missing EK
 * certificates are added to it. --overwrite replaces it.
 */
#include "tools/tool.h"
#include "tools/setup/ek.h"
#include "tools/setup/ek_cert.h"
#include "tools/setup/tpm_client.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WHO "tpmcrb setup"

struct setup_opts {
    const char *state_dir;
    const char *ca_dir;
    const char *pcr_banks;
    const char *key;
    bool overwrite, print, ca_given, lock_nvram;
    char default_ca[PATH_MAX];
};

struct ek_result {
    bool made;             /* issued by this run (else already there) */
    char desc[400];
    bool key_matches;
};

static void usage(FILE *out)
{
    fprintf(out,
"usage: tpmcrb setup --state DIR [--overwrite] [--pcr-banks LIST]\n"
"                    [--ca DIR] [--print] [--lock-nvram] [--key SPEC]\n\n"
"Manufactures a TPM in DIR with endorsement keys (RSA 2048 and ECC NIST\n"
"P-256, TCG default templates) and an EK certificate for each in NV\n"
"(0x01c00002 RSA, 0x01c0000a ECC), signed by a local CA. Run it again and\n"
"the TPM is kept (certificates it lacks are added); --overwrite replaces it.\n"
"A kept TPM is booted afresh (as at a reboot): run setup while no VM or pipe\n"
"uses the TPM.\n\n"
"  --state DIR       the TPM's state directory (created if missing)\n"
"  --overwrite       replace a TPM already in DIR with a new one\n"
"  --pcr-banks LIST  active PCR banks of a new TPM: comma-separated sha1,\n"
"                    sha256, sha384, sha512 (default sha256)\n"
"  --ca DIR          CA directory (ca.key + ca.crt); made on first use when\n"
"                    missing or empty (default: %s)\n"
"  --print           show the TPM's EK certificates and PCR banks\n"
"  --lock-nvram      write-lock the certificate indices (as swtpm_setup\n"
"                    --lock-nvram): they stay until the index is removed\n"
"  --key file=PATH[,format=hex|binary]\n"
"                    encrypt the state files with this 256-bit key\n",
            "$XDG_DATA_HOME/tpmcrb/localca or ~/.local/share/tpmcrb/localca");
    tool_log_usage(out);
}

static int default_ca_dir(struct setup_opts *o)
{
    const char *base = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;

    if (base && base[0])
        n = snprintf(o->default_ca, sizeof(o->default_ca), "%s/tpmcrb/localca",
                     base);
    else if (home && home[0])
        n = snprintf(o->default_ca, sizeof(o->default_ca),
                     "%s/.local/share/tpmcrb/localca", home);
    else
        return -ENOENT;
    return (size_t)n < sizeof(o->default_ca) ? 0 : -ENAMETOOLONG;
}

/* Returns -1 after a usage error, 1 for --help, 0 to run. */
static int parse_args(int argc, char **argv, struct setup_opts *o)
{
    static const struct option longopts[] = {
        { "state", required_argument, NULL, 's' },
        { "overwrite", no_argument, NULL, 'o' },
        { "pcr-banks", required_argument, NULL, 'b' },
        { "ca", required_argument, NULL, 'c' },
        { "print", no_argument, NULL, 'p' },
        { "key", required_argument, NULL, 'k' },
        { "lock-nvram", no_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *why;
    int c;

    memset(o, 0, sizeof(*o));
    o->pcr_banks = "sha256";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->state_dir = optarg; break;
        case 'o': o->overwrite = true; break;
        case 'b': o->pcr_banks = optarg; break;
        case 'c': o->ca_dir = optarg; o->ca_given = true; break;
        case 'p': o->print = true; break;
        case 'k': o->key = optarg; break;
        case 'l': o->lock_nvram = true; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    if (optind < argc) {
        LOG_ERROR("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!o->state_dir) {
        LOG_ERROR("--state DIR is required");
        return -1;
    }
    if ((why = pcr_banks_check(o->pcr_banks))) {
        LOG_ERROR("%s, not '%s'", why, o->pcr_banks);
        return -1;
    }
    if (!o->ca_dir) {
        if (default_ca_dir(o) < 0) {
            LOG_ERROR("no HOME or XDG_DATA_HOME for the default CA "
                      "directory: give --ca DIR");
            return -1;
        }
        o->ca_dir = o->default_ca;
    }
    return 0;
}

/* ------------------------------------------------------ provisioning */

static int tpm_identity(struct tpm_client *c, struct tpm_identity *id)
{
    uint32_t v;
    int err;

    memset(id, 0, sizeof(*id));
    if ((err = tpm_property(c, TPM_PT_MANUFACTURER, &id->manufacturer)) < 0 ||
        (err = tpm_property(c, TPM_PT_FIRMWARE_VERSION_1, &id->firmware)) < 0)
        return err;
    /* Vendor strings: four characters each, unused ones zero. */
    for (unsigned i = 0; i < 4; i++) {
        if ((err = tpm_property(c, TPM_PT_VENDOR_STRING_1 + i, &v)) < 0)
            return err;
        for (unsigned b = 0; b < 4; b++) {
            char ch = (char)(v >> (24 - 8 * b));
            size_t used = strlen(id->model);

            if (ch >= 0x21 && ch < 0x7F && used < sizeof(id->model) - 1)
                id->model[used] = ch;
        }
    }
    if (!id->model[0])
        snprintf(id->model, sizeof(id->model), "tpmcrb");
    return 0;
}

/* Give @t's EK a certificate unless its index already holds one (@force:
 * always). Describes the certificate in *res. */
static int provision_ek(struct tpm_client *c, struct local_ca *ca,
                        const struct tpm_identity *id, enum ek_type t,
                        bool force, struct ek_result *res)
{
    struct ek_public ek;
    uint8_t *der = NULL;
    uint16_t len16;
    size_t len;
    int err;

    memset(res, 0, sizeof(*res));
    if ((err = ek_create(c, t, &ek)) < 0)
        return err;
    err = nv_read_all(c, ek_cert_index(t), &der, &len16);
    if (err == 0 && !force) {
        len = len16;
        goto describe;
    }
    free(der);
    der = NULL;
    if (err < 0 && err != -ENOENT)
        return err;
    if (!ca) {
        LOG_ERROR("no CA to sign the %s EK certificate", ek_type_name(t));
        return -EINVAL;
    }
    if ((err = ek_cert_issue(ca, &ek, id, &der, &len)) < 0)
        return err;
    if (len > UINT16_MAX) {
        free(der);
        return -EFBIG;
    }
    if ((err = nv_store_cert(c, ek_cert_index(t), der, (uint16_t)len)) < 0) {
        free(der);
        return err;
    }
    res->made = true;
describe:
    if (ek_cert_describe(der, len, &ek, res->desc, sizeof(res->desc),
                         &res->key_matches) < 0)
        snprintf(res->desc, sizeof(res->desc), "%zu bytes, not a DER "
                 "certificate", len);
    free(der);
    if (!res->key_matches) {
        LOG_ERROR("the certificate in NV 0x%08x does not carry the "
                "TPM's %s EK", ek_cert_index(t), ek_type_name(t));
        return -EINVAL;
    }
    return 0;
}

/* Manufacture a TPM in @dir (empty): PCR banks, then EKs and certs. */
static int provision(const struct setup_opts *o, const char *dir,
                     struct local_ca *ca, bool new_tpm,
                     struct ek_result res[2], char *banks, size_t cap)
{
    struct tpm_client c;
    struct tpm_identity id;
    int err;

    if (new_tpm) {
        /* The backend's "created a new TPM" notice is about this
         * temporary directory: not worth a line. */
        enum tpmcrb_log_level was = tool_log_set_level(TPMCRB_LOG_ERROR);

        err = tpm_client_open(&c, dir, true);
        tool_log_set_level(was);
        if (err < 0)
            return err;
        err = pcr_allocate(&c, o->pcr_banks);
        tpm_client_close(&c);
        if (err < 0)
            return err;
    }
    /* A fresh boot: the allocation takes effect at the TPM reset, and on a
     * kept TPM it undoes what firmware did to the platform hierarchy (a
     * random platformAuth, as OVMF sets) in the state saved last. */
    if ((err = tpm_client_open(&c, dir, true)) < 0)
        return err;
    if ((err = pcr_active_banks(&c, banks, cap)) < 0 ||
        (err = tpm_identity(&c, &id)) < 0)
        goto out;
    for (int t = EK_RSA2048; t <= EK_ECC_P256; t++) {
        if ((err = provision_ek(&c, ca, &id, (enum ek_type)t, new_tpm,
                                &res[t])) < 0)
            goto out;
        if (o->lock_nvram &&
            (err = nv_write_lock(&c, ek_cert_index((enum ek_type)t))) < 0)
            goto out;
    }
out:
    tpm_client_close(&c);
    return err;
}

static void report(const struct setup_opts *o, const char *action,
                   const struct ek_result res[2], const char *banks,
                   const char *ca_path, bool ca_created)
{
    printf("%s: %s the TPM in %s (PCR banks %s; EK certificates %s)\n", WHO,
           action, o->state_dir, banks,
           res[0].made || res[1].made ? "issued" : "already present");
    if (ca_created)
        printf("%s: created a local CA: %s\n", WHO, ca_path);
    if (!o->print)
        return;
    printf("state:      %s\n", o->state_dir);
    printf("PCR banks:  %s\n", banks);
    for (int t = EK_RSA2048; t <= EK_ECC_P256; t++)
        printf("EK %-14s NV 0x%08x: certificate %s%s\n",
               ek_type_name((enum ek_type)t), ek_cert_index((enum ek_type)t),
               res[t].desc, res[t].made ? " (new)" : "");
    if (ca_path)
        printf("CA:         %s\n", ca_path);
}

/* provision() of a new TPM in tpm_dir_make()'s scratch directory. */
struct new_tpm_job {
    const struct setup_opts *o;
    struct local_ca *ca;
    struct ek_result *res;
    char *banks;
    size_t banks_cap;
};

static int provision_new(const char *tmp, void *opaque)
{
    struct new_tpm_job *j = opaque;

    return provision(j->o, tmp, j->ca, true, j->res, j->banks, j->banks_cap);
}

static int run(const struct setup_opts *o)
{
    struct ek_result res[2];
    char what[256], banks[64] = "";
    struct new_tpm_job job;
    struct local_ca *ca = NULL;
    enum state_dir_kind kind;
    bool ca_created = false, new_tpm;
    int err;

    if (state_key_use(o->key, NULL) < 0)
        return EXIT_RUNTIME;
    kind = state_dir_probe(o->state_dir, what, sizeof(what));
    if (kind == STATE_DIR_SWTPM || kind == STATE_DIR_FOREIGN ||
        kind == STATE_DIR_ERROR) {
        state_dir_refuse(o->state_dir, kind, what);
        return EXIT_RUNTIME;
    }
    new_tpm = kind != STATE_DIR_TPMCRB || o->overwrite;
    /* A given CA directory that is empty or missing gets a new CA too. */
    if ((err = local_ca_open(o->ca_dir, true, &ca, &ca_created)) < 0)
        return EXIT_RUNTIME;
    if (!new_tpm) {
        err = provision(o, o->state_dir, ca, false, res, banks, sizeof(banks));
        if (err == 0)
            report(o, "kept", res, banks, local_ca_cert_path(ca), ca_created);
        local_ca_free(ca);
        return err < 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    job = (struct new_tpm_job){ o, ca, res, banks, sizeof(banks) };
    err = tpm_dir_make(o->state_dir, provision_new, &job);
    if (err == 0)
        report(o, kind == STATE_DIR_TPMCRB ? "replaced" : "manufactured", res,
               banks, local_ca_cert_path(ca), ca_created);
    else
        LOG_ERROR("no TPM was made; %s is as it was", o->state_dir);
    local_ca_free(ca);
    return err < 0 ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_setup(int argc, char **argv)
{
    struct setup_opts o;
    int rc = parse_args(argc, argv, &o);

    if (rc) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    }
    return run(&o);
}
