// image_resize.c — Pillow 9.4's 8-bit resampler (libImaging/Resample.c semantics, shared/spec/data.md) for RGB,
// bit for bit: separable, horizontal pass first over only the source rows the vertical pass reads, uint8
// rounding between passes, a pass skipped when its dimension is unchanged. Per output index i along an axis
// (in → out): scale = in/out, fs = max(scale, 1), support = filter_support·fs, center = (i + 0.5)·scale,
// xmin = max((int)(center − support + 0.5), 0), n = min((int)(center + support + 0.5), in) − xmin,
// w_k = f((k + xmin − center + 0.5)·(1/fs)) normalised by their sum, then 22-bit fixed point rounded half away
// from zero; pixel = clip8((2^21 + Σ w_k·p_k) >> 22).
// Windowed: any rectangle of the output can be computed alone (center_crop_arr computes only its crop), and the
// result equals the same rectangle of the full resize because every output index uses its own weights.
#include <math.h>
#include <string.h>

#include "image_internal.h"

#define PRECISION_BITS 22

// Weights of one axis for output indices [a, a + n).
typedef struct {
    int n;         // outputs
    int ksize;     // weights stored per output (taps padded with zero weights)
    int *lo;       // (n,) first source index of each output (absolute, logical input)
    int *len;      // (n,) taps of each output (<= ksize)
    int32_t *w;    // (n, ksize) fixed-point weights, zero past len
} axis_plan;

// A read-only strided RGB view: pixel (x, y) at p + y·stride + 3·x.
typedef struct {
    const uint8_t *p;
    size_t stride;
} rgb_view;

static double filter_support(ditc_resample f) { return f == DITC_RESAMPLE_BOX ? 0.5 : 2.0; }

// Pillow's box_filter / bicubic_filter (a = -0.5), same operation order.
static double filter_eval(ditc_resample f, double x) {
    if (f == DITC_RESAMPLE_BOX) return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// Source range [*lo, *lo + *len) of output index i (Pillow's precompute_coeffs bounds).
static void axis_bounds(int in, double scale, double support, int i, int *lo, int *len) {
    double center = (i + 0.5) * scale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in) xmax = in;
    *lo = xmin;
    *len = xmax - xmin;
}

static void plan_build(int in, int out, ditc_resample f, int a, int n, axis_plan *p) {
    double scale = (double)in / out, fs = scale < 1.0 ? 1.0 : scale;
    double support = filter_support(f) * fs, ss = 1.0 / fs;
    int ksize = (int)ceil(support) * 2 + 1;
    p->n = n;
    p->ksize = ksize;
    p->lo = ditc_xmalloc(sizeof(int) * (size_t)n);
    p->len = ditc_xmalloc(sizeof(int) * (size_t)n);
    p->w = ditc_xcalloc((size_t)n * (size_t)ksize, sizeof(int32_t));
    double *k = ditc_xmalloc(sizeof(double) * (size_t)ksize);
    for (int j = 0; j < n; j++) {
        int i = a + j, xmin, cnt;
        axis_bounds(in, scale, support, i, &xmin, &cnt);
        double center = (i + 0.5) * scale, ww = 0.0;
        for (int x = 0; x < cnt; x++) {
            k[x] = filter_eval(f, (x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        int32_t *wj = p->w + (size_t)j * (size_t)ksize;
        for (int x = 0; x < cnt; x++) {
            double v = ww != 0.0 ? k[x] / ww : k[x];
            wj[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        p->lo[j] = xmin;
        p->len[j] = cnt;
    }
    free(k);
}

// Where possible, every output gets exactly ksize taps inside the source range [lo, hi) that is read: a window
// running past hi is moved left and its weights right (leading zero weights add exactly 0), so the inner loops
// have a fixed trip count.
static void plan_uniform(axis_plan *p, int lo, int hi) {
    if (p->ksize > hi - lo) return;
    for (int j = 0; j < p->n; j++) {
        int shift = p->lo[j] + p->ksize - hi;
        if (shift > 0) {
            int32_t *wj = p->w + (size_t)j * (size_t)p->ksize;
            memmove(wj + shift, wj, sizeof(int32_t) * (size_t)p->len[j]);
            memset(wj, 0, sizeof(int32_t) * (size_t)shift);
            p->lo[j] -= shift;
        }
        p->len[j] = p->ksize;
    }
}

static void plan_free(axis_plan *p) {
    free(p->lo);
    free(p->len);
    free(p->w);
}

void ditc_resize_source_range(int in, int out, ditc_resample filter, int a, int b, int *lo, int *hi) {
    if (in == out || b <= a) {
        *lo = a;
        *hi = b;
        return;
    }
    double scale = (double)in / out, fs = scale < 1.0 ? 1.0 : scale;
    double support = filter_support(filter) * fs;
    int l0, n0, l1, n1;
    axis_bounds(in, scale, support, a, &l0, &n0);
    axis_bounds(in, scale, support, b - 1, &l1, &n1);
    *lo = l0;
    *hi = l1 + n1;
}

static inline uint8_t clip8(int32_t acc) {
    if (acc < 0) return 0;
    acc >>= PRECISION_BITS;
    return (uint8_t)(acc > 255 ? 255 : acc);
}

// ---- horizontal pass: rows × (out window) -----------------------------------------------------------------

// General taps. in points at logical column sx0 of each row.
static void hpass_rows(rgb_view in, int sx0, int rows, const axis_plan *p, uint8_t *out, size_t ostride) {
    const int ks = p->ksize;
    for (int y = 0; y < rows; y++) {
        const uint8_t *row = in.p + (size_t)y * in.stride;
        uint8_t *o = out + (size_t)y * ostride;
        for (int j = 0; j < p->n; j++) {
            const uint8_t *s = row + 3 * (size_t)(p->lo[j] - sx0);
            const int32_t *k = p->w + (size_t)j * (size_t)ks;
            int32_t r = 1 << (PRECISION_BITS - 1), g = r, b = r;
            for (int t = 0; t < p->len[j]; t++) {
                r += s[3 * t] * k[t];
                g += s[3 * t + 1] * k[t];
                b += s[3 * t + 2] * k[t];
            }
            o[3 * j] = clip8(r), o[3 * j + 1] = clip8(g), o[3 * j + 2] = clip8(b);
        }
    }
}

// BOX exactly halving (in = 2·out): weights are 2^21 each, i.e. (a + b + 1) >> 1.
// Output columns [ox0, ox0 + n) read source columns [2·ox0, 2·ox0 + 2n).
static void hpass_half(rgb_view in, int sx0, int rows, int ox0, int n, uint8_t *out, size_t ostride) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *s = in.p + (size_t)y * in.stride + 3 * (size_t)(2 * ox0 - sx0);
        uint8_t *o = out + (size_t)y * ostride;
        for (int j = 0; j < n; j++)
            for (int c = 0; c < 3; c++) o[3 * j + c] = (uint8_t)((s[6 * j + c] + s[6 * j + 3 + c] + 1) >> 1);
    }
}

// ---- vertical pass: (out window rows) × width -----------------------------------------------------------

// in points at logical row sy0; every output row j reads rows p->lo[j] .. + len.
static void vpass(rgb_view in, int sy0, int width3, const axis_plan *p, uint8_t *out, size_t ostride) {
    enum { BLK = 64 };
    const int ks = p->ksize;
    for (int j = 0; j < p->n; j++) {
        const uint8_t *base = in.p + (size_t)(p->lo[j] - sy0) * in.stride;
        const int32_t *k = p->w + (size_t)j * (size_t)ks;
        const int len = p->len[j];
        uint8_t *o = out + (size_t)j * ostride;
        for (int x0 = 0; x0 < width3; x0 += BLK) {
            int nb = width3 - x0 < BLK ? width3 - x0 : BLK;
            int32_t acc[BLK];
            for (int x = 0; x < BLK; x++) acc[x] = 1 << (PRECISION_BITS - 1);
            for (int t = 0; t < len; t++) {
                const uint8_t *s = base + (size_t)t * in.stride + x0;
                const int32_t kt = k[t];
                if (nb == BLK)
                    for (int x = 0; x < BLK; x++) acc[x] += s[x] * kt;
                else
                    for (int x = 0; x < nb; x++) acc[x] += s[x] * kt;
            }
            for (int x = 0; x < nb; x++) o[x0 + x] = clip8(acc[x]);
        }
    }
}

// Output rows [oy0, oy0 + n) read source rows [2·oy0, 2·oy0 + 2n).
static void vpass_half(rgb_view in, int sy0, int width3, int oy0, int n, uint8_t *out, size_t ostride) {
    for (int j = 0; j < n; j++) {
        const uint8_t *a = in.p + (size_t)(2 * (oy0 + j) - sy0) * in.stride, *b = a + in.stride;
        uint8_t *o = out + (size_t)j * ostride;
        for (int x = 0; x < width3; x++) o[x] = (uint8_t)((a[x] + b[x] + 1) >> 1);
    }
}

// ---- driver -----------------------------------------------------------------------------------------------

static int is_exact_half(int in, int out, ditc_resample f) { return f == DITC_RESAMPLE_BOX && in == 2 * out; }

void ditc_resize_window(const ditc_image *src, int sx0, int sy0, int in_w, int in_h, int out_w, int out_h,
                        int ox0, int oy0, int ow, int oh, ditc_resample filter, ditc_image *dst) {
    DITC_CHECK(ow > 0 && oh > 0 && ox0 >= 0 && oy0 >= 0 && ox0 + ow <= out_w && oy0 + oh <= out_h,
               "resize window %dx%d+%d+%d outside %dx%d", ow, oh, ox0, oy0, out_w, out_h);
    const int need_h = out_w != in_w, need_v = out_h != in_h;
    int rx0, rx1, ry0, ry1;  // source rectangle read
    ditc_resize_source_range(in_w, out_w, filter, ox0, ox0 + ow, &rx0, &rx1);
    ditc_resize_source_range(in_h, out_h, filter, oy0, oy0 + oh, &ry0, &ry1);
    DITC_CHECK(rx0 >= sx0 && ry0 >= sy0 && rx1 <= sx0 + src->w && ry1 <= sy0 + src->h,
               "resize source window does not cover [%d,%d)x[%d,%d)", rx0, rx1, ry0, ry1);
    dst->w = ow;
    dst->h = oh;
    dst->rgb = ditc_xmalloc((size_t)ow * (size_t)oh * 3);
    rgb_view sv = {src->rgb + (size_t)(ry0 - sy0) * (size_t)src->w * 3, (size_t)src->w * 3};

    // Horizontal pass over source rows [ry0, ry1) into tmp (or straight into dst when no vertical pass).
    uint8_t *tmp = NULL;
    rgb_view hv;  // the horizontally resampled rows [ry0, ry1), columns = output window
    if (need_h) {
        uint8_t *hout = need_v ? (tmp = ditc_xmalloc((size_t)ow * (size_t)(ry1 - ry0) * 3)) : dst->rgb;
        if (is_exact_half(in_w, out_w, filter)) {
            hpass_half(sv, sx0, ry1 - ry0, ox0, ow, hout, (size_t)ow * 3);
        } else {
            axis_plan hp;
            plan_build(in_w, out_w, filter, ox0, ow, &hp);
            plan_uniform(&hp, rx0, rx1);
            hpass_rows(sv, sx0, ry1 - ry0, &hp, hout, (size_t)ow * 3);
            plan_free(&hp);
        }
        hv = (rgb_view){hout, (size_t)ow * 3};
    } else {
        hv = (rgb_view){sv.p + 3 * (size_t)(ox0 - sx0), sv.stride};
    }

    if (need_v) {
        if (is_exact_half(in_h, out_h, filter)) {
            vpass_half(hv, ry0, ow * 3, oy0, oh, dst->rgb, (size_t)ow * 3);
        } else {
            axis_plan vp;
            plan_build(in_h, out_h, filter, oy0, oh, &vp);
            plan_uniform(&vp, ry0, ry1);
            vpass(hv, ry0, ow * 3, &vp, dst->rgb, (size_t)ow * 3);
            plan_free(&vp);
        }
    } else if (!need_h) {
        for (int y = 0; y < oh; y++) memcpy(dst->rgb + (size_t)y * (size_t)ow * 3, hv.p + (size_t)y * hv.stride, (size_t)ow * 3);
    }
    free(tmp);
}

void ditc_image_resize(const ditc_image *src, int w, int h, ditc_resample filter, ditc_image *dst) {
    DITC_CHECK(src->w > 0 && src->h > 0 && w > 0 && h > 0, "resize %dx%d -> %dx%d", src->w, src->h, w, h);
    ditc_resize_window(src, 0, 0, src->w, src->h, w, h, 0, 0, w, h, filter, dst);
}
