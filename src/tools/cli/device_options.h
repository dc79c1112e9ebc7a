/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device options that several commands take (`tpmcrb vm`, `serve`,
 * `pipe`, `acpi`, `state convert`), parsed one way for all: --base,
 * --layout, --localities, --start-method, --backend, --state, --trace.
 * Each command lists the ones it takes (DEVICE_OPTION_*, DEVICE_OPTIONS_*)
 * in its own getopt table beside its own options and offers every option it gets to
 * device_option_apply() first.
 */
#ifndef TPMCRB_DEVICE_OPTIONS_H
#define TPMCRB_DEVICE_OPTIONS_H

#include "tpmcrb.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

/* getopt values, above any a command uses for its own options. */
enum {
    DEVOPT_BASE = 0x1000, DEVOPT_LAYOUT, DEVOPT_LOCALITIES,
    DEVOPT_START_METHOD, DEVOPT_BACKEND, DEVOPT_STATE, DEVOPT_TRACE,
    DEVOPT_KEY,
};

#define DEVOPT_ARG(name, code) { name, required_argument, NULL, code }
#define DEVICE_OPTION_BASE       DEVOPT_ARG("base", DEVOPT_BASE)
#define DEVICE_OPTION_LAYOUT     DEVOPT_ARG("layout", DEVOPT_LAYOUT)
#define DEVICE_OPTION_LOCALITIES DEVOPT_ARG("localities", DEVOPT_LOCALITIES)
/* How the guest sees the device: --layout, --localities, --start-method. */
#define DEVICE_OPTIONS_INTERFACE DEVICE_OPTION_LAYOUT, DEVICE_OPTION_LOCALITIES, \
    DEVOPT_ARG("start-method", DEVOPT_START_METHOD)
/* What runs its commands: --backend, --state, --key, --trace. */
#define DEVICE_OPTIONS_BACKEND DEVOPT_ARG("backend", DEVOPT_BACKEND), \
    DEVOPT_ARG("state", DEVOPT_STATE), DEVOPT_ARG("key", DEVOPT_KEY), \
    { "trace", no_argument, NULL, DEVOPT_TRACE }

struct device_options {
    uint64_t base;
    enum tpmcrb_layout layout;
    unsigned localities;        /* 1 or 5 */
    unsigned start_method;      /* ACPI TPM2 start method: 7 or 8 */
    const char *backend;        /* tpmcrb_backend_open() spec; NULL: libtpms */
    const char *state_dir;      /* NULL: no persistence */
    const char *key;            /* --key spec (state_key.h); NULL: none */
    bool base_given, start_method_given, layout_given, localities_given;
};

/* Defaults: x86 base, split layout, five localities, start method 8,
 * libtpms without state. A command may change them before parsing. */
void device_options_init(struct device_options *d);

enum device_option_result { DEVOPT_NOT_MINE, DEVOPT_OK, DEVOPT_BAD };

/* Take option @opt with @arg if it is a device option. DEVOPT_BAD: @arg
 * is no valid value (device_option_rule() says what is). --trace turns
 * on trace logging at once. */
enum device_option_result device_option_apply(struct device_options *d,
                                              int opt, const char *arg);

/* device_option_apply(), logging what was wrong with a bad value:
 * "localities must be 1 or 5, not '3'". */
enum device_option_result device_option_take(struct device_options *d,
                                             int opt, const char *arg);

/* What a value of device option @opt must be, for error messages, e.g.
 * "layout must be split or compat". */
const char *device_option_rule(int opt);

/* --layout's names: "split", "compat". */
const char *device_layout_name(enum tpmcrb_layout layout);

/* The device configuration (tpmcrb_config_init() and then @d). */
void device_options_config(const struct device_options *d,
                           struct tpmcrb_config *cfg);

/* @d's base, layout, localities and start method into the ACPI tables'
 * options @ao (which keep their other fields). */
void device_options_acpi(const struct device_options *d,
                         struct tpmcrb_acpi_options *ao);

#endif
