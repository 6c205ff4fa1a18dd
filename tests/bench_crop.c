// bench_crop.c — single-thread data-loading throughput: for every *.jpg / *.jpeg in a directory, read the file,
// decode, center_crop_arr(S) and flip horizontally (the ADM/DiT training transform, uint8 CHW), PASSES times.
//   bench_crop DIR [S=256] [PASSES=3]
// Prints the best pass as images/s (scripts/bench/crop_vs_pillow.sh compares it with Pillow).
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "image.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int is_jpeg_name(const char *n) {
    const char *dot = strrchr(n, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Sorted paths of the JPEGs in dir; returns the count.
static int list_jpegs(const char *dir, char ***out) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 256;
    char **v = malloc(sizeof(char *) * (size_t)cap);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_jpeg_name(e->d_name)) continue;
        if (n == cap) v = realloc(v, sizeof(char *) * (size_t)(cap *= 2));
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        v[n] = malloc(len);
        snprintf(v[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof(char *), cmp_str);
    *out = v;
    return n;
}

// Horizontal flip of (3, S, S) CHW into dst (a reversed copy per row, which compilers vectorise).
static void flip_chw(const uint8_t *restrict src, uint8_t *restrict dst, int S) {
    for (int r = 0; r < 3 * S; r++) {
        const uint8_t *a = src + (size_t)r * S;
        uint8_t *b = dst + (size_t)r * S;
        for (int i = 0; i < S; i++) b[i] = a[S - 1 - i];
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_crop DIR [S=256] [PASSES=3]\n");
        return 2;
    }
    int S = argc > 2 ? atoi(argv[2]) : 256, passes = argc > 3 ? atoi(argv[3]) : 3;
    char **files;
    int n = list_jpegs(argv[1], &files);
    if (n <= 0 || S <= 0 || passes <= 0) {
        fprintf(stderr, "bench_crop: no JPEGs in %s (or bad S/PASSES)\n", argv[1]);
        return 2;
    }
    uint8_t *out = malloc((size_t)3 * S * S), *flipped = malloc((size_t)3 * S * S);
    double best = 1e30;
    unsigned long sum = 0;
    for (int p = 0; p < passes; p++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            ditc_status st;
            if (ditc_image_load_crop(files[i], S, out, &st)) {
                fprintf(stderr, "bench_crop: %s\n", st.message);
                return 1;
            }
            flip_chw(out, flipped, S);
            sum += flipped[(size_t)i % ((size_t)3 * S * S)];
        }
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    printf("bench_crop: %d images, S=%d, best of %d passes %.3f s, %.1f images/s (checksum %lu)\n", n, S, passes, best,
           n / best, sum);
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    free(out);
    free(flipped);
    return 0;
}
