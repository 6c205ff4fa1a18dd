// optim.c — AdamW + EMA over flat buffers.
#include "optim.h"

#include <math.h>
#include <string.h>

#include "common.h"

static void add_range(int64_t (**r)[2], int *n, int64_t b, int64_t e) {
    if (*n && (*r)[*n - 1][1] >= b) { // contiguous up to alignment padding: merge
        (*r)[*n - 1][1] = e;
        return;
    }
    *r = ditc_xrealloc(*r, (size_t)(*n + 1) * sizeof **r);
    (*r)[*n][0] = b;
    (*r)[*n][1] = e;
    (*n)++;
}

void ditc_adamw_init(ditc_adamw *o, ditc_params *p, double lr, int with_ema) {
    memset(o, 0, sizeof *o);
    o->p = p;
    o->lr = lr;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->ema_decay = 0.9999;
    o->m = ditc_params_alloc_like(p, DITC_F32);
    o->v = ditc_params_alloc_like(p, DITC_F32);
    if (with_ema) o->ema = ditc_params_alloc_like(p, DITC_F32);
    for (int i = 0; i < p->n; i++) {
        int64_t b = p->offset[i], e = i + 1 < p->n ? p->offset[i + 1] : p->numel; // include padding (zeros)
        if (p->t[i]->requires_grad) add_range(&o->runs, &o->n_runs, b, e);
        else add_range(&o->frozen, &o->n_frozen, b, e);
    }
}

void ditc_adamw_free(ditc_adamw *o) {
    ditc_backend *be = o->p->be;
    be->free(be, o->m);
    be->free(be, o->v);
    if (o->ema) be->free(be, o->ema);
    free(o->runs);
    free(o->frozen);
    memset(o, 0, sizeof *o);
}

void ditc_adamw_ema_copy(ditc_adamw *o) {
    if (o->ema) o->p->be->copy_d2d(o->p->be, o->ema, o->p->data, (size_t)o->p->numel * sizeof(float));
}

double ditc_adamw_current_lr(const ditc_adamw *o) {
    if (o->warmup_steps > 0 && o->step < o->warmup_steps)
        return o->lr * (double)(o->step + 1) / (double)o->warmup_steps;
    return o->lr;
}

double ditc_adamw_step(ditc_adamw *o) {
    ditc_backend *be = o->p->be;
    float *g = o->p->grad, *p = o->p->data;
    ditc_params_settle_grad(o->p);
    double norm = sqrt(be->sum_squares(be, g, (size_t)o->p->numel)); // padding and frozen grads are 0
    if (o->max_grad_norm > 0.0) { // torch.nn.utils.clip_grad_norm_
        double coef = o->max_grad_norm / (norm + 1e-6);
        if (coef < 1.0) be->scale_buffer(be, g, (size_t)o->p->numel, (float)coef);
    }
    double lr = ditc_adamw_current_lr(o);
    o->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
    ditc_adamw_args a = {.beta1 = (float)o->beta1, .one_minus_beta1 = (float)(1.0 - o->beta1),
                         .beta2 = (float)o->beta2, .one_minus_beta2 = (float)(1.0 - o->beta2), .eps = (float)o->eps,
                         .decay = (float)(1.0 - lr * o->weight_decay), .step_size = (float)(lr / bc1),
                         .bc2_sqrt = (float)sqrt(bc2), .ema_decay = (float)o->ema_decay,
                         .one_minus_ema_decay = (float)(1.0 - o->ema_decay)};
    for (int r = 0; r < o->n_runs; r++) {
        int64_t b = o->runs[r][0], n = o->runs[r][1] - b;
        be->adamw(be, p + b, g + b, o->m + b, o->v + b, o->ema ? o->ema + b : NULL, (size_t)n, a);
    }
    for (int r = 0; o->ema && r < o->n_frozen; r++) {
        int64_t b = o->frozen[r][0];
        be->ema_update(be, o->ema + b, p + b, (size_t)(o->frozen[r][1] - b), a.ema_decay,
                       a.one_minus_ema_decay);
    }
    return norm;
}
