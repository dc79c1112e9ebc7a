/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/acpi_files.h"
#include "tools/cli/commands.h"
#include "tools/cli/file_io.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_file(const char *dir, const char *name,
                      const uint8_t *data, size_t len, bool announce)
{
    char path[4096];
    int fd, rc, n = snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= sizeof(path)) {
        LOG_ERROR("path too long: %s/%s", dir, name);
        return -ENAMETOOLONG;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
    } else {
        rc = fd_write_all(fd, data, len);
        if (close(fd) < 0 && !rc)
            rc = -errno;
    }
    if (rc) {
        LOG_ERROR("%s: %s", path, strerror(-rc));
        return rc;
    }
    if (announce)
        printf("wrote %s\n", path);
    return 0;
}

int acpi_write_tables(const struct tpmcrb_acpi_options *o,
                      const char *dir, bool announce)
{
    uint8_t *tpm2, *ssdt;
    size_t tpm2_len, ssdt_len;
    int rc = tpmcrb_acpi_build(o, &tpm2, &tpm2_len, &ssdt, &ssdt_len);

    /* -EINVAL: the options were wrong; the library said which one. */
    if (rc == -EINVAL)
        return EXIT_USAGE;
    if (rc) {
        LOG_ERROR("building the ACPI tables: %s", strerror(-rc));
        return EXIT_RUNTIME;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        LOG_ERROR("%s: %s", dir, strerror(-rc));
    }
    if (!rc)
        rc = write_file(dir, "tpm2.aml", tpm2, tpm2_len, announce);
    if (!rc)
        rc = write_file(dir, "ssdt.aml", ssdt, ssdt_len, announce);
    free(tpm2);
    free(ssdt);
    return rc ? EXIT_RUNTIME : EXIT_OK;
}

void acpi_options_from_config(struct tpmcrb_acpi_options *o,
                              const struct tpmcrb_config *cfg)
{
    tpmcrb_acpi_options_init(o);
    o->base = cfg->base;
    o->layout = cfg->layout;
    o->localities = cfg->localities;
}
