// ops_reduce.c — sum / mean over trailing dims and the per-sample MSE of the diffusion loss.
#include "ops_internal.h"

// Output of reducing dims [from_dim, ndim): shape[:from_dim], or [1] for a full reduction.
static ditc_tensor *reduced(ditc_ctx *c, const ditc_tensor *x, int from_dim) {
    DITC_CHECK(from_dim >= 0 && from_dim < x->ndim, "reduce from dim %d of a %d-D tensor", from_dim, x->ndim);
    int64_t one = 1;
    return from_dim == 0 ? ditc_new(c, DITC_F32, 1, &one) : ditc_new(c, DITC_F32, from_dim, x->shape);
}

static ditc_tensor *reduce(ditc_ctx *c, ditc_tensor *x, int from_dim, int op, int mean) {
    check_f32(x, "reduction input");
    ditc_tensor *y = reduced(c, x, from_dim);
    float scale = mean ? 1.0f / (float)(x->numel / y->numel) : 1.0f;
    BE->reduce_rows(BE, y, x, scale, 0);
    ditc_node *n = ditc_record(c, op, 1, &x, 1, &y);
    if (n) n->farg[0] = scale;
    return y;
}

ditc_tensor *ditc_sum(ditc_ctx *c, ditc_tensor *x, int from_dim) { return reduce(c, x, from_dim, DITC_OP_SUM, 0); }
ditc_tensor *ditc_mean(ditc_ctx *c, ditc_tensor *x, int from_dim) { return reduce(c, x, from_dim, DITC_OP_MEAN, 1); }

static void reduce_bwd(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->expand_rows(BE, dx, ditc_grad_src(n->out[0]), n->farg[0], acc);
}

void ditc_bwd_sum(ditc_ctx *c, ditc_node *n) { reduce_bwd(c, n); }
void ditc_bwd_mean(ditc_ctx *c, ditc_node *n) { reduce_bwd(c, n); }

ditc_tensor *ditc_mse(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b, int from_dim) {
    check_f32(a, "mse input");
    check_f32(b, "mse target");
    DITC_CHECK(ditc_same_shape(a, b), "mse operands differ in shape");
    ditc_tensor *y = reduced(c, a, from_dim);
    BE->mse_fwd(BE, y, a, b);
    ditc_tensor *in[2] = {a, b};
    ditc_record(c, DITC_OP_MSE, 2, in, 1, &y);
    return y;
}

void ditc_bwd_mse(ditc_ctx *c, ditc_node *n) {
    int aa = 0, ab = 0;
    ditc_tensor *da = ditc_grad_dst(c, n->in[0], &aa);
    ditc_tensor *db = ditc_grad_dst(c, n->in[1], &ab);
    BE->mse_bwd(BE, da, db, ditc_grad_src(n->out[0]), n->in[0], n->in[1], aa, ab);
}
