// cuda_elementwise.cu — fill, axpy, cast F32↔BF16, 4-D broadcast add/mul and their reductions, GELU-tanh,
// SiLU and the SwiGLU gate. One thread per element (grid-stride); broadcast reductions one thread per
// output element summing in a fixed order (deterministic).
#include "cuda_internal.cuh"

#define TPB    256
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

__global__ void k_fill_f32(float *d, int64_t n, float v) { GRID_LOOP(i, n) d[i] = v; }
__global__ void k_fill_bf16(__nv_bfloat16 *d, int64_t n, float v) { GRID_LOOP(i, n) d[i] = __float2bfloat16_rn(v); }
__global__ void k_fill_i32(int32_t *d, int64_t n, int32_t v) { GRID_LOOP(i, n) d[i] = v; }

extern "C" void cuda_fill(ditc_backend *be, void *dst, ditc_dtype dtype, size_t n, float value) {
    if (!n) return;
    if (value == 0.0f) {
        CUDA_CHECK(cudaMemsetAsync(dst, 0, n * ditc_dtype_size(dtype), cstream(be)));
        return;
    }
    int64_t m = (int64_t)n;
    switch (dtype) {
    case DITC_F32: k_fill_f32<<<grid_for(m, TPB), TPB, 0, cstream(be)>>>((float *)dst, m, value); break;
    case DITC_BF16: k_fill_bf16<<<grid_for(m, TPB), TPB, 0, cstream(be)>>>((__nv_bfloat16 *)dst, m, value); break;
    case DITC_I32: k_fill_i32<<<grid_for(m, TPB), TPB, 0, cstream(be)>>>((int32_t *)dst, m, (int32_t)value); break;
    default: DITC_CHECK(0, "cuda fill: unsupported dtype %s", ditc_dtype_name(dtype));
    }
    CUDA_LAUNCHED();
}

__global__ void k_axpy(float *y, float alpha, const float *x, int64_t n, int acc) {
    GRID_LOOP(i, n) y[i] = acc ? y[i] + alpha * x[i] : alpha * x[i];
}

extern "C" void cuda_axpy(ditc_backend *be, ditc_tensor *y, float alpha, const ditc_tensor *x, int acc) {
    DITC_CHECK(y->numel == x->numel && y->dtype == DITC_F32 && x->dtype == DITC_F32, "axpy operands");
    if (!y->numel) return;
    k_axpy<<<grid_for(y->numel, TPB), TPB, 0, cstream(be)>>>(F32P(y), alpha, CF32P(x), y->numel, acc);
    CUDA_LAUNCHED();
}

__global__ void k_f32_to_bf16(__nv_bfloat16 *d, const float *s, int64_t n) {
    GRID_LOOP(i, n) d[i] = __float2bfloat16_rn(s[i]);
}
__global__ void k_bf16_to_f32(float *d, const __nv_bfloat16 *s, int64_t n) {
    GRID_LOOP(i, n) d[i] = __bfloat162float(s[i]);
}

extern "C" void cuda_cast_f32_bf16(ditc_backend *be, __nv_bfloat16 *dst, const float *src, int64_t n) {
    if (n <= 0) return;
    k_f32_to_bf16<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(dst, src, n);
    CUDA_LAUNCHED();
}

extern "C" void cuda_cast(ditc_backend *be, ditc_tensor *dst, const ditc_tensor *src) {
    int64_t n = dst->numel;
    if (dst->dtype == src->dtype) {
        be->copy_d2d(be, dst->data, src->data, ditc_nbytes(src));
        return;
    }
    if (!n) return;
    if (dst->dtype == DITC_BF16 && src->dtype == DITC_F32)
        k_f32_to_bf16<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>((__nv_bfloat16 *)dst->data, CF32P(src), n);
    else if (dst->dtype == DITC_F32 && src->dtype == DITC_BF16)
        k_bf16_to_f32<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(dst), (const __nv_bfloat16 *)src->data, n);
    else DITC_CHECK(0, "cast %s -> %s", ditc_dtype_name(src->dtype), ditc_dtype_name(dst->dtype));
    CUDA_LAUNCHED();
}

// ---- broadcast binary ops on right-aligned 4-D shapes -----------------------------------------------------
typedef struct {
    int64_t os[4], sa[4], sb[4];
} bcast4;

static void shape4(const ditc_tensor *t, int64_t s[4]) {
    for (int i = 0; i < 4; i++) {
        int k = t->ndim - 4 + i;
        s[i] = k >= 0 ? t->shape[k] : 1;
    }
}
static void bstrides(const int64_t ts[4], int64_t st[4]) {
    int64_t acc = 1;
    for (int i = 3; i >= 0; i--) {
        st[i] = ts[i] == 1 ? 0 : acc;
        acc *= ts[i];
    }
}

__global__ void k_binary_same(int mul, float *o, const float *a, const float *b, int64_t n) {
    GRID_LOOP(i, n) o[i] = mul ? a[i] * b[i] : a[i] + b[i];
}
__global__ void k_binary_bcast(int mul, float *o, const float *a, const float *b, int64_t n, bcast4 s) {
    GRID_LOOP(i, n) {
        int64_t r = i, ia = 0, ib = 0;
        for (int k = 3; k >= 0; k--) {
            int64_t idx = r % s.os[k];
            r /= s.os[k];
            ia += idx * s.sa[k];
            ib += idx * s.sb[k];
        }
        o[i] = mul ? a[ia] * b[ib] : a[ia] + b[ib];
    }
}

extern "C" void cuda_binary_fwd(ditc_backend *be, ditc_binary_op op, ditc_tensor *out, const ditc_tensor *a,
                                const ditc_tensor *b) {
    int64_t n = out->numel;
    if (!n) return;
    int mul = op == DITC_BIN_MUL;
    if (a->numel == n && b->numel == n) {
        k_binary_same<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(mul, F32P(out), CF32P(a), CF32P(b), n);
    } else {
        bcast4 s;
        int64_t as[4], bs[4];
        shape4(out, s.os);
        shape4(a, as);
        shape4(b, bs);
        bstrides(as, s.sa);
        bstrides(bs, s.sb);
        k_binary_bcast<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(mul, F32P(out), CF32P(a), CF32P(b), n, s);
    }
    CUDA_LAUNCHED();
}

__global__ void k_binary_bwd_same(int mul, float *g, const float *dy, const float *od, int64_t n, int acc) {
    GRID_LOOP(i, n) {
        float v = mul ? dy[i] * od[i] : dy[i];
        g[i] = acc_store(g[i], v, acc);
    }
}

// One thread per dx element: sums dout (· other) over the dims where x broadcasts, in index order.
typedef struct {
    int64_t os[4], xs[4], so[4];
} bbwd4;
__global__ void k_binary_bwd_bcast(int mul, float *g, const float *dy, const float *od, int64_t xn, bbwd4 s, int acc) {
    GRID_LOOP(xi, xn) {
        int64_t idx[4], lo[4], cnt[4], r = xi;
        for (int k = 3; k >= 0; k--) {
            idx[k] = r % s.xs[k];
            r /= s.xs[k];
        }
        for (int k = 0; k < 4; k++) {
            int red = s.xs[k] == 1 && s.os[k] > 1;
            lo[k] = red ? 0 : idx[k];
            cnt[k] = red ? s.os[k] : 1;
        }
        double sum = 0.0; // (in double, as the CPU's reduction)
        for (int64_t i0 = lo[0]; i0 < lo[0] + cnt[0]; i0++)
            for (int64_t i1 = lo[1]; i1 < lo[1] + cnt[1]; i1++)
                for (int64_t i2 = lo[2]; i2 < lo[2] + cnt[2]; i2++)
                    for (int64_t i3 = lo[3]; i3 < lo[3] + cnt[3]; i3++) {
                        float v = dy[((i0 * s.os[1] + i1) * s.os[2] + i2) * s.os[3] + i3];
                        if (mul) v *= od[i0 * s.so[0] + i1 * s.so[1] + i2 * s.so[2] + i3 * s.so[3]];
                        sum += v;
                    }
        g[xi] = acc_store(g[xi], (float)sum, acc);
    }
}

extern "C" void cuda_binary_bwd(ditc_backend *be, ditc_binary_op op, int which, ditc_tensor *dx,
                                const ditc_tensor *dout, const ditc_tensor *a, const ditc_tensor *b, int acc) {
    const ditc_tensor *x = which == 0 ? a : b, *other = which == 0 ? b : a;
    int mul = op == DITC_BIN_MUL;
    int64_t n = dout->numel;
    if (!n) return;
    if (x->numel == n && other->numel == n) {
        k_binary_bwd_same<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(mul, F32P(dx), CF32P(dout), CF32P(other), n, acc);
    } else {
        // TODO(perf): a large reduction per thread when x is small (e.g. a (D) bias over (B, T, D)); fine for the
        // DiT graph, which uses bias_bwd / col sums for those.
        bbwd4 s;
        int64_t ots[4];
        shape4(dout, s.os);
        shape4(x, s.xs);
        shape4(other, ots);
        bstrides(ots, s.so);
        k_binary_bwd_bcast<<<grid_for(x->numel, TPB), TPB, 0, cstream(be)>>>(mul, F32P(dx), CF32P(dout), CF32P(other),
                                                                             x->numel, s, acc);
    }
    CUDA_LAUNCHED();
}

// ---- GELU (tanh approximation), SiLU, SwiGLU -----------------------------------------------------------------
__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ void store_out(float *y, int64_t i, float v) { y[i] = v; }
__device__ __forceinline__ void store_out(__nv_bfloat16 *y, int64_t i, float v) { y[i] = __float2bfloat16_rn(v); }

// X: float, or __nv_bfloat16 (the producing linear's bf16 output); Y: float, or __nv_bfloat16 when the output is the
// next GEMM's bf16 operand (rounded once)
__device__ __forceinline__ float load_acc(const float *g, int64_t i) { return g[i]; }
__device__ __forceinline__ float load_acc(const __nv_bfloat16 *g, int64_t i) { return __bfloat162float(g[i]); }
// GELU-tanh as the CPU backend computes it (cpu_elementwise.c): v·σ(2u) = v / (1 + e), e = exp(−2u) (its argument
// clamped to [−87, 88] as the CPU's exp), no cancellation in 1 + tanh(u) for negative v; derivative
// σ(2u) + v·2u'·e·σ(2u)²
__device__ __forceinline__ float gelu_e(float v) {
    return expf(fminf(fmaxf(-2.0f * GELU_K * (v + GELU_C * v * v * v), -87.0f), 88.0f));
}
template <typename X, typename Y> __global__ void k_unary_fwd(int silu, Y *y, const X *x, int64_t n) {
    GRID_LOOP(i, n) {
        float v = load_acc(x, i);
        store_out(y, i, silu ? v * sigmoidf_(v) : v / (1.0f + gelu_e(v)));
    }
}
// G float, or __nv_bfloat16 for the producing linear's bf16 output gradient (written, acc 0); DY float, or
// __nv_bfloat16 (the GELU output's gradient written by the consuming GEMM at bf16)
template <typename X, typename G, typename DY>
__global__ void k_unary_bwd(int silu, G *g, const DY *dy, const X *x, int64_t n, int acc) {
    GRID_LOOP(i, n) {
        float v = load_acc(x, i), d;
        if (silu) {
            float s = sigmoidf_(v);
            d = s * (1.0f + v * (1.0f - s));
        } else {
            float e = gelu_e(v), s = 1.0f / (1.0f + e);
            d = s + v * (2.0f * GELU_K) * (1.0f + 3.0f * GELU_C * v * v) * (e * s * s);
        }
        float gy = load_acc(dy, i);
        store_out(g, i, acc ? load_acc(g, i) + gy * d : gy * d);
    }
}

template <typename X> static void unary_fwd_x(ditc_backend *be, int silu, ditc_tensor *y, const X *x, int64_t n) {
    unsigned grid = grid_for(n, TPB);
    if (y->dtype == DITC_BF16) k_unary_fwd<<<grid, TPB, 0, cstream(be)>>>(silu, (__nv_bfloat16 *)y->data, x, n);
    else k_unary_fwd<<<grid, TPB, 0, cstream(be)>>>(silu, F32P(y), x, n);
    CUDA_LAUNCHED();
}
template <typename X, typename DY>
static void unary_bwd_x(ditc_backend *be, int silu, ditc_tensor *dx, const DY *dy, const X *x, int64_t n, int acc) {
    unsigned grid = grid_for(n, TPB);
    if (dx->dtype == DITC_BF16) {
        DITC_CHECK(!acc, "unary_bwd: a BF16 dx is written, not accumulated");
        k_unary_bwd<<<grid, TPB, 0, cstream(be)>>>(silu, (__nv_bfloat16 *)dx->data, dy, x, n, 0);
    } else {
        k_unary_bwd<<<grid, TPB, 0, cstream(be)>>>(silu, F32P(dx), dy, x, n, acc);
    }
    CUDA_LAUNCHED();
}

extern "C" void cuda_unary_fwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *y, const ditc_tensor *x) {
    if (!x->numel) return;
    int silu = op == DITC_UN_SILU;
    if (x->dtype == DITC_BF16) unary_fwd_x(be, silu, y, (const __nv_bfloat16 *)x->data, x->numel);
    else unary_fwd_x(be, silu, y, CF32P(x), x->numel);
}
extern "C" void cuda_unary_bwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *dx, const ditc_tensor *dy,
                               const ditc_tensor *x, int acc) {
    if (!x->numel) return;
    int silu = op == DITC_UN_SILU;
    DITC_CHECK(dy->dtype == DITC_F32 || dy->dtype == DITC_BF16, "unary_bwd: dy must be F32 or BF16");
    if (dy->dtype == DITC_BF16) { // the GELU output's gradient, written as bf16 by fc2's dx GEMM
        const __nv_bfloat16 *gy = (const __nv_bfloat16 *)dy->data;
        if (x->dtype == DITC_BF16) unary_bwd_x(be, silu, dx, gy, (const __nv_bfloat16 *)x->data, x->numel, acc);
        else unary_bwd_x(be, silu, dx, gy, CF32P(x), x->numel, acc);
    } else if (x->dtype == DITC_BF16) {
        unary_bwd_x(be, silu, dx, CF32P(dy), (const __nv_bfloat16 *)x->data, x->numel, acc);
    } else {
        unary_bwd_x(be, silu, dx, CF32P(dy), CF32P(x), x->numel, acc);
    }
}

// X: the inputs a, b (float, or __nv_bfloat16: w1/w3 outputs at bf16); Y/G: the output or the gradients (bf16: acc 0)
template <typename X, typename Y> __global__ void k_swiglu_fwd(Y *o, const X *a, const X *b, int64_t n) {
    GRID_LOOP(i, n) {
        float av = load_acc(a, i);
        store_out(o, i, av * sigmoidf_(av) * load_acc(b, i));
    }
}
template <typename X, typename GA, typename GB>
__global__ void k_swiglu_bwd(GA *ga, GB *gb, const float *g, const X *a, const X *b, int64_t n, int acc_a, int acc_b) {
    GRID_LOOP(i, n) {
        float av = load_acc(a, i), s = sigmoidf_(av);
        if (ga) {
            float v = g[i] * load_acc(b, i) * (s * (1.0f + av * (1.0f - s)));
            store_out(ga, i, acc_a ? load_acc(ga, i) + v : v);
        }
        if (gb) {
            float v = g[i] * (av * s);
            store_out(gb, i, acc_b ? load_acc(gb, i) + v : v);
        }
    }
}
template <typename X> static void swiglu_fwd_x(ditc_backend *be, ditc_tensor *out, const X *a, const X *b, int64_t n) {
    unsigned grid = grid_for(n, TPB);
    if (out->dtype == DITC_BF16) // w2's bf16 operand
        k_swiglu_fwd<<<grid, TPB, 0, cstream(be)>>>((__nv_bfloat16 *)out->data, a, b, n);
    else k_swiglu_fwd<<<grid, TPB, 0, cstream(be)>>>(F32P(out), a, b, n);
    CUDA_LAUNCHED();
}
template <typename X>
static void swiglu_bwd_x(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const float *g, const X *a, const X *b,
                         int64_t n, int acc_a, int acc_b) {
    unsigned grid = grid_for(n, TPB);
    int a16 = da && da->dtype == DITC_BF16,
        b16 = db && db->dtype == DITC_BF16; // each gradient F32 or BF16 (as the CPU)
    DITC_CHECK(!(a16 && acc_a) && !(b16 && acc_b), "swiglu_bwd: a BF16 gradient is written, not accumulated");
    void *pa = da ? da->data : NULL, *pb = db ? db->data : NULL;
#define SWIGLU_BWD(TA, TB) k_swiglu_bwd<<<grid, TPB, 0, cstream(be)>>>((TA *)pa, (TB *)pb, g, a, b, n, acc_a, acc_b)
    if (a16 && b16) SWIGLU_BWD(__nv_bfloat16, __nv_bfloat16);
    else if (a16) SWIGLU_BWD(__nv_bfloat16, float);
    else if (b16) SWIGLU_BWD(float, __nv_bfloat16);
    else SWIGLU_BWD(float, float);
#undef SWIGLU_BWD
    CUDA_LAUNCHED();
}

extern "C" void cuda_swiglu_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b) {
    if (!out->numel) return;
    DITC_CHECK(a->dtype == b->dtype, "swiglu: a and b of one dtype");
    if (a->dtype == DITC_BF16)
        swiglu_fwd_x(be, out, (const __nv_bfloat16 *)a->data, (const __nv_bfloat16 *)b->data, out->numel);
    else swiglu_fwd_x(be, out, CF32P(a), CF32P(b), out->numel);
}
extern "C" void cuda_swiglu_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout,
                                const ditc_tensor *a, const ditc_tensor *b, int acc_a, int acc_b) {
    if (!dout->numel || (!da && !db)) return;
    DITC_CHECK(a->dtype == b->dtype, "swiglu: a and b of one dtype");
    if (a->dtype == DITC_BF16)
        swiglu_bwd_x(be, da, db, CF32P(dout), (const __nv_bfloat16 *)a->data, (const __nv_bfloat16 *)b->data,
                     dout->numel, acc_a, acc_b);
    else swiglu_bwd_x(be, da, db, CF32P(dout), CF32P(a), CF32P(b), dout->numel, acc_a, acc_b);
}
