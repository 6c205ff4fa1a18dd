// train_optim.c — the optimizer from the training flags (train_internal.h).

#include <math.h>
#include <string.h>

#include "sophia.h"
#include "train_internal.h"

static int bad_beta(double b) { return !(b >= 0.0 && b < 1.0); }

int ditc_train_optim_check(const ditc_train_args *a, ditc_status *st) {
    const char *name = a->optimizer ? a->optimizer : "adamw";
    int sophia = !strcmp(name, "sophiag");
    if (!sophia && strcmp(name, "adamw"))
        return ditc_fail(st, DITC_ERR_ARG, "--optimizer %s: expected adamw or sophiag", name);
    double lr = isnan(a->lr) ? (sophia ? DITC_SOPHIA_LR : 1e-4) : a->lr;
    if (!(lr > 0) || !isfinite(lr)) return ditc_fail(st, DITC_ERR_ARG, "--lr %g: must be a positive number", lr);
    if (!isnan(a->beta1) && bad_beta(a->beta1))
        return ditc_fail(st, DITC_ERR_ARG, "--beta1 %g: must be in [0, 1)", a->beta1);
    if (!isnan(a->beta2) && bad_beta(a->beta2))
        return ditc_fail(st, DITC_ERR_ARG, "--beta2 %g: must be in [0, 1)", a->beta2);
    if (!(a->weight_decay >= 0) || !isfinite(a->weight_decay))
        return ditc_fail(st, DITC_ERR_ARG, "--weight-decay %g: must be a non-negative number", a->weight_decay);
    if (!(a->rho >= 0) || !isfinite(a->rho))
        return ditc_fail(st, DITC_ERR_ARG, "--rho %g: must be a non-negative number", a->rho);
    if (a->hessian_every < 1)
        return ditc_fail(st, DITC_ERR_ARG, "--hessian-every %lld: must be at least 1", (long long)a->hessian_every);
    return 0;
}

int ditc_train_optim_init(ditc_optimizer *o, ditc_params *p, const ditc_train_args *a, int64_t begin, int64_t end,
                          int64_t hess_elems, ditc_status *st) {
    if (ditc_train_optim_check(a, st)) return st ? st->code : 1;
    int sophia = a->optimizer && !strcmp(a->optimizer, "sophiag");
    double lr = isnan(a->lr) ? (sophia ? DITC_SOPHIA_LR : 1e-4) : a->lr;
    if (sophia && ditc_sophia_check_backend(p->be, st)) return st ? st->code : 1;
    ditc_optimizer_init_shard(o, p, lr, 1, begin, end);
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
    o->min_lr_ratio = a->min_lr_ratio;
    return 0;
}
