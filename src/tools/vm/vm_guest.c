/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vm/vm_guest.h"
#include "tools/vm/vm_proc.h"
#include "tools/tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPIO_ALIGN 4u
#define CPIO_BLOCK 512u

/* The guest scripts: $TPMCRB_GUEST_DIR, else the installed data. */
static int guest_file(char *buf, size_t len, const char *name)
{
    const char *dir = getenv("TPMCRB_GUEST_DIR");
    char rel[256];

    if (dir && *dir)
        return snprintf(buf, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
    snprintf(rel, sizeof(rel), "guest/%s", name);
    return tool_data_path(buf, len, rel);
}

/* Take the value of "KEY=value" from prepare.sh's output. */
static char *output_value(const char *out, const char *key)
{
    size_t klen = strlen(key);

    for (const char *line = out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > klen && !strncmp(line, key, klen) && line[klen] == '=')
            return strndup(line + klen + 1, len - klen - 1);
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

int vm_guest_default(const char *prepare_script, char **kernel, char **initrd)
{
    struct argv_list a = { 0 };
    char *out = NULL, script[4096];
    int rc;

    *kernel = *initrd = NULL;
    if (guest_file(script, sizeof(script), prepare_script) < 0)
        return -1;
    argv_add(&a, "bash");
    argv_add(&a, script);
    if (!argv_ok(&a)) {
        argv_free(&a);
        return -1;
    }
    rc = vm_capture(a.v, &out);
    if (rc != 0) {
        LOG_ERROR("preparing the default guest failed (%s); "
                "set TPMCRB_GUEST_DIR or pass --kernel and --initrd", a.v[1]);
        argv_free(&a);
        free(out);
        return -1;
    }
    argv_free(&a);
    *kernel = output_value(out, "KERNEL");
    *initrd = output_value(out, "INITRD");
    free(out);
    if (!*kernel || !*initrd) {
        LOG_ERROR("%s printed no KERNEL/INITRD",
                prepare_script);
        free(*kernel);
        free(*initrd);
        *kernel = *initrd = NULL;
        return -1;
    }
    return 0;
}

static int write_zeros(int fd, size_t len)
{
    static const uint8_t zeros[CPIO_BLOCK];
    return fd_write_all(fd, zeros, len);
}

/* One entry of a cpio "newc" archive: a 110-byte ASCII header, the name
 * and the data, each padded to 4 bytes. @pos tracks the archive offset. */
static int cpio_entry(int fd, size_t *pos, const char *name, unsigned mode,
                      const void *data, size_t size)
{
    static unsigned ino = 1;
    size_t namesize = strlen(name) + 1;
    char hdr[111];

    snprintf(hdr, sizeof(hdr),
             "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             ino++, mode, 0u, 0u, 1u, 0u, (unsigned)size, 0u, 0u, 0u, 0u,
             (unsigned)namesize, 0u);
    if (fd_write_all(fd, hdr, 110) < 0 || fd_write_all(fd, name, namesize) < 0)
        return -1;
    *pos += 110 + namesize;
    if (write_zeros(fd, (CPIO_ALIGN - *pos % CPIO_ALIGN) % CPIO_ALIGN) < 0)
        return -1;
    *pos += (CPIO_ALIGN - *pos % CPIO_ALIGN) % CPIO_ALIGN;
    if (size && fd_write_all(fd, data, size) < 0)
        return -1;
    *pos += size;
    if (write_zeros(fd, (CPIO_ALIGN - *pos % CPIO_ALIGN) % CPIO_ALIGN) < 0)
        return -1;
    *pos += (CPIO_ALIGN - *pos % CPIO_ALIGN) % CPIO_ALIGN;
    return 0;
}

static int write_script_cpio(int fd, const char *script)
{
    size_t pos = 0;

    if (cpio_entry(fd, &pos, "tpmcrb", S_IFDIR | 0755, NULL, 0) < 0 ||
        cpio_entry(fd, &pos, "tpmcrb/guest.sh", S_IFREG | 0755, script,
                   strlen(script)) < 0 ||
        cpio_entry(fd, &pos, "TRAILER!!!", 0, NULL, 0) < 0)
        return -1;
    return write_zeros(fd, (CPIO_BLOCK - pos % CPIO_BLOCK) % CPIO_BLOCK);
}

static int append_file(int out, const char *path)
{
    uint8_t buf[1 << 16];
    int in = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    int rc = 0;

    if (in < 0)
        return -1;
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fd_write_all(out, buf, (size_t)n) < 0) {
            rc = -1;
            break;
        }
    }
    close(in);
    return rc;
}

int vm_guest_initrd(const char *initrd, const char *script, const char *out)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc;

    if (fd < 0) {
        LOG_ERROR("%s: %s", out, strerror(errno));
        return -1;
    }
    rc = write_script_cpio(fd, script);
    if (rc == 0)
        rc = append_file(fd, initrd);
    if (close(fd) < 0)
        rc = -1;
    if (rc < 0)
        LOG_ERROR("writing %s from %s: %s", out, initrd,
                strerror(errno));
    return rc;
}
