// ops_layout.c — split/chunk, concat and reshape (copies along one dim via the backend's copy_2d).
#include <string.h>

#include "ops_internal.h"

// x viewed as (outer, shape[dim]·inner): part boundaries along dim become column ranges.
static void outer_inner(const ditc_tensor *x, int dim, int64_t *outer, int64_t *inner) {
    DITC_CHECK(dim >= 0 && dim < x->ndim, "dim %d out of range for %d-D tensor", dim, x->ndim);
    *outer = ditc_dims_prod(x, 0, dim);
    *inner = ditc_dims_prod(x, dim + 1, x->ndim);
}

void ditc_split(ditc_ctx *c, ditc_tensor *x, int dim, int n, const int64_t *sizes, ditc_tensor **out) {
    check_f32(x, "split input");
    DITC_CHECK(n >= 1 && n <= DITC_NODE_MAX_IO, "split into %d parts", n);
    int64_t outer, inner, total = 0;
    outer_inner(x, dim, &outer, &inner);
    for (int i = 0; i < n; i++) total += sizes[i];
    DITC_CHECK(total == x->shape[dim], "split sizes sum %lld != dim %lld", (long long)total, (long long)x->shape[dim]);
    int64_t off = 0, ld = x->shape[dim] * inner;
    for (int i = 0; i < n; i++) {
        int64_t shape[DITC_MAX_DIMS];
        memcpy(shape, x->shape, sizeof shape);
        shape[dim] = sizes[i];
        out[i] = ditc_new(c, DITC_F32, x->ndim, shape);
        BE->copy_2d(BE, out[i], 0, sizes[i] * inner, x, off, ld, outer, sizes[i] * inner, 0);
        off += sizes[i] * inner;
    }
    ditc_node *node = ditc_record(c, DITC_OP_SPLIT, 1, &x, n, out);
    if (node) node->iarg[0] = dim;
}

void ditc_chunk(ditc_ctx *c, ditc_tensor *x, int dim, int n, ditc_tensor **out) {
    DITC_CHECK(n >= 1 && n <= DITC_NODE_MAX_IO && x->shape[dim] % n == 0, "chunk %lld into %d",
               (long long)x->shape[dim], n);
    int64_t sizes[DITC_NODE_MAX_IO];
    for (int i = 0; i < n; i++) sizes[i] = x->shape[dim] / n;
    ditc_split(c, x, dim, n, sizes, out);
}

void ditc_bwd_split(ditc_ctx *c, ditc_node *n) {
    ditc_tensor *x = n->in[0];
    int dim = (int)n->iarg[0], acc;
    int64_t outer, inner;
    outer_inner(x, dim, &outer, &inner);
    ditc_tensor *dx = ditc_grad_dst(c, x, &acc);
    if (!dx) return;
    int all = 1;
    for (int i = 0; i < n->n_out; i++) all &= ditc_grad_src(n->out[i]) != NULL;
    if (!acc && !all) { // parts without a gradient contribute zero
        BE->fill(BE, dx->data, DITC_F32, (size_t)dx->numel, 0.0f);
        acc = 1;
    }
    int64_t off = 0, ld = x->shape[dim] * inner;
    for (int i = 0; i < n->n_out; i++) {
        int64_t cols = n->out[i]->shape[dim] * inner;
        const ditc_tensor *g = ditc_grad_src(n->out[i]);
        if (g) BE->copy_2d(BE, dx, off, ld, g, 0, cols, outer, cols, acc);
        off += cols;
    }
}

ditc_tensor *ditc_concat(ditc_ctx *c, int n, ditc_tensor *const *xs, int dim) {
    DITC_CHECK(n >= 1 && n <= DITC_NODE_MAX_IO, "concat of %d tensors", n);
    int64_t shape[DITC_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[dim] = 0;
    for (int i = 0; i < n; i++) {
        check_f32(xs[i], "concat input");
        DITC_CHECK(xs[i]->ndim == xs[0]->ndim, "concat inputs differ in rank");
        for (int d = 0; d < xs[0]->ndim; d++)
            DITC_CHECK(d == dim || xs[i]->shape[d] == xs[0]->shape[d], "concat inputs differ in dim %d", d);
        shape[dim] += xs[i]->shape[dim];
    }
    ditc_tensor *y = ditc_new(c, DITC_F32, xs[0]->ndim, shape);
    int64_t outer, inner;
    outer_inner(y, dim, &outer, &inner);
    int64_t off = 0, ld = shape[dim] * inner;
    for (int i = 0; i < n; i++) {
        int64_t cols = xs[i]->shape[dim] * inner;
        BE->copy_2d(BE, y, off, ld, xs[i], 0, cols, outer, cols, 0);
        off += cols;
    }
    ditc_node *node = ditc_record(c, DITC_OP_CONCAT, n, xs, 1, &y);
    if (node) node->iarg[0] = dim;
    return y;
}

void ditc_bwd_concat(ditc_ctx *c, ditc_node *n) {
    ditc_tensor *y = n->out[0], *dy = ditc_grad_src(y);
    int dim = (int)n->iarg[0];
    int64_t outer, inner;
    outer_inner(y, dim, &outer, &inner);
    int64_t off = 0, ld = y->shape[dim] * inner;
    for (int i = 0; i < n->n_in; i++) {
        int64_t cols = n->in[i]->shape[dim] * inner;
        int acc;
        ditc_tensor *dx = ditc_grad_dst(c, n->in[i], &acc);
        if (dx) BE->copy_2d(BE, dx, 0, cols, dy, off, ld, outer, cols, acc);
        off += cols;
    }
}

ditc_tensor *ditc_reshape(ditc_ctx *c, ditc_tensor *x, int ndim, const int64_t *shape) {
    ditc_tensor *y = ditc_view(c, x, ndim, shape);
    ditc_record(c, DITC_OP_RESHAPE, 1, &x, 1, &y);
    return y;
}

void ditc_bwd_reshape(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->axpy(BE, dx, 1.0f, ditc_grad_src(n->out[0]), acc);
}
