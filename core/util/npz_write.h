// npz_write.h — a NumPy .npz (a stored, uncompressed ZIP of NPY 1.0 arrays) whose layout is fixed in advance, so
// that array payloads can be written in any order, by several processes, at offsets known before any sample is
// drawn (the ADM sample batches: arr_0 uint8 (N, H, W, 3), arr_1 int64 (N,)).
//
// File layout (every offset a function of the arrays' names, dtypes and shapes):
//   for each member i:  local file header (30 B + name + [ZIP64 extra, 20 B]) | NPY header | payload
//   central directory (one 46 B + name + [ZIP64 extra, 28 B] record per member)
//   [ZIP64 end of central directory record (56 B) + ZIP64 locator (20 B)]
//   end of central directory record (22 B)
// ZIP64 (every member's sizes and offset in ZIP64 extras, the ZIP64 end records) is used when any size or offset
// reaches 0xFFFFFFFF, or when forced (tests). DOS time and date are fixed (1980-01-01 00:00), so equal arrays give
// byte-identical files. Member CRC32s (zlib's) cover the NPY header and the payload; the caller supplies them
// (ditc_npz_member_crc combines a payload CRC with the header's) before ditc_npz_write_meta.
#ifndef DITC_NPZ_WRITE_H
#define DITC_NPZ_WRITE_H

#include <stdint.h>

#include "common.h"

#define DITC_NPZ_MAX_MEMBERS 4
#define DITC_NPZ_MAX_HEADER  256

typedef struct {
    char name[32];                       // "arr_0.npy"
    char header[DITC_NPZ_MAX_HEADER];    // the NPY 1.0 header: magic, version, length, dict, spaces, '\n'
    int header_len;                      // a multiple of 64
    uint64_t payload_bytes;              // the array's bytes (C order)
    uint64_t lfh_off, npy_off, data_off; // local file header, NPY header, payload
    uint32_t crc;                        // CRC32 of NPY header + payload (set by the caller)
} ditc_npz_member;

typedef struct {
    int n, zip64;
    ditc_npz_member m[DITC_NPZ_MAX_MEMBERS];
    uint64_t cd_off, cd_size, file_size;
} ditc_npz_layout;

// Adds array `name` (member "<name>.npy") with NPY dtype `descr` ("|u1", "<i8", "<f4"), elements of elem_size
// bytes, shape[ndim] (ndim 1..4). Returns 0, or non-zero with st set (too many members, a bad name or shape).
int ditc_npz_add(ditc_npz_layout *L, const char *name, const char *descr, size_t elem_size, int ndim,
                 const int64_t *shape, ditc_status *st);
// Computes every offset and the file size; ZIP64 if needed or force_zip64. Call after the last ditc_npz_add.
void ditc_npz_plan(ditc_npz_layout *L, int force_zip64);
// CRC32 of member i given the CRC32 of its whole payload (crc32_combine with the NPY header's).
uint32_t ditc_npz_member_crc(const ditc_npz_member *m, uint32_t payload_crc);
// Writes everything except the payloads (local headers with m[i].crc, NPY headers, central directory, end
// records) into fd with pwrite. Returns 0, or non-zero with st naming `path`.
int ditc_npz_write_meta(int fd, const ditc_npz_layout *L, const char *path, ditc_status *st);

// pwrite/pread of exactly n bytes at off (retrying short transfers and EINTR). Return 0 or -1 with errno.
int ditc_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
int ditc_pread_all(int fd, void *buf, size_t n, uint64_t off);
// CRC32 (zlib) of n bytes of fd at off, read in 4 MiB pieces; -1 with errno on a read error.
int ditc_crc32_range(int fd, uint64_t off, uint64_t n, uint32_t *crc);

#endif
