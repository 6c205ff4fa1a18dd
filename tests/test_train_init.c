// test_train_init.c — the reference initialisation and its consequences (shared/spec/model.md):
//  * a freshly initialised DiT outputs exactly 0 for random x, t, y (adaLN and final layer are zero);
//  * after one AdamW step on the diffusion loss, ONLY final_layer.linear.weight/.bias have changed
//    (bitwise compare of every parameter before/after), and both did change;
//  * init statistics: xavier-uniform weights within ±sqrt(6/(fan_in+fan_out)) with std ≈ bound/√3,
//    N(0, 0.02) label table and timestep MLP, exact zeros where the reference zeroes, and pos_embed equal
//    to the spec's 2-D sin-cos table (column index in the first D/2 columns, sine half first);
//  * parameter names, shapes and order of the state_dict table, and the parameter counts: the spec's
//    DiT-XL/2 (C=4, S=32, K=1000) = 675,129,632 from the shape table with ditc's XL/2 config (nothing
//    allocated), and ditc's own count for DiT-S/2 and the small model against the same formula.
// Exit status 0 on pass, 1 on failure.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "diffusion.h"
#include "dit_model.h"
#include "ops.h"
#include "optimizer.h"
#include "params.h"
#include "rng.h"

#include "test_check.h"

// The spec's shape table summed by hand: pos_embed, patch conv, timestep MLP, label table (K+1 rows),
// depth × (qkv, proj, fc1, fc2, adaLN 6D, each with bias), final adaLN 2D and final linear 2·C·p².
static int64_t count_by_formula(int64_t D, int64_t depth, int64_t C, int64_t p, int64_t S, int64_t K) {
    int64_t T = (S / p) * (S / p), out = 2 * C * p * p;
    int64_t n = T * D;            // pos_embed
    n += D * C * p * p + D;       // x_embedder.proj
    n += D * 256 + D + D * D + D; // t_embedder.mlp.0, .2
    n += (K + 1) * D;             // y_embedder.embedding_table
    n += depth * ((3 * D * D + 3 * D) + (D * D + D) + (4 * D * D + 4 * D) + (4 * D * D + D) + (6 * D * D + 6 * D));
    n += 2 * D * D + 2 * D; // final_layer.adaLN_modulation.1
    n += out * D + out;     // final_layer.linear
    return n;
}

static float *download(const ditc_tensor *t) {
    float *h = malloc(sizeof(float) * (size_t)t->numel);
    ditc_to_host(t, h);
    return h;
}

typedef struct {
    double mean, std, absmax;
} stats;
static stats tensor_stats(const ditc_tensor *t) {
    float *h = download(t);
    double s = 0, s2 = 0, mx = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        s += h[i];
        s2 += (double)h[i] * h[i];
        if (fabs(h[i]) > mx) mx = fabs(h[i]);
    }
    free(h);
    double n = (double)t->numel, mean = s / n;
    stats r = {mean, sqrt(s2 / n - mean * mean), mx};
    return r;
}

// Xavier-uniform: all |w| <= bound, std = bound/sqrt(3) and mean 0 within 5 standard errors
// (uniform: relative s.e. of the std is sqrt(0.8/n)/2), and the largest |w| near the bound.
static void check_xavier(const ditc_tensor *t, int64_t fan_in, int64_t fan_out) {
    double bound = sqrt(6.0 / (double)(fan_in + fan_out)), want = bound / sqrt(3.0), n = (double)t->numel;
    stats s = tensor_stats(t);
    double tol_std = 5 * 0.5 * sqrt(0.8 / n), tol_mean = 5 * want / sqrt(n);
    check(s.absmax <= (float)bound && s.absmax >= bound * (1 - 20.0 / n) && fabs(s.std / want - 1) <= tol_std &&
              fabs(s.mean) <= tol_mean,
          "%s xavier (fan_in %lld, fan_out %lld): max|w| %.6f <= bound %.6f; std %.6f vs bound/sqrt(3) %.6f (rel %.2e, "
          "tol %.1e); mean %.1e",
          t->name, (long long)fan_in, (long long)fan_out, s.absmax, bound, s.std, want, s.std / want - 1, tol_std,
          s.mean);
}

// N(0, 0.02): std within 5 standard errors (relative s.e. 1/sqrt(2n)), mean within 5·0.02/sqrt(n).
static void check_normal002(const ditc_tensor *t) {
    double n = (double)t->numel;
    stats s = tensor_stats(t);
    double tol_std = 5 / sqrt(2 * n), tol_mean = 5 * 0.02 / sqrt(n);
    check(fabs(s.std / 0.02 - 1) <= tol_std && fabs(s.mean) <= tol_mean && s.absmax < 0.02 * 7,
          "%s ~ N(0, 0.02): std %.6f (rel %.2e, tol %.1e), mean %.1e (tol %.1e), max|w| %.4f", t->name, s.std,
          s.std / 0.02 - 1, tol_std, s.mean, tol_mean, s.absmax);
}

static int all_zero(const ditc_tensor *t) {
    float *h = download(t);
    int ok = 1;
    for (int64_t i = 0; i < t->numel; i++) ok &= h[i] == 0.0f;
    free(h);
    return ok;
}

// pos_embed[0, r·g + c, j] from the spec (float64, then float32).
static double spec_pos(int D, int r, int c, int j) {
    int q = j < D / 2 ? c : r, jj = j % (D / 2), quarter = D / 4;
    int k = jj % quarter;
    double omega = 1.0 / pow(10000.0, (double)k / (double)quarter);
    return jj < quarter ? sin((double)q * omega) : cos((double)q * omega);
}

static void test_small_model(ditc_backend *be) {
    // depth 2, D 64, H 4, p 2, C 4, S 8 (T = 16), K 100 (a 101-row label table for the statistics)
    ditc_dit_config cfg = {.depth = 2,
                           .hidden = 64,
                           .heads = 4,
                           .patch = 2,
                           .in_channels = 4,
                           .input_size = 8,
                           .num_classes = 100,
                           .class_dropout = 0.1f};
    snprintf(cfg.name, sizeof cfg.name, "custom");
    ditc_status st = {0};
    check(ditc_dit_config_validate(&cfg, &st) == 0, "small config valid");
    ditc_dit m;
    ditc_dit_create(&m, &cfg, be);
    ditc_dit_init(&m, 1234);
    const int D = cfg.hidden, C = cfg.in_channels, S = cfg.input_size, p = cfg.patch, K = cfg.num_classes;
    const int g = S / p, T = g * g, B = 6;

    // ---- names, shapes, order, count ----
    int64_t numel = 0;
    for (int i = 0; i < m.params.n; i++) numel += m.params.t[i]->numel;
    int64_t want = count_by_formula(D, cfg.depth, C, p, S, K);
    check(m.params.n == 12 + 10 * cfg.depth && numel == want && m.params.numel_real == want,
          "small model: %d tensors (want %d), %lld parameters (formula %lld, numel_real %lld)", m.params.n,
          12 + 10 * cfg.depth, (long long)numel, (long long)want, (long long)m.params.numel_real);
    static const char *first[8] = {"pos_embed",
                                   "x_embedder.proj.weight",
                                   "x_embedder.proj.bias",
                                   "t_embedder.mlp.0.weight",
                                   "t_embedder.mlp.0.bias",
                                   "t_embedder.mlp.2.weight",
                                   "t_embedder.mlp.2.bias",
                                   "y_embedder.embedding_table.weight"};
    int order_ok = 1;
    for (int i = 0; i < 8; i++) order_ok &= !strcmp(m.params.t[i]->name, first[i]);
    order_ok &= !strcmp(m.params.t[8]->name, "blocks.0.attn.qkv.weight");
    order_ok &= !strcmp(m.params.t[m.params.n - 4]->name, "final_layer.linear.weight");
    order_ok &= !strcmp(m.params.t[m.params.n - 1]->name, "final_layer.adaLN_modulation.1.bias");
    check(order_ok, "state_dict order: pos_embed, x_embedder, t_embedder, y_embedder, blocks.N, final_layer.linear, "
                    "final_layer.adaLN_modulation");
    struct {
        const char *name;
        int ndim;
        int64_t shape[4];
    } shapes[] = {
        {"pos_embed", 3, {1, T, D}},
        {"x_embedder.proj.weight", 4, {D, C, p, p}},
        {"t_embedder.mlp.0.weight", 2, {D, 256}},
        {"t_embedder.mlp.2.weight", 2, {D, D}},
        {"y_embedder.embedding_table.weight", 2, {K + 1, D}},
        {"blocks.1.attn.qkv.weight", 2, {3 * D, D}},
        {"blocks.1.attn.qkv.bias", 1, {3 * D}},
        {"blocks.1.attn.proj.weight", 2, {D, D}},
        {"blocks.1.mlp.fc1.weight", 2, {4 * D, D}},
        {"blocks.1.mlp.fc2.weight", 2, {D, 4 * D}},
        {"blocks.1.adaLN_modulation.1.weight", 2, {6 * D, D}},
        {"blocks.1.adaLN_modulation.1.bias", 1, {6 * D}},
        {"final_layer.adaLN_modulation.1.weight", 2, {2 * D, D}},
        {"final_layer.linear.weight", 2, {2 * C * p * p, D}},
        {"final_layer.linear.bias", 1, {2 * C * p * p}},
    };
    int shapes_ok = 1;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        ditc_tensor *t = ditc_params_find(&m.params, shapes[i].name);
        int ok = t && t->ndim == shapes[i].ndim;
        for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == shapes[i].shape[d];
        if (!ok) printf("  shape of %s wrong or missing\n", shapes[i].name);
        shapes_ok &= ok;
    }
    ditc_tensor *pe = ditc_params_find(&m.params, "pos_embed");
    check(shapes_ok && pe && !pe->requires_grad, "shapes of the spec table; pos_embed is not trainable");

    // ---- initialisation statistics ----
    for (int i = 0; i < cfg.depth; i++) {
        ditc_dit_block *b = &m.blocks[i];
        check_xavier(b->qkv_w, D, 3 * D);
        check_xavier(b->proj_w, D, D);
        check_xavier(b->fc1_w, D, 4 * D);
        check_xavier(b->fc2_w, 4 * D, D);
    }
    check_xavier(m.x_proj_w, (int64_t)C * p * p, D); // the conv viewed as [D, C·p²]
    check_normal002(m.y_table);
    check_normal002(m.t_fc1_w);
    check_normal002(m.t_fc2_w);
    int zeros_ok = 1, nzero = 0;
    for (int i = 0; i < m.params.n; i++) {
        const ditc_tensor *t = m.params.t[i];
        const char *n = t->name;
        size_t len = strlen(n);
        int should = (len > 5 && !strcmp(n + len - 5, ".bias")) || strstr(n, "adaLN_modulation.1.") ||
                     !strncmp(n, "final_layer.linear.", 19);
        if (!should) continue;
        nzero++;
        if (!all_zero(t)) {
            zeros_ok = 0;
            printf("  %s is not all zero\n", n);
        }
    }
    check(zeros_ok, "%d tensors exactly zero: every bias, every adaLN_modulation.1, final_layer.linear", nzero);

    // pos_embed: every entry against the spec formula, and a few by hand
    float *hp = download(pe);
    double worst = 0;
    for (int r = 0; r < g; r++)
        for (int c = 0; c < g; c++)
            for (int j = 0; j < D; j++) {
                double e = fabs((double)hp[(r * g + c) * D + j] - (double)(float)spec_pos(D, r, c, j));
                if (e > worst) worst = e;
            }
    check(worst <= 1e-6, "pos_embed equals the spec's sin-cos table in all %d entries (max |diff| %.2e)", T * D, worst);
    // token (r=1, c=2): column half first, sine before cosine; ω_0 = 1
    int tok = 1 * g + 2;
    float e0 = hp[tok * D + 0], e1 = hp[tok * D + D / 4], e2 = hp[tok * D + D / 2], e3 = hp[tok * D + 3 * D / 4];
    float z0 = hp[0 * D + 0], z1 = hp[0 * D + D / 4];
    check(fabsf(e0 - sinf(2.0f)) <= 1e-6f && fabsf(e1 - cosf(2.0f)) <= 1e-6f && fabsf(e2 - sinf(1.0f)) <= 1e-6f &&
              fabsf(e3 - cosf(1.0f)) <= 1e-6f && z0 == 0.0f && z1 == 1.0f,
          "pos_embed token (r=1,c=2): [0]=sin(2)=%.6f [D/4]=cos(2)=%.6f [D/2]=sin(1)=%.6f [3D/4]=cos(1)=%.6f; token 0: "
          "%g, %g",
          e0, e1, e2, e3, z0, z1);
    free(hp);

    // ---- a fresh model outputs exactly zero ----
    int64_t xs[4] = {B, C, S, S};
    size_t per = (size_t)B * C * S * S;
    float *hx = malloc(sizeof(float) * per), *hn = malloc(sizeof(float) * per), *tf = malloc(sizeof(float) * B);
    int *ti = malloc(sizeof(int) * B);
    int32_t *y = malloc(sizeof(int32_t) * B);
    ditc_rng_fill_normal(hx, per, 77, DITC_RNG_TEST, 0, 0);
    ditc_rng_fill_normal(hn, per, 77, DITC_RNG_TEST, 1, 0);
    for (int b = 0; b < B; b++) {
        ti[b] = b == 0 ? 0 : b == 1 ? 999 : (int)ditc_rng_randint(77, DITC_RNG_TEST, 2, (uint64_t)b, 1000);
        tf[b] = (float)ti[b];
        y[b] = b == 2 ? K : (int32_t)ditc_rng_randint(77, DITC_RNG_TEST, 3, (uint64_t)b, (uint32_t)K);
    }
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    ditc_tensor *x = ditc_from_host(&c, DITC_F32, 4, xs, hx);
    ditc_tensor *out = ditc_dit_forward(&c, &m, x, tf, y);
    float *ho = download(out);
    int64_t nonzero = 0;
    for (int64_t i = 0; i < out->numel; i++) nonzero += ho[i] != 0.0f;
    check(out->ndim == 4 && out->shape[0] == B && out->shape[1] == 2 * C && out->shape[2] == S && out->shape[3] == S &&
              nonzero == 0,
          "fresh model: output [%lld, %lld, %lld, %lld] is exactly zero (%lld non-zero of %lld) for random x, t (0, "
          "999, ...), y (incl. null class)",
          (long long)out->shape[0], (long long)out->shape[1], (long long)out->shape[2], (long long)out->shape[3],
          (long long)nonzero, (long long)out->numel);
    free(ho);

    // ---- one AdamW step: only final_layer.linear changes ----
    float *before = malloc(sizeof(float) * (size_t)m.params.numel);
    be->copy_d2h(be, before, m.params.data, sizeof(float) * (size_t)m.params.numel);
    ditc_diffusion d;
    ditc_diffusion_init(&d, "", NULL);
    ditc_optimizer o;
    ditc_optimizer_init(&o, &m.params, 1e-4, 0);
    ditc_ctx_reset(&c);
    ditc_params_zero_grad(&m.params);
    ditc_tensor *x0 = ditc_from_host(&c, DITC_F32, 4, xs, hx), *nz = ditc_from_host(&c, DITC_F32, 4, xs, hn);
    ditc_tensor *loss = ditc_mean(&c, ditc_diffusion_training_loss(&c, &d, &m, x0, ti, y, nz, NULL, NULL, NULL), 0);
    float lv;
    ditc_to_host(loss, &lv);
    ditc_backward(&c, loss);
    double gnorm = ditc_optimizer_step(&o);
    float *after = malloc(sizeof(float) * (size_t)m.params.numel);
    be->copy_d2h(be, after, m.params.data, sizeof(float) * (size_t)m.params.numel);
    int others_same = 1, n_same = 0;
    int64_t changed_w = 0, changed_b = 0, n_w = 0, n_b = 0;
    for (int i = 0; i < m.params.n; i++) {
        const ditc_tensor *t = m.params.t[i];
        const float *a = before + m.params.offset[i], *b2 = after + m.params.offset[i];
        int64_t changed = 0;
        for (int64_t k = 0; k < t->numel; k++) changed += memcmp(&a[k], &b2[k], sizeof(float)) != 0;
        if (!strcmp(t->name, "final_layer.linear.weight")) {
            changed_w = changed;
            n_w = t->numel;
        } else if (!strcmp(t->name, "final_layer.linear.bias")) {
            changed_b = changed;
            n_b = t->numel;
        } else if (changed) {
            others_same = 0;
            printf("  %s changed in %lld of %lld elements\n", t->name, (long long)changed, (long long)t->numel);
        } else n_same++;
    }
    check(isfinite(lv) && lv > 0, "one AdamW step (lr 1e-4) on the diffusion loss %.6f, gradient norm %.4g", lv, gnorm);
    check(others_same, "after one step all %d other tensors are bitwise unchanged", n_same);
    check(changed_w > 0 && changed_b == n_b,
          "final_layer.linear changed: weight in %lld of %lld elements, bias in %lld of %lld", (long long)changed_w,
          (long long)n_w, (long long)changed_b, (long long)n_b);
    // AdamW's first step moves each coordinate with a non-negligible gradient by lr·g/(|g|+eps) ≈ ±lr
    double maxstep = 0;
    ditc_tensor *fb = ditc_params_find(&m.params, "final_layer.linear.bias");
    for (int64_t k = 0; fb && k < fb->numel; k++) {
        int i = 0;
        while (m.params.t[i] != fb) i++;
        double s = fabs((double)after[m.params.offset[i] + k] - before[m.params.offset[i] + k]);
        if (s > maxstep) maxstep = s;
    }
    check(maxstep > 0.5e-4 && maxstep <= 1.0001e-4, "largest bias update %.4g ≈ lr (first AdamW step)", maxstep);

    free(before);
    free(after);
    free(hx);
    free(hn);
    free(tf);
    free(ti);
    free(y);
    ditc_optimizer_free(&o);
    ditc_diffusion_free(&d);
    ditc_ctx_free(&c);
    ditc_dit_free(&m);
}

static void test_counts(ditc_backend *be) {
    // DiT-XL/2 from ditc's own config table, counted by the formula (allocating it would take ~5.4 GB)
    ditc_dit_config xl;
    memset(&xl, 0, sizeof xl);
    ditc_status st = {0};
    int r = ditc_dit_config_from_name(&xl, "DiT-XL/2", &st);
    int64_t n = r ? -1 : count_by_formula(xl.hidden, xl.depth, 4, xl.patch, 32, 1000);
    check(!r && xl.depth == 28 && xl.hidden == 1152 && xl.heads == 16 && xl.patch == 2 && n == 675129632LL,
          "DiT-XL/2 (depth %d, D %d, H %d, p %d; C 4, S 32, K 1000): %lld parameters by the shape table (spec: "
          "675,129,632)",
          xl.depth, xl.hidden, xl.heads, xl.patch, (long long)n);
    // DiT-S/2 created by ditc (~33M parameters) against the same formula
    ditc_dit_config s2;
    memset(&s2, 0, sizeof s2);
    r = ditc_dit_config_from_name(&s2, "DiT-S/2", &st);
    s2.in_channels = 4;
    s2.input_size = 32;
    s2.num_classes = 1000;
    s2.class_dropout = 0.1f;
    check(!r && ditc_dit_config_validate(&s2, &st) == 0 && s2.depth == 12 && s2.hidden == 384 && s2.heads == 6,
          "DiT-S/2 config: depth %d, D %d, H %d, p %d", s2.depth, s2.hidden, s2.heads, s2.patch);
    ditc_dit m;
    ditc_dit_create(&m, &s2, be);
    int64_t want = count_by_formula(384, 12, 4, 2, 32, 1000), sum = 0;
    for (int i = 0; i < m.params.n; i++) sum += m.params.t[i]->numel;
    check(m.params.numel_real == want && sum == want && m.params.n == 12 + 10 * 12,
          "DiT-S/2 (C 4, S 32, K 1000) created by ditc: %lld parameters in %d tensors (formula %lld)",
          (long long)m.params.numel_real, m.params.n, (long long)want);
    ditc_dit_free(&m);
}

// Large-DiT: the reference's init (xavier q/k/v/o and w1..w3, norms 1/0, zero adaLN/final), a fresh model
// outputs exactly zero, and the released sizes' parameter counts (by the shape table; the reference
// DiT_Llama counts 609,836,576 / 4,237,824,032 / 7,293,819,936).
static int64_t ldit_count(int64_t D, int64_t depth, int64_t C, int64_t p, int64_t K) {
    int64_t Dc = D < 1024 ? D : 1024, F = ditc_ldit_ffn_width((int)D), P = C * p * p;
    int64_t block = 4 * D * D + 4 * D + 3 * D * F + 2 * D + 6 * D * Dc + 6 * D;
    return D * P + D + 256 * Dc + Dc + Dc * Dc + Dc + (K + 1) * Dc + depth * block + 2 * P * D + 2 * P + 2 * D * Dc +
           2 * D;
}

static void test_ldit(ditc_backend *be) {
    ditc_dit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ditc_status st = {0};
    check(ditc_dit_config_from_name(&cfg, "LDiT-600M", &st) == 0 && cfg.arch == DITC_ARCH_LDIT && cfg.qk_norm &&
              cfg.depth == 16 && cfg.hidden == 1536 && cfg.heads == 32 && cfg.patch == 2,
          "LDiT-600M: Large-DiT, QK-norm, depth 16, D 1536, 32 heads, patch 2");
    static const struct {
        const char *name;
        int64_t want;
    } sizes[] = {{"LDiT-600M", 609836576LL}, {"LDiT-3B", 4237824032LL}, {"LDiT-7B", 7293819936LL}};
    for (int i = 0; i < 3; i++) {
        ditc_dit_config c2;
        memset(&c2, 0, sizeof c2);
        ditc_dit_config_from_name(&c2, sizes[i].name, &st);
        int64_t n = ldit_count(c2.hidden, c2.depth, 4, c2.patch, 1000);
        check(n == sizes[i].want, "%s (C 4, K 1000, FFN %d, conditioning %d): %lld parameters (reference %lld)",
              sizes[i].name, ditc_ldit_ffn_width(c2.hidden), ditc_dit_cond_width(&c2), (long long)n,
              (long long)sizes[i].want);
    }
    // a small one, created and initialised by ditc
    cfg.depth = 2;
    cfg.hidden = 64;
    cfg.heads = 4;
    cfg.in_channels = 4;
    cfg.input_size = 8;
    cfg.num_classes = 10;
    cfg.class_dropout = 0.1f;
    check(ditc_dit_config_validate(&cfg, &st) == 0, "small Large-DiT config valid");
    ditc_dit m;
    ditc_dit_create(&m, &cfg, be);
    ditc_dit_init(&m, 99);
    int64_t D = 64, F = ditc_ldit_ffn_width(64), sum = 0;
    for (int i = 0; i < m.params.n; i++) sum += m.params.t[i]->numel;
    check(sum == ldit_count(D, 2, 4, 2, 10) && m.params.n == 7 + 15 * 2 + 4 && !m.pos_embed && F == 256,
          "small Large-DiT: %d tensors, %lld parameters (table %lld), no pos_embed, SwiGLU width %lld", m.params.n,
          (long long)sum, (long long)ldit_count(D, 2, 4, 2, 10), (long long)F);
    for (int i = 0; i < cfg.depth; i++) {
        ditc_ldit_block *b = &m.lblocks[i];
        check_xavier(b->wq, D, D);
        check_xavier(b->wo, D, D);
        check_xavier(b->w1, D, F);
        check_xavier(b->w2, F, D);
    }
    int ones = 1, zeros = 1;
    for (int i = 0; i < m.params.n; i++) {
        const ditc_tensor *t = m.params.t[i];
        const char *n = t->name;
        int one = strstr(n, "norm.weight") != NULL;
        int zero = strstr(n, "norm.bias") || strstr(n, "adaLN_modulation.1.") ||
                   !strncmp(n, "final_layer.linear.", 19) || !strcmp(n, "x_embedder.bias") || strstr(n, "mlp.0.bias") ||
                   strstr(n, "mlp.2.bias");
        float *h = download(t);
        for (int64_t k = 0; k < t->numel; k++) {
            if (one && h[k] != 1.0f) {
                ones = 0;
                printf("  %s[%lld] = %g, not 1\n", n, (long long)k, h[k]);
                break;
            }
            if (zero && h[k] != 0.0f) {
                zeros = 0;
                printf("  %s[%lld] = %g, not 0\n", n, (long long)k, h[k]);
                break;
            }
        }
        free(h);
    }
    check(ones && zeros, "RMSNorm and QK-norm weights exactly 1; their biases, every adaLN, final_layer.linear and the "
                         "embedding biases 0");
    float hx[2 * 4 * 8 * 8], tf[2] = {0.0f, 999.0f};
    int32_t y[2] = {3, 10};
    ditc_rng_fill_normal(hx, sizeof hx / sizeof *hx, 5, DITC_RNG_TEST, 0, 0);
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    ditc_tensor *out = ditc_dit_forward(&c, &m, ditc_from_host(&c, DITC_F32, 4, (int64_t[]){2, 4, 8, 8}, hx), tf, y);
    float *ho = download(out);
    int64_t nonzero = 0;
    for (int64_t i = 0; i < out->numel; i++) nonzero += ho[i] != 0.0f;
    check(out->shape[1] == 8 && nonzero == 0, "fresh Large-DiT: output (2, 8, 8, 8) is exactly zero (%lld non-zero)",
          (long long)nonzero);
    free(ho);
    ditc_ctx_free(&c);
    ditc_dit_free(&m);
}

int main(void) {
    ditc_backend *be = ditc_cpu_backend_new(0);
    test_small_model(be);
    test_counts(be);
    test_ldit(be);
    be->destroy(be);
    return check_summary("test_train_init");
}
