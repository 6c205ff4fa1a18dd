// ops_llama.c — the LLaMA-style pieces of the Large-DiT variant: RMSNorm, LayerNorm with affine
// (QK-norm), 1-D RoPE, the SwiGLU gate and plain adaLN modulate. Kernels: backend_cpu/cpu_llama.c,
// backend_cpu/cpu_norm.c (modulate).
#include "ops_internal.h"

static int64_t norm_width(const ditc_tensor *x, const char *what) {
    check_f32(x, what);
    DITC_CHECK(x->ndim >= 1 && x->numel > 0, "%s must be non-empty (..., D)", what);
    return x->shape[x->ndim - 1];
}

static void check_vec(const ditc_tensor *v, int64_t D, const char *what) {
    if (!v) return;
    check_f32(v, what);
    DITC_CHECK(v->ndim == 1 && v->shape[0] == D, "%s must be (D) = (%lld)", what, (long long)D);
}

ditc_tensor *ditc_rms_norm(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, float eps) {
    int64_t D = norm_width(x, "rms_norm input"), R = x->numel / D;
    check_vec(w, D, "rms_norm weight");
    ditc_tensor *y = ditc_new_like(c, x), *rstd = ditc_new(c, DITC_F32, 1, &R);
    BE->rms_norm_fwd(BE, y, rstd, x, w, eps);
    ditc_tensor *in[2] = {x, w};
    ditc_node *n = ditc_record(c, DITC_OP_RMS_NORM, 2, in, 1, &y);
    if (n) {
        n->saved[0] = rstd;
        n->farg[0] = eps;
    }
    return y;
}

void ditc_bwd_rms_norm(ditc_ctx *c, ditc_node *n) {
    int ax = 0, aw = 0;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &ax);
    ditc_tensor *dw = ditc_grad_dst(c, n->in[1], &aw);
    if (dx || dw) BE->rms_norm_bwd(BE, dx, dw, ditc_grad_src(n->out[0]), n->in[0], n->in[1], n->saved[0], ax, aw);
}

ditc_tensor *ditc_layer_norm(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, float eps) {
    int64_t D = norm_width(x, "layer_norm input"), R = x->numel / D;
    check_vec(w, D, "layer_norm weight");
    check_vec(b, D, "layer_norm bias");
    ditc_tensor *y = ditc_new_like(c, x);
    ditc_tensor *mean = ditc_new(c, DITC_F32, 1, &R), *rstd = ditc_new(c, DITC_F32, 1, &R);
    BE->layer_norm_fwd(BE, y, mean, rstd, x, w, b, eps);
    ditc_tensor *in[3] = {x, w, b};
    ditc_node *n = ditc_record(c, DITC_OP_LAYER_NORM, 3, in, 1, &y);
    if (n) {
        n->saved[0] = mean;
        n->saved[1] = rstd;
        n->farg[0] = eps;
    }
    return y;
}

void ditc_bwd_layer_norm(ditc_ctx *c, ditc_node *n) {
    int ax = 0, aw = 0, ab = 0;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &ax);
    ditc_tensor *dw = ditc_grad_dst(c, n->in[1], &aw);
    ditc_tensor *db = ditc_grad_dst(c, n->in[2], &ab);
    if (dx || dw || db)
        BE->layer_norm_bwd(BE, dx, dw, db, ditc_grad_src(n->out[0]), n->in[0], n->in[1], n->saved[0], n->saved[1], ax,
                           aw, ab);
}

ditc_tensor *ditc_rope(ditc_ctx *c, ditc_tensor *x, int heads, float theta) {
    check_f32(x, "rope input");
    DITC_CHECK(x->ndim == 3, "rope input must be (B, T, H*hd)");
    DITC_CHECK(heads > 0 && x->shape[2] % heads == 0 && (x->shape[2] / heads) % 2 == 0,
               "rope: width %lld is not %d heads of an even size", (long long)x->shape[2], heads);
    DITC_CHECK(theta > 0.0f, "rope theta must be positive");
    ditc_tensor *y = ditc_new_like(c, x);
    BE->rope(BE, y, x, heads, theta, 0, 0);
    ditc_node *n = ditc_record(c, DITC_OP_ROPE, 1, &x, 1, &y);
    if (n) {
        n->iarg[0] = heads;
        n->farg[0] = theta;
    }
    return y;
}

// The rotation is orthogonal: dx = R(−angle)·dy.
void ditc_bwd_rope(ditc_ctx *c, ditc_node *n) {
    int acc = 0;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->rope(BE, dx, ditc_grad_src(n->out[0]), (int)n->iarg[0], n->farg[0], 1, acc);
}

ditc_tensor *ditc_swiglu(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b) { return ditc_swiglu_to(c, a, b, DITC_F32); }

ditc_tensor *ditc_swiglu_to(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b, ditc_dtype out_dtype) {
    DITC_CHECK((a->dtype == DITC_F32 || a->dtype == DITC_BF16) && b->dtype == a->dtype,
               "swiglu a, b must both be F32 or both BF16");
    DITC_CHECK(ditc_same_shape(a, b), "swiglu a, b must have the same shape");
    DITC_CHECK(out_dtype == DITC_F32 || out_dtype == DITC_BF16, "swiglu output must be F32 or BF16");
    ditc_tensor *out = ditc_new(c, out_dtype, a->ndim, a->shape); // BF16: w2's operand (the backward reads a, b)
    BE->swiglu_fwd(BE, out, a, b);
    ditc_tensor *in[2] = {a, b};
    ditc_record(c, DITC_OP_SWIGLU, 2, in, 1, &out);
    return out;
}

void ditc_bwd_swiglu(ditc_ctx *c, ditc_node *n) {
    int aa = 0, ab = 0;
    ditc_tensor *da = ditc_grad_dst_any(c, n->in[0], &aa); // BF16: w1's / w3's output gradient
    ditc_tensor *db = ditc_grad_dst_any(c, n->in[1], &ab);
    if (da || db) BE->swiglu_bwd(BE, da, db, ditc_grad_src(n->out[0]), n->in[0], n->in[1], aa, ab);
}

ditc_tensor *ditc_modulate(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale) {
    return ditc_modulate_to(c, x, shift, scale, DITC_F32);
}

ditc_tensor *ditc_modulate_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale, ditc_dtype out) {
    check_f32(x, "modulate input");
    DITC_CHECK(out == DITC_F32 || out == DITC_BF16, "modulate output must be F32 or BF16");
    DITC_CHECK(x->ndim == 3, "modulate input must be (B, T, D)");
    int64_t B = x->shape[0], D = x->shape[2];
    ditc_tensor *v[2] = {shift, scale};
    for (int i = 0; i < 2; i++) {
        check_f32(v[i], i ? "modulate scale" : "modulate shift");
        DITC_CHECK(v[i]->ndim == 2 && v[i]->shape[0] == B && v[i]->shape[1] == D,
                   "modulate %s must be (B, D) = (%lld, %lld)", i ? "scale" : "shift", (long long)B, (long long)D);
    }
    ditc_tensor *y = ditc_new(c, out, 3, x->shape); // BF16: the q/k/v or w1/w3 operand (the backward reads x)
    BE->modulate_fwd(BE, y, x, shift, scale);
    ditc_tensor *in[3] = {x, shift, scale};
    ditc_record(c, DITC_OP_MODULATE, 3, in, 1, &y);
    return y;
}

void ditc_bwd_modulate(ditc_ctx *c, ditc_node *n) {
    int ax = 0, ash = 0, asc = 0;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &ax);
    ditc_tensor *dsh = ditc_grad_dst(c, n->in[1], &ash);
    ditc_tensor *dsc = ditc_grad_dst(c, n->in[2], &asc);
    if (dx || dsh || dsc)
        BE->modulate_bwd(BE, dx, dsh, dsc, ditc_grad_src(n->out[0]), n->in[0], n->in[2], ax, ash, asc);
}
