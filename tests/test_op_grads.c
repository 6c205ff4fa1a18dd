// test_op_grads.c — every registered op against a naive double-precision reference:
//   forward:  max |f32 op − ref| ≤ 1e-4 · max |ref|
//   backward: the autograd gradient of L = Σ w·out (w random) against central finite differences
//             of the double reference, max |g − g_fd| ≤ 1e-4 · max(|g_fd|, |g|) over the checked
//             coordinates (all of them for odd shapes; 8 random + the largest for DiT shapes).
// usage: test_op_grads odd|dit      (odd: T=7, D=12, H=3 ...; dit: T=256, D=384, H=6)
// The run fails if an op in the registry has no case here.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "diffusion.h"
#include "ops.h"
#include "rng.h"

#define MAXIN  6
#define MAXOUT 4
#define TOL    1e-4

typedef struct gcase gcase;
struct gcase {
    const char *op, *label;
    int n_in;
    int nd[MAXIN];
    int64_t sh[MAXIN][4];
    int is_index[MAXIN]; // I32 input in [0, idx_range), not differentiated
    int64_t idx_range;
    int64_t iarg[8];
    float farg;
    int seed_mask;                            // outputs seeded with a gradient (bit i), 0 = all
    int no_grad[MAXIN];                       // F32 input that is not differentiated (e.g. coefficients)
    void (*init)(const gcase *k, float **in); // overrides the random inputs, or NULL
    void (*run)(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out);
    void (*ref)(const gcase *k, double **in, double *out);    // outputs concatenated
    void (*ref_fd)(const gcase *k, double **in, double *out); // differentiable stand-in (cast), or NULL
};

static int64_t numel_of(const gcase *k, int i) { return ditc_shape_numel(k->nd[i], k->sh[i]); }
#define SH(...)                                                                                                        \
    { __VA_ARGS__ }

// ---- references ------------------------------------------------------------------------------
// x (M, K) · w (N, K)ᵀ + b
static void ref_linear(const gcase *k, double **in, double *out) {
    int64_t K = k->sh[1][1], N = k->sh[1][0], M = numel_of(k, 0) / K;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = k->n_in > 2 ? in[2][n] : 0.0;
            for (int64_t j = 0; j < K; j++) s += in[0][m * K + j] * in[1][n * K + j];
            out[m * N + n] = s;
        }
}
static void run_linear(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_linear(c, in[0], in[1], k->n_in > 2 ? in[2] : NULL);
    *n_out = 1;
}

// iarg: ta, tb. a, b are 3-D (Bt, ., .)
static void ref_matmul(const gcase *k, double **in, double *out) {
    int ta = (int)k->iarg[0], tb = (int)k->iarg[1];
    int64_t Bt = k->sh[0][0], ar = k->sh[0][1], ac = k->sh[0][2], br = k->sh[1][1], bc = k->sh[1][2];
    int64_t M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
    for (int64_t b = 0; b < Bt; b++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double s = 0;
                for (int64_t j = 0; j < K; j++) {
                    double av = ta ? in[0][b * ar * ac + j * ac + m] : in[0][b * ar * ac + m * ac + j];
                    double bv = tb ? in[1][b * br * bc + n * bc + j] : in[1][b * br * bc + j * bc + n];
                    s += av * bv;
                }
                out[(b * M + m) * N + n] = s;
            }
}
static void run_matmul(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_matmul(c, in[0], in[1], (int)k->iarg[0], (int)k->iarg[1]);
    *n_out = 1;
}

// numpy broadcasting, iarg[0] = 0 add / 1 mul
static void r4(const gcase *k, int i, int64_t s[4]) {
    for (int d = 0; d < 4; d++) {
        int j = k->nd[i] - 4 + d;
        s[d] = j >= 0 ? k->sh[i][j] : 1;
    }
}
static void ref_binary(const gcase *k, double **in, double *out) {
    int64_t as[4], bs[4], os[4];
    r4(k, 0, as);
    r4(k, 1, bs);
    for (int d = 0; d < 4; d++) os[d] = as[d] > bs[d] ? as[d] : bs[d];
    int64_t o = 0;
    for (int64_t i0 = 0; i0 < os[0]; i0++)
        for (int64_t i1 = 0; i1 < os[1]; i1++)
            for (int64_t i2 = 0; i2 < os[2]; i2++)
                for (int64_t i3 = 0; i3 < os[3]; i3++) {
                    int64_t ia =
                        (((as[0] > 1 ? i0 : 0) * as[1] + (as[1] > 1 ? i1 : 0)) * as[2] + (as[2] > 1 ? i2 : 0)) * as[3] +
                        (as[3] > 1 ? i3 : 0);
                    int64_t ib =
                        (((bs[0] > 1 ? i0 : 0) * bs[1] + (bs[1] > 1 ? i1 : 0)) * bs[2] + (bs[2] > 1 ? i2 : 0)) * bs[3] +
                        (bs[3] > 1 ? i3 : 0);
                    out[o++] = k->iarg[0] ? in[0][ia] * in[1][ib] : in[0][ia] + in[1][ib];
                }
}
static void run_binary(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = k->iarg[0] ? ditc_mul(c, in[0], in[1]) : ditc_add(c, in[0], in[1]);
    *n_out = 1;
}

static void ref_scale(const gcase *k, double **in, double *out) {
    for (int64_t i = 0; i < numel_of(k, 0); i++) out[i] = (double)k->farg * in[0][i];
}
static void run_scale(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_scale(c, in[0], k->farg);
    *n_out = 1;
}

// x (B, T, D), optional shift, scale (B, D); eps 1e-6
static void ln_mod_ref(const double *x, const double *shift, const double *scale, int64_t B, int64_t T, int64_t D,
                       double *out) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            const double *xr = x + (b * T + t) * D;
            double mu = 0, var = 0;
            for (int64_t d = 0; d < D; d++) mu += xr[d];
            mu /= (double)D;
            for (int64_t d = 0; d < D; d++) var += (xr[d] - mu) * (xr[d] - mu);
            var /= (double)D;
            double rs = 1.0 / sqrt(var + 1e-6);
            for (int64_t d = 0; d < D; d++) {
                double h = (xr[d] - mu) * rs;
                if (scale) h *= 1.0 + scale[b * D + d];
                if (shift) h += shift[b * D + d];
                out[(b * T + t) * D + d] = h;
            }
        }
}
static void ref_ln_mod(const gcase *k, double **in, double *out) {
    ln_mod_ref(in[0], k->n_in > 1 ? in[1] : NULL, k->n_in > 2 ? in[2] : NULL, k->sh[0][0], k->sh[0][1], k->sh[0][2],
               out);
}
static void run_ln_mod(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_ln_modulate(c, in[0], k->n_in > 1 ? in[1] : NULL, k->n_in > 2 ? in[2] : NULL, 1e-6f);
    *n_out = 1;
}

// x, gate (B, D), y
static void ref_gated(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], T = k->sh[0][1], D = k->sh[0][2];
    for (int64_t i = 0; i < B * T * D; i++) out[i] = in[0][i] + in[1][(i / (T * D)) * D + i % D] * in[2][i];
}
static void run_gated(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_gated_residual(c, in[0], in[1], in[2]);
    *n_out = 1;
}

static double gelu_d(double v) { return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))); }
static void ref_gelu(const gcase *k, double **in, double *out) {
    for (int64_t i = 0; i < numel_of(k, 0); i++) out[i] = gelu_d(in[0][i]);
}
static void ref_silu(const gcase *k, double **in, double *out) {
    for (int64_t i = 0; i < numel_of(k, 0); i++) out[i] = in[0][i] / (1.0 + exp(-in[0][i]));
}
// GELU(linear(x, w, b)) from one GEMM (the GELU epilogue, ops.h ditc_linear_gelu_to): the two ops' values
static void ref_linear_gelu(const gcase *k, double **in, double *out) {
    ref_linear(k, in, out);
    for (int64_t i = 0; i < numel_of(k, 0) / k->sh[1][1] * k->sh[1][0]; i++) out[i] = gelu_d(out[i]);
}
static void run_linear_gelu(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_linear_gelu_to(c, in[0], in[1], k->n_in > 2 ? in[2] : NULL, DITC_F32, DITC_F32);
    *n_out = 1;
}
static void run_gelu(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_gelu(c, in[0]);
    *n_out = 1;
}
static void run_silu(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_silu(c, in[0]);
    *n_out = 1;
}

// qkv (B, T, 3D), heads iarg[0]
static void ref_attention(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], T = k->sh[0][1], D = k->sh[0][2] / 3, H = k->iarg[0], hd = D / H;
    double *p = malloc(sizeof(double) * (size_t)T);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++) {
                const double *q = in[0] + (b * T + i) * 3 * D + h * hd;
                double m = -INFINITY, s = 0;
                for (int64_t j = 0; j < T; j++) {
                    const double *kk = in[0] + (b * T + j) * 3 * D + D + h * hd;
                    double dot = 0;
                    for (int64_t e = 0; e < hd; e++) dot += q[e] * kk[e];
                    p[j] = dot / sqrt((double)hd);
                    if (p[j] > m) m = p[j];
                }
                for (int64_t j = 0; j < T; j++) {
                    p[j] = exp(p[j] - m);
                    s += p[j];
                }
                for (int64_t e = 0; e < hd; e++) {
                    double acc = 0;
                    for (int64_t j = 0; j < T; j++) acc += p[j] * in[0][(b * T + j) * 3 * D + 2 * D + h * hd + e];
                    out[(b * T + i) * D + h * hd + e] = acc / s;
                }
            }
    free(p);
}
static void run_attention(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_attention(c, in[0], (int)k->iarg[0]);
    *n_out = 1;
}

// table (K, D), idx (N)
static void ref_embedding(const gcase *k, double **in, double *out) {
    int64_t D = k->sh[0][1], N = k->sh[1][0];
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) out[n * D + d] = in[0][(int64_t)in[1][n] * D + d];
}
static void run_embedding(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_embedding(c, in[0], in[1]);
    *n_out = 1;
}

// patchify: x (B, C, S, S), p = iarg[0]; token (r, c) vector (ch, i, j)
static void ref_patchify(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], C = k->sh[0][1], S = k->sh[0][2], p = k->iarg[0], G = S / p;
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < G; r++)
            for (int64_t cc = 0; cc < G; cc++)
                for (int64_t ch = 0; ch < C; ch++)
                    for (int64_t i = 0; i < p; i++)
                        for (int64_t j = 0; j < p; j++)
                            out[((b * G * G) + r * G + cc) * C * p * p + (ch * p + i) * p + j] =
                                in[0][((b * C + ch) * S + r * p + i) * S + cc * p + j];
}
static void run_patchify(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_patchify(c, in[0], (int)k->iarg[0]);
    *n_out = 1;
}
// unpatchify: x (B, G·G, p·p·C), p = iarg[0], C = iarg[1]; token vector (i, j, ch)
static void ref_unpatchify(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], T = k->sh[0][1], p = k->iarg[0], C = k->iarg[1], G = (int64_t)llround(sqrt((double)T)),
            S = G * p;
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < G; r++)
            for (int64_t cc = 0; cc < G; cc++)
                for (int64_t i = 0; i < p; i++)
                    for (int64_t j = 0; j < p; j++)
                        for (int64_t ch = 0; ch < C; ch++)
                            out[((b * C + ch) * S + r * p + i) * S + cc * p + j] =
                                in[0][(b * T + r * G + cc) * p * p * C + (i * p + j) * C + ch];
}
static void run_unpatchify(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_unpatchify(c, in[0], (int)k->iarg[0], (int)k->iarg[1]);
    *n_out = 1;
}

// split along dim iarg[0] into iarg[1] parts of sizes iarg[2..]
static void split_geom(const gcase *k, int64_t *outer, int64_t *len, int64_t *inner) {
    int dim = (int)k->iarg[0];
    *outer = ditc_shape_numel(dim, k->sh[0]);
    *len = k->sh[0][dim];
    *inner = ditc_shape_numel(k->nd[0] - dim - 1, k->sh[0] + dim + 1);
}
static void ref_split(const gcase *k, double **in, double *out) {
    int64_t outer, len, inner, off = 0, o = 0;
    split_geom(k, &outer, &len, &inner);
    for (int p = 0; p < k->iarg[1]; p++) {
        int64_t w = k->iarg[2 + p] * inner;
        for (int64_t r = 0; r < outer; r++)
            for (int64_t cidx = 0; cidx < w; cidx++) out[o++] = in[0][r * len * inner + off + cidx];
        off += w;
    }
}
static void run_split(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    ditc_split(c, in[0], (int)k->iarg[0], (int)k->iarg[1], &k->iarg[2], out);
    *n_out = (int)k->iarg[1];
}
static void run_chunk(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    ditc_chunk(c, in[0], (int)k->iarg[0], (int)k->iarg[1], out);
    *n_out = (int)k->iarg[1];
}

// concat of n_in inputs along dim iarg[0]
static void ref_concat(const gcase *k, double **in, double *out) {
    int dim = (int)k->iarg[0];
    int64_t outer = ditc_shape_numel(dim, k->sh[0]), inner = ditc_shape_numel(k->nd[0] - dim - 1, k->sh[0] + dim + 1);
    int64_t o = 0;
    for (int64_t r = 0; r < outer; r++)
        for (int i = 0; i < k->n_in; i++) {
            int64_t w = k->sh[i][dim] * inner;
            for (int64_t cidx = 0; cidx < w; cidx++) out[o++] = in[i][r * w + cidx];
        }
}
static void run_concat(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_concat(c, k->n_in, in, (int)k->iarg[0]);
    *n_out = 1;
}

// sum / mean / mse over dims [iarg[0], ndim); iarg[1] = 0 sum, 1 mean
static void ref_reduce(const gcase *k, double **in, double *out) {
    int64_t R = ditc_shape_numel((int)k->iarg[0], k->sh[0]), C = numel_of(k, 0) / R;
    for (int64_t r = 0; r < R; r++) {
        double s = 0;
        for (int64_t j = 0; j < C; j++) s += in[0][r * C + j];
        out[r] = k->iarg[1] ? s / (double)C : s;
    }
}
static void run_reduce(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = k->iarg[1] ? ditc_mean(c, in[0], (int)k->iarg[0]) : ditc_sum(c, in[0], (int)k->iarg[0]);
    *n_out = 1;
}
static void ref_mse(const gcase *k, double **in, double *out) {
    int64_t R = ditc_shape_numel((int)k->iarg[0], k->sh[0]), C = numel_of(k, 0) / R;
    for (int64_t r = 0; r < R; r++) {
        double s = 0;
        for (int64_t j = 0; j < C; j++) {
            double d = in[0][r * C + j] - in[1][r * C + j];
            s += d * d;
        }
        out[r] = s / (double)C;
    }
}
static void run_mse(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_mse(c, in[0], in[1], (int)k->iarg[0]);
    *n_out = 1;
}

// reshape to (iarg[0], iarg[1]); cast through BF16 and back (forward rounds, gradient is the identity)
static void ref_identity(const gcase *k, double **in, double *out) {
    memcpy(out, in[0], sizeof(double) * (size_t)numel_of(k, 0));
}
static void run_reshape(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_reshape(c, in[0], 2, &k->iarg[0]);
    *n_out = 1;
}
static void ref_cast(const gcase *k, double **in, double *out) {
    for (int64_t i = 0; i < numel_of(k, 0); i++) out[i] = ditc_bf16_to_f32(ditc_f32_to_bf16((float)in[0][i]));
}
static void run_cast(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_cast(c, ditc_cast(c, in[0], DITC_BF16), DITC_F32);
    *n_out = 1;
}

// checkpoint: segment (x, w, b, shift, scale) -> ln_modulate(gelu(linear(x, w, b)), shift, scale)
static void segment(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out) {
    (void)user;
    out[0] = ditc_ln_modulate(c, ditc_gelu(c, ditc_linear(c, in[0], in[1], in[2])), in[3], in[4], 1e-6f);
}
static void ref_checkpoint(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], T = k->sh[0][1], N = k->sh[1][0];
    double *h = malloc(sizeof(double) * (size_t)(B * T * N));
    gcase lin = *k;
    lin.n_in = 3;
    ref_linear(&lin, in, h);
    for (int64_t i = 0; i < B * T * N; i++) h[i] = gelu_d(h[i]);
    ln_mod_ref(h, in[3], in[4], B, T, N, out);
    free(h);
}
static void run_checkpoint(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    ditc_checkpoint(c, segment, NULL, 5, in, 1, out);
    *n_out = 1;
}

// diffusion_loss: out (B, 2C, H, W), x0, xt, noise (B, C, H, W), coef (B, NCOEF); t = {0, 1, 500, 999, ...}
// The reference computes vb with ε detached: the finite-difference stand-in reads ε inside vb from this
// frozen copy of the unperturbed input, so only the mse term sees ε move.
static double *frozen_eps;
static int64_t frozen_n;

static void init_diffusion(const gcase *k, float **in) {
    int64_t B = k->sh[1][0], M = numel_of(k, 1) / B;
    ditc_diffusion d;
    ditc_diffusion_init(&d, "", NULL);
    int t[16];
    for (int64_t b = 0; b < B; b++) t[b] = (int)(b == 0 ? 0 : b == 1 ? 1 : (b * 997) % 1000);
    ditc_diffusion_coefs(&d, t, B, in[4]);
    for (int64_t b = 0; b < B; b++) {
        const float *cf = in[4] + b * DITC_DIFF_NCOEF;
        for (int64_t i = 0; i < M; i++) {
            int64_t q = b * M + i;
            if (i < 2) in[1][q] = i ? -1.0f : 1.0f; // the x0 = ±1 branches of the decoder likelihood
            in[2][q] = cf[DITC_DC_SQRT_AC] * in[1][q] + cf[DITC_DC_SQRT_1M_AC] * in[3][q];
            in[0][b * 2 * M + i] = in[3][q] + 0.1f * in[0][b * 2 * M + i]; // ε close to the noise
        }
    }
    ditc_diffusion_free(&d);
    free(frozen_eps);
    frozen_n = numel_of(k, 0);
    frozen_eps = malloc(sizeof(double) * (size_t)frozen_n);
    for (int64_t i = 0; i < frozen_n; i++) frozen_eps[i] = in[0][i];
}
static double phi_d(double z) { return 0.5 * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z))); }
static void diffusion_ref(const gcase *k, double **in, const double *vb_eps, double *out) {
    int64_t B = k->sh[1][0], M = numel_of(k, 1) / B;
    for (int64_t b = 0; b < B; b++) {
        const double *cf = in[4] + b * DITC_DIFF_NCOEF, *eps = in[0] + b * 2 * M, *v = eps + M;
        const double *feps = vb_eps + b * 2 * M; // ε as seen by vb
        double se = 0, sv = 0, lv1 = cf[DITC_DC_POST_LOGVAR];
        for (int64_t i = 0; i < M; i++) {
            int64_t q = b * M + i;
            double x0 = in[1][q], xt = in[2][q], d = in[3][q] - eps[i];
            se += d * d;
            double px0 = cf[DITC_DC_SQRT_RECIP_AC] * xt - cf[DITC_DC_SQRT_RECIPM1_AC] * feps[i];
            double mean = cf[DITC_DC_COEF1] * px0 + cf[DITC_DC_COEF2] * xt, frac = (v[i] + 1) / 2;
            double lv = frac * cf[DITC_DC_LOG_BETA] + (1 - frac) * cf[DITC_DC_POST_LOGVAR];
            if (cf[DITC_DC_IS_T0] != 0) {
                double inv = exp(-0.5 * lv), zp = inv * (x0 - mean + 1 / 255.0), zm = inv * (x0 - mean - 1 / 255.0);
                double lp = x0 < -0.999  ? log(fmax(phi_d(zp), 1e-12))
                            : x0 > 0.999 ? log(fmax(1 - phi_d(zm), 1e-12))
                                         : log(fmax(phi_d(zp) - phi_d(zm), 1e-12));
                sv += -lp;
            } else {
                double tm = cf[DITC_DC_COEF1] * x0 + cf[DITC_DC_COEF2] * xt, dm = tm - mean;
                sv += 0.5 * (-1 + lv - lv1 + exp(lv1 - lv) + dm * dm * exp(-lv));
            }
        }
        out[b] = se / (double)M + sv / (double)M / log(2.0);
    }
}
static void ref_diffusion(const gcase *k, double **in, double *out) { diffusion_ref(k, in, in[0], out); }
static void ref_diffusion_fd(const gcase *k, double **in, double *out) {
    DITC_CHECK(frozen_eps && frozen_n == numel_of(k, 0), "frozen eps not prepared");
    diffusion_ref(k, in, frozen_eps, out);
}
static void run_diffusion(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_diffusion_loss(c, in[0], in[1], in[2], in[3], in[4], NULL, NULL);
    *n_out = 1;
}

// ---- LLaMA-style (Large-DiT) pieces ------------------------------------------------------------
// rms_norm / layer_norm / rope with iarg[7] = 1: applied twice and added (exercises the kernels' acc = 1)
// rms_norm: x (..., D), w (D) if n_in > 1, eps = farg
static void ref_rms_norm(const gcase *k, double **in, double *out) {
    int64_t D = k->sh[0][k->nd[0] - 1], R = numel_of(k, 0) / D;
    for (int64_t r = 0; r < R; r++) {
        const double *xr = in[0] + r * D;
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += xr[d] * xr[d];
        double rs = 1.0 / sqrt(s / (double)D + (double)k->farg);
        for (int64_t d = 0; d < D; d++)
            out[r * D + d] = (k->iarg[7] ? 2.0 : 1.0) * xr[d] * rs * (k->n_in > 1 ? in[1][d] : 1.0);
    }
}
static void run_rms_norm(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_rms_norm(c, in[0], k->n_in > 1 ? in[1] : NULL, k->farg);
    if (k->iarg[7]) out[0] = ditc_add(c, out[0], ditc_rms_norm(c, in[0], k->n_in > 1 ? in[1] : NULL, k->farg));
    *n_out = 1;
}
// layer_norm: x (..., D), w (D) if n_in > 1, b (D) if n_in > 2, eps = farg
static void ref_layer_norm(const gcase *k, double **in, double *out) {
    int64_t D = k->sh[0][k->nd[0] - 1], R = numel_of(k, 0) / D;
    for (int64_t r = 0; r < R; r++) {
        const double *xr = in[0] + r * D;
        double mu = 0, var = 0;
        for (int64_t d = 0; d < D; d++) mu += xr[d];
        mu /= (double)D;
        for (int64_t d = 0; d < D; d++) var += (xr[d] - mu) * (xr[d] - mu);
        double rs = 1.0 / sqrt(var / (double)D + (double)k->farg);
        for (int64_t d = 0; d < D; d++)
            out[r * D + d] = (k->iarg[7] ? 2.0 : 1.0) *
                             ((xr[d] - mu) * rs * (k->n_in > 1 ? in[1][d] : 1.0) + (k->n_in > 2 ? in[2][d] : 0.0));
    }
}
static void run_layer_norm(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_layer_norm(c, in[0], k->n_in > 1 ? in[1] : NULL, k->n_in > 2 ? in[2] : NULL, k->farg);
    if (k->iarg[7])
        out[0] = ditc_add(c, out[0],
                          ditc_layer_norm(c, in[0], k->n_in > 1 ? in[1] : NULL, k->n_in > 2 ? in[2] : NULL, k->farg));
    *n_out = 1;
}
// rope: x (B, T, H·hd), heads iarg[0], theta farg; pairs (2i, 2i+1), angle t / theta^(2i/hd)
static void ref_rope(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], T = k->sh[0][1], C = k->sh[0][2], H = k->iarg[0], hd = C / H;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < hd / 2; i++) {
                    // the angle as LLaMA's float32 freqs table defines it (see ditc_rope), then double math
                    float f = 1.0f / powf(k->farg, (float)(2 * i) / (float)hd);
                    double ang = (double)((float)t * f);
                    int64_t o = (b * T + t) * C + h * hd + 2 * i;
                    double x0 = in[0][o], x1 = in[0][o + 1], m = k->iarg[7] ? 2.0 : 1.0;
                    out[o] = m * (x0 * cos(ang) - x1 * sin(ang));
                    out[o + 1] = m * (x0 * sin(ang) + x1 * cos(ang));
                }
}
static void run_rope(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_rope(c, in[0], (int)k->iarg[0], k->farg);
    if (k->iarg[7]) out[0] = ditc_add(c, out[0], ditc_rope(c, in[0], (int)k->iarg[0], k->farg));
    *n_out = 1;
}
// modulate: x (B, T, D), shift, scale (B, D) → x·(1 + scale) + shift; iarg[7] = 1: x·(1+scale)+shift with
// shift = scale (the same tensor twice: both gradient paths accumulate into one buffer)
static void ref_modulate(const gcase *k, double **in, double *out) {
    int64_t B = k->sh[0][0], T = k->sh[0][1], D = k->sh[0][2];
    const double *sh = in[1], *sc = k->n_in > 2 ? in[2] : in[1];
    for (int64_t i = 0; i < B * T * D; i++) {
        int64_t bd = (i / (T * D)) * D + i % D;
        out[i] = in[0][i] * (1.0 + sc[bd]) + sh[bd];
    }
}
static void run_modulate(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    out[0] = ditc_modulate(c, in[0], in[1], k->n_in > 2 ? in[2] : in[1]);
    *n_out = 1;
}
// swiglu: silu(a)·b
static void ref_swiglu(const gcase *k, double **in, double *out) {
    const double *b = k->n_in > 1 ? in[1] : in[0];
    for (int64_t i = 0; i < numel_of(k, 0); i++) out[i] = in[0][i] / (1.0 + exp(-in[0][i])) * b[i];
}
static void run_swiglu(ditc_ctx *c, ditc_tensor **in, const gcase *k, ditc_tensor **out, int *n_out) {
    (void)k;
    out[0] = ditc_swiglu(c, in[0], k->n_in > 1 ? in[1] : in[0]); // n_in 1: silu(a)·a, da accumulates
    *n_out = 1;
}

// ---- the cases -------------------------------------------------------------------------------
// Shapes: odd (B 2, T 7, D 12, H 3) and DiT-like (T 256, D 384, H 6).
// clang-format off
static gcase odd_cases[] = {
    {"linear", "x(2,7,12) w(5,12) b(5)", 3, {3, 2, 1}, {SH(2, 7, 12), SH(5, 12), SH(5)}, .run = run_linear, .ref = ref_linear},
    {"linear", "no bias x(7,12) w(9,12)", 2, {2, 2}, {SH(7, 12), SH(9, 12)}, .run = run_linear, .ref = ref_linear},
    {"matmul", "(3,5,7)(3,7,4)", 2, {3, 3}, {SH(3, 5, 7), SH(3, 7, 4)}, .iarg = {0, 0}, .run = run_matmul, .ref = ref_matmul},
    {"matmul", "ta (3,7,5)(3,7,4)", 2, {3, 3}, {SH(3, 7, 5), SH(3, 7, 4)}, .iarg = {1, 0}, .run = run_matmul, .ref = ref_matmul},
    {"matmul", "tb (3,5,7)(3,4,7)", 2, {3, 3}, {SH(3, 5, 7), SH(3, 4, 7)}, .iarg = {0, 1}, .run = run_matmul, .ref = ref_matmul},
    {"matmul", "ta tb (3,7,5)(3,4,7)", 2, {3, 3}, {SH(3, 7, 5), SH(3, 4, 7)}, .iarg = {1, 1}, .run = run_matmul, .ref = ref_matmul},
    {"add", "(2,7,12)+(2,7,12)", 2, {3, 3}, {SH(2, 7, 12), SH(2, 7, 12)}, .iarg = {0}, .run = run_binary, .ref = ref_binary},
    {"add", "(2,7,12)+(1,7,12) pos_embed", 2, {3, 3}, {SH(2, 7, 12), SH(1, 7, 12)}, .iarg = {0}, .run = run_binary, .ref = ref_binary},
    {"add", "(2,1,12)+(3,1) both broadcast", 2, {3, 2}, {SH(2, 1, 12), SH(3, 1)}, .iarg = {0}, .run = run_binary, .ref = ref_binary},
    {"mul", "(2,7,12)*(2,7,12)", 2, {3, 3}, {SH(2, 7, 12), SH(2, 7, 12)}, .iarg = {1}, .run = run_binary, .ref = ref_binary},
    {"mul", "(2,7,12)*(2,1,12) per sample", 2, {3, 3}, {SH(2, 7, 12), SH(2, 1, 12)}, .iarg = {1}, .run = run_binary, .ref = ref_binary},
    {"mul", "(12)*(2,3,5,12)", 2, {1, 4}, {SH(12), SH(2, 3, 5, 12)}, .iarg = {1}, .run = run_binary, .ref = ref_binary},
    {"scale", "(2,7,12)*-1.7", 1, {3}, {SH(2, 7, 12)}, .farg = -1.7f, .run = run_scale, .ref = ref_scale},
    {"ln_modulate", "x(2,7,12) shift scale", 3, {3, 2, 2}, {SH(2, 7, 12), SH(2, 12), SH(2, 12)}, .run = run_ln_mod, .ref = ref_ln_mod},
    {"ln_modulate", "x(2,7,12) plain", 1, {3}, {SH(2, 7, 12)}, .run = run_ln_mod, .ref = ref_ln_mod},
    {"gated_residual", "(2,7,12) gate(2,12)", 3, {3, 2, 3}, {SH(2, 7, 12), SH(2, 12), SH(2, 7, 12)}, .run = run_gated, .ref = ref_gated},
    {"gelu", "(2,7,12)", 1, {3}, {SH(2, 7, 12)}, .run = run_gelu, .ref = ref_gelu},
    {"gelu", "fused linear x(2,7,12) w(10,12) b(10)", 3, {3, 2, 1}, {SH(2, 7, 12), SH(10, 12), SH(10)}, .run = run_linear_gelu, .ref = ref_linear_gelu},
    {"gelu", "fused linear, no bias x(7,12) w(9,12)", 2, {2, 2}, {SH(7, 12), SH(9, 12)}, .run = run_linear_gelu, .ref = ref_linear_gelu},
    {"silu", "(2,7,12)", 1, {3}, {SH(2, 7, 12)}, .run = run_silu, .ref = ref_silu},
    {"attention", "qkv(2,7,36) H=3", 1, {3}, {SH(2, 7, 36)}, .iarg = {3}, .run = run_attention, .ref = ref_attention},
    {"attention", "qkv(1,5,12) H=1", 1, {3}, {SH(1, 5, 12)}, .iarg = {1}, .run = run_attention, .ref = ref_attention},
    {"embedding", "table(5,12) idx(9) repeats", 2, {2, 1}, {SH(5, 12), SH(9)}, .is_index = {0, 1}, .idx_range = 5, .run = run_embedding, .ref = ref_embedding},
    {"patchify", "(2,3,6,6) p=2", 1, {4}, {SH(2, 3, 6, 6)}, .iarg = {2}, .run = run_patchify, .ref = ref_patchify},
    {"patchify", "(1,2,9,9) p=3", 1, {4}, {SH(1, 2, 9, 9)}, .iarg = {3}, .run = run_patchify, .ref = ref_patchify},
    {"unpatchify", "(2,9,12)->(2,3,6,6) p=2", 1, {3}, {SH(2, 9, 12)}, .iarg = {2, 3}, .run = run_unpatchify, .ref = ref_unpatchify},
    {"split", "(2,7,12) dim2 {3,4,5}", 1, {3}, {SH(2, 7, 12)}, .iarg = {2, 3, 3, 4, 5}, .run = run_split, .ref = ref_split},
    {"split", "(2,7,12) dim1 {2,5} only part 1 seeded", 1, {3}, {SH(2, 7, 12)}, .iarg = {1, 2, 2, 5}, .seed_mask = 2, .run = run_split, .ref = ref_split},
    {"split", "chunk (2,72) into 6", 1, {2}, {SH(2, 72)}, .iarg = {1, 6, 12, 12, 12, 12, 12, 12}, .run = run_chunk, .ref = ref_split},
    {"concat", "(2,3,12)+(2,4,12) dim1", 2, {3, 3}, {SH(2, 3, 12), SH(2, 4, 12)}, .iarg = {1}, .run = run_concat, .ref = ref_concat},
    {"concat", "(7,5)+(7,1)+(7,6) dim1", 3, {2, 2, 2}, {SH(7, 5), SH(7, 1), SH(7, 6)}, .iarg = {1}, .run = run_concat, .ref = ref_concat},
    {"sum", "(2,7,12) all", 1, {3}, {SH(2, 7, 12)}, .iarg = {0, 0}, .run = run_reduce, .ref = ref_reduce},
    {"sum", "(2,7,12) from dim 2", 1, {3}, {SH(2, 7, 12)}, .iarg = {2, 0}, .run = run_reduce, .ref = ref_reduce},
    {"mean", "(2,7,12) all", 1, {3}, {SH(2, 7, 12)}, .iarg = {0, 1}, .run = run_reduce, .ref = ref_reduce},
    {"mean", "(2,7,12) from dim 1", 1, {3}, {SH(2, 7, 12)}, .iarg = {1, 1}, .run = run_reduce, .ref = ref_reduce},
    {"mse", "(2,3,5,5) from dim 1", 2, {4, 4}, {SH(2, 3, 5, 5), SH(2, 3, 5, 5)}, .iarg = {1}, .run = run_mse, .ref = ref_mse},
    {"reshape", "(2,7,12)->(14,12)", 1, {3}, {SH(2, 7, 12)}, .iarg = {14, 12}, .run = run_reshape, .ref = ref_identity},
    {"cast", "(2,7,12) via BF16", 1, {3}, {SH(2, 7, 12)}, .run = run_cast, .ref = ref_cast, .ref_fd = ref_identity},
    {"diffusion_loss", "out(4,4,3,3) t={0,1,994,991} C=2", 5, {4, 4, 4, 4, 2},
     {SH(4, 4, 3, 3), SH(4, 2, 3, 3), SH(4, 2, 3, 3), SH(4, 2, 3, 3), SH(4, DITC_DIFF_NCOEF)},
     .no_grad = {0, 1, 1, 1, 1}, .init = init_diffusion, .run = run_diffusion, .ref = ref_diffusion, .ref_fd = ref_diffusion_fd},
    {"checkpoint", "ln_mod(gelu(linear)) x(2,7,12) w(10,12)", 5, {3, 2, 1, 2, 2},
     {SH(2, 7, 12), SH(10, 12), SH(10), SH(2, 10), SH(2, 10)}, .run = run_checkpoint, .ref = ref_checkpoint},
    {"rms_norm", "x(2,7,12) w(12) eps 1e-5", 2, {3, 1}, {SH(2, 7, 12), SH(12)}, .farg = 1e-5f, .run = run_rms_norm, .ref = ref_rms_norm},
    {"rms_norm", "x(3,5,13) no weight", 1, {3}, {SH(3, 5, 13)}, .farg = 1e-5f, .run = run_rms_norm, .ref = ref_rms_norm},
    {"layer_norm", "x(2,7,12) w b eps 1e-5", 3, {3, 1, 1}, {SH(2, 7, 12), SH(12), SH(12)}, .farg = 1e-5f, .run = run_layer_norm, .ref = ref_layer_norm},
    {"layer_norm", "x(5,13) w only", 2, {2, 1}, {SH(5, 13), SH(13)}, .farg = 1e-5f, .run = run_layer_norm, .ref = ref_layer_norm},
    {"layer_norm", "x(2,3,9) no affine", 1, {3}, {SH(2, 3, 9)}, .farg = 1e-6f, .run = run_layer_norm, .ref = ref_layer_norm},
    {"rope", "x(2,7,12) H=3 hd=4", 1, {3}, {SH(2, 7, 12)}, .iarg = {3}, .farg = 10000.0f, .run = run_rope, .ref = ref_rope},
    {"rope", "x(1,9,6) H=1 hd=6", 1, {3}, {SH(1, 9, 6)}, .iarg = {1}, .farg = 10000.0f, .run = run_rope, .ref = ref_rope},
    {"rope", "x(2,5,20) H=2 hd=10 theta=100", 1, {3}, {SH(2, 5, 20)}, .iarg = {2}, .farg = 100.0f, .run = run_rope, .ref = ref_rope},
    {"swiglu", "(2,7,12)*(2,7,12)", 2, {3, 3}, {SH(2, 7, 12), SH(2, 7, 12)}, .run = run_swiglu, .ref = ref_swiglu},
    {"swiglu", "(5,13)*(5,13)", 2, {2, 2}, {SH(5, 13), SH(5, 13)}, .run = run_swiglu, .ref = ref_swiglu},
    {"swiglu", "silu(a)*a (5,13) acc", 1, {2}, {SH(5, 13)}, .run = run_swiglu, .ref = ref_swiglu},
    {"rms_norm", "x(2,7,12) w twice+add acc", 2, {3, 1}, {SH(2, 7, 12), SH(12)}, .iarg = {[7] = 1}, .farg = 1e-5f, .run = run_rms_norm, .ref = ref_rms_norm},
    {"layer_norm", "x(2,7,12) w b twice+add acc", 3, {3, 1, 1}, {SH(2, 7, 12), SH(12), SH(12)}, .iarg = {[7] = 1}, .farg = 1e-5f, .run = run_layer_norm, .ref = ref_layer_norm},
    {"modulate", "x(2,7,12) shift scale", 3, {3, 2, 2}, {SH(2, 7, 12), SH(2, 12), SH(2, 12)}, .run = run_modulate, .ref = ref_modulate},
    {"modulate", "x(3,5,13) shift = scale acc", 2, {3, 2}, {SH(3, 5, 13), SH(3, 13)}, .run = run_modulate, .ref = ref_modulate},
    {"rope", "x(2,7,12) H=3 twice+add acc", 1, {3}, {SH(2, 7, 12)}, .iarg = {3, [7] = 1}, .farg = 10000.0f, .run = run_rope, .ref = ref_rope},
};

static gcase dit_cases[] = {
    {"linear", "x(1,256,384) w(384,384) b", 3, {3, 2, 1}, {SH(1, 256, 384), SH(384, 384), SH(384)}, .run = run_linear, .ref = ref_linear},
    {"linear", "adaLN c(8,384) w(2304,384) b", 3, {2, 2, 1}, {SH(8, 384), SH(2304, 384), SH(2304)}, .run = run_linear, .ref = ref_linear},
    {"matmul", "(6,256,64)(6,256,64)^T", 2, {3, 3}, {SH(6, 256, 64), SH(6, 256, 64)}, .iarg = {0, 1}, .run = run_matmul, .ref = ref_matmul},
    {"add", "(2,256,384)+(1,256,384)", 2, {3, 3}, {SH(2, 256, 384), SH(1, 256, 384)}, .iarg = {0}, .run = run_binary, .ref = ref_binary},
    {"mul", "(2,256,384)*(2,1,384)", 2, {3, 3}, {SH(2, 256, 384), SH(2, 1, 384)}, .iarg = {1}, .run = run_binary, .ref = ref_binary},
    {"scale", "(2,256,384)", 1, {3}, {SH(2, 256, 384)}, .farg = 0.125f, .run = run_scale, .ref = ref_scale},
    {"ln_modulate", "x(2,256,384) shift scale", 3, {3, 2, 2}, {SH(2, 256, 384), SH(2, 384), SH(2, 384)}, .run = run_ln_mod, .ref = ref_ln_mod},
    {"gated_residual", "(2,256,384)", 3, {3, 2, 3}, {SH(2, 256, 384), SH(2, 384), SH(2, 256, 384)}, .run = run_gated, .ref = ref_gated},
    {"gelu", "(2,256,1536)", 1, {3}, {SH(2, 256, 1536)}, .run = run_gelu, .ref = ref_gelu},
    {"silu", "(8,384)", 1, {2}, {SH(8, 384)}, .run = run_silu, .ref = ref_silu},
    {"attention", "qkv(1,256,1152) H=6", 1, {3}, {SH(1, 256, 1152)}, .iarg = {6}, .run = run_attention, .ref = ref_attention},
    {"attention", "qkv(2,49,384) H=4 demo shape", 1, {3}, {SH(2, 49, 384)}, .iarg = {4}, .run = run_attention, .ref = ref_attention},
    {"attention", "qkv(1,129,576) H=3 odd T", 1, {3}, {SH(1, 129, 576)}, .iarg = {3}, .run = run_attention, .ref = ref_attention},
    {"embedding", "table(1001,384) idx(8)", 2, {2, 1}, {SH(1001, 384), SH(8)}, .is_index = {0, 1}, .idx_range = 1001, .run = run_embedding, .ref = ref_embedding},
    {"patchify", "(2,4,32,32) p=2", 1, {4}, {SH(2, 4, 32, 32)}, .iarg = {2}, .run = run_patchify, .ref = ref_patchify},
    {"unpatchify", "(2,256,32)->(2,8,32,32) p=2", 1, {3}, {SH(2, 256, 32)}, .iarg = {2, 8}, .run = run_unpatchify, .ref = ref_unpatchify},
    {"split", "chunk adaLN (8,2304) into 6", 1, {2}, {SH(8, 2304)}, .iarg = {1, 6, 384, 384, 384, 384, 384, 384}, .run = run_chunk, .ref = ref_split},
    {"concat", "(2,256,384) x2 dim0", 2, {3, 3}, {SH(2, 256, 384), SH(2, 256, 384)}, .iarg = {0}, .run = run_concat, .ref = ref_concat},
    {"sum", "(2,256,384) all", 1, {3}, {SH(2, 256, 384)}, .iarg = {0, 0}, .run = run_reduce, .ref = ref_reduce},
    {"mean", "(8,4,32,32) from dim 1", 1, {4}, {SH(8, 4, 32, 32)}, .iarg = {1, 1}, .run = run_reduce, .ref = ref_reduce},
    {"mse", "(8,4,32,32) from dim 1", 2, {4, 4}, {SH(8, 4, 32, 32), SH(8, 4, 32, 32)}, .iarg = {1}, .run = run_mse, .ref = ref_mse},
    {"reshape", "(2,256,384)->(512,384)", 1, {3}, {SH(2, 256, 384)}, .iarg = {512, 384}, .run = run_reshape, .ref = ref_identity},
    {"cast", "(2,256,384) via BF16", 1, {3}, {SH(2, 256, 384)}, .run = run_cast, .ref = ref_cast, .ref_fd = ref_identity},
    {"diffusion_loss", "out(8,8,32,32) latents", 5, {4, 4, 4, 4, 2},
     {SH(8, 8, 32, 32), SH(8, 4, 32, 32), SH(8, 4, 32, 32), SH(8, 4, 32, 32), SH(8, DITC_DIFF_NCOEF)},
     .no_grad = {0, 1, 1, 1, 1}, .init = init_diffusion, .run = run_diffusion, .ref = ref_diffusion, .ref_fd = ref_diffusion_fd},
    {"checkpoint", "ln_mod(gelu(linear)) x(1,256,384) w(384,384)", 5, {3, 2, 1, 2, 2},
     {SH(1, 256, 384), SH(384, 384), SH(384), SH(1, 384), SH(1, 384)}, .run = run_checkpoint, .ref = ref_checkpoint},
    {"rms_norm", "x(2,256,384) w(384) eps 1e-5", 2, {3, 1}, {SH(2, 256, 384), SH(384)}, .farg = 1e-5f, .run = run_rms_norm, .ref = ref_rms_norm},
    {"layer_norm", "qk-norm x(2,256,384) w b", 3, {3, 1, 1}, {SH(2, 256, 384), SH(384), SH(384)}, .farg = 1e-5f, .run = run_layer_norm, .ref = ref_layer_norm},
    {"rope", "x(2,256,384) H=6 theta=1e4", 1, {3}, {SH(2, 256, 384)}, .iarg = {6}, .farg = 10000.0f, .run = run_rope, .ref = ref_rope},
    {"swiglu", "(2,256,1024)*(2,256,1024)", 2, {3, 3}, {SH(2, 256, 1024), SH(2, 256, 1024)}, .run = run_swiglu, .ref = ref_swiglu},
    {"modulate", "x(2,256,384) shift scale", 3, {3, 2, 2}, {SH(2, 256, 384), SH(2, 384), SH(2, 384)}, .run = run_modulate, .ref = ref_modulate},
};
// clang-format on

// ---- the harness -----------------------------------------------------------------------------
static double objective(const gcase *k, double **in, const double *w, int64_t n_out, double *buf, int fd) {
    (fd && k->ref_fd ? k->ref_fd : k->ref)(k, in, buf);
    double s = 0;
    for (int64_t i = 0; i < n_out; i++) s += w[i] * buf[i];
    return s;
}

static int run_case(ditc_backend *be, const gcase *k, int case_no, int full_fd) {
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    double *din[MAXIN];
    ditc_tensor *tin[MAXIN];
    float *fin[MAXIN];
    for (int i = 0; i < k->n_in; i++) {
        int64_t n = numel_of(k, i);
        fin[i] = malloc(sizeof(float) * (size_t)n);
        din[i] = malloc(sizeof(double) * (size_t)n);
        ditc_rng_fill_uniform(fin[i], (size_t)n, 1234, DITC_RNG_TEST, (uint32_t)case_no, (uint64_t)i << 40);
        if (!k->is_index[i])
            for (int64_t j = 0; j < n; j++) fin[i][j] = 2.0f * fin[i][j] - 1.0f;
    }
    if (k->init) k->init(k, fin);
    for (int i = 0; i < k->n_in; i++) {
        int64_t n = numel_of(k, i);
        if (k->is_index[i]) {
            int32_t *idx = (int32_t *)fin[i];
            for (int64_t j = 0; j < n; j++) {
                idx[j] = (int32_t)(fin[i][j] * (float)k->idx_range);
                din[i][j] = idx[j];
            }
            tin[i] = ditc_from_host(&c, DITC_I32, k->nd[i], k->sh[i], idx);
        } else {
            for (int64_t j = 0; j < n; j++) din[i][j] = fin[i][j];
            tin[i] = ditc_from_host(&c, DITC_F32, k->nd[i], k->sh[i], fin[i]);
            tin[i]->requires_grad = !k->no_grad[i];
        }
    }
    ditc_tensor *out[DITC_NODE_MAX_IO];
    int n_out = 0;
    k->run(&c, tin, k, out, &n_out);
    int64_t total = 0, off[DITC_NODE_MAX_IO + 1];
    for (int o = 0; o < n_out; o++) {
        off[o] = total;
        total += out[o]->numel;
    }
    off[n_out] = total;

    // forward vs reference
    double *ref = malloc(sizeof(double) * (size_t)total), *buf = malloc(sizeof(double) * (size_t)total);
    float *got = malloc(sizeof(float) * (size_t)total);
    k->ref(k, din, ref);
    for (int o = 0; o < n_out; o++) ditc_to_host(out[o], got + off[o]);
    double ferr = 0, refmax = 0;
    for (int64_t i = 0; i < total; i++) {
        ferr = fmax(ferr, fabs(got[i] - ref[i]));
        refmax = fmax(refmax, fabs(ref[i]));
    }
    double frel = ferr / fmax(refmax, 1e-30);

    // backward with random upstream weights (zero on unseeded outputs)
    double *w = malloc(sizeof(double) * (size_t)total);
    float *wf = malloc(sizeof(float) * (size_t)total);
    ditc_rng_fill_uniform(wf, (size_t)total, 99, DITC_RNG_TEST, (uint32_t)case_no, 0);
    ditc_tensor *seeds[DITC_NODE_MAX_IO];
    for (int o = 0; o < n_out; o++) {
        int seeded = !k->seed_mask || (k->seed_mask >> o & 1);
        for (int64_t i = off[o]; i < off[o + 1]; i++) {
            wf[i] = seeded ? 2.0f * wf[i] - 1.0f : 0.0f;
            w[i] = wf[i];
        }
        seeds[o] = seeded ? ditc_from_host(&c, DITC_F32, out[o]->ndim, out[o]->shape, wf + off[o]) : NULL;
    }
    ditc_backward_seeded(&c, n_out, out, seeds);

    int ok = frel <= TOL;
    double worst = 0;
    for (int i = 0; i < k->n_in; i++) {
        if (k->is_index[i] || k->no_grad[i]) continue;
        int64_t n = numel_of(k, i);
        if (!tin[i]->grad) {
            printf("  input %d got no gradient\n", i);
            ok = 0;
            continue;
        }
        float *g = malloc(sizeof(float) * (size_t)n);
        ditc_to_host(tin[i]->grad, g);
        int64_t amax = 0;
        double gmax = 0;
        for (int64_t j = 0; j < n; j++)
            if (fabs(g[j]) > gmax) {
                gmax = fabs(g[j]);
                amax = j;
            }
        int64_t n_check = full_fd || n <= 64 ? n : 9;
        double err = 0, fdmax = 0;
        for (int64_t q = 0; q < n_check; q++) {
            int64_t j = q;
            if (n_check != n) { // the largest gradient + random coordinates
                float u;
                ditc_rng_fill_uniform(&u, 1, 7, DITC_RNG_TEST, (uint32_t)case_no, (uint64_t)(i * 1000 + q));
                j = q == 0 ? amax : (int64_t)(u * (float)n);
            }
            double x0 = din[i][j], h = 1e-5;
            din[i][j] = x0 + h;
            double lp = objective(k, din, w, total, buf, 1);
            din[i][j] = x0 - h;
            double lm = objective(k, din, w, total, buf, 1);
            din[i][j] = x0;
            double fd = (lp - lm) / (2 * h);
            err = fmax(err, fabs(g[j] - fd));
            fdmax = fmax(fdmax, fabs(fd));
        }
        double rel = err / fmax(fmax(fdmax, gmax), 1e-30);
        worst = fmax(worst, rel);
        if (rel > TOL) {
            printf("  input %d: gradient rel err %.3g (max|fd| %.3g)\n", i, rel, fdmax);
            ok = 0;
        }
        free(g);
    }
    printf("%s %-15s %-45s fwd %.2e  grad %.2e\n", ok ? "[PASS]" : "[FAIL]", k->op, k->label, frel, worst);
    for (int i = 0; i < k->n_in; i++) {
        free(fin[i]);
        free(din[i]);
    }
    free(ref);
    free(buf);
    free(got);
    free(w);
    free(wf);
    ditc_ctx_free(&c);
    return ok;
}

int main(int argc, char **argv) {
    int dit = argc > 1 && !strcmp(argv[1], "dit");
    gcase *cases = dit ? dit_cases : odd_cases;
    int n = dit ? (int)(sizeof dit_cases / sizeof *dit_cases) : (int)(sizeof odd_cases / sizeof *odd_cases);
    ditc_backend *be = ditc_cpu_backend_new(0);
    int pass = 0, fail = 0;
    for (int i = 0; i < n; i++) run_case(be, &cases[i], i, !dit) ? pass++ : fail++;
    // every registered op needs a gradient case in this file
    for (int op = 0; op < DITC_OP_COUNT; op++) {
        int found = 0;
        for (int i = 0; i < n; i++) found |= !strcmp(cases[i].op, ditc_op_name(op));
        if (!found) {
            printf("[FAIL] registered op '%s' has no gradient test (%s shapes)\n", ditc_op_name(op),
                   dit ? "dit" : "odd");
            fail++;
        }
    }
    be->destroy(be);
    free(frozen_eps);
    printf("test_op_grads %s: %d passed, %d failed\n", dit ? "dit" : "odd", pass, fail);
    return fail ? 1 : 0;
}
