// npz_read.h — a minimal, strict reader of numpy .npz files (a zip of .npy arrays) for `ditc fid`: ADM sample
// batches (arr_0 uint8 (N, H, W, 3), np.savez: stored entries, ZIP64 for the multi-GB ones) and pytorch-fid's
// statistics (mu, sigma; np.savez_compressed: deflate entries). Self-contained (zlib for deflate); not a general
// zip reader. Arrays are streamed: the data are read sequentially in caller-sized pieces, never all at once.
// Every problem (not a zip, a truncated or encrypted entry, a bad .npy header, big-endian or Fortran-order data)
// is one message naming the file and the array.
#ifndef DITC_NPZ_READ_H
#define DITC_NPZ_READ_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define DITC_NPY_MAX_DIMS 8

typedef struct ditc_npz ditc_npz;
typedef struct ditc_npy_reader ditc_npy_reader;

typedef struct {
    char descr[16]; // numpy dtype string, e.g. "<f8", "<f4", "|u1"
    int ndim;
    int64_t shape[DITC_NPY_MAX_DIMS];
    int64_t numel;
    size_t itemsize;
} ditc_npy_info;

// Reads the zip's central directory. Returns 0, or an error naming the file.
int ditc_npz_open(const char *path, ditc_npz **out, ditc_status *st);
void ditc_npz_close(ditc_npz *z);
const char *ditc_npz_path(const ditc_npz *z);
int ditc_npz_has(const ditc_npz *z, const char *key); // key "mu" = entry "mu.npy"
// Opens array `key` (its own file handle) and parses its .npy header into info.
int ditc_npz_array(ditc_npz *z, const char *key, ditc_npy_reader **r, ditc_npy_info *info, ditc_status *st);
// The next `bytes` bytes of the array's data (row-major, little-endian); an error if the entry ends first.
int ditc_npy_read(ditc_npy_reader *r, void *dst, size_t bytes, ditc_status *st);
void ditc_npy_reader_close(ditc_npy_reader *r);
// The whole array `key` as doubles ("<f4" or "<f8" only; else an error naming the dtype). *data is malloc'd.
int ditc_npz_read_f64(ditc_npz *z, const char *key, double **data, ditc_npy_info *info, ditc_status *st);
// "(2048, 2048)" for messages.
void ditc_npy_shape_str(const ditc_npy_info *info, char *buf, size_t cap);

#endif
