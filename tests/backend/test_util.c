/* SPDX-License-Identifier: BSD-3-Clause */
#include "test_util.h"
#include "util/tpm_cmd.h"
#include "tpmcrb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char captured[8192];

static void capture(enum tpmcrb_log_level level, const char *msg, void *opaque)
{
    size_t used = strlen(captured);

    (void)opaque;
    snprintf(captured + used, sizeof(captured) - used, "%s: %s\n",
             level == TPMCRB_LOG_ERROR ? "error" : "warn", msg);
}

void log_capture_start(void)
{
    captured[0] = '\0';
    tpmcrb_log_set(TPMCRB_LOG_WARN, capture, NULL);
}

const char *log_captured(void)
{
    return captured;
}

static FILE *open_in(const char *dir, const char *name, const char *mode)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return fopen(path, mode);
}

size_t read_file(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
    FILE *f = open_in(dir, name, "rb");
    size_t n;

    if (!f)
        return 0;
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

long file_size(const char *dir, const char *name)
{
    FILE *f = open_in(dir, name, "rb");
    long n;

    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

void flip_byte(const char *dir, const char *name, long offset)
{
    FILE *f = open_in(dir, name, "r+b");
    int c;

    if (!f)
        abort();
    fseek(f, offset, SEEK_SET);
    c = fgetc(f);
    fseek(f, offset, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

void truncate_file(const char *dir, const char *name, long len)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (truncate(path, len) < 0)
        abort();
}

void append_byte(const char *dir, const char *name)
{
    FILE *f = open_in(dir, name, "ab");

    if (!f)
        abort();
    fputc(0, f);
    fclose(f);
}

char *make_temp_dir(void)
{
    char *dir = strdup("/tmp/tpmcrb-test-XXXXXX");

    if (!dir || !mkdtemp(dir))
        abort();
    return dir;
}

void remove_tree(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* ------------------------------------------------------------ commands */

struct w {
    uint8_t *buf;
    uint32_t n;
};

static void u8(struct w *w, uint8_t v) { w->buf[w->n++] = v; }
static void u16(struct w *w, uint16_t v) { tpm_put_be16(w->buf + w->n, v); w->n += 2; }
static void u32(struct w *w, uint32_t v) { tpm_put_be32(w->buf + w->n, v); w->n += 4; }

static void begin(struct w *w, uint8_t *buf, uint16_t tag, uint32_t code)
{
    w->buf = buf;
    w->n = 0;
    u16(w, tag);
    u32(w, 0);
    u32(w, code);
}

static uint32_t end(struct w *w)
{
    tpm_put_be32(w->buf + 2, w->n);
    return w->n;
}

/* One password session (TPM_RS_PW) with an empty password. */
static void pw_session(struct w *w)
{
    u32(w, 9);
    u32(w, 0x40000009);
    u16(w, 0);
    u8(w, 0);
    u16(w, 0);
}

uint32_t cmd_startup(uint8_t *buf, uint16_t type)
{
    struct w w;

    begin(&w, buf, TPM_ST_NO_SESSIONS, TPM_CC_Startup);
    u16(&w, type);
    return end(&w);
}

uint32_t cmd_get_random(uint8_t *buf, uint16_t bytes)
{
    struct w w;

    begin(&w, buf, TPM_ST_NO_SESSIONS, TPM_CC_GetRandom);
    u16(&w, bytes);
    return end(&w);
}

uint32_t cmd_pcr_extend_sha256(uint8_t *buf, uint32_t pcr, uint8_t fill)
{
    struct w w;

    begin(&w, buf, TPM_ST_SESSIONS, TPM_CC_PCR_Extend);
    u32(&w, pcr);
    pw_session(&w);
    u32(&w, 1);          /* TPML_DIGEST_VALUES count */
    u16(&w, 0x000B);     /* TPM_ALG_SHA256 */
    for (int i = 0; i < 32; i++)
        u8(&w, fill);
    return end(&w);
}

uint32_t cmd_pcr_read_sha256(uint8_t *buf, uint32_t pcr)
{
    struct w w;

    begin(&w, buf, TPM_ST_NO_SESSIONS, TPM_CC_PCR_Read);
    u32(&w, 1);          /* TPML_PCR_SELECTION count */
    u16(&w, 0x000B);
    u8(&w, 3);
    u8(&w, (uint8_t)(pcr < 8 ? 1u << pcr : 0));
    u8(&w, (uint8_t)(pcr >= 8 && pcr < 16 ? 1u << (pcr - 8) : 0));
    u8(&w, (uint8_t)(pcr >= 16 ? 1u << (pcr - 16) : 0));
    return end(&w);
}

uint32_t cmd_nv_define(uint8_t *buf, uint32_t index, uint16_t size)
{
    struct w w;

    begin(&w, buf, TPM_ST_SESSIONS, TPM_CC_NV_DefineSpace);
    u32(&w, 0x40000001); /* TPM_RH_OWNER */
    pw_session(&w);
    u16(&w, 0);          /* auth */
    u16(&w, 14);         /* TPM2B_NV_PUBLIC size */
    u32(&w, index);
    u16(&w, 0x000B);     /* nameAlg SHA256 */
    u32(&w, 0x00060006); /* OWNERWRITE|AUTHWRITE|OWNERREAD|AUTHREAD */
    u16(&w, 0);          /* authPolicy */
    u16(&w, size);
    return end(&w);
}

uint32_t cmd_nv_write(uint8_t *buf, uint32_t index, const uint8_t *data,
                      uint16_t len)
{
    struct w w;

    begin(&w, buf, TPM_ST_SESSIONS, 0x137); /* TPM2_NV_Write */
    u32(&w, 0x40000001);
    u32(&w, index);
    pw_session(&w);
    u16(&w, len);
    for (uint16_t i = 0; i < len; i++)
        u8(&w, data[i]);
    u16(&w, 0);          /* offset */
    return end(&w);
}

uint32_t cmd_nv_read(uint8_t *buf, uint32_t index, uint16_t len)
{
    struct w w;

    begin(&w, buf, TPM_ST_SESSIONS, TPM_CC_NV_Read);
    u32(&w, 0x40000001);
    u32(&w, index);
    pw_session(&w);
    u16(&w, len);
    u16(&w, 0);
    return end(&w);
}

uint32_t rsp_code(const uint8_t *rsp)
{
    return tpm_hdr_code(rsp);
}
