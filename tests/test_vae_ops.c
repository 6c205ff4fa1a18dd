// test_vae_ops.c — the forward-only VAE ops (core/vae/vae_ops.h) against naive double-precision references:
// convolution (3×3 stride 1 pad 1, 3×3 stride 2 with right/bottom pad, 1×1, odd sizes, bias/no bias,
// accumulate, im2col in many row bands; Winograd F(4×4, 3×3) for ≥ 32 channels, ragged tiles, many bands), GroupNorm (+ SiLU, in place), SiLU, nearest ×2 upsampling and
// single-head spatial attention. Tolerance: max |diff| ≤ 1e-5 · max(1, max |ref|) (float32 sums of ≤ 1200
// terms of O(1) values against double), 3e-5 · max(1, max |ref|) for the Winograd convolutions.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu_backend.h"
#include "test_check.h"
#include "vae_ops.h"

static ditc_backend *g_be;
static double g_tol = 1e-5; // 3e-5 for the Winograd cases (its transforms amplify float32 rounding ~10×)

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static ditc_tensor *rand_tensor(int ndim, const int64_t *shape, uint64_t seed, float **host) {
    ditc_tensor *t = ditc_vt_new(g_be, ndim, shape);
    float *h = ditc_xmalloc((size_t)t->numel * sizeof(float));
    for (int64_t i = 0; i < t->numel; i++) h[i] = frand(&seed);
    g_be->copy_h2d(g_be, t->data, h, (size_t)t->numel * sizeof(float));
    *host = h;
    return t;
}

static float *download(const ditc_tensor *t) {
    float *h = ditc_xmalloc((size_t)t->numel * sizeof(float));
    g_be->copy_d2h(g_be, h, t->data, (size_t)t->numel * sizeof(float));
    return h;
}

static int compare(const char *what, const float *got, const double *ref, int64_t n) {
    double md = 0.0, mr = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(got[i] - ref[i]);
        md = d > md ? d : md;
        mr = fabs(ref[i]) > mr ? fabs(ref[i]) : mr;
    }
    double tol = g_tol * (mr > 1.0 ? mr : 1.0);
    return check(md <= tol, "%s: max |diff| %.3g (max |ref| %.3g, tol %.3g)", what, md, mr, tol);
}

static void test_conv(int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k, int stride, int pt, int pl,
                      int pb, int pr, int bias, int acc, size_t chunk) {
    float *xh, *wh, *bh = NULL, *yh0 = NULL;
    int64_t xs[4] = {B, C, H, W}, ws[4] = {O, C, k, k}, bs[1] = {O};
    ditc_tensor *x = rand_tensor(4, xs, 11 + (uint64_t)C, &xh), *w = rand_tensor(4, ws, 23 + (uint64_t)O, &wh);
    ditc_tensor *b = bias ? rand_tensor(1, bs, 37, &bh) : NULL;
    int64_t Ho = (H + pt + pb - k) / stride + 1, Wo = (W + pl + pr - k) / stride + 1;
    int64_t ys[4] = {B, O, Ho, Wo};
    ditc_cpu_conv_set_chunk_floats(chunk);
    ditc_tensor *y;
    if (acc) {
        y = rand_tensor(4, ys, 99, &yh0);
        int pad[4] = {pt, pl, pb, pr};
        ditc_conv2d_into(g_be, y, x, w, b, stride, pad, 1);
    } else {
        y = ditc_conv2d(g_be, x, w, b, stride, pt, pl, pb, pr);
    }
    ditc_cpu_conv_set_chunk_floats(0);
    int64_t n = B * O * Ho * Wo;
    double *ref = ditc_xcalloc((size_t)n, sizeof(double));
    for (int64_t s = 0; s < B; s++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t oy = 0; oy < Ho; oy++)
                for (int64_t ox = 0; ox < Wo; ox++) {
                    double a = bias ? bh[o] : 0.0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t ky = 0; ky < k; ky++)
                            for (int64_t kx = 0; kx < k; kx++) {
                                int64_t iy = oy * stride - pt + ky, ix = ox * stride - pl + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                a += (double)wh[((o * C + c) * k + ky) * k + kx] * xh[((s * C + c) * H + iy) * W + ix];
                            }
                    int64_t i = ((s * O + o) * Ho + oy) * Wo + ox;
                    ref[i] = a + (acc ? yh0[i] : 0.0);
                }
    float *got = download(y);
    char what[160];
    snprintf(what, sizeof what, "conv2d B%lld C%lld %lldx%lld -> O%lld k%lld s%d pad(%d,%d,%d,%d)%s%s chunk %zu",
             (long long)B, (long long)C, (long long)H, (long long)W, (long long)O, (long long)k, stride, pt, pl, pb, pr,
             bias ? " bias" : "", acc ? " acc" : "", chunk);
    compare(what, got, ref, n);
    free(got);
    free(ref);
    free(xh);
    free(wh);
    free(bh);
    free(yh0);
    ditc_vt_free(x);
    ditc_vt_free(w);
    ditc_vt_free(b);
    ditc_vt_free(y);
}

static void test_group_norm(int64_t B, int64_t C, int64_t H, int64_t W, int groups, int silu, int inplace) {
    float *xh, *wh, *bh;
    int64_t xs[4] = {B, C, H, W}, cs[1] = {C};
    ditc_tensor *x = rand_tensor(4, xs, 5, &xh), *w = rand_tensor(1, cs, 6, &wh), *b = rand_tensor(1, cs, 7, &bh);
    for (int64_t i = 0; i < x->numel; i++) xh[i] = 3.0f * xh[i] + 0.5f; // non-zero mean
    g_be->copy_h2d(g_be, x->data, xh, (size_t)x->numel * sizeof(float));
    ditc_tensor *y = ditc_group_norm(g_be, x, w, b, groups, 1e-6f, silu, inplace);
    int64_t cg = C / groups, HW = H * W, n = B * C * HW;
    double *ref = ditc_xmalloc((size_t)n * sizeof(double));
    for (int64_t s = 0; s < B; s++)
        for (int g = 0; g < groups; g++) {
            const float *blk = xh + (s * C + g * cg) * HW;
            double m = 0.0, v = 0.0;
            for (int64_t i = 0; i < cg * HW; i++) m += blk[i];
            m /= (double)(cg * HW);
            for (int64_t i = 0; i < cg * HW; i++) v += (blk[i] - m) * (blk[i] - m);
            v /= (double)(cg * HW);
            for (int64_t i = 0; i < cg * HW; i++) {
                int64_t c = g * cg + i / HW;
                double t = (blk[i] - m) / sqrt(v + 1e-6) * wh[c] + bh[c];
                ref[(s * C + g * cg) * HW + i] = silu ? t / (1.0 + exp(-t)) : t;
            }
        }
    float *got = download(y);
    char what[128];
    snprintf(what, sizeof what, "group_norm B%lld C%lld %lldx%lld G%d%s%s", (long long)B, (long long)C, (long long)H,
             (long long)W, groups, silu ? " +silu" : "", inplace ? " in place" : "");
    compare(what, got, ref, n);
    free(got);
    free(ref);
    free(xh);
    free(wh);
    free(bh);
    if (y != x) ditc_vt_free(y);
    ditc_vt_free(x);
    ditc_vt_free(w);
    ditc_vt_free(b);
}

static void test_silu(void) {
    float *xh;
    int64_t s[1] = {1000};
    ditc_tensor *x = rand_tensor(1, s, 3, &xh);
    for (int64_t i = 0; i < x->numel; i++) xh[i] *= 30.0f;
    g_be->copy_h2d(g_be, x->data, xh, (size_t)x->numel * sizeof(float));
    ditc_silu_inplace(g_be, x);
    double *ref = ditc_xmalloc(1000 * sizeof(double));
    for (int i = 0; i < 1000; i++) ref[i] = xh[i] / (1.0 + exp(-(double)xh[i]));
    float *got = download(x);
    compare("silu (in place, |x| <= 30)", got, ref, 1000);
    free(got);
    free(ref);
    free(xh);
    ditc_vt_free(x);
}

static void test_upsample(void) {
    float *xh;
    int64_t s[4] = {2, 3, 5, 7};
    ditc_tensor *x = rand_tensor(4, s, 8, &xh), *y = ditc_upsample2x(g_be, x);
    int64_t n = 2 * 3 * 10 * 14;
    double *ref = ditc_xmalloc((size_t)n * sizeof(double));
    for (int64_t bc = 0; bc < 6; bc++)
        for (int64_t oy = 0; oy < 10; oy++)
            for (int64_t ox = 0; ox < 14; ox++) ref[(bc * 10 + oy) * 14 + ox] = xh[(bc * 5 + oy / 2) * 7 + ox / 2];
    float *got = download(y);
    check(y->shape[2] == 10 && y->shape[3] == 14, "upsample2x shape (2, 3, 10, 14)");
    compare("upsample2x nearest (2, 3, 5, 7)", got, ref, n);
    free(got);
    free(ref);
    free(xh);
    ditc_vt_free(x);
    ditc_vt_free(y);
}

static void test_attention(int64_t B, int64_t C, int64_t H, int64_t W) {
    float *qh, *kh, *vh;
    int64_t s[4] = {B, C, H, W};
    ditc_tensor *q = rand_tensor(4, s, 41, &qh), *k = rand_tensor(4, s, 42, &kh), *v = rand_tensor(4, s, 43, &vh);
    ditc_tensor *y = ditc_spatial_attention(g_be, q, k, v);
    int64_t T = H * W, n = B * C * T;
    double *ref = ditc_xcalloc((size_t)n, sizeof(double)), *p = ditc_xmalloc((size_t)T * sizeof(double));
    for (int64_t b = 0; b < B; b++) {
        const float *qb = qh + b * C * T, *kb = kh + b * C * T, *vb = vh + b * C * T;
        for (int64_t t = 0; t < T; t++) {
            double m = -1e300, sum = 0.0;
            for (int64_t u = 0; u < T; u++) {
                double a = 0.0;
                for (int64_t c = 0; c < C; c++) a += (double)qb[c * T + t] * kb[c * T + u];
                p[u] = a / sqrt((double)C);
                m = p[u] > m ? p[u] : m;
            }
            for (int64_t u = 0; u < T; u++) {
                p[u] = exp(p[u] - m);
                sum += p[u];
            }
            for (int64_t c = 0; c < C; c++) {
                double a = 0.0;
                for (int64_t u = 0; u < T; u++) a += p[u] / sum * vb[c * T + u];
                ref[b * C * T + c * T + t] = a;
            }
        }
    }
    float *got = download(y);
    char what[96];
    snprintf(what, sizeof what, "spatial attention B%lld C%lld %lldx%lld", (long long)B, (long long)C, (long long)H,
             (long long)W);
    compare(what, got, ref, n);
    free(got);
    free(ref);
    free(p);
    free(qh);
    free(kh);
    free(vh);
    ditc_vt_free(q);
    ditc_vt_free(k);
    ditc_vt_free(v);
    ditc_vt_free(y);
}

int main(void) {
    g_be = ditc_cpu_backend_new(0);
    test_conv(2, 5, 9, 11, 7, 3, 1, 1, 1, 1, 1, 1, 0, 0);             // 3×3 s1 p1
    test_conv(1, 4, 12, 10, 6, 3, 1, 1, 1, 1, 1, 1, 0, 50);           // one output row per band
    test_conv(2, 3, 13, 8, 5, 3, 1, 1, 1, 1, 1, 0, 1, 3 * 9 * 8 * 4); // no bias, accumulate, 4-row bands
    test_conv(2, 6, 10, 9, 4, 3, 2, 0, 0, 1, 1, 1, 0, 0);             // Downsample: right/bottom pad, stride 2
    test_conv(1, 6, 11, 12, 4, 3, 2, 0, 0, 1, 1, 1, 0, 6 * 9 * 6);    // same, odd height, 1-row bands
    test_conv(2, 8, 7, 5, 3, 1, 1, 0, 0, 0, 0, 1, 0, 0);              // 1×1 (direct GEMM)
    test_conv(2, 8, 7, 5, 3, 1, 1, 0, 0, 0, 0, 1, 1, 0);              // 1×1 accumulate
    test_conv(1, 64, 16, 16, 32, 3, 1, 1, 1, 1, 1, 1, 0, 0);          // K = 576 terms
    // Winograd F(4×4, 3×3) (≥ 32 channels, ≥ 32×32 pixels), tolerance 3e-5: ragged tiles (H, W not multiples of 4, tile rows not a multiple
    // of 8 tiles), channels not a multiple of 8, accumulate without bias, one tile row per band, B = 2
    g_tol = 3e-5;
    test_conv(2, 37, 43, 29, 33, 3, 1, 1, 1, 1, 1, 1, 0, 0);
    test_conv(1, 32, 15, 70, 40, 3, 1, 1, 1, 1, 1, 0, 1, 1);
    test_conv(2, 48, 37, 29, 32, 3, 1, 1, 1, 1, 1, 1, 1, 36 * 80 * 8 * 2);
    test_conv(1, 128, 32, 32, 128, 3, 1, 1, 1, 1, 1, 1, 0, 0); // K = 1152 terms
    g_tol = 1e-5;
    ditc_cpu_conv_set_winograd(0);
    test_conv(1, 128, 32, 32, 128, 3, 1, 1, 1, 1, 1, 1, 0, 0); // the same through im2col
    ditc_cpu_conv_set_winograd(1);
    test_group_norm(2, 8, 5, 6, 4, 0, 0);
    test_group_norm(2, 64, 4, 3, 32, 1, 0);
    test_group_norm(1, 32, 7, 7, 32, 1, 1);
    test_silu();
    test_upsample();
    test_attention(2, 16, 3, 5);
    test_attention(1, 32, 8, 8);
    g_be->destroy(g_be);
    return check_summary("test_vae_ops");
}
