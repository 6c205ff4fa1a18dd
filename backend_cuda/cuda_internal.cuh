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

#define CUDA_CHECK(x)                                                                                 \
    do {                                                                                              \
        cudaError_t e_ = (x);                                                                         \
        if (e_ != cudaSuccess) ditc_fatal(__FILE__, __LINE__, "%s: %s", #x, cudaGetErrorString(e_));  \
    } while (0)
#define CUBLAS_CHECK(x)                                                                               \
    do {                                                                                              \
        cublasStatus_t s_ = (x);                                                                      \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                              \
            ditc_fatal(__FILE__, __LINE__, "%s: %s", #x, cublasGetStatusString(s_));                  \
    } while (0)
// After every launch: configuration errors at once (asynchronous faults surface at the next sync).
#define CUDA_LAUNCHED() CUDA_CHECK(cudaGetLastError())

typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    cudaMemPool_t pool;
    void *scratch;          // grows, never shrinks (stream-ordered reuse: one stream)
    size_t scratch_bytes;
    double *sumsq_partial;  // sum_squares partials (device) and its pinned host result
    double *sumsq_host;
    char name[256];         // cudaDeviceProp.name
    int cc_major, cc_minor, sm_count;
} cuda_ctx;

static inline cuda_ctx *cctx(ditc_backend *be) { return (cuda_ctx *)be->ctx; }
static inline cudaStream_t cstream(ditc_backend *be) { return cctx(be)->stream; }
// Scratch of at least `bytes` (device memory, valid until the next cuda_scratch call).
void *cuda_scratch(ditc_backend *be, size_t bytes);

#define F32P(t) ((float *)(t)->data)
#define CF32P(t) ((const float *)(t)->data)

// The most blocks a 1-D launch gets (default 65535·32); every kernel launched with more work than that loops
// (grid-stride). DITC_CUDA_GRID_CAP=N at backend creation lowers it, so tests reach those loops at small sizes.
extern "C" int64_t cuda_grid_cap;
static inline unsigned cuda_grid_blocks(int64_t blocks) {
    return (unsigned)(blocks < 1 ? 1 : blocks > cuda_grid_cap ? cuda_grid_cap : blocks);
}
static inline unsigned grid_for(int64_t n, int threads) { return cuda_grid_blocks((n + threads - 1) / threads); }
// Grid-stride loop over [0, n).
#define GRID_LOOP(i, n) for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

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

extern "C" {
// cuda_gemm.cu
void cuda_gemm(ditc_backend *be, const ditc_gemm *g);
// cuda_elementwise.cu
void cuda_fill(ditc_backend *be, void *dst, ditc_dtype dtype, size_t n, float value);
void cuda_axpy(ditc_backend *be, ditc_tensor *y, float alpha, const ditc_tensor *x, int acc);
void cuda_cast(ditc_backend *be, ditc_tensor *dst, const ditc_tensor *src);
void cuda_cast_f32_bf16(ditc_backend *be, __nv_bfloat16 *dst, const float *src, int64_t n);
void cuda_binary_fwd(ditc_backend *be, ditc_binary_op op, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b);
void cuda_binary_bwd(ditc_backend *be, ditc_binary_op op, int which, ditc_tensor *dx, const ditc_tensor *dout,
                     const ditc_tensor *a, const ditc_tensor *b, int acc);
void cuda_unary_fwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *y, const ditc_tensor *x);
void cuda_unary_bwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *dx, const ditc_tensor *dy, const ditc_tensor *x,
                    int acc);
void cuda_swiglu_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b);
void cuda_swiglu_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout, const ditc_tensor *a,
                     const ditc_tensor *b, int acc_a, int acc_b);
// cuda_reduce.cu
void cuda_bias_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *b);
void cuda_bias_bwd(ditc_backend *be, ditc_tensor *db, const ditc_tensor *dy, int acc);
void cuda_reduce_rows(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, float scale, int acc);
void cuda_expand_rows(ditc_backend *be, ditc_tensor *dx, const ditc_tensor *dout, float scale, int acc);
void cuda_mse_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b);
void cuda_mse_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout, const ditc_tensor *a,
                  const ditc_tensor *b, int acc_a, int acc_b);
// Column sums with a fixed order: out[g, c] (+)= Σ_r f(g, r, c) over R rows of group g (R·C row-major per group).
// mode 0: f = x[g, r, c]; 1: f = x·y; 2: f = x·(y − mean[g, r])·rstd[g, r]; 3: f = x·y·rstd[g, r].
void cuda_col_sums(ditc_backend *be, float *out, const float *x, const float *y, const float *mean, const float *rstd,
                   int64_t G, int64_t R, int64_t C, int mode, int acc);
// cuda_norm.cu
void cuda_ln_mod_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd, const ditc_tensor *x,
                     const ditc_tensor *shift, const ditc_tensor *scale, float eps);
void cuda_ln_mod_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const ditc_tensor *dy,
                     const ditc_tensor *x, const ditc_tensor *mean, const ditc_tensor *rstd, const ditc_tensor *scale,
                     int acc_x, int acc_shift, int acc_scale);
void cuda_modulate_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *shift,
                       const ditc_tensor *scale);
void cuda_modulate_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const ditc_tensor *dy,
                       const ditc_tensor *x, const ditc_tensor *scale, int acc_x, int acc_shift, int acc_scale);
void cuda_gated_res_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, const ditc_tensor *gate,
                        const ditc_tensor *y);
void cuda_gated_res_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy, const ditc_tensor *dout,
                        const ditc_tensor *gate, const ditc_tensor *y, int acc_x, int acc_gate, int acc_y);
void cuda_ln_bwd_dx(ditc_backend *be, float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                    const float *w, int64_t R, int64_t D, int acc);
// cuda_llama.cu
void cuda_rms_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *rstd, const ditc_tensor *x, const ditc_tensor *w,
                       float eps);
void cuda_rms_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, const ditc_tensor *dy, const ditc_tensor *x,
                       const ditc_tensor *w, const ditc_tensor *rstd, int acc_x, int acc_w);
void cuda_layer_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd, const ditc_tensor *x,
                         const ditc_tensor *w, const ditc_tensor *b, float eps);
void cuda_layer_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, ditc_tensor *db, const ditc_tensor *dy,
                         const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *mean, const ditc_tensor *rstd,
                         int acc_x, int acc_w, int acc_b);
void cuda_rope(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int heads, float theta, int inverse, int acc);
// cuda_attention.cu
void cuda_attn_fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads);
void cuda_attn_bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                   const ditc_tensor *out, const ditc_tensor *lse, int heads, int acc);
// cuda_layout.cu
void cuda_embed_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *table, const ditc_tensor *idx);
void cuda_embed_bwd(ditc_backend *be, ditc_tensor *dtable, const ditc_tensor *dout, const ditc_tensor *idx, int acc);
void cuda_patch_copy(ditc_backend *be, ditc_tensor *img, ditc_tensor *tokens, int p, int channel_last, int to_tokens,
                     int acc);
void cuda_copy_2d(ditc_backend *be, ditc_tensor *dst, int64_t dst_off, int64_t dst_ld, const ditc_tensor *src,
                  int64_t src_off, int64_t src_ld, int64_t rows, int64_t cols, int acc);
// cuda_diffusion.cu
void cuda_q_sample(ditc_backend *be, ditc_tensor *xt, const ditc_tensor *x0, const ditc_tensor *noise,
                   const ditc_tensor *coef);
void cuda_diff_loss_fwd(ditc_backend *be, ditc_tensor *mse, ditc_tensor *vb, ditc_tensor *loss, const ditc_tensor *out,
                        const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise, const ditc_tensor *coef);
void cuda_diff_loss_bwd(ditc_backend *be, ditc_tensor *dout, const ditc_tensor *dloss, const ditc_tensor *out,
                        const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise, const ditc_tensor *coef,
                        int acc);
void cuda_cfg_combine(ditc_backend *be, ditc_tensor *out, float scale, int guided);
void cuda_diff_step(ditc_backend *be, ditc_tensor *x, const ditc_tensor *out, const ditc_tensor *noise,
                    ditc_diff_coefs coef, int ddim);
// cuda_optim.cu
void cuda_adamw(ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, size_t n, ditc_adamw_args a);
void cuda_ema_update(ditc_backend *be, float *ema, const float *p, size_t n, float decay, float one_minus_decay);
double cuda_sum_squares(ditc_backend *be, const float *x, size_t n);
void cuda_scale_buffer(ditc_backend *be, float *x, size_t n, float s);
// cuda_rng.cu
void cuda_rng_fill(ditc_backend *be, ditc_tensor *t, ditc_rng_dist dist, uint64_t seed, uint32_t purpose,
                   uint32_t step, uint64_t index0);
}

#endif
