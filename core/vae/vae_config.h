// vae_config.h — the AutoencoderKL configuration (diffusers config.json keys, sd-vae-ft-ema defaults).
#ifndef DITC_VAE_CONFIG_H
#define DITC_VAE_CONFIG_H

#include <stddef.h>

#include "common.h"

#define DITC_VAE_MAX_LEVELS 8

typedef struct {
    int in_channels, out_channels, latent_channels;
    int levels; // len(block_out_channels)
    int block_out[DITC_VAE_MAX_LEVELS];
    int layers_per_block, norm_groups;
    int sample_size;
    int use_quant_conv, use_post_quant_conv, mid_attention;
    double scaling_factor, shift_factor; // latents = (z − shift)·scale
} ditc_vae_config;

// sd-vae-ft-ema: 3/3/4 channels, [128, 256, 512, 512], 2 layers, 32 groups, sample 256, scale 0.18215.
void ditc_vae_config_default(ditc_vae_config *c);
// Parses a diffusers config.json (path for messages) over the defaults in *c. Unknown keys are ignored.
int ditc_vae_config_parse(ditc_vae_config *c, const char *json, size_t len, const char *path, ditc_status *st);
// The spatial factor between images and latents: 2^(levels − 1) (8 for SD).
static inline int ditc_vae_config_factor(const ditc_vae_config *c) { return 1 << (c->levels - 1); }

#endif
