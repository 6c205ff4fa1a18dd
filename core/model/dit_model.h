// dit_model.h — the denoisers: the reference DiT (facebookresearch/DiT models.py) and the LLaMA-style
// Large-DiT (Alpha-VLLM Large-DiT-ImageNet models.py), see shared/spec/model.md: configuration,
// parameters under the reference state_dict names, initialisation, forward. Large-DiT specifics:
// ldit_model.c.
#ifndef DITC_DIT_MODEL_H
#define DITC_DIT_MODEL_H

#include "common.h"
#include "ops.h"
#include "params.h"

typedef enum {
    DITC_ARCH_DIT = 0,    // DiT: LayerNorm + adaLN, fused qkv with biases, GELU MLP, fixed 2-D sin-cos positions
    DITC_ARCH_LDIT = 1,   // Large-DiT: RMSNorm + adaLN, bias-free q/k/v/o, QK-norm, 1-D RoPE, SwiGLU
} ditc_arch;

typedef struct {
    char name[32];        // "DiT-S/2", "LDiT-600M" ... or "custom"
    int arch;             // ditc_arch
    int qk_norm;          // LDiT: LayerNorm with affine over the whole q and k projections
    int depth, hidden, heads, patch;
    int in_channels, input_size, num_classes;
    float class_dropout;  // 0.1 (label → num_classes with this probability in training)
} ditc_dit_config;

// Fills arch/depth/hidden/heads/patch from a name like "DiT-XL/2" or "LDiT-600M". Returns 0, or an error
// naming --model.
int ditc_dit_config_from_name(ditc_dit_config *cfg, const char *name, ditc_status *st);
// Checks the whole config (divisibility, ranges); errors name the flag.
int ditc_dit_config_validate(const ditc_dit_config *cfg, ditc_status *st);
extern const char *const ditc_dit_model_names[15];
// Width of the conditioning vector c (timestep MLP, label table, adaLN input): D for DiT, min(D, 1024) for LDiT.
int ditc_dit_cond_width(const ditc_dit_config *cfg);
// LDiT patch side p with C·p² = P (a Large-DiT x_embedder fixes only P), or 0 if there is none (C < 1 too).
int ditc_ldit_patch_side(int64_t P, int64_t C);
// LDiT SwiGLU hidden width: int(2·4D/3) rounded up to a multiple of 256 (LLaMA FeedForward, multiple_of 256).
int ditc_ldit_ffn_width(int hidden);

typedef struct {
    ditc_tensor *qkv_w, *qkv_b, *proj_w, *proj_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b, *ada_w, *ada_b;
    int heads;
} ditc_dit_block;

// Large-DiT TransformerBlock (names: layers.{i}.*)
typedef struct {
    ditc_tensor *wq, *wk, *wv, *wo;              // attention.w{q,k,v,o}.weight (D, D), no bias
    ditc_tensor *qn_w, *qn_b, *kn_w, *kn_b;      // attention.{q,k}_norm.{weight,bias} (D), NULL without QK-norm
    ditc_tensor *w1, *w2, *w3;                   // feed_forward.w1 (F, D), w2 (D, F), w3 (F, D)
    ditc_tensor *attn_norm_w, *ffn_norm_w;       // attention_norm / ffn_norm RMSNorm weights (D)
    ditc_tensor *ada_w, *ada_b;                  // adaLN_modulation.1 (6D, Dc), (6D)
    int heads;
} ditc_ldit_block;

typedef struct {
    ditc_dit_config cfg;
    ditc_params params;        // every tensor of the state_dict, in the reference's order
    // pos_embed is NULL for LDiT (RoPE instead); x_proj_w is (D, C, p, p) for DiT, (D, C·p·p) for LDiT.
    ditc_tensor *pos_embed, *x_proj_w, *x_proj_b, *t_fc1_w, *t_fc1_b, *t_fc2_w, *t_fc2_b, *y_table;
    ditc_dit_block *blocks;               // DiT blocks, or NULL
    ditc_ldit_block *lblocks;             // LDiT blocks, or NULL
    ditc_tensor *final_ada_w, *final_ada_b, *final_w, *final_b;
    int checkpoint_blocks;                // gradient checkpointing of each block
} ditc_dit;

// Declares the parameters (not initialised).
void ditc_dit_create(ditc_dit *m, const ditc_dit_config *cfg, ditc_backend *be);
void ditc_dit_free(ditc_dit *m);
// The reference initialisation from the counter RNG keyed by seed (xavier-uniform linears, N(0, 0.02) label
// table and timestep MLP, zero adaLN and final layer, fixed sin-cos pos_embed; LDiT: norm weights 1).
void ditc_dit_init(ditc_dit *m, uint64_t seed);
int64_t ditc_dit_tokens(const ditc_dit_config *cfg);
// Multiply-adds of one forward for one image (the DiT paper's "Gflops" × 1e9).
double ditc_dit_forward_macs(const ditc_dit_config *cfg);

// The parts ldit_model.c shares with dit_model.c.
typedef enum { DITC_INIT_ZERO, DITC_INIT_ONE, DITC_INIT_XAVIER, DITC_INIT_NORMAL002 } ditc_init_kind;
ditc_tensor *ditc_dit_add_param(ditc_dit *m, int trainable, int ndim, const int64_t *shape, const char *fmt, int i);
// Fills t on the host (scratch: host, ≥ t->numel floats) and uploads it; the RNG stream is keyed by the
// tensor's index in the state_dict, so each tensor's values do not depend on the others.
void ditc_dit_init_tensor(ditc_dit *m, ditc_tensor *t, ditc_init_kind kind, int64_t fan_in, int64_t fan_out,
                          uint64_t seed, float *host);
void ditc_ldit_create_blocks(ditc_dit *m);
void ditc_ldit_init_blocks(ditc_dit *m, uint64_t seed, float *host);
double ditc_ldit_block_macs(const ditc_dit_config *cfg);
// One Large-DiT block for ditc_checkpoint: user = the ditc_ldit_block; in: x (B, T, D), silu(c) (B, Dc).
void ditc_ldit_block_forward(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out);

// x (B, C, S, S); t (B) timesteps as float (host); y (B) labels after any dropout (host).
// Returns (B, 2C, S, S): ε prediction in channels [0, C), variance interpolant in [C, 2C).
ditc_tensor *ditc_dit_forward(ditc_ctx *c, ditc_dit *m, ditc_tensor *x, const float *t, const int32_t *y);

// Host helpers (float64 / float32 exactly as the reference computes them).
void ditc_pos_embed_2d(float *out, int dim, int grid);          // (grid², dim)
void ditc_timestep_embedding(float *out, const float *t, int n); // (n, 256), [cos | sin]

#endif
