// cpu_elementwise.c — axpy, cast, broadcast add/mul (+ their reductions), GELU-tanh and SiLU.
#include <math.h>

#include "cpu_kernels.h"
#include "cpu_math.h"

#define PAR_MIN 32768 // below this many elements a loop stays on one thread

void cpu_axpy(ditc_backend *be, ditc_tensor *y, float alpha, const ditc_tensor *x, int acc) {
    (void)be;
    DITC_CHECK(y->numel == x->numel && y->dtype == DITC_F32 && x->dtype == DITC_F32, "axpy operands");
    float *yd = F32(y);
    const float *xd = CF32(x);
    int64_t n = y->numel;
    if (acc) {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) yd[i] += alpha * xd[i];
    } else {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) yd[i] = alpha * xd[i];
    }
}

void cpu_cast(ditc_backend *be, ditc_tensor *dst, const ditc_tensor *src) {
    (void)be;
    int64_t n = dst->numel;
    if (dst->dtype == src->dtype) {
        be->copy_d2d(be, dst->data, src->data, ditc_nbytes(src));
        return;
    }
    if (dst->dtype == DITC_BF16 && src->dtype == DITC_F32) {
        uint16_t *d = dst->data;
        const float *s = src->data;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) d[i] = ditc_f32_to_bf16(s[i]);
    } else if (dst->dtype == DITC_F32 && src->dtype == DITC_BF16) {
        float *d = dst->data;
        const uint16_t *s = src->data;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) d[i] = ditc_bf16_to_f32(s[i]);
    } else {
        DITC_CHECK(0, "cast %s -> %s", ditc_dtype_name(src->dtype), ditc_dtype_name(dst->dtype));
    }
}

// Right-aligned 4-D shape of t.
static void shape4(const ditc_tensor *t, int64_t s[4]) {
    for (int i = 0; i < 4; i++) {
        int k = t->ndim - 4 + i;
        s[i] = k >= 0 ? t->shape[k] : 1;
    }
}

// Element strides of t for indexing with the 4-D index of `out` (0 where t broadcasts).
static void bstrides(const int64_t ts[4], int64_t st[4]) {
    int64_t acc = 1;
    for (int i = 3; i >= 0; i--) {
        st[i] = ts[i] == 1 ? 0 : acc;
        acc *= ts[i];
    }
}

static inline float apply(ditc_binary_op op, float a, float b) { return op == DITC_BIN_ADD ? a + b : a * b; }

void cpu_binary_fwd(ditc_backend *be, ditc_binary_op op, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b) {
    (void)be;
    float *o = F32(out);
    const float *ad = CF32(a), *bd = CF32(b);
    int64_t n = out->numel;
    if (a->numel == n && b->numel == n) { // same shape
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) o[i] = apply(op, ad[i], bd[i]);
        return;
    }
    int64_t os[4], as[4], bs[4], sa[4], sb[4];
    shape4(out, os);
    shape4(a, as);
    shape4(b, bs);
    bstrides(as, sa);
    bstrides(bs, sb);
#pragma omp parallel for collapse(2) schedule(static) if (n > PAR_MIN)
    for (int64_t i0 = 0; i0 < os[0]; i0++)
        for (int64_t i1 = 0; i1 < os[1]; i1++)
            for (int64_t i2 = 0; i2 < os[2]; i2++) {
                float *orow = o + ((i0 * os[1] + i1) * os[2] + i2) * os[3];
                const float *arow = ad + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const float *brow = bd + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int64_t i3 = 0; i3 < os[3]; i3++) orow[i3] = apply(op, arow[i3 * sa[3]], brow[i3 * sb[3]]);
            }
}

void cpu_binary_bwd(ditc_backend *be, ditc_binary_op op, int which, ditc_tensor *dx, const ditc_tensor *dout,
                    const ditc_tensor *a, const ditc_tensor *b, int acc) {
    (void)be;
    const ditc_tensor *x = which == 0 ? a : b, *other = which == 0 ? b : a;
    float *g = F32(dx);
    const float *dy = CF32(dout), *od = CF32(other);
    int mul = op == DITC_BIN_MUL;
    int64_t n = dout->numel;
    if (x->numel == n && other->numel == n) { // same shape: elementwise
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            float v = mul ? dy[i] * od[i] : dy[i];
            g[i] = acc ? g[i] + v : v;
        }
        return;
    }
    int64_t os[4], xs[4], ots[4], so[4];
    shape4(dout, os);
    shape4(x, xs);
    shape4(other, ots);
    bstrides(ots, so);
    if (x->numel == n) { // x has the output's shape (only `other` broadcasts): dx = dout (· other broadcast)
#pragma omp parallel for collapse(2) schedule(static) if (n > PAR_MIN)
        for (int64_t i0 = 0; i0 < os[0]; i0++)
            for (int64_t i1 = 0; i1 < os[1]; i1++)
                for (int64_t i2 = 0; i2 < os[2]; i2++) {
                    int64_t r = ((i0 * os[1] + i1) * os[2] + i2) * os[3];
                    const float *orow = od + i0 * so[0] + i1 * so[1] + i2 * so[2];
                    for (int64_t i3 = 0; i3 < os[3]; i3++) {
                        float v = mul ? dy[r + i3] * orow[i3 * so[3]] : dy[r + i3];
                        g[r + i3] = acc ? g[r + i3] + v : v;
                    }
                }
        return;
    }
    // General: each dx element sums dout (· other) over the dims where x broadcasts.
    int64_t xn = x->numel;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t xi = 0; xi < xn; xi++) {
        int64_t idx[4], lo[4], cnt[4], r = xi;
        for (int k = 3; k >= 0; k--) {
            idx[k] = r % xs[k];
            r /= xs[k];
        }
        for (int k = 0; k < 4; k++) {
            int red = xs[k] == 1 && os[k] > 1;
            lo[k] = red ? 0 : idx[k];
            cnt[k] = red ? os[k] : 1;
        }
        double s = 0.0;
        for (int64_t i0 = lo[0]; i0 < lo[0] + cnt[0]; i0++)
            for (int64_t i1 = lo[1]; i1 < lo[1] + cnt[1]; i1++)
                for (int64_t i2 = lo[2]; i2 < lo[2] + cnt[2]; i2++)
                    for (int64_t i3 = lo[3]; i3 < lo[3] + cnt[3]; i3++) {
                        float v = dy[((i0 * os[1] + i1) * os[2] + i2) * os[3] + i3];
                        if (mul) v *= od[i0 * so[0] + i1 * so[1] + i2 * so[2] + i3 * so[3]];
                        s += v;
                    }
        g[xi] = acc ? g[xi] + (float)s : (float)s;
    }
}

// GELU, tanh approximation: 0.5·v·(1 + tanh(u)), u = √(2/π)·(v + 0.044715·v³), computed in the equal form
// v·σ(2u) = v / (1 + e^(−2u)): one exp and no cancellation in 1 + tanh(u) for negative v (max relative error
// ~1e-6 against double, where the tanh form loses digits as 1 + tanh → 0). Derivative: σ(2u) + v·2u'·σ(2u)(1 − σ(2u)),
// with σ(1 − σ) = e·σ² (e = e^(−2u)), again without cancellation.
#define GELU_C   0.044715f
#define GELU_2K  1.5957691216057308f  // 2·√(2/π)
#define GELU_M2K -1.5957691216057308f // −2·√(2/π)

// One span of the unary ops (a plain function so that DITC_WIDE_SIMD applies: OpenMP's outlined loop bodies
// do not inherit a function's target attributes).
DITC_WIDE_SIMD static void unary_fwd_span(ditc_unary_op op, float *y, const float *x, int64_t n) {
    if (op == DITC_UN_GELU_TANH) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v / (1.0f + ditc_vexpf(GELU_M2K * (v + GELU_C * v * v * v)));
        }
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + ditc_vexpf(-x[i]));
    }
}

DITC_WIDE_SIMD static void unary_bwd_span(ditc_unary_op op, float *g, const float *gy, const float *x, int64_t n,
                                          int acc) {
    if (op == DITC_UN_GELU_TANH) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            float v = x[i], e = ditc_vexpf(GELU_M2K * (v + GELU_C * v * v * v)), s = 1.0f / (1.0f + e);
            float d = s + v * GELU_2K * (1.0f + 3.0f * GELU_C * v * v) * (e * s * s);
            g[i] = acc ? g[i] + gy[i] * d : gy[i] * d;
        }
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            float s = 1.0f / (1.0f + ditc_vexpf(-x[i])), d = s * (1.0f + x[i] * (1.0f - s));
            g[i] = acc ? g[i] + gy[i] * d : gy[i] * d;
        }
    }
}

float *cpu_widen_bf16(const ditc_tensor *t) {
    const uint16_t *h = t->data;
    float *f = ditc_xmalloc((size_t)(t->numel > 0 ? t->numel : 1) * sizeof(float));
#pragma omp parallel for schedule(static) if (t->numel > PAR_MIN)
    for (int64_t i = 0; i < t->numel; i++) f[i] = ditc_bf16_to_f32(h[i]);
    return f;
}

#define SPAN 8192 // elements per parallel iteration of the unary ops

// Span i0 of x as F32: the tensor itself, or (a BF16 x: the producing linear's bf16 output, or a bf16 output
// gradient) widened into buf.
static const float *x_span(const ditc_tensor *x, int64_t i0, int64_t len, float *buf) {
    if (x->dtype == DITC_F32) return CF32(x) + i0;
    const uint16_t *h = (const uint16_t *)x->data + i0;
    for (int64_t i = 0; i < len; i++) buf[i] = ditc_bf16_to_f32(h[i]);
    return buf;
}

void cpu_unary_fwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *y, const ditc_tensor *x) {
    (void)be;
    int64_t n = x->numel, spans = (n + SPAN - 1) / SPAN;
    int bf = y->dtype == DITC_BF16; // the next GEMM's bf16 operand: a span in F32, then rounded once
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t q = 0; q < spans; q++) {
        int64_t i0 = q * SPAN, len = n - i0 < SPAN ? n - i0 : SPAN;
        float xb[SPAN];
        const float *xs = x_span(x, i0, len, xb);
        if (!bf) {
            unary_fwd_span(op, F32(y) + i0, xs, len);
            continue;
        }
        float tmp[SPAN];
        unary_fwd_span(op, tmp, xs, len);
        uint16_t *yb = (uint16_t *)y->data + i0;
        for (int64_t i = 0; i < len; i++) yb[i] = ditc_f32_to_bf16(tmp[i]);
    }
}

void cpu_unary_bwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *dx, const ditc_tensor *dy, const ditc_tensor *x,
                   int acc) {
    (void)be;
    int64_t n = x->numel, spans = (n + SPAN - 1) / SPAN;
    int bf = dx->dtype == DITC_BF16; // the producing linear's bf16 output gradient: a span in F32, rounded once
    DITC_CHECK(!bf || !acc, "unary_bwd: a BF16 dx is written, not accumulated");
    DITC_CHECK(dy->dtype == DITC_F32 || dy->dtype == DITC_BF16, "unary_bwd: dy must be F32 or BF16");
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t q = 0; q < spans; q++) {
        int64_t i0 = q * SPAN, len = n - i0 < SPAN ? n - i0 : SPAN;
        float xb[SPAN], yb16[SPAN]; // a BF16 dy (the consuming GEMM's bf16 dx, as the GELU's output gradient) widened
        const float *xs = x_span(x, i0, len, xb), *gys = x_span(dy, i0, len, yb16);
        if (!bf) {
            unary_bwd_span(op, F32(dx) + i0, gys, xs, len, acc);
            continue;
        }
        float tmp[SPAN];
        unary_bwd_span(op, tmp, gys, xs, len, 0);
        uint16_t *gb = (uint16_t *)dx->data + i0;
        for (int64_t i = 0; i < len; i++) gb[i] = ditc_f32_to_bf16(tmp[i]);
    }
}
