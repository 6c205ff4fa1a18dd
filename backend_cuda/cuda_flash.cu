// cuda_flash.cu — flash attention on the tensor cores (backend.h flash_fwd / flash_bwd; DITC_ATTN=flash): WMMA
// 16×16×16 bf16 tiles with F32 accumulators, nothing of size T² in memory, deterministic (no atomics).
//
// One CTA of 4 warps per tile of 64 rows of one (batch, head); warp w owns rows [16w, 16w + 16) of its tile. The
// head is padded with zeros to HDP columns (a multiple of 16: 64, 80, 96, 128). Tiles live in shared memory as
// bf16 (q, k, v, dout rounded on load: the matrix units' operands), scores in F32.
//   forward  per query tile, over key tiles: S = QKᵀ (warp rows) → scaled, masked, running max m, p = exp(s − m)
//            as bf16 P, the output rows (F32, shared) scaled by exp(m_old − m) and O += P·V; out = O / l,
//            lse = m + log l (exactly the CPU reference's order of operations, cpu_flash.c).
//   backward D = rowsum(dout ∘ out) (k_flash_di); dK, dV per key tile over query tiles (k_flash_dkv: S and dP
//            recomputed, P = exp(s − lse), dS = P(dP − D), dV += Pᵀ·dO, dK += dSᵀ·Q in register fragments);
//            dQ per query tile over key tiles (k_flash_dq: dQ += dS·K). Every element of dqkv is written by
//            exactly one CTA.
// The softmax statistics use the lanes of a warp in pairs (two lanes per row, 32 columns each). Grid-stride over
// tiles (cuda_grid_cap).
#include <mma.h>
#include <string.h>

#include "cuda_internal.cuh"

using namespace nvcuda;

#define FB  64        // rows of a query / key tile (DITC_FLASH_BLOCK)
#define FW  4         // warps per CTA
#define FT  (FW * 32) // threads per CTA
#define LDS (FB + 4)  // row stride of the F32 score tiles
#define LDP (FB + 8)  // row stride of the bf16 probability tiles

typedef __nv_bfloat16 bf16;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> frag_acc;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> frag_a;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major> frag_at;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> frag_b;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> frag_bt;

static_assert(FB == DITC_FLASH_BLOCK, "the CUDA flash tiles are the CPU reference's key blocks");

__device__ __forceinline__ void put_el(void *p, int bf, int64_t i, float v) {
    if (bf) ((bf16 *)p)[i] = __float2bfloat16_rn(v);
    else ((float *)p)[i] = v;
}

__device__ __forceinline__ float get_el(const void *p, int bf, int64_t i) {
    return bf ? __bfloat162float(((const bf16 *)p)[i]) : ((const float *)p)[i];
}

__device__ __forceinline__ unsigned pack2(float a, float b) {
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    unsigned u;
    memcpy(&u, &h, sizeof u); // (not a pointer cast: strict aliasing)
    return u;
}

// Tile s (FB rows, HDP columns, row stride ldb) = rows row0 .. row0 + rows − 1 (row stride ld) at columns col0 ..
// col0 + hd − 1 of src (F32 or BF16), rounded to bf16; zeros beyond. hd, ld, col0 are multiples of 8.
__device__ void load_tile(bf16 *s, int ldb, int hdp, const void *src, int bf, int64_t row0, int rows, int64_t ld,
                          int64_t col0, int hd) {
    int per = hdp / 8;
    for (int i = threadIdx.x; i < FB * per; i += FT) {
        int r = i / per, c = (i % per) * 8;
        uint4 v = make_uint4(0u, 0u, 0u, 0u);
        if (r < rows && c < hd) {
            int64_t at = (row0 + r) * ld + col0 + c;
            if (bf) v = *(const uint4 *)((const bf16 *)src + at);
            else {
                const float4 *f = (const float4 *)((const float *)src + at);
                float4 x = f[0], y = f[1];
                v = make_uint4(pack2(x.x, x.y), pack2(x.z, x.w), pack2(y.x, y.y), pack2(y.z, y.w));
            }
        }
        *(uint4 *)(s + r * ldb + c) = v;
    }
}

// The 16 × FB scores of this warp's rows: acc[n] = A (rows of a, HDP wide) · B(rows of b)ᵀ, n over FB/16 tiles.
template <int HDP> __device__ void warp_scores(frag_acc *acc, const bf16 *a, const bf16 *b) {
    constexpr int LDB = HDP + 8;
#pragma unroll
    for (int n = 0; n < FB / 16; n++) wmma::fill_fragment(acc[n], 0.0f);
#pragma unroll
    for (int kk = 0; kk < HDP / 16; kk++) {
        frag_a fa;
        wmma::load_matrix_sync(fa, a + kk * 16, LDB);
#pragma unroll
        for (int n = 0; n < FB / 16; n++) {
            frag_bt fb;
            wmma::load_matrix_sync(fb, b + n * 16 * LDB + kk * 16, LDB);
            wmma::mma_sync(acc[n], fa, fb, acc[n]);
        }
    }
}

__device__ __forceinline__ void store_scores(float *s, frag_acc *acc) {
#pragma unroll
    for (int n = 0; n < FB / 16; n++) wmma::store_matrix_sync(s + n * 16, acc[n], LDS, wmma::mem_row_major);
}

// ---- forward ------------------------------------------------------------------------------------------------------
template <int HDP> struct fwd_smem {
    static constexpr int LDB = HDP + 8, LDO = HDP + 4;
    static constexpr size_t bytes =
        3 * FB * LDB * sizeof(bf16) + FB * LDS * 4 + FB * LDP * sizeof(bf16) + FB * LDO * 4 + 3 * FB * 4;
};

template <int HDP>
__global__ void __launch_bounds__(FT, 2) k_flash_fwd(void *out, int out_bf, float *lse, const void *qkv, int qkv_bf,
                                                     int B, int T, int H, int hd, float scale) {
#if __CUDA_ARCH__ >= 800
    constexpr int LDB = fwd_smem<HDP>::LDB, LDO = fwd_smem<HDP>::LDO, NT = HDP / 16;
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *Qs = (bf16 *)smem, *Ks = Qs + FB * LDB, *Vs = Ks + FB * LDB;
    float *Ss = (float *)(Vs + FB * LDB);
    bf16 *Ps = (bf16 *)(Ss + FB * LDS);
    float *Os = (float *)(Ps + FB * LDP), *mrow = Os + FB * LDO, *lrow = mrow + FB;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nq = (T + FB - 1) / FB;
    int64_t D = (int64_t)H * hd, ld3 = 3 * D;
    for (int64_t blk = blockIdx.x; blk < (int64_t)nq * B * H; blk += gridDim.x) {
        int qb = (int)(blk % nq), t0 = qb * FB;
        int64_t bh = blk / nq, b = bh / H, h = bh % H;
        load_tile(Qs, LDB, HDP, qkv, qkv_bf, b * T + t0, min(FB, T - t0), ld3, h * hd, hd);
        for (int i = threadIdx.x; i < FB * LDO; i += FT) Os[i] = 0.0f;
        for (int i = threadIdx.x; i < FB; i += FT) mrow[i] = -INFINITY, lrow[i] = 0.0f;
        for (int k0 = 0; k0 < T; k0 += FB) {
            int kn = min(FB, T - k0);
            __syncthreads(); // the previous tile's readers are done (and Q, O, m, l are in place)
            load_tile(Ks, LDB, HDP, qkv, qkv_bf, b * T + k0, kn, ld3, D + h * hd, hd);
            load_tile(Vs, LDB, HDP, qkv, qkv_bf, b * T + k0, kn, ld3, 2 * D + h * hd, hd);
            __syncthreads();
            frag_acc acc[FB / 16];
            warp_scores<HDP>(acc, Qs + warp * 16 * LDB, Ks);
            store_scores(Ss + warp * 16 * LDS, acc);
            __syncwarp();
            { // the running softmax of row r: lanes 2r', 2r' + 1 take 32 columns each
                int r = warp * 16 + lane / 2, half = lane & 1;
                float *sr = Ss + r * LDS + half * 32, mx = -INFINITY;
                for (int c = 0; c < 32; c++) {
                    float s = half * 32 + c < kn ? sr[c] * scale : -INFINITY;
                    sr[c] = s;
                    mx = fmaxf(mx, s);
                }
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                float mold = mrow[r], mnew = fmaxf(mold, mx), alpha = expf(mold - mnew), sum = 0.0f;
                bf16 *pr = Ps + r * LDP + half * 32;
                for (int c = 0; c < 32; c++) {
                    float p = expf(sr[c] - mnew);
                    sum += p;
                    pr[c] = __float2bfloat16_rn(p);
                }
                sum += __shfl_xor_sync(0xffffffffu, sum, 1);
                float *orow = Os + r * LDO;
                for (int c = half; c < HDP; c += 2) orow[c] *= alpha;
                __syncwarp();
                if (!half) mrow[r] = mnew, lrow[r] = lrow[r] * alpha + sum;
            }
            __syncwarp();
#pragma unroll
            for (int n = 0; n < NT; n++) { // O (warp rows, columns 16n) += P · V
                frag_acc o;
                wmma::load_matrix_sync(o, Os + warp * 16 * LDO + n * 16, LDO, wmma::mem_row_major);
#pragma unroll
                for (int kk = 0; kk < FB / 16; kk++) {
                    frag_a fa;
                    frag_b fb;
                    wmma::load_matrix_sync(fa, Ps + warp * 16 * LDP + kk * 16, LDP);
                    wmma::load_matrix_sync(fb, Vs + kk * 16 * LDB + n * 16, LDB);
                    wmma::mma_sync(o, fa, fb, o);
                }
                wmma::store_matrix_sync(Os + warp * 16 * LDO + n * 16, o, LDO, wmma::mem_row_major);
            }
        }
        __syncthreads();
        for (int i = threadIdx.x; i < FB * hd; i += FT) {
            int r = i / hd, d = i % hd;
            if (t0 + r < T) put_el(out, out_bf, (b * T + t0 + r) * D + h * hd + d, Os[r * LDO + d] / lrow[r]);
        }
        for (int r = threadIdx.x; r < FB; r += FT)
            if (t0 + r < T) lse[bh * T + t0 + r] = mrow[r] + logf(lrow[r]);
        __syncthreads(); // (the next tile's loads overwrite Q, O, m, l)
    }
#endif
}

// ---- backward -----------------------------------------------------------------------------------------------------
// Di[(b·H + h)·T + t] = Σ_d dout · out over the head's columns: one warp per row.
__global__ void k_flash_di(float *Di, const void *dout, int dout_bf, const void *out, int out_bf, int64_t B, int T,
                           int H, int hd) {
    int64_t rows = B * T * H, warps = (int64_t)gridDim.x * (blockDim.x / 32);
    for (int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; row < rows; row += warps) {
        int64_t h = row % H, bt = row / H, b = bt / T, t = bt % T, at = bt * H * hd + h * hd;
        float s = 0.0f;
        for (int d = threadIdx.x % 32; d < hd; d += 32)
            s += get_el(dout, dout_bf, at + d) * get_el(out, out_bf, at + d);
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (threadIdx.x % 32 == 0) Di[(b * H + h) * T + t] = s;
    }
}

// The scores and dP of this warp's 16 query rows against a key tile, then P and dS (bf16) of those rows:
// p = exp(scale·s − lse), dS = p·(dP − D); zero outside the valid rows / keys.
template <int HDP>
__device__ void warp_p_ds(const bf16 *Qw, const bf16 *Gw, const bf16 *Ks, const bf16 *Vs, float *Ss, float *dPs,
                          bf16 *Pb, bf16 *dSb, const float *lse_s, const float *D_s, int qn, int kn, float scale) {
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    frag_acc acc[FB / 16];
    warp_scores<HDP>(acc, Qw, Ks);
    store_scores(Ss + warp * 16 * LDS, acc);
    warp_scores<HDP>(acc, Gw, Vs);
    store_scores(dPs + warp * 16 * LDS, acc);
    __syncwarp();
    int r = warp * 16 + lane / 2, half = lane & 1;
    for (int c = half * 32; c < half * 32 + 32; c++) {
        float p = r < qn && c < kn ? expf(Ss[r * LDS + c] * scale - lse_s[r]) : 0.0f;
        float ds = p * (dPs[r * LDS + c] - D_s[r]);
        if (Pb) Pb[r * LDP + c] = __float2bfloat16_rn(p);
        dSb[r * LDP + c] = __float2bfloat16_rn(ds);
    }
}

template <int HDP> struct bwd_smem {
    static constexpr int LDB = HDP + 8, LDO = HDP + 4;
    static constexpr size_t bytes =
        4 * FB * LDB * sizeof(bf16) + 2 * FB * LDS * 4 + 2 * FB * LDP * sizeof(bf16) + 2 * FB * 4;
    static_assert(2 * FB * LDB * sizeof(bf16) >= FB * LDO * 4, "the F32 staging of the results fits two bf16 tiles");
};

// The rows of a warp's result fragments (16 × HDP, scaled) into columns col0 of dqkv's rows row0 + 16·warp.
template <int HDP>
__device__ void store_rows(void *dqkv, int bf, float *stage, frag_acc *f, float scale, int64_t row0, int valid,
                           int64_t ld, int64_t col0, int hd) {
    constexpr int LDO = HDP + 4;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float *w = stage + warp * 16 * LDO;
#pragma unroll
    for (int n = 0; n < HDP / 16; n++) {
        for (int i = 0; i < f[n].num_elements; i++) f[n].x[i] *= scale;
        wmma::store_matrix_sync(w + n * 16, f[n], LDO, wmma::mem_row_major);
    }
    __syncwarp();
    for (int i = lane; i < 16 * hd; i += 32) {
        int r = i / hd, d = i % hd;
        if (warp * 16 + r < valid) put_el(dqkv, bf, (row0 + warp * 16 + r) * ld + col0 + d, w[r * LDO + d]);
    }
    __syncwarp();
}

// The backward kernels' shared memory: two bf16 tiles whose memory later stages the results (t0, t1), two more
// (u0, u1), the scores and dP (F32), P and dS (bf16), the query rows' lse and D.
template <int HDP> struct bwd_tiles {
    bf16 *t0, *t1, *u0, *u1, *Pb, *dSb;
    float *Ss, *dPs, *lse_s, *D_s;
    __device__ explicit bwd_tiles(unsigned char *smem) {
        constexpr int LDB = HDP + 8;
        t0 = (bf16 *)smem, t1 = t0 + FB * LDB, u0 = t1 + FB * LDB, u1 = u0 + FB * LDB;
        Ss = (float *)(u1 + FB * LDB), dPs = Ss + FB * LDS;
        Pb = (bf16 *)(dPs + FB * LDS), dSb = Pb + FB * LDP;
        lse_s = (float *)(dSb + FB * LDP), D_s = lse_s + FB;
    }
};

// dK, dV of one key tile: over all query tiles.
template <int HDP>
__global__ void __launch_bounds__(FT)
    k_flash_dkv(void *dqkv, int dq_bf, const void *dout, int dout_bf, const void *qkv, int qkv_bf, const float *lse,
                const float *Di, int B, int T, int H, int hd, float scale) {
#if __CUDA_ARCH__ >= 800
    constexpr int LDB = bwd_smem<HDP>::LDB, NT = HDP / 16;
    extern __shared__ __align__(128) unsigned char smem[];
    bwd_tiles<HDP> s(smem); // Q and dO stage the results
    bf16 *Qs = s.t0, *Gs = s.t1, *Ks = s.u0, *Vs = s.u1, *Pb = s.Pb, *dSb = s.dSb;
    float *Ss = s.Ss, *dPs = s.dPs, *lse_s = s.lse_s, *D_s = s.D_s;
    int warp = threadIdx.x / 32, nk = (T + FB - 1) / FB;
    int64_t D = (int64_t)H * hd, ld3 = 3 * D;
    for (int64_t blk = blockIdx.x; blk < (int64_t)nk * B * H; blk += gridDim.x) {
        int k0 = (int)(blk % nk) * FB, kn = min(FB, T - k0);
        int64_t bh = blk / nk, b = bh / H, h = bh % H;
        __syncthreads(); // the previous tile's readers of the staging (Q, dO) are done
        load_tile(Ks, LDB, HDP, qkv, qkv_bf, b * T + k0, kn, ld3, D + h * hd, hd);
        load_tile(Vs, LDB, HDP, qkv, qkv_bf, b * T + k0, kn, ld3, 2 * D + h * hd, hd);
        frag_acc dK[NT], dV[NT];
#pragma unroll
        for (int n = 0; n < NT; n++) wmma::fill_fragment(dK[n], 0.0f), wmma::fill_fragment(dV[n], 0.0f);
        for (int q0 = 0; q0 < T; q0 += FB) {
            int qn = min(FB, T - q0);
            __syncthreads(); // the previous query tile's readers are done
            load_tile(Qs, LDB, HDP, qkv, qkv_bf, b * T + q0, qn, ld3, h * hd, hd);
            load_tile(Gs, LDB, HDP, dout, dout_bf, b * T + q0, qn, D, h * hd, hd);
            for (int r = threadIdx.x; r < FB; r += FT) {
                lse_s[r] = r < qn ? lse[bh * T + q0 + r] : 0.0f;
                D_s[r] = r < qn ? Di[bh * T + q0 + r] : 0.0f;
            }
            __syncthreads();
            warp_p_ds<HDP>(Qs + warp * 16 * LDB, Gs + warp * 16 * LDB, Ks, Vs, Ss, dPs, Pb, dSb, lse_s, D_s, qn, kn,
                           scale);
            __syncthreads(); // every warp's P and dS rows
#pragma unroll 1
            for (int kk = 0; kk < FB / 16; kk++) { // key rows 16·warp: dV += Pᵀ·dO, dK += dSᵀ·Q
                frag_at fp, fs;
                wmma::load_matrix_sync(fp, Pb + kk * 16 * LDP + warp * 16, LDP);
                wmma::load_matrix_sync(fs, dSb + kk * 16 * LDP + warp * 16, LDP);
#pragma unroll
                for (int n = 0; n < NT; n++) {
                    frag_b fb;
                    wmma::load_matrix_sync(fb, Gs + kk * 16 * LDB + n * 16, LDB);
                    wmma::mma_sync(dV[n], fp, fb, dV[n]);
                    wmma::load_matrix_sync(fb, Qs + kk * 16 * LDB + n * 16, LDB);
                    wmma::mma_sync(dK[n], fs, fb, dK[n]);
                }
            }
        }
        __syncthreads(); // Q and dO are read: their memory stages the results
        float *stage = (float *)smem;
        store_rows<HDP>(dqkv, dq_bf, stage, dK, scale, b * T + k0, kn, ld3, D + h * hd, hd);
        store_rows<HDP>(dqkv, dq_bf, stage, dV, 1.0f, b * T + k0, kn, ld3, 2 * D + h * hd, hd);
    }
#endif
}

// dQ of one query tile: over all key tiles.
template <int HDP>
__global__ void __launch_bounds__(FT)
    k_flash_dq(void *dqkv, int dq_bf, const void *dout, int dout_bf, const void *qkv, int qkv_bf, const float *lse,
               const float *Di, int B, int T, int H, int hd, float scale) {
#if __CUDA_ARCH__ >= 800
    constexpr int LDB = bwd_smem<HDP>::LDB, NT = HDP / 16;
    extern __shared__ __align__(128) unsigned char smem[];
    bwd_tiles<HDP> s(smem); // K and V stage the results
    bf16 *Ks = s.t0, *Vs = s.t1, *Qs = s.u0, *Gs = s.u1, *dSb = s.dSb;
    float *Ss = s.Ss, *dPs = s.dPs, *lse_s = s.lse_s, *D_s = s.D_s;
    int warp = threadIdx.x / 32, nq = (T + FB - 1) / FB;
    int64_t D = (int64_t)H * hd, ld3 = 3 * D;
    for (int64_t blk = blockIdx.x; blk < (int64_t)nq * B * H; blk += gridDim.x) {
        int q0 = (int)(blk % nq) * FB, qn = min(FB, T - q0);
        int64_t bh = blk / nq, b = bh / H, h = bh % H;
        __syncthreads();
        load_tile(Qs, LDB, HDP, qkv, qkv_bf, b * T + q0, qn, ld3, h * hd, hd);
        load_tile(Gs, LDB, HDP, dout, dout_bf, b * T + q0, qn, D, h * hd, hd);
        for (int r = threadIdx.x; r < FB; r += FT) {
            lse_s[r] = r < qn ? lse[bh * T + q0 + r] : 0.0f;
            D_s[r] = r < qn ? Di[bh * T + q0 + r] : 0.0f;
        }
        frag_acc dQ[NT];
#pragma unroll
        for (int n = 0; n < NT; n++) wmma::fill_fragment(dQ[n], 0.0f);
        for (int k0 = 0; k0 < T; k0 += FB) {
            int kn = min(FB, T - k0);
            __syncthreads();
            load_tile(Ks, LDB, HDP, qkv, qkv_bf, b * T + k0, kn, ld3, D + h * hd, hd);
            load_tile(Vs, LDB, HDP, qkv, qkv_bf, b * T + k0, kn, ld3, 2 * D + h * hd, hd);
            __syncthreads();
            warp_p_ds<HDP>(Qs + warp * 16 * LDB, Gs + warp * 16 * LDB, Ks, Vs, Ss, dPs, NULL, dSb, lse_s, D_s, qn, kn,
                           scale);
            __syncwarp(); // (dS rows of this warp only)
#pragma unroll 1
            for (int kk = 0; kk < FB / 16; kk++) { // dQ (query rows 16·warp) += dS · K
                frag_a fa;
                wmma::load_matrix_sync(fa, dSb + warp * 16 * LDP + kk * 16, LDP);
#pragma unroll
                for (int n = 0; n < NT; n++) {
                    frag_b fb;
                    wmma::load_matrix_sync(fb, Ks + kk * 16 * LDB + n * 16, LDB);
                    wmma::mma_sync(dQ[n], fa, fb, dQ[n]);
                }
            }
        }
        __syncthreads(); // K and V are read: their memory stages the results
        store_rows<HDP>(dqkv, dq_bf, (float *)smem, dQ, scale, b * T + q0, qn, ld3, h * hd, hd);
    }
#endif
}

// ---- entries ------------------------------------------------------------------------------------------------------
static int head_pad(int hd) {
    DITC_CHECK(hd % 8 == 0 && hd <= 128, "flash attention: head dim %d (a multiple of 8 up to 128)", hd);
    return hd <= 64 ? 64 : hd <= 80 ? 80 : hd <= 96 ? 96 : 128;
}

// The shared memory a kernel asks for, within what this GPU grants a block (H100/H200 227 KiB, A100 163 KiB; the
// 99 KiB of sm_86/89 cards do not fit the widest heads).
template <typename K> static void smem_opt_in(ditc_backend *be, K kernel, size_t bytes) {
    int most = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&most, cudaDevAttrMaxSharedMemoryPerBlockOptin, cctx(be)->device));
    DITC_CHECK(bytes <= (size_t)most,
               "flash attention (DITC_ATTN=flash): %zu bytes of shared memory per block at this head width, the GPU "
               "allows %d; run without DITC_ATTN=flash",
               bytes, most);
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

// The entries' common checks: tensor cores with bf16 WMMA (sm_80+), the packed layout.
static void flash_check(ditc_backend *be, const ditc_tensor *qkv, const ditc_tensor *dout, int heads) {
    DITC_CHECK(cctx(be)->cc_major >= 8,
               "flash attention (DITC_ATTN=flash) needs compute capability 8.0 or newer (%d.%d)", cctx(be)->cc_major,
               cctx(be)->cc_minor);
    DITC_CHECK(qkv->ndim == 3 && qkv->shape[2] % (3 * heads) == 0, "flash attention: qkv (B, T, 3·H·hd)");
    // load_tile reads 16 bytes at a time (uint4 / float4): a misaligned view would fault on the GPU only
    DITC_CHECK((uintptr_t)qkv->data % 16 == 0 && (!dout || (uintptr_t)dout->data % 16 == 0),
               "flash attention: qkv and the output gradient must be 16-byte aligned");
}

template <int HDP>
static void fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int B, int T, int H,
                int hd) {
    size_t bytes = fwd_smem<HDP>::bytes;
    smem_opt_in(be, k_flash_fwd<HDP>, bytes);
    int64_t tiles = (int64_t)((T + FB - 1) / FB) * B * H;
    k_flash_fwd<HDP><<<cuda_grid_blocks(tiles), FT, bytes, cstream(be)>>>(out->data, out->dtype == DITC_BF16, F32P(lse),
                                                                          qkv->data, qkv->dtype == DITC_BF16, B, T, H,
                                                                          hd, 1.0f / sqrtf((float)hd));
    CUDA_LAUNCHED();
}

template <int HDP>
static void bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                const ditc_tensor *lse, const float *Di, int B, int T, int H, int hd) {
    size_t bytes = bwd_smem<HDP>::bytes;
    smem_opt_in(be, k_flash_dkv<HDP>, bytes);
    smem_opt_in(be, k_flash_dq<HDP>, bytes);
    int64_t tiles = (int64_t)((T + FB - 1) / FB) * B * H;
    float scale = 1.0f / sqrtf((float)hd);
    int dq_bf = dqkv->dtype == DITC_BF16, g_bf = dout->dtype == DITC_BF16, x_bf = qkv->dtype == DITC_BF16;
    k_flash_dkv<HDP><<<cuda_grid_blocks(tiles), FT, bytes, cstream(be)>>>(
        dqkv->data, dq_bf, dout->data, g_bf, qkv->data, x_bf, CF32P(lse), Di, B, T, H, hd, scale);
    CUDA_LAUNCHED();
    k_flash_dq<HDP><<<cuda_grid_blocks(tiles), FT, bytes, cstream(be)>>>(dqkv->data, dq_bf, dout->data, g_bf, qkv->data,
                                                                         x_bf, CF32P(lse), Di, B, T, H, hd, scale);
    CUDA_LAUNCHED();
}

#define FLASH_DISPATCH(hdp, CALL)                                                                                      \
    switch (hdp) {                                                                                                     \
    case 64: CALL(64); break;                                                                                          \
    case 80: CALL(80); break;                                                                                          \
    case 96: CALL(96); break;                                                                                          \
    default: CALL(128); break;                                                                                         \
    }

extern "C" void cuda_flash_fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv,
                               int heads) {
    flash_check(be, qkv, NULL, heads);
    int B = (int)qkv->shape[0], T = (int)qkv->shape[1], H = heads, hd = (int)(qkv->shape[2] / 3 / heads);
    if (!B || !T) return;
#define FWD(p) fwd<p>(be, out, lse, qkv, B, T, H, hd)
    FLASH_DISPATCH(head_pad(hd), FWD)
#undef FWD
}

extern "C" void cuda_flash_bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                               const ditc_tensor *out, const ditc_tensor *lse, int heads) {
    flash_check(be, qkv, dout, heads);
    int B = (int)qkv->shape[0], T = (int)qkv->shape[1], H = heads, hd = (int)(qkv->shape[2] / 3 / heads);
    if (!B || !T) return;
    int hdp = head_pad(hd);
    float *Di = (float *)cuda_scratch(be, (size_t)B * H * T * sizeof(float)); // D = rowsum(dout ∘ out)
    int64_t rows = (int64_t)B * T * H;
    k_flash_di<<<cuda_grid_blocks((rows + 7) / 8), 256, 0, cstream(be)>>>(
        Di, dout->data, dout->dtype == DITC_BF16, out->data, out->dtype == DITC_BF16, B, T, H, hd);
    CUDA_LAUNCHED();
#define BWD(p) bwd<p>(be, dqkv, dout, qkv, lse, Di, B, T, H, hd)
    FLASH_DISPATCH(hdp, BWD)
#undef BWD
}
