/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal logging: printf-style messages routed through tpmcrb_log_set(). */
#ifndef TPMCRB_LOG_H
#define TPMCRB_LOG_H

#include "tpmcrb.h"

bool crb_log_enabled(enum tpmcrb_log_level level);
void crb_log(enum tpmcrb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Text for a TPM response code in a log line: "0x18b" alone, or followed by
 * what the decoder the tools install says (libtss2-rc; the library itself
 * does not depend on it). Returns @buf. */
#define CRB_RC_TEXT_MAX 160u
const char *crb_rc_text(uint32_t rc, char *buf, size_t len);
typedef void (*crb_rc_decoder)(uint32_t rc, char *buf, size_t len);
void crb_log_set_rc_decoder(crb_rc_decoder decode);

#define LOG_ERROR(...) crb_log(TPMCRB_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  crb_log(TPMCRB_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  crb_log(TPMCRB_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) do { if (crb_log_enabled(TPMCRB_LOG_DEBUG)) \
                            crb_log(TPMCRB_LOG_DEBUG, __VA_ARGS__); } while (0)
#define LOG_TRACE(...) do { if (crb_log_enabled(TPMCRB_LOG_TRACE)) \
                            crb_log(TPMCRB_LOG_TRACE, __VA_ARGS__); } while (0)

#endif
