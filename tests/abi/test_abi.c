// SPDX-License-Identifier: BSD-3-Clause
/*
 * The library's promises to programs that embed it, checked through the
 * shared library as they would link it: the examples of the README and of
 * the header run as they are printed, with their error checks; every struct
 * that may grow rejects a size it does not know; one libtpms TPM per
 * process; tpmcrb_version().
 */
#include <tpmcrb.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readme_example.h"
#include "header_example.h"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { \
        printf("FAIL: %s: ", #cond); printf(__VA_ARGS__); printf("\n"); \
        failures++; } } while (0)

/* A struct from a "newer header": ours plus a field this library lacks. */
struct newer_config {
    struct tpmcrb_config cfg;
    uint64_t future_field;
};

static void examples(const char *dir)
{
    struct tpmcrb_backend *be, *second;
    struct tpmcrb_device *dev;
    struct tpmcrb_stats st = TPMCRB_STATS_INIT;
    int rc;

    rc = start_tpm(dir, 0x0C000000, &be, &dev);
    CHECK(rc == 0, "README example: %s", strerror(-rc));
    if (rc == 0) {
        CHECK(tpmcrb_device_config(dev)->base == 0x0C000000, "base");
        rc = tpmcrb_backend_open("libtpms", NULL, &second);
        CHECK(rc == -EBUSY, "a second libtpms backend gave %d", rc);
        if (rc == 0)
            tpmcrb_backend_close(second);
        CHECK(tpmcrb_get_stats(dev, &st) == 0, "stats");
        tpmcrb_device_free(dev);
        tpmcrb_backend_close(be);
    }
    rc = embed(dir);
    CHECK(rc == 0, "header example: %s", strerror(-rc));
}

static void struct_sizes(void)
{
    struct tpmcrb_backend_options bo = { .size = 4 };
    struct tpmcrb_acpi_options ao;
    struct tpmcrb_stats st = { .size = 0 };
    struct newer_config newer;
    struct tpmcrb_backend *be = NULL;
    struct tpmcrb_device *dev;
    uint8_t *tpm2, *ssdt;
    size_t tpm2_len, ssdt_len;
    int rc;

    CHECK(tpmcrb_backend_open("libtpms", &bo, &be) == -EINVAL,
          "backend options of size 4");
    bo.size = 0;
    CHECK(tpmcrb_backend_open("libtpms", &bo, &be) == -EINVAL,
          "backend options of size 0");

    tpmcrb_acpi_options_init(&ao);
    CHECK(ao.size == sizeof(ao), "acpi options init sets the size");
    CHECK(tpmcrb_acpi_build(&ao, &tpm2, &tpm2_len, &ssdt, &ssdt_len) == 0,
          "acpi build");
    free(tpm2);
    free(ssdt);
    ao.size = sizeof(ao) - 1;
    CHECK(tpmcrb_acpi_build(&ao, &tpm2, &tpm2_len, &ssdt, &ssdt_len) == -EINVAL,
          "acpi options one byte short");

    tpmcrb_backend_options_init(&bo);
    CHECK(bo.size == sizeof(bo), "backend options init sets the size");
    rc = tpmcrb_backend_open("libtpms", &bo, &be);
    CHECK(rc == 0, "libtpms: %s", strerror(-rc));
    if (rc < 0)
        return;

    memset(&newer, 0, sizeof(newer));
    tpmcrb_config_init(&newer.cfg);
    CHECK(newer.cfg.size == sizeof(newer.cfg), "config init sets the size");
    newer.cfg.size = 0;
    CHECK(tpmcrb_device_new(&newer.cfg, be, &dev) == -EINVAL, "config size 0");
    /* A newer caller that leaves its new field zero is served. */
    newer.cfg.size = sizeof(newer);
    rc = tpmcrb_device_new(&newer.cfg, be, &dev);
    CHECK(rc == 0, "newer config, new field zero: %s", strerror(-rc));
    if (rc == 0) {
        CHECK(tpmcrb_get_stats(dev, &st) == -EINVAL, "stats size 0");
        st.size = sizeof(st);
        CHECK(tpmcrb_get_stats(dev, &st) == 0, "stats");
        {
            struct tpmcrb_poll_options po = { .size = 4, .mem_fd = -1 };
            struct tpmcrb_poller *poller = NULL;

            CHECK(tpmcrb_poller_start_with(dev, &po, &poller) == -EINVAL,
                  "poll options of size 4");
            po.size = sizeof(po);
            rc = tpmcrb_poller_start_with(dev, &po, &poller);
            CHECK(rc == 0, "poll options without a hub: %s", strerror(-rc));
            tpmcrb_poller_stop(poller);
        }
        tpmcrb_device_free(dev);
    }
    /* One that uses it is refused instead of silently ignored. */
    newer.future_field = 1;
    CHECK(tpmcrb_device_new(&newer.cfg, be, &dev) == -EINVAL,
          "newer config with its new field set");

    /* A backend whose ops table has no size. */
    {
        struct tpmcrb_backend_ops ops = *be->ops;
        struct tpmcrb_backend fake = { .ops = &ops };
        struct tpmcrb_config cfg;

        ops.size = 0;
        tpmcrb_config_init(&cfg);
        CHECK(tpmcrb_device_new(&cfg, &fake, &dev) == -EINVAL, "ops size 0");
    }
    tpmcrb_backend_close(be);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test-abi PROJECT_VERSION STATE_DIR\n");
        return 2;
    }
    CHECK(!strcmp(tpmcrb_version(), TPMCRB_VERSION_STRING),
          "library %s, header %s", tpmcrb_version(), TPMCRB_VERSION_STRING);
    CHECK(!strcmp(tpmcrb_version(), argv[1]),
          "library %s, project %s", tpmcrb_version(), argv[1]);
    /* The errors the library logs for the refused sizes are expected. */
    tpmcrb_log_set(TPMCRB_LOG_ERROR, NULL, NULL);
    examples(argv[2]);
    struct_sizes();
    if (failures)
        return 1;
    printf("abi: ok (libtpmcrb %s)\n", tpmcrb_version());
    return 0;
}
