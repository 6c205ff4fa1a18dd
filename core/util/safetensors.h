// safetensors.h — strict safetensors reader (validated like the reference library, see
// spec/formats.md) and an atomic writer.
//
// Reading: ditc_st_parse validates a whole file image held in memory (no copy); ditc_st_open reads a
// file and parses it. Every problem becomes one ditc_status message naming the file (label) and, where
// it applies, the tensor; malformed input never crashes or reads out of bounds.
// Writing: tensors are laid out contiguously in insertion order, the header is space-padded so the data
// starts 8-byte aligned, and the file is replaced atomically (temp file, fsync, rename, fsync dir).
#ifndef DITC_SAFETENSORS_H
#define DITC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "dtype.h"

#define DITC_ST_MAX_DIMS   8
#define DITC_ST_MAX_HEADER 100000000ull // largest header length accepted (as the reference library)

typedef struct {
    char *name;
    ditc_dtype dtype;
    int ndim; // 0..8
    int64_t shape[DITC_ST_MAX_DIMS];
    uint64_t begin, end;       // offsets relative to the data buffer, end exclusive
    const unsigned char *data; // = data buffer + begin (may be unaligned)
} ditc_st_tensor;

typedef struct {
    char *label;          // file path (or a label) used in every message
    unsigned char *owned; // file bytes when opened from a path (freed by close)
    const unsigned char *bytes;
    size_t size;
    ditc_st_tensor *tensors; // in header order
    int n_tensors;
    char **meta_keys, **meta_vals; // in header order
    int n_meta;
} ditc_safetensors;

// Parses buf[0, size) (not copied: it must outlive st). Returns 0 or an error code (st is then empty).
int ditc_st_parse(ditc_safetensors *st, const unsigned char *buf, size_t size, const char *label, ditc_status *s);
// Reads the whole file at path and parses it; the label is the path.
int ditc_st_open(ditc_safetensors *st, const char *path, ditc_status *s);
// Frees everything and zeroes st; safe on a zeroed or failed struct.
void ditc_st_close(ditc_safetensors *st);

const ditc_st_tensor *ditc_st_find(const ditc_safetensors *st, const char *name); // NULL if absent
const char *ditc_st_meta(const ditc_safetensors *st, const char *key);            // NULL if absent
int64_t ditc_st_numel(const ditc_st_tensor *t);
// Copies tensor t converted to F32 into dst (numel floats). Error naming file and tensor if the dtype is
// not convertible.
int ditc_st_read_f32(const ditc_safetensors *st, const ditc_st_tensor *t, float *dst, ditc_status *s);

typedef struct ditc_st_writer ditc_st_writer;

ditc_st_writer *ditc_st_writer_new(void);
// data is host memory, referenced (not copied) until save; numel * dtype_size bytes. Name, dtype and
// shape are copied. ndim 0..8, shape entries >= 0 (internal invariants, checked).
void ditc_st_writer_add(ditc_st_writer *w, const char *name, ditc_dtype dtype, int ndim, const int64_t *shape,
                        const void *data);
void ditc_st_writer_meta(ditc_st_writer *w, const char *key, const char *value);
// Atomic: writes "<path>.tmp.<pid>", fflush + fsync, renames it over path, fsyncs the directory. On any
// failure removes the temp file, leaves an existing file at path untouched and returns an error naming
// the path. Names must be unique valid UTF-8 (and not "__metadata__"); metadata keys unique.
int ditc_st_writer_save(ditc_st_writer *w, const char *path, ditc_status *s);
void ditc_st_writer_free(ditc_st_writer *w);

#endif
