// cuda_attention.cu — fused multi-head attention on the packed qkv (B, T, 3D), flash-attention style: the T×T
// score matrix never exists in global memory. Forward: online softmax over key tiles, saves lse (B, H, T).
// Backward recomputes the probabilities from lse in two deterministic kernels (no atomics):
//   dQ  — one block per 32 queries, looping over key tiles;
//   dKV — one block per 32 keys, looping over query tiles;
// after Di = rowsum(dO ∘ O) (B, H, T) in scratch.
//
// Layout of work: 4 warps per block, 8 rows per warp; lane j of a warp takes key (or query) j of a 32-wide tile
// for the dot products (tiles in shared memory, rows padded to hd+1 floats against bank conflicts), and lane l owns
// head-dim columns l, l+32, … of the accumulators (NC = ceil(hd/32) registers per row; templated for NC = 1..4,
// i.e. any head dim ≤ 128: 16, 64, 72, 96, 128 …). Arithmetic is fp32 (SIMT FMA) in every --precision mode.
// TODO(perf): a tensor-core (mma.sync bf16/tf32) path for hd 64/72/96/128 — needs the GPU session to tune.
#include <math.h>

#include "cuda_internal.cuh"

#define AT_ROWS  32 // rows (queries for fwd/dQ, keys for dKV) per block
#define AT_TILE  32 // the other side's tile = warp size
#define AT_WARPS 4
#define AT_RPW   (AT_ROWS / AT_WARPS)
#define FULL     0xffffffffu

// rows [r0, r0 + n) of one head's column block (offset col) of the packed (T, ld) matrix into s (n, sld); zeros past T.
__device__ __forceinline__ void load_tile(float *s, int sld, const float *src, int64_t ld, int64_t r0, int64_t T,
                                          int hd, float mul) {
    for (int e = threadIdx.x; e < AT_TILE * hd; e += blockDim.x) {
        int r = e / hd, d = e % hd;
        int64_t t = r0 + r;
        s[r * sld + d] = t < T ? src[t * ld + d] * mul : 0.0f;
    }
}

// Work items: (tile of AT_ROWS rows, b·H + h) folded into grid.x with the tile fastest (blocks of one head run
// together), in a block-stride loop: grid.y would cap B·H at 65535, and the grid is clamped (cuda_grid_blocks).
//
// Register use (ptxas -v, no spills at NC 1..4): each tile is worked in two phases. Phase 1 takes the 32-wide dot
// products of all AT_RPW rows at once (d outermost, so one shared-memory read of the lane's key/query serves every
// row); phase 2 walks the 32 tile entries j in a rolled loop and updates every row's accumulators from one read of
// row j. The old form unrolled j (32) inside the unrolled row loop (8) and spilled ~2.9 KB per thread at NC = 3.
// Every accumulator receives the same fused multiply-adds in the same order as in that form (dot products over d
// ascending, then o·alpha, then j ascending), so the results are unchanged bit for bit.
template <int NC>
__global__ void __launch_bounds__(AT_WARPS * 32)
    k_attn_fwd(float *out, float *lse, const float *qkv, int64_t T, int64_t D, int H, int hd, float scale,
               int64_t ntiles, int64_t nitems) {
    extern __shared__ float smem[];
    const int hdp = hd + 1;
    float *sq = smem, *sk = sq + AT_ROWS * hdp, *sv = sk + AT_TILE * hdp;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t ld = 3 * D;
    for (int64_t item = blockIdx.x; item < nitems; item += gridDim.x) {
        const int64_t bh = item / ntiles, q0 = (item % ntiles) * AT_ROWS, b = bh / H, h = bh % H;
        const float *base = qkv + b * T * ld + h * hd;
        __syncthreads(); // the previous item's last tile is read
        load_tile(sq, hdp, base, ld, q0, T, hd, scale);
        float m[AT_RPW], l[AT_RPW], o[AT_RPW][NC];
#pragma unroll
        for (int rr = 0; rr < AT_RPW; rr++) {
            m[rr] = -INFINITY;
            l[rr] = 0.0f;
#pragma unroll
            for (int c = 0; c < NC; c++) o[rr][c] = 0.0f;
        }
        for (int64_t k0 = 0; k0 < T; k0 += AT_TILE) {
            __syncthreads();
            load_tile(sk, hdp, base + D, ld, k0, T, hd, 1.0f);
            load_tile(sv, hdp, base + 2 * D, ld, k0, T, hd, 1.0f);
            __syncthreads();
            const bool valid = k0 + lane < T;
            const float *qw = sq + warp * AT_RPW * hdp, *kr = sk + lane * hdp;
            float p[AT_RPW];
#pragma unroll
            for (int rr = 0; rr < AT_RPW; rr++) p[rr] = 0.0f;
            for (int d = 0; d < hd; d++) {
                const float kd = kr[d];
#pragma unroll
                for (int rr = 0; rr < AT_RPW; rr++) p[rr] += qw[rr * hdp + d] * kd;
            }
#pragma unroll
            for (int rr = 0; rr < AT_RPW; rr++) {
                float s = valid ? p[rr] : -INFINITY;
                float mnew = fmaxf(m[rr], warp_max(s)); // finite: lane 0 is always a valid key
                float alpha = expf(m[rr] - mnew);
                p[rr] = valid ? expf(s - mnew) : 0.0f;
                l[rr] = l[rr] * alpha + warp_sum(p[rr]);
#pragma unroll
                for (int c = 0; c < NC; c++) o[rr][c] *= alpha;
                m[rr] = mnew;
            }
#pragma unroll 1
            for (int j = 0; j < AT_TILE; j++) {
                float v[NC];
#pragma unroll
                for (int c = 0; c < NC; c++) {
                    int d = lane + 32 * c;
                    v[c] = d < hd ? sv[j * hdp + d] : 0.0f;
                }
#pragma unroll
                for (int rr = 0; rr < AT_RPW; rr++) {
                    float pj = __shfl_sync(FULL, p[rr], j);
#pragma unroll
                    for (int c = 0; c < NC; c++) o[rr][c] += pj * v[c];
                }
            }
        }
#pragma unroll
        for (int rr = 0; rr < AT_RPW; rr++) {
            int64_t t = q0 + warp * AT_RPW + rr;
            if (t >= T) continue;
            float inv = 1.0f / l[rr];
            float *orow = out + (b * T + t) * D + h * hd;
#pragma unroll
            for (int c = 0; c < NC; c++) {
                int d = lane + 32 * c;
                if (d < hd) orow[d] = o[rr][c] * inv;
            }
            if (lane == 0) lse[bh * T + t] = m[rr] + logf(l[rr]);
        }
    }
}

// Di (B, H, T) = Σ_d dO · O over the head's columns: one warp per (b, t, h), warp-stride loop (the grid is clamped).
__global__ void k_attn_di(float *Di, const float *dout, const float *out, int64_t T, int64_t D, int H, int hd,
                          int64_t nrows) {
    const int lane = threadIdx.x & 31;
    const int64_t nwarps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; w < nrows; w += nwarps) {
        int64_t h = w % H, bt = w / H, b = bt / T, t = bt % T;
        const float *a = dout + bt * D + h * hd, *o = out + bt * D + h * hd;
        float s = 0.0f;
        for (int d = lane; d < hd; d += 32) s += a[d] * o[d];
        s = warp_sum(s);
        if (lane == 0) Di[(b * H + h) * T + t] = s;
    }
}

template <int NC>
__global__ void __launch_bounds__(AT_WARPS * 32)
    k_attn_bwd_dq(float *dqkv, const float *dout, const float *qkv, const float *lse, const float *Di, int64_t T,
                  int64_t D, int H, int hd, float scale, int acc, int64_t ntiles, int64_t nitems) {
    extern __shared__ float smem[];
    const int hdp = hd + 1;
    float *sq = smem, *sdo = sq + AT_ROWS * hdp, *sk = sdo + AT_ROWS * hdp, *sv = sk + AT_TILE * hdp;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t ld = 3 * D;
    for (int64_t item = blockIdx.x; item < nitems; item += gridDim.x) {
        const int64_t bh = item / ntiles, q0 = (item % ntiles) * AT_ROWS, b = bh / H, h = bh % H;
        const float *base = qkv + b * T * ld + h * hd;
        __syncthreads();
        load_tile(sq, hdp, base, ld, q0, T, hd, scale);
        load_tile(sdo, hdp, dout + b * T * D + h * hd, D, q0, T, hd, 1.0f);
        float li[AT_RPW], di[AT_RPW], dq[AT_RPW][NC];
#pragma unroll
        for (int rr = 0; rr < AT_RPW; rr++) {
            int64_t t = q0 + warp * AT_RPW + rr;
            li[rr] = t < T ? lse[bh * T + t] : 0.0f;
            di[rr] = t < T ? Di[bh * T + t] : 0.0f;
#pragma unroll
            for (int c = 0; c < NC; c++) dq[rr][c] = 0.0f;
        }
        for (int64_t k0 = 0; k0 < T; k0 += AT_TILE) {
            __syncthreads();
            load_tile(sk, hdp, base + D, ld, k0, T, hd, 1.0f);
            load_tile(sv, hdp, base + 2 * D, ld, k0, T, hd, 1.0f);
            __syncthreads();
            const bool valid = k0 + lane < T;
            const float *qw = sq + warp * AT_RPW * hdp, *dow = sdo + warp * AT_RPW * hdp, *kr = sk + lane * hdp,
                        *vr = sv + lane * hdp;
            float s[AT_RPW], dp[AT_RPW];
#pragma unroll
            for (int rr = 0; rr < AT_RPW; rr++) s[rr] = dp[rr] = 0.0f;
            for (int d = 0; d < hd; d++) {
                const float kd = kr[d], vd = vr[d];
#pragma unroll
                for (int rr = 0; rr < AT_RPW; rr++) {
                    s[rr] += qw[rr * hdp + d] * kd;
                    dp[rr] += dow[rr * hdp + d] * vd;
                }
            }
#pragma unroll
            for (int rr = 0; rr < AT_RPW; rr++) {
                float p = valid ? expf(s[rr] - li[rr]) : 0.0f;
                s[rr] = p * (dp[rr] - di[rr]); // ds
            }
#pragma unroll 1
            for (int j = 0; j < AT_TILE; j++) {
                float kv[NC];
#pragma unroll
                for (int c = 0; c < NC; c++) {
                    int d = lane + 32 * c;
                    kv[c] = d < hd ? sk[j * hdp + d] : 0.0f;
                }
#pragma unroll
                for (int rr = 0; rr < AT_RPW; rr++) {
                    float dsj = __shfl_sync(FULL, s[rr], j);
#pragma unroll
                    for (int c = 0; c < NC; c++) dq[rr][c] += dsj * kv[c];
                }
            }
        }
#pragma unroll
        for (int rr = 0; rr < AT_RPW; rr++) {
            int64_t t = q0 + warp * AT_RPW + rr;
            if (t >= T) continue;
            float *g = dqkv + (b * T + t) * ld + h * hd;
#pragma unroll
            for (int c = 0; c < NC; c++) {
                int d = lane + 32 * c;
                if (d < hd) g[d] = acc_store(g[d], dq[rr][c] * scale, acc);
            }
        }
    }
}

template <int NC>
__global__ void __launch_bounds__(AT_WARPS * 32)
    k_attn_bwd_dkv(float *dqkv, const float *dout, const float *qkv, const float *lse, const float *Di, int64_t T,
                   int64_t D, int H, int hd, float scale, int acc, int64_t ntiles, int64_t nitems) {
    extern __shared__ float smem[];
    const int hdp = hd + 1;
    float *sk = smem, *sv = sk + AT_ROWS * hdp, *sq = sv + AT_ROWS * hdp, *sdo = sq + AT_TILE * hdp;
    float *sl = sdo + AT_TILE * hdp, *sd = sl + AT_TILE;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t ld = 3 * D;
    for (int64_t item = blockIdx.x; item < nitems; item += gridDim.x) {
        const int64_t bh = item / ntiles, k0 = (item % ntiles) * AT_ROWS, b = bh / H, h = bh % H;
        const float *base = qkv + b * T * ld + h * hd;
        const float *dob = dout + b * T * D + h * hd;
        __syncthreads();
        load_tile(sk, hdp, base + D, ld, k0, T, hd, 1.0f);
        load_tile(sv, hdp, base + 2 * D, ld, k0, T, hd, 1.0f);
        float dk[AT_RPW][NC], dv[AT_RPW][NC];
#pragma unroll
        for (int rr = 0; rr < AT_RPW; rr++)
#pragma unroll
            for (int c = 0; c < NC; c++) dk[rr][c] = dv[rr][c] = 0.0f;
        for (int64_t q0 = 0; q0 < T; q0 += AT_TILE) {
            __syncthreads();
            load_tile(sq, hdp, base, ld, q0, T, hd, scale);
            load_tile(sdo, hdp, dob, D, q0, T, hd, 1.0f);
            if (threadIdx.x < AT_TILE) {
                int64_t t = q0 + threadIdx.x;
                sl[threadIdx.x] = t < T ? lse[bh * T + t] : 0.0f;
                sd[threadIdx.x] = t < T ? Di[bh * T + t] : 0.0f;
            }
            __syncthreads();
            const bool valid = q0 + lane < T;
            const float *kw = sk + warp * AT_RPW * hdp, *vw = sv + warp * AT_RPW * hdp, *qi = sq + lane * hdp,
                        *doi = sdo + lane * hdp;
            float p[AT_RPW], ds[AT_RPW];
#pragma unroll
            for (int rr = 0; rr < AT_RPW; rr++) p[rr] = ds[rr] = 0.0f;
            for (int d = 0; d < hd; d++) {
                const float qd = qi[d], dod = doi[d];
#pragma unroll
                for (int rr = 0; rr < AT_RPW; rr++) {
                    p[rr] += qd * kw[rr * hdp + d];   // s
                    ds[rr] += dod * vw[rr * hdp + d]; // dp
                }
            }
            const float li = sl[lane], di = sd[lane];
#pragma unroll
            for (int rr = 0; rr < AT_RPW; rr++) {
                p[rr] = valid ? expf(p[rr] - li) : 0.0f;
                ds[rr] = p[rr] * (ds[rr] - di);
            }
#pragma unroll 1
            for (int i = 0; i < AT_TILE; i++) {
                float dov[NC], qv[NC];
#pragma unroll
                for (int c = 0; c < NC; c++) {
                    int d = lane + 32 * c;
                    dov[c] = d < hd ? sdo[i * hdp + d] : 0.0f;
                    qv[c] = d < hd ? sq[i * hdp + d] : 0.0f;
                }
#pragma unroll
                for (int rr = 0; rr < AT_RPW; rr++) {
                    float pi = __shfl_sync(FULL, p[rr], i), dsi = __shfl_sync(FULL, ds[rr], i);
#pragma unroll
                    for (int c = 0; c < NC; c++) {
                        dv[rr][c] += pi * dov[c];
                        dk[rr][c] += dsi * qv[c]; // sq is pre-scaled: dK = scale · dSᵀ Q
                    }
                }
            }
        }
#pragma unroll
        for (int rr = 0; rr < AT_RPW; rr++) {
            int64_t t = k0 + warp * AT_RPW + rr;
            if (t >= T) continue;
            float *g = dqkv + (b * T + t) * ld + h * hd;
#pragma unroll
            for (int c = 0; c < NC; c++) {
                int d = lane + 32 * c;
                if (d < hd) {
                    g[D + d] = acc_store(g[D + d], dk[rr][c], acc);
                    g[2 * D + d] = acc_store(g[2 * D + d], dv[rr][c], acc);
                }
            }
        }
    }
}

// Opt in to more than 48 KiB of dynamic shared memory where a kernel needs it (hd > ~90).
template <typename K> static void set_smem(K kernel, size_t bytes) {
    if (bytes > 48 * 1024)
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

#define AT_DISPATCH(nc, CALL)                                                                                          \
    switch (nc) {                                                                                                      \
    case 1: CALL(1); break;                                                                                            \
    case 2: CALL(2); break;                                                                                            \
    case 3: CALL(3); break;                                                                                            \
    case 4: CALL(4); break;                                                                                            \
    default: DITC_CHECK(0, "cuda attention: head dim %d > 128 is not supported", hd);                                  \
    }

extern "C" void cuda_attn_fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads) {
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3;
    int hd = (int)(D / heads), nc = (hd + 31) / 32;
    if (B * T == 0) return;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t ntiles = (T + AT_ROWS - 1) / AT_ROWS, nitems = ntiles * B * heads;
    unsigned grid = cuda_grid_blocks(nitems);
    size_t smem = (size_t)(AT_ROWS + 2 * AT_TILE) * (size_t)(hd + 1) * sizeof(float);
#define FWD(N)                                                                                                         \
    set_smem(k_attn_fwd<N>, smem);                                                                                     \
    k_attn_fwd<N><<<grid, AT_WARPS * 32, smem, cstream(be)>>>(F32P(out), F32P(lse), CF32P(qkv), T, D, heads, hd,       \
                                                              scale, ntiles, nitems)
    AT_DISPATCH(nc, FWD)
#undef FWD
    CUDA_LAUNCHED();
}

extern "C" void cuda_attn_bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                              const ditc_tensor *out, const ditc_tensor *lse, int heads, int acc) {
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3;
    int hd = (int)(D / heads), nc = (hd + 31) / 32;
    if (B * T == 0) return;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t nrows = B * heads * T;
    float *Di = (float *)cuda_scratch(be, (size_t)nrows * sizeof(float));
    k_attn_di<<<grid_for(nrows * 32, 256), 256, 0, cstream(be)>>>(Di, CF32P(dout), CF32P(out), T, D, heads, hd, nrows);
    CUDA_LAUNCHED();
    int64_t ntiles = (T + AT_ROWS - 1) / AT_ROWS, nitems = ntiles * B * heads;
    unsigned grid = cuda_grid_blocks(nitems);
    size_t smem = (size_t)(2 * AT_ROWS + 2 * AT_TILE) * (size_t)(hd + 1) * sizeof(float) + 2 * AT_TILE * sizeof(float);
#define BWD(N)                                                                                                         \
    set_smem(k_attn_bwd_dq<N>, smem);                                                                                  \
    k_attn_bwd_dq<N><<<grid, AT_WARPS * 32, smem, cstream(be)>>>(F32P(dqkv), CF32P(dout), CF32P(qkv), CF32P(lse), Di,  \
                                                                 T, D, heads, hd, scale, acc, ntiles, nitems);         \
    CUDA_LAUNCHED();                                                                                                   \
    set_smem(k_attn_bwd_dkv<N>, smem);                                                                                 \
    k_attn_bwd_dkv<N><<<grid, AT_WARPS * 32, smem, cstream(be)>>>(F32P(dqkv), CF32P(dout), CF32P(qkv), CF32P(lse), Di, \
                                                                  T, D, heads, hd, scale, acc, ntiles, nitems)
    AT_DISPATCH(nc, BWD)
#undef BWD
    CUDA_LAUNCHED();
}

// ---- row softmax of the GEMM attention (core/ops/ops_attention_gemm.c): one block per row, grid-stride over rows;
// fixed-order block reductions (the same bits run to run). -----------------------------------------------------
#define SM_THREADS 256

__device__ __forceinline__ float block_max(float v, float *sh) {
    v = warp_max(v);
    int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();
    if (l == 0) sh[w] = v;
    __syncthreads();
    v = l < nw ? sh[l] : -INFINITY;
    return warp_max(v);
}

// p16: the probabilities also rounded to bf16 (the next GEMM's operand), or NULL; keep: x is not overwritten (p16 only)
__global__ void k_softmax_fwd(float *x, float *lse, __nv_bfloat16 *p16, int64_t R, int64_t C, int recompute, int keep) {
    __shared__ float sh[32];
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        float *row = x + r * C;
        __nv_bfloat16 *h = p16 ? p16 + r * C : NULL;
        if (recompute) { // the probabilities again from the saved log-sum-exp
            float l = lse[r];
            for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
                float e = expf(row[j] - l);
                if (!keep) row[j] = e;
                if (h) h[j] = __float2bfloat16_rn(e);
            }
            continue;
        }
        float m = -INFINITY;
        for (int64_t j = threadIdx.x; j < C; j += blockDim.x) m = fmaxf(m, row[j]);
        m = block_max(m, sh);
        float s = 0.0f;
        for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
            float e = expf(row[j] - m);
            if (!keep) row[j] = e;
            s += e;
        }
        s = block_sum(s, sh);
        float inv = 1.0f / s;
        for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
            float v = (keep ? expf(row[j] - m) : row[j]) * inv; // (each thread rereads the elements it wrote)
            if (!keep) row[j] = v;
            if (h) h[j] = __float2bfloat16_rn(v);
        }
        if (threadIdx.x == 0) lse[r] = m + logf(s);
    }
}

// dx holds dy; ds16 NULL: dx = y ∘ (dy − Σ y·dy) in place, else ds16 = that rounded to bf16 and dx is left.
// Y: float, or __nv_bfloat16 (the forward's kept probabilities)
__device__ __forceinline__ float ld_y(const float *p, int64_t j) { return p[j]; }
__device__ __forceinline__ float ld_y(const __nv_bfloat16 *p, int64_t j) { return __bfloat162float(p[j]); }
template <typename Y> __global__ void k_softmax_bwd(float *dx, const Y *y, __nv_bfloat16 *ds16, int64_t R, int64_t C) {
    __shared__ float sh[32];
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        float *d = dx + r * C;
        const Y *p = y + r * C;
        float s = 0.0f;
        for (int64_t j = threadIdx.x; j < C; j += blockDim.x) s += ld_y(p, j) * d[j];
        s = block_sum(s, sh);
        for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
            float v = ld_y(p, j) * (d[j] - s);
            if (ds16) ds16[r * C + j] = __float2bfloat16_rn(v);
            else d[j] = v;
        }
    }
}

// ---- rows of up to 32·N elements (N ≤ 32; T ≤ 1024 scores): a warp per row, the row held in registers (read once,
// written once; no block barriers), element j of the row in lane j % 32, slot j / 32

template <int N>
__global__ void k_softmax_fwd_warp(float *x, float *lse, __nv_bfloat16 *p16, int64_t R, int64_t C, int recompute,
                                   int keep) {
    const int lane = threadIdx.x & 31;
    WARP_ROWS(r, R) {
        float *row = x + r * C;
        __nv_bfloat16 *h = p16 ? p16 + r * C : NULL;
        float v[N];
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t j = lane + 32 * k;
            v[k] = j < C ? row[j] : -INFINITY;
        }
        float m, inv = 1.0f; // (recompute: p = exp(x − lse))
        if (recompute) {     // the probabilities again from the saved log-sum-exp
            m = lse[r];
        } else {
            m = -INFINITY;
#pragma unroll
            for (int k = 0; k < N; k++) m = fmaxf(m, v[k]);
            m = warp_max(m);
        }
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < N; k++) {
            v[k] = lane + 32 * k < C ? expf(v[k] - m) : 0.0f;
            s += v[k];
        }
        if (!recompute) {
            s = warp_sum(s);
            inv = 1.0f / s;
        }
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t j = lane + 32 * k;
            if (j >= C) continue;
            float p = v[k] * inv;
            if (!keep) row[j] = p;
            if (h) h[j] = __float2bfloat16_rn(p);
        }
        if (!recompute && lane == 0) lse[r] = m + logf(s);
    }
}

template <int N, typename Y>
__global__ void k_softmax_bwd_warp(float *dx, const Y *y, __nv_bfloat16 *ds16, int64_t R, int64_t C) {
    const int lane = threadIdx.x & 31;
    WARP_ROWS(r, R) {
        float *d = dx + r * C;
        const Y *p = y + r * C;
        float pv[N], dv[N], s = 0.0f;
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t j = lane + 32 * k;
            pv[k] = j < C ? ld_y(p, j) : 0.0f;
            dv[k] = j < C ? d[j] : 0.0f;
            s += pv[k] * dv[k];
        }
        s = warp_sum(s);
#pragma unroll
        for (int k = 0; k < N; k++) {
            int64_t j = lane + 32 * k;
            if (j >= C) continue;
            float v = pv[k] * (dv[k] - s);
            if (ds16) ds16[r * C + j] = __float2bfloat16_rn(v);
            else d[j] = v;
        }
    }
}

// The slots per lane of the warp-per-row kernels for rows of C elements (1, 2, 4, … 32), 0: the block-per-row ones.
// DITC_SOFTMAX_WARP=0 (read once): always the block-per-row ones (A/B).
static int softmax_slots(int64_t C) {
    static int off = -1;
    if (ditc_env_off("DITC_SOFTMAX_WARP", &off) || C > 32 * 32) return 0;
    int n = 1;
    while (32 * n < C) n *= 2;
    return n;
}

template <int N>
static void softmax_fwd_warp(ditc_backend *be, float *x, float *lse, __nv_bfloat16 *h, int64_t R, int64_t C,
                             int recompute, int keep) {
    unsigned grid = warp_row_grid(R);
    k_softmax_fwd_warp<N><<<grid, ROW_THREADS, 0, cstream(be)>>>(x, lse, h, R, C, recompute, keep);
}
template <int N, typename Y>
static void softmax_bwd_warp(ditc_backend *be, float *dx, const Y *y, __nv_bfloat16 *h, int64_t R, int64_t C) {
    unsigned grid = warp_row_grid(R);
    k_softmax_bwd_warp<N, Y><<<grid, ROW_THREADS, 0, cstream(be)>>>(dx, y, h, R, C);
}

extern "C" void cuda_softmax_fwd(ditc_backend *be, ditc_tensor *x, ditc_tensor *lse, ditc_tensor *p16, int flags) {
    int64_t C = ditc_last_dim(x), R = x->numel / C;
    if (R == 0 || C == 0) return;
    __nv_bfloat16 *h = p16 ? (__nv_bfloat16 *)p16->data : NULL;
    int recompute = (flags & DITC_SOFTMAX_RECOMPUTE) != 0, keep = h && (flags & DITC_SOFTMAX_ONLY_P16);
    float *xd = F32P(x), *ld = F32P(lse);
    switch (softmax_slots(C)) {
    case 1: softmax_fwd_warp<1>(be, xd, ld, h, R, C, recompute, keep); break;
    case 2: softmax_fwd_warp<2>(be, xd, ld, h, R, C, recompute, keep); break;
    case 4: softmax_fwd_warp<4>(be, xd, ld, h, R, C, recompute, keep); break;
    case 8: softmax_fwd_warp<8>(be, xd, ld, h, R, C, recompute, keep); break;
    case 16: softmax_fwd_warp<16>(be, xd, ld, h, R, C, recompute, keep); break;
    case 32: softmax_fwd_warp<32>(be, xd, ld, h, R, C, recompute, keep); break;
    default: k_softmax_fwd<<<cuda_grid_blocks(R), SM_THREADS, 0, cstream(be)>>>(xd, ld, h, R, C, recompute, keep);
    }
    CUDA_LAUNCHED();
}

template <typename Y>
static void softmax_bwd_y(ditc_backend *be, float *dx, const Y *y, __nv_bfloat16 *h, int64_t R, int64_t C) {
    switch (softmax_slots(C)) {
    case 1: softmax_bwd_warp<1>(be, dx, y, h, R, C); break;
    case 2: softmax_bwd_warp<2>(be, dx, y, h, R, C); break;
    case 4: softmax_bwd_warp<4>(be, dx, y, h, R, C); break;
    case 8: softmax_bwd_warp<8>(be, dx, y, h, R, C); break;
    case 16: softmax_bwd_warp<16>(be, dx, y, h, R, C); break;
    case 32: softmax_bwd_warp<32>(be, dx, y, h, R, C); break;
    default: k_softmax_bwd<<<cuda_grid_blocks(R), SM_THREADS, 0, cstream(be)>>>(dx, y, h, R, C);
    }
    CUDA_LAUNCHED();
}

extern "C" void cuda_softmax_bwd(ditc_backend *be, ditc_tensor *dx, const ditc_tensor *y, ditc_tensor *ds16) {
    int64_t C = ditc_last_dim(dx), R = dx->numel / C;
    if (R == 0 || C == 0) return;
    __nv_bfloat16 *h = ds16 ? (__nv_bfloat16 *)ds16->data : NULL;
    if (y->dtype == DITC_BF16) softmax_bwd_y(be, F32P(dx), (const __nv_bfloat16 *)y->data, h, R, C); // kept probs
    else softmax_bwd_y(be, F32P(dx), CF32P(y), h, R, C);
}
