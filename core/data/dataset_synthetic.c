// dataset_synthetic.c — a deterministic synthetic data source for tests and demos. Sample i has label
// i % num_classes and is a smooth class-dependent plane wave (orientation and frequency set by the class,
// phase by the sample) plus uniform noise; all randomness comes from the counter RNG keyed by
// (seed, DITC_RNG_TEST, step = low 32 bits of i, element index), so a sample is a pure function of
// (seed, i), computed on demand in O(channels*side^2) with nothing stored.
#include <math.h>

#include "dataset.h"
#include "rng.h"

#define SYN_AMPLITUDE 0.7f // wave amplitude; with the noise below |value| <= 0.9
#define SYN_NOISE     0.2f // noise amplitude

typedef struct {
    uint64_t seed;
} syn_ctx;

static int syn_get(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st) {
    (void)st;
    const syn_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "synthetic sample %lld out of range [0, %lld)", (long long)i, (long long)ds->n);
    const int C = ds->channels, S = ds->side, K = ds->num_classes;
    const size_t npix = (size_t)C * S * S;
    // Stream: step = low 32 bits of i; elements [base, base + npix) are noise, base + npix the phase.
    const uint32_t step = (uint32_t)i;
    const uint64_t base = ((uint64_t)i >> 32) * (npix + 1);
    const int k = (int)(i % K);
    ditc_rng_fill_uniform(dst, npix, c->seed, DITC_RNG_TEST, step, base);
    const double phase = DITC_RNG_TWO_PI * ditc_rng_uniform(c->seed, DITC_RNG_TEST, step, base + npix);
    const double angle = 3.14159265358979323846 * k / K, freq = 1.0 + k % 3;
    const double fx = DITC_RNG_TWO_PI * freq * cos(angle) / S, fy = DITC_RNG_TWO_PI * freq * sin(angle) / S;
    for (int ch = 0; ch < C; ch++) {
        const double shift = phase + DITC_RNG_TWO_PI * ch / C; // channels differ by a phase offset
        for (int y = 0; y < S; y++) {
            float *row = dst + ((size_t)ch * S + y) * S;
            for (int x = 0; x < S; x++) {
                float wave = SYN_AMPLITUDE * (float)sin(fx * x + fy * y + shift);
                row[x] = wave + SYN_NOISE * (2.0f * row[x] - 1.0f);
            }
        }
    }
    *label = k;
    return 0;
}

static void syn_destroy(ditc_dataset *ds) {
    if (!ds) return;
    free(ds->ctx);
    free(ds);
}

ditc_dataset *ditc_dataset_synthetic(int64_t n, int channels, int side, int num_classes, uint64_t seed) {
    DITC_CHECK(n >= 1 && channels >= 1 && side >= 1 && num_classes >= 1,
               "synthetic dataset: n=%lld channels=%d side=%d classes=%d must all be >= 1", (long long)n, channels,
               side, num_classes);
    syn_ctx *c = ditc_xmalloc(sizeof *c);
    c->seed = seed;
    ditc_dataset *ds = ditc_xcalloc(1, sizeof *ds);
    ds->n = n;
    ds->channels = channels;
    ds->side = side;
    ds->num_classes = num_classes;
    ds->get = syn_get;
    ds->destroy = syn_destroy;
    ds->ctx = c;
    snprintf(ds->desc, sizeof ds->desc, "synthetic: %lld samples %dx%dx%d, %d classes, seed %llu", (long long)n,
             channels, side, side, num_classes, (unsigned long long)seed);
    return ds;
}
