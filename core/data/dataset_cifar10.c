// dataset_cifar10.c — the CIFAR-10 binary data source (dataset.h; shared/spec/data.md): data_batch_1..5.bin
// (train) or test_batch.bin, each exactly 10,000 records of 3073 bytes (label byte 0..9, then the 32x32
// R, G and B planes, row-major), read whole into memory as CHW uint8 planes plus labels.
//
// A sample is the 32x32 image as it is (image_size 0 or 32: what center_crop_arr(img, 32) returns, since
// Pillow's same-size resize is a copy) or center_crop_arr(img, S) through image.h for any other S, the
// reference pipeline applied to torchvision's CIFAR10 PIL images.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "image.h"

#define CIFAR_SIDE       32
#define CIFAR_PLANE      (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD     (1 + 3 * CIFAR_PLANE) // 3073
#define CIFAR_PER_FILE   10000
#define CIFAR_FILE_BYTES ((int64_t)CIFAR_RECORD * CIFAR_PER_FILE) // 30,730,000
#define CIFAR_CLASSES    10

typedef struct {
    uint8_t *pixels; // n * 3 * 1024, CHW
    uint8_t *labels; // n
} cifar_ctx;

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

// Reads one batch file into pixels/labels (10,000 records), checking its size and labels.
static int read_batch(const char *path, uint8_t *pixels, uint8_t *labels, ditc_status *st) {
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "CIFAR-10 batch file %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return ditc_fail(st, DITC_ERR_IO, "CIFAR-10 batch file %s: not a regular file", path);
    if ((int64_t)sb.st_size != CIFAR_FILE_BYTES)
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "CIFAR-10 batch file %s: %lld bytes, expected exactly %lld (10000 records of 3073 bytes: "
                         "label byte + 1024 R + 1024 G + 1024 B)",
                         path, (long long)sb.st_size, (long long)CIFAR_FILE_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f) return ditc_fail(st, DITC_ERR_IO, "CIFAR-10 batch file %s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = ditc_xmalloc((size_t)CIFAR_FILE_BYTES);
    size_t got = fread(buf, 1, (size_t)CIFAR_FILE_BYTES, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    int rc = 0;
    if (got != (size_t)CIFAR_FILE_BYTES)
        rc = ditc_fail(st, DITC_ERR_IO, "CIFAR-10 batch file %s: read %zu of %lld bytes%s%s", path, got,
                       (long long)CIFAR_FILE_BYTES, err ? ": " : "", err ? strerror(err) : "");
    for (int r = 0; !rc && r < CIFAR_PER_FILE; r++) {
        const uint8_t *rec = buf + (size_t)r * CIFAR_RECORD;
        if (rec[0] >= CIFAR_CLASSES) {
            rc = ditc_fail(st, DITC_ERR_FORMAT,
                           "CIFAR-10 batch file %s: record %d (byte offset %lld) has label %d; labels must be 0..9 "
                           "(is this CIFAR-100 or another format?)",
                           path, r, (long long)r * CIFAR_RECORD, rec[0]);
            break;
        }
        labels[r] = rec[0];
        memcpy(pixels + (size_t)r * 3 * CIFAR_PLANE, rec + 1, 3 * CIFAR_PLANE);
    }
    free(buf);
    return rc;
}

static int cifar_get_u8(const ditc_dataset *ds, int64_t i, uint8_t *dst, int32_t *label, ditc_status *st) {
    (void)st;
    const cifar_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "CIFAR-10 sample %lld out of range [0, %lld)", (long long)i, (long long)ds->n);
    const uint8_t *img = c->pixels + (size_t)i * 3 * CIFAR_PLANE;
    if (ds->side == CIFAR_SIDE) {
        memcpy(dst, img, 3 * CIFAR_PLANE);
    } else {
        uint8_t rgb[3 * CIFAR_PLANE]; // planar -> interleaved HWC
        for (int p = 0; p < CIFAR_PLANE; p++)
            for (int ch = 0; ch < 3; ch++) rgb[3 * p + ch] = img[ch * CIFAR_PLANE + p];
        ditc_image im = {.w = CIFAR_SIDE, .h = CIFAR_SIDE, .rgb = rgb};
        ditc_center_crop_arr(&im, ds->side, dst);
    }
    *label = c->labels[i];
    return 0;
}

static void cifar_destroy(ditc_dataset *ds) {
    if (!ds) return;
    cifar_ctx *c = ds->ctx;
    if (c) {
        free(c->pixels);
        free(c->labels);
        free(c);
    }
    free(ds);
}

// Class names from batches.meta.txt (one per line) as "airplane, automobile, ..." into out; "" if absent.
static void read_class_names(const char *dir, char *out, size_t cap) {
    out[0] = '\0';
    char *p = ditc_path_join(dir, "batches.meta.txt");
    FILE *f = fopen(p, "rb");
    free(p);
    if (!f) return;
    char line[256];
    size_t len = 0;
    int k = 0;
    while (k < CIFAR_CLASSES && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (!n) continue;
        int w = snprintf(out + len, cap - len, "%s%s", k ? ", " : "", line);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
        k++;
    }
    fclose(f);
}

int ditc_dataset_open_cifar10(ditc_dataset **out, const char *path, int image_size, int train, ditc_status *st) {
    DITC_CHECK(out != NULL && path != NULL, "open_cifar10 with NULL arguments");
    *out = NULL;
    ditc_status_ok(st);
    if (image_size < 0 || image_size > 16384)
        return ditc_fail(st, DITC_ERR_ARG, "CIFAR-10 %s: --image-size %d must be in 0..16384 (0 = 32, as is)", path,
                         image_size);
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "CIFAR-10 data path %s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return ditc_fail(st, DITC_ERR_IO,
                         "CIFAR-10 data path %s: not a directory (expected cifar-10-batches-bin or its parent)", path);
    const char *first = train ? "data_batch_1.bin" : "test_batch.bin";
    char *probe = ditc_path_join(path, first), *dir;
    if (is_file(probe)) {
        size_t np = strlen(path) + 1;
        dir = ditc_xmalloc(np);
        memcpy(dir, path, np);
    } else {
        char *sub = ditc_path_join(path, "cifar-10-batches-bin"), *p2 = ditc_path_join(sub, first);
        if (!is_file(p2)) {
            free(sub);
            free(p2);
            free(probe);
            return ditc_fail(st, DITC_ERR_IO,
                             "CIFAR-10 data path %s: neither %s/%s nor %s/cifar-10-batches-bin/%s exists", path, path,
                             first, path, first);
        }
        free(p2);
        dir = sub;
    }
    free(probe);
    const int nfiles = train ? 5 : 1;
    const int64_t n = (int64_t)nfiles * CIFAR_PER_FILE;
    cifar_ctx *c = ditc_xcalloc(1, sizeof *c);
    c->pixels = ditc_xmalloc((size_t)n * 3 * CIFAR_PLANE);
    c->labels = ditc_xmalloc((size_t)n);
    int rc = 0;
    for (int f = 0; f < nfiles && !rc; f++) {
        char name[32];
        if (train) snprintf(name, sizeof name, "data_batch_%d.bin", f + 1);
        else snprintf(name, sizeof name, "test_batch.bin");
        char *fp = ditc_path_join(dir, name);
        rc = read_batch(fp, c->pixels + (size_t)f * CIFAR_PER_FILE * 3 * CIFAR_PLANE,
                        c->labels + (size_t)f * CIFAR_PER_FILE, st);
        free(fp);
    }
    if (rc) {
        free(dir);
        free(c->pixels);
        free(c->labels);
        free(c);
        return rc;
    }
    const int S = image_size ? image_size : CIFAR_SIDE;
    char names[160];
    read_class_names(dir, names, sizeof names);
    ditc_dataset *ds = ditc_dataset_new_u8(n, 3, S, CIFAR_CLASSES, cifar_get_u8, cifar_destroy, c);
    snprintf(ds->desc, sizeof ds->desc, "CIFAR-10 %s (%s): %lld images 32x32 -> 3x%dx%d (%s), 10 classes%s%s%s", dir,
             train ? "train" : "test", (long long)n, S, S, S == CIFAR_SIDE ? "as is" : "center_crop_arr",
             names[0] ? " (" : "", names, names[0] ? ")" : "");
    free(dir);
    *out = ds;
    return 0;
}
