// cpu_norm.c — LayerNorm (no affine) fused with adaLN modulate, plain modulate, and the gated residual.
#include <math.h>
#include <stdlib.h>

#include "cpu_kernels.h"

// dshift[b, d] (+)= Σ_t dy, dscale[b, d] (+)= Σ_t dy · xhat with xhat = (x − mean)·rstd per row, or
// xhat = x when mean is NULL (plain modulate). One sequential sum per (b, 64-column block): the result
// does not depend on the thread count.
static void modulation_grads(int64_t B, int64_t T, int64_t D, const float *g, const float *xd, const float *md,
                             const float *rd, float *gsh, float *gsc, int acc_shift, int acc_scale) {
    int64_t nblk = (D + 63) / 64;
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
    for (int64_t q = 0; q < B * nblk; q++) {
        int64_t b = q / nblk, d0 = (q % nblk) * 64, d1 = d0 + 64 < D ? d0 + 64 : D;
        double ssh[64] = {0}, ssc[64] = {0};
        for (int64_t t = 0; t < T; t++) {
            int64_t row = b * T + t;
            const float *xr = xd + row * D, *gr = g + row * D;
            float mu = md ? md[row] : 0.0f, rs = md ? rd[row] : 1.0f;
            for (int64_t d = d0; d < d1; d++) {
                ssh[d - d0] += gr[d];
                ssc[d - d0] += (double)gr[d] * (md ? (xr[d] - mu) * rs : xr[d]);
            }
        }
        for (int64_t d = d0; d < d1; d++) {
            int64_t i = b * D + d;
            if (gsh) gsh[i] = acc_shift ? gsh[i] + (float)ssh[d - d0] : (float)ssh[d - d0];
            if (gsc) gsc[i] = acc_scale ? gsc[i] + (float)ssc[d - d0] : (float)ssc[d - d0];
        }
    }
}

// x (B, T, D); shift/scale (B, D) or NULL. mean/rstd (B, T).
void cpu_ln_mod_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd, const ditc_tensor *x,
                    const ditc_tensor *shift, const ditc_tensor *scale, float eps) {
    (void)be;
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    const float *xd = CF32(x), *sh = shift ? CF32(shift) : NULL, *sc = scale ? CF32(scale) : NULL;
    float *md = F32(mean), *rd = F32(rstd);
    int bf = y->dtype == DITC_BF16; // the next GEMM's bf16 operand, each value rounded once
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
    for (int64_t row = 0; row < B * T; row++) {
        int64_t b = row / T;
        const float *xr = xd + row * D;
        float mu, rs;
        cpu_row_mean_rstd(xr, D, eps, &mu, &rs);
        md[row] = mu;
        rd[row] = rs;
        const float *shb = sh ? sh + b * D : NULL, *scb = sc ? sc + b * D : NULL;
        float *yr = bf ? NULL : F32(y) + row * D;
        uint16_t *yb = bf ? (uint16_t *)y->data + row * D : NULL;
        for (int64_t d = 0; d < D; d++) {
            float h = (xr[d] - mu) * rs;
            if (scb) h = h * (1.0f + scb[d]);
            if (shb) h += shb[d];
            if (yr) yr[d] = h;
            else yb[d] = ditc_f32_to_bf16(h);
        }
    }
}

void cpu_ln_mod_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const ditc_tensor *dy,
                    const ditc_tensor *x, const ditc_tensor *mean, const ditc_tensor *rstd, const ditc_tensor *scale,
                    int acc_x, int acc_shift, int acc_scale) {
    (void)be;
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    // dy BF16: the consuming linear's dx GEMM wrote it (ditc_bf16_grad), widened once here
    float *g16 = dy->dtype == DITC_BF16 ? cpu_widen_bf16(dy) : NULL;
    const float *xd = CF32(x), *g = g16 ? g16 : CF32(dy), *md = CF32(mean), *rd = CF32(rstd);
    const float *sc = scale ? CF32(scale) : NULL;
    float *gx = dx ? F32(dx) : NULL, *gsh = dshift ? F32(dshift) : NULL, *gsc = dscale ? F32(dscale) : NULL;
    // dx rows are independent.
    if (gx) {
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
        for (int64_t row = 0; row < B * T; row++) {
            int64_t b = row / T;
            const float *xr = xd + row * D, *gr = g + row * D, *scb = sc ? sc + b * D : NULL;
            float mu = md[row], rs = rd[row];
            double s1 = 0.0, s2 = 0.0; // mean of g' and of g'·xhat, g' = dy·(1 + scale)
#pragma omp simd reduction(+ : s1, s2)
            for (int64_t d = 0; d < D; d++) {
                float gp = scb ? gr[d] * (1.0f + scb[d]) : gr[d];
                s1 += gp;
                s2 += (double)gp * ((xr[d] - mu) * rs);
            }
            float m1 = (float)(s1 / (double)D), m2 = (float)(s2 / (double)D);
            float *out = gx + row * D;
            for (int64_t d = 0; d < D; d++) {
                float gp = scb ? gr[d] * (1.0f + scb[d]) : gr[d];
                float v = rs * (gp - m1 - (xr[d] - mu) * rs * m2);
                out[d] = acc_x ? out[d] + v : v;
            }
        }
    }
    if (gsh || gsc) modulation_grads(B, T, D, g, xd, md, rd, gsh, gsc, acc_shift, acc_scale);
    free(g16);
}

// Plain adaLN modulate (Large-DiT applies it after RMSNorm): y = x·(1 + scale) + shift.
void cpu_modulate_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *shift,
                      const ditc_tensor *scale) {
    (void)be;
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    const float *xd = CF32(x), *sh = CF32(shift), *sc = CF32(scale);
    int bf = y->dtype == DITC_BF16; // the next GEMMs' bf16 operand, each value rounded once
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
    for (int64_t row = 0; row < B * T; row++) {
        const float *shb = sh + (row / T) * D, *scb = sc + (row / T) * D, *xr = xd + row * D;
        if (bf) {
            uint16_t *yr = (uint16_t *)y->data + row * D;
            for (int64_t d = 0; d < D; d++) yr[d] = ditc_f32_to_bf16(xr[d] * (1.0f + scb[d]) + shb[d]);
        } else {
            float *yr = F32(y) + row * D;
            for (int64_t d = 0; d < D; d++) yr[d] = xr[d] * (1.0f + scb[d]) + shb[d];
        }
    }
}

void cpu_modulate_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale,
                      const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *scale, int acc_x, int acc_shift,
                      int acc_scale) {
    (void)be;
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    const float *xd = CF32(x), *g = CF32(dy), *sc = CF32(scale);
    float *gx = dx ? F32(dx) : NULL, *gsh = dshift ? F32(dshift) : NULL, *gsc = dscale ? F32(dscale) : NULL;
    if (gx) {
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
        for (int64_t row = 0; row < B * T; row++) {
            const float *scb = sc + (row / T) * D, *gr = g + row * D;
            float *out = gx + row * D;
            for (int64_t d = 0; d < D; d++) {
                float v = gr[d] * (1.0f + scb[d]);
                out[d] = acc_x ? out[d] + v : v;
            }
        }
    }
    if (gsh || gsc) modulation_grads(B, T, D, g, xd, NULL, NULL, gsh, gsc, acc_shift, acc_scale);
}

void cpu_gated_res_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, const ditc_tensor *gate,
                       const ditc_tensor *y) {
    (void)be;
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    const float *xd = CF32(x), *gd = CF32(gate);
    const float *yd = y->dtype == DITC_F32 ? CF32(y) : NULL;
    const uint16_t *y16 = yd ? NULL : y->data; // a bf16 linear output (ops.h ditc_activation_dtype)
    float *o = F32(out);
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
    for (int64_t row = 0; row < B * T; row++) {
        const float *gb = gd + (row / T) * D;
        if (yd)
            for (int64_t d = 0; d < D; d++) o[row * D + d] = xd[row * D + d] + gb[d] * yd[row * D + d];
        else
            for (int64_t d = 0; d < D; d++)
                o[row * D + d] = xd[row * D + d] + gb[d] * ditc_bf16_to_f32(y16[row * D + d]);
    }
}

void cpu_gated_res_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy, const ditc_tensor *dout,
                       const ditc_tensor *gate, const ditc_tensor *y, int acc_x, int acc_gate, int acc_y) {
    (void)be;
    int64_t B = y->shape[0], T = y->shape[1], D = y->shape[2];
    const float *g = CF32(dout), *gd = CF32(gate);
    const float *yd = y->dtype == DITC_F32 ? CF32(y) : NULL;
    const uint16_t *y16 = yd ? NULL : y->data; // a bf16 linear output (ops.h ditc_activation_dtype)
    int bf = dy && dy->dtype == DITC_BF16;     // dy: the producing linear's bf16 output gradient, rounded once
    DITC_CHECK(!bf || !acc_y, "gated_res_bwd: a BF16 dy is written, not accumulated");
    float *gx = dx ? F32(dx) : NULL, *gy = dy && !bf ? F32(dy) : NULL, *gg = dgate ? F32(dgate) : NULL;
    uint16_t *gy16 = bf ? dy->data : NULL;
    if (gx || dy) { // one loop per output and mode (branch-free inner loops vectorise)
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
        for (int64_t row = 0; row < B * T; row++) {
            const float *gb = gd + (row / T) * D, *gr = g + row * D;
            if (gx && acc_x)
                for (int64_t d = 0; d < D; d++) gx[row * D + d] += gr[d];
            else if (gx) memcpy(gx + row * D, gr, (size_t)D * sizeof(float));
            if (gy && acc_y)
                for (int64_t d = 0; d < D; d++) gy[row * D + d] += gb[d] * gr[d];
            else if (gy)
                for (int64_t d = 0; d < D; d++) gy[row * D + d] = gb[d] * gr[d];
            if (gy16)
                for (int64_t d = 0; d < D; d++) gy16[row * D + d] = ditc_f32_to_bf16(gb[d] * gr[d]);
        }
    }
    if (gg) { // dgate[b, d] = Σ_t dout·y, in t order, a 64-column block of one sample per iteration
        int64_t nblk = (D + 63) / 64;
#pragma omp parallel for schedule(static) if (B * T * D > 32768)
        for (int64_t q = 0; q < B * nblk; q++) {
            int64_t b = q / nblk, d0 = (q % nblk) * 64, d1 = d0 + 64 < D ? d0 + 64 : D;
            double s[64] = {0};
            for (int64_t t = 0; t < T; t++) {
                const float *gr = g + (b * T + t) * D;
                if (yd)
                    for (int64_t d = d0; d < d1; d++) s[d - d0] += (double)gr[d] * yd[(b * T + t) * D + d];
                else
                    for (int64_t d = d0; d < d1; d++)
                        s[d - d0] += (double)gr[d] * ditc_bf16_to_f32(y16[(b * T + t) * D + d]);
            }
            for (int64_t d = d0; d < d1; d++) {
                float v = (float)s[d - d0];
                gg[b * D + d] = acc_gate ? gg[b * D + d] + v : v;
            }
        }
    }
}
