/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the backend tests: captured log lines, file surgery,
 * and raw TPM 2.0 commands built by hand. */
#ifndef TPMCRB_TEST_UTIL_H
#define TPMCRB_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Route WARN and ERROR log lines into a buffer (cleared by start). */
void log_capture_start(void);
const char *log_captured(void);

size_t read_file(const char *dir, const char *name, uint8_t *buf, size_t cap);
long file_size(const char *dir, const char *name);
void flip_byte(const char *dir, const char *name, long offset);
void truncate_file(const char *dir, const char *name, long len);
void append_byte(const char *dir, const char *name);
char *make_temp_dir(void);
void remove_tree(const char *dir);

/* Commands; each returns the command length. */
uint32_t cmd_startup(uint8_t *buf, uint16_t type);
uint32_t cmd_get_random(uint8_t *buf, uint16_t bytes);
uint32_t cmd_pcr_extend_sha256(uint8_t *buf, uint32_t pcr, uint8_t fill);
uint32_t cmd_pcr_read_sha256(uint8_t *buf, uint32_t pcr);
uint32_t cmd_nv_define(uint8_t *buf, uint32_t index, uint16_t size);
uint32_t cmd_nv_write(uint8_t *buf, uint32_t index, const uint8_t *data,
                      uint16_t len);
uint32_t cmd_nv_read(uint8_t *buf, uint32_t index, uint16_t len);

uint32_t rsp_code(const uint8_t *rsp);

#endif
