// cpu_flash.c — the flash attention entries (core/tensor/backend.h flash_fwd / flash_bwd) on the CPU: the exact
// arithmetic the CUDA kernels do with tensor cores, in plain loops — q, k, v, the probabilities and dS rounded to bf16
// (the matrix units' operands), scores and sums in F32, the forward over blocks of DITC_FLASH_BLOCK keys with a
// running maximum — so that the GPU's flash path has a reference (test_gpu_parity) and the CPU's bf16 emulation can
// run it. One (batch, head) pair per OpenMP iteration; nothing of size T² is stored.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_backend.h"
#include "cpu_kernels.h"

static float r16(float x) { return ditc_bf16_to_f32(ditc_f32_to_bf16(x)); }

static float get(const ditc_tensor *t, int64_t i) {
    return t->dtype == DITC_BF16 ? ditc_bf16_to_f32(((const uint16_t *)t->data)[i]) : CF32(t)[i];
}

static void put(ditc_tensor *t, int64_t i, float v) {
    if (t->dtype == DITC_BF16) ((uint16_t *)t->data)[i] = ditc_f32_to_bf16(v);
    else F32(t)[i] = v;
}

// rows [0, T) of head h, batch b, part `part` (0 q, 1 k, 2 v) of the packed qkv, rounded to bf16: x (T, hd)
static void load_head(const ditc_tensor *qkv, int64_t b, int64_t h, int part, int64_t T, int64_t D, int64_t hd,
                      float *x) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t d = 0; d < hd; d++) x[t * hd + d] = r16(get(qkv, (b * T + t) * 3 * D + part * D + h * hd + d));
}

static float dot(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static int64_t threads_of(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int64_t thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void cpu_flash_fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads) {
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3, H = heads, hd = D / H;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t per = 3 * T * hd + 2 * hd + DITC_FLASH_BLOCK; // q, k, v, o, the block's scores
    float *work = cpu_scratch(be, (size_t)(threads_of() * per));
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        float *q = work + thread_id() * per, *k = q + T * hd, *v = k + T * hd, *o = v + T * hd, *s = o + hd;
        load_head(qkv, b, h, 0, T, D, hd, q);
        load_head(qkv, b, h, 1, T, D, hd, k);
        load_head(qkv, b, h, 2, T, D, hd, v);
        for (int64_t i = 0; i < T; i++) {
            float m = -INFINITY, l = 0.0f;
            memset(o, 0, (size_t)hd * sizeof(float));
            for (int64_t j0 = 0; j0 < T; j0 += DITC_FLASH_BLOCK) {
                int64_t n = T - j0 < DITC_FLASH_BLOCK ? T - j0 : DITC_FLASH_BLOCK;
                float mb = m;
                for (int64_t j = 0; j < n; j++) {
                    s[j] = scale * dot(q + i * hd, k + (j0 + j) * hd, hd);
                    mb = fmaxf(mb, s[j]);
                }
                float alpha = expf(m - mb), sum = 0.0f; // (exp(-inf) = 0 on the first block)
                for (int64_t d = 0; d < hd; d++) o[d] *= alpha;
                for (int64_t j = 0; j < n; j++) {
                    float p = expf(s[j] - mb), ph = r16(p);
                    sum += p;
                    for (int64_t d = 0; d < hd; d++) o[d] += ph * v[(j0 + j) * hd + d];
                }
                l = l * alpha + sum;
                m = mb;
            }
            for (int64_t d = 0; d < hd; d++) put(out, (b * T + i) * D + h * hd + d, o[d] / l);
            F32(lse)[bh * T + i] = m + logf(l);
        }
    }
}

void cpu_flash_bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                   const ditc_tensor *out, const ditc_tensor *lse, int heads) {
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3, H = heads, hd = D / H;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t per = 7 * T * hd + T; // q, k, v, dô, dq, dk, dv, D
    float *work = cpu_scratch(be, (size_t)(threads_of() * per));
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t b = bh / H, h = bh % H;
        float *q = work + thread_id() * per, *k = q + T * hd, *v = k + T * hd, *g = v + T * hd, *dq = g + T * hd,
              *dk = dq + T * hd, *dv = dk + T * hd, *Di = dv + T * hd;
        load_head(qkv, b, h, 0, T, D, hd, q);
        load_head(qkv, b, h, 1, T, D, hd, k);
        load_head(qkv, b, h, 2, T, D, hd, v);
        memset(dq, 0, (size_t)(3 * T * hd) * sizeof(float));
        for (int64_t i = 0; i < T; i++) {
            float di = 0.0f;
            for (int64_t d = 0; d < hd; d++) {
                int64_t at = (b * T + i) * D + h * hd + d;
                float go = get(dout, at);
                di += go * get(out, at);
                g[i * hd + d] = r16(go);
            }
            Di[i] = di;
        }
        for (int64_t i = 0; i < T; i++) {
            float l = CF32(lse)[bh * T + i];
            for (int64_t j = 0; j < T; j++) {
                float p = expf(scale * dot(q + i * hd, k + j * hd, hd) - l);
                float ds = r16(p * (dot(g + i * hd, v + j * hd, hd) - Di[i])), ph = r16(p);
                for (int64_t d = 0; d < hd; d++) {
                    dv[j * hd + d] += ph * g[i * hd + d];
                    dk[j * hd + d] += ds * q[i * hd + d];
                    dq[i * hd + d] += ds * k[j * hd + d];
                }
            }
        }
        for (int64_t t = 0; t < T; t++)
            for (int64_t d = 0; d < hd; d++) {
                int64_t at = (b * T + t) * 3 * D + h * hd + d;
                put(dqkv, at, scale * dq[t * hd + d]);
                put(dqkv, at + D, scale * dk[t * hd + d]);
                put(dqkv, at + 2 * D, dv[t * hd + d]);
            }
    }
}
