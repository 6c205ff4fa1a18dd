// zipread.h — strict reader of a ZIP archive held in memory (the container of torch.save files).
//
// The central directory is the authority (torch.save's entries carry data descriptors, so their local
// headers hold no sizes); ZIP64 end records and extra fields are understood; entries are stored or
// deflated (raw deflate through zlib). Every offset and size is checked against the buffer, every entry's
// CRC-32 is verified when it is read, and no allocation exceeds what the archive can really hold.
// Messages name the archive (label) and the entry.
#ifndef DITC_ZIPREAD_H
#define DITC_ZIPREAD_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct {
    char *name;      // NUL-terminated (names holding a NUL byte are rejected)
    uint16_t method; // 0 stored, 8 deflated
    uint32_t crc32;
    uint64_t csize, usize;      // compressed and uncompressed sizes
    uint64_t local_offset;      // of the local header
    const unsigned char *cdata; // compressed bytes (checked to lie within the buffer)
} ditc_zip_entry;

typedef struct {
    const char *label; // used in messages (not owned)
    const unsigned char *buf;
    size_t size;
    ditc_zip_entry *entries; // sorted by name (unique)
    int n;
} ditc_zip;

// Parses the central directory of buf[0, size). Returns 0, or an error naming label (z is then empty).
int ditc_zip_open(ditc_zip *z, const unsigned char *buf, size_t size, const char *label, ditc_status *s);
void ditc_zip_close(ditc_zip *z);
const ditc_zip_entry *ditc_zip_find(const ditc_zip *z, const char *name); // NULL if absent
// The uncompressed bytes of e, CRC-checked: for a stored entry a pointer into the buffer (*owned = NULL), for
// a deflated one a malloc'd copy (*owned = it; the caller frees it).
int ditc_zip_read(const ditc_zip *z, const ditc_zip_entry *e, const unsigned char **data, unsigned char **owned,
                  ditc_status *s);

#endif
