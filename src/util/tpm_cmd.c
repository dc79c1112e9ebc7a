/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/tpm_cmd.h"

#include <string.h>

uint32_t tpm_error_response(uint8_t *buf, uint32_t rc)
{
    tpm_put_be16(buf, TPM_ST_NO_SESSIONS);
    tpm_put_be32(buf + 2, TPM_HEADER_SIZE);
    tpm_put_be32(buf + 6, rc);
    return TPM_HEADER_SIZE;
}

uint32_t tpm_build_command(uint8_t *buf, uint32_t cap, uint32_t code,
                           const uint8_t *params, uint32_t params_len)
{
    uint32_t len = TPM_HEADER_SIZE + params_len;

    if (params_len > cap || len > cap)
        return 0;
    tpm_put_be16(buf, TPM_ST_NO_SESSIONS);
    tpm_put_be32(buf + 2, len);
    tpm_put_be32(buf + 6, code);
    if (params_len)
        memcpy(buf + TPM_HEADER_SIZE, params, params_len);
    return len;
}

/* Every command of TPM 2.0 Part 2 (TPM_CC), library specification 1.84, in
 * code order: a trace names each one a guest can send. */
static const struct {
    uint32_t code;
    const char *name;
} command_names[] = {
    { 0x11F, "TPM2_NV_UndefineSpaceSpecial" },
    { 0x120, "TPM2_EvictControl" },
    { 0x121, "TPM2_HierarchyControl" },
    { 0x122, "TPM2_NV_UndefineSpace" },
    { 0x124, "TPM2_ChangeEPS" },
    { 0x125, "TPM2_ChangePPS" },
    { 0x126, "TPM2_Clear" },
    { 0x127, "TPM2_ClearControl" },
    { 0x128, "TPM2_ClockSet" },
    { 0x129, "TPM2_HierarchyChangeAuth" },
    { 0x12A, "TPM2_NV_DefineSpace" },
    { 0x12B, "TPM2_PCR_Allocate" },
    { 0x12C, "TPM2_PCR_SetAuthPolicy" },
    { 0x12D, "TPM2_PP_Commands" },
    { 0x12E, "TPM2_SetPrimaryPolicy" },
    { 0x12F, "TPM2_FieldUpgradeStart" },
    { 0x130, "TPM2_ClockRateAdjust" },
    { 0x131, "TPM2_CreatePrimary" },
    { 0x132, "TPM2_NV_GlobalWriteLock" },
    { 0x133, "TPM2_GetCommandAuditDigest" },
    { 0x134, "TPM2_NV_Increment" },
    { 0x135, "TPM2_NV_SetBits" },
    { 0x136, "TPM2_NV_Extend" },
    { 0x137, "TPM2_NV_Write" },
    { 0x138, "TPM2_NV_WriteLock" },
    { 0x139, "TPM2_DictionaryAttackLockReset" },
    { 0x13A, "TPM2_DictionaryAttackParameters" },
    { 0x13B, "TPM2_NV_ChangeAuth" },
    { 0x13C, "TPM2_PCR_Event" },
    { 0x13D, "TPM2_PCR_Reset" },
    { 0x13E, "TPM2_SequenceComplete" },
    { 0x13F, "TPM2_SetAlgorithmSet" },
    { 0x140, "TPM2_SetCommandCodeAuditStatus" },
    { 0x141, "TPM2_FieldUpgradeData" },
    { 0x142, "TPM2_IncrementalSelfTest" },
    { 0x143, "TPM2_SelfTest" },
    { 0x144, "TPM2_Startup" },
    { 0x145, "TPM2_Shutdown" },
    { 0x146, "TPM2_StirRandom" },
    { 0x147, "TPM2_ActivateCredential" },
    { 0x148, "TPM2_Certify" },
    { 0x149, "TPM2_PolicyNV" },
    { 0x14A, "TPM2_CertifyCreation" },
    { 0x14B, "TPM2_Duplicate" },
    { 0x14C, "TPM2_GetTime" },
    { 0x14D, "TPM2_GetSessionAuditDigest" },
    { 0x14E, "TPM2_NV_Read" },
    { 0x14F, "TPM2_NV_ReadLock" },
    { 0x150, "TPM2_ObjectChangeAuth" },
    { 0x151, "TPM2_PolicySecret" },
    { 0x152, "TPM2_Rewrap" },
    { 0x153, "TPM2_Create" },
    { 0x154, "TPM2_ECDH_ZGen" },
    { 0x155, "TPM2_HMAC" },
    { 0x156, "TPM2_Import" },
    { 0x157, "TPM2_Load" },
    { 0x158, "TPM2_Quote" },
    { 0x159, "TPM2_RSA_Decrypt" },
    { 0x15B, "TPM2_HMAC_Start" },
    { 0x15C, "TPM2_SequenceUpdate" },
    { 0x15D, "TPM2_Sign" },
    { 0x15E, "TPM2_Unseal" },
    { 0x160, "TPM2_PolicySigned" },
    { 0x161, "TPM2_ContextLoad" },
    { 0x162, "TPM2_ContextSave" },
    { 0x163, "TPM2_ECDH_KeyGen" },
    { 0x164, "TPM2_EncryptDecrypt" },
    { 0x165, "TPM2_FlushContext" },
    { 0x167, "TPM2_LoadExternal" },
    { 0x168, "TPM2_MakeCredential" },
    { 0x169, "TPM2_NV_ReadPublic" },
    { 0x16A, "TPM2_PolicyAuthorize" },
    { 0x16B, "TPM2_PolicyAuthValue" },
    { 0x16C, "TPM2_PolicyCommandCode" },
    { 0x16D, "TPM2_PolicyCounterTimer" },
    { 0x16E, "TPM2_PolicyCpHash" },
    { 0x16F, "TPM2_PolicyLocality" },
    { 0x170, "TPM2_PolicyNameHash" },
    { 0x171, "TPM2_PolicyOR" },
    { 0x172, "TPM2_PolicyTicket" },
    { 0x173, "TPM2_ReadPublic" },
    { 0x174, "TPM2_RSA_Encrypt" },
    { 0x176, "TPM2_StartAuthSession" },
    { 0x177, "TPM2_VerifySignature" },
    { 0x178, "TPM2_ECC_Parameters" },
    { 0x179, "TPM2_FirmwareRead" },
    { 0x17A, "TPM2_GetCapability" },
    { 0x17B, "TPM2_GetRandom" },
    { 0x17C, "TPM2_GetTestResult" },
    { 0x17D, "TPM2_Hash" },
    { 0x17E, "TPM2_PCR_Read" },
    { 0x17F, "TPM2_PolicyPCR" },
    { 0x180, "TPM2_PolicyRestart" },
    { 0x181, "TPM2_ReadClock" },
    { 0x182, "TPM2_PCR_Extend" },
    { 0x183, "TPM2_PCR_SetAuthValue" },
    { 0x184, "TPM2_NV_Certify" },
    { 0x185, "TPM2_EventSequenceComplete" },
    { 0x186, "TPM2_HashSequenceStart" },
    { 0x187, "TPM2_PolicyPhysicalPresence" },
    { 0x188, "TPM2_PolicyDuplicationSelect" },
    { 0x189, "TPM2_PolicyGetDigest" },
    { 0x18A, "TPM2_TestParms" },
    { 0x18B, "TPM2_Commit" },
    { 0x18C, "TPM2_PolicyPassword" },
    { 0x18D, "TPM2_ZGen_2Phase" },
    { 0x18E, "TPM2_EC_Ephemeral" },
    { 0x18F, "TPM2_PolicyNvWritten" },
    { 0x190, "TPM2_PolicyTemplate" },
    { 0x191, "TPM2_CreateLoaded" },
    { 0x192, "TPM2_PolicyAuthorizeNV" },
    { 0x193, "TPM2_EncryptDecrypt2" },
    { 0x194, "TPM2_AC_GetCapability" },
    { 0x195, "TPM2_AC_Send" },
    { 0x196, "TPM2_Policy_AC_SendSelect" },
    { 0x197, "TPM2_CertifyX509" },
    { 0x198, "TPM2_ACT_SetTimeout" },
    { 0x199, "TPM2_ECC_Encrypt" },
    { 0x19A, "TPM2_ECC_Decrypt" },
    { 0x19B, "TPM2_PolicyCapability" },
    { 0x19C, "TPM2_PolicyParameters" },
    { 0x19D, "TPM2_NV_DefineSpace2" },
    { 0x19E, "TPM2_NV_ReadPublic2" },
    { 0x19F, "TPM2_SetCapability" },
    { 0x1A0, "TPM2_ReadOnlyControl" },
    { 0x1A1, "TPM2_Policy_TransportSPDM" },
    { 0x20000000, "TPM2_Vendor_TCG_Test" },
};

const char *tpm_command_name(uint32_t code)
{
    for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
        if (command_names[i].code == code)
            return command_names[i].name;
    return NULL;
}
