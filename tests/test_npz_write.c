// test_npz_write.c — core/util/npz_write: the layout (NPY headers padded to 64, offsets, when ZIP64 starts) and
// a real full-size ADM batch layout, 50000 x 256 x 256 x 3 (9.8 GB, written as a sparse file: zero pixels, labels
// i mod 1000, CRC32s of the zeros by crc32_combine doubling) whose arr_1 lies beyond 4 GiB; tests/test_npz_write.sh
// then reads it with Python's zipfile and numpy's header parser. usage: test_npz_write OUT_DIR
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "npz_write.h"
#include "test_check.h"

// CRC32 of n zero bytes (n > 0): doubling with crc32_combine from a 1 MiB block.
static uint32_t crc_zeros(uint64_t n) {
    enum { BLK = 1 << 20 };
    unsigned char *z = calloc(1, BLK);
    uLong blk = crc32(0L, z, BLK), acc = crc32(0L, Z_NULL, 0), pow = blk;
    uint64_t plen = BLK, full = n / BLK;
    for (uint64_t k = full; k; k >>= 1) { // acc = crc of full * BLK zeros, built from powers of two
        if (k & 1) acc = crc32_combine(acc, pow, (z_off_t)(plen));
        pow = crc32_combine(pow, pow, (z_off_t)plen);
        plen *= 2;
    }
    acc = crc32(acc, z, (uInt)(n % BLK)); // the rest (the order of equal zero blocks does not matter)
    free(z);
    return (uint32_t)acc;
}

static void plan_adm(ditc_npz_layout *L, int64_t n, int side, int force) {
    ditc_status st = {0};
    memset(L, 0, sizeof *L);
    int r = ditc_npz_add(L, "arr_0", "|u1", 1, 4, (int64_t[]){n, side, side, 3}, &st) ||
            ditc_npz_add(L, "arr_1", "<i8", 8, 1, (int64_t[]){n}, &st);
    if (r) printf("npz_add: %s\n", st.message);
    ditc_npz_plan(L, force);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_npz_write OUT_DIR\n");
        return 2;
    }
    ditc_npz_layout L;
    plan_adm(&L, 10, 8, 0);
    const char *want = "{'descr': '|u1', 'fortran_order': False, 'shape': (10, 8, 8, 3), }";
    check(L.n == 2 && !L.zip64 && L.m[0].header_len == 128 && !memcmp(L.m[0].header, "\x93NUMPY\x01\x00", 8) &&
              !memcmp(L.m[0].header + 10, want, strlen(want)) && L.m[0].header[127] == '\n',
          "NPY 1.0 header: magic, dict, space padding to 128 bytes, newline");
    const char *want1 = "{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }";
    check(!memcmp(L.m[1].header + 10, want1, strlen(want1)), "1-D shape written as (N,)");
    check(L.m[0].lfh_off == 0 && L.m[0].data_off == 30 + 9 + 128 && L.m[1].lfh_off == L.m[0].data_off + 10 * 192 &&
              L.cd_off == L.m[1].data_off + 80 && L.file_size == L.cd_off + 2 * (46 + 9) + 22,
          "offsets: local header + name, NPY header, payload; central directory; end record (file %llu bytes)",
          (unsigned long long)L.file_size);
    plan_adm(&L, 10, 8, 1);
    check(L.zip64 && L.m[0].data_off == 30 + 9 + 20 + 128 && L.file_size == L.cd_off + 2 * (46 + 9 + 28) + 56 + 20 + 22,
          "forced ZIP64: 20-byte local extras, 28-byte central extras, ZIP64 end record + locator");
    // ZIP64 starts where a plain layout would reach 0xFFFFFFFF: (N, 1, 1, 3) payloads of 3N + 8N bytes
    int64_t below = (0xFFFFFFFFll - 1000) / 11, above = (0xFFFFFFFFll + 1000) / 11;
    plan_adm(&L, below, 1, 0);
    int z_below = L.zip64;
    uint64_t size_below = L.file_size;
    plan_adm(&L, above, 1, 0);
    check(!z_below && size_below < 0xFFFFFFFFull && L.zip64, "ZIP64 only past 4 GiB (%lld samples: %s, %lld: %s)",
          (long long)below, z_below ? "ZIP64" : "plain", (long long)above, L.zip64 ? "ZIP64" : "plain");
    plan_adm(&L, 50000, 256, 0);
    check(L.zip64 && L.m[1].data_off > 0x100000000ull && L.file_size > 9830400000ull,
          "50000 x 256 x 256 x 3: ZIP64, arr_1 at %llu (> 4 GiB), file %llu bytes", (unsigned long long)L.m[1].data_off,
          (unsigned long long)L.file_size);

    unsigned char *zeros = calloc(1, (3 << 20) + 5);
    check(crc_zeros((3 << 20) + 5) == (uint32_t)crc32(0L, zeros, (3 << 20) + 5), "CRC32 of zeros by doubling = direct");
    free(zeros);
    // the full-size file, sparse: zero pixels, labels i mod 1000
    char path[4096];
    snprintf(path, sizeof path, "%s/big.npz", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int ok = fd >= 0 && ftruncate(fd, (off_t)L.file_size) == 0;
    unsigned char *lab = malloc(50000 * 8);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = (uint64_t)(i % 1000);
        for (int b = 0; b < 8; b++) lab[8 * i + b] = (unsigned char)(v >> (8 * b));
    }
    ok = ok && !ditc_pwrite_all(fd, lab, 50000 * 8, L.m[1].data_off);
    L.m[0].crc = ditc_npz_member_crc(&L.m[0], crc_zeros(L.m[0].payload_bytes));
    L.m[1].crc = ditc_npz_member_crc(&L.m[1], (uint32_t)crc32(0L, lab, 50000 * 8));
    ditc_status st = {0};
    ok = ok && !ditc_npz_write_meta(fd, &L, path, &st);
    uint32_t crc = 0;
    ok =
        ok && !ditc_crc32_range(fd, L.m[1].npy_off, (uint64_t)L.m[1].header_len + 50000 * 8, &crc) && crc == L.m[1].crc;
    check(ok, "wrote %s (%llu bytes, sparse) and read arr_1's CRC back (%s)", path, (unsigned long long)L.file_size,
          st.message);
    free(lab);
    if (fd >= 0) close(fd);
    ditc_npz_layout bad = {0};
    check(ditc_npz_add(&bad, "arr_0", "|u1", 1, 5, (int64_t[]){1, 1, 1, 1, 1}, &st) != 0, "rank 5 refused (%s)",
          st.message);
    return check_summary("test_npz_write");
}
