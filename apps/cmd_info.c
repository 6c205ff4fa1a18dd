// cmd_info.c — `ditc info [--threads N]`: version, backend, ops, and the machine's sgemm rate
// (the CPU "peak" every GFLOP/s figure is compared with, see shared/spec/performance.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "common.h"
#include "cpu_backend.h"
#include "ops.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Median GFLOP/s of a square n×n sgemm through the backend interface.
static double sgemm_gflops(ditc_backend *be, int64_t n, int reps) {
    size_t bytes = (size_t)(n * n) * sizeof(float);
    float *a = be->alloc(be, bytes), *b = be->alloc(be, bytes), *c = be->alloc(be, bytes);
    be->fill(be, a, DITC_F32, (size_t)(n * n), 0.5f);
    be->fill(be, b, DITC_F32, (size_t)(n * n), 0.25f);
    ditc_gemm g = {.m = n, .n = n, .k = n, .batch = 1, .alpha = 1.0f, .beta = 0.0f, .a = a, .lda = n,
                   .a_dtype = DITC_F32, .b = b, .ldb = n, .b_dtype = DITC_F32, .c = c, .ldc = n, .c_dtype = DITC_F32};
    double best[16];
    be->gemm(be, &g); // warm-up
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        be->gemm(be, &g);
        be->synchronize(be);
        best[r] = 2.0 * (double)n * (double)n * (double)n / (now_s() - t0) * 1e-9;
    }
    for (int i = 0; i < reps; i++) // sort for the median
        for (int j = i + 1; j < reps; j++)
            if (best[j] < best[i]) { double t = best[i]; best[i] = best[j]; best[j] = t; }
    be->free(be, a); be->free(be, b); be->free(be, c);
    return best[reps / 2];
}

int cmd_info(int argc, char **argv) {
    int threads = 0, gemm_n = 2048;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads <= 0) { fprintf(stderr, "ditc info: --threads must be a positive integer\n"); return 2; }
        } else if (!strcmp(argv[i], "--gemm-size") && i + 1 < argc) {
            gemm_n = atoi(argv[++i]);
            if (gemm_n <= 0 || gemm_n > 16384) { fprintf(stderr, "ditc info: --gemm-size must be in 1..16384\n"); return 2; }
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: ditc info [--threads N] [--gemm-size N]\n");
            return 0;
        } else {
            fprintf(stderr, "ditc info: unknown flag '%s'\n", argv[i]);
            return 2;
        }
    }
    ditc_backend *be = ditc_cpu_backend_new(threads);
    printf("ditc %s\nbackend: %s, %d threads\nops (%d):", DITC_VERSION, be->name, ditc_cpu_threads(), DITC_OP_COUNT);
    for (int i = 0; i < DITC_OP_COUNT; i++) printf(" %s", ditc_op_name(i));
    printf("\nsgemm %dx%d: %.1f GFLOP/s (median of 5)\n", gemm_n, gemm_n, sgemm_gflops(be, gemm_n, 5));
    be->destroy(be);
    return 0;
}
