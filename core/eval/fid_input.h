// fid_input.h — the inputs of `ditc fid`, told apart by what the path holds:
//   * an image folder: the *.png, *.jpg, *.jpeg files directly in it (pytorch-fid's glob, sorted by name),
//     decoded as Pillow's convert("RGB") (core/data/image.h), any size (resized by the Inception itself);
//   * an ADM sample batch .npz: arr_0 uint8 (N, H, W, 3) (read in batches, never whole);
//   * statistics .npz: mu (D,), sigma (D, D), float64 or float32 (pytorch-fid's files, `ditc fid --save-stats`);
//   * features .npz: features float32 (N, D) (`ditc fid --save-features`).
// Every bad input (missing path, no images, a folder file that does not decode, arr_0 of the wrong dtype or
// shape, inconsistent mu/sigma) is one message naming the path.
#ifndef DITC_FID_INPUT_H
#define DITC_FID_INPUT_H

#include <stdint.h>

#include "common.h"
#include "image.h"

typedef enum { DITC_FID_IMAGES = 0, DITC_FID_STATS = 1, DITC_FID_FEATURES = 2 } ditc_fid_kind;

typedef struct ditc_fid_input ditc_fid_input;

int ditc_fid_input_open(const char *path, ditc_fid_input **in, ditc_status *st);
void ditc_fid_input_close(ditc_fid_input *in);
ditc_fid_kind ditc_fid_input_kind(const ditc_fid_input *in);
int64_t ditc_fid_input_count(const ditc_fid_input *in);    // images or feature rows (0 for statistics)
const char *ditc_fid_input_desc(const ditc_fid_input *in); // e.g. "image batch .npz (10000, 256, 256, 3)"
// Images: the next up to max images (decoded on `threads` OpenMP threads, 0 = default) into *imgs, owned by in
// and valid until the next call. Returns the number (0 at the end) or -1 with st set.
int ditc_fid_input_next_images(ditc_fid_input *in, int max, int threads, const ditc_image **imgs, ditc_status *st);
// Features: dimension, then the next up to max rows into dst (max · D floats). Returns rows (0 at the end) or -1.
int ditc_fid_input_dim(const ditc_fid_input *in);
int64_t ditc_fid_input_next_features(ditc_fid_input *in, int64_t max, float *dst, ditc_status *st);
// Statistics: *mu (D) and *sigma (D, D) malloc'd, *d set.
int ditc_fid_input_stats(ditc_fid_input *in, double **mu, double **sigma, int *d, ditc_status *st);

#endif
