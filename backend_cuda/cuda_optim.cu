// cuda_optim.cu — AdamW (torch.optim.AdamW arithmetic, fused with the EMA), EMA, sum of squares and scaling over
// the flat F32 buffers: one launch each. sum_squares is two fixed-order stages (1024 block partials in double,
// then one block), so the clipping norm is bit-stable run to run.
#include "cuda_internal.cuh"

#define TPB 256

__global__ void k_adamw(float *p, const float *g, float *m, float *v, float *ema, __nv_bfloat16 *p16, int64_t n,
                        ditc_adamw_args a) {
    GRID_LOOP(i, n) {
        float pi = p[i] * a.decay;
        float mi = m[i] * a.beta1 + a.one_minus_beta1 * g[i];
        float vi = v[i] * a.beta2 + a.one_minus_beta2 * g[i] * g[i];
        pi = pi + -a.step_size * (mi / (sqrtf(vi) / a.bc2_sqrt + a.eps));
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
        if (ema) ema[i] = ema[i] * a.ema_decay + a.one_minus_ema_decay * pi;
        if (p16) p16[i] = __float2bfloat16_rn(pi); // as cuda_cast: the pass's weight copy (core/tensor/params.h)
    }
}

extern "C" void cuda_adamw(ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, void *p16,
                           size_t n, ditc_adamw_args a) {
    if (!n) return;
    k_adamw<<<grid_for((int64_t)n, TPB), TPB, 0, cstream(be)>>>(p, g, m, v, ema, (__nv_bfloat16 *)p16, (int64_t)n, a);
    CUDA_LAUNCHED();
}

__global__ void k_ema(float *ema, const float *p, int64_t n, float d, float omd) {
    GRID_LOOP(i, n) ema[i] = ema[i] * d + omd * p[i];
}

extern "C" void cuda_ema_update(ditc_backend *be, float *ema, const float *p, size_t n, float decay,
                                float one_minus_decay) {
    if (!n) return;
    k_ema<<<grid_for((int64_t)n, TPB), TPB, 0, cstream(be)>>>(ema, p, (int64_t)n, decay, one_minus_decay);
    CUDA_LAUNCHED();
}

#define SS_BLOCKS 1024
__global__ void k_sumsq_partial(double *part, const float *x, int64_t n) {
    __shared__ double sh[32];
    double s = 0.0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        s += (double)x[i] * x[i];
    s = block_sum_d(s, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
__global__ void k_sumsq_final(double *out, const double *part, int np) {
    __shared__ double sh[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < np; i += blockDim.x) s += part[i];
    s = block_sum_d(s, sh);
    if (threadIdx.x == 0) *out = s;
}

extern "C" void cuda_sum_squares(ditc_backend *be, double *out, const float *x, size_t n) {
    cuda_ctx *c = cctx(be);
    if (!n) {
        CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), c->stream));
        return;
    }
    k_sumsq_partial<<<SS_BLOCKS, TPB, 0, c->stream>>>(c->sumsq_partial, x, (int64_t)n);
    CUDA_LAUNCHED();
    k_sumsq_final<<<1, 1024, 0, c->stream>>>(out, c->sumsq_partial, SS_BLOCKS);
    CUDA_LAUNCHED();
}

__global__ void k_scale(float *x, int64_t n, float s) { GRID_LOOP(i, n) x[i] *= s; }

extern "C" void cuda_scale_buffer(ditc_backend *be, float *x, size_t n, float s) {
    if (!n) return;
    k_scale<<<grid_for((int64_t)n, TPB), TPB, 0, cstream(be)>>>(x, (int64_t)n, s);
    CUDA_LAUNCHED();
}
