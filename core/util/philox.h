// philox.h — Philox4x32-10 counter-based RNG and the per-element derivations (uniform, normal,
// randint) that every random number in ditc comes from. Header-only; compiles as C17 and as CUDA
// (__host__ __device__), so the CPU and GPU backends produce the same numbers element by element.
//
// ---- The contract (the CUDA backend must match this exactly) --------------------------------------
//
// Block function.  ditc_philox4x32_10(ctr, key, out) is Random123's philox4x32 with 10 rounds:
//   round:   (hi0,lo0) = 0xD2511F53 * ctr[0],  (hi1,lo1) = 0xCD9E8D57 * ctr[2]   (32x32 -> 64 bit)
//            ctr = { hi1 ^ ctr[1] ^ key[0],  lo1,  hi0 ^ ctr[3] ^ key[1],  lo0 }
//   between rounds the key is bumped: key[0] += 0x9E3779B9, key[1] += 0xBB67AE85 (mod 2^32).
//   It reproduces the "philox4x32 10" lines of Random123's tests/kat_vectors.
//
// Keyed block.  ditc_rng_block(seed, purpose, step, b) = philox4x32_10(ctr, key) with
//   key = { lo32(seed), hi32(seed) },   ctr = { lo32(b), hi32(b), step, purpose }.
//   `purpose` names what the randomness is for (see ditc_rng_purpose in rng.h), `step` is the
//   training step (or any other 32-bit sub-stream id) and `b` the block index. Distinct
//   (seed, purpose, step, b) tuples give independent blocks x[0..3].
//
// Per-element derivations, each a pure function of (seed, purpose, step, element index i):
//   uniform(i): x = block(i/4), lane i%4:   (float)(x[i%4] >> 8) * 0x1p-24f        in [0, 1),
//               a multiple of 2^-24 (exact in float; no rounding anywhere).
//   normal(i):  x = block(i/4); lanes (x[0],x[1]) are one Box–Muller pair giving elements 4k+0 and
//               4k+1; lanes (x[2],x[3]) give 4k+2 and 4k+3. For a pair (a, b) = (x[2p], x[2p+1]):
//                 u1 = ((double)a + 0.5) * 0x1p-32        in (0, 1), never 0
//                 u2 = (double)b * 0x1p-32                in [0, 1)
//                 r = sqrt(-2.0 * log(u1)),  theta = DITC_RNG_TWO_PI * u2
//                 element 4k+2p   = (float)(r * cos(theta))
//                 element 4k+2p+1 = (float)(r * sin(theta))
//               all in double (the double constant DITC_RNG_TWO_PI below), rounded to float once at
//               the end. |normal| <= sqrt(-2 log(2^-33)) ~= 6.76. The expressions contain no a*b+c
//               pattern, so FMA contraction cannot change them. sqrt and the integer-to-double steps
//               are exact / correctly rounded everywhere; log, sin and cos come from the platform's
//               libm (glibc on the host, CUDA's on the device), which may differ by an ulp of a
//               double. After rounding to float that changes an element only when the double result
//               lies within a few double ulps of a float rounding boundary (about 1 in 10^8
//               elements, and then by 1 float ulp). Do not build this with -ffast-math.
//   randint(i, n): x = block(i) (block index i itself, not i/4), v = x[0] | (uint64_t)x[1] << 32,
//               result = floor(v * n / 2^64) = (uint64_t)(((unsigned __int128)v * n) >> 64),
//               in [0, n) for n >= 1 (n == 0 gives 0). Lanes 2 and 3 are unused. Exact integer math.
//
// A given (seed, purpose, step) stream should be consumed by one derivation only: uniform/normal
// element i and randint element i map to different blocks, so mixing them on one stream would
// reuse blocks.
#ifndef DITC_PHILOX_H
#define DITC_PHILOX_H

#include <math.h>
#include <stdint.h>

#ifndef DITC_HOSTDEV
#ifdef __CUDACC__
#define DITC_HOSTDEV __host__ __device__
#else
#define DITC_HOSTDEV
#endif
#endif

#define DITC_PHILOX_M0 0xD2511F53u
#define DITC_PHILOX_M1 0xCD9E8D57u
#define DITC_PHILOX_W0 0x9E3779B9u
#define DITC_PHILOX_W1 0xBB67AE85u

// 2*pi as the nearest double (0x1.921fb54442d18p+2); part of the normal() contract.
#define DITC_RNG_TWO_PI 6.283185307179586476925286766559

// 32x32 -> 64-bit product split into high and low words.
static inline DITC_HOSTDEV void ditc_philox_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
#ifdef __CUDA_ARCH__
    *hi = __umulhi(a, b);
    *lo = a * b;
#else
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
#endif
}

// Random123 philox4x32 with 10 rounds: out = Philox(ctr, key). out may alias ctr.
static inline DITC_HOSTDEV void ditc_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += DITC_PHILOX_W0;
            k1 += DITC_PHILOX_W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        ditc_philox_mulhilo32(DITC_PHILOX_M0, c0, &hi0, &lo0);
        ditc_philox_mulhilo32(DITC_PHILOX_M1, c2, &hi1, &lo1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

// Block `index` of stream (seed, purpose, step): key = {lo32(seed), hi32(seed)},
// ctr = {lo32(index), hi32(index), step, purpose}.
static inline DITC_HOSTDEV void ditc_rng_block(uint64_t seed, uint32_t purpose, uint32_t step, uint64_t index,
                                               uint32_t out[4]) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), step, purpose};
    ditc_philox4x32_10(ctr, key, out);
}

// ---- derivations from one block (shared by the per-element functions and the bulk fills) ----------

static inline DITC_HOSTDEV float ditc_rng_uniform_from_bits(uint32_t x) { return (float)(x >> 8) * 0x1p-24f; }

// Box–Muller radius and angle (double) from the lane pair (a, b); the pair's elements are
// r*cos(theta) and r*sin(theta).
static inline DITC_HOSTDEV void ditc_rng_box_muller(uint32_t a, uint32_t b, double *r, double *theta) {
    double u1 = ((double)a + 0.5) * 0x1p-32;
    double u2 = (double)b * 0x1p-32;
    *r = sqrt(-2.0 * log(u1));
    *theta = DITC_RNG_TWO_PI * u2;
}

// Element `lane` (0..3) of the normal block derived from x.
static inline DITC_HOSTDEV float ditc_rng_normal_from_block(const uint32_t x[4], unsigned lane) {
    unsigned p = lane & 2u;
    double r, theta;
    ditc_rng_box_muller(x[p], x[p + 1], &r, &theta);
    return (float)(r * ((lane & 1u) ? sin(theta) : cos(theta)));
}

// floor(v * n / 2^64).
static inline DITC_HOSTDEV uint64_t ditc_rng_mulhi64(uint64_t v, uint64_t n) {
#if defined(__CUDA_ARCH__)
    return __umul64hi(v, n);
#elif defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 ditc_u128;
    return (uint64_t)(((ditc_u128)v * n) >> 64);
#else
    uint64_t v0 = (uint32_t)v, v1 = v >> 32, n0 = (uint32_t)n, n1 = n >> 32;
    uint64_t p00 = v0 * n0, p01 = v0 * n1, p10 = v1 * n0, p11 = v1 * n1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

// ---- per-element functions ------------------------------------------------------------------------

// Uniform in [0, 1): lane i%4 of block i/4, top 24 bits times 2^-24.
static inline DITC_HOSTDEV float ditc_rng_uniform(uint64_t seed, uint32_t purpose, uint32_t step, uint64_t i) {
    uint32_t x[4];
    ditc_rng_block(seed, purpose, step, i / 4, x);
    return ditc_rng_uniform_from_bits(x[i % 4]);
}

// Standard normal: Box–Muller on block i/4 (lanes 0,1 -> elements 4k+0 cos, 4k+1 sin;
// lanes 2,3 -> 4k+2 cos, 4k+3 sin).
static inline DITC_HOSTDEV float ditc_rng_normal(uint64_t seed, uint32_t purpose, uint32_t step, uint64_t i) {
    uint32_t x[4];
    ditc_rng_block(seed, purpose, step, i / 4, x);
    return ditc_rng_normal_from_block(x, (unsigned)(i % 4));
}

// Integer in [0, n) (n >= 1): block i, v = x0 | x1 << 32, result = (v * n) >> 64.
static inline DITC_HOSTDEV uint64_t ditc_rng_randint(uint64_t seed, uint32_t purpose, uint32_t step, uint64_t i,
                                                     uint64_t n) {
    uint32_t x[4];
    ditc_rng_block(seed, purpose, step, i, x);
    uint64_t v = (uint64_t)x[0] | ((uint64_t)x[1] << 32);
    return ditc_rng_mulhi64(v, n);
}

#endif
