// cuda_internal.cuh — shared by the CUDA backend's files: the context, error-check macros (file:line),
// launch helpers, block reductions with a fixed order (bit-stable run to run), and the kernel entry points
// each file defines (extern "C", wired into the table by cuda_backend.cu).
#ifndef DITC_CUDA_INTERNAL_CUH
#define DITC_CUDA_INTERNAL_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "backend.h"
#include "common.h"
}

#define CUDA_CHECK(x)                                                                                                  \
    do {                                                                                                               \
        cudaError_t e_ = (x);                                                                                          \
        if (e_ != cudaSuccess) ditc_fatal(__FILE__, __LINE__, "%s: %s", #x, cudaGetErrorString(e_));                   \
    } while (0)
#define CUBLAS_CHECK(x)                                                                                                \
    do {                                                                                                               \
        cublasStatus_t s_ = (x);                                                                                       \
        if (s_ != CUBLAS_STATUS_SUCCESS) ditc_fatal(__FILE__, __LINE__, "%s: %s", #x, cublasGetStatusString(s_));      \
    } while (0)
// After every launch: configuration errors at once (asynchronous faults surface at the next sync).
#define CUDA_LAUNCHED() CUDA_CHECK(cudaGetLastError())

typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    cudaMemPool_t pool;
    void *scratch; // grows, never shrinks (stream-ordered reuse: one stream)
    size_t scratch_bytes;
    double *sumsq_partial; // sum_squares' block partials (device)
    int *bad_index;        // set by the embedding kernel for an index outside its table: pinned host memory the
                           // kernel writes through (no copy, no wait), checked after every synchronisation
    int64_t bad_index_k;   // the table size of the last embedding launch (for the message)
    void *bias_round;      // the bias of the current GEMM with a BF16 C, rounded: F32 values, then the same as BF16
    __nv_bfloat16 *bias16; // (cuBLASLt's bias for a BF16 D: bias_round's second part), bias_round_cap elements each
    int64_t bias_round_cap;
    cudaEvent_t *marks; // timer marks (events recorded on the stream), n_marks in use of cap_marks created
    int n_marks, cap_marks;
    void **ptrs; // the pointer arrays of outer-batched GEMMs (cuda_gemm.cu), ptrs_cap entries
    int64_t ptrs_cap;
    void *lt;       // cuBLASLt state (cuda_gemm_lt.cu): NULL until first used, (void *)-1 if unavailable
    char name[256]; // cudaDeviceProp.name
    int cc_major, cc_minor, sm_count;
} cuda_ctx;

static inline cuda_ctx *cctx(ditc_backend *be) { return (cuda_ctx *)be->ctx; }
static inline cudaStream_t cstream(ditc_backend *be) { return cctx(be)->stream; }
// Scratch of at least `bytes` (device memory, valid until the next cuda_scratch call).
void *cuda_scratch(ditc_backend *be, size_t bytes);
// After a synchronisation of the stream: fails if a kernel since the last check flagged an error it could not
// report without a wait (an embedding index outside its table).
void cuda_check_flags(ditc_backend *be);

#define F32P(t)  ((float *)(t)->data)
#define CF32P(t) ((const float *)(t)->data)

// The most blocks a 1-D launch gets (default 65535·32); every kernel launched with more work than that loops
// (grid-stride). DITC_CUDA_GRID_CAP=N at backend creation lowers it, so tests reach those loops at small sizes.
extern "C" int64_t cuda_grid_cap;
static inline unsigned cuda_grid_blocks(int64_t blocks) {
    return (unsigned)(blocks < 1 ? 1 : blocks > cuda_grid_cap ? cuda_grid_cap : blocks);
}
static inline unsigned grid_for(int64_t n, int threads) { return cuda_grid_blocks((n + threads - 1) / threads); }
// Grid-stride loop over [0, n).
#define GRID_LOOP(i, n)                                                                                                \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// Sum over the block (blockDim.x a multiple of 32, ≤ 1024) in a fixed order; every thread gets the result.
// `sh` holds ≥ 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float *sh) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();
    if (l == 0) sh[w] = v;
    __syncthreads();
    v = l < nw ? sh[l] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double block_sum_d(double v, double *sh) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();
    if (l == 0) sh[w] = v;
    __syncthreads();
    v = l < nw ? sh[l] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float acc_store(float old, float v, int acc) { return acc ? old + v : v; }
// The warp-per-row kernels (softmax, LayerNorm): blocks of ROW_THREADS threads, a row per warp, grid-stride over R
// rows (every lane of a warp takes the same rows, so warp collectives inside see all 32 lanes).
#define ROW_THREADS 256
#define ROW_WARPS   (ROW_THREADS / 32)
#define WARP_ROWS(r, R)                                                                                                \
    for (int64_t r = (int64_t)blockIdx.x * ROW_WARPS + (threadIdx.x >> 5); r < (R); r += (int64_t)gridDim.x * ROW_WARPS)
static inline unsigned warp_row_grid(int64_t R) { return cuda_grid_blocks((R + ROW_WARPS - 1) / ROW_WARPS); }
// Max / sum over the 32 lanes of a warp (every lane active and converged), butterfly order; every lane gets it.
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

extern "C" {
// The kernels: cuda_<entry> for every kernel entry of core/tensor/backend.h, declared from its lists and set
// into the backend by the same lists (cuda_backend.cu); each is defined in the cuda_<family>.cu of its kind.
#define DITC_CUDA_DECLARE(ret, name, params, args) ret cuda_##name params;
DITC_BACKEND_KERNELS(DITC_CUDA_DECLARE)
#undef DITC_CUDA_DECLARE
// Helpers shared between kernel files.
// cuda_elementwise.cu
void cuda_fill(ditc_backend *be, void *dst, ditc_dtype dtype, size_t n, float value);
void cuda_cast_f32_bf16(ditc_backend *be, __nv_bfloat16 *dst, const float *src, int64_t n);
// cuda_gemm_lt.cu: g's epilogue (bias, GELU, bias gradient) on cuBLASLt; 0 (nothing run) when it does not apply or
// is unavailable
int cuda_gemm_lt(ditc_backend *be, const ditc_gemm *g, const void *a, cudaDataType_t at, const void *b,
                 cudaDataType_t bt, cudaDataType_t ct, cublasComputeType_t compute);
void cuda_gemm_lt_free(ditc_backend *be);
// cuda_reduce.cu
// Column sums with a fixed order: out[g, c] (+)= Σ_r f(g, r, c) over R rows of group g (R·C row-major per group).
// mode 0: f = x[g, r, c]; 1: f = x·y; 2: f = x·(y − mean[g, r])·rstd[g, r]; 3: f = x·y·rstd[g, r].
void cuda_col_sums(ditc_backend *be, float *out, const float *x, const float *y, const float *mean, const float *rstd,
                   int64_t G, int64_t R, int64_t C, int mode, int acc);
// the same with a BF16 x (an output gradient written as bf16 by the consuming linear)
void cuda_col_sums_x16(ditc_backend *be, float *out, const void *x16, const float *y, const float *mean,
                       const float *rstd, int64_t G, int64_t R, int64_t C, int mode, int acc);
// mode 0 and mode 2 of the same x (F32, or BF16 with x16), y at once (the LayerNorm+modulate shift and scale
// gradients): out0, out2
void cuda_col_sums_dual(ditc_backend *be, float *out0, float *out2, const void *x, int x16, const float *y,
                        const float *mean, const float *rstd, int64_t G, int64_t R, int64_t C, int acc0, int acc2);
// out[i] (+)= Σ_s part[s·n + i] over the S chunk partials of a column sum, in chunk order
void cuda_col_sums_fold(ditc_backend *be, float *out, const float *part, int64_t S, int64_t n, int acc);
// mode 1 with a BF16 y (the gated residual's dgate over a bf16 linear output)
void cuda_col_sums_y16(ditc_backend *be, float *out, const float *x, const void *y16, int64_t G, int64_t R, int64_t C,
                       int acc);
// cuda_norm.cu
void cuda_ln_bwd_dx(ditc_backend *be, float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                    const float *w, int64_t R, int64_t D, int acc);
}

#endif
