// fid.h — `ditc fid`: the Fréchet Inception Distance of pytorch-fid 0.3.0 between two inputs (image folders,
// ADM .npz batches, statistics or features .npz; core/eval/fid_input.h), or the statistics of one
// (--save-stats). Images run through the FID Inception (core/eval/inception_net.h) in batches on the chosen
// backend; only the running float64 sums are kept (memory O(batch + D²), not O(N)).
#ifndef DITC_FID_H
#define DITC_FID_H

#include <stdio.h>

#include "backend.h"
#include "common.h"
#include "image.h"
#include "inception_net.h"

typedef struct {
    const char *inputs[2];
    int n_inputs;
    const char *inception;     // --inception WEIGHTS.safetensors (needed for image inputs)
    const char *save_stats;    // --save-stats OUT.npz (one input)
    const char *save_features; // --save-features OUT.npz (one input; holds every feature in memory)
    int batch;                 // --batch (images per forward)
    int threads;               // --threads (0 = default)
    const char *device;        // --device (cpu)
} ditc_fid_args;

// uint8 HWC (pytorch-fid's ToTensor: / 255 in float32, CHW) → slot b of the Inception's input tensor in, through
// a staging tensor on be; host: scratch of at least 3·h·w floats.
void ditc_fid_put_image(ditc_backend *be, ditc_inception *m, ditc_tensor *in, int64_t b, const ditc_image *img,
                        float *host);

// Prints one line per input and `FID: <value>` (two inputs) to out. Errors name the file or flag.
int ditc_fid_run(const ditc_fid_args *a, FILE *out, ditc_status *st);

#endif
