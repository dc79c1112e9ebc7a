/* SPDX-License-Identifier: BSD-3-Clause */
#include "test_files.h"
#include "tpmcrb.h"
#include "backend/state_store.h"

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

struct store_fixture *store_fixture_new(void)
{
    struct store_fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    f->base = make_temp_dir();
    snprintf(f->dir, sizeof(f->dir), "%s/state", f->base);
    if (state_store_open(f->dir, &f->st) != 0) {
        remove_tree(f->base);
        free(f->base);
        free(f);
        return NULL;
    }
    log_capture_start();
    return f;
}

void store_fixture_free(struct store_fixture *f)
{
    state_store_close(f->st);
    remove_tree(f->base);
    free(f->base);
    free(f);
}
