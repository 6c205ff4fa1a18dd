// cuda_reduce.cu — column sums (bias/affine/modulation gradients), row sums, per-row MSE.
//
// Deterministic: every sum has a fixed order independent of timing (no atomics). Column sums: a block of
// 32 columns × 16 row lanes, each lane sums rows lane, lane+16, … then the 16 lanes are added in order. When that
// grid would leave most SMs idle (a bias gradient: one group, C/32 blocks over B·T rows), the rows are cut into S
// chunks (grid.z) whose partial sums go to scratch and are then added in chunk order by a second kernel.
// Row sums: one block per row, strided per-thread partials then a fixed shuffle tree (block_sum).
#include "cuda_internal.cuh"

#define TPB 256

// grid.y takes groups g, g + gridDim.y, … (gridDim.y ≤ 65535 while G, e.g. B·heads or B, may be larger); grid.z is
// the chunk of rows [z·rpc, (z+1)·rpc), whose sums go to out + z·G·C (with more than one chunk: partials, acc 0).
// X: float, or __nv_bfloat16 (a bias gradient from a bf16 output gradient, mode 0)
__device__ __forceinline__ float ldx(const float *x, int64_t i) { return x[i]; }
__device__ __forceinline__ float ldx(const __nv_bfloat16 *x, int64_t i) { return __bfloat162float(x[i]); }
template <typename X, typename Y>
__global__ void k_col_sums(float *out, const X *x, const Y *y, const float *mean, const float *rstd, int64_t G,
                           int64_t R, int64_t C, int mode, int acc, int64_t rpc) {
    __shared__ float part[16][33];
    const int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
    const int64_t r0 = (int64_t)blockIdx.z * rpc, r1 = r0 + rpc < R ? r0 + rpc : R;
    out += (int64_t)blockIdx.z * G * C;
    for (int64_t g = blockIdx.y; g < G; g += gridDim.y) {
        const X *xg = x + g * R * C;
        const Y *yg = y ? y + g * R * C : NULL;
        float s = 0.0f;
        if (c < C) {
            for (int64_t r = r0 + threadIdx.y; r < r1; r += 16) {
                int64_t i = r * C + c;
                float v = ldx(xg, i);
                if (mode == 1) v *= ldx(yg, i);
                else if (mode == 2) v *= (ldx(yg, i) - mean[g * R + r]) * rstd[g * R + r];
                else if (mode == 3) v *= ldx(yg, i) * rstd[g * R + r];
                s += v;
            }
        }
        __syncthreads(); // the previous group's partials are read
        part[threadIdx.y][threadIdx.x] = s;
        __syncthreads();
        if (threadIdx.y == 0 && c < C) {
            float t = 0.0f;
            for (int k = 0; k < 16; k++) t += part[k][threadIdx.x];
            out[g * C + c] = acc_store(out[g * C + c], t, acc);
        }
    }
}

// The modulation gradients of LayerNorm+modulate in one pass over dy and x (dy read once instead of twice):
// out0 = k_col_sums mode 0 of dy, out2 = mode 2 (dy·xhat), the same sums in the same order as the two calls it
// replaces (the compiler may contract dy·xhat into the sum here, so the last bit can differ from those calls);
// acc0 / acc2 each as k_col_sums' acc.
// X: float, or __nv_bfloat16 (dy written as bf16 by the consuming linear's dx GEMM)
template <typename X>
__global__ void k_col_sums_dual(float *out0, float *out2, const X *x, const float *y, const float *mean,
                                const float *rstd, int64_t G, int64_t R, int64_t C, int acc0, int acc2, int64_t rpc) {
    __shared__ float part[2][16][33];
    const int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
    const int64_t r0 = (int64_t)blockIdx.z * rpc, r1 = r0 + rpc < R ? r0 + rpc : R;
    out0 += (int64_t)blockIdx.z * G * C;
    out2 += (int64_t)blockIdx.z * G * C;
    for (int64_t g = blockIdx.y; g < G; g += gridDim.y) {
        const X *xg = x + g * R * C;
        const float *yg = y + g * R * C;
        float s0 = 0.0f, s2 = 0.0f;
        if (c < C) {
            for (int64_t r = r0 + threadIdx.y; r < r1; r += 16) {
                int64_t i = r * C + c;
                float v = ldx(xg, i);
                s0 += v;
                s2 += v * ((yg[i] - mean[g * R + r]) * rstd[g * R + r]);
            }
        }
        __syncthreads(); // the previous group's partials are read
        part[0][threadIdx.y][threadIdx.x] = s0;
        part[1][threadIdx.y][threadIdx.x] = s2;
        __syncthreads();
        if (threadIdx.y == 0 && c < C) {
            float t0 = 0.0f, t2 = 0.0f;
            for (int k = 0; k < 16; k++) t0 += part[0][k][threadIdx.x], t2 += part[1][k][threadIdx.x];
            out0[g * C + c] = acc_store(out0[g * C + c], t0, acc0);
            out2[g * C + c] = acc_store(out2[g * C + c], t2, acc2);
        }
    }
}

// out[i] (+)= Σ_s part[s·n + i] in chunk order
__global__ void k_col_sums_fold(float *out, const float *part, int64_t S, int64_t n, int acc) {
    GRID_LOOP(i, n) {
        float t = 0.0f;
        for (int64_t s = 0; s < S; s++) t += part[s * n + i];
        out[i] = acc_store(out[i], t, acc);
    }
}

// The launch shape of a column sum over G groups of R rows × C columns: gy groups in grid.y, S chunks of rpc rows.
static void col_sums_shape(ditc_backend *be, int64_t G, int64_t R, int64_t C, int64_t *gy, int64_t *S, int64_t *rpc) {
    *gy = G < 65535 ? G : 65535;
    if (*gy > cuda_grid_cap) *gy = cuda_grid_cap;
    int64_t blocks = (C + 31) / 32 * *gy, want = 4 * (int64_t)(cctx(be)->sm_count > 0 ? cctx(be)->sm_count : 132);
    *S = 1, *rpc = R > 0 ? R : 1;
    if (blocks < want && R >= 128) { // row chunks of at least 64 rows until the grid covers the SMs
        *S = (want + blocks - 1) / blocks;
        if (*S > R / 64) *S = R / 64;
        if (*S > 65535) *S = 65535;
        *rpc = (R + *S - 1) / *S;
        *S = (R + *rpc - 1) / *rpc;
    }
}

template <typename X, typename Y>
static void col_sums(ditc_backend *be, float *out, const X *x, const Y *y, const float *mean, const float *rstd,
                     int64_t G, int64_t R, int64_t C, int mode, int acc) {
    if (G * C == 0) return;
    int64_t gy, S, rpc;
    col_sums_shape(be, G, R, C, &gy, &S, &rpc);
    dim3 grid((unsigned)((C + 31) / 32), (unsigned)gy, (unsigned)S), block(32, 16);
    if (S == 1) {
        k_col_sums<<<grid, block, 0, cstream(be)>>>(out, x, y, mean, rstd, G, R, C, mode, acc, rpc);
        CUDA_LAUNCHED();
        return;
    }
    float *part = (float *)cuda_scratch(be, (size_t)(S * G * C) * sizeof(float));
    k_col_sums<<<grid, block, 0, cstream(be)>>>(part, x, y, mean, rstd, G, R, C, mode, 0, rpc);
    CUDA_LAUNCHED();
    k_col_sums_fold<<<grid_for(G * C, TPB), TPB, 0, cstream(be)>>>(out, part, S, G * C, acc);
    CUDA_LAUNCHED();
}

extern "C" void cuda_col_sums(ditc_backend *be, float *out, const float *x, const float *y, const float *mean,
                              const float *rstd, int64_t G, int64_t R, int64_t C, int mode, int acc) {
    col_sums(be, out, x, y, mean, rstd, G, R, C, mode, acc);
}

extern "C" void cuda_col_sums_x16(ditc_backend *be, float *out, const void *x16, const float *y, const float *mean,
                                  const float *rstd, int64_t G, int64_t R, int64_t C, int mode, int acc) {
    col_sums(be, out, (const __nv_bfloat16 *)x16, y, mean, rstd, G, R, C, mode, acc);
}

template <typename X>
static void col_sums_dual(ditc_backend *be, float *out0, float *out2, const X *x, const float *y, const float *mean,
                          const float *rstd, int64_t G, int64_t R, int64_t C, int acc0, int acc2) {
    if (G * C == 0) return;
    int64_t gy, S, rpc;
    col_sums_shape(be, G, R, C, &gy, &S, &rpc);
    dim3 grid((unsigned)((C + 31) / 32), (unsigned)gy, (unsigned)S), block(32, 16);
    if (S == 1) {
        k_col_sums_dual<<<grid, block, 0, cstream(be)>>>(out0, out2, x, y, mean, rstd, G, R, C, acc0, acc2, rpc);
        CUDA_LAUNCHED();
        return;
    }
    float *part = (float *)cuda_scratch(be, (size_t)(2 * S * G * C) * sizeof(float)); // [out0's S | out2's S]
    k_col_sums_dual<<<grid, block, 0, cstream(be)>>>(part, part + S * G * C, x, y, mean, rstd, G, R, C, 0, 0, rpc);
    CUDA_LAUNCHED();
    k_col_sums_fold<<<grid_for(G * C, TPB), TPB, 0, cstream(be)>>>(out0, part, S, G * C, acc0);
    CUDA_LAUNCHED();
    k_col_sums_fold<<<grid_for(G * C, TPB), TPB, 0, cstream(be)>>>(out2, part + S * G * C, S, G * C, acc2);
    CUDA_LAUNCHED();
}

extern "C" void cuda_col_sums_dual(ditc_backend *be, float *out0, float *out2, const void *x, int x16, const float *y,
                                   const float *mean, const float *rstd, int64_t G, int64_t R, int64_t C, int acc0,
                                   int acc2) {
    if (x16) col_sums_dual(be, out0, out2, (const __nv_bfloat16 *)x, y, mean, rstd, G, R, C, acc0, acc2);
    else col_sums_dual(be, out0, out2, (const float *)x, y, mean, rstd, G, R, C, acc0, acc2);
}

extern "C" void cuda_col_sums_fold(ditc_backend *be, float *out, const float *part, int64_t S, int64_t n, int acc) {
    if (!n) return;
    k_col_sums_fold<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(out, part, S, n, acc);
    CUDA_LAUNCHED();
}

extern "C" void cuda_col_sums_y16(ditc_backend *be, float *out, const float *x, const void *y16, int64_t G, int64_t R,
                                  int64_t C, int acc) {
    col_sums(be, out, x, (const __nv_bfloat16 *)y16, NULL, NULL, G, R, C, 1, acc);
}

extern "C" void cuda_bias_bwd(ditc_backend *be, ditc_tensor *db, const ditc_tensor *dy, int acc) {
    int64_t N = db->numel, M = dy->numel / N;
    if (dy->dtype == DITC_BF16) // a bf16 output gradient (core/ops/ops.h ditc_bf16_grad)
        col_sums(be, F32P(db), (const __nv_bfloat16 *)dy->data, (const float *)NULL, NULL, NULL, 1, M, N, 0, acc);
    else col_sums(be, F32P(db), CF32P(dy), (const float *)NULL, NULL, NULL, 1, M, N, 0, acc);
}

// out[r] (+)= scale · Σ_c f(a, b), f = a (b NULL) or (a − b)²; partials in double like the CPU backend.
__global__ void k_row_sums(float *out, const float *a, const float *b, int64_t R, int64_t C, float scale, int acc) {
    __shared__ double sh[32];
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) { // (one block per row; grid-stride past the grid cap)
        const float *ar = a + r * C, *br = b ? b + r * C : NULL;
        double s = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
            if (br) {
                double d = (double)ar[c] - br[c];
                s += d * d;
            } else {
                s += ar[c];
            }
        }
        s = block_sum_d(s, sh);
        if (threadIdx.x == 0) out[r] = acc_store(out[r], (float)(s * scale), acc);
    }
}

extern "C" void cuda_reduce_rows(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, float scale, int acc) {
    int64_t R = out->numel, C = x->numel / R;
    if (!R) return;
    k_row_sums<<<cuda_grid_blocks(R), TPB, 0, cstream(be)>>>(F32P(out), CF32P(x), NULL, R, C, scale, acc);
    CUDA_LAUNCHED();
}

__global__ void k_expand_rows(float *g, const float *d, int64_t R, int64_t C, float scale, int acc) {
    GRID_LOOP(i, R * C) g[i] = acc_store(g[i], scale * d[i / C], acc);
}

extern "C" void cuda_expand_rows(ditc_backend *be, ditc_tensor *dx, const ditc_tensor *dout, float scale, int acc) {
    int64_t R = dout->numel, C = dx->numel / R;
    if (!dx->numel) return;
    k_expand_rows<<<grid_for(R * C, TPB), TPB, 0, cstream(be)>>>(F32P(dx), CF32P(dout), R, C, scale, acc);
    CUDA_LAUNCHED();
}

extern "C" void cuda_mse_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b) {
    int64_t R = out->numel, C = a->numel / R;
    if (!R) return;
    k_row_sums<<<cuda_grid_blocks(R), TPB, 0, cstream(be)>>>(F32P(out), CF32P(a), CF32P(b), R, C, 1.0f / (float)C, 0);
    CUDA_LAUNCHED();
}

__global__ void k_mse_bwd(float *ga, float *gb, const float *d, const float *a, const float *b, int64_t R, int64_t C,
                          int acc_a, int acc_b) {
    GRID_LOOP(i, R * C) {
        float v = 2.0f * d[i / C] / (float)C * (a[i] - b[i]);
        if (ga) ga[i] = acc_store(ga[i], v, acc_a);
        if (gb) gb[i] = acc_b ? gb[i] - v : -v;
    }
}

extern "C" void cuda_mse_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout,
                             const ditc_tensor *a, const ditc_tensor *b, int acc_a, int acc_b) {
    int64_t R = dout->numel, C = a->numel / R;
    if (!a->numel || (!da && !db)) return;
    k_mse_bwd<<<grid_for(R * C, TPB), TPB, 0, cstream(be)>>>(da ? F32P(da) : NULL, db ? F32P(db) : NULL, CF32P(dout),
                                                             CF32P(a), CF32P(b), R, C, acc_a, acc_b);
    CUDA_LAUNCHED();
}
