/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum tpmcrb_log_level max_level = TPMCRB_LOG_WARN;
static tpmcrb_log_fn log_fn;
static void *log_opaque;
static crb_rc_decoder rc_decoder;

static const char *const level_names[] = {
    "error", "warning", "info", "debug", "trace",
};

void tpmcrb_log_set(enum tpmcrb_log_level level, tpmcrb_log_fn fn,
                    void *opaque)
{
    max_level = level;
    log_fn = fn;
    log_opaque = opaque;
}

bool crb_log_enabled(enum tpmcrb_log_level level)
{
    return level <= max_level;
}

void crb_log(enum tpmcrb_log_level level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (!crb_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_fn)
        log_fn(level, msg, log_opaque);
    else
        fprintf(stderr, "tpmcrb: %s: %s\n", level_names[level], msg);
}

void crb_log_set_rc_decoder(crb_rc_decoder decode)
{
    rc_decoder = decode;
}

const char *crb_rc_text(uint32_t rc, char *buf, size_t len)
{
    char text[CRB_RC_TEXT_MAX];

    text[0] = '\0';
    if (rc_decoder)
        rc_decoder(rc, text, sizeof(text));
    if (text[0])
        snprintf(buf, len, "%#x (%s)", rc, text);
    else
        snprintf(buf, len, "%#x", rc);
    return buf;
}
