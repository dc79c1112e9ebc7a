/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host TPM passthrough: commands go to a TPM character device, normally
 * /dev/tpmrm0 (the kernel's resource manager gives each open file its own
 * objects and sessions, so the guest neither sees nor flushes the host's).
 *
 * The host TPM belongs to the host: the guest's locality is not passed on,
 * the kernel's 4 KiB buffer is the limit, and there is no state to save.
 * The device is opened non-blocking: the kernel then runs the command in
 * the background and poll() reports the response, which bounds our wait
 * (kernels without that support block in write() instead).
 */
#include "backend/backends.h"
#include "backend/test_hooks.h"
#include "util/log.h"
#include "util/tpm_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOST_BUFSIZE 4096u  /* the kernel's TPM_BUFSIZE */
#define TIMEOUT_MS 120000   /* the kernel's own longest TPM 2.0 timeout */

struct passthrough {
    struct tpmcrb_backend be;
    int fd;
    char *path;
    char cancel_path[64];   /* "" when the host has no sysfs cancel */
    uint32_t max_cmd;
    bool broken;            /* a command timed out: reopen before reuse */
    bool locality_noted;
    uint8_t buf[HOST_BUFSIZE];
};

static struct passthrough *to_pt(struct tpmcrb_backend *be)
{
    return (struct passthrough *)be;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int device_open(struct passthrough *pt)
{
    struct stat st;
    int rc;

    pt->fd = open(pt->path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (pt->fd < 0) {
        rc = -errno;
        LOG_ERROR("passthrough: cannot open TPM device %s: %s", pt->path,
                  strerror(-rc));
        return rc;
    }
    if (fstat(pt->fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
        LOG_ERROR("passthrough: %s is not a character device", pt->path);
        close(pt->fd);
        pt->fd = -1;
        return -ENODEV;
    }
    pt->broken = false;
    return 0;
}

int crb_passthrough_cancel_path(const char *dev, char *buf, size_t len)
{
    char *real = realpath(dev, NULL);
    const char *name = strrchr(real ? real : dev, '/');
    unsigned num;
    int end = 0, n;

    name = name ? name + 1 : real ? real : dev;
    if ((sscanf(name, "tpmrm%u%n", &num, &end) != 1 &&
         sscanf(name, "tpm%u%n", &num, &end) != 1) || name[end] != '\0') {
        free(real);
        return -EINVAL;
    }
    free(real);
    n = snprintf(buf, len, "/sys/class/tpm/tpm%u/device/cancel", num);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int pt_power_on(struct tpmcrb_backend *be, uint32_t buffer_size,
                       bool *resumed)
{
    struct passthrough *pt = to_pt(be);

    if (pt->broken) {
        /* Closing drops the command the host TPM is still working on. */
        LOG_INFO("passthrough: reopening %s after an earlier failure",
                 pt->path);
        close(pt->fd);
        pt->fd = -1;
        if (device_open(pt))
            return -EIO;
    }
    pt->max_cmd = buffer_size < HOST_BUFSIZE ? buffer_size : HOST_BUFSIZE;
    *resumed = true; /* the host started its TPM long ago */
    return 0;
}

static int fail(struct passthrough *pt, const char *what, int err)
{
    LOG_ERROR("passthrough: %s %s: %s", what, pt->path, strerror(err));
    pt->broken = true;
    return -EIO;
}

static int write_command(struct passthrough *pt, const uint8_t *cmd,
                         uint32_t len)
{
    ssize_t n;

    do
        n = write(pt->fd, cmd, len);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return 0;
    return fail(pt, "writing to", n < 0 ? errno : EIO);
}

/* The TPM error for a command the host kernel refused before it reached
 * the TPM, or 0 for an errno that means the device failed. /dev/tpmrm0's
 * resource manager rejects handles it does not know (EINVAL) and command
 * codes the TPM lacks (EOPNOTSUPP) through read(); the file stays usable,
 * so the guest gets an error response instead of a broken TPM. */
static uint32_t refused_command_rc(int err)
{
    switch (err) {
    case EINVAL:
        return TPM_RC_HANDLE;
    case EOPNOTSUPP:
        return TPM_RC_COMMAND_CODE;
    case E2BIG:
        return TPM_RC_COMMAND_SIZE;
    default:
        return 0;
    }
}

/* Read the whole response into pt->buf: the kernel hands it out at once
 * once poll() says it is there. */
static int read_response(struct passthrough *pt, uint32_t *len)
{
    int64_t deadline = now_ms() + TIMEOUT_MS;
    struct pollfd p = { .fd = pt->fd, .events = POLLIN };
    size_t got = 0;

    while (got < TPM_HEADER_SIZE || got < tpm_hdr_size(pt->buf)) {
        int64_t left = deadline - now_ms();
        uint32_t refused;
        ssize_t n;
        int r = poll(&p, 1, left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(pt, "waiting for", errno);
        if (r == 0) {
            LOG_ERROR("passthrough: no response from %s within %d s",
                      pt->path, TIMEOUT_MS / 1000);
            pt->broken = true;
            return -EIO;
        }
        n = read(pt->fd, pt->buf + got, sizeof(pt->buf) - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0 && got == 0 && (refused = refused_command_rc(errno))) {
            LOG_WARN("passthrough: %s refused the command: %s", pt->path,
                     strerror(errno));
            *len = tpm_error_response(pt->buf, refused);
            return 0;
        }
        if (n < 0)
            return fail(pt, "reading from", errno);
        if (n == 0)
            return fail(pt, "no response from", EPIPE);
        got += (size_t)n;
        if (got >= TPM_HEADER_SIZE && (tpm_hdr_size(pt->buf) < TPM_HEADER_SIZE ||
                                       tpm_hdr_size(pt->buf) > sizeof(pt->buf)))
            return fail(pt, "malformed response from", EPROTO);
    }
    *len = tpm_hdr_size(pt->buf);
    return 0;
}

static int pt_execute(struct tpmcrb_backend *be, unsigned locality,
                      const uint8_t *cmd, uint32_t cmd_len, uint8_t *rsp,
                      uint32_t rsp_cap, uint32_t *rsp_len)
{
    struct passthrough *pt = to_pt(be);
    uint32_t len;
    int rc;

    if (pt->broken)
        return -EIO;
    if (locality != 0 && !pt->locality_noted) {
        LOG_DEBUG("passthrough: guest uses locality %u; the host TPM sees "
                  "its own locality", locality);
        pt->locality_noted = true;
    }
    /* Larger or inconsistent commands never reach the host TPM: the kernel
     * would refuse them with an errno, which would look like a failure. */
    if (cmd_len < TPM_HEADER_SIZE || cmd_len > pt->max_cmd ||
        tpm_hdr_size(cmd) > cmd_len) {
        *rsp_len = tpm_error_response(rsp, TPM_RC_COMMAND_SIZE);
        return 0;
    }
    rc = write_command(pt, cmd, cmd_len);
    if (!rc)
        rc = read_response(pt, &len);
    if (rc)
        return rc;
    if (len > rsp_cap) {
        LOG_WARN("passthrough: %u-byte response does not fit the %u-byte "
                 "buffer", len, rsp_cap);
        *rsp_len = tpm_error_response(rsp, TPM_RC_FAILURE);
        return 0;
    }
    memcpy(rsp, pt->buf, len);
    *rsp_len = len;
    return 0;
}

/* Only TPMs whose driver offers it (sysfs "cancel", mostly TPM 1.2 era
 * drivers) can be cancelled; elsewhere the command runs to its end. */
static void pt_cancel(struct tpmcrb_backend *be)
{
    struct passthrough *pt = to_pt(be);
    int fd;

    if (!pt->cancel_path[0]) {
        LOG_DEBUG("passthrough: cancel not supported by the host TPM");
        return;
    }
    fd = open(pt->cancel_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1", 1) != 1)
        LOG_DEBUG("passthrough: cancel through %s failed: %s",
                  pt->cancel_path, strerror(errno));
    if (fd >= 0)
        close(fd);
}

static int pt_power_off(struct tpmcrb_backend *be)
{
    (void)be;
    return 0; /* the host TPM keeps running */
}

static int pt_save_state(struct tpmcrb_backend *be, uint8_t **blob,
                         size_t *len)
{
    (void)be; (void)blob; (void)len;
    LOG_ERROR("passthrough: a host TPM's state cannot be saved");
    return -ENOTSUP;
}

static int pt_load_state(struct tpmcrb_backend *be, const uint8_t *blob,
                         size_t len)
{
    (void)be; (void)blob; (void)len;
    LOG_ERROR("passthrough: a host TPM's state cannot be loaded");
    return -ENOTSUP;
}

static void pt_destroy(struct tpmcrb_backend *be)
{
    struct passthrough *pt = to_pt(be);

    if (pt->fd >= 0)
        close(pt->fd);
    free(pt->path);
    free(pt);
}

static const struct tpmcrb_backend_ops passthrough_ops = {
    .size = sizeof(struct tpmcrb_backend_ops),
    .name = "passthrough",
    .power_on = pt_power_on,
    .execute = pt_execute,
    .cancel = pt_cancel,
    /* The host's tpmEstablished is not ours (nor readable from user
     * space): the device keeps the guest's own bit. */
    .get_established = NULL,
    .reset_established = NULL,
    .power_off = pt_power_off,
    .save_state = pt_save_state,
    .load_state = pt_load_state,
    .destroy = pt_destroy,
};

int crb_passthrough_open(const char *path,
                         const struct tpmcrb_backend_options *opts,
                         struct tpmcrb_backend **out)
{
    struct passthrough *pt = calloc(1, sizeof(*pt));
    int rc;

    if (!pt || !(pt->path = strdup(path))) {
        free(pt);
        return -ENOMEM;
    }
    pt->be.ops = &passthrough_ops;
    pt->max_cmd = HOST_BUFSIZE;
    if (opts && opts->state_dir)
        LOG_WARN("passthrough: state directory %s ignored: the host TPM "
                 "keeps its own state", opts->state_dir);
    rc = device_open(pt);
    if (rc) {
        pt_destroy(&pt->be);
        return rc;
    }
    if (crb_passthrough_cancel_path(path, pt->cancel_path,
                                    sizeof(pt->cancel_path)) ||
        access(pt->cancel_path, W_OK) != 0) {
        LOG_DEBUG("passthrough: no sysfs cancel for %s", path);
        pt->cancel_path[0] = '\0';
    }
    *out = &pt->be;
    return 0;
}
