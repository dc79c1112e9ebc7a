/* SPDX-License-Identifier: BSD-3-Clause */
/* State directory: atomic replacement, corruption detection (named in the
 * error, file untouched), generations, the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/state_store.h"
#include "test_files.h"
#include "tpm_commands.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TYPE 0x54455354u

static int setup(void **state)
{
    *state = store_fixture_new();
    assert_non_null(*state);
    return 0;
}

static int teardown(void **state)
{
    store_fixture_free(*state);
    return 0;
}

static void put(struct store_fixture *f, const char *name, uint64_t gen, const char *text)
{
    struct state_info info = { .type = TYPE, .generation = gen, .link = gen - 1,
                               .len = (uint32_t)strlen(text) };

    assert_int_equal(state_store_write(f->st, name, &info,
                                       (const uint8_t *)text, true), 0);
}

static void test_dir_created_private(void **state)
{
    struct store_fixture *f = *state;
    struct stat sb;

    assert_int_equal(stat(f->dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
}

static void test_missing_parent_is_an_error(void **state)
{
    struct store_fixture *f = *state;
    struct state_store *st = NULL;
    char dir[300];

    snprintf(dir, sizeof(dir), "%s/no/such", f->base);
    assert_int_equal(state_store_open(dir, &st), -ENOENT);
    assert_null(st);
    assert_non_null(strstr(log_captured(), dir));
}

static void test_roundtrip(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;
    uint8_t *data;

    put(f, "x.state", 7, "hello state");
    assert_int_equal(state_store_read(f->st, "x.state", TYPE, &data, &info), 0);
    assert_int_equal(info.len, 11);
    assert_int_equal(info.generation, 7);
    assert_int_equal(info.link, 6);
    assert_memory_equal(data, "hello state", 11);
    free(data);
    assert_int_equal(file_size(f->dir, "x.state"), STATE_HEADER_SIZE + 11);
}

static void test_missing_is_enoent_silently(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;
    uint8_t *data;

    assert_int_equal(state_store_read(f->st, "none", TYPE, &data, &info),
                     -ENOENT);
    assert_int_equal(state_store_peek(f->st, "none", TYPE, &info), -ENOENT);
    assert_string_equal(log_captured(), "");
}

/* The new content appears whole; no temporary file stays behind. */
static void test_replace_is_atomic(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;
    struct dirent *de;
    uint8_t *data;
    DIR *d;

    put(f, "x.state", 1, "first version");
    put(f, "x.state", 2, "second");
    assert_int_equal(state_store_read(f->st, "x.state", TYPE, &data, &info), 0);
    assert_int_equal(info.len, 6);
    assert_memory_equal(data, "second", 6);
    free(data);
    d = opendir(f->dir);
    assert_non_null(d);
    while ((de = readdir(d)))
        assert_true(de->d_name[0] != '.' || !strcmp(de->d_name, ".") ||
                    !strcmp(de->d_name, ".."));
    closedir(d);
}

/* A write that fails (here: the temporary name is taken by a directory)
 * leaves the previous file intact and says which file it was. */
static void test_failed_write_keeps_old(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info = { .type = TYPE, .generation = 9, .len = 3 };
    char tmp[400];
    uint8_t *data;

    put(f, "x.state", 1, "old");
    snprintf(tmp, sizeof(tmp), "%s/.x.state.tmp", f->dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_true(state_store_write(f->st, "x.state", &info,
                                  (const uint8_t *)"new", true) < 0);
    assert_non_null(strstr(log_captured(), "x.state"));
    assert_int_equal(state_store_read(f->st, "x.state", TYPE, &data, &info), 0);
    assert_memory_equal(data, "old", 3);
    assert_int_equal(info.generation, 1);
    free(data);
    rmdir(tmp);
}

static void expect_bad(struct store_fixture *f, const char *name, const char *why)
{
    struct state_info info;
    uint8_t *data = NULL;
    char path[400];

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    log_capture_start();
    assert_int_equal(state_store_read(f->st, name, TYPE, &data, &info),
                     -EBADMSG);
    assert_null(data);
    assert_non_null(strstr(log_captured(), path));
    assert_non_null(strstr(log_captured(), why));
    assert_non_null(strstr(log_captured(), "untouched"));
}

static void test_corrupt_payload_detected_untouched(void **state)
{
    struct store_fixture *f = *state;
    uint8_t before[64], after[64];
    size_t n;

    put(f, "c.state", 3, "payload to corrupt");
    flip_byte(f->dir, "c.state", STATE_HEADER_SIZE + 4);
    n = read_file(f->dir, "c.state", before, sizeof(before));
    expect_bad(f, "c.state", "checksum");
    assert_int_equal(read_file(f->dir, "c.state", after, sizeof(after)), n);
    assert_memory_equal(before, after, n);
}

static void test_corrupt_header_detected(void **state)
{
    struct store_fixture *f = *state;

    put(f, "h.state", 3, "payload");
    flip_byte(f->dir, "h.state", 17); /* generation */
    expect_bad(f, "h.state", "checksum");
    put(f, "m.state", 3, "payload");
    flip_byte(f->dir, "m.state", 0); /* magic */
    expect_bad(f, "m.state", "magic");
}

static void test_truncated_detected_untouched(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;

    put(f, "t.state", 3, "a payload that gets cut");
    truncate_file(f->dir, "t.state", STATE_HEADER_SIZE + 5);
    expect_bad(f, "t.state", "truncated");
    assert_int_equal(state_store_peek(f->st, "t.state", TYPE, &info), -EBADMSG);
    assert_int_equal(file_size(f->dir, "t.state"), STATE_HEADER_SIZE + 5);
    truncate_file(f->dir, "t.state", 20);
    expect_bad(f, "t.state", "truncated");
    assert_int_equal(file_size(f->dir, "t.state"), 20);
}

static void test_trailing_and_type(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;
    uint8_t *data;

    put(f, "g.state", 3, "abc");
    append_byte(f->dir, "g.state");
    expect_bad(f, "g.state", "trailing");
    put(f, "y.state", 3, "abc");
    assert_int_equal(state_store_read(f->st, "y.state", TYPE + 1, &data, &info),
                     -EBADMSG);
}

static void test_peek_generation(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;

    put(f, "p.state", 41, "x");
    assert_int_equal(state_store_peek(f->st, "p.state", TYPE, &info), 0);
    assert_int_equal(info.generation, 41);
    put(f, "p.state", 42, "yy");
    assert_int_equal(state_store_peek(f->st, "p.state", TYPE, &info), 0);
    assert_int_equal(info.generation, 42);
    assert_int_equal(info.len, 2);
}

static int try_lock_in_child(const char *dir)
{
    char path[400];
    pid_t pid;
    int status;

    snprintf(path, sizeof(path), "%s/lock", dir);
    pid = fork();
    if (pid == 0) {
        int fd = open(path, O_RDWR);

        _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
}

static void test_lock_excludes_other_process(void **state)
{
    struct store_fixture *f = *state;

    assert_int_equal(try_lock_in_child(f->dir), 0);
    assert_int_equal(state_store_lock(f->st), 0);
    assert_int_equal(try_lock_in_child(f->dir), 1);
    state_store_unlock(f->st);
    assert_int_equal(try_lock_in_child(f->dir), 0);
}

static void test_remove(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;

    put(f, "r.state", 1, "x");
    assert_int_equal(state_store_remove(f->st, "r.state", true), 0);
    assert_int_equal(state_store_peek(f->st, "r.state", TYPE, &info), -ENOENT);
    assert_int_equal(state_store_remove(f->st, "r.state", true), 0);
}

/* ---------------------------------------------------------- slotted */

static void put_slot(struct store_fixture *f, uint64_t gen, const char *text)
{
    struct state_info info = { .type = TYPE, .generation = gen,
                               .len = (uint32_t)strlen(text) };

    assert_int_equal(state_store_write_slots(f->st, "v", &info,
                                             (const uint8_t *)text, false), 0);
}

static void expect_slot(struct store_fixture *f, uint64_t gen, const char *text)
{
    struct state_info info;
    uint8_t *data;

    assert_int_equal(state_store_read_slots(f->st, "v", TYPE, &data, &info), 0);
    assert_int_equal(info.generation, gen);
    assert_int_equal(info.len, strlen(text));
    assert_memory_equal(data, text, info.len);
    free(data);
}

/* Writes alternate between the two slots; the newest valid one is read. */
static void test_slots_alternate(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info;

    assert_int_equal(state_store_peek_slots(f->st, "v", TYPE, &info), -ENOENT);
    put_slot(f, 1, "first, and longer");
    assert_int_equal(file_size(f->dir, "v.1"), -1);
    put_slot(f, 2, "second");
    put_slot(f, 3, "third");
    assert_true(file_size(f->dir, "v.0") > 0 && file_size(f->dir, "v.1") > 0);
    expect_slot(f, 3, "third");
    assert_int_equal(state_store_peek_slots(f->st, "v", TYPE, &info), 0);
    assert_int_equal(info.generation, 3);
    /* A fresh store (another process) finds the same current slot. */
    state_store_close(f->st);
    assert_int_equal(state_store_open(f->dir, &f->st), 0);
    expect_slot(f, 3, "third");
    put_slot(f, 4, "fourth");
    expect_slot(f, 4, "fourth");
}

/* A write cut short leaves the other slot current, quietly; the torn slot
 * is the next one written. */
static void test_torn_slot_falls_back(void **state)
{
    struct store_fixture *f = *state;

    put_slot(f, 1, "older state");   /* v.0 */
    put_slot(f, 2, "newer state");   /* v.1 */
    truncate_file(f->dir, "v.1", STATE_HEADER_SIZE + 3);
    log_capture_start();
    expect_slot(f, 1, "older state");
    assert_string_equal(log_captured(), "");
    put_slot(f, 3, "repaired");
    assert_int_equal(file_size(f->dir, "v.0"), STATE_HEADER_SIZE + 11);
    expect_slot(f, 3, "repaired");
}

/* No valid slot left: an error naming the files, which stay untouched. */
static void test_all_slots_corrupt(void **state)
{
    struct store_fixture *f = *state;
    struct state_info info = { .type = TYPE, .generation = 9, .len = 1 };
    uint8_t before[2][128], after[128];
    size_t n[2];
    uint8_t *data;
    char path[400];

    put_slot(f, 1, "slot zero");
    put_slot(f, 2, "slot one");
    flip_byte(f->dir, "v.0", STATE_HEADER_SIZE + 2);
    flip_byte(f->dir, "v.1", STATE_HEADER_SIZE + 2);
    n[0] = read_file(f->dir, "v.0", before[0], sizeof(before[0]));
    n[1] = read_file(f->dir, "v.1", before[1], sizeof(before[1]));
    state_store_close(f->st);
    assert_int_equal(state_store_open(f->dir, &f->st), 0);
    log_capture_start();
    assert_int_equal(state_store_read_slots(f->st, "v", TYPE, &data, &info),
                     -EBADMSG);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "%s/v.%d", f->dir, k);
        assert_non_null(strstr(log_captured(), path));
    }
    /* Nor does a write overwrite them. */
    assert_true(state_store_write_slots(f->st, "v", &info,
                                        (const uint8_t *)"x", false) < 0);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "v.%d", k);
        assert_int_equal(read_file(f->dir, path, after, sizeof(after)), n[k]);
        assert_memory_equal(before[k], after, n[k]);
    }
}

/* Owners exclude everybody; per-command users only owners. flock belongs
 * to the open file, so this holds inside one process too. */
static void test_lifetime_lock(void **state)
{
    struct store_fixture *f = *state;
    struct state_store *a = NULL, *b = NULL, *c = NULL;

    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_OWNER, &a), 0);
    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_OWNER, &b), -EBUSY);
    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_SHARED, &b), -EBUSY);
    assert_non_null(strstr(log_captured(), "is in use by"));
    state_store_close(a);
    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_SHARED, &a), 0);
    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_SHARED, &b), 0);
    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_OWNER, &c), -EBUSY);
    assert_null(c);
    state_store_close(a);
    state_store_close(b);
    assert_int_equal(state_store_open_as(f->dir, STATE_STORE_OWNER, &c), 0);
    state_store_close(c);
}

/* A directory others can write, or another user's, is refused with the
 * reason; nothing is created in it. */
static void test_unsafe_dir_refused(void **state)
{
    struct store_fixture *f = *state;
    struct state_store *st = NULL;

    assert_int_equal(chmod(f->dir, 0770), 0);
    assert_int_equal(state_store_open(f->dir, &st), -EPERM);
    assert_non_null(strstr(log_captured(), "writable by group or others"));
    assert_int_equal(chmod(f->dir, 0702), 0);
    assert_int_equal(state_store_open(f->dir, &st), -EPERM);
    assert_int_equal(chmod(f->dir, 0700), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(f->dir, 4321, (gid_t)-1), 0);
        assert_int_equal(state_store_open(f->dir, &st), -EPERM);
        assert_non_null(strstr(log_captured(), "owned by another user"));
        assert_int_equal(chown(f->dir, 0, (gid_t)-1), 0);
    }
    assert_null(st);
    assert_int_equal(chmod(f->dir, 0750), 0); /* readable is fine */
    assert_int_equal(state_store_open(f->dir, &st), 0);
    state_store_close(st);
}

/* Symlinks planted in the directory are never followed: the temporary is
 * replaced, a state file that is a symlink is an error. */
static void test_symlinks_not_followed(void **state)
{
    struct store_fixture *f = *state;
    char link[512], victim[512];
    struct state_info info;
    uint8_t *data = NULL;
    struct stat sb;

    snprintf(victim, sizeof(victim), "%s/victim", f->base);
    snprintf(link, sizeof(link), "%s/.nv.tmp", f->dir);
    assert_int_equal(symlink(victim, link), 0);
    put(f, "nv", 1, "seed");
    assert_int_equal(lstat(victim, &sb), -1);
    snprintf(link, sizeof(link), "%s/nv", f->dir);
    assert_int_equal(stat(link, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink(victim, link), 0);
    assert_true(state_store_read(f->st, "nv", TYPE, &data, &info) < 0);
    assert_null(data);
    assert_int_equal(lstat(victim, &sb), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_dir_created_private),
        T(test_missing_parent_is_an_error),
        T(test_roundtrip),
        T(test_missing_is_enoent_silently),
        T(test_replace_is_atomic),
        T(test_failed_write_keeps_old),
        T(test_corrupt_payload_detected_untouched),
        T(test_corrupt_header_detected),
        T(test_truncated_detected_untouched),
        T(test_trailing_and_type),
        T(test_peek_generation),
        T(test_lock_excludes_other_process),
        T(test_remove),
        T(test_slots_alternate),
        T(test_torn_slot_falls_back),
        T(test_all_slots_corrupt),
        T(test_lifetime_lock),
        T(test_unsafe_dir_refused),
        T(test_symlinks_not_followed),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
