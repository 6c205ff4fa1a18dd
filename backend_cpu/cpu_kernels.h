// cpu_kernels.h — the CPU backend's kernel functions (one file per family) and shared helpers.
#ifndef DITC_CPU_KERNELS_H
#define DITC_CPU_KERNELS_H

#include <math.h>

#include "backend.h"
#include "common.h"

#define F32(t)  ((float *)(t)->data)
#define CF32(t) ((const float *)(t)->data)

// LayerNorm statistics of one row: mean and 1/sqrt(biased variance + eps), two-pass in double.
static inline void cpu_row_mean_rstd(const float *x, int64_t D, float eps, float *mean, float *rstd) {
    double s = 0.0, v = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < D; d++) s += x[d];
    float mu = (float)(s / (double)D);
#pragma omp simd reduction(+ : v)
    for (int64_t d = 0; d < D; d++) {
        double e = x[d] - mu;
        v += e * e;
    }
    *mean = mu;
    *rstd = (float)(1.0 / sqrt(v / (double)D + (double)eps));
}

// A BF16 tensor's values as a new F32 array (ditc_xmalloc: the caller frees it).
float *cpu_widen_bf16(const ditc_tensor *t);
// Per-backend reusable scratch (grows, never shrinks; main thread only).
float *cpu_scratch(ditc_backend *be, size_t floats);
// RoPE's cos | sin tables ((T, hd/2) each, angle t / theta^(2i/hd)), kept until T, hd or theta change (main
// thread only, like the scratch).
const float *cpu_rope_table(ditc_backend *be, int64_t T, int64_t hd, float theta);

// The kernels: cpu_<entry> for every kernel entry of core/tensor/backend.h, declared from its lists and set
// into the backend by the same lists (cpu_backend.c); each is defined in the cpu_<family>.c of its kind.
#define DITC_CPU_DECLARE(ret, name, params, args) ret cpu_##name params;
DITC_BACKEND_KERNELS(DITC_CPU_DECLARE)
DITC_BACKEND_VAE_KERNELS(DITC_CPU_DECLARE)
DITC_BACKEND_FID_KERNELS(DITC_CPU_DECLARE)
DITC_BACKEND_SOPHIA_KERNELS(DITC_CPU_DECLARE)
#undef DITC_CPU_DECLARE

// Helpers shared between kernel files.
// cpu_sgemm_cols.c: row-major C = alpha·op(A)·op(B) + beta·C in fixed column blocks on single-threaded
// OpenBLAS (the same bits on any thread count). op(A) (M, K), op(B) (K, N), C (M, N).
void cpu_sgemm_cols(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
// The same blocks run on the calling thread (inside an OpenMP region, OpenBLAS set to one thread): the same bits.
void cpu_sgemm_cols_serial(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
// cpu_winograd.c: x (B, C, H, W), w (O, C, 3, 3), b (O) or NULL → y (B, O, H, W) (stride 1, pad 1; acc: y +=);
// V and M bands under band_floats floats (at least one tile row).
void cpu_conv3x3_winograd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                          const ditc_tensor *b, int acc, size_t band_floats);

#endif
