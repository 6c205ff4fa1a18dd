// diffusion.c — schedule tables (float64), respacing, per-sample coefficients, the training loss (the
// hybrid loss op itself is ops/ops_diffusion.c) and the sampling loop.
#include "diffusion.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "rng.h"

static double *dalloc(int n) { return ditc_xcalloc((size_t)n, sizeof(double)); }

// Builds every table from a beta sequence (GaussianDiffusion.__init__).
static void build_tables(ditc_diffusion *d, const double *betas, int n) {
    d->n = n;
    d->betas = dalloc(n);
    d->ac = dalloc(n);
    d->ac_prev = dalloc(n);
    d->post_logvar_clipped = dalloc(n);
    d->coef1 = dalloc(n);
    d->coef2 = dalloc(n);
    d->log_betas = dalloc(n);
    double *post_var = dalloc(n), prod = 1.0;
    for (int i = 0; i < n; i++) {
        d->betas[i] = betas[i];
        prod *= 1.0 - betas[i];
        d->ac[i] = prod;
        d->ac_prev[i] = i ? d->ac[i - 1] : 1.0;
    }
    for (int i = 0; i < n; i++) {
        post_var[i] = betas[i] * (1.0 - d->ac_prev[i]) / (1.0 - d->ac[i]);
        d->coef1[i] = betas[i] * sqrt(d->ac_prev[i]) / (1.0 - d->ac[i]);
        d->coef2[i] = (1.0 - d->ac_prev[i]) * sqrt(1.0 - betas[i]) / (1.0 - d->ac[i]);
        d->log_betas[i] = log(betas[i]);
    }
    for (int i = 0; i < n; i++) d->post_logvar_clipped[i] = log(n > 1 && i == 0 ? post_var[1] : post_var[i]);
    free(post_var);
}

// Python's round(): half to even.
static long round_half_even(double x) {
    double r = nearbyint(x); // default rounding mode: to nearest, ties to even
    return (long)r;
}

int ditc_diffusion_init(ditc_diffusion *d, const char *respacing, ditc_status *st) {
    memset(d, 0, sizeof *d);
    enum { T = DITC_DIFF_TRAIN_STEPS };
    double base[T];
    for (int i = 0; i < T; i++) base[i] = 1e-4 + (0.02 - 1e-4) * (double)i / (double)(T - 1); // linspace
    int keep[T], n = 0;
    if (!respacing || !*respacing) {
        for (int i = 0; i < T; i++) keep[n++] = i;
    } else if (!strncmp(respacing, "ddim", 4)) {
        int want = atoi(respacing + 4), stride = 0;
        for (int s = 1; s < T && !stride; s++)
            if ((T + s - 1) / s == want) stride = s;
        if (want < 1 || !stride)
            return ditc_fail(st, DITC_ERR_ARG,
                             "--num-sampling-steps %d: no integer DDIM stride gives exactly that many steps", want);
        for (int i = 0; i < T; i += stride) keep[n++] = i;
    } else {
        char *end;
        long want = strtol(respacing, &end, 10);
        if (*end || want < 1 || want > T)
            return ditc_fail(st, DITC_ERR_ARG, "--num-sampling-steps '%s': must be an integer in 1..%d", respacing, T);
        if (want == 1) keep[n++] = 0;
        else {
            // respace.py's space_timesteps: a running sum cur_idx += frac_stride, rounded each time (this differs
            // from round(i * stride) for 278 of the counts 2..1000, e.g. 21: step 10 is 499, not 500)
            double stride = (double)(T - 1) / (double)(want - 1), cur = 0.0;
            for (long i = 0; i < want; i++, cur += stride) keep[n++] = (int)round_half_even(cur);
        }
    }
    // New betas from the kept ᾱ: β'_i = 1 − ᾱ[k_i] / ᾱ[k_{i−1}]
    double ac_full[T], prod = 1.0, betas[T], last = 1.0;
    for (int i = 0; i < T; i++) {
        prod *= 1.0 - base[i];
        ac_full[i] = prod;
    }
    for (int i = 0; i < n; i++) {
        betas[i] = 1.0 - ac_full[keep[i]] / last;
        last = ac_full[keep[i]];
    }
    if (n == T) memcpy(betas, base, sizeof base); // unrespaced: the original betas exactly
    build_tables(d, betas, n);
    d->timestep_map = ditc_xmalloc(sizeof(int) * (size_t)n);
    memcpy(d->timestep_map, keep, sizeof(int) * (size_t)n);
    return 0;
}

void ditc_diffusion_free(ditc_diffusion *d) {
    free(d->timestep_map);
    free(d->betas);
    free(d->ac);
    free(d->ac_prev);
    free(d->post_logvar_clipped);
    free(d->coef1);
    free(d->coef2);
    free(d->log_betas);
    memset(d, 0, sizeof *d);
}

void ditc_diffusion_coefs(const ditc_diffusion *d, const int *t, int64_t B, float *coef) {
    for (int64_t b = 0; b < B; b++) {
        int i = t[b];
        DITC_CHECK(i >= 0 && i < d->n, "timestep %d outside [0, %d)", i, d->n);
        float *c = coef + b * DITC_DIFF_NCOEF;
        c[DITC_DC_SQRT_AC] = (float)sqrt(d->ac[i]);
        c[DITC_DC_SQRT_1M_AC] = (float)sqrt(1.0 - d->ac[i]);
        c[DITC_DC_SQRT_RECIP_AC] = (float)sqrt(1.0 / d->ac[i]);
        c[DITC_DC_SQRT_RECIPM1_AC] = (float)sqrt(1.0 / d->ac[i] - 1.0);
        c[DITC_DC_COEF1] = (float)d->coef1[i];
        c[DITC_DC_COEF2] = (float)d->coef2[i];
        c[DITC_DC_POST_LOGVAR] = (float)d->post_logvar_clipped[i];
        c[DITC_DC_LOG_BETA] = (float)d->log_betas[i];
        c[DITC_DC_AC] = (float)d->ac[i];
        c[DITC_DC_AC_PREV] = (float)d->ac_prev[i];
        c[DITC_DC_IS_T0] = i == 0 ? 1.0f : 0.0f;
    }
}

ditc_tensor *ditc_diffusion_noisy_forward(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0,
                                          const int *t, const int32_t *y, ditc_tensor *noise, ditc_tensor **xt_out,
                                          ditc_tensor **coef_out) {
    int64_t B = x0->shape[0];
    float *coef = ditc_xmalloc(sizeof(float) * (size_t)(B * DITC_DIFF_NCOEF)),
          *tf = ditc_xmalloc(sizeof(float) * (size_t)B);
    ditc_diffusion_coefs(d, t, B, coef);
    for (int64_t b = 0; b < B; b++) tf[b] = (float)d->timestep_map[t[b]];
    ditc_tensor *ct = ditc_from_host(c, DITC_F32, 2, (int64_t[]){B, DITC_DIFF_NCOEF}, coef);
    ditc_tensor *xt = ditc_new_like(c, x0);
    c->be->q_sample(c->be, xt, x0, noise, ct);
    ditc_tensor *out = ditc_dit_forward(c, m, xt, tf, y);
    free(coef);
    free(tf);
    *xt_out = xt;
    *coef_out = ct;
    return out;
}

ditc_tensor *ditc_diffusion_training_loss(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0,
                                          const int *t, const int32_t *y, ditc_tensor *noise, ditc_tensor **mse,
                                          ditc_tensor **vb, ditc_tensor **out_model) {
    ditc_tensor *xt, *ct;
    ditc_tensor *out = ditc_diffusion_noisy_forward(c, d, m, x0, t, y, noise, &xt, &ct);
    if (out_model) *out_model = out;
    return ditc_diffusion_loss(c, out, x0, xt, noise, ct, mse, vb);
}

// ---- sampling --------------------------------------------------------------------------------
void ditc_diffusion_sample(ditc_ctx *c, ditc_dit *m, const ditc_diffusion *d, int n, const int32_t *labels,
                           const ditc_sample_opts *o, float *out_host) {
    const ditc_dit_config *cfg = &m->cfg;
    int64_t C = cfg->in_channels, S = cfg->input_size, per = C * S * S;
    int guide = o->cfg_scale != 1.0f, nb = guide ? 2 * n : n;
    int prev = ditc_set_grad_enabled(c, 0);
    // The state x lives outside the per-step arena (which is reset every step).
    ditc_tensor x = {0};
    ditc_tensor_set_shape(&x, DITC_F32, 4, (int64_t[]){n, C, S, S});
    x.backend = c->be;
    x.data = c->be->alloc(c->be, ditc_nbytes(&x));
    DITC_ALLOC_CHECK(x.data, ditc_nbytes(&x));
    const uint64_t off = o->index0 * (uint64_t)per;
    c->be->rng_fill(c->be, &x, DITC_RNG_DIST_NORMAL, o->seed, DITC_RNG_SAMPLING, 0, off);
    float *hook_buf = o->noise_hook ? ditc_xmalloc(sizeof(float) * (size_t)(n * per)) : NULL;
    if (hook_buf) {
        c->be->copy_d2h(c->be, hook_buf, x.data, (size_t)(n * per) * sizeof(float));
        o->noise_hook(0, hook_buf, n * per, o->user);
    }
    int32_t *y = ditc_xmalloc(sizeof(int32_t) * (size_t)nb);
    float *tf = ditc_xmalloc(sizeof(float) * (size_t)nb);
    for (int i = 0; i < nb; i++) y[i] = i < n ? labels[i] : cfg->num_classes; // [y; null]
    int guided = o->cfg_all_channels ? (int)C : (int)(2 * C < 3 ? 2 * C : 3);
    for (int i = d->n - 1; i >= 0; i--) {
        ditc_ctx_reset(c);
        ditc_tensor *in = &x;
        if (guide) {
            ditc_tensor *xs[2] = {&x, &x};
            in = ditc_concat(c, 2, xs, 0);
        }
        for (int b = 0; b < nb; b++) tf[b] = (float)d->timestep_map[i];
        ditc_tensor *out = ditc_dit_forward(c, m, in, tf, y);
        if (guide) c->be->cfg_combine(c->be, out, o->cfg_scale, guided);
        ditc_diff_coefs k;
        ditc_diffusion_coefs(d, &i, 1, k.c);
        ditc_tensor *z = NULL;
        if (i > 0 && !o->ddim) {
            z = ditc_new_like(c, &x);
            c->be->rng_fill(c->be, z, DITC_RNG_DIST_NORMAL, o->seed, DITC_RNG_SAMPLING, (uint32_t)(d->n - i), off);
            if (hook_buf) {
                c->be->copy_d2h(c->be, hook_buf, z->data, (size_t)(n * per) * sizeof(float));
                o->noise_hook(d->n - i, hook_buf, n * per, o->user);
            }
        }
        c->be->diff_step(c->be, &x, out, z, k, o->ddim);
        if (o->progress) o->progress(d->n - i, d->n, o->user);
    }
    c->be->copy_d2h(c->be, out_host, x.data, (size_t)(n * per) * sizeof(float));
    c->be->free(c->be, x.data);
    free(hook_buf);
    free(y);
    free(tf);
    ditc_ctx_reset(c);
    ditc_set_grad_enabled(c, prev);
}
