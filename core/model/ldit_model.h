// ldit_model.h — the Large-DiT blocks (ldit_model.c): their parameters, initialisation and forward, called by
// the model (dit_model.c) when cfg.arch is DITC_ARCH_LDIT.
#ifndef DITC_LDIT_MODEL_H
#define DITC_LDIT_MODEL_H

#include "dit_types.h"
#include "ops.h"

// Declares the blocks' parameters (layers.{i}.*) after the embedders', as the reference state_dict.
void ditc_ldit_create_blocks(ditc_dit *m);
// The reference initialisation of the blocks (scratch host buffer of the model's size).
void ditc_ldit_init_blocks(ditc_dit *m, uint64_t seed, float *host);
// One Large-DiT block for ditc_checkpoint: user = the ditc_ldit_block; in: x (B, T, D), silu(c) (B, Dc).
void ditc_ldit_block_forward(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out);

#endif
