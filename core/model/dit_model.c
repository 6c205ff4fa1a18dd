// dit_model.c — DiT parameters (reference names/order), initialisation and forward pass; the model
// registry (DiT-* and LDiT-* names). The Large-DiT blocks live in ldit_model.c.
#include "dit_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rng.h"

const char *const ditc_dit_model_names[15] = {"DiT-XL/2", "DiT-XL/4", "DiT-XL/8", "DiT-L/2",   "DiT-L/4",
                                               "DiT-L/8",  "DiT-B/2",  "DiT-B/4",  "DiT-B/8",   "DiT-S/2",
                                               "DiT-S/4",  "DiT-S/8",  "LDiT-600M", "LDiT-3B", "LDiT-7B"};

int ditc_dit_cond_width(const ditc_dit_config *c) {
    return c->arch == DITC_ARCH_LDIT && c->hidden > 1024 ? 1024 : c->hidden;
}

int ditc_ldit_patch_side(int64_t P, int64_t C) {
    if (C < 1) return 0;
    int64_t p = 1;
    while (C * p * p < P) p++;
    return C * p * p == P ? (int)p : 0;
}

int ditc_ldit_ffn_width(int hidden) {
    int h = (int)(2 * (int64_t)(4 * hidden) / 3);
    return (h + 255) / 256 * 256;
}

int ditc_dit_config_from_name(ditc_dit_config *cfg, const char *name, ditc_status *st) {
    static const struct { const char *size; int depth, hidden, heads; } sizes[] = {
        {"S", 12, 384, 6}, {"B", 12, 768, 12}, {"L", 24, 1024, 16}, {"XL", 28, 1152, 16}};
    // Large-DiT-ImageNet DiT_Llama_{600M,3B,7B}_patch2 (QK-norm on, as its released runs)
    static const struct { const char *name; int depth, hidden, heads; } large[] = {
        {"LDiT-600M", 16, 1536, 32}, {"LDiT-3B", 32, 3072, 32}, {"LDiT-7B", 32, 4096, 32}};
    for (size_t i = 0; i < sizeof large / sizeof *large; i++) {
        if (strcmp(large[i].name, name)) continue;
        snprintf(cfg->name, sizeof cfg->name, "%s", name);
        cfg->arch = DITC_ARCH_LDIT;
        cfg->qk_norm = 1;
        cfg->depth = large[i].depth;
        cfg->hidden = large[i].hidden;
        cfg->heads = large[i].heads;
        cfg->patch = 2;
        return 0;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int p = 2; p <= 8; p *= 2) {
            char full[32];
            snprintf(full, sizeof full, "DiT-%s/%d", sizes[i].size, p);
            if (strcmp(full, name)) continue;
            snprintf(cfg->name, sizeof cfg->name, "%s", full);
            cfg->arch = DITC_ARCH_DIT;
            cfg->qk_norm = 0;
            cfg->depth = sizes[i].depth;
            cfg->hidden = sizes[i].hidden;
            cfg->heads = sizes[i].heads;
            cfg->patch = p;
            return 0;
        }
    return ditc_fail(st, DITC_ERR_ARG,
                     "--model '%s': unknown model (DiT-S/2, DiT-S/4, DiT-S/8, DiT-B/*, DiT-L/*, DiT-XL/*, "
                     "LDiT-600M, LDiT-3B, LDiT-7B)", name);
}

int ditc_dit_config_validate(const ditc_dit_config *c, ditc_status *st) {
    if (c->depth < 1 || c->depth > 256) return ditc_fail(st, DITC_ERR_ARG, "--depth %d: must be in 1..256", c->depth);
    if (c->hidden < 2 || c->hidden > 16384) return ditc_fail(st, DITC_ERR_ARG, "--hidden-size %d: must be in 2..16384", c->hidden);
    if (c->heads < 1 || c->hidden % c->heads)
        return ditc_fail(st, DITC_ERR_ARG, "--num-heads %d: must divide --hidden-size %d", c->heads, c->hidden);
    if (c->arch == DITC_ARCH_DIT && c->hidden % 4)
        return ditc_fail(st, DITC_ERR_ARG, "--hidden-size %d: must be divisible by 4 (2-D sin-cos position table)", c->hidden);
    if (c->arch == DITC_ARCH_LDIT && (c->hidden / c->heads) % 2)
        return ditc_fail(st, DITC_ERR_ARG, "--num-heads %d: the head width %d must be even (RoPE rotates pairs)",
                         c->heads, c->hidden / c->heads);
    if (c->arch == DITC_ARCH_LDIT && c->input_size / c->patch * (c->input_size / c->patch) > 4096)
        return ditc_fail(st, DITC_ERR_ARG, "--image-size: %d tokens; Large-DiT's RoPE table covers 4096",
                         (c->input_size / c->patch) * (c->input_size / c->patch));
    if (c->patch < 1 || c->patch > 64) return ditc_fail(st, DITC_ERR_ARG, "--patch-size %d: must be in 1..64", c->patch);
    if (c->input_size < 1 || c->input_size % c->patch)
        return ditc_fail(st, DITC_ERR_ARG, "--image-size: input side %d is not divisible by the patch size %d",
                         c->input_size, c->patch);
    if (c->in_channels < 1 || c->in_channels > 64) return ditc_fail(st, DITC_ERR_ARG, "input channels %d: must be in 1..64", c->in_channels);
    if (c->num_classes < 1) return ditc_fail(st, DITC_ERR_ARG, "--num-classes %d: must be at least 1", c->num_classes);
    return 0;
}

int64_t ditc_dit_tokens(const ditc_dit_config *c) {
    int64_t g = c->input_size / c->patch;
    return g * g;
}

double ditc_dit_forward_macs(const ditc_dit_config *c) {
    double T = (double)ditc_dit_tokens(c), D = c->hidden, P = (double)c->patch * c->patch * c->in_channels;
    double Dc = ditc_dit_cond_width(c);
    double block = c->arch == DITC_ARCH_LDIT ? ditc_ldit_block_macs(c)
                                             : T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * 4 * D + D * 6 * D;
    return T * P * D + 256 * Dc + Dc * Dc + c->depth * block + Dc * 2 * D + T * D * 2 * P;
}

ditc_tensor *ditc_dit_add_param(ditc_dit *m, int trainable, int ndim, const int64_t *shape, const char *fmt, int i) {
    char name[DITC_NAME_MAX];
    snprintf(name, sizeof name, fmt, i);
    return ditc_params_add(&m->params, name, ndim, shape, trainable);
}

#define add_param ditc_dit_add_param
#define P1(a) (int64_t[]){a}
#define P2(a, b) (int64_t[]){a, b}

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
#define INIT_ZERO DITC_INIT_ZERO
#define INIT_XAVIER DITC_INIT_XAVIER
#define INIT_NORMAL002 DITC_INIT_NORMAL002
#define init_tensor ditc_dit_init_tensor

void ditc_dit_init_tensor(ditc_dit *m, ditc_tensor *t, ditc_init_kind kind, int64_t fan_in, int64_t fan_out,
                          uint64_t seed, float *host) {
    int index = 0;
    while (m->params.t[index] != t) index++;
    size_t n = (size_t)t->numel;
    if (kind == DITC_INIT_ZERO || kind == DITC_INIT_ONE) {
        for (size_t i = 0; i < n; i++) host[i] = kind == DITC_INIT_ONE ? 1.0f : 0.0f;
    } else if (kind == INIT_XAVIER) {
        float bound = (float)sqrt(6.0 / (double)(fan_in + fan_out));
        ditc_rng_fill_uniform(host, n, seed, DITC_RNG_PARAM_INIT, (uint32_t)index, 0);
        for (size_t i = 0; i < n; i++) host[i] = bound * (2.0f * host[i] - 1.0f);
    } else {
        ditc_rng_fill_normal(host, n, seed, DITC_RNG_PARAM_INIT, (uint32_t)index, 0);
        for (size_t i = 0; i < n; i++) host[i] *= 0.02f;
    }
    ditc_upload(t, host);
}

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
// silu(c) (B, D) → out: x after the block.
static void block_forward(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out) {
    const ditc_dit_block *b = user;
    ditc_tensor *x = in[0], *mod[6];
    ditc_chunk(c, ditc_linear(c, in[1], b->ada_w, b->ada_b), 1, 6, mod); // (B, 6D) → 6 × (B, D)
    // mod: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
    ditc_tensor *h = ditc_ln_modulate(c, x, mod[0], mod[1], 1e-6f);
    h = ditc_attention(c, ditc_linear(c, h, b->qkv_w, b->qkv_b), b->heads); // (B, T, D)
    x = ditc_gated_residual(c, x, mod[2], ditc_linear(c, h, b->proj_w, b->proj_b));
    h = ditc_ln_modulate(c, x, mod[3], mod[4], 1e-6f);
    h = ditc_linear(c, ditc_gelu(c, ditc_linear(c, h, b->fc1_w, b->fc1_b)), b->fc2_w, b->fc2_b);
    out[0] = ditc_gated_residual(c, x, mod[5], h);
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
    ditc_tensor *temb_h = ditc_linear(c, ditc_silu(c, ditc_linear(c, tf, m->t_fc1_w, m->t_fc1_b)), m->t_fc2_w, m->t_fc2_b);
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
    h = ditc_linear(c, ditc_ln_modulate(c, h, mod[0], mod[1], 1e-6f), m->final_w, m->final_b);
    return ditc_unpatchify(c, h, cfg->patch, 2 * cfg->in_channels);
}
