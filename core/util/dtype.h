// dtype.h — element types and the host-side conversions between them.
//
// Tensors are stored as F32 or BF16 (mixed precision) and I32 (indices such as class labels).
// F16 and BF16 (and F64/I64 where useful) only appear in files and are converted to F32 when loading.
#ifndef DITC_DTYPE_H
#define DITC_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    DITC_F32 = 0,
    DITC_BF16 = 1,
    DITC_F16 = 2,
    DITC_I32 = 3,
    DITC_I64 = 4,
    DITC_F64 = 5,
    DITC_U8 = 6,
    DITC_DTYPE_COUNT
} ditc_dtype;

size_t ditc_dtype_size(ditc_dtype t);
const char *ditc_dtype_name(ditc_dtype t);                               // safetensors spelling: "F32", "BF16", ...
int ditc_dtype_from_name(const char *name, size_t len, ditc_dtype *out); // 1 if known

static inline float ditc_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Round to nearest even; NaN stays a (quiet) NaN.
static inline uint16_t ditc_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float ditc_f16_to_f32(uint16_t h); // IEEE half incl. subnormals, inf, NaN
uint16_t ditc_f32_to_f16(float f); // round to nearest even

// Converts n elements of `src` (dtype `from`) to float32 `dst` (host memory).
// Returns 0 on success, -1 if `from` is not convertible to F32.
int ditc_convert_to_f32(float *dst, const void *src, ditc_dtype from, size_t n);

#endif
