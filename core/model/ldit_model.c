// ldit_model.c — the Large-DiT blocks (Alpha-VLLM LLaMA2-Accessory Large-DiT-ImageNet models.py,
// DiT_Llama): parameters under the reference names, initialisation and the block forward. The
// embeddings, conditioning and final layer are those of the DiT (dit_model.c) with the conditioning
// width Dc = min(D, 1024) and a plain Linear patch embedding (no position table: RoPE in each block).
//
// Block (x (B, T, D), c = silu(t_emb + y_emb) (B, Dc)):
//   shift/scale/gate ×2 = chunk6(Linear(c))
//   h = modulate(RMSNorm(x), shift_msa, scale_msa)
//   q, k, v = h·wqᵀ, h·wkᵀ, h·wvᵀ; q, k = LayerNorm(q), LayerNorm(k) (QK-norm, whole width, eps 1e-5)
//   q, k = RoPE(q), RoPE(k) per head (theta 1e4); x += gate_msa · wo(attention(q, k, v))
//   h = modulate(RMSNorm(x), shift_mlp, scale_mlp); x += gate_mlp · w2(silu(w1 h) · w3 h)
#include <stdio.h>

#include "ldit_model.h"
#include "model_params.h"

#define LDIT_NORM_EPS   1e-5f // RMSNorm (norm_eps) and nn.LayerNorm's default for the QK-norm
#define LDIT_ROPE_THETA 10000.0f

void ditc_ldit_create_blocks(ditc_dit *m) {
    const ditc_dit_config *cfg = &m->cfg;
    int64_t D = cfg->hidden, F = ditc_ldit_ffn_width(cfg->hidden), Dc = ditc_dit_cond_width(cfg);
    m->lblocks = ditc_xcalloc((size_t)cfg->depth, sizeof *m->lblocks);
    for (int i = 0; i < cfg->depth; i++) {
        ditc_ldit_block *b = &m->lblocks[i];
        b->heads = cfg->heads;
        // registration order of TransformerBlock: attention (wq, wk, wv, wo, q_norm, k_norm),
        // feed_forward (w1, w2, w3), attention_norm, ffn_norm, adaLN_modulation
        b->wq = ditc_dit_add_param(m, 1, 2, (int64_t[]){D, D}, "layers.%d.attention.wq.weight", i);
        b->wk = ditc_dit_add_param(m, 1, 2, (int64_t[]){D, D}, "layers.%d.attention.wk.weight", i);
        b->wv = ditc_dit_add_param(m, 1, 2, (int64_t[]){D, D}, "layers.%d.attention.wv.weight", i);
        b->wo = ditc_dit_add_param(m, 1, 2, (int64_t[]){D, D}, "layers.%d.attention.wo.weight", i);
        if (cfg->qk_norm) {
            b->qn_w = ditc_dit_add_param(m, 1, 1, &D, "layers.%d.attention.q_norm.weight", i);
            b->qn_b = ditc_dit_add_param(m, 1, 1, &D, "layers.%d.attention.q_norm.bias", i);
            b->kn_w = ditc_dit_add_param(m, 1, 1, &D, "layers.%d.attention.k_norm.weight", i);
            b->kn_b = ditc_dit_add_param(m, 1, 1, &D, "layers.%d.attention.k_norm.bias", i);
        }
        b->w1 = ditc_dit_add_param(m, 1, 2, (int64_t[]){F, D}, "layers.%d.feed_forward.w1.weight", i);
        b->w2 = ditc_dit_add_param(m, 1, 2, (int64_t[]){D, F}, "layers.%d.feed_forward.w2.weight", i);
        b->w3 = ditc_dit_add_param(m, 1, 2, (int64_t[]){F, D}, "layers.%d.feed_forward.w3.weight", i);
        b->attn_norm_w = ditc_dit_add_param(m, 1, 1, &D, "layers.%d.attention_norm.weight", i);
        b->ffn_norm_w = ditc_dit_add_param(m, 1, 1, &D, "layers.%d.ffn_norm.weight", i);
        b->ada_w = ditc_dit_add_param(m, 1, 2, (int64_t[]){6 * D, Dc}, "layers.%d.adaLN_modulation.1.weight", i);
        b->ada_b = ditc_dit_add_param(m, 1, 1, (int64_t[]){6 * D}, "layers.%d.adaLN_modulation.1.bias", i);
    }
}

// The reference's init: xavier-uniform q/k/v/o and w1..w3 (fairscale init_method on the full matrix),
// LayerNorm/RMSNorm weights 1 and biases 0, zero adaLN.
void ditc_ldit_init_blocks(ditc_dit *m, uint64_t seed, float *host) {
    const ditc_dit_config *cfg = &m->cfg;
    int64_t D = cfg->hidden, F = ditc_ldit_ffn_width(cfg->hidden);
    for (int i = 0; i < cfg->depth; i++) {
        ditc_ldit_block *b = &m->lblocks[i];
        ditc_tensor *sq[] = {b->wq, b->wk, b->wv, b->wo};
        for (int k = 0; k < 4; k++) ditc_dit_init_tensor(m, sq[k], DITC_INIT_XAVIER, D, D, seed, host);
        ditc_dit_init_tensor(m, b->w1, DITC_INIT_XAVIER, D, F, seed, host);
        ditc_dit_init_tensor(m, b->w2, DITC_INIT_XAVIER, F, D, seed, host);
        ditc_dit_init_tensor(m, b->w3, DITC_INIT_XAVIER, D, F, seed, host);
        ditc_tensor *ones[] = {b->attn_norm_w, b->ffn_norm_w, b->qn_w, b->kn_w};
        for (int k = 0; k < 4; k++)
            if (ones[k]) ditc_dit_init_tensor(m, ones[k], DITC_INIT_ONE, 0, 0, seed, host);
        ditc_tensor *zero[] = {b->qn_b, b->kn_b, b->ada_w, b->ada_b};
        for (int k = 0; k < 4; k++)
            if (zero[k]) ditc_dit_init_tensor(m, zero[k], DITC_INIT_ZERO, 0, 0, seed, host);
    }
}

void ditc_ldit_block_forward(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out) {
    const ditc_ldit_block *b = user;
    ditc_dtype op = ditc_operand_dtype(c); // the GEMMs' operand dtype of the tensors only GEMMs read (ops.h)
    ditc_tensor *x = in[0], *mod[6];
    ditc_chunk(c, ditc_linear(c, in[1], b->ada_w, b->ada_b), 1, 6, mod); // (B, 6D) → 6 × (B, D)
    // mod: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
    ditc_tensor *h = ditc_modulate_to(c, ditc_rms_norm(c, x, b->attn_norm_w, LDIT_NORM_EPS), mod[0], mod[1], op);
    ditc_tensor *q = ditc_linear(c, h, b->wq, NULL), *k = ditc_linear(c, h, b->wk, NULL); // (B, T, D)
    ditc_tensor *v = ditc_linear(c, h, b->wv, NULL);
    if (b->qn_w) {
        q = ditc_layer_norm(c, q, b->qn_w, b->qn_b, LDIT_NORM_EPS);
        k = ditc_layer_norm(c, k, b->kn_w, b->kn_b, LDIT_NORM_EPS);
    }
    ditc_tensor *qkv[3] = {ditc_rope(c, q, b->heads, LDIT_ROPE_THETA), ditc_rope(c, k, b->heads, LDIT_ROPE_THETA), v};
    h = ditc_attention_to(c, ditc_concat(c, 3, qkv, 2), b->heads, op); // (B, T, 3D) packed → (B, T, D)
    ditc_dtype act = ditc_activation_dtype(c);                         // the gated residuals' y: bf16 at bf16 precision
    x = ditc_gated_residual(c, x, mod[2], ditc_bf16_grad(c, ditc_linear_to(c, h, b->wo, NULL, act)));
    h = ditc_modulate_to(c, ditc_rms_norm(c, x, b->ffn_norm_w, LDIT_NORM_EPS), mod[3], mod[4], op);
    ditc_tensor *g1 = ditc_bf16_grad(c, ditc_linear_to(c, h, b->w1, NULL, act)); // (B, T, F), bf16 at bf16
    ditc_tensor *g3 = ditc_bf16_grad(c, ditc_linear_to(c, h, b->w3, NULL, act));
    h = ditc_swiglu_to(c, g1, g3, op);
    out[0] = ditc_gated_residual(c, x, mod[5], ditc_bf16_grad(c, ditc_linear_to(c, h, b->w2, NULL, act)));
}
