// ops_dit.c — the fused DiT block ops: LayerNorm+modulate, gated residual, attention, embedding,
// patchify / unpatchify.
#include "ops_attention_gemm.h"
#include "ops_internal.h"

static void check_mod(const ditc_tensor *x, const ditc_tensor *m, const char *what) {
    if (!m) return;
    check_f32(m, what);
    DITC_CHECK(m->ndim == 2 && m->shape[0] == x->shape[0] && m->shape[1] == x->shape[2],
               "%s must be (B, D) = (%lld, %lld)", what, (long long)x->shape[0], (long long)x->shape[2]);
}

ditc_tensor *ditc_ln_modulate(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale, float eps) {
    return ditc_ln_modulate_to(c, x, shift, scale, eps, DITC_F32);
}

ditc_tensor *ditc_ln_modulate_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale, float eps,
                                 ditc_dtype out) {
    check_f32(x, "ln_modulate input");
    DITC_CHECK(x->ndim == 3, "ln_modulate input must be (B, T, D)");
    DITC_CHECK(out == DITC_F32 || out == DITC_BF16, "ln_modulate output must be F32 or BF16");
    check_mod(x, shift, "ln_modulate shift");
    check_mod(x, scale, "ln_modulate scale");
    ditc_tensor *y = ditc_new(c, out, 3, x->shape); // BF16: the next GEMM's operand (the backward reads x)
    int64_t bt[2] = {x->shape[0], x->shape[1]};
    ditc_tensor *mean = ditc_new(c, DITC_F32, 2, bt), *rstd = ditc_new(c, DITC_F32, 2, bt);
    BE->ln_mod_fwd(BE, y, mean, rstd, x, shift, scale, eps);
    ditc_tensor *in[3] = {x, shift, scale};
    ditc_node *n = ditc_record(c, DITC_OP_LN_MODULATE, 3, in, 1, &y);
    if (n) {
        n->saved[0] = mean;
        n->saved[1] = rstd;
        n->farg[0] = eps;
    }
    return y;
}

void ditc_bwd_ln_modulate(ditc_ctx *c, ditc_node *n) {
    int ax = 0, ash = 0, asc = 0;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &ax);
    ditc_tensor *dshift = ditc_grad_dst(c, n->in[1], &ash);
    ditc_tensor *dscale = ditc_grad_dst(c, n->in[2], &asc);
    BE->ln_mod_bwd(BE, dx, dshift, dscale, ditc_grad_src(n->out[0]), n->in[0], n->saved[0], n->saved[1], n->in[2], ax,
                   ash, asc);
}

ditc_tensor *ditc_gated_residual(ditc_ctx *c, ditc_tensor *x, ditc_tensor *gate, ditc_tensor *y) {
    check_f32(x, "gated_residual x");
    DITC_CHECK(y->dtype == DITC_F32 || y->dtype == DITC_BF16, "gated_residual y must be F32 or BF16");
    DITC_CHECK(x->ndim == 3 && ditc_same_shape(x, y), "gated_residual x, y must be equal (B, T, D)");
    check_mod(x, gate, "gated_residual gate");
    DITC_CHECK(gate, "gated_residual needs a gate");
    ditc_tensor *out = ditc_new_like(c, x);
    BE->gated_res_fwd(BE, out, x, gate, y);
    ditc_tensor *in[3] = {x, gate, y};
    ditc_record(c, DITC_OP_GATED_RESIDUAL, 3, in, 1, &out);
    return out;
}

void ditc_bwd_gated_residual(ditc_ctx *c, ditc_node *n) {
    int ax = 0, ag = 0, ay = 0;
    ditc_tensor *dout = ditc_grad_src(n->out[0]);
    // dx = dout: x's first gradient takes over dout's buffer (no copy; the residual stream's gradient flows through
    // the blocks in one buffer), else it is written or added by the kernel
    ditc_tensor *dx = ditc_grad_take_over(c, n->in[0], n->out[0]) ? NULL : ditc_grad_dst(c, n->in[0], &ax);
    ditc_tensor *dgate = ditc_grad_dst(c, n->in[1], &ag);
    ditc_tensor *dy = ditc_grad_dst_any(c, n->in[2], &ay); // BF16: the producing linear's output gradient
    BE->gated_res_bwd(BE, dx, dgate, dy, dout, n->in[1], n->in[2], ax, ag, ay);
}

ditc_tensor *ditc_attention(ditc_ctx *c, ditc_tensor *qkv, int heads) {
    return ditc_attention_to(c, qkv, heads, DITC_F32);
}

ditc_tensor *ditc_attention_to(ditc_ctx *c, ditc_tensor *qkv, int heads, ditc_dtype out_dtype) {
    DITC_CHECK(qkv->dtype == DITC_F32 || qkv->dtype == DITC_BF16, "attention qkv must be F32 or BF16");
    DITC_CHECK(out_dtype == DITC_F32 || out_dtype == DITC_BF16, "attention output must be F32 or BF16");
    DITC_CHECK(qkv->ndim == 3 && qkv->shape[2] % 3 == 0, "attention input must be (B, T, 3D)");
    int64_t B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3;
    DITC_CHECK(heads > 0 && D % heads == 0, "hidden size %lld not divisible by %d heads", (long long)D, heads);
    enum { FUSED, GEMM, FLASH };
    int path = ditc_attention_flash_wanted(BE, D / heads) ? FLASH : ditc_attention_gemm_wanted(BE) ? GEMM : FUSED;
    if (path == FUSED) qkv->grad_dtype = DITC_F32;                                  // the fused kernels write F32
    if (path == FUSED && qkv->dtype != DITC_F32) qkv = ditc_cast(c, qkv, DITC_F32); // gradients and read F32
    int64_t shape[3] = {B, T, D}, lshape[3] = {B, heads, T};
    ditc_tensor *out = ditc_new(c, path != FUSED ? out_dtype : DITC_F32, 3, shape);
    ditc_tensor *lse = ditc_new(c, DITC_F32, 3, lshape);
    int64_t pshape[4] = {B, heads, T, T}; // the bf16 probabilities kept for the backward (GEMM path, bf16)
    ditc_tensor *keep = path == GEMM && c->grad_enabled && ditc_attn_gemm_keep_probs(c, qkv, heads)
                            ? ditc_new(c, DITC_BF16, 4, pshape)
                            : NULL;
    if (path == GEMM) ditc_attn_gemm_fwd(c, out, lse, qkv, heads, keep); // GEMMs + row softmax
    else if (path == FLASH) BE->flash_fwd(BE, out, lse, qkv, heads);     // tiles on the matrix units
    else BE->attn_fwd(BE, out, lse, qkv, heads);                         // the fused kernel
    ditc_node *n = ditc_record(c, DITC_OP_ATTENTION, 1, &qkv, 1, &out);
    if (n) {
        n->saved[0] = lse;
        n->saved[1] = keep;
        n->iarg[0] = heads;
        n->iarg[1] = path;
    }
    if (out->dtype != out_dtype) return ditc_cast(c, out, out_dtype);
    // the GEMM and flash backward passes read the output gradient as bf16 operands: its consumer (the projection)
    // writes it as BF16 at bf16 precision (the same rounding, without a cast pass per layer)
    if (path != FUSED) ditc_bf16_grad(c, out);
    return out;
}

void ditc_bwd_attention(ditc_ctx *c, ditc_node *n) {
    int acc, path = (int)n->iarg[1]; // the GEMM and flash paths write the qkv linear's output gradient as it asks
    ditc_tensor *dqkv = path ? ditc_grad_dst_any(c, n->in[0], &acc) : ditc_grad_dst(c, n->in[0], &acc); // (bf16)
    if (!dqkv) return;
    const ditc_tensor *dout = ditc_grad_src(n->out[0]);
    if (path == 1) ditc_attn_gemm_bwd(c, dqkv, dout, n->in[0], n->saved[0], (int)n->iarg[0], acc, n->saved[1]);
    else if (path == 2 && !acc) BE->flash_bwd(BE, dqkv, dout, n->in[0], n->out[0], n->saved[0], (int)n->iarg[0]);
    else if (path == 2) { // (qkv read by something else too: the flash gradient into a temporary, then added)
        ditc_tensor *t = ditc_new_like(c, dqkv);
        BE->flash_bwd(BE, t, dout, n->in[0], n->out[0], n->saved[0], (int)n->iarg[0]);
        BE->axpy(BE, dqkv, 1.0f, t, 1);
    } else BE->attn_bwd(BE, dqkv, dout, n->in[0], n->out[0], n->saved[0], (int)n->iarg[0], acc);
}

ditc_tensor *ditc_embedding(ditc_ctx *c, ditc_tensor *table, ditc_tensor *idx) {
    check_f32(table, "embedding table");
    DITC_CHECK(table->ndim == 2, "embedding table must be (K, D)");
    DITC_CHECK(idx->dtype == DITC_I32 && idx->ndim == 1, "embedding indices must be I32 (N)");
    int64_t shape[2] = {idx->shape[0], table->shape[1]};
    ditc_tensor *out = ditc_new(c, DITC_F32, 2, shape);
    BE->embed_fwd(BE, out, table, idx);
    ditc_tensor *in[2] = {table, idx};
    ditc_record(c, DITC_OP_EMBEDDING, 2, in, 1, &out);
    return out;
}

void ditc_bwd_embedding(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dt = ditc_grad_dst(c, n->in[0], &acc);
    if (dt) BE->embed_bwd(BE, dt, ditc_grad_src(n->out[0]), n->in[1], acc);
}

ditc_tensor *ditc_patchify(ditc_ctx *c, ditc_tensor *x, int p) {
    check_f32(x, "patchify input");
    DITC_CHECK(x->ndim == 4 && x->shape[2] == x->shape[3], "patchify input must be (B, C, S, S)");
    DITC_CHECK(p > 0 && x->shape[2] % p == 0, "image side %lld not divisible by patch %d", (long long)x->shape[2], p);
    int64_t g = x->shape[2] / p, shape[3] = {x->shape[0], g * g, x->shape[1] * p * p};
    ditc_tensor *t = ditc_new(c, DITC_F32, 3, shape);
    BE->patch_copy(BE, x, t, p, 0, 1, 0);
    ditc_node *n = ditc_record(c, DITC_OP_PATCHIFY, 1, &x, 1, &t);
    if (n) n->iarg[0] = p;
    return t;
}

void ditc_bwd_patchify(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->patch_copy(BE, dx, ditc_grad_src(n->out[0]), (int)n->iarg[0], 0, 0, acc);
}

ditc_tensor *ditc_unpatchify(ditc_ctx *c, ditc_tensor *x, int p, int channels) {
    check_f32(x, "unpatchify input");
    DITC_CHECK(x->ndim == 3 && x->shape[2] == (int64_t)p * p * channels, "unpatchify input must be (B, T, p*p*C)");
    int64_t g = 1;
    while (g * g < x->shape[1]) g++;
    DITC_CHECK(g * g == x->shape[1], "unpatchify: %lld tokens is not a square grid", (long long)x->shape[1]);
    int64_t shape[4] = {x->shape[0], channels, g * p, g * p};
    ditc_tensor *img = ditc_new(c, DITC_F32, 4, shape);
    BE->patch_copy(BE, img, x, p, 1, 0, 0);
    ditc_node *n = ditc_record(c, DITC_OP_UNPATCHIFY, 1, &x, 1, &img);
    if (n) n->iarg[0] = p;
    return img;
}

void ditc_bwd_unpatchify(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dx = ditc_grad_dst(c, n->in[0], &acc);
    if (dx) BE->patch_copy(BE, (ditc_tensor *)ditc_grad_src(n->out[0]), dx, (int)n->iarg[0], 1, 1, acc);
}
