// sample.h — `ditc sample`: load weights (EMA by default), draw class-conditional samples with the
// respaced DDPM or DDIM sampler and classifier-free guidance, write a PNG grid (pixel-space models, or latent
// ones through --vae) or, with --npz, the ADM sample batch (sample_npz.h). The sampler object below is shared by
// both: sample i of a run is keyed by its global index i (its noise is the i-th slice of the sampling streams),
// so any split of the samples into batches or processes draws the same samples.
#ifndef DITC_SAMPLE_H
#define DITC_SAMPLE_H

#include "backend.h"
#include "common.h"
#include "dit_config.h"

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
    // --dump FILE (tests): a safetensors file with labels (I32), noise.0 (the initial noise), noise.K (the noise
    // of step K, DDPM), samples (the raw sampler output (n, C, S, S)) and, when decoded, images. A latent model
    // without --vae then writes no PNG.
    const char *dump;
    // --npz mode (sample_npz.c)
    const char *npz;
    int64_t num_samples;
    int batch, balanced;
} ditc_sample_args;

int ditc_sample_run(ditc_backend *be, const ditc_sample_args *a, ditc_status *st);

// ---- the sampler shared by the grid and the .npz pipeline ------------------------------------------------
typedef struct ditc_sampler ditc_sampler;
typedef struct {
    void (*progress)(int step, int steps, void *user); // after each denoising step
    void (*noise_hook)(int step, const float *noise, int64_t numel, void *user);
    void *user;
} ditc_sampler_hooks;

// Loads the weights (a->ckpt, EMA unless a->use_model), a->vae and the respaced diffusion. A latent model
// (not 1 or 3 channels) needs a->vae unless allow_latent (then draw() returns latents). 0 or non-zero with st.
int ditc_sampler_open(ditc_sampler **out, ditc_backend *be, const ditc_sample_args *a, int allow_latent,
                      ditc_status *st);
void ditc_sampler_close(ditc_sampler *s);
const ditc_dit_config *ditc_sampler_config(const ditc_sampler *s);
const char *ditc_sampler_weights_path(const ditc_sampler *s);
int ditc_sampler_steps(const ditc_sampler *s);
// The images draw() returns: channels (1 or 3 for images; C for undecoded latents) and side.
void ditc_sampler_image_shape(const ditc_sampler *s, int *channels, int *side);
// Samples index0 .. index0 + n − 1 with labels[n]: images (n, channels, side, side) into img (malloc'ed by the
// caller); raw (may be NULL) gets the sampler's output (n, C, S, S) before decoding. 0 or non-zero with st.
int ditc_sampler_draw(ditc_sampler *s, int n, const int32_t *labels, uint64_t index0, const ditc_sampler_hooks *h,
                      float *img, float *raw, ditc_status *st);

#endif
