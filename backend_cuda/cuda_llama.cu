// cuda_llama.cu — Large-DiT pieces: RMSNorm, LayerNorm with affine (QK-norm), 1-D RoPE. x viewed (R, D) over
// its last dim; one block per row for row statistics, fixed-order column sums for dw/db (cuda_col_sums).
// (SwiGLU lives with the other elementwise kernels in cuda_elementwise.cu.)
#include "cuda_internal.cuh"

#define TPB 256

static inline int64_t last_dim(const ditc_tensor *x) { return x->shape[x->ndim - 1]; }

__global__ void k_rms_fwd(float *y, float *rstd, const float *x, const float *w, int64_t D, float eps) {
    __shared__ float sh[32];
    int64_t r = blockIdx.x;
    const float *xr = x + r * D;
    float s = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += xr[d] * xr[d];
    float rs = rsqrtf(block_sum(s, sh) / (float)D + eps);
    if (threadIdx.x == 0) rstd[r] = rs;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) y[r * D + d] = w ? (xr[d] * rs) * w[d] : xr[d] * rs;
}

__global__ void k_rms_bwd_dx(float *gx, const float *g, const float *x, const float *w, const float *rstd, int64_t D,
                             int acc) {
    __shared__ float sh[32];
    int64_t r = blockIdx.x;
    const float *xr = x + r * D, *gr = g + r * D;
    float rs = rstd[r], s = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += (w ? gr[d] * w[d] : gr[d]) * xr[d];
    float k = rs * rs * (block_sum(s, sh) / (float)D);
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x)
        gx[r * D + d] = acc_store(gx[r * D + d], rs * ((w ? gr[d] * w[d] : gr[d]) - xr[d] * k), acc);
}

extern "C" void cuda_rms_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *rstd, const ditc_tensor *x,
                                  const ditc_tensor *w, float eps) {
    int64_t D = last_dim(x), R = x->numel / D;
    if (!R) return;
    k_rms_fwd<<<(unsigned)R, TPB, 0, cstream(be)>>>(F32P(y), F32P(rstd), CF32P(x), w ? CF32P(w) : NULL, D, eps);
    CUDA_LAUNCHED();
}

extern "C" void cuda_rms_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, const ditc_tensor *dy,
                                  const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *rstd, int acc_x,
                                  int acc_w) {
    int64_t D = last_dim(x), R = x->numel / D;
    if (!R) return;
    if (dx) {
        k_rms_bwd_dx<<<(unsigned)R, TPB, 0, cstream(be)>>>(F32P(dx), CF32P(dy), CF32P(x), w ? CF32P(w) : NULL,
                                                           CF32P(rstd), D, acc_x);
        CUDA_LAUNCHED();
    }
    if (dw) cuda_col_sums(be, F32P(dw), CF32P(dy), CF32P(x), NULL, CF32P(rstd), 1, R, D, 3, acc_w);
}

__global__ void k_ln_fwd(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int64_t D,
                         float eps) {
    __shared__ float sh[32];
    int64_t r = blockIdx.x;
    const float *xr = x + r * D;
    float s = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += xr[d];
    float mu = block_sum(s, sh) / (float)D, v = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) v += (xr[d] - mu) * (xr[d] - mu);
    float rs = rsqrtf(block_sum(v, sh) / (float)D + eps);
    if (threadIdx.x == 0) {
        mean[r] = mu;
        rstd[r] = rs;
    }
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float h = (xr[d] - mu) * rs;
        if (w) h *= w[d];
        if (b) h += b[d];
        y[r * D + d] = h;
    }
}

extern "C" void cuda_layer_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd,
                                    const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b, float eps) {
    int64_t D = last_dim(x), R = x->numel / D;
    if (!R) return;
    k_ln_fwd<<<(unsigned)R, TPB, 0, cstream(be)>>>(F32P(y), F32P(mean), F32P(rstd), CF32P(x), w ? CF32P(w) : NULL,
                                                   b ? CF32P(b) : NULL, D, eps);
    CUDA_LAUNCHED();
}

extern "C" void cuda_layer_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, ditc_tensor *db,
                                    const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *w,
                                    const ditc_tensor *mean, const ditc_tensor *rstd, int acc_x, int acc_w, int acc_b) {
    int64_t D = last_dim(x), R = x->numel / D;
    if (!R) return;
    if (dx)
        cuda_ln_bwd_dx(be, F32P(dx), CF32P(dy), CF32P(x), CF32P(mean), CF32P(rstd), w ? CF32P(w) : NULL, R, D, acc_x);
    if (dw) cuda_col_sums(be, F32P(dw), CF32P(dy), CF32P(x), CF32P(mean), CF32P(rstd), 1, R, D, 2, acc_w);
    if (db) cuda_col_sums(be, F32P(db), CF32P(dy), NULL, NULL, NULL, 1, R, D, 0, acc_b);
}

// RoPE: one thread per (row, head, pair). Angle as the CPU backend: f = 1/theta^(2i/hd) in float, a = t·f in float,
// cos/sin of a in double, rounded to float. y may alias x (each pair is read before it is written).
__global__ void k_rope(float *y, const float *x, int64_t T, int64_t C, int64_t hd, float theta, float sgn, int acc,
                       int64_t n) {
    int64_t P = hd / 2;
    GRID_LOOP(q, n) { // q over (row, head, pair)
        int64_t i = q % P, rh = q / P, h = rh % (C / hd), row = rh / (C / hd), t = row % T;
        // (theta^(2i/hd) in double, rounded once: the correctly rounded float that glibc's powf gives the CPU; CUDA's
        // powf may be a few ulp off, and t·f multiplies the error)
        float f = 1.0f / (float)pow((double)theta, (double)((float)(2 * i) / (float)hd));
        float a = (float)t * f;
        float c = (float)cos((double)a), s = (float)(sgn * sin((double)a));
        const float *xr = x + row * C + h * hd;
        float *yr = y + row * C + h * hd;
        float u = xr[2 * i], v = xr[2 * i + 1];
        float o0 = u * c - v * s, o1 = u * s + v * c;
        yr[2 * i] = acc ? yr[2 * i] + o0 : o0;
        yr[2 * i + 1] = acc ? yr[2 * i + 1] + o1 : o1;
    }
}

extern "C" void cuda_rope(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int heads, float theta, int inverse,
                          int acc) {
    int64_t T = x->shape[1], C = x->shape[2], hd = C / heads, n = x->numel / 2;
    if (!n) return;
    k_rope<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(y), CF32P(x), T, C, hd, theta, inverse ? -1.0f : 1.0f, acc,
                                                      n);
    CUDA_LAUNCHED();
}
