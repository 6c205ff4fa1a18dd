// sophia.c — SophiaG update and Hessian EMA over the owned runs of the flat buffers (see sophia.h).
#include "sophia.h"

#include "common.h"

static void sophia_update(ditc_optimizer *o, double lr);

void ditc_sophia_configure(ditc_optimizer *o) {
    o->kind = DITC_OPT_SOPHIAG;
    o->update = sophia_update;
    o->beta1 = DITC_SOPHIA_BETA1;
    o->beta2 = DITC_SOPHIA_BETA2;
    o->rho = DITC_SOPHIA_RHO;
    o->hessian_every = DITC_SOPHIA_EVERY;
    o->weight_decay = 0.0;
    o->hess_bs = 1.0;
}

static void sophia_update(ditc_optimizer *o, double lr) {
    ditc_backend *be = o->p->be;
    float *g = o->p->grad, *p = o->p->data;
    // complements and products in double, rounded once (torch gets them as Python floats)
    ditc_sophia_args a = {.beta1 = (float)o->beta1,
                          .one_minus_beta1 = (float)(1.0 - o->beta1),
                          .decay = (float)(1.0 - lr * o->weight_decay),
                          .neg_lr = (float)(-lr),
                          .rho_bs = (float)(o->rho * o->hess_bs),
                          .ema_decay = (float)o->ema_decay,
                          .one_minus_ema_decay = (float)(1.0 - o->ema_decay)};
    for (int r = 0; r < o->n_runs; r++) {
        int64_t b = o->runs[r][0], n = o->runs[r][1] - b, s = b - o->begin;
        be->sophia(be, p + b, g + b, o->m + s, o->v + s, o->ema ? o->ema + s : NULL, (size_t)n, a);
    }
    ditc_optimizer_ema_frozen(o, a.ema_decay, a.one_minus_ema_decay);
}

int ditc_sophia_check_backend(const ditc_backend *be, ditc_status *st) {
    if (be->sophia && be->sophia_hessian) return 0;
    return ditc_fail(st, DITC_ERR_UNSUPPORTED, "--optimizer sophiag: the %s backend has no SophiaG kernels yet",
                     be->name);
}

int ditc_sophia_hessian_due(const ditc_optimizer *o) {
    return o->kind == DITC_OPT_SOPHIAG && o->hessian_every > 0 && o->step > 0 && o->step % o->hessian_every == 0;
}

void ditc_sophia_update_hessian(ditc_optimizer *o) {
    DITC_CHECK(o->kind == DITC_OPT_SOPHIAG, "Hessian update on a non-SophiaG optimizer");
    ditc_backend *be = o->p->be;
    const float *g = o->p->grad;
    float b2 = (float)o->beta2, omb2 = (float)(1.0 - o->beta2);
    for (int r = 0; r < o->n_runs; r++) {
        int64_t b = o->runs[r][0];
        be->sophia_hessian(be, o->v + (b - o->begin), g + b, (size_t)(o->runs[r][1] - b), b2, omb2);
    }
}
