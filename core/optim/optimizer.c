// optimizer.c — the optimizer state over flat buffers, clipping, warm-up, EMA, and the AdamW update rule.
#include "optimizer.h"

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

static void add_clipped(int64_t (**r)[2], int *n, int64_t b, int64_t e, int64_t lo, int64_t hi) {
    if (b < lo) b = lo;
    if (e > hi) e = hi;
    if (b < e) add_range(r, n, b, e);
}

static void adamw_update(ditc_optimizer *o, double lr);

void ditc_optimizer_init_shard(ditc_optimizer *o, ditc_params *p, double lr, int with_ema, int64_t begin, int64_t end) {
    DITC_CHECK(p->finalized && begin >= 0 && begin <= end && end <= p->numel, "optimizer shard [%lld, %lld)",
               (long long)begin, (long long)end);
    memset(o, 0, sizeof *o);
    o->p = p;
    o->begin = begin;
    o->end = end;
    o->lr = lr;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->ema_decay = 0.9999;
    o->update = adamw_update;
    size_t n = (size_t)(end - begin), bytes = (n ? n : 1) * sizeof(float);
    float **bufs[3] = {&o->m, &o->v, &o->ema};
    for (int k = 0; k < (with_ema ? 3 : 2); k++) {
        *bufs[k] = p->be->alloc(p->be, bytes);
        DITC_ALLOC_CHECK(*bufs[k], bytes);
        p->be->fill(p->be, *bufs[k], DITC_F32, n, 0.0f);
    }
    o->sumsq = p->be->alloc(p->be, sizeof(double));
    DITC_ALLOC_CHECK(o->sumsq, sizeof(double));
    for (int i = 0; i < p->n; i++) {
        int64_t b = p->offset[i], e = i + 1 < p->n ? p->offset[i + 1] : p->numel; // include padding (zeros)
        if (p->t[i]->requires_grad) add_clipped(&o->runs, &o->n_runs, b, e, begin, end);
        else add_clipped(&o->frozen, &o->n_frozen, b, e, begin, end);
    }
}

void ditc_optimizer_init(ditc_optimizer *o, ditc_params *p, double lr, int with_ema) {
    ditc_optimizer_init_shard(o, p, lr, with_ema, 0, p->numel);
}

size_t ditc_optimizer_state_bytes(const ditc_optimizer *o) {
    return (size_t)(o->end - o->begin) * sizeof(float) * (o->ema ? 3 : 2);
}

void ditc_optimizer_free(ditc_optimizer *o) {
    ditc_backend *be = o->p->be;
    be->free(be, o->m);
    be->free(be, o->v);
    if (o->ema) be->free(be, o->ema);
    be->free(be, o->sumsq);
    free(o->runs);
    free(o->frozen);
    memset(o, 0, sizeof *o);
}

void ditc_optimizer_ema_copy(ditc_optimizer *o) {
    if (o->ema)
        o->p->be->copy_d2d(o->p->be, o->ema, (float *)o->p->data + o->begin,
                           (size_t)(o->end - o->begin) * sizeof(float));
}

double ditc_optimizer_current_lr(const ditc_optimizer *o) {
    if (o->warmup_steps > 0 && o->step < o->warmup_steps)
        return o->lr * (double)(o->step + 1) / (double)o->warmup_steps;
    if (o->decay_steps > o->warmup_steps) { // cosine from lr (end of the warm-up) to lr · min_lr_ratio
        double f = (double)(o->step - o->warmup_steps) / (double)(o->decay_steps - o->warmup_steps);
        if (f > 1) f = 1;
        return o->lr * (o->min_lr_ratio + (1 - o->min_lr_ratio) * 0.5 * (1 + cos(3.14159265358979323846 * f)));
    }
    return o->lr;
}

void ditc_optimizer_grad_sumsq_to(ditc_optimizer *o, double *out) {
    ditc_backend *be = o->p->be;
    be->sum_squares(be, out, (float *)o->p->grad + o->begin, (size_t)(o->end - o->begin)); // padding/frozen are 0
}

double ditc_optimizer_grad_sumsq(ditc_optimizer *o) {
    double s;
    ditc_optimizer_grad_sumsq_to(o, o->sumsq);
    o->p->be->copy_d2h(o->p->be, &s, o->sumsq, sizeof s);
    return s;
}

// torch.optim.AdamW (decoupled weight decay), the EMA fused.
static void adamw_update(ditc_optimizer *o, double lr) {
    ditc_backend *be = o->p->be;
    float *g = o->p->grad, *p = o->p->data;
    double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
    ditc_adamw_args a = {.beta1 = (float)o->beta1,
                         .one_minus_beta1 = (float)(1.0 - o->beta1),
                         .beta2 = (float)o->beta2,
                         .one_minus_beta2 = (float)(1.0 - o->beta2),
                         .eps = (float)o->eps,
                         .decay = (float)(1.0 - lr * o->weight_decay),
                         .step_size = (float)(lr / bc1),
                         .bc2_sqrt = (float)sqrt(bc2),
                         .ema_decay = (float)o->ema_decay,
                         .one_minus_ema_decay = (float)(1.0 - o->ema_decay)};
    // the bf16 weight copy of the training passes (params.h), when this update covers every parameter: written
    // with the weights, so the next pass need not round them (frozen parameters do not change; a shard's update is
    // followed by an all-gather of the weights, and the next pass rounds them)
    ditc_params *pp = o->p;
    uint16_t *p16 = pp->bf16 && o->begin == 0 && o->end == pp->numel ? pp->bf16 : NULL;
    for (int r = 0; r < o->n_runs; r++) {
        int64_t b = o->runs[r][0], n = o->runs[r][1] - b, s = b - o->begin;
        be->adamw(be, p + b, g + b, o->m + s, o->v + s, o->ema ? o->ema + s : NULL, p16 ? p16 + b : NULL, (size_t)n, a);
    }
    pp->bf16_current = p16 != NULL;
    ditc_optimizer_ema_frozen(o, a.ema_decay, a.one_minus_ema_decay);
}

void ditc_optimizer_apply(ditc_optimizer *o, double norm) {
    ditc_backend *be = o->p->be;
    if (o->max_grad_norm > 0.0) { // torch.nn.utils.clip_grad_norm_
        double coef = o->max_grad_norm / (norm + 1e-6);
        if (coef < 1.0) be->scale_buffer(be, (float *)o->p->grad + o->begin, (size_t)(o->end - o->begin), (float)coef);
    }
    double lr = ditc_optimizer_current_lr(o);
    o->step++;
    o->p->bf16_current = 0; // the weights change: their bf16 copy is current again only if the update writes it
    o->update(o, lr);
}

void ditc_optimizer_ema_frozen(ditc_optimizer *o, float d, float one_minus_d) {
    ditc_backend *be = o->p->be;
    for (int r = 0; o->ema && r < o->n_frozen; r++) {
        int64_t b = o->frozen[r][0];
        be->ema_update(be, o->ema + (b - o->begin), o->p->data + b, (size_t)(o->frozen[r][1] - b), d, one_minus_d);
    }
}

double ditc_optimizer_step(ditc_optimizer *o) {
    ditc_params_settle_grad(o->p);
    double norm = sqrt(ditc_optimizer_grad_sumsq(o));
    ditc_optimizer_apply(o, norm);
    return norm;
}

const char *ditc_optimizer_name(const ditc_optimizer *o) { return o->kind == DITC_OPT_SOPHIAG ? "sophiag" : "adamw"; }
