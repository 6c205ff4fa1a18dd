// dtype.c — dtype names, sizes and host conversions (F16/BF16/F64/I* -> F32).
#include "dtype.h"

#include <math.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[DITC_DTYPE_COUNT] = {
    [DITC_F32] = {"F32", 4}, [DITC_BF16] = {"BF16", 2}, [DITC_F16] = {"F16", 2}, [DITC_I32] = {"I32", 4},
    [DITC_I64] = {"I64", 8}, [DITC_F64] = {"F64", 8},   [DITC_U8] = {"U8", 1},
};

size_t ditc_dtype_size(ditc_dtype t) { return (unsigned)t < DITC_DTYPE_COUNT ? dtype_info[t].size : 0; }

const char *ditc_dtype_name(ditc_dtype t) { return (unsigned)t < DITC_DTYPE_COUNT ? dtype_info[t].name : "?"; }

int ditc_dtype_from_name(const char *name, size_t len, ditc_dtype *out) {
    for (int i = 0; i < DITC_DTYPE_COUNT; i++) {
        if (strlen(dtype_info[i].name) == len && memcmp(dtype_info[i].name, name, len) == 0) {
            *out = (ditc_dtype)i;
            return 1;
        }
    }
    return 0;
}

float ditc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (mant << 13); // inf / NaN
    } else if (exp != 0) {
        u = sign | ((exp + 112) << 23) | (mant << 13); // normal: rebias 15 -> 127
    } else if (mant == 0) {
        u = sign; // signed zero
    } else {
        float f = ldexpf((float)mant, -24); // subnormal: mant * 2^-24, exact in f32
        memcpy(&u, &f, 4);
        u |= sign;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t ditc_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;  // NaN
    if (a >= 0x477ff000u) return sign | 0x7c00u; // overflow (>= 65520) -> inf
    if (a < 0x38800000u) {                       // below smallest normal 2^-14
        float af;
        memcpy(&af, &a, 4);
        float q = af * 16777216.0f;            // / 2^-24, exact scaling
        return sign | (uint16_t)nearbyintf(q); // ties-to-even (default rounding mode)
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u); // round mantissa to 10 bits, ties even
    return sign | (uint16_t)(((r >> 13) - (112u << 10)) & 0xffffu);
}

int ditc_convert_to_f32(float *dst, const void *src, ditc_dtype from, size_t n) {
    const unsigned char *s = src;
    switch (from) {
    case DITC_F32: memcpy(dst, src, n * 4); return 0;
    case DITC_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = ditc_bf16_to_f32(h);
        }
        return 0;
    case DITC_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = ditc_f16_to_f32(h);
        }
        return 0;
    case DITC_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, s + 8 * i, 8);
            dst[i] = (float)d;
        }
        return 0;
    case DITC_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, s + 4 * i, 4);
            dst[i] = (float)v;
        }
        return 0;
    case DITC_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, s + 8 * i, 8);
            dst[i] = (float)v;
        }
        return 0;
    case DITC_U8:
        for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
        return 0;
    default: return -1;
    }
}
