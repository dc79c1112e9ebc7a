/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tools' internal interface: what every `tpmcrb` command may use
 * besides the public library header. A command includes this and the
 * header of its own family (tools/vm/vm.h, ...), nothing else internal.
 *
 *   cli/commands.h        exit codes, the commands' entry points
 *   cli/subcommand.h      `tpmcrb NAME ...` dispatch tables
 *   cli/cli_number.h      numbers on the command line
 *   cli/device_options.h  the device options every command shares
 *   cli/tool_log.h        --log-level/--log-file, the one message format
 *   cli/file_io.h         whole files, atomic writes, fd_write_all
 *   cli/state_key.h       --key: the state store's encryption at rest
 *   cli/tpm_dir.h         a TPM state directory as the tools use it, what
 *                         one holds (backend/state_probe.h)
 *   cli/data_dir.h        where the installed data (guest scripts) is
 *   cli/acpi_files.h      the ACPI tables as files
 *   cli/crb_driver.h      a CRB client that drives a device as Linux does
 *   cli/stop_signal.h     SIGINT/SIGTERM for commands that run until
 *                         stopped: as a flag, or blocked and waited for
 *   util/log.h            LOG_ERROR ... LOG_TRACE
 *   util/tpm_cmd.h        TPM command framing and names
 *   util/clock.h          the monotonic clock, spin steps
 */
#ifndef TPMCRB_TOOL_H
#define TPMCRB_TOOL_H

#include "tools/cli/acpi_files.h"
#include "tools/cli/cli_number.h"
#include "tools/cli/commands.h"
#include "tools/cli/crb_driver.h"
#include "tools/cli/data_dir.h"
#include "tools/cli/device_options.h"
#include "tools/cli/file_io.h"
#include "tools/cli/state_key.h"
#include "tools/cli/stop_signal.h"
#include "tools/cli/subcommand.h"
#include "tools/cli/tool_log.h"
#include "tools/cli/tpm_dir.h"
#include "tpmcrb.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#endif
