// cpu_optim.c — AdamW (torch.optim.AdamW arithmetic) fused with the EMA update, plain EMA, the squared
// norm for gradient clipping, and buffer scaling. All on flat F32 buffers (and AdamW's optional BF16 weight copy).
#include <math.h>

#include "cpu_kernels.h"

#define CHUNK 65536

// One element of AdamW (p·decay with decay = 1 when weight decay is 0 is exact, so no branch is needed).
#define ADAMW_ELEMENT(i)                                                                                               \
    float pi = p[i] * a.decay;                                                                                         \
    float mi = m[i] * a.beta1 + a.one_minus_beta1 * g[i];                                                              \
    float vi = v[i] * a.beta2 + a.one_minus_beta2 * g[i] * g[i];                                                       \
    pi = pi + -a.step_size * (mi / (sqrtf(vi) / a.bc2_sqrt + a.eps));                                                  \
    m[i] = mi;                                                                                                         \
    v[i] = vi;                                                                                                         \
    p[i] = pi

void cpu_adamw(ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, void *p16, size_t n,
               ditc_adamw_args a) {
    (void)be;
    if (p16) { // the bf16 weight copy written as well (core/tensor/params.h)
        uint16_t *h = p16;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            ADAMW_ELEMENT(i);
            if (ema) ema[i] = ema[i] * a.ema_decay + a.one_minus_ema_decay * pi;
            h[i] = ditc_f32_to_bf16(pi);
        }
    } else if (ema) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            ADAMW_ELEMENT(i);
            ema[i] = ema[i] * a.ema_decay + a.one_minus_ema_decay * pi;
        }
    } else {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) { ADAMW_ELEMENT(i); }
    }
}

void cpu_ema_update(ditc_backend *be, float *ema, const float *p, size_t n, float decay, float one_minus_decay) {
    (void)be;
    float ed = one_minus_decay;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) ema[i] = ema[i] * decay + ed * p[i];
}

void cpu_sum_squares(ditc_backend *be, double *out, const float *x, size_t n) {
    size_t nch = (n + CHUNK - 1) / CHUNK;
    double *part = (double *)cpu_scratch(be, 2 * (nch ? nch : 1));
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < nch; q++) {
        size_t i1 = (q + 1) * CHUNK < n ? (q + 1) * CHUNK : n;
        // 8 fixed lanes (one vector of doubles on AVX-512, two on AVX2): the same bits on any machine, and no
        // 4-cycle add latency per element as a single running sum has.
        double lane[8] = {0};
        size_t i = q * CHUNK;
        for (; i + 8 <= i1; i += 8)
#pragma omp simd
            for (int l = 0; l < 8; l++) lane[l] += (double)x[i + l] * x[i + l];
        for (int l = 0; i < i1; i++, l++) lane[l] += (double)x[i] * x[i];
        part[q] = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    }
    double s = 0.0;
    for (size_t q = 0; q < nch; q++) s += part[q];
    *out = s;
}

void cpu_scale_buffer(ditc_backend *be, float *x, size_t n, float s) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
