// dit_config.h — the denoiser configurations (shared/spec/model.md): the named DiT and Large-DiT models,
// overrides, checks with messages naming the flag, and the derived sizes (tokens, conditioning and SwiGLU
// widths, multiply-adds).
#ifndef DITC_DIT_CONFIG_H
#define DITC_DIT_CONFIG_H

#include <stdint.h>

#include "common.h"

typedef enum {
    DITC_ARCH_DIT = 0,  // DiT: LayerNorm + adaLN, fused qkv with biases, GELU MLP, fixed 2-D sin-cos positions
    DITC_ARCH_LDIT = 1, // Large-DiT: RMSNorm + adaLN, bias-free q/k/v/o, QK-norm, 1-D RoPE, SwiGLU
} ditc_arch;

typedef struct {
    char name[32]; // "DiT-S/2", "LDiT-600M" ... or "custom"
    int arch;      // ditc_arch
    int qk_norm;   // LDiT: LayerNorm with affine over the whole q and k projections
    int depth, hidden, heads, patch;
    int in_channels, input_size, num_classes;
    float class_dropout; // 0.1 (label → num_classes with this probability in training)
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
int64_t ditc_dit_tokens(const ditc_dit_config *cfg);
// Multiply-adds of one forward for one image (the DiT paper's "Gflops" × 1e9).
double ditc_dit_forward_macs(const ditc_dit_config *cfg);

#endif
