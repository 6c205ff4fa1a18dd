// cuda_norm.cu — LayerNorm (no affine) fused with adaLN modulate, plain modulate, the gated residual.
// x (B, T, D); shift/scale/gate (B, D); mean/rstd (B, T). The row statistics (mean, then centred variance, fp32,
// fixed order): a warp per row with the row in registers for D ≤ 2048, else a block per row (two passes over the
// row in L1, block reductions); the (B, D) gradients are fixed-order column sums: beside dx (LayerNorm+modulate, rows
// up to 36 slots) or dy (the gated residual, D % 4 == 0) summed in the same pass over dy / dout (k_ln_mod_bwd_sums,
// k_gated_res_bwd_sums: chunk partials, then k_col_sums_fold), else a pass of their own (cuda_col_sums).
#include <string.h>

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

__device__ __forceinline__ float ld_f(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld_f(const __nv_bfloat16 *p, int64_t i) { return __bfloat162float(p[i]); }
// 4 consecutive elements (16-byte aligned F32, 8-byte aligned bf16)
__device__ __forceinline__ float4 ld4(const float *p, int64_t i) { return *(const float4 *)(p + i); }
__device__ __forceinline__ float f32_bits(unsigned u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
// (a bf16 is the high half of its F32; element 4i + k at bf16 k of the 8 bytes, the first of a pair in the low half)
__device__ __forceinline__ float4 ld4(const __nv_bfloat16 *p, int64_t i) {
    uint2 u = *(const uint2 *)(p + i);
    return make_float4(f32_bits(u.x << 16), f32_bits(u.x & 0xffff0000u), f32_bits(u.y << 16),
                       f32_bits(u.y & 0xffff0000u));
}
__device__ __forceinline__ void st4_bf16(__nv_bfloat16 *p, int64_t i, float4 v) {
    __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
    uint2 u;
    memcpy(&u.x, &lo, 4);
    memcpy(&u.y, &hi, 4);
    *(uint2 *)(p + i) = u;
}
__device__ __forceinline__ float4 acc4(float4 old, float4 v, int acc) {
    return acc ? make_float4(old.x + v.x, old.y + v.y, old.z + v.z, old.w + v.w) : v;
}

// LayerNorm+modulate's output from xhat at (b, d) (bd = b·D + d): xhat·(1 + scale[bd]) + shift[bd], either NULL
__device__ __forceinline__ float ln_modulated(float xh, const float *sh_, const float *sc_, int64_t bd) {
    if (sc_) xh = xh * (1.0f + sc_[bd]);
    if (sh_) xh += sh_[bd];
    return xh;
}
// g' of the LayerNorm input gradient: dy·(1 + v[b, d]) (scale_mode 1, adaLN), dy·v[d] (2, an affine weight), dy (0)
__device__ __forceinline__ float ln_scaled_grad(float gd, const float *v, int scale_mode, int64_t bd, int64_t d) {
    return scale_mode == 1 ? gd * (1.0f + v[bd]) : scale_mode == 2 ? gd * v[d] : gd;
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
        store_y(y, row * D + d, ln_modulated((xr[d] - mu) * rs, sh_, sc_, b * D + d));
    }
}

// ---- rows of D ≤ 32·64: a warp per row, the row in registers (lane l's slot k holds element l + 32k; read once,
// no block barriers), grid-stride over the rows. Sums: each lane's slots in order, then the warp's butterfly.

template <int N, typename Y>
__global__ void __launch_bounds__(ROW_THREADS)
    k_ln_mod_fwd_warp(Y *y, float *mean, float *rstd, const float *x, const float *sh_, const float *sc_, int64_t R,
                      int64_t T, int64_t D, float eps) {
    const int lane = threadIdx.x & 31;
    WARP_ROWS(row, R) {
        const float *xr = x + row * D;
        int64_t b = row / T;
        float v[N], s = 0.0f;
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t d = lane + 32 * k;
            v[k] = d < D ? xr[d] : 0.0f;
            s += v[k];
        }
        float mu = warp_sum(s) / (float)D, q = 0.0f;
#pragma unroll
        for (int k = 0; k < N; k++) {
            float e = lane + 32 * k < D ? v[k] - mu : 0.0f;
            q += e * e;
        }
        float rs = rsqrtf(warp_sum(q) / (float)D + eps);
        if (lane == 0) {
            mean[row] = mu;
            rstd[row] = rs;
        }
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t d = lane + 32 * k;
            if (d >= D) continue;
            store_y(y, row * D + d, ln_modulated((v[k] - mu) * rs, sh_, sc_, b * D + d));
        }
    }
}

// k_ln_bwd_dx (below) a warp per row
template <int N, typename G>
__global__ void __launch_bounds__(ROW_THREADS)
    k_ln_bwd_dx_warp(float *gx, const G *g, const float *x, const float *mean, const float *rstd, const float *v,
                     int scale_mode, int64_t R, int64_t T, int64_t D, int acc) {
    const int lane = threadIdx.x & 31;
    WARP_ROWS(row, R) {
        int64_t b = row / T;
        const float *xr = x + row * D;
        const G *gr = g + row * D;
        // (g' in registers; xhat recomputed from x, in L1 by then: half the registers of keeping both)
        float mu = mean[row], rs = rstd[row], gp[N], s1 = 0.0f, s2 = 0.0f;
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t d = lane + 32 * k;
            gp[k] = 0.0f;
            float xh = 0.0f;
            if (d < D) {
                gp[k] = ln_scaled_grad(ld_f(gr, d), v, scale_mode, b * D + d, d);
                xh = (xr[d] - mu) * rs;
            }
            s1 += gp[k];
            s2 += gp[k] * xh;
        }
        float m1 = warp_sum(s1) / (float)D, m2 = warp_sum(s2) / (float)D;
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t d = lane + 32 * k;
            if (d < D) gx[row * D + d] = acc_store(gx[row * D + d], rs * (gp[k] - m1 - (xr[d] - mu) * rs * m2), acc);
        }
    }
}

// The sum over a block's ROW_WARPS warps of each warp's slots s[k] (lane l, slot k: column l + 32k), in a fixed
// tree (warp w adds warp w + 4, then w + 2, then w + 1) through `red`; warp 0 ends with the block's sums.
template <int N> __device__ __forceinline__ void warps_tree_sum(float (*red)[32 * N], float *s) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
#pragma unroll
    for (int h = ROW_WARPS / 2; h > 0; h >>= 1) {
        __syncthreads(); // red is free (the previous step's, or the previous call's, reads are done)
        if (w >= h && w < 2 * h) {
#pragma unroll
            for (int k = 0; k < N; k++) red[w - h][lane + 32 * k] = s[k];
        }
        __syncthreads();
        if (w < h) {
#pragma unroll
            for (int k = 0; k < N; k++) s[k] += red[w][lane + 32 * k];
        }
    }
}

// dst[0, D) = the block's sums of the slots s (warps_tree_sum), written by warp 0.
template <int N>
__device__ __forceinline__ void block_slots_out(float (*red)[32 * N], float *s, float *dst, int64_t D) {
    warps_tree_sum<N>(red, s);
    if (threadIdx.x < 32) {
#pragma unroll
        for (int k = 0; k < N; k++)
            if (threadIdx.x + 32 * k < D) dst[threadIdx.x + 32 * k] = s[k];
    }
}

// LayerNorm+modulate's backward in one pass over dy and x: dx as k_ln_bwd_dx_warp (the same operations), and
// the column sums of the shift and scale gradients (Σ dy, Σ dy·xhat over the rows of a group b) without reading dy
// and x again. Block (x, y) takes the chunk of rows t ∈ [x·rpc, min(T, (x+1)·rpc)) of the groups
// b = y, y + gridDim.y, …; warp w sums its rows w, w + ROW_WARPS, … in order, in its lanes' slots; the warps' sums
// are added by warps_tree_sum and go to ps / pc [x][b][D] (NULL: not wanted), which k_col_sums_fold adds in chunk
// order. Deterministic: the order depends on the grid shape only (sums_chunks), never on timing.
template <int N, typename G>
__global__ void __launch_bounds__(ROW_THREADS, 2)
    k_ln_mod_bwd_sums(float *gx, float *ps, float *pc, const G *g, const float *x, const float *mean, const float *rstd,
                      const float *sc, int64_t Gn, int64_t T, int64_t D, int64_t rpc, int acc) {
    __shared__ float red[ROW_WARPS / 2][32 * N];
    const int lane = threadIdx.x & 31;
    const int64_t t0 = (int64_t)blockIdx.x * rpc, t1 = t0 + rpc < T ? t0 + rpc : T;
    for (int64_t b = blockIdx.y; b < Gn; b += gridDim.y) {
        float s_sh[N], s_sc[N];
#pragma unroll
        for (int k = 0; k < N; k++) s_sh[k] = s_sc[k] = 0.0f;
        for (int64_t t = t0 + (threadIdx.x >> 5); t < t1; t += ROW_WARPS) {
            const int64_t row = b * T + t;
            const float *xr = x + row * D;
            const G *gr = g + row * D;
            // (g' and xhat recomputed from dy and x in the second pass, in L1 by then: the slots hold the sums)
            float mu = mean[row], rs = rstd[row], s1 = 0.0f, s2 = 0.0f;
#pragma unroll
            for (int k = 0; k < N; k++) {
                int64_t d = lane + 32 * k;
                float gp = 0.0f, xh = 0.0f;
                if (d < D) {
                    float dy = ld_f(gr, d);
                    gp = ln_scaled_grad(dy, sc, sc ? 1 : 0, b * D + d, d);
                    xh = (xr[d] - mu) * rs;
                    s_sh[k] += dy;
                    s_sc[k] += dy * xh;
                }
                s1 += gp;
                s2 += gp * xh;
            }
            float m1 = warp_sum(s1) / (float)D, m2 = warp_sum(s2) / (float)D;
#pragma unroll
            for (int k = 0; k < N; k++) {
                int64_t d = lane + 32 * k;
                if (d >= D) continue;
                float gp = ln_scaled_grad(ld_f(gr, d), sc, sc ? 1 : 0, b * D + d, d);
                gx[row * D + d] = acc_store(gx[row * D + d], rs * (gp - m1 - (xr[d] - mu) * rs * m2), acc);
            }
        }
        const int64_t at = ((int64_t)blockIdx.x * Gn + b) * D; // (ps, pc and the flags uniform: barriers allowed)
        if (ps) block_slots_out<N>(red, s_sh, ps + at, D);
        if (pc) block_slots_out<N>(red, s_sc, pc + at, D);
    }
}

// The slots per lane of the warp-per-row kernels for rows of D elements, 0: the block-per-row ones (D > 2048, or
// DITC_LN_WARP=0, read once: an A/B switch).
static int ln_slots(int64_t D) {
    static int off = -1;
    static const int slots[] = {1, 2, 4, 8, 12, 16, 24, 32, 36, 48, 64}; // (DiT S 384: 12, B 768: 24, XL 1152: 36)
    if (ditc_env_off("DITC_LN_WARP", &off)) return 0;
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++)
        if (32 * (int64_t)slots[i] >= D) return slots[i];
    return 0;
}

// Launches L::go<N>() for the slot count n (one of ln_slots' values).
template <typename L> static void with_slots(int n, const L &l) {
    switch (n) {
    case 1: l.template go<1>(); break;
    case 2: l.template go<2>(); break;
    case 4: l.template go<4>(); break;
    case 8: l.template go<8>(); break;
    case 12: l.template go<12>(); break;
    case 16: l.template go<16>(); break;
    case 24: l.template go<24>(); break;
    case 32: l.template go<32>(); break;
    case 36: l.template go<36>(); break;
    case 48: l.template go<48>(); break;
    default: l.template go<64>(); break;
    }
}
template <typename Y> struct ln_fwd_launch {
    ditc_backend *be;
    Y *y;
    float *mean, *rstd;
    const float *x, *sh, *sc;
    int64_t R, T, D;
    float eps;
    template <int N> void go() const {
        unsigned grid = warp_row_grid(R);
        k_ln_mod_fwd_warp<N, Y><<<grid, ROW_THREADS, 0, cstream(be)>>>(y, mean, rstd, x, sh, sc, R, T, D, eps);
    }
};
template <typename G> struct ln_bwd_launch {
    ditc_backend *be;
    float *gx;
    const G *g;
    const float *x, *mean, *rstd, *v;
    int scale_mode;
    int64_t R, T, D;
    int acc;
    template <int N> void go() const {
        unsigned grid = warp_row_grid(R);
        k_ln_bwd_dx_warp<N, G>
            <<<grid, ROW_THREADS, 0, cstream(be)>>>(gx, g, x, mean, rstd, v, scale_mode, R, T, D, acc);
    }
};

// k_ln_mod_bwd_sums up to this many slots (DiT S/B/L/XL: 12/24/32/36): the two column sums of a lane's N slots in
// registers (128 at 36 slots, no spills, two blocks an SM); wider rows take the dx kernel and the column-sum pass.
#define LN_SUMS_SLOTS 36
template <typename G> struct ln_sums_launch {
    ditc_backend *be;
    float *gx, *ps, *pc;
    const G *g;
    const float *x, *mean, *rstd, *sc;
    int64_t Gn, T, D, rpc;
    dim3 grid;
    int acc;
    template <int N> void go() const {
        if constexpr (N <= LN_SUMS_SLOTS)
            k_ln_mod_bwd_sums<N, G>
                <<<grid, ROW_THREADS, 0, cstream(be)>>>(gx, ps, pc, g, x, mean, rstd, sc, Gn, T, D, rpc, acc);
    }
};

// The fused sums' grids (k_ln_mod_bwd_sums, k_gated_res_bwd_sums): up to Gn groups (≤ 65535 and the grid cap: the
// kernels loop over the rest), and about `want` chunks of T rows — at least ROW_WARPS rows each (or all T), at most
// 65535 and the grid cap — of *rpc rows; returns the chunk count. Fewer chunks, less partial sums to write and fold.
static int64_t sums_groups(int64_t Gn) {
    int64_t gy = Gn < 65535 ? Gn : 65535;
    return gy < cuda_grid_cap ? gy : cuda_grid_cap;
}
static int64_t sums_chunks(int64_t T, int64_t want, int64_t *rpc) {
    int64_t s = want, most = T / ROW_WARPS;
    if (s > most) s = most;
    if (s > 65535) s = 65535;
    if (s > cuda_grid_cap) s = cuda_grid_cap;
    if (s < 1) s = 1;
    *rpc = (T + s - 1) / s;
    return (T + *rpc - 1) / *rpc;
}
static int64_t sms_of(ditc_backend *be) { return cctx(be)->sm_count > 0 ? cctx(be)->sm_count : 132; }

// LayerNorm+modulate's backward in one pass (dx and the wanted modulation gradients): 0 when it does not apply
// (no dx, rows wider than LN_SUMS_SLOTS slots, DITC_LN_WARP=0, or DITC_FUSED_SUMS=0: an A/B switch).
template <typename G>
static int ln_mod_bwd_fused(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const G *g,
                            const ditc_tensor *x, const ditc_tensor *mean, const ditc_tensor *rstd,
                            const ditc_tensor *scale, int acc_x, int acc_shift, int acc_scale) {
    static int off = -1;
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2], S, rpc;
    int n = ln_slots(D);
    if (!dx || !(dshift || dscale) || !n || n > LN_SUMS_SLOTS || ditc_env_off("DITC_FUSED_SUMS", &off)) return 0;
    // (at most one wave of two blocks per SM, its launch bounds, while the groups allow)
    int64_t gy = sums_groups(B);
    S = sums_chunks(T, 2 * sms_of(be) / gy, &rpc);
    dim3 grid((unsigned)S, (unsigned)gy);
    const int64_t part = S * B * D; // floats of one gradient's chunk partials
    float *ps = (float *)cuda_scratch(be, (size_t)(2 * part) * sizeof(float)), *pc = ps + part;
    with_slots(n, ln_sums_launch<G>{be, F32P(dx), dshift ? ps : NULL, dscale ? pc : NULL, g, CF32P(x), CF32P(mean),
                                    CF32P(rstd), scale ? CF32P(scale) : NULL, B, T, D, rpc, grid, acc_x});
    CUDA_LAUNCHED();
    if (dshift) cuda_col_sums_fold(be, F32P(dshift), ps, S, B * D, acc_shift);
    if (dscale) cuda_col_sums_fold(be, F32P(dscale), pc, S, B * D, acc_scale);
    return 1;
}

extern "C" void cuda_ln_mod_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd,
                                const ditc_tensor *x, const ditc_tensor *shift, const ditc_tensor *scale, float eps) {
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    if (B * T == 0) return;
    const float *sh = shift ? CF32P(shift) : NULL, *sc = scale ? CF32P(scale) : NULL;
    if (int n = ln_slots(D)) {
        if (y->dtype == DITC_BF16)
            with_slots(n, ln_fwd_launch<__nv_bfloat16>{be, (__nv_bfloat16 *)y->data, F32P(mean), F32P(rstd), CF32P(x),
                                                       sh, sc, B * T, T, D, eps});
        else
            with_slots(n,
                       ln_fwd_launch<float>{be, F32P(y), F32P(mean), F32P(rstd), CF32P(x), sh, sc, B * T, T, D, eps});
    } else if (y->dtype == DITC_BF16)
        k_ln_mod_fwd<<<(unsigned)(B * T), TPB, 0, cstream(be)>>>((__nv_bfloat16 *)y->data, F32P(mean), F32P(rstd),
                                                                 CF32P(x), sh, sc, T, D, eps);
    else
        k_ln_mod_fwd<<<(unsigned)(B * T), TPB, 0, cstream(be)>>>(F32P(y), F32P(mean), F32P(rstd), CF32P(x), sh, sc, T,
                                                                 D, eps);
    CUDA_LAUNCHED();
}

// dx = rstd·(g' − mean(g') − xhat·mean(g'·xhat)), g' = dy·(1 + scale[b]) (or dy·w[d] for the affine LayerNorm).
// Shared with cuda_llama.cu via the `w` pointer: scale_mode 1 = (1 + v[b, d]), 2 = w[d], 0 = none.
template <typename G>
__global__ void k_ln_bwd_dx(float *gx, const G *g, const float *x, const float *mean, const float *rstd, const float *v,
                            int scale_mode, int64_t T, int64_t D, int acc) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, b = row / T;
    const float *xr = x + row * D;
    const G *gr = g + row * D;
    float mu = mean[row], rs = rstd[row];
    float s1 = 0.0f, s2 = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float gp = ln_scaled_grad(ld_f(gr, d), v, scale_mode, b * D + d, d);
        s1 += gp;
        s2 += gp * ((xr[d] - mu) * rs);
    }
    float m1 = block_sum(s1, sh) / (float)D;
    float m2 = block_sum(s2, sh) / (float)D;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float gp = ln_scaled_grad(ld_f(gr, d), v, scale_mode, b * D + d, d);
        float o = rs * (gp - m1 - (xr[d] - mu) * rs * m2);
        gx[row * D + d] = acc_store(gx[row * D + d], o, acc);
    }
}

// G: float, or __nv_bfloat16 (dy written as bf16 by the consuming linear's dx GEMM, ditc_bf16_grad)
template <typename G>
static void ln_mod_bwd_g(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const G *g,
                         const ditc_tensor *x, const ditc_tensor *mean, const ditc_tensor *rstd,
                         const ditc_tensor *scale, int acc_x, int acc_shift, int acc_scale) {
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2];
    const int g16 = sizeof(G) == 2;
    if (ln_mod_bwd_fused(be, dx, dshift, dscale, g, x, mean, rstd, scale, acc_x, acc_shift, acc_scale)) return;
    if (dx) {
        const float *v = scale ? CF32P(scale) : NULL;
        if (int n = ln_slots(D))
            with_slots(n, ln_bwd_launch<G>{be, F32P(dx), g, CF32P(x), CF32P(mean), CF32P(rstd), v, scale ? 1 : 0, B * T,
                                           T, D, acc_x});
        else
            k_ln_bwd_dx<<<(unsigned)(B * T), TPB, 0, cstream(be)>>>(F32P(dx), g, CF32P(x), CF32P(mean), CF32P(rstd), v,
                                                                    scale ? 1 : 0, T, D, acc_x);
        CUDA_LAUNCHED();
    }
    if (dshift && dscale) // one pass over dy and x for both (the sums of the two passes below, in one)
        cuda_col_sums_dual(be, F32P(dshift), F32P(dscale), g, g16, CF32P(x), CF32P(mean), CF32P(rstd), B, T, D,
                           acc_shift, acc_scale);
    else if (dshift && g16) cuda_col_sums_x16(be, F32P(dshift), g, NULL, NULL, NULL, B, T, D, 0, acc_shift);
    else if (dshift) cuda_col_sums(be, F32P(dshift), (const float *)g, NULL, NULL, NULL, B, T, D, 0, acc_shift);
    else if (dscale && g16)
        cuda_col_sums_x16(be, F32P(dscale), g, CF32P(x), CF32P(mean), CF32P(rstd), B, T, D, 2, acc_scale);
    else if (dscale)
        cuda_col_sums(be, F32P(dscale), (const float *)g, CF32P(x), CF32P(mean), CF32P(rstd), B, T, D, 2, acc_scale);
}

extern "C" void cuda_ln_mod_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale,
                                const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *mean,
                                const ditc_tensor *rstd, const ditc_tensor *scale, int acc_x, int acc_shift,
                                int acc_scale) {
    if (x->shape[0] * x->shape[1] == 0) return;
    DITC_CHECK(dy->dtype == DITC_F32 || dy->dtype == DITC_BF16, "ln_mod_bwd: dy must be F32 or BF16");
    if (dy->dtype == DITC_BF16)
        ln_mod_bwd_g(be, dx, dshift, dscale, (const __nv_bfloat16 *)dy->data, x, mean, rstd, scale, acc_x, acc_shift,
                     acc_scale);
    else ln_mod_bwd_g(be, dx, dshift, dscale, CF32P(dy), x, mean, rstd, scale, acc_x, acc_shift, acc_scale);
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

// Y float, or __nv_bfloat16 (a bf16 linear output)
template <typename Y>
__global__ void k_gated_res_fwd(float *o, const float *x, const float *gate, const Y *y, int64_t T, int64_t D,
                                int64_t n) {
    GRID_LOOP(i, n) o[i] = x[i] + gate[(i / (T * D)) * D + i % D] * ld_f(y, i);
}
// the same, 4 elements a thread (16-byte loads; D % 4 == 0, buffers 16-byte aligned), n4 = n / 4
template <typename Y>
__global__ void k_gated_res_fwd4(float *o, const float *x, const float *gate, const Y *y, int64_t T, int64_t D,
                                 int64_t n4) {
    GRID_LOOP(j, n4) {
        const int64_t i = 4 * j;
        const float4 a = ld4(x, i), g = ld4(gate, (i / (T * D)) * D + i % D), v = ld4(y, i);
        *(float4 *)(o + i) = make_float4(a.x + g.x * v.x, a.y + g.y * v.y, a.z + g.z * v.z, a.w + g.w * v.w);
    }
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

#define RES_COLS 128 // columns of a k_gated_res_bwd_sums block: 4 per lane
// The gated residual's backward in one pass over dout and y: gx (+)= dout and gy (+)= gate[b]·dout as
// k_gated_res_bwd (gy F32, or gy16 written once as bf16; either pointer NULL: not wanted), and dgate's column sums
// Σ dout·y over chunks of rows without reading dout again. Block (x, y, z): columns [RES_COLS·x, RES_COLS·x +
// RES_COLS) (lane l: 4 at RES_COLS·x + 4l; D % 4 == 0, rows 16-byte aligned), groups b = y, y + gridDim.y, …, rows
// t ∈ [z·rpc, min(T, (z+1)·rpc)); warp w sums its rows w, w + ROW_WARPS, … in order, the warps are added by
// warps_tree_sum, the block's sums go to pg[z][b][D] and k_col_sums_fold adds the chunks in order.
template <typename Y>
__global__ void __launch_bounds__(ROW_THREADS, 4)
    k_gated_res_bwd_sums(float *gx, float *gy, __nv_bfloat16 *gy16, float *pg, const float *g, const float *gate,
                         const Y *y, int64_t Gn, int64_t T, int64_t D, int64_t rpc, int acc_x, int acc_y) {
    __shared__ float red[ROW_WARPS / 2][32 * 4];
    const int64_t c = (int64_t)blockIdx.x * RES_COLS + 4 * (threadIdx.x & 31);
    const int64_t t0 = (int64_t)blockIdx.z * rpc, t1 = t0 + rpc < T ? t0 + rpc : T;
    for (int64_t b = blockIdx.y; b < Gn; b += gridDim.y) {
        float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (c < D) {
            const float4 gt = ld4(gate, b * D + c);
#pragma unroll 2
            for (int64_t t = t0 + (threadIdx.x >> 5); t < t1; t += ROW_WARPS) {
                const int64_t i = (b * T + t) * D + c;
                const float4 d = ld4(g, i), v = ld4(y, i);
                if (gx) *(float4 *)(gx + i) = acc4(ld4(gx, i), d, acc_x);
                const float4 q = make_float4(gt.x * d.x, gt.y * d.y, gt.z * d.z, gt.w * d.w);
                if (gy) *(float4 *)(gy + i) = acc4(ld4(gy, i), q, acc_y);
                if (gy16) st4_bf16(gy16, i, q);
                s[0] += d.x * v.x, s[1] += d.y * v.y, s[2] += d.z * v.z, s[3] += d.w * v.w;
            }
        }
        // (the slots as warps_tree_sum's: lane l's slot k is column 4l + k of the block's, at red[·][l + 32k])
        warps_tree_sum<4>(red, s);
        if (threadIdx.x < 32 && c < D) {
            float *dst = pg + ((int64_t)blockIdx.z * Gn + b) * D + c;
            *(float4 *)dst = make_float4(s[0], s[1], s[2], s[3]);
        }
    }
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

extern "C" void cuda_gated_res_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, const ditc_tensor *gate,
                                   const ditc_tensor *y) {
    int64_t T = x->shape[1], D = x->shape[2], n = x->numel;
    if (!n) return;
    if (D % 4 == 0 && aligned16(out->data) && aligned16(x->data) && aligned16(gate->data) && aligned16(y->data)) {
        if (y->dtype == DITC_BF16)
            k_gated_res_fwd4<<<grid_for(n / 4, TPB), TPB, 0, cstream(be)>>>(
                F32P(out), CF32P(x), CF32P(gate), (const __nv_bfloat16 *)y->data, T, D, n / 4);
        else
            k_gated_res_fwd4<<<grid_for(n / 4, TPB), TPB, 0, cstream(be)>>>(F32P(out), CF32P(x), CF32P(gate), CF32P(y),
                                                                            T, D, n / 4);
    } else if (y->dtype == DITC_BF16)
        k_gated_res_fwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(out), CF32P(x), CF32P(gate),
                                                                   (const __nv_bfloat16 *)y->data, T, D, n);
    else
        k_gated_res_fwd<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(out), CF32P(x), CF32P(gate), CF32P(y), T, D, n);
    CUDA_LAUNCHED();
}

// The gated residual's backward with dgate in one pass (k_gated_res_bwd_sums): 0 when it does not apply (no dx or dy
// beside dgate, D % 4 ≠ 0, a buffer not 16-byte aligned, or DITC_FUSED_SUMS=0: an A/B switch).
static int gated_res_bwd_fused(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy,
                               const ditc_tensor *dout, const ditc_tensor *gate, const ditc_tensor *y, int acc_x,
                               int acc_gate, int acc_y) {
    static int off = -1;
    int64_t B = y->shape[0], T = y->shape[1], D = y->shape[2];
    if (!dgate || !(dx || dy) || D % 4 || ditc_env_off("DITC_FUSED_SUMS", &off)) return 0;
    const void *ptrs[] = {dx ? dx->data : NULL, dy ? dy->data : NULL, dout->data, gate->data, y->data};
    for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
        if (!aligned16(ptrs[i])) return 0;
    // grid: RES_COLS columns × groups × chunks, about two waves of 4 blocks per SM (its launch bounds); the partial
    // sums are small beside the rows (B·D floats a chunk)
    int64_t gx_ = (D + RES_COLS - 1) / RES_COLS, gy = sums_groups(B), rpc;
    int64_t S = sums_chunks(T, (8 * sms_of(be) + gx_ * gy - 1) / (gx_ * gy), &rpc);
    dim3 grid((unsigned)gx_, (unsigned)gy, (unsigned)S);
    float *pg = (float *)cuda_scratch(be, (size_t)(S * B * D) * sizeof(float));
    const int bf = dy && dy->dtype == DITC_BF16;
    float *gxp = dx ? F32P(dx) : NULL, *gyp = dy && !bf ? F32P(dy) : NULL;
    __nv_bfloat16 *gy16 = bf ? (__nv_bfloat16 *)dy->data : NULL;
    if (y->dtype == DITC_BF16)
        k_gated_res_bwd_sums<<<grid, ROW_THREADS, 0, cstream(be)>>>(
            gxp, gyp, gy16, pg, CF32P(dout), CF32P(gate), (const __nv_bfloat16 *)y->data, B, T, D, rpc, acc_x, acc_y);
    else
        k_gated_res_bwd_sums<<<grid, ROW_THREADS, 0, cstream(be)>>>(gxp, gyp, gy16, pg, CF32P(dout), CF32P(gate),
                                                                    CF32P(y), B, T, D, rpc, acc_x, acc_y);
    CUDA_LAUNCHED();
    cuda_col_sums_fold(be, F32P(dgate), pg, S, B * D, acc_gate);
    return 1;
}

extern "C" void cuda_gated_res_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy,
                                   const ditc_tensor *dout, const ditc_tensor *gate, const ditc_tensor *y, int acc_x,
                                   int acc_gate, int acc_y) {
    int64_t B = y->shape[0], T = y->shape[1], D = y->shape[2], n = y->numel;
    if (!n) return;
    DITC_CHECK(!(dy && dy->dtype == DITC_BF16 && acc_y), "gated_res_bwd: a BF16 dy is written, not accumulated");
    if (gated_res_bwd_fused(be, dx, dgate, dy, dout, gate, y, acc_x, acc_gate, acc_y)) return;
    if (dx || dy) {
        int bf = dy && dy->dtype == DITC_BF16;
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
    if (int n = ln_slots(D)) with_slots(n, ln_bwd_launch<float>{be, dx, dy, x, mean, rstd, w, w ? 2 : 0, R, R, D, acc});
    else k_ln_bwd_dx<<<(unsigned)R, TPB, 0, cstream(be)>>>(dx, dy, x, mean, rstd, w, w ? 2 : 0, R, D, acc);
    CUDA_LAUNCHED();
}
