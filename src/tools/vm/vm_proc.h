/* SPDX-License-Identifier: BSD-3-Clause */
/* Child processes of `tpmcrb vm`: argument lists and spawning. */
#ifndef TPMCRB_VM_PROC_H
#define TPMCRB_VM_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A NULL-terminated argv that grows; a failed allocation is remembered and
 * reported once by argv_ok(), so that callers can add without checking. */
struct argv_list {
    char **v;
    size_t n, cap;
    bool failed;
};

void argv_add(struct argv_list *a, const char *s);
void argv_addf(struct argv_list *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool argv_ok(const struct argv_list *a);
void argv_free(struct argv_list *a);

/* fork + execvp @argv. @in_fd/@out_fd become the child's stdin/stdout
 * (-1: inherit); @keep_fd (-1: none) stays open across exec. The child
 * gets SIGTERM if we die, so no child outlives `tpmcrb vm`. Returns the
 * pid, or -1 after printing why. */
pid_t vm_spawn(char *const argv[], int in_fd, int out_fd, int keep_fd);

/* Run @argv to its end with stdout captured into a malloc'd string.
 * Returns the exit status (0..255), or -1 if it could not run or died. */
int vm_capture(char *const argv[], char **out);
/* The same, with the child's stderr dropped when @drop_stderr. */
int vm_capture_stdout(char *const argv[], char **out, bool drop_stderr);

#endif
