// test_sources.c — the file-backed data sources of the data pipeline, on trees built in a mkdtemp
// directory: ImageFolder (torchvision's class and file order incl. nested directories, symlinks, hidden
// entries and the extension filter; labels; errors naming the path; --skip-bad-images replacement and the
// bad-file counter under threads), CIFAR-10 binary (exact pixels and labels, train/test, parent or batches
// directory, wrong size and bad label errors, the center_crop_arr path), shards (extract -> open_shards gives
// identical bytes and labels for CIFAR-10, ImageFolder and IDX sources; a corrupt index, a missing shard, a
// wrong shape/dtype/label each rejected naming the file), `ditc extract` argument errors, and ditc_dataset_open
// auto-detection of every kind.
//
// The ImageFolder files are PNGs of side S written with libpng, so get_u8 (center_crop_arr of an S×S image
// = the image itself) checks the plumbing without depending on JPEG; decoding itself is tested elsewhere.
// The expected ImageFolder order was produced by torchvision's algorithm (sorted scandir + sorted(os.walk))
// on the same tree. Exit status 0 on pass, 1 on failure.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <png.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "dataset.h"
#include "extract.h"
#include "image.h"
#include "safetensors.h"
#include "shards.h"

#include "test_check.h"
#include "test_fs.h"

static char g_root[256];

// ---- file helpers -------------------------------------------------------------------------------------

static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...) { // "<root>/<fmt...>" in a rotating static buffer
    static char bufs[16][1024];
    static int k;
    char *b = bufs[k++ % 16];
    int n = snprintf(b, 1024, "%s/", g_root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, (size_t)(1024 - n), fmt, ap);
    va_end(ap);
    return b;
}

static void mk(const char *path) {
    if (mkdir(path, 0755) != 0) {
        perror(path);
        exit(1);
    }
}

static void touch(const char *path) { write_bytes(path, "", 0); }

static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) exit(1);
    b[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    char *b = read_text(from, &n);
    write_bytes(to, b, n);
    free(b);
}

// Copies the regular files of directory `from` into a new directory `to`.
static void copy_dir(const char *from, const char *to) {
    mk(to);
    DIR *d = opendir(from);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        copy_file(a, b);
    }
    if (d) closedir(d);
}

// Replaces the first occurrence of `from` by `to` in the text file at path; 0 if not found.
static int edit_file(const char *path, const char *from, const char *to) {
    char *s = read_text(path, NULL);
    char *hit = strstr(s, from);
    if (!hit) {
        free(s);
        return 0;
    }
    size_t n = strlen(s), nf = strlen(from), nt = strlen(to);
    char *o = malloc(n - nf + nt + 1);
    memcpy(o, s, (size_t)(hit - s));
    memcpy(o + (hit - s), to, nt);
    memcpy(o + (hit - s) + nt, hit + nf, n - (size_t)(hit - s) - nf + 1);
    write_bytes(path, o, strlen(o));
    free(o);
    free(s);
    return 1;
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

// ---- PNG images with an identity pattern --------------------------------------------------------------

#define S_IMG 4

static uint8_t pat(int id, int k) { return (uint8_t)(id * 37 + k * 11 + (k >> 3) + 5); } // k: HWC index

// A side x side RGB PNG whose pixels encode `id`.
static void write_png(const char *path, int id, int side) {
    size_t n = (size_t)side * side * 3;
    uint8_t *px = malloc(n);
    for (size_t k = 0; k < n; k++) px[k] = pat(id, (int)k);
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)side;
    im.height = (png_uint_32)side;
    im.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&im, path, 0, px, 0, NULL)) {
        fprintf(stderr, "cannot write PNG %s: %s\n", path, im.message);
        exit(1);
    }
    free(px);
}

// 1 if u (CHW, side S_IMG) holds the pattern of `id`.
static int is_pattern(const uint8_t *u, int id) {
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < S_IMG * S_IMG; p++)
            if (u[c * S_IMG * S_IMG + p] != pat(id, p * 3 + c)) return 0;
    return 1;
}

// ---- ImageFolder ----------------------------------------------------------------------------------------

// The tree and torchvision's order (computed with torchvision's algorithm on the same tree):
static const char *const k_order[] = {
    ".cache/c.bmp",      "Dog/a.png",      "bird/b1.png",   "cat/.hidden.png", "cat/B.png",           "cat/Y.TIFF",
    "cat/img10.png",     "cat/img2.png",   "cat/photo.JPG", "cat/sub.png",     "cat/w.webp",          "cat/x.jpeg",
    "cat/dir.png/q.png", "cat/link/e.png", "cat/sub/x.png", "cat/sub-a/y.png", "cat/sub/deeper/z.png"};
static const int k_labels[] = {0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
#define N_ORDER ((int)(sizeof k_order / sizeof *k_order))

static void build_order_tree(void) {
    mk(P("if"));
    mk(P("if/R"));
    const char *dirs[] = {"R/cat", "R/cat/sub", "R/cat/sub/deeper", "R/cat/sub-a", "R/cat/dir.png", "R/Dog",
                          "extra", "R2",        "R2/birds",         "R/.cache"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) mk(P("if/%s", dirs[i]));
    // ignored: files at the root, files without an image extension, hidden non-images
    const char *ignored[] = {"R/notes.txt",     "R/.DS_Store", "R/cat/notes.txt",
                             "R/cat/.DS_Store", "R/cat/noext", "R/cat/x.png.bak"};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) touch(P("if/%s", ignored[i]));
    if (symlink("../../extra", P("if/R/cat/link")) || symlink("../R2/birds", P("if/R/bird"))) {
        perror("symlink");
        exit(1);
    }
    // kept files, written in a scrambled order; each holds the pattern of its index in k_order
    for (int i = N_ORDER - 1; i >= 0; i--) {
        const char *rel = k_order[i];
        char real[512];
        if (!strncmp(rel, "cat/link/", 9)) snprintf(real, sizeof real, "extra/%s", rel + 9);
        else if (!strncmp(rel, "bird/", 5)) snprintf(real, sizeof real, "R2/birds/%s", rel + 5);
        else snprintf(real, sizeof real, "R/%s", rel);
        write_png(P("if/%s", real), i, S_IMG);
    }
}

static void test_imagefolder_order(void) {
    build_order_tree();
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    int rc = ditc_dataset_open_imagefolder(&ds, P("if/R"), S_IMG, 0, &st);
    if (!check(rc == 0, "ImageFolder opens (%s)", rc ? st.message : ds->desc)) return;
    check(ds->n == N_ORDER && ds->num_classes == 4 && ds->channels == 3 && ds->side == S_IMG,
          "ImageFolder: %lld files in %d classes, 3x%dx%d (expected %d files, 4 classes)", (long long)ds->n,
          ds->num_classes, ds->side, ds->side, N_ORDER);
    const char *cls[] = {".cache", "Dog", "bird", "cat"};
    int ok = 1;
    for (int k = 0; k < 4; k++)
        ok &= ditc_imagefolder_class_name(ds, k) && !strcmp(ditc_imagefolder_class_name(ds, k), cls[k]);
    check(ok, "classes sorted byte-wise incl. hidden and symlinked directories: .cache, Dog, bird, cat");
    ok = ds->n == N_ORDER;
    for (int i = 0; ok && i < N_ORDER; i++) {
        int32_t lab = -1;
        const char *rel = ditc_imagefolder_relpath(ds, i, &lab);
        if (!rel || strcmp(rel, k_order[i]) || lab != k_labels[i]) {
            printf("  sample %d: %s (label %d), expected %s (label %d)\n", i, rel ? rel : "(null)", lab, k_order[i],
                   k_labels[i]);
            ok = 0;
        }
    }
    check(ok, "files in torchvision order (sorted(os.walk(followlinks=True)) + sorted names; .JPG/.TIFF kept, "
              ".txt/.bak/.DS_Store/no extension ignored, directory 'dir.png' walked) with class-index labels");
    // every sample decodes to its own file's pixels
    uint8_t u[3 * S_IMG * S_IMG];
    ok = 1;
    for (int i = 0; i < N_ORDER && i < ds->n; i++) {
        int32_t lab = -1;
        ditc_status s2 = {0};
        if (ds->get_u8(ds, i, u, &lab, &s2) || !is_pattern(u, i) || lab != k_labels[i]) {
            printf("  get_u8(%d): %s\n", i, s2.message);
            ok = 0;
        }
    }
    check(ok, "get_u8(i) = the pixels of file i (CHW) and its label, for all %d samples", N_ORDER);
    // batch (OpenMP) = per-sample u8 / 127.5 - 1
    int64_t idx[N_ORDER];
    for (int i = 0; i < N_ORDER; i++) idx[i] = N_ORDER - 1 - i;
    float *x = malloc(sizeof(float) * N_ORDER * 3 * S_IMG * S_IMG);
    int32_t y[N_ORDER];
    rc = ditc_dataset_batch(ds, idx, N_ORDER, x, y, &st);
    ok = rc == 0;
    for (int b = 0; ok && b < N_ORDER; b++) {
        int32_t lab;
        ds->get_u8(ds, idx[b], u, &lab, NULL);
        for (int k = 0; k < 3 * S_IMG * S_IMG; k++)
            ok &= x[(size_t)b * 3 * S_IMG * S_IMG + k] == (float)u[k] / 127.5f - 1.0f;
        ok &= y[b] == lab;
    }
    check(ok, "ditc_dataset_batch (threads) = get_u8 / 127.5 - 1 with the labels");
    free(x);
    check(ditc_dataset_bad_count(ds, NULL, 0) == 0, "no bad files counted");
    ditc_dataset_free(ds);

    // a symlink cycle is not followed again
    mk(P("loop"));
    mk(P("loop/c"));
    mk(P("loop/c/sub"));
    write_png(P("loop/c/a.png"), 0, S_IMG);
    write_png(P("loop/c/sub/b.png"), 1, S_IMG);
    if (symlink("..", P("loop/c/sub/up"))) perror("symlink");
    rc = ditc_dataset_open_imagefolder(&ds, P("loop"), S_IMG, 0, &st);
    check(rc == 0 && ds->n == 2, "a symlink back to an ancestor is not walked again (%lld files)",
          rc ? -1LL : (long long)ds->n);
    if (!rc) ditc_dataset_free(ds);
}

static void expect_open_error(const char *label, int rc, const ditc_status *st, const char *must1, const char *must2) {
    int ok = rc != 0 && contains(st->message, must1) && (!must2 || contains(st->message, must2));
    check(ok, "%s -> error naming '%s'%s%s: %s", label, must1, must2 ? " and " : "", must2 ? must2 : "", st->message);
}

static void test_imagefolder_errors(void) {
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    int rc = ditc_dataset_open_imagefolder(&ds, P("nonexistent"), 8, 0, &st);
    expect_open_error("ImageFolder missing root", rc, &st, P("nonexistent"), "No such file or directory");
    write_png(P("afile.png"), 0, 4);
    rc = ditc_dataset_open_imagefolder(&ds, P("afile.png"), 8, 0, &st);
    expect_open_error("ImageFolder root is a file", rc, &st, P("afile.png"), "not a directory");
    mk(P("flat"));
    write_png(P("flat/a.png"), 0, 4);
    rc = ditc_dataset_open_imagefolder(&ds, P("flat"), 8, 0, &st);
    expect_open_error("ImageFolder root without class directories", rc, &st, P("flat"), "no class sub-directories");
    mk(P("empty"));
    mk(P("empty/a"));
    mk(P("empty/b"));
    mk(P("empty/c"));
    write_png(P("empty/a/x.png"), 0, 4);
    touch(P("empty/b/readme.txt"));
    write_png(P("empty/c/y.png"), 0, 4);
    rc = ditc_dataset_open_imagefolder(&ds, P("empty"), 8, 0, &st);
    expect_open_error("ImageFolder class folder without images", rc, &st, P("empty/b"), "no valid image file");
    rc = ditc_dataset_open_imagefolder(&ds, P("if/R"), 0, 0, &st);
    expect_open_error("ImageFolder with --image-size 0", rc, &st, "--image-size", P("if/R"));
    check(ds == NULL, "no dataset is returned on errors");
}

static void test_imagefolder_skip_bad(void) {
    mk(P("bad"));
    mk(P("bad/a"));
    mk(P("bad/b"));
    write_png(P("bad/a/0.png"), 0, S_IMG);
    write_bytes(P("bad/a/1.png"), "this is not an image", 20);
    static const char ppm[] = "P6\n4 4\n255\n"
                              "0123456789abcdef0123456789abcdef0123456789abcdef";
    write_bytes(P("bad/a/2.ppm"), ppm, sizeof ppm - 1); // a real PPM: kept by name, not decodable by ditc
    write_png(P("bad/b/3.png"), 3, S_IMG);
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    uint8_t u[3 * S_IMG * S_IMG];
    int32_t lab = -1;
    int rc = ditc_dataset_open_imagefolder(&ds, P("bad"), S_IMG, 0, &st);
    if (!check(rc == 0 && ds->n == 4, "ImageFolder with bad files opens (the scan does not decode): %s",
               rc ? st.message : ds->desc))
        return;
    rc = ds->get_u8(ds, 1, u, &lab, &st);
    check(rc != 0 && contains(st.message, P("bad/a/1.png")) && contains(st.message, "--skip-bad-images"),
          "undecodable file -> error naming it (+ hint): %s", st.message);
    rc = ds->get_u8(ds, 2, u, &lab, &st);
    check(rc != 0 && contains(st.message, P("bad/a/2.ppm")) && contains(st.message, "unsupported format"),
          "a .ppm file is kept by name but does not decode (unsupported format): %s", st.message);
    float f[3 * S_IMG * S_IMG];
    rc = ds->get(ds, 1, f, &lab, &st);
    check(rc != 0 && contains(st.message, P("bad/a/1.png")), "get (float) reports the same error");
    ditc_dataset_free(ds);

    rc = ditc_dataset_open_imagefolder(&ds, P("bad"), S_IMG, 1, &st);
    if (!check(rc == 0, "ImageFolder with skip_bad opens")) return;
    rc = ds->get_u8(ds, 1, u, &lab, &st);
    check(rc == 0 && is_pattern(u, 3) && lab == 1, "skip_bad: sample 1 (bad) -> sample 3 (next decodable, label 1)");
    rc = ds->get_u8(ds, 2, u, &lab, &st);
    check(rc == 0 && is_pattern(u, 3) && lab == 1, "skip_bad: sample 2 (bad) -> sample 3");
    rc = ds->get_u8(ds, 0, u, &lab, &st);
    check(rc == 0 && is_pattern(u, 0) && lab == 0, "skip_bad: good samples are unchanged");
    ds->get_u8(ds, 1, u, &lab, &st);
    char first[512];
    int64_t bad = ditc_dataset_bad_count(ds, first, sizeof first);
    check(bad == 2 && contains(first, P("bad/a/1.png")), "2 distinct bad files counted once each; first message: %s",
          first);
    ditc_dataset_free(ds);

    // threads: a batch of many indices, bad ones included, counted exactly once
    rc = ditc_dataset_open_imagefolder(&ds, P("bad"), S_IMG, 1, &st);
    enum { B = 256 };
    int64_t idx[B];
    for (int b = 0; b < B; b++) idx[b] = b % 4;
    float *x = malloc(sizeof(float) * B * 3 * S_IMG * S_IMG);
    int32_t y[B];
    rc = ditc_dataset_batch(ds, idx, B, x, y, &st);
    int ok = rc == 0;
    for (int b = 0; ok && b < B; b++) {
        int want = idx[b] == 0 ? 0 : 3;
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < S_IMG * S_IMG; p++)
                ok &= x[(size_t)b * 3 * S_IMG * S_IMG + c * S_IMG * S_IMG + p] ==
                      (float)pat(want, p * 3 + c) / 127.5f - 1.0f;
        ok &= y[b] == (idx[b] == 0 ? 0 : 1);
    }
    check(ok && ditc_dataset_bad_count(ds, NULL, 0) == 2,
          "skip_bad under threads: %d samples replaced deterministically, bad count %lld", B,
          (long long)ditc_dataset_bad_count(ds, NULL, 0));
    free(x);
    ditc_dataset_free(ds);

    // every file bad
    mk(P("allbad"));
    mk(P("allbad/a"));
    write_bytes(P("allbad/a/x.png"), "junk", 4);
    rc = ditc_dataset_open_imagefolder(&ds, P("allbad"), S_IMG, 1, &st);
    if (rc == 0) {
        rc = ds->get_u8(ds, 0, u, &lab, &st);
        check(rc != 0 && contains(st.message, "none of the 1 files decodes"),
              "skip_bad with no decodable file -> error: %s", st.message);
        ditc_dataset_free(ds);
    }
    ditc_dataset *syn = ditc_dataset_synthetic(4, 3, 4, 2, 1);
    check(ditc_dataset_bad_count(syn, first, sizeof first) == 0 && first[0] == '\0',
          "bad count of another source is 0");
    ditc_dataset_free(syn);
}

// ---- CIFAR-10 -------------------------------------------------------------------------------------------

#define REC      3073
#define PER_FILE 10000

static uint8_t cpx(int64_t r, int k) { return (uint8_t)(r * 7 + k * 13 + (r >> 8) + (k >> 5)); } // k: CHW index

// A full batch file: record r has label lab(r) and pixels cpx(global r, k).
static void write_cifar_full(const char *path, int64_t first, int bad_label_at) {
    uint8_t *b = malloc((size_t)REC * PER_FILE);
    for (int r = 0; r < PER_FILE; r++) {
        uint8_t *rec = b + (size_t)r * REC;
        rec[0] = (uint8_t)((first + r) % 10);
        if (r == bad_label_at) rec[0] = 10;
        for (int k = 0; k < 3072; k++) rec[1 + k] = cpx(first + r, k);
    }
    write_bytes(path, b, (size_t)REC * PER_FILE);
    free(b);
}

// A sparse batch file of the right size: zeros except records 0 and 9999 (labels f and 9 - f).
static void write_cifar_sparse(const char *path, int f) {
    FILE *fp = fopen(path, "wb");
    if (!fp || ftruncate(fileno(fp), (off_t)REC * PER_FILE)) {
        perror(path);
        exit(1);
    }
    uint8_t rec[REC];
    for (int which = 0; which < 2; which++) {
        int r = which ? PER_FILE - 1 : 0;
        rec[0] = (uint8_t)(which ? 9 - f : f);
        for (int k = 0; k < 3072; k++) rec[1 + k] = cpx((int64_t)f * PER_FILE + r, k);
        fseek(fp, (long)r * REC, SEEK_SET);
        fwrite(rec, 1, REC, fp);
    }
    fclose(fp);
}

static int cifar_sample_ok(const ditc_dataset *ds, int64_t i, int64_t gen, int label) {
    uint8_t u[3072];
    int32_t lab = -1;
    if (ds->get_u8(ds, i, u, &lab, NULL) || lab != label) return 0;
    for (int k = 0; k < 3072; k++)
        if (u[k] != cpx(gen, k)) return 0;
    float f[3072];
    if (ds->get(ds, i, f, &lab, NULL) || lab != label) return 0;
    for (int k = 0; k < 3072; k++)
        if (f[k] != (float)u[k] / 127.5f - 1.0f) return 0;
    return 1;
}

static void test_cifar10(void) {
    mk(P("c1"));
    mk(P("c1/cifar-10-batches-bin"));
    write_cifar_full(P("c1/cifar-10-batches-bin/test_batch.bin"), 0, -1);
    static const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    write_bytes(P("c1/cifar-10-batches-bin/batches.meta.txt"), meta, sizeof meta - 1);
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    int rc = ditc_dataset_open_cifar10(&ds, P("c1"), 0, 0, &st);
    if (check(rc == 0, "CIFAR-10 test split opens from the parent directory: %s", rc ? st.message : ds->desc)) {
        check(ds->n == 10000 && ds->channels == 3 && ds->side == 32 && ds->num_classes == 10 && ds->get_u8,
              "CIFAR-10 test: 10000 samples 3x32x32, 10 classes, get_u8");
        check(contains(ds->desc, "airplane, automobile") && contains(ds->desc, "truck"),
              "class names from batches.meta.txt in the description");
        int ok = 1;
        int64_t probe[] = {0, 1, 2, 1234, 5000, 9998, 9999};
        for (size_t p = 0; p < sizeof probe / sizeof *probe; p++)
            ok &= cifar_sample_ok(ds, probe[p], probe[p], (int)(probe[p] % 10));
        check(ok, "CIFAR-10 pixels (R, G, B planes) and labels exact, get = u8/127.5 - 1");
        ditc_dataset_free(ds);
    }
    rc = ditc_dataset_open_cifar10(&ds, P("c1/cifar-10-batches-bin"), 32, 0, &st);
    check(rc == 0 && ds->side == 32 && cifar_sample_ok(ds, 77, 77, 7),
          "CIFAR-10 opens from the batches directory, --image-size 32 = as is");
    if (!rc) ditc_dataset_free(ds);
    // other sizes: center_crop_arr of the 32x32 RGB image
    rc = ditc_dataset_open_cifar10(&ds, P("c1"), 20, 0, &st);
    if (check(rc == 0 && ds->side == 20, "CIFAR-10 --image-size 20 opens (center_crop_arr)")) {
        uint8_t rgb[3072], want[3 * 20 * 20], got[3 * 20 * 20];
        for (int p = 0; p < 1024; p++)
            for (int c = 0; c < 3; c++) rgb[3 * p + c] = cpx(42, c * 1024 + p);
        ditc_image im = {.w = 32, .h = 32, .rgb = rgb};
        ditc_center_crop_arr(&im, 20, want);
        int32_t lab;
        rc = ds->get_u8(ds, 42, got, &lab, &st);
        check(rc == 0 && !memcmp(got, want, sizeof want) && lab == 2,
              "CIFAR-10 at 20: get_u8 = ditc_center_crop_arr(interleaved 32x32 image, 20)");
        ditc_dataset_free(ds);
    }
    // train split: five files (sparse), sample 10000 f + r from data_batch_{f+1}
    mk(P("c2"));
    for (int f = 0; f < 5; f++) write_cifar_sparse(P("c2/data_batch_%d.bin", f + 1), f);
    rc = ditc_dataset_open_cifar10(&ds, P("c2"), 0, 1, &st);
    if (check(rc == 0 && ds->n == 50000, "CIFAR-10 train split: 50000 samples from data_batch_1..5.bin (%s)",
              rc ? st.message : ds->desc)) {
        int ok = 1;
        for (int f = 0; f < 5; f++) {
            ok &= cifar_sample_ok(ds, (int64_t)f * PER_FILE, (int64_t)f * PER_FILE, f);
            ok &=
                cifar_sample_ok(ds, (int64_t)f * PER_FILE + PER_FILE - 1, (int64_t)f * PER_FILE + PER_FILE - 1, 9 - f);
        }
        check(ok, "CIFAR-10 train: first and last record of every file at 10000 f + r with their labels");
        ditc_dataset_free(ds);
    }
    rc = ditc_dataset_open_cifar10(&ds, P("c2"), 0, 0, &st);
    expect_open_error("CIFAR-10 test split without test_batch.bin", rc, &st, "test_batch.bin", P("c2"));
    // errors
    mk(P("c3"));
    for (int f = 0; f < 5; f++) write_cifar_sparse(P("c3/data_batch_%d.bin", f + 1), f);
    if (truncate(P("c3/data_batch_4.bin"), (off_t)REC * PER_FILE - 1)) perror("truncate");
    rc = ditc_dataset_open_cifar10(&ds, P("c3"), 0, 1, &st);
    expect_open_error("CIFAR-10 file one byte short", rc, &st, P("c3/data_batch_4.bin"), "30730000");
    unlink(P("c3/data_batch_4.bin"));
    rc = ditc_dataset_open_cifar10(&ds, P("c3"), 0, 1, &st);
    expect_open_error("CIFAR-10 file missing", rc, &st, P("c3/data_batch_4.bin"), "No such file");
    mk(P("c4"));
    write_cifar_full(P("c4/test_batch.bin"), 0, 5);
    rc = ditc_dataset_open_cifar10(&ds, P("c4"), 0, 0, &st);
    expect_open_error("CIFAR-10 label 10", rc, &st, P("c4/test_batch.bin"), "record 5");
    rc = ditc_dataset_open_cifar10(&ds, P("nonexistent"), 0, 0, &st);
    expect_open_error("CIFAR-10 missing directory", rc, &st, P("nonexistent"), "No such file");
}

// ---- shards -----------------------------------------------------------------------------------------------

static int same_samples(const ditc_dataset *a, const ditc_dataset *b) {
    if (a->n != b->n || a->channels != b->channels || a->side != b->side || a->num_classes != b->num_classes) return 0;
    size_t per = (size_t)a->channels * a->side * a->side;
    uint8_t *ua = malloc(per), *ub = malloc(per);
    float *fa = malloc(per * sizeof(float)), *fb = malloc(per * sizeof(float));
    int ok = 1;
    for (int64_t i = 0; ok && i < a->n; i++) {
        int32_t la = -1, lb = -2;
        ok = !a->get_u8(a, i, ua, &la, NULL) && !b->get_u8(b, i, ub, &lb, NULL) && la == lb && !memcmp(ua, ub, per);
        if (ok && (i % 997 == 0 || i == a->n - 1))
            ok = !a->get(a, i, fa, &la, NULL) && !b->get(b, i, fb, &lb, NULL) && !memcmp(fa, fb, per * sizeof(float));
    }
    free(ua);
    free(ub);
    free(fa);
    free(fb);
    return ok;
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

// Writes a small IDX pair (n images side x side, labels i % 3) into dir.
static void write_idx(const char *dir, int n, int side, int gz) {
    size_t npx = (size_t)n * side * side;
    uint8_t *b = malloc(16 + npx);
    uint32_t hdr[4] = {0x803, (uint32_t)n, (uint32_t)side, (uint32_t)side};
    for (int h = 0; h < 4; h++)
        for (int k = 0; k < 4; k++) b[4 * h + k] = (uint8_t)(hdr[h] >> (24 - 8 * k));
    for (size_t k = 0; k < npx; k++) b[16 + k] = (uint8_t)(k * 29 + 3);
    char p[1024];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
    if (gz) {
        gzFile g = gzopen(p, "wb");
        gzwrite(g, b, (unsigned)(16 + npx));
        gzclose(g);
    } else write_bytes(p, b, 16 + npx);
    uint8_t *l = malloc(8 + (size_t)n);
    uint32_t lh[2] = {0x801, (uint32_t)n};
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++) l[4 * h + k] = (uint8_t)(lh[h] >> (24 - 8 * k));
    for (int i = 0; i < n; i++) l[8 + i] = (uint8_t)(i % 3);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte%s", dir, gz ? ".gz" : "");
    if (gz) {
        gzFile g = gzopen(p, "wb");
        gzwrite(g, l, (unsigned)(8 + n));
        gzclose(g);
    } else write_bytes(p, l, 8 + (size_t)n);
    free(b);
    free(l);
}

// Rewrites shard file path with the given tensors (for corruption tests).
static void write_shard(const char *path, ditc_dtype idt, int64_t n, int64_t c, int64_t h, int64_t w, ditc_dtype ldt,
                        int32_t label) {
    int64_t ishape[4] = {n, c, h, w}, lshape[1] = {n};
    size_t isz = (size_t)(n * c * h * w) * ditc_dtype_size(idt), lsz = (size_t)n * ditc_dtype_size(ldt);
    uint8_t *im = calloc(1, isz), *lb = calloc(1, lsz);
    for (int64_t i = 0; i < n && ldt == DITC_I32; i++) memcpy(lb + 4 * i, &label, 4);
    ditc_st_writer *wr = ditc_st_writer_new();
    ditc_st_writer_add(wr, "images", idt, 4, ishape, im);
    ditc_st_writer_add(wr, "labels", ldt, 1, lshape, lb);
    ditc_status st;
    if (ditc_st_writer_save(wr, path, &st)) printf("  write_shard: %s\n", st.message);
    ditc_st_writer_free(wr);
    free(im);
    free(lb);
}

static void expect_shards_error(const char *label, const char *dir, const char *must1, const char *must2) {
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    int rc = ditc_dataset_open_shards(&ds, dir, &st);
    expect_open_error(label, rc, &st, must1, must2);
    if (!rc) ditc_dataset_free(ds);
}

static void test_shards(void) {
    ditc_status st = {0};
    ditc_dataset *src = NULL, *ds = NULL;
    // CIFAR-10 test split (10000) -> 4 shards of 3000, 3000, 3000, 1000
    if (ditc_dataset_open_cifar10(&src, P("c1"), 0, 0, &st)) {
        check(0, "shards: cannot open the CIFAR-10 source: %s", st.message);
        return;
    }
    int rc = ditc_shards_write(src, P("sh/cifar"), 3000, 0, NULL, NULL, &st); // creates sh/ and sh/cifar
    check(rc == 0 && exists(P("sh/cifar/shard-00003.safetensors")) && !exists(P("sh/cifar/shard-00004.safetensors")) &&
              exists(P("sh/cifar/index.json")),
          "extract CIFAR-10 (10000) with --shard-size 3000 -> shard-00000..00003 + index.json (%s)",
          rc ? st.message : "ok");
    rc = ditc_dataset_open_shards(&ds, P("sh/cifar"), &st);
    if (check(rc == 0, "open_shards: %s", rc ? st.message : ds->desc)) {
        check(same_samples(src, ds), "shards round trip: all 10000 get_u8 samples, labels and get floats identical");
        ditc_dataset_free(ds);
    }
    {
        char *idx = read_text(P("sh/cifar/index.json"), NULL);
        check(contains(idx, "\"format\": \"ditc-shards\"") && contains(idx, "\"total\": 10000") &&
                  contains(idx, "{\"file\": \"shard-00003.safetensors\", \"count\": 1000}") &&
                  contains(idx, "CIFAR-10"),
              "index.json: format, total, per-shard file and count, source");
        free(idx);
        ditc_safetensors sf;
        rc = ditc_st_open(&sf, P("sh/cifar/shard-00001.safetensors"), &st);
        const ditc_st_tensor *im = rc ? NULL : ditc_st_find(&sf, "images");
        check(im && im->dtype == DITC_U8 && im->ndim == 4 && im->shape[0] == 3000 && im->shape[1] == 3 &&
                  im->shape[3] == 32 && ditc_st_meta(&sf, "first_index") &&
                  !strcmp(ditc_st_meta(&sf, "first_index"), "3000"),
              "a shard is a plain safetensors file: images U8 [3000, 3, 32, 32], metadata first_index 3000");
        ditc_st_close(&sf);
    }
    // re-extract with larger shards into the same directory: stale shard files are removed
    rc = ditc_shards_write(src, P("sh/cifar"), 5000, 2, NULL, NULL, &st);
    check(rc == 0 && !exists(P("sh/cifar/shard-00002.safetensors")) && !exists(P("sh/cifar/shard-00003.safetensors")),
          "re-extracting with --shard-size 5000 removes the stale shard-00002/00003");
    rc = ditc_dataset_open_shards(&ds, P("sh/cifar"), &st);
    if (check(rc == 0, "re-extracted shards open")) {
        check(same_samples(src, ds), "re-extracted shards identical to the source");
        ditc_dataset_free(ds);
    }
    ditc_dataset_free(src);

    // ImageFolder and IDX sources
    if (!ditc_dataset_open_imagefolder(&src, P("if/R"), S_IMG, 0, &st)) {
        rc = ditc_shards_write(src, P("sh/if"), 5, 0, "my ImageFolder", NULL, &st);
        rc = rc ? rc : ditc_dataset_open_shards(&ds, P("sh/if"), &st);
        if (check(rc == 0, "ImageFolder -> shards of 5 -> open (%s)", rc ? st.message : ds->desc)) {
            check(same_samples(src, ds) && contains(ds->desc, "my ImageFolder"),
                  "ImageFolder shards identical (%lld samples, 4 classes)", (long long)ds->n);
            ditc_dataset_free(ds);
        }
        ditc_dataset_free(src);
    }
    mk(P("idx"));
    write_idx(P("idx"), 50, 8, 0);
    if (!ditc_dataset_open_idx(&src, P("idx"), 0, &st)) {
        rc = ditc_shards_write(src, P("sh/idx"), 16, 0, NULL, NULL, &st);
        rc = rc ? rc : ditc_dataset_open_shards(&ds, P("sh/idx"), &st);
        if (check(rc == 0, "IDX (native 8x8) -> shards -> open (%s)", rc ? st.message : ds->desc)) {
            check(same_samples(src, ds) && ds->channels == 1, "IDX shards identical (1 channel)");
            ditc_dataset_free(ds);
        }
        ditc_dataset_free(src);
    }
    if (!ditc_dataset_open_idx(&src, P("idx"), 12, &st)) {
        rc = ditc_shards_write(src, P("sh/idxpad"), 16, 0, NULL, NULL, &st);
        rc = rc ? rc : ditc_dataset_open_shards(&ds, P("sh/idxpad"), &st);
        if (check(rc == 0, "IDX padded to 12 -> shards -> open")) {
            check(same_samples(src, ds), "padded IDX shards identical (pad byte 0 = -1)");
            ditc_dataset_free(ds);
        }
        ditc_dataset_free(src);
    }
    if (!ditc_dataset_open_idx(&src, P("idx"), 4, &st)) {
        rc = ditc_shards_write(src, P("sh/idxarea"), 16, 0, NULL, NULL, &st);
        check(rc != 0 && contains(st.message, "no exact 8-bit samples") && !exists(P("sh/idxarea/index.json")),
              "IDX with an area downscale cannot be extracted: %s", st.message);
        ditc_dataset_free(src);
    }
    src = ditc_dataset_synthetic(10, 4, 8, 2, 0);
    rc = ditc_shards_write(src, P("sh/syn"), 16, 0, NULL, NULL, &st);
    check(rc != 0 && contains(st.message, "no exact 8-bit samples"), "the synthetic source cannot be extracted");
    ditc_dataset_free(src);

    // corruptions, each on a fresh copy of sh/cifar (2 shards of 5000)
    char good[1024];
    snprintf(good, sizeof good, "%s", P("sh/cifar"));
    int n = 0;
    char d[1024];
#define FRESH() (snprintf(d, sizeof d, "%s/bad%d", g_root, n++), copy_dir(good, d), d)
    const char *dd = FRESH();
    check(edit_file(P("bad0/index.json"), "\"total\": 10000,", "\"total\": 10000"), "(edit)");
    expect_shards_error("index.json not valid JSON", dd, P("bad0/index.json"), "not a valid index");
    dd = FRESH();
    edit_file(P("bad1/index.json"), "\"total\": 10000", "\"total\": 9999");
    expect_shards_error("index total != sum of counts", dd, P("bad1/index.json"), "add up to 10000");
    dd = FRESH();
    edit_file(P("bad2/index.json"), "\"side\": 32,", "\"side\": 32, \"colour\": 1,");
    expect_shards_error("index with an unknown key", dd, P("bad2/index.json"), "unknown key \"colour\"");
    dd = FRESH();
    edit_file(P("bad3/index.json"), "\"version\": 1", "\"version\": 2");
    expect_shards_error("index version 2", dd, P("bad3/index.json"), "version 2");
    dd = FRESH();
    unlink(P("bad4/shard-00001.safetensors"));
    expect_shards_error("a shard missing", dd, P("bad4/shard-00001.safetensors"), "No such file");
    dd = FRESH();
    write_shard(P("bad5/shard-00001.safetensors"), DITC_U8, 5000, 3, 32, 31, DITC_I32, 0);
    expect_shards_error("a shard with the wrong image shape", dd, P("bad5/shard-00001.safetensors"),
                        "U8 [5000, 3, 32, 31]");
    dd = FRESH();
    write_shard(P("bad6/shard-00000.safetensors"), DITC_U8, 4999, 3, 32, 32, DITC_I32, 0);
    expect_shards_error("a shard with fewer samples than the index says", dd, P("bad6/shard-00000.safetensors"),
                        "[4999, 3, 32, 32]");
    dd = FRESH();
    write_shard(P("bad7/shard-00000.safetensors"), DITC_U8, 5000, 3, 32, 32, DITC_I64, 0);
    expect_shards_error("labels I64 instead of I32", dd, P("bad7/shard-00000.safetensors"), "\"labels\" is I64");
    dd = FRESH();
    write_shard(P("bad8/shard-00000.safetensors"), DITC_U8, 5000, 3, 32, 32, DITC_I32, 10);
    expect_shards_error("a label outside [0, num_classes)", dd, P("bad8/shard-00000.safetensors"), "label 10");
    dd = FRESH();
    write_bytes(P("bad9/shard-00000.safetensors"), "garbage!", 8);
    expect_shards_error("a shard that is not safetensors", dd, P("bad9/shard-00000.safetensors"), NULL);
    dd = FRESH();
    edit_file(P("bad10/index.json"), "\"shard-00000.safetensors\"", "\"../shard-00000.safetensors\"");
    expect_shards_error("a shard name with a path", dd, P("bad10/index.json"), "must be a file name");
    dd = FRESH();
    write_shard(P("bad11/shard-00000.safetensors"), DITC_F32, 5000, 3, 32, 32, DITC_I32, 0);
    expect_shards_error("images F32 instead of U8", dd, P("bad11/shard-00000.safetensors"), "F32 [5000");
    dd = FRESH();
    unlink(P("bad12/index.json"));
    expect_shards_error("no index.json", dd, P("bad12/index.json"), "No such file");
#undef FRESH

    // ditc extract's argument handling (core)
    ditc_extract_args a = {.data_path = P("c1"), .out_dir = P("sh/x"), .vae = "sd-ft-ema"};
    rc = ditc_extract_run(&a, NULL, &st);
    check(rc != 0 && contains(st.message, "--vae sd-ft-ema: no backend"), "--vae without a backend: %s", st.message);
    a = (ditc_extract_args){.data_path = "synthetic", .out_dir = P("sh/x")};
    rc = ditc_extract_run(&a, NULL, &st);
    check(rc != 0 && contains(st.message, "synthetic"), "extract synthetic -> error: %s", st.message);
    a = (ditc_extract_args){.data_path = P("idx"), .out_dir = P("sh/x"), .split = "test"};
    rc = ditc_extract_run(&a, NULL, &st);
    check(rc != 0 && contains(st.message, "--split test"), "--split test on IDX -> error: %s", st.message);
    a = (ditc_extract_args){.data_path = P("sh/cifar"), .out_dir = P("sh/cifar")};
    rc = ditc_extract_run(&a, NULL, &st);
    check(rc != 0 && contains(st.message, "is the --data-path directory"), "--out = --data-path -> error: %s",
          st.message);
    a = (ditc_extract_args){
        .data_path = P("c1"), .out_dir = P("sh/x"), .split = "test", .shard_size = 4096, .threads = 2};
    rc = ditc_extract_run(&a, NULL, &st);
    if (check(rc == 0 && exists(P("sh/x/shard-00002.safetensors")),
              "ditc_extract_run CIFAR-10 --split test --shard-size 4096 -> 3 shards")) {
        rc = ditc_dataset_open_shards(&ds, P("sh/x"), &st);
        check(rc == 0 && ds->n == 10000, "and they open");
        if (!rc) ditc_dataset_free(ds);
    }
    a = (ditc_extract_args){.data_path = P("bad"), .out_dir = P("sh/bad"), .image_size = S_IMG, .skip_bad = 1};
    rc = ditc_extract_run(&a, NULL, &st);
    if (check(rc == 0, "extract an ImageFolder with bad files and --skip-bad-images (%s)", rc ? st.message : "ok")) {
        rc = ditc_dataset_open_shards(&ds, P("sh/bad"), &st);
        uint8_t u[3 * S_IMG * S_IMG];
        int32_t lab = -1;
        check(rc == 0 && ds->n == 4 && !ds->get_u8(ds, 2, u, &lab, NULL) && is_pattern(u, 3) && lab == 1,
              "the bad samples were stored as their replacements");
        if (!rc) ditc_dataset_free(ds);
    }
    a = (ditc_extract_args){.data_path = P("bad"), .out_dir = P("sh/bad2"), .image_size = S_IMG};
    rc = ditc_extract_run(&a, NULL, &st);
    check(rc != 0 && contains(st.message, P("bad/a/1.png")) && !exists(P("sh/bad2/index.json")),
          "extract without --skip-bad-images stops at the first bad file, no index written: %s", st.message);
}

// ---- ditc_dataset_open ------------------------------------------------------------------------------------

static void expect_kind(const char *label, const char *kind, const char *path, int S, const char *prefix) {
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    int rc = ditc_dataset_open(&ds, kind, path, S, 0, &st);
    check(rc == 0 && !strncmp(ds->desc, prefix, strlen(prefix)), "dataset_open %s %s -> %s", kind, label,
          rc ? st.message : ds->desc);
    if (!rc) ditc_dataset_free(ds);
}

static void expect_open_fail(const char *label, const char *kind, const char *path, int S, const char *must1,
                             const char *must2) {
    ditc_status st = {0};
    ditc_dataset *ds = NULL;
    int rc = ditc_dataset_open(&ds, kind, path, S, 0, &st);
    expect_open_error(label, rc, &st, must1, must2);
    if (!rc) ditc_dataset_free(ds);
}

static void test_dataset_open(void) {
    expect_kind("shards directory", "auto", P("sh/cifar"), 0, "shards ");
    expect_kind("shards directory with --image-size = side", "auto", P("sh/cifar"), 32, "shards ");
    expect_kind("CIFAR-10 directory of batches", "auto", P("c2"), 0, "CIFAR-10 ");
    mk(P("c5"));
    if (symlink(P("c2"), P("c5/cifar-10-batches-bin"))) perror("symlink");
    expect_kind("CIFAR-10 parent directory", "auto", P("c5"), 0, "CIFAR-10 ");
    expect_kind("IDX directory", "auto", P("idx"), 0, "IDX ");
    expect_kind("IDX images file", "auto", P("idx/train-images-idx3-ubyte"), 0, "IDX ");
    mk(P("idxgz"));
    write_idx(P("idxgz"), 10, 6, 1);
    expect_kind("IDX gzip directory", "auto", P("idxgz"), 0, "IDX ");
    expect_kind("IDX gzip images file", "auto", P("idxgz/train-images-idx3-ubyte.gz"), 0, "IDX ");
    expect_kind("ImageFolder", "auto", P("if/R"), S_IMG, "ImageFolder ");
    expect_kind("explicit imagefolder", "imagefolder", P("if/R"), S_IMG, "ImageFolder ");
    expect_kind("explicit cifar10", "cifar10", P("c2"), 0, "CIFAR-10 ");
    expect_kind("explicit idx", "idx", P("idx"), 0, "IDX ");
    expect_kind("explicit shards", "shards", P("sh/idx"), 0, "shards ");
    // errors
    {
        ditc_status st = {0};
        ditc_dataset *ds = NULL;
        char want[1100];
        snprintf(want, sizeof want, "--data-path %s: No such file or directory", P("nothere"));
        int rc = ditc_dataset_open(&ds, "auto", P("nothere"), 0, 0, &st);
        check(rc != 0 && !strcmp(st.message, want), "missing --data-path: \"%s\"", st.message);
        rc = ditc_dataset_open(&ds, "cifar10", P("nothere"), 0, 0, &st);
        check(rc != 0 && !strcmp(st.message, want), "missing --data-path with an explicit kind: same message");
    }
    mk(P("plain"));
    touch(P("plain/readme.txt"));
    expect_open_fail("auto on a directory of plain files", "auto", P("plain"), 0, "index.json",
                     "class sub-directories");
    expect_open_fail("auto on a file that is not IDX", "auto", P("plain/readme.txt"), 0, "not an IDX images file",
                     NULL);
    expect_open_fail("shards with another --image-size", "auto", P("sh/cifar"), 16, "--image-size 16", "32x32");
    expect_open_fail("ImageFolder without --image-size", "auto", P("if/R"), 0, "--image-size", NULL);
    expect_open_fail("cifar10 kind on an ImageFolder", "cifar10", P("if/R"), 0, "data_batch_1.bin", NULL);
    expect_open_fail("unknown kind", "lmdb", P("if/R"), 0, "--dataset 'lmdb'", NULL);
    expect_open_fail("synthetic is the caller's", "synthetic", P("if/R"), 0, "synthetic", NULL);
}

int main(void) {
    snprintf(g_root, sizeof g_root, "%s/ditc-test-sources.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_imagefolder_order();
    test_imagefolder_errors();
    test_imagefolder_skip_bad();
    test_cifar10();
    test_shards();
    test_dataset_open();
    rm_tree(g_root);
    return check_summary("test_sources");
}
