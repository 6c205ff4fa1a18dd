// vae.h — the Stable Diffusion VAE (diffusers AutoencoderKL, spec/vae.md), forward only: encode images to
// the latent posterior (mean, log-variance) and decode latents to images.
//
// Weights come from a directory holding diffusion_pytorch_model.safetensors (+ config.json), or from the
// .safetensors file itself (config.json next to it is read when present). Without config.json, or for keys
// it lacks, the sd-vae-ft-ema values apply. Tensor names: current diffusers and older diffusers files
// (attention `query/key/value/proj_attn`); F32, F16 or BF16 storage (computed in F32). Every problem with
// the file (missing, unexpected, mis-shaped or mis-typed tensor, bad config value) is one message naming
// the file and the tensor or key.
//
// Images are (B, in_channels, H, W) in [-1, 1] with H, W multiples of 2^(levels−1) (8 for SD); latents are
// (B, latent_channels, H/8, W/8). Samples are processed one at a time; activations are freed as soon as
// they are consumed, so the peak is the weights + a few activations + a bounded im2col band.
#ifndef DITC_VAE_H
#define DITC_VAE_H

#include <stdint.h>

#include "backend.h"
#include "common.h"
#include "vae_config.h"

#define DITC_VAE_FILE "diffusion_pytorch_model.safetensors"

typedef struct ditc_vae ditc_vae;

// Loads path (directory or .safetensors file) onto backend be. `flag` names the option in messages
// ("--vae"). Returns 0 and *out, or an error naming the path/tensor/key.
int ditc_vae_load(ditc_vae **out, ditc_backend *be, const char *path, const char *flag, ditc_status *st);
void ditc_vae_free(ditc_vae *v);
const ditc_vae_config *ditc_vae_get_config(const ditc_vae *v);
// One line for logs: the file, the naming convention found, parameters, storage dtype.
const char *ditc_vae_desc(const ditc_vae *v);
int64_t ditc_vae_num_params(const ditc_vae *v);

// Tiling: images (encode) or latents·8 (decode) larger than tile×tile pixels are processed in overlapping
// tiles blended linearly (diffusers' tiled_encode/tiled_decode scheme: overlap 25%, blend 1/4 tile, latent
// tile = tile/8). 0 = never tile (the default, exact). Else a multiple of 4·f (32), or an error naming --vae-tile.
int ditc_vae_set_tile(ditc_vae *v, int tile, ditc_status *st);

// img (B, in_ch, H, W) host F32 → mean, logvar (B, latent_ch, H/f, W/f) host F32 (logvar clamped to
// [−30, 20]). H, W must be multiples of f = 2^(levels−1) (error naming `what`).
int ditc_vae_encode(ditc_vae *v, const float *img, int64_t B, int64_t H, int64_t W, float *mean, float *logvar,
                    const char *what, ditc_status *st);
// z (B, latent_ch, h, w) host F32 (already divided by the scaling factor) → img (B, out_ch, h·f, w·f) host F32.
int ditc_vae_decode(ditc_vae *v, const float *z, int64_t B, int64_t h, int64_t w, float *img, ditc_status *st);
// A latent DiT's samples z (B, latent_ch, h, w) host F32, in the scaled space it was trained on (overwritten) →
// img as ditc_vae_decode of z / scaling_factor + shift_factor (the reference's vae.decode(samples / 0.18215)).
int ditc_vae_decode_samples(ditc_vae *v, float *z, int64_t B, int64_t h, int64_t w, float *img, ditc_status *st);
int ditc_vae_factor(const ditc_vae *v); // 2^(levels−1)

// Posterior sample scaled for the DiT: out[i] = scale·(mean + exp(½·logvar)·ε − shift), ε = the counter
// RNG's normal stream (seed, purpose, step, index0 + i), i over n elements (host memory).
void ditc_vae_sample_latents(const ditc_vae_config *c, const float *mean, const float *logvar, int64_t n, uint64_t seed,
                             uint32_t purpose, uint32_t step, uint64_t index0, float *out);

// Training latents of a batch (`ditc train --vae`): encodes img (B, in_ch, H, W) and draws sample b's
// posterior sample with ditc_vae_sample_latents keyed (seed, DITC_RNG_POSTERIOR, step, pos[b]·n), n = the
// latent numel per sample, into out (B, latent_ch, H/f, W/f).
int ditc_vae_encode_latents(ditc_vae *v, const float *img, int64_t B, int64_t H, int64_t W, const int64_t *pos,
                            uint64_t seed, uint32_t step, float *out, ditc_status *st);

#endif
