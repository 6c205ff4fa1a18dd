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
// the trainer turns them into the model input (run/train_step.c; it never flips the floats itself).
#ifndef DITC_LATENTS_H
#define DITC_LATENTS_H

#include <stdint.h>

#include "common.h"
#include "dataset.h"

#define DITC_LATENTS_FORMAT     "ditc-latents"
#define DITC_LATENTS_VERSION    1
#define DITC_LATENTS_INDEX      "latents.json"
#define DITC_LATENTS_MAX_SHARDS 1000000

// Tensor names of the moments in a shard: mean, logvar, mean_flip, logvar_flip.
extern const char *const ditc_latents_moments[4];

typedef struct {
    int latent_channels, side, image_side, flips;
    double scaling_factor, shift_factor;
} ditc_latents_info;

// Opens dir written by ditc_latents_write (every file validated; messages name the file).
int ditc_dataset_open_latents(ditc_dataset **out, const char *dir, ditc_status *st);
// 1 and *info if ds is a latents source, else 0.
int ditc_dataset_latents_info(const ditc_dataset *ds, ditc_latents_info *info);
#endif
