// dataset_idx.c — IDX (MNIST / Fashion-MNIST) data source: strict reader for the images (magic 0x00000803:
// n, rows, cols, then n*rows*cols bytes) and labels (magic 0x00000801: n, then n bytes) files, raw or gzip,
// loaded whole into memory as uint8, and the per-sample preprocessing to the requested side S
// (byte/127.5 - 1; centre-pad with -1 when S > native, exact area-average when S < native).
//
// Every problem with the files is reported through ditc_status with the file name and what is wrong; the
// reader never trusts a header field before checking it (sizes are capped at 2^31 bytes of pixels).
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "dataset.h"

#define IDX_MAGIC_IMAGES    0x00000803u
#define IDX_MAGIC_LABELS    0x00000801u
#define IDX_MAX_PIXEL_BYTES ((uint64_t)1 << 31)
#define IDX_MAX_IMAGE_SIZE  16384

typedef enum { PREP_COPY, PREP_PAD, PREP_AREA } prep_mode;

// Area-average footprint of output index o along one axis: source indices k0[o] .. k0[o]+cnt[o]-1 with
// integer weights w[o*span + j] = overlap of [k, k+1) and [o*native/S, (o+1)*native/S), scaled by S.
// Weights of one output sum to `native`, so a 2-D sum of weights is native^2.
typedef struct {
    int span;
    int *k0, *cnt, *w;
} area_table;

typedef struct {
    uint8_t *pixels; // n * native * native
    uint8_t *labels; // n
    int native;      // source side
    prep_mode mode;
    int pad;         // left/top padding (PREP_PAD)
    area_table area; // PREP_AREA (same table for both axes)
    float lut[256];  // byte -> byte/127.5 - 1
} idx_ctx;

// ---- file reading ---------------------------------------------------------------------------------

typedef struct {
    gzFile gz;
    const char *path;
    int gzip; // 1 if the file starts with the gzip magic (zlib detects it; we only report it)
} idx_file;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int is_regular_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int file_open(idx_file *f, const char *path, const char *what, ditc_status *st) {
    f->path = path;
    f->gz = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "IDX %s file %s: %s", what, path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return ditc_fail(st, DITC_ERR_IO, "IDX %s file %s: not a regular file", what, path);
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return ditc_fail(st, DITC_ERR_IO, "IDX %s file %s: cannot open: %s", what, path,
                         errno ? strerror(errno) : "out of memory");
    f->gzip = !gzdirect(f->gz); // looks at the first bytes: the gzip magic 1f 8b
    return 0;
}

static void file_close(idx_file *f) {
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

// zlib's description of the stream's error state ("" when there is none), without the "<path>: " prefix
// gzerror puts in front of it (our messages name the file already).
static const char *gz_problem(const idx_file *f) {
    int errnum = Z_OK;
    const char *msg = gzerror(f->gz, &errnum);
    if (errnum == Z_OK || !msg) return "";
    size_t n = strlen(f->path);
    if (strncmp(msg, f->path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
    return msg;
}

// Reads up to `len` bytes into buf; *got = bytes read. Non-zero (st set) on a zlib/read error (zlib reads
// ahead, so a gzip error is reported without saying which part was being read).
static int file_read_some(idx_file *f, void *buf, uint64_t len, uint64_t *got, ditc_status *st) {
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        uint64_t want = len - *got;
        unsigned chunk = want > (1u << 30) ? (1u << 30) : (unsigned)want;
        int r = gzread(f->gz, p + *got, chunk);
        if (r < 0)
            return ditc_fail(st, DITC_ERR_FORMAT, "IDX file %s: %s: %s", f->path,
                             f->gzip ? "corrupt gzip data" : "read error", gz_problem(f));
        if (r == 0) break;
        *got += (uint64_t)r;
    }
    return 0;
}

static int truncated(idx_file *f, uint64_t want, uint64_t got, const char *what, ditc_status *st) {
    const char *why = gz_problem(f);
    return ditc_fail(st, DITC_ERR_FORMAT, "IDX file %s: truncated: expected %llu bytes of %s, got only %llu%s%s%s",
                     f->path, (unsigned long long)want, what, (unsigned long long)got, *why ? " (" : "", why,
                     *why ? ")" : "");
}

// Reads exactly `len` bytes of `what`; a short read is a truncated file, a zlib error a corrupt one.
static int file_read(idx_file *f, void *buf, uint64_t len, const char *what, ditc_status *st) {
    uint64_t got;
    int rc = file_read_some(f, buf, len, &got, st);
    if (!rc && got < len) rc = truncated(f, len, got, what, st);
    return rc;
}

// Reads `len` payload bytes into a new buffer that grows as data arrives (from 64 MiB, doubling), so a
// small file whose header claims gigabytes fails as truncated without first allocating the claimed size.
static int file_read_alloc(idx_file *f, uint64_t len, const char *what, uint8_t **out, ditc_status *st) {
    uint64_t cap = len < ((uint64_t)64 << 20) ? len : ((uint64_t)64 << 20), have = 0;
    uint8_t *buf = ditc_xmalloc((size_t)cap);
    int rc = 0;
    while (!rc && have < len) {
        if (have == cap) {
            cap = cap * 2 < len ? cap * 2 : len;
            buf = ditc_xrealloc(buf, (size_t)cap);
        }
        uint64_t got;
        rc = file_read_some(f, buf + have, cap - have, &got, st);
        have += got;
        if (!rc && have < cap) rc = truncated(f, len, have, what, st);
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

// After the payload the file must end (this also makes zlib verify the gzip trailer's CRC and length).
static int file_expect_end(idx_file *f, const char *what, ditc_status *st) {
    unsigned char extra;
    int r = gzread(f->gz, &extra, 1);
    const char *why = gz_problem(f);
    if (r > 0)
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "IDX file %s: unexpected extra bytes after the %s (the file is longer than its header says)",
                         f->path, what);
    if (r < 0 || *why)
        return ditc_fail(st, DITC_ERR_FORMAT, "IDX file %s: corrupt %s stream after the %s: %s", f->path,
                         f->gzip ? "gzip" : "file", what, *why ? why : "read error");
    return 0;
}

static uint32_t bswap32(uint32_t v) { return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24); }

static int check_magic(const idx_file *f, uint32_t magic, uint32_t expect, const char *kind, ditc_status *st) {
    if (magic == expect) return 0;
    const char *hint = "";
    if (magic == IDX_MAGIC_LABELS && expect == IDX_MAGIC_IMAGES) hint = " (this looks like a labels file)";
    if (magic == IDX_MAGIC_IMAGES && expect == IDX_MAGIC_LABELS) hint = " (this looks like an images file)";
    if (magic == bswap32(expect)) hint = " (byte-swapped: IDX is big-endian)";
    return ditc_fail(st, DITC_ERR_FORMAT, "IDX file %s: bad magic 0x%08x, expected 0x%08x for an IDX %s file%s",
                     f->path, magic, expect, kind, hint);
}

// Checks the images header fields: positive sizes, at most 2^31 bytes of pixels, square images.
static int check_image_header(const char *path, uint32_t n, uint32_t rows, uint32_t cols, ditc_status *st) {
    if (n == 0 || rows == 0 || cols == 0)
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "IDX file %s: header says %u images of %ux%u: count and sizes must be positive", path, n, rows,
                         cols);
    const uint64_t per = (uint64_t)rows * cols; // < 2^64
    if (per > IDX_MAX_PIXEL_BYTES || (uint64_t)n * per > IDX_MAX_PIXEL_BYTES)
        return ditc_fail(
            st, DITC_ERR_FORMAT,
            "IDX file %s: header says %u images of %ux%u, more than 2^31 bytes of pixels (corrupt header?)", path, n,
            rows, cols);
    if (rows != cols)
        return ditc_fail(st, DITC_ERR_UNSUPPORTED, "IDX file %s: images are %ux%u; only square images are supported",
                         path, rows, cols);
    return 0;
}

// Reads the images file: header checks, then all pixels.
static int read_images(const char *path, uint8_t **pixels, int64_t *n_out, int *side_out, int *gzip, ditc_status *st) {
    idx_file f;
    *pixels = NULL;
    int rc = file_open(&f, path, "images", st);
    if (rc) return rc;
    *gzip = f.gzip;
    unsigned char hdr[16];
    rc = file_read(&f, hdr, sizeof hdr, "header (magic, count, rows, cols)", st);
    if (!rc) rc = check_magic(&f, be32(hdr), IDX_MAGIC_IMAGES, "images (idx3, unsigned byte)", st);
    const uint32_t n = be32(hdr + 4), rows = be32(hdr + 8), cols = be32(hdr + 12);
    if (!rc) rc = check_image_header(path, n, rows, cols, st);
    if (!rc) rc = file_read_alloc(&f, (uint64_t)n * rows * cols, "image data after the header", pixels, st);
    if (!rc) rc = file_expect_end(&f, "image data", st);
    file_close(&f);
    if (rc) {
        free(*pixels);
        *pixels = NULL;
        return rc;
    }
    *n_out = n;
    *side_out = (int)rows;
    return 0;
}

// Reads the labels file and checks its count against the images file's.
static int read_labels(const char *path, const char *images_path, int64_t n_images, uint8_t **labels, ditc_status *st) {
    idx_file f;
    *labels = NULL;
    int rc = file_open(&f, path, "labels", st);
    if (rc) return rc;
    unsigned char hdr[8];
    rc = file_read(&f, hdr, sizeof hdr, "header (magic, count)", st);
    if (!rc) rc = check_magic(&f, be32(hdr), IDX_MAGIC_LABELS, "labels (idx1, unsigned byte)", st);
    uint32_t n = be32(hdr + 4);
    if (!rc && n == 0) rc = ditc_fail(st, DITC_ERR_FORMAT, "IDX file %s: header says 0 labels", path);
    if (!rc && (int64_t)n != n_images)
        rc = ditc_fail(st, DITC_ERR_FORMAT, "IDX labels file %s has %u labels but images file %s has %lld images", path,
                       n, images_path, (long long)n_images);
    if (!rc) rc = file_read_alloc(&f, n, "label data after the header", labels, st);
    if (!rc) rc = file_expect_end(&f, "label data", st);
    file_close(&f);
    if (rc) {
        free(*labels);
        *labels = NULL;
    }
    return rc;
}

// ---- locating the two files -----------------------------------------------------------------------

static char *str_cat3(const char *a, const char *b, const char *c) {
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    char *s = ditc_xmalloc(na + nb + nc + 1);
    memcpy(s, a, na);
    memcpy(s + na, b, nb);
    memcpy(s + na + nb, c, nc + 1);
    return s;
}

// dir/base if it is a file, else dir/base.gz if that is, else NULL.
static char *find_in_dir(const char *dir, const char *base) {
    char *p = str_cat3(dir, "/", base);
    if (is_regular_file(p)) return p;
    char *gz = str_cat3(p, ".gz", "");
    free(p);
    if (is_regular_file(gz)) return gz;
    free(gz);
    return NULL;
}

// The labels file next to an images file: the last "images-idx3" (or "images.idx3") in the file's base
// name becomes "labels-idx1" ("labels.idx1"). If that name does not exist but the same name with ".gz"
// added or removed does, that one. NULL (st set) when the name has no such part.
static char *labels_path_for(const char *images, ditc_status *st) {
    static const char *const from[2] = {"images-idx3", "images.idx3"}, *const to[2] = {"labels-idx1", "labels.idx1"};
    const char *slash = strrchr(images, '/');
    const char *base = slash ? slash + 1 : images;
    for (int v = 0; v < 2; v++) {
        const char *hit = NULL;
        for (const char *s = strstr(base, from[v]); s; s = strstr(s + 1, from[v])) hit = s;
        if (!hit) continue;
        size_t pre = (size_t)(hit - images);
        char *head = ditc_xmalloc(pre + 1);
        memcpy(head, images, pre);
        head[pre] = '\0';
        char *lab = str_cat3(head, to[v], hit + strlen(from[v]));
        free(head);
        if (is_regular_file(lab)) return lab;
        size_t n = strlen(lab);
        char *alt;
        if (n > 3 && strcmp(lab + n - 3, ".gz") == 0) {
            alt = ditc_xmalloc(n - 2);
            memcpy(alt, lab, n - 3);
            alt[n - 3] = '\0';
        } else {
            alt = str_cat3(lab, ".gz", "");
        }
        if (is_regular_file(alt)) {
            free(lab);
            return alt;
        }
        free(alt);
        return lab; // does not exist: opening it reports the error with this name
    }
    ditc_fail(st, DITC_ERR_ARG,
              "IDX images file %s: cannot derive the labels file name (expected \"images-idx3\" in the file name)",
              images);
    return NULL;
}

// Resolves `path` (directory or images file) to the images and labels file names.
static int resolve_paths(const char *path, char **images, char **labels, ditc_status *st) {
    *images = *labels = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "IDX data path %s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        *images = find_in_dir(path, "train-images-idx3-ubyte");
        if (!*images) return ditc_fail(st, DITC_ERR_IO, "IDX directory %s has no train-images-idx3-ubyte[.gz]", path);
        *labels = find_in_dir(path, "train-labels-idx1-ubyte");
        if (!*labels) {
            free(*images);
            *images = NULL;
            return ditc_fail(st, DITC_ERR_IO, "IDX directory %s has no train-labels-idx1-ubyte[.gz]", path);
        }
        return 0;
    }
    if (!S_ISREG(sb.st_mode))
        return ditc_fail(st, DITC_ERR_IO, "IDX data path %s is neither a directory nor a regular file", path);
    *labels = labels_path_for(path, st);
    if (!*labels) return st ? st->code : DITC_ERR_ARG;
    *images = str_cat3(path, "", "");
    return 0;
}

// ---- preprocessing --------------------------------------------------------------------------------

static void area_table_init(area_table *t, int native, int S) {
    t->span = native / S + 2;
    t->k0 = ditc_xmalloc(sizeof(int) * (size_t)S);
    t->cnt = ditc_xmalloc(sizeof(int) * (size_t)S);
    t->w = ditc_xcalloc((size_t)S * (size_t)t->span, sizeof(int));
    for (int o = 0; o < S; o++) {
        // Footprint [o*native/S, (o+1)*native/S) in source pixels; in units of 1/S it is [lo, hi).
        int64_t lo = (int64_t)o * native, hi = (int64_t)(o + 1) * native;
        int k0 = (int)(lo / S), k1 = (int)((hi + S - 1) / S); // source pixels [k0, k1)
        DITC_CHECK(k1 - k0 <= t->span, "area footprint %d > span %d", k1 - k0, t->span);
        t->k0[o] = k0;
        t->cnt[o] = k1 - k0;
        for (int k = k0; k < k1; k++) {
            int64_t a = (int64_t)k * S > lo ? (int64_t)k * S : lo;
            int64_t b = (int64_t)(k + 1) * S < hi ? (int64_t)(k + 1) * S : hi;
            t->w[(size_t)o * t->span + (size_t)(k - k0)] = (int)(b - a);
        }
    }
}

static void area_table_free(area_table *t) {
    free(t->k0);
    free(t->cnt);
    free(t->w);
}

// Output pixel (oy, ox) = exact mean of the source over its footprint, mapped to [-1, 1]. The weighted sum
// is an exact integer (weights are overlaps in units of 1/S); the mean is acc / native^2.
static float area_pixel(const idx_ctx *c, const uint8_t *img, int oy, int ox) {
    const area_table *t = &c->area;
    const int *wy = t->w + (size_t)oy * t->span, *wx = t->w + (size_t)ox * t->span;
    int64_t acc = 0;
    for (int j = 0; j < t->cnt[oy]; j++) {
        const uint8_t *row = img + (size_t)(t->k0[oy] + j) * (size_t)c->native + t->k0[ox];
        int64_t racc = 0;
        for (int i = 0; i < t->cnt[ox]; i++) racc += (int64_t)wx[i] * row[i];
        acc += racc * wy[j];
    }
    const int64_t full = 255 * (int64_t)c->native * c->native; // acc of an all-255 image
    return (float)((double)(2 * acc - full) / (double)full);
}

static int idx_get(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st) {
    (void)st;
    const idx_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "IDX sample %lld out of range [0, %lld)", (long long)i, (long long)ds->n);
    const int N = c->native, S = ds->side;
    const uint8_t *img = c->pixels + (size_t)i * (size_t)N * (size_t)N;
    switch (c->mode) {
    case PREP_COPY:
        for (size_t k = 0; k < (size_t)N * N; k++) dst[k] = c->lut[img[k]];
        break;
    case PREP_PAD:
        for (size_t k = 0; k < (size_t)S * S; k++) dst[k] = -1.0f;
        for (int y = 0; y < N; y++) {
            float *row = dst + (size_t)(y + c->pad) * S + c->pad;
            for (int x = 0; x < N; x++) row[x] = c->lut[img[(size_t)y * N + x]];
        }
        break;
    case PREP_AREA:
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) dst[(size_t)y * S + x] = area_pixel(c, img, y, x);
        break;
    }
    *label = c->labels[i];
    return 0;
}

// The same sample as exact bytes (dataset.h get_u8): only without the area downscale (padding is byte 0,
// which maps to -1 like the float path).
static int idx_get_u8(const ditc_dataset *ds, int64_t i, uint8_t *dst, int32_t *label, ditc_status *st) {
    (void)st;
    const idx_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "IDX sample %lld out of range [0, %lld)", (long long)i, (long long)ds->n);
    DITC_CHECK(c->mode != PREP_AREA, "IDX get_u8 with an area downscale");
    const int N = c->native, S = ds->side;
    const uint8_t *img = c->pixels + (size_t)i * (size_t)N * (size_t)N;
    if (c->mode == PREP_COPY) {
        memcpy(dst, img, (size_t)N * N);
    } else {
        memset(dst, 0, (size_t)S * S);
        for (int y = 0; y < N; y++) memcpy(dst + (size_t)(y + c->pad) * S + c->pad, img + (size_t)y * N, (size_t)N);
    }
    *label = c->labels[i];
    return 0;
}

static void idx_destroy(ditc_dataset *ds) {
    if (!ds) return;
    idx_ctx *c = ds->ctx;
    if (c) {
        free(c->pixels);
        free(c->labels);
        if (c->mode == PREP_AREA) area_table_free(&c->area);
        free(c);
    }
    free(ds);
}

// ---- open -----------------------------------------------------------------------------------------

static idx_ctx *make_ctx(uint8_t *pixels, uint8_t *labels, int native, int S) {
    idx_ctx *c = ditc_xcalloc(1, sizeof *c);
    c->pixels = pixels;
    c->labels = labels;
    c->native = native;
    for (int v = 0; v < 256; v++) c->lut[v] = (float)v / 127.5f - 1.0f;
    if (S == native) {
        c->mode = PREP_COPY;
    } else if (S > native) {
        c->mode = PREP_PAD;
        c->pad = (S - native) / 2;
    } else {
        c->mode = PREP_AREA;
        area_table_init(&c->area, native, S);
    }
    return c;
}

int ditc_dataset_open_idx(ditc_dataset **out, const char *path, int image_size, ditc_status *st) {
    DITC_CHECK(out != NULL && path != NULL, "open_idx with NULL arguments");
    *out = NULL;
    ditc_status_ok(st);
    if (image_size < 0 || image_size > IDX_MAX_IMAGE_SIZE)
        return ditc_fail(st, DITC_ERR_ARG, "IDX data %s: image size %d (--image-size) must be in 0..%d (0 = native)",
                         path, image_size, IDX_MAX_IMAGE_SIZE);
    char *images_path, *labels_path;
    int rc = resolve_paths(path, &images_path, &labels_path, st);
    if (rc) return rc;
    uint8_t *pixels = NULL, *labels = NULL;
    int64_t n = 0;
    int native = 0, gzip = 0;
    rc = read_images(images_path, &pixels, &n, &native, &gzip, st);
    if (!rc) rc = read_labels(labels_path, images_path, n, &labels, st);
    if (rc) {
        free(pixels);
        free(images_path);
        free(labels_path);
        return rc;
    }
    int max_label = 0;
    for (int64_t i = 0; i < n; i++) max_label = labels[i] > max_label ? labels[i] : max_label;
    const int S = image_size ? image_size : native;

    ditc_dataset *ds = ditc_xcalloc(1, sizeof *ds);
    ds->n = n;
    ds->channels = 1;
    ds->side = S;
    ds->num_classes = max_label + 1; // labels are bytes, so at most 256 classes
    ds->get = idx_get;
    ds->destroy = idx_destroy;
    ds->ctx = make_ctx(pixels, labels, native, S);
    ds->get_u8 = ((idx_ctx *)ds->ctx)->mode == PREP_AREA ? NULL : idx_get_u8; // area averages are not bytes
    snprintf(ds->desc, sizeof ds->desc, "IDX %s%s: %lld images %dx%d -> 1x%dx%d (%s), %d classes", images_path,
             gzip ? " (gzip)" : "", (long long)n, native, native, S, S,
             S == native  ? "as is"
             : S > native ? "centre-padded with -1"
                          : "area-averaged",
             ds->num_classes);
    free(images_path);
    free(labels_path);
    *out = ds;
    return 0;
}
