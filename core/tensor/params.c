// params.c — flat parameter/gradient buffers and their per-tensor views.
#include "params.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

void ditc_params_init(ditc_params *p, ditc_backend *be, ditc_dtype dtype) {
    memset(p, 0, sizeof *p);
    p->be = be;
    p->dtype = dtype;
}

void ditc_params_free(ditc_params *p) {
    for (int i = 0; i < p->n; i++) {
        free(p->t[i]->grad);
        free(p->t[i]);
    }
    if (p->data) p->be->free(p->be, p->data);
    if (p->grad) p->be->free(p->be, p->grad);
    if (p->bf16) p->be->free(p->be, p->bf16);
    free(p->bf16_views);
    free(p->t);
    free(p->offset);
    memset(p, 0, sizeof *p);
}

ditc_tensor *ditc_params_add(ditc_params *p, const char *name, int ndim, const int64_t *shape, int trainable) {
    DITC_CHECK(!p->finalized, "parameter %s declared after finalize", name);
    DITC_CHECK(strlen(name) < DITC_NAME_MAX, "parameter name too long: %s", name);
    DITC_CHECK(ditc_params_find(p, name) == NULL, "duplicate parameter %s", name);
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->t = ditc_xrealloc(p->t, (size_t)p->cap * sizeof *p->t);
        p->offset = ditc_xrealloc(p->offset, (size_t)p->cap * sizeof *p->offset);
    }
    ditc_tensor *t = ditc_xcalloc(1, sizeof *t);
    ditc_tensor_set_shape(t, p->dtype, ndim, shape);
    strcpy(t->name, name);
    t->backend = p->be;
    t->requires_grad = trainable;
    t->is_param = 1;
    p->offset[p->n] = p->numel;
    p->numel += (t->numel + DITC_PARAM_ALIGN - 1) / DITC_PARAM_ALIGN * DITC_PARAM_ALIGN;
    p->numel_real += t->numel;
    p->t[p->n++] = t;
    return t;
}

void *ditc_params_alloc_like(ditc_params *p, ditc_dtype dtype) {
    DITC_CHECK(p->finalized, "alloc_like before finalize");
    size_t bytes = (size_t)p->numel * ditc_dtype_size(dtype);
    void *buf = p->be->alloc(p->be, bytes);
    DITC_ALLOC_CHECK(buf, bytes);
    p->be->fill(p->be, buf, dtype, (size_t)p->numel, 0.0f);
    return buf;
}

ditc_tensor ditc_params_view(const ditc_params *p, int i, void *flat, ditc_dtype dtype) {
    DITC_CHECK(i >= 0 && i < p->n, "param index %d", i);
    ditc_tensor v = *p->t[i];
    v.dtype = dtype;
    v.data = (char *)flat + (size_t)p->offset[i] * ditc_dtype_size(dtype);
    v.grad = NULL;
    v.bf16 = NULL;
    v.requires_grad = 0;
    v.is_param = 0;
    return v;
}

void ditc_params_finalize(ditc_params *p) {
    DITC_CHECK(!p->finalized, "finalize twice");
    p->finalized = 1;
    p->data = ditc_params_alloc_like(p, p->dtype);
    p->grad = ditc_params_alloc_like(p, DITC_F32);
    for (int i = 0; i < p->n; i++) {
        ditc_tensor *t = p->t[i];
        t->data = (char *)p->data + (size_t)p->offset[i] * ditc_dtype_size(p->dtype);
        ditc_tensor *g = ditc_xcalloc(1, sizeof *g);
        *g = ditc_params_view(p, i, p->grad, DITC_F32);
        t->grad = g;
    }
}

void ditc_params_zero_grad(ditc_params *p) {
    for (int i = 0; i < p->n; i++) p->t[i]->grad_ready = 0;
}

void ditc_params_settle_grad(ditc_params *p) { ditc_params_settle_grad_range(p, 0, p->n); }

void ditc_params_settle_grad_range(ditc_params *p, int first, int last) {
    for (int i = first; i < last; i++) {
        ditc_tensor *t = p->t[i];
        if (t->grad_ready) continue;
        p->be->fill(p->be, t->grad->data, DITC_F32, (size_t)t->numel, 0.0f);
        t->grad_ready = 1;
    }
}

ditc_tensor *ditc_params_find(const ditc_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->t[i]->name, name) == 0) return p->t[i];
    return NULL;
}

void ditc_params_bf16_begin(ditc_params *p) {
    static int off = -1; // DITC_BF16_SHADOW=0: no copy (A/B)
    if (off < 0) {
        const char *e = getenv("DITC_BF16_SHADOW");
        off = e && !strcmp(e, "0");
    }
    if (p->be->precision != DITC_PREC_BF16 || p->dtype != DITC_F32 || off) return;
    DITC_CHECK(p->finalized, "bf16 copy before finalize");
    if (!p->bf16) {
        p->bf16 = ditc_params_alloc_like(p, DITC_BF16);
        p->bf16_views = ditc_xcalloc((size_t)p->n, sizeof *p->bf16_views);
        for (int i = 0; i < p->n; i++) p->bf16_views[i] = ditc_params_view(p, i, p->bf16, DITC_BF16);
    }
    if (!p->bf16_current) { // the whole flat buffer in one cast (the padding is 0 in both)
        ditc_tensor src = ditc_tensor_flat(p->data, DITC_F32, p->numel),
                    dst = ditc_tensor_flat(p->bf16, DITC_BF16, p->numel);
        src.backend = dst.backend = p->be;
        p->be->cast(p->be, &dst, &src);
        p->bf16_current = 1;
    }
    for (int i = 0; i < p->n; i++) p->t[i]->bf16 = &p->bf16_views[i];
}

void ditc_params_bf16_end(ditc_params *p) {
    for (int i = 0; i < p->n; i++) p->t[i]->bf16 = NULL;
    p->bf16_current = 0;
}
