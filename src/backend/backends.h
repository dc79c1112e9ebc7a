/* SPDX-License-Identifier: BSD-3-Clause */
/* Constructors of the built-in backends; tpmcrb_backend_open() picks one. */
#ifndef TPMCRB_BACKENDS_H
#define TPMCRB_BACKENDS_H

#include "tpmcrb.h"

int crb_libtpms_open(const struct tpmcrb_backend_options *opts,
                     struct tpmcrb_backend **out);
/* @args: "" (spawn a child swtpm) or "ctrl=PATH[,data=PATH]". */
int crb_swtpm_open(const char *args, const struct tpmcrb_backend_options *opts,
                   struct tpmcrb_backend **out);
/* @path: a TPM character device such as /dev/tpmrm0. */
int crb_passthrough_open(const char *path,
                         const struct tpmcrb_backend_options *opts,
                         struct tpmcrb_backend **out);

#endif
