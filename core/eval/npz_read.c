// npz_read.c — zip central directory (with ZIP64 sizes and offsets), stored and deflate entries, .npy 1.0/2.0/3.0
// headers (npz_read.h). Sizes come from the central directory (numpy's zipfile writes data descriptors and ZIP64
// local headers); every offset is checked against the file size before it is used.
#include "npz_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    char *name;
    int method; // 0 stored, 8 deflate
    uint64_t csize, usize, local_off;
} npz_entry;

struct ditc_npz {
    char *path;
    uint64_t size;
    npz_entry *e;
    int n;
};

struct ditc_npy_reader {
    FILE *f;
    const ditc_npz *z;
    const npz_entry *e;
    char key[64];
    uint64_t in_left;  // compressed bytes not yet read from the file
    uint64_t out_left; // uncompressed bytes not yet returned (header included until parsed)
    z_stream zs;
    int inflating;
    unsigned char *buf; // deflate input buffer
};

#define NPZ_BUF (1u << 16)

static uint16_t u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

static int read_at(FILE *f, uint64_t off, void *dst, size_t n) {
    return fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(dst, 1, n, f) == n ? 0 : -1;
}

const char *ditc_npz_path(const ditc_npz *z) { return z->path; }

void ditc_npz_close(ditc_npz *z) {
    if (!z) return;
    for (int i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e), free(z->path), free(z);
}

static int bad(ditc_status *st, const char *path, const char *what) {
    return ditc_fail(st, DITC_ERR_FORMAT, "%s: not a valid .npz (zip) file: %s", path, what);
}

int ditc_npz_open(const char *path, ditc_npz **out, ditc_status *st) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ditc_fail(st, DITC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    unsigned char *tail = NULL, *cd = NULL;
    ditc_npz *z = ditc_xcalloc(1, sizeof *z);
    z->path = ditc_xstrdup(path);
    if (fseeko(f, 0, SEEK_END) != 0) {
        rc = ditc_fail(st, DITC_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
        goto done;
    }
    z->size = (uint64_t)ftello(f);
    // end of central directory record: the last "PK\5\6" in the final 64 KiB + 22 bytes
    size_t tn = z->size < 65557 ? (size_t)z->size : 65557;
    tail = ditc_xmalloc(tn + 1);
    if (tn < 22 || read_at(f, z->size - tn, tail, tn)) {
        rc = bad(st, path, "too short for a zip archive");
        goto done;
    }
    int64_t eocd = -1;
    for (int64_t i = (int64_t)tn - 22; i >= 0; i--)
        if (u32(tail + i) == 0x06054b50u) {
            eocd = i;
            break;
        }
    if (eocd < 0) {
        rc = bad(st, path, "no end-of-central-directory record");
        goto done;
    }
    const unsigned char *r = tail + eocd;
    uint64_t n = u16(r + 10), cd_size = u32(r + 12), cd_off = u32(r + 16);
    if (n == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) { // ZIP64: locator 20 bytes before
        unsigned char loc[20], e64[56];
        uint64_t eocd_abs = z->size - tn + (uint64_t)eocd;
        if (eocd_abs < 20 || read_at(f, eocd_abs - 20, loc, 20) || u32(loc) != 0x07064b50u ||
            read_at(f, u64(loc + 8), e64, 56) || u32(e64) != 0x06064b50u) {
            rc = bad(st, path, "broken ZIP64 end-of-central-directory record");
            goto done;
        }
        n = u64(e64 + 32), cd_size = u64(e64 + 40), cd_off = u64(e64 + 48);
    }
    if (cd_off > z->size || cd_size > z->size - cd_off || n > cd_size / 46 || cd_size > ((uint64_t)1 << 30)) {
        rc = bad(st, path, "central directory out of bounds");
        goto done;
    }
    cd = ditc_xmalloc((size_t)cd_size + 1);
    if (read_at(f, cd_off, cd, (size_t)cd_size)) {
        rc = bad(st, path, "cannot read the central directory");
        goto done;
    }
    z->e = ditc_xcalloc((size_t)n + 1, sizeof *z->e);
    uint64_t p = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (p + 46 > cd_size || u32(cd + p) != 0x02014b50u) {
            rc = bad(st, path, "corrupt central directory entry");
            goto done;
        }
        const unsigned char *h = cd + p;
        uint16_t flags = u16(h + 8), method = u16(h + 10), nl = u16(h + 28), xl = u16(h + 30), cl = u16(h + 32);
        if (p + 46 + nl + xl + cl > cd_size) {
            rc = bad(st, path, "corrupt central directory entry");
            goto done;
        }
        npz_entry *e = &z->e[z->n++];
        e->name = ditc_xmalloc((size_t)nl + 1);
        memcpy(e->name, h + 46, nl);
        e->name[nl] = '\0';
        e->method = method;
        e->csize = u32(h + 20), e->usize = u32(h + 24), e->local_off = u32(h + 42);
        // ZIP64 extra field: the 8-byte values of the fields that are 0xFFFFFFFF, in this order
        for (const unsigned char *x = h + 46 + nl, *xe = x + xl; x + 4 <= xe;) {
            uint16_t id = u16(x), len = u16(x + 2);
            const unsigned char *v = x + 4, *ve = v + len;
            if (ve > xe) break;
            if (id == 1) {
                if (e->usize == 0xFFFFFFFFu && v + 8 <= ve) e->usize = u64(v), v += 8;
                if (e->csize == 0xFFFFFFFFu && v + 8 <= ve) e->csize = u64(v), v += 8;
                if (e->local_off == 0xFFFFFFFFu && v + 8 <= ve) e->local_off = u64(v), v += 8;
            }
            x = ve;
        }
        if (flags & 1) {
            rc = ditc_fail(st, DITC_ERR_FORMAT, "%s: entry '%s' is encrypted", path, e->name);
            goto done;
        }
        if (method != 0 && method != 8) {
            rc = ditc_fail(st, DITC_ERR_FORMAT,
                           "%s: entry '%s' uses zip compression method %d (only stored and deflate)", path, e->name,
                           method);
            goto done;
        }
        if (method == 0 && e->csize != e->usize) {
            rc = bad(st, path, "stored entry with different sizes");
            goto done;
        }
        p += 46u + nl + xl + cl;
    }
done:
    fclose(f);
    free(tail), free(cd);
    if (rc) {
        ditc_npz_close(z);
        return rc;
    }
    *out = z;
    return 0;
}

static const npz_entry *find(const ditc_npz *z, const char *key) {
    size_t k = strlen(key);
    for (int i = 0; i < z->n; i++)
        if (!strncmp(z->e[i].name, key, k) && !strcmp(z->e[i].name + k, ".npy")) return &z->e[i];
    return NULL;
}

int ditc_npz_has(const ditc_npz *z, const char *key) { return find(z, key) != NULL; }

void ditc_npy_reader_close(ditc_npy_reader *r) {
    if (!r) return;
    if (r->inflating) inflateEnd(&r->zs);
    if (r->f) fclose(r->f);
    free(r->buf), free(r);
}

static int trunc_err(ditc_npy_reader *r, ditc_status *st, const char *why) {
    return ditc_fail(st, DITC_ERR_FORMAT, "%s: array '%s': %s", r->z->path, r->key, why);
}

// Raw (uncompressed) entry bytes.
static int raw_read(ditc_npy_reader *r, unsigned char *dst, size_t n, ditc_status *st) {
    if ((uint64_t)n > r->out_left) return trunc_err(r, st, "data shorter than its .npy header says (truncated?)");
    if (r->e->method == 0) {
        if (fread(dst, 1, n, r->f) != n) return trunc_err(r, st, "file truncated");
        r->out_left -= n;
        return 0;
    }
    r->zs.next_out = dst;
    r->zs.avail_out = 0;
    while (n > 0) {
        uInt step = n > (1u << 30) ? (1u << 30) : (uInt)n;
        r->zs.next_out = dst, r->zs.avail_out = step;
        while (r->zs.avail_out > 0) {
            if (r->zs.avail_in == 0) {
                size_t want = r->in_left < NPZ_BUF ? (size_t)r->in_left : NPZ_BUF;
                if (want == 0 || fread(r->buf, 1, want, r->f) != want)
                    return trunc_err(r, st, "compressed data truncated");
                r->in_left -= want;
                r->zs.next_in = r->buf, r->zs.avail_in = (uInt)want;
            }
            int zr = inflate(&r->zs, Z_NO_FLUSH);
            if (zr == Z_STREAM_END && r->zs.avail_out > 0) return trunc_err(r, st, "compressed data end early");
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) return trunc_err(r, st, "corrupt deflate data");
            if (zr == Z_BUF_ERROR && r->zs.avail_in > 0) return trunc_err(r, st, "corrupt deflate data");
        }
        dst += step, n -= step, r->out_left -= step;
    }
    return 0;
}

int ditc_npy_read(ditc_npy_reader *r, void *dst, size_t bytes, ditc_status *st) { return raw_read(r, dst, bytes, st); }

// Parses the .npy header dict {'descr': '<f8', 'fortran_order': False, 'shape': (2048, 2048), }.
static int parse_header(ditc_npy_reader *r, const char *h, ditc_npy_info *info, ditc_status *st) {
    memset(info, 0, sizeof *info);
    const char *d = strstr(h, "'descr'"), *fo = strstr(h, "'fortran_order'"), *sh = strstr(h, "'shape'");
    if (!d || !fo || !sh) return trunc_err(r, st, "bad .npy header (no descr, fortran_order or shape)");
    d = strchr(d + 7, '\'');
    const char *de = d ? strchr(d + 1, '\'') : NULL;
    if (!d || !de || de - d - 1 >= (ptrdiff_t)sizeof info->descr || de - d - 1 < 2)
        return trunc_err(r, st, "bad .npy header (descr)");
    memcpy(info->descr, d + 1, (size_t)(de - d - 1));
    fo += 15;
    while (*fo == ' ' || *fo == ':') fo++;
    int fortran = !strncmp(fo, "True", 4);
    if (!fortran && strncmp(fo, "False", 5)) return trunc_err(r, st, "bad .npy header (fortran_order)");
    sh = strchr(sh + 7, '(');
    if (!sh) return trunc_err(r, st, "bad .npy header (shape)");
    sh++;
    info->numel = 1;
    for (;;) {
        while (*sh == ' ' || *sh == ',') sh++;
        if (*sh == ')') break;
        char *end;
        long long v = strtoll(sh, &end, 10);
        if (end == sh || v < 0 || info->ndim == DITC_NPY_MAX_DIMS) return trunc_err(r, st, "bad .npy header (shape)");
        if (v > 0 && info->numel > INT64_MAX / v) return trunc_err(r, st, "bad .npy header (shape too large)");
        info->shape[info->ndim++] = v;
        info->numel *= v;
        sh = end;
    }
    char bo = info->descr[0];
    if (bo == '>' && info->descr[2] != '1') return trunc_err(r, st, "big-endian data are not supported");
    if (bo != '<' && bo != '|' && bo != '=' && bo != '>') return trunc_err(r, st, "bad .npy dtype");
    long isz = strtol(info->descr + 2, NULL, 10);
    if (isz < 1 || isz > 16) return trunc_err(r, st, "bad .npy dtype size");
    info->itemsize = (size_t)isz;
    if (fortran && info->ndim > 1) return trunc_err(r, st, "Fortran-order arrays are not supported");
    return 0;
}

int ditc_npz_array(ditc_npz *z, const char *key, ditc_npy_reader **out, ditc_npy_info *info, ditc_status *st) {
    *out = NULL;
    const npz_entry *e = find(z, key);
    if (!e) return ditc_fail(st, DITC_ERR_FORMAT, "%s: has no array '%s'", z->path, key);
    ditc_npy_reader *r = ditc_xcalloc(1, sizeof *r);
    r->z = z, r->e = e;
    snprintf(r->key, sizeof r->key, "%s", key);
    int rc = 0;
    unsigned char lh[30];
    char *hdr = NULL;
    if (!(r->f = fopen(z->path, "rb"))) {
        rc = ditc_fail(st, DITC_ERR_IO, "%s: cannot open: %s", z->path, strerror(errno));
        goto done;
    }
    if (e->local_off > z->size || read_at(r->f, e->local_off, lh, 30) || u32(lh) != 0x04034b50u) {
        rc = trunc_err(r, st, "bad zip local header");
        goto done;
    }
    uint64_t data = e->local_off + 30 + u16(lh + 26) + u16(lh + 28);
    if (data > z->size || e->csize > z->size - data || fseeko(r->f, (off_t)data, SEEK_SET)) {
        rc = trunc_err(r, st, "entry extends past the end of the file (truncated?)");
        goto done;
    }
    r->in_left = e->csize, r->out_left = e->usize;
    if (e->method == 8) {
        r->buf = ditc_xmalloc(NPZ_BUF);
        if (inflateInit2(&r->zs, -MAX_WBITS) != Z_OK) {
            rc = trunc_err(r, st, "zlib initialisation failed");
            goto done;
        }
        r->inflating = 1;
    }
    unsigned char magic[12];
    if ((rc = raw_read(r, magic, 10, st))) goto done;
    if (memcmp(magic, "\x93NUMPY", 6) || magic[6] < 1 || magic[6] > 3) {
        rc = trunc_err(r, st, "not a .npy array (bad magic)");
        goto done;
    }
    uint32_t hl = u16(magic + 8);
    if (magic[6] >= 2) {
        if ((rc = raw_read(r, magic + 10, 2, st))) goto done;
        hl = u32(magic + 8);
    }
    if (hl > (1u << 20)) {
        rc = trunc_err(r, st, "bad .npy header length");
        goto done;
    }
    hdr = ditc_xmalloc((size_t)hl + 1);
    if ((rc = raw_read(r, (unsigned char *)hdr, hl, st))) goto done;
    hdr[hl] = '\0';
    if ((rc = parse_header(r, hdr, info, st))) goto done;
    if ((uint64_t)info->numel > UINT64_MAX / info->itemsize || (uint64_t)info->numel * info->itemsize != r->out_left) {
        rc = trunc_err(r, st, "data size does not match its .npy header (truncated?)");
        goto done;
    }
done:
    free(hdr);
    if (rc) {
        ditc_npy_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void ditc_npy_shape_str(const ditc_npy_info *info, char *buf, size_t cap) {
    size_t p = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < info->ndim && p < cap; i++)
        p += (size_t)snprintf(buf + p, cap - p, "%s%lld", i ? ", " : "", (long long)info->shape[i]);
    if (p < cap) snprintf(buf + p, cap - p, info->ndim == 1 ? ",)" : ")");
}

int ditc_npz_read_f64(ditc_npz *z, const char *key, double **data, ditc_npy_info *info, ditc_status *st) {
    *data = NULL;
    ditc_npy_reader *r;
    int rc = ditc_npz_array(z, key, &r, info, st);
    if (rc) return rc;
    int f8 = !strcmp(info->descr, "<f8"), f4 = !strcmp(info->descr, "<f4");
    if (!f8 && !f4) {
        rc = ditc_fail(st, DITC_ERR_FORMAT, "%s: array '%s' has dtype %s, expected float64 (<f8) or float32 (<f4)",
                       z->path, key, info->descr);
        ditc_npy_reader_close(r);
        return rc;
    }
    double *d = ditc_xmalloc((size_t)(info->numel ? info->numel : 1) * sizeof(double));
    if (f8) {
        rc = ditc_npy_read(r, d, (size_t)info->numel * 8, st);
    } else {
        float *tmp = ditc_xmalloc((size_t)(info->numel ? info->numel : 1) * sizeof(float));
        rc = ditc_npy_read(r, tmp, (size_t)info->numel * 4, st);
        for (int64_t i = 0; !rc && i < info->numel; i++) d[i] = tmp[i];
        free(tmp);
    }
    ditc_npy_reader_close(r);
    if (rc) {
        free(d);
        return rc;
    }
    *data = d;
    return 0;
}
