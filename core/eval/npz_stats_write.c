// npz_stats_write.c — stored zip + .npy 1.0 headers (npz_write.h): local headers, data, central directory, end record;
// CRC-32 from zlib.
#include "npz_stats_write.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "fs.h"

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        while (b->n + n > b->cap) b->cap = b->cap ? 2 * b->cap : 1 << 16;
        b->p = ditc_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put16(buf *b, uint32_t v) {
    unsigned char c[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put(b, c, 2);
}
static void put32(buf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, c, 4);
}

static uint32_t crc(uint32_t c, const unsigned char *p, size_t n) {
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = (uint32_t)crc32(c, p, k);
        p += k, n -= k;
    }
    return c;
}

// The .npy 1.0 header: magic, version, length, the dict padded with spaces to a multiple of 64 bytes, '\n'.
static size_t npy_header(const ditc_npz_array_out *a, char *h, size_t cap) {
    char dict[256], shape[160];
    size_t p = (size_t)snprintf(shape, sizeof shape, "(");
    for (int i = 0; i < a->ndim; i++)
        p += (size_t)snprintf(shape + p, sizeof shape - p, "%lld, ", (long long)a->shape[i]);
    if (a->ndim == 1) shape[p - 1] = ')', shape[p] = '\0';         // "(2048,)"
    else if (a->ndim > 1) shape[p - 2] = ')', shape[p - 1] = '\0'; // "(2, 3)"
    else snprintf(shape, sizeof shape, "()");
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", a->descr, shape);
    size_t total = 10 + (size_t)dl + 1;
    total = (total + 63) / 64 * 64;
    DITC_CHECK(total <= cap, "npy header too long");
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(total - 10);
    h[8] = (char)(hl & 0xff), h[9] = (char)(hl >> 8);
    memcpy(h + 10, dict, (size_t)dl);
    memset(h + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
    h[total - 1] = '\n';
    return total;
}

int ditc_npz_write(const char *path, const ditc_npz_array_out *arrays, int n, ditc_status *st) {
    buf b = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        const ditc_npz_array_out *a = &arrays[i];
        char hdr[512], name[96];
        size_t hl = npy_header(a, hdr, sizeof hdr);
        int nl = snprintf(name, sizeof name, "%s.npy", a->key);
        uint64_t numel = 1;
        for (int d = 0; d < a->ndim; d++) numel *= (uint64_t)a->shape[d];
        uint64_t dn = numel * (uint64_t)strtol(a->descr + 2, NULL, 10), size = hl + dn;
        if (size >= 0xFFFFFFFFu || b.n + size + 30 + (uint64_t)nl >= 0xFFFFFFFFu) {
            free(b.p), free(cd.p);
            return ditc_fail(st, DITC_ERR_ARG, "%s: array '%s' is too large for this writer (4 GiB)", path, a->key);
        }
        uint32_t c = crc(crc(0, (const unsigned char *)hdr, hl), a->data, (size_t)dn);
        uint32_t off = (uint32_t)b.n;
        put32(&b, 0x04034b50u), put16(&b, 20), put16(&b, 0), put16(&b, 0), put16(&b, 0), put16(&b, 0x21);
        put32(&b, c), put32(&b, (uint32_t)size), put32(&b, (uint32_t)size), put16(&b, (uint32_t)nl), put16(&b, 0);
        put(&b, name, (size_t)nl), put(&b, hdr, hl), put(&b, a->data, (size_t)dn);
        put32(&cd, 0x02014b50u), put16(&cd, 20), put16(&cd, 20), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0);
        put16(&cd, 0x21), put32(&cd, c), put32(&cd, (uint32_t)size), put32(&cd, (uint32_t)size);
        put16(&cd, (uint32_t)nl), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0), put32(&cd, 0);
        put32(&cd, off), put(&cd, name, (size_t)nl);
    }
    uint32_t cd_off = (uint32_t)b.n;
    put(&b, cd.p, cd.n);
    put32(&b, 0x06054b50u), put16(&b, 0), put16(&b, 0), put16(&b, (uint32_t)n), put16(&b, (uint32_t)n);
    put32(&b, (uint32_t)cd.n), put32(&b, cd_off), put16(&b, 0);
    int rc = ditc_write_file_atomic(path, b.p, b.n, st);
    free(b.p), free(cd.p);
    return rc;
}
