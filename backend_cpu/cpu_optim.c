// cpu_optim.c — AdamW (torch.optim.AdamW arithmetic) fused with the EMA update, plain EMA, the squared
// norm for gradient clipping, and buffer scaling. All on flat F32 buffers.
#include <math.h>

#include "cpu_kernels.h"

#define CHUNK 65536

void cpu_adamw(ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, size_t n, ditc_adamw_args a) {
    (void)be;
    float decay = a.decay, b1c = a.one_minus_beta1, b2c = a.one_minus_beta2, ed = a.one_minus_ema_decay;
    int wd = a.decay != 1.0f;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float pi = wd ? p[i] * decay : p[i];
        float mi = m[i] * a.beta1 + b1c * g[i];
        float vi = v[i] * a.beta2 + b2c * g[i] * g[i];
        float denom = sqrtf(vi) / a.bc2_sqrt + a.eps;
        pi = pi + -a.step_size * (mi / denom);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
        if (ema) ema[i] = ema[i] * a.ema_decay + ed * pi;
    }
}

void cpu_ema_update(ditc_backend *be, float *ema, const float *p, size_t n, float decay, float one_minus_decay) {
    (void)be;
    float ed = one_minus_decay;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) ema[i] = ema[i] * decay + ed * p[i];
}

double cpu_sum_squares(ditc_backend *be, const float *x, size_t n) {
    size_t nch = (n + CHUNK - 1) / CHUNK;
    double *part = (double *)cpu_scratch(be, 2 * (nch ? nch : 1));
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < nch; q++) {
        size_t i1 = (q + 1) * CHUNK < n ? (q + 1) * CHUNK : n;
        double s = 0.0;
        for (size_t i = q * CHUNK; i < i1; i++) s += (double)x[i] * x[i];
        part[q] = s;
    }
    double s = 0.0;
    for (size_t q = 0; q < nch; q++) s += part[q];
    return s;
}

void cpu_scale_buffer(ditc_backend *be, float *x, size_t n, float s) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
