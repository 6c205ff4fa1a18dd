// dit_model.c — the denoiser: DiT parameters (reference names/order), initialisation and forward pass, with
// the Large-DiT blocks of ldit_model.c in place of the DiT blocks for DITC_ARCH_LDIT.
#include "dit_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ldit_model.h"
#include "model_params.h"

#define add_param ditc_dit_add_param
#define P1(a)                                                                                                          \
    (int64_t[]) { a }
#define P2(a, b)                                                                                                       \
    (int64_t[]) { a, b }

void ditc_dit_create(ditc_dit *m, const ditc_dit_config *cfg, ditc_backend *be) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int64_t D = cfg->hidden, C = cfg->in_channels, p = cfg->patch, T = ditc_dit_tokens(cfg), K = cfg->num_classes;
    int64_t out = 2 * C * p * p, Dc = ditc_dit_cond_width(cfg);
    int ldit = cfg->arch == DITC_ARCH_LDIT;
    ditc_params_init(&m->params, be, DITC_F32);
    // Order = the reference state_dict: own parameters first, then sub-modules in registration order.
    if (ldit) { // Large-DiT: a plain Linear on the (c, i, j)-ordered patch vectors, no position table
        m->x_proj_w = add_param(m, 1, 2, P2(D, C * p * p), "x_embedder.weight", 0);
        m->x_proj_b = add_param(m, 1, 1, P1(D), "x_embedder.bias", 0);
    } else {
        m->pos_embed = add_param(m, 0, 3, (int64_t[]){1, T, D}, "pos_embed", 0);
        m->x_proj_w = add_param(m, 1, 4, (int64_t[]){D, C, p, p}, "x_embedder.proj.weight", 0);
        m->x_proj_b = add_param(m, 1, 1, P1(D), "x_embedder.proj.bias", 0);
    }
    m->t_fc1_w = add_param(m, 1, 2, P2(Dc, 256), "t_embedder.mlp.0.weight", 0);
    m->t_fc1_b = add_param(m, 1, 1, P1(Dc), "t_embedder.mlp.0.bias", 0);
    m->t_fc2_w = add_param(m, 1, 2, P2(Dc, Dc), "t_embedder.mlp.2.weight", 0);
    m->t_fc2_b = add_param(m, 1, 1, P1(Dc), "t_embedder.mlp.2.bias", 0);
    m->y_table = add_param(m, 1, 2, P2(K + 1, Dc), "y_embedder.embedding_table.weight", 0);
    if (ldit) ditc_ldit_create_blocks(m);
    else m->blocks = ditc_xcalloc((size_t)cfg->depth, sizeof *m->blocks);
    for (int i = 0; !ldit && i < cfg->depth; i++) {
        ditc_dit_block *b = &m->blocks[i];
        b->heads = cfg->heads;
        b->qkv_w = add_param(m, 1, 2, P2(3 * D, D), "blocks.%d.attn.qkv.weight", i);
        b->qkv_b = add_param(m, 1, 1, P1(3 * D), "blocks.%d.attn.qkv.bias", i);
        b->proj_w = add_param(m, 1, 2, P2(D, D), "blocks.%d.attn.proj.weight", i);
        b->proj_b = add_param(m, 1, 1, P1(D), "blocks.%d.attn.proj.bias", i);
        b->fc1_w = add_param(m, 1, 2, P2(4 * D, D), "blocks.%d.mlp.fc1.weight", i);
        b->fc1_b = add_param(m, 1, 1, P1(4 * D), "blocks.%d.mlp.fc1.bias", i);
        b->fc2_w = add_param(m, 1, 2, P2(D, 4 * D), "blocks.%d.mlp.fc2.weight", i);
        b->fc2_b = add_param(m, 1, 1, P1(D), "blocks.%d.mlp.fc2.bias", i);
        b->ada_w = add_param(m, 1, 2, P2(6 * D, D), "blocks.%d.adaLN_modulation.1.weight", i);
        b->ada_b = add_param(m, 1, 1, P1(6 * D), "blocks.%d.adaLN_modulation.1.bias", i);
    }
    m->final_w = add_param(m, 1, 2, P2(out, D), "final_layer.linear.weight", 0);
    m->final_b = add_param(m, 1, 1, P1(out), "final_layer.linear.bias", 0);
    m->final_ada_w = add_param(m, 1, 2, P2(2 * D, Dc), "final_layer.adaLN_modulation.1.weight", 0);
    m->final_ada_b = add_param(m, 1, 1, P1(2 * D), "final_layer.adaLN_modulation.1.bias", 0);
    ditc_params_finalize(&m->params);
}

void ditc_dit_free(ditc_dit *m) {
    ditc_params_free(&m->params);
    free(m->blocks);
    free(m->lblocks);
    memset(m, 0, sizeof *m);
}

// ---- initialisation --------------------------------------------------------------------------
#define INIT_ZERO      DITC_INIT_ZERO
#define INIT_XAVIER    DITC_INIT_XAVIER
#define INIT_NORMAL002 DITC_INIT_NORMAL002
#define init_tensor    ditc_dit_init_tensor

void ditc_dit_init(ditc_dit *m, uint64_t seed) {
    const ditc_dit_config *c = &m->cfg;
    int64_t D = c->hidden, P = (int64_t)c->in_channels * c->patch * c->patch;
    float *host = ditc_xmalloc(sizeof(float) * (size_t)m->params.numel);
    if (m->pos_embed) {
        ditc_pos_embed_2d(host, c->hidden, c->input_size / c->patch);
        ditc_upload(m->pos_embed, host);
    }
    init_tensor(m, m->x_proj_w, INIT_XAVIER, P, D, seed, host);
    init_tensor(m, m->x_proj_b, INIT_ZERO, 0, 0, seed, host);
    init_tensor(m, m->t_fc1_w, INIT_NORMAL002, 0, 0, seed, host);
    init_tensor(m, m->t_fc1_b, INIT_ZERO, 0, 0, seed, host);
    init_tensor(m, m->t_fc2_w, INIT_NORMAL002, 0, 0, seed, host);
    init_tensor(m, m->t_fc2_b, INIT_ZERO, 0, 0, seed, host);
    init_tensor(m, m->y_table, INIT_NORMAL002, 0, 0, seed, host);
    if (m->lblocks) ditc_ldit_init_blocks(m, seed, host);
    for (int i = 0; m->blocks && i < c->depth; i++) {
        ditc_dit_block *b = &m->blocks[i];
        init_tensor(m, b->qkv_w, INIT_XAVIER, D, 3 * D, seed, host);
        init_tensor(m, b->proj_w, INIT_XAVIER, D, D, seed, host);
        init_tensor(m, b->fc1_w, INIT_XAVIER, D, 4 * D, seed, host);
        init_tensor(m, b->fc2_w, INIT_XAVIER, 4 * D, D, seed, host);
        ditc_tensor *zero[] = {b->qkv_b, b->proj_b, b->fc1_b, b->fc2_b, b->ada_w, b->ada_b};
        for (size_t k = 0; k < sizeof zero / sizeof *zero; k++) init_tensor(m, zero[k], INIT_ZERO, 0, 0, seed, host);
    }
    ditc_tensor *zero[] = {m->final_w, m->final_b, m->final_ada_w, m->final_ada_b};
    for (size_t k = 0; k < sizeof zero / sizeof *zero; k++) init_tensor(m, zero[k], INIT_ZERO, 0, 0, seed, host);
    free(host);
}

// ---- forward ---------------------------------------------------------------------------------
// user: the ditc_dit_block (it outlives the step, as checkpointing needs); in: x (B, T, D),
// silu(c) (B, D) → out: x after the block. The tensors only GEMMs read (the normed inputs, qkv, the attention
// output, the GELU) are written as the GEMMs' operand dtype, and the linears' output gradients too (qkv, proj,
// fc1, fc2: ditc_bf16_grad), and the gradients of the GEMM operands the linears' dx GEMMs write (the normed inputs,
// the attention output, the GELU) — BF16 at bf16 precision, ops.h.
static void block_forward(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out) {
    const ditc_dit_block *b = user;
    ditc_dtype op = ditc_operand_dtype(c);
    ditc_tensor *x = in[0], *mod[6];
    ditc_chunk(c, ditc_linear(c, in[1], b->ada_w, b->ada_b), 1, 6, mod); // (B, 6D) → 6 × (B, D)
    // mod: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
    ditc_tensor *h = ditc_bf16_grad(c, ditc_ln_modulate_to(c, x, mod[0], mod[1], 1e-6f, op));
    h = ditc_attention_to(c, ditc_bf16_grad(c, ditc_linear_to(c, h, b->qkv_w, b->qkv_b, op)), b->heads, op);
    ditc_dtype act = ditc_activation_dtype(c); // linear outputs that pointwise ops read: bf16 at bf16 precision
    x = ditc_gated_residual(c, x, mod[2], ditc_bf16_grad(c, ditc_linear_to(c, h, b->proj_w, b->proj_b, act)));
    h = ditc_bf16_grad(c, ditc_ln_modulate_to(c, x, mod[3], mod[4], 1e-6f, op));
    h = ditc_linear_gelu_to(c, h, b->fc1_w, b->fc1_b, act, op); // (B, T, 4D): fc1 and GELU, one GEMM
    ditc_tensor *mlp = ditc_bf16_grad(c, ditc_linear_to(c, h, b->fc2_w, b->fc2_b, act));
    ditc_gelu_drop(c, h); // (DITC_GELU_RECOMPUTE=1: fc2's backward recomputes it)
    out[0] = ditc_gated_residual(c, x, mod[5], mlp);
}

ditc_tensor *ditc_dit_forward(ditc_ctx *c, ditc_dit *m, ditc_tensor *x, const float *t, const int32_t *y) {
    const ditc_dit_config *cfg = &m->cfg;
    int64_t B = x->shape[0];
    DITC_CHECK(x->ndim == 4 && x->shape[1] == cfg->in_channels && x->shape[2] == cfg->input_size,
               "DiT input must be (B, %d, %d, %d)", cfg->in_channels, cfg->input_size, cfg->input_size);
    // patch embedding + fixed positions: (B, T, D)
    // the patch conv (D, C, p, p) is a linear layer on the conv-ordered patch vectors
    ditc_tensor *h = ditc_linear(c, ditc_patchify(c, x, cfg->patch), m->x_proj_w, m->x_proj_b);
    if (m->pos_embed) h = ditc_add(c, h, m->pos_embed); // LDiT: positions enter through RoPE in each block
    // conditioning c = MLP(timestep frequencies) + label embedding: (B, D)
    float *temb = ditc_xmalloc(sizeof(float) * (size_t)(B * 256));
    ditc_timestep_embedding(temb, t, (int)B);
    ditc_tensor *tf = ditc_from_host(c, DITC_F32, 2, (int64_t[]){B, 256}, temb); // conditioning width Dc below
    free(temb);
    ditc_tensor *temb_h =
        ditc_linear(c, ditc_silu(c, ditc_linear(c, tf, m->t_fc1_w, m->t_fc1_b)), m->t_fc2_w, m->t_fc2_b);
    // the labels checked here, on the host: a device's embedding kernel could report one only after a wait
    int64_t K = m->y_table->shape[0]; // the classes and the null class of classifier-free guidance
    for (int64_t b = 0; b < B; b++)
        DITC_CHECK(y[b] >= 0 && y[b] < K, "class label %d of sample %lld outside [0, %lld) (%lld classes + null)",
                   (int)y[b], (long long)b, (long long)K, (long long)(K - 1));
    ditc_tensor *labels = ditc_from_host(c, DITC_I32, 1, &B, y);
    ditc_tensor *cond = ditc_silu(c, ditc_add(c, temb_h, ditc_embedding(c, m->y_table, labels)));
    // blocks (each adaLN starts with SiLU(c): computed once, shared)
    ditc_segment_fn fwd = m->lblocks ? ditc_ldit_block_forward : block_forward;
    for (int i = 0; i < cfg->depth; i++) {
        ditc_tensor *in[2] = {h, cond}, *o;
        void *blk = m->lblocks ? (void *)&m->lblocks[i] : (void *)&m->blocks[i];
        if (m->checkpoint_blocks) ditc_checkpoint(c, fwd, blk, 2, in, 1, &o);
        else fwd(c, blk, in, &o);
        h = o;
    }
    // final layer: (shift, scale) = chunks of Linear(SiLU(c)); linear; unpatchify (i, j, c order)
    ditc_tensor *mod[2];
    ditc_chunk(c, ditc_linear(c, cond, m->final_ada_w, m->final_ada_b), 1, 2, mod);
    h = ditc_linear(c, ditc_bf16_grad(c, ditc_ln_modulate_to(c, h, mod[0], mod[1], 1e-6f, ditc_operand_dtype(c))),
                    m->final_w, m->final_b);
    return ditc_unpatchify(c, h, cfg->patch, 2 * cfg->in_channels);
}
