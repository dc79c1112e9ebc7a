/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Regression driver for builds without libFuzzer: runs the target over
 * every file named on the command line, or in the directories named.
 */
#include "fuzz_common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path, unsigned *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long len;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) < 0) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    data = malloc(len ? (size_t)len : 1);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t)len);
    free(data);
    (*count)++;
    return 0;
}

static int run_dir(const char *dir, unsigned *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), err = 0;

    if (n < 0) {
        perror(dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];

        if (names[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            err |= run_file(path, count);
        }
        free(names[i]);
    }
    free(names);
    return err;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int err = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        err |= S_ISDIR(st.st_mode) ? run_dir(argv[i], &count)
                                   : run_file(argv[i], &count);
    }
    printf("%s: %u inputs, no invariant broken\n", argv[0], count);
    return err ? 1 : 0;
}
