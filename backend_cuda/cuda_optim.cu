// cuda_optim.cu — AdamW (torch.optim.AdamW arithmetic, fused with the EMA and the bf16 weight copy; 16-byte
// accesses where the buffers allow, a scalar launch for the rest), EMA, sum of squares and scaling over the flat F32
// buffers. sum_squares is two fixed-order stages (1024 block partials in double, then one block), so the clipping norm
// is bit-stable run to run.
#include <string.h>

#include "cuda_internal.cuh"

#define TPB 256

// One element of AdamW (p, m, v updated in place; the EMA follows the new p).
__device__ __forceinline__ void adamw_el(float &p, float g, float &m, float &v, const ditc_adamw_args &a) {
    float pi = p * a.decay;
    float mi = m * a.beta1 + a.one_minus_beta1 * g;
    float vi = v * a.beta2 + a.one_minus_beta2 * g * g;
    pi = pi + -a.step_size * (mi / (sqrtf(vi) / a.bc2_sqrt + a.eps));
    m = mi;
    v = vi;
    p = pi;
}
__device__ __forceinline__ float ema_el(float e, float p, const ditc_adamw_args &a) {
    return e * a.ema_decay + a.one_minus_ema_decay * p;
}

__global__ void k_adamw(float *p, const float *g, float *m, float *v, float *ema, __nv_bfloat16 *p16, int64_t n,
                        ditc_adamw_args a) {
    GRID_LOOP(i, n) {
        float pi = p[i], mi = m[i], vi = v[i];
        adamw_el(pi, g[i], mi, vi, a);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
        if (ema) ema[i] = ema_el(ema[i], pi, a);
        if (p16) p16[i] = __float2bfloat16_rn(pi); // as cuda_cast: the pass's weight copy (core/tensor/params.h)
    }
}

// The same, 4 elements per thread with 16-byte loads and stores (the step's largest memory-bound pass: ~38 bytes
// per parameter, 26 GB for DiT-XL/2), for buffers whose pointers are 16-byte aligned (p16: 8-byte); element by
// element the arithmetic above.
__global__ void k_adamw4(float4 *p, const float4 *g, float4 *m, float4 *v, float4 *ema, uint2 *p16, int64_t n4,
                         ditc_adamw_args a) {
    GRID_LOOP(i, n4) {
        float4 P = p[i], G = g[i], M = m[i], V = v[i];
        adamw_el(P.x, G.x, M.x, V.x, a);
        adamw_el(P.y, G.y, M.y, V.y, a);
        adamw_el(P.z, G.z, M.z, V.z, a);
        adamw_el(P.w, G.w, M.w, V.w, a);
        m[i] = M;
        v[i] = V;
        p[i] = P;
        if (ema) {
            float4 E = ema[i];
            ema[i] = make_float4(ema_el(E.x, P.x, a), ema_el(E.y, P.y, a), ema_el(E.z, P.z, a), ema_el(E.w, P.w, a));
        }
        if (p16) { // (element 4i + k at bf16 k of the 8 bytes: the first of each pair in the low half)
            __nv_bfloat162 lo = __floats2bfloat162_rn(P.x, P.y), hi = __floats2bfloat162_rn(P.z, P.w);
            uint2 u;
            memcpy(&u.x, &lo, 4);
            memcpy(&u.y, &hi, 4);
            p16[i] = u;
        }
    }
}

static int aligned(const void *ptr, uintptr_t to) { return ((uintptr_t)ptr & (to - 1)) == 0; }

extern "C" void cuda_adamw(ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, void *p16,
                           size_t n, ditc_adamw_args a) {
    if (!n) return;
    int64_t n4 = 0; // elements the 16-byte kernel takes (a multiple of 4 from the start), the rest below
    if (aligned(p, 16) && aligned(g, 16) && aligned(m, 16) && aligned(v, 16) && (!ema || aligned(ema, 16)) &&
        (!p16 || aligned(p16, 8)))
        n4 = (int64_t)n / 4 * 4;
    if (n4) {
        k_adamw4<<<grid_for(n4 / 4, TPB), TPB, 0, cstream(be)>>>((float4 *)p, (const float4 *)g, (float4 *)m,
                                                                 (float4 *)v, (float4 *)ema, (uint2 *)p16, n4 / 4, a);
        CUDA_LAUNCHED();
    }
    if ((int64_t)n > n4) {
        __nv_bfloat16 *h = p16 ? (__nv_bfloat16 *)p16 + n4 : NULL;
        k_adamw<<<grid_for((int64_t)n - n4, TPB), TPB, 0, cstream(be)>>>(p + n4, g + n4, m + n4, v + n4,
                                                                         ema ? ema + n4 : NULL, h, (int64_t)n - n4, a);
        CUDA_LAUNCHED();
    }
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
// The same over 16-byte loads (x 16-byte aligned: 4 floats per load, 4× the bytes in flight per thread), the n % 4
// last elements added by the first thread; a fixed order as well.
__global__ void k_sumsq_partial4(double *part, const float4 *x, int64_t n4, const float *tail, int nt) {
    __shared__ double sh[32];
    double s = 0.0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) {
        float4 v = x[i];
        s += (double)v.x * v.x;
        s += (double)v.y * v.y;
        s += (double)v.z * v.z;
        s += (double)v.w * v.w;
    }
    if (blockIdx.x == 0 && threadIdx.x == 0)
        for (int k = 0; k < nt; k++) s += (double)tail[k] * tail[k];
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
    // (the order of the sums differs between the two kernels: a buffer's norm is bit-stable run to run because its
    // alignment is — the flat gradient buffer, parameter views and ZeRO shards all start 16-element aligned)
    if (aligned(x, 16)) {
        int64_t n4 = (int64_t)n / 4;
        k_sumsq_partial4<<<SS_BLOCKS, TPB, 0, c->stream>>>(c->sumsq_partial, (const float4 *)x, n4, x + 4 * n4,
                                                           (int)((int64_t)n - 4 * n4));
    } else {
        k_sumsq_partial<<<SS_BLOCKS, TPB, 0, c->stream>>>(c->sumsq_partial, x, (int64_t)n);
    }
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
