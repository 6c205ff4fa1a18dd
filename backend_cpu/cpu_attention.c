// cpu_attention.c — fused multi-head attention on the packed qkv layout, forward and backward.
//
// One (batch, head) pair per OpenMP iteration; inside, single-threaded sgemm calls (OpenBLAS runs
// serially inside a parallel region) on strided views of the packed (B, T, 3D) tensor. The forward keeps
// only the log-sum-exp of the scaled scores (B, H, T); backward recomputes the probabilities from it.
// Also the row softmax entries of the GEMM attention (core/ops/ops_attention_gemm.c), with the same row code.
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_backend.h"
#include "cpu_kernels.h"
#include "cpu_math.h"

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// P (T, T) = scale · Q Kᵀ (the raw scaled scores).
static void scores(const float *q, const float *k, int64_t T, int64_t hd, int64_t ld, float scale, float *P) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, scale, q, (int)ld, k, (int)ld, 0.0f,
                P, (int)T);
}

// row (n) = softmax(row) in place; returns the log-sum-exp.
static float softmax_row(float *row, int64_t n) {
    float m = ditc_vmaxf(row, n);
#pragma omp simd
    for (int64_t j = 0; j < n; j++) row[j] = ditc_vexpf(row[j] - m);
    double s = 0.0; // a loop of its own: with the exp inside the double reduction GCC vectorised neither
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; j++) s += row[j];
    float inv = (float)(1.0 / s);
    for (int64_t j = 0; j < n; j++) row[j] *= inv;
    return m + (float)log(s);
}

void cpu_attn_fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads) {
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3, H = heads, hd = D / H;
    float scale = 1.0f / sqrtf((float)hd);
    int nth = ditc_cpu_threads();
    float *work = cpu_scratch(be, (size_t)nth * (size_t)(T * T));
    const float *base = CF32(qkv);
    float *o = F32(out), *l = F32(lse);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        float *P = work + (size_t)thread_id() * (size_t)(T * T);
        const float *q = base + b * T * 3 * D + h * hd, *k = q + D, *v = q + 2 * D;
        scores(q, k, T, hd, 3 * D, scale, P);
        for (int64_t i = 0; i < T; i++) l[bh * T + i] = softmax_row(P + i * T, T);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, P, (int)T, v,
                    (int)(3 * D), 0.0f, o + b * T * D + h * hd, (int)D);
    }
}

void cpu_attn_bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                  const ditc_tensor *out, const ditc_tensor *lse, int heads, int acc) {
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3, H = heads, hd = D / H;
    float scale = 1.0f / sqrtf((float)hd), beta = acc ? 1.0f : 0.0f;
    int nth = ditc_cpu_threads();
    float *work = cpu_scratch(be, (size_t)nth * (size_t)(2 * T * T + T));
    const float *base = CF32(qkv), *l = CF32(lse), *dob = CF32(dout), *ob = CF32(out);
    float *gbase = F32(dqkv);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        float *P = work + (size_t)thread_id() * (size_t)(2 * T * T + T), *dP = P + T * T, *Di = dP + T * T;
        const float *q = base + b * T * 3 * D + h * hd, *k = q + D, *v = q + 2 * D;
        const float *dO = dob + b * T * D + h * hd, *O = ob + b * T * D + h * hd;
        float *dq = gbase + b * T * 3 * D + h * hd, *dk = dq + D, *dv = dq + 2 * D;
        scores(q, k, T, hd, 3 * D, scale, P);
        for (int64_t i = 0; i < T; i++) {
            float li = l[bh * T + i];
#pragma omp simd
            for (int64_t j = 0; j < T; j++) P[i * T + j] = ditc_vexpf(P[i * T + j] - li);
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < hd; j++) s += (double)dO[i * D + j] * O[i * D + j];
            Di[i] = (float)s;
        }
        // dV = Pᵀ dO ; dP = dO Vᵀ
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, P, (int)T, dO, (int)D, beta,
                    dv, (int)(3 * D));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, 1.0f, dO, (int)D, v, (int)(3 * D),
                    0.0f, dP, (int)T);
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) dP[i * T + j] = P[i * T + j] * (dP[i * T + j] - Di[i]); // dS
        // dQ = scale · dS K ; dK = scale · dSᵀ Q
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, scale, dP, (int)T, k,
                    (int)(3 * D), beta, dq, (int)(3 * D));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)hd, (int)T, scale, dP, (int)T, q,
                    (int)(3 * D), beta, dk, (int)(3 * D));
    }
}

void cpu_softmax_fwd(ditc_backend *be, ditc_tensor *x, ditc_tensor *lse, ditc_tensor *p16, int flags) {
    (void)be;
    int64_t C = ditc_last_dim(x), R = x->numel / C;
    float *p = F32(x), *l = F32(lse);
    uint16_t *h = p16 ? p16->data : NULL; // the probabilities rounded once (the next GEMM's bf16 operand)
    int keep = h && (flags & DITC_SOFTMAX_ONLY_P16), recompute = flags & DITC_SOFTMAX_RECOMPUTE;
#pragma omp parallel
    {
        float *tmp = keep ? ditc_xmalloc((size_t)C * sizeof(float)) : NULL; // x left as it is: the row computed here
#pragma omp for schedule(static)
        for (int64_t r = 0; r < R; r++) {
            float *row = p + r * C;
            if (keep) row = memcpy(tmp, row, (size_t)C * sizeof(float));
            if (!recompute) {
                l[r] = softmax_row(row, C);
            } else {
                float lr = l[r];
#pragma omp simd
                for (int64_t j = 0; j < C; j++) row[j] = ditc_vexpf(row[j] - lr);
            }
            if (h)
                for (int64_t j = 0; j < C; j++) h[r * C + j] = ditc_f32_to_bf16(row[j]);
        }
        free(tmp);
    }
}

void cpu_softmax_bwd(ditc_backend *be, ditc_tensor *dx, const ditc_tensor *y, ditc_tensor *ds16) {
    (void)be;
    int64_t C = ditc_last_dim(dx), R = dx->numel / C;
    float *d = F32(dx);
    const float *p = y->dtype == DITC_F32 ? CF32(y) : NULL; // else the forward's kept bf16 probabilities
    uint16_t *h = ds16 ? ds16->data : NULL;                 // dS rounded once (the dQ/dK GEMMs' bf16 operand); dx left
#pragma omp parallel
    {
        float *yb = p ? NULL : ditc_xmalloc((size_t)C * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < R; r++) {
            float *dr = d + r * C;
            const float *pr = p ? p + r * C : yb;
            if (!p)
                for (int64_t j = 0; j < C; j++) yb[j] = ditc_bf16_to_f32(((const uint16_t *)y->data)[r * C + j]);
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < C; j++) s += (double)pr[j] * dr[j];
            float sf = (float)s;
            if (h) {
                for (int64_t j = 0; j < C; j++) h[r * C + j] = ditc_f32_to_bf16(pr[j] * (dr[j] - sf));
                continue;
            }
#pragma omp simd
            for (int64_t j = 0; j < C; j++) dr[j] = pr[j] * (dr[j] - sf);
        }
        free(yb);
    }
}
