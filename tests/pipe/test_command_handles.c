/* SPDX-License-Identifier: BSD-3-Clause */
/* The resource manager's table of handle counts (TPM 2.0 Part 3): the
 * commands tpm2-tools uses, the ones with three handles or a new handle in
 * the response, and codes across the whole range (the table is searched by
 * halves, so an entry out of order would hide others). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tools/pipe/command_handles.h"

static void check(uint32_t code, unsigned in, unsigned out)
{
    unsigned i = 99, o = 99;

    if (!tpm_command_handles(code, &i, &o))
        fail_msg("command 0x%x is not in the table", code);
    if (i != in || o != out)
        fail_msg("command 0x%x: %u/%u handles, expected %u/%u", code, i, o,
                 in, out);
}

static void known_commands(void **state)
{
    (void)state;
    check(0x11F, 2, 0); /* NV_UndefineSpaceSpecial, the first code */
    check(0x120, 2, 0); /* EvictControl */
    check(0x131, 1, 1); /* CreatePrimary */
    check(0x137, 2, 0); /* NV_Write */
    check(0x144, 0, 0); /* Startup */
    check(0x149, 3, 0); /* PolicyNV */
    check(0x14D, 3, 0); /* GetSessionAuditDigest */
    check(0x151, 2, 0); /* PolicySecret */
    check(0x153, 1, 0); /* Create */
    check(0x157, 1, 1); /* Load */
    check(0x15B, 1, 1); /* HMAC_Start */
    check(0x15E, 1, 0); /* Unseal */
    check(0x161, 0, 1); /* ContextLoad */
    check(0x162, 1, 0); /* ContextSave */
    check(0x165, 0, 0); /* FlushContext: its handle is a parameter */
    check(0x167, 0, 1); /* LoadExternal */
    check(0x173, 1, 0); /* ReadPublic */
    check(0x176, 2, 1); /* StartAuthSession */
    check(0x17A, 0, 0); /* GetCapability */
    check(0x17B, 0, 0); /* GetRandom */
    check(0x17F, 1, 0); /* PolicyPCR */
    check(0x182, 1, 0); /* PCR_Extend */
    check(0x184, 3, 0); /* NV_Certify */
    check(0x185, 2, 0); /* EventSequenceComplete */
    check(0x186, 0, 1); /* HashSequenceStart */
    check(0x189, 1, 0); /* PolicyGetDigest */
    check(0x191, 1, 1); /* CreateLoaded */
    check(0x192, 3, 0); /* PolicyAuthorizeNV */
    check(0x195, 3, 0); /* AC_Send */
    check(0x19F, 1, 0); /* SetCapability, the last code */
}

static void unknown_commands(void **state)
{
    unsigned in = 99, out = 99;

    (void)state;
    assert_false(tpm_command_handles(0x11E, &in, &out));
    assert_int_equal(in, 0);
    assert_int_equal(out, 0);
    assert_false(tpm_command_handles(0x1A0, &in, &out));
    assert_false(tpm_command_handles(0x20000000, &in, &out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_commands),
        cmocka_unit_test(unknown_commands),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
