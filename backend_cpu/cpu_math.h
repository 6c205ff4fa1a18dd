// cpu_math.h — vectorisable exp and tanh for the CPU kernels' hot loops (GELU, SiLU, softmax).
//
// glibc's expf/tanhf are scalar calls that stop loop vectorisation. These inline versions use only
// arithmetic and bit moves, so `#pragma omp simd` loops vectorise. Accuracy: relative error ≤ 2e-7
// (exp) and ≤ 3e-7 (tanh) over the float range (tests/test_cpu_math.c checks against double).
#ifndef DITC_CPU_MATH_H
#define DITC_CPU_MATH_H

#include <stdint.h>
#include <string.h>

// For the compute-bound elementwise kernels (GELU, SiLU): on AVX-512 machines GCC vectorises 256 bits wide by
// default (-mprefer-vector-width=256); these loops run twice as fast 512 bits wide (functions marked with it are
// not inlined: the attribute does not carry into callers or OpenMP bodies). Only the width changes: every
// lane computes the same arithmetic, so results are identical (no reduction crosses lanes in these loops).
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#define DITC_WIDE_SIMD __attribute__((target("prefer-vector-width=512"), noinline))
#else
#define DITC_WIDE_SIMD
#endif

// e^x: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), Cephes degree-6 polynomial, 2^n by bits.
// x is clamped to [−87, 88] (n in [−126, 127], 2^n a normal float): below, the result is ~1.6e-38
// instead of 0; above, 1.65e38 instead of up to 3.4e38/inf — harmless for softmax, GELU and SiLU.
static inline float ditc_vexpf(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f;
    float n = (t + 12582912.0f) - 12582912.0f; // round to nearest integer (|t| < 2^22)
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

// tanh(x): odd polynomial near 0 (Cephes), 1 − 2/(e^{2|x|} + 1) elsewhere, sign restored.
static inline float ditc_vtanhf(float x) {
    float a = x < 0.0f ? -x : x;
    float z = x * x;
    float small =
        ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z + 1.33314422036E-1f) * z -
         3.33332819422E-1f) *
            z * x +
        x;
    float e = ditc_vexpf(2.0f * a);
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? small : big;
}

// max(x[0..n)), n ≥ 1, in 16 independent lanes so GCC and clang both vectorise it without an OpenMP max
// reduction (clang refuses `omp simd reduction(max)` on a select). Max is exact, so any order gives the same.
static inline float ditc_vmaxf(const float *x, int64_t n) {
    float lane[16];
    for (int k = 0; k < 16; k++) lane[k] = x[0];
    int64_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
    float m = x[0];
    for (int k = 0; k < 16; k++) m = lane[k] > m ? lane[k] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

#endif
