// cuda_norm.cu — LayerNorm (no affine) fused with adaLN modulate, plain modulate, the gated residual.
// x (B, T, D); shift/scale/gate (B, D); mean/rstd (B, T). One block per row for the row statistics
// (two passes over the row held in registers/L1: mean, then centred variance, both in fp32 with a
// fixed-order block reduction); the (B, D) gradients are fixed-order column sums (cuda_col_sums).
#include "cuda_internal.cuh"

#define TPB 256

// mean and rstd of one row (every thread gets them).
__device__ __forceinline__ void row_stats(const float *xr, int64_t D, float eps, float *sh, float *mu, float *rs) {
    float s = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += xr[d];
    float m = block_sum(s, sh) / (float)D;
    float v = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float e = xr[d] - m;
        v += e * e;
    }
    v = block_sum(v, sh) / (float)D;
    *mu = m;
    *rs = rsqrtf(v + eps);
}

__device__ __forceinline__ void store_y(float *y, int64_t i, float v) { y[i] = v; }
__device__ __forceinline__ void store_y(__nv_bfloat16 *y, int64_t i, float v) { y[i] = __float2bfloat16_rn(v); }

// Y float, or __nv_bfloat16 when y is the next GEMM's bf16 operand (rounded once)
template <typename Y>
__global__ void k_ln_mod_fwd(Y *y, float *mean, float *rstd, const float *x, const float *sh_, const float *sc_,
                             int64_t T, int64_t D, float eps) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, b = row / T;
    const float *xr = x + row * D;
    float mu, rs;
    row_stats(xr, D, eps, sh, &mu, &rs);
    if (threadIdx.x == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float h = (xr[d] - mu) * rs;
        if (sc_) h = h * (1.0f + sc_[b * D + d]);
        if (sh_) h += sh_[b * D + d];
        store_y(y, row * D + d, h);
    }
}

extern "C" void cuda_ln_mod_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd,
                                const ditc_tensor *x, const ditc_tensor *shift, const ditc_tensor *scale, float eps) {
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    if (B * T == 0) return;
    const float *sh = shift ? CF32P(shift) : NULL, *sc = scale ? CF32P(scale) : NULL;
    if (y->dtype == DITC_BF16)
        k_ln_mod_fwd<<<(unsigned)(B * T), TPB, 0, cstream(be)>>>((__nv_bfloat16 *)y->data, F32P(mean), F32P(rstd),
                                                                 CF32P(x), sh, sc, T, D, eps);
    else
        k_ln_mod_fwd<<<(unsigned)(B * T), TPB, 0, cstream(be)>>>(F32P(y), F32P(mean), F32P(rstd), CF32P(x), sh, sc, T,
                                                                 D, eps);
    CUDA_LAUNCHED();
}

// dx = rstd·(g' − mean(g') − xhat·mean(g'·xhat)), g' = dy·(1 + scale[b]) (or dy·w[d] for the affine LayerNorm).
// Shared with cuda_llama.cu via the `w` pointer: scale_mode 1 = (1 + v[b, d]), 2 = w[d], 0 = none.
__global__ void k_ln_bwd_dx(float *gx, const float *g, const float *x, const float *mean, const float *rstd,
                            const float *v, int scale_mode, int64_t T, int64_t D, int acc) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, b = row / T;
    const float *xr = x + row * D, *gr = g + row * D;
    float mu = mean[row], rs = rstd[row];
    float s1 = 0.0f, s2 = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float gp = scale_mode == 1 ? gr[d] * (1.0f + v[b * D + d]) : scale_mode == 2 ? gr[d] * v[d] : gr[d];
        s1 += gp;
        s2 += gp * ((xr[d] - mu) * rs);
    }
    float m1 = block_sum(s1, sh) / (float)D;
    float m2 = block_sum(s2, sh) / (float)D;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float gp = scale_mode == 1 ? gr[d] * (1.0f + v[b * D + d]) : scale_mode == 2 ? gr[d] * v[d] : gr[d];
        float o = rs * (gp - m1 - (xr[d] - mu) * rs * m2);
        gx[row * D + d] = acc_store(gx[row * D + d], o, acc);
    }
}

extern "C" void cuda_ln_mod_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale,
                                const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *mean,
                                const ditc_tensor *rstd, const ditc_tensor *scale, int acc_x, int acc_shift,
                                int acc_scale) {
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    if (B * T == 0) return;
    if (dx) {
        k_ln_bwd_dx<<<(unsigned)(B * T), TPB, 0, cstream(be)>>>(F32P(dx), CF32P(dy), CF32P(x), CF32P(mean), CF32P(rstd),
                                                                scale ? CF32P(scale) : NULL, scale ? 1 : 0, T, D,
                                                                acc_x);
        CUDA_LAUNCHED();
    }
    if (dshift && dscale) // one pass over dy and x for both (the sums of the two passes below, in one)
        cuda_col_sums_dual(be, F32P(dshift), F32P(dscale), CF32P(dy), CF32P(x), CF32P(mean), CF32P(rstd), B, T, D,
                           acc_shift, acc_scale);
    else if (dshift) cuda_col_sums(be, F32P(dshift), CF32P(dy), NULL, NULL, NULL, B, T, D, 0, acc_shift);
    else if (dscale)
        cuda_col_sums(be, F32P(dscale), CF32P(dy), CF32P(x), CF32P(mean), CF32P(rstd), B, T, D, 2, acc_scale);
}

template <typename Y>
__global__ void k_modulate_fwd(Y *y, const float *x, const float *sh, const float *sc, int64_t T, int64_t D,
                               int64_t n) {
    GRID_LOOP(i, n) {
        int64_t bd = (i / (T * D)) * D + i % D;
        store_y(y, i, x[i] * (1.0f + sc[bd]) + sh[bd]);
    }
}
__global__ void k_modulate_bwd_dx(float *gx, const float *g, const float *sc, int64_t T, int64_t D, int64_t n,
                                  int acc) {
    GRID_LOOP(i, n) gx[i] = acc_store(gx[i], g[i] * (1.0f + sc[(i / (T * D)) * D + i % D]), acc);
}

extern "C" void cuda_modulate_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *shift,
                                  const ditc_tensor *scale) {
    int64_t T = x->shape[1], D = x->shape[2], n = x->numel;
    if (!n) return;
    if (y->dtype == DITC_BF16) // the next GEMMs' bf16 operand
        k_modulate_fwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>((__nv_bfloat16 *)y->data, CF32P(x), CF32P(shift),
                                                                  CF32P(scale), T, D, n);
    else
        k_modulate_fwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(y), CF32P(x), CF32P(shift), CF32P(scale), T, D,
                                                                  n);
    CUDA_LAUNCHED();
}

extern "C" void cuda_modulate_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale,
                                  const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *scale, int acc_x,
                                  int acc_shift, int acc_scale) {
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2], n = x->numel;
    if (!n) return;
    if (dx) {
        k_modulate_bwd_dx<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(dx), CF32P(dy), CF32P(scale), T, D, n, acc_x);
        CUDA_LAUNCHED();
    }
    if (dshift) cuda_col_sums(be, F32P(dshift), CF32P(dy), NULL, NULL, NULL, B, T, D, 0, acc_shift);
    if (dscale) cuda_col_sums(be, F32P(dscale), CF32P(dy), CF32P(x), NULL, NULL, B, T, D, 1, acc_scale);
}

__device__ __forceinline__ float ld_f(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld_f(const __nv_bfloat16 *p, int64_t i) { return __bfloat162float(p[i]); }
// Y float, or __nv_bfloat16 (a bf16 linear output)
template <typename Y>
__global__ void k_gated_res_fwd(float *o, const float *x, const float *gate, const Y *y, int64_t T, int64_t D,
                                int64_t n) {
    GRID_LOOP(i, n) o[i] = x[i] + gate[(i / (T * D)) * D + i % D] * ld_f(y, i);
}
// gy: F32, or (gy16) the producing linear's bf16 output gradient, written once
__global__ void k_gated_res_bwd(float *gx, float *gy, __nv_bfloat16 *gy16, const float *g, const float *gate, int64_t T,
                                int64_t D, int64_t n, int acc_x, int acc_y) {
    GRID_LOOP(i, n) {
        if (gx) gx[i] = acc_store(gx[i], g[i], acc_x);
        float v = gate[(i / (T * D)) * D + i % D] * g[i];
        if (gy) gy[i] = acc_store(gy[i], v, acc_y);
        if (gy16) gy16[i] = __float2bfloat16_rn(v);
    }
}

extern "C" void cuda_gated_res_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, const ditc_tensor *gate,
                                   const ditc_tensor *y) {
    int64_t T = x->shape[1], D = x->shape[2], n = x->numel;
    if (!n) return;
    if (y->dtype == DITC_BF16)
        k_gated_res_fwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(out), CF32P(x), CF32P(gate),
                                                                   (const __nv_bfloat16 *)y->data, T, D, n);
    else
        k_gated_res_fwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(out), CF32P(x), CF32P(gate), CF32P(y), T, D, n);
    CUDA_LAUNCHED();
}

extern "C" void cuda_gated_res_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy,
                                   const ditc_tensor *dout, const ditc_tensor *gate, const ditc_tensor *y, int acc_x,
                                   int acc_gate, int acc_y) {
    int64_t B = y->shape[0], T = y->shape[1], D = y->shape[2], n = y->numel;
    if (!n) return;
    if (dx || dy) {
        int bf = dy && dy->dtype == DITC_BF16;
        DITC_CHECK(!bf || !acc_y, "gated_res_bwd: a BF16 dy is written, not accumulated");
        k_gated_res_bwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(dx ? F32P(dx) : NULL, dy && !bf ? F32P(dy) : NULL,
                                                                   bf ? (__nv_bfloat16 *)dy->data : NULL, CF32P(dout),
                                                                   CF32P(gate), T, D, n, acc_x, acc_y);
        CUDA_LAUNCHED();
    }
    if (dgate && y->dtype == DITC_BF16) cuda_col_sums_y16(be, F32P(dgate), CF32P(dout), y->data, B, T, D, acc_gate);
    else if (dgate) cuda_col_sums(be, F32P(dgate), CF32P(dout), CF32P(y), NULL, NULL, B, T, D, 1, acc_gate);
}

// LayerNorm input gradient for cuda_llama.cu: g' = dy·w[d] (w may be NULL) over rows of length D.
extern "C" void cuda_ln_bwd_dx(ditc_backend *be, float *dx, const float *dy, const float *x, const float *mean,
                               const float *rstd, const float *w, int64_t R, int64_t D, int acc) {
    if (!R) return;
    k_ln_bwd_dx<<<(unsigned)R, TPB, 0, cstream(be)>>>(dx, dy, x, mean, rstd, w, w ? 2 : 0, R, D, acc);
    CUDA_LAUNCHED();
}
