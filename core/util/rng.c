// rng.c — bulk uniform/normal fills and the Fisher–Yates permutation (see rng.h / philox.h).
//
// The fills walk Philox blocks, computing each block once and writing the lanes of it that fall in
// [index0, index0 + n), so the result is bit-identical to calling the per-element functions for any
// index0 (4-aligned or not) and any n; the lane math is the very same inline code from philox.h.
// Large fills (more than 65536 elements) split the blocks over OpenMP threads.
#include "rng.h"

#include "common.h"

#define DITC_RNG_PARALLEL_MIN 65536

typedef enum { FILL_UNIFORM, FILL_NORMAL } fill_kind;

// Writes the lanes [lane_lo, lane_hi) of block b to out[lane - lane_lo].
static inline void fill_block(float *out, fill_kind kind, uint64_t seed, uint32_t purpose, uint32_t step, uint64_t b,
                              unsigned lane_lo, unsigned lane_hi) {
    uint32_t x[4];
    ditc_rng_block(seed, purpose, step, b, x);
    if (kind == FILL_UNIFORM) {
        for (unsigned l = lane_lo; l < lane_hi; l++) out[l - lane_lo] = ditc_rng_uniform_from_bits(x[l]);
    } else if (lane_lo == 0 && lane_hi == 4) {
        // Full block: one log/sqrt per pair (same expressions as ditc_rng_normal_from_block).
        for (unsigned p = 0; p < 4; p += 2) {
            double r, theta;
            ditc_rng_box_muller(x[p], x[p + 1], &r, &theta);
            out[p] = (float)(r * cos(theta));
            out[p + 1] = (float)(r * sin(theta));
        }
    } else {
        for (unsigned l = lane_lo; l < lane_hi; l++) out[l - lane_lo] = ditc_rng_normal_from_block(x, l);
    }
}

static void fill(float *dst, size_t n, fill_kind kind, uint64_t seed, uint32_t purpose, uint32_t step,
                 uint64_t index0) {
    if (n == 0) return;
    DITC_CHECK(dst != NULL, "rng fill into NULL");
    DITC_CHECK((uint64_t)n - 1 <= UINT64_MAX - index0, "rng fill index range overflows: index0=%llu n=%zu",
               (unsigned long long)index0, n);
    const uint64_t last = index0 + ((uint64_t)n - 1);
    const uint64_t b_first = index0 / 4, b_last = last / 4;

    // Head: the (possibly partial) first block.
    unsigned head_lo = (unsigned)(index0 % 4);
    unsigned head_hi = (b_first == b_last) ? (unsigned)(last % 4) + 1 : 4;
    fill_block(dst, kind, seed, purpose, step, b_first, head_lo, head_hi);
    if (b_first == b_last) return;

    // Body: full blocks b_first+1 .. b_last-1; element offset of block b is 4*b - index0.
    float *body = dst + (head_hi - head_lo);
    const int64_t nbody = (int64_t)(b_last - b_first - 1);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n > DITC_RNG_PARALLEL_MIN)
#endif
    for (int64_t k = 0; k < nbody; k++)
        fill_block(body + 4 * (size_t)k, kind, seed, purpose, step, b_first + 1 + (uint64_t)k, 0, 4);

    // Tail: the (possibly partial) last block.
    fill_block(body + 4 * (size_t)nbody, kind, seed, purpose, step, b_last, 0, (unsigned)(last % 4) + 1);
}

void ditc_rng_fill_uniform(float *dst, size_t n, uint64_t seed, uint32_t purpose, uint32_t step, uint64_t index0) {
    fill(dst, n, FILL_UNIFORM, seed, purpose, step, index0);
}

void ditc_rng_fill_normal(float *dst, size_t n, uint64_t seed, uint32_t purpose, uint32_t step, uint64_t index0) {
    fill(dst, n, FILL_NORMAL, seed, purpose, step, index0);
}

void ditc_rng_permutation(int64_t *perm, int64_t n, uint64_t seed, uint32_t purpose, uint32_t step) {
    DITC_CHECK(n >= 0, "permutation of negative length %lld", (long long)n);
    if (n == 0) return;
    DITC_CHECK(perm != NULL, "permutation into NULL");
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i >= 1; i--) {
        uint64_t j = ditc_rng_randint(seed, purpose, step, (uint64_t)i, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[(int64_t)j];
        perm[(int64_t)j] = t;
    }
}
