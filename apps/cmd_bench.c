// cmd_bench.c — `ditc bench`: training-step throughput of a config (core/run/bench.c).
#include <stdio.h>

#include "args.h"
#include "backend_open.h"
#include "bench.h"
#include "commands.h"

int cmd_bench(int argc, char **argv) {
    ditc_bench_args a = {.model = "DiT-S/2",
                         .batch = 8,
                         .side = 32,
                         .channels = 4,
                         .num_classes = 1000,
                         .steps = 5,
                         .warmup = 3,
                         .gemm_size = 2048};
    int threads = 0;
    const char *device = NULL, *precision = NULL;
    arg_def defs[] = {
        {"--model", ARG_STR, &a.model, "DiT-S/2 ... DiT-XL/8, LDiT-600M|3B|7B (default DiT-S/2)", 0},
        {"--depth", ARG_INT, &a.depth, "override depth", 0},
        {"--hidden-size", ARG_INT, &a.hidden, "override hidden size", 0},
        {"--num-heads", ARG_INT, &a.heads, "override heads", 0},
        {"--patch-size", ARG_INT, &a.patch, "override patch size", 0},
        {"--batch", ARG_INT, &a.batch, "images per step (default 8)", 0},
        {"--image-size", ARG_INT, &a.side, "input side, e.g. latent 32 for 256px (default 32)", 0},
        {"--channels", ARG_INT, &a.channels, "input channels (default 4, latents)", 0},
        {"--num-classes", ARG_INT, &a.num_classes, "classes (default 1000)", 0},
        {"--steps", ARG_INT, &a.steps, "timed steps (default 5)", 0},
        {"--warmup", ARG_INT, &a.warmup, "untimed warm-up steps (default 3: the arena settles after step 2)", 0},
        {"--grad-checkpointing", ARG_BOOL, &a.grad_checkpointing, "recompute blocks in backward", 0},
        {"--grad-checkpoint", ARG_BOOL, &a.grad_checkpointing, "the same as --grad-checkpointing", 0},
        {"--gemm-size", ARG_INT, &a.gemm_size, "side of the reference sgemm (default 2048)", 0},
        {"--profile", ARG_BOOL, &a.profile,
         "per-kernel time table of the timed steps (every backend call between timer marks: CUDA events, no "
         "synchronisation inside the step) and the GEMM shapes with their TFLOP/s",
         0},
        {"--device", ARG_STR, &device, "cpu (default), cuda or cuda:N", 0},
        {"--precision", ARG_STR, &precision,
         "GEMM/attention arithmetic: fp32 (default), tf32 (cuda) or bf16 (cuda; on the cpu an emulation for "
         "cross-checks)",
         0},
        {"--threads", ARG_INT, &threads, "CPU threads (default: OMP_NUM_THREADS or all cores)", 0},
    };
    int r = args_parse("bench", argc, argv, defs, (int)(sizeof defs / sizeof *defs), "[--model DiT-S/2] [flags]");
    if (r) return r == 1 ? 0 : r;
    if (a.gemm_size < 64 || a.gemm_size > 16384) {
        fprintf(stderr, "ditc bench: --gemm-size must be in 64..16384\n");
        return 2;
    }
    ditc_status st = {0};
    ditc_backend *be = ditc_backend_open(device, precision, threads, &st);
    if (!be) {
        fprintf(stderr, "ditc bench: %s\n", st.message);
        return 1;
    }
    r = ditc_bench_run(be, &a, &st);
    be->destroy(be);
    if (r) {
        fprintf(stderr, "ditc bench: %s\n", st.message);
        return 1;
    }
    return 0;
}
