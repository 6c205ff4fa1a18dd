// dit_types.h — the denoiser's parameters as tensors: the DiT and Large-DiT blocks and the whole model
// (names and order of the reference state_dicts; built by dit_model.c and ldit_model.c).
#ifndef DITC_DIT_TYPES_H
#define DITC_DIT_TYPES_H

#include "dit_config.h"
#include "params.h"

typedef struct {
    ditc_tensor *qkv_w, *qkv_b, *proj_w, *proj_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b, *ada_w, *ada_b;
    int heads;
} ditc_dit_block;

// Large-DiT TransformerBlock (names: layers.{i}.*)
typedef struct {
    ditc_tensor *wq, *wk, *wv, *wo;         // attention.w{q,k,v,o}.weight (D, D), no bias
    ditc_tensor *qn_w, *qn_b, *kn_w, *kn_b; // attention.{q,k}_norm.{weight,bias} (D), NULL without QK-norm
    ditc_tensor *w1, *w2, *w3;              // feed_forward.w1 (F, D), w2 (D, F), w3 (F, D)
    ditc_tensor *attn_norm_w, *ffn_norm_w;  // attention_norm / ffn_norm RMSNorm weights (D)
    ditc_tensor *ada_w, *ada_b;             // adaLN_modulation.1 (6D, Dc), (6D)
    int heads;
} ditc_ldit_block;

typedef struct {
    ditc_dit_config cfg;
    ditc_params params; // every tensor of the state_dict, in the reference's order
    // pos_embed is NULL for LDiT (RoPE instead); x_proj_w is (D, C, p, p) for DiT, (D, C·p·p) for LDiT.
    ditc_tensor *pos_embed, *x_proj_w, *x_proj_b, *t_fc1_w, *t_fc1_b, *t_fc2_w, *t_fc2_b, *y_table;
    ditc_dit_block *blocks;   // DiT blocks, or NULL
    ditc_ldit_block *lblocks; // LDiT blocks, or NULL
    ditc_tensor *final_ada_w, *final_ada_b, *final_w, *final_b;
    int checkpoint_blocks; // gradient checkpointing of each block
} ditc_dit;

#endif
