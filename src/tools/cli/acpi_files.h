/* SPDX-License-Identifier: BSD-3-Clause */
/* The ACPI tables of a device as files, for `tpmcrb acpi` and
 * `tpmcrb serve --acpi`. */
#ifndef TPMCRB_ACPI_FILES_H
#define TPMCRB_ACPI_FILES_H

#include "tpmcrb.h"

#include <stdbool.h>

/* The defaults (tpmcrb_acpi_options_init) with @cfg's geometry: the
 * tables that describe the device @cfg configures. */
void acpi_options_from_config(struct tpmcrb_acpi_options *o,
                              const struct tpmcrb_config *cfg);

/* Build @o's TPM2 table and SSDT and write them as @dir/tpm2.aml and
 * @dir/ssdt.aml, creating @dir if missing; with @announce, print "wrote
 * PATH" for each; errors are logged. Returns EXIT_OK,
 * EXIT_USAGE when the library rejected @o (it said why) or EXIT_RUNTIME. */
int acpi_write_tables(const struct tpmcrb_acpi_options *o, const char *dir,
                      bool announce);

#endif
