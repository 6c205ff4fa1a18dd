// sample.h — `ditc sample`: load weights (EMA by default), draw class-conditional samples with the
// respaced DDPM or DDIM sampler and classifier-free guidance, write a PNG grid (pixel-space models).
#ifndef DITC_SAMPLE_H
#define DITC_SAMPLE_H

#include "backend.h"
#include "common.h"

typedef struct {
    const char *ckpt;         // checkpoint directory or weights .safetensors
    const char *out;          // PNG path
    const char *class_labels; // "0,1,2" or NULL
    int per_class;            // with no labels: every class this many times, one row per class
    int num_heads, use_model, num_steps, ddim, cfg_all_channels;
    double cfg_scale;
    uint64_t seed;
    const char *vae; // --vae: AutoencoderKL decoding latent samples (x / scaling_factor) to images
    int vae_tile;    // --vae-tile
} ditc_sample_args;

int ditc_sample_run(ditc_backend *be, const ditc_sample_args *a, ditc_status *st);

#endif
