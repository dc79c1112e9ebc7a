/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small AML encoder (ACPI spec, "ACPI Machine Language Specification"):
 * just what the TPM device description needs.
 *
 * Bytes go into a growable buffer with a hard size bound. The first error
 * (out of memory, bound exceeded, bad name, bad nesting) is kept and every
 * later call does nothing, so a builder checks once, at aml_take().
 *
 * AML is prefix notation; so is this API. Operators that take operands
 * (aml_name, aml_return, aml_lequal) emit their opcode and the caller emits
 * the operands next. Constructs with a PkgLength (Scope, Device, Method,
 * If, Else, Buffer, Package, ResourceTemplate) are opened by a call and
 * closed by aml_end(), innermost first:
 *
 *     aml_device(a, "TPM");
 *         aml_name(a, "_UID"); aml_integer(a, 1);
 *     aml_end(a);
 */
#ifndef TPMCRB_AML_H
#define TPMCRB_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH   16
#define AML_PKGLEN_MAX  0x0FFFFFFFu /* 28 bits */

enum aml_open_kind {
    AML_OPEN_PKG, AML_OPEN_IF, AML_OPEN_BUFFER, AML_OPEN_RESTEMPLATE,
};

struct aml {
    uint8_t *data;
    size_t len, cap, max;
    int err; /* first error, negative errno; 0 while all is well */
    size_t after_if; /* where an If ended: an Else may start only here */
    unsigned depth;
    struct {
        size_t mark; /* where the PkgLength goes */
        enum aml_open_kind kind;
    } open[AML_MAX_DEPTH];
};

/* An empty buffer that may grow to @max bytes. */
void aml_init(struct aml *a, size_t max);
void aml_free(struct aml *a);
/* Hand the bytes to the caller (malloc'd; *data NULL when empty) or return
 * the first error; fails with -EINVAL while a construct is still open.
 * Either way @a is empty afterwards. */
int aml_take(struct aml *a, uint8_t **data, size_t *len);

/* Encode a PkgLength whose value @total counts itself. Returns the number
 * of bytes written to @out (1..4), 0 if @total needs more than 28 bits. */
unsigned aml_pkglen_encode(uint8_t out[4], uint32_t total);
/* Encode the PkgLength for @payload bytes that follow it (the value then
 * includes the PkgLength's own size). Returns 1..4, or 0 if too large. */
unsigned aml_pkglen_for_payload(uint8_t out[4], size_t payload);

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into ToUUID's byte order:
 * the first three groups little-endian, the last two as written. */
int aml_uuid_bytes(const char *uuid, uint8_t out[16]);

/* Raw bytes (table headers, fixed fields). */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_u8(struct aml *a, uint8_t v);
void aml_le16(struct aml *a, uint16_t v);
void aml_le32(struct aml *a, uint32_t v);
void aml_le64(struct aml *a, uint64_t v);

/* NameString: "\\_SB", "_SB.PCI0", "^FOO", "TPM" (segments padded with
 * '_'); "" is the NullName. */
void aml_namestring(struct aml *a, const char *path);

/* Data objects. aml_integer picks the shortest form: Zero, One, Ones
 * (all 64 bits set), or Byte/Word/DWord/QWord prefix. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);     /* printable ASCII */
void aml_unicode(struct aml *a, const char *s);    /* ASCII -> UTF-16LE Buffer */
void aml_buffer(struct aml *a, const void *p, size_t n);
void aml_uuid(struct aml *a, const char *uuid);    /* ToUUID(...) Buffer */
void aml_arg(struct aml *a, unsigned n);           /* Arg0..Arg6 */

/* Operators; the caller emits the operands next. */
void aml_name(struct aml *a, const char *name);    /* Name(name, <object>) */
void aml_return(struct aml *a);                    /* Return(<arg>) */
void aml_lequal(struct aml *a);                    /* LEqual(<a>, <b>) */

/* Constructs, each closed by aml_end(). */
void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *name);
void aml_method(struct aml *a, const char *name, unsigned nargs,
                bool serialized);
void aml_if(struct aml *a);       /* the predicate comes first */
void aml_else(struct aml *a);     /* directly after an If's aml_end() */
void aml_buffer_open(struct aml *a);
void aml_package(struct aml *a, uint8_t count);
/* A Buffer of resource descriptors; aml_end() appends the EndTag. */
void aml_restemplate(struct aml *a);
void aml_memory32_fixed(struct aml *a, bool writable, uint32_t base,
                        uint32_t len);
void aml_end(struct aml *a);

#endif
