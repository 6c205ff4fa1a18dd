// ops_elementwise.c — broadcast add/mul, scale, GELU (tanh), SiLU, F32<->BF16 cast.
#include <string.h>

#include "ops_internal.h"

// Broadcast result shape of a and b (numpy rules, right-aligned, up to 4 dims).
static int broadcast_shape(const ditc_tensor *a, const ditc_tensor *b, int64_t *out) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        DITC_CHECK(da == db || da == 1 || db == 1, "shapes do not broadcast (dim %d: %lld vs %lld)", i, (long long)da,
                   (long long)db);
        out[i] = da == 1 ? db : da;
    }
    return nd;
}

static ditc_tensor *binary(ditc_ctx *c, ditc_binary_op op, int id, ditc_tensor *a, ditc_tensor *b) {
    check_f32(a, "add/mul operand");
    check_f32(b, "add/mul operand");
    int64_t shape[DITC_MAX_DIMS];
    int nd = broadcast_shape(a, b, shape);
    ditc_tensor *y = ditc_new(c, DITC_F32, nd, shape);
    BE->binary_fwd(BE, op, y, a, b);
    ditc_tensor *in[2] = {a, b};
    ditc_record(c, id, 2, in, 1, &y);
    return y;
}

ditc_tensor *ditc_add(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b) {
    return binary(c, DITC_BIN_ADD, DITC_OP_ADD, a, b);
}
ditc_tensor *ditc_mul(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b) {
    return binary(c, DITC_BIN_MUL, DITC_OP_MUL, a, b);
}

static void binary_bwd(ditc_ctx *c, ditc_node *n, ditc_binary_op op) {
    ditc_tensor *dy = ditc_grad_src(n->out[0]);
    for (int which = 0; which < 2; which++) {
        int acc;
        ditc_tensor *dx = ditc_grad_dst(c, n->in[which], &acc);
        if (dx) BE->binary_bwd(BE, op, which, dx, dy, n->in[0], n->in[1], acc);
    }
}

void ditc_bwd_add(ditc_ctx *c, ditc_node *n) { binary_bwd(c, n, DITC_BIN_ADD); }
void ditc_bwd_mul(ditc_ctx *c, ditc_node *n) { binary_bwd(c, n, DITC_BIN_MUL); }

ditc_tensor *ditc_scale(ditc_ctx *c, ditc_tensor *x, float alpha) {
    check_f32(x, "scale input");
    ditc_tensor *y = ditc_new_like(c, x);
    BE->axpy(BE, y, alpha, x, 0);
    ditc_node *n = ditc_record(c, DITC_OP_SCALE, 1, &x, 1, &y);
    if (n) n->farg[0] = alpha;
    return y;
}

void ditc_bwd_scale(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->axpy(BE, dx, n->farg[0], ditc_grad_src(n->out[0]), acc);
}

static ditc_tensor *unary(ditc_ctx *c, ditc_unary_op op, int id, ditc_tensor *x, ditc_dtype out) {
    DITC_CHECK(x->dtype == DITC_F32 || x->dtype == DITC_BF16, "activation input must be F32 or BF16");
    DITC_CHECK(out == DITC_F32 || out == DITC_BF16, "activation output must be F32 or BF16");
    ditc_tensor *y = ditc_new(c, out, x->ndim, x->shape); // BF16: the next GEMM's operand (the backward reads x)
    BE->unary_fwd(BE, op, y, x);
    ditc_record(c, id, 1, &x, 1, &y);
    return y;
}

static void unary_bwd(ditc_ctx *c, ditc_node *n, ditc_unary_op op) {
    int acc;
    ditc_tensor *dx = ditc_grad_dst_any(c, n->in[0], &acc); // BF16: the producing linear's output gradient
    if (dx) BE->unary_bwd(BE, op, dx, ditc_grad_src(n->out[0]), n->in[0], acc);
}

ditc_tensor *ditc_gelu(ditc_ctx *c, ditc_tensor *x) { return unary(c, DITC_UN_GELU_TANH, DITC_OP_GELU, x, DITC_F32); }
ditc_tensor *ditc_gelu_to(ditc_ctx *c, ditc_tensor *x, ditc_dtype out) {
    return unary(c, DITC_UN_GELU_TANH, DITC_OP_GELU, x, out);
}
ditc_tensor *ditc_silu(ditc_ctx *c, ditc_tensor *x) { return unary(c, DITC_UN_SILU, DITC_OP_SILU, x, DITC_F32); }
void ditc_bwd_gelu(ditc_ctx *c, ditc_node *n) { unary_bwd(c, n, DITC_UN_GELU_TANH); }
void ditc_bwd_silu(ditc_ctx *c, ditc_node *n) { unary_bwd(c, n, DITC_UN_SILU); }

ditc_tensor *ditc_cast(ditc_ctx *c, ditc_tensor *x, ditc_dtype dtype) {
    DITC_CHECK((x->dtype == DITC_F32 || x->dtype == DITC_BF16) && (dtype == DITC_F32 || dtype == DITC_BF16),
               "cast supports F32 and BF16");
    ditc_tensor *y = ditc_new(c, dtype, x->ndim, x->shape);
    BE->cast(BE, y, x);
    ditc_record(c, DITC_OP_CAST, 1, &x, 1, &y);
    return y;
}

void ditc_bwd_cast(ditc_ctx *c, ditc_node *n) { // gradients are F32 whatever the storage dtype
    int acc;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->axpy(BE, dx, 1.0f, ditc_grad_src(n->out[0]), acc);
}
