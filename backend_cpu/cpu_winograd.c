// cpu_winograd.c — 3×3 stride-1 pad-1 convolution (forward, the VAE's main op) by Winograd minimal filtering
// F(4×4, 3×3) (Lavin & Gray 2015; interpolation points 0, ±1, ±2, ∞), our own implementation.
//
// Per sample, y (O, H, W) is cut into 4×4 output tiles, ntx = ⌈W/4⌉ per tile row, nt = nr·ntx in a band of
// nr tile rows (t = r·ntx + tx); the vector steps past ntx compute zero tiles and drop them. Each tile needs the 6×6 input patch
// starting at (4·ty − 1, 4·tx − 1) (zero outside). With e = 6·i + j (36 transform elements):
//   U[e] (O, C)  = (G g Gᵀ)[e] for each filter g = w[o][c] (3×3)   — once per call, into scratch
//   V[e] (C, nt) = (Bᵀ d B)[e] for each input patch d (6×6)          — per band of tile rows
//   M[e] (O, nt) = U[e] · V[e]                                       — 36 single-threaded cblas_sgemm in parallel
//   y tile (4×4) = Aᵀ m A + bias, m = M[·][o][t] (6×6), clipped at the right/bottom border
// The filters are transformed per call (36/9 of the weights would be 4× the model in memory if cached);
// bands keep V and M under 2 × the im2col band (cpu_conv.c). Transforms run VL tiles (filters: VL input
// channels) per vector step in a fixed arithmetic order, and each product runs on one OpenBLAS thread, so the
// result does not depend on the thread count.
#include <cblas.h>
#include <stddef.h>
#include <stdlib.h>

#include "common.h"
#include "cpu_backend.h"
#include "cpu_kernels.h"

#define WM 4  // output tile side
#define WA 6  // input tile side: WM + 2
#define WE 36 // transform elements: WA²
#define VL 8  // lanes (tiles or channels) per vector step

// v[i·vs + l] = (Bᵀ d)[i], d[k·ds + l]; i, k < 6, lanes l < VL.
static inline void bt6(float *v, ptrdiff_t vs, const float *d, ptrdiff_t ds) {
    for (int l = 0; l < VL; l++) {
        float d0 = d[l], d1 = d[ds + l], d2 = d[2 * ds + l], d3 = d[3 * ds + l], d4 = d[4 * ds + l], d5 = d[5 * ds + l];
        float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);
        v[l] = (4.0f * d0 - 5.0f * d2) + d4;
        v[vs + l] = a + b;
        v[2 * vs + l] = a - b;
        v[3 * vs + l] = c + e;
        v[4 * vs + l] = c - e;
        v[5 * vs + l] = (4.0f * d1 - 5.0f * d3) + d5;
    }
}

// u[i·us + l] = (G g)[i], g[k·gs + l]; i < 6, k < 3.
static inline void g6(float *u, ptrdiff_t us, const float *g, ptrdiff_t gs) {
    for (int l = 0; l < VL; l++) {
        float g0 = g[l], g1 = g[gs + l], g2 = g[2 * gs + l];
        float a = g0 + g2, b = g0 * (1.0f / 24.0f) + g2 * (1.0f / 6.0f), c = g1 * (1.0f / 12.0f);
        u[l] = g0 * 0.25f;
        u[us + l] = -(a + g1) * (1.0f / 6.0f);
        u[2 * us + l] = -(a - g1) * (1.0f / 6.0f);
        u[3 * us + l] = b + c;
        u[4 * us + l] = b - c;
        u[5 * us + l] = g2;
    }
}

// o[i·os + l] = (Aᵀ m)[i], m[k·ms + l]; i < 4, k < 6.
static inline void at6(float *o, ptrdiff_t os, const float *m, ptrdiff_t ms) {
    for (int l = 0; l < VL; l++) {
        float m0 = m[l], m1 = m[ms + l], m2 = m[2 * ms + l], m3 = m[3 * ms + l], m4 = m[4 * ms + l], m5 = m[5 * ms + l];
        float p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4;
        o[l] = (m0 + p) + r;
        o[os + l] = q + 2.0f * s;
        o[2 * os + l] = p + 4.0f * r;
        o[3 * os + l] = (q + 8.0f * s) + m5;
    }
}

// U[e·O·C + o·C + c] for filter row o of w (O, C, 3, 3).
static void filter_row(const float *w, int64_t O, int64_t C, int64_t o, float *U) {
    float g[9 * VL], t[18 * VL], u[WE * VL];
    for (int64_t c0 = 0; c0 < C; c0 += VL) {
        int64_t n = C - c0 < VL ? C - c0 : VL;
        const float *wc = w + (o * C + c0) * 9;
        for (int l = 0; l < VL; l++)
            for (int k = 0; k < 9; k++) g[k * VL + l] = l < n ? wc[l * 9 + k] : 0.0f;
        for (int b = 0; b < 3; b++) g6(t + b * VL, 3 * VL, g + b * VL, 3 * VL);   // t[i][b] = Σ_a G[i][a] g[a][b]
        for (int i = 0; i < WA; i++) g6(u + i * WA * VL, VL, t + i * 3 * VL, VL); // u[i][j] = Σ_b t[i][b] G[j][b]
        float *uo = U + o * C + c0;
        if (n == VL)
            for (int e = 0; e < WE; e++)
                for (int l = 0; l < VL; l++) uo[(int64_t)e * O * C + l] = u[e * VL + l];
        else
            for (int e = 0; e < WE; e++)
                for (int64_t l = 0; l < n; l++) uo[(int64_t)e * O * C + l] = u[e * VL + l];
    }
}

// V[e·ldv + tx] = (Bᵀ d B)[e] for the ntx tiles of tile row ty of the channel plane xc (H, W).
// ps (WA, WM, ntxr + 1): the 6 input rows split by column phase, ps[k][p][tx] = x[4ty − 1 + k][4tx + p − 1]
// (ntxr = ntx rounded up to VL: the vector steps read whole lanes, zeros past the border).
static void input_row(const float *xc, int64_t H, int64_t W, int64_t ty, int64_t ntx, int64_t ntxr, float *ps, float *V,
                      int64_t ldv) {
    int64_t np = ntxr + 1;
    for (int k = 0; k < WA; k++) {
        int64_t iy = ty * WM - 1 + k;
        float *pk = ps + k * WM * np;
        if (iy < 0 || iy >= H) {
            for (int64_t i = 0; i < WM * np; i++) pk[i] = 0.0f;
            continue;
        }
        const float *row = xc + iy * W;
        for (int p = 0; p < WM; p++) {
            // 0 <= ix = 4·tx + p − 1 < W for tx in [lo, hi)
            int64_t lo = p == 0 ? 1 : 0, hi = (W - p) / WM + 1;
            if (hi > np) hi = np;
            float *d = pk + p * np;
            const float *src = row + p - 1;
            for (int64_t tx = 0; tx < lo; tx++) d[tx] = 0.0f;
            for (int64_t tx = lo; tx < hi; tx++) d[tx] = src[tx * WM];
            for (int64_t tx = hi; tx < np; tx++) d[tx] = 0.0f;
        }
    }
    float t[WE * VL], v[WE * VL];
    for (int64_t tx0 = 0; tx0 < ntx; tx0 += VL) {
        // columns j < 4 are phase j of tile tx; j = 4, 5 are phases 0, 1 of tile tx + 1
        for (int j = 0; j < WA; j++)
            bt6(t + j * VL, WA * VL, ps + (j % WM) * np + tx0 + j / WM, WM * np);   // t[i][j] = Σ_k Bᵀ[i][k] d[k][j]
        for (int i = 0; i < WA; i++) bt6(v + i * WA * VL, VL, t + i * WA * VL, VL); // v[i][j] = Σ_k t[i][k] Bᵀ[j][k]
        int64_t n = ntx - tx0 < VL ? ntx - tx0 : VL;
        if (n == VL)
            for (int e = 0; e < WE; e++)
                for (int l = 0; l < VL; l++) V[e * ldv + tx0 + l] = v[e * VL + l];
        else
            for (int e = 0; e < WE; e++)
                for (int64_t l = 0; l < n; l++) V[e * ldv + tx0 + l] = v[e * VL + l];
    }
}

// y rows of tile row ty (plane yo (H, W)) from M[e·ldm + tx]: y = Aᵀ m A + bias (acc: y += that).
static void output_row(const float *M, int64_t ldm, int64_t H, int64_t W, int64_t ty, int64_t ntx, float bias, int acc,
                       float *yo) {
    float m[WE * VL], s[WM * WA * VL], o[WM * WM * VL];
    for (int64_t tx0 = 0; tx0 < ntx; tx0 += VL) {
        int64_t n = ntx - tx0 < VL ? ntx - tx0 : VL;
        if (n == VL)
            for (int e = 0; e < WE; e++)
                for (int l = 0; l < VL; l++) m[e * VL + l] = M[e * ldm + tx0 + l];
        else
            for (int e = 0; e < WE; e++)
                for (int64_t l = 0; l < VL; l++) m[e * VL + l] = l < n ? M[e * ldm + tx0 + l] : 0.0f;
        for (int j = 0; j < WA; j++) at6(s + j * VL, WA * VL, m + j * VL, WA * VL); // s[r][j] = Σ_i Aᵀ[r][i] m[i][j]
        for (int r = 0; r < WM; r++) at6(o + r * WM * VL, VL, s + r * WA * VL, VL); // o[r][q] = Σ_j s[r][j] Aᵀ[q][j]
        for (int r = 0; r < WM; r++) {
            int64_t oy = ty * WM + r;
            if (oy >= H) break;
            float *yr = yo + oy * W;
            for (int64_t l = 0; l < n; l++)
                for (int q = 0; q < WM; q++) {
                    int64_t ox = (tx0 + l) * WM + q;
                    if (ox >= W) break;
                    float v = o[(r * WM + q) * VL + l] + bias;
                    yr[ox] = acc ? yr[ox] + v : v;
                }
        }
    }
}

void cpu_conv3x3_winograd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                          const ditc_tensor *b, int acc, size_t band_floats) {
    int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], O = w->shape[0];
    int64_t ntx = (W + WM - 1) / WM, ntxr = (ntx + VL - 1) / VL * VL, nty = (H + WM - 1) / WM;
    int64_t row_floats = WE * (C + O) * ntx; // V and M of one tile row
    int64_t rows = (int64_t)(band_floats / (size_t)row_floats);
    if (rows < 1) rows = 1;
    if (rows > nty) rows = nty;
    int64_t ufl = WE * O * C;
    float *U = cpu_scratch(be, (size_t)(ufl + rows * row_floats)), *V = U + ufl, *M = V + WE * C * rows * ntx;
    const float *xd = CF32(x), *wd = CF32(w), *bd = b ? CF32(b) : NULL;
    float *yd = F32(y);
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < O; o++) filter_row(wd, O, C, o, U);
    size_t psf = (size_t)(WA * WM * (ntxr + 1));
    for (int64_t s = 0; s < B; s++) {
        for (int64_t ty0 = 0; ty0 < nty; ty0 += rows) {
            int64_t nr = nty - ty0 < rows ? nty - ty0 : rows, nt = nr * ntx;
#pragma omp parallel
            {
                float *ps = ditc_xmalloc(psf * sizeof(float));
#pragma omp for schedule(static)
                for (int64_t ct = 0; ct < C * nr; ct++) {
                    int64_t c = ct / nr, r = ct % nr;
                    input_row(xd + (s * C + c) * H * W, H, W, ty0 + r, ntx, ntxr, ps, V + c * nt + r * ntx, C * nt);
                }
                free(ps);
            }
            // the 36 products side by side, each on one OpenBLAS thread: its rounding then does not depend on
            // the thread count (a multi-threaded sgemm's does)
            int blas_threads = openblas_get_num_threads();
            openblas_set_num_threads(1);
#pragma omp parallel for schedule(static) num_threads(blas_threads)
            for (int e = 0; e < WE; e++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)O, (int)nt, (int)C, 1.0f, U + e * O * C,
                            (int)C, V + e * C * nt, (int)nt, 0.0f, M + e * O * nt, (int)nt);
            openblas_set_num_threads(blas_threads);
#pragma omp parallel for schedule(static)
            for (int64_t ot = 0; ot < O * nr; ot++) {
                int64_t o = ot / nr, r = ot % nr;
                output_row(M + o * nt + r * ntx, O * nt, H, W, ty0 + r, ntx, bd ? bd[o] : 0.0f, acc,
                           yd + (s * O + o) * H * W);
            }
        }
    }
}
