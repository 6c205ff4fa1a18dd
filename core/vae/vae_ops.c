// vae_ops.c — shape checks and result allocation for the forward-only VAE ops (vae_ops.h); the
// arithmetic is the backend's (conv2d_fwd, group_norm_fwd, upsample2x_fwd, spatial_attn_fwd).
#include "vae_ops.h"

#include <math.h>

#include "common.h"

ditc_tensor *ditc_vt_new(ditc_backend *be, int ndim, const int64_t *shape) {
    ditc_tensor *t = ditc_xcalloc(1, sizeof *t);
    ditc_tensor_set_shape(t, DITC_F32, ndim, shape);
    t->backend = be;
    size_t bytes = ditc_nbytes(t);
    t->data = be->alloc(be, bytes ? bytes : 1);
    DITC_ALLOC_CHECK(t->data, bytes);
    return t;
}

// A view's `backend` is NULL: ditc_vt_free then frees only the header.
ditc_tensor *ditc_vt_view(ditc_tensor *t, int ndim, const int64_t *shape) {
    ditc_tensor *v = ditc_xcalloc(1, sizeof *v);
    ditc_tensor_set_shape(v, t->dtype, ndim, shape);
    DITC_CHECK(v->numel == t->numel, "view of %lld elements as %lld", (long long)t->numel, (long long)v->numel);
    v->data = t->data;
    return v;
}

void ditc_vt_free(ditc_tensor *t) {
    if (!t) return;
    if (t->backend) t->backend->free(t->backend, t->data);
    free(t);
}

static void check_4d(const ditc_tensor *t, const char *what) {
    DITC_CHECK(t->dtype == DITC_F32 && t->ndim == 4, "%s must be a 4-D F32 tensor", what);
}

void ditc_conv2d_into(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                      const ditc_tensor *b, int stride, const int pad[4], int acc) {
    check_4d(x, "conv2d input");
    check_4d(y, "conv2d output");
    int64_t kh = w->ndim == 4 ? w->shape[2] : 1, kw = w->ndim == 4 ? w->shape[3] : 1;
    DITC_CHECK(w->dtype == DITC_F32 && (w->ndim == 4 || w->ndim == 2) && w->shape[1] == x->shape[1],
               "conv2d weight does not match %lld input channels", (long long)x->shape[1]);
    DITC_CHECK(stride >= 1 && pad[0] >= 0 && pad[1] >= 0 && pad[2] >= 0 && pad[3] >= 0, "conv2d stride/pad");
    int64_t Ho = (x->shape[2] + pad[0] + pad[2] - kh) / stride + 1,
            Wo = (x->shape[3] + pad[1] + pad[3] - kw) / stride + 1;
    DITC_CHECK(y->shape[0] == x->shape[0] && y->shape[1] == w->shape[0] && y->shape[2] == Ho && y->shape[3] == Wo,
               "conv2d output shape");
    DITC_CHECK(!b || (b->dtype == DITC_F32 && b->numel == w->shape[0]), "conv2d bias");
    // The backend reads w as (O, C, kh, kw).
    ditc_tensor w4 = *w;
    int64_t s4[4] = {w->shape[0], w->shape[1], kh, kw};
    ditc_tensor_set_shape(&w4, DITC_F32, 4, s4);
    be->conv2d_fwd(be, y, x, &w4, b, stride, pad, acc);
}

ditc_tensor *ditc_conv2d(ditc_backend *be, const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b, int stride,
                         int pad_top, int pad_left, int pad_bottom, int pad_right) {
    check_4d(x, "conv2d input");
    int64_t kh = w->ndim == 4 ? w->shape[2] : 1, kw = w->ndim == 4 ? w->shape[3] : 1;
    int pad[4] = {pad_top, pad_left, pad_bottom, pad_right};
    DITC_CHECK(x->shape[2] + pad_top + pad_bottom >= kh && x->shape[3] + pad_left + pad_right >= kw,
               "conv2d input smaller than the kernel");
    int64_t shape[4] = {x->shape[0], w->shape[0], (x->shape[2] + pad_top + pad_bottom - kh) / stride + 1,
                        (x->shape[3] + pad_left + pad_right - kw) / stride + 1};
    ditc_tensor *y = ditc_vt_new(be, 4, shape);
    ditc_conv2d_into(be, y, x, w, b, stride, pad, 0);
    return y;
}

ditc_tensor *ditc_group_norm(ditc_backend *be, ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b, int groups,
                             float eps, int silu, int inplace) {
    check_4d(x, "group_norm input");
    DITC_CHECK(groups >= 1 && x->shape[1] % groups == 0, "group_norm: %lld channels, %d groups", (long long)x->shape[1],
               groups);
    DITC_CHECK(!w || w->numel == x->shape[1], "group_norm weight");
    DITC_CHECK(!b || b->numel == x->shape[1], "group_norm bias");
    ditc_tensor *y = inplace ? x : ditc_vt_new(be, 4, x->shape);
    be->group_norm_fwd(be, y, x, w, b, groups, eps, silu);
    return y;
}

void ditc_silu_inplace(ditc_backend *be, ditc_tensor *x) {
    DITC_CHECK(x->dtype == DITC_F32, "silu input must be F32");
    be->unary_fwd(be, DITC_UN_SILU, x, x);
}

ditc_tensor *ditc_upsample2x(ditc_backend *be, const ditc_tensor *x) {
    check_4d(x, "upsample input");
    int64_t shape[4] = {x->shape[0], x->shape[1], 2 * x->shape[2], 2 * x->shape[3]};
    ditc_tensor *y = ditc_vt_new(be, 4, shape);
    be->upsample2x_fwd(be, y, x);
    return y;
}

ditc_tensor *ditc_spatial_attention(ditc_backend *be, const ditc_tensor *q, const ditc_tensor *k,
                                    const ditc_tensor *v) {
    check_4d(q, "attention q");
    DITC_CHECK(ditc_same_shape(q, k) && ditc_same_shape(q, v), "attention q, k, v shapes differ");
    ditc_tensor *y = ditc_vt_new(be, 4, q->shape);
    be->spatial_attn_fwd(be, y, q, k, v, (float)(1.0 / sqrt((double)q->shape[1])));
    return y;
}
