/* SPDX-License-Identifier: BSD-3-Clause */
/* Handle counts of the TPM 2.0 commands (Part 3, each command's tables). */
#include "tools/pipe/command_handles.h"

#include <stddef.h>

struct command_handles {
    uint16_t code;
    uint8_t in, out;
};

/* Sorted by command code; a code missing here has no handles in a known
 * command (or is unknown). */
static const struct command_handles table[] = {
    { 0x11F, 2, 0 }, /* NV_UndefineSpaceSpecial */
    { 0x120, 2, 0 }, /* EvictControl */
    { 0x121, 1, 0 }, /* HierarchyControl */
    { 0x122, 2, 0 }, /* NV_UndefineSpace */
    { 0x124, 1, 0 }, /* ChangeEPS */
    { 0x125, 1, 0 }, /* ChangePPS */
    { 0x126, 1, 0 }, /* Clear */
    { 0x127, 1, 0 }, /* ClearControl */
    { 0x128, 1, 0 }, /* ClockSet */
    { 0x129, 1, 0 }, /* HierarchyChangeAuth */
    { 0x12A, 1, 0 }, /* NV_DefineSpace */
    { 0x12B, 1, 0 }, /* PCR_Allocate */
    { 0x12C, 1, 0 }, /* PCR_SetAuthPolicy */
    { 0x12D, 1, 0 }, /* PP_Commands */
    { 0x12E, 1, 0 }, /* SetPrimaryPolicy */
    { 0x12F, 2, 0 }, /* FieldUpgradeStart */
    { 0x130, 1, 0 }, /* ClockRateAdjust */
    { 0x131, 1, 1 }, /* CreatePrimary */
    { 0x132, 1, 0 }, /* NV_GlobalWriteLock */
    { 0x133, 2, 0 }, /* GetCommandAuditDigest */
    { 0x134, 2, 0 }, /* NV_Increment */
    { 0x135, 2, 0 }, /* NV_SetBits */
    { 0x136, 2, 0 }, /* NV_Extend */
    { 0x137, 2, 0 }, /* NV_Write */
    { 0x138, 2, 0 }, /* NV_WriteLock */
    { 0x139, 1, 0 }, /* DictionaryAttackLockReset */
    { 0x13A, 1, 0 }, /* DictionaryAttackParameters */
    { 0x13B, 1, 0 }, /* NV_ChangeAuth */
    { 0x13C, 1, 0 }, /* PCR_Event */
    { 0x13D, 1, 0 }, /* PCR_Reset */
    { 0x13E, 1, 0 }, /* SequenceComplete */
    { 0x13F, 1, 0 }, /* SetAlgorithmSet */
    { 0x140, 1, 0 }, /* SetCommandCodeAuditStatus */
    { 0x147, 2, 0 }, /* ActivateCredential */
    { 0x148, 2, 0 }, /* Certify */
    { 0x149, 3, 0 }, /* PolicyNV */
    { 0x14A, 2, 0 }, /* CertifyCreation */
    { 0x14B, 2, 0 }, /* Duplicate */
    { 0x14C, 2, 0 }, /* GetTime */
    { 0x14D, 3, 0 }, /* GetSessionAuditDigest */
    { 0x14E, 2, 0 }, /* NV_Read */
    { 0x14F, 2, 0 }, /* NV_ReadLock */
    { 0x150, 2, 0 }, /* ObjectChangeAuth */
    { 0x151, 2, 0 }, /* PolicySecret */
    { 0x152, 2, 0 }, /* Rewrap */
    { 0x153, 1, 0 }, /* Create */
    { 0x154, 1, 0 }, /* ECDH_ZGen */
    { 0x155, 1, 0 }, /* HMAC, MAC */
    { 0x156, 1, 0 }, /* Import */
    { 0x157, 1, 1 }, /* Load */
    { 0x158, 1, 0 }, /* Quote */
    { 0x159, 1, 0 }, /* RSA_Decrypt */
    { 0x15B, 1, 1 }, /* HMAC_Start, MAC_Start */
    { 0x15C, 1, 0 }, /* SequenceUpdate */
    { 0x15D, 1, 0 }, /* Sign */
    { 0x15E, 1, 0 }, /* Unseal */
    { 0x160, 2, 0 }, /* PolicySigned */
    { 0x161, 0, 1 }, /* ContextLoad */
    { 0x162, 1, 0 }, /* ContextSave */
    { 0x163, 1, 0 }, /* ECDH_KeyGen */
    { 0x164, 1, 0 }, /* EncryptDecrypt */
    { 0x165, 0, 0 }, /* FlushContext: the handle is a parameter */
    { 0x167, 0, 1 }, /* LoadExternal */
    { 0x168, 1, 0 }, /* MakeCredential */
    { 0x169, 1, 0 }, /* NV_ReadPublic */
    { 0x16A, 1, 0 }, /* PolicyAuthorize */
    { 0x16B, 1, 0 }, /* PolicyAuthValue */
    { 0x16C, 1, 0 }, /* PolicyCommandCode */
    { 0x16D, 1, 0 }, /* PolicyCounterTimer */
    { 0x16E, 1, 0 }, /* PolicyCpHash */
    { 0x16F, 1, 0 }, /* PolicyLocality */
    { 0x170, 1, 0 }, /* PolicyNameHash */
    { 0x171, 1, 0 }, /* PolicyOR */
    { 0x172, 1, 0 }, /* PolicyTicket */
    { 0x173, 1, 0 }, /* ReadPublic */
    { 0x174, 1, 0 }, /* RSA_Encrypt */
    { 0x176, 2, 1 }, /* StartAuthSession */
    { 0x177, 1, 0 }, /* VerifySignature */
    { 0x17F, 1, 0 }, /* PolicyPCR */
    { 0x180, 1, 0 }, /* PolicyRestart */
    { 0x182, 1, 0 }, /* PCR_Extend */
    { 0x183, 1, 0 }, /* PCR_SetAuthValue */
    { 0x184, 3, 0 }, /* NV_Certify */
    { 0x185, 2, 0 }, /* EventSequenceComplete */
    { 0x186, 0, 1 }, /* HashSequenceStart */
    { 0x187, 1, 0 }, /* PolicyPhysicalPresence */
    { 0x188, 1, 0 }, /* PolicyDuplicationSelect */
    { 0x189, 1, 0 }, /* PolicyGetDigest */
    { 0x18B, 1, 0 }, /* Commit */
    { 0x18C, 1, 0 }, /* PolicyPassword */
    { 0x18D, 1, 0 }, /* ZGen_2Phase */
    { 0x18F, 1, 0 }, /* PolicyNvWritten */
    { 0x190, 1, 0 }, /* PolicyTemplate */
    { 0x191, 1, 1 }, /* CreateLoaded */
    { 0x192, 3, 0 }, /* PolicyAuthorizeNV */
    { 0x193, 1, 0 }, /* EncryptDecrypt2 */
    { 0x194, 1, 0 }, /* AC_GetCapability */
    { 0x195, 3, 0 }, /* AC_Send */
    { 0x196, 1, 0 }, /* Policy_AC_SendSelect */
    { 0x197, 2, 0 }, /* CertifyX509 */
    { 0x198, 1, 0 }, /* ACT_SetTimeout */
    { 0x199, 1, 0 }, /* ECC_Encrypt */
    { 0x19A, 1, 0 }, /* ECC_Decrypt */
    { 0x19B, 1, 0 }, /* PolicyCapability */
    { 0x19C, 1, 0 }, /* PolicyParameters */
    { 0x19D, 1, 0 }, /* NV_DefineSpace2 */
    { 0x19E, 1, 0 }, /* NV_ReadPublic2 */
    { 0x19F, 1, 0 }, /* SetCapability */
};

/* Commands with neither handles nor a place above (TPM 2.0 Part 3). */
static const uint16_t no_handles[] = {
    0x141, 0x142, 0x143, 0x144, 0x145, 0x146, 0x178, 0x179, 0x17A, 0x17B,
    0x17C, 0x17D, 0x17E, 0x181, 0x18A, 0x18E,
};

bool tpm_command_handles(uint32_t code, unsigned *in, unsigned *out)
{
    size_t lo = 0, hi = sizeof(table) / sizeof(table[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (table[mid].code == code) {
            *in = table[mid].in;
            *out = table[mid].out;
            return true;
        }
        if (table[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    *in = *out = 0;
    for (size_t i = 0; i < sizeof(no_handles) / sizeof(no_handles[0]); i++)
        if (no_handles[i] == code)
            return true;
    return false;
}
