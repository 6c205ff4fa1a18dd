// latents.h — pre-encoded VAE latents (fast-DiT's trick: the VAE runs once per image, not once per epoch):
// `ditc extract --vae PATH` writes them, `ditc train --data-path DIR` reads them and draws a fresh posterior
// sample every time (format: docs/data-formats.md).
//
// DIR/latents-00000.safetensors ...: `mean`, `logvar` F32 [n, latent, h, w] (logvar clamped to [−30, 20]),
// with --flips also `mean_flip`, `logvar_flip` (the latents of the horizontally flipped image), and `labels`
// I32 [n]. DIR/latents.json: format "ditc-latents", version 1, latent_channels, side (h = w), image_side,
// num_classes, total, flips (0/1), scaling_factor, shift_factor, vae, source, shards [{file, count}].
// Files are written atomically; latents.json last (after any old one was removed), so an unfinished
// extraction does not open.
//
// As a data source a sample is the moments [mean | logvar | (mean_flip | logvar_flip)] along the channels;
// the trainer turns them into the model input with ditc_latents_batch (never flipping the floats itself).
#ifndef DITC_LATENTS_H
#define DITC_LATENTS_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "common.h"
#include "dataset.h"

#define DITC_LATENTS_FORMAT "ditc-latents"
#define DITC_LATENTS_VERSION 1
#define DITC_LATENTS_INDEX "latents.json"

typedef struct {
    int latent_channels, side, image_side, flips;
    double scaling_factor, shift_factor;
} ditc_latents_info;

// Encodes every sample of ds (images in [-1, 1]) with the VAE at vae_path (loaded onto be; tiled above vae_tile
// pixels unless 0) into latent shards
// of shard_size samples in dir (created). Errors name the file / flag.
int ditc_latents_write(const ditc_dataset *ds, ditc_backend *be, const char *vae_path, int vae_tile, const char *dir,
                       int64_t shard_size, int flips, FILE *log, ditc_status *st);
// Opens dir written by ditc_latents_write (every file validated; messages name the file).
int ditc_dataset_open_latents(ditc_dataset **out, const char *dir, ditc_status *st);
// 1 and *info if ds is a latents source, else 0.
int ditc_dataset_latents_info(const ditc_dataset *ds, ditc_latents_info *info);
// The model input of a batch: for sample b (moments x + b·per, global batch position pos[b]) the orientation
// flip = random_flip && uniform(seed, DITC_RNG_FLIP, step, pos[b]) < 0.5 (the loader's draw for images), then
// the posterior sample ditc_vae_sample_latents keyed (seed, DITC_RNG_POSTERIOR, step, pos[b]·n) — so training
// on latents equals encoding the (flipped) images on the fly. out (B, latent, side, side).
void ditc_latents_batch(const ditc_latents_info *li, const float *x, int64_t B, int64_t per, const int64_t *pos,
                        uint64_t seed, uint32_t step, int random_flip, float *out);

#endif
