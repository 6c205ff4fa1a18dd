// test_data.c — standalone tests for the data pipeline: the IDX reader (raw and gzip, directory and file
// forms, strict rejection of bad files with messages naming the file), preprocessing (value mapping,
// centre padding, exact area-average downscale against an independent supersampling reference), the
// synthetic source, batch assembly, the world-size-invariant data order and the torchvision-style PNG grid
// writer. Opens the real Fashion-MNIST when /usr/share/datasets/fashion-mnist exists.
// Exit status 0 on pass, 1 on failure.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "data_order.h"
#include "dataset.h"
#include "png_io.h"
#include "rng.h"

static char g_root[256]; // mkdtemp directory

#include "test_check.h"
#include "test_fs.h"

// ---- file helpers -----------------------------------------------------------------------------------

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

// Returns "<root>/<name>" in a static rotating buffer.
static const char *in_root(const char *name) {
    static char bufs[8][512];
    static int k = 0;
    char *b = bufs[k++ % 8];
    snprintf(b, 512, "%s/%s", g_root, name);
    return b;
}

static void make_dir(const char *path) {
    if (mkdir(path, 0755) != 0) {
        perror(path);
        exit(1);
    }
}

static void write_gz(const char *path, const void *data, size_t len) {
    gzFile gz = gzopen(path, "wb");
    if (!gz || (len && gzwrite(gz, data, (unsigned)len) != (int)len) || gzclose(gz) != Z_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static void write_file(const char *path, const void *data, size_t len, int gz) {
    if (gz) write_gz(path, data, len);
    else write_bytes(path, data, len);
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    *len = (size_t)n;
    return b;
}

// IDX images file bytes: magic, n, rows, cols (big-endian) + pixels. Caller frees.
static unsigned char *idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, const uint8_t *px,
                                 size_t npx, size_t *len) {
    *len = 16 + npx;
    unsigned char *b = malloc(*len);
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    if (npx) memcpy(b + 16, px, npx);
    return b;
}

static unsigned char *idx_labels(uint32_t magic, uint32_t n, const uint8_t *lab, size_t nlab, size_t *len) {
    *len = 8 + nlab;
    unsigned char *b = malloc(*len);
    put_be32(b, magic);
    put_be32(b + 4, n);
    if (nlab) memcpy(b + 8, lab, nlab);
    return b;
}

// Writes a consistent pair <dir>/<prefix>-{images-idx3,labels-idx1}-ubyte[.gz].
static void write_pair(const char *dir, const char *prefix, int gz, uint32_t n, uint32_t side, const uint8_t *px,
                       const uint8_t *lab) {
    char p[600];
    size_t len;
    unsigned char *b = idx_images(0x803, n, side, side, px, (size_t)n * side * side, &len);
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_file(p, b, len, gz);
    free(b);
    b = idx_labels(0x801, n, lab, n, &len);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_file(p, b, len, gz);
    free(b);
}

static int count_dir_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

// ---- IDX: loading and preprocessing ------------------------------------------------------------------

#define N_SMALL    5
#define SIDE_SMALL 4
static uint8_t g_px[N_SMALL * SIDE_SMALL * SIDE_SMALL];
static const uint8_t g_lab[N_SMALL] = {3, 0, 7, 3, 1}; // max 7 -> 8 classes

static void init_pixels(void) {
    for (int i = 0; i < N_SMALL * SIDE_SMALL * SIDE_SMALL; i++) g_px[i] = (uint8_t)((i * 37 + 11) % 256);
    g_px[0] = 0;
    g_px[1] = 255;
    g_px[2] = 51;
}

static float map_byte(int v) { return (float)v / 127.5f - 1.0f; }

static void test_idx_native(const char *dir, const char *what) {
    ditc_dataset *ds = NULL;
    ditc_status st;
    int rc = ditc_dataset_open_idx(&ds, dir, 0, &st);
    check(rc == 0 && ds, "%s: open (rc %d: %s)", what, rc, rc ? st.message : "ok");
    if (rc) return;
    check(ds->n == N_SMALL && ds->channels == 1 && ds->side == SIDE_SMALL && ds->num_classes == 8,
          "%s: n=%lld channels=%d side=%d classes=%d", what, (long long)ds->n, ds->channels, ds->side, ds->num_classes);
    check(strstr(ds->desc, "IDX") && strstr(ds->desc, "5 images"), "%s: desc \"%s\"", what, ds->desc);
    float img[SIDE_SMALL * SIDE_SMALL];
    int32_t label;
    int ok = 1;
    for (int i = 0; i < N_SMALL; i++) {
        ds->get(ds, i, img, &label, NULL);
        ok &= label == g_lab[i];
        for (int k = 0; k < SIDE_SMALL * SIDE_SMALL; k++) ok &= img[k] == map_byte(g_px[i * 16 + k]);
    }
    check(ok, "%s: every pixel is byte/127.5 - 1 and labels match", what);
    ds->get(ds, 0, img, &label, NULL);
    check(img[0] == -1.0f && img[1] == 1.0f && fabsf(img[2] - (51.0f / 127.5f - 1.0f)) < 1e-7f,
          "%s: 0 -> -1, 255 -> 1, 51 -> -0.6 (got %g %g %g)", what, img[0], img[1], img[2]);
    ditc_dataset_free(ds);
}

static void test_idx_load(void) {
    init_pixels();
    make_dir(in_root("raw"));
    write_pair(in_root("raw"), "train", 0, N_SMALL, SIDE_SMALL, g_px, g_lab);
    test_idx_native(in_root("raw"), "IDX raw directory");
    make_dir(in_root("gz"));
    write_pair(in_root("gz"), "train", 1, N_SMALL, SIDE_SMALL, g_px, g_lab);
    test_idx_native(in_root("gz"), "IDX gzip directory");
    test_idx_native(in_root("gz/train-images-idx3-ubyte.gz"), "IDX gzip images file");
    write_pair(in_root("raw"), "t10k", 0, N_SMALL, SIDE_SMALL, g_px, g_lab);
    test_idx_native(in_root("raw/t10k-images-idx3-ubyte"), "IDX raw t10k images file");
    // Mixed: raw images next to gzipped labels (the ".gz" fallback of the derived labels name).
    make_dir(in_root("mixed"));
    size_t len;
    unsigned char *b = idx_images(0x803, N_SMALL, SIDE_SMALL, SIDE_SMALL, g_px, sizeof g_px, &len);
    write_bytes(in_root("mixed/x-images-idx3-ubyte"), b, len);
    free(b);
    b = idx_labels(0x801, N_SMALL, g_lab, N_SMALL, &len);
    write_gz(in_root("mixed/x-labels-idx1-ubyte.gz"), b, len);
    free(b);
    test_idx_native(in_root("mixed/x-images-idx3-ubyte"), "IDX raw images + gzip labels");
}

static void test_idx_pad(int S) {
    ditc_dataset *ds = NULL;
    ditc_status st;
    int rc = ditc_dataset_open_idx(&ds, in_root("raw"), S, &st);
    check(rc == 0, "pad %d: open (%s)", S, rc ? st.message : "ok");
    if (rc) return;
    const int pad = (S - SIDE_SMALL) / 2;
    float *img = malloc(sizeof(float) * (size_t)S * S);
    int32_t label;
    int ok = ds->side == S && ds->channels == 1;
    for (int i = 0; i < N_SMALL; i++) {
        ds->get(ds, i, img, &label, NULL);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int sy = y - pad, sx = x - pad;
                float want = (sy >= 0 && sy < SIDE_SMALL && sx >= 0 && sx < SIDE_SMALL)
                                 ? map_byte(g_px[i * 16 + sy * SIDE_SMALL + sx])
                                 : -1.0f;
                ok &= img[y * S + x] == want;
            }
    }
    check(ok, "pad 4 -> %d: image at offset (%d, %d), canvas -1 elsewhere", S, pad, pad);
    free(img);
    ditc_dataset_free(ds);
}

// Independent reference for the area average: replicate every source pixel S x S times (an N*S grid), then
// average N x N blocks (each output pixel's footprint is exactly N x N cells of that grid).
static void area_reference(const uint8_t *src, int N, int S, double *out) {
    for (int oy = 0; oy < S; oy++)
        for (int ox = 0; ox < S; ox++) {
            double acc = 0;
            for (int v = oy * N; v < (oy + 1) * N; v++)
                for (int u = ox * N; u < (ox + 1) * N; u++) acc += src[(v / S) * N + (u / S)];
            out[oy * S + ox] = acc / ((double)N * N) / 127.5 - 1.0;
        }
}

static void test_idx_area(int N, int S, uint32_t seed) {
    char dir[64];
    snprintf(dir, sizeof dir, "area_%d_%d", N, S);
    make_dir(in_root(dir));
    uint8_t *px = malloc((size_t)2 * N * N);
    for (int i = 0; i < 2 * N * N; i++) px[i] = (uint8_t)(ditc_rng_uniform(seed, DITC_RNG_TEST, 0, (uint64_t)i) * 256);
    for (int i = 0; i < N * N; i++) px[N * N + i] = 255; // image 1: all white
    const uint8_t lab[2] = {0, 1};
    write_pair(in_root(dir), "train", 0, 2, (uint32_t)N, px, lab);
    ditc_dataset *ds = NULL;
    ditc_status st;
    int rc = ditc_dataset_open_idx(&ds, in_root(dir), S, &st);
    check(rc == 0 && ds->side == S, "area %d -> %d: open (%s)", N, S, rc ? st.message : "ok");
    if (rc) {
        free(px);
        return;
    }
    float *img = malloc(sizeof(float) * (size_t)S * S);
    double *ref = malloc(sizeof(double) * (size_t)S * S);
    int32_t label;
    ds->get(ds, 0, img, &label, NULL);
    area_reference(px, N, S, ref);
    double maxerr = 0;
    for (int k = 0; k < S * S; k++) maxerr = fmax(maxerr, fabs(img[k] - ref[k]));
    check(maxerr < 1e-6, "area %d -> %d: matches the supersampling reference (max err %.2g)", N, S, maxerr);
    ds->get(ds, 1, img, &label, NULL);
    int ok = 1;
    for (int k = 0; k < S * S; k++) ok &= img[k] == 1.0f;
    check(ok, "area %d -> %d: an all-255 image stays exactly 1", N, S);
    free(img);
    free(ref);
    free(px);
    ditc_dataset_free(ds);
}

// Hand-computed averages: 4x4 -> 2x2 (exact 2x2 blocks) and 3x3 -> 2x2 (footprints of 1.5 pixels).
static void test_idx_area_hand(void) {
    ditc_dataset *ds = NULL;
    ditc_status st;
    int rc = ditc_dataset_open_idx(&ds, in_root("raw"), 2, &st);
    check(rc == 0, "area 4 -> 2: open (%s)", rc ? st.message : "ok");
    if (!rc) {
        float img[4];
        int32_t label;
        ds->get(ds, 1, img, &label, NULL);
        const uint8_t *p = g_px + 16;
        int ok = 1;
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 2; ox++) {
                int y = 2 * oy, x = 2 * ox;
                double mean = (p[y * 4 + x] + p[y * 4 + x + 1] + p[(y + 1) * 4 + x] + p[(y + 1) * 4 + x + 1]) / 4.0;
                ok &= fabs(img[oy * 2 + ox] - (mean / 127.5 - 1.0)) < 1e-6;
            }
        check(ok, "area 4 -> 2: each output is the mean of its 2x2 block");
        ditc_dataset_free(ds);
    }
    // 3x3 -> 2x2: output (0,0) covers rows/cols [0, 1.5): weights 1 and 0.5 per axis, divided by 1.5^2.
    make_dir(in_root("area_hand"));
    const uint8_t px[9] = {0, 90, 255, 30, 120, 60, 200, 10, 40}, lab[1] = {0};
    write_pair(in_root("area_hand"), "train", 0, 1, 3, px, lab);
    rc = ditc_dataset_open_idx(&ds, in_root("area_hand"), 2, &st);
    check(rc == 0, "area 3 -> 2: open (%s)", rc ? st.message : "ok");
    if (rc) return;
    float img[4];
    int32_t label;
    ds->get(ds, 0, img, &label, NULL);
    const double w[2][3] = {{1.0, 0.5, 0.0}, {0.0, 0.5, 1.0}};
    int ok = 1;
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 2; ox++) {
            double acc = 0;
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++) acc += w[oy][y] * w[ox][x] * px[y * 3 + x];
            ok &= fabs(img[oy * 2 + ox] - (acc / 2.25 / 127.5 - 1.0)) < 1e-6;
        }
    // e.g. (0,0) = (0 + 0.5*90 + 0.5*30 + 0.25*120) / 2.25 = 40 -> 40/127.5 - 1
    check(ok && fabs(img[0] - (40.0 / 127.5 - 1.0)) < 1e-6, "area 3 -> 2: fractional coverage weights (got %.6f)",
          img[0]);
    ditc_dataset_free(ds);
}

// ---- IDX: bad inputs ---------------------------------------------------------------------------------

// Opens `path` expecting failure with a message containing `name` (and `must`, if given).
static void expect_fail(const char *what, const char *path, int S, const char *name, const char *must) {
    ditc_dataset *ds = NULL;
    ditc_status st;
    int rc = ditc_dataset_open_idx(&ds, path, S, &st);
    int ok = rc != 0 && ds == NULL && strstr(st.message, name) != NULL && (!must || strstr(st.message, must));
    check(ok, "reject %s: %s", what, rc ? st.message : "(accepted!)");
    ditc_dataset_free(ds);
}

// Writes a bad images file (and good labels for `nlab` samples) into a fresh directory; returns the dir.
static const char *bad_case(const char *dir, const unsigned char *img, size_t img_len, uint32_t nlab, int gz) {
    make_dir(in_root(dir));
    char p[600];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", in_root(dir), gz ? ".gz" : "");
    write_file(p, img, img_len, gz);
    uint8_t lab[64] = {0};
    size_t len;
    unsigned char *b = idx_labels(0x801, nlab, lab, nlab, &len);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte%s", in_root(dir), gz ? ".gz" : "");
    write_file(p, b, len, gz);
    free(b);
    return in_root(dir);
}

static void test_idx_bad(void) {
    uint8_t px[4 * 16] = {0};
    size_t len;
    unsigned char *b;
    char name[600];

    expect_fail("missing path", in_root("nope"), 0, "nope", NULL);
    make_dir(in_root("empty"));
    expect_fail("directory without the images file", in_root("empty"), 0, "empty", "train-images-idx3-ubyte");
    make_dir(in_root("nolabels"));
    b = idx_images(0x803, 4, 4, 4, px, sizeof px, &len);
    write_bytes(in_root("nolabels/train-images-idx3-ubyte"), b, len);
    free(b);
    expect_fail("directory without the labels file", in_root("nolabels"), 0, "nolabels", "train-labels-idx1-ubyte");
    expect_fail("images file without its labels file", in_root("nolabels/train-images-idx3-ubyte"), 0,
                "train-labels-idx1-ubyte", NULL);
    write_bytes(in_root("odd-name.bin"), px, 16);
    expect_fail("images file name without images-idx3", in_root("odd-name.bin"), 0, "odd-name.bin", NULL);
    expect_fail("negative image size", in_root("raw"), -3, "raw", "image size");

    for (int gz = 0; gz <= 1; gz++) {
        const char *sfx = gz ? "_gz" : "";
        char dir[64];
        snprintf(name, sizeof name, "train-images-idx3-ubyte%s", gz ? ".gz" : "");
        const char *lname = gz ? "train-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte";

        b = idx_images(0x804, 4, 4, 4, px, sizeof px, &len);
        snprintf(dir, sizeof dir, "badmagic%s", sfx);
        expect_fail("wrong images magic", bad_case(dir, b, len, 4, gz), 0, name, "magic");
        free(b);

        b = idx_images(0x03080000, 4, 4, 4, px, sizeof px, &len);
        snprintf(dir, sizeof dir, "swapped%s", sfx);
        expect_fail("little-endian images magic", bad_case(dir, b, len, 4, gz), 0, name, "magic");
        free(b);

        b = idx_images(0x803, 0, 4, 4, px, 0, &len);
        snprintf(dir, sizeof dir, "zero_n%s", sfx);
        expect_fail("zero images", bad_case(dir, b, len, 4, gz), 0, name, NULL);
        free(b);

        b = idx_images(0x803, 4, 0, 4, px, 0, &len);
        snprintf(dir, sizeof dir, "zero_rows%s", sfx);
        expect_fail("zero rows", bad_case(dir, b, len, 4, gz), 0, name, NULL);
        free(b);

        b = idx_images(0x803, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, px, sizeof px, &len);
        snprintf(dir, sizeof dir, "absurd%s", sfx);
        expect_fail("absurd sizes (2^96 bytes)", bad_case(dir, b, len, 4, gz), 0, name, "2^31");
        free(b);

        b = idx_images(0x803, 2000000, 32, 34, px, sizeof px, &len);
        snprintf(dir, sizeof dir, "toobig%s", sfx);
        expect_fail("n*rows*cols > 2^31", bad_case(dir, b, len, 4, gz), 0, name, "2^31");
        free(b);

        b = idx_images(0x803, 4, 4, 4, px, sizeof px - 5, &len);
        snprintf(dir, sizeof dir, "trunc%s", sfx);
        expect_fail("truncated image data", bad_case(dir, b, len, 4, gz), 0, name, "truncated");
        free(b);

        b = idx_images(0x803, 4, 4, 4, px, 0, &len);
        snprintf(dir, sizeof dir, "trunc_hdr%s", sfx);
        expect_fail("truncated header", bad_case(dir, b, 10, 4, gz), 0, name, "truncated");
        free(b);

        b = idx_images(0x803, 3, 4, 4, px, 48, &len);
        snprintf(dir, sizeof dir, "mismatch%s", sfx);
        expect_fail("image/label count mismatch", bad_case(dir, b, len, 4, gz), 0, lname, name);
        free(b);

        b = idx_images(0x803, 4, 4, 4, px, sizeof px, &len);
        b = realloc(b, len + 3);
        memset(b + len, 0, 3);
        snprintf(dir, sizeof dir, "trailing%s", sfx);
        expect_fail("trailing bytes after the images", bad_case(dir, b, len + 3, 4, gz), 0, name, "extra");
        free(b);

        b = idx_images(0x803, 4, 4, 2, px, 32, &len);
        snprintf(dir, sizeof dir, "nonsquare%s", sfx);
        expect_fail("non-square images", bad_case(dir, b, len, 4, gz), 0, name, "square");
        free(b);

        // Labels with a wrong magic / truncated labels (good images).
        b = idx_images(0x803, 4, 4, 4, px, sizeof px, &len);
        snprintf(dir, sizeof dir, "labmagic%s", sfx);
        const char *d = bad_case(dir, b, len, 4, gz);
        free(b);
        uint8_t lab[4] = {0};
        b = idx_labels(0x803, 4, lab, 4, &len); // an images magic in the labels file
        char lp[600];
        snprintf(lp, sizeof lp, "%s/%s", d, lname);
        write_file(lp, b, len, gz);
        free(b);
        expect_fail("wrong labels magic", d, 0, lname, "magic");

        b = idx_images(0x803, 4, 4, 4, px, sizeof px, &len);
        snprintf(dir, sizeof dir, "labtrunc%s", sfx);
        d = bad_case(dir, b, len, 4, gz);
        free(b);
        b = idx_labels(0x801, 4, lab, 2, &len);
        snprintf(lp, sizeof lp, "%s/%s", d, lname);
        write_file(lp, b, len, gz);
        free(b);
        expect_fail("truncated labels", d, 0, lname, "truncated");
    }

    // Damaged gzip streams: cut in the middle, and a flipped byte in the compressed data / CRC.
    make_dir(in_root("gzcut"));
    size_t glen;
    unsigned char *g = read_all(in_root("gz/train-images-idx3-ubyte.gz"), &glen);
    write_bytes(in_root("gzcut/train-images-idx3-ubyte.gz"), g, glen / 2);
    unsigned char *l = read_all(in_root("gz/train-labels-idx1-ubyte.gz"), &len);
    write_bytes(in_root("gzcut/train-labels-idx1-ubyte.gz"), l, len);
    expect_fail("gzip stream cut in half", in_root("gzcut"), 0, "train-images-idx3-ubyte.gz", NULL);
    make_dir(in_root("gzcrc"));
    g[glen - 6] ^= 0x55; // inside the CRC32 trailer
    write_bytes(in_root("gzcrc/train-images-idx3-ubyte.gz"), g, glen);
    write_bytes(in_root("gzcrc/train-labels-idx1-ubyte.gz"), l, len);
    expect_fail("gzip CRC mismatch", in_root("gzcrc"), 0, "train-images-idx3-ubyte.gz", NULL);
    make_dir(in_root("gzdata"));
    g[glen - 6] ^= 0x55;
    g[12] ^= 0xFF; // inside the deflate data
    write_bytes(in_root("gzdata/train-images-idx3-ubyte.gz"), g, glen);
    write_bytes(in_root("gzdata/train-labels-idx1-ubyte.gz"), l, len);
    expect_fail("corrupt deflate data", in_root("gzdata"), 0, "train-images-idx3-ubyte.gz", NULL);
    free(g);
    free(l);
}

// ---- synthetic + batch -------------------------------------------------------------------------------

static void test_synthetic(void) {
    const int C = 3, S = 8, K = 4;
    const size_t per = (size_t)C * S * S;
    ditc_dataset *a = ditc_dataset_synthetic(50, C, S, K, 1234), *b = ditc_dataset_synthetic(50, C, S, K, 1234);
    ditc_dataset *c = ditc_dataset_synthetic(50, C, S, K, 999);
    float *x = malloc(sizeof(float) * per), *y = malloc(sizeof(float) * per), *z = malloc(sizeof(float) * per);
    int32_t la, lb, lc;
    int same = 1, in_range = 1, labels_ok = 1, differs_seed = 0, differs_sample = 0;
    for (int64_t i = 0; i < 50; i++) {
        a->get(a, i, x, &la, NULL);
        b->get(b, i, y, &lb, NULL);
        c->get(c, i, z, &lc, NULL);
        same &= memcmp(x, y, sizeof(float) * per) == 0 && la == lb;
        labels_ok &= la == (int32_t)(i % K) && lc == la;
        for (size_t k = 0; k < per; k++) in_range &= x[k] >= -1.0f && x[k] <= 1.0f;
        differs_seed |= memcmp(x, z, sizeof(float) * per) != 0;
        float w[3 * 8 * 8];
        int32_t lw;
        a->get(a, (i + 1) % 50, w, &lw, NULL);
        differs_sample |= memcmp(x, w, sizeof w) != 0;
    }
    check(same, "synthetic: same (seed, i) gives identical samples");
    check(labels_ok, "synthetic: label = i %% num_classes");
    check(in_range, "synthetic: values in [-1, 1]");
    check(differs_seed && differs_sample, "synthetic: differs across seeds and samples");
    check(a->n == 50 && a->channels == C && a->side == S && a->num_classes == K, "synthetic: shape fields (%s)",
          a->desc);

    // Batch assembly equals per-sample get, in order, including repeated indices.
    const int64_t idx[6] = {7, 0, 49, 7, 13, 22};
    float *bx = malloc(sizeof(float) * per * 6);
    int32_t by[6];
    ditc_dataset_batch(a, idx, 6, bx, by, NULL);
    int ok = 1;
    for (int j = 0; j < 6; j++) {
        a->get(a, idx[j], x, &la, NULL);
        ok &= memcmp(bx + per * j, x, sizeof(float) * per) == 0 && by[j] == la;
    }
    check(ok, "dataset_batch: matches per-sample get (OpenMP-parallel, deterministic)");
    free(bx);
    free(x);
    free(y);
    free(z);
    ditc_dataset_free(a);
    ditc_dataset_free(b);
    ditc_dataset_free(c);
}

// ---- data order ----------------------------------------------------------------------------------------

static int is_permutation(const int64_t *p, int64_t n) {
    char *seen = calloc((size_t)n, 1);
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        ok = p[i] >= 0 && p[i] < n && !seen[p[i]];
        if (ok) seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_sampler(void) {
    const int64_t n = 103, B = 8;
    ditc_data_order s;
    ditc_status st;
    int rc = ditc_data_order_init(&s, n, B, 42, &st);
    check(rc == 0, "data order: init n=103 B=8");
    check(ditc_data_order_steps_per_epoch(&s) == 12, "data order: steps_per_epoch = floor(103/8) = 12 (drop-last)");

    int64_t idx[8], pos[8], ref[8], refpos[8];
    int64_t *e0 = malloc(sizeof(int64_t) * n), *e1 = malloc(sizeof(int64_t) * n);
    ditc_data_order_indices(&s, 0, 0, 0, 1, idx, pos);
    memcpy(e0, s.perm, sizeof(int64_t) * n);
    ditc_data_order_indices(&s, 1, 0, 0, 1, idx, pos);
    memcpy(e1, s.perm, sizeof(int64_t) * n);
    check(is_permutation(e0, n) && is_permutation(e1, n), "data order: epoch permutations are permutations of 0..n-1");
    check(memcmp(e0, e1, sizeof(int64_t) * n) != 0, "data order: epochs 0 and 1 are shuffled differently");
    int64_t *direct = malloc(sizeof(int64_t) * n);
    ditc_rng_permutation(direct, n, 42, DITC_RNG_SHUFFLE, 1);
    check(memcmp(direct, e1, sizeof(int64_t) * n) == 0,
          "data order: permutation = ditc_rng_permutation(seed, SHUFFLE, epoch)");

    // One epoch's steps visit distinct samples; steps are consecutive slices of the permutation.
    char *seen = calloc((size_t)n, 1);
    int distinct = 1, slices = 1;
    for (int64_t step = 0; step < 12; step++) {
        ditc_data_order_indices(&s, 3, step, 0, 1, idx, pos);
        for (int j = 0; j < 8; j++) {
            distinct &= !seen[idx[j]];
            seen[idx[j]] = 1;
            slices &= idx[j] == s.perm[step * 8 + j] && pos[j] == j;
        }
    }
    check(distinct && slices, "data order: steps of an epoch are disjoint consecutive slices, pos = 0..B-1");
    free(seen);

    // World-size invariance: ranks of W = 1, 2, 4 partition the W = 1 batch, with matching positions.
    int inv = 1;
    const int worlds[3] = {1, 2, 4};
    for (int64_t epoch = 0; epoch < 3; epoch++)
        for (int64_t step = 0; step < 12; step += 5) {
            ditc_data_order_indices(&s, epoch, step, 0, 1, ref, refpos);
            for (int wi = 0; wi < 3; wi++) {
                const int W = worlds[wi];
                int covered[8] = {0};
                for (int r = 0; r < W; r++) {
                    ditc_data_order_indices(&s, epoch, step, r, W, idx, pos);
                    for (int j = 0; j < 8 / W; j++) {
                        inv &= pos[j] >= 0 && pos[j] < 8 && idx[j] == ref[pos[j]] && pos[j] == r + j * W;
                        if (pos[j] >= 0 && pos[j] < 8) covered[pos[j]]++;
                    }
                }
                for (int p = 0; p < 8; p++) inv &= covered[p] == 1;
            }
        }
    check(inv, "data order: union over ranks (W = 1, 2, 4) equals the W = 1 batch, pos[] matches");

    // Resume: a fresh sampler reproduces the same step.
    ditc_data_order s2;
    ditc_data_order_init(&s2, n, B, 42, &st);
    ditc_data_order_indices(&s, 2, 7, 1, 2, ref, refpos);
    ditc_data_order_indices(&s2, 2, 7, 1, 2, idx, pos);
    check(memcmp(ref, idx, sizeof(int64_t) * 4) == 0 && memcmp(refpos, pos, sizeof(int64_t) * 4) == 0,
          "data order: a fresh sampler reproduces any (epoch, step, rank)");
    ditc_data_order_free(&s2);
    ditc_data_order_free(&s);

    rc = ditc_data_order_init(&s, n, 0, 42, &st);
    check(rc != 0 && strstr(st.message, "--global-batch-size"), "data order: batch 0 rejected (%s)", st.message);
    ditc_data_order_free(&s);
    rc = ditc_data_order_init(&s, n, 104, 42, &st);
    check(rc != 0 && strstr(st.message, "--global-batch-size"), "data order: batch > n rejected (%s)", st.message);
    ditc_data_order_free(&s);
    rc = ditc_data_order_init(&s, n, n, 42, &st);
    check(rc == 0 && ditc_data_order_steps_per_epoch(&s) == 1, "data order: batch = n gives 1 step");
    ditc_data_order_free(&s);
    free(e0);
    free(e1);
    free(direct);
}

// ---- PNG --------------------------------------------------------------------------------------------

static const unsigned char *px_at(const unsigned char *rgb, int w, int x, int y) {
    return rgb + ((size_t)y * w + x) * 3;
}

static void test_png_gray_grid(void) {
    // 5 single-channel 3x4 images, nrow 2 -> 2 columns x 3 rows, 14 x 17 canvas.
    const int n = 5, h = 3, w = 4;
    float imgs[5 * 3 * 4];
    const float vals[6] = {-1.0f, 1.0f, 0.0f, -2.0f, 2.0f, 0.5f};
    for (int k = 0; k < n * h * w; k++) imgs[k] = vals[k % 6];
    const char *path = in_root("png/grid.png");
    ditc_status st;
    int rc = ditc_png_write_grid(path, imgs, n, 1, h, w, 2, &st);
    check(rc == 0, "png: write gray grid (%s)", rc ? st.message : "ok");
    unsigned char *rgb = NULL;
    int W = 0, H = 0;
    rc = ditc_png_read_rgb(path, &rgb, &W, &H, &st);
    check(rc == 0 && W == 2 * (w + 2) + 2 && H == 3 * (h + 2) + 2, "png: grid is %dx%d (want 14x17)", W, H);
    if (rc) return;
    int border = 1;
    for (int x = 0; x < W; x++)
        border &= !px_at(rgb, W, x, 0)[0] && !px_at(rgb, W, x, 1)[1] && !px_at(rgb, W, x, H - 1)[2];
    for (int y = 0; y < H; y++)
        border &= !px_at(rgb, W, 0, y)[0] && !px_at(rgb, W, 7, y)[0] && !px_at(rgb, W, W - 1, y)[2];
    check(border, "png: padding (outer edge and between cells) is 0");
    // Image k at cell (k / 2, k % 2), top-left (2 + col*6, 2 + row*5); gray replicated to R = G = B.
    const unsigned char want[6] = {0, 255, 128, 0, 255, 191};
    int values = 1;
    for (int k = 0; k < n; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const unsigned char *p = px_at(rgb, W, 2 + (k % 2) * 6 + x, 2 + (k / 2) * 5 + y);
                unsigned char e = want[(k * h * w + y * w + x) % 6];
                values &= p[0] == e && p[1] == e && p[2] == e;
            }
    check(values, "png: -1 -> 0, 1 -> 255, 0 -> 128, -2 -> 0, 2 -> 255, 0.5 -> 191, R = G = B");
    int unused = 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) unused &= px_at(rgb, W, 2 + 6 + x, 2 + 10 + y)[0] == 0;
    check(unused, "png: the unused last cell stays 0");
    free(rgb);
    check(count_dir_entries(in_root("png")) == 1, "png: no temporary file left behind");
}

static void test_png_rgb_and_shapes(void) {
    // Two RGB 2x2 images with distinct channels; nrow 8 > n -> xmaps = min(nrow, n) = 2 columns.
    float imgs[2 * 3 * 4];
    for (int k = 0; k < 2; k++)
        for (int ch = 0; ch < 3; ch++)
            for (int j = 0; j < 4; j++) imgs[(k * 3 + ch) * 4 + j] = ch == 0 ? -1.0f : ch == 1 ? 1.0f : 0.0f;
    ditc_status st;
    int rc = ditc_png_write_grid(in_root("png/rgb.png"), imgs, 2, 3, 2, 2, 8, &st);
    unsigned char *rgb = NULL;
    int W = 0, H = 0;
    if (!rc) rc = ditc_png_read_rgb(in_root("png/rgb.png"), &rgb, &W, &H, &st);
    check(rc == 0 && W == 2 * 4 + 2 && H == 1 * 4 + 2, "png: RGB, nrow > n -> %d columns: %dx%d (want 10x6)", 2, W, H);
    if (!rc) {
        const unsigned char *p = px_at(rgb, W, 2 + 4 + 1, 2 + 1);
        check(p[0] == 0 && p[1] == 255 && p[2] == 128, "png: RGB channels kept (got %d %d %d)", p[0], p[1], p[2]);
    }
    free(rgb);
    rgb = NULL;
    // A single image is written alone, unpadded (make_grid returns it as is).
    rc = ditc_png_write_grid(in_root("png/one.png"), imgs, 1, 3, 2, 2, 8, &st);
    if (!rc) rc = ditc_png_read_rgb(in_root("png/one.png"), &rgb, &W, &H, &st);
    check(rc == 0 && W == 2 && H == 2 && rgb[0] == 0 && rgb[1] == 255 && rgb[2] == 128,
          "png: n = 1 gives the bare 2x2 image (got %dx%d)", W, H);
    free(rgb);
    rc = ditc_png_write_grid(in_root("png/missing-dir/x.png"), imgs, 2, 3, 2, 2, 8, &st);
    check(rc != 0 && strstr(st.message, "missing-dir/x.png"), "png: unwritable path rejected (%s)", st.message);
    rc = ditc_png_read_rgb(in_root("png/missing.png"), &rgb, &W, &H, &st);
    check(rc != 0 && rgb == NULL && strstr(st.message, "missing.png"), "png: unreadable file rejected (%s)",
          st.message);
    write_bytes(in_root("png/fake.png"), "not a png", 9);
    rc = ditc_png_read_rgb(in_root("png/fake.png"), &rgb, &W, &H, &st);
    check(rc != 0 && strstr(st.message, "fake.png"), "png: non-PNG rejected (%s)", st.message);
}

// ---- real Fashion-MNIST ------------------------------------------------------------------------------

static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("[SKIP] %s not present\n", dir);
        return;
    }
    ditc_dataset *ds = NULL;
    ditc_status st;
    int rc = ditc_dataset_open_idx(&ds, dir, 32, &st);
    check(rc == 0, "fashion-mnist: open train (%s)", rc ? st.message : ds->desc);
    if (rc) return;
    check(ds->n == 60000 && ds->num_classes == 10 && ds->channels == 1 && ds->side == 32,
          "fashion-mnist: n=%lld classes=%d -> 1x%dx%d", (long long)ds->n, ds->num_classes, ds->side, ds->side);
    float img[32 * 32];
    int32_t label;
    int ok = 1, counts[10] = {0};
    for (int64_t i = 0; i < ds->n; i += 97) {
        ds->get(ds, i, img, &label, NULL);
        ok &= label >= 0 && label < 10;
        if (label >= 0 && label < 10) counts[label]++;
        for (int k = 0; k < 32; k++) ok &= img[k] == -1.0f && img[32 * k] == -1.0f && img[32 * 31 + k] == -1.0f;
        for (int k = 0; k < 32 * 32; k++) ok &= img[k] >= -1.0f && img[k] <= 1.0f;
    }
    int all = 1;
    for (int c = 0; c < 10; c++) all &= counts[c] > 0;
    check(ok && all, "fashion-mnist: labels in 0..9 (all seen), 2-pixel -1 border at 32, values in [-1, 1]");
    ditc_dataset_free(ds);
    char p[256];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir);
    rc = ditc_dataset_open_idx(&ds, p, 0, &st);
    check(rc == 0 && ds->n == 10000 && ds->side == 28, "fashion-mnist: t10k file form (%s)",
          rc ? st.message : ds->desc);
    ditc_dataset_free(ds);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/ditc_test_data_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_idx_load();
    test_idx_pad(7);
    test_idx_pad(8);
    test_idx_area_hand();
    test_idx_area(7, 3, 1);
    test_idx_area(28, 16, 2);
    test_idx_area(28, 14, 3);
    test_idx_area(29, 28, 4);
    test_idx_bad();
    test_synthetic();
    test_sampler();
    make_dir(in_root("png"));
    test_png_gray_grid();
    test_png_rgb_and_shapes();
    test_fashion_mnist();
    rm_tree(g_root);
    return check_summary("test_data");
}
