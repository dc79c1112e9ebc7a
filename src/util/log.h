/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal logging: printf-style messages routed through tpmcrb_log_set(). */
#ifndef TPMCRB_LOG_H
#define TPMCRB_LOG_H

#include "tpmcrb.h"

bool crb_log_enabled(enum tpmcrb_log_level level);
void crb_log(enum tpmcrb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_ERROR(...) crb_log(TPMCRB_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  crb_log(TPMCRB_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  crb_log(TPMCRB_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) do { if (crb_log_enabled(TPMCRB_LOG_DEBUG)) \
                            crb_log(TPMCRB_LOG_DEBUG, __VA_ARGS__); } while (0)
#define LOG_TRACE(...) do { if (crb_log_enabled(TPMCRB_LOG_TRACE)) \
                            crb_log(TPMCRB_LOG_TRACE, __VA_ARGS__); } while (0)

#endif
