/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Platform description: the TPM2 ACPI table (TCG ACPI Specification,
 * table revision 4) and an SSDT with the TPM device, for any base address.
 * What the real clients need from them is in docs/design.md ("The
 * register interface", "Running under QEMU").
 */
#include "core/crb.h"
#include "platform/aml.h"
#include "util/abi.h"
#include "util/log.h"
#include "tpmcrb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Common ACPI table header. */
#define ACPI_LENGTH_OFFSET  4u
#define ACPI_CHECKSUM_OFFSET 9u
#define ACPI_OEM_ID_LEN     6u
#define ACPI_OEM_TABLE_ID_LEN 8u
#define CREATOR_ID          "TCRB"
#define CREATOR_REVISION    1u
#define TABLE_MAX           0x10000u /* far above what we emit */

/* TPM2 table. */
#define TPM2_REVISION        4u
#define TPM2_PLATFORM_CLIENT 0u
#define TPM2_START_PARAMS_LEN 12u
/* The control area starts at CTRL_REQ; Linux uses the locality registers
 * only if this is the base of a _CRS range + 0x40. */
#define CRB_CONTROL_AREA_OFFSET 0x40u

/* SSDT: revision 2 means 64-bit AML integers. */
#define SSDT_REVISION        2u
#define TPM_HID              "MSFT0101"
#define TPM_STR              "TPM 2.0 Device"
#define STA_PRESENT_ENABLED_SHOWN_OK 0x0Fu
/* _DSM that Linux evaluates after START with start method 8. */
#define CRB_START_DSM_UUID   "6bbf6cab-5463-4714-b7cd-f0203c0368d4"
#define CRB_START_DSM_FUNC   1u

/* The geometry defaults are the device's own (tpmcrb_config_init), so the
 * two cannot drift apart. */
void tpmcrb_acpi_options_init(struct tpmcrb_acpi_options *o)
{
    struct tpmcrb_config dev;

    tpmcrb_config_init(&dev);
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->base = dev.base;
    o->layout = dev.layout;
    o->localities = dev.localities;
    o->start_method = TPMCRB_START_METHOD_CRB;
    strcpy(o->oem_id, "TPMCRB");
    strcpy(o->oem_table_id, "TPMCRB");
    o->oem_revision = 1;
}

/* The device's own geometry, so that the description cannot drift from
 * what the device maps: register pages, then (split) the buffer page. */
static struct tpmcrb_config geometry(const struct tpmcrb_acpi_options *o)
{
    struct tpmcrb_config cfg = {
        .size = sizeof(cfg), .base = o->base, .layout = o->layout, .localities = o->localities,
    };

    return cfg;
}

/* A header ID field: NUL-terminated within @cap bytes, printable ASCII. */
static bool id_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E)
            return false;
    return true;
}

/* _CRS describes the window with Memory32Fixed: 32-bit addresses. */
static int check_geometry(const struct tpmcrb_acpi_options *o)
{
    const char *problem = crb_geometry_problem(o->base, o->layout,
                                               o->localities, true);

    if (problem) {
        LOG_ERROR("acpi: %s (base 0x%llx, layout %d, %u localities)", problem,
                  (unsigned long long)o->base, (int)o->layout, o->localities);
        return -EINVAL;
    }
    return 0;
}

static int check_options(const struct tpmcrb_acpi_options *o)
{
    int rc = check_geometry(o);

    if (rc)
        return rc;
    if (o->start_method != TPMCRB_START_METHOD_CRB &&
        o->start_method != TPMCRB_START_METHOD_CRB_ACPI) {
        LOG_ERROR("acpi: start method %u unsupported; use 7 (CRB) or 8 "
                  "(CRB with ACPI start)", o->start_method);
        return -EINVAL;
    }
    if (!o->log_area_min_len != !o->log_area_addr) {
        LOG_ERROR("acpi: log area needs both a length and an address "
                  "(got 0x%x at 0x%llx)", o->log_area_min_len,
                  (unsigned long long)o->log_area_addr);
        return -EINVAL;
    }
    if (o->log_area_addr > UINT64_MAX - o->log_area_min_len) {
        LOG_ERROR("acpi: log area at 0x%llx wraps around",
                  (unsigned long long)o->log_area_addr);
        return -EINVAL;
    }
    if (!id_ok(o->oem_id, sizeof(o->oem_id))) {
        LOG_ERROR("acpi: OEM ID must be up to 6 printable ASCII characters");
        return -EINVAL;
    }
    if (!id_ok(o->oem_table_id, sizeof(o->oem_table_id))) {
        LOG_ERROR("acpi: OEM table ID must be up to 8 printable ASCII "
                  "characters");
        return -EINVAL;
    }
    return 0;
}

/* A fixed-width ID, space padded; @fallback when @s is empty. */
static void header_id(struct aml *a, const char *s, const char *fallback,
                      size_t width)
{
    size_t n;

    if (!*s)
        s = fallback;
    n = strlen(s);
    aml_bytes(a, s, n);
    for (; n < width; n++)
        aml_u8(a, ' ');
}

static void table_header(struct aml *a, const char *sig, uint8_t revision,
                         const struct tpmcrb_acpi_options *o)
{
    aml_bytes(a, sig, 4);
    aml_le32(a, 0); /* length, set by table_finish() */
    aml_u8(a, revision);
    aml_u8(a, 0);   /* checksum, set by table_finish() */
    header_id(a, o->oem_id, "TPMCRB", ACPI_OEM_ID_LEN);
    header_id(a, o->oem_table_id, "TPMCRB", ACPI_OEM_TABLE_ID_LEN);
    aml_le32(a, o->oem_revision);
    aml_bytes(a, CREATOR_ID, 4);
    aml_le32(a, CREATOR_REVISION);
}

/* Take the table out of @a, fill in its length and checksum (all bytes of
 * the table sum to zero). */
static int table_finish(struct aml *a, uint8_t **out, size_t *out_len)
{
    uint8_t *t, sum = 0;
    size_t len;
    int rc = aml_take(a, &t, &len);

    if (rc)
        return rc;
    for (unsigned i = 0; i < 4; i++)
        t[ACPI_LENGTH_OFFSET + i] = (uint8_t)(len >> (8 * i));
    for (size_t i = 0; i < len; i++)
        sum += t[i];
    t[ACPI_CHECKSUM_OFFSET] = (uint8_t)-sum;
    *out = t;
    *out_len = len;
    return 0;
}

static int build_tpm2(const struct tpmcrb_acpi_options *o, uint8_t **out,
                      size_t *out_len)
{
    static const uint8_t start_params[TPM2_START_PARAMS_LEN];
    struct aml a;

    aml_init(&a, TABLE_MAX);
    table_header(&a, "TPM2", TPM2_REVISION, o);
    aml_le16(&a, TPM2_PLATFORM_CLIENT);
    aml_le16(&a, 0); /* reserved */
    aml_le64(&a, o->base + CRB_CONTROL_AREA_OFFSET);
    aml_le32(&a, o->start_method);
    /* No start method we offer has parameters; Linux reads the log fields
     * behind a 12-byte block, and the 64-byte form has no log area. */
    aml_bytes(&a, start_params, sizeof(start_params));
    if (o->log_area_min_len) {
        aml_le32(&a, o->log_area_min_len);
        aml_le64(&a, o->log_area_addr);
    }
    return table_finish(&a, out, out_len);
}

/* Linux evaluates function 1 (revision 1) after each START with start
 * method 8 and requires Integer 0; the device thread finishes the command
 * while the guest's interpreter runs this (docs/design.md, "Running under
 * QEMU"). */
static void crb_start_dsm(struct aml *a)
{
    static const uint8_t funcs_0_and_1 = 0x03, none = 0;

    aml_method(a, "_DSM", 4, false);
        aml_if(a);
        aml_lequal(a); aml_arg(a, 0); aml_uuid(a, CRB_START_DSM_UUID);
            aml_if(a);
            aml_lequal(a); aml_arg(a, 2); aml_integer(a, 0);
                aml_return(a); aml_buffer(a, &funcs_0_and_1, 1);
            aml_end(a);
            aml_if(a);
            aml_lequal(a); aml_arg(a, 2); aml_integer(a, CRB_START_DSM_FUNC);
                aml_return(a); aml_integer(a, 0);
            aml_end(a);
        aml_end(a);
        aml_return(a); aml_buffer(a, &none, 1);
    aml_end(a);
}

/* Checked by check_geometry(): every address fits 32 bits. The compat
 * buffer lies inside locality 0's page, so it needs no range of its own. */
static void crs(struct aml *a, const struct tpmcrb_acpi_options *o)
{
    struct tpmcrb_config cfg = geometry(o);

    aml_name(a, "_CRS");
    aml_restemplate(a);
        aml_memory32_fixed(a, true, (uint32_t)o->base,
                           (uint32_t)tpmcrb_regs_size(&cfg));
        if (o->layout == TPMCRB_LAYOUT_SPLIT)
            aml_memory32_fixed(a, true, (uint32_t)tpmcrb_buffer_addr(&cfg),
                               tpmcrb_buffer_size(&cfg));
    aml_end(a);
}

static int build_ssdt(const struct tpmcrb_acpi_options *o, uint8_t **out,
                      size_t *out_len)
{
    struct aml a;

    aml_init(&a, TABLE_MAX);
    table_header(&a, "SSDT", SSDT_REVISION, o);
    aml_scope(&a, "\\_SB");
        aml_device(&a, "TPM");
            aml_name(&a, "_HID"); aml_string(&a, TPM_HID);
            aml_name(&a, "_CID"); aml_string(&a, TPM_HID);
            aml_name(&a, "_STR"); aml_unicode(&a, TPM_STR);
            aml_name(&a, "_UID"); aml_integer(&a, 1);
            aml_name(&a, "_STA"); aml_integer(&a, STA_PRESENT_ENABLED_SHOWN_OK);
            crs(&a, o);
            if (o->start_method == TPMCRB_START_METHOD_CRB_ACPI)
                crb_start_dsm(&a);
        aml_end(&a);
    aml_end(&a);
    return table_finish(&a, out, out_len);
}

int tpmcrb_acpi_build(const struct tpmcrb_acpi_options *o,
                      uint8_t **tpm2, size_t *tpm2_len,
                      uint8_t **ssdt, size_t *ssdt_len)
{
    uint8_t *t = NULL;
    size_t t_len = 0;
    int rc;

    if (!o || !tpm2 || !tpm2_len || !ssdt || !ssdt_len)
        return -EINVAL;
    if (CRB_ABI_CHECK(o, struct tpmcrb_acpi_options) < 0)
        return -EINVAL;
    rc = check_options(o);
    if (rc)
        return rc;
    rc = build_tpm2(o, &t, &t_len);
    if (!rc)
        rc = build_ssdt(o, ssdt, ssdt_len);
    if (rc) {
        free(t);
        LOG_ERROR("acpi: building the tables failed (%s)", strerror(-rc));
        return rc;
    }
    *tpm2 = t;
    *tpm2_len = t_len;
    return 0;
}
