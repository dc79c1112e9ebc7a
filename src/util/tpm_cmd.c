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

static const struct {
    uint32_t code;
    const char *name;
} command_names[] = {
    { 0x11F, "TPM2_NV_UndefineSpaceSpecial" }, { 0x120, "TPM2_EvictControl" },
    { 0x121, "TPM2_HierarchyControl" }, { 0x122, "TPM2_NV_UndefineSpace" },
    { 0x126, "TPM2_Clear" }, { 0x129, "TPM2_HierarchyChangeAuth" },
    { 0x12A, "TPM2_NV_DefineSpace" }, { 0x12B, "TPM2_PCR_Allocate" },
    { 0x131, "TPM2_CreatePrimary" }, { 0x134, "TPM2_NV_Extend" },
    { 0x136, "TPM2_NV_Increment" }, { 0x137, "TPM2_NV_Write" },
    { 0x13F, "TPM2_PCR_Event" }, { 0x143, "TPM2_SelfTest" },
    { 0x144, "TPM2_Startup" }, { 0x145, "TPM2_Shutdown" },
    { 0x146, "TPM2_StirRandom" }, { 0x14E, "TPM2_NV_Read" },
    { 0x153, "TPM2_Create" }, { 0x157, "TPM2_Load" }, { 0x158, "TPM2_Quote" },
    { 0x159, "TPM2_RSA_Decrypt" }, { 0x15B, "TPM2_HMAC_Start" }, { 0x15C, "TPM2_SequenceUpdate" },
    { 0x15D, "TPM2_Sign" }, { 0x15E, "TPM2_Unseal" },
    { 0x161, "TPM2_ContextLoad" }, { 0x162, "TPM2_ContextSave" },
    { 0x164, "TPM2_EncryptDecrypt" }, { 0x165, "TPM2_FlushContext" },
    { 0x167, "TPM2_LoadExternal" }, { 0x16B, "TPM2_PolicyAuthValue" }, { 0x17F, "TPM2_PolicyPCR" },
    { 0x173, "TPM2_ReadPublic" }, { 0x174, "TPM2_RSA_Encrypt" },
    { 0x176, "TPM2_StartAuthSession" }, { 0x177, "TPM2_VerifySignature" },
    { 0x17A, "TPM2_GetCapability" }, { 0x17B, "TPM2_GetRandom" },
    { 0x17C, "TPM2_GetTestResult" }, { 0x17D, "TPM2_Hash" },
    { 0x17E, "TPM2_PCR_Read" }, { 0x182, "TPM2_PCR_Extend" },
    { 0x185, "TPM2_EventSequenceComplete" }, { 0x186, "TPM2_HashSequenceStart" },
    { 0x189, "TPM2_PolicyGetDigest" }, { 0x18B, "TPM2_Commit" }, { 0x18C, "TPM2_PolicyPassword" },
    { 0x191, "TPM2_CreateLoaded" }, { 0x193, "TPM2_EncryptDecrypt2" },
};

const char *tpm_command_name(uint32_t code)
{
    for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
        if (command_names[i].code == code)
            return command_names[i].name;
    return NULL;
}
