// check.c — the numerics dump behind `ditc check` (see check.h and the reference tests/reference/).
#include "check.h"

#include <math.h>
#include <string.h>

#include "checkpoint.h"
#include "diffusion.h"
#include "rng.h"
#include "sophia.h"
#include "sophia_gnb.h"
#include "weights_file.h"

// Reads an integer tensor (I64/I32/F32 holding integers) of shape [B] with values in [lo, hi].
static int read_ints(const ditc_safetensors *s, const char *name, int64_t B, int lo, int hi, int *out,
                     ditc_status *st) {
    const ditc_st_tensor *t = ditc_st_find(s, name);
    if (!t || t->ndim != 1 || t->shape[0] != B)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: tensor \"%s\" must exist with shape [%lld]", s->label, name,
                         (long long)B);
    float *f = ditc_xmalloc(sizeof(float) * (size_t)B);
    int r = ditc_st_read_f32(s, t, f, st);
    for (int64_t i = 0; !r && i < B; i++) {
        if (f[i] != floorf(f[i]) || f[i] < (float)lo || f[i] > (float)hi)
            r = ditc_fail(st, DITC_ERR_FORMAT, "%s: %s[%lld] = %g outside [%d, %d]", s->label, name, (long long)i, f[i],
                          lo, hi);
        out[i] = (int)f[i];
    }
    free(f);
    return r;
}

static int read_image(const ditc_safetensors *s, const char *name, const ditc_dit_config *c, int64_t *B, float **out,
                      ditc_status *st) {
    const ditc_st_tensor *t = ditc_st_find(s, name);
    if (!t || t->ndim != 4 || t->shape[1] != c->in_channels || t->shape[2] != c->input_size ||
        t->shape[3] != c->input_size)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: tensor \"%s\" must be F32 [B, %d, %d, %d] for these weights",
                         s->label, name, c->in_channels, c->input_size, c->input_size);
    if (*B && t->shape[0] != *B)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: \"%s\" batch differs from x", s->label, name);
    *B = t->shape[0];
    *out = ditc_xmalloc(sizeof(float) * (size_t)ditc_st_numel(t));
    return ditc_st_read_f32(s, t, *out, st);
}

// Large-DiT weights fix only C·p² and work at any side (RoPE): take C and the side from the inputs' x.
static int fit_ldit_input(ditc_dit_config *c, const ditc_safetensors *in, ditc_status *st) {
    const ditc_st_tensor *x = ditc_st_find(in, "x");
    if (c->arch != DITC_ARCH_LDIT || !x || x->ndim != 4 || x->shape[1] < 1) return 0;
    int64_t P = (int64_t)c->in_channels * c->patch * c->patch, C = x->shape[1];
    int p = ditc_ldit_patch_side(P, C);
    if (!p)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: x has %lld channels; these weights embed patches of %lld values",
                         in->label, (long long)C, (long long)P);
    c->in_channels = (int)C;
    c->patch = p;
    c->input_size = (int)x->shape[2];
    return ditc_dit_config_validate(c, st);
}

typedef struct {
    float *x, *noise;
    int *t;
    int32_t *y;
    int64_t B;
} batch;

// One loss evaluation on the fixed batch; returns mean(loss) as a tensor (for backward).
static ditc_tensor *batch_loss(ditc_ctx *c, ditc_dit *m, const ditc_diffusion *d, const batch *b, ditc_tensor **out,
                               ditc_tensor **mse, ditc_tensor **vb, ditc_tensor **loss) {
    const ditc_dit_config *cfg = &m->cfg;
    int64_t shape[4] = {b->B, cfg->in_channels, cfg->input_size, cfg->input_size};
    ditc_tensor *x0 = ditc_from_host(c, DITC_F32, 4, shape, b->x),
                *nz = ditc_from_host(c, DITC_F32, 4, shape, b->noise);
    ditc_tensor *l = ditc_diffusion_training_loss(c, d, m, x0, b->t, b->y, nz, mse, vb, out);
    if (loss) *loss = l;
    return ditc_mean(c, l, 0);
}

// SophiaG's Hessian refresh on the fixed batch after update `step` (1-based): z from (seed 0,
// DITC_RNG_HESSIAN, step − 1, element index), as the trainer keys it for a one-sample-per-position batch.
// Copies z to zh (B·C·S·S floats) and returns the GNB loss.
static float hessian_refresh(ditc_ctx *c, ditc_dit *m, const ditc_diffusion *d, const batch *b, ditc_optimizer *o,
                             float *zh) {
    const ditc_dit_config *cfg = &m->cfg;
    int64_t shape[4] = {b->B, cfg->in_channels, cfg->input_size, cfg->input_size};
    ditc_ctx_reset(c);
    ditc_params_zero_grad(&m->params);
    ditc_tensor *x0 = ditc_from_host(c, DITC_F32, 4, shape, b->x),
                *nz = ditc_from_host(c, DITC_F32, 4, shape, b->noise);
    ditc_tensor *z = ditc_new(c, DITC_F32, 4, shape);
    c->be->rng_fill(c->be, z, DITC_RNG_DIST_NORMAL, 0, DITC_RNG_HESSIAN, (uint32_t)(o->step - 1), 0);
    ditc_to_host(z, zh);
    ditc_tensor *l = ditc_sophia_gnb_loss(c, d, m, x0, b->t, b->y, nz, z);
    float lv;
    ditc_to_host(l, &lv);
    ditc_backward(c, l);
    ditc_params_settle_grad(&m->params);
    ditc_sophia_update_hessian(o);
    return lv;
}

static float *host_copy(const ditc_tensor *t) {
    float *h = ditc_xmalloc(ditc_nbytes(t));
    ditc_to_host(t, h);
    return h;
}

// The parameter gradients of the batch-mean loss, as grad.<name>.
static void add_grads(ditc_ctx *c, ditc_dit *m, ditc_tensor *mean, ditc_st_writer *wr, float **keep, int *nkeep) {
    ditc_backward(c, mean);
    ditc_params_settle_grad(&m->params);
    float *g = keep[(*nkeep)++] = ditc_xmalloc(sizeof(float) * (size_t)m->params.numel);
    m->params.be->copy_d2h(m->params.be, g, m->params.grad, sizeof(float) * (size_t)m->params.numel);
    for (int i = 0; i < m->params.n; i++) {
        ditc_tensor *t = m->params.t[i];
        if (!t->requires_grad) continue;
        char name[2 * DITC_NAME_MAX];
        snprintf(name, sizeof name, "grad.%s", t->name);
        ditc_st_writer_add(wr, name, DITC_F32, t->ndim, t->shape, g + m->params.offset[i]);
    }
}

// a->train_steps optimizer steps on the batch: per-step losses, SophiaG's GNB losses and target noise, and the
// weights after the last step.
static void train_steps(ditc_ctx *c, ditc_dit *m, const ditc_diffusion *d, batch *b, const ditc_check_args *a,
                        int sophia, ditc_st_writer *wr, float **keep, int *nkeep) {
    ditc_optimizer o;
    ditc_optimizer_init(&o, &m->params, isnan(a->lr) ? (sophia ? DITC_SOPHIA_LR : 1e-4) : a->lr, 0);
    int64_t per = (int64_t)m->cfg.in_channels * m->cfg.input_size * m->cfg.input_size, nref = 0;
    if (sophia) {
        ditc_sophia_configure(&o);
        o.rho = a->rho;
        o.hessian_every = a->hessian_every;
        o.hess_bs = (double)(b->B * per); // the element count of the batch (core/diffusion/sophia_gnb.h)
    }
    int64_t maxref = sophia ? a->train_steps / a->hessian_every : 0;
    float *ls = keep[(*nkeep)++] = ditc_xmalloc(sizeof(float) * (size_t)a->train_steps);
    float *zh = keep[(*nkeep)++] = ditc_xmalloc(sizeof(float) * (size_t)((maxref ? maxref : 1) * b->B * per));
    float *gl = keep[(*nkeep)++] = ditc_xmalloc(sizeof(float) * (size_t)(maxref ? maxref : 1));
    for (int s = 0; s < a->train_steps; s++) {
        ditc_ctx_reset(c);
        ditc_params_zero_grad(&m->params);
        ditc_tensor *lm = batch_loss(c, m, d, b, NULL, NULL, NULL, NULL);
        ditc_to_host(lm, &ls[s]);
        ditc_backward(c, lm);
        ditc_optimizer_step(&o);
        if (ditc_sophia_hessian_due(&o)) {
            gl[nref] = hessian_refresh(c, m, d, b, &o, zh + nref * b->B * per);
            nref++;
        }
    }
    int64_t n = a->train_steps;
    ditc_st_writer_add(wr, "loss_steps", DITC_F32, 1, &n, ls);
    if (nref) {
        int64_t zs[5] = {nref, b->B, m->cfg.in_channels, m->cfg.input_size, m->cfg.input_size};
        ditc_st_writer_add(wr, "hessian_noise", DITC_F32, 5, zs, zh);
        ditc_st_writer_add(wr, "gnb_loss", DITC_F32, 1, &nref, gl);
    }
    float *p = keep[(*nkeep)++] = ditc_xmalloc(sizeof(float) * (size_t)m->params.numel);
    m->params.be->copy_d2h(m->params.be, p, m->params.data, sizeof(float) * (size_t)m->params.numel);
    ditc_params_to_writer(&m->params, p, "param.", wr);
    ditc_optimizer_free(&o);
}

int ditc_check_run(ditc_backend *be, const ditc_check_args *a, ditc_status *st) {
    ditc_safetensors w = {0}, in = {0};
    ditc_dit m = {0};
    ditc_dit_config cfg;
    batch b = {0};
    ditc_diffusion d = {0};
    ditc_ctx c = {0};
    ditc_st_writer *wr = NULL;
    float *keep[12] = {0};
    int nkeep = 0, r;
    if ((r = ditc_weights_open(&w, a->ckpt, NULL, st)) ||
        (r = ditc_dit_config_from_weights(&cfg, &w, a->num_heads, st)))
        goto done;
    if ((r = ditc_st_open(&in, a->inputs, st))) goto done;
    if ((r = fit_ldit_input(&cfg, &in, st))) goto done;
    ditc_dit_create(&m, &cfg, be);
    if ((r = ditc_params_from_file(&m.params, m.params.data, &w, "", 1, st))) goto done;
    if ((r = read_image(&in, "x", &cfg, &b.B, &b.x, st)) || (r = read_image(&in, "noise", &cfg, &b.B, &b.noise, st)))
        goto done;
    b.t = ditc_xmalloc(sizeof(int) * (size_t)b.B);
    b.y = ditc_xmalloc(sizeof(int32_t) * (size_t)b.B);
    if ((r = read_ints(&in, "t", b.B, 0, DITC_DIFF_TRAIN_STEPS - 1, b.t, st)) ||
        (r = read_ints(&in, "y", b.B, 0, cfg.num_classes, (int *)b.y, st)))
        goto done;
    ditc_diffusion_init(&d, "", NULL);
    ditc_ctx_init(&c, be);
    wr = ditc_st_writer_new();

    ditc_tensor *out, *mse, *vb, *loss;
    ditc_params_zero_grad(&m.params);
    ditc_tensor *mean = batch_loss(&c, &m, &d, &b, &out, &mse, &vb, &loss);
    ditc_tensor *res[4] = {out, mse, vb, loss};
    const char *names[4] = {"output", "mse", "vb", "loss"};
    for (int i = 0; i < 4; i++) {
        keep[nkeep] = host_copy(res[i]);
        ditc_st_writer_add(wr, names[i], DITC_F32, res[i]->ndim, res[i]->shape, keep[nkeep++]);
    }
    if (a->grads) add_grads(&c, &m, mean, wr, keep, &nkeep);
    int sophia = a->optimizer && !strcmp(a->optimizer, "sophiag");
    if (a->train_steps > 0 && sophia && (r = ditc_sophia_check_backend(be, st))) goto done;
    if (a->train_steps > 0) train_steps(&c, &m, &d, &b, a, sophia, wr, keep, &nkeep);
    r = ditc_st_writer_save(wr, a->out, st);
done:
    if (wr) ditc_st_writer_free(wr);
    for (int i = 0; i < nkeep; i++) free(keep[i]);
    if (c.be) ditc_ctx_free(&c);
    ditc_diffusion_free(&d);
    if (m.params.be) ditc_dit_free(&m);
    free(b.x);
    free(b.noise);
    free(b.t);
    free(b.y);
    ditc_st_close(&w);
    ditc_st_close(&in);
    return r;
}
