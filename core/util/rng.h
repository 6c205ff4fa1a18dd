// rng.h — host-side random helpers on top of philox.h: the purpose ids that separate ditc's random
// streams, bulk uniform/normal fills (OpenMP-parallel, bit-identical to the per-element functions in
// philox.h) and the seeded Fisher–Yates permutation used for data shuffling.
#ifndef DITC_RNG_H
#define DITC_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "philox.h"

// What a stream of randomness is for; goes into counter word 3 of every Philox block.
// Values are part of the reproducibility contract: never renumber, only append.
typedef enum {
    DITC_RNG_PARAM_INIT = 1, // parameter initialisation
    DITC_RNG_LABEL_DROP = 2, // classifier-free-guidance label dropout
    DITC_RNG_TIMESTEP = 3,   // diffusion timestep sampling
    DITC_RNG_NOISE = 4,      // diffusion noise
    DITC_RNG_FLIP = 5,       // horizontal-flip augmentation
    DITC_RNG_SHUFFLE = 6,    // dataset permutation
    DITC_RNG_POSTERIOR = 7,  // VAE latent posterior sampling
    DITC_RNG_SAMPLING = 8,   // sampler noise at inference
    DITC_RNG_HESSIAN = 9,    // SophiaG: targets of the Gauss-Newton-Bartlett Hessian pass (core/diffusion/sophia_gnb.h)
    DITC_RNG_SAMPLE_LABEL =
        10,             // `ditc sample --npz`: the class of sample i = randint(seed, 10, 0, i, K) (sample_npz.c)
    DITC_RNG_TEST = 100 // tests only
} ditc_rng_purpose;

// dst[j] = ditc_rng_uniform(seed, purpose, step, index0 + j) for j in [0, n).
void ditc_rng_fill_uniform(float *dst, size_t n, uint64_t seed, uint32_t purpose, uint32_t step, uint64_t index0);

// dst[j] = ditc_rng_normal(seed, purpose, step, index0 + j) for j in [0, n).
void ditc_rng_fill_normal(float *dst, size_t n, uint64_t seed, uint32_t purpose, uint32_t step, uint64_t index0);

// perm[0..n) = a permutation of 0..n-1: identity, then for i = n-1 down to 1
// j = ditc_rng_randint(seed, purpose, step, i, i + 1) and swap(perm[i], perm[j]). n >= 0.
void ditc_rng_permutation(int64_t *perm, int64_t n, uint64_t seed, uint32_t purpose, uint32_t step);

#endif
