// npz_stats_write.h — writing a small numpy .npz (a zip of stored .npy 1.0 entries) that numpy.load reads: `ditc fid
// --save-stats` (mu (D,), sigma (D, D) float64, as pytorch-fid's statistics files) and `--save-features`. The
// file is built in memory and replaced atomically (fs.h); entries must stay under 4 GiB (no ZIP64).
#ifndef DITC_NPZ_STATS_WRITE_H
#define DITC_NPZ_STATS_WRITE_H

#include <stdint.h>

#include "common.h"

typedef struct {
    const char *key;   // entry "<key>.npy"
    const char *descr; // "<f8", "<f4", "|u1"
    int ndim;
    int64_t shape[4];
    const void *data; // little-endian row-major, numel · itemsize bytes
} ditc_npz_array_out;

// Writes the n arrays into path. Errors (too large, cannot write) name the path.
int ditc_npz_write(const char *path, const ditc_npz_array_out *arrays, int n, ditc_status *st);

#endif
