// cpu_llama.c — the LLaMA-style (Large-DiT) pieces: RMSNorm, LayerNorm with affine (QK-norm), 1-D RoPE,
// and the SwiGLU gate silu(a)·b.
//
// Row statistics are accumulated in double in index order; the weight/bias gradients (sums over rows)
// run one thread per block of 64 columns with a sequential row loop, so every result is independent of
// the thread count (bit-for-bit deterministic).
#include <math.h>

#include "cpu_kernels.h"
#include "cpu_math.h"

#define PAR_MIN 32768 // below this many elements a loop stays on one thread
#define CBLK    64    // columns per thread in the weight-gradient reductions

static inline int64_t last_dim(const ditc_tensor *x) { return x->shape[x->ndim - 1]; }

// dw[d] (+)= Σ_r dy[r, d]·xhat[r, d], db[d] (+)= Σ_r dy[r, d] with xhat = (x − mean[r])·rstd[r]
// (mean NULL: xhat = x·rstd, RMSNorm). Fixed order: sequential over rows per column.
static void affine_grads(int64_t R, int64_t D, const float *g, const float *xd, const float *md, const float *rd,
                         float *gw, float *gb, int acc_w, int acc_b) {
    int64_t nblk = (D + CBLK - 1) / CBLK;
#pragma omp parallel for schedule(static) if (R * D > PAR_MIN)
    for (int64_t q = 0; q < nblk; q++) {
        int64_t d0 = q * CBLK, d1 = d0 + CBLK < D ? d0 + CBLK : D;
        double sw[CBLK] = {0}, sb[CBLK] = {0};
        for (int64_t r = 0; r < R; r++) {
            const float *xr = xd + r * D, *gr = g + r * D;
            float mu = md ? md[r] : 0.0f, rs = rd[r];
            for (int64_t d = d0; d < d1; d++) {
                sw[d - d0] += (double)gr[d] * ((xr[d] - mu) * rs);
                sb[d - d0] += gr[d];
            }
        }
        for (int64_t d = d0; d < d1; d++) {
            if (gw) gw[d] = acc_w ? gw[d] + (float)sw[d - d0] : (float)sw[d - d0];
            if (gb) gb[d] = acc_b ? gb[d] + (float)sb[d - d0] : (float)sb[d - d0];
        }
    }
}

// ---- RMSNorm ---------------------------------------------------------------------------------
void cpu_rms_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *rstd, const ditc_tensor *x, const ditc_tensor *w,
                      float eps) {
    (void)be;
    int64_t D = last_dim(x), R = x->numel / D;
    const float *xd = CF32(x), *wd = w ? CF32(w) : NULL;
    float *yd = F32(y), *rd = F32(rstd);
#pragma omp parallel for schedule(static) if (R * D > PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *xr = xd + r * D;
        float *yr = yd + r * D;
        double s = 0.0;
        for (int64_t d = 0; d < D; d++) s += (double)xr[d] * xr[d];
        float rs = (float)(1.0 / sqrt(s / (double)D + (double)eps));
        rd[r] = rs;
        if (wd) {
#pragma omp simd
            for (int64_t d = 0; d < D; d++) yr[d] = (xr[d] * rs) * wd[d]; // LLaMA order: (x·rstd)·w
        } else {
#pragma omp simd
            for (int64_t d = 0; d < D; d++) yr[d] = xr[d] * rs;
        }
    }
}

// dx = rstd·(g' − x·rstd²·mean(g'·x)), g' = dy·w;  dw = Σ_rows dy·x·rstd
void cpu_rms_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, const ditc_tensor *dy, const ditc_tensor *x,
                      const ditc_tensor *w, const ditc_tensor *rstd, int acc_x, int acc_w) {
    (void)be;
    int64_t D = last_dim(x), R = x->numel / D;
    const float *xd = CF32(x), *g = CF32(dy), *rd = CF32(rstd), *wd = w ? CF32(w) : NULL;
    if (dx) {
        float *gx = F32(dx);
#pragma omp parallel for schedule(static) if (R * D > PAR_MIN)
        for (int64_t r = 0; r < R; r++) {
            const float *xr = xd + r * D, *gr = g + r * D;
            float *out = gx + r * D;
            float rs = rd[r];
            double s = 0.0;
            for (int64_t d = 0; d < D; d++) s += (double)(wd ? gr[d] * wd[d] : gr[d]) * xr[d];
            float k = rs * rs * (float)(s / (double)D);
            if (acc_x) {
#pragma omp simd
                for (int64_t d = 0; d < D; d++) out[d] += rs * ((wd ? gr[d] * wd[d] : gr[d]) - xr[d] * k);
            } else {
#pragma omp simd
                for (int64_t d = 0; d < D; d++) out[d] = rs * ((wd ? gr[d] * wd[d] : gr[d]) - xr[d] * k);
            }
        }
    }
    if (dw) affine_grads(R, D, g, xd, NULL, rd, F32(dw), NULL, acc_w, 0);
}

// ---- LayerNorm with optional affine ---------------------------------------------------------------
void cpu_layer_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd, const ditc_tensor *x,
                        const ditc_tensor *w, const ditc_tensor *b, float eps) {
    (void)be;
    int64_t D = last_dim(x), R = x->numel / D;
    const float *xd = CF32(x), *wd = w ? CF32(w) : NULL, *bd = b ? CF32(b) : NULL;
    float *yd = F32(y), *md = F32(mean), *rd = F32(rstd);
#pragma omp parallel for schedule(static) if (R * D > PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *xr = xd + r * D;
        float *yr = yd + r * D;
        float mu, rs;
        cpu_row_mean_rstd(xr, D, eps, &mu, &rs);
        md[r] = mu;
        rd[r] = rs;
#pragma omp simd
        for (int64_t d = 0; d < D; d++) {
            float h = (xr[d] - mu) * rs;
            if (wd) h *= wd[d];
            if (bd) h += bd[d];
            yr[d] = h;
        }
    }
}

// dx = rstd·(g' − mean(g') − xhat·mean(g'·xhat)), g' = dy·w;  dw = Σ dy·xhat, db = Σ dy
void cpu_layer_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, ditc_tensor *db, const ditc_tensor *dy,
                        const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *mean, const ditc_tensor *rstd,
                        int acc_x, int acc_w, int acc_b) {
    (void)be;
    int64_t D = last_dim(x), R = x->numel / D;
    const float *xd = CF32(x), *g = CF32(dy), *md = CF32(mean), *rd = CF32(rstd), *wd = w ? CF32(w) : NULL;
    if (dx) {
        float *gx = F32(dx);
#pragma omp parallel for schedule(static) if (R * D > PAR_MIN)
        for (int64_t r = 0; r < R; r++) {
            const float *xr = xd + r * D, *gr = g + r * D;
            float *out = gx + r * D;
            float mu = md[r], rs = rd[r];
            double s1 = 0.0, s2 = 0.0;
            for (int64_t d = 0; d < D; d++) {
                float gp = wd ? gr[d] * wd[d] : gr[d];
                s1 += gp;
                s2 += (double)gp * ((xr[d] - mu) * rs);
            }
            float m1 = (float)(s1 / (double)D), m2 = (float)(s2 / (double)D);
#pragma omp simd
            for (int64_t d = 0; d < D; d++) {
                float gp = wd ? gr[d] * wd[d] : gr[d];
                float v = rs * (gp - m1 - (xr[d] - mu) * rs * m2);
                out[d] = acc_x ? out[d] + v : v;
            }
        }
    }
    if (dw || db) affine_grads(R, D, g, xd, md, rd, dw ? F32(dw) : NULL, db ? F32(db) : NULL, acc_w, acc_b);
}

// ---- RoPE ----------------------------------------------------------------------------------------
// x, y (B, T, H·hd). Angle t·f_i, f_i = 1 / theta^(2i/hd), computed in double and rounded to float
// (cos and sin tables (T, hd/2) built once per shape, cpu_rope_table). inverse rotates by −angle (the backward).
// y may alias x when acc = 0 (each pair is read before it is written).
void cpu_rope(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int heads, float theta, int inverse, int acc) {
    int64_t B = x->shape[0], T = x->shape[1], C = x->shape[2], hd = C / heads, P = hd / 2;
    const float *tab = cpu_rope_table(be, T, hd, theta);
    const float *cs = tab, *sn = tab + T * P;
    const float sg = inverse ? -1.0f : 1.0f; // exact: sin(−a) rounds to −(sin a rounded)
    const float *xd = CF32(x);
    float *yd = F32(y);
#pragma omp parallel for schedule(static) if (B * T * C > PAR_MIN)
    for (int64_t row = 0; row < B * T; row++) {
        const float *c = cs + (row % T) * P, *s = sn + (row % T) * P;
        for (int64_t h = 0; h < heads; h++) {
            const float *xr = xd + row * C + h * hd;
            float *yr = yd + row * C + h * hd;
            if (acc) {
#pragma omp simd
                for (int64_t i = 0; i < P; i++) {
                    float a = xr[2 * i], b = xr[2 * i + 1], si = sg * s[i];
                    yr[2 * i] += a * c[i] - b * si;
                    yr[2 * i + 1] += a * si + b * c[i];
                }
            } else {
#pragma omp simd
                for (int64_t i = 0; i < P; i++) {
                    float a = xr[2 * i], b = xr[2 * i + 1], si = sg * s[i];
                    yr[2 * i] = a * c[i] - b * si;
                    yr[2 * i + 1] = a * si + b * c[i];
                }
            }
        }
    }
}

// ---- SwiGLU gate: out = silu(a)·b --------------------------------------------------------------
// ---- SwiGLU with bf16 tensors (at bf16 precision: w1/w3 outputs, their gradients): spans widened to F32, computed as
// the F32 loops below compute them, each result rounded once. The all-F32 loops stay apart (they vectorise).
#define SWIGLU_SPAN 4096
static int swiglu_bf16(const ditc_tensor *t) { return t && t->dtype == DITC_BF16; }
static const float *span_f32(const ditc_tensor *t, int64_t i0, int64_t len, float *buf) {
    if (t->dtype == DITC_F32) return CF32(t) + i0;
    const uint16_t *h = (const uint16_t *)t->data + i0;
    for (int64_t i = 0; i < len; i++) buf[i] = ditc_bf16_to_f32(h[i]);
    return buf;
}
static void span_store(ditc_tensor *t, int64_t i0, int64_t len, const float *v, int acc) {
    if (t->dtype == DITC_BF16) {
        DITC_CHECK(!acc, "swiglu: a BF16 gradient is written, not accumulated");
        uint16_t *h = (uint16_t *)t->data + i0;
        for (int64_t i = 0; i < len; i++) h[i] = ditc_f32_to_bf16(v[i]);
    } else {
        float *f = F32(t) + i0;
        for (int64_t i = 0; i < len; i++) f[i] = acc ? f[i] + v[i] : v[i];
    }
}
static void swiglu_spans(ditc_tensor *out, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout,
                         const ditc_tensor *a, const ditc_tensor *b, int acc_a, int acc_b) {
    int64_t n = a->numel, spans = (n + SWIGLU_SPAN - 1) / SWIGLU_SPAN;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t q = 0; q < spans; q++) {
        int64_t i0 = q * SWIGLU_SPAN, len = n - i0 < SWIGLU_SPAN ? n - i0 : SWIGLU_SPAN;
        float ab[SWIGLU_SPAN], bb[SWIGLU_SPAN], r[SWIGLU_SPAN];
        const float *ad = span_f32(a, i0, len, ab), *bd = span_f32(b, i0, len, bb);
        if (out) {
            for (int64_t i = 0; i < len; i++) r[i] = (ad[i] / (1.0f + ditc_vexpf(-ad[i]))) * bd[i];
            span_store(out, i0, len, r, 0);
            continue;
        }
        const float *g = CF32(dout) + i0;
        if (da) {
            for (int64_t i = 0; i < len; i++) {
                float s = 1.0f / (1.0f + ditc_vexpf(-ad[i]));
                r[i] = g[i] * bd[i] * (s * (1.0f + ad[i] * (1.0f - s)));
            }
            span_store(da, i0, len, r, acc_a);
        }
        if (db) {
            for (int64_t i = 0; i < len; i++) r[i] = g[i] * (ad[i] / (1.0f + ditc_vexpf(-ad[i])));
            span_store(db, i0, len, r, acc_b);
        }
    }
}

void cpu_swiglu_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b) {
    (void)be;
    if (swiglu_bf16(a) || swiglu_bf16(b)) return swiglu_spans(out, NULL, NULL, NULL, a, b, 0, 0);
    const float *ad = CF32(a), *bd = CF32(b);
    int64_t n = out->numel;
    if (out->dtype == DITC_BF16) { // w2's bf16 operand, each value rounded once
        uint16_t *o = out->data;
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) o[i] = ditc_f32_to_bf16((ad[i] / (1.0f + ditc_vexpf(-ad[i]))) * bd[i]);
        return;
    }
    float *o = F32(out);
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) o[i] = (ad[i] / (1.0f + ditc_vexpf(-ad[i]))) * bd[i];
}

// da = dy·b·σ(a)·(1 + a·(1 − σ(a))), db = dy·silu(a)
void cpu_swiglu_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout, const ditc_tensor *a,
                    const ditc_tensor *b, int acc_a, int acc_b) {
    (void)be;
    if (swiglu_bf16(a) || swiglu_bf16(b) || swiglu_bf16(da) || swiglu_bf16(db))
        return swiglu_spans(NULL, da, db, dout, a, b, acc_a, acc_b);
    const float *ad = CF32(a), *bd = CF32(b), *g = CF32(dout);
    float *ga = da ? F32(da) : NULL, *gb = db ? F32(db) : NULL;
    int64_t n = dout->numel;
    if (ga) {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            float s = 1.0f / (1.0f + ditc_vexpf(-ad[i]));
            float v = g[i] * bd[i] * (s * (1.0f + ad[i] * (1.0f - s)));
            ga[i] = acc_a ? ga[i] + v : v;
        }
    }
    // The accumulate flag outside the loops: with `acc ? gb[i] + v : v` inside, GCC left this one scalar
    // (a conditional load it cannot if-convert: ~20 ns per element).
    if (gb && acc_b) {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) gb[i] += g[i] * (ad[i] / (1.0f + ditc_vexpf(-ad[i])));
    } else if (gb) {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) gb[i] = g[i] * (ad[i] / (1.0f + ditc_vexpf(-ad[i])));
    }
}
