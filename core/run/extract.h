// extract.h — `ditc extract`: a data source preprocessed once into shards (image bytes, data/shards.h) or
// VAE latent shards (posterior mean and log-variance, data/latents.h), so training reads memory maps.
#ifndef DITC_EXTRACT_H
#define DITC_EXTRACT_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "common.h"
#include "dataset.h"

typedef struct {
    const char *data_path; // the source (--data-path)
    const char *out_dir;   // --out
    const char *dataset;   // --dataset: auto (default, NULL = auto), imagefolder, cifar10, idx, shards
    const char *vae;       // --vae: none (default, NULL = none: image bytes) or an AutoencoderKL: latent shards
                           // (latents.h) with the posterior mean and log-variance
    int flips;             // --flips (with --vae): also the latents of the horizontally flipped images
    int vae_tile;          // --vae-tile (with --vae)
    ditc_backend *be;      // backend for the VAE (set by the caller when vae is given)
    const char *split;     // --split: train (default, NULL = train) or test (CIFAR-10 only)
    int image_size;        // --image-size (0 = the source's native side where it has one)
    int64_t shard_size;    // --shard-size (0 = DITC_SHARDS_DEFAULT_SIZE)
    int skip_bad;          // --skip-bad-images (ImageFolder)
    int threads;           // --threads (0 = OpenMP default)
} ditc_extract_args;

// Opens the source, checks the arguments (errors name the flag) and writes the shards and index into
// out_dir (created if missing; parents included). Progress lines go to log (may be NULL).
int ditc_extract_run(const ditc_extract_args *a, FILE *log, ditc_status *st);

// Writes every sample of ds (which must have get_u8) as shards of shard_size samples into dir (created if
// missing), samples filled on `threads` OpenMP threads (0 = default), then dir/index.json. Shard files of
// an earlier extraction beyond the new count are removed. `source` goes into the index (NULL: ds->desc).
int ditc_shards_write(const ditc_dataset *ds, const char *dir, int64_t shard_size, int threads, const char *source,
                      FILE *log, ditc_status *st);

// Encodes every sample of ds (images in [-1, 1]) with the VAE at vae_path (loaded onto be; tiled above vae_tile
// pixels unless 0) into latent shards of shard_size samples in dir (created). Errors name the file / flag.
int ditc_latents_write(const ditc_dataset *ds, ditc_backend *be, const char *vae_path, int vae_tile, const char *dir,
                       int64_t shard_size, int flips, FILE *log, ditc_status *st);

#endif
