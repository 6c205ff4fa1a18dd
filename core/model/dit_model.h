// dit_model.h — the denoisers: the reference DiT (facebookresearch/DiT models.py) and the LLaMA-style
// Large-DiT (Alpha-VLLM Large-DiT-ImageNet models.py), see shared/spec/model.md: parameters under the
// reference state_dict names, initialisation, forward (configurations: dit_config.h; Large-DiT blocks:
// ldit_model.c).
#ifndef DITC_DIT_MODEL_H
#define DITC_DIT_MODEL_H

#include "common.h"
#include "dit_config.h"
#include "dit_embeddings.h"
#include "dit_types.h"
#include "ops.h"

// Declares the parameters (not initialised).
void ditc_dit_create(ditc_dit *m, const ditc_dit_config *cfg, ditc_backend *be);
void ditc_dit_free(ditc_dit *m);
// The reference initialisation from the counter RNG keyed by seed (xavier-uniform linears, N(0, 0.02) label
// table and timestep MLP, zero adaLN and final layer, fixed sin-cos pos_embed; LDiT: norm weights 1).
void ditc_dit_init(ditc_dit *m, uint64_t seed);

// x (B, C, S, S); t (B) timesteps as float (host); y (B) labels after any dropout (host).
// Returns (B, 2C, S, S): ε prediction in channels [0, C), variance interpolant in [C, 2C).
ditc_tensor *ditc_dit_forward(ditc_ctx *c, ditc_dit *m, ditc_tensor *x, const float *t, const int32_t *y);

#endif
