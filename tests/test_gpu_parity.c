// test_gpu_parity.c — every backend entry on the CPU and CUDA backends from the same inputs (ctest label gpu).
// Exits 77 with a SKIP line when there is no CUDA device (or the build has no CUDA).
//
// Thresholds on NMSE = Σ(gpu − cpu)² / Σ cpu² per output: fp32 ≤ 1e-10 (reordered sums, expf/tanhf vs the CPU's
// polynomial exp/tanh, FMA contraction), tf32 ≤ 1e-5 and bf16 ≤ 1e-4 (GEMM only; attention stays fp32).
// RNG: uniform streams bit-equal; normal streams bit-equal except ≤ 1e-6 of the elements by ≤ 1 float ulp
// (CUDA's double log/sin/cos vs glibc's; see core/util/philox.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_open.h"
#include "cpu_backend.h"
#include "cuda_backend.h"
#include "rng.h"

#define TOL_FP32 1e-10
#define TOL_TF32 1e-5
#define TOL_BF16 1e-4

static ditc_backend *BE[2]; // cpu, cuda
static int nfail = 0, npass = 0;
static uint64_t seed_ctr = 1;

typedef struct {
    ditc_tensor t[2];
    float *host;
} pt; // the same tensor on both backends
#define X(p) (&(p).t[k])

static void mk(pt *p, int ndim, const int64_t *shape, float lo, float hi) {
    memset(p, 0, sizeof *p);
    ditc_tensor tmp;
    ditc_tensor_set_shape(&tmp, DITC_F32, ndim, shape);
    p->host = malloc(ditc_nbytes(&tmp) + 4);
    ditc_rng_fill_uniform(p->host, (size_t)tmp.numel, 1234, 7, (uint32_t)seed_ctr++, 0);
    for (int64_t i = 0; i < tmp.numel; i++) p->host[i] = lo + (hi - lo) * p->host[i];
    for (int k = 0; k < 2; k++) {
        p->t[k] = tmp;
        p->t[k].backend = BE[k];
        p->t[k].data = BE[k]->alloc(BE[k], ditc_nbytes(&tmp));
        BE[k]->copy_h2d(BE[k], p->t[k].data, p->host, ditc_nbytes(&tmp));
    }
}
static void mk1(pt *p, int64_t a, float lo, float hi) {
    int64_t s[1] = {a};
    mk(p, 1, s, lo, hi);
}
static void mk2(pt *p, int64_t a, int64_t b, float lo, float hi) {
    int64_t s[2] = {a, b};
    mk(p, 2, s, lo, hi);
}
static void mk3(pt *p, int64_t a, int64_t b, int64_t c, float lo, float hi) {
    int64_t s[3] = {a, b, c};
    mk(p, 3, s, lo, hi);
}
static void mk4(pt *p, int64_t a, int64_t b, int64_t c, int64_t d, float lo, float hi) {
    int64_t s[4] = {a, b, c, d};
    mk(p, 4, s, lo, hi);
}
static void rm(pt *p) {
    for (int k = 0; k < 2; k++) BE[k]->free(BE[k], p->t[k].data);
    free(p->host);
}

static double nmse(const pt *p) {
    size_t n = (size_t)p->t[0].numel;
    float *a = malloc(n * 4 + 4), *b = malloc(n * 4 + 4);
    BE[0]->copy_d2h(BE[0], a, p->t[0].data, n * 4);
    BE[1]->copy_d2h(BE[1], b, p->t[1].data, n * 4);
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)b[i] - a[i];
        num += d * d;
        den += (double)a[i] * a[i];
        if (!isfinite(b[i])) num = INFINITY;
    }
    free(a);
    free(b);
    return den > 0 ? num / den : num;
}
static void expect(const char *op, const char *what, const pt *p, double tol) {
    double e = nmse(p);
    int ok = e <= tol;
    ok ? npass++ : nfail++;
    printf("%s %-28s %-10s NMSE %.3e (limit %.0e)\n", ok ? "PASS" : "FAIL", op, what, e, tol);
}

static void test_gemm(int ta, int tb, int64_t batch, ditc_precision prec, double tol) {
    int64_t m = 37, n = 53, kk = 96;
    pt a, b, c;
    mk3(&a, batch, ta ? kk : m, ta ? m : kk, -1, 1);
    mk3(&b, batch, tb ? n : kk, tb ? kk : n, -1, 1);
    mk3(&c, batch, m, n, -1, 1);
    BE[1]->precision = prec;
    for (int k = 0; k < 2; k++) {
        ditc_gemm g = {.trans_a = ta,
                       .trans_b = tb,
                       .m = m,
                       .n = n,
                       .k = kk,
                       .batch = batch,
                       .alpha = 0.7f,
                       .beta = 0.5f,
                       .a = X(a)->data,
                       .lda = ta ? m : kk,
                       .stride_a = m * kk,
                       .a_dtype = DITC_F32,
                       .b = X(b)->data,
                       .ldb = tb ? kk : n,
                       .stride_b = n * kk,
                       .b_dtype = DITC_F32,
                       .c = X(c)->data,
                       .ldc = n,
                       .stride_c = m * n,
                       .c_dtype = DITC_F32};
        BE[k]->gemm(BE[k], &g);
    }
    BE[1]->precision = DITC_PREC_FP32;
    char name[64];
    snprintf(name, sizeof name, "gemm ta=%d tb=%d batch=%lld", ta, tb, (long long)batch);
    expect(name, ditc_precision_name(prec), &c, tol);
    rm(&a), rm(&b), rm(&c);
}

static void test_attention(int64_t B, int64_t T, int H, int hd) {
    pt qkv, out, lse, dout, dqkv;
    int64_t D = (int64_t)H * hd;
    mk3(&qkv, B, T, 3 * D, -1.5f, 1.5f);
    mk3(&out, B, T, D, 0, 0);
    mk3(&lse, B, H, T, 0, 0);
    mk3(&dout, B, T, D, -1, 1);
    mk3(&dqkv, B, T, 3 * D, -1, 1);
    for (int k = 0; k < 2; k++) BE[k]->attn_fwd(BE[k], X(out), X(lse), X(qkv), H);
    char name[64];
    snprintf(name, sizeof name, "attention T=%lld hd=%d", (long long)T, hd);
    expect(name, "out", &out, TOL_FP32);
    expect(name, "lse", &lse, TOL_FP32);
    for (int acc = 0; acc < 2; acc++) {
        for (int k = 0; k < 2; k++) BE[k]->attn_bwd(BE[k], X(dqkv), X(dout), X(qkv), X(out), X(lse), H, acc);
        expect(name, acc ? "dqkv acc" : "dqkv", &dqkv, TOL_FP32);
    }
    rm(&qkv), rm(&out), rm(&lse), rm(&dout), rm(&dqkv);
}

static void test_rng(void) {
    for (int dist = 0; dist < 2; dist++) {
        int64_t n = 100003;
        pt t;
        mk1(&t, n, 0, 0);
        for (int k = 0; k < 2; k++) BE[k]->rng_fill(BE[k], X(t), (ditc_rng_dist)dist, 0x123456789abcdefULL, 3, 17, 5);
        float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
        BE[0]->copy_d2h(BE[0], a, t.t[0].data, (size_t)n * 4);
        BE[1]->copy_d2h(BE[1], b, t.t[1].data, (size_t)n * 4);
        int64_t diff = 0, big = 0;
        for (int64_t i = 0; i < n; i++) {
            if (a[i] == b[i]) continue;
            diff++;
            if (fabsf(a[i] - b[i]) > fabsf(nextafterf(a[i], INFINITY) - a[i])) big++;
        }
        int ok = dist == 0 ? diff == 0 : (big == 0 && diff <= n / 1000000 + 1);
        ok ? npass++ : nfail++;
        printf("%s rng_fill %-7s bit-equal: %lld of %lld elements differ (%lld by more than 1 ulp)\n",
               ok ? "PASS" : "FAIL", dist ? "normal" : "uniform", (long long)diff, (long long)n, (long long)big);
        free(a), free(b), rm(&t);
    }
}

int main(void) {
    if (ditc_cuda_device_count() < 1) {
        printf("SKIP test_gpu_parity: no CUDA device (or this ditc was built without -DDITC_CUDA=ON)\n");
        return 77;
    }
    ditc_status st = {0};
    BE[0] = ditc_cpu_backend_new(0);
    BE[1] = ditc_backend_open("cuda:0", "fp32", 0, &st);
    if (!BE[1]) {
        printf("SKIP test_gpu_parity: %s\n", st.message);
        return 77;
    }
    const double T32 = TOL_FP32;
    // ---- GEMM in every precision
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) test_gemm(ta, tb, 1, DITC_PREC_FP32, T32);
    test_gemm(0, 1, 3, DITC_PREC_FP32, T32);
    test_gemm(0, 1, 3, DITC_PREC_TF32, TOL_TF32);
    test_gemm(1, 0, 3, DITC_PREC_BF16, TOL_BF16);
    test_gemm(0, 0, 1, DITC_PREC_BF16, TOL_BF16);
    // ---- attention: the head dims of DiT/LDiT and a small generic one; T not a multiple of the tile
    test_attention(2, 45, 3, 16);
    test_attention(2, 77, 2, 64);
    test_attention(1, 64, 2, 72);
    test_attention(1, 50, 2, 96);
    test_attention(1, 70, 2, 128);
    test_rng();

    int64_t B = 3, T = 19, D = 80;
    pt x, y, x2, s1, s2, m, r, dy, dx, ds1, ds2, w, bb;
    mk3(&x, B, T, D, -2, 2);
    mk3(&x2, B, T, D, -2, 2);
    mk3(&y, B, T, D, 0, 0);
    mk3(&dy, B, T, D, -1, 1);
    mk3(&dx, B, T, D, -1, 1);
    mk2(&s1, B, D, -0.5f, 0.5f);
    mk2(&s2, B, D, -0.5f, 0.5f);
    mk2(&ds1, B, D, -1, 1);
    mk2(&ds2, B, D, -1, 1);
    mk2(&m, B, T, 0, 0);
    mk2(&r, B, T, 0, 0);
    mk1(&w, D, 0.5f, 1.5f);
    mk1(&bb, D, -1, 1);
    int k;
#define BOTH(call)                                                                                                     \
    for (k = 0; k < 2; k++) {                                                                                          \
        ditc_backend *be = BE[k];                                                                                      \
        be->call;                                                                                                      \
    }
    for (int acc = 0; acc < 2; acc++) {
        BOTH(axpy(be, X(y), 0.3f, X(x), acc)) expect("axpy", acc ? "acc" : "", &y, T32);
        BOTH(binary_fwd(be, DITC_BIN_MUL, X(y), X(x), X(x2))) expect("binary mul", "same", &y, T32);
        BOTH(binary_bwd(be, DITC_BIN_MUL, 0, X(dx), X(dy), X(x), X(x2), acc))
        expect("binary_bwd mul", "same", &dx, T32);
        BOTH(unary_fwd(be, DITC_UN_GELU_TANH, X(y), X(x))) expect("gelu", "fwd", &y, T32);
        BOTH(unary_bwd(be, DITC_UN_GELU_TANH, X(dx), X(dy), X(x), acc)) expect("gelu", "bwd", &dx, T32);
        BOTH(unary_fwd(be, DITC_UN_SILU, X(y), X(x))) expect("silu", "fwd", &y, T32);
        BOTH(unary_bwd(be, DITC_UN_SILU, X(dx), X(dy), X(x), acc)) expect("silu", "bwd", &dx, T32);
        BOTH(ln_mod_fwd(be, X(y), X(m), X(r), X(x), X(s1), X(s2), 1e-6f)) expect("ln_mod", "y", &y, T32);
        expect("ln_mod", "rstd", &r, T32);
        BOTH(ln_mod_bwd(be, X(dx), X(ds1), X(ds2), X(dy), X(x), X(m), X(r), X(s2), acc, acc, acc))
        expect("ln_mod_bwd", "dx", &dx, T32), expect("ln_mod_bwd", "dshift", &ds1, T32),
            expect("ln_mod_bwd", "dscale", &ds2, T32);
        BOTH(modulate_fwd(be, X(y), X(x), X(s1), X(s2))) expect("modulate", "y", &y, T32);
        BOTH(modulate_bwd(be, X(dx), X(ds1), X(ds2), X(dy), X(x), X(s2), acc, acc, acc))
        expect("modulate_bwd", "dx", &dx, T32), expect("modulate_bwd", "dshift", &ds1, T32),
            expect("modulate_bwd", "dscale", &ds2, T32);
        BOTH(gated_res_fwd(be, X(y), X(x), X(s1), X(x2))) expect("gated_res", "out", &y, T32);
        BOTH(gated_res_bwd(be, X(dx), X(ds1), X(y), X(dy), X(s1), X(x2), acc, acc, acc))
        expect("gated_res_bwd", "dx", &dx, T32), expect("gated_res_bwd", "dgate", &ds1, T32),
            expect("gated_res_bwd", "dy", &y, T32);
        BOTH(bias_fwd(be, X(y), X(bb))) expect("bias", "fwd", &y, T32);
        BOTH(bias_bwd(be, X(bb), X(dy), acc)) expect("bias", "bwd", &bb, T32);
        BOTH(rms_norm_fwd(be, X(y), X(r), X(x), X(w), 1e-6f)) expect("rms_norm", "y", &y, T32);
        BOTH(rms_norm_bwd(be, X(dx), X(bb), X(dy), X(x), X(w), X(r), acc, acc))
        expect("rms_norm_bwd", "dx", &dx, T32), expect("rms_norm_bwd", "dw", &bb, T32);
        BOTH(layer_norm_fwd(be, X(y), X(m), X(r), X(x), X(w), X(bb), 1e-6f)) expect("layer_norm", "y", &y, T32);
        BOTH(layer_norm_bwd(be, X(dx), X(w), X(bb), X(dy), X(x), X(w), X(m), X(r), acc, acc, acc))
        expect("layer_norm_bwd", "dx", &dx, T32), expect("layer_norm_bwd", "dw", &w, T32),
            expect("layer_norm_bwd", "db", &bb, T32);
        BOTH(rope(be, X(y), X(x), 5, 10000.0f, acc, acc)) expect("rope", acc ? "inverse acc" : "fwd", &y, T32);
        BOTH(swiglu_fwd(be, X(y), X(x), X(x2))) expect("swiglu", "fwd", &y, T32);
        BOTH(swiglu_bwd(be, X(dx), X(y), X(dy), X(x), X(x2), acc, acc))
        expect("swiglu_bwd", "da", &dx, T32), expect("swiglu_bwd", "db", &y, T32);
        BOTH(reduce_rows(be, X(m), X(x), 0.25f, acc)) expect("reduce_rows", "", &m, T32);
        BOTH(expand_rows(be, X(dx), X(m), 0.5f, acc)) expect("expand_rows", "", &dx, T32);
        BOTH(mse_fwd(be, X(m), X(x), X(x2))) expect("mse", "fwd", &m, T32);
        BOTH(mse_bwd(be, X(dx), X(y), X(m), X(x), X(x2), acc, acc))
        expect("mse_bwd", "da/db", &dx, T32), expect("mse_bwd", "db", &y, T32);
        BOTH(copy_2d(be, X(y), 3, D, X(x), 5, D, 20, 40, acc)) expect("copy_2d", acc ? "acc" : "", &y, T32);
    }
    { // broadcast add/mul: (B, T, D) ∘ (B, 1, D)
        pt bc, dbc;
        mk3(&bc, B, 1, D, -1, 1);
        mk3(&dbc, B, 1, D, -1, 1);
        BOTH(binary_fwd(be, DITC_BIN_ADD, X(y), X(x), X(bc))) expect("binary add", "broadcast", &y, T32);
        BOTH(binary_bwd(be, DITC_BIN_MUL, 1, X(dbc), X(dy), X(x), X(bc), 1))
        expect("binary_bwd mul", "broadcast", &dbc, T32);
        rm(&bc), rm(&dbc);
    }
    { // embedding, patchify/unpatchify, cast
        int64_t N = 6, K = 11, E = 32;
        pt tab, out, gtab;
        mk2(&tab, K, E, -1, 1);
        mk2(&gtab, K, E, -1, 1);
        mk2(&out, N, E, 0, 0);
        int32_t ids[6] = {3, 0, 10, 3, 7, 3};
        ditc_tensor idx[2];
        for (k = 0; k < 2; k++) {
            int64_t s[1] = {N};
            ditc_tensor_set_shape(&idx[k], DITC_I32, 1, s);
            idx[k].data = BE[k]->alloc(BE[k], sizeof ids);
            BE[k]->copy_h2d(BE[k], idx[k].data, ids, sizeof ids);
        }
        BOTH(embed_fwd(be, X(out), X(tab), &idx[k])) expect("embed", "fwd", &out, T32);
        BOTH(embed_bwd(be, X(gtab), X(out), &idx[k], 1)) expect("embed", "bwd acc", &gtab, T32);
        BOTH(embed_bwd(be, X(gtab), X(out), &idx[k], 0)) expect("embed", "bwd", &gtab, T32);
        for (k = 0; k < 2; k++) BE[k]->free(BE[k], idx[k].data);
        rm(&tab), rm(&out), rm(&gtab);
        pt img, tok;
        mk4(&img, 2, 3, 8, 8, -1, 1);
        mk3(&tok, 2, 16, 12, -1, 1);
        for (int cl = 0; cl < 2; cl++)
            for (int acc = 0; acc < 2; acc++) {
                BOTH(patch_copy(be, X(img), X(tok), 2, cl, 1, acc))
                expect("patchify", cl ? "channel_last" : "", &tok, T32);
                BOTH(patch_copy(be, X(img), X(tok), 2, cl, 0, acc)) expect("unpatchify", acc ? "acc" : "", &img, T32);
            }
        rm(&img), rm(&tok);
    }
    { // diffusion: q_sample, loss fwd/bwd (t = 0 and t > 0 samples), cfg, reverse steps
        int64_t Bn = 4, C = 3, S = 6;
        pt x0, noise, xt, coef, out, mse, vb, loss, dl, dout;
        mk4(&x0, Bn, C, S, S, -1, 1);
        mk4(&noise, Bn, C, S, S, -2, 2);
        mk4(&xt, Bn, C, S, S, 0, 0);
        mk2(&coef, Bn, DITC_DIFF_NCOEF, 0.1f, 0.9f);
        for (int64_t b = 0; b < Bn; b++) { // plausible coefficients; sample 0 at t = 0
            float *c = coef.host + b * DITC_DIFF_NCOEF;
            c[DITC_DC_POST_LOGVAR] = -6.0f + (float)b;
            c[DITC_DC_LOG_BETA] = -4.0f + (float)b;
            c[DITC_DC_SQRT_RECIP_AC] = 1.2f;
            c[DITC_DC_SQRT_RECIPM1_AC] = 0.6f;
            c[DITC_DC_IS_T0] = b == 0 ? 1.0f : 0.0f;
        }
        for (k = 0; k < 2; k++) BE[k]->copy_h2d(BE[k], coef.t[k].data, coef.host, ditc_nbytes(&coef.t[k]));
        mk4(&out, Bn, 2 * C, S, S, -1, 1);
        mk1(&mse, Bn, 0, 0), mk1(&vb, Bn, 0, 0), mk1(&loss, Bn, 0, 0), mk1(&dl, Bn, 0.5f, 1.0f);
        mk4(&dout, Bn, 2 * C, S, S, -1, 1);
        BOTH(q_sample(be, X(xt), X(x0), X(noise), X(coef))) expect("q_sample", "", &xt, T32);
        BOTH(diff_loss_fwd(be, X(mse), X(vb), X(loss), X(out), X(x0), X(xt), X(noise), X(coef)))
        expect("diff_loss", "mse", &mse, T32), expect("diff_loss", "vb", &vb, T32),
            expect("diff_loss", "loss", &loss, T32);
        BOTH(diff_loss_bwd(be, X(dout), X(dl), X(out), X(x0), X(xt), X(noise), X(coef), 1))
        expect("diff_loss_bwd", "acc", &dout, T32);
        BOTH(cfg_combine(be, X(out), 4.0f, 3)) expect("cfg_combine", "", &out, T32);
        ditc_diff_coefs dc;
        memcpy(dc.c, coef.host + DITC_DIFF_NCOEF, sizeof dc.c);
        dc.c[DITC_DC_AC] = 0.5f, dc.c[DITC_DC_AC_PREV] = 0.6f;
        pt xs, z;
        mk4(&xs, Bn / 2, C, S, S, -1, 1);
        mk4(&z, Bn / 2, C, S, S, -1, 1);
        BOTH(diff_step(be, X(xs), X(out), X(z), dc, 0)) expect("diff_step", "ddpm", &xs, T32);
        BOTH(diff_step(be, X(xs), X(out), NULL, dc, 1)) expect("diff_step", "ddim", &xs, T32);
        rm(&x0), rm(&noise), rm(&xt), rm(&coef), rm(&out), rm(&mse), rm(&vb), rm(&loss), rm(&dl), rm(&dout), rm(&xs),
            rm(&z);
    }
    { // optimizer over flat buffers
        int64_t n = 300001;
        pt p, g, mm, vv, ema;
        mk1(&p, n, -1, 1), mk1(&g, n, -1, 1), mk1(&mm, n, -0.1f, 0.1f), mk1(&vv, n, 0, 0.01f), mk1(&ema, n, -1, 1);
        ditc_adamw_args a = {.beta1 = 0.9f,
                             .one_minus_beta1 = 0.1f,
                             .beta2 = 0.999f,
                             .one_minus_beta2 = 0.001f,
                             .eps = 1e-8f,
                             .decay = 1.0f - 1e-6f,
                             .step_size = 1e-4f,
                             .bc2_sqrt = 0.05f,
                             .ema_decay = 0.9999f,
                             .one_minus_ema_decay = 1e-4f};
        BOTH(adamw(be, (float *)X(p)->data, (const float *)X(g)->data, (float *)X(mm)->data, (float *)X(vv)->data,
                   (float *)X(ema)->data, (size_t)n, a))
        expect("adamw", "p", &p, T32), expect("adamw", "m", &mm, T32), expect("adamw", "v", &vv, T32),
            expect("adamw", "ema", &ema, T32);
        BOTH(ema_update(be, (float *)X(ema)->data, (const float *)X(p)->data, (size_t)n, 0.99f, 0.01f))
        expect("ema_update", "", &ema, T32);
        BOTH(scale_buffer(be, (float *)X(g)->data, (size_t)n, 0.37f)) expect("scale_buffer", "", &g, T32);
        double s0 = BE[0]->sum_squares(BE[0], (const float *)g.t[0].data, (size_t)n);
        double s1v = BE[1]->sum_squares(BE[1], (const float *)g.t[1].data, (size_t)n);
        double s1b = BE[1]->sum_squares(BE[1], (const float *)g.t[1].data, (size_t)n);
        int ok = fabs(s1v - s0) <= 1e-12 * fabs(s0) && s1v == s1b;
        ok ? npass++ : nfail++;
        printf("%s sum_squares: cpu %.17g cuda %.17g (rerun bit-equal: %s)\n", ok ? "PASS" : "FAIL", s0, s1v,
               s1v == s1b ? "yes" : "no");
        rm(&p), rm(&g), rm(&mm), rm(&vv), rm(&ema);
    }
    { // cast F32 -> BF16 -> F32 round trip
        pt src, back;
        mk1(&src, 1000, -3, 3), mk1(&back, 1000, 0, 0);
        for (k = 0; k < 2; k++) {
            ditc_tensor h = src.t[k];
            h.dtype = DITC_BF16;
            h.data = BE[k]->alloc(BE[k], 2000);
            BE[k]->cast(BE[k], &h, X(src));
            BE[k]->cast(BE[k], X(back), &h);
            BE[k]->free(BE[k], h.data);
        }
        expect("cast f32<->bf16", "bit-equal", &back, 0.0);
        rm(&src), rm(&back);
    }
    rm(&x), rm(&y), rm(&x2), rm(&s1), rm(&s2), rm(&m), rm(&r), rm(&dy), rm(&dx), rm(&ds1), rm(&ds2), rm(&w), rm(&bb);
    BE[0]->destroy(BE[0]);
    BE[1]->destroy(BE[1]);
    printf("test_gpu_parity: %d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
