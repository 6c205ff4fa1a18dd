// cmd_info.c — `ditc info [--threads N]`: version, backend, ops, and the machine's sgemm rate
// (the CPU "peak" every GFLOP/s figure is compared with, see shared/spec/performance.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "commands.h"
#include "common.h"
#include "cpu_backend.h"
#include "ops.h"

int cmd_info(int argc, char **argv) {
    int threads = 0, gemm_n = 2048;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads <= 0) {
                fprintf(stderr, "ditc info: --threads must be a positive integer\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--gemm-size") && i + 1 < argc) {
            gemm_n = atoi(argv[++i]);
            if (gemm_n <= 0 || gemm_n > 16384) {
                fprintf(stderr, "ditc info: --gemm-size must be in 1..16384\n");
                return 2;
            }
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
    printf("\nsgemm %dx%d: %.1f GFLOP/s (median of 5)\n", gemm_n, gemm_n, ditc_bench_sgemm(be, gemm_n, 5));
    be->destroy(be);
    return 0;
}
