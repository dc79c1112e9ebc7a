/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/cli/tool_log.h"
#include "tools/cli/commands.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <tss2/tss2_rc.h>
#include <unistd.h>

static const char *const level_names[] = {
    [TPMCRB_LOG_ERROR] = "error", [TPMCRB_LOG_WARN] = "warning",
    [TPMCRB_LOG_INFO] = "info", [TPMCRB_LOG_DEBUG] = "debug",
    [TPMCRB_LOG_TRACE] = "trace",
};

static const char *const level_options[] = {
    [TPMCRB_LOG_ERROR] = "error", [TPMCRB_LOG_WARN] = "warn",
    [TPMCRB_LOG_INFO] = "info", [TPMCRB_LOG_DEBUG] = "debug",
    [TPMCRB_LOG_TRACE] = "trace",
};

/* Messages come from the device's threads as well as the main one. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static enum tpmcrb_log_level level = TPMCRB_LOG_WARN;
static const char *command;
static FILE *log_file;

static void timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);

    snprintf(buf + n, len - n, ".%06uZ ",
             (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

static void write_line(FILE *f, const char *stamp, enum tpmcrb_log_level l,
                       const char *msg, int len)
{
    fprintf(f, "%stpmcrb%s%s: %s: %.*s\n", stamp, command ? " " : "",
            command ? command : "", level_names[l], len, msg);
    fflush(f);
}

/* Errors always reach stderr, so that a failing command never fails
 * silently into a log file. Timestamps: always in the file; on stderr
 * once more than warnings were asked for (a trace is read against time,
 * a one-line error is not). */
static void tool_log(enum tpmcrb_log_level l, const char *msg, void *opaque)
{
    int len = (int)strlen(msg);
    char stamp[64];

    (void)opaque;
    if (len > 0 && msg[len - 1] == '\n')
        len--;
    timestamp(stamp, sizeof(stamp));
    pthread_mutex_lock(&lock);
    if (log_file)
        write_line(log_file, stamp, l, msg, len);
    if (!log_file || l == TPMCRB_LOG_ERROR)
        write_line(stderr, level > TPMCRB_LOG_WARN ? stamp : "", l, msg, len);
    pthread_mutex_unlock(&lock);
}

/* Tss2_RC_Decode's text lives in a buffer of its own: copy it under the
 * lock. */
static void decode_rc(uint32_t rc, char *buf, size_t len)
{
    static pthread_mutex_t rc_lock = PTHREAD_MUTEX_INITIALIZER;

    pthread_mutex_lock(&rc_lock);
    snprintf(buf, len, "%s", Tss2_RC_Decode(rc));
    pthread_mutex_unlock(&rc_lock);
}

/* Under the lock: tool_log() reads the level on the device's threads. */
static void apply(enum tpmcrb_log_level l)
{
    pthread_mutex_lock(&lock);
    level = l;
    tpmcrb_log_set(level, tool_log, NULL);
    pthread_mutex_unlock(&lock);
}

void tool_log_command(const char *name)
{
    command = name;
}

void tool_log_raise(enum tpmcrb_log_level l)
{
    if (l > level)
        apply(l);
}

enum tpmcrb_log_level tool_log_set_level(enum tpmcrb_log_level l)
{
    enum tpmcrb_log_level was = level;

    apply(l);
    return was;
}

static int set_level(const char *name)
{
    size_t n = sizeof(level_options) / sizeof(level_options[0]);

    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, level_options[i])) {
            level = (enum tpmcrb_log_level)i;
            return 0;
        }
    LOG_ERROR("--log-level must be error, warn, info, debug or trace, "
              "not '%s'", name);
    return EXIT_USAGE;
}

static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                  0600);

    if (log_file)
        fclose(log_file);
    log_file = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!log_file) {
        LOG_ERROR("--log-file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* "--NAME VALUE" or "--NAME=VALUE" at argv[*i]: the value, with *i on
 * its last word; NULL when argv[*i] is not the option. */
static const char *option_value(int argc, char **argv, int *i,
                                const char *name, int *missing)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

void tool_log_usage(FILE *out)
{
    fprintf(out, "\nlogging (every command):\n" TOOL_LOG_OPTIONS_HELP);
}

int tool_log_start(int *argc, char **argv)
{
    int out = 1, err = 0, missing = 0;

    crb_log_set_rc_decoder(decode_rc);
    apply(level);
    for (int i = 1; i < *argc; i++) {
        int first = i;
        const char *v;

        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if ((v = option_value(*argc, argv, &i, "--log-level", &missing)))
            err = err ? err : set_level(v);
        else if ((v = option_value(*argc, argv, &i, "--log-file", &missing)))
            err = err ? err : open_log_file(v);
        else if (missing) {
            LOG_ERROR("%s needs a value", argv[i]);
            err = EXIT_USAGE;
            missing = 0;
        } else
            argv[out++] = argv[first];
    }
    *argc = out;
    argv[out] = NULL;
    apply(level);
    return err;
}

void tool_log_stop(void)
{
    pthread_mutex_lock(&lock);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&lock);
}
