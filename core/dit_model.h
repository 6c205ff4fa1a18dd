// dit_model.h — the reference DiT (facebookresearch/DiT models.py, see shared/spec/model.md):
// configuration, parameters under the reference state_dict names, initialisation, forward.
#ifndef DITC_DIT_MODEL_H
#define DITC_DIT_MODEL_H

#include "common.h"
#include "ops.h"
#include "params.h"

typedef struct {
    char name[32];        // "DiT-S/2" ... or "custom"
    int depth, hidden, heads, patch;
    int in_channels, input_size, num_classes;
    float class_dropout;  // 0.1 (label → num_classes with this probability in training)
} ditc_dit_config;

// Fills depth/hidden/heads/patch from a name like "DiT-XL/2". Returns 0, or an error naming --model.
int ditc_dit_config_from_name(ditc_dit_config *cfg, const char *name, ditc_status *st);
// Checks the whole config (divisibility, ranges); errors name the flag.
int ditc_dit_config_validate(const ditc_dit_config *cfg, ditc_status *st);
extern const char *const ditc_dit_model_names[12];

typedef struct {
    ditc_tensor *qkv_w, *qkv_b, *proj_w, *proj_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b, *ada_w, *ada_b;
    int heads;
} ditc_dit_block;

typedef struct {
    ditc_dit_config cfg;
    ditc_params params;        // every tensor of the state_dict, in the reference's order
    ditc_tensor *pos_embed, *x_proj_w, *x_proj_b, *t_fc1_w, *t_fc1_b, *t_fc2_w, *t_fc2_b, *y_table;
    ditc_dit_block *blocks;
    ditc_tensor *final_ada_w, *final_ada_b, *final_w, *final_b;
    int checkpoint_blocks;                // gradient checkpointing of each block
} ditc_dit;

// Declares the parameters (not initialised).
void ditc_dit_create(ditc_dit *m, const ditc_dit_config *cfg, ditc_backend *be);
void ditc_dit_free(ditc_dit *m);
// The reference initialisation from the counter RNG keyed by seed (xavier-uniform linears, N(0, 0.02) label
// table and timestep MLP, zero adaLN and final layer, fixed sin-cos pos_embed).
void ditc_dit_init(ditc_dit *m, uint64_t seed);
int64_t ditc_dit_tokens(const ditc_dit_config *cfg);
// Multiply-adds of one forward for one image (the DiT paper's "Gflops" × 1e9).
double ditc_dit_forward_macs(const ditc_dit_config *cfg);

// x (B, C, S, S); t (B) timesteps as float (host); y (B) labels after any dropout (host).
// Returns (B, 2C, S, S): ε prediction in channels [0, C), variance interpolant in [C, 2C).
ditc_tensor *ditc_dit_forward(ditc_ctx *c, ditc_dit *m, ditc_tensor *x, const float *t, const int32_t *y);

// Host helpers (float64 / float32 exactly as the reference computes them).
void ditc_pos_embed_2d(float *out, int dim, int grid);          // (grid², dim)
void ditc_timestep_embedding(float *out, const float *t, int n); // (n, 256), [cos | sin]

#endif
