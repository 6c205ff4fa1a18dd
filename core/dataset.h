// dataset.h — the data-source interface the trainer reads samples through, plus the sources built on it:
// IDX files (MNIST / Fashion-MNIST, raw or gzip) and a cheap deterministic synthetic set for tests/demos.
//
// A dataset hands out samples one at a time as (channels, side, side) CHW float in [-1, 1] (preprocessing
// applied, no augmentation: the trainer flips) plus an integer label. `get` is thread-safe, so a batch is
// filled in parallel; which samples go in a batch is the sampler's business (sampler.h).
#ifndef DITC_DATASET_H
#define DITC_DATASET_H

#include <stdint.h>

#include "common.h"

typedef struct ditc_dataset ditc_dataset;
struct ditc_dataset {
    int64_t n;            // number of samples
    int channels, side;   // every sample is (channels, side, side) float in [-1, 1], CHW
    int num_classes;      // labels in [0, num_classes)
    char desc[256];       // one line for logs: source, sizes, preprocessing
    // Writes sample i (0 <= i < n; no flip, preprocessing applied) into dst[channels*side*side] and its
    // label into *label. Thread-safe for concurrent calls. Returns 0, or non-zero with st (may be NULL)
    // naming the file and what is wrong (a corrupt image, an unreadable file).
    int (*get)(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st);
    // Optional (NULL if the source is not 8-bit exact): the same sample as the uint8 values before scaling,
    // so that get = u8 / 127.5 − 1. Used by `ditc extract` and by byte-exact preprocessing tests.
    int (*get_u8)(const ditc_dataset *ds, int64_t i, uint8_t *dst, int32_t *label, ditc_status *st);
    void (*destroy)(ditc_dataset *ds); // frees ctx and ds itself
    void *ctx;
};

// Fills x (B, C, S, S) and y (B) with samples idx[0..B); OpenMP-parallel over samples (deterministic:
// every sample is written by one call of ds->get). Returns 0, or the error of the first failing sample
// in batch order.
int ditc_dataset_batch(const ditc_dataset *ds, const int64_t *idx, int64_t B, float *x, int32_t *y, ditc_status *st);
// get() for sources that have get_u8: the u8 sample scaled by v/127.5 − 1.
int ditc_dataset_get_from_u8(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st);

// Calls ds->destroy; NULL is a no-op.
void ditc_dataset_free(ditc_dataset *ds);

// IDX (MNIST-style) source. `path` is a directory holding train-images-idx3-ubyte[.gz] and
// train-labels-idx1-ubyte[.gz], or the images file itself (the labels file is the same name with
// "images-idx3" replaced by "labels-idx1"; "images.idx3" -> "labels.idx1" also works). Gzip or raw,
// detected by the gzip magic. Preprocessing to image_size S (0 = the native side): byte/127.5 - 1; S larger
// than native centres the image on a -1 canvas (pad (S-native)/2 left/top); S smaller area-averages (box
// filter over the exact source footprint). channels = 1, num_classes = max label + 1.
// Returns 0 and *out, or non-zero with st naming the file and what is wrong.
int ditc_dataset_open_idx(ditc_dataset **out, const char *path, int image_size, ditc_status *st);

// Synthetic source: sample i is a smooth class-dependent pattern (label i % num_classes) plus noise, a pure
// function of (seed, i) computed on demand (nothing stored). Values in [-1, 1]. Arguments are internal
// (DITC_CHECK): n >= 1, channels >= 1, side >= 1, num_classes >= 1.
ditc_dataset *ditc_dataset_synthetic(int64_t n, int channels, int side, int num_classes, uint64_t seed);

#endif
