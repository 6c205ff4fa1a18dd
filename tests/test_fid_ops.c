// test_fid_ops.c — the C pieces of `ditc fid` against naive references, no Python needed:
//  * bilinear resize (align_corners=False, torch's half-pixel source index clamped at 0, edge index clamped at
//    H − 1; the index arithmetic in float as torch's) against a re-derivation, up and down, odd sizes, identity;
//  * 3×3 max / average pooling (count_include_pad=False: corners divide by 4, edges by 6) against brute force;
//  * the batched float64 statistics (shifted one-pass sums + dsyrk) against a two-pass mean/covariance, for
//    several batch splits;
//  * the Fréchet distance: 2×2 SPD pairs against the closed form tr √(AB) = √(tr AB + 2√(det A det B)),
//    commuting D×D covariances Q A Qᵀ, Q B Qᵀ (Σ √(aᵢ bᵢ)), equal covariances (FID = ‖Δμ‖²);
//  * npz write → read round trip (float64, float32, uint8) and rejection of a wrong key.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu_backend.h"
#include "fid_stats.h"
#include "frechet.h"
#include "inception_ops.h"
#include "npz_read.h"
#include "npz_stats_write.h"
#include "vae_ops.h"

static ditc_backend *g_be;
static int g_fail;

static double drand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void report(const char *what, double err, double tol) {
    int ok = err <= tol;
    printf("%s %-58s max rel err %.3g (tol %.0e)\n", ok ? "PASS" : "FAIL", what, err, tol);
    if (!ok) g_fail++;
}

static ditc_tensor *upload(const float *h, int64_t B, int64_t C, int64_t H, int64_t W) {
    int64_t s[4] = {B, C, H, W};
    ditc_tensor *t = ditc_vt_new(g_be, 4, s);
    g_be->copy_h2d(g_be, t->data, h, ditc_nbytes(t));
    return t;
}

// The reference: torch's source index arithmetic in float (at::opmath_type<float> is float: ratio = in/out,
// max(0, ratio·(o + 0.5) − 0.5), i1 = i0 + (i0 < in − 1), λ clamped to [0, 1]), the interpolation in double.
static double src_of(int64_t o, int64_t in, int64_t out, int64_t *i0, int64_t *i1) {
    if (in == out) return *i0 = *i1 = o, 0.0;
    volatile float ratio = (float)in / (float)out, t = ratio * ((float)o + 0.5f), real = t - 0.5f;
    float r = real < 0.0f ? 0.0f : real;
    *i0 = (int64_t)r, *i1 = *i0 + (*i0 < in - 1);
    return fmin(fmax((double)(r - (float)*i0), 0.0), 1.0);
}

static double ref_bilinear(const float *x, int64_t H, int64_t W, int64_t Ho, int64_t Wo, int64_t oy, int64_t ox) {
    int64_t y0, y1, x0, x1;
    double ly = src_of(oy, H, Ho, &y0, &y1), lx = src_of(ox, W, Wo, &x0, &x1);
    return (1 - ly) * ((1 - lx) * x[y0 * W + x0] + lx * x[y0 * W + x1]) +
           ly * ((1 - lx) * x[y1 * W + x0] + lx * x[y1 * W + x1]);
}

static void t_resize(int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
    uint64_t seed = (uint64_t)(H * 131 + W * 7 + Ho);
    float *h = ditc_xmalloc((size_t)(3 * H * W) * sizeof(float));
    for (int64_t i = 0; i < 3 * H * W; i++) h[i] = (float)drand(&seed);
    ditc_tensor *x = upload(h, 1, 3, H, W);
    int64_t s[4] = {2, 3, Ho, Wo};
    ditc_tensor *y = ditc_vt_new(g_be, 4, s);
    ditc_resize_bilinear_into(g_be, y, 1, x, 2.0f, -1.0f); // into sample 1 of 2
    float *got = ditc_xmalloc(ditc_nbytes(y));
    g_be->copy_d2h(g_be, got, y->data, ditc_nbytes(y));
    double err = 0.0;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) {
                double r = 2.0 * ref_bilinear(h + c * H * W, H, W, Ho, Wo, oy, ox) - 1.0;
                err = fmax(err, fabs(got[3 * Ho * Wo + (c * Ho + oy) * Wo + ox] - r));
            }
    char what[96];
    snprintf(what, sizeof what, "resize %lldx%lld -> %lldx%lld, 2x-1, into slot 1", (long long)H, (long long)W,
             (long long)Ho, (long long)Wo);
    report(what, err, 1e-6);
    ditc_vt_free(x), ditc_vt_free(y), free(h), free(got);
}

static void t_pool(int avg, int stride, int pad, int64_t S) {
    uint64_t seed = 99;
    int64_t C = 3, n = 2 * C * S * S;
    float *h = ditc_xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) h[i] = (float)(drand(&seed) * 4 - 2);
    ditc_tensor *x = upload(h, 2, C, S, S);
    ditc_tensor *y = ditc_pool2d(g_be, x, 3, stride, pad, avg);
    int64_t So = y->shape[2];
    float *got = ditc_xmalloc(ditc_nbytes(y));
    g_be->copy_d2h(g_be, got, y->data, ditc_nbytes(y));
    double err = 0.0;
    for (int64_t p = 0; p < 2 * C; p++)
        for (int64_t oy = 0; oy < So; oy++)
            for (int64_t ox = 0; ox < So; ox++) {
                double acc = avg ? 0.0 : -INFINITY;
                int cnt = 0;
                for (int dy = 0; dy < 3; dy++)
                    for (int dx = 0; dx < 3; dx++) {
                        int64_t iy = oy * stride - pad + dy, ix = ox * stride - pad + dx;
                        if (iy < 0 || ix < 0 || iy >= S || ix >= S) continue;
                        double v = h[(p * S + iy) * S + ix];
                        acc = avg ? acc + v : fmax(acc, v), cnt++;
                    }
                if (avg) acc /= cnt;
                err = fmax(err, fabs(got[(p * So + oy) * So + ox] - acc));
            }
    char what[96];
    snprintf(what, sizeof what, "%s pool 3x3 stride %d pad %d on %lldx%lld", avg ? "avg (no pad count)" : "max", stride,
             pad, (long long)S, (long long)S);
    report(what, err, 1e-6);
    ditc_vt_free(x), ditc_vt_free(y), free(h), free(got);
}

static void t_stats(void) {
    int D = 37;
    int64_t N = 203;
    uint64_t seed = 5;
    float *f = ditc_xmalloc((size_t)(N * D) * sizeof(float));
    for (int64_t i = 0; i < N * D; i++) f[i] = (float)(drand(&seed) * 3 + 100.0 * (i % D == 0)); // a large mean
    double *mu = ditc_xcalloc((size_t)D, sizeof(double)), *cov = ditc_xcalloc((size_t)(D * D), sizeof(double));
    for (int64_t r = 0; r < N; r++)
        for (int j = 0; j < D; j++) mu[j] += f[r * D + j];
    for (int j = 0; j < D; j++) mu[j] /= (double)N;
    for (int64_t r = 0; r < N; r++)
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) cov[i * D + j] += (f[r * D + i] - mu[i]) * (f[r * D + j] - mu[j]);
    for (int i = 0; i < D * D; i++) cov[i] /= (double)(N - 1);
    int64_t splits[3] = {1, 16, 203};
    for (int k = 0; k < 3; k++) {
        ditc_fid_acc a;
        ditc_fid_acc_init(&a, D);
        for (int64_t r = 0; r < N; r += splits[k])
            ditc_fid_acc_add(&a, f + r * D, N - r < splits[k] ? N - r : splits[k]);
        double *m = ditc_xmalloc((size_t)D * sizeof(double)), *s = ditc_xmalloc((size_t)(D * D) * sizeof(double));
        ditc_fid_acc_finish(&a, m, s);
        double em = 0, es = 0, mm = 0, ms = 0;
        for (int j = 0; j < D; j++) em = fmax(em, fabs(m[j] - mu[j])), mm = fmax(mm, fabs(mu[j]));
        for (int j = 0; j < D * D; j++) es = fmax(es, fabs(s[j] - cov[j])), ms = fmax(ms, fabs(cov[j]));
        char what[96];
        snprintf(what, sizeof what, "stats N %lld D %d in batches of %lld (mu, sigma)", (long long)N, D,
                 (long long)splits[k]);
        report(what, fmax(em / mm, es / ms), 1e-12);
        ditc_fid_acc_free(&a), free(m), free(s);
    }
    free(f), free(mu), free(cov);
}

// a random orthogonal Q (Gram-Schmidt of a random matrix), row-major
static void orthogonal(int d, double *q, uint64_t *seed) {
    for (int i = 0; i < d * d; i++) q[i] = drand(seed) - 0.5;
    for (int i = 0; i < d; i++) {
        for (int k = 0; k < i; k++) {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += q[i * d + j] * q[k * d + j];
            for (int j = 0; j < d; j++) q[i * d + j] -= dot * q[k * d + j];
        }
        double n = 0;
        for (int j = 0; j < d; j++) n += q[i * d + j] * q[i * d + j];
        for (int j = 0; j < d; j++) q[i * d + j] /= sqrt(n);
    }
}

// m = Qᵀ diag(e) Q
static void qdq(int d, const double *q, const double *e, double *m) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += q[k * d + i] * e[k] * q[k * d + j];
            m[i * d + j] = s;
        }
}

static void t_frechet(void) {
    ditc_status st;
    uint64_t seed = 17;
    double worst = 0;
    for (int t = 0; t < 200; t++) { // 2×2 SPD pairs: tr √(AB) = √(tr AB + 2 √(det A det B))
        double a[4], b[4];
        for (double *m = a; m; m = m == a ? b : NULL) {
            double p = drand(&seed) * 2 - 1, q = drand(&seed) * 2 - 1, r = drand(&seed) * 2 - 1,
                   s = drand(&seed) * 2 - 1;
            m[0] = p * p + q * q + 1e-3, m[1] = m[2] = p * r + q * s, m[3] = r * r + s * s + 1e-3;
        }
        double tr = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
        double da = a[0] * a[3] - a[1] * a[2], db = b[0] * b[3] - b[1] * b[2];
        double want = sqrt(tr + 2 * sqrt(da * db)), got;
        if (ditc_trace_sqrt_product(2, a, b, &got, NULL, &st)) {
            printf("FAIL 2x2: %s\n", st.message);
            g_fail++;
            return;
        }
        worst = fmax(worst, fabs(got - want) / want);
    }
    report("tr sqrtm(AB), 200 random 2x2 SPD pairs vs closed form", worst, 1e-12);
    int d = 64;
    double *q = ditc_xmalloc((size_t)(d * d) * sizeof(double)), *A = ditc_xmalloc((size_t)(d * d) * sizeof(double)),
           *B = ditc_xmalloc((size_t)(d * d) * sizeof(double)), ea[64], eb[64], mu1[64], mu2[64];
    orthogonal(d, q, &seed);
    double want = 0, dmu = 0;
    for (int i = 0; i < d; i++) {
        ea[i] = drand(&seed) * 3 + 0.01, eb[i] = i < 8 ? 0.0 : drand(&seed) * 2; // B singular (rank 56)
        mu1[i] = drand(&seed), mu2[i] = drand(&seed);
        dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        want += ea[i] + eb[i] - 2 * sqrt(ea[i] * eb[i]);
    }
    want += dmu;
    qdq(d, q, ea, A), qdq(d, q, eb, B);
    double fid;
    if (ditc_frechet_distance(d, mu1, A, mu2, B, 1e-6, &fid, &st)) {
        printf("FAIL frechet: %s\n", st.message);
        g_fail++;
    } else {
        // the 8 zero eigenvalues come out as ±1e-16·‖B‖, whose roots (1e-8) bound the accuracy of a singular case
        report("FID of commuting 64x64 covariances (one singular) vs closed form", fabs(fid - want) / want, 1e-8);
    }
    if (!ditc_frechet_distance(d, mu1, A, mu2, A, 1e-6, &fid, &st))
        report("FID of equal covariances = |mu1 - mu2|^2", fabs(fid - dmu) / dmu, 1e-10);
    free(q), free(A), free(B);
}

static void t_npz(void) {
    const char *path = "test_fid_ops.npz";
    double m[3] = {1.5, -2.25, 1e300};
    float f[6] = {1, 2, 3, 4, 5, 6.5f};
    uint8_t u[24];
    for (int i = 0; i < 24; i++) u[i] = (uint8_t)(i * 11);
    ditc_npz_array_out arr[3] = {
        {"mu", "<f8", 1, {3}, m}, {"features", "<f4", 2, {2, 3}, f}, {"arr_0", "|u1", 4, {2, 2, 2, 3}, u}};
    ditc_status st;
    ditc_npz *z = NULL;
    int ok = !ditc_npz_write(path, arr, 3, &st) && !ditc_npz_open(path, &z, &st);
    double *md = NULL, *fd = NULL;
    ditc_npy_info im, ifo, iu;
    ok = ok && !ditc_npz_read_f64(z, "mu", &md, &im, &st) && im.ndim == 1 && im.shape[0] == 3 &&
         !memcmp(md, m, sizeof m);
    ok = ok && !ditc_npz_read_f64(z, "features", &fd, &ifo, &st) && ifo.ndim == 2 && ifo.shape[1] == 3 && fd[5] == 6.5;
    ditc_npy_reader *r = NULL;
    uint8_t back[24];
    ok = ok && !ditc_npz_array(z, "arr_0", &r, &iu, &st) && !strcmp(iu.descr, "|u1") && iu.ndim == 4 &&
         !ditc_npy_read(r, back, 24, &st) && !memcmp(back, u, 24) && ditc_npy_read(r, back, 1, &st) != 0;
    ditc_npy_reader_close(r);
    int missing = z && ditc_npz_array(z, "sigma", &r, &iu, &st) != 0 && strstr(st.message, "sigma") != NULL;
    printf("%s npz write -> read round trip (f8, f4, u1), reads past the end and a missing key refused\n",
           ok && missing ? "PASS" : "FAIL");
    if (!(ok && missing)) g_fail++;
    free(md), free(fd);
    ditc_npz_close(z);
    remove(path);
}

int main(void) {
    g_be = ditc_cpu_backend_new(0);
    t_resize(40, 32, 299, 299);
    t_resize(7, 300, 299, 299);
    t_resize(299, 299, 299, 299);
    t_resize(500, 311, 299, 299);
    t_resize(1, 1, 3, 5);
    t_pool(0, 2, 0, 9);
    t_pool(0, 1, 1, 8);
    t_pool(1, 1, 1, 7);
    t_stats();
    t_frechet();
    t_npz();
    g_be->destroy(g_be);
    printf("test_fid_ops: %s\n", g_fail ? "FAIL" : "PASS");
    return g_fail ? 1 : 0;
}
