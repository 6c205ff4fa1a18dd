// cpu_conv.c — 2-D convolution (forward only, for the VAE) on OpenBLAS sgemm (cpu_sgemm_cols: the same bits
// on any thread count) with im2col in row chunks.
//
// Per sample, y (O, Ho·Wo) = w (O, K) · col (K, Ho·Wo) with K = C·kh·kw. The column matrix is built for a
// band of output rows at a time, so the buffer is bounded by DITC_CONV_CHUNK_FLOATS floats (16 MiB by
// default; a full im2col of a 256-channel 3×3 conv at 256² would be 576 MiB). 1×1 stride-1 unpadded
// convolutions need no column matrix (x is already (C, H·W)). The bias is written (or added) first and the
// GEMM accumulates onto it (beta = 1), so `acc` (y += conv) costs nothing extra. 3×3 stride-1 pad-1
// convolutions with at least DITC_WINOGRAD_MIN_CH input and output channels on planes of at least
// DITC_WINOGRAD_MIN_HW pixels go to cpu_winograd.c instead. Batches of small planes run one sample per thread
// with the same bands and blocks (the same bits).
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "cpu_backend.h"
#include "cpu_kernels.h"

#define DITC_CONV_CHUNK_FLOATS ((size_t)4 << 20)

// Planes below this many output pixels run one sample per thread (a sample's GEMM has too few column blocks).
#define DITC_CONV_SAMPLE_PARALLEL_P 4096

#define DITC_WINOGRAD_MIN_CH 32
#define DITC_WINOGRAD_MIN_HW 1024 // smaller planes: too few tiles to pay for the per-call filter transform

static size_t g_chunk_floats = DITC_CONV_CHUNK_FLOATS;
static int g_winograd = 1;

void ditc_cpu_conv_set_chunk_floats(size_t floats) { g_chunk_floats = floats ? floats : DITC_CONV_CHUNK_FLOATS; }
void ditc_cpu_conv_set_winograd(int on) { g_winograd = on; }

// col (K, nr·Wo) for output rows [r0, r0 + nr) of one sample x (C, H, W).
static void im2col_rows(const float *x, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw, int stride,
                        const int pad[4], int64_t Wo, int64_t r0, int64_t nr, float *col) {
    int64_t K = C * kh * kw, n = nr * Wo;
#pragma omp parallel for schedule(static)
    for (int64_t kk = 0; kk < K; kk++) {
        int64_t c = kk / (kh * kw), ky = (kk / kw) % kh, kx = kk % kw;
        const float *xc = x + c * H * W;
        float *dst = col + kk * n;
        // valid output columns: 0 <= ox·stride − left + kx < W
        int64_t off = kx - pad[1];
        int64_t ox_lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
        int64_t ox_hi = (W - 1 - off) < 0 ? 0 : (W - 1 - off) / stride + 1; // exclusive
        if (ox_hi > Wo) ox_hi = Wo;
        if (ox_lo > ox_hi) ox_lo = ox_hi;
        for (int64_t r = 0; r < nr; r++) {
            int64_t iy = (r0 + r) * stride - pad[0] + ky;
            float *d = dst + r * Wo;
            if (iy < 0 || iy >= H) {
                memset(d, 0, (size_t)Wo * sizeof(float));
                continue;
            }
            const float *src = xc + iy * W; // input column of output ox: ox·stride + off
            for (int64_t ox = 0; ox < ox_lo; ox++) d[ox] = 0.0f;
            if (stride == 1 && ox_hi > ox_lo)
                memcpy(d + ox_lo, src + ox_lo + off, (size_t)(ox_hi - ox_lo) * sizeof(float));
            else
                for (int64_t ox = ox_lo; ox < ox_hi; ox++) d[ox] = src[ox * stride + off];
            for (int64_t ox = ox_hi; ox < Wo; ox++) d[ox] = 0.0f;
        }
    }
}

void cpu_conv2d_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b,
                    int stride, const int pad[4], int acc) {
    int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t O = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    int64_t Ho = y->shape[2], Wo = y->shape[3], P = Ho * Wo, K = C * kh * kw;
    if (g_winograd && kh == 3 && kw == 3 && stride == 1 && pad[0] == 1 && pad[1] == 1 && pad[2] == 1 && pad[3] == 1 &&
        C >= DITC_WINOGRAD_MIN_CH && O >= DITC_WINOGRAD_MIN_CH && H * W >= DITC_WINOGRAD_MIN_HW) {
        cpu_conv3x3_winograd(be, y, x, w, b, acc, 2 * g_chunk_floats);
        return;
    }
    float *yd = F32(y);
    const float *xd = CF32(x), *wd = CF32(w);
    if (b) {
        const float *bd = CF32(b);
#pragma omp parallel for schedule(static)
        for (int64_t bo = 0; bo < B * O; bo++) {
            float *row = yd + bo * P, v = bd[bo % O];
            if (acc)
                for (int64_t i = 0; i < P; i++) row[i] += v;
            else
                for (int64_t i = 0; i < P; i++) row[i] = v;
        }
    }
    float beta = (b || acc) ? 1.0f : 0.0f;
    int direct = kh == 1 && kw == 1 && stride == 1 && !pad[0] && !pad[1] && !pad[2] && !pad[3];
    int64_t rows = (int64_t)(g_chunk_floats / (size_t)(K * Wo));
    if (rows < 1) rows = 1;
    if (rows > Ho) rows = Ho;
    if (B > 1 && P < DITC_CONV_SAMPLE_PARALLEL_P) {
        // Small planes (the Inception's 35², 17², 8²): one sample per thread, each with its own column buffer,
        // the same bands and column blocks as below (the same bits, for any batch size and thread count).
        int nt = omp_get_max_threads();
        float *cols = direct ? NULL : cpu_scratch(be, (size_t)nt * (size_t)(K * rows * Wo));
        int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (int64_t s = 0; s < B; s++) {
            const float *xs = xd + s * C * H * W;
            float *ys = yd + s * O * P;
            if (direct) {
                cpu_sgemm_cols_serial(0, 0, O, P, K, 1.0f, wd, K, xs, P, beta, ys, P);
                continue;
            }
            float *col = cols + (size_t)omp_get_thread_num() * (size_t)(K * rows * Wo);
            for (int64_t r0 = 0; r0 < Ho; r0 += rows) {
                int64_t nr = Ho - r0 < rows ? Ho - r0 : rows, n = nr * Wo;
                im2col_rows(xs, C, H, W, kh, kw, stride, pad, Wo, r0, nr, col);
                cpu_sgemm_cols_serial(0, 0, O, n, K, 1.0f, wd, K, col, n, beta, ys + r0 * Wo, P);
            }
        }
        openblas_set_num_threads(blas_threads);
        return;
    }
    if (direct) {
        for (int64_t s = 0; s < B; s++)
            cpu_sgemm_cols(0, 0, O, P, K, 1.0f, wd, K, xd + s * C * H * W, P, beta, yd + s * O * P, P);
        return;
    }
    float *col = cpu_scratch(be, (size_t)(K * rows * Wo));
    for (int64_t s = 0; s < B; s++) {
        for (int64_t r0 = 0; r0 < Ho; r0 += rows) {
            int64_t nr = Ho - r0 < rows ? Ho - r0 : rows, n = nr * Wo;
            im2col_rows(xd + s * C * H * W, C, H, W, kh, kw, stride, pad, Wo, r0, nr, col);
            cpu_sgemm_cols(0, 0, O, n, K, 1.0f, wd, K, col, n, beta, yd + s * O * P + r0 * Wo, P);
        }
    }
}
