// cpu_fid.c — the FID Inception's forward kernels besides the convolution (cpu_conv.c): ReLU, k×k max/average
// pooling (average over in-bounds elements only, as torch's count_include_pad=False) and the bilinear resize of
// torch's F.interpolate(mode='bilinear', align_corners=False), with torch's index and weight arithmetic in float.
// One OpenMP iteration per (sample, channel) plane: results do not depend on the thread count.
#include <float.h>

#include "cpu_backend.h"
#include "cpu_kernels.h"

void cpu_relu_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x) {
    (void)be;
    float *yd = F32(y);
    const float *xd = CF32(x);
    int64_t n = x->numel;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) yd[i] = xd[i] > 0.0f ? xd[i] : 0.0f;
}

// One output of the window [y0, y1) × [x0, x1) (clipped to the plane): torch's order (row by row), its NaN rule.
static inline float pool_at(const float *xp, int64_t W, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int avg) {
    if (avg) {
        float s = 0.0f; // torch sums the window in float, row by row, then divides by the in-bounds count
        for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++) s += xp[iy * W + ix];
        return s / (float)((y1 - y0) * (x1 - x0));
    }
    float r = -FLT_MAX;
    for (int64_t iy = y0; iy < y1; iy++)
        for (int64_t ix = x0; ix < x1; ix++) {
            float v = xp[iy * W + ix];
            if (v > r || v != v) r = v; // NaN propagates, as torch's max pooling
        }
    return r;
}

// 3×3 windows entirely inside the plane: the same sums/maxima in the same order, unrolled (vectorisable).
static void pool3_row(const float *r0, const float *r1, const float *r2, int stride, int64_t ox0, int64_t ox1, int avg,
                      float *out) {
    if (avg) {
        for (int64_t ox = ox0; ox < ox1; ox++) {
            int64_t i = ox * stride;
            float s = 0.0f;
            s += r0[i], s += r0[i + 1], s += r0[i + 2];
            s += r1[i], s += r1[i + 1], s += r1[i + 2];
            s += r2[i], s += r2[i + 1], s += r2[i + 2];
            out[ox] = s / 9.0f;
        }
    } else {
        for (int64_t ox = ox0; ox < ox1; ox++) {
            int64_t i = ox * stride;
            float v[9] = {r0[i], r0[i + 1], r0[i + 2], r1[i], r1[i + 1], r1[i + 2], r2[i], r2[i + 1], r2[i + 2]};
            float r = -FLT_MAX;
            for (int k = 0; k < 9; k++) r = (v[k] > r || v[k] != v[k]) ? v[k] : r;
            out[ox] = r;
        }
    }
}

void cpu_pool2d_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int k, int stride, int pad, int avg) {
    (void)be;
    int64_t BC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    const float *xd = CF32(x);
    float *yd = F32(y);
    // output columns whose window lies inside [0, W): ox·stride − pad >= 0 and ox·stride − pad + k <= W
    int64_t in_lo = (pad + stride - 1) / stride, in_hi = W - k + pad >= 0 ? (W - k + pad) / stride + 1 : 0;
    if (in_hi > Wo) in_hi = Wo;
    if (in_lo > in_hi) in_lo = in_hi;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < BC; p++) {
        const float *xp = xd + p * H * W;
        float *yp = yd + p * Ho * Wo;
        for (int64_t oy = 0; oy < Ho; oy++) {
            int64_t y0 = oy * stride - pad, y1 = y0 + k;
            int full_rows = y0 >= 0 && y1 <= H;
            if (y0 < 0) y0 = 0;
            if (y1 > H) y1 = H;
            float *out = yp + oy * Wo;
            int64_t lo = 0, hi = 0;
            if (k == 3 && full_rows) { // the interior columns unrolled, the border ones below
                lo = in_lo, hi = in_hi;
                const float *r0 = xp + y0 * W - pad;
                pool3_row(r0, r0 + W, r0 + 2 * W, stride, lo, hi, avg, out);
            }
            for (int64_t ox = 0; ox < Wo; ox++) {
                if (ox == lo && hi > lo) ox = hi;
                if (ox >= Wo) break;
                int64_t x0 = ox * stride - pad, x1 = x0 + k;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                out[ox] = pool_at(xp, W, y0, y1, x0, x1, avg);
            }
        }
    }
}

// torch's compute_source_index_and_lambda (UpSample.h) for one output index, align_corners = False.
static void src_index(int64_t o, int64_t in, int64_t out, float ratio, int64_t *i0, int64_t *i1, float *l0, float *l1) {
    if (in == out) {
        *i0 = *i1 = o, *l0 = 1.0f, *l1 = 0.0f;
        return;
    }
    float real = ratio * ((float)o + 0.5f) - 0.5f;
    if (real < 0.0f) real = 0.0f;
    *i0 = (int64_t)real;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    float lam = real - (float)*i0;
    *l1 = lam < 0.0f ? 0.0f : (lam > 1.0f ? 1.0f : lam);
    *l0 = 1.0f - *l1;
}

void cpu_resize_bilinear_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, float scale, float shift) {
    int64_t BC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    // per output column: two input columns and weights (the same for every row and plane)
    int64_t *ix = (int64_t *)cpu_scratch(be, (size_t)(4 * Wo + 4 * Ho) * 2);
    float *lw = (float *)(ix + 2 * Wo + 2 * Ho);
    int64_t *iy = ix + 2 * Wo;
    float *lh = lw + 2 * Wo;
    float rw = (float)W / (float)Wo, rh = (float)H / (float)Ho;
    for (int64_t o = 0; o < Wo; o++) src_index(o, W, Wo, rw, &ix[2 * o], &ix[2 * o + 1], &lw[2 * o], &lw[2 * o + 1]);
    for (int64_t o = 0; o < Ho; o++) src_index(o, H, Ho, rh, &iy[2 * o], &iy[2 * o + 1], &lh[2 * o], &lh[2 * o + 1]);
    const float *xd = CF32(x);
    float *yd = F32(y);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < BC; p++) {
        const float *xp = xd + p * H * W;
        float *yp = yd + p * Ho * Wo;
        for (int64_t oy = 0; oy < Ho; oy++) {
            const float *r0 = xp + iy[2 * oy] * W, *r1 = xp + iy[2 * oy + 1] * W;
            float h0 = lh[2 * oy], h1 = lh[2 * oy + 1];
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t a = ix[2 * ox], b = ix[2 * ox + 1];
                float w0 = lw[2 * ox], w1 = lw[2 * ox + 1];
                float v = h0 * (w0 * r0[a] + w1 * r0[b]) + h1 * (w0 * r1[a] + w1 * r1[b]);
                yp[oy * Wo + ox] = scale * v + shift;
            }
        }
    }
}
