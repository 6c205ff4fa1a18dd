// npz_write.c — the fixed-layout stored ZIP of NPY arrays (see npz_write.h; record layouts from PKWARE's
// APPNOTE.TXT 4.3.7, 4.3.12, 4.3.14–16 and 4.5.3).
#include "npz_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define LFH_SIG    0x04034b50u
#define CDH_SIG    0x02014b50u
#define EOCD_SIG   0x06054b50u
#define EOCD64_SIG 0x06064b50u
#define LOC64_SIG  0x07064b50u
#define DOS_DATE   0x0021u // 1980-01-01
#define DOS_TIME   0x0000u
#define U32_MAX    0xFFFFFFFFull

int ditc_pwrite_all(int fd, const void *buf, size_t n, uint64_t off) {
    const char *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int ditc_pread_all(int fd, void *buf, size_t n, uint64_t off) {
    char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO; // short file
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int ditc_crc32_range(int fd, uint64_t off, uint64_t n, uint32_t *crc) {
    enum { PIECE = 4 << 20 };
    unsigned char *buf = ditc_xmalloc(PIECE);
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        size_t k = n < PIECE ? (size_t)n : PIECE;
        if (ditc_pread_all(fd, buf, k, off)) {
            free(buf);
            return -1;
        }
        c = crc32(c, buf, (uInt)k);
        off += k;
        n -= k;
    }
    free(buf);
    *crc = (uint32_t)c;
    return 0;
}

int ditc_npz_add(ditc_npz_layout *L, const char *name, const char *descr, size_t elem_size, int ndim,
                 const int64_t *shape, ditc_status *st) {
    if (L->n >= DITC_NPZ_MAX_MEMBERS) return ditc_fail(st, DITC_ERR_ARG, "npz: more than %d arrays", L->n);
    if (!name || !*name || strlen(name) + 5 > sizeof L->m[0].name || ndim < 1 || ndim > 4)
        return ditc_fail(st, DITC_ERR_ARG, "npz: array '%s': bad name or rank %d", name ? name : "", ndim);
    ditc_npz_member *m = &L->m[L->n];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s.npy", name);
    char dict[200], dims[120] = "";
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return ditc_fail(st, DITC_ERR_ARG, "npz: array '%s': negative dimension", name);
        size_t len = strlen(dims);
        snprintf(dims + len, sizeof dims - len, "%lld,%s", (long long)shape[i], i + 1 < ndim ? " " : "");
        count *= (uint64_t)shape[i];
    }
    if (ndim > 1) dims[strlen(dims) - 1] = '\0'; // "(N, H, W, 3)" but "(N,)"
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    // magic (6) + version (2) + length (2) + dict + spaces + '\n', padded to a multiple of 64 as numpy does
    int total = (10 + dl + 1 + 63) / 64 * 64;
    if (total > DITC_NPZ_MAX_HEADER) return ditc_fail(st, DITC_ERR_ARG, "npz: array '%s': header too long", name);
    uint16_t hl = (uint16_t)(total - 10);
    memcpy(m->header, "\x93NUMPY\x01\x00", 8);
    m->header[8] = (char)(hl & 0xFF);
    m->header[9] = (char)(hl >> 8);
    memcpy(m->header + 10, dict, (size_t)dl);
    memset(m->header + 10 + dl, ' ', (size_t)(total - 10 - dl - 1));
    m->header[total - 1] = '\n';
    m->header_len = total;
    m->payload_bytes = count * (uint64_t)elem_size;
    L->n++;
    return 0;
}

static uint64_t lfh_size(const ditc_npz_member *m, int zip64) { return 30 + strlen(m->name) + (zip64 ? 20 : 0); }
static uint64_t cdh_size(const ditc_npz_member *m, int zip64) { return 46 + strlen(m->name) + (zip64 ? 28 : 0); }
static uint64_t member_size(const ditc_npz_member *m) { return (uint64_t)m->header_len + m->payload_bytes; }

static void place(ditc_npz_layout *L) {
    uint64_t off = 0;
    L->cd_size = 0;
    for (int i = 0; i < L->n; i++) {
        ditc_npz_member *m = &L->m[i];
        m->lfh_off = off;
        m->npy_off = off + lfh_size(m, L->zip64);
        m->data_off = m->npy_off + (uint64_t)m->header_len;
        off = m->data_off + m->payload_bytes;
        L->cd_size += cdh_size(m, L->zip64);
    }
    L->cd_off = off;
    L->file_size = off + L->cd_size + (L->zip64 ? 56 + 20 : 0) + 22;
}

void ditc_npz_plan(ditc_npz_layout *L, int force_zip64) {
    L->zip64 = 0;
    place(L);
    int need = force_zip64 || L->cd_off >= U32_MAX || L->cd_off + L->cd_size >= U32_MAX;
    for (int i = 0; i < L->n; i++) need |= member_size(&L->m[i]) >= U32_MAX || L->m[i].lfh_off >= U32_MAX;
    if (need) {
        L->zip64 = 1;
        place(L);
    }
}

uint32_t ditc_npz_member_crc(const ditc_npz_member *m, uint32_t payload_crc) {
    uLong h = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)m->header, (uInt)m->header_len);
    return (uint32_t)crc32_combine(h, payload_crc, (z_off_t)m->payload_bytes);
}

// Little-endian writers into a byte buffer.
typedef struct {
    unsigned char b[512];
    size_t n;
} bytes;
static void put16(bytes *o, uint32_t v) {
    o->b[o->n++] = (unsigned char)v;
    o->b[o->n++] = (unsigned char)(v >> 8);
}
static void put32(bytes *o, uint32_t v) {
    put16(o, v & 0xFFFF);
    put16(o, v >> 16);
}
static void put64(bytes *o, uint64_t v) {
    put32(o, (uint32_t)v);
    put32(o, (uint32_t)(v >> 32));
}
static void putmem(bytes *o, const void *p, size_t n) {
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

int ditc_npz_write_meta(int fd, const ditc_npz_layout *L, const char *path, ditc_status *st) {
    const int z = L->zip64;
    const uint32_t need = z ? 45 : 20; // version needed to extract: 4.5 for ZIP64, else 2.0
    bytes cd = {0};
    unsigned char *cdb = ditc_xmalloc((size_t)L->cd_size + 1);
    size_t cdn = 0;
    for (int i = 0; i < L->n; i++) {
        const ditc_npz_member *m = &L->m[i];
        const uint64_t size = member_size(m);
        const size_t nl = strlen(m->name);
        bytes h = {0};
        put32(&h, LFH_SIG);
        put16(&h, need);
        put16(&h, 0); // flags
        put16(&h, 0); // method: stored
        put16(&h, DOS_TIME);
        put16(&h, DOS_DATE);
        put32(&h, m->crc);
        put32(&h, z ? (uint32_t)U32_MAX : (uint32_t)size); // compressed size
        put32(&h, z ? (uint32_t)U32_MAX : (uint32_t)size); // uncompressed size
        put16(&h, (uint32_t)nl);
        put16(&h, z ? 20 : 0);
        putmem(&h, m->name, nl);
        if (z) { // ZIP64 extended information: original size, compressed size
            put16(&h, 0x0001);
            put16(&h, 16);
            put64(&h, size);
            put64(&h, size);
        }
        if (ditc_pwrite_all(fd, h.b, h.n, m->lfh_off) ||
            ditc_pwrite_all(fd, m->header, (size_t)m->header_len, m->npy_off)) {
            free(cdb);
            return ditc_fail(st, DITC_ERR_IO, "--npz %s: write: %s", path, strerror(errno));
        }
        cd.n = 0;
        put32(&cd, CDH_SIG);
        put16(&cd, (3u << 8) | need); // made by: Unix, spec version
        put16(&cd, need);
        put16(&cd, 0);
        put16(&cd, 0);
        put16(&cd, DOS_TIME);
        put16(&cd, DOS_DATE);
        put32(&cd, m->crc);
        put32(&cd, z ? (uint32_t)U32_MAX : (uint32_t)size);
        put32(&cd, z ? (uint32_t)U32_MAX : (uint32_t)size);
        put16(&cd, (uint32_t)nl);
        put16(&cd, z ? 28 : 0);
        put16(&cd, 0);              // comment length
        put16(&cd, 0);              // disk number start
        put16(&cd, 0);              // internal attributes
        put32(&cd, 0100644u << 16); // external attributes: a regular file, rw-r--r--
        put32(&cd, z ? (uint32_t)U32_MAX : (uint32_t)m->lfh_off);
        putmem(&cd, m->name, nl);
        if (z) { // the fields set to 0xFFFFFFFF above, in APPNOTE order
            put16(&cd, 0x0001);
            put16(&cd, 24);
            put64(&cd, size);
            put64(&cd, size);
            put64(&cd, m->lfh_off);
        }
        memcpy(cdb + cdn, cd.b, cd.n);
        cdn += cd.n;
    }
    DITC_CHECK(cdn == L->cd_size, "npz central directory size %zu != planned %llu", cdn,
               (unsigned long long)L->cd_size);
    bytes e = {0};
    if (z) {
        put32(&e, EOCD64_SIG);
        put64(&e, 44); // size of the rest of this record
        put16(&e, (3u << 8) | 45);
        put16(&e, 45);
        put32(&e, 0); // this disk
        put32(&e, 0); // disk of the central directory
        put64(&e, (uint64_t)L->n);
        put64(&e, (uint64_t)L->n);
        put64(&e, L->cd_size);
        put64(&e, L->cd_off);
        put32(&e, LOC64_SIG);
        put32(&e, 0);                      // disk of the ZIP64 end record
        put64(&e, L->cd_off + L->cd_size); // its offset
        put32(&e, 1);                      // total disks
    }
    put32(&e, EOCD_SIG);
    put16(&e, 0);
    put16(&e, 0);
    put16(&e, (uint32_t)L->n);
    put16(&e, (uint32_t)L->n);
    put32(&e, z ? (uint32_t)U32_MAX : (uint32_t)L->cd_size);
    put32(&e, z ? (uint32_t)U32_MAX : (uint32_t)L->cd_off);
    put16(&e, 0); // comment length
    int bad = ditc_pwrite_all(fd, cdb, cdn, L->cd_off) || ditc_pwrite_all(fd, e.b, e.n, L->cd_off + L->cd_size);
    free(cdb);
    DITC_CHECK(bad || L->cd_off + L->cd_size + e.n == L->file_size, "npz end records do not end the planned file");
    if (bad) return ditc_fail(st, DITC_ERR_IO, "--npz %s: write: %s", path, strerror(errno));
    return 0;
}
