// cpu_vae.c — the VAE's other forward kernels: GroupNorm (+ fused SiLU), nearest ×2 upsampling and
// single-head spatial attention in the channel-major (B, C, T) layout.
//
// GroupNorm statistics are two-pass sums in double (8 interleaved partial sums) over each contiguous
// (C/G)·H·W block, one block per OpenMP iteration (fixed order: the result does not depend on the thread count). Attention processes the
// queries in bands so the score matrix stays under DITC_ATTN_CHUNK_FLOATS floats.
#include <math.h>

#include "cpu_backend.h"
#include "cpu_kernels.h"
#include "cpu_math.h"

#define DITC_ATTN_CHUNK_FLOATS ((int64_t)4 << 20)

// Σ x (sq = 0) or Σ (x − mean)² (sq = 1) in double, in GN_LANES interleaved partial sums added in a fixed
// order at the end (vectorisable; the same result on any thread count).
#define GN_LANES 8
static double gn_sum(const float *x, int64_t n, double mean, int sq) {
    double acc[GN_LANES] = {0};
    int64_t n8 = n / GN_LANES * GN_LANES;
    for (int64_t i = 0; i < n8; i += GN_LANES)
        for (int l = 0; l < GN_LANES; l++) {
            double e = (double)x[i + l] - mean;
            acc[l] += sq ? e * e : e;
        }
    double t = 0.0;
    for (int64_t i = n8; i < n; i++) {
        double e = (double)x[i] - mean;
        t += sq ? e * e : e;
    }
    for (int l = 0; l < GN_LANES; l++) t += acc[l];
    return t;
}

void cpu_group_norm_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                        const ditc_tensor *b, int groups, float eps, int silu) {
    (void)be;
    int64_t B = x->shape[0], C = x->shape[1], HW = x->numel / (B * C), cg = C / groups, n = cg * HW;
    const float *xd = CF32(x), *wd = w ? CF32(w) : NULL, *bd = b ? CF32(b) : NULL;
    float *yd = F32(y);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bg = 0; bg < B * groups; bg++) {
        const float *xs = xd + bg * n;
        float *ys = yd + bg * n;
        double s = gn_sum(xs, n, 0.0, 0), mean = s / (double)n, v = gn_sum(xs, n, mean, 1);
        float rstd = (float)(1.0 / sqrt(v / (double)n + (double)eps)), mu = (float)mean;
        for (int64_t j = 0; j < cg; j++) {
            int64_t c = (bg % groups) * cg + j;
            float a = rstd * (wd ? wd[c] : 1.0f), sh = (bd ? bd[c] : 0.0f) - mu * a;
            const float *xr = xs + j * HW;
            float *yr = ys + j * HW;
            if (silu) {
#pragma omp simd
                for (int64_t i = 0; i < HW; i++) {
                    float t = xr[i] * a + sh;
                    yr[i] = t / (1.0f + ditc_vexpf(-t));
                }
            } else {
#pragma omp simd
                for (int64_t i = 0; i < HW; i++) yr[i] = xr[i] * a + sh;
            }
        }
    }
}

void cpu_upsample2x_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x) {
    (void)be;
    int64_t BC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3];
    const float *xd = CF32(x);
    float *yd = F32(y);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < BC * H; r++) {
        const float *src = xd + r * W;
        float *d0 = yd + r * 4 * W, *d1 = d0 + 2 * W;
        for (int64_t i = 0; i < W; i++) d0[2 * i] = d0[2 * i + 1] = src[i];
        for (int64_t i = 0; i < 2 * W; i++) d1[i] = d0[i];
    }
}

void cpu_spatial_attn_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *q, const ditc_tensor *k,
                          const ditc_tensor *v, float scale) {
    int64_t B = q->shape[0], C = q->shape[1], T = q->numel / (B * C);
    int64_t tq = DITC_ATTN_CHUNK_FLOATS / T;
    if (tq < 1) tq = 1;
    if (tq > T) tq = T;
    float *S = cpu_scratch(be, (size_t)(tq * T));
    for (int64_t s = 0; s < B; s++) {
        const float *qs = CF32(q) + s * C * T, *ks = CF32(k) + s * C * T, *vs = CF32(v) + s * C * T;
        float *os = F32(out) + s * C * T;
        for (int64_t t0 = 0; t0 < T; t0 += tq) {
            int64_t n = T - t0 < tq ? T - t0 : tq;
            // S (n, T) = scale · q[:, t0:t0+n]ᵀ k
            cpu_sgemm_cols(1, 0, n, T, C, scale, qs + t0, T, ks, T, 0.0f, S, T);
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < n; i++) {
                float *row = S + i * T, m = ditc_vmaxf(row, T);
#pragma omp simd
                for (int64_t j = 0; j < T; j++) row[j] = ditc_vexpf(row[j] - m);
                double sum = 0.0; // its own loop: the exp inside the double reduction stopped vectorisation
#pragma omp simd reduction(+ : sum)
                for (int64_t j = 0; j < T; j++) sum += row[j];
                float inv = (float)(1.0 / sum);
                for (int64_t j = 0; j < T; j++) row[j] *= inv;
            }
            // out[:, t0:t0+n] (C, n) = v (C, T) · Sᵀ (T, n)
            cpu_sgemm_cols(0, 1, C, n, T, 1.0f, vs, T, S, T, 0.0f, os + t0, T);
        }
    }
}
