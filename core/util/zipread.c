// zipread.c — strict in-memory ZIP reader (see zipread.h): end of central directory (with its ZIP64 locator and
// record) -> central directory entries (ZIP64 extra fields) -> each local header checked against its central
// entry -> data bounds; reading an entry verifies its CRC-32 and, for deflate, the exact inflated size.
#include "zipread.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL         0x04034b50u
#define SIG_CENTRAL       0x02014b50u
#define SIG_EOCD          0x06054b50u
#define SIG_Z64LOC        0x07064b50u
#define SIG_Z64EOCD       0x06064b50u
// Deflate cannot expand by more than 1032:1 (258-byte matches coded in 2 bits), so a larger declared size is a lie.
#define MAX_DEFLATE_RATIO 1032u

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

// Printable entry name for messages (control bytes escaped, long names cut).
static const char *show(char out[112], const char *s) { return ditc_printable(out, s, strlen(s), 0); }

// Finds the end of central directory record: the last signature whose comment runs exactly to the end.
static int find_eocd(const ditc_zip *z, size_t *pos, ditc_status *s) {
    if (z->size < 22)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: %zu bytes, too short for a zip archive (truncated?)", z->label,
                         z->size);
    size_t lo = z->size > 22 + 65535 ? z->size - 22 - 65535 : 0;
    for (size_t p = z->size - 22 + 1; p-- > lo;)
        if (le32(z->buf + p) == SIG_EOCD && p + 22 + le16(z->buf + p + 20) == z->size) {
            *pos = p;
            return 0;
        }
    return ditc_fail(s, DITC_ERR_FORMAT, "%s: no end of central directory record (a truncated zip archive?)", z->label);
}

// Central directory location and entry count, from the classic record or its ZIP64 record.
static int read_eocd(const ditc_zip *z, uint64_t *n, uint64_t *cd_off, uint64_t *cd_size, ditc_status *s) {
    size_t e = 0;
    int r = find_eocd(z, &e, s);
    if (r) return r;
    const unsigned char *p = z->buf + e;
    if (le16(p + 4) != 0 || le16(p + 6) != 0)
        return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: a multi-disk zip archive is not supported", z->label);
    *n = le16(p + 10);
    *cd_size = le32(p + 12);
    *cd_off = le32(p + 16);
    if (e >= 20 && le32(z->buf + e - 20) == SIG_Z64LOC) {
        const unsigned char *l = z->buf + e - 20;
        uint64_t off = le64(l + 8);
        if (le32(l + 4) != 0 || le32(l + 16) > 1)
            return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: a multi-disk zip archive is not supported", z->label);
        if (off > e - 20 || e - 20 - off < 56 || le32(z->buf + off) != SIG_Z64EOCD)
            return ditc_fail(s, DITC_ERR_FORMAT,
                             "%s: the ZIP64 end of central directory record at offset %" PRIu64
                             " is missing or out of bounds",
                             z->label, off);
        p = z->buf + off;
        if (le32(p + 16) != 0 || le32(p + 20) != 0)
            return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: a multi-disk zip archive is not supported", z->label);
        *n = le64(p + 32);
        *cd_size = le64(p + 40);
        *cd_off = le64(p + 48);
        e = (size_t)off;
    }
    if (*cd_off > e || *cd_size > e - *cd_off)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: central directory (offset %" PRIu64 ", %" PRIu64 " bytes) lies outside the archive "
                         "(truncated?)",
                         z->label, *cd_off, *cd_size);
    if (*n > *cd_size / 46)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: %" PRIu64 " entries cannot fit in a %" PRIu64 "-byte central directory", z->label, *n,
                         *cd_size);
    return 0;
}

// ZIP64 extended information (extra field 0x0001): the 8-byte values of the fields saturated at 0xFFFFFFFF.
static int zip64_extra(const ditc_zip *z, const unsigned char *x, size_t xl, ditc_zip_entry *e, int need_u, int need_c,
                       int need_o, ditc_status *s) {
    char nm[112];
    size_t i = 0;
    while (i + 4 <= xl) {
        uint16_t id = le16(x + i), len = le16(x + i + 2);
        if (len > xl - i - 4) break;
        if (id == 1) {
            const unsigned char *f = x + i + 4;
            size_t need = 8u * (size_t)(need_u + need_c + need_o), o = 0;
            if (len < need) break;
            if (need_u) e->usize = le64(f + o), o += 8;
            if (need_c) e->csize = le64(f + o), o += 8;
            if (need_o) e->local_offset = le64(f + o);
            return 0;
        }
        i += 4 + (size_t)len;
    }
    if (!need_u && !need_c && !need_o) return 0;
    return ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\": sizes need a ZIP64 extra field, which is missing or short",
                     z->label, show(nm, e->name));
}

// Checks the local header of e and locates its data.
static int locate_data(const ditc_zip *z, ditc_zip_entry *e, ditc_status *s) {
    char nm[112];
    uint64_t o = e->local_offset;
    if (o > z->size || z->size - o < 30 || le32(z->buf + o) != SIG_LOCAL)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\": no local header at offset %" PRIu64 " (truncated?)",
                         z->label, show(nm, e->name), o);
    const unsigned char *p = z->buf + o;
    size_t nl = le16(p + 26), xl = le16(p + 28);
    if (z->size - o - 30 < nl + xl)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\": local header runs past the end (truncated?)", z->label,
                         show(nm, e->name));
    if (nl != strlen(e->name) || memcmp(p + 30, e->name, nl) != 0)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\": the local header names another file", z->label,
                         show(nm, e->name));
    uint64_t d = o + 30 + nl + xl;
    if (e->csize > z->size - d)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: entry \"%s\": %" PRIu64 " bytes of data at offset %" PRIu64
                         " run past the end of the %zu-byte archive (truncated?)",
                         z->label, show(nm, e->name), e->csize, d, z->size);
    e->cdata = z->buf + d;
    return 0;
}

// One central directory entry at *pos (bounded by end); advances *pos.
static int parse_entry(const ditc_zip *z, size_t *pos, size_t end, ditc_zip_entry *e, ditc_status *s) {
    char nm[112];
    const unsigned char *p = z->buf + *pos;
    if (end - *pos < 46 || le32(p) != SIG_CENTRAL)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: bad central directory entry at offset %zu", z->label, *pos);
    uint16_t flags = le16(p + 8);
    size_t nl = le16(p + 28), xl = le16(p + 30), cl = le16(p + 32);
    if (end - *pos - 46 < nl + xl + cl)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: central directory entry at offset %zu runs past the directory",
                         z->label, *pos);
    if (memchr(p + 46, 0, nl))
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: an entry name at offset %zu holds a NUL byte", z->label, *pos);
    e->name = ditc_xmalloc(nl + 1);
    memcpy(e->name, p + 46, nl);
    e->name[nl] = '\0';
    e->method = le16(p + 10);
    e->crc32 = le32(p + 16);
    uint32_t c32 = le32(p + 20), u32 = le32(p + 24), o32 = le32(p + 42);
    e->csize = c32;
    e->usize = u32;
    e->local_offset = o32;
    int r = zip64_extra(z, p + 46 + nl, xl, e, u32 == 0xFFFFFFFFu, c32 == 0xFFFFFFFFu, o32 == 0xFFFFFFFFu, s);
    if (r) return r;
    if (le16(p + 34) != 0)
        return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: a multi-disk zip archive is not supported", z->label);
    if (flags & 0x41)
        return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: entry \"%s\" is encrypted", z->label, show(nm, e->name));
    if (e->method != 0 && e->method != 8)
        return ditc_fail(s, DITC_ERR_UNSUPPORTED,
                         "%s: entry \"%s\": compression method %u is not supported (only stored and deflated)",
                         z->label, show(nm, e->name), e->method);
    if (e->method == 0 && e->csize != e->usize)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: entry \"%s\" is stored but its sizes differ (%" PRIu64 " and %" PRIu64 " bytes)",
                         z->label, show(nm, e->name), e->csize, e->usize);
    *pos += 46 + nl + xl + cl;
    return locate_data(z, e, s);
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const ditc_zip_entry *)a)->name, ((const ditc_zip_entry *)b)->name);
}

int ditc_zip_open(ditc_zip *z, const unsigned char *buf, size_t size, const char *label, ditc_status *s) {
    DITC_CHECK(z != NULL && (buf != NULL || size == 0), "ditc_zip_open: bad arguments");
    memset(z, 0, sizeof *z);
    ditc_status_ok(s);
    z->label = label ? label : "<zip>";
    z->buf = buf;
    z->size = size;
    uint64_t n = 0, cd_off = 0, cd_size = 0;
    int r = read_eocd(z, &n, &cd_off, &cd_size, s);
    if (r) return r;
    if (n > INT_MAX) return ditc_fail(s, DITC_ERR_FORMAT, "%s: %" PRIu64 " entries", z->label, n);
    z->entries = ditc_xcalloc(n ? (size_t)n : 1, sizeof *z->entries);
    size_t pos = (size_t)cd_off, end = (size_t)(cd_off + cd_size);
    for (uint64_t i = 0; i < n && !r; i++) {
        r = parse_entry(z, &pos, end, &z->entries[i], s);
        z->n = (int)i + 1; // the name (if any) is freed by close
    }
    if (!r && z->n > 1) {
        qsort(z->entries, (size_t)z->n, sizeof *z->entries, cmp_entry);
        for (int i = 1; i < z->n && !r; i++)
            if (!strcmp(z->entries[i].name, z->entries[i - 1].name)) {
                char nm[112];
                r = ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\" appears twice", z->label,
                              show(nm, z->entries[i].name));
            }
    }
    if (r) ditc_zip_close(z);
    return r;
}

void ditc_zip_close(ditc_zip *z) {
    if (!z) return;
    for (int i = 0; i < z->n; i++) free(z->entries[i].name);
    free(z->entries);
    memset(z, 0, sizeof *z);
}

const ditc_zip_entry *ditc_zip_find(const ditc_zip *z, const char *name) {
    ditc_zip_entry key = {.name = (char *)name};
    if (!z->n) return NULL;
    return bsearch(&key, z->entries, (size_t)z->n, sizeof *z->entries, cmp_entry);
}

static uint32_t crc_of(const unsigned char *p, uint64_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

// Raw deflate of e into a buffer of exactly e->usize bytes; anything else is an error.
static int inflate_entry(const ditc_zip *z, const ditc_zip_entry *e, unsigned char **out, ditc_status *s) {
    char nm[112];
    if (e->usize > (uint64_t)MAX_DEFLATE_RATIO * e->csize + 64 || e->usize > SIZE_MAX / 2)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: entry \"%s\": declared size %" PRIu64 " bytes is impossible for %" PRIu64
                         " deflated bytes",
                         z->label, show(nm, e->name), e->usize, e->csize);
    unsigned char *buf = malloc(e->usize ? (size_t)e->usize : 1), extra;
    if (!buf)
        return ditc_fail(s, DITC_ERR_IO, "%s: entry \"%s\": out of memory for its %" PRIu64 " bytes", z->label,
                         show(nm, e->name), e->usize);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) {
        free(buf);
        return ditc_fail(s, DITC_ERR_IO, "%s: entry \"%s\": zlib inflateInit2 failed", z->label, show(nm, e->name));
    }
    const unsigned char *in = e->cdata;
    uint64_t in_left = e->csize, out_done = 0;
    const char *why = NULL;
    for (;;) {
        if (zs.avail_in == 0 && in_left) {
            zs.next_in = (Bytef *)(uintptr_t)in;
            zs.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            in += zs.avail_in;
            in_left -= zs.avail_in;
        }
        int full = out_done == e->usize;
        if (!full) {
            uint64_t room = e->usize - out_done;
            zs.next_out = buf + out_done;
            zs.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        } else { // every declared byte is there: any further output is one too many
            zs.next_out = &extra;
            zs.avail_out = 1;
        }
        uInt before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        uInt made = before - zs.avail_out;
        if (full && made) {
            why = "inflates to more bytes than its declared size";
            break;
        }
        out_done += made;
        if (zr == Z_STREAM_END) {
            if (out_done != e->usize) why = "inflates to fewer bytes than its declared size";
            break;
        }
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || (zr == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0)) {
            why = "corrupt or truncated deflate data";
            break;
        }
    }
    inflateEnd(&zs);
    if (why) {
        free(buf);
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\": %s (%" PRIu64 " bytes declared)", z->label,
                         show(nm, e->name), why, e->usize);
    }
    *out = buf;
    return 0;
}

int ditc_zip_read(const ditc_zip *z, const ditc_zip_entry *e, const unsigned char **data, unsigned char **owned,
                  ditc_status *s) {
    char nm[112];
    *data = NULL;
    *owned = NULL;
    if (e->method == 8) {
        int r = inflate_entry(z, e, owned, s);
        if (r) return r;
        *data = *owned;
    } else *data = e->cdata;
    uint32_t c = crc_of(*data, e->usize);
    if (c != e->crc32) {
        free(*owned);
        *owned = NULL;
        *data = NULL;
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: entry \"%s\": CRC-32 mismatch (stored %08x, data %08x): corrupt file",
                         z->label, show(nm, e->name), e->crc32, c);
    }
    return 0;
}
