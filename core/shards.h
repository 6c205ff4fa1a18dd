// shards.h — pre-extracted data sets: `ditc extract` writes a source's exact 8-bit samples into
// safetensors shards plus an index (format: docs/data-formats.md), and ditc_dataset_open_shards (dataset.h)
// reads them back as a data source.
//
// DIR/shard-00000.safetensors ... : tensors `images` U8 [n, C, S, S] (the get_u8 bytes: preprocessed, not
// flipped, not scaled) and `labels` I32 [n]; DIR/index.json: format "ditc-shards", version 1, data
// "images-u8", channels, side, num_classes, total, source, and per shard {file, count}. Every file is
// written atomically (temporary file + rename) and index.json last, after any old index.json was removed
// first, so a directory whose extraction failed or is under way has no index and does not open.
#ifndef DITC_SHARDS_H
#define DITC_SHARDS_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "dataset.h"

#define DITC_SHARDS_FORMAT "ditc-shards"
#define DITC_SHARDS_VERSION 1
#define DITC_SHARDS_DATA_U8 "images-u8"
#define DITC_SHARDS_DEFAULT_SIZE 8192

typedef struct {
    const char *data_path;  // the source (--data-path)
    const char *out_dir;    // --out
    const char *dataset;    // --dataset: auto (default, NULL = auto), imagefolder, cifar10, idx, shards
    const char *vae;        // --vae: none (default, NULL = none: image bytes) or an AutoencoderKL: latent shards
                            // (latents.h) with the posterior mean and log-variance
    int flips;              // --flips (with --vae): also the latents of the horizontally flipped images
    int vae_tile;           // --vae-tile (with --vae)
    struct ditc_backend *be;// backend for the VAE (set by the caller when vae is given)
    const char *split;      // --split: train (default, NULL = train) or test (CIFAR-10 only)
    int image_size;         // --image-size (0 = the source's native side where it has one)
    int64_t shard_size;     // --shard-size (0 = DITC_SHARDS_DEFAULT_SIZE)
    int skip_bad;           // --skip-bad-images (ImageFolder)
    int threads;            // --threads (0 = OpenMP default)
} ditc_extract_args;

// Opens the source, checks the arguments (errors name the flag) and writes the shards and index into
// out_dir (created if missing; parents included). Progress lines go to log (may be NULL).
int ditc_extract_run(const ditc_extract_args *a, FILE *log, ditc_status *st);

// Writes every sample of ds (which must have get_u8) as shards of shard_size samples into dir (created if
// missing), samples filled on `threads` OpenMP threads (0 = default), then dir/index.json. Shard files of
// an earlier extraction beyond the new count are removed. `source` goes into the index (NULL: ds->desc).
int ditc_shards_write(const ditc_dataset *ds, const char *dir, int64_t shard_size, int threads, const char *source,
                      FILE *log, ditc_status *st);

#endif
