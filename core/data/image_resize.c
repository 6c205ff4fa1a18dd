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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "image_internal.h"

// The weights must round exactly as Pillow's: no FMA contraction (the build passes -ffp-contract=off; GCC's
// ISO C modes default to it; clang honours the standard pragma).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define PRECISION_BITS 22
#define SCRATCH_KEEP   ((size_t)64 << 20) // scratch buffers above 64 MiB are freed after use

// ---- per-thread scratch buffers -------------------------------------------------------------------------
// The crop pipeline runs once per training image; reusing its buffers avoids fresh pages (page faults and
// zeroing by the kernel cost as much as the arithmetic for ImageNet-sized images).

typedef struct {
    uint8_t *p;
    size_t cap;
} scratch_buf;

static _Thread_local scratch_buf g_scratch[DITC_SCRATCH_SLOTS];

uint8_t *ditc_image_scratch(int slot, size_t bytes) {
    DITC_CHECK(slot >= 0 && slot < DITC_SCRATCH_SLOTS, "scratch slot %d", slot);
    scratch_buf *b = &g_scratch[slot];
    if (bytes > b->cap) {
        free(b->p);
        b->cap = bytes > 2 * b->cap ? bytes : 2 * b->cap;
        b->p = ditc_xmalloc(b->cap);
    }
    return b->p;
}

void ditc_image_scratch_done(int slot) {
    scratch_buf *b = &g_scratch[slot];
    if (b->cap > SCRATCH_KEEP) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

void ditc_image_scratch_free(void) {
    for (int i = 0; i < DITC_SCRATCH_SLOTS; i++) {
        free(g_scratch[i].p);
        g_scratch[i].p = NULL;
        g_scratch[i].cap = 0;
    }
}

// Lanes of int32 in a machine vector (GCC/clang vector extensions): 8 with AVX2, else 4 (SSE2/NEON).
#if defined(__AVX2__)
#define VL 8
#else
#define VL 4
#endif
typedef int32_t vi32 __attribute__((vector_size(VL * 4)));

// Weights of one axis for output indices [a, a + n).
typedef struct {
    int n;      // outputs
    int ksize;  // weights stored per output (taps padded with zero weights)
    int *lo;    // (n,) first source index of each output (absolute, logical input)
    int *len;   // (n,) taps of each output (<= ksize)
    int32_t *w; // (n, ksize) fixed-point weights, zero past len
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
// Done as a vertical pass on the transposed rows (transpose, vpass, transpose back): the taps of one output
// then run down columns, and the work vectorises across source rows instead of gathering along a row.

static void vpass(rgb_view in, int sy0, int width3, const axis_plan *p, uint8_t *out, size_t ostride);

// Transposes RGB pixels: src pixel (x, y), x in [0, nx), y in [0, ny), goes to dst + x·dst_stride + 3·y.
// Pixels move as 4-byte words: the extra byte read is the next source pixel's, the extra byte written is the
// first byte of dst pixel (x, y + 1), which a later source row rewrites. The last source row moves 3 bytes
// per pixel, so nothing is read or written outside the two regions.
static void transpose_rgb(const uint8_t *src, size_t src_stride, int nx, int ny, uint8_t *dst, size_t dst_stride) {
    enum { TB = 16 }; // tiles keep both sides in L1
    for (int y0 = 0; y0 < ny; y0 += TB)
        for (int x0 = 0; x0 < nx; x0 += TB) {
            int y1 = y0 + TB < ny ? y0 + TB : ny, x1 = x0 + TB < nx ? x0 + TB : nx;
            for (int y = y0; y < y1; y++) {
                const uint8_t *s = src + (size_t)y * src_stride + 3 * (size_t)x0;
                uint8_t *d = dst + (size_t)x0 * dst_stride + 3 * (size_t)y;
                if (y + 1 < ny) {
                    for (int x = x0; x < x1; x++, s += 3, d += dst_stride) {
                        uint32_t v;
                        memcpy(&v, s, 4);
                        memcpy(d, &v, 4);
                    }
                } else {
                    for (int x = x0; x < x1; x++, s += 3, d += dst_stride) d[0] = s[0], d[1] = s[1], d[2] = s[2];
                }
            }
        }
}

// in: the source rows (rows of them), pointing at logical column sx0; reads columns [rx0, rx1) as planned by p.
// out: rows × p->n pixels.
static void hpass(rgb_view in, int sx0, int rx0, int rx1, int rows, const axis_plan *p, uint8_t *out, size_t ostride) {
    const int ncols = rx1 - rx0;
    const size_t tstride = 3 * (size_t)rows;
    uint8_t *t = ditc_image_scratch(DITC_SCRATCH_T, (size_t)ncols * tstride); // (ncols, rows, 3)
    uint8_t *u = ditc_image_scratch(DITC_SCRATCH_U, (size_t)p->n * tstride);  // (n, rows, 3)
    transpose_rgb(in.p + 3 * (size_t)(rx0 - sx0), in.stride, ncols, rows, t, tstride);
    vpass((rgb_view){t, tstride}, rx0, 3 * rows, p, u, tstride);
    transpose_rgb(u, tstride, rows, p->n, out, ostride);
    ditc_image_scratch_done(DITC_SCRATCH_T);
    ditc_image_scratch_done(DITC_SCRATCH_U);
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

// acc += s[0..VL) · k (vectors go by pointer: no vector arguments in the ABI).
static inline void mac(vi32 *acc, const uint8_t *s, int32_t k) {
    vi32 v;
    for (int i = 0; i < VL; i++) v[i] = s[i]; // one zero-extending load
    *acc += v * k;
}

// o[0..VL) = clip8(acc): max(acc, 0) >> 22, then min(·, 255).
static inline void store(uint8_t *o, const vi32 *accp) {
    vi32 acc = *accp;
    acc &= (vi32)(acc > 0);
    acc >>= PRECISION_BITS;
    vi32 big = (vi32)(acc > 255);
    acc = (acc & ~big) | (255 & big);
    for (int i = 0; i < VL; i++) o[i] = (uint8_t)acc[i];
}

// One output row from len input rows (stride apart) over bytes [0, width3): 4·VL bytes a step with the sums in
// registers, then VL, then scalar.
static void vpass_row(const uint8_t *base, size_t stride, const int32_t *k, int len, int width3, uint8_t *o) {
    const vi32 half = (vi32){0} + (1 << (PRECISION_BITS - 1));
    int x = 0;
    for (; x + 4 * VL <= width3; x += 4 * VL) {
        vi32 a0 = half, a1 = half, a2 = half, a3 = half;
        for (int t = 0; t < len; t++) {
            const uint8_t *s = base + (size_t)t * stride + x;
            mac(&a0, s, k[t]), mac(&a1, s + VL, k[t]), mac(&a2, s + 2 * VL, k[t]), mac(&a3, s + 3 * VL, k[t]);
        }
        store(o + x, &a0), store(o + x + VL, &a1), store(o + x + 2 * VL, &a2), store(o + x + 3 * VL, &a3);
    }
    for (; x + VL <= width3; x += VL) {
        vi32 a0 = half;
        for (int t = 0; t < len; t++) mac(&a0, base + (size_t)t * stride + x, k[t]);
        store(o + x, &a0);
    }
    for (; x < width3; x++) {
        int32_t acc = 1 << (PRECISION_BITS - 1);
        for (int t = 0; t < len; t++) acc += base[(size_t)t * stride + x] * k[t];
        o[x] = clip8(acc);
    }
}

#if defined(__SSE2__)
// x86 kernel for any x86-64 build (SSE2 only): pairs of taps with 16-bit multiply-adds (pmaddwd), exact.
// Each weight splits as w = wh·2^11 + wl with 0 <= wl < 2^11 (|wh| < 2^15), so Σ p·w = 2^11·Σ p·wh + Σ p·wl
// and every partial sum stays within int32.
static inline void madd_pair(const uint8_t *a, const uint8_t *b, __m128i zero, __m128i *p) {
    __m128i va = _mm_loadu_si128((const __m128i *)a), vb = _mm_loadu_si128((const __m128i *)b);
    __m128i lo = _mm_unpacklo_epi8(va, vb), hi = _mm_unpackhi_epi8(va, vb); // a0 b0 a1 b1 ...
    p[0] = _mm_unpacklo_epi8(lo, zero), p[1] = _mm_unpackhi_epi8(lo, zero); // (a_i, b_i) as int16 pairs
    p[2] = _mm_unpacklo_epi8(hi, zero), p[3] = _mm_unpackhi_epi8(hi, zero);
}

static inline __m128i pair_weights(int32_t w0, int32_t w1, int hi) {
    int32_t l0 = w0 & 2047, l1 = w1 & 2047;
    int32_t a = hi ? (w0 - l0) / 2048 : l0, b = hi ? (w1 - l1) / 2048 : l1;
    return _mm_set1_epi32((int32_t)(((uint32_t)(uint16_t)b << 16) | (uint16_t)a));
}

static void vpass_row_sse2(const uint8_t *base, size_t stride, const int32_t *k, int len, int width3, uint8_t *o) {
    enum { MAXP = 64 }; // tap pairs whose weight vectors are prepared once per row
    const __m128i zero = _mm_setzero_si128(), half = _mm_set1_epi32(1 << (PRECISION_BITS - 1));
    const int npairs = (len + 1) / 2;
    __m128i wv[2 * MAXP];
    for (int q = 0; q < npairs && q < MAXP; q++) {
        int32_t w1 = 2 * q + 1 < len ? k[2 * q + 1] : 0; // an odd last tap pairs with weight 0
        wv[2 * q] = pair_weights(k[2 * q], w1, 0), wv[2 * q + 1] = pair_weights(k[2 * q], w1, 1);
    }
    int x = 0;
    for (; x + 16 <= width3; x += 16) {
        __m128i lo[4] = {zero, zero, zero, zero}, hi[4] = {zero, zero, zero, zero}, p[4];
        for (int q = 0; q < npairs; q++) {
            const uint8_t *a = base + (size_t)(2 * q) * stride + x;
            int pair = 2 * q + 1 < len;
            madd_pair(a, pair ? a + stride : a, zero, p);
            __m128i wl, wh;
            if (q < MAXP) {
                wl = wv[2 * q], wh = wv[2 * q + 1];
            } else {
                wl = pair_weights(k[2 * q], pair ? k[2 * q + 1] : 0, 0);
                wh = pair_weights(k[2 * q], pair ? k[2 * q + 1] : 0, 1);
            }
            for (int i = 0; i < 4; i++) {
                lo[i] = _mm_add_epi32(lo[i], _mm_madd_epi16(p[i], wl));
                hi[i] = _mm_add_epi32(hi[i], _mm_madd_epi16(p[i], wh));
            }
        }
        __m128i r[4];
        for (int i = 0; i < 4; i++) { // clip8: max(acc, 0) >> 22; the packs saturate at 255
            __m128i acc = _mm_add_epi32(_mm_add_epi32(_mm_slli_epi32(hi[i], 11), lo[i]), half);
            acc = _mm_and_si128(acc, _mm_cmpgt_epi32(acc, zero));
            r[i] = _mm_srli_epi32(acc, PRECISION_BITS);
        }
        __m128i w01 = _mm_packs_epi32(r[0], r[1]), w23 = _mm_packs_epi32(r[2], r[3]);
        _mm_storeu_si128((__m128i *)(o + x), _mm_packus_epi16(w01, w23));
    }
    for (; x < width3; x++) {
        int32_t acc = 1 << (PRECISION_BITS - 1);
        for (int t = 0; t < len; t++) acc += base[(size_t)t * stride + x] * k[t];
        o[x] = clip8(acc);
    }
}
#endif

// Row kernel: the SSE2 one on x86 builds without AVX2 (2.2× the generic one there), else the generic one
// (AVX2: 8 lanes of pmulld beat 128-bit pmaddwd). Tests switch with ditc_resize_use_kernel.
typedef void (*vrow_fn)(const uint8_t *, size_t, const int32_t *, int, int, uint8_t *);
#if defined(__SSE2__) && !defined(__AVX2__)
static vrow_fn g_vrow = vpass_row_sse2;
#else
static vrow_fn g_vrow = vpass_row;
#endif

int ditc_resize_use_kernel(int which) {
    if (which == 0) g_vrow = vpass_row;
#if defined(__SSE2__)
    else if (which == 1) g_vrow = vpass_row_sse2;
#endif
    else return 1;
    return 0;
}

// in points at logical row sy0; output row j reads rows p->lo[j] .. + len[j].
static void vpass(rgb_view in, int sy0, int width3, const axis_plan *p, uint8_t *out, size_t ostride) {
    for (int j = 0; j < p->n; j++)
        g_vrow(in.p + (size_t)(p->lo[j] - sy0) * in.stride, in.stride, p->w + (size_t)j * (size_t)p->ksize, p->len[j],
               width3, out + (size_t)j * ostride);
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

void ditc_resize_window_into(const ditc_image *src, int sx0, int sy0, int in_w, int in_h, int out_w, int out_h, int ox0,
                             int oy0, int ow, int oh, ditc_resample filter, uint8_t *dst_rgb) {
    DITC_CHECK(ow > 0 && oh > 0 && ox0 >= 0 && oy0 >= 0 && ox0 + ow <= out_w && oy0 + oh <= out_h,
               "resize window %dx%d+%d+%d outside %dx%d", ow, oh, ox0, oy0, out_w, out_h);
    const int need_h = out_w != in_w, need_v = out_h != in_h;
    int rx0, rx1, ry0, ry1; // source rectangle read
    ditc_resize_source_range(in_w, out_w, filter, ox0, ox0 + ow, &rx0, &rx1);
    ditc_resize_source_range(in_h, out_h, filter, oy0, oy0 + oh, &ry0, &ry1);
    DITC_CHECK(rx0 >= sx0 && ry0 >= sy0 && rx1 <= sx0 + src->w && ry1 <= sy0 + src->h,
               "resize source window does not cover [%d,%d)x[%d,%d)", rx0, rx1, ry0, ry1);
    ditc_image dstimg = {ow, oh, dst_rgb}, *dst = &dstimg;
    rgb_view sv = {src->rgb + (size_t)(ry0 - sy0) * (size_t)src->w * 3, (size_t)src->w * 3};

    // Horizontal pass over source rows [ry0, ry1) into tmp (or straight into dst when no vertical pass).
    rgb_view hv; // the horizontally resampled rows [ry0, ry1), columns = output window
    if (need_h) {
        uint8_t *hout = need_v ? ditc_image_scratch(DITC_SCRATCH_H, (size_t)ow * (size_t)(ry1 - ry0) * 3) : dst->rgb;
        if (is_exact_half(in_w, out_w, filter)) {
            hpass_half(sv, sx0, ry1 - ry0, ox0, ow, hout, (size_t)ow * 3);
        } else {
            axis_plan hp;
            plan_build(in_w, out_w, filter, ox0, ow, &hp);
            plan_uniform(&hp, rx0, rx1);
            hpass(sv, sx0, rx0, rx1, ry1 - ry0, &hp, hout, (size_t)ow * 3);
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
        for (int y = 0; y < oh; y++)
            memcpy(dst->rgb + (size_t)y * (size_t)ow * 3, hv.p + (size_t)y * hv.stride, (size_t)ow * 3);
    }
    if (need_h && need_v) ditc_image_scratch_done(DITC_SCRATCH_H);
}

void ditc_resize_window(const ditc_image *src, int sx0, int sy0, int in_w, int in_h, int out_w, int out_h, int ox0,
                        int oy0, int ow, int oh, ditc_resample filter, ditc_image *dst) {
    DITC_CHECK(ow > 0 && oh > 0, "resize window %dx%d", ow, oh);
    dst->w = ow;
    dst->h = oh;
    dst->rgb = ditc_xmalloc((size_t)ow * (size_t)oh * 3);
    ditc_resize_window_into(src, sx0, sy0, in_w, in_h, out_w, out_h, ox0, oy0, ow, oh, filter, dst->rgb);
}

void ditc_image_resize(const ditc_image *src, int w, int h, ditc_resample filter, ditc_image *dst) {
    DITC_CHECK(src->w > 0 && src->h > 0 && w > 0 && h > 0, "resize %dx%d -> %dx%d", src->w, src->h, w, h);
    ditc_resize_window(src, 0, 0, src->w, src->h, w, h, 0, 0, w, h, filter, dst);
}
