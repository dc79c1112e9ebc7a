/* SPDX-License-Identifier: BSD-3-Clause */
#include "shared_window.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int shared_window_driver(const char *path, const char *offset,
                         struct crb_driver *d)
{
    struct tpmcrb_config cfg;
    uint8_t *win;
    int fd;

    tpmcrb_config_init(&cfg);
    fd = open(path, O_RDWR);
    win = fd < 0 ? MAP_FAILED : mmap(NULL, tpmcrb_window_size(&cfg),
                                     PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                                     strtol(offset, NULL, 0));
    if (fd >= 0)
        close(fd); /* the mapping keeps the file */
    if (win == MAP_FAILED) {
        perror(path);
        return -1;
    }
    if (crb_driver_init_shared(d, win, win + tpmcrb_regs_size(&cfg), &cfg, 0) < 0) {
        fprintf(stderr, "%s: no CRB driver on the mapped window\n", path);
        return -1;
    }
    return 0;
}
