// bench.h — `ditc bench`: times full training steps (forward, loss, backward, AdamW, EMA) of a config
// and batch, and reports images/s, ms/step (median), achieved GFLOP/s against the measured sgemm rate,
// and the activation arena's peak.
#ifndef DITC_BENCH_H
#define DITC_BENCH_H

#include "backend.h"
#include "common.h"

typedef struct {
    const char *model;
    int depth, hidden, heads, patch; // overrides (0 = from the model name)
    int batch, side, channels, num_classes, steps, warmup, grad_checkpointing, gemm_size;
    int profile; // per-kernel table of the timed steps (core/device/profile_backend.h)
} ditc_bench_args;

int ditc_bench_run(ditc_backend *be, const ditc_bench_args *a, ditc_status *st);
// Median GFLOP/s of an n×n×n sgemm through the backend (the CPU "peak").
double ditc_bench_sgemm(ditc_backend *be, int64_t n, int reps);

// Dense peak TFLOP/s of a GPU (by device name and compute capability) for the arithmetic of `prec`
// (bf16/tf32 on tensor cores, fp32 on the SIMT units); 0 when the card is not in the table.
double ditc_gpu_dense_peak_tflops(const char *name, int cc_major, int cc_minor, ditc_precision prec);

#endif
