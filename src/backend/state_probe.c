/* SPDX-License-Identifier: BSD-3-Clause */
/* Refuse to make a TPM where one, or something else, already is. */
#include "backend/state_probe.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SWTPM_PERMALL  "tpm2-00.permall"
#define SWTPM_VOLATILE "tpm2-00.volatilestate"

/* Files that a tpmcrb or swtpm process may leave in a directory without a
 * TPM in it yet: the locks (state_dir.h, the pipe's client registry, the
 * swtpm backend's former lock, swtpm's own), the pipe's client records,
 * temporaries, and volatile slots (the backend itself refuses volatile
 * state without NV). */
static bool ours_without_tpm(const char *name)
{
    return !strcmp(name, "lock") || !strcmp(name, ".lock") ||
           !strcmp(name, "owner.lock") || !strcmp(name, "rm.lock") ||
           !strncmp(name, "rm-client.", 10) ||
           !strcmp(name, ".tpmcrb-swtpm.lock") || !strncmp(name, ".tpm2-", 6) ||
           !strncmp(name, STATE_VOL_FILE ".", strlen(STATE_VOL_FILE "."));
}

enum state_dir_kind state_dir_probe(const char *dir, char *what, size_t cap)
{
    enum state_dir_kind kind = STATE_DIR_EMPTY;
    struct dirent *de;
    DIR *d = opendir(dir);

    what[0] = '\0';
    if (!d) {
        if (errno == ENOENT)
            return STATE_DIR_MISSING;
        snprintf(what, cap, "%s", strerror(errno));
        return STATE_DIR_ERROR;
    }
    while ((de = readdir(d))) {
        const char *n = de->d_name;

        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (!strcmp(n, STATE_NV_FILE)) {
            snprintf(what, cap, "%s", n);
            kind = STATE_DIR_TPMCRB;
            break;
        }
        if (!strcmp(n, SWTPM_PERMALL) || !strcmp(n, SWTPM_VOLATILE)) {
            snprintf(what, cap, "%s", n);
            kind = STATE_DIR_SWTPM;
        } else if (kind == STATE_DIR_EMPTY && !ours_without_tpm(n)) {
            snprintf(what, cap, "%s", n);
            kind = STATE_DIR_FOREIGN;
        }
    }
    closedir(d);
    return kind;
}

void state_dir_refuse(const char *dir, enum state_dir_kind kind,
                      const char *what)
{
    if (kind == STATE_DIR_SWTPM)
        LOG_ERROR("%s holds swtpm state (%s/%s), not tpmcrb's: refusing to "
                  "create a second TPM beside it; this is swtpm state: import "
                  "it with `tpmcrb state import-swtpm --from %s --state "
                  "NEWDIR`", dir, dir, what, dir);
    else if (kind == STATE_DIR_TPMCRB)
        LOG_ERROR("%s holds tpmcrb's own TPM (%s/%s): refusing to let swtpm "
                  "create a second TPM beside it; export it for swtpm with "
                  "`tpmcrb state export-swtpm --state %s --to NEWDIR`", dir,
                  dir, what, dir);
    else if (kind == STATE_DIR_FOREIGN)
        LOG_ERROR("%s is not empty and holds no tpmcrb TPM (found %s/%s): "
                  "refusing to create a TPM there (give an empty or new "
                  "directory)", dir, dir, what);
    else
        LOG_ERROR("cannot read state directory %s: %s", dir, what);
}
