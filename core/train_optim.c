// train_optim.c — optimizer set-up from the training flags and SophiaG's Hessian pass (see train_optim.h).
#include "train_optim.h"

#include <math.h>
#include <string.h>

#include "optim_sophia.h"
#include "rng.h"
#include "sophia_gnb.h"

static int bad_beta(double b) { return !(b >= 0.0 && b < 1.0); }

int ditc_train_optim_check(const ditc_train_args *a, ditc_status *st) {
    const char *name = a->optimizer ? a->optimizer : "adamw";
    int sophia = !strcmp(name, "sophiag");
    if (!sophia && strcmp(name, "adamw"))
        return ditc_fail(st, DITC_ERR_ARG, "--optimizer %s: expected adamw or sophiag", name);
    double lr = isnan(a->lr) ? (sophia ? DITC_SOPHIA_LR : 1e-4) : a->lr;
    if (!(lr > 0) || !isfinite(lr)) return ditc_fail(st, DITC_ERR_ARG, "--lr %g: must be a positive number", lr);
    if (!isnan(a->beta1) && bad_beta(a->beta1)) return ditc_fail(st, DITC_ERR_ARG, "--beta1 %g: must be in [0, 1)", a->beta1);
    if (!isnan(a->beta2) && bad_beta(a->beta2)) return ditc_fail(st, DITC_ERR_ARG, "--beta2 %g: must be in [0, 1)", a->beta2);
    if (!(a->weight_decay >= 0) || !isfinite(a->weight_decay))
        return ditc_fail(st, DITC_ERR_ARG, "--weight-decay %g: must be a non-negative number", a->weight_decay);
    if (!(a->rho >= 0) || !isfinite(a->rho)) return ditc_fail(st, DITC_ERR_ARG, "--rho %g: must be a non-negative number", a->rho);
    if (a->hessian_every < 1)
        return ditc_fail(st, DITC_ERR_ARG, "--hessian-every %lld: must be at least 1", (long long)a->hessian_every);
    return 0;
}

int ditc_train_optim_init(ditc_adamw *o, ditc_params *p, const ditc_train_args *a, int64_t begin, int64_t end,
                          int64_t hess_elems, ditc_status *st) {
    if (ditc_train_optim_check(a, st)) return st ? st->code : 1;
    int sophia = a->optimizer && !strcmp(a->optimizer, "sophiag");
    double lr = isnan(a->lr) ? (sophia ? DITC_SOPHIA_LR : 1e-4) : a->lr;
    if (sophia && ditc_sophia_check_backend(p->be, st)) return st ? st->code : 1;
    ditc_adamw_init_shard(o, p, lr, 1, begin, end);
    if (sophia) {
        ditc_sophia_configure(o);
        o->rho = a->rho;
        o->hessian_every = a->hessian_every;
        o->hess_bs = (double)hess_elems;
    }
    if (!isnan(a->beta1)) o->beta1 = a->beta1;
    if (!isnan(a->beta2)) o->beta2 = a->beta2;
    o->weight_decay = a->weight_decay;
    o->ema_decay = a->ema_decay;
    o->max_grad_norm = a->max_grad_norm;
    o->warmup_steps = a->warmup_steps;
    return 0;
}

const char *ditc_train_optim_name(const ditc_adamw *o) { return o->kind == DITC_OPT_SOPHIAG ? "sophiag" : "adamw"; }

// dst (n, C, H, W) = the normal stream `purpose` of each sample at its global batch position.
static void fill_keyed(ditc_backend *be, ditc_tensor *dst, const int64_t *pos, uint64_t seed, uint32_t purpose,
                       int64_t step) {
    int64_t n = dst->shape[0], per = dst->shape[1] * dst->shape[2] * dst->shape[3];
    for (int64_t b = 0; b < n; b++) {
        ditc_tensor v = *dst;
        ditc_tensor_set_shape(&v, DITC_F32, 3, dst->shape + 1);
        v.data = (float *)dst->data + b * per;
        be->rng_fill(be, &v, DITC_RNG_DIST_NORMAL, seed, purpose, (uint32_t)step, (uint64_t)pos[b] * (uint64_t)per);
    }
}

int ditc_train_hessian_pass(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_adamw *o, ditc_comm *comm,
                            const ditc_batch *bt, int64_t mb, uint64_t seed, int64_t step, int zero) {
    if (!ditc_sophia_hessian_due(o)) return 0;
    ditc_backend *be = m->params.be;
    const ditc_dit_config *cfg = &m->cfg;
    int64_t B = bt->B, per = bt->per;
    ditc_params_zero_grad(&m->params);
    for (int64_t m0 = 0; m0 < B; m0 += mb) {
        ditc_ctx_reset(c);
        int64_t shape[4] = {mb, cfg->in_channels, cfg->input_size, cfg->input_size};
        ditc_tensor *x0 = ditc_from_host(c, DITC_F32, 4, shape, bt->x + m0 * per);
        ditc_tensor *noise = ditc_new(c, DITC_F32, 4, shape), *z = ditc_new(c, DITC_F32, 4, shape);
        fill_keyed(be, noise, bt->pos + m0, seed, DITC_RNG_NOISE, step); // the step's x_t again
        fill_keyed(be, z, bt->pos + m0, seed, DITC_RNG_HESSIAN, step);
        ditc_tensor *loss = ditc_sophia_gnb_loss(c, d, m, x0, bt->t + m0, bt->y + m0, noise, z);
        if (mb < B) loss = ditc_scale(c, loss, (float)mb / (float)B);
        ditc_backward(c, loss);
    }
    ditc_params_settle_grad(&m->params);
    if (comm->world > 1) { // the mean over ranks, as the gradient
        float *g = m->params.grad;
        size_t nflat = (size_t)m->params.numel;
        if (zero) comm->reduce_scatter_sum(comm, be, g, nflat, DITC_F32);
        else comm->allreduce_sum(comm, be, g, nflat, DITC_F32);
        be->scale_buffer(be, g + o->begin, (size_t)(o->end - o->begin), 1.0f / (float)comm->world);
    }
    ditc_sophia_update_hessian(o);
    return 1;
}
