/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the backend tests: captured log lines, surgery on
 * state files, and a state store in a fresh temporary directory. */
#ifndef TPMCRB_TEST_FILES_H
#define TPMCRB_TEST_FILES_H

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

/* A state store opened on "<base>/state" in a new temporary directory, with
 * log capture started: the fixture of the state store and cipher tests. */
struct store_fixture {
    char *base;
    char dir[256];
    struct state_store *st;
};

/* NULL when the store cannot be opened (the test's setup asserts on it). */
struct store_fixture *store_fixture_new(void);
/* Closes the store, removes the directory tree and frees @f. */
void store_fixture_free(struct store_fixture *f);

#endif
