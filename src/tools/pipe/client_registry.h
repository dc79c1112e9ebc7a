/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pipes sharing one state directory, and what each holds in the TPM.
 *
 *   DIR/rm.lock           taken (flock) around each client command with
 *                         everything the resource manager sends for it, so
 *                         one client's loads, command and saves are never
 *                         interleaved with another's. While held, the file
 *                         holds the holder's pid; a holder that dies leaves
 *                         it there, which tells the next one that objects
 *                         or sessions may have been left loaded.
 *   DIR/rm-client.PID     one per live pipe, locked (flock) for its life:
 *                         the session handles it holds. One that nobody
 *                         locks belongs to a dead pipe: its sessions are
 *                         flushed and the file removed.
 */
#ifndef TPMCRB_CLIENT_REGISTRY_H
#define TPMCRB_CLIENT_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define REGISTRY_MAX_HANDLES 64u

struct client_registry {
    char *dir;
    int dirfd, lockfd, recfd;
    pid_t pid;
    bool in_command;
};

/* What a dead client left: called with its recorded session handles. */
typedef int (*registry_dead_fn)(void *ctx, const uint32_t *handles,
                                unsigned n);

/* Open the registry of @dir and register this process. @dead is called
 * (under the lock) for each dead client's record before this one exists. */
int registry_open(struct client_registry *r, const char *dir,
                  registry_dead_fn dead, void *ctx);
/* Leave the registry. With @keep_record the record stays for the next
 * pipe to flush (this one could not release its sessions). */
void registry_close(struct client_registry *r, bool keep_record);

/* Around one client command. *interrupted: the previous holder died inside
 * its command (whatever it had loaded may still be loaded). */
int registry_begin(struct client_registry *r, bool *interrupted);
void registry_end(struct client_registry *r);

/* Flush-on-death records: the sessions this client holds now. */
int registry_record(struct client_registry *r, const uint32_t *handles,
                    unsigned n);

/* Call @dead for each dead client's record and remove it (lock held). */
int registry_reap(struct client_registry *r, registry_dead_fn dead,
                  void *ctx);

#endif
