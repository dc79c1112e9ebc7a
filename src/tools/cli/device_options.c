/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/device_options.h"
#include "tools/cli/cli_number.h"
#include "tools/cli/tool_log.h"
#include "util/log.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

void device_options_init(struct device_options *d)
{
    memset(d, 0, sizeof(*d));
    d->base = TPMCRB_X86_BASE;
    d->layout = TPMCRB_LAYOUT_SPLIT;
    d->localities = TPMCRB_MAX_LOCALITIES;
    d->start_method = TPMCRB_START_METHOD_CRB_ACPI;
}

const char *device_layout_name(enum tpmcrb_layout layout)
{
    return layout == TPMCRB_LAYOUT_SPLIT ? "split" : "compat";
}

static bool parse_layout(const char *arg, enum tpmcrb_layout *layout)
{
    if (!strcmp(arg, device_layout_name(TPMCRB_LAYOUT_SPLIT)))
        *layout = TPMCRB_LAYOUT_SPLIT;
    else if (!strcmp(arg, device_layout_name(TPMCRB_LAYOUT_COMPAT)))
        *layout = TPMCRB_LAYOUT_COMPAT;
    else
        return false;
    return true;
}

/* @arg if it is @a or @b. */
static bool parse_either(const char *arg, unsigned a, unsigned b,
                         unsigned *out)
{
    unsigned v;

    if (!parse_unsigned(arg, 0, UINT_MAX, &v) || (v != a && v != b))
        return false;
    *out = v;
    return true;
}

enum device_option_result device_option_apply(struct device_options *d,
                                              int opt, const char *arg)
{
    bool ok = true;

    switch (opt) {
    case DEVOPT_BASE:
        ok = d->base_given = parse_u64(arg, &d->base);
        break;
    case DEVOPT_LAYOUT:
        ok = d->layout_given = parse_layout(arg, &d->layout);
        break;
    case DEVOPT_LOCALITIES:
        ok = d->localities_given =
            parse_either(arg, 1, TPMCRB_MAX_LOCALITIES, &d->localities);
        break;
    case DEVOPT_START_METHOD:
        ok = d->start_method_given = parse_either(arg, TPMCRB_START_METHOD_CRB,
                                                       TPMCRB_START_METHOD_CRB_ACPI,
                                                       &d->start_method);
        break;
    case DEVOPT_BACKEND:
        d->backend = arg;
        break;
    case DEVOPT_STATE:
        d->state_dir = arg;
        break;
    case DEVOPT_KEY:
        d->key = arg;
        break;
    case DEVOPT_TRACE:
        tool_log_raise(TPMCRB_LOG_TRACE);
        break;
    default:
        return DEVOPT_NOT_MINE;
    }
    return ok ? DEVOPT_OK : DEVOPT_BAD;
}

enum device_option_result device_option_take(struct device_options *d,
                                             int opt, const char *arg)
{
    enum device_option_result r = device_option_apply(d, opt, arg);

    if (r == DEVOPT_BAD)
        LOG_ERROR("%s, not '%s'", device_option_rule(opt), arg);
    return r;
}

const char *device_option_rule(int opt)
{
    switch (opt) {
    case DEVOPT_BASE:
        return "the base must be a decimal or 0x-prefixed hex address";
    case DEVOPT_LAYOUT:
        return "layout must be split or compat";
    case DEVOPT_LOCALITIES:
        return "localities must be 1 or 5";
    case DEVOPT_START_METHOD:
        return "start method must be 7 or 8";
    default:
        return "bad value";
    }
}

void device_options_config(const struct device_options *d,
                           struct tpmcrb_config *cfg)
{
    tpmcrb_config_init(cfg);
    cfg->base = d->base;
    cfg->layout = d->layout;
    cfg->localities = d->localities;
}

void device_options_acpi(const struct device_options *d,
                         struct tpmcrb_acpi_options *ao)
{
    ao->base = d->base;
    ao->layout = d->layout;
    ao->localities = d->localities;
    ao->start_method = d->start_method;
}
