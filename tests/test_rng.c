// test_rng.c — standalone tests for the Philox4x32-10 RNG (core/util/philox.h) and the host helpers
// (core/util/rng.c): Random123 known answers, the element layout contract, bulk-vs-per-element bit
// identity, stream separation, distribution sanity, randint range and Fisher–Yates permutations.
// Exit status 0 on pass, 1 on failure.
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "philox.h"
#include "rng.h"

#include "test_check.h"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// ---- known answers ----------------------------------------------------------------------------------

// Expected values copied from Random123's tests/kat_vectors
// (https://github.com/DEShawResearch/random123, commit 9545ff6413f258be2f04c1d319d99aaef7521150,
// lines 27-29), columns CTR[0..3] KEY[0..1] EXPECTED[0..3]:
//   philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000   6627e8d5 e169c58d bc57ac4c 9b00dbd8
//   philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff   408f276d 41c83b0e a20bc7c6 6d5451fd
//   philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0   d16cfe09 94fdcceb 5001e420 24126ea1
static const struct {
    uint32_t ctr[4], key[2], expect[4];
} kat[] = {
    {{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u},
     {0x00000000u, 0x00000000u},
     {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

static void test_kat(void) {
    for (size_t v = 0; v < sizeof kat / sizeof kat[0]; v++) {
        uint32_t out[4];
        ditc_philox4x32_10(kat[v].ctr, kat[v].key, out);
        check(memcmp(out, kat[v].expect, sizeof out) == 0,
              "KAT philox4x32_10 vector %zu: got %08x %08x %08x %08x, want %08x %08x %08x %08x", v, out[0], out[1],
              out[2], out[3], kat[v].expect[0], kat[v].expect[1], kat[v].expect[2], kat[v].expect[3]);
    }
    // In-place (out aliasing ctr) gives the same answer.
    uint32_t io[4];
    memcpy(io, kat[2].ctr, sizeof io);
    ditc_philox4x32_10(io, kat[2].key, io);
    check(memcmp(io, kat[2].expect, sizeof io) == 0, "KAT philox4x32_10 with out aliasing ctr");

    // Keyed block: key = {lo32(seed), hi32(seed)}, ctr = {lo32(index), hi32(index), step, purpose}.
    uint32_t b[4];
    ditc_rng_block(0x299f31d0a4093822ull, 0x03707344u, 0x13198a2eu, 0x85a308d3243f6a88ull, b);
    check(memcmp(b, kat[2].expect, sizeof b) == 0, "ditc_rng_block maps (seed, purpose, step, index) onto key/ctr");
    ditc_rng_block(UINT64_MAX, 0xffffffffu, 0xffffffffu, UINT64_MAX, b);
    check(memcmp(b, kat[1].expect, sizeof b) == 0, "ditc_rng_block all-ones vector");
}

// ---- the element layout contract, checked against the zero KAT block --------------------------------

static void test_layout(void) {
    const uint32_t *x = kat[0].expect; // block 0 of stream (seed 0, purpose 0, step 0)
    int ok = 1;
    for (unsigned l = 0; l < 4; l++) ok &= ditc_rng_uniform(0, 0, 0, l) == (float)(x[l] >> 8) * 0x1p-24f;
    check(ok, "uniform(i) = (x[i%%4] >> 8) * 2^-24 of block i/4 (elements 0..3: %.9g %.9g %.9g %.9g)",
          (double)ditc_rng_uniform(0, 0, 0, 0), (double)ditc_rng_uniform(0, 0, 0, 1),
          (double)ditc_rng_uniform(0, 0, 0, 2), (double)ditc_rng_uniform(0, 0, 0, 3));

    ok = 1;
    for (unsigned p = 0; p < 2; p++) {
        double u1 = ((double)x[2 * p] + 0.5) / 4294967296.0;
        double u2 = (double)x[2 * p + 1] / 4294967296.0;
        double r = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        ok &= ditc_rng_normal(0, 0, 0, 2 * p) == (float)(r * cos(th));
        ok &= ditc_rng_normal(0, 0, 0, 2 * p + 1) == (float)(r * sin(th));
    }
    check(ok, "normal(i): Box-Muller pairs (x0,x1)->(cos,sin), (x2,x3)->(cos,sin) (elements 0..3: %.9g %.9g %.9g %.9g)",
          (double)ditc_rng_normal(0, 0, 0, 0), (double)ditc_rng_normal(0, 0, 0, 1), (double)ditc_rng_normal(0, 0, 0, 2),
          (double)ditc_rng_normal(0, 0, 0, 3));

    // randint(i, n) uses block i (here block 0) lanes 0,1: n = 2^32 returns x1; n = 2^63 returns v >> 1.
    uint64_t v = (uint64_t)x[0] | (uint64_t)x[1] << 32;
    check(ditc_rng_randint(0, 0, 0, 0, 1ull << 32) == x[1] && ditc_rng_randint(0, 0, 0, 0, 1ull << 63) == v >> 1 &&
              ditc_rng_randint(0, 0, 0, 0, UINT64_MAX) == v - 1 + (v == 0) && ditc_rng_randint(0, 0, 0, 0, 1) == 0,
          "randint(i, n) = (v * n) >> 64 with v = x0 | x1 << 32 of block i");
    // A nonzero block index: seed 7, purpose 9, step 11, block 5.
    uint32_t b5[4];
    ditc_rng_block(7, 9, 11, 5, b5);
    check(ditc_rng_randint(7, 9, 11, 5, 1ull << 32) == b5[1] &&
              ditc_rng_uniform(7, 9, 11, 21) == (float)(b5[1] >> 8) * 0x1p-24f,
          "randint element i uses block i; uniform element 21 uses block 5 lane 1");

    // Portable 64x64 high product agrees with __int128 on a few values (covers the fallback formula).
    const uint64_t vals[] = {0,
                             1,
                             2,
                             0xffffffffull,
                             0x100000000ull,
                             0x123456789abcdef0ull,
                             UINT64_MAX,
                             UINT64_MAX - 1,
                             0x8000000000000000ull};
    ok = 1;
    for (size_t a = 0; a < sizeof vals / sizeof vals[0]; a++)
        for (size_t c = 0; c < sizeof vals / sizeof vals[0]; c++) {
            uint64_t p = vals[a], q = vals[c];
            uint64_t p0 = (uint32_t)p, p1 = p >> 32, q0 = (uint32_t)q, q1 = q >> 32;
            uint64_t m00 = p0 * q0, m01 = p0 * q1, m10 = p1 * q0, m11 = p1 * q1;
            uint64_t mid = (m00 >> 32) + (uint32_t)m01 + (uint32_t)m10;
            uint64_t hi = m11 + (m01 >> 32) + (m10 >> 32) + (mid >> 32);
            ok &= hi == ditc_rng_mulhi64(p, q);
        }
    check(ok, "mulhi64 matches the portable 32-bit-limb formula");
}

// ---- bulk fills vs per-element functions ---------------------------------------------------------

static int bits_equal_uniform(const float *d, size_t n, uint64_t seed, uint32_t pur, uint32_t step, uint64_t i0) {
    for (size_t j = 0; j < n; j++)
        if (f32_bits(d[j]) != f32_bits(ditc_rng_uniform(seed, pur, step, i0 + j))) return 0;
    return 1;
}

static int bits_equal_normal(const float *d, size_t n, uint64_t seed, uint32_t pur, uint32_t step, uint64_t i0) {
    for (size_t j = 0; j < n; j++)
        if (f32_bits(d[j]) != f32_bits(ditc_rng_normal(seed, pur, step, i0 + j))) return 0;
    return 1;
}

static void test_bulk_identity(void) {
    const size_t sizes[] = {1, 2, 3, 4, 5, 7, 9, 13, 1001, 70001, 200003};
    const uint64_t starts[] = {0, 1, 2, 3, 4, 5, 1ull << 33, (1ull << 33) + 3, UINT64_MAX - 300000};
    const size_t maxn = 200003 + 8;
    float *buf = ditc_xmalloc((maxn + 2) * sizeof(float));
    int ok_u = 1, ok_n = 1, ok_guard = 1;
    int cases = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t t = 0; t < sizeof starts / sizeof starts[0]; t++) {
            size_t n = sizes[s];
            uint64_t i0 = starts[t];
            const float guard = -12345.0f;
            buf[0] = guard;
            buf[n + 1] = guard;
            ditc_rng_fill_uniform(buf + 1, n, 0xdeadbeefcafef00dull, DITC_RNG_TEST, 17, i0);
            ok_u &= bits_equal_uniform(buf + 1, n, 0xdeadbeefcafef00dull, DITC_RNG_TEST, 17, i0);
            ditc_rng_fill_normal(buf + 1, n, 0xdeadbeefcafef00dull, DITC_RNG_TEST, 17, i0);
            ok_n &= bits_equal_normal(buf + 1, n, 0xdeadbeefcafef00dull, DITC_RNG_TEST, 17, i0);
            ok_guard &= buf[0] == guard && buf[n + 1] == guard;
            cases++;
        }
    check(ok_u,
          "fill_uniform bit-identical to ditc_rng_uniform (%d cases: n in 1..200003, index0 in "
          "{0,1,2,3,4,5,2^33,2^33+3,2^64-300001})",
          cases);
    check(ok_n, "fill_normal bit-identical to ditc_rng_normal (same %d cases, incl. OpenMP-sized fills)", cases);
    check(ok_guard, "fills write exactly n elements (guards untouched)");

    // Filling in pieces equals filling at once (the contract is per element).
    float *whole = ditc_xmalloc(1000 * sizeof(float)), *parts = ditc_xmalloc(1000 * sizeof(float));
    ditc_rng_fill_normal(whole, 1000, 42, DITC_RNG_NOISE, 3, 0);
    ditc_rng_fill_normal(parts, 3, 42, DITC_RNG_NOISE, 3, 0);
    ditc_rng_fill_normal(parts + 3, 498, 42, DITC_RNG_NOISE, 3, 3);
    ditc_rng_fill_normal(parts + 501, 499, 42, DITC_RNG_NOISE, 3, 501);
    check(memcmp(whole, parts, 1000 * sizeof(float)) == 0,
          "fill_normal in pieces [0,3)+[3,501)+[501,1000) == one fill");
    free(whole);
    free(parts);
    free(buf);
}

// ---- stream separation -----------------------------------------------------------------------------

static int streams_equal(uint64_t s1, uint32_t p1, uint32_t t1, uint64_t i1, uint64_t s2, uint32_t p2, uint32_t t2,
                         uint64_t i2) {
    float a[64], b[64];
    ditc_rng_fill_uniform(a, 64, s1, p1, t1, i1);
    ditc_rng_fill_uniform(b, 64, s2, p2, t2, i2);
    return memcmp(a, b, sizeof a) == 0;
}

static void test_streams(void) {
    check(streams_equal(1234, DITC_RNG_NOISE, 7, 0, 1234, DITC_RNG_NOISE, 7, 0),
          "same (seed, purpose, step) -> same stream");
    check(!streams_equal(1234, DITC_RNG_NOISE, 7, 0, 1234, DITC_RNG_TIMESTEP, 7, 0),
          "different purpose -> different stream");
    check(!streams_equal(1234, DITC_RNG_NOISE, 7, 0, 1234, DITC_RNG_NOISE, 8, 0), "different step -> different stream");
    check(!streams_equal(1234, DITC_RNG_NOISE, 7, 0, 1235, DITC_RNG_NOISE, 7, 0), "different seed -> different stream");
    check(!streams_equal(1234, DITC_RNG_NOISE, 7, 0, 1234 + (1ull << 32), DITC_RNG_NOISE, 7, 0),
          "seed high 32 bits matter");
    check(!streams_equal(1234, DITC_RNG_NOISE, 7, 0, 1234, DITC_RNG_NOISE, 7, 1ull << 34),
          "index high 32 bits matter (element 2^34 != element 0)");
    // Across all purposes in the enum, the first blocks are pairwise distinct.
    const uint32_t purposes[] = {DITC_RNG_PARAM_INIT, DITC_RNG_LABEL_DROP, DITC_RNG_TIMESTEP,
                                 DITC_RNG_NOISE,      DITC_RNG_FLIP,       DITC_RNG_SHUFFLE,
                                 DITC_RNG_POSTERIOR,  DITC_RNG_SAMPLING,   DITC_RNG_TEST};
    const size_t np = sizeof purposes / sizeof purposes[0];
    int ok = 1;
    for (size_t a = 0; a < np; a++)
        for (size_t b = a + 1; b < np; b++) ok &= !streams_equal(99, purposes[a], 0, 0, 99, purposes[b], 0, 0);
    check(ok, "all %zu ditc_rng_purpose values give pairwise different streams", np);
}

// ---- distributions --------------------------------------------------------------------------------

static void test_distributions(void) {
    const size_t n = 1000000;
    float *d = ditc_xmalloc(n * sizeof(float));

    ditc_rng_fill_normal(d, n, 20240601, DITC_RNG_TEST, 0, 0);
    double sum = 0.0, sumsq = 0.0, maxabs = 0.0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        finite &= isfinite(d[i]) != 0;
        sum += d[i];
        if (fabs((double)d[i]) > maxabs) maxabs = fabs((double)d[i]);
    }
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) sumsq += ((double)d[i] - mean) * ((double)d[i] - mean);
    double var = sumsq / (double)(n - 1);
    double se_mean = 1.0 / sqrt((double)n), se_var = sqrt(2.0 / (double)n);
    check(finite && maxabs < 6.77, "normal: 1e6 draws finite, max |x| = %.4f (bound 6.76)", maxabs);
    check(fabs(mean) <= 4.0 * se_mean, "normal: mean %.6f within 4 SE (%.6f) of 0", mean, 4.0 * se_mean);
    check(fabs(var - 1.0) <= 4.0 * se_var, "normal: variance %.6f within 4 SE (%.6f) of 1", var, 4.0 * se_var);

    ditc_rng_fill_uniform(d, n, 20240601, DITC_RNG_TEST, 1, 0);
    double usum = 0.0;
    int inrange = 1;
    float umin = 1.0f, umax = 0.0f;
    for (size_t i = 0; i < n; i++) {
        inrange &= d[i] >= 0.0f && d[i] < 1.0f;
        if (d[i] < umin) umin = d[i];
        if (d[i] > umax) umax = d[i];
        usum += d[i];
    }
    double umean = usum / (double)n, use = sqrt(1.0 / 12.0 / (double)n);
    check(inrange, "uniform: 1e6 draws all in [0,1) (min %.9g, max %.9g)", (double)umin, (double)umax);
    check(fabs(umean - 0.5) <= 4.0 * use, "uniform: mean %.6f within 4 SE (%.6f) of 0.5", umean, 4.0 * use);
    check((float)(0xffffffffu >> 8) * 0x1p-24f < 1.0f && ditc_rng_uniform_from_bits(0) == 0.0f,
          "uniform: extreme bit patterns map to 0 and 1 - 2^-24");
    free(d);
}

// ---- randint and permutations ---------------------------------------------------------------------

static int is_permutation(const int64_t *p, int64_t n) {
    char *seen = ditc_xcalloc((size_t)n + 1, 1);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= n || seen[p[i]]) {
            ok = 0;
            break;
        }
        seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_randint(void) {
    const uint64_t ns[] = {1, 2, 3, 10, 1000, 1ull << 31, (1ull << 40) + 7, 1ull << 63, UINT64_MAX};
    int ok = 1;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (uint64_t i = 0; i < 20000; i++) ok &= ditc_rng_randint(5, DITC_RNG_TEST, 2, i, ns[k]) < ns[k];
    check(ok, "randint: 20000 draws for each n in {1,2,3,10,1000,2^31,2^40+7,2^63,2^64-1} all in [0,n)");

    // Bucket counts for n = 10 over 1e5 draws: each within 5 sigma of 1e4.
    const uint64_t draws = 100000;
    long count[10] = {0};
    for (uint64_t i = 0; i < draws; i++) count[ditc_rng_randint(77, DITC_RNG_TEST, 0, i, 10)]++;
    double expect = (double)draws / 10.0, sigma = sqrt((double)draws * 0.1 * 0.9), chi2 = 0.0;
    ok = 1;
    for (int b = 0; b < 10; b++) {
        ok &= fabs((double)count[b] - expect) <= 5.0 * sigma;
        chi2 += ((double)count[b] - expect) * ((double)count[b] - expect) / expect;
    }
    check(ok,
          "randint(n=10): 1e5 draws, every bucket within 5 sigma (%.1f) of 1e4; counts %ld %ld %ld %ld %ld %ld %ld %ld "
          "%ld %ld, chi2 = %.2f (9 dof)",
          5.0 * sigma, count[0], count[1], count[2], count[3], count[4], count[5], count[6], count[7], count[8],
          count[9], chi2);

    int64_t *p1 = ditc_xmalloc(1000 * sizeof(int64_t)), *p2 = ditc_xmalloc(1000 * sizeof(int64_t));
    ditc_rng_permutation(p1, 1000, 31337, DITC_RNG_SHUFFLE, 4);
    check(is_permutation(p1, 1000), "permutation(n=1000) is a permutation of 0..999");
    ditc_rng_permutation(p2, 1000, 31337, DITC_RNG_SHUFFLE, 4);
    check(memcmp(p1, p2, 1000 * sizeof(int64_t)) == 0, "permutation(n=1000) is deterministic");
    int64_t fixed = 0;
    for (int64_t i = 0; i < 1000; i++) fixed += p1[i] == i;
    check(fixed < 10, "permutation(n=1000) is shuffled (%lld fixed points)", (long long)fixed);
    ditc_rng_permutation(p2, 1000, 31337, DITC_RNG_SHUFFLE, 5);
    check(is_permutation(p2, 1000) && memcmp(p1, p2, 1000 * sizeof(int64_t)) != 0,
          "permutation with another step is a different valid permutation");

    // Reference Fisher–Yates written out here, to pin the exact definition.
    int64_t *ref = ditc_xmalloc(1000 * sizeof(int64_t));
    for (int64_t i = 0; i < 1000; i++) ref[i] = i;
    for (int64_t i = 999; i >= 1; i--) {
        int64_t j = (int64_t)ditc_rng_randint(31337, DITC_RNG_SHUFFLE, 4, (uint64_t)i, (uint64_t)i + 1);
        int64_t t = ref[i];
        ref[i] = ref[j];
        ref[j] = t;
    }
    check(memcmp(p1, ref, 1000 * sizeof(int64_t)) == 0, "permutation matches the specified Fisher-Yates sequence");
    free(ref);

    int64_t one = -1;
    ditc_rng_permutation(&one, 1, 31337, DITC_RNG_SHUFFLE, 4);
    check(one == 0, "permutation(n=1) = {0}");
    ditc_rng_permutation(NULL, 0, 31337, DITC_RNG_SHUFFLE, 4);
    check(1, "permutation(n=0) is a no-op");

    // Position 0 of a permutation of 3 over many steps takes each value about 1/3 of the time.
    long first[3] = {0};
    int64_t p3[3];
    for (uint32_t s = 0; s < 30000; s++) {
        ditc_rng_permutation(p3, 3, 1, DITC_RNG_SHUFFLE, s);
        first[p3[0]]++;
    }
    double sig3 = sqrt(30000.0 * (1.0 / 3.0) * (2.0 / 3.0));
    ok = 1;
    for (int b = 0; b < 3; b++) ok &= fabs((double)first[b] - 10000.0) <= 5.0 * sig3;
    check(ok, "permutation(n=3): perm[0] counts over 30000 steps %ld %ld %ld within 5 sigma of 10000", first[0],
          first[1], first[2]);
    free(p1);
    free(p2);
}

int main(void) {
    test_kat();
    test_layout();
    test_bulk_identity();
    test_streams();
    test_distributions();
    test_randint();
    return check_summary("test_rng");
}
