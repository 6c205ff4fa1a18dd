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

void cpu_pool2d_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int k, int stride, int pad, int avg) {
    (void)be;
    int64_t BC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    const float *xd = CF32(x);
    float *yd = F32(y);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < BC; p++) {
        const float *xp = xd + p * H * W;
        float *yp = yd + p * Ho * Wo;
        for (int64_t oy = 0; oy < Ho; oy++) {
            int64_t y0 = oy * stride - pad, y1 = y0 + k;
            if (y0 < 0) y0 = 0;
            if (y1 > H) y1 = H;
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t x0 = ox * stride - pad, x1 = x0 + k;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                float r;
                if (avg) {
                    float s = 0.0f; // torch sums the window in float, row by row, then divides
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++) s += xp[iy * W + ix];
                    r = s / (float)((y1 - y0) * (x1 - x0));
                } else {
                    r = -FLT_MAX;
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++) {
                            float v = xp[iy * W + ix];
                            if (v > r || v != v) r = v; // NaN propagates, as torch's max pooling
                        }
                }
                yp[oy * Wo + ox] = r;
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
