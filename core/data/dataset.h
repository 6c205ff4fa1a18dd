// dataset.h — the data-source interface the trainer reads samples through, plus the sources built on it:
// IDX files (MNIST / Fashion-MNIST, raw or gzip) and a cheap deterministic synthetic set for tests/demos.
//
// A dataset hands out samples one at a time as (channels, side, side) CHW float in [-1, 1] (preprocessing
// applied, no augmentation: the trainer flips) plus an integer label. `get` is thread-safe, so a batch is
// filled in parallel; which samples go in a batch is the data order's business (data_order.h).
#ifndef DITC_DATASET_H
#define DITC_DATASET_H

#include <stdint.h>

#include "common.h"

typedef struct ditc_dataset ditc_dataset;
struct ditc_dataset {
    int64_t n;          // number of samples
    int channels, side; // every sample is (channels, side, side) float in [-1, 1], CHW
    int num_classes;    // labels in [0, num_classes)
    char desc[256];     // one line for logs: source, sizes, preprocessing
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
// A source of exact 8-bit samples (get = get_u8 scaled by ditc_dataset_get_from_u8); the caller writes desc.
ditc_dataset *ditc_dataset_new_u8(int64_t n, int channels, int side, int num_classes,
                                  int (*get_u8)(const ditc_dataset *, int64_t, uint8_t *, int32_t *, ditc_status *),
                                  void (*destroy)(ditc_dataset *), void *ctx);

// Calls ds->destroy; NULL is a no-op.
void ditc_dataset_free(ditc_dataset *ds);

// IDX (MNIST-style) source. `path` is a directory holding train-images-idx3-ubyte[.gz] and
// train-labels-idx1-ubyte[.gz], or the images file itself (the labels file is the same name with
// "images-idx3" replaced by "labels-idx1"; "images.idx3" -> "labels.idx1" also works). Gzip or raw,
// detected by the gzip magic. Preprocessing to image_size S (0 = the native side): byte/127.5 - 1; S larger
// than native centres the image on a -1 canvas (pad (S-native)/2 left/top); S smaller area-averages (box
// filter over the exact source footprint). channels = 1, num_classes = max label + 1. get_u8 is set (bytes,
// padding 0) except for the area downscale.
// Returns 0 and *out, or non-zero with st naming the file and what is wrong.
int ditc_dataset_open_idx(ditc_dataset **out, const char *path, int image_size, ditc_status *st);

// Synthetic source: sample i is a smooth class-dependent pattern (label i % num_classes) plus noise, a pure
// function of (seed, i) computed on demand (nothing stored). Values in [-1, 1]. Arguments are internal
// (DITC_CHECK): n >= 1, channels >= 1, side >= 1, num_classes >= 1.
ditc_dataset *ditc_dataset_synthetic(int64_t n, int channels, int side, int num_classes, uint64_t seed);

// ---- sources of the data pipeline (dataset_imagefolder.c, dataset_cifar10.c, shards.c, dataset_open.c) ---

// torchvision ImageFolder: root/<class>/**/<file>. Classes = the sorted (byte order) names of root's
// sub-directories (symlinks followed, hidden ones included, as torchvision), label = index. Files of a class
// in the order of `for dirpath, _, fnames in sorted(os.walk(class_dir, followlinks=True)): for f in
// sorted(fnames)`, kept when the lower-cased name ends with .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp.
// Only JPEG and PNG decode (by content, image.h): a kept file of another format fails at decode with the
// decoder's "unsupported format" message. Sample = ditc_image_load_crop(file, image_size) -> (3, S, S) u8
// (center_crop_arr), get = u8/127.5 - 1. image_size must be > 0 (error naming --image-size). Errors naming
// the path: root missing/unreadable, no class folders, a class folder without valid files, an unreadable
// sub-directory. skip_bad != 0: a sample whose file does not decode is replaced by the next index
// (i+1, i+2, ... mod n) that decodes; each bad file is tried once and counted (ditc_dataset_bad_count).
// Without skip_bad the decoder's error (naming the file) is returned.
int ditc_dataset_open_imagefolder(ditc_dataset **out, const char *root, int image_size, int skip_bad, ditc_status *st);
// ImageFolder sample i's path relative to root ("class/sub/file.png") and label; NULL if ds is not an
// ImageFolder source or i is out of range.
const char *ditc_imagefolder_relpath(const ditc_dataset *ds, int64_t i, int32_t *label);
// Class name k of an ImageFolder source (NULL if not one, or k out of range).
const char *ditc_imagefolder_class_name(const ditc_dataset *ds, int k);
// Number of distinct files found undecodable so far by a skip_bad ImageFolder source (0 for any other
// source); thread-safe. If first_msg != NULL (cap > 0) and the count is > 0 it receives the first decode
// error message (else ""). Takes the dataset returned by the open function (not a wrapper).
int64_t ditc_dataset_bad_count(const ditc_dataset *ds, char *first_msg, size_t cap);

// CIFAR-10 binary: path = the cifar-10-batches-bin directory or its parent. train != 0: data_batch_1..5.bin
// (50,000 samples), else test_batch.bin (10,000). Each file must be exactly 30,730,000 bytes (10,000 records
// of a label byte 0..9 + 1024 R + 1024 G + 1024 B); errors name the file. image_size 0 or 32: the images
// as they are; any other S: center_crop_arr(img, S) (image.h), as the reference pipeline. channels 3,
// num_classes 10; get_u8 exact. Class names from batches.meta.txt when present (desc only).
int ditc_dataset_open_cifar10(ditc_dataset **out, const char *path, int image_size, int train, ditc_status *st);

// Shards written by `ditc extract` (shards.h, docs/data-formats.md): dir/index.json + shard files, all
// validated on open (names, dtypes, shapes, counts, labels) with messages naming the file. The shard files
// are memory-mapped (read-only) and get_u8 copies bytes out of them.
int ditc_dataset_open_shards(ditc_dataset **out, const char *dir, ditc_status *st);

// Opens the source `kind` at `path`: "imagefolder", "cifar10" (train split), "idx", "shards", or "auto":
// a directory with index.json -> shards; with data_batch_1.bin or test_batch.bin (or the same inside
// cifar-10-batches-bin/) -> cifar10; with train-images-idx3-ubyte[.gz], or a file with the IDX images magic (raw or gzip) -> idx;
// a directory with sub-directories -> imagefolder; else an error listing what was looked for. A missing
// path -> "--data-path X: No such file or directory". "synthetic" is the caller's (error here).
// image_size as the source's open function (shards: 0 or the shards' side, else an error); skip_bad only
// affects imagefolder.
int ditc_dataset_open(ditc_dataset **out, const char *kind, const char *path, int image_size, int skip_bad,
                      ditc_status *st);
// The kind "auto" resolves to for path ("shards", "cifar10", "idx", "imagefolder"), or NULL with st set.
const char *ditc_dataset_detect(const char *path, ditc_status *st);

#endif
